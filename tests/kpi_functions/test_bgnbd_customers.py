"""Tests of prob_alive and expected_purchases (per-customer BG/NBD predictions).

Sources of truth:
- Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way",
  Marketing Science 24(2): with the CDNOW estimates r 0.243, alpha 4.414,
  a 0.793, b 2.426 the customer with x = 2, t_x = 30.43, T = 38.86 (weeks)
  has E[Y(39) | x, t_x, T] = 1.226 (section 5 of the paper).
- Slow references written here with mpmath at 50 digits, customer by customer,
  in the paper's own form: P(alive) (eq. 13; Hardie's note 021) and E[Y(t)]
  (eq. 10) with mpmath.hyp2f1(r+x, b+x; a+b+x−1; z) (the library uses Euler's
  transformation of it and scipy).
"""

from __future__ import annotations

import itertools
import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIUndefinedError

CDNOW = [0.243, 4.414, 0.793, 2.426]  # FHL 2005, r, alpha, a, b


@pytest.fixture(scope="module")
def cdnow(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> pd.DataFrame:
    return k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def mp_alive(r, alpha, a, b, x, tx, T):
    """P(alive | x, t_x, T) at 50 digits (FHL 2005, eq. 13)."""
    with mp.workdps(50):
        if x == 0:
            return 1.0
        r, alpha, a, b, tx, T = (mp.mpf(v) for v in (r, alpha, a, b, tx, T))
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
        return float(1 / (1 + odds))


def mp_expected(r, alpha, a, b, x, tx, T, t):
    """E[Y(t) | x, t_x, T] at 50 digits in the paper's form (FHL 2005, eq. 10)."""
    with mp.workdps(50):
        r, alpha, a, b, tx, T, t = (mp.mpf(v) for v in (r, alpha, a, b, tx, T, t))
        x = mp.mpf(int(x))
        z = t / (alpha + T + t)
        num = (a + b + x - 1) / (a - 1) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z))
        den = 1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 1
        return float(num / den)


def random_customers(rng, n):
    """Customers with 0 to 60 repeat purchases, ages 1 to 100, recency anywhere in [0, T]."""
    T = rng.uniform(1, 100, n).round(2)
    x = rng.integers(0, 61, n)
    x[: n // 4] = 0
    tx = np.where(x > 0, (rng.uniform(0, 1, n) * T).round(2), 0.0)
    return x, tx, T


def random_params(rng):
    return [float(rng.uniform(0.05, 5)), float(rng.uniform(0.5, 50)), float(rng.uniform(0.1, 5)),
            float(rng.uniform(0.2, 10))]


# ---------------------------------------------------------------- P(alive)
class TestProbAlive:
    def test_cdnow_customer_by_hand(self):
        # x = 2, t_x = 30.43, T = 38.86: odds = a/(b+1) · ((α+T)/(α+t_x))^(r+2)
        odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
        got = k.prob_alive([2, 0], [30.43, 0], [38.86, 38.86], CDNOW)
        assert isinstance(got, pd.Series) and got.name == "P(alive)"
        assert got[0] == pytest.approx(1 / (1 + odds), rel=1e-14)
        assert got[1] == 1.0  # no repeat purchase: alive by the model

    def test_matches_mpmath_for_random_customers_and_parameters(self):
        rng = np.random.default_rng(20261204)
        for _ in range(8):
            p = random_params(rng)
            x, tx, T = random_customers(rng, 60)
            got = k.prob_alive(x, tx, T, p).to_numpy()
            ref = [mp_alive(*p, xi, txi, Ti) for xi, txi, Ti in zip(x, tx, T)]
            np.testing.assert_allclose(got, ref, rtol=1e-12)

    def test_many_purchases_long_ago_neither_overflow_nor_underflow_to_zero(self):
        # odds ((α+T)/(α+t_x))^(r+x) = (1001/2)^2000.5 is far beyond a double
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = k.prob_alive([2000, 2000], [1.0, 999.0], [1000.0, 1000.0], [0.5, 1.0, 0.8, 2.0]).to_numpy()
        assert got[0] == 0.0 or got[0] < 1e-300
        assert got[1] == pytest.approx(mp_alive(0.5, 1.0, 0.8, 2.0, 2000, 999.0, 1000.0), rel=1e-12)
        assert 0 < got[1] < 1

    def test_recency_equal_to_T_and_a_close_to_1(self):
        # t_x = T: odds = a/(b+x−1) exactly
        got = k.prob_alive([3], [20.0], [20.0], [0.5, 5.0, 1.0, 2.0])
        assert got[0] == pytest.approx(1 / (1 + 1.0 / 4.0), rel=1e-15)

    def test_fitted_parameters_in_every_form_give_the_same_answer(self, cdnow, cdnow_fit):
        x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
        base = k.prob_alive(x, tx, T, cdnow_fit)
        spilled = [["label", "value"]] + cdnow_fit.values.tolist()  # as Excel hands the spill over
        values = cdnow_fit["value"].tolist()
        for form in (spilled, cdnow_fit.values.tolist(), values, values[:4], [values[:4]], [[v] for v in values]):
            pd.testing.assert_series_equal(k.prob_alive(x, tx, T, form), base, rtol=1e-15)

    def test_blank_params_fit_the_given_customers(self, cdnow, cdnow_fit):
        x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
        pd.testing.assert_series_equal(k.prob_alive(x, tx, T), k.prob_alive(x, tx, T, cdnow_fit), rtol=1e-12)
        pd.testing.assert_series_equal(k.prob_alive(x, tx, T, [None] * 4), k.prob_alive(x, tx, T), rtol=1e-15)

    def test_blank_rows_keep_their_place(self):
        got = k.prob_alive([2, None, 0], [30.43, None, 0], [38.86, None, 20], CDNOW)
        ref = k.prob_alive([2, 0], [30.43, 0], [38.86, 20], CDNOW)
        assert len(got) == 3 and np.isnan(got[1])
        assert got[0] == ref[0] and got[2] == ref[1]

    @pytest.mark.parametrize("params, words", [
        ([0.2, 4.0, 0.8], "got 3 numbers"),
        ([0.2, 4.0, 0.8, 2.0, -9000.0, 1.0], "got 6 numbers"),
        ([[ "r", 0.2], ["alpha", 4.0], ["a", 0.8]], "lacks b"),
        ([["r", 0.2], ["alpha", 4.0], ["a", 0.8], ["beta", 2.0]], "not a label"),
        ([["r", 0.2], ["alpha", None], ["a", 0.8], ["b", 2.0]], "no value for alpha"),
        ([0.2, "4", 0.8, 2.0], "text"),
    ])
    def test_params_that_are_not_r_alpha_a_b(self, params, words):
        with pytest.raises(KPIInputError) as info:
            k.prob_alive([2, 0], [30.43, 0], [38.86, 20], params)
        assert "params" in str(info.value) and words in str(info.value)

    @pytest.mark.parametrize("i", range(4))
    def test_a_parameter_not_greater_than_0_is_out_of_domain(self, i):
        p = list(CDNOW)
        p[i] = 0.0
        with pytest.raises(KPIDomainError) as info:
            k.prob_alive([2, 0], [30.43, 0], [38.86, 20], p)
        assert "params" in str(info.value) and f"item {i + 1}" in str(info.value)

    def test_invalid_rfm_and_no_customers(self):
        with pytest.raises(KPIDomainError):
            k.prob_alive([2, 0], [40.0, 0], [38.86, 20], CDNOW)  # recency after T
        with pytest.raises(KPIUndefinedError):
            k.prob_alive([None], [None], [None], CDNOW)


# ---------------------------------------------------------------- expected purchases
class TestExpectedPurchases:
    def test_matches_the_published_cdnow_customer(self):
        # FHL 2005: E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226 with r 0.243, α 4.414, a 0.793, b 2.426
        got = k.expected_purchases([2], [30.43], [38.86], 39, CDNOW)
        assert got.name == "expected purchases"
        assert round(got[0], 3) == 1.226
        assert got[0] == pytest.approx(mp_expected(*CDNOW, 2, 30.43, 38.86, 39), rel=1e-12)

    def test_the_published_customer_with_the_fitted_cdnow_parameters(self, cdnow, cdnow_fit):
        got = k.expected_purchases(cdnow["x"], cdnow["t_x"], cdnow["T"], 39, cdnow_fit)
        assert (cdnow.loc[0, ["x", "t_x", "T"]].tolist() == [2, 30.43, 38.86])
        assert round(got[0], 3) == 1.226

    def test_matches_mpmath_for_random_customers_parameters_and_spans(self):
        rng = np.random.default_rng(42)
        for _ in range(10):
            p = random_params(rng)
            x, tx, T = random_customers(rng, 40)
            for t in (float(rng.uniform(0.5, 5)), float(rng.uniform(5, 200))):
                got = k.expected_purchases(x, tx, T, t, p).to_numpy()
                ref = [mp_expected(*p, xi, txi, Ti, t) for xi, txi, Ti in zip(x, tx, T)]
                np.testing.assert_allclose(got, ref, rtol=1e-9)

    @pytest.mark.parametrize("a", [1.0, 1.0 + 4e-7, 1.0 - 2e-7, 1.0 + 3e-5])
    def test_at_and_near_a_equal_to_1_the_analytic_limit(self, a):
        x, tx, T = [0, 3, 25], [0.0, 20.0, 39.0], [40.0, 40.0, 40.0]
        got = k.expected_purchases(x, tx, T, 30, [0.5, 5.0, a, 2.0]).to_numpy()
        with mp.workdps(50):
            a_hp = mp.mpf(a) + mp.mpf("1e-30")  # mpmath steps just off the 0/0 point
        ref = [mp_expected(0.5, 5.0, a_hp, 2.0, xi, txi, Ti, 30) for xi, txi, Ti in zip(x, tx, T)]
        np.testing.assert_allclose(got, ref, rtol=1e-9)

    def test_grows_with_the_span_and_is_0_for_a_short_one(self):
        spans = [0.001, 1, 10, 100, 1000]
        got = [k.expected_purchases([2, 0], [30.43, 0], [38.86, 38.86], t, CDNOW).to_numpy() for t in spans]
        assert all((b > a).all() for a, b in itertools.pairwise(got))
        assert (got[0] < 1e-3).all()

    def test_blank_params_fit_the_given_customers(self, cdnow, cdnow_fit):
        x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
        pd.testing.assert_series_equal(k.expected_purchases(x, tx, T, 12),
                                       k.expected_purchases(x, tx, T, 12, cdnow_fit), rtol=1e-10)

    def test_clv_without_discount_is_expected_purchases_times_spend(self, cdnow, cdnow_fit):
        # KPI_CLV_BGNBD (no discount) = E[Y(h)] × E[M]: the same expectation, so E[M] is the same for
        # two customers with the same x and z̄ whatever their recency
        clv = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 26, 0)
        e = k.expected_purchases(cdnow["x"], cdnow["t_x"], cdnow["T"], 26, cdnow_fit)
        zero = cdnow.index[cdnow["x"] == 0]
        spend = (clv[zero] / e[zero]).to_numpy()
        np.testing.assert_allclose(spend, spend[0], rtol=1e-9)

    def test_blank_rows_keep_their_place(self):
        got = k.expected_purchases([None, 2, 0], [None, 30.43, 0], [None, 38.86, 20], 39, CDNOW)
        assert np.isnan(got[0]) and round(got[1], 3) == 1.226

    @pytest.mark.parametrize("periods", [0, -1, 1_000_001, "39"])
    def test_periods_must_be_a_positive_number(self, periods):
        with pytest.raises(KPIInputError) as info:
            k.expected_purchases([2, 0], [30.43, 0], [38.86, 20], periods, CDNOW)
        assert "periods" in str(info.value)

    def test_periods_are_required(self):
        with pytest.raises(KPIInputError) as info:
            k.expected_purchases([2, 0], [30.43, 0], [38.86, 20], None, CDNOW)
        assert "periods" in str(info.value)

    @pytest.mark.parametrize("b, rtol", [(50.0, 1e-12), (1e4, 1e-10), (1e6, 1e-7)])
    def test_few_drop_outs_large_b_the_rate_limit_and_the_accuracy(self, b, rtol):
        # b large: dropping out is rare, and for x = 0, E[Y(t)] → r t/(α+T) (the NBD) as b → ∞.
        # E[Y(t)] is (a+b+x−1)/(a−1) times a difference of order 1/b, so digits cancel in proportion to b:
        # within 1e-12 of mpmath for b = 50, 1e-10 for b = 1e4, 1e-7 for b = 1e6 (estimates are rarely above 20)
        r, al, a = 0.5, 10.0, 1.5
        got = k.expected_purchases([0, 4], [0, 12.0], [20.0, 20.0], 5, [r, al, a, b]).to_numpy()
        assert got[0] == pytest.approx(r * 5 / (al + 20.0), rel=3 / b)
        ref = [mp_expected(r, al, a, b, 0, 0, 20.0, 5), mp_expected(r, al, a, b, 4, 12.0, 20.0, 5)]
        np.testing.assert_allclose(got, ref, rtol=rtol)


class TestLargeAandB:
    """a and b in the thousands (a dropout probability a/(a+b) nearly the same for every customer), as a fit to
    customers who all buy alike gives: Euler's form of eq. 10 overflows there (∞ · 0), the paper's form does
    not. The values were NaN (blank cells) with a RuntimeWarning before."""

    # the fit of one sample region's orders (weeks)
    P = (0.6978126085923648, 128.9529991162681, 53490.46571755992, 818173.0041395248)

    def test_expected_purchases_match_mpmath(self):
        x, tx, T = [0, 2, 5, 1, 0], [0.0, 10.0, 35.0, 3.0, 0.0], [30.0, 40.0, 40.0, 52.0, 5.0]
        for t in (1.0, 13.0, 104.0):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no RuntimeWarning leaks any more
                got = k.expected_purchases(x, tx, T, t, self.P).to_numpy()
            ref = [mp_expected(*self.P, xi, txi, Ti, t) for xi, txi, Ti in zip(x, tx, T)]
            # (a+b+x−1)/(a−1) ≈ 16 times a difference of order 1e-4 that scipy's ₂F₁ (parameters near 10⁶)
            # gives to about 1e-14: 5e-11 relative over one week, closer over longer spans
            np.testing.assert_allclose(got, ref, rtol=1e-10)

    def test_clv_uses_the_same_expectations(self):
        x, tx, T, m = [0, 2, 5], [0.0, 10.0, 35.0], [30.0, 40.0, 40.0], [None, 20.0, 30.0]
        clv = k.clv_bgnbd(x, tx, T, m, 13, 0, self.P, [6.0, 4.0, 15.0]).to_numpy()
        e = k.expected_purchases(x, tx, T, 13, self.P).to_numpy()
        spend = np.array([6 * 15 / 3, 6 * (15 + 2 * 20) / (6 * 2 + 3), 6 * (15 + 5 * 30) / (6 * 5 + 3)])
        np.testing.assert_allclose(clv, e * spend, rtol=1e-12)
        assert np.isfinite(k.clv_bgnbd(x, tx, T, m, 13, 0.01, self.P, [6.0, 4.0, 15.0])).all()

    def test_parameters_beyond_double_precision_are_a_model_error_not_a_blank(self):
        from kpi_functions import KPIModelError

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(KPIModelError) as info:
                k.expected_purchases([0, 3], [0, 5.0], [10, 20.0], 50, [1e3, 1.0, 1e9, 1e15])
        assert "KPI_EXPECTED_PURCHASES" in str(info.value) and "a 1e+09, b 1e+15" in str(info.value)
