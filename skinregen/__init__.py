"""Shared code of the living review "Stem-cell therapies for skin regeneration".

One module per concern:

- :mod:`skinregen.paths`     -- finding the book's folder (``data/``, ``references.bib``)
- :mod:`skinregen.data`      -- loading the Frictionless data package into pandas
- :mod:`skinregen.validate`  -- ``python -m skinregen check``: data, bibliography and cross-references
- :mod:`skinregen.bib`       -- reading ``references.bib`` with bibtexparser
- :mod:`skinregen.effects`   -- effect sizes and random-effects pooling
- :mod:`skinregen.figures`   -- one figure style, and plotly output that works in the static site
- :mod:`skinregen.tables`    -- sortable, filterable HTML tables that work without a kernel
- :mod:`skinregen.sphinx_ext` -- the Sphinx extension that ships plotly.js and the table script once
"""

__version__ = "0.1.0"

__all__ = ["Evidence", "load", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so that `python -m skinregen check` does not pay for pandas.
    if name in ("Evidence", "load"):
        from . import data

        return getattr(data, name)
    raise AttributeError(f"module 'skinregen' has no attribute {name!r}")
