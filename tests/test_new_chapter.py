"""`python -m skinregen new-chapter`: a chapter from the template, listed in _toc.yml, ready for nbval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skinregen import cli
from skinregen.contribute.newchapter import toc_with_chapter
from skinregen.present import chapters

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "chapters" / "_templates"
NEW_CONDITION = 'discoid_lupus,Discoid lupus erythematosus,"Scarring skin lesions of discoid lupus erythematosus."\n'


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in [root / "_toc.yml", *sorted((root / "chapters").rglob("*")), *sorted((root / "data").glob("*"))]
            if p.is_file()}


def run(root: Path, target: str, capsys) -> tuple[int, str]:
    code = cli.main(["--root", str(root), "new-chapter", target])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("kind", ["conditions", "mechanisms"])
def test_the_committed_templates_are_what_the_package_writes(kind):
    committed = json.loads((TEMPLATES / f"{kind}.ipynb").read_text(encoding="utf-8"))
    assert committed == chapters.notebook(chapters.template_cells(kind)), (
        "chapters/_templates is out of date: run python -c \"from pathlib import Path; from skinregen.present.chapters "
        "import write_templates; write_templates(Path('chapters/_templates'))\"")


def test_the_condition_template_has_the_sections_a_chapter_needs():
    cells = json.loads((TEMPLATES / "conditions.ipynb").read_text(encoding="utf-8"))["cells"]
    headings = [line for cell in cells if cell["cell_type"] == "markdown"
                for line in cell["source"].splitlines() if line.startswith("## ")]
    # The answer first (as a Cochrane review gives it), the detail after.
    assert headings == ["## Plain-language summary", "## Summary of findings", "## Effects",
                        "## Primary outcomes, study by study", "## Risk of bias", "## For patients",
                        "## Background and standard of care", "## The studies", "## What is still unknown"]
    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    calls = "\n".join(cell["source"] for cell in code_cells)
    for call in ("plain_language_summary", "summary_of_findings", "effects_forest", "primary_outcomes",
                 "risk_of_bias", "study_table"):
        assert f'views.{call}(evidence, condition="{chapters.ID}")' in calls
    # Readers see no code: the set-up cell is removed from the HTML, the others are behind a toggle.
    assert code_cells[0]["metadata"]["tags"] == ["remove-cell"]
    assert all(cell["metadata"]["tags"] == ["hide-input"] for cell in code_cells[1:])


def test_the_templates_are_not_part_of_the_book():
    config = (ROOT / "_config.yml").read_text()
    assert '"chapters/_templates"' in config
    assert "_templates" not in (ROOT / "_toc.yml").read_text()


BAD_TARGETS = {
    "condition/psoriasis": "expected conditions/<id> or mechanisms/<id>",
    "conditions": "expected conditions/<id> or mechanisms/<id>",
    "conditions/Acne-Scars": "'Acne-Scars' is not an id",
    "conditions/lupus": "'lupus' is not an id in data/conditions.csv (known: acne_scars",
    "mechanisms/stemness": "'stemness' is not an id in data/mechanisms.csv",
    "conditions/psoriasis": "chapters/conditions/psoriasis.ipynb already exists",
}


@pytest.mark.parametrize("target", sorted(BAD_TARGETS))
def test_a_bad_target_is_refused_and_nothing_is_written(book_copy, capsys, target):
    before = snapshot(book_copy)
    code, output = run(book_copy, target, capsys)
    assert code == 1
    assert BAD_TARGETS[target] in output
    assert "Nothing was written." in output
    assert snapshot(book_copy) == before


def test_a_toc_without_a_part_for_the_kind_is_refused(book_copy, capsys):
    toc = book_copy / "_toc.yml"
    toc.write_text("\n".join(line for line in toc.read_text().splitlines() if "chapters/mechanisms/" not in line))
    with open(book_copy / "data" / "mechanisms.csv", "a", encoding="utf-8") as handle:
        handle.write('test_only,Test only,"A term that exists only in this test."\n')
    before = snapshot(book_copy)
    code, output = run(book_copy, "mechanisms/test_only", capsys)
    assert code == 1
    assert "_toc.yml: no part lists chapters/mechanisms/ chapters" in output
    assert snapshot(book_copy) == before


def test_a_missing_template_is_refused(book_copy, capsys):
    (book_copy / "chapters" / "_templates" / "conditions.ipynb").unlink()
    with open(book_copy / "data" / "conditions.csv", "a", encoding="utf-8") as handle:
        handle.write(NEW_CONDITION)
    code, output = run(book_copy, "conditions/discoid_lupus", capsys)
    assert code == 1
    assert "chapters/_templates/conditions.ipynb is missing" in output


def test_the_toc_gains_one_line_at_the_end_of_the_right_part():
    toc = (ROOT / "_toc.yml").read_text()
    new = toc_with_chapter(toc, "conditions", "chapters/conditions/discoid-lupus")
    old_lines, new_lines = toc.splitlines(), new.splitlines()
    assert len(new_lines) == len(old_lines) + 1
    position = new_lines.index("  - file: chapters/conditions/discoid-lupus")
    assert new_lines[position - 1] == "  - file: chapters/conditions/scar-prevention"
    assert new_lines[position + 1] == "- caption: Mechanisms"
    assert new_lines[:position] + new_lines[position + 1:] == old_lines


@pytest.mark.slow
def test_a_chapter_for_an_id_without_studies_says_so(book_copy, capsys):
    with open(book_copy / "data" / "conditions.csv", "a", encoding="utf-8") as handle:
        handle.write(NEW_CONDITION)
    code, output = run(book_copy, "conditions/discoid_lupus", capsys)
    assert code == 0, output
    notebook = json.loads((book_copy / "chapters" / "conditions" / "discoid-lupus.ipynb").read_text())
    assert "".join(notebook["cells"][0]["source"]).startswith("# Discoid lupus erythematosus")
    outputs = [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]]
    texts = json.dumps(outputs)
    assert "No human study of discoid lupus erythematosus is in the evidence database yet" in texts
    assert "application/vnd.plotly.v1+json" not in texts  # no empty figure
    assert all(output.get("output_type") != "error" for output in outputs)
    assert "- file: chapters/conditions/discoid-lupus" in (book_copy / "_toc.yml").read_text()


def test_re_executing_a_notebook_with_a_widget_gives_the_same_file(tmp_path):
    # The kernel gives every widget a random model id; stored outputs must not change from run to run.
    text = json.dumps(chapters.notebook([chapters.code("import ipywidgets\nipywidgets.IntSlider(value=3)")]))
    first, second = (chapters.execute(text, tmp_path) for _ in range(2))
    assert first == second
    view = json.loads(first)["cells"][0]["outputs"][0]["data"][chapters.WIDGET_VIEW_MIMETYPE]
    assert len(view["model_id"]) == 32
