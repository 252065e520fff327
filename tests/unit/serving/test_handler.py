"""The public ModelHandler: lazy loading, whole-batch inference, Beam integration."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.ml.inference.base import RunInference
from apache_beam.testing.util import assert_that, equal_to

from trt_text_classifier.records import Prediction, TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler

TEXTS = (
    "A warm and funny film.",
    "The plot is dull and the acting is wooden.",
    "Clever, charming and full of surprises.",
)


def test_constructing_the_handler_loads_nothing() -> None:
    handler = TextClassificationModelHandler("gs://no-such-bucket/model.onnx", max_batch_size=8)
    assert handler.model_path == "gs://no-such-bucket/model.onnx"
    assert handler.batch_elements_kwargs() == {"min_batch_size": 1, "max_batch_size": 8}
    assert handler.share_model_across_processes() is False


def test_streaming_batching_buckets_by_length() -> None:
    handler = TextClassificationModelHandler("m.onnx", max_batch_duration_secs=2.0)
    kwargs = handler.batch_elements_kwargs()
    assert kwargs["max_batch_duration_secs"] == 2.0
    assert kwargs["length_fn"](TextRecord("a", "12345")) == 5
    assert kwargs["bucket_boundaries"] == [32, 64, 96, 128, 192, 256, 384, 512, 1024]


def test_engines_share_one_backend_per_worker_not_the_whole_model() -> None:
    """Beam shares nothing across processes; the handler shares only the backend."""
    handler = TextClassificationModelHandler("e.plan", share_across_processes=True)
    assert handler.shares_backend_across_processes is True
    assert handler.share_model_across_processes() is False


def test_run_inference_returns_one_prediction_per_record_in_order(demo_onnx: str) -> None:
    handler = TextClassificationModelHandler(demo_onnx, max_seq_length=32)
    classifier = handler.load_model()
    records = [TextRecord(f"r{index}", text) for index, text in enumerate(TEXTS)]
    predictions = list(handler.run_inference(records, classifier))
    assert [p.id for p in predictions] == ["r0", "r1", "r2"]
    assert [p.text for p in predictions] == list(TEXTS)
    assert [p.label for p in predictions] == ["positive", "negative", "positive"]
    for prediction in predictions:
        assert set(prediction.probabilities) == {"negative", "positive"}
        assert prediction.score == max(prediction.probabilities.values())
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0)


def test_every_prediction_names_the_model_file_and_its_sha256(
    demo_onnx: str, tmp_path: Path
) -> None:
    copy = tmp_path / "sst2-v2.onnx"
    shutil.copyfile(demo_onnx, copy)
    shutil.copyfile(Path(demo_onnx).with_name("bundle.json"), tmp_path / "bundle.json")
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    handler = TextClassificationModelHandler(str(copy), tokenizer=str(Path(demo_onnx).parent))
    classifier = handler.load_model()
    predictions = list(handler.run_inference([TextRecord("r", TEXTS[0])], classifier))
    assert classifier.identity == f"sst2-v2.onnx@{digest[:12]}"
    assert [p.model for p in predictions] == [f"sst2-v2.onnx@{digest[:12]}"]


def test_a_record_gets_the_same_prediction_alone_or_in_a_padded_batch(demo_onnx: str) -> None:
    handler = TextClassificationModelHandler(demo_onnx)
    classifier = handler.load_model()
    records = [TextRecord(str(index), text) for index, text in enumerate(TEXTS)]
    together = list(handler.run_inference(records, classifier))
    for record, batched in zip(records, together, strict=True):
        (alone,) = handler.run_inference([record], classifier)
        assert alone.label == batched.label
        assert alone.score == pytest.approx(batched.score, abs=1e-6)


def test_in_a_beam_pipeline_with_padding_metrics(
    demo_onnx: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = TextClassificationModelHandler(demo_onnx, min_batch_size=3, max_batch_size=3)
    records = [TextRecord(f"r{index}", text) for index, text in enumerate(TEXTS)]
    pipeline = beam.Pipeline(runner="DirectRunner")
    labels = (
        pipeline
        | beam.Create(records)
        | RunInference(handler)
        | beam.Map(lambda p: (p.id, p.label) if isinstance(p, Prediction) else None)
    )
    assert_that(labels, equal_to([("r0", "positive"), ("r1", "negative"), ("r2", "positive")]))
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        counter.key.metric.name: counter.committed
        for counter in result.metrics().query()["counters"]
    }
    assert counters["num_inferences"] == 3
    assert counters["real_tokens"] == 8 + 12 + 10
    assert counters["computed_tokens"] == 3 * 12
    assert counters["truncated_records"] == 0
    distributions = {
        metric.key.metric.name: metric.committed
        for metric in result.metrics().query()["distributions"]
    }
    assert distributions["inference_batch_latency_micro_secs"].count == 1
    assert distributions["load_model_latency_milli_secs"].count == 1
    # Beam measures model memory only when its helper imports (it needs scipy).
    assert "Resource module is not available" not in caplog.text


def test_a_model_shared_across_processes_gives_the_same_predictions(demo_onnx: str) -> None:
    """`share_across_processes` (what engines use) serves the model from one process for all."""
    records = [TextRecord(f"r{index}", text) for index, text in enumerate(TEXTS)]
    pipeline = beam.Pipeline(runner="DirectRunner")
    labels = (
        pipeline
        | beam.Create(records)
        | RunInference(TextClassificationModelHandler(demo_onnx, share_across_processes=True))
        | beam.Map(lambda p: (p.id, p.label))
    )
    assert_that(labels, equal_to([("r0", "positive"), ("r1", "negative"), ("r2", "positive")]))
    pipeline.run().wait_until_finish()
