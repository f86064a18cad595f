"""Effect sizes and pooled estimates, checked against calculations done by hand and against metafor.

The hand calculations are written out in the comments so a reader can redo them on paper. metafor's published
results for its BCG vaccine example (its README and its test suite, tests/testthat/
test_misc_metan_vs_rma.uni_with_dat.bcg.r) are reproduced to 3 decimals. The last tests recompute every
pooled analysis in the book with an independent plain-Python implementation, and the derived effects table
from data/.
"""

from __future__ import annotations

import math

import pytest

from skinregen.stats import effects as meta
from skinregen.stats import pooling


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
    with pytest.raises(meta.EffectSizeError, match="int SD"):
        meta.hedges_g(row)


def test_dersimonian_laird_two_studies_by_hand():
    # y = 0 and 1, both variance 0.1. Fixed weights 10 and 10: fixed mean 0.5.
    # Q = 10 * 0.25 + 10 * 0.25 = 5, df = 1, C = 20 - 200/20 = 10, tau² = (5 - 1)/10 = 0.4.
    # Random weights 1/(0.1 + 0.4) = 2 each: mean 0.5, SE = sqrt(1/4) = 0.5, CI 0.5 ± 1.96 * 0.5.
    # I² (metafor's, from tau²): typical variance s² = (k-1) Σw / ((Σw)² - Σw²) = 20/(400-200) = 0.1,
    # I² = 0.4 / (0.4 + 0.1) = 0.8. Knapp-Hartung: q = Σ w*(y - mean)² / (k-1) = 2*0.25*2 / 1 = 1, so the SE
    # stays 0.5 and the CI is 0.5 ± t(0.975, 1) * 0.5 = 0.5 ± 12.7062 * 0.5. No prediction interval (k = 2).
    effects = [meta.Effect("a2020x", 1, "smd", 0.0, 0.1), meta.Effect("b2021y", 1, "smd", 1.0, 0.1)]
    pooled = pooling.pool(effects, "dl")
    assert pooled.estimate == pytest.approx(0.5)
    assert pooled.tau2 == pytest.approx(0.4)
    assert pooled.q == pytest.approx(5.0)
    assert pooled.i2 == pytest.approx(0.8)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((0.5 - 12.7062 * 0.5, 0.5 + 12.7062 * 0.5), rel=1e-4)
    assert pooled.prediction_low is None
    assert pooled.weights == pytest.approx((0.5, 0.5))


def test_homogeneous_studies_have_zero_tau2_and_a_prediction_interval():
    # y = 1, 1, 1 with variances 0.1, 0.2, 0.4: Q = 0, so tau² = 0 and I² = 0; the random-effects mean is the
    # fixed-effect mean 1. Knapp-Hartung with all residuals zero gives SE 0 (PyMARE, like metafor's knha
    # truncation off), so the prediction interval (t, k - 1 = 2 df, 4.3027) is 1 ± 4.3027 * sqrt(0 + SE²).
    effects = [meta.Effect(f"s{i}2020x", 1, "smd", 1.0, v) for i, v in enumerate((0.1, 0.2, 0.4))]
    pooled = pooling.pool(effects, "dl")
    se = pooled.se
    assert pooled.tau2 == pytest.approx(0.0)
    assert pooled.i2 == pytest.approx(0.0)
    assert pooled.estimate == pytest.approx(1.0)
    assert (pooled.prediction_low, pooled.prediction_high) == pytest.approx((1 - 4.302653 * se, 1 + 4.302653 * se),
                                                                             rel=1e-4, abs=1e-9)


def test_pooling_refuses_a_trial_counted_twice():
    effects = [meta.Effect("a2020x", 1, "smd", 0.0, 0.1), meta.Effect("a2020x", 2, "smd", 1.0, 0.1)]
    with pytest.raises(ValueError, match="count twice"):
        pooling.pool(effects)


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
        if analysis.pooled.method == "reml":
            expected_tau2 = independent_reml_tau2([e.estimate for e in effects], [e.variance for e in effects])
            assert analysis.pooled.tau2 == pytest.approx(expected_tau2, rel=1e-3, abs=1e-6), analysis.id
            continue
        expected = independent_random_effects([e.estimate for e in effects], [e.variance for e in effects],
                                              analysis.pooled.method)
        assert (analysis.pooled.estimate, analysis.pooled.tau2) == pytest.approx(
            (expected[0], expected[3]), rel=1e-4, abs=1e-6), analysis.id
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


def independent_reml_tau2(estimates, variances):
    """REML tau² by bisection on its fixed-point equation, written without PyMARE (Viechtbauer 2005):
    tau² = Σ w²((y - mu)² - v) / Σ w² + 1 / Σ w, with w = 1/(v + tau²)."""
    def score(t2):
        w = [1 / (v + t2) for v in variances]
        mean = sum(wi * y for wi, y in zip(w, estimates, strict=True)) / sum(w)
        squares = sum(wi * wi for wi in w)
        return (sum(wi * wi * ((y - mean) ** 2 - v) for wi, y, v in zip(w, estimates, variances, strict=True))
                / squares + 1 / sum(w) - t2)
    if score(0.0) <= 0:
        return 0.0
    low, high = 0.0, 100.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if score(middle) > 0 else (low, middle)
    return (low + high) / 2


# metafor's dat.bcg (13 BCG vaccine trials: TB cases and non-cases, vaccinated and not), as its README prints it.
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619), (33, 5036, 47, 5761),
       (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892), (29, 7470, 45, 7232),
       (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825)]


def bcg_effects():
    return [meta.log_risk_ratio({"study_key": f"bcg{i}1948trial", "outcome_no": 1, "int_events": tp,
                                 "int_total": tp + tn, "ctrl_events": cp, "ctrl_total": cp + cn})
            for i, (tp, tn, cp, cn) in enumerate(BCG)]


def test_bcg_log_risk_ratios_match_escalc():
    # metafor's escalc(measure="RR") printout: yi and vi of trials 1, 4 and 13.
    effects = bcg_effects()
    assert (round(effects[0].estimate, 4), round(effects[0].variance, 4)) == (-0.8893, 0.3256)
    assert (round(effects[3].estimate, 4), round(effects[3].variance, 4)) == (-1.4416, 0.0200)
    assert (round(effects[12].estimate, 4), round(effects[12].variance, 4)) == (-0.0173, 0.0714)


def test_bcg_reml_with_knapp_hartung_matches_metafor():
    # metafor README: rma(yi, vi, data=dat, test="knha"): tau² 0.3132, I² 92.22%, Q 152.2330, estimate -0.7145,
    # se 0.1808, CI -1.1084 to -0.3206; predict(res, transf=exp): 0.49 (0.33 to 0.73), PI 0.14 to 1.76.
    pooled = pooling.pool(bcg_effects(), "reml")
    assert round(pooled.tau2, 4) == pytest.approx(0.3132, abs=5e-4)
    assert round(100 * pooled.i2, 2) == pytest.approx(92.22, abs=0.005)
    assert pooled.q == pytest.approx(152.2330, abs=5e-4)
    assert pooled.estimate == pytest.approx(-0.7145, abs=5e-4)
    assert pooled.se == pytest.approx(0.1808, abs=5e-4)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((-1.1084, -0.3206), abs=5e-4)
    assert math.exp(pooled.prediction_low) == pytest.approx(0.14, abs=0.005)
    assert math.exp(pooled.prediction_high) == pytest.approx(1.76, abs=0.005)


def test_bcg_dersimonian_laird_matches_metafor():
    # metafor test suite, rma(yi, vi, data=dat, method="DL"): estimate -0.7141, tau² 0.3088, I² 92.1173
    # (with the Wald interval there: -1.0644 to -0.3638; the book's interval is Knapp-Hartung, so only the
    # estimate, tau² and I² are compared, and the Wald interval is rebuilt from the estimate's SE below).
    pooled = pooling.pool(bcg_effects(), "dl")
    assert pooled.estimate == pytest.approx(-0.7141, abs=5e-4)
    assert pooled.tau2 == pytest.approx(0.3088, abs=5e-4)
    assert 100 * pooled.i2 == pytest.approx(92.1173, abs=5e-3)
    weights = [1 / (e.variance + pooled.tau2) for e in bcg_effects()]
    wald_se = math.sqrt(1 / sum(weights))
    assert (pooled.estimate - 1.959964 * wald_se, pooled.estimate + 1.959964 * wald_se) == pytest.approx(
        (-1.0644, -0.3638), abs=5e-4)


def test_bcg_reml_tau2_by_an_independent_calculation():
    effects = bcg_effects()
    assert independent_reml_tau2([e.estimate for e in effects], [e.variance for e in effects]) == pytest.approx(
        0.3132, abs=5e-4)


def test_risk_difference_by_hand():
    # 10/20 vs 5/20: RD = 0.5 - 0.25 = 0.25; var = 0.5*0.5/20 + 0.25*0.75/20 = 0.0125 + 0.009375 = 0.021875
    effect = meta.risk_difference(outcome(int_events=10, int_total=20, ctrl_events=5, ctrl_total=20))
    assert effect.estimate == pytest.approx(0.25)
    assert effect.variance == pytest.approx(0.021875)


def test_mean_difference_and_the_ci_of_a_mean():
    # An arm's 95% CI 8 to 12 with n = 25: SD = sqrt(25) * 4 / (2 * t(0.975, 24) = 2.0639) = 4.8452
    row = outcome(int_value=10, ctrl_value=7, int_disp_low=8, int_disp_high=12, int_disp_type="ci95", int_n=25,
                  ctrl_disp=3, ctrl_disp_type="sd", ctrl_n=25)
    assert meta.arm_sd(row, "int") == pytest.approx(4.8452, abs=1e-4)
    effect = meta.mean_difference(row)
    assert effect.estimate == pytest.approx(3)
    assert effect.variance == pytest.approx(4.8452**2 / 25 + 9 / 25, rel=1e-4)


def test_an_unlabelled_spread_and_a_median_give_no_effect():
    row = outcome(int_value=10, ctrl_value=7, int_disp=2, ctrl_disp=2, int_n=10, ctrl_n=10)
    with pytest.raises(meta.EffectSizeError, match="labelled"):
        meta.mean_difference(row)
    median = outcome(int_value=10, ctrl_value=7, int_disp=2, ctrl_disp=2, int_disp_type="sd", ctrl_disp_type="sd",
                     int_n=10, ctrl_n=10, int_stat="median", ctrl_stat="median")
    with pytest.raises(meta.EffectSizeError, match="means"):
        meta.mean_difference(median)


def test_a_printed_ratio_is_used_as_printed():
    # OR 4.44 (95% CI 1.10 to 17.9): log 4.44 = 1.4907; SE = (ln 17.9 - ln 1.10) / (2 * 1.96) = 0.7115
    effect = meta.printed_effect(outcome(effect_measure="odds_ratio", effect_value=4.44, effect_ci_low=1.10,
                                         effect_ci_high=17.9))
    assert effect.source == "printed"
    assert effect.estimate == pytest.approx(math.log(4.44))
    assert effect.standard_error == pytest.approx((math.log(17.9) - math.log(1.10)) / (2 * 1.959964), rel=1e-5)


def test_split_body_effects_are_flagged_conservative():
    row = outcome(comparison="between_arms", int_value=12, ctrl_value=10, int_disp=2, ctrl_disp=2,
                  int_disp_type="sd", ctrl_disp_type="sd", int_n=10, ctrl_n=10)
    found = {e.measure: e for e in meta.row_effects(row, "randomized_split_body")}
    assert found["smd"].conservative and found["mean_difference"].conservative
    assert not any(e.conservative for e in meta.row_effects(row, "rct"))


def test_doses_and_cell_counts_give_no_effect():
    row = outcome(comparison="between_arms", domain="intervention_detail", int_events=3, int_total=10,
                  ctrl_events=1, ctrl_total=10)
    assert meta.row_effects(row) == []


def test_the_derived_effects_table_is_what_the_data_give(book_root):
    """data/derived/effects.csv is never typed by hand: it equals a fresh computation from data/."""
    from skinregen.cli import derived_effects_text

    stored = (book_root / "data" / "derived" / "effects.csv").read_text(encoding="utf-8")
    assert stored == derived_effects_text(book_root), "run `python -m skinregen derive` after changing outcomes"
