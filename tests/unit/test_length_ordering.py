"""OrderByLength: windows sorted by token count, memory bounded, nothing lost or duplicated."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trt_text_classifier.records import TextRecord
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.length_ordering import OrderByLength, load_token_counter


def count_characters(texts: Sequence[str]) -> list[int]:
    return [len(text) for text in texts]


def ordering(batch_size: int, window_batches: int) -> OrderByLength:
    dofn = OrderByLength(batch_size, window_batches, lambda: count_characters)
    dofn.setup()
    dofn.start_bundle()
    return dofn


def test_releases_sorted_windows_cut_into_batches_and_the_rest_at_bundle_end() -> None:
    dofn = ordering(batch_size=2, window_batches=2)
    records = [
        TextRecord(name, "x" * length)
        for name, length in [("a", 50), ("b", 5), ("c", 20), ("d", 9), ("e", 1), ("f", 2)]
    ]
    emitted = [[[r.id for r in batch] for batch in dofn.process([record])] for record in records]
    # "a" (50) has more than twice the characters of "c" (20): it starts a batch of its own.
    assert emitted == [[], [], [], [["b", "d"], ["c"], ["a"]], [], []]
    assert [[r.id for r in value.value] for value in dofn.finish_bundle()] == [["e", "f"]]
    assert list(dofn.finish_bundle()) == []


def test_every_record_comes_out_once_in_batches_of_at_most_the_batch_size() -> None:
    dofn = ordering(batch_size=64, window_batches=4)
    records = [TextRecord(str(i), "w" * (500 + (i * 37) % 300)) for i in range(500)]
    batches = [
        batch
        for start in range(0, 500, 100)
        for batch in dofn.process(records[start : start + 100])
    ]
    batches += [value.value for value in dofn.finish_bundle()]
    # Lists of 100 fill a window of 256 at 300 records (windows of 300 and 200).
    assert [len(batch) for batch in batches] == [64, 64, 64, 64, 44, 64, 64, 64, 8]
    out = [r for batch in batches for r in batch]
    assert sorted(r.id for r in out) == sorted(r.id for r in records)
    first_window = [len(r.text) for r in out[:300]]
    assert first_window == sorted(first_window)


def test_orders_by_the_models_token_count_not_by_characters(demo_bundle: Path) -> None:
    handler = TextClassificationModelHandler(str(demo_bundle / "model.onnx"), max_seq_length=16)
    dofn = OrderByLength(3, 1, lambda: load_token_counter(handler))
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
    emitted = [[r.id for r in batch] for batch in dofn.process(records)]
    assert emitted == [["words", "characters", "long"]]


def test_files_are_read_in_chunks_of_consecutive_records(tmp_path: Path) -> None:
    """Every record once, in file order, in lists of at most the chunk size; dead letters alone."""
    from apache_beam.io import fileio
    from apache_beam.io.filesystem import FileMetadata

    from trt_text_classifier.io.text_files import ReadLines
    from trt_text_classifier.records import DeadLetter

    source = tmp_path / "in.txt"
    source.write_bytes(b"".join(b"text %d\n" % index for index in range(9)) + b"\xff\nlast\n")
    read = ReadLines(chunk_size=4)
    outputs = list(read.process(fileio.ReadableFile(FileMetadata(str(source), 0))))
    chunks = [output for output in outputs if isinstance(output, list)]
    (dead_letter,) = [output.value for output in outputs if not isinstance(output, list)]
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]
    assert [record.id for chunk in chunks for record in chunk] == [
        f"{source}:{line}" for line in (*range(1, 10), 11)
    ]
    assert isinstance(dead_letter, DeadLetter)
    assert (dead_letter.id, dead_letter.stage) == (f"{source}:10", "decode")


def test_gpu_batch_jobs_get_larger_batches_and_a_wider_sorting_window() -> None:
    from trt_text_classifier.serving.batch_sizes import (
        default_max_batch_size,
        length_order_batches,
    )
    from trt_text_classifier.serving.length_ordering import LENGTH_ORDER_BATCHES

    assert default_max_batch_size(on_gpu=False, streaming=False, profile_max=None) == 64
    assert default_max_batch_size(on_gpu=True, streaming=True, profile_max=None) == 64
    assert default_max_batch_size(on_gpu=True, streaming=False, profile_max=None) == 256
    assert default_max_batch_size(on_gpu=True, streaming=False, profile_max=128) == 128
    # CPU-sized batches keep the window they had; GPU-sized ones sort more batches together.
    assert length_order_batches(64, LENGTH_ORDER_BATCHES) == LENGTH_ORDER_BATCHES
    assert length_order_batches(256, LENGTH_ORDER_BATCHES) > LENGTH_ORDER_BATCHES
