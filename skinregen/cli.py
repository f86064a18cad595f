"""Command line: ``python -m skinregen <command>``."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from .data.paths import BookNotFoundError, find_book_root

# Distributions the book's notebooks need at run time; binder/requirements.txt pins them (and what they pull
# in) to exactly the versions in requirements.txt. Build and test tools are left out of the Binder image.
BUILD_ONLY = {"jupyter-book", "pytest", "playwright", "axe-playwright-python", "ruff", "nbval"}
# Binder only: JupyterLab renders the chapters' MyST (admonitions, citations, {term} roles) with this extension.
BINDER_EXTRAS = {"jupyterlab-myst": "2.7.0"}


def _root(args) -> Path:
    return find_book_root(args.root) if args.root else find_book_root()


def cmd_check(args) -> int:
    from .data.validate import check_book

    root = _root(args)
    problems = check_book(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found in {root}", file=sys.stderr)
        return 1
    print(f"ok: data/, references.bib and chapter citations in {root} are valid")
    return 0


def derived_effects_text(root: Path) -> str:
    """data/derived/effects.csv as it must be: every effect computed from data/outcomes.csv."""
    import csv
    import io

    from .data.csvrows import rows_with_lines
    from .data.validate import _typed_outcome
    from .stats.effects import EFFECT_COLUMNS, effects_rows

    designs = {row["key"]: row["design"] for _, row in rows_with_lines(root / "data" / "studies.csv")}
    outcomes = []
    for _, row in rows_with_lines(root / "data" / "outcomes.csv"):
        typed = _typed_outcome(row)
        typed["outcome_no"] = int(row["outcome_no"])
        outcomes.append(typed)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, EFFECT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(effects_rows(outcomes, designs))
    return buffer.getvalue()


def cmd_derive(args) -> int:
    """Write data/derived/effects.csv (effect sizes computed from the printed numbers)."""
    from .contribute.atomic import write_files

    root = _root(args)
    target = root / "data" / "derived" / "effects.csv"
    target.parent.mkdir(exist_ok=True)
    text = derived_effects_text(root)
    write_files({target: text.encode("utf-8")})
    print(f"wrote {target.relative_to(root)} ({text.count(chr(10)) - 1} effects)")
    return 0


def cmd_fingerprint(args) -> int:
    """Print a hash of everything chapters read besides their own code: data, bibliography, package."""
    root = _root(args)
    digest = hashlib.sha256()
    files = sorted([*(root / "data").rglob("*"), root / "references.bib", *Path(__file__).parent.rglob("*.py")])
    for path in files:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    print(digest.hexdigest())
    return 0


def cmd_execute(args) -> int:
    """Re-execute notebooks in place so their stored outputs match a fresh run (what nbval compares)."""
    from .contribute.atomic import write_files
    from .present.chapters import execute

    for name in args.notebooks:
        path = Path(name)
        print(f"executing {path}", flush=True)
        write_files({path: execute(path.read_text(encoding="utf-8"), path.parent).encode("utf-8")})
    return 0


def cmd_add_study(args) -> int:
    from .contribute.addstudy import InputError, add_study, template
    from .contribute.crossref import CrossrefError

    root = _root(args)
    if args.template:
        print(template(root), end="")
        return 0
    if not args.study_file:
        print("error: give the study file (print a template with: python -m skinregen add-study --template)",
              file=sys.stderr)
        return 2
    try:
        change = add_study(root, Path(args.study_file), Path(args.bib) if args.bib else None)
    except (InputError, CrossrefError) as error:
        for message in getattr(error, "messages", [str(error)]):
            print(message, file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot write the files: {error.strerror or error}. Nothing was written.", file=sys.stderr)
        return 1
    print(f"added study {change.bib_key}: " + ", ".join(sorted(change.contents)))
    if change.screening_records_removed:
        print("removed from the screening log (now included): record " + ", ".join(change.screening_records_removed))
    print("Next: run `make outputs` to refresh the chapters' stored outputs, then `make test`.")
    return 0


def cmd_new_chapter(args) -> int:
    from .contribute.newchapter import ChapterError, new_chapter

    root = _root(args)
    try:
        path = new_chapter(root, args.target)
    except ChapterError as error:
        print(f"error: {error}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot write the files: {error.strerror or error}. Nothing was written.", file=sys.stderr)
        return 1
    print(f"created {path.relative_to(root)} and listed it in _toc.yml; build with `make book`")
    return 0


def distribution_key(name: str) -> str:
    """Normalise a distribution name for comparison (PEP 503: case, '_' and '.' do not matter)."""
    return name.lower().replace("_", "-").replace(".", "-")


def runtime_requirements() -> list[str]:
    """Pinned lines of requirements.txt that the notebooks need at run time (skinregen's dependency tree)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    wanted, queue = set(), ["skinregen", "ipykernel"]
    while queue:
        name = queue.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if distribution_key(requirement.name) not in wanted:
                wanted.add(distribution_key(requirement.name))
                queue.append(requirement.name)
    return sorted(wanted - {distribution_key(n) for n in BUILD_ONLY})


def cmd_binder_requirements(args) -> int:
    root = _root(args)
    pins = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name = line.split("==")[0].strip()
            pins[distribution_key(name)] = line.strip()
    print("# Generated by `make lock` from requirements.txt: the packages the notebooks need at run time,")
    print("# pinned to the versions the book is built and tested with (tests/test_binder.py checks this).")
    for name in runtime_requirements():
        if name in pins:
            print(pins[name])
    print("# Binder only (not needed to build the book): MyST rendered in JupyterLab.")
    for name, version in sorted(BINDER_EXTRAS.items()):
        print(f"{name}=={version}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skinregen", description=__doc__)
    parser.add_argument("--root", help="the book's folder (default: found from the working folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate data/, references.bib and citations; exit 1 on any problem")
    commands.add_parser("derive", help="write data/derived/effects.csv from data/outcomes.csv")
    commands.add_parser("fingerprint", help="hash of data/, references.bib and skinregen/ (for the build cache)")
    execute = commands.add_parser("execute", help="re-execute notebooks in place")
    execute.add_argument("notebooks", nargs="+")
    commands.add_parser("binder-requirements", help="print binder/requirements.txt from requirements.txt")
    add = commands.add_parser("add-study", help="add one study, its outcome rows and its BibTeX entry")
    add.add_argument("study_file", nargs="?", help="the filled-in YAML file (see --template)")
    add.add_argument("--bib", help="take the BibTeX entry from this file instead of asking Crossref (offline)")
    add.add_argument("--template", action="store_true", help="print a YAML file to fill in, and exit")
    chapter = commands.add_parser("new-chapter", help="create a chapter from the template and list it in _toc.yml")
    chapter.add_argument("target", help="conditions/<id> or mechanisms/<id>, with an id from data/conditions.csv "
                         "or data/mechanisms.csv")
    args = parser.parse_args(argv)
    handlers = {"check": cmd_check, "derive": cmd_derive, "fingerprint": cmd_fingerprint, "execute": cmd_execute,
                "binder-requirements": cmd_binder_requirements, "add-study": cmd_add_study,
                "new-chapter": cmd_new_chapter}
    try:
        return handlers[args.command](args)
    except BookNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
