"""Ready-made tables and figures that chapters display with one call each."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from .figures import COLORWAY, FigureOutput, fixed_label_margin, show, styled
from .forest import PooledAnalysis, forest_plot, pooled_analyses  # noqa: F401  (chapters call views.*)
from .tables import InteractiveTable, interactive_table

STUDY_TABLE_COLUMNS = {
    "key": "Study",
    "year": "Year",
    "design_label": "Design",
    "n_enrolled": "n",
    "product_label": "Product",
    "comparator": "Comparator",
    "follow_up_text": "Follow-up",
    "evidence_level": "Evidence level",
    "main_result": "Main result",
    "doi": "DOI",
}


def _with_labels(evidence: Evidence, studies):
    frame = studies.copy()
    frame["design_label"] = frame["design"].map(evidence.vocabulary("designs")["label"])
    frame["product_label"] = frame["product_type"].map(evidence.vocabulary("product_types")["label"])
    follow = frame["follow_up"].astype("string").str.replace(r"\.0$", "", regex=True)
    frame["follow_up_text"] = (follow + " " + frame["follow_up_unit"]).fillna("")
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
    frame = studies[list(STUDY_TABLE_COLUMNS)].rename(columns=STUDY_TABLE_COLUMNS)
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
        doi_column="DOI",
        numeric_columns=["Year", "n", "Evidence level"],
        wide_columns=["Main result", "Comparator"],
    )


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
                y=group["key"].tolist(),
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
    fig.update_yaxes(categoryorder="array", categoryarray=studies["key"].tolist())
    return show(
        fig,
        alt=f"Horizontal bar chart of the number of participants enrolled in each of {len(studies)} studies "
        f"of {label.lower()}, coloured by study design.",
        caption=f"Participants enrolled in each human study of {label.lower()}, by design."
        + (f" Not shown (no enrolment count printed): {', '.join(unreported)}." if unreported else ""),
        source="data/studies.csv",
    )


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _arm_value(row, arm: str):
    """An arm's reported value, or its responders as a percentage when only counts are printed."""
    value = row[f"{arm}_value"]
    if value is not None and value == value:  # not missing
        return float(value), str(row[f"{arm}_stat"] or "value"), False
    events, total = row[f"{arm}_events"], row[f"{arm}_total"]
    if events is not None and events == events and total:
        return round(100 * float(events) / float(total), 1), "percent (computed from counts)", True
    return None, None, False


def comparable_results(evidence: Evidence, *, condition: str):
    """Between-arm outcome rows of a condition that print a value (or counts) for both arms."""
    outcomes = evidence.outcomes_for(evidence.studies_for(condition=condition)["key"])
    records = []
    for row in outcomes[outcomes["comparison"] == "between_arms"].to_dict("records"):
        int_value, int_kind, int_computed = _arm_value(row, "int")
        ctrl_value, ctrl_kind, ctrl_computed = _arm_value(row, "ctrl")
        if int_value is None or ctrl_value is None:
            continue
        records.append({
            "study_key": row["study_key"], "measure": row["measure"], "timepoint": row["timepoint"] or "",
            "scale": row["scale"] or "", "higher_is_better": row["higher_is_better"],
            "intervention": int_value, "control": ctrl_value, "kind": int_kind,
            "intervention_label": row["intervention_label"], "control_label": row["control_label"],
            "p_value_text": row["p_value_text"] or "", "computed": int_computed or ctrl_computed,
        })
    return records


def _by_scale(records: list[dict]) -> dict[str, list[dict]]:
    """Records grouped by the scale their values are on, in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["scale"] or record["kind"], []).append(record)
    return groups


ROW_NAME_ROOM = 0.4  # of a row's height, above a panel's first row, for that row's name


def reported_results_figure(evidence: Evidence, *, condition: str):
    """Intervention and control values side by side, one row per reported comparison, as printed.

    Values are not pooled. Rows are grouped in one panel per scale (named in the panel's title), so that an
    axis never mixes units (cm² beside %, days beside lesions). Responder counts are shown as percentages
    computed from the printed counts.
    """
    from plotly.subplots import make_subplots

    records = comparable_results(evidence, condition=condition)
    label = evidence.label("conditions", condition)
    if not records:
        from IPython.display import Markdown

        return Markdown(f"*No comparative study of {label.lower()} in the data prints a value for both the "
                        "stem-cell arm and the control arm, so there is nothing to plot side by side.*")
    groups = _by_scale(records)
    panel_px, row_px = 70, 46
    height = 110 + sum(panel_px + row_px * (len(rows) + ROW_NAME_ROOM) for rows in groups.values())
    fig = make_subplots(rows=len(groups), cols=1,
                        row_heights=[len(rows) + ROW_NAME_ROOM for rows in groups.values()],
                        vertical_spacing=min(0.3, panel_px / height),
                        subplot_titles=[f"Scale: {_short(scale, 60)}" for scale in groups])
    number, labels = 0, []
    for panel, (scale, group) in enumerate(groups.items(), 1):
        # Each row is named by a short number on the axis and by a line of text above its points, so that the
        # plot keeps its width on a phone (long tick labels would take it all).
        rows = []
        suffix = "" if panel == 1 else str(panel)
        for record in group:
            number += 1
            rows.append(f"[{number}]")
            fig.add_annotation(text=_short(f"{record['study_key']}: {record['measure']}", 48), x=0, y=rows[-1],
                               xref=f"x{suffix} domain", yref=f"y{suffix}", xanchor="left", yanchor="bottom",
                               yshift=7, showarrow=False, font={"size": 12, "color": "#444444"})
        labels += rows
        hover = [
            f"<b>{r['study_key']}</b><br>{r['measure']}<br>time point: {r['timepoint'] or 'not printed'}<br>"
            f"scale: {scale}<br>p as printed: {r['p_value_text'] or 'not printed'}"
            + ("<br>higher is better" if r["higher_is_better"] is True else
               "<br>lower is better" if r["higher_is_better"] is False else "")
            for r in group
        ]
        for arm, name, color, symbol in (("intervention", "Stem-cell arm or side", COLORWAY[0], "circle"),
                                         ("control", "Control arm or side", COLORWAY[1], "diamond")):
            fig.add_trace(go.Scatter(
                x=[r[arm] for r in group], y=rows, mode="markers", name=name, legendgroup=arm,
                showlegend=panel == 1, marker={"color": color, "size": 11, "symbol": symbol},
                customdata=[[text, r[f"{arm}_label"]] for text, r in zip(hover, group, strict=True)],
                hovertemplate="%{customdata[0]}<br>" + name + ": %{x} (%{customdata[1]})<extra></extra>",
            ), row=panel, col=1)
        # First row at the top, with room above it for its name (below the panel's title).
        fig.update_yaxes(range=[len(rows) - 0.5, -0.5 - ROW_NAME_ROOM], row=panel, col=1)
    # Every axis includes zero, so that a panel with one row does not blow a small gap up to full width.
    fig.update_xaxes(rangemode="tozero")
    styled(fig, title=f"{label}: reported values, stem-cell vs control", height=height)
    # The legend goes above the first panel's title (the template puts it just above the plot area).
    plot_px = height - 90 - 60
    fig.update_layout(margin_t=120, legend_y=1 + 28 / (plot_px - 30))
    fixed_label_margin(fig, labels)
    return show(
        fig,
        alt=f"Dot plot of {len(records)} reported comparisons in {label.lower()} studies, in {len(groups)} "
        "panels, one per scale; each row shows the value in the stem-cell arm and in the control arm as printed "
        "by the study.",
        caption="Each row is one comparison as printed by the study (named above its points; hover for the time point "
        "and p value), not pooled. Each panel holds the rows on one "
        "scale (named above it); compare values within a row, not between panels. Percentages marked 'computed "
        "from counts' are responders divided by participants.",
        source="data/outcomes.csv",
    )


# ------------------------------------------------------------------------------------------------ results


def reported_results(evidence: Evidence, *, condition: str):
    """Forest plots of the condition's pooled analyses, or, when none exists, the side-by-side dot plot."""
    analyses = pooled_analyses(evidence, condition=condition)
    if analyses:
        return Outputs([forest_plot(analysis) for analysis in analyses])
    return reported_results_figure(evidence, condition=condition)


class Outputs(list):
    """Several outputs shown one after another from one cell."""

    def _ipython_display_(self):
        from IPython.display import display

        for item in self:
            display(item)


def pooling_note(evidence: Evidence, *, condition: str):
    """A sentence saying what was pooled and why, or why nothing was."""
    from IPython.display import Markdown

    analyses = pooled_analyses(evidence, condition=condition)
    if analyses:
        return Markdown("\n\n".join(f"**{a.title}.** {a.pooled.summary()} {a.rationale}" for a in analyses))
    records = comparable_results(evidence, condition=condition)
    return Markdown(
        "**Not pooled.** "
        + (f"{len(records)} comparisons print a value for both arms, but " if records else "")
        + "no two studies of this condition report the same kind of outcome with the dispersion or counts a "
        "pooled estimate needs (and a comparable time point and comparator), so each study is shown on its own.")


def summary_of_findings(evidence: Evidence, *, condition: str) -> InteractiveTable:
    from ..stats.certainty import summary_of_findings as summarise

    if evidence.studies_for(condition=condition).empty:
        return no_studies_yet(evidence, condition=condition)
    summary = summarise(evidence, condition, pooled_analyses(evidence, condition=condition))
    label = evidence.label("conditions", condition)
    caption = f"Summary of findings: {label} (certainty: {summary.certainty})"
    return interactive_table(summary.as_table(), caption=caption, doi_column=None, numeric_columns=[],
                             wide_columns=["Assessment"])


# ---------------------------------------------------------------------------------------------- mechanisms

DIRECTIONS = ["favours the stem-cell arm (p < 0.05)", "improved from baseline (p < 0.05)",
              "no significant difference", "favours the control (p < 0.05)", "worse than baseline (p < 0.05)",
              "no p value printed"]


def result_direction(row: dict) -> str:
    """How a printed result reads: which way it points and whether its printed p value is below 0.05."""
    from ..stats.certainty import classify_comparison

    if row.get("comparison") == "between_arms":
        kind = classify_comparison(row)
        return {"favours_cells": DIRECTIONS[0], "favours_control": DIRECTIONS[3],
                "no_difference": DIRECTIONS[2]}.get(kind, DIRECTIONS[5])
    p_value = row.get("p_value")
    if p_value is None or p_value != p_value:
        return DIRECTIONS[5]
    if float(p_value) >= 0.05 and row.get("p_value_relation") not in ("<", "<="):
        return DIRECTIONS[2]
    higher, after, before = row.get("higher_is_better"), row.get("int_value"), row.get("ctrl_value")
    if higher is None or higher != higher or after is None or before is None or after != after or before != before:
        return DIRECTIONS[1] if higher is not None else DIRECTIONS[5]
    return DIRECTIONS[1] if (after > before) == bool(higher) else DIRECTIONS[4]


def mechanism_results(evidence: Evidence, mechanism: str):
    studies = evidence.studies_for(mechanism=mechanism)
    outcomes = evidence.outcomes_for(studies["key"]).copy()
    outcomes["direction"] = [result_direction(row) for row in outcomes.to_dict("records")]
    outcomes["domain_label"] = outcomes["domain"].map(evidence.vocabulary("outcome_domains")["label"])
    return studies, outcomes


def mechanism_figure(evidence: Evidence, *, mechanism: str):
    from .overview import counts_with_names

    """For the studies that measured a mechanism: their printed results by outcome domain and direction."""
    studies, outcomes = mechanism_results(evidence, mechanism)
    label = evidence.label("mechanisms", mechanism)
    if outcomes.empty:
        from IPython.display import Markdown

        return Markdown(f"*No study tagged with {label.lower()} prints an outcome value in the data yet.*")
    domains = sorted(outcomes["domain_label"].unique())
    fig = go.Figure()
    colors = [COLORWAY[2], COLORWAY[4], "#999999", COLORWAY[3], COLORWAY[5], "#DDDDDD"]
    for direction, color in zip(DIRECTIONS, colors, strict=True):
        chosen = outcomes[outcomes["direction"] == direction]
        if chosen.empty:
            continue
        labels = pd.Series([_short(f"{k}: {m}", 70) for k, m in zip(chosen["study_key"], chosen["measure"],
                                                                                     strict=True)], index=chosen.index)
        counts, lists = counts_with_names(chosen, "domain_label", domains, labels, sort=False)
        fig.add_trace(go.Bar(y=domains, x=counts, orientation="h", name=direction,
                             marker_color=color, customdata=lists,
                             hovertemplate="%{y}: %{x} results<br>%{customdata}<extra>" + direction + "</extra>"))
    styled(fig, title=f"{label}: what the studies measured and how it came out",
           x_title="Printed results (count of outcome rows)", y_title="", height=max(340, 150 + 40 * len(domains)))
    fig.update_layout(barmode="stack", legend={"y": -0.25, "yanchor": "top"}, margin={"b": 150})
    return show(
        fig,
        alt=f"Stacked horizontal bar chart of {len(outcomes)} printed results from {len(studies)} studies tagged "
        f"{label.lower()}, by outcome domain, coloured by direction and significance.",
        caption="Each printed result (one row of data/outcomes.csv) counted by outcome domain and by how it reads: "
        "its direction and whether the p value printed is below 0.05. Counting results is not a meta-analysis: it "
        "ignores size and precision and counts a study once per result.",
        source="data/outcomes.csv, data/study_mechanisms.csv",
    )


def mechanism_results_table(evidence: Evidence, *, mechanism: str) -> InteractiveTable:
    _, outcomes = mechanism_results(evidence, mechanism)
    if evidence.studies_for(mechanism=mechanism).empty:
        return no_studies_yet(evidence, mechanism=mechanism)

    def value(row, arm):
        v = row[f"{arm}_value"]
        if v is not None and v == v:
            disp = row[f"{arm}_disp"]
            return f"{v:g}" + (f" ± {disp:g} ({row[f'{arm}_disp_type']})" if disp is not None and disp == disp else "")
        events, total = row[f"{arm}_events"], row[f"{arm}_total"]
        if events is not None and events == events and total is not None and total == total:
            return f"{int(events)}/{int(total)}"
        return ""

    records = outcomes.to_dict("records")
    frame = pd.DataFrame({
        "Study": [r["study_key"] for r in records],
        "Measure": [r["measure"] for r in records],
        "Domain": [r["domain_label"] for r in records],
        "Time point": [r["timepoint"] for r in records],
        "Stem-cell arm": [value(r, "int") for r in records],
        "Control or baseline": [value(r, "ctrl") for r in records],
        "p as printed": [r["p_value_text"] for r in records],
        "Reads as": [r["direction"] for r in records],
    })
    return interactive_table(frame, caption=f"Printed results of studies tagged "
                             f"{evidence.label('mechanisms', mechanism).lower()} ({len(frame)} rows)",
                             doi_column=None, numeric_columns=[], wide_columns=["Measure"])
