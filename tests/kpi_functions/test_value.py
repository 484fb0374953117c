"""Customer value and acquisition KPIs: known values worked out by hand from
the definitions (SPEC §4), the sources' worked example (LTV of ARPA 100 at
5 % churn = 2,000), a slow reference for the repeat purchase rate, and the
error cases."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError


class TestCac:
    def test_cost_over_new_customers(self):
        # 50,000 / 100 = 500
        assert k.cac(50000, 100) == 500.0

    def test_aggregate_then_divide(self):
        # two channels: (30,000 + 10,000) / (100 + 10) = 363.63..., not the mean of
        # the channel CACs (300 + 1,000) / 2 = 650
        assert k.cac([30000, 10000], [100, 10]) == pytest.approx(40000 / 110)

    def test_negative_cost(self):
        with pytest.raises(KPIDomainError) as info:
            k.cac([100, -50], 3)
        err = info.value
        assert (err.argument, err.position, err.value) == ("sales_marketing_cost", "item 2", -50)


class TestCacPct:
    def test_cost_over_sales_value(self):
        # 1,000 / 10,000 = 0.10: a sale costs 10 % of its value
        assert k.cac_pct(1000, 10000) == 0.1

    def test_may_exceed_one(self):
        # 300 / 200 = 1.5
        assert k.cac_pct(300, 200) == 1.5


class TestClv:
    def test_published_example_arpa_100_churn_5_percent(self):
        # 100 × 1 / 0.05 = 2,000
        assert k.clv(100, 0.05) == pytest.approx(2000.0)

    def test_with_gross_margin(self):
        # 100 × 0.8 / 0.05 = 1,600
        assert k.clv(100, 0.05, 0.8) == pytest.approx(1600.0)

    def test_omitted_gross_margin_as_excel_sends_it(self):
        assert k.clv(100, 0.05, None) == pytest.approx(2000.0)

    def test_one_cell_range_for_the_rate(self):
        assert k.clv([100], [[0.05]]) == pytest.approx(2000.0)

    def test_full_churn_is_one_period_of_margin(self):
        # 250 × 0.6 / 1 = 150
        assert k.clv(250, 1, 0.6) == pytest.approx(150.0)

    def test_zero_churn_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.clv(100, 0)
        err = info.value
        assert err.excel_error == "#DIV/0!" and err.argument == "churn_rate"
        assert "KPI_CLV" in str(err)

    @pytest.mark.parametrize("rate", [1.5, 5, -0.01])
    def test_churn_rate_outside_0_1(self, rate):
        with pytest.raises(KPIDomainError) as info:
            k.clv(100, rate)
        err = info.value
        assert err.excel_error == "#NUM!" and err.argument == "churn_rate" and err.value == rate
        assert "between 0 and 1" in str(err)

    def test_gross_margin_outside_0_1(self):
        with pytest.raises(KPIDomainError) as info:
            k.clv(100, 0.05, 80)
        assert info.value.argument == "gross_margin" and info.value.value == 80
        assert "80 % is 0.8" in str(info.value)

    def test_several_rates_are_not_summed(self):
        with pytest.raises(KPIInputError) as info:
            k.clv(100, [0.02, 0.03])
        assert info.value.argument == "churn_rate" and "single value" in str(info.value)

    def test_text_rate(self):
        with pytest.raises(KPIInputError) as info:
            k.clv(100, "5%")
        assert info.value.argument == "churn_rate" and info.value.value == "5%"

    def test_error_value_rate(self):
        with pytest.raises(KPIErrorValue) as info:
            k.clv(100, "#DIV/0!")
        assert info.value.excel_error == "#DIV/0!"

    def test_blank_rate_is_undefined(self):
        with pytest.raises(KPIUndefinedError):
            k.clv(100, None)


class TestClvLifespan:
    def test_value_times_lifespan(self):
        # 500 × 3 = 1,500
        assert k.clv_lifespan(500, 3) == 1500.0

    def test_fractional_lifespan(self):
        # 120 × 2.5 = 300
        assert k.clv_lifespan(120, 2.5) == 300.0


class TestLtvCac:
    def test_ratio(self):
        # 2,000 / 500 = 4
        assert k.ltv_cac(2000, 500) == 4.0

    def test_from_clv_and_cac(self):
        # CLV 2,000 (ARPA 100 at 5 %) over CAC 50,000 / 100 = 500 -> 4
        assert k.ltv_cac(k.clv(100, 0.05), k.cac(50000, 100)) == pytest.approx(4.0)


class TestCacPayback:
    def test_with_margin(self):
        # 500 / (100 × 0.8) = 500 / 80 = 6.25 months
        assert k.cac_payback(500, 100, 0.8) == 6.25

    def test_default_margin_is_one(self):
        # 1,200 / 100 = 12 months
        assert k.cac_payback(1200, 100) == 12.0

    def test_zero_margin_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.cac_payback(500, 100, 0)
        assert info.value.argument == "arpa" and "never recovered" in str(info.value)

    def test_zero_arpa_is_undefined(self):
        with pytest.raises(KPIUndefinedError):
            k.cac_payback(500, 0, 0.8)


def reference_repeat_rate(ids):
    """One customer at a time."""
    counts = Counter(i for i in ids if i is not None and i != "")
    return sum(1 for n in counts.values() if n >= 2) / len(counts)


class TestRepeatPurchaseRate:
    def test_worked_value(self):
        # a: 3 orders, b: 2, c: 1 -> 2 of 3 customers
        assert k.repeat_purchase_rate(["a", "b", "a", "c", "a", "b"]) == pytest.approx(2 / 3)

    def test_no_repeats(self):
        assert k.repeat_purchase_rate(["a", "b", "c"]) == 0.0

    def test_blanks_are_skipped(self):
        # a twice, b once (blanks are not a customer) -> 1/2
        assert k.repeat_purchase_rate(["a", None, "b", "", "a"]) == 0.5

    def test_numeric_ids(self):
        # 101 and 101.0 are one customer with 2 orders; 102 once -> 1/2
        assert k.repeat_purchase_rate([101, 102, 101.0]) == 0.5
        assert k.repeat_purchase_rate(np.array([101.0, 102.0, 101.0])) == 0.5

    def test_excel_column(self):
        assert k.repeat_purchase_rate([["a"], ["a"], [None], ["b"]]) == 0.5

    def test_all_blank_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.repeat_purchase_rate([None, ""])
        assert info.value.argument == "customer_ids"

    def test_boolean_id(self):
        with pytest.raises(KPIInputError) as info:
            k.repeat_purchase_rate(["a", False])
        assert info.value.position == "item 2"

    @pytest.mark.parametrize("seed", [3, 11])
    def test_matches_reference_on_random_orders(self, seed):
        rng = np.random.default_rng(seed)
        ids = [f"c{int(i)}" for i in rng.zipf(1.6, 5000) % 1500]
        assert k.repeat_purchase_rate(ids) == pytest.approx(reference_repeat_rate(ids))
        assert k.repeat_purchase_rate(pd.Series(ids)) == pytest.approx(reference_repeat_rate(ids))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=50))
def test_repeat_purchase_rate_is_a_share(ids):
    r = k.repeat_purchase_rate(ids)
    assert 0.0 <= r <= 1.0 and r == pytest.approx(reference_repeat_rate(ids))


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e6), st.floats(0.001, 1), st.floats(0, 1))
def test_clv_is_arpa_margin_over_churn(arpa, churn, gm):
    assert k.clv(arpa, churn, gm) == pytest.approx(arpa * gm / churn)
