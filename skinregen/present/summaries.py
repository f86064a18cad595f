"""The answer first: a plain-language summary, the approval status and the summary-of-findings table.

Every number in these texts is computed from ``data/`` when the chapter runs, so the words cannot drift from
the data (nbval compares the stored outputs on every test run).
"""

from __future__ import annotations

import html

import pandas as pd

from ..data.evidence import Evidence
from ..stats.certainty import LEVELS, PRODUCT_CLASS_LABELS, PRODUCT_CLASS_SHORT, ComparisonRating, ratings
from .forest import comparator_label
from .tables import HtmlCell, interactive_table

CERTAINTY_WORDS = {
    "high": "we are confident the true effect is close to what the studies found",
    "moderate": "the true effect is probably close to what was found, but may differ",
    "low": "the true effect may be substantially different from what was found",
    "very low": "we have very little confidence in the result: the true effect is likely to be substantially "
                "different",
}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def approvals_for(evidence: Evidence, condition: str) -> pd.DataFrame:
    table = evidence.table("approvals")
    return table[table["condition"] == condition]


def approval_sentence(evidence: Evidence, condition: str) -> str:
    """Whether any cell-based product is approved for this condition, and where (from data/approvals.csv)."""
    rows = approvals_for(evidence, condition)
    label = evidence.label("conditions", condition).lower()
    if rows.empty:
        return (f"No regulator listed in this book's approvals table (US FDA, EU EMA, Japan PMDA/MHLW, Korea "
                f"MFDS) has approved a cell-based product for {label}; products offered for it outside a clinical "
                "trial are unapproved (see [Regulatory status](../regulatory.ipynb)).")
    parts = []
    for row in rows.sort_values("date").to_dict("records"):
        parts.append(f"{row['product'].split(' (')[0]} ({row['regulator']}, {row['jurisdiction']}, "
                     f"{str(row['date'])[:4]}: "
                     f"{row['indication']})")
    return (f"Approved cell-based products for {label}: " + "; ".join(parts) + ". An approval covers that product "
            "for its labelled use only, not other products or clinics' versions of them (see "
            "[Regulatory status](../regulatory.ipynb)).")


def harms_sentence(evidence: Evidence, keys) -> str:
    events = evidence.adverse_events[evidence.adverse_events["study_key"].isin(set(keys))]
    serious = events[events["serious"].fillna(False).astype(bool) & (events["n_with_event"].fillna(0) > 0)]
    related = serious[serious["relatedness"].isin(["related", "possibly_related"])]
    deaths = events[events["event"].str.contains("death|mortality|died", case=False, na=False)
                    & (events["n_with_event"].fillna(0) > 0)]
    stated_none = events[(events["n_with_event"] == 0)]["study_key"].nunique()
    silent = len(set(keys) - set(events["study_key"]))
    text = []
    if len(related):
        text.append("serious events judged related to the treatment in " + _plural(related["study_key"].nunique(),
                                                                                   "study", "studies") + " ("
                    + "; ".join(f"{int(r.n_with_event)} {r.event} in {evidence.cite(r.study_key)}"
                                for r in related.itertuples()) + ")")
    if len(deaths):
        text.append("deaths reported in " + _plural(deaths["study_key"].nunique(), "study", "studies"))
    if not text:
        text.append("no serious event judged related to treatment was reported")
    joined = "; ".join(text)
    return ("**Harms.** " + joined[0].upper() + joined[1:] + f". {_plural(stated_none, 'study', 'studies')} stated "
            f"that an event did not occur; {_plural(silent, 'study', 'studies')} said nothing about harms in what "
            "was read (see [Safety](../safety.ipynb)).")


def plain_language_summary(evidence: Evidence, *, condition: str):
    """About 150 words: what was studied in whom, what was found with numbers, how certain, harms, approval."""
    from IPython.display import Markdown

    studies = evidence.studies_for(condition=condition)
    label = evidence.label("conditions", condition)
    if studies.empty:
        return Markdown(f"No human study of {label.lower()} is in the evidence database yet.")
    randomized = int(studies["randomized"].fillna(False).sum())
    controlled = int(studies["design"].isin(["rct", "randomized_split_body", "nonrandomized_controlled"]).sum())
    people = int(studies["n_enrolled"].fillna(0).sum())
    classes = studies["product_class"].value_counts()
    class_text = ", ".join(f"{PRODUCT_CLASS_SHORT[c]} ({n})" for c, n in classes.items())
    rated = ratings(evidence, condition)
    lines = [
        f"**What was studied.** {_plural(len(studies), 'study', 'studies')} with {people} participants in all "
        f"tested cell-based products for {label.lower()}: {class_text}. {randomized} were randomized and "
        f"{controlled} had a control group; the rest followed treated people without a comparison.",
    ]
    best = [r for r in rated if r.effect_text and not r.effect_text.startswith("No effect")]
    if best:
        top = sorted(best, key=lambda r: (-LEVELS.index(r.certainty), -r.participants))[0]
        domain = evidence.label("outcome_domains", top.domain).lower()
        absolute = f" In absolute numbers: {top.absolute_text}." if top.absolute_text else ""
        lines.append(
            f"**What was found.** The best-supported comparison is {PRODUCT_CLASS_SHORT[top.product_class]} "
            f"{comparator_label(top.comparator_type)} for {domain}: "
            f"{(top.plain_effect or top.effect_text).rstrip('.')}.{absolute}")
        lines.append(f"**How certain.** The certainty of that result is **{top.certainty}**: "
                     f"{CERTAINTY_WORDS[top.certainty]}. Of {_plural(len(rated), 'comparison')} rated, "
                     + ", ".join(f"{sum(r.certainty == level for r in rated)} {level}" for level in reversed(LEVELS)
                                 if any(r.certainty == level for r in rated))
                     + " ({term}`certainty <certainty of evidence>`).")
    else:
        lines.append("**What was found.** No study prints the numbers a comparative effect needs (arm values with "
                     "their spread, or responders per arm), so the size of any benefit cannot be estimated; the "
                     "certainty of the evidence is very low.")
    lines.append(harms_sentence(evidence, studies["key"]))
    lines.append("**Approval.** " + approval_sentence(evidence, condition))
    return Markdown("\n\n".join(lines))


def summary_of_findings(evidence: Evidence, *, condition: str):
    """The Cochrane summary-of-findings layout: one row per comparison and outcome, footnoted downgrades."""
    from IPython.display import Markdown

    from .views import Outputs

    rated = ratings(evidence, condition)
    label = evidence.label("conditions", condition)
    if not rated:
        return Markdown(f"*No study of {label.lower()} reports a comparison between a cell-based product and a "
                        "control, so there is no summary of findings: the evidence is uncontrolled.*")
    footnotes: list[str] = []
    records = []
    for rating in rated:
        marks = []
        for downgrade in rating.downgrades:
            footnotes.append(f"{downgrade.domain}, −{downgrade.levels}: {downgrade.reason}")
            marks.append(str(len(footnotes)))
        records.append(_row(evidence, rating, marks))
    frame = pd.DataFrame(records)
    table = interactive_table(frame, caption=f"Summary of findings: {label}, per comparison and outcome "
                              f"({len(frame)} rows; most certain first)", doi_column=None,
                              numeric_columns=["Participants (studies)"], wide_columns=["Effect (95% CI)"])
    notes = "\n".join(f"{i}. {text[0].upper() + text[1:]}" for i, text in enumerate(footnotes, 1))
    reading = ("Most studies were read as abstracts: risk of bias and selective reporting are judged from what the "
               "abstracts say, and abstracts can overstate results (spin). Publication bias was not assessed.")
    reasons = f"{reading}\n\n**Reasons for downgrading** (the numbers in the table):\n\n{notes}"
    return Outputs([table, Markdown(reasons)])


def _row(evidence: Evidence, rating: ComparisonRating, marks: list[str]) -> dict:
    studies = ", ".join(evidence.cite_html(k) for k in rating.studies)
    return {
        "Outcome": evidence.label("outcome_domains", rating.domain),
        "Comparison": f"{PRODUCT_CLASS_LABELS[rating.product_class]} {comparator_label(rating.comparator_type)}",
        "Effect (95% CI)": HtmlCell(html.escape(rating.effect_text) + (
            f"<br><em>{html.escape(rating.absolute_text)}</em>" if rating.absolute_text else "")
            + f"<br><small>Studies: {studies}</small>"),
        "Participants (studies)": f"{rating.participants} ({len(rating.studies)})",
        "Certainty": HtmlCell(f"<strong>{rating.certainty.upper()}</strong>"
                              + (f" <sup>{','.join(marks)}</sup>" if marks else "")),
    }

