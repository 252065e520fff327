"""`trt-text-classifier export --model SRC --output DIR`: Hugging Face model -> ONNX bundle."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.commands.output_files import (
    BUNDLE_FILES,
    OVERWRITE_HELP,
    check_output_directory,
)

HELP = "export a Hugging Face classifier (hub id or local directory) to an ONNX bundle"


def main(argv: Sequence[str]) -> int:
    return report_errors(lambda: _main(argv))


def _main(argv: Sequence[str]) -> int:
    """Imports torch (through engine.export) first: without it, one line names the extra."""
    from trt_text_classifier.model_tooling.export import DEFAULT_TOLERANCE

    parser = argparse.ArgumentParser(prog="trt-text-classifier export", description=HELP)
    parser.add_argument(
        "--model",
        required=True,
        help="Hugging Face model id (e.g. textattack/bert-base-uncased-SST-2) or a local "
        "save_pretrained directory",
    )
    parser.add_argument("--output", required=True, help="directory to write the bundle into")
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="largest allowed logit error relative to the largest logit (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not math.isfinite(args.tolerance) or args.tolerance <= 0:
        print(
            f"error: --tolerance={args.tolerance}: must be a positive number, e.g. "
            f"{DEFAULT_TOLERANCE}",
            file=sys.stderr,
        )
        return 2
    return _export(args)


def looks_like_a_path(model: str) -> bool:
    """Hub ids are NAME or ORG/NAME; anything else names a local directory."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1


def _export(args: argparse.Namespace) -> int:
    from trt_text_classifier.model_tooling.export import ExportError, export_bundle

    if looks_like_a_path(args.model) and not os.path.isdir(os.path.expanduser(args.model)):
        print(
            f"error: --model={args.model!r}: no such directory; give a local save_pretrained "
            "directory or a Hugging Face model id such as textattack/bert-base-uncased-SST-2",
            file=sys.stderr,
        )
        return 1

    inputs = {args.model: "the --model directory"} if os.path.isdir(args.model) else {}
    check_output_directory(args.output, BUNDLE_FILES, inputs, overwrite=args.overwrite)
    try:
        report = export_bundle(args.model, args.output, tolerance=args.tolerance)
    except (ExportError, OSError) as error:
        print(f"error: --model={args.model!r}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}/model.onnx")
    print(report.describe())
    return 0
