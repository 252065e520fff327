"""Reading what a pipeline run wrote (local or gs://) and checking the record-count invariant."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems


def read_json_lines(prefix: str) -> list[dict[str, Any]]:
    """Every JSON object in the files starting with `prefix` (shards of one output)."""
    rows: list[dict[str, Any]] = []
    for match in FileSystems.match([prefix + "*"])[0].metadata_list:
        with FileSystems.open(match.path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            rows.extend(json.loads(line) for line in handle.read().decode("utf-8").splitlines())
    return rows


def assert_each_record_once(
    expected_ids: Iterable[str], predictions: list[dict], dead_letters: list[dict]
) -> None:
    """Every input record ends as exactly one prediction or one dead letter, nothing else."""
    produced = [row["id"] for row in predictions] + [row["id"] for row in dead_letters]
    assert len(produced) == len(set(produced)), "a record was emitted twice"
    assert sorted(produced) == sorted(expected_ids)
