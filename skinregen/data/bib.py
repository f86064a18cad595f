"""Read ``references.bib`` with bibtexparser and report what is wrong with it, line by line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock

DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
PMID_PATTERN = re.compile(r"^[1-9]\d{0,8}$")
REQUIRED_FIELDS = {"article": ("author", "title", "journal", "year")}
CITE_PATTERN = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")


@dataclass
class BibIssue:
    line: int | None
    key: str | None
    field: str | None
    value: str | None
    rule: str


@dataclass
class Bibliography:
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    issues: list[BibIssue] = field(default_factory=list)


def _line_of(start_line: int | None) -> int | None:
    """bibtexparser counts lines from 0; editors and messages count from 1."""
    return None if start_line is None else start_line + 1


def read_bibliography(path: Path) -> Bibliography:
    """Parse ``path``; collect every entry, and every problem with a line number."""
    result = Bibliography()
    text = path.read_text(encoding="utf-8-sig")
    if text.count("{") != text.count("}"):
        opening, closing = text.count("{"), text.count("}")
        result.issues.append(BibIssue(None, None, None, None,
                                      f"the file has {opening} '{{' but {closing} '}}': unbalanced braces"))
    library = bibtexparser.parse_string(text)
    for block in library.failed_blocks:
        line = _line_of(block.start_line)
        if isinstance(block, DuplicateBlockKeyBlock):
            first = result.lines.get(block.key)
            where = f" (first defined on line {first})" if first else ""
            result.issues.append(BibIssue(line, block.key, None, block.key, "duplicate entry key" + where))
        elif isinstance(block, ParsingFailedBlock):
            snippet = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
            result.issues.append(BibIssue(line, None, None, snippet,
                                          f"cannot be parsed as a BibTeX entry ({block.error})"))
    for entry in library.entries:
        line = _line_of(entry.start_line)
        fields = {name.lower(): str(field.value).strip() for name, field in entry.fields_dict.items()}
        if entry.key in result.entries:
            result.issues.append(BibIssue(line, entry.key, None, entry.key,
                                          f"duplicate entry key (first defined on line {result.lines[entry.key]})"))
            continue
        result.entries[entry.key] = fields
        result.lines[entry.key] = line
        raw = getattr(entry, "raw", "") or ""
        for name in re.findall(r"^\s*([A-Za-z]+)\s*=", raw, flags=re.M):
            if name.lower() not in fields:
                result.issues.append(BibIssue(line, entry.key, name.lower(), None,
                                              f"the {name} field could not be read: is a comma missing at the end "
                                              "of the line before it?"))
        for name in REQUIRED_FIELDS.get(entry.entry_type.lower(), ()):
            if not fields.get(name):
                result.issues.append(BibIssue(line, entry.key, name, None, f"@{entry.entry_type} needs a {name} field"))
        doi = fields.get("doi")
        if doi is not None and not DOI_PATTERN.match(doi):
            result.issues.append(BibIssue(line, entry.key, "doi", doi,
                                          "is not a DOI (expected 10.<registrant>/<suffix>, without https://doi.org/)"))
        pmid = fields.get("pmid")
        if pmid is not None and not PMID_PATTERN.match(pmid):
            result.issues.append(BibIssue(line, entry.key, "pmid", pmid, "is not a PubMed id (digits only)"))
        if (not doi and not pmid and entry.entry_type.lower() == "article" and not fields.get("note")
                and not fields.get("url")):
            result.issues.append(BibIssue(line, entry.key, "doi", None,
                                          "an article needs a doi, a pmid or a url field (the address of the page "
                                          "that was read)"))
    return result


def cited_keys(text: str) -> list[str]:
    """Keys cited with MyST roles ``{cite}``, ``{cite:p}``, ``{cite:t}`` ... in ``text``."""
    keys = []
    for match in CITE_PATTERN.finditer(text):
        keys.extend(key.strip() for key in match.group(1).split(",") if key.strip())
    return keys


# The order and layout of fields in references.bib; format_entry writes new entries the same way, so a diff
# that adds a study shows only that study.
FIELD_ORDER = ("author", "title", "journal", "booktitle", "publisher", "year", "month", "volume", "number",
               "pages", "doi", "pmid", "pmcid", "url", "urldate", "note")


def format_entry(key: str, fields: dict[str, str], entry_type: str = "article") -> str:
    """One BibTeX entry in the house style of ``references.bib`` (two-space indent, braces, no trailing comma)."""
    names = [name for name in FIELD_ORDER if fields.get(name)]
    names += sorted(name for name in fields if name not in FIELD_ORDER and fields[name])
    body = ",\n".join(f"  {name} = {{{fields[name]}}}" for name in names)
    return f"@{entry_type}{{{key},\n{body}\n}}\n"
