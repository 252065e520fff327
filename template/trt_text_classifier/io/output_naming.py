"""How output files are named: the run token, Beam's shard pattern, when two prefixes collide.

Every run writes its shards as PREFIX-RUNID-SSSSS-of-NNNNN.jsonl, RUNID being unique to the
run (`new_run_id`). Beam's file sink deletes PREFIX-RUNID-*-of-NNNNN.jsonl at finalize and
stages in DIR/beam-temp-NAME-RUNID-UUID/, so both can only ever match this run's files.
"""

from __future__ import annotations

import os
import posixpath
import re
import time
import uuid

OUTPUT_WILDCARDS = ("*", "?", "[")
"""Glob characters: Beam would expand them when it deletes an output's old shards."""
OUTPUT_SUFFIX = ".jsonl"
SHARD_GLOB = "-?????-of-?????"
"""Beam's shard names (-SSSSS-of-NNNNN) as a glob that matches nothing else."""
CLAIM_SUFFIX = ".run-claim"
"""A run holds PREFIX.run-claim, created only if absent, while it writes under PREFIX."""


def new_run_id() -> str:
    """A short token unique to one run: UTC start time and 6 random hex digits."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def run_prefix(prefix: str, run_id: str) -> str:
    """The prefix Beam writes this run's shards under: PREFIX-RUNID."""
    return f"{prefix}-{run_id}"


def normalized_prefix(prefix: str) -> str:
    """`prefix` as one spelling per place: ./, //, a trailing / and relative paths resolved."""
    scheme = re.match(r"^[a-z][a-z0-9+.-]*://", prefix)
    if scheme:
        rest = posixpath.normpath("/" + prefix[scheme.end() :]).lstrip("/")
        return scheme.group(0) + rest
    return os.path.abspath(prefix)


def prefixes_overlap(first: str, second: str) -> bool:
    """True when, after normalising, one prefix is the other or the other followed by '-'."""
    first, second = normalized_prefix(first), normalized_prefix(second)
    return first == second or first.startswith(second + "-") or second.startswith(first + "-")


def shard_glob(prefix: str, run_id: str) -> str:
    """The files run `run_id` writes under `prefix`, and nothing else."""
    return run_prefix(prefix, run_id) + SHARD_GLOB + OUTPUT_SUFFIX
