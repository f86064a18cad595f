"""One figure style for the whole book, and plotly output that works in the static site and in Jupyter.

Why not ``fig.show()``: with plotly >= 6 under myst-nb the default renderer emits no HTML (figures vanish),
and the 'notebook' renderer embeds all of plotly.js (about 4.8 MB) in every page. :func:`show` instead
displays plotly's own mimetype (drawn natively by JupyterLab's plotly extension, e.g. in Binder) plus a
plain-text summary of the numbers (what nbval compares). In the static site, :mod:`skinregen.site.mystnb_plotly`
turns that mimetype into a small ``<div>`` with the figure's data and layout; pages with figures load plotly.js
from ``_static`` (see :mod:`skinregen.site.sphinx_ext`).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
from dataclasses import dataclass

import plotly.graph_objects as go

# Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORWAY = [PALETTE[name] for name in ("blue", "orange", "green", "vermillion", "sky", "purple", "black")]
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=COLORWAY,
        font={"family": FONT_FAMILY, "size": 13, "color": "#222222"},
        title={"x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 16}},
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 90, "b": 60},
        hoverlabel={"align": "left"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "xanchor": "left"},
        xaxis={"showline": True, "linecolor": "#444444", "gridcolor": "#e5e5e5", "zeroline": False,
               "automargin": True},
        yaxis={"showline": True, "linecolor": "#444444", "gridcolor": "#e5e5e5", "zeroline": False,
               "automargin": True},
    )
)
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
SIGNIFICANT_DIGITS = 6
# bench/ sets this to "notebook" to build the naive set-up (plotly.js inlined in the pages) for comparison.
NAIVE_RENDERER_VARIABLE = "SKINREGEN_BENCH_NAIVE_RENDERER"
_naive_plotly_embedded = False


def styled(fig: go.Figure, *, title: str, x_title: str | None = None, y_title: str | None = None,
           height: int = 450) -> go.Figure:
    """Apply the book's style, a title and axis titles (say the unit in the axis title)."""
    fig.update_layout(template=TEMPLATE, title_text=title, height=height)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


LEGEND_ROW_PX = 22


def legend_below(fig: go.Figure, items: int, *, title: bool = False, tick_room: int = 0) -> go.Figure:
    """Put the legend at the bottom of the figure, under the x-axis title, with room for one item per line.

    The legend is placed against the figure's container (``yref="container"``), not the plot area, and the
    bottom margin holds the tick labels, the axis title and the worst case of a phone, where every item wraps
    onto its own line; so the legend never sits on the axis title or the tick labels, at any width.
    """
    rows = items + (1 if title else 0)
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0,
                              "xanchor": "left"},
                      margin={"b": 80 + tick_room + LEGEND_ROW_PX * rows})
    fig.update_layout(height=(fig.layout.height or 450) + tick_room + LEGEND_ROW_PX * rows)
    # The margin is sized here, so plotly must not grow it again for the tick labels (it would push the plot
    # into the legend).
    fig.update_xaxes(automargin=False)
    return fig


# Width of one character of a 13 px tick label, rounded up from the widest seen (about 6.9 px in Chromium).
TICK_LABEL_PX_PER_CHAR = 7.2


def _plain(value):
    """Turn numpy and pandas values into plain JSON values; round floats so outputs are small and stable."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "item"):
        return _plain(value.item())
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    return str(value)


def figure_spec(fig: go.Figure) -> dict:
    """The figure's data and layout as plain JSON-ready values (no base64 arrays)."""
    spec = fig.to_plotly_json()
    return {"data": _plain(spec.get("data", [])), "layout": _plain(spec.get("layout", {}))}


def _script_safe_json(value) -> str:
    """JSON that cannot close the surrounding <script> element or open a comment."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _text_summary(spec: dict, title: str) -> str:
    """A plain-text view of the figure's numbers: what nbval compares and shows in a readable diff."""
    lines = [f"Figure: {title}"]
    for trace in spec["data"]:
        name = trace.get("name") or trace.get("type", "trace")
        parts = [f"{axis}={trace[axis]}" for axis in ("x", "y", "z") if axis in trace]
        lines.append(f"  {trace.get('type', 'scatter')} {name}: " + "; ".join(parts))
    return "\n".join(lines)


def figure_html(spec: dict, *, alt: str, caption: str, source: str) -> str:
    """The HTML of one figure in the static site: a div, its data and layout, and a caption.

    plotly.js itself is not included: the site loads it once from ``_static``. Text is escaped and the JSON
    is made safe to sit inside a ``<script>`` element.
    """
    height = (spec.get("layout") or {}).get("height") or 450
    digest = hashlib.sha1(_script_safe_json(spec).encode("utf-8")).hexdigest()[:12]
    div_id = f"fig-{digest}"
    return (
        f'<figure class="skinregen-figure">\n'
        f'<div id="{div_id}" class="plotly-graph-div" role="figure" aria-label="{html.escape(alt, quote=True)}" '
        f'style="height:{int(height)}px; width:100%;"></div>\n'
        f'<script type="text/javascript">\n'
        f"(function () {{\n"
        f'  var el = document.getElementById("{div_id}");\n'
        f"  var spec = {_script_safe_json(spec)};\n"
        f"  if (window.Plotly) {{ window.Plotly.newPlot(el, spec.data, spec.layout, spec.config); }}\n"
        f'  else {{ el.textContent = "The interactive figure needs plotly.js, which this page did not load."; }}\n'
        f"}})();\n"
        f"</script>\n"
        f'<figcaption>{html.escape(caption)} <span class="skinregen-source">Source: '
        f"{html.escape(source)}</span></figcaption>\n"
        f"</figure>"
    )


@dataclass
class FigureOutput:
    """What a notebook cell displays: the figure, its caption, its source and its accessible description."""

    figure: go.Figure
    alt: str
    caption: str
    source: str

    @property
    def spec(self) -> dict:
        return figure_spec(self.figure)

    @property
    def title(self) -> str:
        text = self.figure.layout.title.text
        return str(text) if text else "untitled figure"

    def _repr_mimebundle_(self, include=None, exclude=None):
        if os.environ.get(NAIVE_RENDERER_VARIABLE) == "notebook":
            return self._naive_mimebundle()
        spec = self.spec
        data = {"text/plain": _text_summary(spec, self.title), PLOTLY_MIMETYPE: {**spec, "config": PLOTLY_CONFIG}}
        metadata = {PLOTLY_MIMETYPE: {"alt": self.alt, "caption": self.caption, "source": self.source}}
        return data, metadata

    def _naive_mimebundle(self):
        """What plotly's 'notebook' renderer would store: HTML with plotly.js inlined on the first figure of
        each page (kernel). Only for bench/ (the naive set-up the book is compared with); never for the site."""
        global _naive_plotly_embedded
        import plotly.io as pio

        markup = pio.to_html(self.figure, include_plotlyjs=not _naive_plotly_embedded, full_html=False,
                             config=PLOTLY_CONFIG)
        _naive_plotly_embedded = True
        return {"text/html": markup, "text/plain": _text_summary(self.spec, self.title)}, {}

    def __repr__(self) -> str:
        return _text_summary(self.spec, self.title)


def show(fig: go.Figure, *, alt: str, caption: str, source: str = "data/ of this book") -> FigureOutput:
    """Display ``fig`` in the book's way. ``alt`` describes the figure for screen readers."""
    if not alt.strip():
        raise ValueError("every figure needs an alt description for screen readers")
    return FigureOutput(figure=fig, alt=alt, caption=caption, source=source)
