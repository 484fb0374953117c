"""KPIs the source articles name: the recurring share of revenue, net new customers, repeat purchases within
a time frame and the renewal rate of term contracts — known values worked out by hand from the definitions in
their Notes, and the error cases."""

from __future__ import annotations

import warnings
from typing import ClassVar

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


class TestRepeatPurchaseWithinAWindow:
    # a orders again after 30 days, b after 31, c and d once; the latest order is on 20 March
    IDS: ClassVar[list[str]] = ["a", "b", "a", "c", "b", "d"]
    DATES: ClassVar[list[str]] = ["2026-01-01", "2026-01-01", "2026-01-31", "2026-01-10", "2026-02-01", "2026-03-20"]

    def test_without_a_window_two_orders_any_time(self):
        # a and b of a, b, c, d
        assert k.repeat_purchase_rate(self.IDS) == 0.5
        assert k.repeat_purchase_rate(self.IDS, self.DATES) == 0.5

    def test_within_30_days(self):
        # observed for 30 days: first order on or before 18 February (a, b, c; d is too recent);
        # a's second order is 30 days after its first (counts), b's 31 (does not): 1 / 3
        assert k.repeat_purchase_rate(self.IDS, self.DATES, 30) == pytest.approx(1 / 3)

    def test_within_31_days(self):
        # observed: first order on or before 17 February (a, b, c); a and b repeat: 2 / 3
        assert k.repeat_purchase_rate(self.IDS, self.DATES, 31) == pytest.approx(2 / 3)

    def test_as_of_ignores_later_orders(self):
        # as of 31 January: b's second and d's order are not seen; observed for 30 days: a and b (first order
        # on 1 January); only a repeats: 1 / 2
        assert k.repeat_purchase_rate(self.IDS, self.DATES, 30, "2026-01-31") == 0.5

    def test_two_orders_on_one_day_are_a_repeat_within_0_days(self):
        assert k.repeat_purchase_rate(["a", "a", "b"], ["2026-01-05", "2026-01-05", "2026-01-01"], 0) == 0.5

    def test_the_order_of_the_rows_does_not_matter(self):
        order = [5, 3, 1, 0, 4, 2]
        ids = [self.IDS[i] for i in order]
        dates = [self.DATES[i] for i in order]
        assert k.repeat_purchase_rate(ids, dates, 30) == pytest.approx(1 / 3)

    def test_no_one_observed_for_the_whole_window_is_undefined(self):
        # the first orders are at most 78 days before the latest one
        with pytest.raises(KPIUndefinedError) as info:
            k.repeat_purchase_rate(self.IDS, self.DATES, 100)
        assert info.value.argument == "window_days"

    def test_a_window_needs_dates(self):
        with pytest.raises(KPIInputError) as info:
            k.repeat_purchase_rate(self.IDS, None, 30)
        assert info.value.argument == "window_days" and "order_dates" in str(info.value)

    def test_a_customer_without_a_date(self):
        dates = list(self.DATES)
        dates[2] = None
        with pytest.raises(KPIInputError) as info:
            k.repeat_purchase_rate(self.IDS, dates, 30)
        assert (info.value.argument, info.value.position) == ("order_dates", "item 3")

    def test_ranges_of_different_length(self):
        with pytest.raises(KPIInputError) as info:
            k.repeat_purchase_rate(self.IDS, self.DATES[:5], 30)
        assert info.value.argument == "order_dates"

    @pytest.mark.parametrize("window", [-1, 2.5])
    def test_a_window_is_a_whole_number_of_days(self, window):
        with pytest.raises(KPIDomainError) as info:
            k.repeat_purchase_rate(self.IDS, self.DATES, window)
        assert info.value.argument == "window_days"


HEAD = ["customer", "start", "end", "amount", "billing months"]


class TestRenewalRate:
    # first half of 2026: A's term ends 10 January and A runs on (renewed); B's ends 1 February, the day B
    # ended (not renewed); C's ends 15 March, C ended then and took a new annual plan on 20 March (renewed);
    # D pays monthly (no term contract)
    SUBS: ClassVar[list[list]] = [HEAD,
                                  ["A", "2025-01-10", None, 1200, 12],
                                  ["B", "2025-02-01", "2026-02-01", 2400, 12],
                                  ["C", "2025-03-15", "2026-03-15", 1200, 12],
                                  ["C", "2026-03-20", None, 1800, 12],
                                  ["D", "2025-06-01", None, 100, 1]]

    def test_renewed_over_up_for_renewal(self):
        assert k.renewal_rate(self.SUBS, "2026-01-01", "2026-07-01") == pytest.approx(2 / 3)

    def test_the_period_end_is_exclusive(self):
        # [1 January, 1 February): only A's term; B's ends on 1 February, outside
        assert k.renewal_rate(self.SUBS, "2026-01-01", "2026-02-01") == 1.0
        # [1 February, 1 March): only B's, which did not renew
        assert k.renewal_rate(self.SUBS, "2026-02-01", "2026-03-01") == 0.0

    def test_a_renewal_later_than_the_grace_days_is_not_one(self):
        # C's new plan starts 5 days after the term's end
        assert k.renewal_rate(self.SUBS, "2026-01-01", "2026-07-01", 12, 4) == pytest.approx(1 / 3)
        assert k.renewal_rate(self.SUBS, "2026-01-01", "2026-07-01", 12, 5) == pytest.approx(2 / 3)

    def test_shorter_terms_with_min_term_months(self):
        # with monthly plans as terms: D's six monthly terms ending 1 January … 1 June all renew: (2 + 6) / (3 + 6)
        assert k.renewal_rate(self.SUBS, "2026-01-01", "2026-07-01", 1) == pytest.approx(8 / 9)

    def test_every_term_of_a_long_period(self):
        # 2025 and 2026: A (from 10 Jan 2024, running) renews twice; B (from 1 Feb 2024, ended 1 Feb 2026)
        # renews on 1 Feb 2025 (it ran on past it) and not on 1 Feb 2026: 3 of 4
        subs = [HEAD, ["A", "2024-01-10", None, 1200, 12], ["B", "2024-02-01", "2026-02-01", 2400, 12]]
        assert k.renewal_rate(subs, "2025-01-01", "2027-01-01") == 0.75

    def test_a_subscription_that_runs_into_the_next_term_renewed(self):
        subs = [HEAD, ["A", "2025-01-10", "2026-05-01", 1200, 12]]
        assert k.renewal_rate(subs, "2026-01-01", "2026-02-01") == 1.0

    def test_an_end_shortly_before_the_term_end_is_a_non_renewal(self):
        # ended 9 days before its term's end (within the 30 grace days): up for renewal, not renewed
        subs = [HEAD, ["A", "2025-01-10", "2026-01-01", 1200, 12], ["B", "2025-01-20", None, 1200, 12]]
        assert k.renewal_rate(subs, "2026-01-01", "2026-02-01") == 0.5

    def test_a_subscription_ended_mid_term_is_not_up_for_renewal(self):
        # A changed plan on 1 October 2025 (101 days before the term's end): its new plan's term ends in
        # October 2026; only B is up in January
        subs = [HEAD, ["A", "2025-01-10", "2025-10-01", 1200, 12], ["A", "2025-10-01", None, 1800, 12],
                ["B", "2025-01-20", None, 1200, 12]]
        assert k.renewal_rate(subs, "2026-01-01", "2026-02-01") == 1.0

    def test_a_term_end_on_a_day_the_month_lacks(self):
        # from 29 February 2024, the first annual term ends on 28 February 2025 (EDATE clips to the month)
        subs = [HEAD, ["A", "2024-02-29", "2025-02-28", 1200, 12], ["B", "2024-03-01", None, 1200, 12]]
        assert k.renewal_rate(subs, "2025-02-28", "2025-03-01") == 0.0
        assert k.renewal_rate(subs, "2025-02-28", "2025-03-02") == 0.5

    def test_quarterly_plans_are_not_annual_terms(self):
        subs = [HEAD, ["A", "2025-01-10", None, 300, 3]]
        with pytest.raises(KPIUndefinedError) as info:
            k.renewal_rate(subs, "2026-01-01", "2026-07-01")
        assert info.value.argument == "subscriptions"
        assert k.renewal_rate(subs, "2026-01-01", "2026-07-01", 3) == 1.0  # 10 January and 10 April

    def test_the_row_order_does_not_matter(self):
        rows = self.SUBS[1:]
        assert k.renewal_rate([HEAD, *rows[::-1]], "2026-01-01", "2026-07-01") == pytest.approx(2 / 3)

    def test_a_period_that_ends_before_it_starts(self):
        with pytest.raises(KPIDomainError) as info:
            k.renewal_rate(self.SUBS, "2026-07-01", "2026-01-01")
        assert info.value.argument == "period_end"

    def test_billing_months_must_be_whole(self):
        subs = [HEAD, ["A", "2025-01-10", None, 1200, 12.5]]
        with pytest.raises(KPIDomainError) as info:
            k.renewal_rate(subs, "2026-01-01", "2026-07-01")
        assert info.value.position == "row 2, column 5"

    @pytest.mark.parametrize("months", [1201, 1e300])
    def test_billing_months_beyond_100_years_are_refused_not_wrapped_to_integers(self, months):
        # a billing period of 1e300 months wrapped to a negative integer when terms were counted
        subs = [*self.SUBS, ["E", "2025-01-10", None, 1200, months]]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(KPIDomainError) as info:
                k.renewal_rate(subs, "2026-01-01", "2026-07-01")
        assert info.value.position == "row 7, column 5"
        assert "from 1 to 1,200" in str(info.value)
        assert k.renewal_rate([*self.SUBS, ["E", "2025-01-10", None, 1200, 1200]], "2026-01-01",
                              "2026-07-01") == pytest.approx(2 / 3)  # 100 years: no term of E ends in 2026

    def test_a_range_as_a_period_bound(self):
        with pytest.raises(KPIInputError) as info:
            k.renewal_rate(self.SUBS, ["2026-01-01", "2026-02-01"], "2026-07-01")
        assert info.value.argument == "period_start"
