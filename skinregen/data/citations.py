"""Author-year labels and full references for studies, read from ``references.bib``.

Readers never see a BibTeX key: every table, plot label and hover names a study "First author et al., year"
(two authors: "A and B, year"; one: "A, year"; a, b... when two studies share a label), linked to its full
reference in the bibliography's "Studies included in this review" section. In HTML the link is written as
``skinregen-ref:<key>``; the Sphinx extension turns it into the relative address of that entry on each page
(:func:`skinregen.site.sphinx_ext`), so the same output works at every depth of the site.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .bib import read_bibliography

LINK_SCHEME = "skinregen-ref:"
ANCHOR_PREFIX = "study-"
_LATEX = {r"\&": "&", "{": "", "}": "", "--": "–", r"\'": "", r'\"': ""}


def _plain(text: str) -> str:
    for code, plain in _LATEX.items():
        text = text.replace(code, plain)
    return re.sub(r"\s+", " ", text).strip()


def _surname(author: str) -> str:
    author = _plain(author)
    if author.lower() == "others":
        return ""
    if "," in author:
        return author.split(",")[0].strip()
    tokens = author.split(" ")
    # "Razmi T" (surname, then initials) rather than "Given Surname"
    if len(tokens) > 1 and tokens[-1].isupper() and len(tokens[-1].replace(".", "")) <= 3:
        return " ".join(tokens[:-1])
    return tokens[-1]


def vancouver(author: str) -> str:
    """'Kwon, Hyuck Hoon' -> 'Kwon HH' (organisations and 'others' are kept as they are)."""
    author = _plain(author)
    if "," not in author:
        return author
    surname, given = (part.strip() for part in author.split(",", 1))
    initials = "".join(piece[0] for piece in re.split(r"[\s.-]+", given) if piece)
    return f"{surname} {initials}".strip()


def authors_of(field: str) -> list[str]:
    return [part.strip() for part in re.split(r"\s+and\s+", field or "") if part.strip()]


def anchor(key: str) -> str:
    return ANCHOR_PREFIX + key


@dataclass(frozen=True)
class Reference:
    key: str
    label: str  # "Kwon et al., 2020"
    text: str  # the full reference, plain text
    url: str | None  # DOI link, else the page read

    def link_html(self) -> str:
        """The label as a link to the full reference (the full reference as its tooltip)."""
        return (f'<a class="skinregen-ref" href="{LINK_SCHEME}{html.escape(self.key, quote=True)}" '
                f'title="{html.escape(self.text, quote=True)}">{html.escape(self.label)}</a>')


def _label(fields: dict[str, str], key: str) -> str:
    authors = authors_of(fields.get("author", ""))
    year = fields.get("year", "n.d.")
    names = [_surname(a) for a in authors]
    if not names or not names[0]:
        organisation = _plain(fields.get("author", "")) or key
        return f"{organisation}, {year}"
    if len(names) == 1:
        return f"{names[0]}, {year}"
    if len(names) == 2 and names[1]:
        return f"{names[0]} and {names[1]}, {year}"
    return f"{names[0]} et al., {year}"


def _full_text(fields: dict[str, str], key: str) -> str:
    authors = [vancouver(a) for a in authors_of(fields.get("author", ""))]
    if authors and authors[-1].lower() == "others":
        authors = [*authors[:-1], "et al."]
    who = ", ".join(authors[:6]) + (", et al." if len(authors) > 6 and "et al." not in authors[:6] else "")
    parts = [who or key, f"({fields.get('year', 'n.d.')})", _plain(fields.get("title", "")).rstrip(".") + "."]
    venue = _plain(fields.get("journal") or fields.get("booktitle") or fields.get("howpublished") or "")
    if venue:
        volume = fields.get("volume", "")
        issue = f"({fields['number']})" if fields.get("number") else ""
        pages = f": {_plain(fields['pages'])}" if fields.get("pages") else ""
        parts.append(f"{venue}{' ' + volume if volume else ''}{issue}{pages}.")
    if fields.get("doi"):
        parts.append(f"doi:{fields['doi']}")
    if fields.get("pmid"):
        parts.append(f"PMID {fields['pmid']}")
    if not fields.get("doi") and fields.get("url"):
        parts.append(fields["url"])
    return " ".join(part for part in parts if part)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def references(bib_path: Path, keys: list[str] | None = None) -> dict[str, Reference]:
    """A Reference for every entry (or for ``keys``), with a, b suffixes where labels would collide."""
    entries = read_bibliography(bib_path).entries
    chosen = keys if keys is not None else list(entries)
    labels = {key: _label(entries[key], key) for key in chosen if key in entries}
    by_label: dict[str, list[str]] = {}
    for key, label in labels.items():
        by_label.setdefault(label, []).append(key)
    for label, same in by_label.items():
        if len(same) > 1:
            for letter, key in zip("abcdefghijklmnopqrstuvwxyz", sorted(same, key=lambda k: (_fold(
                    entries[k].get("title", "")), k)), strict=False):
                labels[key] = label + letter
    result = {}
    for key, label in labels.items():
        fields = entries[key]
        url = f"https://doi.org/{fields['doi']}" if fields.get("doi") else fields.get("url")
        result[key] = Reference(key, label, _full_text(fields, key), url)
    return result
