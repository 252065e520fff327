"""How each launch parameter appears in the template specs and the Cloud Console form.

A `ConsoleForm` annotation on a parameter field gives its form group, its Dataflow parameter
type, the regexes the Dataflow service matches before it launches, and the job modes (batch,
streaming) whose template lists it. The regexes live here, beside the annotation that uses them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class JobMode(enum.Enum):
    """The two kinds of Dataflow job this pipeline runs; each has its own template spec."""

    BATCH = "batch"
    STREAMING = "streaming"


BOTH_MODES = frozenset(JobMode)
BATCH_ONLY = frozenset({JobMode.BATCH})
STREAMING_ONLY = frozenset({JobMode.STREAMING})


@dataclass(frozen=True)
class ConsoleForm:
    """How a parameter appears in the template specs and the Cloud Console form.

    `param_type` is one of Dataflow's ParameterType names (TEXT, GCS_READ_FILE,
    GCS_WRITE_FOLDER, PUBSUB_SUBSCRIPTION, ENUM, NUMBER, BOOLEAN, ...).
    `regexes` must be RE2/Java compatible: the service matches them.
    `modes` are the job modes whose template lists the parameter: `streaming`
    is a static property of a template spec, so a Console form can only offer
    what its mode accepts. `required_in` are the modes where the form marks it
    required (the model keeps it optional because the other mode lacks it).
    """

    group: str
    param_type: str = "TEXT"
    regexes: tuple[str, ...] = ()
    modes: frozenset[JobMode] = BOTH_MODES
    required_in: frozenset[JobMode] = frozenset()

    def __post_init__(self) -> None:
        if not self.modes:
            raise ValueError("ConsoleForm.modes: a parameter belongs to at least one job mode")
        if not self.required_in <= self.modes:
            raise ValueError("ConsoleForm.required_in: a parameter is required only where listed")


INPUT_GROUP = "Input"
MODEL_GROUP = "Model"
OUTPUT_GROUP = "Output"
BATCHING_GROUP = "Batching"
WORKERS_GROUP = "Workers"

GCS_PATH = r"^gs://[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]/[^\s]+$"
"""What the Dataflow service accepts for a path: gs://BUCKET/OBJECT (local paths run locally only)."""
MACHINE_TYPE_REGEX = r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$"
CONTAINER_IMAGE_REGEX = (
    r"^[a-z0-9][-a-z0-9.]*(:[0-9]+)?(/[a-z0-9][-a-z0-9._]*)+(:[A-Za-z0-9_][-A-Za-z0-9_.]{0,127}"
    r"|@sha256:[a-f0-9]{64})?$"
)
PUBSUB_NAME = r"[a-zA-Z][-_.~+%a-zA-Z0-9]{2,254}"
PROJECT_ID = r"[a-z][-a-z0-9:.]{4,61}[a-z0-9]"
PUBSUB_SUBSCRIPTION_PATH = rf"^projects/{PROJECT_ID}/subscriptions/{PUBSUB_NAME}$"
PUBSUB_TOPIC_PATH = rf"^projects/{PROJECT_ID}/topics/{PUBSUB_NAME}$"
JSON_FIELD_NAME = r"^\S(.*\S)?$"
"""A JSON member name: any text without leading or trailing blanks (they are stripped)."""
BIGQUERY_TABLE_SPEC = rf"^{PROJECT_ID}:[A-Za-z0-9_]+\.[-A-Za-z0-9_$]+$"
"""project:dataset.table (project ids may be domain-scoped: example.com:project)."""
PATTERN_FORMS = {
    PUBSUB_SUBSCRIPTION_PATH: "projects/PROJECT/subscriptions/NAME",
    PUBSUB_TOPIC_PATH: "projects/PROJECT/topics/NAME",
    BIGQUERY_TABLE_SPEC: "PROJECT:DATASET.TABLE",
    GCS_PATH: "gs://BUCKET/PATH",
}
"""The form each pattern wants, in words, for messages that refuse a value."""
