"""Rewrite every condition and mechanism chapter from the templates in skinregen/present/chapters.py,
keeping each chapter's own prose (title, background, patient section, unknowns; biology, reading guide).

Usage (maintainers, after a template change): python tools/rebuild_chapters.py && make outputs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from skinregen.present import chapters

ROOT = Path(__file__).resolve().parents[1]
PATIENTS_PLACEHOLDER = chapters.TEMPLATE_NOTE.format(
    what="patient section (standard care first, harms of the procedure, cost and access, questions to ask a "
         "clinician)")


PATIENTS_INTRO = "The plain-language summary above gives the bottom line"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _section(cells: list[dict], heading: str) -> str | None:
    for cell in cells:
        text = _source(cell)
        if cell["cell_type"] == "markdown" and text.startswith(heading):
            return text[len(heading):].strip("\n")
    return None


def _argument(cells: list[dict], name: str) -> str:
    for cell in cells:
        text = _source(cell)
        if cell["cell_type"] == "code" and f'{name}="' in text:
            return text.split(f'{name}="', 1)[1].split('"', 1)[0]
    raise ValueError(f"no {name}= argument found")


def rebuild_condition(path: Path) -> None:
    cells = _cells(path)
    title = _source(cells[0]).splitlines()[0].lstrip("# ").strip()
    condition = _argument(cells, "condition")
    background = _section(cells, "## Background and standard of care") or ""
    unknowns = _section(cells, "## What is still unknown") or ""
    patients = _section(cells, "## For patients") or PATIENTS_PLACEHOLDER
    if patients.startswith(PATIENTS_INTRO):
        patients = patients.split("\n\n", 1)[1] if "\n\n" in patients else ""
    extra = ROOT / "chapters" / "_patients" / f"{condition}.md"
    if extra.exists():
        patients = extra.read_text(encoding="utf-8").strip()
    chapters.write_notebook(path, chapters.condition_cells(condition, title, background, unknowns, patients))


def rebuild_mechanism(path: Path) -> None:
    cells = _cells(path)
    first = _source(cells[0])
    title = first.splitlines()[0].lstrip("# ").strip()
    biology = first.split("\n", 1)[1].strip("\n") if "\n" in first else ""
    reading = _section(cells, "## What the human studies measured") or ""
    mechanism = _argument(cells, "mechanism")
    chapters.write_notebook(path, chapters.mechanism_cells(mechanism, title, biology, reading))


def main(argv: list[str]) -> int:
    for path in sorted((ROOT / "chapters" / "conditions").glob("*.ipynb")):
        rebuild_condition(path)
    for path in sorted((ROOT / "chapters" / "mechanisms").glob("*.ipynb")):
        rebuild_mechanism(path)
    chapters.write_templates(ROOT / "chapters" / "_templates")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
