"""The records that flow through the pipeline and the JSON they are written as.

Output schema (one JSON object per line):

    prediction:  {"id": str, "text": str, "label": str, "score": float,
                  "probabilities": {label: float, ...}, "model": str}
    dead letter: {"id": str, "input": str, "error": str, "stage": str}

`id` ties every output to its input; for files it is `PATH:LINE` (LINE
counted from 1, blank lines included), see `pipeline.py`. `score` is the
probability of `label`, the arg-max class. `model` names the model that
answered: its file name and the first 12 hex digits of its SHA-256
(`model.onnx@3f2a9c1b7d0e`, see `loading.model_identity`). A dead letter's
`input` is the record's text, or its bytes with invalid UTF-8 escaped as \\xNN
when the line could not be decoded; `stage` says where it failed (decode, inference).
"""

from __future__ import annotations

import json
from typing import NamedTuple


class TextRecord(NamedTuple):
    """One piece of text to classify and the id that ties its result to it."""

    id: str
    text: str


class Prediction(NamedTuple):
    id: str
    text: str
    label: str
    score: float
    probabilities: dict[str, float]
    model: str

    def to_json(self) -> str:
        return json.dumps(self._asdict(), ensure_ascii=False)


class DeadLetter(NamedTuple):
    """A record that produced no prediction, and why."""

    id: str
    input: str
    error: str
    stage: str

    def to_json(self) -> str:
        return json.dumps(self._asdict(), ensure_ascii=False)
