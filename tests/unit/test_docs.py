"""The docs stay navigable and true: README size, tables of contents, links, figures.

The figures of docs/performance.md are generated from benchmarks/results/ by
benchmarks/doc_figures.py; a figure quoted in the README or in a docs page outside the
generated block must be one the results files give.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def doc_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "doc_figures", ROOT / "benchmarks" / "doc_figures.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def headings(text: str, levels: str = "##") -> list[str]:
    found, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(rf"{levels} ", line):
            found.append(line.split(" ", 1)[1].strip())
    return found


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_readme_is_short_and_keeps_the_two_command_quickstart() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert quickstart.count("```sh") == 2
    for page in ("walkthrough", "parameters", "engines", "streaming", "outputs-and-guarantees"):
        assert f"docs/{page}.md" in readme
    for page in ("performance", "operations"):
        assert f"docs/{page}.md" in readme


def test_figures_in_performance_page_are_generated_from_the_results() -> None:
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    assert doc_figures().rendered(page) == page, "run python benchmarks/doc_figures.py"


def test_figures_quoted_elsewhere_are_the_results_figures() -> None:
    generated = doc_figures().figures()
    known = set(re.findall(r"\d[\d,]*\.\d+x|\d+\.\d%", generated))
    for path in [ROOT / "README.md", *PAGES]:
        text = path.read_text(encoding="utf-8")
        text = doc_figures().BLOCK.sub("", text)
        quoted = re.findall(r"\b\d+\.\d+x\b|\b\d+\.\d%", text)
        ratios = [figure for figure in quoted if figure.endswith("x")]
        stale = [figure for figure in ratios if figure not in known]
        assert not stale, f"{path.name} quotes {stale}, which benchmarks/results/ do not give"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {"8.81x", "5.32x", "93.2%"} <= set(re.findall(r"\d+\.\d+x|\d+\.\d%", readme)) & known


def test_long_pages_have_a_table_of_contents_with_every_section() -> None:
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) <= 150:
            continue
        assert "\nContents:\n" in text, f"{path.name} is long and has no table of contents"
        for heading in headings(text):
            assert f"](#{slug(heading)})" in text, f"{path.name}: contents lack {heading!r}"


def test_relative_links_point_at_files_and_sections_that_exist() -> None:
    for path in [ROOT / "README.md", *PAGES]:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            assert linked.exists(), f"{path.name} links to {target}, which does not exist"
            if anchor and linked.suffix == ".md":
                slugs = {slug(h) for h in headings(linked.read_text(encoding="utf-8"), "#{1,6}")}
                assert anchor in slugs, f"{path.name} links to {target}: no such section"
