"""Tests of survival_curve (Kaplan–Meier), sbg_fit and retention_forecast.

Sources of truth: Kaplan–Meier worked by hand and a slow, obviously-correct
reference implementation below; the published sBG estimates of Fader & Hardie
(2007), "How to Project Customer Retention", J. Interactive Marketing 21(1),
for the "regular" and "high end" segments; a naive sBG likelihood written
with scipy.special.beta and maximised by Nelder–Mead in the test.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, KPIModelError, KPIUndefinedError

# Fader & Hardie (2007), survivors of 1,000 customers over 7 years (Table 1).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


# ---------------------------------------------------------------- Kaplan–Meier
def km_reference(durations, churned):
    """Slow, obviously-correct Kaplan–Meier: loop over the distinct times."""
    rows, s = [], 1.0
    for t in sorted(set(durations)):
        at_risk = sum(1 for d in durations if d >= t)
        events = sum(1 for d, c in zip(durations, churned) if d == t and c)
        s *= 1 - events / at_risk
        rows.append((float(t), at_risk, events, s))
    return pd.DataFrame(rows, columns=["time", "at risk", "churned", "survival"])


class TestSurvivalCurve:
    def test_small_example_worked_by_hand(self):
        # t=1: 6 at risk, 1 churns -> 5/6; t=2: 5 at risk, 1 churns, 1 censored -> 5/6 * 4/5;
        # t=3: 3 at risk, 1 churns -> * 2/3; t=4: 2 at risk, censored -> unchanged; t=5: 1 churns -> 0.
        got = k.survival_curve([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
        assert list(got.columns) == ["time", "at risk", "churned", "survival"]
        assert got["time"].tolist() == [1, 2, 3, 4, 5]
        assert got["at risk"].tolist() == [6, 5, 3, 2, 1]
        assert got["churned"].tolist() == [1, 1, 1, 0, 1]
        s = [Fraction(5, 6), Fraction(5, 6) * Fraction(4, 5), Fraction(2, 3) * Fraction(2, 3), Fraction(4, 9), 0]
        np.testing.assert_allclose(got["survival"], [float(v) for v in s], rtol=1e-12)

    def test_ties_of_churn_and_censoring_unsorted_input_and_booleans(self):
        # durations in days, in no particular order; at t=30 two churn and one is censored:
        # 5 at risk at 10 (1 churns): 4/5; at 30, 4 at risk, 2 churn: 4/5 * 2/4 = 0.4; at 45, 1 at risk, censored.
        got = k.survival_curve([30, 10, 45, 30, 30], [True, True, False, 1, False])
        assert got["time"].tolist() == [10, 30, 45]
        assert got["at risk"].tolist() == [5, 4, 1]
        assert got["churned"].tolist() == [1, 2, 0]
        np.testing.assert_allclose(got["survival"], [0.8, 0.4, 0.4])

    def test_without_censoring_it_is_one_minus_the_empirical_cdf(self):
        d = [3, 1, 4, 1, 5, 9, 2, 6]
        got = k.survival_curve(d, [1] * len(d))
        ecdf = [sum(x <= t for x in d) / len(d) for t in got["time"]]
        np.testing.assert_allclose(got["survival"], 1 - np.array(ecdf), atol=1e-12)

    def test_duration_zero_and_fractional_durations(self):
        got = k.survival_curve([0, 0.5, 0.5, 2.25], [0, 1, 0, 1])
        assert got["time"].tolist() == [0.0, 0.5, 2.25]
        np.testing.assert_allclose(got["survival"], [1.0, 2 / 3, 0.0])

    def test_blank_rows_are_skipped(self):
        got = k.survival_curve([1, None, 3, 2, None], [1, None, 0, 1, None])
        pd.testing.assert_frame_equal(got, k.survival_curve([1, 3, 2], [1, 0, 1]))

    @pytest.mark.parametrize("seed", range(5))
    def test_matches_slow_reference_on_random_data(self, seed):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 300))
        d = rng.integers(0, 25, n).tolist()
        c = rng.integers(0, 2, n).tolist()
        got = k.survival_curve(d, c)
        ref = km_reference(d, c)
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-12)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=60))
    def test_property_survival_is_non_increasing_in_0_1_and_matches_reference(self, rows):
        d = [r[0] for r in rows]
        c = [r[1] for r in rows]
        got = k.survival_curve(d, c)
        s = got["survival"].to_numpy()
        assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) <= 1e-15)
        assert got["at risk"].iloc[0] == len(rows)
        pd.testing.assert_frame_equal(got, km_reference(d, c), check_dtype=False, rtol=1e-12)

    def test_flag_other_than_0_or_1_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.survival_curve([1, 2, 3], [1, 2, 0])
        assert "churned" in str(info.value) and "item 2" in str(info.value)

    @pytest.mark.parametrize("bad", ["yes", "TRUE", "1"])
    def test_text_flag_is_an_input_error(self, bad):
        with pytest.raises(KPIInputError) as info:
            k.survival_curve([1, 2, 3], [1, bad, 0])
        assert info.value.excel_error == "#VALUE!"
        assert "churned" in str(info.value) and repr(bad) in str(info.value)

    def test_error_value_in_flags_propagates(self):
        with pytest.raises(KPIErrorValue) as info:
            k.survival_curve([1, 2, 3], [1, "#N/A", 0])
        assert info.value.excel_error == "#N/A"

    def test_negative_duration_is_out_of_domain(self):
        with pytest.raises(KPIDomainError):
            k.survival_curve([1, -2, 3], [1, 1, 0])

    def test_blank_in_only_one_range_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.survival_curve([1, 2, 3], [1, None, 0])
        assert "churned" in str(info.value) and "item 2" in str(info.value)
        with pytest.raises(KPIInputError):
            k.survival_curve([1, None, 3], [1, 1, 0])

    def test_misaligned_ranges(self):
        with pytest.raises(KPIInputError) as info:
            k.survival_curve([1, 2, 3], [1, 0])
        assert "aligned" in str(info.value)


# ---------------------------------------------------------------- sBG
def naive_sbg_loglik(alpha, beta, n):
    """LL straight from the definition with the beta function itself."""
    B = special.beta
    ll = 0.0
    for t in range(1, len(n)):
        ll += (n[t - 1] - n[t]) * np.log(B(alpha + 1, beta + t - 1) / B(alpha, beta))
    return ll + n[-1] * np.log(B(alpha, beta + len(n) - 1) / B(alpha, beta))


def naive_sbg_fit(n):
    res = optimize.minimize(lambda th: -naive_sbg_loglik(*np.exp(th), n), [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000})
    return np.exp(res.x)


def _fit(survivors):
    got = k.sbg_fit(survivors)
    assert list(got.columns) == ["label", "value"]
    assert got["label"].tolist() == ["alpha", "beta", "log-likelihood"]
    return dict(zip(got["label"], got["value"]))


class TestSbgFit:
    def test_sbg_fit_matches_published_regular_segment(self):
        # Fader & Hardie (2007): regular segment alpha = 0.704, beta = 1.182
        f = _fit(REGULAR)
        assert round(f["alpha"], 3) == 0.704
        assert round(f["beta"], 3) == 1.182

    def test_sbg_fit_matches_published_high_end_segment(self):
        # Fader & Hardie (2007): high end segment alpha = 0.668, beta = 3.806
        f = _fit(HIGH_END)
        assert round(f["alpha"], 3) == 0.668
        assert round(f["beta"], 3) == 3.806

    @pytest.mark.parametrize("n", [REGULAR, HIGH_END, [500, 300, 220, 180, 160], [80, 50, 41, 35, 33, 31]])
    def test_matches_naive_likelihood_maximised_by_nelder_mead(self, n):
        f = _fit(n)
        a, b = naive_sbg_fit(n)
        assert f["alpha"] == pytest.approx(a, rel=1e-4)
        assert f["beta"] == pytest.approx(b, rel=1e-4)
        assert f["log-likelihood"] == pytest.approx(naive_sbg_loglik(f["alpha"], f["beta"], n), rel=1e-10)
        # a maximum: no nearby point is more likely
        for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
            assert naive_sbg_loglik(f["alpha"] * (1 + da), f["beta"] * (1 + db), n) < f["log-likelihood"]

    @pytest.mark.parametrize("n", [REGULAR, HIGH_END])
    def test_standard_errors_match_a_numerical_hessian_of_the_naive_likelihood(self, n):
        # independent of the library: second differences of the naive LL in (alpha, beta) themselves
        # (not their logs), step 1e-3 relative; cov = inverse of minus the Hessian
        got = k.sbg_fit(n, True)
        assert got.columns.tolist() == ["label", "value", "se", "lower", "upper"]
        p = got["value"].to_numpy()[:2]
        h = 1e-3 * p
        H = np.empty((2, 2))
        for i in range(2):
            for j in range(2):
                def f(si, sj, i=i, j=j):
                    q = p.copy()
                    q[i] += si * h[i]
                    q[j] += sj * h[j]
                    return naive_sbg_loglik(q[0], q[1], n)
                H[i, j] = (f(1, 1) - f(1, -1) - f(-1, 1) + f(-1, -1)) / (4 * h[i] * h[j])
        se = np.sqrt(np.diag(np.linalg.inv(-H)))
        np.testing.assert_allclose(got["se"].to_numpy()[:2], se, rtol=1e-4)
        z = 1.959963984540054
        np.testing.assert_allclose(got["lower"].to_numpy()[:2], p * np.exp(-z * se / p), rtol=1e-4)
        np.testing.assert_allclose(got["upper"].to_numpy()[:2], p * np.exp(z * se / p), rtol=1e-4)
        assert got.iloc[2, 2:].isna().all()  # the log-likelihood has no standard error
        # the default output is unchanged: two columns, same values
        pd.testing.assert_frame_equal(got[["label", "value"]], k.sbg_fit(n))

    def test_regular_segment_standard_errors_to_four_places(self):
        # by the naive Hessian above: se(alpha) 0.0656, se(beta) 0.1525 for the regular segment
        got = k.sbg_fit(REGULAR, "TRUE")
        assert got["se"].round(4).tolist()[:2] == [0.0656, 0.1525]

    def test_detail_must_be_true_or_false(self):
        with pytest.raises(KPIInputError) as info:
            k.sbg_fit(REGULAR, "yes")
        assert "detail" in str(info.value) and "TRUE or FALSE" in str(info.value)

    def test_singular_information_is_a_model_error(self):
        from kpi_functions._mle import observed_information

        def flat_in_b(theta):  # depends on theta[0] only: no information about theta[1]
            return theta[0] ** 2, np.array([2 * theta[0], 0.0])

        with pytest.raises(KPIModelError) as info:
            observed_information(flat_in_b, np.array([0.0, 0.0]), 1.0, "KPI_SBG_FIT", "sBG", ("alpha", "beta"))
        assert "singular" in str(info.value) and "alpha, beta" in str(info.value)

    def test_trailing_blanks_are_ignored(self):
        pd.testing.assert_frame_equal(k.sbg_fit(REGULAR + [None, None]), k.sbg_fit(REGULAR))

    def test_blank_between_counts_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.sbg_fit([1000, 631, None, 382, 326])
        assert "item 3" in str(info.value)

    def test_increasing_counts_are_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.sbg_fit([1000, 631, 640, 382])
        assert info.value.excel_error == "#NUM!" and "item 3" in str(info.value)

    @pytest.mark.parametrize("bad", [631.5, -1])
    def test_fractional_or_negative_counts_are_out_of_domain(self, bad):
        with pytest.raises(KPIDomainError):
            k.sbg_fit([1000, bad, 468, 382])

    @pytest.mark.parametrize("short", [[1000], [1000, 631]])
    def test_fewer_than_two_periods_after_the_cohort_size_is_undefined(self, short):
        with pytest.raises(KPIUndefinedError) as info:
            k.sbg_fit(short)
        assert info.value.excel_error == "#DIV/0!"

    def test_empty_cohort_is_undefined(self):
        with pytest.raises(KPIUndefinedError):
            k.sbg_fit([0, 0, 0])

    def test_no_churn_cannot_be_fitted(self):
        with pytest.raises(KPIModelError) as info:
            k.sbg_fit([100, 100, 100])
        assert info.value.excel_error == "#NUM!"

    def test_constant_churn_rate_has_no_finite_estimates(self):
        # exactly geometric: 50 % churn every period -> alpha, beta -> infinity
        with pytest.raises(KPIModelError) as info:
            k.sbg_fit([1600, 800, 400, 200, 100])
        assert "does not fall" in str(info.value)

    def test_churn_only_in_the_first_period_runs_to_the_edge(self):
        with pytest.raises(KPIModelError):
            k.sbg_fit([100, 60, 60, 60])


class TestRetentionForecast:
    def test_is_cohort_size_times_sbg_survival_of_the_fit(self):
        f = _fit(REGULAR)
        a, b = f["alpha"], f["beta"]
        got = k.retention_forecast(REGULAR, 13)
        assert isinstance(got, pd.Series) and got.name == "survivors" and len(got) == 13
        # S(t) = 1 − Σ_{j ≤ t} P(T = j), P(T = j) = B(a + 1, b + j − 1) / B(a, b)
        p = [special.beta(a + 1, b + j - 1) / special.beta(a, b) for j in range(1, 13)]
        expected = 1000 * np.concatenate(([1.0], 1 - np.cumsum(p)))
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9)

    def test_observed_periods_are_refitted_close_to_the_data(self):
        got = k.retention_forecast(REGULAR, 8).to_numpy()
        assert got[0] == 1000
        np.testing.assert_allclose(got, REGULAR, rtol=0.03)

    def test_one_period_is_the_cohort_size(self):
        assert k.retention_forecast(HIGH_END, 1).tolist() == [1000.0]

    @pytest.mark.parametrize("bad", [0, 2.5, -3, 2_000_000])
    def test_periods_must_be_a_whole_number_from_1_to_a_sheets_rows(self, bad):
        with pytest.raises(KPIDomainError) as info:
            k.retention_forecast(REGULAR, bad)
        assert "periods" in str(info.value)

    def test_periods_as_text_is_an_input_error(self):
        with pytest.raises(KPIInputError):
            k.retention_forecast(REGULAR, "8")

    def test_model_errors_propagate(self):
        with pytest.raises(KPIModelError):
            k.retention_forecast([1600, 800, 400, 200, 100], 10)
