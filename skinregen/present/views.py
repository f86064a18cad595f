"""Ready-made tables and figures that chapters display with one call each."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from ..stats.certainty import PRODUCT_CLASS_LABELS
from .figures import COLORWAY, FigureOutput, legend_below, show, styled
from .forest import PooledAnalysis, comparison_forest, condition_effects, forest_plot, pooled_analyses  # noqa: F401
from .methods import reading_limits, search_summary, searches_table, units_table, verification_summary  # noqa: F401
from .overview import (  # noqa: F401 (the methods, evidence-map and claims chapters)  # noqa: F401 (the safety chapter)
    adverse_event_table,
    articles_table,
    awaiting_table,
    claims_figure,
    claims_table,
    evidence_map,
    flow_figure,
    flow_table,
    safety_figure,
    serious_events_table,
    timeline,
)
from .regulatory import approvals_by_jurisdiction, approvals_table  # noqa: F401 (the regulatory chapter)
from .risk_of_bias_figures import risk_of_bias_figures
from .summaries import approval_sentence, plain_language_summary, summary_of_findings  # noqa: F401 (chapters)
from .tables import HtmlCell, InteractiveTable, interactive_table

STUDY_TABLE_COLUMNS = ["Study", "Design", "n", "Product", "Main result", "Details"]


def _with_labels(evidence: Evidence, studies):
    frame = studies.copy()
    frame["design_label"] = frame["design"].map(evidence.vocabulary("designs")["label"])
    frame["product_label"] = frame["product_type"].map(evidence.vocabulary("product_types")["label"])
    follow = frame["follow_up"].astype("string").str.replace(r"\.0$", "", regex=True)
    # "1 month", "6 months": the unit is stored in the plural
    unit = frame["follow_up_unit"].where(follow != "1", frame["follow_up_unit"].str.rstrip("s"))
    frame["follow_up_text"] = (follow + " " + unit).fillna("")
    return frame


def no_studies_yet(evidence: Evidence, *, condition: str | None = None, mechanism: str | None = None):
    """A notice for a chapter whose condition or mechanism has no study in the data (instead of empty output)."""
    from IPython.display import Markdown

    if condition:
        scope = f"of {evidence.label('conditions', condition).lower()}"
    else:
        scope = f"tagged with {evidence.label('mechanisms', mechanism).lower()}"
    return Markdown(f"*No human study {scope} is in the evidence database yet, so there is nothing to show here. "
                    "The chapter fills in as studies are added (see CONTRIBUTING.md: `python -m skinregen "
                    "add-study`).*")


def study_table(evidence: Evidence, *, condition: str | None = None,
                mechanism: str | None = None) -> InteractiveTable:
    """The studies of a condition (or mechanism) as a sortable, filterable table."""
    studies = _with_labels(evidence, evidence.studies_for(condition=condition, mechanism=mechanism))
    if studies.empty and (condition or mechanism):
        return no_studies_yet(evidence, condition=condition, mechanism=mechanism)
    frame = pd.DataFrame({
        "Study": [HtmlCell(evidence.cite_html(k)) for k in studies["key"]],
        "Design": studies["design_label"],
        "n": studies["n_enrolled"],
        "Product": [f"{p} ({PRODUCT_CLASS_LABELS[c].split(' (')[0].lower()})"
                    for p, c in zip(studies["product_label"], studies["product_class"], strict=True)],
        "Main result": studies["main_result"],
        "Details": [HtmlCell(_details(evidence, row)) for row in studies.to_dict("records")],
    })
    if condition:
        scope = evidence.label("conditions", condition)
    elif mechanism:
        scope = f"studies that measured {evidence.label('mechanisms', mechanism).lower()}"
    else:
        scope = "all conditions"
    participants = int(studies["n_enrolled"].sum())
    return interactive_table(
        frame,
        caption=f"Human studies: {scope} ({len(frame)} studies, {participants} participants enrolled)",
        doi_column=None,
        numeric_columns=["n"],
        wide_columns=["Main result"],
    )


def _details(evidence: Evidence, row: dict) -> str:
    """The rest of a study's record, folded into an expandable detail (so the table fits a phone)."""
    from ..stats.risk_of_bias import JUDGEMENT_LABELS, TOOL_NAMES, overall_judgements

    overall = overall_judgements(evidence.table("risk_of_bias")).get(row["key"])
    reference = evidence.references.get(row["key"])
    items = [
        ("Comparator", row.get("comparator") or "none (no control group)"),
        ("Co-intervention", row.get("combination") or "none"),
        ("Follow-up", row.get("follow_up_text") or "not printed"),
        ("Country", row.get("country") or "not printed"),
        ("Funding", row.get("funding") or "not stated in what was read"),
        ("Risk of bias (overall)", JUDGEMENT_LABELS[overall[1]] + f" ({TOOL_NAMES[overall[0]]})"
         if overall else "not yet judged"),
        ("Read", {"abstract": "abstract only", "full_text": "full text"}.get(row.get("source_checked"), "")),
        ("Checked", {"second_reader": "by a second reader", "quote_check": "against quoted source sentences; "
                     "second reading to do"}.get(row.get("verification"), "")),
    ]
    body = "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(str(value))}</dd>" for name, value in items)
    if reference is not None and reference.url:
        link = f'<a href="{html.escape(reference.url, quote=True)}">{html.escape(reference.url)}</a>'
        body += f"<dt>Source</dt><dd>{link}</dd>"
    return f"<details><summary>More</summary><dl>{body}</dl></details>"


def study_size_figure(evidence: Evidence, *, condition: str) -> FigureOutput:
    """Participants enrolled in each study of a condition, coloured by design."""
    every = _with_labels(evidence, evidence.studies_for(condition=condition))
    if every.empty:
        return no_studies_yet(evidence, condition=condition)
    studies = every[every["n_enrolled"].notna()].sort_values(["n_enrolled", "key"])
    unreported = sorted(every.loc[every["n_enrolled"].isna(), "key"])
    fig = go.Figure()
    for index, (design, group) in enumerate(studies.groupby("design_label", sort=True)):
        fig.add_trace(
            go.Bar(
                x=group["n_enrolled"].astype(int).tolist(),
                y=[evidence.cite(k) for k in group["key"]],
                orientation="h",
                name=str(design),
                marker_color=COLORWAY[index % len(COLORWAY)],
                customdata=group[["year", "product_label"]].astype(str).values.tolist(),
                hovertemplate="%{y} (%{customdata[0]})<br>%{customdata[1]}<br>n = %{x}<extra>%{fullData.name}</extra>",
            )
        )
    label = evidence.label("conditions", condition)
    styled(fig, title=f"{label}: participants per study", x_title="Participants enrolled (people)",
           y_title="Study", height=max(300, 40 + 28 * len(studies)))
    fig.update_yaxes(categoryorder="array", categoryarray=[evidence.cite(k) for k in studies["key"]])
    legend_below(fig, len(fig.data))
    return show(
        fig,
        alt=f"Horizontal bar chart of the number of participants enrolled in each of {len(studies)} studies "
        f"of {label.lower()}, coloured by study design.",
        caption=f"Participants enrolled in each human study of {label.lower()}, by design."
        + (f" Not shown (no enrolment count printed): {', '.join(evidence.cite(k) for k in unreported)}."
           if unreported else ""),
        source="data/studies.csv",
    )



class Outputs(list):
    """Several outputs shown one after another from one cell."""

    def _ipython_display_(self):
        from IPython.display import display

        for item in self:
            display(item)


# ------------------------------------------------------------------------------------------------ effects


def effects_forest(evidence: Evidence, *, condition: str):
    """The condition's forest plots: pooled analyses first (where defined), then every comparison's effect."""
    from IPython.display import Markdown

    pooled = [forest_plot(a) for a in pooled_analyses(evidence, condition=condition)]
    figures = comparison_forest(evidence, condition=condition)
    label = evidence.label("conditions", condition).lower()
    if not pooled and not figures:
        return Markdown(f"*No comparison in the studies of {label} prints what an effect size needs (responders "
                        "per arm, or means with SD or SE and n per arm, or an effect with its confidence interval), "
                        "so there is no forest plot. The primary outcomes below are reported as the studies "
                        "printed them.*")
    note = Markdown("**Pooled.** " + " ".join(f"{a.title}: {a.pooled.summary()} {a.rationale}"
                                              for a in pooled_analyses(evidence, condition=condition))) if pooled \
        else Markdown("**Not pooled.** No two comparisons here share the product class, comparator, outcome and time "
                      "point closely enough to be combined (methods chapter); each is shown on its own.")
    return Outputs([note, *pooled, *figures])


def _printed_result(row: dict) -> str:
    from .forest import arms_text

    text = arms_text(row)
    p = row.get("p_value_text")
    if p:
        text = (text + "; " if text else "") + f"p {p}" if not str(p).startswith(("<", ">", "=", "≤", "≥")) else (
            (text + "; " if text else "") + f"p {p}")
    return text or "no numbers printed"


def primary_outcomes(evidence: Evidence, *, condition: str) -> InteractiveTable:
    """Each controlled study's primary outcome first: what it is, the effect with its CI where computable, n."""
    studies = evidence.studies_for(condition=condition)
    if studies.empty:
        return no_studies_yet(evidence, condition=condition)
    effects = condition_effects(evidence, condition)
    outcomes = evidence.outcomes_for(studies["key"])
    records = []
    for study in studies.to_dict("records"):
        own = outcomes[(outcomes["study_key"] == study["key"]) & (outcomes["domain"] != "intervention_detail")]
        if own.empty:
            continue
        primary = own[own["is_primary"].fillna(False).astype(bool)]
        named = not primary.empty
        chosen = (primary if named else own[own["comparison"] == "between_arms"]).head(1)
        if chosen.empty:
            chosen = own.head(1)
        row = {k: (None if pd.isna(v) else v) for k, v in chosen.iloc[0].to_dict().items()}
        effect = effects[(effects["study_key"] == study["key"]) & (effects["outcome_no"] == row["outcome_no"])] \
            if not effects.empty else effects
        if not effect.empty:
            e = effect.iloc[0]
            from ..stats.effects import MEASURE_LABELS

            result = (f"{MEASURE_LABELS[e['measure']]} {e['estimate']:.2f} (95% CI {e['ci_low']:.2f} to "
                      f"{e['ci_high']:.2f}); favours {e['favours']}")
        elif row["comparison"] == "between_arms":
            result = "no effect computable: " + _printed_result(row)
            if row.get("p_value_text") and row.get("int_value") is None and row.get("int_events") is None:
                result = f"p printed ({row['p_value_text']}), arm values not printed"
        else:
            result = "before vs after treatment only (no control): " + _printed_result(row)
        records.append({
            "Study": HtmlCell(evidence.cite_html(study["key"])),
            "Design": evidence.label("designs", study["design"]),
            "n": study["n_enrolled"],
            "Outcome": f"{row['measure']} ({row.get('timepoint') or 'time point not printed'})"
                       + ("" if named else " — no primary outcome named in what was read"),
            "Result": result,
            "Unit": row.get("unit_of_analysis") or "not recorded",
        })
    frame = pd.DataFrame(records)
    if frame.empty:
        return no_studies_yet(evidence, condition=condition)
    return interactive_table(frame, caption=f"Primary outcome of each study ({len(frame)} studies): the outcome "
                             "the study named as primary, or else its first reported comparison", doi_column=None,
                             numeric_columns=["n"], wide_columns=["Outcome", "Result"])


def risk_of_bias(evidence: Evidence, *, condition: str):
    """robvis-style traffic lights and summary bars for the condition's controlled studies."""
    from IPython.display import Markdown

    studies = evidence.studies_for(condition=condition)
    label = evidence.label("conditions", condition)
    figures = risk_of_bias_figures(evidence, studies["key"], label)
    uncontrolled = studies[studies["design"].isin(["single_arm_trial", "case_series"])]
    judged = set(evidence.table("risk_of_bias")["study_key"])
    missing = [k for k in studies["key"] if k not in judged]
    text = (f"{len(uncontrolled)} of {len(studies)} studies had no control group: their risk of bias for any "
            "comparative claim is critical, and they are not drawn below.")
    if missing:
        text += f" Not yet judged: {', '.join(evidence.cite(k) for k in missing)}."
    return Outputs([Markdown(text), *figures]) if figures else Markdown(text + " No controlled study to draw.")


# ---------------------------------------------------------------------------------------------- mechanisms


def mechanism_effects(evidence: Evidence, *, mechanism: str):
    """Forest plots of the between-arm results of the studies that measured a mechanism."""
    from IPython.display import Markdown

    from .forest import effects_for_studies, forest_figure

    studies = evidence.studies_for(mechanism=mechanism)
    label = evidence.label("mechanisms", mechanism)
    if studies.empty:
        return no_studies_yet(evidence, mechanism=mechanism)
    table = effects_for_studies(evidence, studies["key"])
    if table.empty:
        return Markdown(f"*No between-arm result of the studies that measured {label.lower()} prints what an effect "
                        "size needs, so no effect can be shown with its confidence interval. The printed results are "
                        "listed below.*")
    figures = [forest_figure(table[table["measure"] == m], m, label) for m in table["measure"].unique()]
    return Outputs(figures)


def _value_text(row, arm: str) -> str:
    value = row[f"{arm}_value"]
    if value is not None and value == value:
        disp = row[f"{arm}_disp"]
        kind = row[f"{arm}_disp_type"]
        text = f"{value:g}"
        if disp is not None and disp == disp:
            text += f" ± {disp:g} ({kind})"
        return text
    events, total = row[f"{arm}_events"], row[f"{arm}_total"]
    if events is not None and events == events and total is not None and total == total:
        return f"{int(events)}/{int(total)}"
    return ""


def _p_text(row) -> str:
    p = row["p_value_text"]
    has_values = bool(_value_text(row, "int"))
    if p is None or p != p:
        return "no p value printed"
    return f"p {p}" + ("" if has_values else " (p printed, arm values not printed)")


def mechanism_results_table(evidence: Evidence, *, mechanism: str):
    """The printed results of the studies tagged with a mechanism: between-arm and before/after kept apart."""
    studies = evidence.studies_for(mechanism=mechanism)
    if studies.empty:
        return no_studies_yet(evidence, mechanism=mechanism)
    outcomes = evidence.outcomes_for(studies["key"])
    outcomes = outcomes[outcomes["domain"] != "intervention_detail"]
    domains = evidence.vocabulary("outcome_domains")["label"]
    label = evidence.label("mechanisms", mechanism).lower()
    tables = []
    for comparison, columns, caption in (
            ("between_arms", ("Cell-product arm", "Control arm"), "compared with a control arm"),
            ("within_arm_change", ("After treatment", "Before treatment (baseline)"),
             "before and after treatment, no control")):
        rows = outcomes[outcomes["comparison"] == comparison].to_dict("records")
        if not rows:
            continue
        frame = pd.DataFrame({
            "Study": [HtmlCell(evidence.cite_html(r["study_key"])) for r in rows],
            "Measure": [r["measure"] for r in rows],
            "Domain": [domains.get(r["domain"], "") for r in rows],
            "Time point": [r["timepoint"] for r in rows],
            columns[0]: [_value_text(r, "int") for r in rows],
            columns[1]: [_value_text(r, "ctrl") for r in rows],
            "p as printed": [_p_text(r) for r in rows],
        })
        tables.append(interactive_table(frame, caption=f"Results of studies that measured {label}, {caption} "
                                        f"({len(frame)} rows)", doi_column=None, numeric_columns=[],
                                        wide_columns=["Measure"]))
    return Outputs(tables)
