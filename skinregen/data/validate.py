"""``python -m skinregen check``: validate the data package, the bibliography and every cross-reference.

Everything wrong is reported at once, one line per problem, naming the file, the line (and the row's key),
the column, the bad value and the rule, e.g.::

    data/studies.csv line 14 (key kwon2020acne), column n_enrolled: -3 is below the minimum 1

Types, required fields, enums, ranges, patterns and primary keys are checked by the ``frictionless``
library against the Table Schemas in ``data/datapackage.json``; foreign keys declared there are checked
here with set lookups (frictionless's own lookup copies every referenced table); the rules a Table Schema
cannot express (study keys <-> BibTeX keys, citations in chapters, consistency between columns) are checked
here. The bibliography and the larger tables are checked in worker processes on the machine's other
core (``parallel.py``). Nothing is ever written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import frictionless

from .bib import Bibliography, cited_keys, read_bibliography
from .parallel import Workers

HEADER_ERRORS = {"missing-label", "extra-label", "duplicate-label", "incorrect-label", "blank-label"}
FRICTIONLESS_CONSTRAINT = re.compile(r'constraint "(?P<name>\w+)" is "(?P<value>.*)"', re.S)
# A p value as printed; words after it ('at each time point') or a second value ('< 0.05, <0.001') may follow.
P_VALUE_TEXT = re.compile(r"^\s*[pP]?\s*(?P<rel><=|>=|≤|≥|<|>|=)?\s*(?P<num>0?\.\d+|0|1(?:\.0+)?)"
                          r"(?P<tail>[,;(a-zA-Z].*)?\s*$")
# Printed statements of non-significance: kept as printed, with no number parsed from them.
NOT_SIGNIFICANT_TEXTS = ("ns", "n.s.", "not significant", "not statistically significant", "no significant difference")


@dataclass(frozen=True)
class Problem:
    file: str
    rule: str
    line: int | None = None
    key: str | None = None
    column: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.key:
            where += f" (key {self.key})"
        if self.column:
            where += f", column {self.column}"
        if self.value is None or self.value == "":
            return f"{where}: {self.rule}"
        return f"{where}: {self.value!r} {self.rule}" if isinstance(self.value, str) and " " in self.value \
            else f"{where}: {self.value} {self.rule}"


@dataclass
class Table:
    """A CSV file as read for validation: header, rows, and the file line each row starts on."""

    name: str
    relpath: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    primary_key: list[str]

    def key_of(self, index: int) -> str | None:
        row = self.rows[index]
        parts = []
        for name in self.primary_key:
            if name in self.header and self.header.index(name) < len(row):
                parts.append(row[self.header.index(name)])
        return "/".join(parts) if parts and all(parts) else None

    def records(self):
        for index, row in enumerate(self.rows):
            yield index, dict(zip(self.header, row, strict=False))


# ---------------------------------------------------------------------------------------------- reading


def _read_descriptor(root: Path, problems: list[Problem]) -> dict | None:
    path = root / "data" / "datapackage.json"
    rel = "data/datapackage.json"
    if not path.is_file():
        problems.append(Problem(rel, "is missing"))
        return None
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        problems.append(Problem(rel, f"is not valid UTF-8 (byte {error.start})"))
        return None
    except json.JSONDecodeError as error:
        problems.append(Problem(rel, f"is not valid JSON: {error.msg} (column {error.colno})", line=error.lineno))
        return None
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list) or not resources:
        problems.append(Problem(rel, "has no 'resources' list"))
        return None
    try:
        frictionless.Package.from_descriptor(descriptor, basepath=str(root / "data"))
    except frictionless.FrictionlessException as error:
        problems.append(Problem(rel, f"is not a valid Data Package descriptor: {error.error.message}"))
        return None
    return descriptor


def _read_table(root: Path, resource: dict, problems: list[Problem]) -> Table | None:
    rel = f"data/{resource['path']}"
    path = root / "data" / resource["path"]
    schema = resource.get("schema", {})
    primary_key = schema.get("primaryKey", [])
    primary_key = [primary_key] if isinstance(primary_key, str) else list(primary_key)
    if not path.is_file():
        problems.append(Problem(rel, f"is missing (declared as resource '{resource['name']}')"))
        return None
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem(rel, "starts with a byte-order mark (BOM), as spreadsheets save it; "
                                     "save the file as UTF-8 without BOM", line=1))
    if b"\r\n" in raw:
        first = raw[: raw.index(b"\r\n")].count(b"\n") + 1
        problems.append(Problem(rel, "has Windows line endings (CRLF), as spreadsheets save them; "
                                     "save the file with LF line endings", line=first))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(Problem(rel, f"is not valid UTF-8 (byte {error.start}); save it as UTF-8", line=line))
        return None
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n"), newline=""))
    rows, lines = [], []
    previous_end = 0
    try:
        header = next(reader, None)
        previous_end = reader.line_num
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not row:
                continue
            rows.append(row)
            lines.append(start)
    except csv.Error as error:
        problems.append(Problem(rel, f"cannot be read as CSV: {error}", line=reader.line_num))
        return None
    if not header:
        problems.append(Problem(rel, "is empty: it needs a header row", line=1))
        return None
    return Table(resource["name"], rel, header, rows, lines, primary_key)


# ----------------------------------------------------------------------------------- table-schema checks


def _describe_constraint(name: str, value: str, field: dict) -> str:
    if name == "required":
        return "is empty, but the column is required"
    if name == "minimum":
        return f"is below the minimum {value}"
    if name == "maximum":
        return f"is above the maximum {value}"
    if name == "pattern":
        return f"does not match the pattern {value}"
    if name == "enum":
        allowed = field.get("constraints", {}).get("enum", [])
        return "is not one of the allowed values: " + ", ".join(map(str, allowed))
    if name == "unique":
        return "appears more than once, but the column must be unique"
    if name in ("minLength", "maxLength"):
        return f"violates {name} {value}"
    return f"violates the constraint {name} {value}"


def _header_problems(table: Table, declared: list[str]) -> list[Problem]:
    problems = []
    for name in declared:
        if name not in table.header:
            problems.append(Problem(table.relpath, f"the header lacks the column '{name}' declared in "
                                                   "data/datapackage.json", 1))
    seen = set()
    for name in table.header:
        if name in seen:
            problems.append(Problem(table.relpath, "appears twice in the header", 1, None, None, name))
        elif name not in declared:
            problems.append(Problem(table.relpath, "is a column the schema does not declare (a typo?)", 1, None,
                                    None, name))
        seen.add(name)
    return problems


def _table_schema_problems(shared: tuple[dict, dict[str, Table]], name: str) -> list[Problem]:
    """Validate one table against its Table Schema with frictionless (a job for ``parallel.Workers``).

    Frictionless checks types, required fields, enums, ranges, patterns and primary keys. Foreign keys are
    checked by ``_foreign_key_problems`` with set lookups on the typed key values, as frictionless does them
    but without its copies of every referenced table (which made ``check`` on a large package slow).
    """
    descriptor, tables = shared
    resource = next(r for r in descriptor["resources"] if r.get("name") == name)
    table = tables[name]
    schema = {key: value for key, value in resource.get("schema", {}).items() if key != "foreignKeys"}
    fields = {f["name"]: f for f in schema.get("fields", [])}
    problems = _header_problems(table, list(fields))
    # Columns are matched by name, not position; _header_problems reports missing or extra ones.
    frictionless_schema = frictionless.Schema.from_descriptor(schema)
    frictionless_schema.fields_match = "subset"
    rows = [table.header, *table.rows]
    # Data given as a function, so that frictionless's metadata export does not deep-copy every row.
    report = frictionless.Resource(name=name, data=lambda: rows, schema=frictionless_schema).validate(
        checklist=frictionless.Checklist(skip_errors=["blank-row"]), limit_errors=10**9)
    for task in report.tasks:
        problems.extend(_translate(error, table, fields) for error in task.errors if error.type not in HEADER_ERRORS)
    return problems


def _key_reader(table: Table, names: list[str], fields: dict[str, dict]):
    """Return a function giving a row's typed key values (None when empty or not of the field's type)."""
    positions = [table.header.index(name) for name in names]
    readers = [frictionless.Field.from_descriptor({"type": "string", **fields.get(name, {}), "name": name,
                                                   "constraints": {}}).create_cell_reader()
               for name in names]

    def read(row: list[str]) -> tuple:
        cells = []
        for position, reader in zip(positions, readers, strict=True):
            text = row[position] if position < len(row) else None
            cells.append(reader(text)[0] if text not in (None, "") else None)
        return tuple(cells)

    return read


def _foreign_key_problems(descriptor: dict, resource: dict, table: Table,
                          tables: dict[str, Table]) -> list[Problem]:
    """Rows whose foreign-key values are not found in the referenced table (rows with all keys empty pass)."""
    problems: list[Problem] = []
    schema = resource.get("schema", {})
    fields = {f["name"]: f for f in schema.get("fields", [])}
    for fk in schema.get("foreignKeys", []):
        names = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
        reference = fk["reference"]
        ref_names = [reference["fields"]] if isinstance(reference["fields"], str) else list(reference["fields"])
        ref_name = reference.get("resource") or resource["name"]
        ref_table = tables.get(ref_name)
        # A key into a table that could not be read, or a column that is missing, is not checked here:
        # that table's or column's own problem is reported.
        if ref_table is None or not set(names) <= set(table.header) or not set(ref_names) <= set(ref_table.header):
            continue
        ref_resource = next(r for r in descriptor["resources"] if r.get("name") == ref_name)
        ref_fields = {f["name"]: f for f in ref_resource.get("schema", {}).get("fields", [])}
        read_ref = _key_reader(ref_table, ref_names, ref_fields)
        known = {cells for cells in map(read_ref, ref_table.rows) if set(cells) != {None}}
        read = _key_reader(table, names, fields)
        ref_label = ", ".join(ref_names)
        rule = f"is not a known {ref_name}.{ref_label} (see data/{ref_name}.csv)"
        for index, row in enumerate(table.rows):
            cells = read(row)
            if set(cells) == {None} or cells in known:
                continue
            raw = dict(zip(table.header, row, strict=False))
            value = ", ".join(raw.get(name, "") for name in names) or None
            hint = ""
            if len(names) == 1 and value and len(known) < 200:  # vocabularies: suggest the nearest term
                import difflib

                close = difflib.get_close_matches(value, [str(k[0]) for k in known], n=1, cutoff=0.75)
                hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(Problem(table.relpath, rule + hint, table.lines[index], table.key_of(index),
                                    ", ".join(names), value))
    return problems


def _translate(error, table: Table, fields: dict[str, dict]) -> Problem:
    kind = error.type
    row_number = getattr(error, "row_number", None)
    index = row_number - 2 if row_number else None
    line = table.lines[index] if index is not None and 0 <= index < len(table.lines) else None
    key = table.key_of(index) if index is not None and 0 <= index < len(table.rows) else None
    column = getattr(error, "field_name", None) or getattr(error, "label", None)
    cell = getattr(error, "cell", None)
    if kind == "constraint-error":
        match = FRICTIONLESS_CONSTRAINT.search(error.note or "")
        name, value = (match.group("name"), match.group("value")) if match else ("?", error.note)
        if name == "required":
            cell = None
        return Problem(table.relpath, _describe_constraint(name, value, fields.get(column, {})),
                       line, key, column, cell)
    if kind == "type-error":
        field = fields.get(column, {})
        expected = field.get("type", "string")
        extra = " (write true or false)" if expected == "boolean" else ""
        return Problem(table.relpath, f"is not a valid {expected}{extra}", line, key, column, cell)
    if kind == "missing-label":
        return Problem(table.relpath, f"the header lacks the required column '{column}'", 1)
    if kind in ("extra-label", "blank-label", "duplicate-label", "incorrect-label"):
        rules = {
            "extra-label": "is a column the schema does not declare",
            "blank-label": "is a blank column name",
            "duplicate-label": "appears twice in the header",
            "incorrect-label": "is not the column the schema expects here",
        }
        return Problem(table.relpath, rules[kind], 1, None, None, getattr(error, "label", None))
    if kind == "extra-cell":
        return Problem(table.relpath, f"row has more cells than the header's {len(table.header)} columns "
                                      "(a stray comma or an unquoted comma in a text?)", line, key)
    if kind == "missing-cell":
        return Problem(table.relpath, f"row has fewer cells than the header's {len(table.header)} columns "
                                      f"(column {column} is missing)", line, key)
    if kind == "unique-error":
        # frictionless counts the header as row 1 and names the earlier row by that position
        match = re.search(r"row at position (\d+)", error.note or "")
        earlier = int(match.group(1)) - 2 if match else -1
        first = table.lines[earlier] if 0 <= earlier < len(table.lines) else None
        where = f" (first on line {first})" if first else ""
        return Problem(table.relpath, f"appears more than once{where}, but the column must be unique", line, key,
                       column, cell)
    if kind == "primary-key":
        pk = ", ".join(table.primary_key)
        return Problem(table.relpath, f"duplicate primary key ({pk}): another row has the same value", line, key)
    return Problem(table.relpath, f"{error.title}: {error.note}", line, key, column, cell)


# ---------------------------------------------------------------------------------------- custom rules


def is_not_significant_statement(text: str | None) -> bool:
    return bool(text) and text.strip().lower() in NOT_SIGNIFICANT_TEXTS


def parse_p_value(text: str | None) -> tuple[float, str] | None:
    """Parse a p value as printed ('<0.001', 'p = .03', '0.04') into (number, relation); None if not numeric."""
    if not text:
        return None
    # A middle dot is a decimal point in some journals (The Lancet prints "0·002").
    match = P_VALUE_TEXT.match(text.replace(" ", "").replace("\u00b7", "."))
    if not match:
        return None
    relation = {"≤": "<=", "≥": ">="}.get(match.group("rel") or "=", match.group("rel") or "=")
    number = match.group("num")
    return float("0" + number if number.startswith(".") else number), relation


def _as_int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _as_float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _row_problem(table: Table, index: int, column: str | None, value, rule: str) -> Problem:
    return Problem(table.relpath, rule, table.lines[index], table.key_of(index), column, value)


def _study_rules(tables: dict[str, Table], bib) -> list[Problem]:
    problems: list[Problem] = []
    studies, designs = tables.get("studies"), tables.get("designs")
    design_rows = {r.get("id"): r for _, r in designs.records()} if designs else {}
    if studies is None:
        return problems
    for index, row in studies.records():
        key = row.get("key", "")
        design = design_rows.get(row.get("design"))
        if design:
            if row.get("randomized") in ("true", "false") and row.get("randomized") != design.get("randomized"):
                rule = f"contradicts design {row.get('design')} (randomized = {design.get('randomized')})"
                problems.append(_row_problem(studies, index, "randomized", row.get("randomized"), rule))
            if row.get("evidence_level") and row.get("evidence_level") != design.get("evidence_level"):
                problems.append(_row_problem(studies, index, "evidence_level", row.get("evidence_level"),
                                             f"differs from the level {design.get('evidence_level')} given to design "
                                             f"{row.get('design')} in data/designs.csv"))
        n_enrolled, n_analyzed = _as_int(row.get("n_enrolled")), _as_int(row.get("n_analyzed"))
        if n_enrolled is not None and n_analyzed is not None and n_analyzed > n_enrolled:
            problems.append(_row_problem(studies, index, "n_analyzed", n_analyzed,
                                         f"is larger than n_enrolled ({n_enrolled})"))
        if bool(row.get("follow_up")) != bool(row.get("follow_up_unit")):
            problems.append(_row_problem(studies, index, "follow_up_unit", row.get("follow_up_unit"),
                                         "follow_up and follow_up_unit must be given together"))
        if bib is None or not key:
            continue
        entry = bib.entries.get(key)
        if entry is None:
            problems.append(_row_problem(studies, index, "key", key, "has no entry in references.bib"))
            continue
        for column in ("doi", "pmid"):
            mine, theirs = row.get(column) or None, entry.get(column) or None
            if mine != theirs:
                problems.append(_row_problem(studies, index, column, mine,
                                             f"differs from the {column} of @{key} in references.bib ({theirs})"))
        if row.get("year") and entry.get("year") and row.get("year") != entry.get("year"):
            problems.append(_row_problem(studies, index, "year", row.get("year"),
                                         f"differs from the year of @{key} in references.bib ({entry.get('year')})"))
    reports = tables.get("reports")
    if reports is not None and bib is not None:
        main_reports = set()
        for index, row in reports.records():
            if row.get("report_key") and row.get("report_key") not in bib.entries:
                problems.append(_row_problem(reports, index, "report_key", row.get("report_key"),
                                             "has no entry in references.bib"))
            elif row.get("report_key"):
                entry = bib.entries[row["report_key"]]
                if not (entry.get("doi") or entry.get("pmid") or entry.get("url")):
                    problems.append(_row_problem(reports, index, "report_key", row.get("report_key"),
                                                 "its entry in references.bib has no doi, pmid or url: a study's "
                                                 "entry carries the address of the page that was read (url)"))
            if row.get("role") == "main":
                if row.get("report_key") != row.get("study_key"):
                    problems.append(_row_problem(reports, index, "report_key", row.get("report_key"),
                                                 "the main report's key must equal the study_key"))
                main_reports.add(row.get("study_key"))
        for index, row in studies.records():
            if row.get("key") and row.get("key") not in main_reports:
                problems.append(_row_problem(studies, index, "key", row.get("key"),
                                             "has no row with role 'main' in data/reports.csv"))
    return problems


def _outcome_rules(tables: dict[str, Table]) -> list[Problem]:
    problems: list[Problem] = []
    outcomes = tables.get("outcomes")
    if outcomes is None:
        return problems
    for index, row in outcomes.records():
        text = row.get("p_value_text") or None
        parsed = parse_p_value(text)
        number, relation = _as_float(row.get("p_value")), row.get("p_value_relation") or None
        if text and parsed is None and not is_not_significant_statement(text):
            problems.append(_row_problem(outcomes, index, "p_value_text", text,
                                         "is neither a p value as printed ('<0.001', 'p = .03', '0·002') nor a "
                                         f"statement of non-significance ({', '.join(NOT_SIGNIFICANT_TEXTS)})"))
        if row.get("comparison") == "between_arms" and not row.get("comparator_type"):
            problems.append(_row_problem(outcomes, index, "comparator_type", None,
                                         "is empty: a between-arm result needs its comparator type"))
        if row.get("comparison") == "within_arm_change" and row.get("comparator_type") not in (None, "", "baseline"):
            problems.append(_row_problem(outcomes, index, "comparator_type", row.get("comparator_type"),
                                         "must be 'baseline' for a within-arm change"))
        if parsed is None and (number is not None or relation):
            problems.append(_row_problem(outcomes, index, "p_value", row.get("p_value"),
                                         f"is given, but p_value_text {text!r} holds no p value"))
        elif parsed is not None and (number is None or abs(number - parsed[0]) > 1e-12 or relation != parsed[1]):
            problems.append(_row_problem(outcomes, index, "p_value", row.get("p_value"),
                                         f"does not match p_value_text {text!r} (expected p_value {parsed[0]:g} "
                                         f"and p_value_relation '{parsed[1]}')"))
        for arm in ("int", "ctrl"):
            events, total = _as_int(row.get(f"{arm}_events")), _as_int(row.get(f"{arm}_total"))
            if events is not None and total is not None and events > total:
                problems.append(_row_problem(outcomes, index, f"{arm}_events", events,
                                             f"is larger than {arm}_total ({total})"))
            low, high = _as_float(row.get(f"{arm}_disp_low")), _as_float(row.get(f"{arm}_disp_high"))
            if low is not None and high is not None and low > high:
                problems.append(_row_problem(outcomes, index, f"{arm}_disp_low", low,
                                             f"is above {arm}_disp_high ({high})"))
            if row.get(f"{arm}_disp") and not row.get(f"{arm}_disp_type"):
                problems.append(_row_problem(outcomes, index, f"{arm}_disp_type", "",
                                             f"must say what {arm}_disp is (sd or se)"))
        low, high = _as_float(row.get("effect_ci_low")), _as_float(row.get("effect_ci_high"))
        if low is not None and high is not None and low > high:
            problems.append(_row_problem(outcomes, index, "effect_ci_low", low, f"is above effect_ci_high ({high})"))
        if row.get("comparison") == "within_arm_change" and row.get("control_label") != "baseline":
            problems.append(_row_problem(outcomes, index, "control_label", row.get("control_label"),
                                         "must be 'baseline' when comparison is within_arm_change"))
    adverse = tables.get("adverse_events")
    if adverse is not None:
        for index, row in adverse.records():
            n, total = _as_int(row.get("n_with_event")), _as_int(row.get("n_total"))
            if n is not None and total is not None and n > total:
                problems.append(_row_problem(adverse, index, "n_with_event", n, f"is larger than n_total ({total})"))
    return problems


def _typed_outcome(row: dict) -> dict:
    """An outcomes.csv row with numbers and booleans typed, as the effect-size functions expect."""
    typed: dict = dict(row)
    for name, text in row.items():
        if name.startswith(("int_", "ctrl_")) and not name.endswith(("_stat", "_type", "_label")):
            typed[name] = _as_float(text)
    typed["higher_is_better"] = {"true": True, "false": False}.get(row.get("higher_is_better", ""))
    return typed


def _analysis_rules(tables: dict[str, Table]) -> list[Problem]:
    """Each analysis pools at least two studies of its own condition, one row each, with computable effects."""
    from ..stats.effects import EffectSizeError, effect_size

    problems: list[Problem] = []
    analyses, rows, outcomes, studies = (tables.get(name) for name in
                                         ("analyses", "analysis_rows", "outcomes", "studies"))
    if analyses is None or rows is None or outcomes is None or studies is None:
        return problems
    measure_of = {r.get("id"): r.get("effect_measure") for _, r in analyses.records()}
    class_of = {r.get("id"): r.get("product_class") for _, r in analyses.records()}
    comparator_of = {r.get("id"): r.get("comparator_type") for _, r in analyses.records()}
    study_class = {r.get("key"): r.get("product_class") for _, r in studies.records()}
    condition_of = {r.get("id"): r.get("condition") for _, r in analyses.records()}
    study_condition = {r.get("key"): r.get("condition") for _, r in studies.records()}
    outcome_rows = {(r.get("study_key"), r.get("outcome_no")): r for _, r in outcomes.records()}
    members: dict[str, list[int]] = {}
    directions: dict[str, set] = {}
    for index, row in rows.records():
        analysis, study = row.get("analysis_id"), row.get("study_key")
        members.setdefault(analysis, []).append(index)
        if analysis in condition_of and study in study_condition and study_condition[study] != condition_of[analysis]:
            problems.append(_row_problem(rows, index, "study_key", study,
                                         f"is a study of {study_condition[study]}, but analysis {analysis} "
                                         f"belongs to {condition_of[analysis]}"))
        if analysis in class_of and study in study_class and study_class[study] != class_of[analysis]:
            problems.append(_row_problem(rows, index, "study_key", study,
                                         f"tests a {study_class[study]} product, but analysis {analysis} pools "
                                         f"{class_of[analysis]} products"))
        outcome = outcome_rows.get((study, row.get("outcome_no")))
        if outcome is None or analysis not in measure_of:
            continue  # the foreign-key check reports it
        if outcome.get("comparator_type") != comparator_of.get(analysis):
            problems.append(_row_problem(rows, index, "outcome_no", row.get("outcome_no"),
                                         f"compares with {outcome.get('comparator_type') or 'an uncoded comparator'}, "
                                         f"but analysis {analysis} pools comparisons with "
                                         f"{comparator_of.get(analysis)}"))
        directions.setdefault(analysis, set()).add(outcome.get("higher_is_better") or "")
        try:
            effect_size(_typed_outcome(outcome), measure_of[analysis])
        except EffectSizeError as error:
            problems.append(_row_problem(rows, index, "outcome_no", row.get("outcome_no"),
                                         f"cannot enter analysis {analysis}: {str(error).split(': ', 1)[-1]}"))
    for index, row in analyses.records():
        analysis = row.get("id")
        count = len(members.get(analysis, []))
        if count < 2:
            problems.append(_row_problem(analyses, index, "id", analysis,
                                         f"pools {count} row(s) in data/analysis_rows.csv; an analysis needs at "
                                         "least two studies"))
        if row.get("effect_measure") == "risk_ratio" and len(directions.get(analysis, set())) > 1:
            problems.append(_row_problem(analyses, index, "id", analysis,
                                         "pools risk ratios of outcomes whose higher_is_better differs (events "
                                         "that are good and events that are bad cannot be combined)"))
    return problems


ROB_JUDGEMENTS = {"rob2": {"low", "some_concerns", "high", "no_information"},
                  "robins_i": {"low", "moderate", "serious", "critical", "no_information"},
                  "uncontrolled": {"critical"}}
ROB_TOOL_OF_DESIGN = {"rct": "rob2", "randomized_split_body": "rob2", "nonrandomized_controlled": "robins_i",
                      "single_arm_trial": "uncontrolled", "case_series": "uncontrolled"}
ROB_DOMAINS = {"rob2": {"randomization", "deviations", "missing_data", "measurement", "selection_reported", "overall"},
               "robins_i": {"confounding", "selection_participants", "classification_interventions", "deviations",
                            "missing_data", "measurement", "selection_reported", "overall"},
               "uncontrolled": {"no_control_group"}}


def _risk_of_bias_rules(tables: dict[str, Table]) -> list[Problem]:
    """Each judgement uses its tool's scale and domains, and the tool fits the study's design."""
    problems: list[Problem] = []
    rob, studies = tables.get("risk_of_bias"), tables.get("studies")
    if rob is None or studies is None:
        return problems
    design = {row.get("key"): row.get("design") for _, row in studies.records()}
    for index, row in rob.records():
        tool, domain, judgement = row.get("tool"), row.get("domain"), row.get("judgement")
        if tool in ROB_JUDGEMENTS and judgement and judgement not in ROB_JUDGEMENTS[tool]:
            problems.append(_row_problem(rob, index, "judgement", judgement,
                                         f"is not on the {tool} scale ({', '.join(sorted(ROB_JUDGEMENTS[tool]))})"))
        if tool in ROB_DOMAINS and domain and domain not in ROB_DOMAINS[tool]:
            problems.append(_row_problem(rob, index, "domain", domain, f"is not a domain of {tool} "
                                         f"({', '.join(sorted(ROB_DOMAINS[tool]))})"))
        expected = ROB_TOOL_OF_DESIGN.get(design.get(row.get("study_key")))
        if expected and tool and tool != expected:
            problems.append(_row_problem(rob, index, "tool", tool, f"does not fit the study's design "
                                         f"{design.get(row.get('study_key'))} (expected {expected})"))
    return problems


def _screening_rules(tables: dict[str, Table]) -> list[Problem]:
    problems: list[Problem] = []
    screening = tables.get("screening")
    if screening is None:
        return problems
    for index, row in screening.records():
        if row.get("decision") == "excluded" and row.get("reason_category") in (None, "", "awaiting_classification"):
            problems.append(_row_problem(screening, index, "reason_category", row.get("reason_category"),
                                         "an excluded record needs a reason category"))
        awaiting = row.get("reason_category") == "awaiting_classification"
        if row.get("decision") and awaiting != (row.get("decision") == "awaiting_classification"):
            problems.append(_row_problem(screening, index, "decision", row.get("decision"),
                                         "must be 'awaiting_classification' exactly when reason_category is"))
    claims, studies = tables.get("claims"), tables.get("studies")
    if studies is not None:
        included = {row["doi"].lower(): row.get("key") for _, row in studies.records() if row.get("doi")}
        for index, row in screening.records():
            doi = (row.get("doi") or "").strip().lower()
            if doi in included:
                problems.append(_row_problem(
                    screening, index, "doi", row.get("doi"),
                    f"is the DOI of included study {included[doi]}: an included study lives in data/studies.csv; "
                    "remove this record from the screening log"))
    if claims is not None and studies is not None:
        known = {row.get("key") for _, row in studies.records()}
        for index, row in claims.records():
            for key in filter(None, (part.strip() for part in (row.get("evidence_keys") or "").split(";"))):
                if key not in known:
                    problems.append(_row_problem(claims, index, "evidence_keys", key,
                                                 "is not a known studies.key (see data/studies.csv)"))
    return problems


def _chapter_citations(root: Path, bib) -> list[Problem]:
    problems: list[Problem] = []
    chapters = root / "chapters"
    if bib is None or not chapters.is_dir():
        return problems
    for path in sorted(chapters.rglob("*")):
        if path.suffix not in (".md", ".ipynb") or ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        # (line, column, text): a Markdown file is checked line by line, a notebook cell by cell.
        if path.suffix == ".md":
            sources = [(number, None, line)
                       for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
        else:
            try:
                notebook = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                problems.append(Problem(rel, f"is not a valid notebook (invalid JSON: {error.msg})", line=error.lineno))
                continue
            sources = []
            for number, cell in enumerate(notebook.get("cells", []), 1):
                if cell.get("cell_type") == "markdown":
                    text = cell.get("source", "")
                    sources.append((None, f"cell {number}", "".join(text) if isinstance(text, list) else text))
        for line, column, text in sources:
            for key in cited_keys(text):
                if key not in bib.entries:
                    problems.append(Problem(rel, "is cited but has no entry in references.bib", line, None,
                                            column, key))
    return problems


def _bibliography(_shared, path: Path) -> tuple[Bibliography | None, list[Problem]]:
    """Read ``references.bib`` (a job for ``parallel.Workers``): the parsed bibliography and its problems."""
    if not path.is_file():
        return None, [Problem("references.bib", "is missing")]
    try:
        bib = read_bibliography(path)
    except UnicodeDecodeError as error:
        return None, [Problem("references.bib", f"is not valid UTF-8 (byte {error.start})")]
    return bib, [Problem("references.bib", issue.rule, issue.line, issue.key, issue.field, issue.value)
                 for issue in bib.issues]


def check_book(root: Path, parallel: bool | None = None) -> list[Problem]:
    """Return every problem found in the book at ``root`` (an empty list when it is clean).

    The bibliography and the larger tables are checked in worker processes on the other cores while this
    one checks foreign keys and the cross-table rules (``parallel=False`` keeps everything in this process).
    """
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    descriptor = _read_descriptor(root, problems)
    for resource in descriptor["resources"] if descriptor is not None else []:
        if "path" not in resource or "name" not in resource:
            problems.append(Problem("data/datapackage.json", "a resource needs a name and a path",
                                    value=resource.get("name")))
            continue
        table = _read_table(root, resource, problems)
        if table is not None:
            tables[resource["name"]] = table
    with Workers((descriptor, tables), parallel=parallel) as workers:
        bib_job = workers.submit(_bibliography, root / "references.bib")
        largest_first = sorted(tables, key=lambda name: -len(tables[name].rows))
        schema_jobs = {name: workers.submit(_table_schema_problems, name) for name in largest_first}
        foreign_key_problems = {name: _foreign_key_problems(descriptor, resource, tables[name], tables)
                                for resource in (descriptor or {}).get("resources", [])
                                if (name := resource.get("name")) in tables}
        rules = [*_outcome_rules(tables), *_analysis_rules(tables), *_screening_rules(tables),
                 *_risk_of_bias_rules(tables)] if descriptor else []
        bib, bib_problems = bib_job.result()
        for name in tables:  # in the order of data/datapackage.json
            problems.extend(schema_jobs[name].result())
            problems.extend(foreign_key_problems[name])
    if descriptor is not None:
        problems.extend(_study_rules(tables, bib))
    problems.extend(rules)
    problems.extend(_chapter_citations(root, bib))
    return bib_problems + problems
