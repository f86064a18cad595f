"""Summary of findings per comparison and outcome, with a GRADE certainty rating and a reason for each downgrade.

A "comparison" is one product class against one comparator type, for one outcome domain of one condition
(for example: mixed cell preparations vs the same procedure without the product, for repigmentation in
vitiligo). A whole condition is never rated. The rules, the same in every chapter (methods chapter):

- **Start**: high when a randomized study (parallel or split-body) gives a result for that comparison,
  otherwise low (non-randomized comparisons).
- **Risk of bias** (from ``data/risk_of_bias.csv``): down one level when half or more of the participants are
  in studies judged at high risk (RoB 2), serious or critical risk (ROBINS-I), or not yet judged; down two
  when every study is so judged and none is at low risk. Death is measured without bias in open-label trials:
  for a mortality outcome, judgements of blinding-related domains are not counted (see ``MORTALITY``).
- **Inconsistency**: with a pooled analysis, down one when I² >= 50%. Without one (synthesis without
  meta-analysis), judged narratively from the direction of the study effects: down one when some 95% CIs lie
  wholly on the side of the cell product and others wholly on the side of the control. One study: not
  applicable.
- **Indirectness**: down one for a surrogate outcome (biomarkers, histology, skin thickness, ankle-brachial
  index, TcPO2, fat retention), and when the comparator is another dose of the same product (no untreated
  control). Background care given to both arms is not a co-intervention and does not lower certainty.
- **Imprecision**: judged on the sample behind one estimate (the pooled analysis, or else the largest single
  study), never on enrolment summed across studies that cannot be pooled: down one when that estimate's 95%
  CI includes no effect, and down one when fewer than 400 participants are behind it (GRADE's rule of thumb
  for an optimal information size). When no effect can be computed at all, down two.
- **Publication bias**: not assessed (too few studies per comparison); said in every table.

The rating never goes below very low.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

LEVELS = ("very low", "low", "moderate", "high")
RANDOMIZED_DESIGNS = {"rct", "randomized_split_body"}
OPTIMAL_INFORMATION_SIZE = 400
SURROGATE_DOMAINS = {"biomarker", "collagen_histology", "skin_thickness"}
SURROGATE_WORDS = ("ankle-brachial", "ankle brachial", "abi", "tcpo2", "transcutaneous oxygen", "fat retention",
                   "graft retention", "volume retention")
MORTALITY = ("mortality", "death", "survival")
UNIT_SINGULAR = {"participants": "participant", "lesions": "lesion", "patches": "patch", "sides": "side",
                 "wounds": "wound", "ulcers": "ulcer", "feet": "foot", "limbs": "limb", "scars": "scar",
                 "grafts": "graft"}
PRODUCT_CLASS_SHORT = {
    "stem_progenitor_cell": "stem/progenitor-cell products", "mixed_cell_preparation": "mixed cell preparations",
    "mature_cell": "mature-cell products", "cell_free_derivative": "cell-free derivatives",
    "animal_derived_cosmetic": "animal-derived cosmetic extracts",
}
PRODUCT_CLASS_LABELS = {
    "stem_progenitor_cell": "Stem/progenitor-cell product",
    "mixed_cell_preparation": "Mixed cell preparation (SVF, bone-marrow or epidermal cells)",
    "mature_cell": "Mature-cell product (fibroblasts, keratinocytes)",
    "cell_free_derivative": "Cell-free derivative (conditioned medium, exosomes, extracts)",
    "animal_derived_cosmetic": "Animal-derived cosmetic extract",
}


@dataclass
class Downgrade:
    domain: str
    levels: int
    reason: str


@dataclass
class ComparisonRating:
    """One row of a summary-of-findings table."""

    condition: str
    product_class: str
    comparator_type: str
    domain: str
    studies: list[str]
    participants: int
    randomized: int
    effect_text: str
    absolute_text: str
    start: str
    plain_effect: str = ""  # the effect in a few plain words, for the plain-language summary
    downgrades: list[Downgrade] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def certainty(self) -> str:
        lost = sum(d.levels for d in self.downgrades)
        return LEVELS[max(0, LEVELS.index(self.start) - lost)]


def _is_surrogate(domain: str, measures: list[str]) -> bool:
    if domain in SURROGATE_DOMAINS:
        return True
    text = f' {" ".join(measures).lower()}'
    # "abi" only as a word of its own (it is inside many words); the longer names anywhere
    return " abi" in text or any(word in text for word in SURROGATE_WORDS if len(word) > 3)


def _is_mortality(measures: list[str]) -> bool:
    return all(any(word in m.lower() for word in MORTALITY) for m in measures) if measures else False


def rate(condition: str, comparison: tuple[str, str, str], group: pd.DataFrame, effects: pd.DataFrame,
         studies: pd.DataFrame, overall: dict[str, tuple[str, str]], pooled=None) -> ComparisonRating:
    """The GRADE rating of one comparison.

    ``comparison``: (product class, comparator type, outcome domain); ``group``: the between-arm outcome rows of
    the comparison; ``effects``: their displayed effects
    (:func:`skinregen.present.forest.condition_effects` rows, possibly empty); ``studies``: the studies'
    rows; ``overall``: study -> (tool, overall risk-of-bias judgement); ``pooled``: a PooledAnalysis or None.
    """
    from .risk_of_bias import SERIOUS

    product_class, comparator, domain = comparison
    keys = sorted(set(group["study_key"]))
    chosen = studies[studies["key"].isin(keys)]
    n_of = dict(zip(chosen["key"], chosen["n_enrolled"].fillna(0).astype(int), strict=True))
    randomized = int(chosen["design"].isin(RANDOMIZED_DESIGNS).sum())
    measures = sorted(set(group["measure"]))
    start = "high" if randomized else "low"
    rating = ComparisonRating(condition, product_class, comparator, domain, keys, int(sum(n_of.values())),
                              randomized, "", "", start)

    # Risk of bias
    mortality = _is_mortality(measures)
    serious_n, judged_flags = 0, []
    for key in keys:
        judgement = overall.get(key)
        flagged = judgement is None or judgement[1] in SERIOUS
        if mortality and judgement is not None and judgement[0] == "rob2" and judgement[1] == "high":
            flagged = False  # open-label trials measure death without bias; the note says so
        judged_flags.append(flagged)
        serious_n += n_of.get(key, 0) if flagged else 0
    total_n = max(1, rating.participants)
    unjudged = [k for k in keys if k not in overall]
    if all(judged_flags) and keys:
        rating.downgrades.append(Downgrade("risk of bias", 2 if len(keys) > 0 and not any(
            overall.get(k, ("", ""))[1] == "low" for k in keys) and start == "high" else 1,
            "every study behind this comparison was judged at high or serious risk of bias"
            + (f" or not yet judged ({len(unjudged)})" if unjudged else "")))
    elif serious_n * 2 >= total_n:
        rating.downgrades.append(Downgrade("risk of bias", 1, f"{serious_n} of {rating.participants} participants "
                                           "are in studies at high or serious risk of bias (or not yet judged)"))
    if mortality:
        rating.notes.append("Death is not open to measurement bias: open-label design was not counted against it.")

    # Inconsistency
    if pooled is not None:
        if pooled.pooled.i2 >= 0.5:
            rating.downgrades.append(Downgrade("inconsistency", 1, f"I² = {100 * pooled.pooled.i2:.0f}% in the "
                                               "pooled analysis"))
    elif len(keys) > 1 and not effects.empty:
        sides = set(effects["favours"])
        if "cell product" in sides and "control" in sides:
            rating.downgrades.append(Downgrade("inconsistency", 1, "some studies' 95% CIs favour the cell product "
                                               "and others' favour the control (judged without pooling)"))
        else:
            rating.notes.append("Inconsistency judged without pooling (SWiM): the study effects do not point in "
                                "opposite directions.")
    elif len(keys) == 1:
        rating.notes.append("Inconsistency not applicable: one study.")

    # Indirectness
    if _is_surrogate(domain, measures):
        rating.downgrades.append(Downgrade("indirectness", 1, "surrogate outcome (" + ", ".join(measures[:2])
                                           + "): not what patients experience"))
    elif comparator == "other_dose_or_regimen":
        rating.downgrades.append(Downgrade("indirectness", 1, "compares doses of one product: no untreated or "
                                           "other-treatment control"))

    # Imprecision, on the sample behind one estimate
    if pooled is not None:
        low, high = pooled.pooled.ci_low, pooled.pooled.ci_high
        behind = sum(n_of.get(e.study_key, 0) for e in pooled.pooled.effects)
        crosses = low <= 0 <= high
        rating.effect_text = pooled.pooled.summary()
        from .effects import MEASURE_LABELS

        natural = pooled.pooled.natural
        rating.plain_effect = (f"{MEASURE_LABELS[pooled.pooled.measure].lower()} "
                               f"{natural(pooled.pooled.estimate):.2f} (95% CI {natural(low):.2f} to "
                               f"{natural(high):.2f}), pooled from {pooled.pooled.k} studies"
                               + ("; the interval includes no difference" if low <= 0 <= high else ""))
        where = "the pooled estimate"
    elif not effects.empty:
        largest = effects.sort_values("n_enrolled", ascending=False, na_position="last").iloc[0]
        behind = int(largest["n_enrolled"]) if pd.notna(largest["n_enrolled"]) else 0
        effect = largest["effect"]
        low, high = effect.ci95()
        crosses = low <= 0 <= high
        where = f"the largest study ({largest['label']})"
        rating.effect_text = _effect_range(effects)
        rating.absolute_text = _absolute(largest)
    else:
        behind, crosses, where = 0, None, ""
        rating.effect_text = "No effect size can be computed: the studies print no arm values with the counts or " \
                             "SDs an effect needs (p values only, or values without dispersion)."
    if crosses is None:
        rating.downgrades.append(Downgrade("imprecision", 2, "no comparative estimate with a confidence interval "
                                           "is available"))
    else:
        levels, reasons = 0, []
        if crosses:
            levels += 1
            reasons.append(f"the 95% CI of {where} includes no effect")
        if behind < OPTIMAL_INFORMATION_SIZE:
            levels += 1
            reasons.append(f"{behind} participants behind {where}, fewer than the {OPTIMAL_INFORMATION_SIZE} of "
                           "an optimal information size")
        if levels:
            rating.downgrades.append(Downgrade("imprecision", levels, "; ".join(reasons)))
    rating.notes.append("Publication bias not assessed: too few studies.")
    return rating


def _effect_range(effects: pd.DataFrame) -> str:
    from .effects import MEASURE_LABELS

    parts = []
    for measure, rows in effects.groupby("measure", sort=False):
        name = MEASURE_LABELS[measure]
        if len(rows) == 1:
            r = rows.iloc[0]
            parts.append(f"{name} {r['estimate']:.2f} (95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}); {r['label']}")
        else:
            favour = int((rows["favours"] == "cell product").sum())
            against = int((rows["favours"] == "control").sum())
            studies = rows["study_key"].nunique()
            parts.append(f"{name} from {rows['estimate'].min():.2f} to {rows['estimate'].max():.2f} across "
                         f"{len(rows)} comparisons of {studies} {'study' if studies == 1 else 'studies'} (not pooled); "
                         f"{favour} favour the cell product, {against} the control, {len(rows) - favour - against} "
                         "are inconclusive")
    return " · ".join(parts)


def _absolute(record) -> str:
    """Responders per 100 in each arm for a risk ratio, from the largest study's printed counts (computed)."""
    if record["measure"] != "risk_ratio":
        return ""
    arms = str(record["arms"]).split(" vs ")
    try:
        (a, n1), (c, n2) = (tuple(float(x) for x in arm.split("/")) for arm in arms[:2])
    except ValueError:
        return ""
    return (f"{100 * a / n1:.0f} per 100 with the cell product vs {100 * c / n2:.0f} per 100 with the control "
            f"({record['label']}; computed from {a:g}/{n1:g} vs {c:g}/{n2:g}, counted per "
            f"{UNIT_SINGULAR.get(record['unit'], record['unit'])})")


def ratings(evidence, condition: str) -> list[ComparisonRating]:
    """One rating per product class x comparator x outcome domain of a condition's between-arm results."""
    from ..present.forest import condition_effects, pooled_analyses
    from .risk_of_bias import overall_judgements

    studies = evidence.studies_for(condition=condition)
    outcomes = evidence.outcomes_for(studies["key"])
    outcomes = outcomes[(outcomes["comparison"] == "between_arms") & (outcomes["domain"] != "intervention_detail")]
    if outcomes.empty:
        return []
    frame = outcomes.merge(studies[["key", "product_class"]], left_on="study_key", right_on="key")
    frame["comparator_type"] = frame["comparator_type"].fillna("not_coded")
    effects = condition_effects(evidence, condition)
    overall = overall_judgements(evidence.table("risk_of_bias"))
    analyses = pooled_analyses(evidence, condition=condition)
    spec = evidence.table("analyses").set_index("id")
    result = []
    for (product_class, comparator, domain), group in frame.groupby(["product_class", "comparator_type", "domain"]):
        chosen = effects
        if not effects.empty:
            chosen = effects[(effects["product_class"] == product_class) & (effects["domain"] == domain)
                             & (effects["comparator_type"].fillna("not_coded") == comparator)]
        pooled = next((a for a in analyses if spec.loc[a.id, "product_class"] == product_class
                       and spec.loc[a.id, "comparator_type"] == comparator
                       and {e.study_key for e in a.pooled.effects} <= set(group["study_key"])), None)
        result.append(rate(condition, (product_class, comparator, domain), group, chosen, studies, overall, pooled))
    return sorted(result, key=lambda r: (-LEVELS.index(r.certainty), -r.participants))
