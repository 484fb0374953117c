"""Dates across Excel's whole calendar (1900-01-01 … 9999-12-31), not only up to 2262.

datetime64[ns] — pandas' old default unit — ends at 2262-04-11 23:47:16, and
numpy's casts to it wrap later dates round silently (2600-01-01 became
2015-06-13). The library keeps dates in milliseconds end to end; these tests
check every way a date comes in (ISO text, serials, date / datetime /
Timestamp objects, datetime64 of any unit, DataFrame columns) on both sides of
that boundary, against values computed here with the standard library only.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import _coerce as c

EPOCH = dt.date(1899, 12, 30)
WIDE = ["1900-03-01", "2024-02-29", "2262-04-11", "2262-04-12", "2262-05-01", "2584-06-21",
        "2600-01-01", "2620-06-30", "9999-12-31"]


def serial(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - EPOCH).days


def ms(iso: str) -> np.datetime64:
    d = dt.date.fromisoformat(iso)
    return np.datetime64(d.toordinal() - dt.date(1970, 1, 1).toordinal(), "D").astype("datetime64[ms]")


def as_dates(values) -> list[str]:
    return [str(x)[:10] for x in np.asarray(values).astype("datetime64[D]")]


@pytest.mark.parametrize("form", ["text", "serial", "date", "datetime", "timestamp_s", "datetime64_s", "mixed"])
def test_every_input_form_keeps_dates_past_2262(form):
    days = [dt.date.fromisoformat(s) for s in WIDE]
    values = {
        "text": WIDE,
        "serial": [float(serial(s)) for s in WIDE],
        "date": days,
        "datetime": [dt.datetime(d.year, d.month, d.day, 12) for d in days],
        "timestamp_s": [pd.Timestamp(np.datetime64(s, "s")) for s in WIDE],
        "datetime64_s": np.array(WIDE, dtype="datetime64[s]"),
        "mixed": [WIDE[0], float(serial(WIDE[1]))] + days[2:],
    }[form]
    got = c.dates(values, "KPI_TEST", "dates")
    assert got.dtype == np.dtype("datetime64[ms]")
    assert as_dates(got) == WIDE


def test_time_zone_aware_datetimes_past_2262_keep_their_wall_time():
    tz = dt.timezone(dt.timedelta(hours=5))
    got = c.dates([dt.datetime(2600, 1, 1, 9, 30, tzinfo=tz), dt.datetime(2020, 1, 1, tzinfo=tz)], "KPI_TEST", "d")
    assert got[0] == np.datetime64("2600-01-01T09:30", "ms")
    assert got[1] == np.datetime64("2020-01-01", "ms")


def test_text_with_a_time_past_2262():
    got = c.dates(["2600-01-01T09:30", "2600-01-01 09:30:15.5", " 2700-02 "], "KPI_TEST", "d")
    assert got.tolist() == [dt.datetime(2600, 1, 1, 9, 30), dt.datetime(2600, 1, 1, 9, 30, 15, 500000),
                            dt.datetime(2700, 2, 1)]


@pytest.mark.parametrize("bad", ["2600-02-30", "2600-13", "2600", "10000-01-01"])
def test_text_that_is_not_a_date_past_2262_is_refused_with_the_users_value(bad):
    with pytest.raises(k.KPIInputError) as e:
        c.dates(["2600-01-01", bad], "KPI_TEST", "dates")
    assert repr(bad) in str(e.value) or bad in str(e.value)
    assert "item 2" in str(e.value)


def test_serials_at_both_ends_of_excels_calendar():
    got = c.dates([1.0, 61.0, 250000.0, 2958465.0, 2958465.5], "KPI_TEST", "d")
    assert as_dates(got) == ["1900-01-01", "1900-03-01", "2584-06-21", "9999-12-31", "9999-12-31"]
    with pytest.raises(k.KPIDomainError) as e:
        c.dates([2958466.0], "KPI_TEST", "d")
    assert "2958466" in str(e.value)


def test_mrr_movements_months_past_2262():
    table = [["customer", "month", "MRR"], ["A", "2600-01", 100], ["A", "2600-02", 150], ["B", "2600-02", 50]]
    df = k.mrr_movements(table)
    assert as_dates(df["month"]) == ["2600-01-01", "2600-02-01"]
    assert df["new"].tolist() == [100.0, 50.0]
    assert df["expansion"].tolist() == [0.0, 50.0]


def test_mrr_movements_from_a_serial_past_2262():
    df = k.mrr_movements([["A", 250000.0, 100.0], ["A", float(serial("2584-07-01")), 100.0]])
    assert as_dates(df["month"]) == ["2584-06-01", "2584-07-01"]
    assert df["ending MRR"].tolist() == [100.0, 100.0]


def test_a_first_row_dated_past_2262_is_data_not_a_header():
    df = k.mrr_movements([["A", "2600-01", 100], ["A", "2600-02", 100]])
    assert df["new"].tolist() == [100.0, 0.0]  # a header would have lost A's first month


def test_mrr_schedule_across_the_nanosecond_boundary():
    df = k.mrr_schedule([["A", "2262-03-15", None, 120, 1], ["B", "2262-02-01", "2262-05-01", 300, 3]],
                        through="2262-06-30")
    a = df[df["customer"] == "A"]
    assert as_dates(a["month"]) == ["2262-03-01", "2262-04-01", "2262-05-01", "2262-06-01"]
    b = df[df["customer"] == "B"]
    assert as_dates(b["month"]) == ["2262-02-01", "2262-03-01", "2262-04-01"]
    assert b["MRR"].tolist() == [100.0, 100.0, 100.0]


def test_mrr_schedule_refusal_quotes_the_users_dates():
    with pytest.raises(k.KPIDomainError) as e:
        k.mrr_schedule([["A", "9999-12-31", "9999-12-01", 10, 1]])
    assert "9999-12-01" in str(e.value) and "9999-12-31" in str(e.value)
    assert "1816" not in str(e.value)


def test_cohort_retention_cohorts_past_2262():
    df = k.cohort_retention([["A", "2600-01", 10], ["B", "2600-02", 10], ["A", "2600-02", 10]])
    assert as_dates(df["cohort"]) == ["2600-01-01", "2600-02-01"]
    assert df["month 1"].iloc[0] == 1.0


def test_a_dataframe_with_second_resolution_dates_past_2262():
    months = np.array(["2600-01-01", "2600-02-01", "2600-02-01"], dtype="datetime64[s]")
    df = pd.DataFrame({"customer": ["A", "A", "B"], "month": months, "MRR": [100.0, 100.0, 20.0]})
    out = k.mrr_movements(df)
    assert as_dates(out["month"]) == ["2600-01-01", "2600-02-01"]
    assert out["new"].tolist() == [100.0, 20.0]


def test_stickiness_in_a_month_past_2262():
    # February 2600 is not a leap month (2600 is not divisible by 400): 28 days
    got = k.stickiness(["u1", "u1", "u2"], ["2600-02-01", "2600-02-02", "2600-02-28"])
    assert got == pytest.approx((3 / 28) / 2)


def test_month_index_round_trips_every_month_excel_can_hold():
    first, last = c.month_index(np.array([ms("1900-01-01"), ms("9999-12-31")]))
    m = np.arange(first, last + 1)
    back = c.index_to_month(m)
    assert back.dtype == np.dtype("datetime64[ms]")
    assert str(back[0])[:10] == "1900-01-01" and str(back[-1])[:10] == "9999-12-01"
    assert (c.month_index(back) == m).all()
