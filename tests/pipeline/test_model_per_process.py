"""One model per process however the runner treats DoFns; one backend per machine, tokenizing everywhere.

A GPU worker runs one SDK process per vCPU against one engine. Only the backend
is shared: every SDK process tokenizes its own records (host work spread over
the cores), and the padded arrays go to the one process that serves the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to

from support.process_probes import (
    PROBE_DIRECTORY_ENV,
    ProbedHandler,
    load_probed_classifier,
    record,
    recorded,
)
from support.repository import TEMPLATE, TESTS
from trt_text_classifier.model_tooling.demo_model import read_corpus
from trt_text_classifier.records import Prediction, TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.loading import load_classifier
from trt_text_classifier.serving.shared_backend import acquire_shared_backend


@pytest.fixture
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A probe directory the SDK worker processes see, and tests/ on their import path."""
    directory = tmp_path / "probes"
    directory.mkdir()
    monkeypatch.setenv(PROBE_DIRECTORY_ENV, str(directory))
    inherited = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TEMPLATE), str(TESTS), inherited]))
    return directory


def record_sdk_process(prediction: Prediction) -> tuple[str, str]:
    record("sdk")
    return prediction.id, prediction.label


def test_each_sdk_process_tokenizes_its_records_and_one_other_process_runs_the_model(
    demo_onnx: str, probes: Path
) -> None:
    sentences = [sentence for _, sentence in read_corpus()][:400]
    records = [TextRecord(f"r{index}", text) for index, text in enumerate(sentences)]
    reference = load_classifier(demo_onnx, None, 64)
    expected = [
        (record_.id, item.label)
        for record_, item in zip(
            records, reference.classify(sentences).classifications, strict=True
        )
    ]
    handler = ProbedHandler(
        demo_onnx,
        max_seq_length=64,
        max_batch_size=16,
        share_across_processes=True,
        loader=load_probed_classifier,
    )
    options = PipelineOptions(
        ["--runner=FnApiRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    )
    with beam.Pipeline(options=options) as pipeline:
        labels = (
            pipeline
            | beam.Create(records, reshuffle=False)
            | beam.Reshuffle()
            | RunInference(handler)
            | beam.Map(record_sdk_process)
        )
        assert_that(labels, equal_to(expected))
    sdk_processes = set(recorded(probes, "sdk"))
    assert len(sdk_processes) == 2
    assert set(recorded(probes, "tokenize")) == sdk_processes
    (serving,) = set(recorded(probes, "infer"))
    assert serving not in sdk_processes
    assert recorded(probes, "load") == [serving]


def test_the_streaming_runner_loads_the_model_once_for_many_bundles(
    demo_onnx: str, probes: Path
) -> None:
    """The streaming DirectRunner sets its DoFns up per bundle; the model must stay loaded."""
    stream = TestStream()
    for index in range(4):
        stream = stream.add_elements([TextRecord(f"r{index}", "a warm and funny film")])
        stream = stream.advance_watermark_to(10 * (index + 1)).advance_processing_time(5)
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    handler = TextClassificationModelHandler(
        demo_onnx, max_batch_duration_secs=1.0, loader=load_probed_classifier
    )
    with beam.Pipeline(options=options) as pipeline:
        ids = pipeline | stream | RunInference(handler) | beam.Map(lambda p: p.id)
        assert_that(ids, equal_to(["r0", "r1", "r2", "r3"]))
    assert len(recorded(probes, "load")) == 1


def test_arrays_reach_the_shared_backend_without_waiting_for_delayed_acknowledgements(
    demo_onnx: str,
) -> None:
    """A batch above 16 KiB goes out as header + payload: Nagle's algorithm must be off."""
    import socket

    import numpy as np

    backend = acquire_shared_backend(demo_onnx, None, 64, load_classifier)
    arrays = {name: np.ones((64, 32), dtype=np.int64) for name in backend.input_names}
    logits = backend.infer(arrays)
    proxy = backend._service.get_auto_proxy_object()
    connection = socket.socket(fileno=proxy._tls.connection.fileno())
    try:
        nodelay = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        connection.detach()
    assert logits.shape == (64, 2)
    assert nodelay != 0
