"""OrderByLength: windows sorted by length, memory bounded, nothing lost or duplicated."""

from __future__ import annotations

from trt_text_classifier.pipeline import OrderByLength
from trt_text_classifier.records import TextRecord


def test_releases_a_sorted_window_when_full_and_the_rest_at_bundle_end() -> None:
    dofn = OrderByLength(window_size=3)
    dofn.start_bundle()
    records = [
        TextRecord(name, "x" * length)
        for name, length in [("a", 50), ("b", 5), ("c", 20), ("d", 9), ("e", 1)]
    ]
    emitted = [[r.id for r in dofn.process(record)] for record in records]
    assert emitted == [[], [], ["b", "c", "a"], [], []]
    assert [value.value.id for value in dofn.finish_bundle()] == ["e", "d"]
    assert list(dofn.finish_bundle()) == []


def test_every_record_comes_out_once() -> None:
    dofn = OrderByLength(window_size=64)
    dofn.start_bundle()
    records = [TextRecord(str(i), "w" * ((i * 37) % 700)) for i in range(500)]
    out = [r for record in records for r in dofn.process(record)]
    out += [value.value for value in dofn.finish_bundle()]
    assert sorted(r.id for r in out) == sorted(r.id for r in records)
    first_window = [len(r.text) for r in out[:64]]
    assert first_window == sorted(first_window)
