"""`python -m skinregen check`: every kind of bad input a student can produce gives a precise message."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from csvedit import read_rows, write_rows

from skinregen.data.validate import check_book, parse_p_value


def set_cell(root: Path, table: str, index: int, column: str, value: str) -> dict:
    """Set one cell of data row ``index`` (0-based); return the row. Data row i is on file line i + 2."""
    fields, rows = read_rows(root, table)
    rows[index][column] = value
    write_rows(root, table, fields, rows)
    return rows[index]


def where(table: str, index: int, row: dict) -> str:
    """How a message names data row ``index`` (0-based) of ``table``: file, line and the row's key."""
    key = row["key"] if table == "studies" else f"{row['study_key']}/{row['outcome_no']}"
    return f"data/{table}.csv line {index + 2} (key {key})"


def messages(root: Path) -> list[str]:
    return [str(problem) for problem in check_book(root)]


def only(root: Path) -> str:
    found = messages(root)
    assert len(found) == 1, found
    return found[0]


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_real_book_is_clean(book_root):
    assert messages(book_root) == []


# --------------------------------------------------------------------------------------- table schema


def test_out_of_range_number_names_file_line_key_column_value_and_rule(book_copy):
    row = set_cell(book_copy, "studies", 3, "n_enrolled", "-3")
    assert only(book_copy) == (
        f"data/studies.csv line 5 (key {row['key']}), column n_enrolled: -3 is below the minimum 1"
    )


def test_year_above_maximum(book_copy):
    row = set_cell(book_copy, "studies", 0, "year", "2099")
    found = messages(book_copy)
    assert f"data/studies.csv line 2 (key {row['key']}), column year: 2099 is above the maximum 2030" in found


def test_wrong_type(book_copy):
    row = set_cell(book_copy, "studies", 1, "n_enrolled", "twelve")
    assert only(book_copy) == (f"data/studies.csv line 3 (key {row['key']}), column n_enrolled: "
                               "twelve is not a valid integer")


def test_boolean_written_as_yes(book_copy):
    row = set_cell(book_copy, "studies", 2, "randomized", "yes")
    assert (f"data/studies.csv line 4 (key {row['key']}), column randomized: yes is not a valid boolean "
            "(write true or false)") in messages(book_copy)


def test_unknown_vocabulary_term(book_copy):
    row = set_cell(book_copy, "studies", 0, "condition", "eczema")
    assert only(book_copy) == (f"data/studies.csv line 2 (key {row['key']}), column condition: eczema "
                               "is not a known conditions.id (see data/conditions.csv)")


def test_value_outside_an_enum(book_copy):
    row = set_cell(book_copy, "studies", 0, "blinding", "triple")
    assert only(book_copy) == (f"data/studies.csv line 2 (key {row['key']}), column blinding: triple is not one "
                               "of the allowed values: none, single, double, assessor, not_reported")


def test_required_value_missing(book_copy):
    row = set_cell(book_copy, "studies", 0, "main_result", "")
    assert only(book_copy) == (f"data/studies.csv line 2 (key {row['key']}), column main_result: "
                               "is empty, but the column is required")


def test_malformed_doi_in_studies(book_copy):
    row = set_cell(book_copy, "studies", 0, "doi", "https://doi.org/10.1/x")
    found = messages(book_copy)
    assert any(m.startswith(f"data/studies.csv line 2 (key {row['key']}), column doi: https://doi.org/10.1/x "
                            "does not match the pattern") for m in found), found


def test_duplicate_study_key(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    rows.append(dict(rows[0], doi="10.9999/duplicate", pmid=""))
    write_rows(book_copy, "studies", fields, rows)
    found = messages(book_copy)
    line = len(rows) + 1
    assert any(m.startswith(f"data/studies.csv line {line} (key {rows[0]['key']})") and "duplicate" in m
               or "more than once" in m for m in found), found


def test_dangling_foreign_key_from_outcomes(book_copy):
    set_cell(book_copy, "outcomes", 0, "study_key", "nosuchstudy2020x")
    found = messages(book_copy)
    assert ("data/outcomes.csv line 2 (key nosuchstudy2020x/1), column study_key: nosuchstudy2020x "
            "is not a known studies.key (see data/studies.csv)") in found


def test_a_vocabulary_without_its_id_column_gives_one_message_not_one_per_referring_row(book_copy):
    fields, rows = read_rows(book_copy, "conditions")
    fields[fields.index("id")] = "identifier"
    for row in rows:
        row["identifier"] = row.pop("id")
    write_rows(book_copy, "conditions", fields, rows)
    found = messages(book_copy)
    assert "data/conditions.csv line 1: the header lacks the column 'id' declared in data/datapackage.json" in found
    assert not any("is not a known conditions.id" in m for m in found), found


def test_missing_required_column(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    fields.remove("design")
    for row in rows:
        row.pop("design")
    write_rows(book_copy, "studies", fields, rows)
    assert only(book_copy) == ("data/studies.csv line 1: the header lacks the column 'design' declared in "
                               "data/datapackage.json")


def test_misspelt_column_name(book_copy):
    path = book_copy / "data" / "mechanisms.csv"
    path.write_text(path.read_text().replace("id,label,description", "id,lable,description", 1))
    assert messages(book_copy) == [
        "data/mechanisms.csv line 1: the header lacks the column 'label' declared in data/datapackage.json",
        "data/mechanisms.csv line 1: lable is a column the schema does not declare (a typo?)",
    ]


def test_ragged_row_with_an_extra_cell(book_copy):
    path = book_copy / "data" / "mechanisms.csv"
    path.write_text(path.read_text() + "extra,Extra,Something, with a stray comma\n")
    assert only(book_copy).startswith("data/mechanisms.csv line 7 (key extra): row has more cells than the header's 3")


def test_ragged_row_with_a_missing_cell(book_copy):
    path = book_copy / "data" / "mechanisms.csv"
    path.write_text(path.read_text() + "short,Short\n")
    found = messages(book_copy)
    assert any(m.startswith("data/mechanisms.csv line 7 (key short): row has fewer cells") for m in found), found


def test_csv_saved_by_a_spreadsheet_with_bom_and_crlf(book_copy):
    path = book_copy / "data" / "designs.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    found = messages(book_copy)
    assert found == [
        "data/designs.csv line 1: starts with a byte-order mark (BOM), as spreadsheets save it; "
        "save the file as UTF-8 without BOM",
        "data/designs.csv line 1: has Windows line endings (CRLF), as spreadsheets save them; "
        "save the file with LF line endings",
    ]


def test_file_that_is_not_utf8(book_copy):
    path = book_copy / "data" / "mechanisms.csv"
    path.write_bytes(path.read_bytes() + "caf\u00e9,Caf\u00e9,x\n".encode("latin-1"))
    assert only(book_copy).startswith("data/mechanisms.csv line 7: is not valid UTF-8")


def test_missing_csv_file(book_copy):
    (book_copy / "data" / "reports.csv").unlink()
    found = messages(book_copy)
    assert "data/reports.csv: is missing (declared as resource 'reports')" in found


def test_invalid_json_in_descriptor(book_copy):
    path = book_copy / "data" / "datapackage.json"
    text = path.read_text()
    path.write_text(text.replace('"resources": [', '"resources": [,', 1))
    found = messages(book_copy)
    assert len(found) == 1 and found[0].startswith("data/datapackage.json line ")
    assert "is not valid JSON" in found[0]


def test_source_location_outside_the_vocabulary(book_copy):
    row = set_cell(book_copy, "outcomes", 0, "source_location", "a blog post")
    assert only(book_copy).startswith(
        f"data/outcomes.csv line 2 (key {row['study_key']}/{row['outcome_no']}), column source_location: "
        "'a blog post' does not match the pattern")


# ------------------------------------------------------------------------------------ custom rules


def test_p_value_must_match_the_printed_text(book_copy):
    fields, rows = read_rows(book_copy, "outcomes")
    index = next(i for i, row in enumerate(rows) if row["p_value"])
    row = set_cell(book_copy, "outcomes", index, "p_value", "0.5")
    assert only(book_copy).startswith(
        f"{where('outcomes', index, row)}, column p_value: 0.5 "
        f"does not match p_value_text {row['p_value_text']!r}")


def test_more_events_than_participants(book_copy):
    fields, rows = read_rows(book_copy, "outcomes")
    index = next(i for i, row in enumerate(rows) if row["int_events"] and row["int_total"])
    total = int(rows[index]["int_total"])
    row = set_cell(book_copy, "outcomes", index, "int_events", str(total + 1))
    assert only(book_copy) == (f"{where('outcomes', index, row)}, "
                               f"column int_events: {total + 1} is larger than int_total ({total})")


def test_randomized_must_agree_with_design(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    index = next(i for i, row in enumerate(rows) if row["design"] == "rct")
    row = set_cell(book_copy, "studies", index, "randomized", "false")
    assert only(book_copy) == (f"{where('studies', index, row)}, column randomized: false "
                               "contradicts design rct (randomized = true)")


def test_evidence_level_must_follow_the_design(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    index = next(i for i, row in enumerate(rows) if row["design"] in ("case_series", "single_arm_trial"))
    row = set_cell(book_copy, "studies", index, "evidence_level", "2")
    assert only(book_copy).startswith(f"{where('studies', index, row)}, column evidence_level: "
                                      "2 differs from the level 4")


def test_within_arm_change_compares_with_baseline(book_copy):
    fields, rows = read_rows(book_copy, "outcomes")
    index = next(i for i, row in enumerate(rows) if row["comparison"] == "within_arm_change")
    row = set_cell(book_copy, "outcomes", index, "control_label", "placebo")
    assert only(book_copy) == (f"{where('outcomes', index, row)}, "
                               "column control_label: placebo must be 'baseline' when comparison is within_arm_change")


def test_study_without_bibtex_entry(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    key = rows[0]["key"]
    bib = book_copy / "references.bib"
    bib.write_text(bib.read_text().replace("{" + key + ",", "{renamed" + key + ",", 1))
    found = messages(book_copy)
    assert f"data/studies.csv line 2 (key {key}), column key: {key} has no entry in references.bib" in found


def test_doi_must_equal_the_bibtex_doi(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    index = next(i for i, row in enumerate(rows) if row["doi"])
    row = set_cell(book_copy, "studies", index, "doi", rows[index]["doi"] + "9")
    assert only(book_copy) == (f"{where('studies', index, row)}, column doi: {row['doi']} "
                               f"differs from the doi of @{row['key']} in references.bib ({rows[index]['doi']})")


def test_bibtex_with_unbalanced_braces(book_copy):
    bib = book_copy / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{broken2020entry,\n  title = {Unclosed {brace},\n  year = {2020}\n")
    found = messages(book_copy)
    assert any(m.startswith("references.bib: the file has") and "unbalanced braces" in m for m in found), found


def test_bibtex_with_duplicate_key(book_copy):
    bib = book_copy / "references.bib"
    text = bib.read_text()
    first = text.split("\n\n")[0]
    bib.write_text(text + "\n" + first + "\n")
    key = first.split("{", 1)[1].split(",", 1)[0]
    found = messages(book_copy)
    assert any(m.startswith("references.bib line ") and f"(key {key})" in m and "duplicate entry key" in m
               for m in found), found


def test_a_study_entered_twice_in_the_screening_log_is_refused(book_copy):
    fields, rows = read_rows(book_copy, "screening")
    first = next(index for index, row in enumerate(rows) if row["doi"])
    second = next(index for index, row in enumerate(rows) if index > first and row["doi"])
    rows[second]["doi"] = rows[first]["doi"]
    write_rows(book_copy, "screening", fields, rows)
    assert only(book_copy) == (
        f"data/screening.csv line {second + 2} (key {rows[second]['record_no']}), column doi: "
        f"{rows[first]['doi']} appears more than once (first on line {first + 2}), but the column must be unique"
    )


def test_bibtex_doi_with_resolver_prefix(book_copy):
    bib = book_copy / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{extra2020thing,\n  author = {Doe, Jane},\n  title = {A thing},\n"
                   "  journal = {J},\n  year = {2020},\n  doi = {https://doi.org/10.1000/xyz}\n}\n")
    found = messages(book_copy)
    assert any(m.startswith("references.bib line ") and "(key extra2020thing), column doi: https://doi.org/10.1000/xyz"
               " is not a DOI" in m for m in found), found


def test_citation_of_an_unknown_key_in_a_chapter(book_copy):
    intro = book_copy / "chapters" / "intro.md"
    intro.write_text(intro.read_text() + "\nAs shown before {cite:p}`nosuch2019paper`.\n")
    lines = intro.read_text().splitlines()
    assert only(book_copy) == (f"chapters/intro.md line {len(lines)}: nosuch2019paper is cited but has no entry "
                               "in references.bib")


# ------------------------------------------------------------------------------ the command itself


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skinregen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_reports_every_problem_at_once_exits_1_and_writes_nothing(book_copy):
    set_cell(book_copy, "studies", 0, "n_enrolled", "-3")
    set_cell(book_copy, "outcomes", 0, "study_key", "nosuchstudy2020x")
    designs = book_copy / "data" / "designs.csv"
    designs.write_bytes(b"\xef\xbb\xbf" + designs.read_bytes())
    before = snapshot(book_copy)
    result = run_cli("check", cwd=book_copy)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stdout.strip().splitlines()) == 3
    assert snapshot(book_copy) == before


def test_cli_checks_the_book_in_the_working_folder_or_root(book_copy, tmp_path):
    set_cell(book_copy, "studies", 0, "year", "1900")
    from_inside = run_cli("check", cwd=book_copy / "chapters")
    with_root = run_cli("--root", str(book_copy), "check", cwd=tmp_path)
    for result in (from_inside, with_root):
        assert result.returncode == 1
        assert "column year: 1900 is below the minimum 1975" in result.stdout


def test_worker_processes_report_the_same_problems_in_the_same_order_as_one_process(book_copy):
    # check runs the bibliography and the larger tables in forked workers; the report must not depend on it.
    set_cell(book_copy, "studies", 0, "n_enrolled", "-3")
    set_cell(book_copy, "studies", 1, "randomized", "yes")
    set_cell(book_copy, "outcomes", 0, "study_key", "nosuchstudy2020x")
    set_cell(book_copy, "adverse_events", 0, "study_key", "")
    bib = book_copy / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("doi = {10.", "doi = {https://doi.org/10.", 1),
                   encoding="utf-8")
    in_workers = [str(problem) for problem in check_book(book_copy, parallel=True)]
    in_one_process = [str(problem) for problem in check_book(book_copy, parallel=False)]
    assert len(in_workers) >= 5, in_workers
    assert in_workers == in_one_process
    assert in_workers[0].startswith("references.bib line ")


def test_cli_outside_a_book_says_so_without_traceback(tmp_path):
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "no book found" in result.stderr and "Traceback" not in result.stderr


def test_cli_passes_on_the_real_book(book_root):
    result = run_cli("check", cwd=book_root)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ("<0.001", (0.001, "<")), ("p = .03", (0.03, "=")), ("0.04", (0.04, "=")), ("P<.05", (0.05, "<")),
    ("≤0.01", (0.01, "<=")), ("NS", None), ("", None), (".0.017", None),
])
def test_p_values_are_parsed_as_printed(text, expected):
    assert parse_p_value(text) == expected


def test_descriptor_is_valid_json_with_a_schema_for_every_table(book_root):
    descriptor = json.loads((book_root / "data" / "datapackage.json").read_text())
    names = {resource["name"] for resource in descriptor["resources"]}
    assert {"studies", "outcomes", "adverse_events", "reports", "conditions", "designs", "product_types",
            "cell_sources", "mechanisms", "outcome_domains", "study_mechanisms"} <= names
    for resource in descriptor["resources"]:
        assert resource["schema"]["fields"] and resource["schema"].get("primaryKey"), resource["name"]


# ------------------------------------------------------------------------- the session-6 data model


def first_index(root: Path, table: str, **match) -> int:
    _, rows = read_rows(root, table)
    return next(i for i, row in enumerate(rows) if all(row[k] == v for k, v in match.items()))


def test_a_between_arm_result_needs_its_comparator_type(book_copy):
    index = first_index(book_copy, "outcomes", comparison="between_arms")
    row = set_cell(book_copy, "outcomes", index, "comparator_type", "")
    assert only(book_copy) == (f"{where('outcomes', index, row)}, column comparator_type: is empty: a between-arm "
                               "result needs its comparator type")


def test_an_unparsable_p_value_text_is_refused(book_copy):
    index = first_index(book_copy, "outcomes", p_value_text="<0.001")
    set_cell(book_copy, "outcomes", index, "p_value_text", "significant")
    found = messages(book_copy)
    assert any("column p_value_text: significant is neither a p value as printed" in m for m in found), found


def test_a_risk_of_bias_judgement_off_its_scale_or_tool_is_refused(book_copy):
    index = first_index(book_copy, "risk_of_bias", tool="rob2", domain="overall")
    set_cell(book_copy, "risk_of_bias", index, "judgement", "serious")
    found = messages(book_copy)
    assert any("column judgement: serious is not on the rob2 scale" in m for m in found), found
    set_cell(book_copy, "risk_of_bias", index, "judgement", "low")
    set_cell(book_copy, "risk_of_bias", index, "tool", "uncontrolled")
    found = messages(book_copy)
    assert any("column tool: uncontrolled does not fit the study's design" in m for m in found), found


def test_an_exclusion_without_a_reason_category_is_refused(book_copy):
    index = first_index(book_copy, "screening", decision="excluded")
    set_cell(book_copy, "screening", index, "reason_category", "awaiting_classification")
    found = messages(book_copy)
    assert any("an excluded record needs a reason category" in m for m in found), found


def test_a_malformed_search_row_is_refused(book_copy):
    set_cell(book_copy, "searches", 0, "date", "yesterday")
    set_cell(book_copy, "searches", 1, "results_read", "-3")
    set_cell(book_copy, "searches", 2, "purpose", "browsing")
    found = messages(book_copy)
    assert any("data/searches.csv line 2" in m and "column date" in m for m in found), found
    assert any("data/searches.csv line 3" in m and "column results_read" in m and "minimum" in m for m in found)
    assert any("data/searches.csv line 4" in m and "column purpose" in m for m in found), found


def test_a_study_entry_without_doi_pmid_or_url_is_refused(book_copy):
    bib = book_copy / "references.bib"
    text = bib.read_text(encoding="utf-8")
    start = text.index("@article{kaur2019comparative,")
    end = text.index("\n}\n", start)
    entry = text[start:end]
    stripped = "\n".join(line for line in entry.splitlines() if not line.strip().startswith(("url", "note")))
    bib.write_text(text[:start] + stripped.rstrip(",") + text[end:], encoding="utf-8")
    found = messages(book_copy)
    assert any("kaur2019comparative" in m and "no doi, pmid or url" in m for m in found), found


def test_a_missing_comma_in_bibtex_is_named_and_a_mistyped_condition_gets_a_suggestion(book_copy):
    bib = book_copy / "references.bib"
    text = bib.read_text(encoding="utf-8")
    start = text.index("@article{kwon2020combination,")
    title_end = text.index("},\n", text.index("title = ", start))
    bib.write_text(text[:title_end] + "}\n" + text[title_end + 3:], encoding="utf-8")
    found = messages(book_copy)
    assert any("is a comma missing at the end of the line before it?" in m for m in found), found
    bib.write_text(text, encoding="utf-8")
    index = first_index(book_copy, "studies", condition="vitiligo")
    set_cell(book_copy, "studies", index, "condition", "vitilgo")
    found = messages(book_copy)
    assert any("vitilgo is not a known conditions.id" in m and "(did you mean vitiligo?)" in m for m in found)
