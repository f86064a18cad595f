"""`python -m skinregen add-study`: a real study added from its DOI, bad input refused, interruptions harmless.

The study in tests/fixtures/add_study/study.yml was added to the book with this command. Each test takes
it out of a copy of the book and adds it again, so the expected result is the committed data itself.
Crossref is replayed from tests/fixtures/crossref/ by a local server (tests/crossref_replay.py).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from crossref_replay import CrossrefReplay
from studyedit import STUDY_FILES, bib_entry_text, remove_study

from skinregen import cli
from skinregen.contribute import atomic
from skinregen.contribute.addstudy import template
from skinregen.data.validate import check_book

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "add_study" / "study.yml"
STUDY = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
DOI = STUDY["doi"]


def committed_key() -> str:
    import csv

    with open(ROOT / "data" / "studies.csv", encoding="utf-8", newline="") as handle:
        return next(row["key"] for row in csv.DictReader(handle) if row["doi"] == DOI)


KEY = committed_key()
WATCHED = [*STUDY_FILES, "references.bib", "_toc.yml"]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file a failed command must leave alone, and any stray temporary file next to them."""
    files = {rel: (root / rel).read_bytes() for rel in WATCHED}
    for folder in (root / "data", root):
        files.update({p.name: b"stray" for p in folder.iterdir() if p.name.endswith(".tmp")})
    return files


@pytest.fixture(scope="module")
def clean_book(tmp_path_factory):
    """A copy of the book without the fixture study; tests get their own copy of it."""
    import shutil

    from conftest import COPY_IGNORE

    target = tmp_path_factory.mktemp("clean") / "book"
    shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    removed = remove_study(target, KEY)
    assert removed["data/studies.csv"], f"{KEY} not found in data/studies.csv"
    return target, removed


@pytest.fixture
def book(clean_book, tmp_path):
    import shutil

    target = tmp_path / "book"
    shutil.copytree(clean_book[0], target)
    return target


@pytest.fixture
def crossref(monkeypatch):
    with CrossrefReplay() as url:
        monkeypatch.setenv("SKINREGEN_CROSSREF_API", url)
        yield url


def add(book: Path, study: dict | str, *extra: str, capsys) -> tuple[int, str, str]:
    path = book / "study.yml"
    path.write_text(study if isinstance(study, str) else yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    code = cli.main(["--root", str(book), "add-study", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------------- success


def test_the_template_has_every_column_a_student_fills_in(book):
    text = template(book)
    document = yaml.safe_load(text)
    assert set(document) == {"doi", "pmid", "key", "study", "mechanisms", "outcomes", "adverse_events",
                             "risk_of_bias"}
    assert {"product_class", "funding", "publication_type"} <= set(document["study"])
    assert {"is_primary", "unit_of_analysis", "comparator_type"} <= set(document["outcomes"][0])
    assert {"count_unit", "relatedness"} <= set(document["adverse_events"][0])
    assert {"tool", "domain", "judgement", "support"} == set(document["risk_of_bias"][0])
    assert {"condition", "design", "n_enrolled", "main_result", "verification"} <= set(document["study"])
    assert {"evidence_level", "randomized", "key", "year"}.isdisjoint(document["study"])  # derived, not asked
    assert {"measure", "int_value", "int_disp_type", "p_value_text", "source_location"} <= set(document["outcomes"][0])
    assert "one of: acne_scars, skin_aging" in text


def test_a_real_study_is_added_from_its_doi_with_crossref_replayed(book, clean_book, crossref, capsys):
    before = snapshot(book)
    code, out, err = add(book, STUDY, capsys=capsys)
    assert code == 0, err
    assert f"added study {KEY}" in out
    removed = clean_book[1]
    for relpath in STUDY_FILES:
        new = (book / relpath).read_bytes()
        # every existing row byte-identical and in its order; the study's rows appended, exactly as committed
        assert new.startswith(before[relpath])
        assert new[len(before[relpath]):].decode() == "".join(removed[relpath])
    bib = (book / "references.bib").read_text(encoding="utf-8")
    assert bib.startswith(before["references.bib"].decode())
    assert bib_entry_text(bib, KEY) == removed["references.bib"][0]  # same layout as the committed entry
    assert (book / "_toc.yml").read_bytes() == before["_toc.yml"]
    assert cli.main(["--root", str(book), "check"]) == 0


def test_offline_the_entry_comes_from_a_bib_file(book, clean_book, capsys, monkeypatch):
    monkeypatch.setenv("SKINREGEN_CROSSREF_API", "http://127.0.0.1:9")  # would fail if it were asked
    entry = book / "entry.bib"
    entry.write_text(clean_book[1]["references.bib"][0].replace(f"{{{KEY},", "{anykey,"), encoding="utf-8")
    code, out, err = add(book, STUDY, "--bib", str(entry), capsys=capsys)
    assert code == 0, err
    assert bib_entry_text((book / "references.bib").read_text(), KEY) == clean_book[1]["references.bib"][0]


def test_the_studys_record_in_the_screening_log_is_removed_and_every_other_line_kept(book, crossref, capsys):
    screening = book / "data" / "screening.csv"
    lines = screening.read_text(encoding="utf-8").splitlines(keepends=True)
    waiting = f'999,"A record of this study, screened earlier",{DOI.upper()},awaiting_classification,' \
              "awaiting_classification\n"
    screening.write_text("".join([*lines[:3], waiting, *lines[3:]]), encoding="utf-8")
    code, out, err = add(book, STUDY, capsys=capsys)
    assert code == 0, err
    assert "removed from the screening log (now included): record 999" in out
    assert screening.read_text(encoding="utf-8") == "".join(lines)
    assert cli.main(["--root", str(book), "check"]) == 0


def test_check_refuses_a_screening_record_of_an_included_study(book_root, tmp_path):
    import shutil

    from conftest import COPY_IGNORE

    copy = tmp_path / "book"
    shutil.copytree(book_root, copy, ignore=COPY_IGNORE)
    with open(copy / "data" / "screening.csv", "a", encoding="utf-8") as handle:
        handle.write(f"998,A record left behind,{DOI},awaiting_classification,awaiting_classification\n")
    problems = [str(p) for p in check_book(copy)]
    assert any(p.startswith("data/screening.csv line") and f"column doi: {DOI} is the DOI of included study "
               f"{KEY}: an included study lives in data/studies.csv" in p for p in problems), problems


# ---------------------------------------------------------------------------------------------- bad input


def edited(**changes) -> dict:
    """The fixture study with some fields changed: 'study.n_enrolled' -> value, 'outcomes.0.int_n' -> value."""
    import copy

    study = copy.deepcopy(STUDY)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = study
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            target.pop(last, None)
        else:
            target[int(last) if last.isdigit() else last] = value
    return study


BAD_INPUT = {
    "invalid YAML": ("doi: 10.1/x\nstudy:\n  condition: burns\n design: rct\n", "is not valid YAML"),
    "not a mapping": ("- just\n- a list\n", "expected 'key: value' lines"),
    "unknown section": (edited(outcome=[]), "outcome: is not a known section (did you mean outcomes?)"),
    "misspelt column": (edited(study__n_enroled=5), "study.n_enroled: is not a column of data/studies.csv "
                                                    "(did you mean n_enrolled?)"),
    "derived column given": (edited(study__evidence_level=2), "study.evidence_level: is filled in by add-study"),
    "missing doi": (edited(doi=KeyError), "doi: is required"),
    "doi as a link": (edited(doi="https://doi.org/" + DOI), "is not a DOI"),
    "unknown condition": (edited(study__condition="acne"), "study.condition: acne"),
    "unknown design": (edited(study__design="randomised"), "study.design: randomised"),
    "negative count": (edited(study__n_enrolled=-3), "study.n_enrolled: -3 is below the minimum 1"),
    "text where a number goes": (edited(outcomes__0__int_n="sixty"), "outcomes[1].int_n: sixty"),
    "events above total": (edited(outcomes__0__int_events=70, outcomes__0__int_total=63),
                           "outcomes[1].int_events: 70 is larger than int_total (63)"),
    "baseline label": (edited(outcomes__0__control_label="before"), "outcomes[1].control_label: before must be "
                                                                     "'baseline'"),
    "dispersion without its kind": (edited(outcomes__0__int_disp=19),
                                    "outcomes[1].int_disp_type: must say what int_disp is"),
    "source not said": (edited(outcomes__0__source_location="somewhere"), "outcomes[1].source_location: somewhere"),
    "unknown mechanism": (edited(mechanisms=["collagen"]), "mechanisms: collagen"),
    "mechanisms not a list": (edited(mechanisms="collagen_ecm"), "mechanisms: expected a list"),
    "outcome not a block": (edited(outcomes=["ECCA 12 weeks"]), "outcomes[1]: expected 'field: value' lines"),
    "adverse event arm": (edited(adverse_events__0__arm="everyone"), "adverse_events[1].arm: everyone"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(book, crossref, capsys, case):
    study, expected = BAD_INPUT[case]
    before = snapshot(book)
    code, _, err = add(book, study, capsys=capsys)
    assert code == 1
    assert expected in err
    assert "Nothing was written." in err
    assert snapshot(book) == before


def test_a_doi_already_in_the_book_is_refused_with_the_key_that_holds_it(book_root, tmp_path, crossref, capsys):
    import shutil

    from conftest import COPY_IGNORE

    copy = tmp_path / "book"
    shutil.copytree(book_root, copy, ignore=COPY_IGNORE)
    before = snapshot(copy)
    code, _, err = add(copy, STUDY, capsys=capsys)
    assert code == 1
    assert f"doi: {DOI} is already in the book, in data/studies.csv line" in err
    assert f"(key {KEY})" in err
    assert snapshot(copy) == before


def test_a_doi_already_present_is_located_on_its_own_line_after_a_cell_that_spans_lines(tmp_path):
    from skinregen.contribute.addstudy import existing_doi
    from skinregen.data.bib import Bibliography

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "studies.csv").write_text(
        'key,doi,note\nfirst2020a,10.1/a,"printed on\ntwo lines"\nsecond2021b,10.1/b,\n', encoding="utf-8")
    assert existing_doi(tmp_path, "10.1/B", Bibliography()) == "data/studies.csv line 4 (key second2021b)"


def test_a_key_already_in_the_bibliography_is_refused(book, crossref, capsys):
    code, _, err = add(book, edited(key="kwon2020combination"), capsys=capsys)
    assert code == 1
    assert "key: kwon2020combination is already an entry in references.bib" in err


def test_a_doi_unknown_to_crossref_is_refused(book, crossref, capsys):
    before = snapshot(book)
    code, _, err = add(book, edited(doi="10.9999/no-such-paper"), capsys=capsys)
    assert code == 1
    assert "Crossref has no record of DOI 10.9999/no-such-paper" in err
    assert snapshot(book) == before


def test_offline_without_a_bib_file_says_what_to_do(book, capsys, monkeypatch):
    monkeypatch.setenv("SKINREGEN_CROSSREF_API", "http://127.0.0.1:9")  # nothing listens on the discard port
    before = snapshot(book)
    code, _, err = add(book, STUDY, capsys=capsys)
    assert code == 1
    assert "cannot reach Crossref" in err and "--bib FILE" in err
    assert snapshot(book) == before


def test_a_bib_file_for_another_paper_is_refused(book, capsys):
    entry = book / "entry.bib"
    entry.write_text("@article{other2020paper,\n  author = {Other, A.},\n  title = {T},\n  journal = {J},\n"
                     "  year = {2020},\n  doi = {10.1000/other}\n}\n", encoding="utf-8")
    code, _, err = add(book, STUDY, "--bib", str(entry), capsys=capsys)
    assert code == 1
    assert "differs from doi:" in err


def test_a_missing_study_file_points_to_the_template(book, capsys):
    code = cli.main(["--root", str(book), "add-study", str(book / "nope.yml")])
    assert code == 1
    assert "add-study --template" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- interruptions


def test_ctrl_c_while_waiting_for_crossref_changes_nothing(book):
    (book / "study.yml").write_text(yaml.safe_dump(STUDY, sort_keys=False), encoding="utf-8")
    before = snapshot(book)
    replay = CrossrefReplay()
    with replay as url:
        env = {**os.environ, "SKINREGEN_CROSSREF_API": url + "/slow"}
        # A shell that starts a command in the background (`make bench &`, some CI runners) makes it ignore
        # SIGINT, and children inherit that; restore the default so the command sees Ctrl-C as a terminal sends it.
        process = subprocess.Popen([sys.executable, "-m", "skinregen", "--root", str(book), "add-study",
                                    str(book / "study.yml")], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        # Ctrl-C once the request is sent and the command waits for the answer (not after a fixed sleep,
        # which a loaded machine can outrun).
        assert replay.slow_request_seen.wait(timeout=60), "add-study never asked the replayed Crossref"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: nothing was written" in err
    assert snapshot(book) == before


def failing_write(after_calls: int, error: BaseException):
    calls = {"n": 0}
    real = atomic._write_all

    def write(descriptor, data):
        calls["n"] += 1
        if calls["n"] > after_calls:
            os.write(descriptor, data[: len(data) // 2])  # half the file reached the disk
            raise error
        real(descriptor, data)

    return write


def test_ctrl_c_while_writing_changes_nothing(book, crossref, capsys, monkeypatch):
    before = snapshot(book)
    monkeypatch.setattr(atomic, "_write_all", failing_write(3, KeyboardInterrupt()))
    code, _, err = add(book, STUDY, capsys=capsys)
    assert code == 130
    assert snapshot(book) == before


def test_a_full_disk_changes_nothing(book, crossref, capsys, monkeypatch):
    before = snapshot(book)
    monkeypatch.setattr(atomic, "_write_all", failing_write(4, OSError(errno.ENOSPC, "No space left on device")))
    code, _, err = add(book, STUDY, capsys=capsys)
    assert code == 1
    assert "No space left on device" in err and "Nothing was written." in err
    assert snapshot(book) == before


def test_ctrl_c_during_the_renames_waits_until_every_file_is_replaced(tmp_path, monkeypatch):
    paths = [tmp_path / f"file{number}.txt" for number in range(3)]
    for path in paths:
        path.write_text("old")
    real_replace = os.replace

    def replace_and_interrupt(source, target):
        real_replace(source, target)
        if Path(target) == paths[0]:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C after the first rename

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_files({path: b"new" for path in paths})
    assert [path.read_text() for path in paths] == ["new", "new", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]
