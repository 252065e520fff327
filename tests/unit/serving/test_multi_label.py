"""Multi-label classifiers: a sigmoid per label, every label at or above the threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from support.tiny_models import LABELS, MULTI_LABELS, TinyBundle
from trt_text_classifier.backends.onnxruntime_backend import OnnxRuntimeBackend
from trt_text_classifier.records import TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler

TEXTS = (
    "A warm and funny film.",
    "The plot is dull and the acting is wooden.",
    "Clever, charming and full of surprises.",
    "Great.",
)


def onnx_logits(bundle: TinyBundle, texts: tuple[str, ...]) -> np.ndarray:
    """Logits of ONNX Runtime on the tokenizer's own encoding, outside the project's serving path."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundle.bundle))
    backend = OnnxRuntimeBackend(bundle.onnx)
    try:
        encoded = tokenizer(list(texts), padding=True, return_tensors="np")
        return backend.infer({name: encoded[name].astype(np.int64) for name in backend.input_names})
    finally:
        backend.close()


def classify(bundle: TinyBundle, **options: object) -> list:
    handler = TextClassificationModelHandler(bundle.onnx, **options)
    model = handler.load_model()
    records = [TextRecord(str(index), text) for index, text in enumerate(TEXTS)]
    try:
        return list(handler.run_inference(records, model))
    finally:
        model.close()


def test_the_bundle_records_the_problem_type(
    multi_label_bundle: TinyBundle, family_bundles: dict[str, TinyBundle]
) -> None:
    manifest = json.loads((multi_label_bundle.bundle / "bundle.json").read_text())
    assert manifest["problem_type"] == "multi_label_classification"
    assert manifest["labels"] == list(MULTI_LABELS)
    plain = json.loads((family_bundles["bert"].bundle / "bundle.json").read_text())
    assert plain["problem_type"] == "single_label_classification"


def test_multi_label_probabilities_are_the_sigmoids_of_the_logits(
    multi_label_bundle: TinyBundle,
) -> None:
    logits = onnx_logits(multi_label_bundle, TEXTS).astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-logits))
    predictions = classify(multi_label_bundle)
    actual = np.array([[p.probabilities[label] for label in MULTI_LABELS] for p in predictions])
    np.testing.assert_allclose(actual, expected, rtol=1e-5)
    assert not np.allclose(actual.sum(axis=1), 1.0)
    for prediction, row in zip(predictions, expected, strict=True):
        assert prediction.labels == [
            label for label, p in zip(MULTI_LABELS, row, strict=True) if p >= 0.5
        ]
        assert prediction.label == MULTI_LABELS[int(row.argmax())]
        assert prediction.score == pytest.approx(row.max(), rel=1e-5)


def test_the_threshold_chooses_the_labels(multi_label_bundle: TinyBundle) -> None:
    probabilities = [p.probabilities for p in classify(multi_label_bundle)]
    threshold = float(np.median([value for row in probabilities for value in row.values()]))
    for prediction in classify(multi_label_bundle, threshold=threshold):
        assert prediction.labels == [
            label for label in MULTI_LABELS if prediction.probabilities[label] >= threshold
        ]
    assert {len(p.labels) for p in classify(multi_label_bundle, threshold=1.0)} == {0}
    assert all(p.labels == list(MULTI_LABELS) for p in classify(multi_label_bundle, threshold=0.0))


def test_a_model_without_problem_type_is_single_label_as_before(
    family_bundles: dict[str, TinyBundle],
) -> None:
    bert = family_bundles["bert"]
    logits = onnx_logits(bert, TEXTS).astype(np.float64)
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = exponentials / exponentials.sum(axis=1, keepdims=True)
    predictions = classify(bert)
    actual = np.array([[p.probabilities[label] for label in LABELS] for p in predictions])
    np.testing.assert_allclose(actual, expected, rtol=1e-5)
    for prediction in predictions:
        assert prediction.labels is None
        assert "labels" not in json.loads(prediction.to_json())


def test_multi_label_predictions_list_their_labels_in_json(multi_label_bundle: TinyBundle) -> None:
    for prediction in classify(multi_label_bundle, threshold=0.0):
        document = json.loads(prediction.to_json())
        assert document["labels"] == list(MULTI_LABELS)
        assert set(document["probabilities"]) == set(MULTI_LABELS)
