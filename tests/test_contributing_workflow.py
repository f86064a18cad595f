"""CONTRIBUTING.md, end to end: a student builds the book, adds a real study and a chapter, and runs the tests.

The copy of the book starts without the study of tests/fixtures/add_study/study.yml (as before it was added)
and shares this checkout's .venv (creating a new one would need the network). Crossref is replayed locally.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from crossref_replay import CrossrefReplay
from studyedit import remove_study
from test_add_study import KEY

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
                                "*.egg-info", ".ipynb_checkpoints", "synthetic", "results")
NEW_CONDITION = 'discoid_lupus,Discoid lupus erythematosus,"Scarring skin lesions of discoid lupus erythematosus."\n'


def run(command: list[str], book: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=book, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.slow
def test_make_book_add_study_new_chapter_make_test(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(ROOT, book, ignore=IGNORE)
    (book / ".venv").symlink_to(ROOT / ".venv")
    remove_study(book, KEY)
    env = {name: value for name, value in os.environ.items()
           if name not in ("SKINREGEN_ROOT", "MAKEFLAGS", "MAKELEVEL", "TESTS", "NOTEBOOKS")}
    python = str(book / ".venv" / "bin" / "python")

    run(["make", "book"], book, env)
    assert (book / "_build" / "html" / "index.html").is_file()

    with CrossrefReplay() as url:
        added = run([python, "-m", "skinregen", "add-study", "tests/fixtures/add_study/study.yml"], book,
                    {**env, "SKINREGEN_CROSSREF_API": url})
    assert f"added study {KEY}" in added.stdout

    with open(book / "data" / "conditions.csv", "a", encoding="utf-8") as handle:
        handle.write(NEW_CONDITION)
    run([python, "-m", "skinregen", "new-chapter", "conditions/discoid_lupus"], book, env)

    # The whole `make test` recipe (strict build, check, ruff, pytest with nbval), on the data tests and the two
    # chapters the student touched: the new one, and the one that shows the added study.
    tested = run(["make", "test", "TESTS=tests/test_check.py",
                  "NOTEBOOKS=chapters/conditions/discoid-lupus.ipynb chapters/conditions/burns.ipynb"], book, env)
    assert "discoid-lupus.ipynb" in tested.stdout and " passed" in tested.stdout
    assert (book / "_build" / "html" / "chapters" / "conditions" / "discoid-lupus.html").is_file()
    burns = (book / "_build" / "html" / "chapters" / "conditions" / "burns.html").read_text(encoding="utf-8")
    assert KEY in burns
