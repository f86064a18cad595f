"""`make bench`: this book against the naive set-up, built and measured side by side in one run.

Two copies of the book are made under bench/out/ (not committed), sharing this checkout's .venv:

- ``book``: as committed. `make book` builds it (jupyter-cache; plotly.js shipped once, the 1.2 MB basic
  bundle, loaded only by pages with figures; no third-party scripts).
- ``naive``: what a newcomer gets with the defaults: `jupyter-book build .` with
  ``execute_notebooks: force``, without the book's Sphinx extension (so sphinx-thebe and the other CDN
  scripts stay), and figures stored by plotly's 'notebook' renderer (plotly.js, 4.8 MB, inlined in the
  first figure of every page; ``SKINREGEN_BENCH_NAIVE_RENDERER=notebook``, see skinregen.present.figures).

Measured for both: cold build, rebuild with nothing changed, rebuild after editing one chapter; for every
page with figures, bytes a reader downloads on a first visit and on a repeat visit (assets cached), and the
time from navigation to every figure drawn, in headless Chromium against a local server (a process of its
own, HTTP/1.1 keep-alive) that sends ``Cache-Control: max-age=600`` (as GitHub Pages does) and no
compression (so bytes are the files' sizes; a compressing server sends fewer); third-party requests fail
(no host but 127.0.0.1 resolves) and are counted. Also `skinregen check` on the real data and on a
synthetic package 100x larger (bench/check_speed.py), and `make test` wall time for the book.
Results: bench/RESULTS.md and .json.

    .venv/bin/python bench/run.py [--runs 3] [--skip-make-test]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
                                "*.egg-info", ".ipynb_checkpoints", "out", "synthetic")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
EDITED_CHAPTER = "chapters/conditions/psoriasis.ipynb"
# performance.now() (ms since navigation start) at the first poll that finds every figure drawn; false before.
ALL_DRAWN = ("() => { const divs = [...document.querySelectorAll('.plotly-graph-div')];"
             " return divs.length > 0 && divs.every(div => div.querySelector('svg.main-svg'))"
             " && performance.now(); }")
BUDGETS = {  # (measure, limit, unit) for this book; from the issue that asked for this benchmark
    "repeat_visit_bytes_median": (150_000, "bytes"),
    "first_visit_bytes_median": (3_500_000, "bytes"),
    "figures_drawn_ms_median": (1000, "ms"),
    "rebuild_no_change_share_of_cold": (0.20, "share"),
    "make_test_seconds": (600, "s"),
}


# ---------------------------------------------------------------------------------------------- set-ups


def prepare(name: str) -> Path:
    target = OUT / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT, target, ignore=IGNORE)
    (target / ".venv").symlink_to(ROOT / ".venv")
    if name == "naive":
        config = (target / "_config.yml").read_text()
        config = config.replace("execute_notebooks: cache", "execute_notebooks: force")
        config = re.sub(r"  extra_extensions:\n    - skinregen.site.sphinx_ext\n", "", config)
        assert "force" in config and "skinregen.site.sphinx_ext" not in config, "the naive edits did not apply"
        (target / "_config.yml").write_text(config)
    return target


def environment(name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "SKINREGEN_ROOT")}
    if name == "naive":
        env["SKINREGEN_BENCH_NAIVE_RENDERER"] = "notebook"
    return env


def build_command(name: str, book: Path) -> list[str]:
    if name == "book":
        return ["make", "book"]
    return [str(book / ".venv" / "bin" / "jupyter-book"), "build", "."]


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def edit_one_chapter(book: Path) -> None:
    """Append a sentence to the last Markdown cell of one chapter, as an author would."""
    path = book / EDITED_CHAPTER
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cell = [c for c in notebook["cells"] if c["cell_type"] == "markdown"][-1]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = source + "\n\nAn extra sentence added by the benchmark."
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def builds(name: str, book: Path) -> dict:
    env = environment(name)
    shutil.rmtree(book / "_build", ignore_errors=True)
    cold = timed(build_command(name, book), book, env)
    unchanged = timed(build_command(name, book), book, env)
    edit_one_chapter(book)
    edited = timed(build_command(name, book), book, env)
    return {"cold_build_s": cold, "rebuild_no_change_s": unchanged, "rebuild_one_chapter_edited_s": edited}


# ---------------------------------------------------------------------------------------------- reading


class CachingHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as every real static host; HTTP/1.0 opens a connection per file

    def end_headers(self):
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


def _serve_forever(directory: str, ports) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CachingHandler, directory=directory))
    ports.put(server.server_address[1])
    server.serve_forever()


def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 from a process of its own, so that the server does not share a GIL
    with the Playwright client that drives the browser and receives its events (in one process, files of a
    few KB took up to 300 ms to arrive). Returns the process and the base URL."""
    context = multiprocessing.get_context("fork")
    ports = context.Queue()
    server = context.Process(target=_serve_forever, args=(str(directory), ports), daemon=True)
    server.start()
    return server, f"http://127.0.0.1:{ports.get(timeout=30)}"


def figure_pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in (html / "chapters").rglob("*.html")
                  if "plotly-graph-div" in p.read_text(encoding="utf-8"))


def visit(page, session, url: str) -> dict:
    """Navigate to ``url``; bytes over the network (until the load event and after), third-party requests,
    and ms from navigation start until every figure is drawn (polled every 10 ms while the page loads)."""
    received: dict[str, float] = {}
    outside: list[str] = []

    def finished(event):
        received[event["requestId"]] = event.get("encodedDataLength", 0)

    def sent(event):
        host = urlparse(event["request"]["url"]).hostname
        if host not in (None, "127.0.0.1") and not event["request"]["url"].startswith("data:"):
            outside.append(event["request"]["url"])

    session.on("Network.loadingFinished", finished)
    session.on("Network.requestWillBeSent", sent)
    page.goto(url, wait_until="commit")
    drawn_ms = page.wait_for_function(ALL_DRAWN, timeout=60000, polling=10).json_value()
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # late responses (fonts, deferred scripts) finish
    session.remove_listener("Network.loadingFinished", finished)
    session.remove_listener("Network.requestWillBeSent", sent)
    return {"bytes": int(sum(received.values())), "drawn_ms": drawn_ms, "third_party": outside}


def readings(html: Path, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    server, url = serve(html)
    pages = figure_pages(html)
    result = {"pages": {}}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in pages:
                first, repeat = [], []
                other = next(p for p in pages if p != name)
                for _ in range(runs):
                    context = browser.new_context()  # empty cache: a first visit
                    page = context.new_page()
                    session = context.new_cdp_session(page)
                    session.send("Network.enable")
                    first.append(visit(page, session, f"{url}/{name}"))
                    context.close()
                    # A repeat visit: the reader has seen another figure page, so shared assets are cached,
                    # and now opens this one (its HTML is new to the browser).
                    context = browser.new_context()
                    page = context.new_page()
                    session = context.new_cdp_session(page)
                    session.send("Network.enable")
                    visit(page, session, f"{url}/{other}")
                    repeat.append(visit(page, session, f"{url}/{name}"))
                    context.close()
                result["pages"][name] = {
                    "first_visit_bytes": statistics.median(r["bytes"] for r in first),
                    "repeat_visit_bytes": statistics.median(r["bytes"] for r in repeat),
                    "first_visit_drawn_ms": statistics.median(r["drawn_ms"] for r in first),
                    "repeat_visit_drawn_ms": statistics.median(r["drawn_ms"] for r in repeat),
                    "third_party_requests": sorted(set(first[0]["third_party"])),
                }
            browser.close()
    finally:
        server.terminate()
        server.join()
    values = result["pages"].values()
    for measure in ("first_visit_bytes", "repeat_visit_bytes", "first_visit_drawn_ms", "repeat_visit_drawn_ms"):
        series = [v[measure] for v in values]
        result[f"{measure}_median"] = statistics.median(series)
        result[f"{measure}_worst"] = max(series)
    result["third_party_hosts"] = sorted({urlparse(u).hostname for v in values for u in v["third_party_requests"]})
    return result


# ---------------------------------------------------------------------------------------------- report


def make_test_seconds(book: Path) -> float:
    env = environment("book")
    return timed(["make", "test"], book, env)


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def check_seconds() -> dict:
    subprocess.run([sys.executable, str(ROOT / "bench" / "check_speed.py"), "--runs", "3"], check=True,
                   cwd=ROOT, capture_output=True)
    return json.loads((ROOT / "bench" / "check_speed.json").read_text())


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (median of 3): how fast this shared machine is right now.

    Browser timings scale with it; on the same machine it has been seen to vary about twofold over an hour.
    """
    times = []
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for step in range(5_000_000):
            total += step
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def kb(value: float) -> str:
    return f"{value / 1000:,.0f} KB"


def write_report(result: dict) -> None:
    book, naive = result["book"], result["naive"]

    def row(label, key, fmt, where="reading"):
        ours = book[where].get(key) if where else book.get(key)
        theirs = naive[where].get(key) if where else naive.get(key)
        ratio = f"{theirs / ours:.1f}x" if ours and theirs else "n/a"
        return f"| {label} | {fmt(ours) if ours is not None else 'n/a'} | " \
               f"{fmt(theirs) if theirs is not None else 'n/a'} | {ratio} |"

    def hosts(setup) -> str:
        return ", ".join(setup["reading"]["third_party_hosts"]) or "none"

    seconds = lambda v: f"{v:.1f} s"  # noqa: E731
    ms = lambda v: f"{v:.0f} ms"  # noqa: E731
    lines = [
        "# Benchmark: this book vs the naive set-up",
        "",
        f"Measured by `make bench` (bench/run.py) on {result['date']} at commit {result.get('commit')}, machine: "
        f"{result['machine']}." + (f" `make test`: {result['make_test_note']}, commit {result['make_test_commit']}."
                                   if result.get("make_test_note") else ""),
        f"Browser readings: median of {result['runs']} visits per page, over the {len(book['reading']['pages'])} "
        "chapter pages that hold figures; 'worst' is the slowest or largest page. Ratio = naive / book.",
        "Machine speed: a fixed Python loop (bench/run.py `cpu_probe`) took "
        f"{book.get('cpu_probe_before_reading_s', 'n/a')} s before this book's readings and "
        f"{naive.get('cpu_probe_before_reading_s', 'n/a')} s before the naive set-up's. This shared machine's "
        "speed varies (the probe has ranged about twofold within an hour), and the times in ms scale with it.",
        "",
        "| measure | this book | naive set-up | ratio |",
        "|---|---|---|---|",
        row("bytes, first visit, median page", "first_visit_bytes_median", kb),
        row("bytes, first visit, worst page", "first_visit_bytes_worst", kb),
        row("bytes, repeat visit, median page", "repeat_visit_bytes_median", kb),
        row("bytes, repeat visit, worst page", "repeat_visit_bytes_worst", kb),
        row("figures drawn, first visit, median", "first_visit_drawn_ms_median", ms),
        row("figures drawn, first visit, worst", "first_visit_drawn_ms_worst", ms),
        row("figures drawn, repeat visit, median", "repeat_visit_drawn_ms_median", ms),
        row("figures drawn, repeat visit, worst", "repeat_visit_drawn_ms_worst", ms),
        row("cold build", "cold_build_s", seconds, where=None),
        row("rebuild, nothing changed", "rebuild_no_change_s", seconds, where=None),
        row("rebuild, one chapter edited", "rebuild_one_chapter_edited_s", seconds, where=None),
        f"| `make test` | {seconds(result['make_test_s']) if result.get('make_test_s') else 'not run'} | n/a "
        "(no test suite) | n/a |",
        f"| `skinregen check`, real data | {seconds(result['check']['real']['median_s'])} | same command | 1.0x |",
        f"| `skinregen check`, 100x data | {seconds(result['check']['synthetic_x100']['median_s'])} | same command | "
        "1.0x |",
        "",
        f"Third-party hosts the pages tried to reach: this book: {hosts(book)}; naive: {hosts(naive)} (they fail "
        "here: no host but 127.0.0.1 resolves, so their bytes are not counted and a real reader downloads more).",
        "",
        "## Budgets (this book)",
        "",
        "| budget | limit | measured | holds |",
        "|---|---|---|---|",
    ]
    for name, (limit, unit) in BUDGETS.items():
        value = result["budgets"][name]
        shown = {"bytes": kb, "ms": ms, "s": seconds, "share": lambda v: f"{v:.0%}"}[unit]
        verdict = "n/a" if value is None else ("yes" if value <= limit else "**no**")
        lines.append(f"| {name.replace('_', ' ')} | {shown(limit)} | "
                     f"{shown(value) if value is not None else 'not run'} | {verdict} |")
    lines += ["", "## Per page (this book)", "", "| page | first visit | repeat visit | drawn (first) |",
              "|---|---|---|---|"]
    for name, page in book["reading"]["pages"].items():
        lines.append(f"| {name} | {kb(page['first_visit_bytes'])} | {kb(page['repeat_visit_bytes'])} | "
                     f"{ms(page['first_visit_drawn_ms'])} |")
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (ROOT / "bench" / "RESULTS.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="visits per page and set-up")
    parser.add_argument("--skip-make-test", action="store_true", help="do not time `make test` (about 8 min)")
    parser.add_argument("--reuse-make-test", action="store_true",
                        help="with --skip-make-test: keep the `make test` time of the previous bench/RESULTS.json")
    args = parser.parse_args()
    previous_file = ROOT / "bench" / "RESULTS.json"
    previous = json.loads(previous_file.read_text()) if previous_file.is_file() else {}
    result = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "runs": args.runs,
              "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
                         f"{platform.python_version()}"}
    for name in ("book", "naive"):
        book = prepare(name)
        print(f"==> {name}: building (cold, unchanged, one chapter edited)", flush=True)
        result[name] = builds(name, book)
        print(f"==> {name}: reading every figure page in Chromium", flush=True)
        result[name]["cpu_probe_before_reading_s"] = cpu_probe()
        result[name]["reading"] = readings(book / "_build" / "html", args.runs)
    print("==> timing skinregen check", flush=True)
    result["check"] = check_seconds()
    (ROOT / "bench" / "RESULTS.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not args.skip_make_test:
        print("==> timing make test", flush=True)
        result["make_test_s"] = make_test_seconds(OUT / "book")
        result["make_test_commit"] = commit()
    elif args.reuse_make_test and previous.get("make_test_s"):
        result["make_test_s"] = previous.get("make_test_s")
        result["make_test_commit"] = previous.get("make_test_commit", "an earlier commit")
        result["make_test_note"] = f"measured by the previous `make bench` run ({previous.get('date')})"
    result["commit"] = commit()
    reading = result["book"]["reading"]
    result["budgets"] = {
        "repeat_visit_bytes_median": reading["repeat_visit_bytes_median"],
        "first_visit_bytes_median": reading["first_visit_bytes_median"],
        "figures_drawn_ms_median": reading["first_visit_drawn_ms_median"],
        "rebuild_no_change_share_of_cold": result["book"]["rebuild_no_change_s"] / result["book"]["cold_build_s"],
        "make_test_seconds": result.get("make_test_s"),
    }
    write_report(result)  # writes RESULTS.md and RESULTS.json
    print((ROOT / "bench" / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
