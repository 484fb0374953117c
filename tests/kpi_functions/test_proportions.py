"""Intervals and tests of rates (KPI_RATE_CI, KPI_RATE_CHANGE): the Wilson interval worked out from its
formula, Clopper–Pearson and Jeffreys against slow references (a bisection on the binomial CDF, mpmath's
regularised incomplete beta), Newcombe's published Table II, the z-test by hand (math.erfc), Fisher's exact
test against a brute-force hypergeometric sum, statsmodels where it is installed, and the error cases."""

from __future__ import annotations

import math
from statistics import NormalDist

import mpmath
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIUndefinedError

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054


def ci(*args):
    df = k.rate_ci(*args)
    assert list(df["label"]) == ["rate", "lower", "upper"]
    return tuple(float(v) for v in df["value"])


def change(*args):
    df = k.rate_change(*args)
    assert list(df.columns) == ["label", "value"] and len(df) == 6
    return dict(zip(df["label"], (float(v) for v in df["value"])))


def wilson_by_hand(x, n, z=Z95):
    """Wilson (1927): the roots in p of (x/n − p)² = z² p (1 − p) / n, from the quadratic formula."""
    a = 1 + z * z / n
    b = -(2 * x / n + z * z / n)
    c = (x / n) ** 2
    disc = math.sqrt(b * b - 4 * a * c)
    return (-b - disc) / (2 * a), (-b + disc) / (2 * a)


def binom_cdf(x, n, p):
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(x + 1))


def bisect(f, lo=0.0, hi=1.0):
    """The root of an increasing f on [lo, hi], by 200 halvings."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson_slow(x, n, conf=0.95):
    """Lower: P(X ≥ x | p) = α/2; upper: P(X ≤ x | p) = α/2 (binomial sums, bisection)."""
    a = (1 - conf) / 2
    lo = 0.0 if x == 0 else bisect(lambda p: (1 - binom_cdf(x - 1, n, p)) - a)
    hi = 1.0 if x == n else bisect(lambda p: a - binom_cdf(x, n, p))
    return lo, hi


def jeffreys_slow(x, n, conf=0.95):
    a = (1 - conf) / 2

    def cdf(p):
        return float(mpmath.betainc(x + 0.5, n - x + 0.5, 0, p, regularized=True))

    lo = 0.0 if x == 0 else bisect(lambda p: cdf(p) - a)
    hi = 1.0 if x == n else bisect(lambda p: cdf(p) - (1 - a))
    return lo, hi


def fisher_brute(xa, na, xb, nb):
    """Two-sided Fisher: sum the hypergeometric probabilities of the tables with the margins of the observed
    one that are no more likely than it (relative tolerance 1e-7, as R and scipy)."""
    m = xa + xb
    total = math.comb(na + nb, m)

    def prob(i):
        return math.comb(na, i) * math.comb(nb, m - i) / total

    p_obs = prob(xa)
    return min(1.0, math.fsum(prob(i) for i in range(max(0, m - nb), min(na, m) + 1)
                              if prob(i) <= p_obs * (1 + 1e-7)))


class TestRateCiWilson:
    @pytest.mark.parametrize("x, n", [(19, 400), (0, 10), (10, 10), (1, 3), (250, 1000), (7, 12)])
    def test_equals_the_roots_of_the_score_equation(self, x, n):
        rate, lo, hi = ci(x, n)
        want = wilson_by_hand(x, n)
        assert rate == x / n
        assert lo == pytest.approx(want[0], rel=1e-12, abs=1e-15)
        assert hi == pytest.approx(want[1], rel=1e-12)

    def test_19_of_400_by_hand(self):
        # centre (19 + 1.920729)/(400 + 3.841459) = 0.0518043; half-width
        # 1.959964/403.841459 · √(19·381/400 + 0.960365) = 0.0211872
        assert ci(19, 400) == pytest.approx((0.0475, 0.0306171, 0.0729915), abs=1e-7)

    def test_0_of_10_has_lower_0_and_upper_z2_over_n_plus_z2(self):
        z2 = Z95**2
        assert ci(0, 10) == (0.0, 0.0, pytest.approx(z2 / (10 + z2), rel=1e-14))
        assert ci(0, 10)[2] == pytest.approx(0.2775328, abs=1e-7)

    def test_10_of_10_has_upper_1_and_lower_n_over_n_plus_z2(self):
        z2 = Z95**2
        assert ci(10, 10) == (1.0, pytest.approx(10 / (10 + z2), rel=1e-14), 1.0)

    def test_confidence_changes_z(self):
        z = NormalDist().inv_cdf(0.95)
        _, lo, hi = ci(19, 400, 0.9)
        assert (lo, hi) == pytest.approx(wilson_by_hand(19, 400, z), rel=1e-12)
        assert hi - lo < ci(19, 400)[2] - ci(19, 400)[1]

    def test_ranges_are_summed_first(self):
        assert ci([10, 9, None], [150, 250]) == ci(19, 400)

    def test_method_is_case_insensitive(self):
        assert ci(19, 400, 0.95, "Wilson") == ci(19, 400, None, None) == ci(19, 400)


class TestRateCiOtherMethods:
    @pytest.mark.parametrize("x, n", [(0, 10), (1, 10), (3, 7), (19, 400), (10, 10), (99, 100)])
    @pytest.mark.parametrize("conf", [0.95, 0.8])
    def test_exact_equals_a_bisection_on_the_binomial_cdf(self, x, n, conf):
        _, lo, hi = ci(x, n, conf, "exact")
        want = clopper_pearson_slow(x, n, conf)
        assert (lo, hi) == pytest.approx(want, rel=1e-9, abs=1e-12)

    def test_exact_0_of_10_is_one_minus_alpha_half_to_the_tenth(self):
        # P(X = 0 | p) = (1 − p)¹⁰ = 0.025  =>  p = 1 − 0.025^(1/10)
        assert ci(0, 10, 0.95, "exact")[2] == pytest.approx(1 - 0.025 ** 0.1, rel=1e-12)

    @pytest.mark.parametrize("x, n", [(0, 10), (1, 10), (19, 400), (10, 10)])
    def test_jeffreys_equals_the_beta_quantiles_from_mpmath(self, x, n):
        _, lo, hi = ci(x, n, 0.95, "jeffreys")
        assert (lo, hi) == pytest.approx(jeffreys_slow(x, n), rel=1e-9, abs=1e-12)

    def test_agresti_coull_by_hand(self):
        nt = 400 + Z95**2
        pt = (19 + Z95**2 / 2) / nt
        h = Z95 * math.sqrt(pt * (1 - pt) / nt)
        assert ci(19, 400, 0.95, "agresti-coull")[1:] == pytest.approx((pt - h, pt + h), rel=1e-12)

    def test_wald_by_hand_and_cut_at_zero(self):
        h = Z95 * math.sqrt(0.0475 * 0.9525 / 400)
        assert ci(19, 400, 0.95, "wald")[1:] == pytest.approx((0.0475 - h, 0.0475 + h), rel=1e-12)
        assert ci(0, 10, 0.95, "wald") == (0.0, 0.0, 0.0)  # the Wald interval's known failure
        assert ci(1, 10, 0.95, "wald")[1] == 0.0  # 0.1 − 0.186 cut at 0

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
           st.sampled_from(["wilson", "exact", "jeffreys"]))
    def test_bounds_lie_in_0_1_and_around_the_rate(self, xn, method):
        x, n = xn
        rate, lo, hi = ci(x, n, 0.95, method)
        assert 0.0 <= lo <= rate <= hi <= 1.0
        assert lo < hi

    def test_exact_is_wider_than_wilson(self):
        w, e = ci(19, 400), ci(19, 400, 0.95, "exact")
        assert e[1] < w[1] and e[2] > w[2]


# Newcombe (1998), Table II, method 10 (score interval without continuity correction): (x1, n1, x2, n2) and
# the 95 % interval of p1 − p2; KPI_RATE_CHANGE takes a = (x2, n2), b = (x1, n1).
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


class TestRateChangeInterval:
    @pytest.mark.parametrize("x1, n1, x2, n2, lo, hi", NEWCOMBE_TABLE_II)
    def test_matches_newcombe_1998_table_ii_method_10(self, x1, n1, x2, n2, lo, hi):
        r = change(x2, n2, x1, n1)
        assert r["difference (b − a)"] == pytest.approx(x1 / n1 - x2 / n2, rel=1e-15, abs=1e-15)
        assert round(r["lower"], 4) == lo and round(r["upper"], 4) == hi

    @pytest.mark.parametrize("xa, na, xb, nb", [(48, 80, 56, 70), (12, 300, 21, 310), (0, 5, 3, 4)])
    def test_combines_the_two_wilson_intervals(self, xa, na, xb, nb):
        la, ua = wilson_by_hand(xa, na)
        lb, ub = wilson_by_hand(xb, nb)
        pa, pb = xa / na, xb / nb
        r = change(xa, na, xb, nb)
        assert r["rate a"] == pa and r["rate b"] == pb
        assert r["lower"] == pytest.approx(pb - pa - math.hypot(pb - lb, ua - pa), rel=1e-12)
        assert r["upper"] == pytest.approx(pb - pa + math.hypot(ub - pb, pa - la), rel=1e-12)

    def test_swapping_a_and_b_mirrors_the_interval(self):
        r, s = change(48, 80, 56, 70), change(56, 70, 48, 80)
        assert s["difference (b − a)"] == pytest.approx(-r["difference (b − a)"], rel=1e-15)
        assert (s["lower"], s["upper"]) == pytest.approx((-r["upper"], -r["lower"]), rel=1e-12)
        assert list(s.values())[-1] == pytest.approx(list(r.values())[-1], rel=1e-12)

    def test_lower_confidence_narrows_it(self):
        r, s = change(48, 80, 56, 70), change(48, 80, 56, 70, 0.8)
        assert r["lower"] < s["lower"] < s["upper"] < r["upper"]


    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
           st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
    def test_interval_holds_the_difference_within_minus_1_and_1(self, a, b):
        r = change(a[0], a[1], b[0], b[1])
        d = r["difference (b − a)"]
        assert -1.0 <= r["lower"] <= d <= r["upper"] <= 1.0
        assert 0.0 <= list(r.values())[-1] <= 1.0


class TestRateChangeTest:
    @pytest.mark.parametrize("xa, na, xb, nb", [(48, 80, 56, 70), (19, 400, 31, 410), (120, 2000, 119, 2100)])
    def test_z_test_by_hand(self, xa, na, xb, nb):
        p = (xa + xb) / (na + nb)
        z = (xb / nb - xa / na) / math.sqrt(p * (1 - p) * (1 / na + 1 / nb))
        r = change(xa, na, xb, nb)
        assert r["p-value (two-proportion z-test)"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-12)

    def test_z_test_of_newcombes_example(self):
        # pooled p = 104/150; z = 0.2 / √(104/150 · 46/150 · (1/80 + 1/70)) = 2.65017; P = erfc(z/√2)
        assert change(48, 80, 56, 70)["p-value (two-proportion z-test)"] == pytest.approx(0.0080451, abs=1e-7)

    @pytest.mark.parametrize("xa, na, xb, nb", [(1, 20, 5, 22), (0, 10, 4, 10), (3, 40, 0, 35), (2, 7, 6, 9),
                                                (0, 10, 0, 20), (1, 500_000, 7, 500_000)])
    def test_small_counts_use_fisher_equal_to_a_brute_force_sum(self, xa, na, xb, nb):
        r = change(xa, na, xb, nb)
        assert r["p-value (Fisher exact test)"] == pytest.approx(fisher_brute(xa, na, xb, nb), rel=1e-9)

    def test_rule_is_an_expected_count_below_5(self):
        # pooled 10/200 = 0.05: expected successes 100 · 0.05 = 5 in each group -> z-test
        assert "p-value (two-proportion z-test)" in change(4, 100, 6, 100)
        # pooled 9/200: expected 4.5 < 5 -> Fisher
        assert "p-value (Fisher exact test)" in change(4, 100, 5, 100)

    def test_the_test_can_be_chosen(self):
        assert change(48, 80, 56, 70, 0.95, "fisher")["p-value (Fisher exact test)"] == pytest.approx(
            fisher_brute(48, 80, 56, 70), rel=1e-9)
        z = change(1, 20, 5, 22, 0.95, "Z")["p-value (two-proportion z-test)"]
        p = 6 / 42
        want = math.erfc(abs((5 / 22 - 1 / 20) / math.sqrt(p * (1 - p) * (1 / 20 + 1 / 22))) / math.sqrt(2))
        assert z == pytest.approx(want, rel=1e-12)

    def test_no_successes_anywhere_is_p_1(self):
        assert change(0, 500, 0, 500, 0.95, "z")["p-value (two-proportion z-test)"] == 1.0
        assert change(0, 500, 0, 500)["p-value (Fisher exact test)"] == 1.0

    def test_churn_that_rose_from_4_to_6_percent_on_1000_customers_is_significant(self):
        r = change(40, 1000, 60, 1000)
        assert r["p-value (two-proportion z-test)"] < 0.05 and r["lower"] > 0
        r = change(4, 100, 6, 100)  # the same rates on a tenth of the customers: noise
        assert r["p-value (two-proportion z-test)"] > 0.05 and r["lower"] < 0


@pytest.fixture
def sm():
    return pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels is not installed")


class TestAgainstStatsmodels:

    @pytest.mark.parametrize("x, n", [(0, 10), (19, 400), (10, 10), (3, 7)])
    @pytest.mark.parametrize("ours, theirs", [("wilson", "wilson"), ("exact", "beta"), ("jeffreys", "jeffreys"),
                                              ("agresti-coull", "agresti_coull"), ("wald", "normal")])
    def test_proportion_confint(self, sm, x, n, ours, theirs):
        lo, hi = sm.proportion_confint(x, n, alpha=0.05, method=theirs)
        if ours == "jeffreys":  # statsmodels keeps the beta quantile where we (Brown et al.) put 0 or 1
            lo, hi = (0.0 if x == 0 else lo), (1.0 if x == n else hi)
        assert ci(x, n, 0.95, ours)[1:] == pytest.approx((max(lo, 0), min(hi, 1)), rel=1e-9, abs=1e-12)

    @pytest.mark.parametrize("x1, n1, x2, n2, lo, hi", NEWCOMBE_TABLE_II)
    def test_confint_proportions_2indep_newcomb(self, sm, x1, n1, x2, n2, lo, hi):
        want = sm.confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        r = change(x2, n2, x1, n1)
        assert (r["lower"], r["upper"]) == pytest.approx(want, rel=1e-9, abs=1e-12)

    def test_proportions_ztest(self, sm):
        _, p = sm.proportions_ztest([56, 48], [70, 80])
        assert change(48, 80, 56, 70)["p-value (two-proportion z-test)"] == pytest.approx(p, rel=1e-9)


class TestErrors:
    def test_more_successes_than_trials(self):
        with pytest.raises(KPIDomainError) as e:
            k.rate_ci(12, 10)
        err = e.value
        assert err.function == "KPI_RATE_CI" and err.argument == "successes"
        assert "12" in str(err) and "10" in str(err)
        with pytest.raises(KPIDomainError) as e:
            k.rate_change(1, 10, 12, 10)
        assert e.value.function == "KPI_RATE_CHANGE" and e.value.argument == "successes_b"

    @pytest.mark.parametrize("bad", [-1, 2.5])
    def test_negative_or_fractional_counts(self, bad):
        with pytest.raises(KPIDomainError) as e:
            k.rate_ci([3, bad], 100)
        assert e.value.argument == "successes" and str(bad) in str(e.value) and "whole number" in str(e.value)
        with pytest.raises(KPIDomainError) as e:
            k.rate_change(3, 100, 4, bad)
        assert e.value.argument == "trials_b" and str(bad) in str(e.value)

    @pytest.mark.parametrize("conf", [0, 1, 1.5, -0.2])
    def test_confidence_outside_0_1(self, conf):
        for call in (lambda: k.rate_ci(19, 400, conf), lambda: k.rate_change(1, 10, 2, 10, conf)):
            with pytest.raises(KPIDomainError) as e:
                call()
            assert e.value.argument == "confidence" and str(conf) in str(e.value)

    def test_unknown_method_and_test_name_the_value(self):
        with pytest.raises(KPIInputError) as e:
            k.rate_ci(19, 400, 0.95, "score")
        assert str(e.value).startswith("KPI_RATE_CI") and e.value.argument == "method" and "'score'" in str(e.value)
        with pytest.raises(KPIInputError) as e:
            k.rate_change(1, 10, 2, 10, 0.95, "chi2")
        assert e.value.argument == "test" and "'chi2'" in str(e.value)

    def test_counts_beyond_2_to_the_53_are_refused(self):
        with pytest.raises(KPIDomainError) as e:
            k.rate_change(48, 80, 56, 1e308)
        assert e.value.argument == "trials_b" and "1e+308" in str(e.value)

    def test_fisher_is_refused_beyond_ten_million_trials_and_auto_uses_z(self):
        with pytest.raises(KPIDomainError) as e:
            k.rate_change(4, 6_000_000, 1, 5_000_000, 0.95, "fisher")
        assert e.value.argument == "test" and "'fisher'" in str(e.value)
        assert "p-value (two-proportion z-test)" in change(4, 6_000_000, 1, 5_000_000)
        assert "p-value (Fisher exact test)" in change(4, 5_000_000, 1, 5_000_000)

    def test_no_trials_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as e:
            k.rate_ci(0, 0)
        assert e.value.argument == "trials"
        with pytest.raises(KPIUndefinedError) as e:
            k.rate_change(0, 10, 0, [None])
        assert e.value.argument == "trials_b"

    def test_text_count(self):
        with pytest.raises(KPIInputError) as e:
            k.rate_ci("19", 400)
        assert e.value.argument == "successes"


def test_inputs_of_every_kind_give_the_same_answer():
    want = ci(19, 400)
    assert ci(np.array([19]), pd.Series([100, 300])) == want
    assert ci([[10], [9]], [[400]]) == want
