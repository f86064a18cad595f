"""The methods chapter's numbers: the logged search (PRISMA-S), the independent re-check, reading limits."""

from __future__ import annotations

import pandas as pd

from ..data.evidence import Evidence
from .tables import InteractiveTable, interactive_table


def search_summary(evidence: Evidence):
    """How many queries, for which targets, what they gave, and where new queries stopped giving new records."""
    from IPython.display import Markdown

    logged = evidence.table("searches")
    if logged.empty:
        return Markdown("*No search is logged yet in data/searches.csv.*")
    searches = logged[logged["purpose"] == "identification"].copy()
    lookups = len(logged) - len(searches)
    searches["target"] = [_main_target(t) for t in searches["target"]]
    by_target = searches.groupby("target").agg(queries=("search_no", "count"), read=("results_read", "sum"),
                                               new=("new_records", "sum"))
    saturated = searches[searches["note"].fillna("").str.contains("saturat", case=False)]
    lines = [
        f"{len(searches)} queries were run between {searches['date'].min()} and {searches['date'].max()} "
        f"against {searches['source'].nunique()} source(s) ({'; '.join(sorted(searches['source'].unique()))}). "
        f"{int(searches['results_read'].sum())} results were read and {int(searches['new_records'].sum())} new "
        f"records found. Queries per target (condition, product family or design): "
        + ", ".join(f"{t} {int(r.queries)}" for t, r in by_target.sort_values("queries", ascending=False).iterrows())
        + f". A further {lookups} look-ups of studies already known (re-checks of identity, numbers or funding) are "
        "logged too, and not counted as searches.",
        "Saturation (new queries returning no new eligible record) was noted for "
        + (", ".join(sorted(set(saturated["target"]))) if len(saturated) else "no target yet") + ".",
        "Targets with fewer than 8 queries: " + (", ".join(t for t, r in by_target.iterrows() if r.queries < 8)
                                                 or "none") + ".",
    ]
    return Markdown("\n\n".join(lines))


def _main_target(target: str) -> str:
    """'vitiligo; cultured melanocytes' -> 'vitiligo': the condition, product family or design aimed at first."""
    return target.split("/")[0].split(";")[0].strip()


def searches_table(evidence: Evidence) -> InteractiveTable:
    searches = evidence.table("searches").copy()
    for column in ("query", "target", "note"):
        searches[column] = [evidence.without_keys(v) for v in searches[column]]
    frame = searches.rename(columns={"search_no": "No.", "query": "Query", "source": "Source", "date": "Date",
                                     "target": "Target", "results_read": "Results read", "new_records": "New records",
                                     "note": "Note"})
    return interactive_table(frame, caption=f"Every query of the search ({len(frame)})", doi_column=None,
                             numeric_columns=["No.", "Results read", "New records"], wide_columns=["Query", "Note"])


def verification_summary(evidence: Evidence):
    """Agreement rate of the independent re-check (data/verification_log.csv)."""
    from IPython.display import Markdown

    log = evidence.table("verification_log")
    studies = evidence.studies
    second = int((studies["verification"] == "second_reader").sum())
    if log.empty:
        return Markdown(f"No field-by-field re-check is logged yet. {second} of {len(studies)} studies were checked "
                        "by a second reader.")
    checked = log[log["outcome"] != "not_checkable"]
    agree = int((checked["outcome"] == "agree").sum())
    corrected = int((checked["outcome"] == "corrected").sum())
    return Markdown(
        f"A second reader looked {log['study_key'].nunique()} studies up again "
        f"({log['study_key'].nunique() * 100 // max(1, len(studies))}% "
        f"of the {len(studies)} included) and compared {len(log)} fields with the source: {agree} of {len(checked)} "
        f"checkable fields agreed ({100 * agree / max(1, len(checked)):.1f}%), {corrected} were wrong and are "
        f"corrected, and {int((log['outcome'] == 'not_checkable').sum())} could not be checked on the page read. "
        f"In all, {second} of {len(studies)} studies are now marked as checked by a second reader.")


def reading_limits(evidence: Evidence):
    from IPython.display import Markdown

    studies = evidence.studies
    abstract = int((studies["source_checked"] == "abstract").sum())
    conference = int((studies["publication_type"] == "conference_abstract").sum())
    registry = int((studies["publication_type"] == "registry_results").sum())
    return Markdown(
        f"**{abstract} of {len(studies)} studies were read as abstracts only** (the full text was not open or not "
        f"stored); {conference} are conference abstracts and {registry} are trial-registry results postings. An "
        "abstract rarely reports allocation concealment, attrition or all outcomes, so risk of bias is often 'no "
        "information', selective reporting cannot be judged, and abstracts are known to present results more "
        "favourably than the full paper (spin). Every summary of findings repeats this.")


def units_table(evidence: Evidence) -> InteractiveTable:
    outcomes = evidence.outcomes
    counts = outcomes.groupby(["unit_of_analysis", "comparison"]).size().unstack(fill_value=0)
    frame = counts.reset_index().rename(columns={"unit_of_analysis": "Unit of analysis",
                                                 "between_arms": "Between-arm rows",
                                                 "within_arm_change": "Before/after rows"})
    return interactive_table(pd.DataFrame(frame), caption="What one observation counts, over all outcome rows",
                             doi_column=None)
