"""Churn and retention KPIs: known values worked out by hand from the
definitions (SPEC §4), the sources' worked examples, a slow reference
implementation of the start/end family compared with the fast one, property
tests of the identities, and the error cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import (
    KPIDomainError,
    KPIErrorValue,
    KPIInputError,
    KPIUndefinedError,
)

# ChartMogul's worked example ("Metric: MRR Churn Rate"), one row per customer:
#   A 10 -> 0   churned 10
#   B 40 -> 30  contraction 10
#   C 30 -> 40  expansion 10
#   D 20 -> 20  flat
#   E  0 -> 25  new (never enters the churn rates)
# starting MRR = 10 + 40 + 30 + 20 = 100
CM_START = [10, 40, 30, 20, 0]
CM_END = [0, 30, 40, 20, 25]
CM_PAIRS = [list(r) for r in zip(CM_START, CM_END)]


# ------------------------------------------------------------------ counts
class TestChurnRate:
    def test_lost_over_customers_at_start(self):
        # 5 / 100 = 0.05
        assert k.churn_rate(5, 100) == 0.05

    def test_ranges_are_summed_before_dividing(self):
        # (2 + 3 + blank) / (60 + 40) = 5 / 100
        assert k.churn_rate([2, 3, None], [60, 40]) == pytest.approx(0.05)

    def test_no_one_lost_is_zero(self):
        assert k.churn_rate(0, 80) == 0.0

    def test_everyone_lost_is_one(self):
        assert k.churn_rate(80, 80) == 1.0

    def test_returns_a_python_float(self):
        assert type(k.churn_rate(np.int64(3), np.int64(12))) is float
        assert k.churn_rate(np.int64(3), np.int64(12)) == 0.25

    def test_no_customers_at_start_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.churn_rate(0, 0)
        err = info.value
        assert err.excel_error == "#DIV/0!"
        assert err.function == "KPI_CHURN_RATE" and err.argument == "at_start"

    def test_more_lost_than_at_start_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.churn_rate(120, 100)
        err = info.value
        assert err.excel_error == "#NUM!"
        assert err.argument == "lost" and err.value == 120
        assert "KPI_CHURN_RATE" in str(err) and "120" in str(err) and "100" in str(err)

    def test_negative_count_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.churn_rate([3, -1], 100)
        err = info.value
        assert err.argument == "lost" and err.position == "item 2" and err.value == -1
        assert "must not be negative" in str(err)

    def test_text_is_not_a_number(self):
        with pytest.raises(KPIInputError) as info:
            k.churn_rate(5, ["100"])
        err = info.value
        assert err.excel_error == "#VALUE!"
        assert err.argument == "at_start" and err.position == "item 1" and err.value == "100"
        assert "numbers stored as text are text" in str(err)


class TestRetentionRate:
    def test_worked_value(self):
        # S = 200, E = 210, N = 30: (210 - 30) / 200 = 180 / 200 = 0.9
        assert k.retention_rate(200, 210, 30) == 0.9

    def test_ranges_are_summed(self):
        # S = 120 + 80 = 200, E = 100 + 110 = 210, N = 10 + 20 = 30 -> 0.9
        assert k.retention_rate([120, 80], [100, None, 110], [10, 20]) == pytest.approx(0.9)

    def test_no_new_customers_is_end_over_start(self):
        # (90 - 0) / 100
        assert k.retention_rate(100, 90, 0) == 0.9

    def test_everyone_kept(self):
        # (150 - 50) / 100 = 1
        assert k.retention_rate(100, 150, 50) == 1.0

    def test_more_new_than_at_end_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.retention_rate(100, 40, 50)
        err = info.value
        assert err.excel_error == "#NUM!"
        assert err.function == "KPI_RETENTION_RATE" and err.argument == "new" and err.value == 50
        assert "include the new ones" in str(err)

    def test_no_customers_at_start_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.retention_rate(0, 10, 10)
        assert info.value.argument == "at_start"


class TestExpansionMrrGrowth:
    def test_published_example_14000_to_19500(self):
        # (19,500 - 14,000) / 14,000 = 5,500 / 14,000 = 0.392857... (39.29 %)
        got = k.expansion_mrr_growth(14000, 19500)
        assert got == pytest.approx(5500 / 14000)
        assert round(got, 6) == 0.392857
        assert round(got * 100, 2) == 39.29

    def test_decline_is_negative(self):
        # (750 - 1000) / 1000 = -0.25
        assert k.expansion_mrr_growth(1000, 750) == -0.25

    def test_ranges_are_summed(self):
        # start 6,000 + 8,000 = 14,000; end 9,500 + 10,000 = 19,500
        assert k.expansion_mrr_growth([6000, 8000], [9500, 10000]) == pytest.approx(5500 / 14000)


# ------------------------------------------------------------ start / end
class TestChurnRevenue:
    def test_chartmogul_gross_is_20_percent(self):
        # (churned 10 + contraction 10) / starting 100 = 0.2
        assert k.churn_revenue(CM_START, CM_END) == pytest.approx(0.2)

    def test_chartmogul_net_is_10_percent(self):
        # (10 + 10 - expansion 10) / 100 = 0.1
        assert k.churn_revenue(CM_START, CM_END, True) == pytest.approx(0.1)
        assert k.churn_revenue(CM_START, CM_END, net=True) == pytest.approx(0.1)

    def test_two_column_form_is_the_same(self):
        assert k.churn_revenue(CM_PAIRS) == pytest.approx(0.2)
        assert k.churn_revenue(CM_PAIRS, None, True) == pytest.approx(0.1)
        assert k.churn_revenue(pd.DataFrame(CM_PAIRS, columns=["start", "end"]), net=True) == pytest.approx(0.1)

    def test_net_may_be_negative(self):
        # starting 200; expansion 50 + 0; no losses: (0 - 50) / 200 = -0.25
        assert k.churn_revenue([100, 100], [150, 100], net=True) == -0.25

    def test_new_customers_never_enter(self):
        # adding a large new customer does not change the rate
        assert k.churn_revenue(CM_START + [0], CM_END + [1_000_000]) == pytest.approx(0.2)

    def test_blank_means_zero(self):
        # 50 -> blank is churn of 50; blank -> 30 is new: 50 / (50 + 50) = 0.5
        assert k.churn_revenue([50, 50, None], [None, 50, 30]) == 0.5

    def test_net_option_as_excel_sends_it(self):
        # None = omitted = gross; 1/0 and "TRUE" are accepted as TRUE/FALSE
        assert k.churn_revenue(CM_START, CM_END, None) == pytest.approx(0.2)
        assert k.churn_revenue(CM_START, CM_END, 1) == pytest.approx(0.1)
        assert k.churn_revenue(CM_START, CM_END, "TRUE") == pytest.approx(0.1)

    def test_popular_net_change_formula_is_not_churn(self):
        # "(MRR start - MRR end) / MRR start" = (100 - 115) / 100 = -0.15: the new
        # customer's 25 hides 20 of losses. Churn is 0.2.
        naive = (sum(CM_START) - sum(CM_END)) / sum(CM_START)
        assert naive == pytest.approx(-0.15)
        assert k.churn_revenue(CM_START, CM_END) != pytest.approx(naive)

    def test_bad_net_option(self):
        with pytest.raises(KPIInputError) as info:
            k.churn_revenue(CM_START, CM_END, "maybe")
        err = info.value
        assert err.argument == "net" and err.value == "maybe" and "TRUE or FALSE" in str(err)


class TestChurnCustomers:
    def test_two_column_form(self):
        # paying: 3 rows; churned: the 50 -> blank row -> 1/3
        assert k.churn_customers([[100, 90], [50, None], [200, 260]]) == pytest.approx(1 / 3)

    def test_contraction_is_not_churn(self):
        assert k.churn_customers([100, 100], [1, 100]) == 0.0

    def test_no_paying_customer_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.churn_customers([0, None], [10, 20])
        assert info.value.argument == "start" and "no customer is paying" in str(info.value)


class TestNrr:
    def test_above_one_with_expansion(self):
        # (200 - 0 - 10 + 30) / 200 = 220 / 200 = 1.1
        assert k.nrr([[100, 130], [100, 90]]) == pytest.approx(1.1)


class TestGrr:
    def test_expansion_does_not_raise_it(self):
        # (200 - 10) / 200 = 0.95, the +30 is ignored
        assert k.grr([[100, 130], [100, 90]]) == pytest.approx(0.95)


class TestExpansionRate:
    def test_new_customers_are_not_expansion(self):
        # expansion only from C (+30); the 0 -> 500 row is new: 30 / 200
        assert k.expansion_rate([100, 100, 0], [130, 90, 500]) == pytest.approx(0.15)


class TestNewCustomers:
    def test_blank_and_zero_start_both_count(self):
        # blank -> 50 and 0 -> 20 are new; 30 -> 30 is not; all blank row is nothing
        got = k.new_customers([[None, 50], [0, 20], [30, 30], [None, None]])
        assert got == 2 and type(got) is int

    def test_none_new_is_zero(self):
        assert k.new_customers([10, 20], [0, 30]) == 0


class TestUpsellRate:
    def test_flat_is_not_upsell(self):
        # paying 3; rose: the 10 -> 11 only -> 1/3
        assert k.upsell_rate([10, 10, 10, 0], [11, 10, 0, 99]) == pytest.approx(1 / 3)


class TestQuickRatio:
    def test_published_style_example(self):
        # new 80,000 + expansion 30,000 over churned 15,000 + contraction 10,000 = 4.4
        start = [0, 50_000, 15_000, 40_000]
        end = [80_000, 80_000, 0, 30_000]
        assert k.quick_ratio(start, end) == pytest.approx(4.4)

    def test_no_losses_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.quick_ratio([10, 0], [20, 5])
        assert info.value.excel_error == "#DIV/0!" and "no MRR was lost" in str(info.value)


class TestCrossSellRate:
    def test_worked_value(self):
        # a: {x, y} -> 2 products; b: {x}; c: {x, z} (x twice) -> 2 of 3 customers
        got = k.cross_sell_rate(["a", "a", "b", "c", "c", "c"], ["x", "y", "x", "x", "x", "z"])
        assert got == pytest.approx(2 / 3)

    def test_duplicate_product_rows_count_once(self):
        # a holds x three times: one product -> 0 of 1
        assert k.cross_sell_rate(["a", "a", "a"], ["x", "x", "x"]) == 0.0

    def test_numeric_ids_fold_5_and_5_0(self):
        # customer 5 and 5.0 are one customer holding products 1 and 2
        assert k.cross_sell_rate([5, 5.0, 6], [1, 2, 1]) == 0.5

    def test_rows_blank_in_both_are_skipped(self):
        assert k.cross_sell_rate(["a", None, "a", ""], ["x", None, "y", None]) == 1.0

    def test_text_ids_are_matched_exactly(self):
        # "A" and "a" are two customers
        assert k.cross_sell_rate(["A", "a"], ["x", "y"]) == 0.0

    def test_one_blank_without_the_other_names_the_row(self):
        with pytest.raises(KPIInputError) as info:
            k.cross_sell_rate(["a", "b", "c"], ["x", "y", None])
        err = info.value
        assert err.argument == "product_ids" and err.position == "item 3"
        assert "KPI_CROSS_SELL_RATE" in str(err) and "item 3" in str(err)
        with pytest.raises(KPIInputError) as info:
            k.cross_sell_rate([["a"], [None]], [["x"], ["y"]])
        assert info.value.argument == "customer_ids" and info.value.position == "row 2, column 1"

    def test_misaligned_ranges(self):
        with pytest.raises(KPIInputError) as info:
            k.cross_sell_rate(["a", "b"], ["x", "y", "z"])
        assert info.value.excel_error == "#VALUE!" and "aligned" in str(info.value)

    def test_boolean_is_not_an_id(self):
        with pytest.raises(KPIInputError) as info:
            k.cross_sell_rate(["a", True], ["x", "y"])
        assert info.value.argument == "customer_ids" and info.value.position == "item 2"

    def test_error_value_propagates(self):
        with pytest.raises(KPIErrorValue) as info:
            k.cross_sell_rate(["a", "b"], ["x", "#N/A"])
        assert info.value.excel_error == "#N/A" and info.value.position == "item 2"


@pytest.mark.parametrize(("f", "want"), [
    # paying at start: A B C D (4); churned: A (1) -> 1/4
    (k.churn_customers, 0.25),
    # (100 - 10 - 10 + 10) / 100 = 0.9
    (k.nrr, 0.9),
    # (100 - 10 - 10) / 100 = 0.8
    (k.grr, 0.8),
    # 10 / 100
    (k.expansion_rate, 0.1),
    # new: E (0 -> 25)
    (k.new_customers, 1),
    # paying 4; rose: C (30 -> 40) -> 1/4
    (k.upsell_rate, 0.25),
    # (new 25 + expansion 10) / (churned 10 + contraction 10) = 35 / 20
    (k.quick_ratio, 1.75),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_chartmogul_rows(f, want):
    assert f(CM_START, CM_END) == pytest.approx(want)


@pytest.mark.parametrize(("f", "net"), [(k.nrr, True), (k.grr, False)], ids=["nrr", "grr"])
def test_retention_is_one_minus_churn(f, net):
    # NRR = 1 − net MRR churn, GRR = 1 − gross MRR churn
    assert f(CM_START, CM_END) == pytest.approx(1 - k.churn_revenue(CM_START, CM_END, net))


# ------------------------------------------- errors of the start/end family
PAIR_FUNCS = [k.churn_customers, k.churn_revenue, k.nrr, k.grr, k.expansion_rate,
              k.new_customers, k.upsell_rate, k.quick_ratio]


@pytest.mark.parametrize("f", PAIR_FUNCS, ids=lambda f: f.__name__)
class TestStartEndErrors:
    def test_text(self, f):
        with pytest.raises(KPIInputError) as info:
            f([10, "abc"], [5, 5])
        err = info.value
        name = "KPI_" + f.__name__.upper()
        assert str(err).startswith(f"{name}: argument 'start', item 2: 'abc' is text")

    def test_negative_mrr(self, f):
        with pytest.raises(KPIDomainError) as info:
            f([[10, 5], [20, -5]])
        err = info.value
        assert err.excel_error == "#NUM!"
        assert (err.argument, err.position, err.value) == ("start", "row 2, column 2", -5)

    def test_misaligned(self, f):
        with pytest.raises(KPIInputError) as info:
            f([10, 20, 30], [5, 5])
        assert "'start' has 3 cells but 'end' has 2" in str(info.value)

    def test_one_column_without_end(self, f):
        with pytest.raises(KPIInputError) as info:
            f([[10], [20]])
        assert "two columns" in str(info.value) and info.value.argument == "start"

    def test_error_value(self, f):
        with pytest.raises(KPIErrorValue) as info:
            f([10, 20], [5, "#N/A"])
        assert info.value.excel_error == "#N/A" and info.value.argument == "end"

    def test_empty(self, f):
        with pytest.raises(KPIUndefinedError):
            f([], [])
        with pytest.raises(KPIUndefinedError):
            f([[None, None]])


@pytest.mark.parametrize("f", [k.churn_revenue, k.nrr, k.grr, k.expansion_rate],
                         ids=lambda f: f.__name__)
def test_zero_starting_mrr_is_undefined(f):
    with pytest.raises(KPIUndefinedError) as info:
        f([0, 0], [10, 0])
    err = info.value
    assert err.excel_error == "#DIV/0!" and err.argument == "start" and "starting MRR is 0" in str(err)


# ------------------------------------------------ slow reference comparison
def reference_flows(start, end):
    """Obviously-correct, one customer at a time (blank = 0)."""
    out = {"S": 0.0, "churned": 0.0, "contraction": 0.0, "expansion": 0.0, "new": 0.0,
           "n_paying": 0, "n_churned": 0, "n_up": 0, "n_new": 0}
    for s, e in zip(start, end):
        s = 0.0 if s is None else float(s)
        e = 0.0 if e is None else float(e)
        if s > 0:
            out["S"] += s
            out["n_paying"] += 1
            if e == 0:
                out["churned"] += s
                out["n_churned"] += 1
            elif e < s:
                out["contraction"] += s - e
            elif e > s:
                out["expansion"] += e - s
                out["n_up"] += 1
        elif e > 0:
            out["new"] += e
            out["n_new"] += 1
    return out


def reference_kpis(start, end):
    f = reference_flows(start, end)
    S = f["S"]
    return {
        "churn_customers": f["n_churned"] / f["n_paying"],
        "churn_revenue": (f["churned"] + f["contraction"]) / S,
        "churn_revenue_net": (f["churned"] + f["contraction"] - f["expansion"]) / S,
        "nrr": (S - f["churned"] - f["contraction"] + f["expansion"]) / S,
        "grr": (S - f["churned"] - f["contraction"]) / S,
        "expansion_rate": f["expansion"] / S,
        "new_customers": f["n_new"],
        "upsell_rate": f["n_up"] / f["n_paying"],
        "quick_ratio": (f["new"] + f["expansion"]) / (f["churned"] + f["contraction"]),
    }


def random_book(seed, n):
    """Per-customer MRR with churn, contraction, expansion, flat, new, blanks."""
    rng = np.random.default_rng(seed)
    s = np.round(rng.gamma(2.0, 50.0, n), 2)
    kind = rng.choice(["churn", "down", "up", "flat", "new", "none"], n, p=[.1, .15, .2, .35, .15, .05])
    e = s.copy()
    e[kind == "churn"] = 0
    e[kind == "down"] = np.round(s[kind == "down"] * rng.uniform(0.1, 0.95, (kind == "down").sum()), 2)
    e[kind == "up"] = np.round(s[kind == "up"] * rng.uniform(1.05, 3, (kind == "up").sum()), 2)
    s[kind == "new"] = 0
    s[kind == "none"] = 0
    e[kind == "none"] = 0
    start, end = s.tolist(), e.tolist()
    for i in np.flatnonzero(rng.random(n) < 0.05):  # blanks mean 0
        if start[i] == 0:
            start[i] = None
        if end[i] == 0:
            end[i] = None
    return start, end


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_fast_matches_slow_reference_on_random_books(seed):
    start, end = random_book(seed, 3000)
    ref = reference_kpis(start, end)
    pairs = [[a, b] for a, b in zip(start, end)]
    for form in ((start, end), (pairs,), (np.array(pairs, dtype=float),)):
        assert k.churn_customers(*form) == pytest.approx(ref["churn_customers"], rel=1e-12)
        assert k.churn_revenue(*form) == pytest.approx(ref["churn_revenue"], rel=1e-9)
        assert k.churn_revenue(*(form + (None,) * (2 - len(form))), True) == pytest.approx(
            ref["churn_revenue_net"], rel=1e-9, abs=1e-12)
        assert k.nrr(*form) == pytest.approx(ref["nrr"], rel=1e-9)
        assert k.grr(*form) == pytest.approx(ref["grr"], rel=1e-9)
        assert k.expansion_rate(*form) == pytest.approx(ref["expansion_rate"], rel=1e-9)
        assert k.new_customers(*form) == ref["new_customers"]
        assert k.upsell_rate(*form) == pytest.approx(ref["upsell_rate"], rel=1e-12)
        assert k.quick_ratio(*form) == pytest.approx(ref["quick_ratio"], rel=1e-9)


def test_reference_agrees_with_chartmogul_example():
    ref = reference_kpis(CM_START, CM_END)
    assert ref["churn_revenue"] == pytest.approx(0.2) and ref["churn_revenue_net"] == pytest.approx(0.1)


# --------------------------------------------------------------- properties
_mrr = st.one_of(st.just(0.0), st.none(), st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False))
_books = st.lists(st.tuples(_mrr, _mrr), min_size=1, max_size=60)


def _paying(book):
    return any(s is not None and s > 0 for s, _ in book)


@settings(max_examples=200, deadline=None)
@given(_books.filter(_paying))
def test_retention_identities(book):
    start = [s for s, _ in book]
    end = [e for _, e in book]
    g = k.grr(start, end)
    n = k.nrr(start, end)
    x = k.expansion_rate(start, end)
    assert -1e-12 <= g <= 1.0
    assert g <= n
    assert n - g == pytest.approx(x, rel=1e-9, abs=1e-9)
    assert k.churn_revenue(start, end) == pytest.approx(1 - g, rel=1e-9, abs=1e-9)
    assert k.churn_revenue(start, end, True) == pytest.approx(1 - n, rel=1e-9, abs=1e-9)
    for share in (k.churn_customers(start, end), k.upsell_rate(start, end), k.churn_revenue(start, end)):
        assert -1e-12 <= share <= 1.0 + 1e-12
    assert 0 <= k.new_customers(start, end) <= len(book)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1000), st.integers(1, 1000))
def test_churn_rate_is_a_share(lost, at_start):
    if lost > at_start:
        with pytest.raises(KPIDomainError):
            k.churn_rate(lost, at_start)
    else:
        r = k.churn_rate(lost, at_start)
        assert 0.0 <= r <= 1.0 and math.isclose(r, lost / at_start)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefg"), st.sampled_from("xyz")), min_size=1, max_size=40))
def test_cross_sell_rate_is_a_share_and_order_free(rows):
    cust = [c for c, _ in rows]
    prod = [p for _, p in rows]
    r = k.cross_sell_rate(cust, prod)
    assert 0.0 <= r <= 1.0
    assert k.cross_sell_rate(cust[::-1], prod[::-1]) == pytest.approx(r)
    held = {}
    for c, p in rows:
        held.setdefault(c, set()).add(p)
    assert r == pytest.approx(sum(len(v) >= 2 for v in held.values()) / len(held))
