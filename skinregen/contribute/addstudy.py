"""``python -m skinregen add-study``: add one study, its outcome rows and its BibTeX entry, safely.

The student fills in a small YAML file (``--template`` prints one, generated from the Table Schemas in
``data/datapackage.json``, so it always has the current columns). The BibTeX entry is drafted from Crossref
when online, or read from ``--bib FILE``. Before anything is written, the book as it would be after the
change is validated by the same code as ``python -m skinregen check``; any problem is reported against the
field of the YAML file that causes it, and nothing is written. Files are written all-or-nothing
(:mod:`skinregen.contribute.atomic`): existing rows keep their bytes and their order; new rows and the new entry are
appended, so a diff shows only the new study.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..data.bib import DOI_PATTERN, format_entry, read_bibliography
from ..data.csvrows import rows_by_id, rows_with_lines
from ..data.validate import check_book, parse_p_value
from .atomic import write_files

# Columns filled in by add-study itself, never by the student.
DERIVED = {
    "studies": {"key", "doi", "pmid", "year", "randomized", "evidence_level"},
    "outcomes": {"study_key", "outcome_no", "p_value", "p_value_relation"},
    "adverse_events": {"study_key", "ae_no"},
    "risk_of_bias": {"study_key"},
}
TOP_LEVEL = ("doi", "pmid", "key", "study", "mechanisms", "outcomes", "adverse_events", "risk_of_bias")
STOP_WORDS = {"a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "by", "at", "from", "is", "are"}


class InputError(Exception):
    """Input that add-study refuses; carries one message per problem."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


# ---------------------------------------------------------------------------------------------- template


def _resource(descriptor: dict, name: str) -> dict:
    return next(r for r in descriptor["resources"] if r["name"] == name)


def _field_comment(spec: dict, vocabularies: dict[str, list[str]]) -> str:
    constraints = spec.get("constraints", {})
    parts = [spec.get("description", "").rstrip(".")]
    if spec["name"] in vocabularies:
        parts.append("one of: " + ", ".join(vocabularies[spec["name"]]))
    elif "enum" in constraints:
        parts.append("one of: " + ", ".join(constraints["enum"]))
    if constraints.get("required"):
        parts.append("REQUIRED")
    return "; ".join(p for p in parts if p)


def _vocabulary_terms(root: Path, descriptor: dict) -> dict[str, list[str]]:
    """Column name -> allowed ids, for columns that are foreign keys to a vocabulary table."""
    terms: dict[str, list[str]] = {}
    for resource in descriptor["resources"]:
        for foreign in resource.get("schema", {}).get("foreignKeys", []):
            target = foreign["reference"].get("resource")
            columns = foreign["fields"] if isinstance(foreign["fields"], list) else [foreign["fields"]]
            vocabulary = next((r for r in descriptor["resources"] if r["name"] == target), None)
            if (vocabulary is None or target in ("studies", "reports", "outcomes") or len(columns) != 1
                    or foreign["reference"].get("fields") != "id"):
                continue
            terms[columns[0]] = list(rows_by_id(root / "data" / vocabulary["path"]))
    return terms


def template(root: Path) -> str:
    """A YAML file to fill in, with every column the student gives and what it means."""
    descriptor = json.loads((root / "data" / "datapackage.json").read_text(encoding="utf-8"))
    terms = _vocabulary_terms(root, descriptor)
    lines = [
        "# add-study input. Fill in what the source PRINTS; leave a value empty when it is not printed.",
        "# Never estimate, convert or recall a number. Then run:",
        "#   python -m skinregen add-study study.yml            (online: the BibTeX entry comes from Crossref)",
        "#   python -m skinregen add-study study.yml --bib entry.bib   (offline: the entry you copied)",
        "",
        "doi: 10.xxxx/xxxxx      # as printed by the publisher, without https://doi.org/ (REQUIRED)",
        "pmid:                   # PubMed id as printed on the PubMed page; empty if none",
        "key:                    # optional; default: first author's surname + year + first title word",
        "",
        "study:",
    ]
    for spec in _resource(descriptor, "studies")["schema"]["fields"]:
        if spec["name"] not in DERIVED["studies"]:
            lines.append(f"  {spec['name']}:  # {_field_comment(spec, terms)}")
    mechanisms = ", ".join(terms.get("mechanism", []))
    lines += ["", f"mechanisms: []           # what the study measured; any of: {mechanisms}", "",
              "outcomes:                # one item per outcome x time point x comparison; copy the block for more",
              "  -"]
    for spec in _resource(descriptor, "outcomes")["schema"]["fields"]:
        if spec["name"] not in DERIVED["outcomes"]:
            lines.append(f"    {spec['name']}:  # {_field_comment(spec, terms)}")
    lines += ["", "adverse_events:          # one item per reported safety finding; delete the block if none", "  -"]
    for spec in _resource(descriptor, "adverse_events")["schema"]["fields"]:
        if spec["name"] not in DERIVED["adverse_events"]:
            lines.append(f"    {spec['name']}:  # {_field_comment(spec, terms)}")
    lines += ["", "risk_of_bias:            # one item per domain: RoB 2 for randomized studies, ROBINS-I for",
              "                         # non-randomized controlled ones, one 'uncontrolled / no_control_group /",
              "                         # critical' item for single-arm studies and case series (data/README.md)",
              "  -"]
    for spec in _resource(descriptor, "risk_of_bias")["schema"]["fields"]:
        if spec["name"] not in DERIVED["risk_of_bias"]:
            lines.append(f"    {spec['name']}:  # {_field_comment(spec, terms)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- input


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def read_input(path: Path, descriptor: dict) -> dict:
    """Read and shape-check the YAML file; every problem names the field."""
    label = path.name
    if not path.is_file():
        raise InputError([f"{path}: no such file (print a template with: python -m skinregen add-study --template)"])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        raise InputError([f"{label}: is not UTF-8 text (byte {error.start})"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InputError([f"{label}{where}: is not valid YAML ({problem}); check the indentation and that every "
                          "'key: value' has a space after the colon"]) from None
    if not isinstance(document, dict):
        raise InputError([f"{label}: expected 'key: value' lines (doi, study, outcomes, ...), "
                          f"found {type(document).__name__}"])
    problems = []
    for name in document:
        if name not in TOP_LEVEL:
            problems.append(f"{label}: {name}: is not a known section{_suggest(str(name), TOP_LEVEL)}; "
                            f"the sections are {', '.join(TOP_LEVEL)}")
    columns = {name: [f["name"] for f in _resource(descriptor, name)["schema"]["fields"]]
               for name in ("studies", "outcomes", "adverse_events", "risk_of_bias")}

    def check_mapping(value, where: str, table: str) -> None:
        if not isinstance(value, dict):
            problems.append(f"{label}: {where}: expected 'field: value' lines, found {_shown(value)}")
            return
        allowed = [c for c in columns[table] if c not in DERIVED[table]]
        for name, item in value.items():
            if name in DERIVED[table]:
                problems.append(f"{label}: {where}.{name}: is filled in by add-study; remove it")
            elif name not in allowed:
                problems.append(f"{label}: {where}.{name}: is not a column of data/{table}.csv"
                                f"{_suggest(str(name), allowed)}")
            elif isinstance(item, (dict, list)):
                problems.append(f"{label}: {where}.{name}: expected one value, found {_shown(item)}")

    doi = document.get("doi")
    if not doi:
        problems.append(f"{label}: doi: is required (as printed by the publisher, e.g. 10.2340/00015555-3666)")
    elif not isinstance(doi, str) or not DOI_PATTERN.match(doi.strip()):
        problems.append(f"{label}: doi: {doi!r} is not a DOI (expected 10.<registrant>/<suffix>, without "
                        "https://doi.org/)")
    for name in ("pmid", "key"):
        if document.get(name) is not None and not isinstance(document.get(name), (str, int)):
            problems.append(f"{label}: {name}: expected one value, found {_shown(document[name])}")
    check_mapping(document.get("study"), "study", "studies")
    mechanisms = document.get("mechanisms") or []
    if not isinstance(mechanisms, list) or not all(isinstance(m, str) for m in mechanisms):
        problems.append(f"{label}: mechanisms: expected a list like [collagen_ecm, angiogenesis], "
                        f"found {_shown(mechanisms)}")
    for section, table in (("outcomes", "outcomes"), ("adverse_events", "adverse_events"),
                           ("risk_of_bias", "risk_of_bias")):
        items = document.get(section) or []
        if not isinstance(items, list):
            problems.append(f"{label}: {section}: expected a list of items, each starting with '-'")
            continue
        for number, item in enumerate(items, 1):
            check_mapping(item, f"{section}[{number}]", table)
    if problems:
        raise InputError(problems)
    return document


def _shown(value) -> str:
    if isinstance(value, dict):
        return "a block of fields"
    if isinstance(value, list):
        return "a list"
    return f"{value!r}"


# ---------------------------------------------------------------------------------------------- rows


def cell(value) -> str:
    """A YAML value as it is written in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def make_key(bib: dict[str, str]) -> str:
    """First author's surname, year and first significant title word, lower-case ASCII letters."""

    def ascii_letters(text: str) -> str:
        return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())

    first_author = bib.get("author", "").split(" and ")[0]
    surname = ascii_letters(first_author.split(",")[0])
    words = [ascii_letters(word) for word in bib.get("title", "").split()]
    words = [word for word in words if word and word not in STOP_WORDS]
    return f"{surname}{bib.get('year', '')}{words[0] if words else ''}"


def _csv_line(header: list[str], values: dict[str, str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values.get(name, "") for name in header])
    return buffer.getvalue()


@dataclass
class Change:
    """The new bytes of every file add-study touches, and where each new row will sit."""

    contents: dict[str, bytes] = field(default_factory=dict)
    origin: dict[tuple[str, int], str] = field(default_factory=dict)  # (file, line) -> input field path
    bib_key: str = ""
    screening_records_removed: list[str] = field(default_factory=list)


def _append_rows(root: Path, change: Change, relpath: str, rows: list[tuple[str, dict[str, str]]]) -> None:
    original = (root / relpath).read_bytes()
    text = original.decode("utf-8")
    header = next(csv.reader([text.splitlines()[0]]))
    if text and not text.endswith("\n"):
        text += "\n"
    line = text.count("\n") + 1
    for where, values in rows:
        row_text = _csv_line(header, values)
        change.origin[(relpath, line)] = where
        line += row_text.count("\n")
        text += row_text
    change.contents[relpath] = text.encode("utf-8")


def _drop_screening_records(root: Path, change: Change, doi: str) -> None:
    """Remove the screening-log records of this DOI: once included, a study lives in studies.csv only.

    Every other line keeps its bytes.
    """
    relpath = "data/screening.csv"
    path = root / relpath
    if not doi or not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    reader = csv.reader(lines)
    header = next(reader, None) or []
    if "doi" not in header:
        return
    kept, start = lines[:1], 1
    for record in reader:
        end = reader.line_num
        values = dict(zip(header, record, strict=False))
        if (values.get("doi") or "").strip().lower() == doi.strip().lower():
            change.screening_records_removed.append(values.get("record_no") or str(start + 1))
        else:
            kept += lines[start:end]
        start = end
    if change.screening_records_removed:
        change.contents[relpath] = "".join(kept).encode("utf-8")


def build_change(root: Path, document: dict, bib: dict[str, str]) -> Change:
    """New file contents for the study described by ``document`` with bibliography fields ``bib``."""
    key = str(document.get("key") or make_key(bib))
    designs = rows_by_id(root / "data" / "designs.csv")
    study = {name: cell(value) for name, value in (document.get("study") or {}).items()}
    design = designs.get(study.get("design", ""), {})
    study.update(key=key, doi=bib.get("doi", ""), pmid=bib.get("pmid", ""), year=bib.get("year", ""),
                 randomized=design.get("randomized", ""), evidence_level=design.get("evidence_level", ""))
    change = Change(bib_key=key)
    _append_rows(root, change, "data/studies.csv", [("study", study)])
    _append_rows(root, change, "data/reports.csv", [("study", {"report_key": key, "study_key": key, "role": "main"})])
    _append_rows(root, change, "data/study_mechanisms.csv",
                 [("mechanisms", {"study_key": key, "mechanism": m}) for m in document.get("mechanisms") or []])
    outcome_rows = []
    for number, item in enumerate(document.get("outcomes") or [], 1):
        values = {name: cell(value) for name, value in item.items()}
        values.update(study_key=key, outcome_no=str(number))
        parsed = parse_p_value(values.get("p_value_text"))
        if parsed:
            values.update(p_value=f"{parsed[0]:g}", p_value_relation=parsed[1])
        outcome_rows.append((f"outcomes[{number}]", values))
    _append_rows(root, change, "data/outcomes.csv", outcome_rows)
    events = []
    for number, item in enumerate(document.get("adverse_events") or [], 1):
        values = {name: cell(value) for name, value in item.items()}
        values.update(study_key=key, ae_no=str(number))
        events.append((f"adverse_events[{number}]", values))
    _append_rows(root, change, "data/adverse_events.csv", events)
    judgements = [(f"risk_of_bias[{number}]", {**{name: cell(value) for name, value in item.items()}, "study_key": key})
                  for number, item in enumerate(document.get("risk_of_bias") or [], 1)]
    _append_rows(root, change, "data/risk_of_bias.csv", judgements)
    bib_text = (root / "references.bib").read_text(encoding="utf-8")
    if not bib_text.endswith("\n"):
        bib_text += "\n"
    change.origin[("references.bib", bib_text.count("\n") + 2)] = "bib"
    change.contents["references.bib"] = (bib_text + "\n" + format_entry(key, bib)).encode("utf-8")
    _drop_screening_records(root, change, bib.get("doi", ""))
    return change


# ---------------------------------------------------------------------------------------------- checks


def existing_doi(root: Path, doi: str, bibliography) -> str | None:
    """Where the data or the bibliography (as read by read_bibliography) holds ``doi`` (case-insensitive)."""
    wanted = doi.strip().lower()
    for line, row in rows_with_lines(root / "data" / "studies.csv"):
        if (row.get("doi") or "").strip().lower() == wanted:
            return f"data/studies.csv line {line} (key {row['key']})"
    for key, entry in bibliography.entries.items():
        if entry.get("doi", "").strip().lower() == wanted:
            return f"references.bib line {bibliography.lines[key]} (key {key})"
    return None


def validate_change(root: Path, change: Change, label: str) -> list[str]:
    """Run the checks of ``python -m skinregen check`` on the book as it would be after ``change``."""
    with tempfile.TemporaryDirectory(prefix="skinregen-add-study-") as staging:
        stage = Path(staging)
        shutil.copytree(root / "data", stage / "data")
        shutil.copy2(root / "references.bib", stage / "references.bib")
        shutil.copy2(root / "_config.yml", stage / "_config.yml")
        for relpath, data in change.contents.items():
            (stage / relpath).write_bytes(data)
        problems = check_book(stage)
    messages, unrelated = [], []
    bad_design = any(change.origin.get((p.file, p.line)) == "study" and p.column == "design" for p in problems)
    for problem in problems:
        where = change.origin.get((problem.file, problem.line))
        if bad_design and where == "study" and problem.column in ("randomized", "evidence_level"):
            continue  # follows from the unknown design, which is reported
        if where is None and problem.file == "references.bib" and problem.key == change.bib_key:
            where = "bib"
        if where is None:
            unrelated.append(str(problem))
            continue
        column = problem.column or ""
        if where == "bib":
            target = f"BibTeX entry @{change.bib_key}" + (f", field {column}" if column else "")
        elif where == "study" and problem.file == "data/reports.csv":
            target = "key"
        elif where == "study" and column in ("key", "doi", "pmid"):
            target = column
        elif where == "study" and column == "year":
            target = "year (from the BibTeX entry)"
        elif where == "mechanisms":
            target = "mechanisms"
        else:
            target = f"{where}.{column}" if column else where
        text = str(problem).split(": ", 1)[1] if ": " in str(problem) else problem.rule
        messages.append(f"{label}: {target}: {text}")
    if unrelated:
        messages.append("the book already has problems unrelated to this study; run `python -m skinregen check` and "
                        "fix them first:")
        messages.extend(f"  {line}" for line in unrelated)
    return messages


# ---------------------------------------------------------------------------------------------- command


def bibliography_fields(document: dict, bib_file: Path | None, fetch) -> dict[str, str]:
    """The new study's BibTeX fields: from ``bib_file`` if given, else from Crossref through ``fetch``."""
    doi = str(document["doi"]).strip()
    if bib_file is not None:
        if not bib_file.is_file():
            raise InputError([f"{bib_file}: no such file"])
        parsed = read_bibliography(bib_file)
        if parsed.issues:
            raise InputError([f"{bib_file} line {issue.line}: {issue.rule}" if issue.line else
                              f"{bib_file}: {issue.rule}" for issue in parsed.issues])
        if len(parsed.entries) != 1:
            raise InputError([f"{bib_file}: holds {len(parsed.entries)} entries; give exactly one"])
        fields = dict(next(iter(parsed.entries.values())))
        if fields.get("doi", "").strip().lower() != doi.lower():
            raise InputError([f"{bib_file}: its doi ({fields.get('doi') or 'none'}) differs from doi: {doi} in the "
                              "study file; they must name the same paper"])
    else:
        from .crossref import bib_fields

        fields = bib_fields(fetch(doi))
        if fields.get("doi", "").lower() != doi.lower():
            raise InputError([f"Crossref returned DOI {fields.get('doi')!r} for {doi}: check the DOI"])
    fields["doi"] = doi  # as the student copied it from the publisher's page (Crossref may change its case)
    pmid = document.get("pmid")
    if pmid not in (None, ""):
        if fields.get("pmid") and fields["pmid"] != str(pmid).strip():
            raise InputError([f"pmid: {pmid} differs from the pmid in the BibTeX entry ({fields['pmid']})"])
        fields["pmid"] = str(pmid).strip()
    missing = [name for name in ("author", "title", "journal", "year") if not fields.get(name)]
    if missing:
        raise InputError([f"the BibTeX entry for {doi} has no {', '.join(missing)}; give a complete entry with "
                          "--bib FILE"])
    return fields


def add_study(root: Path, study_file: Path, bib_file: Path | None = None, fetch=None) -> Change:
    """Validate and write one study; raise InputError (and write nothing) on any problem."""
    from .crossref import fetch_work

    descriptor = json.loads((root / "data" / "datapackage.json").read_text(encoding="utf-8"))
    document = read_input(study_file, descriptor)
    doi = str(document["doi"]).strip()
    bibliography = read_bibliography(root / "references.bib")
    holder = existing_doi(root, doi, bibliography)
    if holder:
        raise InputError([f"{study_file.name}: doi: {doi} is already in the book, in {holder}; add rows to that "
                          "study instead of adding it again"])
    fields = bibliography_fields(document, bib_file, fetch or fetch_work)
    change = build_change(root, document, fields)
    if change.bib_key in bibliography.entries:
        raise InputError([f"{study_file.name}: key: {change.bib_key} is already an entry in references.bib (line "
                          f"{bibliography.lines[change.bib_key]}); give another with 'key:' (e.g. "
                          f"{change.bib_key}b)"])
    messages = validate_change(root, change, study_file.name)
    if messages:
        raise InputError(messages)
    write_files({root / relpath: data for relpath, data in change.contents.items()})
    return change
