"""`trt-text-classifier metadata`: print a template spec's metadata (or the parameter table of docs/parameters.md).

The batch template's metadata.json is the default; `--streaming` gives
metadata-streaming.json. Both come from the one parameter model.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trt_text_classifier.launch.console_form import JobMode

HELP = "print metadata.json (--streaming: metadata-streaming.json); --check FILE, --markdown"


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    from trt_text_classifier.launch.console_form import JobMode
    from trt_text_classifier.launch.metadata import markdown_table, metadata_json

    mode = JobMode.STREAMING if args.streaming else JobMode.BATCH
    generated = markdown_table() if args.markdown else metadata_json(mode=mode)
    if args.check is None:
        sys.stdout.write(generated)
        return 0
    flags = " --markdown" if args.markdown else " --streaming" if args.streaming else ""
    if not args.markdown and _other_template(args.check, mode):
        print(
            f"error: {args.check} is the other template's file; check the batch one with "
            "`--check metadata.json`, the streaming one with `--streaming --check "
            "metadata-streaming.json`",
            file=sys.stderr,
        )
        return 2
    return check_file(args.check, generated, f"trt-text-classifier metadata{flags} > {args.check}")


def _other_template(path: str, mode: JobMode) -> bool:
    """Whether `path` is named as the other mode's file: regenerating it would swap the specs."""
    from trt_text_classifier.launch.metadata import TEMPLATES

    name = os.path.basename(path)
    return any(spec.file_name == name for other, spec in TEMPLATES.items() if other != mode)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trt-text-classifier metadata",
        description=(
            "Print a Flex Template's metadata, generated from the parameter model: the batch "
            "template's metadata.json, or with --streaming the streaming template's "
            "metadata-streaming.json."
        ),
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--streaming",
        action="store_true",
        help="the streaming template (metadata-streaming.json) instead of the batch one",
    )
    which.add_argument(
        "--markdown",
        action="store_true",
        help="print the parameter table of docs/parameters.md (both templates) instead",
    )
    parser.add_argument(
        "--check",
        metavar="FILE",
        help="compare FILE with the generated text; exit 1 with a diff when they differ",
    )
    return parser


def check_file(path: str, generated: str, hint: str) -> int:
    """0 when `path` holds `generated`, else 1 with a diff and `hint` (how to regenerate)."""
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        print(f"error: --check {path}: no such file; write it with `{hint}`", file=sys.stderr)
        return 1
    except IsADirectoryError:
        print(f"error: --check {path}: is a directory; give the metadata file", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(
            f"error: --check {path}: cannot be read ({error}); write it with `{hint}`",
            file=sys.stderr,
        )
        return 1
    if current == generated:
        print(f"{path} matches the parameter model")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        generated.splitlines(keepends=True),
        fromfile=path,
        tofile="generated",
    )
    sys.stdout.writelines(diff)
    print(
        f"error: {path} differs from the parameter model; regenerate it with `{hint}`",
        file=sys.stderr,
    )
    return 1
