"""Chapter notebooks built from one template per kind, so every chapter has the same sections and calls.

Used by ``python -m skinregen new-chapter`` and by the maintainers when a chapter's prose changes. The
notebook is written without outputs; ``make outputs`` (or ``python -m skinregen execute``) stores them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def code(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text.strip("\n")}


def notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


SETUP = """import skinregen
from skinregen import views

evidence = skinregen.load()"""


def condition_cells(condition: str, title: str, background: str, unknowns: str) -> list[dict]:
    arg = f'condition="{condition}"'
    return [
        markdown(f"# {title}\n\n```{{admonition}} Not medical advice\n:class: warning\nThis chapter summarises "
                 "published studies. It is not a recommendation for any treatment; talk to a qualified "
                 "clinician.\n```"),
        code(SETUP),
        markdown(f"## Background and standard of care\n\n{background}"),
        markdown("## Studies\n\nType in the box to filter the rows; click a column header to sort. The DOI links "
                 "open each study."),
        code(f"views.study_table(evidence, {arg})"),
        markdown("## Reported results\n\nA forest plot appears where two or more studies report the same kind of "
                 "outcome with the numbers a pooled estimate needs (see the [methods](../methods.ipynb)); otherwise "
                 "each study's printed values are shown side by side, not pooled."),
        code(f"views.pooling_note(evidence, {arg})"),
        code(f"views.reported_results(evidence, {arg})"),
        markdown("## Study sizes and designs"),
        code(f"views.study_size_figure(evidence, {arg})"),
        markdown("## Summary of findings\n\nNumbers of studies and participants, the direction of the printed "
                 "comparisons, and a GRADE-style certainty rating with the reason for every downgrade. The rules are "
                 "the same in every chapter (see the [methods](../methods.ipynb))."),
        code(f"views.summary_of_findings(evidence, {arg})"),
        markdown(f"## What is still unknown\n\n{unknowns}"),
    ]


def mechanism_cells(mechanism: str, title: str, biology: str, reading: str) -> list[dict]:
    arg = f'mechanism="{mechanism}"'
    return [
        markdown(f"# {title}\n\n{biology}"),
        code(SETUP),
        markdown(f"## What the human studies measured\n\n{reading}"),
        code(f"views.mechanism_figure(evidence, {arg})"),
        markdown("## The printed results\n\nEvery outcome row of the studies tagged with this mechanism, as printed. "
                 "Filter by a study key or a measure."),
        code(f"views.mechanism_results_table(evidence, {arg})"),
        markdown("## The studies"),
        code(f"views.study_table(evidence, {arg})"),
    ]


def write_notebook(path: Path, cells: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook_text(cells), encoding="utf-8")


def notebook_text(cells: list[dict]) -> str:
    return json.dumps(notebook(cells), indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------- templates
# chapters/_templates/<kind>.ipynb are these cells with placeholders; `new-chapter` fills them in, and
# tests/test_new_chapter.py checks that the committed templates equal what this code writes.

ID, TITLE = "{{id}}", "{{title}}"
TEMPLATE_NOTE = ("```{{note}}\nThis chapter was created from the project's template with `python -m skinregen "
                 "new-chapter`. Its {what} is still to be written: replace this box with your own words, and cite "
                 "each statement from `references.bib` with the cite role, as described in CONTRIBUTING.md.\n```")


def template_cells(kind: str) -> list[dict]:
    """The cells of the chapter template of ``kind`` ('conditions' or 'mechanisms'), with placeholders."""
    if kind == "conditions":
        return condition_cells(ID, TITLE, TEMPLATE_NOTE.format(what="background (what the condition is, how "
                               "common it is, and the standard of care)"),
                               TEMPLATE_NOTE.format(what="list of open questions"))
    if kind == "mechanisms":
        return mechanism_cells(ID, TITLE, TEMPLATE_NOTE.format(what="description of the biology"),
                               TEMPLATE_NOTE.format(what="guide to what the studies measured"))
    raise ValueError(f"no chapter template for {kind!r}")


def write_templates(folder: Path) -> None:
    for kind in ("conditions", "mechanisms"):
        write_notebook(folder / f"{kind}.ipynb", template_cells(kind))


def execute(notebook_text: str, folder: Path) -> str:
    """Run a notebook (given as text) with ``folder`` as working folder; return it with its outputs stored."""
    import nbclient
    import nbformat

    raw = json.loads(notebook_text)
    for index, cell in enumerate(raw.get("cells", [])):
        # Template cells have no id; give stable ones (nbformat 4.5 requires them) before nbformat would
        # make up random ones.
        cell.setdefault("id", f"cell-{index}")
    node = nbformat.reads(json.dumps(raw), as_version=4)
    nbclient.NotebookClient(node, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    # Widget state would make myst-nb load the ipywidgets manager from a CDN; the site does not need it.
    node.metadata.pop("widgets", None)
    for cell in node.cells:  # execution timestamps change on every run; without them a re-run diffs as nothing
        cell.metadata.pop("execution", None)
        _stable_widget_ids(cell)
    return nbformat.writes(node) + "\n"


def _stable_widget_ids(cell) -> None:
    """Give each widget view a model id derived from its cell, not the kernel's random one.

    The widget state is not stored (see above), so the id points at nothing either way; a derived id keeps
    a re-executed notebook byte-identical when nothing else changed.
    """
    for number, output in enumerate(cell.get("outputs", [])):
        view = output.get("data", {}).get(WIDGET_VIEW_MIMETYPE)
        if isinstance(view, dict) and "model_id" in view:
            view["model_id"] = hashlib.sha1(f"{cell.get('id')}/{number}".encode()).hexdigest()[:32]
