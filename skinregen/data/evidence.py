"""Load the Frictionless data package in ``data/`` into pandas DataFrames typed by its Table Schemas.

The loader trusts nothing it has not checked: call :func:`skinregen.data.validate.check_book` (``python -m
skinregen check``) for the full validation; here only the descriptor's types are applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from .paths import find_book_root

PANDAS_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}


def read_descriptor(root: Path) -> dict:
    with open(root / "data" / "datapackage.json", encoding="utf-8") as handle:
        return json.load(handle)


def read_table(path: Path, schema: dict) -> pd.DataFrame:
    """Read one CSV with the column types its Table Schema declares (empty cells become missing)."""
    fields = schema["fields"]
    frame = pd.read_csv(
        path,
        dtype="string",
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8-sig",
    )
    for spec in fields:
        name, kind = spec["name"], spec.get("type", "string")
        if name not in frame.columns:
            continue
        if kind == "boolean":
            frame[name] = frame[name].map({"true": True, "false": False}, na_action="ignore").astype("boolean")
        elif kind in ("integer", "number"):
            frame[name] = pd.to_numeric(frame[name]).astype(PANDAS_DTYPES[kind])
    return frame


@dataclass
class Evidence:
    """All tables of the evidence database, loaded once and shared by a chapter's calls."""

    root: Path
    descriptor: dict = field(repr=False)
    _tables: dict = field(default_factory=dict, repr=False)
    _vocabularies: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: str | Path | None = None) -> Evidence:
        book = Path(root).resolve() if root else find_book_root()
        return cls(root=book, descriptor=read_descriptor(book))

    def table(self, name: str) -> pd.DataFrame:
        """A table of the data package, read once per Evidence (callers copy before changing it)."""
        if name not in self._tables:
            for resource in self.descriptor["resources"]:
                if resource["name"] == name:
                    self._tables[name] = read_table(self.root / "data" / resource["path"], resource["schema"])
                    break
            else:
                raise KeyError(f"data/datapackage.json has no resource named {name!r}")
        return self._tables[name]

    @cached_property
    def studies(self) -> pd.DataFrame:
        return self.table("studies")

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        return self.table("outcomes")

    @cached_property
    def adverse_events(self) -> pd.DataFrame:
        return self.table("adverse_events")

    @cached_property
    def reports(self) -> pd.DataFrame:
        return self.table("reports")

    @cached_property
    def study_mechanisms(self) -> pd.DataFrame:
        return self.table("study_mechanisms")

    @cached_property
    def references(self) -> dict:
        """Author-year label and full reference of every entry of references.bib (see data/citations.py)."""
        from .citations import references

        return references(self.root / "references.bib")

    def cite(self, key: str) -> str:
        """'First author et al., year' for a study or source (the key itself only when the bibliography lacks it)."""
        reference = self.references.get(key)
        return reference.label if reference else key

    def cite_html(self, key: str) -> str:
        """The author-year label linked to the full reference in the bibliography."""
        import html

        reference = self.references.get(key)
        return reference.link_html() if reference else html.escape(key)

    def without_keys(self, text: str) -> str:
        """``text`` with every BibTeX key of the bibliography replaced by its author-year label."""
        import re

        if not isinstance(text, str) or not text:
            return text
        pattern = self.__dict__.get("_key_pattern")
        if pattern is None:
            keys = sorted(self.references, key=len, reverse=True)
            pattern = self.__dict__["_key_pattern"] = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + r")\b")
        return pattern.sub(lambda match: self.cite(match.group(1)), text)

    def vocabulary(self, name: str) -> pd.DataFrame:
        """A vocabulary table (conditions, designs, product_types, cell_sources, mechanisms, outcome_domains)."""
        if name not in self._vocabularies:
            self._vocabularies[name] = self.table(name).set_index("id")
        return self._vocabularies[name]

    def label(self, vocabulary: str, term: str) -> str:
        return str(self.vocabulary(vocabulary).loc[term, "label"])

    def studies_for(self, condition: str | None = None, mechanism: str | None = None) -> pd.DataFrame:
        """Studies of one condition and/or one mechanism, newest first."""
        chosen = self.studies
        if condition is not None:
            chosen = chosen[chosen["condition"] == condition]
        if mechanism is not None:
            keys = self.study_mechanisms.loc[self.study_mechanisms["mechanism"] == mechanism, "study_key"]
            chosen = chosen[chosen["key"].isin(set(keys))]
        return chosen.sort_values(["year", "key"], ascending=[False, True]).reset_index(drop=True)

    def outcomes_for(self, study_keys) -> pd.DataFrame:
        return self.outcomes[self.outcomes["study_key"].isin(set(study_keys))].reset_index(drop=True)


def load(root: str | Path | None = None) -> Evidence:
    """Load the book's evidence database (found from the working folder, or from ``root``)."""
    return Evidence.load(root)
