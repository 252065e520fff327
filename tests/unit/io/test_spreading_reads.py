"""How file input is spread over workers: files first, then the records of each file.

Matching starts from one element, so without a Reshuffle after it every file is read in
one bundle by one worker; the records then cross a second Reshuffle as plain strings
(Beam writes lists of strings directly, where named tuples are pickled one by one).
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.testing.util import assert_that, equal_to

from trt_text_classifier.io.text_files import packed, read_files, unpacked
from trt_text_classifier.records import TextRecord


def _producer_of(pipeline: beam.Pipeline, label: str) -> str:
    """The top-level label of the transform whose output the transform `label` reads."""
    parts = pipeline.transforms_stack[0].parts
    (consumer,) = [part for part in parts if part.full_label == label]
    (read,) = consumer.main_inputs.values()
    return read.producer.full_label.split("/")[0]


def test_matched_files_are_spread_before_any_is_opened() -> None:
    pipeline = beam.Pipeline()
    read_files(pipeline, "/nowhere/*.txt")
    assert _producer_of(pipeline, "OpenFiles") == "SpreadFiles"
    assert _producer_of(pipeline, "SpreadFiles") == "MatchInput"


def test_records_cross_the_reshuffle_as_strings_and_come_back_whole() -> None:
    chunk = [TextRecord("/in/a.txt:1", "great film"), TextRecord("/in/a.txt:3", "é ∑ 🙂")]
    assert packed(chunk) == (["/in/a.txt:1", "/in/a.txt:3"], ["great film", "é ∑ 🙂"])
    assert unpacked(packed(chunk)) == chunk
    encoded = FastPrimitivesCoder().encode(packed(chunk))
    assert b"TextRecord" not in encoded  # nothing pickled by class
    assert unpacked(FastPrimitivesCoder().decode(encoded)) == chunk


def test_every_line_of_many_files_is_read_once(tmp_path: Path) -> None:
    expected = []
    for part in range(5):
        path = tmp_path / f"part-{part}.txt"
        path.write_text("".join(f"line {part}.{n}\n" for n in range(3000)), encoding="utf-8")
        expected += [(f"{path}:{n + 1}", f"line {part}.{n}") for n in range(3000)]
    with beam.Pipeline() as pipeline:
        chunks, dead_letters = read_files(pipeline, str(tmp_path / "part-*.txt"))
        records = chunks | beam.FlatMap(lambda chunk: [(r.id, r.text) for r in chunk])
        assert_that(records, equal_to(expected))
        assert_that(dead_letters, equal_to([]), label="no dead letters")
