"""Take one study out of a copy of the book, as it was before `add-study` added it (for round-trip tests)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

STUDY_FILES = {"data/studies.csv": "key", "data/reports.csv": "study_key", "data/study_mechanisms.csv": "study_key",
               "data/outcomes.csv": "study_key", "data/adverse_events.csv": "study_key",
               "data/risk_of_bias.csv": "study_key"}


def _physical_rows(text: str) -> list[tuple[str, list[str]]]:
    """(raw text, parsed cells) of each CSV record, header included; a quoted cell may span lines."""
    rows, buffer = [], ""
    for line in text.splitlines(keepends=True):
        buffer += line
        parsed = list(csv.reader(io.StringIO(buffer)))
        if len(parsed) == 1 and buffer.count('"') % 2 == 0:
            rows.append((buffer, parsed[0]))
            buffer = ""
    return rows


def bib_entry_text(bib_text: str, key: str) -> str:
    match = re.search(rf"^@\w+\{{{re.escape(key)},\n.*?^\}}\n", bib_text, re.M | re.S)
    if not match:
        raise KeyError(f"no entry {key} in references.bib")
    return match.group(0)


def remove_study(root: Path, key: str) -> dict[str, list[str]]:
    """Delete ``key``'s rows and BibTeX entry in ``root``; return the removed CSV records (raw text) per file."""
    removed = {}
    for relpath, column in STUDY_FILES.items():
        path = root / relpath
        rows = _physical_rows(path.read_text(encoding="utf-8"))
        index = rows[0][1].index(column)
        keep = [raw for number, (raw, cells) in enumerate(rows) if number == 0 or cells[index] != key]
        removed[relpath] = [raw for number, (raw, cells) in enumerate(rows) if number and cells[index] == key]
        path.write_text("".join(keep), encoding="utf-8")
    bib = root / "references.bib"
    text = bib.read_text(encoding="utf-8")
    entry = bib_entry_text(text, key)
    text = text.replace("\n" + entry, "") if ("\n" + entry) in text else text.replace(entry, "")
    bib.write_text(text, encoding="utf-8")
    removed["references.bib"] = [entry]
    _uncite(root, key)
    return removed


def _uncite(root: Path, key: str) -> None:
    """Take ``key`` out of the chapters' cite roles: a study that is not in the book yet is cited nowhere."""
    def drop(match: re.Match) -> str:
        keys = [k.strip() for k in match.group(2).split(",") if k.strip() != key]
        return f"{match.group(1)}`{','.join(keys)}`" if keys else ""

    for path in [*(root / "chapters").rglob("*.md"), *(root / "chapters").rglob("*.ipynb")]:
        text = path.read_text(encoding="utf-8")
        if key in text:
            path.write_text(re.sub(r"(\{cite(?::[a-z]+)?\})`([^`]*)`", drop, text), encoding="utf-8")
