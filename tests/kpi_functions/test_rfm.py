"""Tests of rfm_summary (transaction log -> frequency, recency, T, average repeat value).

Sources of truth: the published CDNOW summary (Fader, Hardie & Lee 2005:
2,357 customers, calibration period to 30 September 1997, weeks) from its
transaction log; small logs summarised by hand here (days counted on a
calendar), and a slow reference written here that walks the log customer by
customer with the standard library (sets of days, plain sums) — the
conventions of Fader, Hardie & Lee (2005) and of lifetimes'
summary_data_from_transaction_data with freq="D" (freq_multiplier=7 for
weeks).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIUndefinedError


def slow_summary(ids, dates, values, end, unit, cal=None):
    """Customer by customer, with sets of days and plain sums (the obvious way)."""
    end = dt.date.fromisoformat(end)
    cal = dt.date.fromisoformat(cal) if cal else None
    order: list = []
    days: dict = {}
    for i, d, v in zip(ids, dates, values):
        day = dt.date.fromisoformat(d[:10])
        if i not in days:
            order.append(i)
            days[i] = {}
        days[i][day] = days[i].get(day, 0.0) + v
    rows = []
    for i in order:
        cal_days = sorted(x for x in days[i] if cal is None or x <= cal)
        if not cal_days:
            continue
        first, last = cal_days[0], cal_days[-1]
        stop = cal or end
        rep = cal_days[1:]
        row = {"customer": i, "frequency": len(rep), "recency": (last - first).days / unit,
               "T": (stop - first).days / unit,
               "monetary": sum(days[i][x] for x in rep) / len(rep) if rep else 0.0}
        if cal:
            row["frequency_holdout"] = sum(1 for x in days[i] if cal < x <= end)
            row["duration_holdout"] = (end - cal).days / unit
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cdnow_log(data_dir) -> pd.DataFrame:
    log = pd.read_csv(data_dir / "cdnow_sample_transactions.txt", sep=r"\s+", header=None,
                      names=["master_id", "id", "date", "cds", "value"], dtype={"date": str})
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    return log


class TestCdnow:
    def test_the_log_gives_the_published_cdnow_summary(self, cdnow_log, data_dir):
        # the summary the BG/NBD paper fits: x, t_x and T in weeks to 2 decimals, zbar to the cent
        summary = pd.read_csv(data_dir / "cdnow_customers_summary_with_transactions.csv")
        got = k.rfm_summary(cdnow_log["id"], cdnow_log["date"], cdnow_log["value"], "1998-06-30", "weeks",
                            "1997-09-30")
        assert len(got) == len(summary) == 2357
        got = got.set_index("customer").loc[summary["ID"]]
        assert got["frequency"].tolist() == summary["x"].tolist()
        np.testing.assert_allclose(got["recency"], summary["t_x"], atol=0.005)
        np.testing.assert_allclose(got["T"], summary["T"], atol=0.005)
        np.testing.assert_allclose(got["monetary"], summary["zbar"], atol=0.005 + 1e-9)
        assert (got["duration_holdout"] == 39.0).all()  # 30 September 1997 to 30 June 1998: 273 days
        # customer 1: 1 and 18 January, 2 August 1997 | 12 December 1997 ($29.33, 29.73, 14.96 | 26.48)
        one = got.loc[1]
        assert one["frequency"] == 2 and one["frequency_holdout"] == 1
        assert one["recency"] == 213 / 7 and one["T"] == 272 / 7
        assert one["monetary"] == pytest.approx((29.73 + 14.96) / 2, rel=1e-15)

    def test_the_whole_log_counts_every_purchase_day_after_the_first(self, cdnow_log):
        got = k.rfm_summary(cdnow_log["id"], cdnow_log["date"], cdnow_log["value"], "1998-06-30")
        # every purchase day of a customer after the first is a repeat: 6,919 rows, some on one day
        days = cdnow_log.drop_duplicates(["id", "date"])
        assert got["frequency"].sum() == len(days) - 2357
        assert (got["T"] - got["recency"] >= 0).all()


class TestByHand:
    def test_small_log_in_days_and_weeks(self):
        # x: 1 Mar (two orders, 10 + 5), 8 Mar (20), 22 Mar (30): 3 purchase days, 2 repeats
        # y: 15 Mar only; observation ends 31 Mar
        ids = ["x", "x", "y", "x", "x"]
        dates = ["2026-03-01", "2026-03-01", "2026-03-15", "2026-03-08", "2026-03-22"]
        values = [10.0, 5.0, 7.0, 20.0, 30.0]
        got = k.rfm_summary(ids, dates, values, "2026-03-31", "days")
        assert list(got.columns) == ["customer", "frequency", "recency", "T", "monetary"]
        assert got["customer"].tolist() == ["x", "y"]
        assert got["frequency"].tolist() == [2, 0]
        assert got["recency"].tolist() == [21.0, 0.0]  # 1 → 22 March
        assert got["T"].tolist() == [30.0, 16.0]  # 1 → 31 March, 15 → 31 March
        assert got["monetary"].tolist() == [25.0, 0.0]  # (20 + 30)/2; the first day's 15 left out
        weeks = k.rfm_summary(ids, dates, values, "2026-03-31")
        np.testing.assert_allclose(weeks["recency"], [3.0, 0.0], rtol=1e-15)
        np.testing.assert_allclose(weeks["T"], [30 / 7, 16 / 7], rtol=1e-15)
        assert weeks["frequency"].tolist() == [2, 0]

    def test_several_purchases_on_one_day_are_one_purchase_and_their_values_add_up(self):
        # z: 2 Jan, then three orders on 9 Jan (4 + 6 + 10): one repeat day worth 20
        ids = ["z", "z", "z", "z"]
        dates = ["2026-01-02", "2026-01-09T08:00", "2026-01-09T12:30", "2026-01-09"]
        got = k.rfm_summary(ids, dates, [99.0, 4.0, 6.0, 10.0], "2026-01-16", "days")
        assert got.loc[0, "frequency"] == 1 and got.loc[0, "recency"] == 7.0 and got.loc[0, "T"] == 14.0
        assert got.loc[0, "monetary"] == 20.0

    def test_default_end_is_the_latest_purchase_and_values_are_optional(self):
        got = k.rfm_summary(["a", "b", "a"], ["2026-01-01", "2026-01-15", "2026-01-08"], period="days")
        assert list(got.columns) == ["customer", "frequency", "recency", "T"]
        assert got["T"].tolist() == [14.0, 0.0]
        assert got["recency"].tolist() == [7.0, 0.0]

    def test_calibration_and_holdout(self):
        # a: 1, 5 Jan | 12, 12, 20 Jan; b: 3 Jan | none; c: first buys 15 Jan (holdout only: not listed)
        ids = ["a", "a", "b", "a", "a", "c", "a"]
        dates = ["2026-01-01", "2026-01-05", "2026-01-03", "2026-01-12", "2026-01-12", "2026-01-15", "2026-01-20"]
        values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        got = k.rfm_summary(ids, dates, values, "2026-01-31", "days", "2026-01-10")
        assert list(got.columns) == ["customer", "frequency", "recency", "T", "monetary", "frequency_holdout",
                                     "duration_holdout"]
        assert got["customer"].tolist() == ["a", "b"]
        assert got["frequency"].tolist() == [1, 0]
        assert got["recency"].tolist() == [4.0, 0.0]
        assert got["T"].tolist() == [9.0, 7.0]  # to the calibration end, 10 January
        assert got["monetary"].tolist() == [2.0, 0.0]
        assert got["frequency_holdout"].tolist() == [2, 0]  # 12 and 20 January
        assert got["duration_holdout"].tolist() == [21.0, 21.0]

    def test_numeric_ids_and_excel_serials(self):
        # 46023 = 2026-01-01 (Excel serial); 5 and 5.0 are one customer
        got = k.rfm_summary([5, 5.0, 7], [46023, 46030, 46025], [1.0, 2.0, 3.0], 46037, "days")
        assert got["customer"].tolist() == [5, 7]
        assert got["frequency"].tolist() == [1, 0]
        assert got["T"].tolist() == [14.0, 12.0]

    def test_blank_rows_are_skipped(self):
        a = k.rfm_summary(["a", None, "a"], ["2026-01-01", None, "2026-01-08"], [1.0, None, 2.0], "2026-01-10")
        b = k.rfm_summary(["a", "a"], ["2026-01-01", "2026-01-08"], [1.0, 2.0], "2026-01-10")
        pd.testing.assert_frame_equal(a, b)


class TestAgainstTheSlowReference:
    @pytest.mark.parametrize("period, unit", [("days", 1.0), ("weeks", 7.0)])
    def test_random_logs(self, period, unit):
        rng = np.random.default_rng(7)
        n = 3000
        ids = [f"c{v}" for v in rng.integers(0, 400, n)]
        start = np.datetime64("2025-01-01")
        days = start + rng.integers(0, 500, n).astype("timedelta64[D]")
        dates = [str(d) for d in days]
        values = (rng.integers(1, 4000, n) * 0.25).tolist()
        end = "2026-06-30"
        got = k.rfm_summary(ids, dates, values, end, period)
        ref = slow_summary(ids, dates, values, end, unit)
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-13)
        cal = "2025-09-30"
        got = k.rfm_summary(ids, dates, values, end, period, cal)
        ref = slow_summary(ids, dates, values, end, unit, cal)
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-13)


class TestErrors:
    def test_a_purchase_after_the_observation_end(self):
        with pytest.raises(KPIDomainError) as info:
            k.rfm_summary(["a", "b", "a"], ["2026-01-01", "2026-02-15", "2026-01-08"], None, "2026-01-31")
        assert "dates" in str(info.value) and "item 2" in str(info.value) and "2026-02-15" in str(info.value)

    @pytest.mark.parametrize("where", ["customer_ids", "dates", "values"])
    def test_a_partly_blank_row(self, where):
        ids, dates, values = ["a", "b", "a"], ["2026-01-01", "2026-01-02", "2026-01-08"], [1.0, 2.0, 3.0]
        {"customer_ids": ids, "dates": dates, "values": values}[where][1] = None
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(ids, dates, values)
        assert f"'{where}'" in str(info.value) and "item 2" in str(info.value)

    @pytest.mark.parametrize("where", ["dates", "values"])
    def test_ranges_of_different_length(self, where):
        args = {"customer_ids": ["a", "b", "a"], "dates": ["2026-01-01", "2026-01-02", "2026-01-08"],
                "values": [1.0, 2.0, 3.0]}
        args[where] = args[where][:2]
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(**args)
        assert "aligned" in str(info.value) and where in str(info.value)

    @pytest.mark.parametrize("period", ["months", "W", 7])
    def test_a_period_that_is_not_weeks_or_days(self, period):
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(["a"], ["2026-01-01"], None, None, period)
        assert "period" in str(info.value)

    def test_text_that_is_not_a_date_and_a_value_that_is_not_a_number(self):
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(["a", "b"], ["2026-01-01", "soon"])
        assert "dates" in str(info.value) and "item 2" in str(info.value)
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(["a", "b"], ["2026-01-01", "2026-01-02"], [1.0, "2"])
        assert "values" in str(info.value) and "item 2" in str(info.value)

    def test_calibration_end_must_be_before_the_end_and_after_a_purchase(self):
        ids, dates = ["a", "a"], ["2026-01-05", "2026-01-20"]
        with pytest.raises(KPIDomainError) as info:
            k.rfm_summary(ids, dates, None, "2026-01-31", "days", "2026-01-31")
        assert "calibration_end" in str(info.value)
        with pytest.raises(KPIUndefinedError) as info:
            k.rfm_summary(ids, dates, None, "2026-01-31", "days", "2026-01-01")
        assert "calibration_end" in str(info.value)

    def test_a_range_of_dates_where_one_date_is_needed(self):
        with pytest.raises(KPIInputError) as info:
            k.rfm_summary(["a"], ["2026-01-05"], None, ["2026-01-31", "2026-02-28"])
        assert "observation_end" in str(info.value)

    def test_no_purchases(self):
        with pytest.raises(KPIUndefinedError):
            k.rfm_summary([None, None], [None, None])
        with pytest.raises(KPIUndefinedError):
            k.rfm_summary([], [])


def test_the_summary_feeds_the_models():
    # the summary's columns are the models' inputs: the fit of the summary of a simulated log runs
    rng = np.random.default_rng(3)
    ids, dates = [], []
    for cust in range(300):
        first = int(rng.integers(0, 90))
        t = float(first)
        lam, p = rng.gamma(0.8, 1 / 20.0), rng.beta(1.0, 3.0)
        ids.append(cust)
        dates.append(str(np.datetime64("2025-01-01") + np.timedelta64(first, "D")))
        while True:
            t += rng.exponential(1 / lam)
            if t > 364:
                break
            ids.append(cust)
            dates.append(str(np.datetime64("2025-01-01") + np.timedelta64(int(t), "D")))
            if rng.uniform() < p:
                break
    s = k.rfm_summary(ids, dates, None, "2025-12-31")
    fit = k.bgnbd_fit(s["frequency"], s["recency"], s["T"])
    assert (fit["value"][:4] > 0).all()
    alive = k.prob_alive(s["frequency"], s["recency"], s["T"], fit)
    assert len(alive) == len(s) and ((alive > 0) & (alive <= 1)).all()
