"""``python -m skinregen new-chapter conditions/<id>`` (or ``mechanisms/<id>``): a chapter, ready to build.

The chapter is made from the project's template (``chapters/_templates/<kind>.ipynb``): background, studies
table, figure of reported results, summary of findings and open questions, wired to the data of ``<id>``.
It is executed once, so its stored outputs match a fresh run (nbval), and listed in ``_toc.yml`` in the part
that holds the other chapters of its kind. The notebook and ``_toc.yml`` are written all-or-nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..data.csvrows import rows_by_id
from ..present.chapters import ID, TITLE, execute
from .atomic import write_files

KINDS = {"conditions": "conditions.csv", "mechanisms": "mechanisms.csv"}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class ChapterError(Exception):
    """A request new-chapter refuses; nothing was written."""


def parse_target(target: str) -> tuple[str, str]:
    kind, _, term = target.strip().strip("/").partition("/")
    if kind not in KINDS or not term:
        raise ChapterError(f"{target!r}: expected conditions/<id> or mechanisms/<id>, e.g. conditions/psoriasis")
    if not ID_PATTERN.match(term):
        raise ChapterError(f"{target!r}: {term!r} is not an id (lower-case letters, digits and '_', as in "
                           f"data/{KINDS[kind]}; e.g. cutaneous_lupus)")
    return kind, term


def vocabulary_label(root: Path, kind: str, term: str) -> str:
    rows = rows_by_id(root / "data" / KINDS[kind])
    if term not in rows:
        known = ", ".join(sorted(rows))
        raise ChapterError(f"{kind}/{term}: {term!r} is not an id in data/{KINDS[kind]} (known: {known}). To add a "
                           f"new one, add a row (id, label, description) to data/{KINDS[kind]}, run `python -m "
                           "skinregen check`, then run new-chapter again")
    return rows[term]["label"]


def toc_with_chapter(toc_text: str, kind: str, entry: str) -> str:
    """``_toc.yml`` with ``- file: <entry>`` added after the last chapter of ``kind``; other lines unchanged."""
    lines = toc_text.splitlines(keepends=True)
    pattern = re.compile(rf"^(\s*)- file: chapters/{kind}/\S+\s*$")
    matches = [index for index, line in enumerate(lines) if pattern.match(line)]
    if not matches:
        raise ChapterError(f"_toc.yml: no part lists chapters/{kind}/ chapters; add a part for them first "
                           "(see the Jupyter Book docs on _toc.yml)")
    if any(re.match(rf"^\s*- file: {re.escape(entry)}(\.ipynb|\.md)?\s*$", line) for line in lines):
        raise ChapterError(f"_toc.yml: already lists {entry}")
    last = matches[-1]
    indent = pattern.match(lines[last]).group(1)
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"{indent}- file: {entry}\n")
    return "".join(lines)


def new_chapter(root: Path, target: str) -> Path:
    """Create, execute and register the chapter for ``target``; return its path."""
    kind, term = parse_target(target)
    label = vocabulary_label(root, kind, term)
    path = root / "chapters" / kind / f"{term.replace('_', '-')}.ipynb"
    if path.exists():
        raise ChapterError(f"{path.relative_to(root)} already exists; edit it instead")
    template_path = root / "chapters" / "_templates" / f"{kind}.ipynb"
    if not template_path.is_file():
        raise ChapterError(f"{template_path.relative_to(root)} is missing: the chapter template comes from there")
    toc_path = root / "_toc.yml"
    entry = path.relative_to(root).with_suffix("").as_posix()
    toc = toc_with_chapter(toc_path.read_text(encoding="utf-8"), kind, entry)
    text = template_path.read_text(encoding="utf-8").replace(ID, term).replace(TITLE, json.dumps(label)[1:-1])
    executed = execute(text, path.parent)
    write_files({path: executed.encode("utf-8"), toc_path: toc.encode("utf-8")})
    return path
