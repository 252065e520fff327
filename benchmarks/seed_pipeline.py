"""The seed-style pipeline: how Apache Beam's TensorRT text-classification example works.

Beam's example (`apache_beam/examples/inference/tensorrt_text_classification.py`)
tokenizes one sentence at a time, pads every sentence to 128 tokens, runs the model
with batch size 1, then decodes the token ids back to text and takes the argmax.
Here the same shape runs on Beam's stock ONNX model handler
(`OnnxModelHandlerNumpy`), so that it serves the same ONNX file on the same CPU as
our pipeline. Two changes make the comparison fair rather than faithful to a fault:
- all three BERT inputs are fed (the example sends only `input_ids`, which our
  model does not accept; the cost of the model is the same either way);
- the ONNX Runtime session gets the same options and execution providers as ours
  (`make_session_options`, `choose_providers`: same threads, same graph
  optimizations, CUDA where onnxruntime-gpu sees a GPU), set when the model loads
  because `SessionOptions` cannot be pickled with the handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import PredictionResult, RunInference
from apache_beam.ml.inference.onnx_inference import OnnxModelHandlerNumpy
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult

from trt_text_classifier.backends.onnxruntime_backend import choose_providers, make_session_options
from trt_text_classifier.serving.classifier import softmax

SEED_SEQUENCE_LENGTH = 128
"""Every sentence is padded (and truncated) to this many tokens, as in Beam's example."""

Example = dict[str, np.ndarray]
"""One sentence's model inputs, each of shape (SEED_SEQUENCE_LENGTH,)."""


def stack_inputs(session: Any, batch: Sequence[Example], inference_args: Any = None) -> np.ndarray:
    """Beam's default ONNX inference function, feeding every model input instead of the first."""
    feed = {
        item.name: np.stack([example[item.name] for example in batch])
        for item in session.get_inputs()
    }
    return session.run(None, feed)[0]


class SeedOnnxModelHandler(OnnxModelHandlerNumpy):
    """Beam's `OnnxModelHandlerNumpy` with our session options, for examples that are dicts."""

    def load_model(self) -> Any:
        self._session_options = make_session_options()
        return super().load_model()

    def get_num_bytes(self, batch: Sequence[Example]) -> int:
        return sum(array.nbytes for example in batch for array in example.values())


class TokenizeOneSentence(beam.DoFn):
    """Tokenizes each sentence on its own, padded to 128 tokens (the example's preprocessing)."""

    def __init__(self, tokenizer_directory: str) -> None:
        self._tokenizer_directory = tokenizer_directory

    def setup(self) -> None:
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self._tokenizer_directory)

    def process(self, text: str) -> Iterator[Example]:
        yield tokenize_one(self._tokenizer, text)


def tokenize_one(tokenizer: Any, text: str) -> Example:
    encoded = tokenizer(
        text,
        padding="max_length",
        truncation=True,
        max_length=SEED_SEQUENCE_LENGTH,
        return_tensors="np",
    )
    return {name: values[0] for name, values in encoded.items()}


class DecodeAndLabel(beam.DoFn):
    """Decodes the input ids back to text and labels the logits (the example's postprocessing)."""

    def __init__(self, tokenizer_directory: str, labels: Sequence[str]) -> None:
        self._tokenizer_directory = tokenizer_directory
        self._labels = tuple(labels)

    def setup(self) -> None:
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self._tokenizer_directory)

    def process(self, result: PredictionResult) -> Iterator[str]:
        yield label_one(self._tokenizer, self._labels, result)


def label_one(tokenizer: Any, labels: Sequence[str], result: PredictionResult) -> str:
    text = tokenizer.decode(result.example["input_ids"], skip_special_tokens=True)
    probabilities = softmax(np.asarray(result.inference)[np.newaxis, :])[0]
    best = int(probabilities.argmax())
    return json.dumps({"text": text, "label": labels[best], "score": float(probabilities[best])})


def run_seed_pipeline(
    *,
    input_path: str,
    output_prefix: str,
    onnx_path: str,
    tokenizer_directory: str,
    labels: Sequence[str],
    batch_size: int,
) -> PipelineResult:
    """ReadFromText -> tokenize one, pad to 128 -> RunInference (fixed batch size) -> write."""
    handler = SeedOnnxModelHandler(
        onnx_path,
        providers=choose_providers(),
        inference_fn=stack_inputs,
        min_batch_size=batch_size,
        max_batch_size=batch_size,
    )
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    _ = (
        pipeline
        | "Read" >> beam.io.ReadFromText(input_path)
        | "Tokenize" >> beam.ParDo(TokenizeOneSentence(tokenizer_directory))
        | "RunInference" >> RunInference(handler)
        | "DecodeAndLabel" >> beam.ParDo(DecodeAndLabel(tokenizer_directory, labels))
        | "Write" >> beam.io.WriteToText(output_prefix, file_name_suffix=".jsonl")
    )
    result = pipeline.run()
    result.wait_until_finish()
    return result
