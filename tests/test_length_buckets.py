"""OrderByLengthBucket: neighbours share a length bucket, memory is bounded, nothing is lost."""

from __future__ import annotations

import bisect

from trt_text_classifier.handler import LENGTH_BUCKET_BOUNDARIES
from trt_text_classifier.pipeline import OrderByLengthBucket
from trt_text_classifier.records import TextRecord


def bucket(record: TextRecord) -> int:
    return bisect.bisect_right(LENGTH_BUCKET_BOUNDARIES, len(record.text))


def test_releases_a_bucket_when_it_holds_a_full_group_and_the_rest_at_bundle_end() -> None:
    dofn = OrderByLengthBucket(group_size=3)
    dofn.start_bundle()
    short = [TextRecord(f"s{i}", "x" * 10) for i in range(4)]
    long = [TextRecord(f"l{i}", "x" * 300) for i in range(2)]
    emitted = []
    for record in [short[0], long[0], short[1], long[1], short[2], short[3]]:
        emitted.append([r.id for r in dofn.process(record)])
    assert emitted == [[], [], [], [], ["s0", "s1", "s2"], []]
    rest = [value.value.id for value in dofn.finish_bundle()]
    assert sorted(rest) == ["l0", "l1", "s3"]
    assert [value.value.id for value in dofn.finish_bundle()] == []


def test_every_record_comes_out_once_and_neighbours_mostly_share_a_bucket() -> None:
    dofn = OrderByLengthBucket(group_size=8)
    dofn.start_bundle()
    records = [TextRecord(str(i), "w" * ((i * 37) % 700)) for i in range(500)]
    out = [r for record in records for r in dofn.process(record)]
    out += [value.value for value in dofn.finish_bundle()]
    assert sorted(r.id for r in out) == sorted(r.id for r in records)
    groups = [out[i : i + 8] for i in range(0, 8 * (len(out) // 8), 8)]
    mixed = sum(len({bucket(r) for r in group}) > 1 for group in groups)
    assert mixed <= len(LENGTH_BUCKET_BOUNDARIES) + 1
