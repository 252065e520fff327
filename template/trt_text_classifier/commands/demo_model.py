"""`trt-text-classifier demo-model --output DIR`: build the offline demo bundle."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.commands.output_files import (
    BUNDLE_FILES,
    OVERWRITE_HELP,
    check_output_directory,
)

HELP = "build the small seeded demo BERT bundle offline (its predictions mean nothing)"

WARNING = (
    "NOTE: this is a demo model: a 2-layer BERT fitted to 60 shipped sentences. "
    "Its predictions mean nothing; it exists so that everything runs without downloads."
)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="trt-text-classifier demo-model", description=HELP)
    parser.add_argument("--output", required=True, help="directory to write the bundle into")
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    args = parser.parse_args(argv)
    return report_errors(lambda: _demo_model(args))


def _demo_model(args: argparse.Namespace) -> int:
    from trt_text_classifier.model_tooling.demo_model import build_demo_model

    check_output_directory(args.output, BUNDLE_FILES, {}, overwrite=args.overwrite)
    report = build_demo_model(args.output)
    print(f"wrote the demo model to {os.path.join(args.output, 'model.onnx')}")
    print(report.describe())
    print(WARNING)
    return 0
