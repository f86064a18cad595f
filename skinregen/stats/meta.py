"""Effect sizes from printed study results, and random-effects pooling with statsmodels.

Only comparisons named in ``data/analyses.csv`` are pooled: deciding that outcomes are similar enough to
combine is a reviewer's judgement, recorded in the data where it can be read and challenged, not something
the code guesses. Every effect is computed from the numbers as printed in ``data/outcomes.csv``.

Conventions
-----------
- ``risk_ratio``: responders (or events) in the stem-cell arm over the control arm, from printed counts. The
  log risk ratio and its variance use the usual large-sample formula; when a cell is zero, 0.5 is added to
  every cell of that study (Haldane-Anscombe correction) and the result says so.
- ``smd``: standardised mean difference, Hedges' g (Cohen's d with the small-sample correction J), from the
  printed means, SDs (an SE is turned into an SD with SD = SE * sqrt(n)) and arm sizes. Its sign is set so
  that a positive g favours the stem-cell arm, whichever direction the scale runs.
- Pooling: DerSimonian-Laird (``dl``) or Paule-Mandel (``pm``) random effects via
  :func:`statsmodels.stats.meta_analysis.combine_effects`, with a 95% Wald confidence interval, tau², I², Q
  and, from three studies on, a 95% prediction interval (Higgins, Thompson & Spiegelhalter 2009: t with
  k - 2 degrees of freedom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EFFECT_MEASURES = ("risk_ratio", "smd")
POOLING_METHODS = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}


class EffectSizeError(ValueError):
    """A printed result lacks what an effect size needs (named in the message)."""


@dataclass(frozen=True)
class Effect:
    """One study's effect on the analysis scale (log risk ratio, or Hedges' g) with its variance."""

    study_key: str
    outcome_no: int
    estimate: float
    variance: float
    measure: str
    note: str = ""

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)

    def ci95(self) -> tuple[float, float]:
        half = 1.959963984540054 * self.standard_error
        return self.estimate - half, self.estimate + half


def _number(row: dict, name: str) -> float | None:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):  # pandas NA and friends
        return None


def _where(row: dict) -> str:
    return f"outcome {row.get('study_key')} #{row.get('outcome_no')}"


def log_risk_ratio(row: dict) -> Effect:
    """Log risk ratio (stem-cell arm over control) from printed counts."""
    counts = {name: _number(row, name) for name in ("int_events", "int_total", "ctrl_events", "ctrl_total")}
    missing = [name for name, value in counts.items() if value is None]
    if missing:
        raise EffectSizeError(f"{_where(row)}: a risk ratio needs {', '.join(missing)}")
    a, n1, c, n2 = counts["int_events"], counts["int_total"], counts["ctrl_events"], counts["ctrl_total"]
    if n1 <= 0 or n2 <= 0:
        raise EffectSizeError(f"{_where(row)}: arm totals must be positive")
    note = ""
    if a in (0, n1) and c in (0, n2):
        raise EffectSizeError(f"{_where(row)}: both arms have all or no events, so the risk ratio is undefined")
    if 0 in (a, c, n1 - a, n2 - c):
        a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1, n2 + 1
        note = "0.5 added to each cell (a zero cell)"
    estimate = math.log((a / n1) / (c / n2))
    variance = 1 / a - 1 / n1 + 1 / c - 1 / n2
    return Effect(str(row["study_key"]), int(row["outcome_no"]), estimate, variance, "risk_ratio", note)


def _arm_sd(row: dict, arm: str) -> float | None:
    disp, kind, n = _number(row, f"{arm}_disp"), row.get(f"{arm}_disp_type"), _number(row, f"{arm}_n")
    if disp is None or n is None:
        return None
    if kind == "sd":
        return disp
    if kind == "se":
        return disp * math.sqrt(n)
    return None


def hedges_g(row: dict) -> Effect:
    """Hedges' g from printed means, SDs (or SEs) and arm sizes; positive favours the stem-cell arm."""
    needed = {
        "int_value": _number(row, "int_value"), "ctrl_value": _number(row, "ctrl_value"),
        "int_n": _number(row, "int_n"), "ctrl_n": _number(row, "ctrl_n"),
        "int_disp (SD or SE)": _arm_sd(row, "int"), "ctrl_disp (SD or SE)": _arm_sd(row, "ctrl"),
    }
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        raise EffectSizeError(f"{_where(row)}: a standardised mean difference needs {', '.join(missing)}")
    if row.get("higher_is_better") not in (True, False):
        raise EffectSizeError(f"{_where(row)}: higher_is_better must be true or false to orient the effect")
    m1, m2 = needed["int_value"], needed["ctrl_value"]
    n1, n2 = needed["int_n"], needed["ctrl_n"]
    s1, s2 = needed["int_disp (SD or SE)"], needed["ctrl_disp (SD or SE)"]
    if n1 < 2 or n2 < 2:
        raise EffectSizeError(f"{_where(row)}: each arm needs at least 2 participants")
    pooled_sd = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    if pooled_sd == 0:
        raise EffectSizeError(f"{_where(row)}: both SDs are zero")
    d = (m1 - m2) / pooled_sd
    if row["higher_is_better"] is False:
        d = -d
    correction = 1 - 3 / (4 * (n1 + n2) - 9)
    g = correction * d
    variance = (n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2))
    return Effect(str(row["study_key"]), int(row["outcome_no"]), g, variance, "smd")


def effect_size(row: dict, measure: str) -> Effect:
    if measure == "risk_ratio":
        return log_risk_ratio(row)
    if measure == "smd":
        return hedges_g(row)
    raise EffectSizeError(f"unknown effect measure {measure!r} (expected one of {', '.join(EFFECT_MEASURES)})")


@dataclass(frozen=True)
class PooledEstimate:
    """A random-effects pooled estimate on the analysis scale (log RR or g), with heterogeneity."""

    effects: tuple[Effect, ...]
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    q: float
    prediction_low: float | None
    prediction_high: float | None
    weights: tuple[float, ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.effects)

    @property
    def measure(self) -> str:
        return self.effects[0].measure

    def natural(self, value: float | None) -> float | None:
        """A value on the reported scale: risk ratios are exponentiated, g is left as it is."""
        if value is None:
            return None
        return math.exp(value) if self.measure == "risk_ratio" else value

    def summary(self) -> str:
        """One sentence with the pooled estimate, its CI, heterogeneity and the prediction interval."""
        name = "risk ratio" if self.measure == "risk_ratio" else "Hedges' g"
        text = (f"Pooled {name} {self.natural(self.estimate):.2f} (95% CI {self.natural(self.ci_low):.2f} to "
                f"{self.natural(self.ci_high):.2f}; {self.k} studies; {POOLING_METHODS[self.method]} random "
                f"effects; tau² = {self.tau2:.3f}; I² = {100 * self.i2:.0f}%")
        if self.prediction_low is None:
            text += "; no prediction interval with fewer than 3 studies)."
        else:
            text += (f"; 95% prediction interval {self.natural(self.prediction_low):.2f} to "
                     f"{self.natural(self.prediction_high):.2f}).")
        return text


def pool(effects: list[Effect], method: str = "dl") -> PooledEstimate:
    """Random-effects pooling of two or more effects on one scale."""
    if method not in POOLING_METHODS:
        raise ValueError(f"unknown pooling method {method!r} (expected one of {', '.join(POOLING_METHODS)})")
    if len(effects) < 2:
        raise ValueError("pooling needs at least two studies")
    if len({effect.measure for effect in effects}) != 1:
        raise ValueError("all effects of one analysis must use the same measure")
    if len({effect.study_key for effect in effects}) != len(effects):
        raise ValueError("an analysis may hold only one comparison per study (a trial must not count twice)")
    import numpy as np  # imported here: `skinregen check` computes effects without loading scipy/statsmodels
    from scipy import stats
    from statsmodels.stats.meta_analysis import combine_effects

    estimates = np.array([effect.estimate for effect in effects], dtype=float)
    variances = np.array([effect.variance for effect in effects], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # tau² = 0 is handled below
        result = combine_effects(estimates, variances, method_re=method, use_t=False)
        intervals = result.conf_int(use_t=False)
    tau2 = float(result.tau2)
    q = float(result.q)
    df = len(effects) - 1
    if tau2 > 0:
        mean, se = float(result.mean_effect_re), float(result.sd_eff_w_re)
        ci_low, ci_high = (float(x) for x in intervals[1])
        weights = tuple(float(w) for w in result.weights_rel_re)
    else:
        # statsmodels 0.15 returns the untruncated DerSimonian-Laird moment estimate, negative when Q < df
        # (and then weights 1/(v + tau²) that blow up). tau² is a variance: truncate it at 0, as DerSimonian
        # and Laird do, which makes the random-effects model the fixed-effect one.
        tau2 = 0.0
        mean, se = float(result.mean_effect_fe), float(result.sd_eff_w_fe)
        ci_low, ci_high = (float(x) for x in intervals[0])
        weights = tuple(float(w) for w in result.weights_rel_fe)
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    prediction_low = prediction_high = None
    if len(effects) >= 3:
        half = stats.t.ppf(0.975, len(effects) - 2) * math.sqrt(tau2 + se**2)
        prediction_low, prediction_high = mean - half, mean + half
    return PooledEstimate(
        effects=tuple(effects), method=method, estimate=mean, ci_low=ci_low, ci_high=ci_high, tau2=tau2,
        i2=i2, q=q, prediction_low=prediction_low, prediction_high=prediction_high, weights=weights,
    )
