"""Random-effects pooling of comparable effects, with well-kept libraries doing the estimation.

Only comparisons named in ``data/analyses.csv`` are pooled: deciding that outcomes are similar enough to
combine is a reviewer's judgement, written in the data with its rationale, not guessed by code.

Methods (``analyses.method``):

- ``reml``: restricted maximum likelihood for tau² (PyMARE's ``VarianceBasedLikelihoodEstimator``), with the
  Hartung-Knapp-Sidik-Jonkman (Knapp-Hartung) adjustment: the CI uses the weighted residual scale and t with
  k - 1 degrees of freedom. The default: with as few studies as this book has, the Wald interval is too narrow.
- ``pm``: Paule-Mandel tau² (statsmodels' ``combine_effects``), then the same Knapp-Hartung interval (PyMARE's
  weighted least squares at that tau²).
- ``dl``: DerSimonian-Laird tau² (PyMARE), with the Knapp-Hartung interval.

Reported with every estimate: tau², I² (as metafor computes it from tau² and the typical within-study
variance, Higgins & Thompson 2002), Cochran's Q and, from three studies on, a 95% prediction interval
(estimate ± t(k - 1) x sqrt(tau² + SE²), as metafor's ``predict`` gives under ``test = "knha"``).
``tests/test_pooling.py`` reproduces metafor's published results for its BCG vaccine example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .effects import MEASURE_LABELS, Effect

POOLING_METHODS = {"reml": "REML", "pm": "Paule-Mandel", "dl": "DerSimonian-Laird"}


@dataclass(frozen=True)
class PooledEstimate:
    """A random-effects pooled estimate on the analysis scale (log for ratios), with heterogeneity."""

    effects: tuple[Effect, ...]
    method: str
    estimate: float
    se: float
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
        """A value on the reported scale: ratios are exponentiated."""
        if value is None:
            return None
        return self.effects[0].natural(value)

    def summary(self) -> str:
        """One sentence with the pooled estimate, its CI, heterogeneity and the prediction interval."""
        name = MEASURE_LABELS[self.measure].lower().replace("hedges'", "Hedges'")
        text = (f"Pooled {name} {self.natural(self.estimate):.2f} (95% CI {self.natural(self.ci_low):.2f} to "
                f"{self.natural(self.ci_high):.2f}; {self.k} studies; {POOLING_METHODS[self.method]} random effects "
                f"with the Hartung-Knapp-Sidik-Jonkman interval; tau² = {self.tau2:.3f}; I² = {100 * self.i2:.0f}%")
        if self.prediction_low is None:
            text += "; no prediction interval with fewer than 3 studies)."
        else:
            text += (f"; 95% prediction interval {self.natural(self.prediction_low):.2f} to "
                     f"{self.natural(self.prediction_high):.2f}).")
        return text


def metafor_i2(variances, tau2: float) -> float:
    """I² from tau² and the 'typical' within-study variance (metafor's rma.uni; Higgins & Thompson 2002)."""
    weights = [1 / v for v in variances]
    k, total = len(weights), sum(weights)
    typical = (k - 1) * total / (total**2 - sum(w * w for w in weights))
    return tau2 / (tau2 + typical)


def cochran_q(estimates, variances) -> float:
    weights = [1 / v for v in variances]
    mean = sum(w * y for w, y in zip(weights, estimates, strict=True)) / sum(weights)
    return sum(w * (y - mean) ** 2 for w, y in zip(weights, estimates, strict=True))


def pool(effects: list[Effect], method: str = "reml") -> PooledEstimate:
    """Random-effects pooling of two or more effects on one scale, Knapp-Hartung interval."""
    if method not in POOLING_METHODS:
        raise ValueError(f"unknown pooling method {method!r} (expected one of {', '.join(POOLING_METHODS)})")
    if len(effects) < 2:
        raise ValueError("pooling needs at least two studies")
    if len({effect.measure for effect in effects}) != 1:
        raise ValueError("all effects of one analysis must use the same measure")
    if len({effect.study_key for effect in effects}) != len(effects):
        raise ValueError("an analysis may hold only one comparison per study (a trial must not count twice)")
    import numpy as np  # imported here: `skinregen check` computes effects without loading scipy and PyMARE
    from pymare import Dataset
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator, WeightedLeastSquares
    from scipy import stats

    y = np.array([e.estimate for e in effects], dtype=float)
    v = np.array([e.variance for e in effects], dtype=float)
    if method == "reml":
        estimator = VarianceBasedLikelihoodEstimator(method="REML")
    elif method == "dl":
        estimator = DerSimonianLaird()
    else:
        from statsmodels.stats.meta_analysis import combine_effects

        with np.errstate(divide="ignore", invalid="ignore"):
            tau2_pm = max(0.0, float(combine_effects(y, v, method_re="pm", use_t=False).tau2))
        estimator = WeightedLeastSquares(tau2=tau2_pm, small_sample_correction="knapp-hartung")
    estimator.fit_dataset(Dataset(y=y, v=v))
    result = estimator.summary()
    fe = result.get_fe_stats()
    tau2 = max(0.0, float(np.ravel(result.tau2)[0]))
    estimate, se = float(fe["est"].ravel()[0]), float(fe["se"].ravel()[0])
    ci_low, ci_high = float(fe["ci_l"].ravel()[0]), float(fe["ci_u"].ravel()[0])
    weights = 1 / (v + tau2)
    k = len(effects)
    prediction_low = prediction_high = None
    if k >= 3:
        half = stats.t.ppf(0.975, k - 1) * math.sqrt(tau2 + se**2)
        prediction_low, prediction_high = estimate - half, estimate + half
    return PooledEstimate(
        effects=tuple(effects), method=method, estimate=estimate, se=se, ci_low=ci_low, ci_high=ci_high,
        tau2=tau2, i2=metafor_i2(v, tau2), q=cochran_q(y, v), prediction_low=prediction_low,
        prediction_high=prediction_high, weights=tuple(float(w) for w in weights / weights.sum()),
    )
