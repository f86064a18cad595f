"""Summary of findings per condition, with a GRADE-style certainty rating and the reason for each downgrade.

The rating follows fixed, published rules (see the methods chapter), so every chapter applies the same
judgement and a reader can redo it from the data:

- Start **high** when at least one randomized study (parallel or split-body) exists, otherwise **low**.
- **Risk of bias**: down one level when most randomized studies were open-label or did not report blinding;
  without randomized studies, down one level when most studies had no control group at all.
- **Inconsistency**: down one level when a pooled analysis of the condition has I² of 50% or more.
- **Indirectness**: down one level when most participants were in studies that gave the stem-cell product
  together with another active treatment (laser, microneedling, surgery), so its own effect is not isolated.
- **Imprecision**: down one level when the controlled studies enrolled fewer than 400 people in total (the
  GRADE rule of thumb for an optimal information size), or when a pooled 95% CI includes no effect.

The rating never goes below *very low*. Publication bias is not assessed: too few studies per outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..data.evidence import Evidence

LEVELS = ("very low", "low", "moderate", "high")
RANDOMIZED_DESIGNS = {"rct", "randomized_split_body"}
CONTROLLED_DESIGNS = RANDOMIZED_DESIGNS | {"nonrandomized_controlled"}
OPTIMAL_INFORMATION_SIZE = 400
BLINDED = {"single", "double", "assessor"}


@dataclass
class Downgrade:
    domain: str
    reason: str


@dataclass
class SummaryOfFindings:
    condition: str
    studies: int
    randomized: int
    controlled: int
    participants: int
    participants_unreported: int
    start: str
    downgrades: list[Downgrade] = field(default_factory=list)
    comparisons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def certainty(self) -> str:
        if not self.studies:
            return "no evidence"
        return LEVELS[max(0, LEVELS.index(self.start) - len(self.downgrades))]

    def as_table(self) -> pd.DataFrame:
        """Rows of (item, value) that a chapter shows as its summary-of-findings table."""
        rows = [
            ("Studies", f"{self.studies} ({self.randomized} randomized, {self.controlled} with a control group)"),
            ("Participants enrolled", f"{self.participants}" + (
                f" (plus {self.participants_unreported} studies that did not print a number)"
                if self.participants_unreported else "")),
            ("Comparisons with a printed p value", self.direction_text()),
            ("Starting certainty", f"{self.start} ("
             + ("randomized studies exist" if self.start == "high" else "no randomized study") + ")"),
        ]
        for downgrade in self.downgrades:
            rows.append((f"Downgraded: {downgrade.domain}", downgrade.reason))
        if not self.downgrades and self.studies:
            rows.append(("Downgrades", "none"))
        rows.append(("Certainty of the evidence", self.certainty.upper()))
        rows.extend(("Note", note) for note in self.notes)
        return pd.DataFrame(rows, columns=["Item", "Assessment"])

    def direction_text(self) -> str:
        c = self.comparisons
        total = sum(c.values())
        if not total:
            return "no between-arm comparison printed both values and a p value"
        return (f"{total} between-arm comparisons: {c.get('favours_cells', 0)} favour the stem-cell arm with "
                f"p < 0.05, {c.get('favours_control', 0)} favour the control with p < 0.05, "
                f"{c.get('no_difference', 0)} show no significant difference")


def _significant(p_value, relation) -> bool:
    if p_value is None or pd.isna(p_value):
        return False
    return float(p_value) < 0.05 or (relation in ("<", "<=") and float(p_value) <= 0.05)


def classify_comparison(row: dict) -> str | None:
    """favours_cells, favours_control or no_difference for a between-arm row, or None if undecidable."""
    if row.get("comparison") != "between_arms" or pd.isna(row.get("p_value")):
        return None
    if not _significant(row.get("p_value"), row.get("p_value_relation")):
        return "no_difference"
    higher = row.get("higher_is_better")
    int_value, ctrl_value = row.get("int_value"), row.get("ctrl_value")
    if pd.isna(int_value) or pd.isna(ctrl_value):
        int_events, int_total = row.get("int_events"), row.get("int_total")
        ctrl_events, ctrl_total = row.get("ctrl_events"), row.get("ctrl_total")
        if any(pd.isna(v) for v in (int_events, int_total, ctrl_events, ctrl_total)) or not int_total or not ctrl_total:
            return None
        int_value, ctrl_value = int_events / int_total, ctrl_events / ctrl_total
    if pd.isna(higher) or int_value == ctrl_value:
        return None
    return "favours_cells" if (int_value > ctrl_value) == bool(higher) else "favours_control"


def summary_of_findings(evidence: Evidence, condition: str, pooled=None) -> SummaryOfFindings:
    """The condition's evidence in numbers, and its certainty with a reason for every downgrade.

    ``pooled``: the condition's :class:`skinregen.present.forest.PooledAnalysis` list (computed when not given).
    """
    studies = evidence.studies_for(condition=condition)
    randomized = studies[studies["design"].isin(RANDOMIZED_DESIGNS)]
    controlled = studies[studies["design"].isin(CONTROLLED_DESIGNS)]
    summary = SummaryOfFindings(
        condition=condition, studies=len(studies), randomized=len(randomized), controlled=len(controlled),
        participants=int(studies["n_enrolled"].sum()), participants_unreported=int(studies["n_enrolled"].isna().sum()),
        start="high" if len(randomized) else "low",
    )
    if not len(studies):
        return summary
    for row in evidence.outcomes_for(studies["key"]).to_dict("records"):
        kind = classify_comparison(row)
        if kind:
            summary.comparisons[kind] = summary.comparisons.get(kind, 0) + 1
    if pooled is None:
        from ..present.forest import pooled_analyses

        pooled = pooled_analyses(evidence, condition=condition)

    if len(randomized):
        unblinded = randomized[~randomized["blinding"].isin(BLINDED)]
        if len(unblinded) * 2 > len(randomized):
            summary.downgrades.append(Downgrade(
                "risk of bias", f"{len(unblinded)} of {len(randomized)} randomized studies were open-label or did "
                "not report blinding"))
    else:
        uncontrolled = studies[~studies["design"].isin(CONTROLLED_DESIGNS)]
        if len(uncontrolled) * 2 > len(studies):
            summary.downgrades.append(Downgrade(
                "risk of bias", f"{len(uncontrolled)} of {len(studies)} studies had no control group"))

    heterogeneous = [a for a in pooled if a.pooled.i2 >= 0.5]
    if heterogeneous:
        worst = max(heterogeneous, key=lambda a: a.pooled.i2)
        summary.downgrades.append(Downgrade(
            "inconsistency", f"the pooled analysis '{worst.title}' has I² = {100 * worst.pooled.i2:.0f}%"))
    elif not pooled:
        summary.notes.append("Inconsistency could not be judged: no outcome was reported comparably by two or "
                             "more studies, so nothing was pooled.")

    enrolled = studies["n_enrolled"].fillna(0)
    combined = studies["combination"].notna() & (studies["combination"].astype("string").str.len() > 0)
    if enrolled.sum() and enrolled[combined].sum() * 2 > enrolled.sum():
        summary.downgrades.append(Downgrade(
            "indirectness", f"{int(enrolled[combined].sum())} of {int(enrolled.sum())} participants were in "
            "studies that combined the stem-cell product with another active treatment"))

    controlled_n = int(controlled["n_enrolled"].sum())
    crossing = [a for a in pooled if (a.pooled.ci_low <= 0 <= a.pooled.ci_high)]
    if controlled_n == 0:
        summary.downgrades.append(Downgrade(
            "imprecision", "no controlled study: there is no comparative estimate at all, only uncontrolled results"))
    elif controlled_n < OPTIMAL_INFORMATION_SIZE:
        summary.downgrades.append(Downgrade(
            "imprecision", f"the controlled studies enrolled {controlled_n} people in total, fewer than the "
            f"{OPTIMAL_INFORMATION_SIZE} GRADE suggests as an optimal information size"))
    elif crossing:
        summary.downgrades.append(Downgrade(
            "imprecision", f"the 95% CI of the pooled analysis '{crossing[0].title}' includes no effect"))
    return summary
