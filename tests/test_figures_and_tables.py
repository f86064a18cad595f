"""Figures and tables: one style, accessible text, and text from the data reaches the page escaped."""

from __future__ import annotations

import re

import plotly.graph_objects as go
from csvedit import read_rows, write_rows

import skinregen
from skinregen.present import views
from skinregen.present.figures import COLORWAY, PLOTLY_MIMETYPE, figure_html, show, styled
from skinregen.present.tables import interactive_table

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_table_escapes_text_and_links_dois():
    import pandas as pd

    table = interactive_table(pd.DataFrame({"Study": [EVIL], "DOI": ["10.1000/a<b"]}), caption=EVIL,
                              doi_column="DOI")
    markup = table.to_html()
    assert "<script>" not in markup and "<img" not in markup
    assert "&lt;script&gt;" in markup
    assert 'href="https://doi.org/10.1000/a%3Cb"' in markup


def test_figure_html_cannot_break_out_of_its_script_or_attributes():
    fig = styled(go.Figure(go.Bar(x=[1], y=[EVIL], name=EVIL)), title=EVIL)
    output = show(fig, alt=EVIL, caption=EVIL, source=EVIL)
    markup = figure_html(output.spec, alt=output.alt, caption=output.caption, source=output.source)
    assert markup.count("<script") == 1 and markup.count("</script>") == 1
    assert "<img" not in markup
    assert 'aria-label="&lt;script&gt;' in markup


def test_figure_output_carries_plotly_json_caption_alt_and_a_text_summary():
    fig = styled(go.Figure(go.Bar(x=[3, 4], y=["a", "b"], name="n")), title="T", x_title="People")
    data, metadata = show(fig, alt="A bar chart", caption="C", source="S")._repr_mimebundle_()
    assert data[PLOTLY_MIMETYPE]["data"][0]["x"] == [3, 4]  # plain numbers, not base64
    assert metadata[PLOTLY_MIMETYPE] == {"alt": "A bar chart", "caption": "C", "source": "S"}
    assert "x=[3, 4]" in data["text/plain"]


def test_every_figure_uses_the_colour_blind_safe_palette():
    fig = styled(go.Figure(), title="T")
    assert list(fig.layout.template.layout.colorway) == COLORWAY


def test_a_script_in_the_data_renders_as_text_in_a_chapter_table(book_copy):
    fields, rows = read_rows(book_copy, "studies")
    condition = rows[0]["condition"]
    rows[0]["main_result"] = EVIL
    write_rows(book_copy, "studies", fields, rows)
    evidence = skinregen.load(book_copy)
    markup = views.study_table(evidence, condition=condition).to_html()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in markup
    assert not re.search(r"<script|<img", markup)


def test_study_table_and_figures_draw_from_the_data(book_root):
    evidence = skinregen.load(book_root)
    acne = evidence.studies_for(condition="acne_scars")
    table = views.study_table(evidence, condition="acne_scars")
    assert len(table.frame) == len(acne) > 0
    figure = views.study_size_figure(evidence, condition="acne_scars")
    plotted = sum(len(trace["y"]) for trace in figure.spec["data"])
    assert plotted == int(acne["n_enrolled"].notna().sum())


BASIC_BUNDLE_TRACES = {"scatter", "bar", "pie"}  # what plotly.js's "basic" partial bundle can draw


def test_the_shipped_plotly_bundle_is_the_plotly_js_version_of_plotly_py():
    import re
    from pathlib import Path

    import plotly

    from skinregen.site.sphinx_ext import ASSETS, PLOTLY_JS

    shipped = re.search(r"plotly\.js \(basic - minified\) v(\S+)", (ASSETS / PLOTLY_JS).read_text()[:400])
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    expected = re.search(r"plotly\.js v(\S+)", full.read_text()[:400])
    assert shipped and expected
    assert shipped.group(1) == expected.group(1), "fetch the matching bundle (see skinregen/site/assets/README.md)"


COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"
NPM_FILE_SHA256 = "99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba"  # plotly.js-basic-dist-min@4.1.1


def test_the_shipped_bundle_is_the_npm_file_after_one_compile_hint_line():
    import hashlib

    from skinregen.site.sphinx_ext import ASSETS, PLOTLY_JS

    shipped = (ASSETS / PLOTLY_JS).read_bytes()
    assert shipped.startswith(COMPILE_HINT), "the first line must be V8's compile hint (see assets/README.md)"
    assert hashlib.sha256(shipped[len(COMPILE_HINT):]).hexdigest() == NPM_FILE_SHA256
    assert NPM_FILE_SHA256 in (ASSETS / "README.md").read_text()


def test_every_figure_in_the_book_uses_trace_types_the_bundle_draws(book_root):
    import json

    used = set()
    for path in (book_root / "chapters").rglob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                spec = output.get("data", {}).get("application/vnd.plotly.v1+json")
                if spec:
                    used |= {(trace.get("type") or "scatter", path.name) for trace in spec["data"]}
    assert used, "no figure found in the stored outputs"
    missing = {(kind, name) for kind, name in used if kind not in BASIC_BUNDLE_TRACES}
    assert not missing, f"trace types the basic plotly.js bundle cannot draw: {sorted(missing)}"
