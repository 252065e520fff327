#!/usr/bin/env bash
# Regenerate container/requirements.txt from setup.py's pins (runtime + the "container" extra),
# for the image's Python (3.12) on linux/amd64, with the hash of every file.
# setup.py stays the one place where versions are pinned; this file is derived, never edited.
# Needs uv (pip install uv) and access to PyPI. tests/test_flex_container.py checks the result
# still matches setup.py.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile setup.py \
  --extra container \
  --python-version 3.12 \
  --python-platform x86_64-manylinux_2_28 \
  --generate-hashes \
  --index-url https://pypi.org/simple \
  --custom-compile-command "container/compile-requirements.sh" \
  --output-file container/requirements.txt \
  --quiet
