"""OrderByLength: windows sorted by token count, memory bounded, nothing lost or duplicated."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trt_text_classifier.handler import TextClassificationModelHandler
from trt_text_classifier.pipeline import OrderByLength, load_token_counter
from trt_text_classifier.records import TextRecord


def count_characters(texts: Sequence[str]) -> list[int]:
    return [len(text) for text in texts]


def ordering(window_size: int) -> OrderByLength:
    dofn = OrderByLength(window_size, lambda: count_characters)
    dofn.setup()
    dofn.start_bundle()
    return dofn


def test_releases_sorted_windows_alternately_up_and_down_and_the_rest_at_bundle_end() -> None:
    dofn = ordering(window_size=3)
    records = [
        TextRecord(name, "x" * length)
        for name, length in [("a", 50), ("b", 5), ("c", 20), ("d", 9), ("e", 1)]
    ]
    emitted = [[r.id for r in dofn.process(record)] for record in records]
    assert emitted == [[], [], ["b", "c", "a"], [], []]
    # The second window runs from long to short, so that a batch spanning the two windows
    # joins "a" (50) with "d" (9) rather than with "e" (1).
    assert [value.value.id for value in dofn.finish_bundle()] == ["d", "e"]
    assert list(dofn.finish_bundle()) == []


def test_every_record_comes_out_once() -> None:
    dofn = ordering(window_size=64)
    records = [TextRecord(str(i), "w" * ((i * 37) % 700)) for i in range(500)]
    out = [r for record in records for r in dofn.process(record)]
    out += [value.value for value in dofn.finish_bundle()]
    assert sorted(r.id for r in out) == sorted(r.id for r in records)
    first_window = [len(r.text) for r in out[:64]]
    assert first_window == sorted(first_window)


def test_orders_by_the_models_token_count_not_by_characters(demo_bundle: Path) -> None:
    handler = TextClassificationModelHandler(str(demo_bundle / "model.onnx"), max_seq_length=16)
    dofn = OrderByLength(3, lambda: load_token_counter(handler))
    dofn.setup()
    dofn.start_bundle()
    # "zzzzzzzz" is 8 characters but 10 tokens with the demo vocabulary ([CLS], 8 single
    # characters, [SEP]); "a a a a a a a" is 13 characters and 9 tokens; the 40-word
    # record is truncated to max_seq_length=16.
    records = [
        TextRecord("characters", "zzzzzzzz"),
        TextRecord("words", "a a a a a a a"),
        TextRecord("long", " ".join(["the"] * 40)),
    ]
    assert handler.load_tokenizer().count_tokens([r.text for r in records]) == [10, 9, 16]
    emitted = [r.id for record in records for r in dofn.process(record)]
    assert emitted == ["words", "characters", "long"]


def test_records_cross_the_reshuffle_in_chunks_and_come_back_whole() -> None:
    """Every record once, in lists of at most the chunk size; the rest at the bundle's end."""
    from trt_text_classifier.pipeline import ChunkRecords, records_of

    records = [TextRecord(f"r{index}", f"text {index}") for index in range(10)]
    chunker = ChunkRecords(4)
    chunker.start_bundle()
    chunks = [chunk for record in records for chunk in chunker.process(record)]
    chunks += [value.value for value in chunker.finish_bundle()]
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]
    assert [record for chunk in chunks for record in records_of(chunk)] == records
