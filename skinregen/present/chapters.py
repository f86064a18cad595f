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


def tagged(cell: dict, *tags: str) -> dict:
    cell["metadata"] = {**cell.get("metadata", {}), "tags": list(tags)}
    return cell


def setup_cell() -> dict:
    """The set-up cell: removed from the HTML (readers came for the evidence), kept in the notebook."""
    return tagged(code(SETUP), "remove-cell")


def view(call: str) -> dict:
    """A table or figure cell: its code is behind a toggle in the HTML, and all there in Jupyter and Binder."""
    return tagged(code(call), "hide-input")


NOT_MEDICAL_ADVICE = ("```{admonition} Not medical advice\n:class: warning\nThis chapter summarises published "
                      "studies. It is not a recommendation for any treatment; talk to a qualified clinician.\n```")
HOW_TO_READ = "[how to read this book](../how-to-read.md)"


def condition_cells(condition: str, title: str, background: str, unknowns: str, patients: str) -> list[dict]:
    """A condition chapter, answer first: plain-language summary, summary of findings, forest plots, risk of
    bias, the patient section, and only then background and the study-by-study detail."""
    arg = f'condition="{condition}"'
    return [
        markdown(f"# {title}\n\n{NOT_MEDICAL_ADVICE}"),
        setup_cell(),
        markdown("## Plain-language summary"),
        view(f"views.plain_language_summary(evidence, {arg})"),
        markdown("## Summary of findings\n\nOne row per comparison (product class against one kind of control) "
                 "and outcome, with the certainty of the evidence and the reason for every downgrade. See "
                 f"{HOW_TO_READ} and the [methods](../methods.ipynb) for the rules."),
        view(f"views.summary_of_findings(evidence, {arg})"),
        markdown("## Effects\n\nEach comparison's effect with its 95% confidence interval, computed from the "
                 "numbers the study printed; a pooled estimate only where comparisons are alike enough to combine. "
                 f"See {HOW_TO_READ} for how to read a forest plot."),
        view(f"views.effects_forest(evidence, {arg})"),
        markdown("## Primary outcomes, study by study\n\nEach study's own main outcome first, as the study named "
                 "it, with its effect where the printed numbers allow one."),
        view(f"views.primary_outcomes(evidence, {arg})"),
        markdown("## Risk of bias"),
        view(f"views.risk_of_bias(evidence, {arg})"),
        markdown(f"## For patients\n\nThe plain-language summary above gives the bottom line, the numbers and whether "
                 "any product is approved. How to tell a registered trial from a paid offer: see "
                 f"[Regulatory status](../regulatory.ipynb).\n\n{patients}"),
        markdown(f"## Background and standard of care\n\n{background}"),
        markdown("## The studies\n\nType in the box to filter the rows; click a column header to sort; open "
                 "*More* for a study's comparator, follow-up, funding and risk of bias. Each study name links to "
                 "its full reference."),
        view(f"views.study_table(evidence, {arg})"),
        view(f"views.study_size_figure(evidence, {arg})"),
        markdown(f"## What is still unknown\n\n{unknowns}"),
    ]


def mechanism_cells(mechanism: str, title: str, biology: str, reading: str) -> list[dict]:
    arg = f'mechanism="{mechanism}"'
    return [
        markdown(f"# {title}\n\n{biology}"),
        setup_cell(),
        markdown(f"## What the human studies measured\n\n{reading}"),
        markdown("## Effects on what was measured\n\nBetween-arm results of the studies that measured this "
                 "mechanism, as effects with 95% confidence intervals where the printed numbers allow."),
        view(f"views.mechanism_effects(evidence, {arg})"),
        markdown("## The printed results\n\nComparisons with a control arm and changes from baseline (no control) "
                 "are kept apart. Filter by a study or a measure."),
        view(f"views.mechanism_results_table(evidence, {arg})"),
        markdown("## The studies"),
        view(f"views.study_table(evidence, {arg})"),
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
                               TEMPLATE_NOTE.format(what="list of open questions"),
                               TEMPLATE_NOTE.format(what="patient section (standard care first, harms of the "
                                                    "procedure, cost and access, questions to ask a clinician)"))
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
