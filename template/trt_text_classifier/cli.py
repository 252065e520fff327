"""`trt-text-classifier COMMAND ...`: dispatch to one module per command.

Each module in `trt_text_classifier.commands` has a `HELP` line and a
`main(argv) -> exit status`, and parses its own arguments (`run` hands
everything it does not know to Beam).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from trt_text_classifier import __version__

COMMANDS = {
    "run": "trt_text_classifier.commands.run",
    "demo-model": "trt_text_classifier.commands.demo_model",
    "export": "trt_text_classifier.commands.export",
    "build-engine": "trt_text_classifier.commands.build_engine",
    "verify-engine": "trt_text_classifier.commands.verify_engine",
    "metadata": "trt_text_classifier.commands.metadata",
    "validate": "trt_text_classifier.commands.validate",
    "launch": "trt_text_classifier.commands.launch",
    "doctor": "trt_text_classifier.commands.doctor",
    "engine-cache": "trt_text_classifier.commands.engine_cache",
}


def usage() -> str:
    lines = ["usage: trt-text-classifier COMMAND [ARGS]", "", "commands:"]
    for name, module in COMMANDS.items():
        lines.append(f"  {name:<14} {importlib.import_module(module).HELP}")
    lines.append("")
    lines.append("`trt-text-classifier COMMAND --help` describes a command's arguments.")
    return "\n".join(lines)


EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C at any point (importing Beam, checks, the run) is one line."""
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"trt-text-classifier {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[name]).main(rest)
