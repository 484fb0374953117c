"""Tests of stickiness and avg_duration.

Sources of truth: values worked by hand from the definitions (SPEC §4: the
DAU average runs over every calendar day of the month; durations skip open
rows; business hours count Monday–Friday working time minus holidays), Excel's
PERCENTILE.INC definition written out below, and a slow minute-by-minute
reference for working time.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError


# ---------------------------------------------------------------- stickiness
class TestStickinessActivityLog:
    def test_february_worked_by_hand(self):
        # Feb 2026 has 28 days. u1 active on 3 days, u2 on 2, u3 on 1: 6 user-days.
        # average DAU = 6 / 28; MAU = 3 -> (6/28)/3
        users = ["u1", "u2", "u1", "u3", "u1", "u2"]
        days = ["2026-02-01", "2026-02-01", "2026-02-02", "2026-02-02", "2026-02-03", "2026-02-28"]
        assert k.stickiness(users, days) == pytest.approx(6 / 28 / 3, rel=1e-12)

    def test_repeat_events_on_one_day_count_once_and_times_of_day_are_ignored(self):
        users = ["a", "a", "a", "b"]
        days = ["2026-03-10T08:00", "2026-03-10T17:30", "2026-03-10T23:59", "2026-03-10T00:00"]
        # one day with 2 DAU over 31 days of March, MAU 2
        assert k.stickiness(users, days) == pytest.approx(2 / 31 / 2, rel=1e-12)

    def test_default_month_is_the_latest_and_other_months_are_left_out(self):
        users = [1, 2, 3, 1, 1]
        days = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-04-01", "2026-04-02"]
        # April (30 days): user 1 on 2 days; MAU 1
        assert k.stickiness(users, days) == pytest.approx(2 / 30, rel=1e-12)
        # January (31 days): 3 user-days, MAU 3
        assert k.stickiness(users, days, "2026-01") == pytest.approx(3 / 31 / 3, rel=1e-12)
        assert k.stickiness(users, days, dt.date(2026, 1, 20)) == pytest.approx(1 / 31, rel=1e-12)

    def test_excel_serial_dates_and_numeric_ids(self):
        # 46082 = 2026-03-01, 46083 = 2026-03-02 (Excel 1900 system)
        got = k.stickiness([101, 102, 101], [46082, 46082.75, 46083])
        assert got == pytest.approx(3 / 31 / 2, rel=1e-12)

    def test_leap_year_february(self):
        assert k.stickiness(["x"], ["2028-02-10"]) == pytest.approx(1 / 29, rel=1e-12)

    def test_every_user_every_day_is_1(self):
        days = pd.date_range("2026-06-01", "2026-06-30")
        users = ["a"] * 30 + ["b"] * 30
        assert k.stickiness(users, list(days) * 2) == pytest.approx(1.0)

    def test_blank_rows_are_skipped(self):
        assert k.stickiness(["a", None, "b"], ["2026-05-01", None, "2026-05-02"]) == pytest.approx(2 / 31 / 2)

    def test_user_without_date_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.stickiness(["a", "b"], ["2026-05-01", None])
        assert "dates" in str(info.value) and "item 2" in str(info.value)

    def test_month_without_activity_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.stickiness(["a"], ["2026-05-01"], "2026-06")
        assert "2026-06" in str(info.value)

    def test_misaligned_ranges(self):
        with pytest.raises(KPIInputError):
            k.stickiness(["a", "b", "c"], ["2026-05-01", "2026-05-02"])

    def test_text_that_is_not_a_date(self):
        with pytest.raises(KPIInputError) as info:
            k.stickiness(["a", "b"], ["2026-05-01", "soon"])
        assert "'soon'" in str(info.value)

    def test_error_value_propagates(self):
        with pytest.raises(KPIErrorValue):
            k.stickiness(["a", "#N/A"], ["2026-05-01", "2026-05-02"])


class TestStickinessCounts:
    def test_dau_range_and_mau_number(self):
        assert k.stickiness([120, 150, 130], 500) == pytest.approx(400 / 3 / 500)

    def test_single_number_in_a_one_cell_range_selects_the_counted_form(self):
        assert k.stickiness([[120], [150], [130]], [[500]]) == pytest.approx(400 / 3 / 500)
        assert k.stickiness(np.array([120, 150, 130]), np.array([500])) == pytest.approx(400 / 3 / 500)

    def test_one_row_log_with_a_date_is_the_log_form(self):
        assert k.stickiness(["a"], "2026-05-01") == pytest.approx(1 / 31)
        assert k.stickiness(["a"], dt.datetime(2026, 5, 1, 9)) == pytest.approx(1 / 31)

    def test_blanks_in_the_counts_are_ignored(self):
        assert k.stickiness([120, None, 130], 500) == pytest.approx(125 / 500)

    def test_dau_above_mau_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.stickiness([120, 600, 130], 500)
        assert "item 2" in str(info.value)

    def test_mau_zero_is_undefined(self):
        with pytest.raises(KPIUndefinedError):
            k.stickiness([0, 0], 0)

    @pytest.mark.parametrize("bad", [1.5, -2])
    def test_counts_must_be_whole_and_not_negative(self, bad):
        with pytest.raises(KPIDomainError):
            k.stickiness([120, bad], 500)

    def test_text_among_the_counts_is_an_input_error(self):
        with pytest.raises(KPIInputError) as info:
            k.stickiness([120, "150"], 500)
        assert "'150'" in str(info.value)


# ---------------------------------------------------------------- avg_duration
def percentile_inc(values, p):
    """Excel PERCENTILE.INC: rank h = (n − 1) p on the sorted values, interpolate linearly."""
    v = sorted(values)
    h = (len(v) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def working_minutes_reference(start, end, h0, h1, holidays=()):
    """Slow reference: walk minute by minute and count the working ones."""
    n = 0
    t = start
    one = dt.timedelta(minutes=1)
    while t < end:
        tod = t.hour * 60 + t.minute
        if t.weekday() < 5 and t.date() not in holidays and h0 <= tod < h1:
            n += 1
        t += one
    return n


class TestAvgDuration:
    starts: ClassVar[list[Any]] = ["2026-03-06T16:00", "2026-03-09T09:30", "2026-03-10T11:00"]
    ends: ClassVar[list[Any]] = ["2026-03-09T10:00", "2026-03-09T12:00", None]

    def test_calendar_time_mean_skips_open_rows(self):
        # 2026-03-06 (Fri) 16:00 -> 03-09 (Mon) 10:00 = 66 h; 2.5 h; third row open
        assert k.avg_duration(self.starts, self.ends) == pytest.approx((66 + 2.5) / 2)

    @pytest.mark.parametrize("unit,factor", [("minutes", 60), ("hours", 1), ("days", 1 / 24), ("Hours", 1)])
    def test_units(self, unit, factor):
        assert k.avg_duration(self.starts, self.ends, unit) == pytest.approx(34.25 * factor)

    def test_median(self):
        s = ["2026-01-01T00:00"] * 4
        e = ["2026-01-01T01:00", "2026-01-01T03:00", "2026-01-01T10:00", "2026-01-02T00:00"]
        assert k.avg_duration(s, e, "hours", "median") == pytest.approx(6.5)

    def test_p90_is_percentile_inc(self):
        hours = [1, 2, 3, 5, 8, 13, 21]
        s = ["2026-01-01T00:00"] * len(hours)
        e = [(dt.datetime(2026, 1, 1) + dt.timedelta(hours=h)).isoformat() for h in hours]
        # PERCENTILE.INC({1,2,3,5,8,13,21}, 0.9): h = 6 × 0.9 = 5.4 -> 13 + 0.4 × (21 − 13) = 16.2
        assert k.avg_duration(s, e, "hours", "p90") == pytest.approx(16.2)
        assert percentile_inc(hours, 0.9) == pytest.approx(16.2)

    @pytest.mark.parametrize("seed", range(3))
    def test_p90_matches_percentile_inc_on_random_durations(self, seed):
        rng = np.random.default_rng(seed)
        mins = rng.integers(0, 5000, int(rng.integers(1, 40)))
        base = dt.datetime(2026, 2, 1, 8)
        s = [base] * len(mins)
        e = [base + dt.timedelta(minutes=int(m)) for m in mins]
        assert k.avg_duration(s, e, "minutes", "p90") == pytest.approx(percentile_inc(list(mins), 0.9))

    def test_business_hours_across_a_weekend(self):
        # Fri 16:00 -> Mon 10:00 with 09:00-17:00: 1 h Friday + 1 h Monday
        assert k.avg_duration(["2026-03-06T16:00"], ["2026-03-09T10:00"], "hours", "mean", "09:00-17:00") == 2.0

    def test_business_hours_across_a_weekend_and_a_holiday(self):
        # Monday 2026-03-09 a holiday: Fri 16:00 -> Tue 10:00 = 1 h Friday + 1 h Tuesday
        got = k.avg_duration(["2026-03-06T16:00"], ["2026-03-10T10:00"], "hours", "mean", "09:00-17:00",
                             ["2026-03-09"])
        assert got == 2.0

    def test_business_hours_edges_of_the_day(self):
        bh = "09:00-17:00"
        # before opening to after closing the same day: the whole 8 h
        assert k.avg_duration(["2026-03-10T07:00"], ["2026-03-10T19:00"], "hours", "mean", bh) == 8.0
        # after closing to before opening the next day: nothing
        assert k.avg_duration(["2026-03-10T18:00"], ["2026-03-11T08:00"], "hours", "mean", bh) == 0.0
        # a whole working week Mon 09:00 -> next Mon 09:00: 40 h; with Wednesday a holiday: 32 h
        assert k.avg_duration(["2026-03-09T09:00"], ["2026-03-16T09:00"], "hours", "mean", bh) == 40.0
        assert k.avg_duration(["2026-03-09T09:00"], ["2026-03-16T09:00"], "hours", "mean", bh,
                              ["2026-03-11", None]) == 32.0
        # Saturday to Sunday: nothing
        assert k.avg_duration(["2026-03-07T10:00"], ["2026-03-08T16:00"], "hours", "mean", bh) == 0.0

    def test_business_hours_with_minutes_and_en_dash(self):
        # 08:30–12:15 is 3.75 h a day; Tue 12:00 -> Wed 09:00 = 0.25 h + 0.5 h
        got = k.avg_duration(["2026-03-10T12:00"], ["2026-03-11T09:00"], "minutes", "mean", "8:30–12:15")
        assert got == 45.0

    @pytest.mark.parametrize("seed", range(3))
    def test_business_hours_match_a_minute_by_minute_reference(self, seed):
        rng = np.random.default_rng(seed)
        base = dt.datetime(2026, 4, 1)
        holidays = [dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 4, 14)]
        n = 25
        s = [base + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 20 * 1440, n)]
        e = [a + dt.timedelta(minutes=int(m)) for a, m in zip(s, rng.integers(0, 6 * 1440, n))]
        ref = [working_minutes_reference(a, b, 8 * 60 + 30, 17 * 60 + 45, set(holidays)) for a, b in zip(s, e)]
        got = k.avg_duration(s, e, "minutes", "mean", "08:30-17:45", holidays)
        assert got == pytest.approx(np.mean(ref), rel=1e-12)
        got_med = k.avg_duration(s, e, "minutes", "median", "08:30-17:45", holidays)
        assert got_med == pytest.approx(np.median(ref), rel=1e-12)

    def test_excel_serials_with_times(self):
        # 46090.5 = 2026-03-09 12:00; 46091.25 = 2026-03-10 06:00 -> 18 h
        assert k.avg_duration([46090.5], [46091.25]) == pytest.approx(18.0)

    def test_end_before_start_is_out_of_domain(self):
        with pytest.raises(KPIDomainError) as info:
            k.avg_duration(["2026-03-10T10:00", "2026-03-10T10:00"], ["2026-03-10T11:00", "2026-03-10T09:00"])
        assert info.value.excel_error == "#NUM!" and "ends" in str(info.value) and "item 2" in str(info.value)

    def test_blank_start_with_an_end_is_an_error(self):
        with pytest.raises(KPIInputError) as info:
            k.avg_duration(["2026-03-10T10:00", None], ["2026-03-10T11:00", "2026-03-10T12:00"])
        assert "starts" in str(info.value) and "item 2" in str(info.value)

    def test_only_open_rows_is_undefined(self):
        with pytest.raises(KPIUndefinedError):
            k.avg_duration(["2026-03-10T10:00"], [None])

    def test_unknown_unit_or_stat(self):
        with pytest.raises(KPIInputError):
            k.avg_duration(self.starts, self.ends, "weeks")
        with pytest.raises(KPIInputError):
            k.avg_duration(self.starts, self.ends, "hours", "p95")

    @pytest.mark.parametrize("bad", ["9-17", "09:00 to 17:00", 9])
    def test_malformed_business_hours(self, bad):
        with pytest.raises(KPIInputError) as info:
            k.avg_duration(self.starts, self.ends, "hours", "mean", bad)
        assert "business_hours" in str(info.value)

    @pytest.mark.parametrize("bad", ["17:00-09:00", "09:00-25:00", "09:70-17:00"])
    def test_impossible_business_hours(self, bad):
        with pytest.raises(KPIDomainError):
            k.avg_duration(self.starts, self.ends, "hours", "mean", bad)

    def test_misaligned_ranges(self):
        with pytest.raises(KPIInputError):
            k.avg_duration(self.starts, self.ends[:2])

    def test_options_omitted_as_none_take_defaults(self):
        assert k.avg_duration(self.starts, self.ends, None, None, None, None) == pytest.approx(34.25)
