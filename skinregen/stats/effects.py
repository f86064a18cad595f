"""An effect size with its 95% confidence interval for every usable between-arm result in ``data/outcomes.csv``.

What each kind of printed result gives (Cochrane Handbook, chapter 6):

- **Responders (or events) and totals per arm** -> risk ratio (``risk_ratio``, on the log scale for analysis)
  and risk difference (``risk_difference``). Zero-cell rule: when an arm has no events (or only events), 0.5 is
  added to every cell of that study for the risk ratio (Haldane-Anscombe); a risk ratio is not computed when
  both arms have no events or both have only events. The risk difference needs no correction; when both arms
  are all-or-none its variance is zero and it is not computed.
- **Mean, SD and n per arm** -> mean difference (``mean_difference``, cell-product arm minus control, on the
  printed scale) and the standardised mean difference (``smd``, Hedges' g with the small-sample correction J,
  oriented so that a positive g favours the cell-product arm). An SE is turned into an SD with
  SD = SE x sqrt(n); a 95% CI of an arm's mean with SD = sqrt(n) x (upper - lower) / (2 t(0.975, n - 1)).
  Only dispersions the source labels (sd, se, ci95) are used: an unlabelled "+/-" value is not guessed.
  Medians are not means: no effect is computed from them.
- **An effect printed with its 95% CI** (odds ratio, risk ratio, hazard ratio, mean difference) -> used as
  printed; its standard error is taken from the CI (ratios on the log scale).

Within-patient designs (split-face, split-wound, randomized split-body): the papers do not print the
within-person correlation, so the independent-arm variance is used; it overstates the variance (the CI is
too wide, never too narrow), and such effects are flagged ``conservative``.

Every computed value is labelled ``computed``; printed effects are labelled ``printed``. The derived table is
``data/derived/effects.csv``, written by ``python -m skinregen derive`` and recomputed by the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
RATIO_MEASURES = ("risk_ratio", "odds_ratio", "hazard_ratio")
MEASURE_LABELS = {
    "risk_ratio": "Risk ratio",
    "risk_difference": "Risk difference",
    "odds_ratio": "Odds ratio",
    "hazard_ratio": "Hazard ratio",
    "mean_difference": "Mean difference",
    "smd": "Standardised mean difference (Hedges' g)",
}
# How data/outcomes.csv's effect_measure values map onto these measures (others are shown as printed only).
PRINTED_MEASURES = {"odds_ratio": "odds_ratio", "or": "odds_ratio", "risk_ratio": "risk_ratio", "rr": "risk_ratio",
                    "relative_risk": "risk_ratio", "hazard_ratio": "hazard_ratio", "hr": "hazard_ratio",
                    "mean_difference": "mean_difference", "md": "mean_difference"}
WITHIN_PATIENT_DESIGNS = {"randomized_split_body"}
NOT_A_RESULT = "intervention_detail"


class EffectSizeError(ValueError):
    """A printed result lacks what an effect size needs (named in the message)."""


@dataclass(frozen=True)
class Effect:
    """One comparison's effect on the analysis scale (log for ratios) with its variance."""

    study_key: str
    outcome_no: int
    measure: str
    estimate: float
    variance: float
    source: str = "computed"  # or "printed"
    note: str = ""
    conservative: bool = False

    @property
    def ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    def ci95(self) -> tuple[float, float]:
        half = Z95 * self.standard_error
        return self.estimate - half, self.estimate + half

    def natural(self, value: float) -> float:
        """A value on the reported scale: ratios are exponentiated."""
        return math.exp(value) if self.ratio else value

    def natural_ci(self) -> tuple[float, float, float]:
        low, high = self.ci95()
        return self.natural(self.estimate), self.natural(low), self.natural(high)


def _number(row: dict, name: str) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # pandas NA and friends
        return None
    return None if math.isnan(number) else number


def _where(row: dict) -> str:
    return f"outcome {row.get('study_key')} #{row.get('outcome_no')}"


def _counts(row: dict, what: str) -> tuple[float, float, float, float]:
    counts = {name: _number(row, name) for name in ("int_events", "int_total", "ctrl_events", "ctrl_total")}
    missing = [name for name, value in counts.items() if value is None]
    if missing:
        raise EffectSizeError(f"{_where(row)}: a {what} needs {', '.join(missing)}")
    a, n1, c, n2 = counts["int_events"], counts["int_total"], counts["ctrl_events"], counts["ctrl_total"]
    if n1 <= 0 or n2 <= 0:
        raise EffectSizeError(f"{_where(row)}: arm totals must be positive")
    if a > n1 or c > n2:
        raise EffectSizeError(f"{_where(row)}: more events than participants in an arm")
    return a, n1, c, n2


def _key(row: dict) -> tuple[str, int]:
    return str(row["study_key"]), int(row["outcome_no"])


def log_risk_ratio(row: dict) -> Effect:
    """Log risk ratio (cell-product arm over control) from printed counts, with the zero-cell rule."""
    a, n1, c, n2 = _counts(row, "risk ratio")
    if a in (0, n1) and c in (0, n2) and (a == 0) == (c == 0):
        raise EffectSizeError(f"{_where(row)}: both arms have no events (or only events): the risk ratio is "
                              "undefined")
    note = ""
    if 0 in (a, c, n1 - a, n2 - c):
        a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1, n2 + 1
        note = "0.5 added to each cell (a zero cell)"
    estimate = math.log((a / n1) / (c / n2))
    variance = 1 / a - 1 / n1 + 1 / c - 1 / n2
    return Effect(*_key(row), "risk_ratio", estimate, variance, note=note)


def risk_difference(row: dict) -> Effect:
    """Risk in the cell-product arm minus risk in the control arm, from printed counts."""
    a, n1, c, n2 = _counts(row, "risk difference")
    p1, p2 = a / n1, c / n2
    variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if variance == 0:
        raise EffectSizeError(f"{_where(row)}: both arms are all-or-none: the risk difference has no variance")
    return Effect(*_key(row), "risk_difference", p1 - p2, variance)


def arm_sd(row: dict, arm: str) -> float | None:
    """The SD of an arm's mean, from a labelled SD, SE or 95% CI (None when the source gives none of them)."""
    kind = row.get(f"{arm}_disp_type")
    n = _number(row, f"{arm}_n")
    if n is None or n < 1:
        return None
    if kind in ("sd", "se"):
        disp = _number(row, f"{arm}_disp")
        if disp is None:
            return None
        return disp if kind == "sd" else disp * math.sqrt(n)
    if kind == "ci95":
        low, high = _number(row, f"{arm}_disp_low"), _number(row, f"{arm}_disp_high")
        if low is None or high is None or n < 2:
            return None
        from scipy import stats

        return math.sqrt(n) * (high - low) / (2 * stats.t.ppf(0.975, n - 1))
    return None


def _means(row: dict, what: str):
    needed = {
        "int_value": _number(row, "int_value"), "ctrl_value": _number(row, "ctrl_value"),
        "int_n": _number(row, "int_n"), "ctrl_n": _number(row, "ctrl_n"),
        "int SD (a labelled sd, se or ci95)": arm_sd(row, "int"),
        "ctrl SD (a labelled sd, se or ci95)": arm_sd(row, "ctrl"),
    }
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise EffectSizeError(f"{_where(row)}: a {what} needs {', '.join(missing)}")
    for arm in ("int", "ctrl"):
        if row.get(f"{arm}_stat") not in (None, "mean"):
            raise EffectSizeError(f"{_where(row)}: a {what} needs means ({arm}_stat is {row.get(f'{arm}_stat')!r})")
    values = list(needed.values())
    if values[2] < 2 or values[3] < 2:
        raise EffectSizeError(f"{_where(row)}: each arm needs at least 2 participants")
    return values


def _within_patient(design: str | None) -> bool:
    return design in WITHIN_PATIENT_DESIGNS


def mean_difference(row: dict, design: str | None = None) -> Effect:
    """Mean in the cell-product arm minus the control's, on the printed scale."""
    m1, m2, n1, n2, s1, s2 = _means(row, "mean difference")
    conservative = _within_patient(design)
    return Effect(*_key(row), "mean_difference", m1 - m2, s1**2 / n1 + s2**2 / n2,
                  note="independent-arm variance for a within-patient design (conservative)" if conservative else "",
                  conservative=conservative)


def hedges_g(row: dict, design: str | None = None) -> Effect:
    """Hedges' g from printed means and SDs; positive favours the cell-product arm."""
    m1, m2, n1, n2, s1, s2 = _means(row, "standardised mean difference")
    if row.get("higher_is_better") not in (True, False):
        raise EffectSizeError(f"{_where(row)}: higher_is_better must be true or false to orient the effect")
    pooled_sd = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    if pooled_sd == 0:
        raise EffectSizeError(f"{_where(row)}: both SDs are zero")
    d = (m1 - m2) / pooled_sd
    if row["higher_is_better"] is False:
        d = -d
    g = (1 - 3 / (4 * (n1 + n2) - 9)) * d
    variance = (n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2))
    conservative = _within_patient(design)
    return Effect(*_key(row), "smd", g, variance,
                  note="independent-arm variance for a within-patient design (conservative)" if conservative else "",
                  conservative=conservative)


def printed_effect(row: dict) -> Effect:
    """An effect the study printed with its 95% CI, used as printed."""
    name = str(row.get("effect_measure") or "").strip().lower()
    measure = PRINTED_MEASURES.get(name)
    value, low, high = (_number(row, f) for f in ("effect_value", "effect_ci_low", "effect_ci_high"))
    if measure is None:
        raise EffectSizeError(f"{_where(row)}: printed effect measure {row.get('effect_measure')!r} is not one of "
                              f"{', '.join(sorted(set(PRINTED_MEASURES.values())))}")
    if value is None or low is None or high is None:
        raise EffectSizeError(f"{_where(row)}: a printed effect needs effect_value, effect_ci_low and effect_ci_high")
    if measure in RATIO_MEASURES:
        if min(value, low, high) <= 0:
            raise EffectSizeError(f"{_where(row)}: a ratio and its CI must be positive")
        estimate, se = math.log(value), (math.log(high) - math.log(low)) / (2 * Z95)
    else:
        estimate, se = value, (high - low) / (2 * Z95)
    if se <= 0:
        raise EffectSizeError(f"{_where(row)}: the printed CI has no width")
    return Effect(*_key(row), measure, estimate, se**2, source="printed")


def effect_size(row: dict, measure: str, design: str | None = None) -> Effect:
    """One named effect of a row (used by pooled analyses)."""
    makers = {"risk_ratio": log_risk_ratio, "risk_difference": risk_difference,
              "smd": lambda r: hedges_g(r, design), "mean_difference": lambda r: mean_difference(r, design)}
    if measure not in makers:
        raise EffectSizeError(f"unknown effect measure {measure!r} (expected one of {', '.join(makers)})")
    return makers[measure](row)


def row_effects(row: dict, design: str | None = None) -> list[Effect]:
    """Every effect a between-arm row's printed numbers give (empty for other rows)."""
    if row.get("comparison") != "between_arms" or row.get("domain") == NOT_A_RESULT:
        return []
    found = []
    for make in (log_risk_ratio, risk_difference, lambda r: mean_difference(r, design),
                 lambda r: hedges_g(r, design), printed_effect):
        try:
            found.append(make(row))
        except EffectSizeError:
            continue
    return found


def favours(effect: Effect, higher_is_better) -> str:
    """Which arm the 95% CI favours: 'cell product', 'control', or 'neither (CI includes no effect)'.

    Risk ratios and differences of responders favour the cell product above no effect when higher is better;
    g is already oriented; a printed effect is read as the study's intervention over its control.
    """
    low, high = effect.ci95()
    null = 0.0
    if low <= null <= high:
        return "neither (CI includes no effect)"
    above = low > null
    if effect.measure == "smd":
        return "cell product" if above else "control"
    if higher_is_better not in (True, False):
        return "not orientable (direction of the scale not recorded)"
    return "cell product" if above == bool(higher_is_better) else "control"


EFFECT_COLUMNS = ["study_key", "outcome_no", "measure", "source", "estimate", "ci_low", "ci_high",
                  "analysis_estimate", "analysis_se", "favours", "conservative_variance", "note"]


def effects_rows(outcomes: list[dict], designs: dict[str, str]) -> list[dict]:
    """The rows of the derived effects table (rounded to 6 significant digits, so the file diffs cleanly)."""
    rows = []
    for row in outcomes:
        for effect in row_effects(row, designs.get(str(row["study_key"]))):
            estimate, low, high = effect.natural_ci()
            rows.append({
                "study_key": effect.study_key, "outcome_no": effect.outcome_no, "measure": effect.measure,
                "source": effect.source, "estimate": _round(estimate), "ci_low": _round(low),
                "ci_high": _round(high), "analysis_estimate": _round(effect.estimate),
                "analysis_se": _round(effect.standard_error), "favours": favours(effect, row.get("higher_is_better")),
                "conservative_variance": "true" if effect.conservative else "false", "note": effect.note,
            })
    return rows


def _round(value: float) -> str:
    return f"{value:.6g}"
