"""Swapping the model of a running streaming job: Pub/Sub and GCS emulators, a real job process.

Model A serves from launch; model B is dropped into the watched folder and
takes over; a broken model C is dropped after it and refused, B keeps
serving. Every message is answered exactly once, and each prediction names
the model that answered it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.ml.inference.base import ModelMetadata, RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.direct.direct_runner import DirectRunner
from apache_beam.testing.util import assert_that, equal_to

from support.emulators import GcsEmulator, PubsubEmulator
from support.pipeline_outputs import assert_each_record_once
from support.repository import SUPPORT
from support.streaming_jobs import (
    create_streaming_topics,
    publish,
    pull_until,
    start_process,
    stop,
)
from support.tiny_models import TinyBundle, export_tiny_model
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.pipeline import build_pipeline, make_handler
from trt_text_classifier.records import TextRecord
from trt_text_classifier.run import counter_totals
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.loading import model_identity
from trt_text_classifier.sidecar import sha256_of

PHASE_DEADLINE_SECS = 90.0
TEXTS = ("A warm and funny film.", "Dull.", "The plot is clumsy.", "Clever and charming.")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyBundle]:
    """Two tiny BERT classifiers with the same labels and different weights."""
    directory = tmp_path_factory.mktemp("swap-models")
    return {
        name: export_tiny_model(directory / name, "bert", seed=seed)
        for name, seed in (("a", 101), ("b", 202))
    }


def broken_copy(bundle: Path, target: Path) -> Path:
    """The bundle with its model.onnx cut short (and the manifest's SHA-256 to match it):
    manifest and tokenizer fine, the model unreadable, as from an export that went wrong."""
    shutil.copytree(bundle, target)
    onnx = target / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:4096])
    manifest = json.loads((target / "bundle.json").read_text())
    manifest["onnx_sha256"] = sha256_of(str(onnx))
    (target / "bundle.json").write_text(json.dumps(manifest))
    return target


def identity(bundle: TinyBundle) -> str:
    return model_identity(bundle.onnx, sha256_of(bundle.onnx))


def upload_bundle(emulator: GcsEmulator, bundle: Path, prefix: str) -> str:
    """Everything but model.onnx first, model.onnx last: the watch sees only complete bundles."""
    bucket = emulator.client().bucket(emulator.bucket)
    for path in sorted(bundle.iterdir()):
        if path.is_file() and path.name != "model.onnx":
            bucket.blob(f"{prefix}/{path.name}").upload_from_filename(str(path))
    bucket.blob(f"{prefix}/model.onnx").upload_from_filename(str(bundle / "model.onnx"))
    return emulator.url(f"{prefix}/model.onnx")


def log_lines(log: Path, text: str) -> list[str]:
    """The lines of the job's log that contain `text`."""
    return [line for line in log.read_text(errors="replace").splitlines() if text in line]


def test_the_two_models_give_different_predictions(models: dict[str, TinyBundle]) -> None:
    answers = {}
    for name, bundle in models.items():
        handler = TextClassificationModelHandler(bundle.onnx)
        model = handler.load_model()
        records = [TextRecord(str(index), text) for index, text in enumerate(TEXTS)]
        answers[name] = [p.probabilities for p in handler.run_inference(records, model)]
        model.close()
    difference = [
        abs(a[label] - b[label])
        for a, b in zip(answers["a"], answers["b"], strict=True)
        for label in a
    ]
    assert max(difference) > 0.05


def test_a_streaming_job_swaps_to_a_new_model_and_refuses_a_broken_one(
    pubsub_emulator: PubsubEmulator,
    gcs_emulator: GcsEmulator,
    models: dict[str, TinyBundle],
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:8]
    topics = create_streaming_topics(pubsub_emulator, "swap")
    subscriptions = [topics.output_subscription, topics.dead_letter_subscription]
    model_a = upload_bundle(gcs_emulator, models["a"].bundle, f"swap-{run}/a")
    log = tmp_path / "job.log"
    started = time.monotonic()
    with log.open("w") as log_file:
        job = start_process(
            [
                str(SUPPORT / "offline_gcs_job.py"), *topics.job_arguments(),
                f"--onnx_path={model_a}",
                f"--model_watch_pattern={gcs_emulator.url(f'swap-{run}/*/model.onnx')}",
                "--model_watch_interval_secs=0.5",
                "--runner=DirectRunner",
            ],
            stderr=log_file,
        )  # fmt: skip
    published: list[str] = []
    answers: dict[str, list[dict]] = {name: [] for name in subscriptions}

    def send(record_id: str, text: str) -> None:
        publish(
            pubsub_emulator, topics.inputs, json.dumps({"id": record_id, "text": text}).encode()
        )
        published.append(record_id)

    def collect(expected: int, deadline: float) -> None:
        received = pull_until(subscriptions, expected, deadline, job)
        for name, items in received.items():
            answers[name].extend(body for body, _ in items)

    def predictions() -> list[dict]:
        return answers[topics.output_subscription]

    def answered_by(bundle: TinyBundle) -> bool:
        return any(row["model"] == identity(bundle) for row in predictions())

    def send_until(done: Callable[[], bool], prefix: str) -> int:
        """Publish a message, wait up to 5 s for answers, repeat until `done()`; return how many."""
        deadline = time.monotonic() + PHASE_DEADLINE_SECS
        sent = 0
        while not done() and time.monotonic() < deadline and job.poll() is None:
            send(f"{prefix}-{sent}", TEXTS[sent % len(TEXTS)])
            sent += 1
            collect(1, 5.0)
        return sent

    timeline: dict[str, float] = {}

    def mark(event: str) -> None:
        timeline[event] = round(time.monotonic() - started, 1)

    try:
        for index, text in enumerate(TEXTS):
            send(f"before-{index}", text)
        collect(len(TEXTS), PHASE_DEADLINE_SECS)
        mark("answers by A")
        upload_bundle(gcs_emulator, models["b"].bundle, f"swap-{run}/b")
        mark("B dropped")
        send_until(lambda: answered_by(models["b"]), "during")
        mark("first prediction by B")
        broken = broken_copy(models["b"].bundle, tmp_path / "broken")
        model_c = upload_bundle(gcs_emulator, broken, f"swap-{run}/c")
        mark("broken C dropped")
        send_until(lambda: bool(log_lines(log, "model update refused")), "refusing")
        mark("C refused")
        for index, text in enumerate(TEXTS):
            send(f"after-{index}", text)
        collect(len(published) - sum(map(len, answers.values())), PHASE_DEADLINE_SECS)
        mark("all answered")
    finally:
        stop(job)

    print(f"\nswap timeline (s since the job started): {timeline}; messages: {len(published)}")
    by_id = {row["id"]: row["model"] for row in predictions()}
    assert_each_record_once(published, predictions(), answers[topics.dead_letter_subscription])
    assert "first prediction by B" in timeline, "model B never answered"
    assert {by_id[f"before-{i}"] for i in range(len(TEXTS))} == {identity(models["a"])}
    during = [by_id[record_id] for record_id in published if record_id.startswith("during-")]
    switch = during.index(identity(models["b"]))
    assert set(during[:switch]) <= {identity(models["a"])}
    assert set(during[switch:]) == {identity(models["b"])}
    after = [by_id[record_id] for record_id in published if record_id.startswith(("ref", "after"))]
    assert set(after) == {identity(models["b"])}
    model_b = model_a.replace("/a/model.onnx", "/b/model.onnx")
    # Once per process, however many copies of the handler the runner makes.
    (swap,) = log_lines(log, "model update: now serving")
    assert swap.endswith(f"model update: now serving {model_b} (was {model_a})")
    (refusal,) = log_lines(log, "model update refused")
    assert f"model update refused: {model_c}: ONNX Runtime cannot load " in refusal


def run_updates(handler: TextClassificationModelHandler, paths: list[str]) -> dict[str, int]:
    """Call update_model_path with each path inside a Beam pipeline; return the handler's counters."""

    def update(path: str) -> str:
        handler.update_model_path(path)
        return handler.model_path

    pipeline = beam.Pipeline(runner="FnApiRunner")
    _ = pipeline | beam.Create([paths]) | beam.FlatMap(lambda items: [update(p) for p in items])
    result = pipeline.run()
    result.wait_until_finish()
    return counter_totals(result)


def test_refused_updates_are_counted_and_keep_the_model(
    models: dict[str, TinyBundle], tmp_path: Path
) -> None:
    broken = broken_copy(models["b"].bundle, tmp_path / "broken")
    other_labels = export_tiny_model(tmp_path / "other", "bert", labels=("yes", "no", "maybe"))
    handler = TextClassificationModelHandler(models["a"].onnx)
    totals = run_updates(
        handler, [str(broken / "model.onnx"), other_labels.onnx, str(tmp_path / "missing.onnx")]
    )
    assert totals.get("model_updates_refused") == 3
    assert totals.get("model_updates", 0) == 0


@pytest.fixture
def swap_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The handler's log lines."""
    caplog.set_level(logging.WARNING, logger="trt_text_classifier.serving.handler")
    yield caplog


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("broken", "ONNX Runtime cannot load"),
        ("labels", "differ from the served model's ['sad', 'neutral', 'happy']"),
        ("manifest", "bundle.json is missing; upload the bundle's bundle.json"),
        ("limit", "the job's max_seq_length=512 is above the model's limit of 256 tokens"),
        ("replaced", "its SHA-256 differs from onnx_sha256"),
    ],
)
def test_each_refusal_says_why(
    problem: str,
    reason: str,
    models: dict[str, TinyBundle],
    tmp_path: Path,
    swap_log: pytest.LogCaptureFixture,
) -> None:
    candidate = tmp_path / "candidate"
    if problem == "broken":
        broken_copy(models["b"].bundle, candidate)
    elif problem == "labels":
        export_tiny_model(tmp_path / "other", "bert", labels=("yes", "no", "maybe"))
        shutil.copytree(tmp_path / "other" / "bundle", candidate)
    else:
        shutil.copytree(models["b"].bundle, candidate)
        manifest_path = candidate / "bundle.json"
        if problem == "manifest":
            manifest_path.unlink()
        elif problem == "replaced":
            shutil.copyfile(models["a"].onnx, candidate / "model.onnx")
        else:
            manifest = json.loads(manifest_path.read_text())
            manifest_path.write_text(json.dumps({**manifest, "max_sequence_length": 256}))
    handler = TextClassificationModelHandler(models["a"].onnx, max_seq_length=512)
    handler.update_model_path(str(candidate / "model.onnx"))
    assert handler.model_path == models["a"].onnx
    (line,) = [r.getMessage() for r in swap_log.records if "model update refused" in r.getMessage()]
    assert line.startswith(f"model update refused: {candidate / 'model.onnx'}: ")
    assert reason in line


def test_an_accepted_update_is_loaded_once_and_served(models: dict[str, TinyBundle]) -> None:
    handler = TextClassificationModelHandler(models["a"].onnx)
    handler.update_model_path(models["b"].onnx)
    assert handler.model_path == models["b"].onnx
    model = handler.load_model()  # shared with the process's other handler copies: not closed
    (prediction,) = handler.run_inference([TextRecord("1", "Great.")], model)
    assert prediction.model == identity(models["b"])
    assert np.isfinite(prediction.score)


class _Labels(PipelineVisitor):
    def __init__(self) -> None:
        self.labels: list[str] = []

    def enter_composite_transform(self, transform_node) -> None:
        self.labels.append(transform_node.full_label)

    def visit_transform(self, transform_node) -> None:
        self.labels.append(transform_node.full_label)


def graph_with_watch(runner: str) -> tuple[list[str], TextClassificationModelHandler]:
    """The streaming graph with --model_watch_pattern for `--runner=RUNNER`, built, never run.

    The graph is built on a local runner object (a DataflowRunner would look for
    its staging bucket on construction); the pipeline reads `--runner` from the options.
    """
    params = PipelineParameters.from_strings(
        {
            "input_subscription": "projects/my-project/subscriptions/reviews",
            "output_topic": "projects/my-project/topics/predictions",
            "dead_letter_topic": "projects/my-project/topics/dead-letters",
            "onnx_path": "gs://b/models/a/model.onnx",
            "model_watch_pattern": "gs://b/models/*/model.onnx",
        }
    )
    options = PipelineOptions([f"--runner={runner}", "--streaming"])
    pipeline = beam.Pipeline(runner=DirectRunner(), options=options)
    handler = make_handler(params)
    build_pipeline(pipeline, params, handler)
    visitor = _Labels()
    pipeline.visit(visitor)
    return visitor.labels, handler


def test_on_dataflow_beams_watch_file_pattern_feeds_run_inference() -> None:
    labels, handler = graph_with_watch("DataflowRunner")
    assert "RunInference/WatchFilePattern/MatchContinuously" in labels
    assert "RunInference/WatchFilePattern/AcceptNewSideInputOnly" in labels
    assert handler._watch is not None and not handler._watch.poll


def test_on_the_direct_runner_the_handler_watches_the_pattern_itself() -> None:
    labels, handler = graph_with_watch("DirectRunner")
    assert not [label for label in labels if "WatchFilePattern" in label]
    assert handler._watch is not None and handler._watch.poll
    assert handler._watch.pattern == "gs://b/models/*/model.onnx"


def served_by_beams_model_refresh(
    handler: TextClassificationModelHandler, model_path: str, expected_model: str
) -> dict[str, int]:
    """Beam's own RunInference with a model-metadata side input naming `model_path` (FnApiRunner).

    The side input is what `WatchFilePattern` emits on Dataflow; Beam then calls
    the handler's `update_model_path` and `load_model` itself. Every
    prediction must name `expected_model`; returns the handler's counters.
    """
    pipeline = beam.Pipeline(runner="FnApiRunner")
    side = pipeline | "Model" >> beam.Create([ModelMetadata(model_id=model_path, model_name="m")])
    records = [TextRecord(str(index), text) for index, text in enumerate(TEXTS)]
    models = (
        pipeline
        | "Records" >> beam.Create(records)
        | RunInference(handler, model_metadata_pcoll=side)
        | beam.Map(lambda prediction: prediction.model)
    )
    assert_that(models, equal_to([expected_model] * len(TEXTS)))
    result = pipeline.run()
    result.wait_until_finish()
    return counter_totals(result)


def test_beams_model_refresh_takes_the_checked_model(
    models: dict[str, TinyBundle], tmp_path: Path
) -> None:
    # A copy under a new name: a model is loaded (and counted) once per process.
    fresh = shutil.copytree(models["b"].bundle, tmp_path / "b-copy") / "model.onnx"
    totals = served_by_beams_model_refresh(
        TextClassificationModelHandler(models["a"].onnx), str(fresh), identity(models["b"])
    )
    assert totals.get("model_updates") == 1


def test_beams_model_refresh_keeps_the_model_when_the_new_one_is_refused(
    models: dict[str, TinyBundle], tmp_path: Path
) -> None:
    broken = broken_copy(models["b"].bundle, tmp_path / "broken")
    totals = served_by_beams_model_refresh(
        TextClassificationModelHandler(models["a"].onnx),
        str(broken / "model.onnx"),
        identity(models["a"]),
    )
    assert totals.get("model_updates_refused") == 1
