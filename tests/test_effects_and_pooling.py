"""Effect sizes and pooled estimates, checked against calculations done by hand.

The hand calculations are written out in the comments so a reader can redo them on paper. The last test
recomputes every pooled analysis in the book from data/ with an independent, plain-Python DerSimonian-Laird
(or Paule-Mandel) implementation and compares it with what the chapters show.
"""

from __future__ import annotations

import math

import pytest

from skinregen.stats import meta


def outcome(**values):
    row = {"study_key": "demo2020study", "outcome_no": 1, "higher_is_better": True}
    row.update(values)
    return row


def test_log_risk_ratio_by_hand():
    # 10/20 healed with cells vs 5/20 with control: RR = 0.5 / 0.25 = 2.
    # var(log RR) = 1/10 - 1/20 + 1/5 - 1/20 = 0.1 - 0.05 + 0.2 - 0.05 = 0.2
    effect = meta.log_risk_ratio(outcome(int_events=10, int_total=20, ctrl_events=5, ctrl_total=20))
    assert math.exp(effect.estimate) == pytest.approx(2.0)
    assert effect.variance == pytest.approx(0.2)
    assert effect.note == ""


def test_zero_cell_gets_half_added_everywhere():
    # 6/6 vs 1/6 has a zero non-event cell: (6.5/7) / (1.5/7) = 6.5 / 1.5 = 4.3333...
    # var = 1/6.5 - 1/7 + 1/1.5 - 1/7
    effect = meta.log_risk_ratio(outcome(int_events=6, int_total=6, ctrl_events=1, ctrl_total=6))
    assert math.exp(effect.estimate) == pytest.approx(6.5 / 1.5)
    assert effect.variance == pytest.approx(1 / 6.5 - 1 / 7 + 1 / 1.5 - 1 / 7)
    assert "0.5 added" in effect.note


def test_hedges_g_by_hand_and_oriented_by_direction():
    # means 12 vs 10, SD 2 in both arms of 10: pooled SD = 2, d = 1, J = 1 - 3/(4*20 - 9) = 1 - 3/71
    # g = 68/71 = 0.957746..., var = 20/100 + g^2/40
    row = outcome(int_value=12, ctrl_value=10, int_disp=2, ctrl_disp=2, int_disp_type="sd",
                  ctrl_disp_type="sd", int_n=10, ctrl_n=10)
    effect = meta.hedges_g(row)
    assert effect.estimate == pytest.approx(68 / 71)
    assert effect.variance == pytest.approx(0.2 + (68 / 71) ** 2 / 40)
    # On a scale where lower is better, the same numbers favour the control arm: g changes sign.
    assert meta.hedges_g({**row, "higher_is_better": False}).estimate == pytest.approx(-68 / 71)


def test_standard_error_is_turned_into_sd():
    # SE 0.5 with n = 16 is SD 0.5 * 4 = 2: the same g as with SD 2 and n = 16 in both arms.
    by_se = meta.hedges_g(outcome(int_value=3, ctrl_value=1, int_disp=0.5, ctrl_disp=0.5, int_disp_type="se",
                                  ctrl_disp_type="se", int_n=16, ctrl_n=16))
    by_sd = meta.hedges_g(outcome(int_value=3, ctrl_value=1, int_disp=2, ctrl_disp=2, int_disp_type="sd",
                                  ctrl_disp_type="sd", int_n=16, ctrl_n=16))
    assert by_se.estimate == pytest.approx(by_sd.estimate)


@pytest.mark.parametrize("row, message", [
    (outcome(int_events=3, int_total=10), "needs ctrl_events, ctrl_total"),
    (outcome(int_events=0, int_total=5, ctrl_events=0, ctrl_total=5), "undefined"),
])
def test_risk_ratio_refuses_what_it_cannot_compute(row, message):
    with pytest.raises(meta.EffectSizeError, match=message):
        meta.log_risk_ratio(row)


def test_smd_needs_sd_not_a_range():
    row = outcome(int_value=3, ctrl_value=1, int_disp=2, ctrl_disp=2, int_disp_type="range",
                  ctrl_disp_type="sd", int_n=10, ctrl_n=10)
    with pytest.raises(meta.EffectSizeError, match="int_disp"):
        meta.hedges_g(row)


def test_dersimonian_laird_two_studies_by_hand():
    # y = 0 and 1, both variance 0.1. Fixed weights 10 and 10: fixed mean 0.5.
    # Q = 10 * 0.25 + 10 * 0.25 = 5, df = 1, C = 20 - 200/20 = 10, tau² = (5 - 1)/10 = 0.4.
    # Random weights 1/(0.1 + 0.4) = 2 each: mean 0.5, SE = sqrt(1/4) = 0.5, CI 0.5 ± 1.96 * 0.5.
    # I² = (Q - df)/Q = 0.8. No prediction interval with two studies.
    effects = [meta.Effect("a2020x", 1, 0.0, 0.1, "smd"), meta.Effect("b2021y", 1, 1.0, 0.1, "smd")]
    pooled = meta.pool(effects, "dl")
    assert pooled.estimate == pytest.approx(0.5)
    assert pooled.tau2 == pytest.approx(0.4)
    assert pooled.q == pytest.approx(5.0)
    assert pooled.i2 == pytest.approx(0.8)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((0.5 - 1.959964 * 0.5, 0.5 + 1.959964 * 0.5))
    assert pooled.prediction_low is None
    assert pooled.weights == pytest.approx((0.5, 0.5))


def test_homogeneous_studies_have_zero_tau2_and_a_prediction_interval():
    # y = 1, 1, 1 with variances 0.1, 0.2, 0.4: Q = 0, so tau² = 0 and I² = 0; the random-effects mean is the
    # fixed-effect mean 1 with SE sqrt(1/(10 + 5 + 2.5)); the prediction interval (t, 1 df) is
    # 1 ± 12.7062 * SE.
    effects = [meta.Effect(f"s{i}2020x", 1, 1.0, v, "smd") for i, v in enumerate((0.1, 0.2, 0.4))]
    pooled = meta.pool(effects, "dl")
    se = math.sqrt(1 / 17.5)
    assert pooled.tau2 == pytest.approx(0.0)
    assert pooled.i2 == pytest.approx(0.0)
    assert pooled.estimate == pytest.approx(1.0)
    assert (pooled.prediction_low, pooled.prediction_high) == pytest.approx((1 - 12.7062 * se, 1 + 12.7062 * se),
                                                                             rel=1e-4)


def test_pooling_refuses_a_trial_counted_twice():
    effects = [meta.Effect("a2020x", 1, 0.0, 0.1, "smd"), meta.Effect("a2020x", 2, 1.0, 0.1, "smd")]
    with pytest.raises(ValueError, match="count twice"):
        meta.pool(effects)


def independent_random_effects(estimates, variances, method):
    """Plain-Python DerSimonian-Laird, or Paule-Mandel by bisection, written without statsmodels."""
    weights = [1 / v for v in variances]
    fixed = sum(w * y for w, y in zip(weights, estimates, strict=True)) / sum(weights)
    q = sum(w * (y - fixed) ** 2 for w, y in zip(weights, estimates, strict=True))
    df = len(estimates) - 1
    if method == "dl":
        c = sum(weights) - sum(w * w for w in weights) / sum(weights)
        tau2 = max(0.0, (q - df) / c)
    else:
        def generalised_q(t2):
            w = [1 / (v + t2) for v in variances]
            mean = sum(wi * y for wi, y in zip(w, estimates, strict=True)) / sum(w)
            return sum(wi * (y - mean) ** 2 for wi, y in zip(w, estimates, strict=True))
        low, high = 0.0, 100.0
        if generalised_q(0.0) <= df:
            tau2 = 0.0
        else:
            for _ in range(200):
                middle = (low + high) / 2
                low, high = (middle, high) if generalised_q(middle) > df else (low, middle)
            tau2 = (low + high) / 2
    w = [1 / (v + tau2) for v in variances]
    mean = sum(wi * y for wi, y in zip(w, estimates, strict=True)) / sum(w)
    se = math.sqrt(1 / sum(w))
    return mean, mean - 1.959964 * se, mean + 1.959964 * se, tau2


def test_every_pooled_analysis_in_the_book_is_reproduced(book_root):
    from skinregen import load
    from skinregen.present.views import pooled_analyses

    evidence = load(book_root)
    analyses = evidence.table("analyses")
    for analysis in pooled_analyses(evidence):
        effects = analysis.pooled.effects
        expected = independent_random_effects([e.estimate for e in effects], [e.variance for e in effects],
                                              analysis.pooled.method)
        got = (analysis.pooled.estimate, analysis.pooled.ci_low, analysis.pooled.ci_high, analysis.pooled.tau2)
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-6), analysis.id
        # and each study's effect is recomputed from the printed numbers of its row
        for effect in effects:
            row = evidence.outcomes.set_index(["study_key", "outcome_no"]).loc[
                (effect.study_key, effect.outcome_no)].to_dict()
            row.update(study_key=effect.study_key, outcome_no=effect.outcome_no)
            if effect.measure == "risk_ratio":
                a, n1, c, n2 = (float(row[k]) for k in ("int_events", "int_total", "ctrl_events", "ctrl_total"))
                if 0 in (a, c, n1 - a, n2 - c):
                    a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1, n2 + 1
                assert effect.estimate == pytest.approx(math.log(a / n1) - math.log(c / n2))
    assert len(pooled_analyses(evidence)) == len(analyses)
