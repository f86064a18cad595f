"""Sphinx extension: ship plotly.js, the table script and the book's CSS once, from the site itself.

Every page then loads the same ``_static/plotly.min.js`` (cached by the browser after the first page), and
each figure's output carries only its data and layout (see :mod:`skinregen.figures`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly

ASSETS = Path(__file__).parent / "assets"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _add_static_paths(app, config) -> None:
    """Serve the book's assets and the installed plotly.js as static files (Sphinx adds a ?v= digest)."""
    vendored = Path(app.doctreedir) / "skinregen_static"
    vendored.mkdir(parents=True, exist_ok=True)
    target = vendored / "plotly.min.js"
    if not target.exists() or target.stat().st_size != PLOTLY_JS.stat().st_size:
        shutil.copyfile(PLOTLY_JS, target)
    config.html_static_path = [*config.html_static_path, str(ASSETS), str(vendored)]


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Jupyter Book always loads sphinx-thebe, which this book does not use: its inline configuration is
    added twice (a console error) and it points at a CDN. Leave it, and the widget scripts, out of every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    context["script_files"] = [
        script for script in scripts
        if not str(getattr(script, "filename", None) or script).endswith("sphinx-thebe.js")
        and "THEBE_JS_URL" not in str(getattr(script, "attributes", {}).get("body", ""))
        # myst-nb adds require.js and the ipywidgets HTML manager from CDNs to pages whose notebook stored
        # widget state. The site never draws widgets (see skinregen.explorer): its outputs carry HTML fallbacks.
        and not any(cdn in str(getattr(script, "filename", None) or script)
                    for cdn in ("require.min.js", "@jupyter-widgets/html-manager"))
    ]


def setup(app):
    app.connect("config-inited", _add_static_paths)
    app.connect("html-page-context", _drop_thebe_scripts)
    app.add_js_file("plotly.min.js", priority=400)
    app.add_js_file("skinregen.js", priority=500)
    app.add_css_file("skinregen.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
