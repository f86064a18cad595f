"""The build is strict: an unknown citation, a broken cross-reference or a failing cell fails it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_flags() -> list[str]:
    """The flags `make book` passes to jupyter-book, read from the Makefile so the test builds the same way."""
    match = re.search(r"^JB_FLAGS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "Makefile defines no JB_FLAGS"
    return match.group(1).split()


def jupyter_book(book: Path) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(executable), "build", ".", *build_flags()], cwd=book, capture_output=True,
                          text=True, timeout=600)


def test_the_book_is_built_strictly():
    flags = build_flags()
    assert {"-n", "-W", "--keep-going"} <= set(flags)


@pytest.mark.slow
def test_unknown_citation_and_broken_reference_fail_the_build(book_copy):
    intro = book_copy / "chapters" / "intro.md"
    intro.write_text(intro.read_text() + "\n\nSee {cite:p}`nosuchstudy2020` and {doc}`no-such-page`.\n")
    result = jupyter_book(book_copy)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nosuchstudy2020" in output
    assert "no-such-page" in output


@pytest.mark.slow
def test_a_failing_cell_fails_the_build(book_copy):
    notebook_path = book_copy / "chapters" / "conditions" / "acne-scars.ipynb"
    notebook = json.loads(notebook_path.read_text())
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "failing-cell", "metadata": {},
                              "outputs": [], "source": "raise RuntimeError('this cell fails on purpose')"})
    notebook_path.write_text(json.dumps(notebook))
    result = jupyter_book(book_copy)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "this cell fails on purpose" in output
