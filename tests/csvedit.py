"""Read and rewrite a table of a book copy's data package, as a student's editor would."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(root: Path, table: str) -> tuple[list[str], list[dict]]:
    with open(root / "data" / f"{table}.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def write_rows(root: Path, table: str, fields: list[str], rows: list[dict]) -> None:
    with open(root / "data" / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
