"""Forest plots: every comparison's effect with its 95% CI, and the pooled analyses named in data/analyses.csv."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from ..stats.effects import MEASURE_LABELS, Effect, effect_size, favours, row_effects
from ..stats.pooling import POOLING_METHODS, PooledEstimate, pool
from .figures import COLORWAY, FigureOutput, legend_below, show, styled

COMPARATOR_LABELS = {
    "placebo_or_vehicle": "vs placebo or vehicle",
    "standard_care": "vs standard care",
    "no_treatment": "vs no treatment",
    "active_treatment": "vs another active treatment",
    "same_procedure_without_product": "vs the same procedure without the product",
    "other_dose_or_regimen": "vs another dose or regimen (no untreated control)",
    "baseline": "vs baseline",
}
# Which effect each kind of printed result is drawn with (one row per comparison): counts give a risk ratio,
# means with SDs a standardised mean difference (rows of one figure use different scales), the rest as printed.
DISPLAY_ORDER = ("risk_ratio", "smd", "odds_ratio", "hazard_ratio", "mean_difference")


def _row_dict(series) -> dict:
    row = {}
    for name, value in series.items():
        try:
            missing = value is None or bool(value != value)
        except TypeError:  # pandas NA
            missing = True
        row[name] = None if missing else value
    return row


def comparator_label(value) -> str:
    return COMPARATOR_LABELS.get(value, "comparator not yet coded") if isinstance(value, str) else (
        "comparator not yet coded")


def arms_text(row: dict) -> str:
    """The printed numbers behind an effect, as a reader would check them against the paper."""
    def number(v):
        return f"{float(v):g}"

    if row.get("int_events") is not None and row.get("int_total") is not None and row.get("ctrl_total") is not None:
        return (f"{number(row['int_events'])}/{number(row['int_total'])} vs "
                f"{number(row['ctrl_events'])}/{number(row['ctrl_total'])}")
    parts = []
    for arm in ("int", "ctrl"):
        value = row.get(f"{arm}_value")
        if value is None:
            continue
        text = number(value)
        if row.get(f"{arm}_disp") is not None:
            text += f" ± {number(row[f'{arm}_disp'])} ({row.get(f'{arm}_disp_type') or 'type not printed'})"
        elif row.get(f"{arm}_disp_low") is not None:
            low, high = number(row[f"{arm}_disp_low"]), number(row[f"{arm}_disp_high"])
            text += f" ({row.get(f'{arm}_disp_type')} {low} to {high})"
        if row.get(f"{arm}_n") is not None:
            text += f", n = {number(row[f'{arm}_n'])}"
        parts.append(text)
    if row.get("effect_value") is not None:
        parts.append(f"{row.get('effect_measure')} {number(row['effect_value'])}"
                     + (f" (95% CI {number(row['effect_ci_low'])} to {number(row['effect_ci_high'])})"
                        if row.get("effect_ci_low") is not None else ""))
    return " vs ".join(parts[:2]) + ("; " + parts[2] if len(parts) > 2 else "")


def condition_effects(evidence: Evidence, condition: str) -> pd.DataFrame:
    """One row per between-arm comparison of a condition that gives an effect, with its displayed effect.

    Columns: study, label (author-year), outcome row, domain, comparator type, measure, estimate and CI on the
    reported scale, the printed numbers, time point, source location, and every other effect of the row.
    """
    return effects_for_studies(evidence, evidence.studies_for(condition=condition)["key"])


def effects_for_studies(evidence: Evidence, keys) -> pd.DataFrame:
    """:func:`condition_effects` for any set of studies (a mechanism's, say)."""
    studies = evidence.studies[evidence.studies["key"].isin(set(keys))]
    design = dict(zip(studies["key"], studies["design"], strict=True))
    product_class = dict(zip(studies["key"], studies["product_class"], strict=True))
    n_enrolled = dict(zip(studies["key"], studies["n_enrolled"], strict=True))
    outcomes = evidence.outcomes_for(studies["key"])
    domains = evidence.vocabulary("outcome_domains")["label"]
    records = []
    for series in outcomes.itertuples(index=False):
        row = _row_dict(pd.Series(series._asdict()))
        effects = {effect.measure: effect for effect in row_effects(row, design.get(row["study_key"]))}
        shown = next((effects[m] for m in DISPLAY_ORDER if m in effects), None)
        if shown is None:
            continue
        estimate, low, high = shown.natural_ci()
        others = "; ".join(f"{MEASURE_LABELS[m]} {e.natural_ci()[0]:.2f} ({e.natural_ci()[1]:.2f} to "
                           f"{e.natural_ci()[2]:.2f})" for m, e in effects.items() if m != shown.measure)
        records.append({
            "study_key": row["study_key"], "label": evidence.cite(row["study_key"]), "outcome_no": row["outcome_no"],
            "measure_name": row["measure"], "domain": row["domain"], "domain_label": domains.get(row["domain"], ""),
            "comparator_type": row.get("comparator_type"),
            "comparator_label": comparator_label(row.get("comparator_type")),
            "product_class": product_class.get(row["study_key"]), "n_enrolled": n_enrolled.get(row["study_key"]),
            "is_primary": row.get("is_primary") is True, "unit": row.get("unit_of_analysis") or "not recorded",
            "effect": shown, "measure": shown.measure, "estimate": estimate, "ci_low": low, "ci_high": high,
            "favours": favours(shown, row.get("higher_is_better")), "arms": arms_text(row),
            "timepoint": row.get("timepoint") or "time point not printed", "source_location": row["source_location"],
            "other_effects": others, "note": shown.note, "computed": shown.source == "computed",
        })
    return pd.DataFrame.from_records(records)


ROW_NAME_ROOM = 0.45


def _effect_text(record) -> str:
    return f"{record['estimate']:.2f} ({record['ci_low']:.2f} to {record['ci_high']:.2f})"


def comparison_forest(evidence: Evidence, *, condition: str) -> list[FigureOutput]:
    """Forest plots of a condition's comparisons: one figure per effect measure, rows grouped by outcome domain
    and comparator, each row named "Author et al., year" with its measure and effect written above it."""
    table = condition_effects(evidence, condition)
    label = evidence.label("conditions", condition)
    outputs = []
    if table.empty:
        return outputs
    for measure in DISPLAY_ORDER:
        chosen = table[table["measure"] == measure].sort_values(["domain_label", "comparator_label", "label"])
        if chosen.empty:
            continue
        outputs.append(forest_figure(chosen, measure, label))
    return outputs


def forest_figure(chosen: pd.DataFrame, measure: str, condition_label: str) -> FigureOutput:
    """One forest plot of the rows of ``chosen`` (all of one measure), grouped by outcome domain and comparator."""
    ratio = measure in ("risk_ratio", "odds_ratio", "hazard_ratio")
    name = MEASURE_LABELS[measure]
    fig = go.Figure()
    rows, annotations, y = [], [], []
    position = 0
    for (domain, comparator), group in chosen.groupby(["domain_label", "comparator_label"], sort=False):
        annotations.append((position - 0.75, f"<b>{domain}</b> · {comparator}", 13))
        position += 1
        for record in group.to_dict("records"):
            primary = " (primary outcome)" if record["is_primary"] else ""
            annotations.append((position - ROW_NAME_ROOM - 0.05,
                                f"{record['measure_name'][:46]}, {record['timepoint'][:20]}: "
                                f"{_effect_text(record)}", 11))
            rows.append(record | {"primary": primary})
            y.append(position)
            position += 1.6
    hover = [
        f"<b>{r['label']}</b>{r['primary']}<br>{r['measure_name']}<br>time point: {r['timepoint']}<br>"
        f"printed: {r['arms']}<br>unit of analysis: {r['unit']}<br>read in: {r['source_location']}<br>"
        f"{name} {_effect_text(r)} ({'computed from the printed numbers' if r['computed'] else 'as printed'})"
        + (f"<br>{r['note']}" if r["note"] else "") + (f"<br>also: {r['other_effects']}" if r["other_effects"] else "")
        for r in rows
    ]
    colors = [COLORWAY[0] if r["favours"] == "cell product" else COLORWAY[3] if r["favours"] == "control"
              else "#555555" for r in rows]
    fig.add_trace(go.Scatter(
        x=[r["estimate"] for r in rows], y=y, mode="markers", name=f"{name} (95% CI)", showlegend=False,
        marker={"color": colors, "symbol": ["diamond" if r["is_primary"] else "square" for r in rows], "size": 10},
        error_x={"type": "data", "symmetric": False, "color": "#555555", "thickness": 1.5,
                 "array": [r["ci_high"] - r["estimate"] for r in rows],
                 "arrayminus": [r["estimate"] - r["ci_low"] for r in rows]},
        customdata=[[h] for h in hover], hovertemplate="%{customdata[0]}<extra></extra>",
    ))
    no_effect = 1.0 if ratio else 0.0
    fig.add_vline(x=no_effect, line_width=1, line_color="#444444")
    for at, text, size in annotations:
        fig.add_annotation(text=text, x=0, y=at, xref="x domain", yref="y", xanchor="left", yanchor="middle",
                           showarrow=False, font={"size": size, "color": "#333333"})
    direction = ("right of 1: more responders or events in the cell-product arm" if ratio else
                 "right of 0 favours the cell-product arm")
    height = 140 + int(34 * position)
    styled(fig, title=f"{condition_label}: {name.lower().replace('hedges', 'Hedges')} per comparison",
           x_title=f"{name}{' (log scale)' if ratio else ''}; {direction}", height=height)
    if ratio:
        fig.update_xaxes(type="log")
    fig.update_yaxes(range=[position - 0.5, -1.5], tickmode="array", tickvals=y,
                     ticktext=[r["label"].replace(" et al.,", "").replace(",", "") for r in rows],
                     showgrid=False)
    fig.update_layout(margin={"t": 60})
    favouring = sum(r["favours"] == "cell product" for r in rows)
    against = sum(r["favours"] == "control" for r in rows)
    return show(
        fig,
        alt=f"Forest plot of {len(rows)} comparisons in {condition_label.lower()}: each study's {name.lower()} with "
            f"its 95% confidence interval, grouped by outcome domain and comparator. {favouring} intervals lie wholly "
            f"on the side of the cell product, {against} on the side of the control, the rest include no effect.",
        caption=f"Each row is one comparison as the study printed it (hover for the printed numbers, time point and "
                f"where they were read). Squares: other outcomes; diamonds: the study's primary outcome. Blue: the 95% "
                f"CI lies wholly on the side of the cell product; red: wholly on the side of the control; grey: it "
                f"includes no effect. {name} computed by the book from the printed numbers unless marked 'as "
                f"printed'. Not pooled: rows differ in outcome, time point and product.",
        source="data/outcomes.csv (effects: data/derived/effects.csv)",
    )


# ------------------------------------------------------------------------------------------ pooled analyses


@dataclass(frozen=True)
class PooledAnalysis:
    id: str
    condition: str
    title: str
    rationale: str
    pooled: PooledEstimate
    labels: tuple[str, ...]  # one per effect: "Author et al., year (measure, time point)"


def pooled_analyses(evidence: Evidence, *, condition: str | None = None) -> list[PooledAnalysis]:
    """Every analysis of data/analyses.csv (of one condition), pooled from the printed outcome rows."""
    analyses = evidence.table("analyses")
    members = evidence.table("analysis_rows")
    outcomes = evidence.outcomes.set_index(["study_key", "outcome_no"])
    design = dict(zip(evidence.studies["key"], evidence.studies["design"], strict=True))
    result = []
    for spec in analyses.to_dict("records"):
        if condition is not None and spec["condition"] != condition:
            continue
        chosen = members[members["analysis_id"] == spec["id"]].sort_values("study_key")
        effects: list[Effect] = []
        labels = []
        for study_key, outcome_no in zip(chosen["study_key"], chosen["outcome_no"], strict=True):
            row = _row_dict(outcomes.loc[(study_key, int(outcome_no))])
            row.update(study_key=study_key, outcome_no=int(outcome_no))
            effects.append(effect_size(row, spec["effect_measure"], design.get(study_key)))
            when = row["timepoint"] or "time point not printed"
            labels.append(f"{evidence.cite(study_key)} ({row['measure']}, {when})")
        result.append(PooledAnalysis(spec["id"], spec["condition"], spec["title"], spec["rationale"],
                                     pool(effects, spec["method"]), tuple(labels)))
    return result


def forest_plot(analysis: PooledAnalysis) -> FigureOutput:
    """Each study's effect with its 95% CI and weight, and the random-effects pooled estimate as a diamond."""
    pooled = analysis.pooled
    natural = pooled.natural
    ratio = pooled.effects[0].ratio
    name = MEASURE_LABELS[pooled.measure]
    rows = [label.split(" (")[0] for label in analysis.labels]
    cis = [effect.ci95() for effect in pooled.effects]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[natural(e.estimate) for e in pooled.effects], y=rows, mode="markers", name="Study (95% CI)",
        marker={"color": COLORWAY[0], "symbol": "square", "size": [8 + 16 * w for w in pooled.weights]},
        error_x={"type": "data", "symmetric": False, "color": COLORWAY[0],
                 "array": [natural(h) - natural(e.estimate) for (_, h), e in zip(cis, pooled.effects, strict=True)],
                 "arrayminus": [natural(e.estimate) - natural(lo) for (lo, _), e in zip(cis, pooled.effects,
                                                                                         strict=True)]},
        customdata=[[label, natural(lo), natural(h), 100 * w, e.note or ""]
                    for label, (lo, h), w, e in zip(analysis.labels, cis, pooled.weights, pooled.effects, strict=True)],
        hovertemplate="%{customdata[0]}<br>" + name + " %{x:.2f} (95% CI %{customdata[1]:.2f} to "
                      "%{customdata[2]:.2f})<br>weight %{customdata[3]:.0f}%<br>%{customdata[4]}<extra></extra>",
    ))
    centre, low, high = natural(pooled.estimate), natural(pooled.ci_low), natural(pooled.ci_high)
    pooled_row = f"Pooled ({pooled.k} studies)"
    fig.add_trace(go.Scatter(
        x=[low, centre, high, centre, low], y=[pooled_row] * 5,
        mode="lines+markers", name=f"Pooled, {POOLING_METHODS[pooled.method]} random effects (HKSJ 95% CI)",
        line={"color": COLORWAY[3], "width": 6}, marker={"symbol": "diamond", "size": 12, "color": COLORWAY[3]},
        hovertemplate=f"Pooled {name.lower()} {centre:.2f} (95% CI {low:.2f} to {high:.2f})<br>"
                      f"tau² = {pooled.tau2:.3f}, I² = {100 * pooled.i2:.0f}%<extra></extra>",
    ))
    if pooled.prediction_low is not None:
        fig.add_trace(go.Scatter(
            x=[natural(pooled.prediction_low), natural(pooled.prediction_high)], y=[pooled_row, pooled_row],
            mode="lines", name="95% prediction interval", line={"color": COLORWAY[3], "width": 1.5, "dash": "dot"},
            hoverinfo="skip",
        ))
    fig.add_vline(x=1.0 if ratio else 0.0, line_width=1, line_color="#444444")
    direction = "right of 1: more responders in the cell-product arm" if ratio else "right favours the cell-product arm"
    styled(fig, title=analysis.title, x_title=f"{name}{' (log scale)' if ratio else ''}; {direction}",
           y_title="", height=max(300, 170 + 36 * (pooled.k + 1)))
    if ratio:
        fig.update_xaxes(type="log")
    fig.update_yaxes(categoryorder="array", categoryarray=[pooled_row, *reversed(rows)])
    legend_below(fig, 3 if pooled.prediction_low is not None else 2)
    return show(
        fig,
        alt=f"Forest plot of {pooled.k} studies: each study's {name.lower()} with its 95% confidence interval "
        f"and the pooled estimate {centre:.2f} (95% CI {low:.2f} to {high:.2f}).",
        caption=pooled.summary() + " " + analysis.rationale,
        source="data/outcomes.csv, data/analyses.csv, data/analysis_rows.csv",
    )
