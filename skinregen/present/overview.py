"""Whole-database views: the evidence map, the timeline, the PRISMA-style flow and the safety overview."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from .figures import COLORWAY, TICK_LABEL_PX_PER_CHAR, FigureOutput, legend_below, show, styled
from .tables import HtmlCell, InteractiveTable, interactive_table

# Strongest design first; the evidence map colours each cell by the strongest design in it.
DESIGN_RANK = ["rct", "randomized_split_body", "nonrandomized_controlled", "single_arm_trial", "case_series"]


def _labelled_studies(evidence: Evidence) -> pd.DataFrame:
    studies = evidence.studies.copy()
    for column, vocabulary in (("condition", "conditions"), ("design", "designs"), ("product_type", "product_types")):
        studies[f"{column}_label"] = studies[column].map(evidence.vocabulary(vocabulary)["label"])
    return studies


def counts_with_names(frame: pd.DataFrame, by: str, order: list, names: pd.Series, *,
                      sort: bool = True) -> tuple[list[int], list[str]]:
    """Rows of ``frame`` per value of ``by`` (in ``order``, 0 where absent) and their ``names`` joined for hover."""
    grouped = names.groupby(frame[by])
    counts = grouped.size().reindex(order, fill_value=0).astype(int).tolist()
    joined = grouped.apply(lambda part: "<br>".join(sorted(part) if sort else part))
    return counts, joined.reindex(order, fill_value="").tolist()


def _cells(studies: pd.DataFrame, label_column: str, cite) -> pd.DataFrame:
    """One row per (condition, column value): participants, studies, strongest design and the study list."""
    records = []
    for (condition, value), group in studies.groupby(["condition_label", label_column], sort=True):
        ranks = group["design"].map(DESIGN_RANK.index)
        best = group.loc[ranks.idxmin()]
        records.append({
            "condition": condition, "x": value, "studies": len(group),
            "participants": int(group["n_enrolled"].sum()), "best_design": best["design_label"],
            "best_rank": int(ranks.min()),
            "list": "<br>".join(f"{cite(k)} (n = {'?' if pd.isna(n) else int(n)})" for k, n in
                                zip(group["key"], group["n_enrolled"], strict=True)),
        })
    return pd.DataFrame(records)


def evidence_map(evidence: Evidence) -> FigureOutput:
    """Condition × product type (switchable to × mechanism): bubble = participants, colour = strongest design."""
    studies = _labelled_studies(evidence)
    mechanisms = evidence.study_mechanisms.merge(studies, left_on="study_key", right_on="key")
    mechanisms["mechanism_label"] = mechanisms["mechanism"].map(evidence.vocabulary("mechanisms")["label"])
    views = {
        "Product type": _cells(studies, "product_type_label", evidence.cite),
        "Mechanism measured": _cells(mechanisms, "mechanism_label", evidence.cite),
    }
    design_labels = [evidence.label("designs", d) for d in DESIGN_RANK]
    biggest = max(int(cells["participants"].max() or 1) for cells in views.values())
    fig = go.Figure()
    visibility = {}
    for view_index, (view, cells) in enumerate(views.items()):
        for rank, design in enumerate(design_labels):
            part = cells[cells["best_rank"] == rank]
            if part.empty:
                continue
            visibility.setdefault(view, []).append(len(fig.data))
            fig.add_trace(go.Scatter(
                x=part["x"].tolist(), y=part["condition"].tolist(), mode="markers", name=design,
                legendgroup=design, showlegend=True, visible=view_index == 0,
                marker={"color": COLORWAY[rank], "sizemode": "area", "sizeref": 2.0 * biggest / 40**2,
                        "size": [max(p, 1) for p in part["participants"]], "sizemin": 5,
                        "line": {"color": "#333333", "width": 0.5}},
                customdata=part[["studies", "participants", "list"]].values.tolist(),
                hovertemplate="<b>%{y}</b> × %{x}<br>%{customdata[0]} studies, %{customdata[1]} participants<br>"
                              "%{customdata[2]}<extra>strongest design: " + design + "</extra>",
            ))
    buttons = []
    for view, indices in visibility.items():
        mask = [i in indices for i in range(len(fig.data))]
        buttons.append({"label": f"× {view.lower()}", "method": "update",
                        "args": [{"visible": mask}, {"xaxis.title.text": view}]})
    styled(fig, title="Evidence map: where the human studies are", x_title="Product type", y_title="",
           height=560)
    fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 1, "xanchor": "right",
                                    "y": 1.12, "yanchor": "bottom", "showactive": True}],
                      legend_title_text="Strongest design")
    fig.update_xaxes(tickangle=-35)
    longest = max(len(str(x)) for cells in views.values() for x in cells["x"])
    legend_below(fig, len(design_labels), title=True, tick_room=int(TICK_LABEL_PX_PER_CHAR * longest * 0.58))
    return show(
        fig,
        alt=f"Bubble matrix of {len(studies)} studies: conditions down the side, product types (or, with the "
        "menu, mechanisms measured) across; bubble area is participants enrolled and colour the strongest design.",
        caption="Each bubble is one condition and product type (or mechanism). Its area is the number of people "
        "enrolled, its colour the strongest study design among its studies; hover for the list of studies. "
        "A study tagged with several mechanisms appears in several mechanism columns.",
        source="data/studies.csv, data/study_mechanisms.csv",
    )


def timeline(evidence: Evidence) -> FigureOutput:
    """Studies per publication year, stacked by design."""
    studies = _labelled_studies(evidence)
    years = list(range(int(studies["year"].min()), int(studies["year"].max()) + 1))
    fig = go.Figure()
    for rank, design in enumerate(DESIGN_RANK):
        chosen = studies[studies["design"] == design]
        if chosen.empty:
            continue
        counts, names = counts_with_names(chosen, "year", years, chosen["key"].map(evidence.cite))
        fig.add_trace(go.Bar(x=years, y=counts, name=evidence.label("designs", design),
                             marker_color=COLORWAY[rank], customdata=names,
                             hovertemplate="%{x}: %{y} studies<br>%{customdata}<extra>%{fullData.name}</extra>"))
    styled(fig, title="Human studies by year of publication and design", x_title="Year of publication",
           y_title="Studies (count)", height=420)
    fig.update_layout(barmode="stack")
    legend_below(fig, len(fig.data))
    return show(
        fig,
        alt=f"Stacked bar chart of {len(studies)} studies by publication year from {years[0]} to {years[-1]}, "
        "coloured by design.",
        caption="Number of studies in the data published each year, by design. Hover for the studies.",
        source="data/studies.csv",
    )


def flow_counts(evidence: Evidence) -> dict[str, int]:
    """PRISMA-style counts, computed from the screening log, the reports and the studies."""
    screening = evidence.table("screening")
    reports = evidence.reports
    excluded = screening[screening["decision"] == "excluded"]
    return {
        "records assessed": len(screening) + len(reports),
        "records excluded": len(excluded),
        **{f"excluded: {reason.replace('_', ' ')}": int(count)
           for reason, count in excluded["reason_category"].value_counts().sort_index().items()},
        "records awaiting classification": int((screening["decision"] == "awaiting_classification").sum()),
        "reports included": len(reports),
        "studies included": len(evidence.studies),
        "randomized studies included": int(evidence.studies["randomized"].sum()),
        "outcome rows": len(evidence.outcomes),
        "adverse-event rows": len(evidence.adverse_events),
    }


def flow_figure(evidence: Evidence) -> FigureOutput:
    """The PRISMA-style flow as a horizontal funnel of counts."""
    counts = flow_counts(evidence)
    stages = [("Records assessed", counts["records assessed"]),
              ("Excluded (reasons in the table below)", counts["records excluded"]),
              ("Awaiting classification", counts["records awaiting classification"]),
              ("Reports included", counts["reports included"]),
              ("Studies included (a trial with several reports counts once)", counts["studies included"]),
              ("Randomized studies included", counts["randomized studies included"])]
    fig = go.Figure(go.Bar(
        x=[n for _, n in stages], y=[name for name, _ in stages], orientation="h", text=[n for _, n in stages],
        textposition="outside", marker_color=[COLORWAY[4], COLORWAY[3], COLORWAY[1], COLORWAY[0], COLORWAY[0],
                                              COLORWAY[2]],
        hovertemplate="%{y}: %{x}<extra></extra>"))
    styled(fig, title="Flow of records into the evidence database", x_title="Records or studies (count)",
           y_title="", height=380)
    fig.update_yaxes(autorange="reversed")
    return show(
        fig,
        alt="Horizontal bar chart: " + "; ".join(f"{name} {n}" for name, n in stages) + ".",
        caption="Counts computed when the book is built from data/screening.csv, data/reports.csv and "
        "data/studies.csv; nothing in this figure is typed in by hand.",
        source="data/screening.csv, data/reports.csv, data/studies.csv",
    )


def flow_table(evidence: Evidence) -> InteractiveTable:
    counts = flow_counts(evidence)
    frame = pd.DataFrame({"Stage": list(counts), "Count": list(counts.values())})
    return interactive_table(frame, caption="PRISMA-style counts (computed from data/)", numeric_columns=["Count"])


def awaiting_table(evidence: Evidence) -> InteractiveTable:
    """Possibly eligible records not yet entered because their record or results could not be read in full."""
    screening = evidence.table("screening")
    waiting = screening[screening["decision"] == "awaiting_classification"][["record_no", "citation", "doi"]]
    frame = waiting.rename(columns={"record_no": "Record", "citation": "Record as identified", "doi": "DOI"})
    return interactive_table(frame, caption=f"Records awaiting classification ({len(frame)})", doi_column="DOI",
                             numeric_columns=["Record"], wide_columns=["Record as identified"])


def safety_status(evidence: Evidence) -> pd.DataFrame:
    """Per study, what its report says about safety, with serious events split by how the source judged them."""
    events = evidence.adverse_events
    rows = []
    for study in _labelled_studies(evidence).to_dict("records"):
        own = events[events["study_key"] == study["key"]]
        serious = own[own["serious"].fillna(False).astype(bool)]
        occurred = serious[(serious["n_with_event"].fillna(0) > 0) | serious["n_with_event"].isna()]
        occurred = occurred[~(occurred["n_with_event"] == 0)]
        if occurred["relatedness"].isin(["related", "possibly_related"]).any():
            status = SAFETY_ORDER[0]
        elif len(occurred) and (occurred["relatedness"] == "unrelated").all():
            status = SAFETY_ORDER[1]
        elif len(occurred):
            status = SAFETY_ORDER[2]
        elif len(serious) and (serious["n_with_event"] == 0).all():
            status = SAFETY_ORDER[4]
        elif len(own):
            status = SAFETY_ORDER[3]
        else:
            status = SAFETY_ORDER[5]
        rows.append({"key": study["key"], "label": evidence.cite(study["key"]), "condition": study["condition_label"],
                     "status": status, "n_enrolled": study["n_enrolled"], "product": study["product_type_label"]})
    return pd.DataFrame(rows)


SAFETY_ORDER = ["serious events judged related to the treatment", "serious events, none judged related",
                "serious events, relatedness not stated", "adverse events described, none stated as serious",
                "no serious events (stated)", "safety not reported in the text read"]
SAFETY_COLOURS = [COLORWAY[3], COLORWAY[4], COLORWAY[1], COLORWAY[5], COLORWAY[2], "#BBBBBB"]


def safety_figure(evidence: Evidence) -> FigureOutput:
    status = safety_status(evidence)
    conditions = sorted(status["condition"].unique())
    fig = go.Figure()
    for index, kind in enumerate(SAFETY_ORDER):
        chosen = status[status["status"] == kind]
        counts, names = counts_with_names(chosen, "condition", conditions, chosen["label"])
        fig.add_trace(go.Bar(y=conditions, x=counts, orientation="h", name=kind,
                             marker_color=SAFETY_COLOURS[index], customdata=names,
                             hovertemplate="%{y}: %{x} studies<br>%{customdata}<extra>" + kind + "</extra>"))
    styled(fig, title="What each study's report says about safety", x_title="Studies (count)", y_title="",
           height=max(420, 160 + 34 * len(conditions)))
    fig.update_layout(barmode="stack")
    legend_below(fig, len(SAFETY_ORDER))
    related = int((status["status"] == SAFETY_ORDER[0]).sum())
    return show(
        fig,
        alt="Stacked horizontal bar chart, one bar per condition, counting studies by what their report says about "
        f"safety: serious events judged related to treatment ({related} studies), serious events judged unrelated, "
        "serious events without a judgement, only non-serious events, explicitly no serious events, or nothing.",
        caption="Studies by what the report read says about adverse events. Serious events judged related to the "
        "treatment are kept apart from those the authors judged unrelated and from those without a judgement. "
        "'Not reported' means the text read did not mention safety, not that no events occurred.",
        source="data/adverse_events.csv",
    )


def serious_events_table(evidence: Evidence) -> InteractiveTable:
    """Every serious event and every death in the data: study, product, count, denominator, relatedness, where read."""
    events = evidence.adverse_events.merge(
        evidence.studies[["key", "condition", "product_type"]], left_on="study_key", right_on="key")
    death = events["event"].str.contains("death|mortality|died|fatal", case=False, na=False)
    chosen = events[(events["serious"].fillna(False).astype(bool) | death) & ~(events["n_with_event"] == 0)]
    frame = pd.DataFrame({
        "Study": [HtmlCell(evidence.cite_html(k)) for k in chosen["study_key"]],
        "Product": chosen["product_type"].map(evidence.vocabulary("product_types")["label"]).tolist(),
        "Event": chosen["event"].tolist(),
        "Count": [_count_text(n, t, u) for n, t, u in zip(chosen["n_with_event"], chosen["n_total"],
                                                         chosen["count_unit"], strict=True)],
        "Judged related?": chosen["relatedness"].map(RELATEDNESS_LABELS).tolist(),
        "Read in": chosen["source_location"].tolist(),
        "Description": chosen["description"].tolist(),
    })
    return interactive_table(frame, caption=f"Every serious adverse event and every death in the data ({len(frame)} "
                             "rows)", doi_column=None, numeric_columns=[], wide_columns=["Description"])


RELATEDNESS_LABELS = {"related": "related", "possibly_related": "possibly related", "unrelated": "not related",
                      "not_stated": "not stated"}


def _count_text(n, total, unit) -> str:
    if pd.isna(n):
        return "count not printed" + (f" (of {int(total)})" if not pd.isna(total) else "")
    what = {"events": " events", "people": " people"}.get(unit, "")
    return f"{int(n)}{what}" + (f" of {int(total)}" if not pd.isna(total) else "")


def adverse_event_table(evidence: Evidence) -> InteractiveTable:
    events = evidence.adverse_events.merge(
        evidence.studies[["key", "condition", "product_type"]], left_on="study_key", right_on="key")
    events["Condition"] = events["condition"].map(evidence.vocabulary("conditions")["label"])
    events["Product"] = events["product_type"].map(evidence.vocabulary("product_types")["label"])
    events["Count"] = [_count_text(n, t, u) for n, t, u in zip(events["n_with_event"], events["n_total"],
                                                               events["count_unit"], strict=True)]
    events["Serious"] = events["serious"].map({True: "yes", False: "no"}).fillna("not stated")
    events["Related"] = events["relatedness"].map(RELATEDNESS_LABELS)
    events["Study"] = [HtmlCell(evidence.cite_html(k)) for k in events["study_key"]]
    frame = events[["Study", "Condition", "Product", "event", "arm", "Count", "Serious", "Related",
                    "description"]].rename(columns={"event": "Event", "arm": "Arm", "description": "Description"})
    return interactive_table(frame, caption=f"Adverse-event findings as reported ({len(frame)} rows)",
                             wide_columns=["Description", "Event"])


RATING_LABELS = {
    "supported": "supported", "supported_by_one_small_trial": "supported by one small trial",
    "uncontrolled_evidence_only": "uncontrolled evidence only", "partly_supported": "partly supported",
    "not_supported": "not supported", "contradicted": "contradicted by the evidence",
    "no_human_evidence": "no human evidence in the data", "not_assessable": "cannot be checked with the data",
}


RATING_ORDER = ["supported", "supported_by_one_small_trial", "partly_supported", "uncontrolled_evidence_only",
                "not_supported", "contradicted", "no_human_evidence", "not_assessable"]


def _article_label(seeds: pd.DataFrame, seed: str) -> str:
    row = seeds.loc[seed]
    title = row["title"] if isinstance(row["title"], str) and row["title"] else "(untitled page)"
    return f"{seed}: {title}"


def articles_table(evidence: Evidence) -> InteractiveTable:
    """The five patient-facing articles: title as printed and what kind of article each is."""
    seeds = evidence.table("seeds")
    claims = evidence.table("claims")
    frame = pd.DataFrame({
        "Article": seeds["seed"],
        "Title as printed": seeds["title"].fillna("(no title printed)"),
        "Kind of article": seeds["article_type"],
        "Claims checked": [int((claims["seed"] == s).sum()) for s in seeds["seed"]],
        "What it prints about itself": seeds["note"],
    })
    return interactive_table(frame, caption="The articles whose claims are checked", doi_column=None,
                             numeric_columns=["Claims checked"], wide_columns=["What it prints about itself"])


def claims_figure(evidence: Evidence) -> FigureOutput:
    """Claims by rating, one bar per article."""
    claims = evidence.table("claims")
    seeds = evidence.table("seeds").set_index("seed")
    articles = sorted(claims["seed"].unique())
    labels = [_article_label(seeds, s)[:60] for s in articles]
    fig = go.Figure()
    colours = [COLORWAY[2], COLORWAY[4], COLORWAY[1], COLORWAY[5], COLORWAY[3], "#000000", "#999999", "#DDDDDD"]
    for rating, colour in zip(RATING_ORDER, colours, strict=True):
        counts = [int(((claims["seed"] == s) & (claims["rating"] == rating)).sum()) for s in articles]
        if not any(counts):
            continue
        fig.add_trace(go.Bar(y=labels, x=counts, orientation="h", name=RATING_LABELS[rating], marker_color=colour,
                             hovertemplate="%{y}<br>%{x} claims<extra>" + RATING_LABELS[rating] + "</extra>"))
    styled(fig, title="Claims of the patient-facing articles, by rating", x_title="Claims (count)",
           height=200 + 50 * len(articles))
    fig.update_layout(barmode="stack")
    legend_below(fig, len(fig.data))
    fig.update_yaxes(autorange="reversed")
    totals = claims["rating"].value_counts()
    return show(
        fig,
        alt=f"Stacked bar chart of {len(claims)} claims from {len(articles)} articles by rating: "
            + ", ".join(f"{int(totals.get(r, 0))} {RATING_LABELS[r]}" for r in RATING_ORDER if totals.get(r, 0)) + ".",
        caption="Each claim counted once, by the rating of the human evidence in the data for it.",
        source="data/claims.csv, data/seeds.csv",
    )


def claims_table(evidence: Evidence) -> InteractiveTable:
    """Claims from patient-facing articles, their citations, and the evidence in the data."""
    claims = evidence.table("claims")
    frame = pd.DataFrame({
        "No.": claims["claim_no"],
        "Article": claims["seed"],
        "Claim": claims["claim"],
        "Rating": claims["rating"].map(RATING_LABELS),
        "Cited as": claims["cited_as"].fillna("(no citation)"),
        "Citation fits the claim": claims["citation_matches_claim"].map(
            {"yes": "yes", "no": "no", "not_cited": "not cited"}),
        "Evidence in the data": [HtmlCell(", ".join(evidence.cite_html(k.strip()) for k in str(keys).split(";")
                                                    if k.strip())) if isinstance(keys, str) else ""
                                 for keys in claims["evidence_keys"]],
        "Assessment": claims["assessment"],
    })
    return interactive_table(frame, caption=f"Claims checked ({len(frame)})", doi_column=None,
                             numeric_columns=["No."], wide_columns=["Claim", "Assessment"])
