"""Sphinx extension: ship plotly.js, the table script and the book's CSS from the site itself.

plotly.js is the partial "basic" bundle in ``assets/`` (the trace types the book draws; see its README),
loaded only by pages that hold a figure, from one URL the browser caches across pages. Each figure's output
carries only its data and layout (see :mod:`skinregen.present.figures`).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

ASSETS = Path(__file__).parent / "assets"
# Template overrides: static/webpack-macros.html leaves out the theme's fontawesome.js (see that file).
TEMPLATES = Path(__file__).parent / "templates"
PLOTLY_JS = "plotly-basic.min.js"
FIGURE_CLASS = "skinregen-plotly"
# Scripts left out of every page (see _page_scripts). The theme's fontawesome.js is written by a template macro,
# not through script_files; it is left out by the template override in templates/.
UNUSED_SCRIPTS = ("sphinx-thebe.js", "require.min.js", "@jupyter-widgets/html-manager")


def _add_static_paths(app, config) -> None:
    """Serve the book's assets as static files (Sphinx adds a ?v= digest to their URLs); add its templates."""
    config.html_static_path = [*config.html_static_path, str(ASSETS)]
    config.templates_path = [str(TEMPLATES), *config.templates_path]


def has_figure(doctree) -> bool:
    return doctree is not None and any(FIGURE_CLASS in node.get("classes", []) for node in doctree.findall(nodes.raw))


def _page_scripts(app, pagename, templatename, context, doctree) -> None:
    """plotly.js on pages with figures only; and none of the scripts this book does not use.

    Jupyter Book always loads sphinx-thebe: its inline configuration is added twice (a console error) and it
    points at a CDN. myst-nb adds require.js and the ipywidgets manager from CDNs to pages whose notebook
    stored widget state; the site never draws widgets (see skinregen.present.explorer), its outputs carry HTML
    fallbacks.
    """
    if has_figure(doctree):
        app.add_js_file(PLOTLY_JS, priority=400)  # called within html-page-context: for this page only
        _preload_plotly(context)
    scripts = context.get("script_files")
    if not scripts:
        return
    context["script_files"] = [
        script for script in scripts
        if not any(name in str(getattr(script, "filename", None) or script) for name in UNUSED_SCRIPTS)
        and "THEBE_JS_URL" not in str(getattr(script, "attributes", {}).get("body", ""))
    ]


def _preload_plotly(context) -> None:
    """Ask for plotly.js first, at high priority: it is the page's largest asset and the figures wait for it.

    The browser opens a few connections per host and would otherwise fetch it after the stylesheets. The
    preload URL is the script's own (with Sphinx's ?v= digest), so the one download serves both.
    """
    tag_of = context.get("js_tag")
    script = next((s for s in context.get("script_files", []) if PLOTLY_JS in str(getattr(s, "filename", s))), None)
    if tag_of is None or script is None:
        return
    match = re.search(r'src="([^"]+)"', tag_of(script))
    if match:
        preload = f'<link rel="preload" as="script" fetchpriority="high" href="{match.group(1)}" />\n'
        context["metatags"] = preload + context.get("metatags", "")


INCLUDED_KEYS_PLACEHOLDER = "{{included-study-keys}}"
BIBLIOGRAPHY_PAGE = "chapters/bibliography"


def included_study_keys(root: Path) -> list[str]:
    """Keys of the included studies and of their other reports (data/studies.csv, data/reports.csv)."""
    import csv

    keys = []
    for name, column in (("studies.csv", "key"), ("reports.csv", "report_key")):
        with open(root / "data" / name, newline="", encoding="utf-8-sig") as handle:
            keys += [row[column] for row in csv.DictReader(handle) if row.get(column)]
    return sorted(set(keys))


def _included_studies_filter(app, docname, source) -> None:
    """The bibliography page lists the included studies apart: its filter names them (from data/)."""
    if docname == BIBLIOGRAPHY_PAGE and INCLUDED_KEYS_PLACEHOLDER in source[0]:
        keys = "|".join(re.escape(key) for key in included_study_keys(Path(app.srcdir)))
        source[0] = source[0].replace(INCLUDED_KEYS_PLACEHOLDER, keys)


def _study_links(app, pagename, templatename, context, doctree) -> None:
    """Links written as skinregen-ref:<key> (skinregen.data.citations) point at the entry on the bibliography page."""
    body = context.get("body")
    if body and "skinregen-ref:" in body:
        target = context["pathto"](BIBLIOGRAPHY_PAGE) + "#ref-1-"
        # every occurrence: also links in HTML that an output carries escaped (the explorer's static view)
        body = context["body"] = body.replace("skinregen-ref:", target)
    if body and 'role="doc-biblioentry"' in body:
        # docutils puts role="list" on a citation list whose entries are role="doc-biblioentry" (a deprecated
        # role that is not a list item): axe-core reports the list as missing its required children.
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


DATA_ZIP = "skinregen-data.zip"


def _data_zip(app, exception) -> None:
    """The site's 'Download the data' file: data/ (the Frictionless package) and references.bib, zipped."""
    if exception is not None or app.builder.format != "html":
        return
    import zipfile

    root = Path(app.srcdir)
    with zipfile.ZipFile(Path(app.outdir) / DATA_ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((root / "data").rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(2026, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("references.bib", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, (root / "references.bib").read_bytes(), zipfile.ZIP_DEFLATED)


def setup(app):
    app.connect("build-finished", _data_zip)
    app.connect("config-inited", _add_static_paths)
    app.connect("source-read", _included_studies_filter)
    app.connect("html-page-context", _study_links)
    app.connect("html-page-context", _page_scripts)
    app.add_js_file("skinregen.js", priority=500)
    app.add_css_file("skinregen.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
