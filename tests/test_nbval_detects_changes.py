"""nbval compares what readers see: a changed number in data/ must fail it with a readable diff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from csvedit import read_rows, write_rows

CHAPTER = Path("chapters/conditions/acne-scars.ipynb")


def run_nbval(book: Path, notebook: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", str(notebook)],
        cwd=book, capture_output=True, text=True, timeout=600,
    )


def change_first_study(book: Path, condition: str) -> tuple[str, str, str]:
    """Add 1000 to n_enrolled of the first study of ``condition`` in the copy; return key, old, new."""
    fields, rows = read_rows(book, "studies")
    row = next(row for row in rows if row["condition"] == condition and row["n_enrolled"])
    old = row["n_enrolled"]
    row["n_enrolled"] = str(int(old) + 1000)
    write_rows(book, "studies", fields, rows)
    return row["key"], old, row["n_enrolled"]


@pytest.mark.slow
def test_nbval_fails_with_a_readable_diff_when_a_number_changes(book_copy):
    key, old, new = change_first_study(book_copy, "acne_scars")
    result = run_nbval(book_copy, CHAPTER)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "failed" in output
    # The diff shows the study's table row twice: as stored (old n) and as computed now (new n).
    lines = output.splitlines()
    stored = [line for line in lines if key in line and f'data-label="n">{old}</td>' in line]
    fresh = [line for line in lines if key in line and f'data-label="n">{new}</td>' in line]
    assert stored and fresh, output[-3000:]
    # ... as the two sides of a diff (pytest marks one side '-' and the other '+').
    signs = {line.lstrip()[:1] for line in stored + fresh}
    assert signs == {"-", "+"}, signs


@pytest.mark.slow
def test_nbval_passes_on_an_unchanged_copy(book_copy):
    result = run_nbval(book_copy, CHAPTER)
    assert result.returncode == 0, result.stdout[-3000:]
