"""One loaded model, many threads: what Beam does on a worker, with every result checked.

Beam hands one loaded model to several threads (`shared.Shared` inside an SDK
process; `MultiProcessShared`, whose server answers each connection on its own
thread, across processes). Every backend must give each caller its own result.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from support.engine_doubles import (
    DOUBLE_ENGINE_PROFILE,
    FakeContext,
    FakeMemory,
    expected_logits,
    load_engine_double_classifier,
    make_sidecar,
)
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.backends.tensorrt_backend import EngineRunner
from trt_text_classifier.model_tooling.demo_model import read_corpus
from trt_text_classifier.records import TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler

THREADS = 8
BATCHES_PER_THREAD = 40


def random_batch(rng: np.random.Generator, max_batch: int, max_sequence: int) -> dict:
    """Ids below 250: inside the demo model's vocabulary."""
    batch, sequence = int(rng.integers(1, max_batch + 1)), int(rng.integers(1, max_sequence + 1))
    ids = rng.integers(1, 250, size=(batch, sequence), dtype=np.int64)
    mask = (rng.random((batch, sequence)) < 0.8).astype(np.int64)
    mask[:, 0] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def count_wrong(
    infer: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    expected: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    make_batch: Callable[[np.random.Generator], dict],
) -> tuple[int, list[BaseException]]:
    """THREADS threads call `infer` on their own batches at once.

    Returns (results that differ from `expected`, exceptions raised); a batch
    that raised counts as wrong.
    """
    work = [
        [make_batch(rng) for _ in range(BATCHES_PER_THREAD)]
        for rng in (np.random.default_rng(seed) for seed in range(THREADS))
    ]
    answers = [[expected(batch) for batch in batches] for batches in work]
    wrong = [0] * THREADS
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def call(index: int) -> None:
        start.wait()
        for batch, answer in zip(work[index], answers[index], strict=True):
            try:
                result = infer(batch)
            except Exception as error:
                errors.append(error)
                result = None
            right = result is not None and result.shape == answer.shape
            wrong[index] += not (right and np.array_equal(result, answer))

    threads = [threading.Thread(target=call, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(wrong), errors


def test_eight_threads_on_one_engine_runner_each_get_their_own_logits() -> None:
    sidecar = make_sidecar(batch=(1, 4, 8), sequence=(1, 16, 32))
    memory = FakeMemory()
    runner = EngineRunner(FakeContext(memory, sidecar), sidecar, memory)
    wrong, errors = count_wrong(
        runner.infer,
        lambda batch: expected_logits(batch["input_ids"], batch["attention_mask"]),
        lambda rng: random_batch(rng, 20, 32),
    )
    runner.close()
    assert (wrong, errors) == (0, [])


def test_eight_threads_on_one_onnxruntime_backend_each_get_their_own_logits(
    demo_onnx: str,
) -> None:
    backend = OnnxRuntimeBackend(demo_onnx, intra_op_threads=1)
    alone = OnnxRuntimeBackend(demo_onnx, intra_op_threads=1)
    wrong, errors = count_wrong(backend.infer, alone.infer, lambda rng: random_batch(rng, 16, 48))
    backend.close()
    alone.close()
    assert (wrong, errors) == (0, [])


def test_pipeline_sharing_one_engine_across_processes_labels_every_record_right(
    demo_onnx: str,
) -> None:
    """DirectRunner, 8 worker threads, the model in a MultiProcessShared server (large_model)."""
    words = [word for _, sentence in read_corpus() for word in sentence.split()]
    rng = random.Random(0)
    records = [
        TextRecord(f"r{index}", " ".join(rng.choices(words, k=rng.randint(1, 30))))
        for index in range(800)
    ]
    classifier = load_engine_double_classifier(demo_onnx, None, 64)
    expected = []
    for record in records:
        (result,) = classifier.classify([record.text]).classifications
        expected.append((record.id, result.label, result.score))
    classifier.close()
    assert len({label for _, label, _ in expected}) == 2
    handler = TextClassificationModelHandler(
        demo_onnx,
        max_seq_length=64,
        min_batch_size=1,
        max_batch_size=DOUBLE_ENGINE_PROFILE["batch"][2],
        share_across_processes=True,
        loader=load_engine_double_classifier,
    )
    options = PipelineOptions(
        ["--runner=FnApiRunner", "--direct_num_workers=8", "--direct_running_mode=multi_threading"]
    )
    with beam.Pipeline(options=options) as pipeline:
        predictions = (
            pipeline
            | beam.Create(records)
            | RunInference(handler)
            | beam.Map(lambda prediction: (prediction.id, prediction.label, prediction.score))
        )
        assert_that(predictions, equal_to(expected))
