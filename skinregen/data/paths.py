"""Locate the book's folder, so that notebooks, the CLI and tests read the book's own files."""

from __future__ import annotations

import os
from pathlib import Path

MARKERS = ("_config.yml", "data/datapackage.json")


class BookNotFoundError(FileNotFoundError):
    """Raised when no folder above the start folder looks like the book."""


def is_book_root(path: Path) -> bool:
    return all((path / marker).is_file() for marker in MARKERS)


def find_book_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: the working folder) that holds the book.

    The environment variable ``SKINREGEN_ROOT`` overrides the search (used by tests on copies of the book).
    """
    override = os.environ.get("SKINREGEN_ROOT")
    if start is None and override:
        root = Path(override).resolve()
        if not is_book_root(root):
            raise BookNotFoundError(f"SKINREGEN_ROOT={override} does not hold {' and '.join(MARKERS)}")
        return root
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_book_root(candidate):
            return candidate
    raise BookNotFoundError(
        f"no book found at or above {here}: expected a folder with {' and '.join(MARKERS)}"
    )
