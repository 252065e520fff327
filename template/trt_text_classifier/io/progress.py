"""Progress of a local run, counted where the results are made, in any worker process.

Beam's metrics are not live across the processes of the local multi-process runner (they
arrive when the job ends), so a local run's progress goes through a small file instead:
every worker process appends one line per element of the outputs it handled, a JSON object
`{"n": RECORDS, "labels": {LABEL: COUNT}}` (one short `write` in append mode, which local
file systems keep whole), and the launching process sums the lines. Only local runs add this
step (`launch/progress.py`); Dataflow jobs never do.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import apache_beam as beam

from trt_text_classifier.records import Prediction


class AppendProgress(beam.DoFn):
    """Append one line per element (a record, or a list of records) to the progress file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def process(self, element: Any) -> list[Any]:
        items = element if isinstance(element, list) else [element]
        labels = Counter(item.label for item in items if isinstance(item, Prediction))
        line = json.dumps({"n": len(items), "labels": dict(labels)}) + "\n"
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line)
        return []


def read_progress(path: str | Path) -> tuple[int, dict[str, int]]:
    """(records done, predictions per label) from the lines written so far.

    A line still being written (no newline yet) is left for the next read.
    """
    done, labels = 0, Counter[str]()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0, {}
    for line in text.split("\n")[:-1]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        done += int(entry["n"])
        labels.update(entry["labels"])
    return done, dict(labels)
