"""Shared code of the living review "Stem-cell therapies for skin regeneration".

One folder per concern:

- :mod:`skinregen.data`       -- the evidence database: loading it (``evidence``), checking it (``validate``,
  ``bib``: ``python -m skinregen check``), finding the book's folder (``paths``)
- :mod:`skinregen.stats`      -- effect sizes, random-effects pooling, risk of bias, certainty of evidence
- :mod:`skinregen.present`    -- figures, tables and the one-call ``views`` that chapters display
- :mod:`skinregen.contribute` -- students' commands: ``add-study`` and ``new-chapter``
- :mod:`skinregen.site`       -- the Sphinx extension, the myst-nb plotly renderer, assets and templates
- :mod:`skinregen.cli`        -- ``python -m skinregen ...``

Chapters use ``skinregen.load()`` and ``from skinregen import views``.
"""

__version__ = "0.1.0"

__all__ = ["Evidence", "load", "views", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so that `python -m skinregen check` does not pay for pandas.
    if name in ("Evidence", "load"):
        from .data import evidence

        return getattr(evidence, name)
    if name == "views":
        from .present import views

        return views
    raise AttributeError(f"module 'skinregen' has no attribute {name!r}")
