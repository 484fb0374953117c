"""KPIs the source articles name: the recurring share of revenue, net new customers, repeat purchases within
a time frame and the renewal rate of term contracts — known values worked out by hand from the definitions in
their Notes, and the error cases."""

from __future__ import annotations

import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIUndefinedError


class TestRecurringShare:
    def test_recurring_over_total(self):
        # 45,000 MRR and 5,000 of one-off sales: 45,000 / 50,000 = 0.9
        assert k.recurring_share(45000, 5000) == 0.9

    def test_aggregate_then_divide_over_months(self):
        # months 48,000 + 6,000 and 52,000 + 4,000: 100,000 / 110,000, not the mean of 88.9 % and 92.9 %
        got = k.recurring_share([48000, 52000], [6000, 4000])
        assert got == pytest.approx(100000 / 110000)
        assert got != pytest.approx((48000 / 54000 + 52000 / 56000) / 2)

    def test_only_recurring_revenue_is_all_of_it(self):
        assert k.recurring_share(1200, [0, None]) == 1.0

    def test_only_one_off_revenue_is_none_of_it(self):
        assert k.recurring_share(0, 800) == 0.0

    def test_no_revenue_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.recurring_share(0, 0)
        assert info.value.argument == "one_off"

    def test_negative_revenue(self):
        with pytest.raises(KPIDomainError) as info:
            k.recurring_share([100, -1], 10)
        assert (info.value.argument, info.value.position, info.value.value) == ("recurring", "item 2", -1)


class TestNetNewCustomers:
    def test_new_plus_reactivated_minus_churned(self):
        # 12 + 1 − 5 = 8
        assert k.net_new_customers(12, 1, 5) == 8

    def test_a_shrinking_base_is_negative(self):
        assert k.net_new_customers(3, 0, 7) == -4

    def test_months_are_summed(self):
        # (12 + 9) + (1 + 2) − (5 + 4) = 15
        assert k.net_new_customers([12, 9], [1, 2], [5, 4]) == 15

    def test_equals_the_change_in_customers(self):
        # 100 at start, 12 new, 1 reactivated, 5 churned: 108 at the end, 8 more
        start, new, react, churned = 100, 12, 1, 5
        assert k.net_new_customers(new, react, churned) == (start + new + react - churned) - start

    def test_negative_count(self):
        with pytest.raises(KPIDomainError) as info:
            k.net_new_customers(5, 0, -2)
        assert info.value.argument == "churned"

    def test_a_fraction_of_a_customer(self):
        with pytest.raises(KPIDomainError) as info:
            k.net_new_customers(5.5, 0, 1)
        assert info.value.argument == "new"

    def test_text(self):
        with pytest.raises(KPIInputError) as info:
            k.net_new_customers(5, "two", 1)
        assert info.value.argument == "reactivated"
