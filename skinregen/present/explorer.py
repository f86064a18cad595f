"""An ipywidgets explorer of the studies: filters update a figure and a table together.

In Jupyter (and Binder) the widget is live. The static site has no kernel, so the same output also carries an
HTML rendering of the explorer's default view (all studies), and the book's myst-nb plugin gives the widget
mimetype no priority in HTML builds: readers of the site see the default figure and table, never an empty
widget.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..data.evidence import Evidence
from .figures import COLORWAY, figure_html, figure_spec, legend_below, show, styled
from .overview import DESIGN_RANK
from .tables import interactive_table

ALL = "(all)"


def filter_studies(studies: pd.DataFrame, *, condition=ALL, product_type=ALL, cell_source=ALL, design=ALL,
                   years=(None, None), min_n=0) -> pd.DataFrame:
    chosen = studies
    for column, value in (("condition", condition), ("product_type", product_type), ("cell_source", cell_source),
                          ("design", design)):
        if value != ALL:
            chosen = chosen[chosen[column] == value]
    low, high = years
    if low is not None:
        chosen = chosen[chosen["year"] >= low]
    if high is not None:
        chosen = chosen[chosen["year"] <= high]
    if min_n:
        chosen = chosen[chosen["n_enrolled"].fillna(0) >= min_n]
    return chosen


def explorer_figure(evidence: Evidence, studies: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for rank, design in enumerate(DESIGN_RANK):
        part = studies[(studies["design"] == design) & studies["n_enrolled"].notna()]
        fig.add_trace(go.Scatter(
            x=part["year"].astype(int).tolist(), y=part["n_enrolled"].astype(int).tolist(), mode="markers",
            name=evidence.label("designs", design), marker={"color": COLORWAY[rank], "size": 10},
            text=[evidence.cite(k) for k in part["key"]],
            hovertemplate="%{text}<br>n = %{y}<extra>%{fullData.name}</extra>"))
    styled(fig, title=f"{len(studies)} studies: size by year and design", x_title="Year of publication",
           y_title="Participants enrolled (people, log scale)", height=420)
    # Powers of ten only: plotly's default log ticks add bare "2" and "5" between them.
    fig.update_yaxes(type="log", dtick=1)
    legend_below(fig, len(DESIGN_RANK))
    return fig


def explorer_table(evidence: Evidence, studies: pd.DataFrame):
    from .views import _with_labels

    frame = _with_labels(evidence, studies)
    frame["condition_label"] = frame["condition"].map(evidence.vocabulary("conditions")["label"])
    frame = frame.assign(label=frame["key"].map(evidence.cite)).sort_values(["year", "label"], ascending=[False, True])
    shown = pd.DataFrame({
        # plain labels: this table also lives inside the widget's state, where the site's link rewriting
        # does not reach
        "Study": [evidence.cite(k) for k in frame["key"]],
        "Condition": frame["condition_label"].tolist(),
        "Design": frame["design_label"].tolist(),
        "n": frame["n_enrolled"].tolist(),
        "Product": frame["product_label"].tolist(),
    })
    return interactive_table(shown, caption=f"Studies matching the filters ({len(shown)})", doi_column=None,
                             numeric_columns=["n"])


class Explorer:
    """Filters for condition, product type, cell source, design, year range and minimum n."""

    def __init__(self, evidence: Evidence):
        self.evidence = evidence
        self.studies = evidence.studies
        self._widget = None

    def _options(self, column: str, vocabulary: str):
        present = sorted(self.studies[column].dropna().unique())
        return [(ALL, ALL)] + [(self.evidence.label(vocabulary, term), term) for term in present]

    def build(self):
        import ipywidgets as w

        years = (int(self.studies["year"].min()), int(self.studies["year"].max()))
        controls = {
            "condition": w.Dropdown(options=self._options("condition", "conditions"), description="Condition"),
            "product_type": w.Dropdown(options=self._options("product_type", "product_types"), description="Product"),
            "cell_source": w.Dropdown(options=self._options("cell_source", "cell_sources"), description="Cells from"),
            "design": w.Dropdown(options=self._options("design", "designs"), description="Design"),
            # wide enough for its readout ("1996 – 2026"), which the default width cuts off
            "years": w.IntRangeSlider(value=years, min=years[0], max=years[1], description="Years",
                                      layout=w.Layout(width="100%", max_width="520px")),
            "min_n": w.IntSlider(value=0, min=0, max=200, step=5, description="Minimum n"),
        }
        # The figure is redrawn in an Output widget with the book's plotly output (drawn natively by JupyterLab),
        # so the explorer needs no FigureWidget (which would need the anywidget package).
        figure_output, table_output = w.Output(), w.Output()

        def update(_change=None):
            chosen = filter_studies(self.studies, **{name: c.value for name, c in controls.items()})
            # Set the Output widgets' contents directly (no display messages): the kernel then emits nothing
            # into the notebook cell itself, so the stored outputs stay what nbval compares.
            figure_output.outputs = ()
            figure_output.append_display_data(show(
                explorer_figure(self.evidence, chosen), alt="Scatter plot of study size against year, by design, "
                "for the studies matching the filters.", caption="Study size by year and design (studies matching "
                "the filters).", source="data/studies.csv"))
            table_output.outputs = ()
            table_output.append_display_data(explorer_table(self.evidence, chosen))

        for control in controls.values():
            control.observe(update, names="value")
        update()
        return w.VBox([w.HBox(list(controls.values())[:3]), w.HBox(list(controls.values())[3:]), figure_output,
                       table_output])

    def static_html(self) -> str:
        figure = explorer_figure(self.evidence, self.studies)
        note = ("<p class=\"skinregen-explorer-note\"><em>This is the explorer's default view (all studies). Open "
                "this page in Binder or Jupyter to filter by condition, product, cell source, design, years and "
                "minimum size.</em></p>")
        return (note + figure_html(figure_spec(figure), alt="Scatter plot of study size against year, by design.",
                                   caption="Study size by year and design (all studies).", source="data/studies.csv")
                + explorer_table(self.evidence, self.studies).to_html())

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"Explorer of {len(self.studies)} studies (default view: all studies)",
                  "text/html": self.static_html()}
        self._widget = self._widget or self.build()
        widget_bundle = self._widget._repr_mimebundle_()
        if isinstance(widget_bundle, tuple):
            widget_bundle = widget_bundle[0]
        for mime, content in (widget_bundle or {}).items():
            if mime != "text/plain":
                bundle[mime] = content
        return bundle


def explorer(evidence: Evidence) -> Explorer:
    return Explorer(evidence)
