"""docs/walkthrough.md's offline steps run from the page's own text.

Every ```sh block whose first line is `# offline` is extracted in page order and run in one
bash session, in a scratch folder with the repository's examples/, with `trt-text-classifier`
being this checkout's CLI. The other blocks need Google Cloud or a GPU; they are checked for
the one storage CLI only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "walkthrough.md"


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_uses_one_storage_cli() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert "gsutil" not in text
    assert "gcloud storage cp" in text


def test_the_offline_steps_run_from_the_page(tmp_path: Path) -> None:
    offline = [block for block in shell_blocks() if block.startswith("# offline\n")]
    assert len(offline) >= 4, "the walkthrough lost its offline steps"
    commands = "\n".join(offline)
    assert "demo-model" in commands and "launch --dry-run" in commands and " run " in commands
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "trt-text-classifier"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m trt_text_classifier "$@"\n')
    cli.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "template"),
    }
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=work, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "gcloud dataflow flex-template run classify-walkthrough" in run.stdout
    assert "cost: Dataflow list prices" in run.stderr
    assert '"label"' in run.stdout  # the predictions read back in step 8
