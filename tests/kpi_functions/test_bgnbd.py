"""Tests of bgnbd_fit and clv_bgnbd.

Sources of truth:
- Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way",
  Marketing Science 24(2): BG/NBD on the CDNOW sample (2,357 customers, weeks)
  r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
- Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (the note to
  Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves"): on the
  946 CDNOW repeat buyers p = 6.25, q = 3.74, gamma = 15.44.
- A second, naive implementation written here: the likelihoods term by term
  with math.lgamma, the conditional expectation evaluated per customer with
  mpmath (30 digits) in the paper's original hypergeometric form (the library
  uses Euler's transformation), the Gamma-Gamma fit by Nelder–Mead.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIModelError, KPIUndefinedError
from kpi_functions.bgnbd import _fit_gamma_gamma


@pytest.fixture(scope="module")
def cdnow(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> dict[str, float]:
    got = k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    return dict(zip(got["label"], got["value"]))


# ---------------------------------------------------------------- naive references
def naive_bgnbd_ll(r, alpha, a, b, x, tx, T):
    """Total BG/NBD log-likelihood, customer by customer (FHL 2005, eq. 6)."""
    lbeta = lambda p, q: math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)
    total = 0.0
    for xi, txi, Ti in zip(x, tx, T):
        common = math.lgamma(r + xi) - math.lgamma(r) + r * math.log(alpha)
        l1 = math.exp(lbeta(a, b + xi) - lbeta(a, b) - (r + xi) * math.log(alpha + Ti))
        l2 = math.exp(lbeta(a + 1, b + xi - 1) - lbeta(a, b) - (r + xi) * math.log(alpha + txi)) if xi > 0 else 0.0
        total += common + math.log(l1 + l2)
    return total


def naive_expected_purchases(r, alpha, a, b, x, tx, T, t):
    """E[Y(t) | x, t_x, T] with mpmath, in the paper's form (FHL 2005, eq. 10)."""
    mp.mp.dps = max(mp.mp.dps, 30)
    r, alpha, a, b = (mp.mpf(v) for v in (r, alpha, a, b))
    x, tx, T, t = mp.mpf(int(x)), mp.mpf(tx), mp.mpf(T), mp.mpf(t)
    num = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
    den = 1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 1
    return float(num / den)


def naive_gg_ll(p, q, g, x, z):
    """Gamma-Gamma log-likelihood of the repeat buyers' average spend."""
    total = 0.0
    for xi, zi in zip(x, z):
        total += (math.lgamma(p * xi + q) - math.lgamma(p * xi) - math.lgamma(q) + q * math.log(g)
                  + (p * xi - 1) * math.log(zi) + p * xi * math.log(xi) - (p * xi + q) * math.log(g + xi * zi))
    return total


def naive_gg_fit(x, z):
    res = optimize.minimize(lambda th: -naive_gg_ll(*np.exp(th), x, z), np.log([1.0, 1.0, 1.0]),
                            method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 4000})
    return np.exp(res.x)


def simulate(n, r, alpha, a, b, t_min, t_max, rng, gg=(6.0, 4.0, 15.0)):
    """Customers drawn from the BG/NBD (dropout only after a repeat purchase) and Gamma-Gamma spend."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(t_min, t_max, n)
    t, x, tx = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / lam[idx])
        over = t[idx] > T[idx]
        alive[idx[over]] = False
        buy = idx[~over]
        x[buy] += 1
        tx[buy] = t[buy]
        alive[buy[rng.random(buy.size) < p[buy]]] = False
    gp, gq, gg_ = gg
    nu = rng.gamma(gq, 1 / gg_, n)
    m = np.maximum(x, 1)
    # the mean of x Gamma(p, 1/nu) amounts is Gamma(p x, 1/(nu x))
    mon = np.where(x > 0, rng.gamma(gp * m, 1 / (nu * m)), 0.0)
    return x, tx, T, mon


# ---------------------------------------------------------------- BG/NBD fit
class TestBgnbdFit:
    def test_bgnbd_fit_matches_published_cdnow_estimates(self, cdnow_fit):
        # Fader, Hardie & Lee (2005), CDNOW: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4
        assert round(cdnow_fit["r"], 3) == 0.243
        assert round(cdnow_fit["alpha"], 3) == 4.414
        assert round(cdnow_fit["a"], 3) == 0.793
        assert round(cdnow_fit["b"], 3) == 2.426
        assert cdnow_fit["log-likelihood"] == pytest.approx(-9582.4, abs=0.05)

    def test_result_is_labelled_in_catalog_order(self, cdnow):
        got = k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
        assert list(got.columns) == ["label", "value"]
        assert got["label"].tolist() == ["r", "alpha", "a", "b", "log-likelihood"]

    def test_log_likelihood_matches_naive_sum_and_is_a_maximum(self, cdnow, cdnow_fit):
        x, tx, T = cdnow["x"].tolist(), cdnow["t_x"].tolist(), cdnow["T"].tolist()
        p = [cdnow_fit[n] for n in ("r", "alpha", "a", "b")]
        ll = naive_bgnbd_ll(*p, x, tx, T)
        assert cdnow_fit["log-likelihood"] == pytest.approx(ll, rel=1e-10)
        for i in range(4):
            for step in (1e-3, -1e-3):
                q = list(p)
                q[i] *= 1 + step
                assert naive_bgnbd_ll(*q, x, tx, T) < ll

    def test_standard_errors_match_a_numerical_hessian_of_the_naive_likelihood(self, cdnow, cdnow_fit):
        # independent of the library: second differences of the naive LL in r, alpha, a, b themselves
        # (not their logs), step 1e-3 relative; cov = inverse of minus the Hessian
        got = k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"], True)
        assert got.columns.tolist() == ["label", "value", "se", "lower", "upper"]
        pd.testing.assert_frame_equal(got[["label", "value"]],
                                      pd.DataFrame({"label": list(cdnow_fit), "value": list(cdnow_fit.values())}))
        x, tx, T = cdnow["x"].tolist(), cdnow["t_x"].tolist(), cdnow["T"].tolist()
        p = got["value"].to_numpy()[:4]
        h = 1e-3 * p

        def ll(*steps):  # steps: (index, sign) pairs
            q = p.copy()
            for i, s in steps:
                q[i] += s * h[i]
            return naive_bgnbd_ll(*q, x, tx, T)

        H = np.empty((4, 4))
        mid = ll()
        for i in range(4):
            H[i, i] = (ll((i, 1)) - 2 * mid + ll((i, -1))) / h[i] ** 2
            for j in range(i):
                H[i, j] = H[j, i] = (ll((i, 1), (j, 1)) - ll((i, 1), (j, -1)) - ll((i, -1), (j, 1))
                                     + ll((i, -1), (j, -1))) / (4 * h[i] * h[j])
        se = np.sqrt(np.diag(np.linalg.inv(-H)))
        np.testing.assert_allclose(got["se"].to_numpy()[:4], se, rtol=1e-4)
        z = 1.959963984540054
        np.testing.assert_allclose(got["lower"].to_numpy()[:4], p * np.exp(-z * se / p), rtol=1e-4)
        np.testing.assert_allclose(got["upper"].to_numpy()[:4], p * np.exp(z * se / p), rtol=1e-4)
        assert got.iloc[4, 2:].isna().all()  # the log-likelihood has no standard error
        # CDNOW, by the naive Hessian: se 0.0126 (r), 0.378 (alpha), 0.186 (a), 0.705 (b)
        assert got["se"].round(4).tolist()[:4] == [0.0126, 0.3782, 0.1857, 0.7053]

    def test_detail_output_still_serves_as_params(self, cdnow):
        got = k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"], True)
        table = [got.columns.tolist()] + got.to_numpy().tolist()
        plain = [["label", "value"]] + got[["label", "value"]].to_numpy().tolist()
        x, tx, T = cdnow["x"][:5], cdnow["t_x"][:5], cdnow["T"][:5]
        pd.testing.assert_series_equal(k.prob_alive(x, tx, T, table), k.prob_alive(x, tx, T, plain))

    def test_detail_must_be_true_or_false(self, cdnow):
        with pytest.raises(KPIInputError) as info:
            k.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"], 2)
        assert "detail" in str(info.value)

    def test_time_unit_only_rescales_alpha(self, cdnow, cdnow_fit):
        # the same customers in days instead of weeks: alpha × 7, r, a, b unchanged
        got = k.bgnbd_fit(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7)
        f = dict(zip(got["label"], got["value"]))
        assert f["alpha"] == pytest.approx(cdnow_fit["alpha"] * 7, rel=1e-5)
        for n in ("r", "a", "b"):
            assert f[n] == pytest.approx(cdnow_fit[n], rel=1e-5)

    @pytest.mark.slow
    def test_recovers_the_parameters_of_simulated_customers(self):
        rng = np.random.default_rng(20260301)
        truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
        x, tx, T, _ = simulate(30_000, *truth.values(), 20, 78, rng)
        got = k.bgnbd_fit(x, tx, T)
        f = dict(zip(got["label"], got["value"]))
        for n, v in truth.items():
            assert f[n] == pytest.approx(v, rel=0.15), n

    def test_blank_rows_are_skipped(self, cdnow):
        x = cdnow["x"].tolist()[:400] + [None]
        tx = cdnow["t_x"].tolist()[:400] + [None]
        T = cdnow["T"].tolist()[:400] + [None]
        pd.testing.assert_frame_equal(k.bgnbd_fit(x, tx, T), k.bgnbd_fit(x[:-1], tx[:-1], T[:-1]))

    def test_recency_after_T_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.bgnbd_fit([1, 2, 0], [10, 40, 0], [30, 38, 20])
        assert "recency" in str(info.value) and "item 2" in str(info.value)

    def test_recency_without_repeat_purchases_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.bgnbd_fit([1, 0, 0], [10, 5, 0], [30, 38, 20])
        assert "recency" in str(info.value) and "item 2" in str(info.value)

    @pytest.mark.parametrize("bad", [1.5, -1])
    def test_frequency_must_be_a_whole_number_not_negative(self, bad):
        with pytest.raises(KPIDomainError) as info:
            k.bgnbd_fit([1, bad, 0], [10, 5, 0], [30, 38, 20])
        assert "frequency" in str(info.value)

    def test_misaligned_ranges(self):
        with pytest.raises(KPIInputError) as info:
            k.bgnbd_fit([1, 2, 0], [10, 5], [30, 38, 20])
        assert "aligned" in str(info.value)

    def test_partly_blank_row_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.bgnbd_fit([1, 2, 0], [10, None, 0], [30, 38, 20])
        assert "recency" in str(info.value) and "item 2" in str(info.value)

    def test_no_repeat_purchases_cannot_be_fitted(self):
        with pytest.raises(KPIModelError):
            k.bgnbd_fit([0, 0, 0], [0, 0, 0], [30, 38, 20])

    def test_too_few_customers_is_a_model_error_not_a_number(self):
        with pytest.raises(KPIModelError) as info:
            k.bgnbd_fit([1, 2, 0], [10, 5, 0], [30, 38, 20])
        assert info.value.excel_error == "#NUM!"


# ---------------------------------------------------------------- Gamma-Gamma and CLV
class TestGammaGamma:
    def test_gamma_gamma_matches_published_cdnow_estimates(self, cdnow):
        # Fader & Hardie, "The Gamma-Gamma Model of Monetary Value": p 6.25, q 3.74, gamma 15.44
        rep = cdnow[cdnow["x"] > 0]
        assert len(rep) == 946
        gg = _fit_gamma_gamma(rep["x"].to_numpy(float), rep["zbar"].to_numpy(float), "KPI_CLV_BGNBD")
        assert gg.p == pytest.approx(6.25, abs=0.005)
        assert gg.q == pytest.approx(3.74, abs=0.005)
        assert gg.v == pytest.approx(15.44, abs=0.01)
        naive = naive_gg_fit(rep["x"].tolist(), rep["zbar"].tolist())
        np.testing.assert_allclose([gg.p, gg.q, gg.v], naive, rtol=1e-4)


class TestClvBgnbd:
    def test_matches_naive_expected_purchases_times_naive_spend_on_cdnow(self, cdnow, cdnow_fit):
        got = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 39, 0)
        assert isinstance(got, pd.Series) and got.name == "expected value" and len(got) == len(cdnow)
        rep = cdnow[cdnow["x"] > 0]
        p, q, g = naive_gg_fit(rep["x"].tolist(), rep["zbar"].tolist())
        bg = [cdnow_fit[n] for n in ("r", "alpha", "a", "b")]
        # every distinct (x, t_x, T, zbar) once
        rows = cdnow.drop_duplicates(["x", "t_x", "T", "zbar"])
        for i, row in zip(rows.index, rows.itertuples(index=False)):
            e = naive_expected_purchases(*bg, row.x, row.t_x, row.T, 39)
            spend = p * (g + row.x * row.zbar) / (p * row.x + q - 1) if row.x > 0 else p * g / (q - 1)
            assert got[i] == pytest.approx(e * spend, rel=2e-4), (i, row)

    def test_expected_purchases_of_the_most_frequent_buyers(self, cdnow, cdnow_fit):
        # large x stresses the hypergeometric term: same spend for everyone isolates E[Y(t)]
        top = cdnow.nlargest(20, "x")
        bg = [cdnow_fit[n] for n in ("r", "alpha", "a", "b")]
        got = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 52, 0)
        rep = cdnow[cdnow["x"] > 0]
        p, q, g = naive_gg_fit(rep["x"].tolist(), rep["zbar"].tolist())
        for i, row in zip(top.index, top.itertuples(index=False)):
            e = naive_expected_purchases(*bg, row.x, row.t_x, row.T, 52)
            spend = p * (g + row.x * row.zbar) / (p * row.x + q - 1)
            assert got[i] / spend == pytest.approx(e, rel=2e-4)

    @pytest.mark.parametrize("a", [1.0, 1.0 + 3e-7, 1.0 - 5e-8])
    def test_expected_purchases_at_a_equal_to_1_the_removable_singularity(self, a):
        from kpi_functions.bgnbd import _BGNBD, _conditional_purchases

        m = _BGNBD(0.5, 5.0, a, 2.0, 0.0)
        got = _conditional_purchases(m, 30.0, np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([40.0, 40.0]))
        mp.mp.dps = 60
        a_hp = mp.mpf(a) + mp.mpf("1e-40")  # mpmath at 60 digits steps off the exact singularity
        ref = [naive_expected_purchases(0.5, 5.0, a_hp, 2.0, x, tx, 40.0, 30.0) for x, tx in ((0, 0.0), (3, 20.0))]
        np.testing.assert_allclose(got, ref, rtol=1e-9)

    def test_discounted_value_is_the_sum_of_discounted_increments(self, cdnow, cdnow_fit):
        d, h = 0.02, 10
        got = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], h, d)
        undiscounted = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], h, 0)
        bg = [cdnow_fit[n] for n in ("r", "alpha", "a", "b")]
        for i in (0, 1, 2, 17, int(cdnow["x"].idxmax())):
            row = cdnow.loc[i]
            e = [0.0] + [naive_expected_purchases(*bg, row["x"], row["t_x"], row["T"], kk) for kk in range(1, h + 1)]
            factor = sum((e[kk] - e[kk - 1]) / (1 + d) ** kk for kk in range(1, h + 1))
            spend = undiscounted[i] / e[h]
            assert got[i] == pytest.approx(factor * spend, rel=2e-4)
        assert (got < undiscounted).all()

    def test_long_horizons_are_valued_in_blocks_with_the_same_result(self, cdnow, monkeypatch):
        from kpi_functions import bgnbd

        args = (cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 60, 0.01)
        whole = k.clv_bgnbd(*args)
        monkeypatch.setattr(bgnbd, "_BLOCK_VALUES", 7 * len(cdnow))  # blocks of 7 periods
        pd.testing.assert_series_equal(k.clv_bgnbd(*args), whole, rtol=1e-12)

    def test_customers_without_repeats_get_the_population_mean_spend(self, cdnow, cdnow_fit):
        got = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 39, 0)
        rep = cdnow[cdnow["x"] > 0]
        gg = _fit_gamma_gamma(rep["x"].to_numpy(float), rep["zbar"].to_numpy(float), "KPI_CLV_BGNBD")
        # two customers with x = 0 and the same T have the same value
        same = cdnow[(cdnow["x"] == 0) & (cdnow["T"] == 38.86)].index[:2]
        assert got[same[0]] == got[same[1]]
        # and that value is E[Y(39) | x = 0, T] × p γ / (q − 1)
        bg = [cdnow_fit[n] for n in ("r", "alpha", "a", "b")]
        e = naive_expected_purchases(*bg, 0, 0, 38.86, 39)
        assert got[same[0]] == pytest.approx(e * gg.p * gg.v / (gg.q - 1), rel=1e-6)

    def test_monetary_is_ignored_without_repeat_purchases(self, cdnow):
        x, tx, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
        base = k.clv_bgnbd(x, tx, T, cdnow["zbar"])
        blank = cdnow["zbar"].where(x > 0, None)
        other = cdnow["zbar"].where(x > 0, 999.0)
        pd.testing.assert_series_equal(k.clv_bgnbd(x, tx, T, blank), base)
        pd.testing.assert_series_equal(k.clv_bgnbd(x, tx, T, other), base)

    def test_blank_rows_give_blank_values_in_place(self, cdnow):
        c = cdnow.iloc[:600]
        x = c["x"].tolist()
        tx, T, m = c["t_x"].tolist(), c["T"].tolist(), c["zbar"].tolist()
        got = k.clv_bgnbd(x[:3] + [None] + x[3:], tx[:3] + [None] + tx[3:], T[:3] + [None] + T[3:],
                          m[:3] + [None] + m[3:])
        ref = k.clv_bgnbd(x, tx, T, m)
        assert len(got) == 601 and np.isnan(got[3])
        np.testing.assert_allclose(np.delete(got.to_numpy(), 3), ref.to_numpy(), rtol=1e-12)

    def test_default_horizon_is_12_periods_undiscounted(self, cdnow):
        a = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"])
        b = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], None, None)
        c = k.clv_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], 12, 0)
        pd.testing.assert_series_equal(a, c)
        pd.testing.assert_series_equal(b, c)

    def test_given_params_are_the_fits_outputs(self, cdnow):
        x, tx, T, z = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"]
        bg, gg = k.bgnbd_fit(x, tx, T), k.gamma_gamma_fit(x, z, True)
        base = k.clv_bgnbd(x, tx, T, z, 39, 0.01)
        pd.testing.assert_series_equal(k.clv_bgnbd(x, tx, T, z, 39, 0.01, bg, gg), base, rtol=1e-12)
        pd.testing.assert_series_equal(k.clv_bgnbd(x, tx, T, z, 39, 0.01, bg), base, rtol=1e-12)
        pd.testing.assert_series_equal(k.clv_bgnbd(x, tx, T, z, 39, 0.01, None, gg), base, rtol=1e-12)

    def test_published_cdnow_parameters_for_the_papers_customer(self):
        # FHL 2005 (r 0.243, α 4.414, a 0.793, b 2.426) and the Gamma-Gamma note (p 6.25, q 3.74, γ 15.44):
        # E[Y(39)] (1.226 in the paper) times E[M | x = 2, z̄ = 22.35] = 6.25 (15.44 + 44.7) / 15.24
        got = k.clv_bgnbd([2, 0], [30.43, 0], [38.86, 38.86], [22.35, None], 39, 0, [0.243, 4.414, 0.793, 2.426],
                          [6.25, 3.74, 15.44])
        want = [naive_expected_purchases(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39) * 375.875 / 15.24,
                naive_expected_purchases(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86, 39) * 96.5 / 2.74]
        np.testing.assert_allclose(got, want, rtol=1e-10)
        assert got[0] == pytest.approx(1.226 * 24.6637, abs=0.02)

    def test_given_spend_params_need_no_two_repeat_buyers(self):
        got = k.clv_bgnbd([2, 0], [30.43, 0], [38.86, 20], [22.35, 0], 39, 0, [0.243, 4.414, 0.793, 2.426],
                          [6.25, 3.74, 15.44])
        assert np.isfinite(got).all()

    def test_params_out_of_domain_name_their_argument(self):
        args = ([2, 0], [30.43, 0], [38.86, 20], [22.35, 0], 39, 0)
        with pytest.raises(KPIDomainError) as info:
            k.clv_bgnbd(*args, [0.243, 4.414, 0.793, 2.426], [6.25, 1.0, 15.44])
        assert str(info.value).startswith("KPI_CLV_BGNBD: argument 'spend_params', item 2: 1.0 must be greater than 1 (q of the Gamma-Gamma model)")
        with pytest.raises(KPIInputError) as info:
            k.clv_bgnbd(*args, [0.243, 4.414, 0.793], [6.25, 3.74, 15.44])
        assert info.value.argument == "params" and "got 3 numbers" in str(info.value)

    def test_repeat_buyer_without_monetary_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, None, None])
        assert "monetary" in str(info.value) and "item 2" in str(info.value)
        with pytest.raises(KPIDomainError):
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, 0, None])

    def test_negative_monetary_is_out_of_domain(self):
        with pytest.raises(KPIDomainError):
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, -5, None])

    def test_monetary_in_an_otherwise_blank_row_is_an_error(self):
        with pytest.raises(KPIInputError):
            k.clv_bgnbd([1, None, 2], [10, None, 5], [30, None, 38], [20.0, 15.0, 30.0])

    @pytest.mark.parametrize("horizon", [0, 2.5, -1, 100_001])
    def test_horizon_must_be_a_whole_number_from_1_to_100000(self, horizon):
        with pytest.raises(KPIDomainError) as info:
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, 15.0, None], horizon)
        assert "horizon" in str(info.value)

    @pytest.mark.parametrize("rate", [-0.1, 1.5])
    def test_discount_rate_must_lie_in_0_1(self, rate):
        with pytest.raises(KPIDomainError) as info:
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, 15.0, None], 12, rate)
        assert "discount_rate" in str(info.value)

    def test_misaligned_monetary(self):
        with pytest.raises(KPIInputError) as info:
            k.clv_bgnbd([1, 2, 0], [10, 5, 0], [30, 38, 20], [20.0, 15.0])
        assert "monetary" in str(info.value)

    def test_heavy_tailed_spend_with_q_at_most_1_is_a_model_error(self):
        rng = np.random.default_rng(1)
        x, tx, T, _ = simulate(2000, 0.8, 8.0, 1.0, 3.0, 20, 52, rng)
        rep = x > 0
        nu = rng.gamma(0.6, 1.0, x.size)  # q = 0.6: the mean spend across customers is infinite
        m = np.maximum(x, 1)
        mon = np.where(rep, rng.gamma(3.0 * m, 1 / (nu * m)), 0.0)
        with pytest.raises(KPIModelError) as info:
            k.clv_bgnbd(x, tx, T, mon)
        assert "q =" in str(info.value) and info.value.excel_error == "#NUM!"

    def test_fewer_than_two_repeat_buyers_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.clv_bgnbd([1, 0, 0, 0], [10, 0, 0, 0], [30, 38, 20, 25], [20.0, None, None, None])
        assert "monetary" in str(info.value)
