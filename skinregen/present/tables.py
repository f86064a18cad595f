"""Sortable, filterable HTML tables that work in the static site without a kernel.

The table is plain HTML (readable with JavaScript off); ``_static/skinregen.js``, loaded once per site,
adds a filter box and click-to-sort headers to every ``table.skinregen-table``. All text from ``data/`` and
``references.bib`` is escaped, so a value containing HTML is shown as text and never runs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd

DOI_RESOLVER = "https://doi.org/"
WIDE = ' class="wide"'


def doi_url(doi: str) -> str:
    return DOI_RESOLVER + quote(doi, safe="/:;()._-")


class HtmlCell(str):
    """Cell content that is already HTML, built by this package from escaped parts (links, details)."""

    def plain(self) -> str:
        """The text a reader sees, for the notebook's plain-text output (what nbval compares)."""
        return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "; ", self)))


def _cell_text(value) -> str:
    if isinstance(value, HtmlCell):
        return value.plain()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class InteractiveTable:
    frame: pd.DataFrame
    caption: str
    doi_column: str | None = "doi"
    numeric_columns: list[str] = field(default_factory=list)
    wide_columns: list[str] = field(default_factory=list)

    def to_html(self) -> str:
        columns = list(self.frame.columns)
        head = "".join(
            f'<th scope="col" data-type="{"number" if col in self.numeric_columns else "text"}"'
            f'{WIDE if col in self.wide_columns else ""}>{html.escape(str(col))}</th>'
            for col in columns
        )
        rows = []
        for record in self.frame.itertuples(index=False, name=None):
            cells = []
            for col, value in zip(columns, record, strict=True):
                text = _cell_text(value)
                wide = WIDE if col in self.wide_columns else ""
                # data-label: on a phone each row is shown as a card, every cell preceded by its column's name
                label = f' data-label="{html.escape(str(col), quote=True)}"'
                if isinstance(value, HtmlCell):
                    cells.append(f"<td{wide}{label}>{value}</td>")
                elif col == self.doi_column and text:
                    cells.append(f'<td{label}><a href="{html.escape(doi_url(text), quote=True)}">'
                                 f'{html.escape(text)}</a></td>')
                else:
                    cells.append(f"<td{wide}{label}>{html.escape(text)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>\n")
        return (
            '<div class="skinregen-table-wrap">\n'
            f'<table class="skinregen-table"><caption>{html.escape(self.caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody></table>\n</div>"
        )

    def to_text(self) -> str:
        shown = self.frame.map(_cell_text) if len(self.frame) else self.frame
        return f"{self.caption}\n{shown.to_string(index=False)}"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.to_text(), "text/html": self.to_html()}

    def __repr__(self) -> str:
        return self.to_text()


def interactive_table(frame: pd.DataFrame, *, caption: str, doi_column: str | None = "doi",
                      numeric_columns: list[str] | None = None,
                      wide_columns: list[str] | None = None) -> InteractiveTable:
    """Display ``frame`` as a table readers can filter and sort in the static site."""
    numeric = numeric_columns
    if numeric is None:
        numeric = [col for col in frame.columns if pd.api.types.is_numeric_dtype(frame[col])]
    return InteractiveTable(frame=frame.reset_index(drop=True), caption=caption, doi_column=doi_column,
                            numeric_columns=list(numeric), wide_columns=list(wide_columns or []))
