"""The package's shape stays readable: few modules at the top, no module too long to read in one pass."""

from __future__ import annotations

import pytest

from support.repository import TEMPLATE

PACKAGE = TEMPLATE / "trt_text_classifier"
MAX_TOP_LEVEL_MODULES = 10
MAX_MODULE_LINES = 450


def test_the_top_level_holds_at_most_ten_modules_besides_folders() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


@pytest.mark.parametrize(
    "module",
    sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")),
)
def test_no_module_is_longer_than_450_lines(module: str) -> None:
    lines = (PACKAGE / module).read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it by concern"
