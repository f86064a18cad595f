"""Pooled analyses named in data/analyses.csv, and their forest plots."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from ..data.evidence import Evidence
from ..stats.meta import POOLING_METHODS, PooledEstimate, effect_size, pool
from .figures import COLORWAY, FigureOutput, show, styled


@dataclass(frozen=True)
class PooledAnalysis:
    id: str
    condition: str
    title: str
    rationale: str
    pooled: PooledEstimate
    labels: tuple[str, ...]  # one per effect: "study (measure, time point)"


def _row_dict(series) -> dict:
    row = {}
    for name, value in series.items():
        try:
            missing = value is None or bool(value != value)
        except TypeError:  # pandas NA
            missing = True
        row[name] = None if missing else value
    return row


def pooled_analyses(evidence: Evidence, *, condition: str | None = None) -> list[PooledAnalysis]:
    """Every analysis of data/analyses.csv (of one condition), pooled from the printed outcome rows."""
    analyses = evidence.table("analyses")
    members = evidence.table("analysis_rows")
    outcomes = evidence.outcomes.set_index(["study_key", "outcome_no"])
    result = []
    for spec in analyses.to_dict("records"):
        if condition is not None and spec["condition"] != condition:
            continue
        chosen = members[members["analysis_id"] == spec["id"]].sort_values("study_key")
        effects, labels = [], []
        for study_key, outcome_no in zip(chosen["study_key"], chosen["outcome_no"], strict=True):
            row = _row_dict(outcomes.loc[(study_key, int(outcome_no))])
            row.update(study_key=study_key, outcome_no=int(outcome_no))
            effects.append(effect_size(row, spec["effect_measure"]))
            labels.append(f"{study_key} ({row['measure']}, {row['timepoint'] or 'time point not printed'})")
        result.append(PooledAnalysis(spec["id"], spec["condition"], spec["title"], spec["rationale"],
                                     pool(effects, spec["method"]), tuple(labels)))
    return result


def forest_plot(analysis: PooledAnalysis) -> FigureOutput:
    """Each study's effect with its 95% CI, and the random-effects pooled estimate as a diamond."""
    pooled = analysis.pooled
    natural = pooled.natural
    ratio = pooled.measure == "risk_ratio"
    name = "Risk ratio" if ratio else "Hedges' g"
    rows = [label.split(" (")[0] for label in analysis.labels]
    lows, highs = zip(*(effect.ci95() for effect in pooled.effects), strict=True)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[natural(e.estimate) for e in pooled.effects], y=rows, mode="markers", name="Study (95% CI)",
        marker={"color": COLORWAY[0], "symbol": "square",
                "size": [8 + 16 * w for w in pooled.weights]},
        error_x={"type": "data", "symmetric": False, "color": COLORWAY[0],
                 "array": [natural(h) - natural(e.estimate) for h, e in zip(highs, pooled.effects, strict=True)],
                 "arrayminus": [natural(e.estimate) - natural(lo) for lo, e in zip(lows, pooled.effects,
                                                                                     strict=True)]},
        customdata=[[label, natural(lo), natural(h), 100 * w, e.note or ""]
                    for label, lo, h, w, e in zip(analysis.labels, lows, highs, pooled.weights, pooled.effects,
                                                  strict=True)],
        hovertemplate="%{customdata[0]}<br>" + name + " %{x:.2f} (95% CI %{customdata[1]:.2f} to "
                      "%{customdata[2]:.2f})<br>weight %{customdata[3]:.0f}%<br>%{customdata[4]}<extra></extra>",
    ))
    centre, low, high = natural(pooled.estimate), natural(pooled.ci_low), natural(pooled.ci_high)
    pooled_row = f"Pooled ({pooled.k} studies)"
    fig.add_trace(go.Scatter(
        x=[low, centre, high, centre, low], y=[pooled_row, pooled_row, pooled_row, pooled_row, pooled_row],
        mode="lines+markers", name=f"Pooled, {POOLING_METHODS[pooled.method]} random effects",
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
    no_effect = 1.0 if ratio else 0.0
    fig.add_vline(x=no_effect, line_width=1, line_color="#444444")
    favours = "right favours the stem-cell arm" if not ratio else (
        "right: more events in the stem-cell arm")
    styled(fig, title=analysis.title, x_title=f"{name} (log scale)" if ratio else f"{name} ({favours})",
           y_title="", height=max(300, 150 + 36 * (pooled.k + 1)))
    if ratio:
        fig.update_xaxes(type="log")
    fig.update_yaxes(categoryorder="array", categoryarray=[pooled_row, *reversed(rows)])
    return show(
        fig,
        alt=f"Forest plot of {pooled.k} studies: each study's {name.lower()} with its 95% confidence interval "
        f"and the pooled estimate {centre:.2f} (95% CI {low:.2f} to {high:.2f}).",
        caption=pooled.summary() + " " + analysis.rationale,
        source="data/outcomes.csv, data/analyses.csv, data/analysis_rows.csv",
    )
