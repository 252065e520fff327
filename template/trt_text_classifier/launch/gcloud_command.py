"""Launching the Flex Template: the LaunchFlexTemplate request and its gcloud equivalent."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from google.cloud import dataflow_v1beta3

from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag

JOB_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
"""What Dataflow accepts as a job name."""


def check_job_name(job_name: str) -> None:
    """Refuse a name Dataflow would refuse; it also keeps the name a value in the printed
    gcloud command (it can never start with `-`)."""
    if not JOB_NAME.fullmatch(job_name):
        raise ParameterError(
            f"--job-name={job_name!r}: not a Dataflow job name; use lowercase letters, digits "
            "and hyphens, starting with a letter and not ending with a hyphen (e.g. reviews-1)"
        )


@dataclass(frozen=True)
class LaunchTarget:
    """Where and as what the job starts."""

    project: str
    region: str
    job_name: str
    template: str
    """gs:// path of the template spec written by `gcloud dataflow flex-template build`."""


def launch_request(
    target: LaunchTarget, values: Mapping[str, str]
) -> dataflow_v1beta3.LaunchFlexTemplateRequest:
    return dataflow_v1beta3.LaunchFlexTemplateRequest(
        project_id=target.project,
        location=target.region,
        launch_parameter=dataflow_v1beta3.LaunchFlexTemplateParameter(
            job_name=target.job_name,
            container_spec_gcs_path=target.template,
            parameters=dict(values),
        ),
    )


def gcloud_command(
    target: LaunchTarget, values: Mapping[str, str], parameters_file: str | None = None
) -> str:
    """The `gcloud dataflow flex-template run` command that sends the same request.

    Every value is a value: the job name is checked (never starts with `-`), the others are
    written `--flag=value`, and each word is quoted for the shell.
    """
    check_job_name(target.job_name)
    words = [
        "gcloud",
        "dataflow",
        "flex-template",
        "run",
        target.job_name,
        f"--project={target.project}",
        f"--region={target.region}",
        f"--template-file-gcs-location={target.template}",
        f"--parameters={gcloud_parameters_flag(values, parameters_file)}",
    ]
    return " ".join(shlex.quote(word) for word in words)


def launch(
    request: dataflow_v1beta3.LaunchFlexTemplateRequest,
) -> dataflow_v1beta3.LaunchFlexTemplateResponse:
    """Send the request with Application Default Credentials (one attempt per time limit)."""
    from trt_text_classifier.launch.remote_checks import REMOTE_CHECK_TIMEOUT_SECS

    client = dataflow_v1beta3.FlexTemplatesServiceClient()
    return client.launch_flex_template(request=request, timeout=REMOTE_CHECK_TIMEOUT_SECS)
