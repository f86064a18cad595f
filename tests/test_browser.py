"""Open every page of the built site in headless Chromium, served on 127.0.0.1.

Each page must load with no console error, draw every plotly figure (an SVG inside each
``.plotly-graph-div``), and make no request that leaves 127.0.0.1. Needs ``make book`` first
(``make test`` does it) and Debian's chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def toc_pages() -> list[str]:
    """Every page the table of contents promises, as paths of HTML files relative to the site."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    return [f"{Path(name).with_suffix('').as_posix()}.html" for name in files]


PAGES = toc_pages()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def site_url():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} has no index.html: run `make book` first")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


EVERY_FIGURE_DRAWN = ("() => [...document.querySelectorAll('.plotly-graph-div')]"
                      ".every(div => div.querySelector('svg.main-svg'))")


def visit(browser, url: str) -> dict:
    """Load ``url``; return console errors, requests that left 127.0.0.1 and the figures' state."""
    context = browser.new_context()
    outside: list[str] = []
    errors: list[str] = []

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if request_route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    response = page.goto(url, wait_until="load")
    figures = page.locator(".plotly-graph-div").count()
    if figures:
        page.wait_for_function(EVERY_FIGURE_DRAWN, timeout=15000)
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')]"
        ".filter(div => div.querySelector('svg.main-svg')).length"
    )
    # Tick labels that stick out of their figure's box (cut off by a margin too narrow for them).
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].flatMap(div => {"
        " const box = div.getBoundingClientRect();"
        " return [...div.querySelectorAll('.xtick text, .ytick text')].filter(t => {"
        "  const r = t.getBoundingClientRect();"
        "  return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);"
        " }).map(t => t.textContent); })"
    )
    status = response.status if response else None
    context.close()
    return {"status": status, "errors": errors, "outside": outside, "figures": figures, "drawn": drawn,
            "clipped": clipped}


@pytest.mark.browser
@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_and_draws_every_figure(browser, site_url, page_path):
    assert (HTML / page_path).is_file(), f"{page_path} is in _toc.yml but was not built"
    result = visit(browser, f"{site_url}/{page_path}")
    assert result["status"] == 200
    assert result["errors"] == [], f"console errors on {page_path}: {result['errors']}"
    assert result["outside"] == [], f"{page_path} requested third parties: {result['outside']}"
    missing = result["figures"] - result["drawn"]
    assert missing == 0, f"{page_path}: {missing} figure(s) not drawn"
    assert result["clipped"] == [], f"{page_path}: tick labels cut off at the figure's edge: {result['clipped']}"


@pytest.mark.browser
def test_the_chapters_with_data_have_figures(browser, site_url):
    """Guards the test above against passing vacuously: condition chapters must actually draw figures."""
    chapters = [page for page in PAGES if page.startswith("chapters/conditions/")]
    assert chapters, "the table of contents has no condition chapter"
    for page_path in chapters:
        result = visit(browser, f"{site_url}/{page_path}")
        assert result["figures"] >= 1 and result["drawn"] == result["figures"], page_path


@pytest.mark.browser
def test_a_request_to_a_third_party_is_caught(browser, site_url, tmp_path):
    """The network guard itself works: a page that loads a CDN script is reported."""
    probe = HTML / "_probe_third_party.html"
    probe.write_text('<html><body><script src="https://cdn.example.org/x.js"></script></body></html>')
    try:
        result = visit(browser, f"{site_url}/_probe_third_party.html")
    finally:
        probe.unlink()
    assert result["outside"] == ["https://cdn.example.org/x.js"]


@pytest.mark.browser
def test_theme_icons_are_drawn_with_web_fonts_without_the_fontawesome_script(browser, site_url):
    """The theme's 1.5 MB fontawesome.js is left out (skinregen/site/templates); its CSS web fonts draw the icons."""
    page_path = next(page for page in PAGES if page.startswith("chapters/conditions/"))
    context = browser.new_context()
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{site_url}/{page_path}", wait_until="load")
    page.evaluate("() => document.fonts.ready")
    icons = page.evaluate(
        """() => [...document.querySelectorAll('[class*="fa-"]')].filter(el => el.offsetParent !== null)
              .map(el => { const style = getComputedStyle(el, '::before');
                           return {family: style.fontFamily, content: style.content}; })"""
    )
    font_loaded = page.evaluate("""() => document.fonts.check('900 16px "Font Awesome 6 Free"')""")
    context.close()
    assert not any("fontawesome.js" in url for url in requested), requested
    assert icons, f"{page_path} shows no Font Awesome icon: the check below would pass vacuously"
    assert all("Font Awesome" in icon["family"] and icon["content"] not in ("none", "normal") for icon in icons), icons
    assert font_loaded


@pytest.mark.browser
def test_search_works_though_chapter_pages_do_not_load_the_search_index(browser, site_url):
    """Chapter pages leave out the search scripts (skinregen/site/templates/layout.html); search.html still finds."""
    page_path = next(page for page in PAGES if page.startswith("chapters/conditions/"))
    context = browser.new_context()
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{site_url}/{page_path}", wait_until="load")
    assert not any(url.endswith(("searchindex.js", "searchtools.js")) for url in requested), requested
    page.goto(f"{site_url}/search.html?q=vitiligo", wait_until="load")
    page.wait_for_selector("#search-results ul.search li a", timeout=15000)
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
    context.close()
    assert any(url.endswith("chapters/conditions/vitiligo.html") for url in hits), hits


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 1200, 390])
def test_one_search_control_is_visible_and_no_header_bar_above_the_book(browser, site_url, width):
    """pydata-sphinx-theme >= 0.16 adds a header bar with a second search field (_config.yml turns it off)."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{site_url}/chapters/intro.html", wait_until="load")
    visible = page.evaluate("""() => [...document.querySelectorAll('.search-button-field, .search-button')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0).length""")
    header = page.evaluate("() => { const h = document.querySelector('#pst-header');"
                           " return h ? h.getBoundingClientRect().height : 0; }")
    context.close()
    assert visible == 1, f"{visible} search controls visible at {width} px"
    assert header == 0 or width < 960, f"a header bar {header} px tall sits above the book at {width} px"


@pytest.mark.browser
@pytest.mark.parametrize("page_path", ["chapters/conditions/chronic-wounds.html", "chapters/conditions/vitiligo.html"])
def test_on_a_phone_every_figure_keeps_room_for_its_points(browser, site_url, page_path):
    """Long tick labels in a fixed margin once squeezed the plot area of a figure to nothing at 390 px."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(f"{site_url}/{page_path}", wait_until="load")
    page.wait_for_function(EVERY_FIGURE_DRAWN, timeout=15000)
    widths = page.evaluate("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".map(div => Math.round(div._fullLayout._size.w))")
    context.close()
    assert widths and min(widths) >= 100, f"plot areas {widths} px wide at 390 px on {page_path}"


def test_figure_pages_preload_plotly_with_the_script_url_and_other_pages_load_neither():
    import re

    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} has no index.html: run `make book` first")
    with_figures = 0
    for page_path in PAGES:
        text = (HTML / page_path).read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]* src="([^"]*plotly-basic\.min\.js[^"]*)"', text)
        preloads = re.findall(r'<link rel="preload" as="script" fetchpriority="high" href="([^"]*)"', text)
        if "plotly-graph-div" in text:
            with_figures += 1
            assert len(scripts) == 1 and preloads == scripts, (page_path, scripts, preloads)
            assert text.index(preloads[0]) < text.index("<link rel=\"stylesheet\""), page_path
        else:
            assert scripts == [] and preloads == [], page_path
    assert with_figures >= 12


# ------------------------------------------------------------------------------------ readers' checks

AXE_JS = None


def _axe_source() -> str:
    """axe-core, as shipped inside the axe-playwright-python package (no download at test time)."""
    global AXE_JS
    if AXE_JS is None:
        import axe_playwright_python as axe  # pinned in requirements.txt: a missing copy fails, never skips
        AXE_JS = (Path(axe.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
    return AXE_JS


def _open(browser, url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="load")
    if page.locator(".plotly-graph-div").count():
        page.wait_for_function(EVERY_FIGURE_DRAWN, timeout=15000)
    return context, page


CLIPPED_CELLS = """() => [...document.querySelectorAll('table.skinregen-table td, table.skinregen-table th')]
  .filter(cell => cell.offsetParent !== null && (cell.scrollWidth > cell.clientWidth + 1))
  .map(cell => cell.textContent.slice(0, 60))"""
TABLE_OVERFLOW = """() => [...document.querySelectorAll('.skinregen-table-wrap')].filter(wrap => {
  const table = wrap.querySelector('table');
  const wider = table.getBoundingClientRect().width > wrap.getBoundingClientRect().width + 1;
  const scrolls = getComputedStyle(wrap).overflowX === 'auto' || getComputedStyle(wrap).overflowX === 'scroll';
  return wider && !scrolls; }).length"""
TABLE_WIDER_THAN_PAGE = """() => [...document.querySelectorAll('.skinregen-table-wrap')]
  .filter(wrap => wrap.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length"""


OVERLAPS = r"""() => {
  const boxes = div => [...div.querySelectorAll(
      '.xtitle, .ytitle, .legend, .xtick text, .ytick text, .annotation-text, .gtitle')]
    .map(el => ({el, r: el.getBoundingClientRect(), kind: el.closest('.legend') ? 'legend'
      : el.matches('.xtitle, .ytitle, .gtitle') ? 'title' : el.closest('.annotation') ? 'note' : 'tick'}))
    .filter(b => b.r.width > 0 && b.r.height > 0);
  const hits = [];
  for (const div of document.querySelectorAll('.plotly-graph-div')) {
    const all = boxes(div);
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) {
      const a = all[i], b = all[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      if (a.kind === 'note' && b.kind === 'note') continue;   // row notes sit on their own lines
      if (a.kind === 'tick' && b.kind === 'tick' && a.el.closest('.xtick') && b.el.closest('.ytick')) continue;
      // rotated tick labels: their bounding boxes overlap where the slanted text does not
      const rotated = el => /rotate\((?!0[,)])/.test(el.getAttribute('transform') || '');
      if (a.kind === 'tick' && b.kind === 'tick' && (rotated(a.el) || rotated(b.el))) continue;
      const overlap = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left) > 2
        && Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top) > 2;
      if (overlap && (a.kind !== 'note' && b.kind !== 'note' || a.kind === 'title' || b.kind === 'title'
                      || a.kind === 'legend' || b.kind === 'legend'))
        hits.push(a.el.textContent.slice(0, 30) + ' / ' + b.el.textContent.slice(0, 30));
    }
  }
  return hits; }"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("page_path", PAGES)
def test_every_page_is_accessible_its_tables_fit_and_no_figure_text_overlaps(browser, site_url, page_path, width):
    """One visit per page and width: axe-core (0 serious or critical violations), tables that fit with no cell
    clipped, and figure text that never overlaps (legend against axis title, tick labels against each other)."""
    context, page = _open(browser, f"{site_url}/{page_path}", width)
    clipped = page.evaluate(CLIPPED_CELLS)
    hidden_overflow = page.evaluate(TABLE_OVERFLOW)
    off_page = page.evaluate(TABLE_WIDER_THAN_PAGE)
    overlaps = page.evaluate(OVERLAPS)
    page.add_script_tag(content=_axe_source())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    context.close()
    bad = [(v["id"], v["impact"], len(v["nodes"])) for v in results["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page_path} at {width} px: accessibility {bad}"
    assert clipped == [], f"{page_path} at {width} px: clipped cells {clipped[:5]}"
    assert hidden_overflow == 0, f"{page_path} at {width} px: a table is wider than its column with no scrolling"
    assert off_page == 0, f"{page_path} at {width} px: a table runs off the page"
    assert overlaps == [], f"{page_path} at {width} px: overlapping text {overlaps[:6]}"


def test_every_included_study_has_a_rendered_reference_and_links_resolve():
    """The bibliography lists every study of data/studies.csv apart from the other references, and every
    study link in the chapters points at an entry that exists."""
    import csv
    import re

    page = (HTML / "chapters" / "bibliography.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(ref-1-[^"]+)"', page))
    with open(ROOT / "data" / "studies.csv", encoding="utf-8") as handle:
        keys = [row["key"] for row in csv.DictReader(handle)]
    missing = [key for key in keys if f"ref-1-{key}" not in anchors]
    assert missing == [], f"studies without a rendered reference: {missing[:10]}"
    included, other = page.split('id="other-references"')
    assert not any(f"ref-1-{key}" in other for key in keys)
    for path in HTML.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "skinregen-ref:" not in text, f"{path}: a study link was not resolved"
        for target in re.findall(r'href="[^"#]*bibliography\.html#(ref-1-[^"]+)"', text):
            assert target in anchors, f"{path}: link to a missing reference {target}"


def test_readers_see_no_bibtex_key_and_no_setup_code():
    import csv
    import re

    with open(ROOT / "data" / "studies.csv", encoding="utf-8") as handle:
        keys = [row["key"] for row in csv.DictReader(handle)]
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + r")\b")
    for page_path in PAGES:
        if page_path.endswith("bibliography.html"):
            continue
        text = (HTML / page_path).read_text(encoding="utf-8")
        visible = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", text, flags=re.S)
        visible = re.sub(r'(href|id|title|data-[a-z-]+|class)="[^"]*"', "", visible)
        visible = re.sub(r"<div class=\"cell_input.*?</div>\s*</div>", "", visible, flags=re.S)
        shown = [m for m in pattern.findall(re.sub(r"<[^>]+>", " ", visible))]
        assert shown == [], f"{page_path} shows BibTeX keys: {sorted(set(shown))[:8]}"
        assert "evidence = skinregen.load()" not in text, f"{page_path} shows the set-up cell"


INTERNAL_NOTES = ("checker please", "please verify", "coded tentatively", "TODO", "FIXME", "coordinator")


def test_no_internal_note_reaches_a_page_and_the_data_download_is_there():
    import zipfile

    for page_path in PAGES:
        text = (HTML / page_path).read_text(encoding="utf-8")
        found = [note for note in INTERNAL_NOTES if note.lower() in text.lower()]
        assert found == [], f"{page_path} shows internal notes: {found}"
    archive = HTML / "skinregen-data.zip"
    assert archive.is_file(), "the site has no 'Download the data' file"
    names = zipfile.ZipFile(archive).namelist()
    assert "references.bib" in names and "data/datapackage.json" in names and "data/studies.csv" in names
    assert 'href="../skinregen-data.zip"' in (HTML / "chapters" / "intro.html").read_text(encoding="utf-8")
