"""`trt-text-classifier engine-cache list FOLDER`: one line per entry of an engine cache."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.errors import ParameterError

HELP = "list an engine cache's entries (key, GPU, version, size, built at, by whom)"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="trt-text-classifier engine-cache",
        description="Inspect an engine cache written by the workers or build-engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="one line per entry")
    listing.add_argument("folder", help="the cache: gs://BUCKET/FOLDER/ or a local folder")
    args = parser.parse_args(list(argv))
    return report_errors(lambda: _list(args.folder))


def _list(folder: str) -> int:
    from trt_text_classifier import model_files
    from trt_text_classifier.serving.engine_cache import EngineCache
    from trt_text_classifier.serving.engine_cache_store import EngineCacheError

    if model_files.is_local(folder) and not model_files.is_directory(folder):
        raise ParameterError(f"engine-cache list {folder}: no such folder")
    cache = EngineCache(folder)
    try:
        entries = cache.entries()
    except EngineCacheError as error:
        raise ParameterError(f"engine-cache list {folder}: {error}") from None
    for entry in entries:
        print(entry.line())
    if not entries:
        print(f"{folder}: no entries")
    return 0
