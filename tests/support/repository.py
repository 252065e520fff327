"""Where things are in this repository, and this interpreter in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
TESTS = SUPPORT.parent
REPOSITORY = TESTS.parent
TEMPLATE = REPOSITORY / "template"
EXAMPLES = REPOSITORY / "examples"


def run_python(*arguments: str) -> subprocess.CompletedProcess[str]:
    """This interpreter in a fresh process (what a user or the template launcher starts)."""
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=False)
