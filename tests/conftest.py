"""Shared fixtures: the book's folder, and disposable copies of it for tests that change files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
                                     "*.egg-info", ".ipynb_checkpoints", "bench")


@pytest.fixture
def book_root() -> Path:
    return ROOT


@pytest.fixture
def book_copy(tmp_path) -> Path:
    """A copy of the book's sources (no .venv, no _build) that a test may break."""
    target = tmp_path / "book"
    shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    return target
