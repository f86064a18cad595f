"""Pooled analyses end to end (in a copy of the book, with rows made up for the test), the checks that guard
them, and the views the chapters call: summary of findings, claims, explorer fallback."""

from __future__ import annotations

import math

import pytest
from csvedit import read_rows, write_rows

from skinregen import load
from skinregen.data.validate import check_book
from skinregen.stats.certainty import summary_of_findings

TEST_ROW = {"domain": "wound_closure", "higher_is_better": "true", "comparison": "between_arms",
            "intervention_label": "cells", "control_label": "control", "source_location": "abstract",
            "measure": "healed (test row)", "timepoint": "12 weeks"}


def add_count_rows(root, counts: dict[str, tuple[int, int, int, int]]) -> dict[str, str]:
    """Append one made-up outcome row per study (test copies only); return study -> its new outcome_no."""
    fields, rows = read_rows(root, "outcomes")
    numbers = {}
    for study, (a, n1, c, n2) in counts.items():
        number = str(1 + max([int(r["outcome_no"]) for r in rows if r["study_key"] == study] or [0]))
        row = dict.fromkeys(fields, "")
        row.update(TEST_ROW, study_key=study, outcome_no=number, int_events=str(a), int_total=str(n1),
                   ctrl_events=str(c), ctrl_total=str(n2))
        rows.append(row)
        numbers[study] = number
    write_rows(root, "outcomes", fields, rows)
    return numbers


def add_analysis(root, analysis_id: str, condition: str, numbers: dict[str, str], measure="risk_ratio"):
    fields, rows = read_rows(root, "analyses")
    rows.append({"id": analysis_id, "condition": condition, "title": "Healed at 12 weeks (test)",
                 "effect_measure": measure, "method": "dl", "rationale": "Test analysis."})
    write_rows(root, "analyses", fields, rows)
    fields, rows = read_rows(root, "analysis_rows")
    rows += [{"analysis_id": analysis_id, "study_key": k, "outcome_no": n} for k, n in numbers.items()]
    write_rows(root, "analysis_rows", fields, rows)


WOUND_STUDIES = ["qin2016clinical", "caravaggi2003hyaff", "lu2011comparison"]


def test_a_pooled_analysis_gives_a_forest_plot_and_a_summary(book_copy):
    numbers = add_count_rows(book_copy, dict(zip(WOUND_STUDIES, [(10, 20, 5, 20), (30, 40, 20, 39), (8, 21, 6, 20)],
                                                 strict=True)))
    add_analysis(book_copy, "chronic_wounds_healed_test", "chronic_wounds", numbers)
    assert [str(p) for p in check_book(book_copy)] == []
    from skinregen.present import views

    evidence = load(book_copy)
    (analysis,) = views.pooled_analyses(evidence, condition="chronic_wounds")
    # Independent check of the first study's effect: RR = (10/20)/(5/20) = 2.
    first = next(e for e in analysis.pooled.effects if e.study_key == "qin2016clinical")
    assert math.exp(first.estimate) == pytest.approx(2.0)
    output = views.reported_results(evidence, condition="chronic_wounds")
    (forest,) = output
    data, _metadata = forest._repr_mimebundle_()
    spec = data["application/vnd.plotly.v1+json"]
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert len(spec["data"][0]["y"]) == 3
    assert "Pooled risk ratio" in forest.caption and "prediction interval" in forest.caption
    note = views.pooling_note(evidence, condition="chronic_wounds").data
    assert "Healed at 12 weeks (test)" in note and "I²" in note
    pooled = views.pooled_analyses(evidence, condition="chronic_wounds")
    summary = summary_of_findings(evidence, "chronic_wounds", pooled)
    assert "Inconsistency could not be judged" not in " ".join(summary.notes)


@pytest.mark.parametrize("condition", ["chronic_wounds", "vitiligo", "burns"])
def test_the_side_by_side_plot_puts_each_scale_on_its_own_axis(book_root, condition):
    from skinregen.present import views

    evidence = load(book_root)
    records = views.comparable_results(evidence, condition=condition)
    scales = list(dict.fromkeys(r["scale"] or r["kind"] for r in records))
    assert len(scales) > 1, "this condition's rows should be on several scales for the test to mean anything"
    spec = views.reported_results_figure(evidence, condition=condition).spec
    layout, traces = spec["layout"], spec["data"]
    panel_titles = [note["text"] for note in layout["annotations"] if note["text"].startswith("Scale: ")]
    row_names = [note["text"] for note in layout["annotations"] if not note["text"].startswith("Scale: ")]
    assert row_names == [views._short(f"{r['study_key']}: {r['measure']}", 48)
                         for scale in scales for r in records if (r["scale"] or r["kind"]) == scale]
    assert panel_titles == [f"Scale: {views._short(scale, 60)}" for scale in scales]
    assert "xaxis" + str(len(scales) + 1) not in layout
    # Each panel plots exactly the rows on its scale: as many points per arm as rows on that scale.
    for number, scale in enumerate(scales, 1):
        axis = "x" if number == 1 else f"x{number}"
        in_panel = [t for t in traces if t.get("xaxis", "x") == axis]
        expected = sum(1 for r in records if (r["scale"] or r["kind"]) == scale)
        assert [len(t["x"]) for t in in_panel] == [expected, expected]
        control = next(t for t in in_panel if t["name"].startswith("Control"))
        assert control["x"] == [r["control"] for r in records if (r["scale"] or r["kind"]) == scale]


def test_an_analysis_of_one_study_is_refused(book_copy):
    numbers = add_count_rows(book_copy, {"qin2016clinical": (10, 20, 5, 20)})
    add_analysis(book_copy, "chronic_wounds_one", "chronic_wounds", numbers)
    problems = [str(p) for p in check_book(book_copy)]
    assert problems == ["data/analyses.csv line 2 (key chronic_wounds_one), column id: chronic_wounds_one pools 1 "
                        "row(s) in data/analysis_rows.csv; an analysis needs at least two studies"]


def test_an_analysis_with_a_study_of_another_condition_is_refused(book_copy):
    numbers = add_count_rows(book_copy, {"qin2016clinical": (10, 20, 5, 20), "kwon2020combination": (5, 25, 2, 25)})
    add_analysis(book_copy, "chronic_wounds_mixed", "chronic_wounds", numbers)
    problems = [str(p) for p in check_book(book_copy)]
    assert any("column study_key: kwon2020combination is a study of acne_scars, but analysis chronic_wounds_mixed "
               "belongs to chronic_wounds" in p for p in problems), problems


def test_an_analysis_row_without_the_numbers_its_effect_needs_is_refused(book_copy):
    numbers = add_count_rows(book_copy, dict(zip(WOUND_STUDIES[:2], [(10, 20, 5, 20), (30, 40, 20, 39)], strict=True)))
    add_analysis(book_copy, "chronic_wounds_smd", "chronic_wounds", numbers, measure="smd")
    problems = [str(p) for p in check_book(book_copy)]
    assert len(problems) == 2
    assert all("cannot enter analysis chronic_wounds_smd: a standardised mean difference needs int_value" in p
               for p in problems), problems


def test_an_analysis_row_pointing_at_a_missing_outcome_is_refused(book_copy):
    add_analysis(book_copy, "chronic_wounds_dangling", "chronic_wounds",
                 {"qin2016clinical": "99", "lu2011comparison": "98"})
    problems = [str(p) for p in check_book(book_copy)]
    assert any("data/analysis_rows.csv line" in p and "column study_key, outcome_no: 'qin2016clinical, 99' is not "
               "a known outcomes.study_key, outcome_no (see data/outcomes.csv)" in p for p in problems), problems


def test_a_claim_citing_evidence_that_does_not_exist_is_refused(book_copy):
    fields, rows = read_rows(book_copy, "claims")
    rows[0]["evidence_keys"] = "ibrahim2015autologus;nobody2020ghost"
    write_rows(book_copy, "claims", fields, rows)
    assert [str(p) for p in check_book(book_copy)] == [
        "data/claims.csv line 2 (key 1), column evidence_keys: nobody2020ghost is not a known studies.key "
        "(see data/studies.csv)"]


def test_every_condition_has_a_summary_of_findings_with_reasons(book_root):
    evidence = load(book_root)
    for condition in evidence.vocabulary("conditions").index:
        summary = summary_of_findings(evidence, condition, [])
        table = summary.as_table()
        assert summary.certainty in ("high", "moderate", "low", "very low")
        assert table["Item"].iloc[-1 - len(summary.notes)] == "Certainty of the evidence"
        for downgrade in summary.downgrades:
            assert downgrade.reason


def test_certainty_rules_on_made_up_studies(book_copy):
    # Make every acne-scar study unblinded: the randomized ones now trigger the risk-of-bias downgrade.
    fields, rows = read_rows(book_copy, "studies")
    for row in rows:
        if row["condition"] == "acne_scars":
            row["blinding"] = "none"
    write_rows(book_copy, "studies", fields, rows)
    summary = summary_of_findings(load(book_copy), "acne_scars", [])
    assert "risk of bias" in [d.domain for d in summary.downgrades]
    assert summary.start == "high"


def test_the_explorer_shows_a_static_default_view_where_there_is_no_kernel(book_root):
    from skinregen.present.explorer import explorer
    from skinregen.site.mystnb_plotly import PlotlyMimeRenderer

    bundle = explorer(load(book_root))._repr_mimebundle_()
    html = bundle["text/html"]
    assert "plotly-graph-div" in html and "skinregen-table" in html and "default view" in html
    # In HTML builds the widget view is never chosen, so the fallback above is what the site shows.
    overrides = {(builder, mime): priority for builder, mime, priority in PlotlyMimeRenderer.mime_priority_overrides}
    assert overrides[("html", "application/vnd.jupyter.widget-view+json")] is None


def test_the_explorer_filters(book_root):
    from skinregen.present.explorer import filter_studies

    studies = load(book_root).studies
    chosen = filter_studies(studies, condition="burns", years=(2010, 2030), min_n=30)
    assert len(chosen) > 0
    assert set(chosen["condition"]) == {"burns"}
    assert chosen["year"].min() >= 2010 and chosen["n_enrolled"].min() >= 30


def test_flow_counts_add_up(book_root):
    from skinregen.present.overview import flow_counts

    evidence = load(book_root)
    counts = flow_counts(evidence)
    excluded = sum(v for k, v in counts.items() if k.startswith("excluded: "))
    assert excluded == counts["records excluded"]
    assert counts["records assessed"] == (counts["records excluded"] + counts["records awaiting classification"]
                                          + counts["reports included"])
    # a trial with several reports counts once
    assert counts["studies included"] <= counts["reports included"]
