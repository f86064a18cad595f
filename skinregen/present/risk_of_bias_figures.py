"""robvis-style risk-of-bias figures: a traffic light per study and domain, and a summary bar per domain."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from ..stats.risk_of_bias import DOMAIN_LABELS, DOMAINS, JUDGEMENT_LABELS, short_domain
from .figures import FigureOutput, legend_below, show, styled

# Colour and a symbol for each judgement, so the figure reads without colour too (Okabe-Ito based).
STYLE = {
    "low": ("#009E73", "+"), "some_concerns": ("#E69F00", "−"), "moderate": ("#E69F00", "−"),
    "high": ("#D55E00", "×"), "serious": ("#D55E00", "×"), "critical": ("#000000", "!"),
    "no_information": ("#56B4E9", "?"),
}
TOOL_TITLES = {"rob2": "randomized studies (RoB 2)", "robins_i": "non-randomized controlled studies (ROBINS-I)"}
# Short bar names (a phone keeps room for the bars); the caption spells each domain out.
BAR_NAMES = {"randomization": "Randomization", "deviations": "Deviations", "missing_data": "Missing data",
             "measurement": "Measurement", "selection_reported": "Reported result", "confounding": "Confounding",
             "selection_participants": "Selection", "classification_interventions": "Classification",
             "overall": "Overall"}


def short_label(evidence: Evidence, key: str) -> str:
    """'Kaur 2019' for 'Kaur et al., 2019': row names that leave a phone's plot area room for its columns."""
    return evidence.cite(key).replace(" et al.,", "").replace(",", "")


def _judgements(evidence: Evidence, keys) -> pd.DataFrame:
    table = evidence.table("risk_of_bias")
    return table[table["study_key"].isin(set(keys))]


def traffic_light(evidence: Evidence, keys, tool: str, title: str) -> FigureOutput | None:
    """One row per study, one column per domain of ``tool``, each cell a coloured symbol."""
    table = _judgements(evidence, keys)
    table = table[table["tool"] == tool]
    if table.empty:
        return None
    domains = DOMAINS[tool]
    studies = sorted(table["study_key"].unique(), key=lambda k: evidence.cite(k))
    labels = [short_label(evidence, k) for k in studies]
    columns = [short_domain(tool, d) for d in domains]
    fig = go.Figure()
    for judgement, (colour, symbol) in STYLE.items():
        chosen = table[table["judgement"] == judgement]
        if chosen.empty:
            continue
        fig.add_trace(go.Scatter(
            x=[short_domain(tool, d) for d in chosen["domain"]],
            y=[short_label(evidence, k) for k in chosen["study_key"]],
            mode="markers+text", text=[symbol] * len(chosen), textfont={"color": "white", "size": 13},
            marker={"color": colour, "size": 24, "line": {"color": "white", "width": 1}},
            name=JUDGEMENT_LABELS[judgement],
            customdata=[[DOMAIN_LABELS[d], s] for d, s in zip(chosen["domain"], chosen["support"], strict=True)],
            hovertemplate="%{y}<br>%{customdata[0]}: " + JUDGEMENT_LABELS[judgement]
                          + "<br>%{customdata[1]}<extra></extra>",
        ))
    styled(fig, title=title, height=150 + 32 * len(studies))
    fig.update_xaxes(categoryorder="array", categoryarray=columns, side="top", showgrid=False, showline=False)
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)), showgrid=False, showline=False)
    fig.update_layout(margin={"t": 110})
    fig.update_xaxes(tickangle=-35)
    legend_below(fig, len(fig.data))
    legend = "; ".join(f"{d}: {DOMAIN_LABELS[name]}" for d, name in zip(columns, domains, strict=True))
    counts = table[table["domain"] == "overall"]["judgement"].value_counts()
    return show(
        fig,
        alt=f"Traffic-light chart of risk of bias for {len(studies)} studies: one row per study, one column per "
            f"domain. Overall: " + ", ".join(f"{n} {JUDGEMENT_LABELS[j].lower()}" for j, n in counts.items()) + ".",
        caption=f"{legend}. + low, − some concerns (RoB 2) or moderate (ROBINS-I), × high or serious, ! critical, "
                "? no information. Judged only from what was read, mostly abstracts: 'no information' is common "
                "and honest. Hover for the words each judgement rests on.",
        source="data/risk_of_bias.csv",
    )


def summary_bars(evidence: Evidence, keys, tool: str, title: str) -> FigureOutput | None:
    """Per domain, the share of studies with each judgement (unweighted, as robvis draws it by default)."""
    table = _judgements(evidence, keys)
    table = table[table["tool"] == tool]
    if table.empty:
        return None
    domains = DOMAINS[tool]
    fig = go.Figure()
    for judgement, (colour, _symbol) in STYLE.items():
        shares = []
        for domain in domains:
            rows = table[table["domain"] == domain]
            shares.append(100 * (rows["judgement"] == judgement).sum() / max(1, len(rows)))
        if not any(shares):
            continue
        fig.add_trace(go.Bar(y=[f"{short_domain(tool, d)} {BAR_NAMES[d]}" if d != "overall" else "Overall"
                                for d in domains], x=shares, orientation="h", marker_color=colour,
                             name=JUDGEMENT_LABELS[judgement],
                             hovertemplate="%{y}: %{x:.0f}% of studies<extra>" + JUDGEMENT_LABELS[judgement]
                                           + "</extra>"))
    styled(fig, title=title, x_title="Studies (%)", height=160 + 34 * len(domains))
    fig.update_layout(barmode="stack")
    legend_below(fig, len(fig.data))
    fig.update_yaxes(categoryorder="array", categoryarray=[f"{short_domain(tool, d)} {BAR_NAMES[d]}"
                                                           if d != "overall" else "Overall" for d in reversed(domains)])
    fig.update_xaxes(range=[0, 100])
    return show(fig, alt=f"Stacked bar chart of the share of studies judged at each level of risk of bias, per "
                         f"domain, for {table['study_key'].nunique()} studies.",
                caption="Share of studies at each judgement, per domain (each study counts once). "
                        + "; ".join(f"{short_domain(tool, d)}: {DOMAIN_LABELS[d]}" for d in domains if d != "overall")
                        + ".",
                source="data/risk_of_bias.csv")


def risk_of_bias_figures(evidence: Evidence, keys, scope: str) -> list[FigureOutput]:
    """Traffic lights and summary bars for the randomized and the non-randomized controlled studies."""
    outputs = []
    for tool, heading in TOOL_TITLES.items():
        light = traffic_light(evidence, keys, tool, f"{scope}: risk of bias, {heading}")
        if light is not None:
            outputs.append(light)
            outputs.append(summary_bars(evidence, keys, tool, f"{scope}: risk of bias by domain, {heading}"))
    return outputs
