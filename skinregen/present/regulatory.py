"""The approvals table (data/approvals.csv) as the regulatory chapter shows it."""

from __future__ import annotations

import html

import pandas as pd

from ..data.evidence import Evidence
from .tables import HtmlCell, InteractiveTable, interactive_table

PATHWAY_LABELS = {"conditional_time_limited": "conditional, time-limited",
                  "marketing_authorisation": "marketing authorisation",
                  "conditional_marketing_authorisation": "conditional marketing authorisation"}


def approvals_table(evidence: Evidence) -> InteractiveTable:
    table = evidence.table("approvals").sort_values(["regulator", "date", "product"])
    conditions = evidence.vocabulary("conditions")["label"]
    frame = pd.DataFrame({
        "Product": table["product"].tolist(),
        "Regulator": [f"{r} ({j})" for r, j in zip(table["regulator"], table["jurisdiction"], strict=True)],
        "Date": table["date"].astype(str).tolist(),
        "Approved for": table["indication"].tolist(),
        "Condition in this book": [conditions.get(c, "—") if isinstance(c, str) else "— (not a skin condition here)"
                                   for c in table["condition"]],
        "Pathway": [PATHWAY_LABELS.get(p, p) for p in table["pathway"]],
        "Source": [HtmlCell(f'<a href="{html.escape(u, quote=True)}">{html.escape(s)}</a>')
                   for u, s in zip(table["source_url"], table["source_read"], strict=True)],
    })
    return interactive_table(frame, caption=f"Cell-based products approved by the regulators covered ({len(frame)} "
                             "approvals; each from the page read)", doi_column=None, numeric_columns=[],
                             wide_columns=["Approved for"])


def _name(product: str) -> str:
    return product.split(" (")[0]


def approvals_by_jurisdiction(evidence: Evidence):
    """Per regulator: how many approvals, which products, for which of the book's conditions."""
    from IPython.display import Markdown

    table = evidence.table("approvals")
    conditions = evidence.vocabulary("conditions")["label"]
    lines = []
    for regulator, rows in table.groupby("regulator", sort=True):
        skin = rows[rows["condition"].notna()]
        products = sorted({_name(p) for p in skin["product"]})
        covered = sorted({conditions[c].lower() for c in skin["condition"]})
        other = rows[rows["condition"].isna()]
        text = (f"- **{regulator}** ({rows['jurisdiction'].iloc[0]}): {len(skin)} approvals for skin conditions in "
                f"this book ({', '.join(covered) or 'none'})" + (f": {', '.join(products)}" if products else ""))
        if len(other):
            names = ", ".join(sorted({_name(p) for p in other["product"]}))
            text += f"; also {names} (for uses that have no chapter here)"
        lines.append(text + ".")
    return Markdown("\n".join(lines))
