"""Marketing KPIs: known values worked out by hand from the definitions
(SPEC §4), aggregate-then-divide over channels, and the error cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError


class TestConversionRate:
    def test_conversions_over_visitors(self):
        # 25 / 1,000 = 0.025
        assert k.conversion_rate(25, 1000) == 0.025

    def test_aggregate_then_divide_over_channels(self):
        # channels 12/400 (3 %) and 13/600 (2.17 %): (12 + 13) / (400 + 600) = 2.5 %,
        # not the mean of the channel rates (2.58 %)
        assert k.conversion_rate([12, 13], [400, 600]) == pytest.approx(0.025)
        assert k.conversion_rate([12, 13], [400, 600]) != pytest.approx((12 / 400 + 13 / 600) / 2)

    def test_funnel_stage_rate(self):
        # 40 SQL out of 160 MQL = 0.25
        assert k.conversion_rate(40, 160) == 0.25

    def test_same_for_every_input_type(self):
        want = 25 / 1000
        assert k.conversion_rate(np.array([12.0, 13.0]), pd.Series([400, 600])) == pytest.approx(want)
        assert k.conversion_rate([[12], [13], [None]], [[400, 600]]) == pytest.approx(want)

    def test_negative_count(self):
        with pytest.raises(KPIDomainError) as info:
            k.conversion_rate([5, -1], 100)
        err = info.value
        assert (err.argument, err.position, err.value) == ("conversions", "item 2", -1)

    def test_text_in_a_range(self):
        with pytest.raises(KPIInputError) as info:
            k.conversion_rate([[5, "n/a"]], 100)
        err = info.value
        assert (err.argument, err.position, err.value) == ("conversions", "row 1, column 2", "n/a")
        assert str(err) == ("KPI_CONVERSION_RATE: argument 'conversions', row 1, column 2: 'n/a' is text; "
                            "a number is needed (numbers stored as text are text)")


class TestCpa:
    def test_cost_over_conversions(self):
        # 5,000 / 125 = 40
        assert k.cpa(5000, 125) == 40.0

    def test_aggregate_then_divide(self):
        # (3,000 + 2,000) / (75 + 50) = 40
        assert k.cpa([3000, 2000], [75, 50]) == 40.0


class TestRoi:
    def test_gain(self):
        # (15,000 - 10,000) / 10,000 = 0.5
        assert k.roi(15000, 10000) == 0.5

    def test_loss(self):
        # (8,000 - 10,000) / 10,000 = -0.2
        assert k.roi(8000, 10000) == -0.2

    def test_negative_gain_is_allowed(self):
        # (-1,000 - 1,000) / 1,000 = -2
        assert k.roi(-1000, 1000) == -2.0

    def test_ranges(self):
        # gain 6,000 + 9,000; cost 4,000 + 6,000 -> (15,000 - 10,000) / 10,000
        assert k.roi([6000, 9000], [4000, 6000]) == 0.5


class TestRoas:
    def test_revenue_over_spend(self):
        # 20,000 / 5,000 = 4 (not 5,000 / 20,000 = 0.25, which some articles print)
        assert k.roas(20000, 5000) == 4.0
        assert k.roas(20000, 5000) != 0.25

    def test_roi_is_roas_minus_one(self):
        assert k.roi(20000, 5000) == pytest.approx(k.roas(20000, 5000) - 1)

    def test_boolean(self):
        with pytest.raises(KPIInputError) as info:
            k.roas(True, 100)
        assert info.value.argument == "ad_revenue" and "boolean" in str(info.value)

    def test_error_value(self):
        with pytest.raises(KPIErrorValue) as info:
            k.roas([100, "#REF!"], 10)
        assert info.value.excel_error == "#REF!" and info.value.position == "item 2"


class TestConversionValue:
    def test_revenue_over_conversions(self):
        # 12,000 of revenue from 50 conversions: 12,000 / 50 = 240 per conversion
        assert k.conversion_value(12000, 50) == 240.0

    def test_aggregate_then_divide_over_channels(self):
        # channels 20,000 / 75 (266.67) and 10,000 / 50 (200): (20,000 + 10,000) / 125 = 240,
        # not the mean of the channels' values (233.33)
        assert k.conversion_value([20000, 10000], [75, 50]) == 240.0

    def test_no_conversions_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.conversion_value(5000, [0, 0])
        assert info.value.argument == "conversions"

    def test_negative_revenue(self):
        with pytest.raises(KPIDomainError) as info:
            k.conversion_value([100, -5], 3)
        assert (info.value.argument, info.value.position, info.value.value) == ("revenue", "item 2", -5)


class TestRoiCpa:
    def test_value_minus_cpa_over_cpa(self):
        # a conversion worth 240 that costs 40: (240 − 40) / 40 = 5 (500 %)
        assert k.roi_cpa(240, 40) == 5.0

    def test_a_loss(self):
        # worth 30, costs 40: (30 − 40) / 40 = −0.25
        assert k.roi_cpa(30, 40) == -0.25

    def test_not_the_formula_without_parentheses(self):
        # "conversion value − CPA / CPA" read as written is 240 − 1 = 239, not the return
        assert k.roi_cpa(240, 40) != 240 - 40 / 40

    def test_equals_roi_of_revenue_and_cost(self):
        # 30,000 revenue and 5,000 cost over 125 conversions: value 240, CPA 40, and the conversions cancel
        value = k.conversion_value(30000, 125)
        cost_per = k.cpa(5000, 125)
        assert (value, cost_per) == (240.0, 40.0)
        assert k.roi_cpa(value, cost_per) == pytest.approx(k.roi(30000, 5000)) == pytest.approx(5.0)

    def test_zero_cpa_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.roi_cpa(240, 0)
        assert info.value.argument == "cpa"

    def test_negative_cpa(self):
        with pytest.raises(KPIDomainError) as info:
            k.roi_cpa(240, -40)
        assert info.value.argument == "cpa"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=10), st.data())
def test_conversion_rate_is_total_over_total(conversions, data):
    visitors = data.draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=10))
    assert k.conversion_rate(conversions, visitors) == pytest.approx(sum(conversions) / sum(visitors))


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6))
def test_roi_and_roas_agree(revenue, spend):
    assert k.roi(revenue, spend) == pytest.approx(k.roas(revenue, spend) - 1, rel=1e-9, abs=1e-9)
