"""What a new model file must pass before it replaces the one a streaming job serves.

A swap candidate is checked with the facts the launch checks use, read from
the small files beside it: an ONNX model's bundle manifest, a TensorRT
engine's sidecar. It must fit the job's limits (`max_seq_length`, and for an
engine the batch profile) and answer the same labels, in the same order, with
the same problem type as the model it replaces: downstream consumers of the
predictions must not see the label set change under them. The candidate is
then loaded (which checks an engine's TensorRT version and compute capability
against the worker, and loads its tokenizer) and must classify a probe text
with finite probabilities. Only then does it take over (`handler.py`).

`SWAPS` holds this process's accepted and refused candidates; `ModelWatch` paces a
handler's own matching of the watched pattern.

`newest_first` orders what a watch of the file pattern sees: the most
recently written match first, the one Beam's `WatchFilePattern` reports.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trt_text_classifier import model_files
from trt_text_classifier.bundle import BundleManifest, ProblemType, manifest_path_for
from trt_text_classifier.serving.classifier import TextClassifier
from trt_text_classifier.serving.loading import Backend, backend_for

PROBE_TEXT = "A short sentence that every new model must classify before it serves."


class ModelRefused(ValueError):
    """A swap candidate failed a check; the message says which and why."""


@dataclass(frozen=True)
class ServingLimits:
    """What the running job asks of any model it serves."""

    max_seq_length: int
    max_batch_size: int


@dataclass(frozen=True)
class ModelFacts:
    """What the manifest or sidecar beside a model file says about it."""

    kind: str
    labels: tuple[str, ...]
    problem_type: ProblemType


def read_model_facts(path: str, limits: ServingLimits, backend: Backend | None) -> ModelFacts:
    """The facts of the model at `path` served by `backend`, after checking them against `limits`."""
    if not model_files.exists(path):
        raise ModelRefused(f"{path} does not exist (any more)")
    if backend_for(path, backend) == "onnxruntime":
        return _onnx_facts(path, limits)
    return _engine_facts(path, limits)


def _read_description(
    model_path: str, description_path: str, model: type[model_files.ToolFile], *, missing: str
) -> model_files.ToolFile:
    """The manifest or sidecar beside a candidate model; ModelRefused when absent or invalid."""
    try:
        return model_files.read_description(
            model_path,
            description_path,
            model,
            missing_model=f"{model_path} does not exist (any more)",
            missing_description=missing,
        )
    except model_files.ToolFileError as error:
        raise ModelRefused(str(error)) from None


def _onnx_facts(path: str, limits: ServingLimits) -> ModelFacts:
    manifest = _read_description(
        path,
        manifest_path_for(path),
        BundleManifest,
        missing="{path} is missing; upload the bundle's bundle.json and tokenizer files "
        "before model.onnx",
    )
    if limits.max_seq_length > manifest.max_sequence_length:
        raise ModelRefused(
            f"the job's max_seq_length={limits.max_seq_length} is above the model's limit of "
            f"{manifest.max_sequence_length} tokens"
        )
    return ModelFacts("an ONNX model", manifest.labels, manifest.problem_type)


def _engine_facts(path: str, limits: ServingLimits) -> ModelFacts:
    from trt_text_classifier.sidecar import EngineSidecar, sidecar_path_for

    sidecar = _read_description(
        path,
        sidecar_path_for(path),
        EngineSidecar,
        missing="its sidecar {path} is missing; upload the .plan.json and the tokenizer "
        "folder before the engine",
    )
    if limits.max_seq_length > sidecar.sequence.max:
        raise ModelRefused(
            f"the job's max_seq_length={limits.max_seq_length} is above the engine profile's "
            f"maximum of {sidecar.sequence.max} tokens"
        )
    if limits.max_batch_size > sidecar.batch.max:
        raise ModelRefused(
            f"the job's max_batch_size={limits.max_batch_size} is above the engine profile's "
            f"maximum batch of {sidecar.batch.max}"
        )
    return ModelFacts("a TensorRT engine", sidecar.labels, sidecar.problem_type)


def check_replacement(current: ModelFacts, candidate: ModelFacts) -> None:
    """The candidate must be a drop-in replacement for the model being served."""
    if candidate.kind != current.kind:
        raise ModelRefused(f"it is {candidate.kind}; the job serves {current.kind}")
    if candidate.labels != current.labels:
        raise ModelRefused(
            f"its labels {list(candidate.labels)} differ from the served model's "
            f"{list(current.labels)}"
        )
    if candidate.problem_type != current.problem_type:
        raise ModelRefused(
            f"it is {candidate.problem_type}; the served model is {current.problem_type}"
        )


def probe(classifier: TextClassifier) -> None:
    """One real classification: the model, its tokenizer and its labels work together."""
    (result,) = classifier.classify([PROBE_TEXT]).classifications
    if not all(math.isfinite(p) for p in result.probabilities.values()):
        raise ModelRefused(f"it answers non-finite probabilities {result.probabilities}")


def newest_first(pattern: str) -> list[str]:
    """The files matching `pattern`, most recently written first (ties: the greater path)."""
    from apache_beam.io.filesystems import FileSystems

    matches = FileSystems.match([pattern])[0].metadata_list
    ordered = sorted(
        matches, key=lambda match: (match.last_updated_in_seconds, match.path), reverse=True
    )
    return [match.path for match in ordered]


class SwappedModels:
    """Swap candidates of this process: the latest accepted model per serving setup, and refusals.

    The runner makes many copies of a handler (one per DoFn instance, often one
    per bundle): a new file is checked, loaded and logged once per process and
    the copies share the loaded model, as Beam shares the launch model. A
    replaced model is dropped, not closed: another copy may still be serving
    a batch with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str | None, int], tuple[str, TextClassifier]] = {}
        self._refused: set[tuple[str, str | None, int]] = set()

    def get_or_load(
        self, key: tuple[str, str | None, int], load: Callable[[str], TextClassifier]
    ) -> TextClassifier:
        """The model at `key`'s path, loaded by `load` unless already; raises when refused."""
        path, setup = key[0], key[1:]
        with self._lock:
            if key in self._refused:
                raise ModelRefused(f"{path} was refused before")
            latest = self._latest.get(setup)
            if latest is not None and latest[0] == path:
                return latest[1]
            classifier = load(path)
            self._latest[setup] = (path, classifier)
            return classifier

    def refuse(self, key: tuple[str, str | None, int]) -> bool:
        """Record a refusal; True the first time (log and count it then)."""
        with self._lock:
            first = key not in self._refused
            self._refused.add(key)
            return first


SWAPS = SwappedModels()
"""This process's swap candidates, shared by every copy of the handler."""


class ModelWatch:
    """A file pattern matched at most once per interval (the first time at once)."""

    def __init__(self, pattern: str, interval_secs: float, *, poll: bool) -> None:
        self.pattern = pattern
        self.interval_secs = interval_secs
        self.poll = poll
        self.lock = threading.Lock()
        self._last: float | None = None

    def due(self) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval_secs:
            return False
        self._last = now
        return True

    def __getstate__(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "interval_secs": self.interval_secs, "poll": self.poll}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.pattern, self.interval_secs, self.poll = (
            state["pattern"],
            state["interval_secs"],
            state["poll"],
        )
        self.lock = threading.Lock()
        self._last = None
