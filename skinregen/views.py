"""Ready-made tables and figures that chapters display with one call each."""

from __future__ import annotations

import plotly.graph_objects as go

from .data import Evidence
from .figures import COLORWAY, FigureOutput, show, styled
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
    frame["condition_label"] = frame["condition"].map(evidence.vocabulary("conditions")["label"])
    follow = frame["follow_up"].astype("string").str.replace(r"\.0$", "", regex=True)
    frame["follow_up_text"] = (follow + " " + frame["follow_up_unit"]).fillna("")
    return frame


def study_table(evidence: Evidence, *, condition: str | None = None,
                mechanism: str | None = None) -> InteractiveTable:
    """The studies of a condition (or mechanism) as a sortable, filterable table."""
    studies = _with_labels(evidence, evidence.studies_for(condition=condition, mechanism=mechanism))
    frame = studies[list(STUDY_TABLE_COLUMNS)].rename(columns=STUDY_TABLE_COLUMNS)
    scope = evidence.label("conditions", condition) if condition else "all conditions"
    participants = int(studies["n_enrolled"].sum())
    return interactive_table(
        frame,
        caption=f"Human studies: {scope} ({len(frame)} studies, {participants} participants enrolled)",
        doi_column="DOI",
        numeric_columns=["Year", "n", "Evidence level"],
    )


def study_size_figure(evidence: Evidence, *, condition: str) -> FigureOutput:
    """Participants enrolled in each study of a condition, coloured by design."""
    studies = _with_labels(evidence, evidence.studies_for(condition=condition)).sort_values(["n_enrolled", "key"])
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
        caption=f"Participants enrolled in each human study of {label.lower()}, by design.",
        source="data/studies.csv",
    )
