"""Rows of a data CSV, read with the standard library only (for commands that must start fast).

``python -m skinregen check`` reads the tables itself (``validate._read_table``), with every problem a file
can have; these helpers serve ``add-study`` and ``new-chapter``, which run after or before that check.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def rows_with_lines(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row as a dict, with the file line it starts on (a quoted cell may span several lines)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:  # reads the header
            return
        previous_end = reader.line_num
        for row in reader:
            yield previous_end + 1, row
            previous_end = reader.line_num


def rows_by_id(path: Path, column: str = "id") -> dict[str, dict[str, str]]:
    """The rows of a table (a vocabulary, say) by the value of ``column``."""
    return {row[column]: row for _, row in rows_with_lines(path)}
