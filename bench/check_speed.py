"""Time `python -m skinregen check` on the real book and on a synthetic book 100x larger.

The synthetic book (written to bench/synthetic/, not committed) repeats every study, report, mechanism,
outcome and adverse-event row 100 times under new keys, with matching BibTeX entries. Each command is run
several times as a whole process; the median and the range are written to bench/check_speed.md and .json.

    .venv/bin/python bench/check_speed.py [--factor 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYED = {"studies": ["key"], "reports": ["report_key", "study_key"], "study_mechanisms": ["study_key"],
         "outcomes": ["study_key"], "adverse_events": ["study_key"]}


def rename(key: str, copy: int) -> str:
    return key if copy == 0 else f"{key}x{copy}"


def make_synthetic(target: Path, factor: int) -> dict[str, int]:
    shutil.rmtree(target, ignore_errors=True)
    (target / "data").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", target)
    for path in (ROOT / "data").glob("*"):
        if path.is_file() and path.stem not in KEYED:
            shutil.copy(path, target / "data")
    counts = {}
    for table, columns in KEYED.items():
        with open(ROOT / "data" / f"{table}.csv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        out = []
        for copy in range(factor):
            for row in rows:
                new = dict(row)
                for column in columns:
                    new[column] = rename(row[column], copy)
                for unique in ("doi", "pmid"):
                    if unique in new and new[unique] and copy:
                        new[unique] = f"{new[unique]}{copy}" if unique == "doi" else f"{copy}{new[unique]}"[:9]
                out.append(new)
        with open(target / "data" / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(out)
        counts[table] = len(out)
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    entries = [block for block in bib.split("\n@") if block.strip()]
    copies = []
    for copy in range(factor):
        for block in entries:
            block = block if block.startswith("@") else "@" + block
            head, rest = block.split("{", 1)
            key, body = rest.split(",", 1)
            if copy:
                lines = []
                for line in body.splitlines():
                    if line.strip().startswith("doi = {"):
                        comma = "," if line.rstrip().endswith(",") else ""
                        line = line.rstrip().rstrip(",").rstrip("}") + f"{copy}}}" + comma
                    if line.strip().startswith("pmid = {"):
                        value = line.split("{", 1)[1].split("}", 1)[0]
                        line = line.replace(value, f"{copy}{value}"[:9])
                    lines.append(line)
                body = "\n".join(lines)
            copies.append(f"{head}{{{rename(key, copy)},{body}".rstrip() + "\n")
    (target / "references.bib").write_text("\n".join(copies), encoding="utf-8")
    counts["bib_entries"] = len(copies)
    return counts


def time_check(root: Path, runs: int) -> dict:
    seconds, code = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "skinregen", "--root", str(root), "check"],
                                capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        code = result.returncode
        if code != 0:
            raise SystemExit(f"check failed on {root}:\n{result.stdout[-2000:]}")
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3), "runs": runs, "exit_code": code}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--factor", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    synthetic = ROOT / "bench" / "synthetic"
    counts = make_synthetic(synthetic, args.factor)
    real = time_check(ROOT, args.runs)
    large = time_check(synthetic, max(3, args.runs // 2))
    result = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {platform.system()}, "
              f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
              "real": real, f"synthetic_x{args.factor}": {**large, "rows": counts},
              "budgets": {"real_s": 2.0, "synthetic_s": 10.0}}
    (ROOT / "bench" / "check_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# `python -m skinregen check`: speed",
        "",
        f"Measured {result['date']} on {result['machine']} with `bench/check_speed.py` "
        f"(whole process, {args.runs} runs on the real data).",
        "",
        "| data | rows | median (s) | min (s) | max (s) | budget (s) |",
        "|---|---|---|---|---|---|",
        f"| real book | {sum(1 for _ in open(ROOT / 'data' / 'studies.csv')) - 1} studies | {real['median_s']} | "
        f"{real['min_s']} | {real['max_s']} | 2 |",
        f"| synthetic x{args.factor} | {counts['studies']} studies, {counts['outcomes']} outcomes, "
        f"{counts['bib_entries']} BibTeX entries | {large['median_s']} | {large['min_s']} | {large['max_s']} | 10 |",
        "",
    ]
    (ROOT / "bench" / "check_speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
