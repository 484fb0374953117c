"""Tests of the MRR tables: mrr_movements, mrr_schedule, cohort_retention.

Sources of truth:
* tables worked out by hand from the definitions in SPEC §4 (the working is
  written beside each expected value);
* the worked examples of the sources (a 2,000/year plan = 166.67 MRR;
  100 × 100/month plus 50 × 600/year = 12,500 MRR);
* slow, obviously-correct reference implementations kept in this file (plain
  dicts and loops, month ends from ``calendar.monthrange``), compared with the
  vectorised functions on random data;
* hypothesis properties: the MRR bridge adds up on every row, starting MRR is
  the previous ending MRR, every cohort's month 0 is 1, logo retention lies in
  [0, 1].
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import mrr_tables

MONEY = ["starting MRR", "new", "expansion", "reactivation", "contraction", "churned", "ending MRR"]
COUNTS = ["customers at start", "new customers", "reactivated", "churned customers", "customers at end"]
MOVEMENT_COLUMNS = ["month"] + MONEY + COUNTS
HEADER = ["customer", "month", "MRR"]
SUB_HEADER = ["customer", "start", "end", "amount", "billing months"]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def serial(d: dt.date) -> int:
    """Excel serial number of a date (1900 system, dates after 1900-02-28)."""
    return (d - EXCEL_EPOCH).days


def months(first: str, n: int) -> list[pd.Timestamp]:
    return list(pd.date_range(first, periods=n, freq="MS"))


# ==========================================================================
# Slow, obviously-correct reference implementations
# ==========================================================================
def _month_no(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _month_start(no: int) -> pd.Timestamp:
    return pd.Timestamp(year=no // 12, month=no % 12 + 1, day=1)


def _mrr_by_cell(rows):
    """rows: (customer, date, MRR or None). Returns {(customer, month no): MRR}, month numbers, customers."""
    x = defaultdict(float)
    seen_months = set()
    customers = []
    for cust, day, v in rows:
        if isinstance(cust, float) and cust.is_integer():
            cust = int(cust)
        no = _month_no(day)
        x[(cust, no)] += 0.0 if v is None else float(v)
        seen_months.add(no)
        if cust not in customers:
            customers.append(cust)
    return x, seen_months, customers


def reference_movements(rows) -> pd.DataFrame:
    x, seen, customers = _mrr_by_cell(rows)
    first, last = min(seen), max(seen)
    out = []
    for no in range(first, last + 1):
        r = dict.fromkeys(MONEY, 0.0)
        r.update(dict.fromkeys(COUNTS, 0))
        r["month"] = _month_start(no)
        for cust in customers:
            now = x.get((cust, no), 0.0)
            before = x.get((cust, no - 1), 0.0)
            paid_earlier = any(x.get((cust, j), 0.0) > 0 for j in range(first, no))
            if before > 0:
                r["starting MRR"] += before
                r["customers at start"] += 1
            if now > 0:
                r["ending MRR"] += now
                r["customers at end"] += 1
                if not paid_earlier:
                    r["new"] += now
                    r["new customers"] += 1
                elif before == 0:
                    r["reactivation"] += now
                    r["reactivated"] += 1
                elif now > before:
                    r["expansion"] += now - before
                elif now < before:
                    r["contraction"] += before - now
            elif before > 0:
                r["churned"] += before
                r["churned customers"] += 1
        out.append(r)
    return pd.DataFrame(out, columns=MOVEMENT_COLUMNS)


def reference_cohorts(rows, basis="logo", max_months=None) -> pd.DataFrame:
    x, seen, customers = _mrr_by_cell(rows)
    last = max(seen)
    first_paid = {}
    for cust in customers:
        paid = [no for no in sorted(seen) if x.get((cust, no), 0.0) > 0]
        if paid:
            first_paid[cust] = paid[0]
    cohorts = sorted(set(first_paid.values()))
    width = last - cohorts[0] + 1
    if max_months is not None:
        width = min(width, max_months)
    out = []
    for coh in cohorts:
        members = [cust for cust in first_paid if first_paid[cust] == coh]
        row = {"cohort": _month_start(coh), "size": len(members)}
        base = sum(x[(cust, coh)] for cust in members)
        for j in range(width):
            if coh + j > last:
                row[f"month {j}"] = math.nan
            elif basis == "logo":
                row[f"month {j}"] = sum(1 for cust in members if x.get((cust, coh + j), 0.0) > 0) / len(members)
            else:
                row[f"month {j}"] = sum(x.get((cust, coh + j), 0.0) for cust in members) / base
        out.append(row)
    return pd.DataFrame(out, columns=["cohort", "size"] + [f"month {j}" for j in range(width)])


def reference_schedule(subs, through=None) -> pd.DataFrame:
    """subs: (customer, start date, end date or None, amount, billing months)."""
    every_date = [s for _, s, _, _, _ in subs] + [e for _, _, e, _, _ in subs if e is not None]
    end_of_schedule = through if through is not None else max(every_date)
    year, month = min(s for _, s, _, _, _ in subs).year, min(s for _, s, _, _, _ in subs).month
    mrr = defaultdict(float)
    order = []
    for cust, *_ in subs:
        if cust not in order:
            order.append(cust)
    while (year, month) <= (end_of_schedule.year, end_of_schedule.month):
        last_day = dt.date(year, month, calendar.monthrange(year, month)[1])
        for cust, start, end, amount, billing in subs:
            if start <= last_day and (end is None or end > last_day):
                mrr[(cust, (year, month))] += amount / billing
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    rows = [(cust, pd.Timestamp(year=y, month=m, day=1), v)
            for cust in order for (c_, (y, m)), v in sorted(mrr.items(), key=lambda kv: kv[0][1])
            if c_ == cust and v > 0]
    return pd.DataFrame(rows, columns=["customer", "month", "MRR"])


# ==========================================================================
# Comparison helpers and input forms
# ==========================================================================
def assert_movements_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == MOVEMENT_COLUMNS
    assert list(got["month"]) == list(want["month"])
    for col in MONEY:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, atol=1e-9,
                                   err_msg=col)
    for col in COUNTS:
        assert got[col].dtype.kind == "i", col
        assert got[col].tolist() == want[col].tolist(), col


def assert_cohorts_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert list(got["cohort"]) == list(want["cohort"])
    assert got["size"].dtype.kind == "i"
    assert got["size"].tolist() == want["size"].tolist()
    cols = [c for c in want.columns if c.startswith("month ")]
    np.testing.assert_allclose(got[cols].to_numpy(float), want[cols].to_numpy(float), rtol=1e-12,
                               equal_nan=True)


def assert_schedule_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == ["customer", "month", "MRR"]
    assert got["customer"].tolist() == want["customer"].tolist()
    assert list(got["month"]) == list(want["month"])
    np.testing.assert_allclose(got["MRR"].to_numpy(float), want["MRR"].to_numpy(float), rtol=1e-12)


def as_form(rows, form: str):
    """rows (customer, date, MRR or None) as one of the input forms a caller may pass."""
    if form == "iso-day":
        return [HEADER] + [[c, d.isoformat(), v] for c, d, v in rows]
    if form == "iso-month-no-header":
        return [[c, f"{d.year}-{d.month:02d}", v] for c, d, v in rows]
    if form == "serial":
        return [HEADER] + [[c, serial(d), v] for c, d, v in rows]
    if form == "datetime-no-header":
        return [[c, dt.datetime(d.year, d.month, d.day, 17, 45), v] for c, d, v in rows]
    if form == "date":
        return [HEADER] + [[c, d, v] for c, d, v in rows]
    if form == "frame-datetime":
        return pd.DataFrame({"who": pd.Series([c for c, _, _ in rows], dtype=object),
                             "when": pd.to_datetime([d for _, d, _ in rows]),
                             "mrr": [np.nan if v is None else v for _, _, v in rows]})
    if form == "frame-serial":
        return pd.DataFrame({"who": pd.Series([c for c, _, _ in rows], dtype=object),
                             "when": [float(serial(d)) for _, d, _ in rows],
                             "mrr": [np.nan if v is None else v for _, _, v in rows]})
    if form == "ndarray":
        return np.array([[c, d.isoformat(), v] for c, d, v in rows], dtype=object)
    raise ValueError(form)


FORMS = ["iso-day", "iso-month-no-header", "serial", "datetime-no-header", "date", "frame-datetime",
         "frame-serial", "ndarray"]


def random_rows(seed: int, n_customers: int = 9, n_months: int = 8, n_rows: int = 70):
    """Random long MRR rows: duplicates, zeros, blanks, gaps, an empty month, dates across a year end."""
    rng = np.random.default_rng(seed)
    pool = ["a", "b", "c", 4, 5.0, "f", "g", 8, "i", "j", "k", "l"][:n_customers]
    offsets = np.arange(n_months)
    if seed % 2 == 0:  # a month inside the range with no rows at all
        offsets = np.delete(offsets, 1 + seed % (n_months - 2))
    def day_in(off: int, day: int) -> dt.date:
        return (pd.Timestamp("2025-10-01") + pd.DateOffset(months=off)).date().replace(day=day)

    # pin the first and the last month of the table
    rows = [(pool[0], day_in(0, 3), 10.0), (pool[-1], day_in(n_months - 1, 28), 0.0)]
    for _ in range(n_rows):
        cust = pool[int(rng.integers(len(pool)))]
        off = int(rng.choice(offsets))
        day = day_in(off, int(rng.integers(1, 29)))
        v = rng.choice([0.0, 0.0, 10.0, 25.5, 40.0, 99.99, 250.0, -1.0])
        rows.append((cust, day, None if v < 0 else float(v)))
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


# ==========================================================================
# Registry
# ==========================================================================
@pytest.mark.parametrize("name, category", [("mrr_movements", "Revenue"), ("mrr_schedule", "Revenue"),
                                            ("cohort_retention", "Churn and retention")])
def test_registered_as_tables_in_their_catalog_category(name, category):
    spec = k.get(name)
    assert spec.func is getattr(k, name)
    assert spec.category == category and spec.shape == "table"
    assert spec.excel_name == "KPI_" + name.upper()


# ==========================================================================
# mrr_movements — by hand
# ==========================================================================
# customer, day, MRR. Working, month by month:
#   Jan: A 100 + 50 (duplicate rows, summed) = 150, B 200     -> new 350 (A, B), end 350, 2 customers
#   Feb: A 150 (flat), B 120 (contraction 80), C 70 (new)     -> 350 + 70 − 80 = 340, 3 customers
#   Mar: A 180 (expansion 30), B 120, C 0 (churned 70)        -> 340 + 30 − 70 = 300, 2 customers
#   Apr: no rows at all: A 180 and B 120 churn                -> 300 − 300 = 0, 0 customers
#   May: C 90 (back after Mar, Apr at 0: reactivation), B 100 (reactivation), D 40 (new)
#                                                             -> 0 + 40 + 190 = 230, 3 customers
HAND_ROWS = [
    ("A", dt.date(2026, 1, 5), 100), ("A", dt.date(2026, 1, 20), 50), ("B", dt.date(2026, 1, 31), 200),
    ("A", dt.date(2026, 2, 1), 150), ("B", dt.date(2026, 2, 14), 120), ("C", dt.date(2026, 2, 28), 70),
    ("C", dt.date(2026, 3, 1), 0), ("A", dt.date(2026, 3, 2), 180), ("B", dt.date(2026, 3, 31), 120),
    ("C", dt.date(2026, 5, 9), 90), ("B", dt.date(2026, 5, 10), 100), ("D", dt.date(2026, 5, 11), 40),
]
HAND_MOVEMENTS = pd.DataFrame(
    [  # month      start  new  exp  react contr churn  end   c@s new react churn c@e
        ["2026-01-01", 0, 350, 0, 0, 0, 0, 350, 0, 2, 0, 0, 2],
        ["2026-02-01", 350, 70, 0, 0, 80, 0, 340, 2, 1, 0, 0, 3],
        ["2026-03-01", 340, 0, 30, 0, 0, 70, 300, 3, 0, 0, 1, 2],
        ["2026-04-01", 300, 0, 0, 0, 0, 300, 0, 2, 0, 0, 2, 0],
        ["2026-05-01", 0, 40, 0, 190, 0, 0, 230, 0, 1, 2, 0, 3],
    ],
    columns=MOVEMENT_COLUMNS,
).assign(month=lambda f: pd.to_datetime(f["month"]))


class TestMRRMovementsByHand:
    @pytest.mark.parametrize("form", FORMS)
    def test_hand_worked_table_in_every_input_form(self, form):
        assert_movements_equal(k.mrr_movements(as_form(HAND_ROWS, form)), HAND_MOVEMENTS)

    def test_columns_types_and_month_stamps(self):
        got = k.mrr_movements(as_form(HAND_ROWS, "iso-day"))
        assert list(got.columns) == MOVEMENT_COLUMNS
        assert pd.api.types.is_datetime64_any_dtype(got["month"])
        assert all(m == m.normalize() and m.day == 1 for m in got["month"])
        for col in MONEY:
            assert got[col].dtype == float
        for col in COUNTS:
            assert pd.api.types.is_integer_dtype(got[col])

    @pytest.mark.parametrize("rows", [[["A", "2026-01", 10]], [["A", "2026-01", 0]], [["A", "2026-01", 1],
                                                                                     ["A", "2026-03", 0]]])
    def test_money_columns_are_floats_even_without_any_movement_of_a_kind(self, rows):
        got = k.mrr_movements(rows)
        assert all(got[col].dtype == float for col in MONEY)
        assert all(got[col].dtype == np.int64 for col in COUNTS)

    def test_first_month_starts_at_zero_and_everyone_in_it_is_new(self):
        # X pays 10 from the first month on: it is new in month 1, retained after.
        got = k.mrr_movements([["X", "2026-01", 10], ["X", "2026-02", 10]])
        assert got["starting MRR"].tolist() == [0.0, 10.0]
        assert got["new"].tolist() == [10.0, 0.0]
        assert got["new customers"].tolist() == [1, 0]

    def test_reactivation_counts_the_whole_returning_mrr(self):
        # A: 100 in Jan, 0 in Feb (churned 100), 300 in Mar: reactivation is 300, not 100 + 200 expansion.
        got = k.mrr_movements([["A", "2026-01", 100], ["A", "2026-02", 0], ["A", "2026-03", 300]])
        assert got["churned"].tolist() == [0.0, 100.0, 0.0]
        assert got["reactivation"].tolist() == [0.0, 0.0, 300.0]
        assert got["expansion"].tolist() == [0.0, 0.0, 0.0]
        assert got["reactivated"].tolist() == [0, 0, 1]

    def test_a_month_without_rows_is_a_row_where_everyone_churns(self):
        # rows in Jan and Apr only: Feb and Mar are rows; A churns in Feb, comes back in Apr.
        got = k.mrr_movements([["A", "2026-01-15", 100], ["A", "2026-04-02", 100]])
        assert list(got["month"]) == months("2026-01-01", 4)
        assert got["churned"].tolist() == [0.0, 100.0, 0.0, 0.0]
        assert got["ending MRR"].tolist() == [100.0, 0.0, 0.0, 100.0]
        assert got["reactivation"].tolist() == [0.0, 0.0, 0.0, 100.0]

    def test_blank_mrr_is_zero_and_zero_rows_still_extend_the_months(self):
        # B's blank and A's 0 in March keep March in the table: A churns 100 there.
        got = k.mrr_movements([HEADER, ["A", "2026-01", 100], ["A", "2026-02", 100], ["A", "2026-03", 0],
                               ["B", "2026-03", None]])
        assert len(got) == 3
        assert got["churned"].tolist() == [0.0, 0.0, 100.0]
        assert got["customers at end"].tolist() == [1, 1, 0]

    def test_all_zero_table_is_a_bridge_of_zeros(self):
        got = k.mrr_movements([["A", "2026-01", 0], ["B", "2026-03", None]])
        assert len(got) == 3
        assert (got[MONEY].to_numpy() == 0).all() and (got[COUNTS].to_numpy() == 0).all()

    def test_any_day_and_time_within_a_month_counts_for_that_month(self):
        # 2026-01-31 23:59 is January; 2026-02-01 00:00 is February.
        got = k.mrr_movements([["A", dt.datetime(2026, 1, 31, 23, 59), 10],
                               ["A", dt.datetime(2026, 2, 1, 0, 0), 20]])
        assert list(got["month"]) == months("2026-01-01", 2)
        assert got["expansion"].tolist() == [0.0, 10.0]

    def test_ids_5_and_5_0_are_one_customer_but_text_5_is_another(self):
        # 5 and 5.0 fold together (Excel numbers); "5" is text, a different customer.
        got = k.mrr_movements([[5, "2026-01", 10], [5.0, "2026-01", 10], ["5", "2026-01", 1]])
        assert got["new customers"].tolist() == [2]
        assert got["ending MRR"].tolist() == [21.0]

    def test_completely_blank_rows_are_skipped(self):
        got = k.mrr_movements([HEADER, ["A", "2026-01", 10], [None, None, None], ["", None, ""],
                               ["A", "2026-02", 10]])
        assert got["ending MRR"].tolist() == [10.0, 10.0]

    def test_the_docstring_bridge_adds_up_over_the_period(self):
        got = k.mrr_movements(k.get("mrr_movements").example[0])
        change = got["new"] + got["expansion"] + got["reactivation"] - got["contraction"] - got["churned"]
        assert change.sum() == pytest.approx(got["ending MRR"].iloc[-1])

    def test_dataframe_dates_before_1900_03_and_with_a_time_zone(self):
        # dates before 1900-03-01 (where Excel serials are not exact) and local times of a zone
        old = pd.DataFrame({"c": ["a", "a"], "m": pd.to_datetime(["1899-11-15", "1900-02-03"]), "v": [1.0, 2.0]})
        got = k.mrr_movements(old)
        assert list(got["month"]) == months("1899-11-01", 4)
        assert got["ending MRR"].tolist() == [1.0, 0.0, 0.0, 2.0]
        zoned = pd.DataFrame({"c": ["a", "a"], "m": pd.DatetimeIndex(["2026-01-31 23:00", "2026-02-01 00:00"])
                              .tz_localize("Europe/Berlin"), "v": [1.0, 2.0]})
        got = k.mrr_movements(zoned)
        assert list(got["month"]) == months("2026-01-01", 2)
        assert got["expansion"].tolist() == [0.0, 1.0]

    def test_long_span_of_years(self):
        got = k.mrr_movements([["A", "1999-12", 1], ["A", "2026-01", 1]])
        assert len(got) == 1 + 26 * 12 + 1  # Dec 1999, 2000-01 … 2025-12, Jan 2026
        assert got["month"].iloc[0] == ts("1999-12-01") and got["month"].iloc[-1] == ts("2026-01-01")

    def test_both_ways_of_summing_cells_agree(self, monkeypatch):
        rows = random_rows(7)
        dense = k.mrr_movements(as_form(rows, "iso-day"))
        monkeypatch.setattr(mrr_tables, "_DENSE_CELLS", 0)
        assert_movements_equal(k.mrr_movements(as_form(rows, "iso-day")), dense)


# ==========================================================================
# mrr_movements and cohort_retention against the references
# ==========================================================================
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 11, 2026])
@pytest.mark.parametrize("form", ["iso-day", "frame-datetime", "serial"])
def test_movements_match_the_reference_on_random_tables(seed, form):
    rows = random_rows(seed)
    assert_movements_equal(k.mrr_movements(as_form(rows, form)), reference_movements(rows))


@pytest.mark.parametrize("seed", range(6))
def test_movements_match_the_reference_on_larger_random_tables(seed, monkeypatch):
    rows = random_rows(100 + seed, n_customers=12, n_months=15, n_rows=400)
    want = reference_movements(rows)
    assert_movements_equal(k.mrr_movements(as_form(rows, "frame-serial")), want)
    monkeypatch.setattr(mrr_tables, "_DENSE_CELLS", 0)  # the sort-based summing path
    assert_movements_equal(k.mrr_movements(as_form(rows, "frame-serial")), want)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 11, 2026])
@pytest.mark.parametrize("basis", ["logo", "revenue"])
def test_cohorts_match_the_reference_on_random_tables(seed, basis):
    rows = random_rows(seed)
    assert_cohorts_equal(k.cohort_retention(as_form(rows, "iso-day"), basis), reference_cohorts(rows, basis))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_months", [1, 3, 40])
def test_cohorts_with_max_months_match_the_reference(seed, max_months, monkeypatch):
    rows = random_rows(200 + seed, n_customers=12, n_months=12, n_rows=300)
    for basis in ("logo", "revenue"):
        want = reference_cohorts(rows, basis, max_months)
        assert_cohorts_equal(k.cohort_retention(as_form(rows, "frame-datetime"), basis, max_months), want)
        monkeypatch.setattr(mrr_tables, "_DENSE_CELLS", 0)
        assert_cohorts_equal(k.cohort_retention(as_form(rows, "serial"), basis, max_months), want)
        monkeypatch.undo()


def test_reference_movements_reproduce_the_hand_worked_table():
    # the reference itself is checked against the hand working
    assert_movements_equal(reference_movements(HAND_ROWS), HAND_MOVEMENTS)


# ==========================================================================
# Properties (hypothesis)
# ==========================================================================
_row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", 1, 2]),
    st.integers(0, 8),
    # money from a millionth to a million (1e6 / 5e-324 would overflow: tested separately as #NUM!)
    st.one_of(st.none(), st.just(0.0), st.sampled_from([10.0, 20.5, 99.0]), st.floats(1e-6, 1e6)),
)


def _rows_from(drawn):
    base = pd.Timestamp("2025-11-01")
    return [(c, (base + pd.DateOffset(months=m)).date(), v) for c, m, v in drawn]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, min_size=1, max_size=40))
def test_property_the_bridge_adds_up_on_every_row(drawn):
    rows = _rows_from(drawn)
    got = k.mrr_movements(as_form(rows, "iso-day"))
    scale = 1.0 + got[MONEY].abs().to_numpy().max()
    rebuilt = (got["starting MRR"] + got["new"] + got["expansion"] + got["reactivation"]
               - got["contraction"] - got["churned"])
    np.testing.assert_allclose(got["ending MRR"], rebuilt, rtol=0, atol=1e-9 * scale)
    # starting MRR is the previous row's ending MRR, exactly; the first starts at 0
    assert got["starting MRR"].iloc[0] == 0.0
    assert (got["starting MRR"].to_numpy()[1:] == got["ending MRR"].to_numpy()[:-1]).all()
    # the customer counts follow the same bridge, exactly
    assert (got["customers at end"] == got["customers at start"] + got["new customers"] + got["reactivated"]
            - got["churned customers"]).all()
    assert (got["customers at start"].to_numpy()[1:] == got["customers at end"].to_numpy()[:-1]).all()
    assert (got[MONEY].to_numpy() >= 0).all()
    # one row per calendar month from the first to the last
    n = len({(d.year, d.month) for _, d, _ in rows})
    assert len(got) >= n
    assert assert_movements_equal(got, reference_movements(rows)) is None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, min_size=1, max_size=40), st.sampled_from(["logo", "revenue"]))
def test_property_cohort_month_0_is_1_and_logo_retention_is_a_share(drawn, basis):
    rows = _rows_from(drawn)
    if not any(v for _, _, v in rows):
        with pytest.raises(k.KPIUndefinedError):
            k.cohort_retention(as_form(rows, "iso-day"), basis)
        return
    got = k.cohort_retention(as_form(rows, "iso-day"), basis)
    assert (got["month 0"] == 1.0).all()
    cells = got.filter(like="month ").to_numpy(float)
    seen = cells[~np.isnan(cells)]
    assert (seen >= 0).all()
    if basis == "logo":
        assert (seen <= 1).all()
    # every paying customer is in exactly one cohort
    x, _, _ = _mrr_by_cell(rows)
    assert got["size"].sum() == len({c for (c, _), v in x.items() if v > 0})
    assert_cohorts_equal(got, reference_cohorts(rows, basis))


# ==========================================================================
# cohort_retention — by hand
# ==========================================================================
# Paying cells of HAND_ROWS:
#   A: Jan 150, Feb 150, Mar 180          B: Jan 200, Feb 120, Mar 120, May 100
#   C: Feb 70, May 90                     D: May 40
# Cohorts (first paying month): Jan {A, B}, Feb {C}, May {D}; nobody starts in Mar or Apr,
# so those months are not cohorts. The table ends in May (month index 4 from Jan).
#   Jan logo:    Jan 2/2, Feb 2/2, Mar 2/2, Apr 0/2, May 1/2 (B)
#   Jan revenue: 350/350, 270/350, 300/350, 0/350, 100/350
#   Feb logo:    Feb 1, Mar 0, Apr 0, May 1, (Jun not observed)
#   Feb revenue: 70/70, 0, 0, 90/70, NaN
#   May:         1, then NaN
NAN = math.nan
HAND_LOGO = [[1, 1, 1, 0, 0.5], [1, 0, 0, 1, NAN], [1, NAN, NAN, NAN, NAN]]
HAND_REVENUE = [[1, 270 / 350, 300 / 350, 0, 100 / 350], [1, 0, 0, 90 / 70, NAN], [1, NAN, NAN, NAN, NAN]]


class TestCohortRetentionByHand:
    @pytest.mark.parametrize("form", FORMS)
    @pytest.mark.parametrize("basis, expected", [("logo", HAND_LOGO), ("revenue", HAND_REVENUE)])
    def test_hand_worked_triangle_in_every_input_form(self, form, basis, expected):
        got = k.cohort_retention(as_form(HAND_ROWS, form), basis)
        assert list(got.columns) == ["cohort", "size", "month 0", "month 1", "month 2", "month 3", "month 4"]
        assert list(got["cohort"]) == [ts("2026-01-01"), ts("2026-02-01"), ts("2026-05-01")]
        assert got["size"].tolist() == [2, 1, 1]
        assert pd.api.types.is_integer_dtype(got["size"])
        np.testing.assert_allclose(got.iloc[:, 2:].to_numpy(float), expected, rtol=1e-12, equal_nan=True)

    def test_default_basis_is_logo_and_basis_is_case_insensitive(self):
        t = as_form(HAND_ROWS, "iso-day")
        pd.testing.assert_frame_equal(k.cohort_retention(t), k.cohort_retention(t, "logo"))
        pd.testing.assert_frame_equal(k.cohort_retention(t, None), k.cohort_retention(t, "logo"))
        pd.testing.assert_frame_equal(k.cohort_retention(t, " Revenue "), k.cohort_retention(t, "revenue"))

    def test_max_months_limits_the_columns_and_never_pads(self):
        t = as_form(HAND_ROWS, "iso-day")
        two = k.cohort_retention(t, "logo", 2)
        assert list(two.columns) == ["cohort", "size", "month 0", "month 1"]
        np.testing.assert_allclose(two.iloc[:, 2:].to_numpy(float), [[1, 1], [1, 0], [1, NAN]], equal_nan=True)
        assert list(k.cohort_retention(t, "logo", 10).columns)[-1] == "month 4"
        assert list(k.cohort_retention(t, "logo", 1.0).columns) == ["cohort", "size", "month 0"]

    def test_revenue_retention_may_exceed_one(self):
        # A pays 100, then 150: revenue retention 1.5, logo retention 1.
        t = [["A", "2026-01", 100], ["A", "2026-02", 150]]
        assert k.cohort_retention(t, "revenue")["month 1"].tolist() == [1.5]
        assert k.cohort_retention(t, "logo")["month 1"].tolist() == [1.0]

    def test_cohort_starts_at_the_first_paying_month_not_the_first_row(self):
        # A has a 0 row in Jan and first pays in Feb: its cohort is Feb; the table still starts in Jan,
        # so the triangle's width runs from the first cohort (Feb) to the last month (Mar).
        got = k.cohort_retention([["A", "2026-01", 0], ["A", "2026-02", 10], ["B", "2026-03", 0]])
        assert list(got["cohort"]) == [ts("2026-02-01")]
        assert list(got.columns) == ["cohort", "size", "month 0", "month 1"]
        assert got["month 1"].tolist() == [0.0]


# ==========================================================================
# mrr_schedule
# ==========================================================================
def sub_rows(subs, form="iso"):
    """(customer, start, end or None, amount, billing) as a range with a header row."""
    def d(x):
        if x is None:
            return None
        return x.isoformat() if form == "iso" else serial(x) if form == "serial" else x
    return [SUB_HEADER] + [[c, d(s), d(e), a, b] for c, s, e, a, b in subs]


def sub_frame(subs):
    return pd.DataFrame({
        "customer": pd.Series([s[0] for s in subs], dtype=object),
        "start": pd.to_datetime([s[1] for s in subs]),
        "end": pd.to_datetime([s[2] for s in subs]),
        "amount": [float(s[3]) for s in subs],
        "billing months": [float(s[4]) for s in subs],
    })


D = dt.date


class TestMRRScheduleByHand:
    def test_annual_plan_of_2000_is_166_67_mrr(self):
        # 2,000 a year / 12 billing months = 166.67 a month (worked example of the sources)
        got = k.mrr_schedule([["A", "2026-01-01", None, 2000, 12]], "2026-01")
        assert got["MRR"].tolist() == [pytest.approx(166.67, abs=0.005)]
        assert got["MRR"].iloc[0] == pytest.approx(2000 / 12, rel=1e-15)

    def test_100_monthly_and_50_annual_customers_make_12500_mrr(self):
        # 100 customers × 100/month + 50 customers × 600/year (= 50/month) = 10,000 + 2,500 = 12,500 MRR
        subs = [[f"m{i}", "2026-01-01", None, 100, 1] for i in range(100)]
        subs += [[f"y{i}", "2026-01-01", None, 600, 12] for i in range(50)]
        got = k.mrr_schedule(subs, "2026-03")
        assert len(got) == 150 * 3
        per_month = got.groupby("month")["MRR"].sum()
        assert per_month.tolist() == [pytest.approx(12500.0)] * 3
        assert k.mrr_movements(got)["ending MRR"].tolist() == [pytest.approx(12500.0)] * 3
        assert k.mrr(got[got["month"] == ts("2026-01-01")]["MRR"]) == pytest.approx(12500.0)

    def test_month_end_snapshot_rules(self):
        # Month M counts when start ≤ last day of M and (no end or end > last day of M):
        subs = [
            ("ends-on-month-end", D(2026, 1, 10), D(2026, 1, 31), 10, 1),   # not running after Jan 31 -> nothing
            ("ends-feb-28", D(2026, 1, 10), D(2026, 2, 28), 20, 1),         # Jan only
            ("ends-mar-1", D(2026, 1, 10), D(2026, 3, 1), 30, 1),           # Jan, Feb
            ("starts-on-month-end", D(2026, 1, 31), D(2026, 2, 1), 40, 1),  # Jan only (runs on Jan 31)
            ("same-day", D(2026, 2, 5), D(2026, 2, 5), 50, 1),              # never runs on a month end
            ("leap", D(2024, 2, 29), D(2024, 3, 1), 60, 1),                 # Feb 2024 (runs on Feb 29)
        ]
        got = k.mrr_schedule(sub_rows(subs))
        want = pd.DataFrame([
            ["ends-feb-28", ts("2026-01-01"), 20.0],
            ["ends-mar-1", ts("2026-01-01"), 30.0], ["ends-mar-1", ts("2026-02-01"), 30.0],
            ["starts-on-month-end", ts("2026-01-01"), 40.0],
            ["leap", ts("2024-02-01"), 60.0],
        ], columns=["customer", "month", "MRR"])
        assert_schedule_equal(got, want)

    def test_discount_is_taken_off_before_the_billing_months(self):
        # (1200 − 240) / 12 = 80; (100 − blank) / 1 = 100; (50 − 50) / 1 = 0: a free month is not paying
        got = k.mrr_schedule([["A", "2026-01-01", None, 1200, 12, 240], ["B", "2026-01-01", None, 100, 1, None],
                              ["C", "2026-01-01", None, 50, 1, 50]], "2026-01")
        assert dict(zip(got["customer"], got["MRR"], strict=True)) == {"A": 80.0, "B": 100.0}

    def test_discount_above_the_amount_names_the_row(self):
        e = _raises(k.KPIDomainError, lambda: k.mrr_schedule([["A", "2026-01-01", None, 10, 1, 12]]),
                    "KPI_MRR_SCHEDULE", "row 1, column 6", "more than the amount 10")
        assert e.excel_error == "#NUM!"

    def test_time_of_day_is_ignored(self):
        # ends 2026-01-31 at noon: still the last day of January, so January does not count
        got = k.mrr_schedule([["A", dt.datetime(2026, 1, 3, 9), dt.datetime(2026, 1, 31, 12), 10, 1],
                              ["B", dt.datetime(2026, 1, 31, 22), None, 10, 1]])
        assert got["customer"].tolist() == ["B"]

    def test_quarterly_and_summed_per_customer(self):
        # A: 300 per quarter = 100 + 50 monthly add-on = 150 a month; B first in the table, so first out
        subs = [("B", D(2026, 1, 1), None, 12, 1), ("A", D(2026, 1, 1), None, 300, 3),
                ("A", D(2026, 1, 15), None, 50, 1)]
        got = k.mrr_schedule(sub_rows(subs), "2026-02")
        want = pd.DataFrame([["B", ts("2026-01-01"), 12.0], ["B", ts("2026-02-01"), 12.0],
                             ["A", ts("2026-01-01"), 150.0], ["A", ts("2026-02-01"), 150.0]],
                            columns=["customer", "month", "MRR"])
        assert_schedule_equal(got, want)

    def test_default_through_is_the_month_of_the_latest_start_or_end(self):
        # the latest date is B's end, 2026-06-15: A (open) runs Jan..Jun; B Mar..May
        subs = [("A", D(2026, 1, 1), None, 10, 1), ("B", D(2026, 3, 1), D(2026, 6, 15), 20, 1)]
        got = k.mrr_schedule(sub_rows(subs))
        assert list(got[got["customer"] == "A"]["month"]) == months("2026-01-01", 6)
        assert list(got[got["customer"] == "B"]["month"]) == months("2026-03-01", 3)
        # ... and the latest start when it is later than every end
        subs = [("A", D(2026, 1, 1), D(2026, 2, 10), 10, 1), ("B", D(2026, 4, 20), None, 20, 1)]
        got = k.mrr_schedule(sub_rows(subs))
        assert got["customer"].tolist() == ["A", "B"]
        assert list(got["month"]) == [ts("2026-01-01"), ts("2026-04-01")]

    @pytest.mark.parametrize("through", ["2026-04", "2026-04-30", D(2026, 4, 1), dt.datetime(2026, 4, 9, 8),
                                         pd.Timestamp("2026-04-15"), serial(D(2026, 4, 20)), [["2026-04"]]])
    def test_through_in_any_date_form(self, through):
        got = k.mrr_schedule(sub_rows([("A", D(2026, 1, 1), None, 10, 1)]), through)
        assert list(got["month"]) == months("2026-01-01", 4)

    def test_through_is_the_last_month_for_every_subscription(self):
        # through before B's end: nothing after March is spilled (no fake churn of the open A in April)
        subs = [("A", D(2026, 1, 1), None, 10, 1), ("B", D(2026, 1, 1), D(2026, 12, 1), 20, 1),
                ("C", D(2026, 5, 1), None, 30, 1)]
        got = k.mrr_schedule(sub_rows(subs), "2026-03")
        assert got["customer"].tolist() == ["A"] * 3 + ["B"] * 3
        assert got["month"].max() == ts("2026-03-01")

    def test_blank_through_is_the_default(self):
        subs = sub_rows([("A", D(2026, 1, 1), None, 10, 1), ("B", D(2026, 2, 1), D(2026, 3, 5), 1, 1)])
        pd.testing.assert_frame_equal(k.mrr_schedule(subs, None), k.mrr_schedule(subs))
        pd.testing.assert_frame_equal(k.mrr_schedule(subs, ""), k.mrr_schedule(subs))

    def test_zero_amounts_are_left_out_and_nothing_running_is_an_empty_table(self):
        got = k.mrr_schedule(sub_rows([("A", D(2026, 1, 1), None, 0, 1), ("B", D(2026, 1, 1), None, 5, 1)]))
        assert got["customer"].tolist() == ["B"]
        empty = k.mrr_schedule(sub_rows([("A", D(2026, 1, 5), D(2026, 1, 20), 10, 1)]))
        assert list(empty.columns) == ["customer", "month", "MRR"] and len(empty) == 0

    @pytest.mark.parametrize("form", ["iso", "serial", "date", "frame"])
    def test_same_schedule_from_every_input_form(self, form):
        subs = [("A", D(2026, 1, 1), None, 100, 1), ("B", D(2026, 1, 15), D(2026, 3, 15), 1200, 12),
                ("C", D(2026, 2, 1), None, 300, 3)]
        data = sub_frame(subs) if form == "frame" else sub_rows(subs, form)
        assert_schedule_equal(k.mrr_schedule(data), reference_schedule(subs))

    def test_customers_in_order_of_first_appearance_also_for_numeric_ids(self):
        subs = [(30, D(2026, 1, 1), None, 1, 1), (4, D(2026, 1, 1), None, 1, 1), (12, D(2026, 1, 1), None, 1, 1),
                (4, D(2026, 2, 1), None, 1, 1)]
        assert k.mrr_schedule(sub_rows(subs), "2026-01")["customer"].tolist() == [30, 4, 12]
        assert k.mrr_schedule(sub_frame(subs), "2026-01")["customer"].tolist() == [30, 4, 12]

    def test_output_types(self):
        got = k.mrr_schedule(sub_rows([(7, D(2026, 1, 1), None, 10, 1), ("x", D(2026, 1, 1), None, 10, 1)]))
        assert got["customer"].tolist() == [7, "x"]
        assert pd.api.types.is_datetime64_any_dtype(got["month"])
        assert got["MRR"].dtype == float

    def test_schedule_to_movements_round_trip_by_hand(self):
        # A: 100 monthly from Jan, open                         -> Jan..Apr 100
        # B: 1,200 a year Jan 15 – Mar 10 (100 a month)          -> Jan, Feb 100 (not running on Mar 31)
        # B: 300 a quarter from Apr 1, open (100 a month)        -> Apr 100: B comes back (reactivation)
        # C: 50 monthly from Feb, open; + 30 add-on Mar 1 – Apr 15 -> Feb 50, Mar 80, Apr 50
        # through: latest date, Apr 15 -> April.
        #   Jan: new A, B 200                                   end 200, 2 customers
        #   Feb: new C 50                                       end 250, 3
        #   Mar: B churns 100, C expands 30                     250 + 30 − 100 = 180, 2
        #   Apr: B reactivates 100, C contracts 30              180 + 100 − 30 = 250, 3
        subs = [("A", D(2026, 1, 1), None, 100, 1), ("B", D(2026, 1, 15), D(2026, 3, 10), 1200, 12),
                ("B", D(2026, 4, 1), None, 300, 3), ("C", D(2026, 2, 1), None, 50, 1),
                ("C", D(2026, 3, 1), D(2026, 4, 15), 30, 1)]
        for data in (sub_rows(subs), sub_frame(subs)):
            schedule = k.mrr_schedule(data)
            assert_schedule_equal(schedule, pd.DataFrame([
                ["A", ts("2026-01-01"), 100.0], ["A", ts("2026-02-01"), 100.0], ["A", ts("2026-03-01"), 100.0],
                ["A", ts("2026-04-01"), 100.0], ["B", ts("2026-01-01"), 100.0], ["B", ts("2026-02-01"), 100.0],
                ["B", ts("2026-04-01"), 100.0], ["C", ts("2026-02-01"), 50.0], ["C", ts("2026-03-01"), 80.0],
                ["C", ts("2026-04-01"), 50.0]], columns=["customer", "month", "MRR"]))
            want = pd.DataFrame([
                ["2026-01-01", 0, 200, 0, 0, 0, 0, 200, 0, 2, 0, 0, 2],
                ["2026-02-01", 200, 50, 0, 0, 0, 0, 250, 2, 1, 0, 0, 3],
                ["2026-03-01", 250, 0, 30, 0, 0, 100, 180, 3, 0, 0, 1, 2],
                ["2026-04-01", 180, 0, 0, 100, 30, 0, 250, 2, 0, 1, 0, 3],
            ], columns=MOVEMENT_COLUMNS).assign(month=lambda f: pd.to_datetime(f["month"]))
            assert_movements_equal(k.mrr_movements(schedule), want)
            # the schedule feeds the cohort triangle too: Jan {A, B}: Feb 2/2, Mar 1/2, Apr 2/2
            tri = k.cohort_retention(schedule)
            np.testing.assert_allclose(tri.iloc[0, 2:].to_numpy(float), [1, 1, 0.5, 1])

    def test_both_ways_of_summing_cells_agree(self, monkeypatch):
        subs = random_subscriptions(3)
        want = k.mrr_schedule(sub_rows(subs))
        monkeypatch.setattr(mrr_tables, "_DENSE_CELLS", 0)
        assert_schedule_equal(k.mrr_schedule(sub_rows(subs)), want)


def random_subscriptions(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    pool = ["a", "b", "c", 4, "e", "f", 7, "h"]
    out = []
    for _ in range(n):
        start = D(2025, 11, 1) + dt.timedelta(days=int(rng.integers(0, 420)))
        end = None if rng.random() < 0.4 else start + dt.timedelta(days=int(rng.integers(0, 300)))
        out.append((pool[int(rng.integers(len(pool)))], start, end, float(rng.choice([0, 10, 29.99, 120, 1000])),
                    int(rng.choice([1, 1, 3, 6, 12]))))
    return out


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("through", [None, D(2026, 6, 30), D(2027, 9, 1)])
def test_schedule_matches_the_reference_on_random_subscriptions(seed, through):
    subs = random_subscriptions(seed)
    want = reference_schedule(subs, through)
    th = None if through is None else through.isoformat()
    assert_schedule_equal(k.mrr_schedule(sub_rows(subs), th), want)
    assert_schedule_equal(k.mrr_schedule(sub_frame(subs), th), want)


@pytest.mark.parametrize("seed", range(4))
def test_schedule_feeds_movements_like_the_reference_chain(seed):
    subs = random_subscriptions(50 + seed, n=60)
    schedule = k.mrr_schedule(sub_rows(subs))
    long_rows = [(c, m.date(), v) for c, m, v in reference_schedule(subs).itertuples(index=False)]
    assert_movements_equal(k.mrr_movements(schedule), reference_movements(long_rows))
    assert_cohorts_equal(k.cohort_retention(schedule, "revenue"), reference_cohorts(long_rows, "revenue"))


# ==========================================================================
# Errors: typed, naming the function, the argument, the position and the value
# ==========================================================================
def _raises(exc, call, *parts):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for p in parts:
        assert p in msg, (p, msg)
    return info.value


TABLE_FUNCS = [("KPI_MRR_MOVEMENTS", k.mrr_movements), ("KPI_COHORT_RETENTION", k.cohort_retention)]


@pytest.mark.parametrize("name, f", TABLE_FUNCS)
class TestLongTableErrors:
    def test_month_text_that_is_not_a_date(self, name, f):
        e = _raises(k.KPIInputError, lambda: f([HEADER, ["A", "2026-01", 10], ["B", "March", 5]]),
                    name, "argument 'table'", "row 3, column 2", "'March'", "not a date")
        assert e.excel_error == "#VALUE!"

    def test_negative_mrr(self, name, f):
        e = _raises(k.KPIDomainError, lambda: f([["A", "2026-01", 10], ["B", "2026-01", -5]]),
                    name, "argument 'table'", "row 2, column 3", "-5", "negative")
        assert e.excel_error == "#NUM!"

    def test_blank_customer_in_a_row_that_is_not_blank(self, name, f):
        _raises(k.KPIInputError, lambda: f([HEADER, ["A", "2026-01", 10], [None, "2026-02", 5]]),
                name, "argument 'table'", "row 3, column 1", "blank", "customer")

    def test_blank_month_in_a_row_that_is_not_blank(self, name, f):
        _raises(k.KPIInputError, lambda: f([["A", "2026-01", 10], ["A", "", 5]]),
                name, "row 2, column 2", "blank", "month")

    @pytest.mark.parametrize("bad, exc, shown", [("abc", k.KPIInputError, "'abc'"), ("5", k.KPIInputError, "'5'"),
                                                 (True, k.KPIInputError, "True"),
                                                 (math.inf, k.KPIDomainError, "inf")])
    def test_mrr_that_is_not_a_number(self, name, f, bad, exc, shown):
        _raises(exc, lambda: f([HEADER, ["A", "2026-01", 10], ["A", "2026-02", bad]]),
                name, "argument 'table'", "row 3, column 3", shown)

    def test_error_value_propagates(self, name, f):
        e = _raises(k.KPIErrorValue, lambda: f([["A", "2026-01", "#N/A"]]), name)
        assert e.excel_error == "#N/A"
        e = _raises(k.KPIErrorValue, lambda: f([["#REF!", "2026-01", 1]]), name)
        assert e.excel_error == "#REF!"

    def test_wrong_number_of_columns(self, name, f):
        _raises(k.KPIInputError, lambda: f([["A", "2026-01"], ["B", "2026-02"]]), name, "3 columns", "got 2")

    @pytest.mark.parametrize("empty", [[], [[None, None, None]], [HEADER], None])
    def test_no_rows_is_undefined(self, name, f, empty):
        e = _raises(k.KPIUndefinedError, lambda: f(empty), name, "argument 'table'")
        assert e.excel_error == "#DIV/0!"

    def test_blank_month_in_a_dataframe(self, name, f):
        frame = pd.DataFrame({"c": ["A", "B"], "m": pd.to_datetime(["2026-01-01", None]), "v": [1.0, 2.0]})
        _raises(k.KPIInputError, lambda: f(frame), name, "row 2, column 2", "blank")


class TestCohortOptionErrors:
    def test_unknown_basis(self):
        e = _raises(k.KPIInputError, lambda: k.cohort_retention(as_form(HAND_ROWS, "iso-day"), "customers"),
                    "KPI_COHORT_RETENTION", "argument 'basis'", "'customers'", "'logo'", "'revenue'")
        assert e.excel_error == "#VALUE!"

    @pytest.mark.parametrize("bad", [0, -1, 2.5])
    def test_max_months_must_be_a_whole_number_at_least_1(self, bad):
        _raises(k.KPIDomainError, lambda: k.cohort_retention(as_form(HAND_ROWS, "iso-day"), "logo", bad),
                "KPI_COHORT_RETENTION", "argument 'max_months'", str(bad), "whole number")

    def test_max_months_text(self):
        _raises(k.KPIInputError, lambda: k.cohort_retention(as_form(HAND_ROWS, "iso-day"), "logo", "three"),
                "argument 'max_months'", "'three'")

    def test_nobody_ever_paying_is_undefined(self):
        _raises(k.KPIUndefinedError, lambda: k.cohort_retention([["A", "2026-01", 0], ["B", "2026-02", None]]),
                "KPI_COHORT_RETENTION", "no customer ever pays")


class TestOverflowIsNumError:
    """Finite inputs whose sums or ratios leave the range of a double are #NUM!, never inf."""

    def test_movements(self):
        e = _raises(k.KPIDomainError, lambda: k.mrr_movements([["a", "2026-01", 1], ["a", "2026-02", 1e308],
                                                                ["b", "2026-02", 1e308]]),
                    "KPI_MRR_MOVEMENTS", "argument 'table'", "2026-02", "too large")
        assert e.excel_error == "#NUM!"

    def test_revenue_cohorts(self):
        _raises(k.KPIDomainError, lambda: k.cohort_retention([["a", "2026-01", 5e-324], ["a", "2026-02", 1e6]],
                                                             "revenue"),
                "KPI_COHORT_RETENTION", "2026-01 cohort in month 1", "too large")
        # logo retention only counts customers: no overflow
        assert k.cohort_retention([["a", "2026-01", 5e-324], ["a", "2026-02", 1e6]])["month 1"].tolist() == [1.0]

    def test_schedule(self):
        _raises(k.KPIDomainError, lambda: k.mrr_schedule([["a", "2026-01-01", None, 1e308, 1],
                                                          ["a", "2026-01-01", None, 1e308, 1]]),
                "KPI_MRR_SCHEDULE", "customer 'a' in 2026-01", "too large")


class TestScheduleErrors:
    def test_end_before_start_names_the_row(self):
        subs = [SUB_HEADER, ["A", "2026-01-01", None, 10, 1], ["B", "2026-03-10", "2026-02-01", 10, 1]]
        e = _raises(k.KPIDomainError, lambda: k.mrr_schedule(subs), "KPI_MRR_SCHEDULE", "argument 'subscriptions'",
                    "row 3, column 3", "'2026-02-01'", "before the start date 2026-03-10")
        assert e.excel_error == "#NUM!"

    @pytest.mark.parametrize("bad, shown", [(0, "0"), (1.5, "1.5"), (-12, "-12")])
    def test_billing_months_must_be_a_positive_whole_number(self, bad, shown):
        subs = [SUB_HEADER, ["A", "2026-01-01", None, 10, 1], ["B", "2026-01-01", None, 10, bad]]
        e = _raises(k.KPIDomainError, lambda: k.mrr_schedule(subs), "KPI_MRR_SCHEDULE",
                    "argument 'subscriptions'", "row 3, column 5", f"{shown} must be a positive whole number")
        assert e.excel_error == "#NUM!"

    def test_billing_months_as_text(self):
        _raises(k.KPIInputError, lambda: k.mrr_schedule([["A", "2026-01-01", None, 10, "annual"]]),
                "row 1, column 5", "'annual'", "billing months")

    def test_negative_amount(self):
        _raises(k.KPIDomainError, lambda: k.mrr_schedule([["A", "2026-01-01", None, -10, 1]]),
                "KPI_MRR_SCHEDULE", "row 1, column 4", "-10", "negative")

    @pytest.mark.parametrize("bad, exc, shown", [("abc", k.KPIInputError, "'abc'"), (True, k.KPIInputError, "True"),
                                                 (math.inf, k.KPIDomainError, "inf")])
    def test_amount_that_is_not_a_number(self, bad, exc, shown):
        _raises(exc, lambda: k.mrr_schedule([["A", "2026-01-01", None, bad, 1]]), "row 1, column 4", shown)

    @pytest.mark.parametrize("row, where", [([None, "2026-01-01", None, 10, 1], "row 1, column 1"),
                                            (["A", None, None, 10, 1], "row 1, column 2"),
                                            (["A", "2026-01-01", None, None, 1], "row 1, column 4"),
                                            (["A", "2026-01-01", None, 10, None], "row 1, column 5")])
    def test_blank_required_cells(self, row, where):
        _raises(k.KPIInputError, lambda: k.mrr_schedule([row]), "KPI_MRR_SCHEDULE", where, "blank")

    def test_bad_start_date_text(self):
        _raises(k.KPIInputError, lambda: k.mrr_schedule([SUB_HEADER, ["A", "next week", None, 10, 1]]),
                "row 2, column 2", "'next week'", "not a date")

    def test_bad_through(self):
        subs = [["A", "2026-01-01", None, 10, 1]]
        _raises(k.KPIInputError, lambda: k.mrr_schedule(subs, "soon"), "argument 'through'", "'soon'")
        _raises(k.KPIInputError, lambda: k.mrr_schedule(subs, ["2026-01", "2026-02"]), "argument 'through'",
                "single date")
        _raises(k.KPIInputError, lambda: k.mrr_schedule(subs, True), "argument 'through'", "boolean")

    def test_wrong_number_of_columns(self):
        _raises(k.KPIInputError, lambda: k.mrr_schedule([["A", "2026-01-01", None, 10]]), "KPI_MRR_SCHEDULE",
                "5 to 6 columns", "got 4")

    def test_error_value_propagates(self):
        e = _raises(k.KPIErrorValue, lambda: k.mrr_schedule([["A", "2026-01-01", "#N/A", 10, 1]]))
        assert e.excel_error == "#N/A"

    @pytest.mark.parametrize("empty", [[], [[None] * 5], [SUB_HEADER]])
    def test_no_rows_is_undefined(self, empty):
        _raises(k.KPIUndefinedError, lambda: k.mrr_schedule(empty), "KPI_MRR_SCHEDULE")


# ==========================================================================
# Inputs are not mutated; the benchmark's generators stay usable
# ==========================================================================
def test_inputs_are_left_unchanged():
    frame = as_form(HAND_ROWS, "frame-datetime")
    before = frame.copy()
    k.mrr_movements(frame)
    k.cohort_retention(frame, "revenue")
    pd.testing.assert_frame_equal(frame, before)
    subs = sub_frame([("A", D(2026, 1, 1), None, 100, 1), ("B", D(2026, 1, 15), D(2026, 3, 15), 1200, 12)])
    before = subs.copy()
    k.mrr_schedule(subs)
    pd.testing.assert_frame_equal(subs, before)


def test_benchmark_generators_build_valid_inputs():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_tables.py"
    spec = importlib.util.spec_from_file_location("bench_tables", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    as_nested, make_mrr_table, make_subscriptions = bench.as_nested, bench.make_mrr_table, bench.make_subscriptions

    table = make_mrr_table(200, 6, seed=1)
    assert len(table) == 1200
    got = k.mrr_movements(table)
    assert len(got) == 6
    pd.testing.assert_frame_equal(got, k.mrr_movements(as_nested(table, "serial")))
    pd.testing.assert_frame_equal(got, k.mrr_movements(make_mrr_table(200, 6, seed=1, customer_ids="text",
                                                                      months="iso")))
    subs = make_subscriptions(300, 12, seed=1)
    assert len(k.mrr_schedule(subs)) > 0
