"""Pooled analyses end to end (in a copy of the book, with rows made up for the test), the checks that guard
them, and the views the chapters call: summary of findings, claims, explorer fallback."""

from __future__ import annotations

import math

import pytest
from csvedit import read_rows, write_rows

from skinregen import load
from skinregen.data.validate import check_book
from skinregen.stats.certainty import LEVELS, ratings

TEST_ROW = {"domain": "wound_closure", "higher_is_better": "true", "comparison": "between_arms",
            "comparator_type": "standard_care", "unit_of_analysis": "participants",
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
                 "effect_measure": measure, "comparator_type": "standard_care",
                 "product_class": "stem_progenitor_cell", "method": "reml", "rationale": "Test analysis."})
    write_rows(root, "analyses", fields, rows)
    fields, rows = read_rows(root, "analysis_rows")
    rows += [{"analysis_id": analysis_id, "study_key": k, "outcome_no": n} for k, n in numbers.items()]
    write_rows(root, "analysis_rows", fields, rows)


WOUND_STUDIES = ["qin2016clinical", "lu2011comparison", "moon2019possibility"]


def test_a_pooled_analysis_gives_a_forest_plot_and_a_summary(book_copy):
    numbers = add_count_rows(book_copy, dict(zip(WOUND_STUDIES[:2], [(10, 20, 5, 20), (30, 40, 20, 39)], strict=True)))
    condition = "limb_ischaemia"
    add_analysis(book_copy, "limb_ischaemia_healed_test", condition, numbers)
    assert [str(p) for p in check_book(book_copy)] == []
    from skinregen.present import views

    evidence = load(book_copy)
    (analysis,) = views.pooled_analyses(evidence, condition=condition)
    # Independent check of the first study's effect: RR = (10/20)/(5/20) = 2.
    first = next(e for e in analysis.pooled.effects if e.study_key == "qin2016clinical")
    assert math.exp(first.estimate) == pytest.approx(2.0)
    outputs = views.effects_forest(evidence, condition=condition)
    note, forest, *per_comparison = outputs
    assert "Healed at 12 weeks (test)" in note.data and "I²" in note.data
    data, _metadata = forest._repr_mimebundle_()
    spec = data["application/vnd.plotly.v1+json"]
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert len(spec["data"][0]["y"]) == 2
    assert all(", 20" in label for label in spec["data"][0]["y"]), "rows are named Author et al., year"
    assert "Pooled risk ratio" in forest.caption and "prediction interval" in forest.caption
    assert per_comparison, "every comparison also gets its row in the condition's forest plot"
    rated = [r for r in ratings(evidence, condition) if r.domain == "wound_closure"
             and r.comparator_type == "standard_care"]
    assert rated and "Pooled risk ratio" in rated[0].effect_text


def test_the_condition_forest_plot_has_one_row_per_computable_comparison(book_root):
    from skinregen.present import views

    evidence = load(book_root)
    for condition in ("vitiligo", "chronic_wounds", "burns"):
        table = views.condition_effects(evidence, condition)
        figures = views.comparison_forest(evidence, condition=condition)
        rows = sum(len(f.spec["data"][0]["x"]) for f in figures)
        assert rows == len(table)
        for figure in figures:
            labels = figure.spec["layout"]["yaxis"]["ticktext"]
            assert not any(key in " ".join(labels) for key in evidence.studies["key"]), "no BibTeX keys shown"


def test_an_analysis_of_one_study_is_refused(book_copy):
    numbers = add_count_rows(book_copy, {"qin2016clinical": (10, 20, 5, 20)})
    add_analysis(book_copy, "limb_ischaemia_one", "limb_ischaemia", numbers)
    problems = [str(p) for p in check_book(book_copy)]
    _, analyses = read_rows(book_copy, "analyses")
    line = len(analyses) + 1  # the test's analysis is the last row
    assert problems == [f"data/analyses.csv line {line} (key limb_ischaemia_one), column id: limb_ischaemia_one pools "
                        "1 row(s) in data/analysis_rows.csv; an analysis needs at least two studies"]


def test_an_analysis_of_another_product_class_or_comparator_is_refused(book_copy):
    numbers = add_count_rows(book_copy, {"qin2016clinical": (10, 20, 5, 20), "moon2019possibility": (5, 25, 2, 25)})
    add_analysis(book_copy, "limb_ischaemia_mixed", "limb_ischaemia", numbers)
    fields, rows = read_rows(book_copy, "outcomes")
    for row in rows:
        if row["study_key"] == "qin2016clinical" and row["outcome_no"] == numbers["qin2016clinical"]:
            row["comparator_type"] = "placebo_or_vehicle"
    write_rows(book_copy, "outcomes", fields, rows)
    problems = [str(p) for p in check_book(book_copy)]
    assert any("moon2019possibility tests a mixed_cell_preparation product, but analysis limb_ischaemia_mixed "
               "pools stem_progenitor_cell products" in p for p in problems), problems
    assert any("compares with placebo_or_vehicle, but analysis limb_ischaemia_mixed pools comparisons with "
               "standard_care" in p for p in problems), problems


def test_an_analysis_with_a_study_of_another_condition_is_refused(book_copy):
    numbers = add_count_rows(book_copy, {"qin2016clinical": (10, 20, 5, 20), "kwon2020combination": (5, 25, 2, 25)})
    add_analysis(book_copy, "chronic_wounds_mixed", "chronic_wounds", numbers)
    problems = [str(p) for p in check_book(book_copy)]
    assert any("column study_key: kwon2020combination is a study of acne_scars, but analysis chronic_wounds_mixed "
               "belongs to chronic_wounds" in p for p in problems), problems


def test_an_analysis_row_without_the_numbers_its_effect_needs_is_refused(book_copy):
    numbers = add_count_rows(book_copy, dict(zip(WOUND_STUDIES[:2], [(10, 20, 5, 20), (30, 40, 20, 39)], strict=True)))
    add_analysis(book_copy, "limb_ischaemia_smd", "limb_ischaemia", numbers, measure="smd")
    problems = [str(p) for p in check_book(book_copy)]
    assert len(problems) == 2
    assert all("cannot enter analysis limb_ischaemia_smd: a standardised mean difference needs int_value" in p
               for p in problems), problems


def test_an_analysis_row_pointing_at_a_missing_outcome_is_refused(book_copy):
    add_analysis(book_copy, "limb_ischaemia_dangling", "limb_ischaemia",
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


def test_every_comparison_gets_a_certainty_with_a_reason_for_each_downgrade(book_root):
    evidence = load(book_root)
    for condition in evidence.vocabulary("conditions").index:
        for rating in ratings(evidence, condition):
            assert rating.certainty in LEVELS
            assert rating.start == ("high" if rating.randomized else "low")
            for downgrade in rating.downgrades:
                assert downgrade.reason and downgrade.levels in (1, 2)


def test_skin_ageing_is_not_rated_high(book_root):
    """The reviewers' worst case: a whole condition rated HIGH from enrolment summed across unrelated products."""
    evidence = load(book_root)
    assert all(r.certainty != "high" for r in ratings(evidence, "skin_aging"))
    for rating in ratings(evidence, "skin_aging"):
        assert len({evidence.studies.set_index("key").loc[k, "product_class"] for k in rating.studies}) == 1


def test_imprecision_is_judged_on_one_estimate_not_summed_enrolment(book_copy):
    # Made-up trials of 300 each: two MSC trials summed pass 400, but the largest single one does not.
    numbers = add_count_rows(book_copy, dict(zip(WOUND_STUDIES, [(150, 150, 100, 150)] * 3, strict=True)))
    fields, rows = read_rows(book_copy, "studies")
    for row in rows:
        if row["key"] in numbers:
            row["n_enrolled"] = "300"
    write_rows(book_copy, "studies", fields, rows)
    evidence = load(book_copy)
    (rating,) = [r for r in ratings(evidence, "limb_ischaemia") if r.comparator_type == "standard_care"
                 and r.domain == "wound_closure" and r.product_class == "stem_progenitor_cell"]
    assert rating.participants == 600
    reasons = " ".join(d.reason for d in rating.downgrades if d.domain == "imprecision")
    assert "300 participants behind the largest study" in reasons


def test_open_label_is_not_held_against_a_mortality_outcome(book_copy):
    from skinregen.stats.certainty import rate

    evidence = load(book_copy)
    studies = evidence.studies[evidence.studies["key"] == "sullivan2018myeloablative"]
    import pandas as pd

    group = pd.DataFrame({"study_key": ["sullivan2018myeloablative"], "measure": ["treatment-related mortality"]})
    empty = pd.DataFrame(columns=["favours", "n_enrolled", "effect", "label", "measure", "study_key"])
    rating = rate("scleroderma", ("stem_progenitor_cell", "active_treatment", "other"), group, empty, studies,
                  {"sullivan2018myeloablative": ("rob2", "high")})
    assert "risk of bias" not in [d.domain for d in rating.downgrades]
    rating = rate("scleroderma", ("stem_progenitor_cell", "active_treatment", "disease_severity"),
                  group.assign(measure=["mRSS"]), empty, studies, {"sullivan2018myeloablative": ("rob2", "high")})
    assert "risk of bias" in [d.domain for d in rating.downgrades]


def test_no_vote_count_remains(book_root):
    """The 'comparisons with a printed p value' count is gone from the package and the chapters."""
    for path in [*(book_root / "skinregen").rglob("*.py"), *(book_root / "chapters").rglob("*.ipynb")]:
        text = path.read_text(encoding="utf-8")
        assert "with a printed p value" not in text, path
        assert "favour the stem-cell arm with" not in text, path


def test_every_printed_p_value_parses(book_root):
    from skinregen.data.validate import is_not_significant_statement, parse_p_value

    outcomes = load(book_root).outcomes
    for study, number, text in zip(outcomes["study_key"], outcomes["outcome_no"], outcomes["p_value_text"],
                                   strict=True):
        if isinstance(text, str) and text:
            assert parse_p_value(text) is not None or is_not_significant_statement(text), (study, number, text)
    assert parse_p_value("0·002") == (0.002, "=")


def test_primary_outcome_comes_first(book_root):
    from skinregen.present import views

    evidence = load(book_root)
    table = views.primary_outcomes(evidence, condition="chronic_wounds").frame
    hayes = [o for s, o in zip(table["Study"], table["Outcome"], strict=True) if "Hayes" in s]
    assert hayes and "closure" in hayes[0].lower()


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
