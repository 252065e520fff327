"""`trt-text-classifier metadata`: print metadata.json (or the README table) from the model."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence

HELP = "print metadata.json from the parameter model; --check FILE, --markdown"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="trt-text-classifier metadata",
        description="Print the Flex Template's metadata.json, generated from the parameter model.",
    )
    parser.add_argument(
        "--check",
        metavar="FILE",
        help="compare FILE with the generated text; exit 1 with a diff when they differ",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the README's parameter table instead"
    )
    args = parser.parse_args(list(argv))
    from trt_text_classifier.dataflow.metadata import markdown_table, metadata_json

    generated = markdown_table() if args.markdown else metadata_json()
    if args.check is None:
        sys.stdout.write(generated)
        return 0
    return check_file(args.check, generated)


def check_file(path: str, generated: str) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        print(
            f"error: {path}: no such file; write it with `trt-text-classifier metadata > {path}`",
            file=sys.stderr,
        )
        return 1
    if current == generated:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        generated.splitlines(keepends=True),
        fromfile=path,
        tofile="generated",
    )
    sys.stdout.writelines(diff)
    print(
        f"error: {path} differs from the parameter model; regenerate it with "
        f"`trt-text-classifier metadata > {path}`",
        file=sys.stderr,
    )
    return 1
