"""myst-nb mime renderer: plotly figures in the static site without embedding plotly.js per page.

Registered in ``pyproject.toml`` under the ``myst_nb.mime_renderers`` entry point. For HTML builders it
gives plotly's mimetype priority over every other output, and renders it with
:func:`skinregen.present.figures.figure_html` (caption and alt text come from the output's metadata).
"""

from __future__ import annotations

import json

from docutils import nodes

from ..present.chapters import WIDGET_VIEW_MIMETYPE
from ..present.figures import PLOTLY_MIMETYPE, figure_html


class PlotlyMimeRenderer:
    # plotly's mimetype first; the ipywidgets view never (the site has no kernel and no saved widget state, so
    # an output's HTML fallback is shown instead; see skinregen.present.explorer).
    mime_priority_overrides = [
        (builder, PLOTLY_MIMETYPE, 1) for builder in ("html", "dirhtml", "singlehtml", "readthedocs")
    ] + [
        (builder, WIDGET_VIEW_MIMETYPE, None)
        for builder in ("html", "dirhtml", "singlehtml", "readthedocs")
    ]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != PLOTLY_MIMETYPE or inline:
            return None
        spec = data.content if isinstance(data.content, dict) else json.loads(data.content)
        meta = data.output_metadata.get(PLOTLY_MIMETYPE, {}) if data.output_metadata else {}
        title = ((spec.get("layout") or {}).get("title") or {}).get("text") or "Interactive figure"
        markup = figure_html(
            spec,
            alt=meta.get("alt") or str(title),
            caption=meta.get("caption") or "",
            source=meta.get("source") or "data/ of this book",
        )
        return [nodes.raw("", markup, format="html", classes=["output", "skinregen-plotly"])]
