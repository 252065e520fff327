"""How output files are named: the suffix, Beam's shard pattern, and when two prefixes collide."""

from __future__ import annotations

OUTPUT_WILDCARDS = ("*", "?", "[")
"""Glob characters: Beam would expand them when it deletes an output's old shards."""
OUTPUT_SUFFIX = ".jsonl"
SHARD_GLOB = "-?????-of-?????"
"""Beam's shard names (-SSSSS-of-NNNNN) as a glob that matches nothing else."""


def prefixes_overlap(first: str, second: str) -> bool:
    """True when one output's shard glob (PREFIX-*-of-N.jsonl) can match the other's files."""
    return first == second or first.startswith(second + "-") or second.startswith(first + "-")


def shard_glob(prefix: str) -> str:
    """The files one run writes under `prefix` (an existing match is refused at launch)."""
    return prefix + SHARD_GLOB + OUTPUT_SUFFIX
