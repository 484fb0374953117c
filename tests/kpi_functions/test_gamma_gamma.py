"""Tests of gamma_gamma_fit and expected_spend (the Gamma-Gamma model of spend per purchase).

Sources of truth:
- Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013): on the
  946 CDNOW repeat buyers p = 6.25, q = 3.74, gamma = 15.44.
- Hardie's spreadsheet for that note (note 025), as quoted in the tests of
  lifetimes 0.11.3 (``test_conditional_expected_average_profit``): the
  expected average spend of the first ten CDNOW customers, 24.65, 18.91,
  35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17.
- A slow reference written here: the note's eq. 3 term by term with
  math.lgamma and math.fsum, maximised by Nelder–Mead (restarted) and polished
  by Newton steps on central finite differences; its observed information by
  finite differences of the same log-likelihood (the library differentiates
  its analytic gradient).
- E[M | x, z̄] = p (γ + x z̄) / (p x + q − 1) by hand for single customers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIModelError, KPIUndefinedError

CDNOW = [6.25, 3.74, 15.44]  # Fader & Hardie, Gamma-Gamma note: p, q, gamma


@pytest.fixture(scope="module")
def cdnow(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def repeaters(cdnow) -> pd.DataFrame:
    return cdnow[cdnow["x"] > 0]


@pytest.fixture(scope="module")
def fit(cdnow) -> pd.DataFrame:
    return k.gamma_gamma_fit(cdnow["x"], cdnow["zbar"], True)


# ---------------------------------------------------------------- the slow reference
def ref_ll(p, q, g, x, z):
    """Σ ln f(z̄ | p, q, γ, x) (the note's eq. 3), customer by customer."""
    return math.fsum(math.lgamma(p * xi + q) - math.lgamma(p * xi) - math.lgamma(q) + q * math.log(g)
                     + (p * xi - 1) * math.log(zi) + p * xi * math.log(xi) - (p * xi + q) * math.log(g + xi * zi)
                     for xi, zi in zip(x, z))


def fd_grad_hess(f, th, h):
    """Gradient and Hessian of f at th by central differences of f itself."""
    n = th.size
    e = np.eye(n) * h
    f0 = f(th)
    grad = np.array([(f(th + e[i]) - f(th - e[i])) / (2 * h) for i in range(n)])
    hess = np.empty((n, n))
    for i in range(n):
        hess[i, i] = (f(th + e[i]) - 2 * f0 + f(th - e[i])) / h ** 2
        for j in range(i + 1, n):
            hess[i, j] = hess[j, i] = (f(th + e[i] + e[j]) - f(th + e[i] - e[j]) - f(th - e[i] + e[j])
                                       + f(th - e[i] - e[j])) / (4 * h * h)
    return grad, hess


def fd_hessian(f, th, h):
    """The Hessian of f by central differences with Richardson's extrapolation (steps h and h/2): error O(h⁴)."""
    return (4 * fd_grad_hess(f, th, h / 2)[1] - fd_grad_hess(f, th, h)[1]) / 3


def ref_fit(x, z):
    """(p, q, γ) maximising ref_ll: Nelder–Mead from (1, 1, 1), restarted, then Newton on finite differences."""
    x, z = list(map(float, x)), list(map(float, z))

    def negll(th):
        return -ref_ll(*np.exp(th), x, z)

    th = np.zeros(3)
    for _ in range(3):
        th = optimize.minimize(negll, th, method="Nelder-Mead",
                               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000}).x
    for _ in range(3):
        grad, hess = fd_grad_hess(negll, th, 1e-4)
        th = th - np.linalg.solve(hess, grad)
    return np.exp(th)


@pytest.fixture(scope="module")
def reference(repeaters):
    return ref_fit(repeaters["x"], repeaters["zbar"])


def values(df: pd.DataFrame) -> dict[str, float]:
    return dict(zip(df["label"], df["value"]))


# ---------------------------------------------------------------- KPI_GAMMA_GAMMA_FIT
class TestGammaGammaFit:
    def test_matches_published_cdnow_estimates(self, repeaters, fit):
        # Fader & Hardie's note: p 6.25, q 3.74, gamma 15.44 on the 946 repeat buyers. The exact
        # maximum (the reference below agrees to 1e-8) is p 6.2488, q 3.7446, gamma 15.4477: p and q
        # round to the printed digits, gamma lies 0.008 above the printed 15.44 (the note's solver)
        assert len(repeaters) == 946
        v = values(fit)
        assert round(v["p"], 2) == 6.25 and round(v["q"], 2) == 3.74
        assert v["gamma"] == pytest.approx(15.44, abs=0.01)

    def test_matches_the_slow_reference_fit(self, repeaters, fit, reference):
        v = values(fit)
        np.testing.assert_allclose([v["p"], v["q"], v["gamma"]], reference, rtol=1e-6)
        p, q, g = reference
        assert v["mean spend"] == pytest.approx(p * g / (q - 1), rel=1e-6)
        assert v["log-likelihood"] == pytest.approx(ref_ll(p, q, g, repeaters["x"], repeaters["zbar"]), rel=1e-10)

    def test_standard_errors_match_a_numerical_hessian(self, repeaters, fit):
        v = values(fit)
        x, z = repeaters["x"].tolist(), repeaters["zbar"].tolist()
        th = np.log([v["p"], v["q"], v["gamma"]])
        hess = fd_hessian(lambda t: -ref_ll(*np.exp(t), x, z), th, 4e-3)
        cov = np.linalg.inv(hess)  # of ln p, ln q, ln γ
        se = np.exp(th) * np.sqrt(np.diag(cov))
        # the mean spend's: the delta method with a numerical gradient of p γ / (q − 1) in the log-parameters
        mean = lambda t: math.exp(t[0]) * math.exp(t[2]) / (math.exp(t[1]) - 1)
        h = 1e-6
        grad = np.array([(mean(th + h * e) - mean(th - h * e)) / (2 * h) for e in np.eye(3)])
        se_mean = math.sqrt(grad @ cov @ grad)
        np.testing.assert_allclose(fit["se"].to_numpy()[:4], [*se, se_mean], rtol=1e-6)
        assert math.isnan(fit["se"].iloc[4]) and math.isnan(fit["lower"].iloc[4]) and math.isnan(fit["upper"].iloc[4])

    def test_intervals_are_taken_on_the_log_scale(self, fit):
        for _, row in fit.iloc[:4].iterrows():
            s = row["se"] / row["value"]
            assert row["lower"] == pytest.approx(row["value"] * math.exp(-1.959963984540054 * s), rel=1e-12)
            assert row["upper"] == pytest.approx(row["value"] * math.exp(1.959963984540054 * s), rel=1e-12)

    def test_detail_only_adds_columns(self, cdnow, fit):
        plain = k.gamma_gamma_fit(cdnow["x"], cdnow["zbar"])
        assert list(plain.columns) == ["label", "value"]
        assert list(fit.columns) == ["label", "value", "se", "lower", "upper"]
        assert plain["label"].tolist() == ["p", "q", "gamma", "mean spend", "log-likelihood"]
        pd.testing.assert_frame_equal(plain, fit[["label", "value"]])

    def test_customers_without_repeats_are_ignored(self, cdnow, repeaters):
        only = k.gamma_gamma_fit(repeaters["x"], repeaters["zbar"])
        blank = k.gamma_gamma_fit(cdnow["x"], cdnow["zbar"].where(cdnow["x"] > 0, None))
        other = k.gamma_gamma_fit(cdnow["x"], cdnow["zbar"].where(cdnow["x"] > 0, 999.0))
        base = k.gamma_gamma_fit(cdnow["x"], cdnow["zbar"])
        for got in (only, blank, other):
            pd.testing.assert_frame_equal(got, base, rtol=1e-12)

    def test_blank_rows_are_skipped(self, cdnow):
        x, m = cdnow["x"].head(300).tolist(), cdnow["zbar"].head(300).tolist()
        base = k.gamma_gamma_fit(x, m)
        got = k.gamma_gamma_fit(x[:2] + [None] + x[2:], m[:2] + [None] + m[2:])
        pd.testing.assert_frame_equal(got, base, rtol=1e-12)

    def test_scaling_money_scales_gamma_and_the_mean(self, repeaters, fit):
        # z̄ → f z̄: p and q unchanged, gamma and the mean spend × f, each density ÷ f (ll − n ln f)
        f = 0.01
        got = k.gamma_gamma_fit(repeaters["x"], repeaters["zbar"] * f, True)
        want = fit.copy()
        for col in ("value", "se", "lower", "upper"):
            want.loc[[2, 3], col] = fit.loc[[2, 3], col] * f
        want.loc[4, "value"] = fit.loc[4, "value"] - len(repeaters) * math.log(f)
        pd.testing.assert_frame_equal(got, want, rtol=1e-6)


# ---------------------------------------------------------------- KPI_EXPECTED_SPEND
class TestExpectedSpend:
    def test_single_customers_by_hand(self):
        got = k.expected_spend([2, 0, 7, 1], [22.35, None, 73.74, 11.77], CDNOW)
        want = [6.25 * (15.44 + 2 * 22.35) / (6.25 * 2 + 3.74 - 1),   # 375.875 / 15.24 = 24.6637
                6.25 * 15.44 / (3.74 - 1),                             # the population mean, 96.5 / 2.74
                6.25 * (15.44 + 7 * 73.74) / (6.25 * 7 + 3.74 - 1),    # 3322.625 / 46.49 = 71.4697
                6.25 * (15.44 + 11.77) / (6.25 + 3.74 - 1)]            # 170.0625 / 8.99 = 18.91685
        np.testing.assert_allclose(got, want, rtol=1e-15)
        assert got.name == "expected spend"
        assert got.round(4).tolist() == [24.6637, 35.219, 71.4697, 18.9169]

    def test_matches_hardies_spreadsheet_for_the_first_cdnow_customers(self, cdnow, fit):
        # note 025's spreadsheet (its own estimates), to the printed cents
        got = k.expected_spend(cdnow["x"].head(10), cdnow["zbar"].head(10), fit)
        want = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
        np.testing.assert_allclose(got, want, atol=0.01)

    def test_every_cdnow_customer_from_the_reference_fit(self, cdnow, reference):
        p, q, g = reference
        got = k.expected_spend(cdnow["x"], cdnow["zbar"])
        x, z = cdnow["x"].to_numpy(float), cdnow["zbar"].to_numpy(float)
        want = [p * (g + xi * zi) / (p * xi + q - 1) if xi > 0 else p * g / (q - 1) for xi, zi in zip(x, z)]
        np.testing.assert_allclose(got, want, rtol=1e-6)

    def test_forms_of_params(self, cdnow, fit):
        x, m = cdnow["x"].head(30), cdnow["zbar"].head(30)
        plain = fit[["label", "value"]]
        base = k.expected_spend(x, m, fit["value"].tolist()[:3])
        spilled = [list(fit.columns)] + fit.values.tolist()  # as Excel hands the spill over, detail included
        column = fit["value"].tolist()
        for form in (fit, plain, spilled, plain.values.tolist(), [["label", "value"]] + plain.values.tolist(),
                     column, [[v] for v in column], [column[:3]], [["gamma", column[2]], ["p", column[0]],
                                                                   ["q", column[1]]]):
            pd.testing.assert_series_equal(k.expected_spend(x, m, form), base, rtol=1e-15)

    def test_blank_params_fit_the_given_customers(self, cdnow, fit):
        x, m = cdnow["x"], cdnow["zbar"]
        pd.testing.assert_series_equal(k.expected_spend(x, m), k.expected_spend(x, m, fit), rtol=1e-12)
        pd.testing.assert_series_equal(k.expected_spend(x, m, [None] * 3), k.expected_spend(x, m), rtol=1e-15)

    def test_blank_rows_keep_their_place(self):
        got = k.expected_spend([2, None, 0], [22.35, None, 0], CDNOW)
        ref = k.expected_spend([2, 0], [22.35, 0], CDNOW)
        assert len(got) == 3 and math.isnan(got[1])
        assert got[0] == ref[0] and got[2] == ref[1]

    def test_given_params_need_no_repeat_buyers(self):
        got = k.expected_spend([0, 0], [None, 0], CDNOW)
        assert got.tolist() == [6.25 * 15.44 / 2.74] * 2

    def test_agrees_with_the_spend_in_clv_bgnbd(self, cdnow):
        # undiscounted, the CLV is E[Y(h) | x, t_x, T] · E[M | x, z̄], both fitted to the same customers
        x, tx, T, z = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"]
        clv = k.clv_bgnbd(x, tx, T, z, 39, 0)
        np.testing.assert_allclose(clv, k.expected_purchases(x, tx, T, 39) * k.expected_spend(x, z), rtol=1e-12)

    @pytest.mark.parametrize("params, words", [
        ([6.0, 4.0], "got 2 numbers"),
        ([6.0, 4.0, 15.0, 30.0], "got 4 numbers"),
        ([["p", 6.0], ["q", 4.0]], "lacks gamma"),
        ([["p", 6.0], ["q", 4.0], ["nu", 15.0]], "not a label of KPI_GAMMA_GAMMA_FIT's output"),
        ([["p", 6.0], ["q", None], ["gamma", 15.0]], "no value for q"),
        ([6.0, "4", 15.0], "text"),
    ])
    def test_params_that_are_not_p_q_gamma(self, params, words):
        with pytest.raises(KPIInputError) as info:
            k.expected_spend([2, 0], [22.35, 0], params)
        assert info.value.function == "KPI_EXPECTED_SPEND" and info.value.argument == "params"
        assert words in str(info.value)

    @pytest.mark.parametrize("i, bad, floor", [(0, 0.0, "0"), (1, 1.0, "1"), (1, 0.5, "1"), (2, -15.0, "0")])
    def test_a_parameter_out_of_its_domain(self, i, bad, floor):
        p = list(CDNOW)
        p[i] = bad
        with pytest.raises(KPIDomainError) as info:
            k.expected_spend([2, 0], [22.35, 0], p)
        msg = str(info.value)
        assert msg.startswith("KPI_EXPECTED_SPEND: argument 'params', item " + str(i + 1))
        assert f"{bad:g}" in msg and f"must be greater than {floor} ({['p', 'q', 'gamma'][i]} of the Gamma-Gamma" in msg


# ---------------------------------------------------------------- bad input
BOTH = [k.gamma_gamma_fit, k.expected_spend]


@pytest.mark.parametrize("func", BOTH)
class TestBadInput:
    def test_a_negative_monetary_value(self, func):
        with pytest.raises(KPIDomainError) as info:
            func([1, 2, 3], [5.0, -2.5, 7.0])
        e = info.value
        assert e.argument == "monetary" and "item 2" in str(e) and "-2.5" in str(e)
        assert str(e).startswith(func.__name__.upper().join(["KPI_", ":"]))

    def test_a_repeat_buyer_without_monetary_value(self, func):
        with pytest.raises(KPIInputError) as info:
            func([[1], [2], [3]], [[5.0], [None], [7.0]])
        assert info.value.argument == "monetary" and "row 2, column 1" in str(info.value)
        assert "blank for a customer with repeat purchases" in str(info.value)

    def test_a_repeat_buyer_spending_nothing(self, func):
        with pytest.raises(KPIDomainError) as info:
            func([0, 2, 3], [0.0, 0.0, 7.0])
        assert info.value.argument == "monetary" and "item 2" in str(info.value)
        assert "must be greater than 0 for a customer with repeat purchases" in str(info.value)

    def test_monetary_in_a_row_without_frequency(self, func):
        with pytest.raises(KPIInputError) as info:
            func([1, None, 3], [5.0, 6.0, 7.0])
        assert info.value.argument == "monetary" and "item 2" in str(info.value)
        assert "whose frequency is blank" in str(info.value)

    def test_a_fractional_frequency(self, func):
        with pytest.raises(KPIDomainError) as info:
            func([1, 2.5, 3], [5.0, 6.0, 7.0])
        assert info.value.argument == "frequency" and "item 2" in str(info.value) and "2.5" in str(info.value)

    def test_ranges_of_different_length(self, func):
        with pytest.raises(KPIInputError) as info:
            func([1, 2, 3], [5.0, 6.0])
        assert "'frequency' has 3 cells but 'monetary' has 2" in str(info.value)

    def test_no_customers(self, func):
        with pytest.raises(KPIUndefinedError) as info:
            func([None, None], [None, None])
        assert info.value.argument == "frequency"

    def test_fewer_than_two_repeat_buyers(self, func):
        with pytest.raises(KPIUndefinedError) as info:
            func([0, 3, 0], [0.0, 7.0, None])
        assert info.value.argument == "monetary" and "at least two customers with repeat purchases; got 1" in str(
            info.value)

    def test_amounts_too_heavy_tailed_give_q_below_1(self, func):
        rng = np.random.default_rng(0)
        x = rng.integers(1, 6, 300)
        nu = rng.gamma(0.6, 1 / 10.0, 300)  # spend rates with q = 0.6: an infinite mean spend
        z = rng.gamma(3.0 * x, 1 / (nu * x)).round(2)
        with pytest.raises(KPIModelError, match=r"q = 0\.6383 ≤ 1, so the mean spend per purchase is infinite"):
            func(x.tolist(), z.tolist())

    def test_amounts_that_do_not_vary_are_at_the_edge(self, func):
        with pytest.raises(KPIModelError, match="run to 0 or to infinity, so the data cannot identify"):
            func([2, 2, 2, 3], [10.0, 10.0, 10.0, 10.0])


# ---------------------------------------------------------------- a peer, where it installs
def test_agrees_with_lifetimes_customer_by_customer():
    lifetimes = pytest.importorskip("lifetimes")
    rng = np.random.default_rng(7)
    x = rng.integers(0, 12, 400)
    nu = rng.gamma(4.0, 1 / 15.0, 400)  # p 6, q 4, gamma 15
    m = np.where(x > 0, np.maximum(rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))).round(2), 0.01), 0)
    peer = lifetimes.GammaGammaFitter()
    peer.fit(x[x > 0], m[x > 0], tol=1e-9)
    ours = k.expected_spend(x, m)
    np.testing.assert_allclose(peer.conditional_expected_average_profit(x, m), ours, rtol=1e-6)
    # with the same parameters the formula is the same to rounding
    p, q, g = (float(peer.params_[n]) for n in ("p", "q", "v"))
    np.testing.assert_allclose(peer.conditional_expected_average_profit(x, m), k.expected_spend(x, m, [p, q, g]),
                               rtol=1e-13)
