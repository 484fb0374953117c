"""The fast table path for every id and month type answers exactly as the general path.

A DataFrame whose customer ids are int64, object strings, pandas ``string``
(python and pyarrow storage, and pandas' default ``str``) or categorical, and
whose months are datetime64, ISO text or Excel serial numbers, is read column
by column in its own type (``_coerce.fastcols``). The reference is the same
data handed over as plain nested lists (Excel's shape), which only the general
path reads: the results must be equal, and a bad cell must give the same error
class and message, naming the same cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions._coerce import tables as T
from kpi_functions.mrr_tables import _MRR_COLUMNS, _SUBSCRIPTION_COLUMNS

ID_TYPES = ["int64", "object", "string[python]", "string[pyarrow]", "str", "category", "category of ints"]
MONTH_TYPES = ["datetime64", "ISO text", "ISO text as string", "ISO months (YYYY-MM)", "serial", "integer serial",
               "category of ISO text"]
FUNCTIONS = [k.mrr_movements, k.cohort_retention]

_EPOCH = np.datetime64("1899-12-30", "D")


def _ids(raw: np.ndarray, kind: str) -> pd.Series:
    """Customer numbers as the column type ``kind`` (text ids are "C0007" and so on)."""
    if kind in ("int64", "category of ints"):
        s = pd.Series(raw.astype(np.int64) * 7 + 3)
        return s.astype("category") if kind == "category of ints" else s
    text = pd.Series([f"C{v:04d}" for v in raw], dtype=object)
    if kind == "object":
        return text
    return text.astype(kind)


def _months(days: np.ndarray, kind: str) -> pd.Series:
    """Dates (datetime64[D]) as the column type ``kind``."""
    d = pd.Series(days.astype("datetime64[ns]"))
    if kind == "datetime64":
        return d
    if kind.startswith("ISO") or kind == "category of ISO text":
        fmt = "%Y-%m" if "YYYY-MM" in kind else "%Y-%m-%d"
        text = d.dt.strftime(fmt).astype(object)
        if kind == "ISO text as string":
            return text.astype("string")
        return text.astype("category") if kind.startswith("category") else text
    serial = (days - _EPOCH).astype(np.int64)
    return pd.Series(serial if kind == "integer serial" else serial.astype(float))


def _frame(ids: str, months: str, n_customers: int = 30, n_months: int = 6, seed: int = 3) -> pd.DataFrame:
    """A shuffled long customer, month, MRR table (some MRR 0, any day of the month)."""
    rng = np.random.default_rng(seed)
    cust = np.repeat(np.arange(n_customers), n_months)
    month = np.tile(np.arange(n_months), n_customers)
    keep = rng.random(cust.size) < 0.8  # gaps: reactivations
    cust, month = cust[keep], month[keep]
    order = rng.permutation(cust.size)
    cust, month = cust[order], month[order]
    days = (np.datetime64("2025-11", "M") + month).astype("datetime64[D]") + rng.integers(0, 28, cust.size)
    mrr = rng.choice([0.0, 29.0, 49.0, 99.5], cust.size)
    return pd.DataFrame({"customer": _ids(cust, ids), "month": _months(days, months), "MRR": mrr})


def _nested(frame: pd.DataFrame) -> list[list]:
    """The same table as Excel hands it over: a list of rows of plain values."""
    return frame.astype(object).to_numpy().tolist()


def _outcome(fn, x, *args):
    try:
        return "ok", fn(x, *args)
    except ValueError as err:  # the typed KPI errors are ValueErrors
        return type(err).__name__, str(err)


def _assert_same(fn, frame: pd.DataFrame, *args) -> tuple:
    got, want = _outcome(fn, frame, *args), _outcome(fn, _nested(frame), *args)
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        pd.testing.assert_frame_equal(got[1], want[1])
    else:
        assert got[1] == want[1]
    return got


@pytest.mark.parametrize("months", MONTH_TYPES)
@pytest.mark.parametrize("ids", ID_TYPES)
def test_every_id_and_month_type_takes_the_fast_path_and_matches_the_lists(ids, months):
    frame = _frame(ids, months)
    assert T._fast_table(frame, _MRR_COLUMNS) is not None  # the fast path is the one tested
    for fn in FUNCTIONS:
        assert _assert_same(fn, frame)[0] == "ok"
    assert _assert_same(k.mrr_movements, frame, "quarter")[0] == "ok"
    assert _assert_same(k.cohort_retention, frame, "revenue")[0] == "ok"


def test_the_matrix_agrees_by_hand_on_one_small_table():
    # A pays 10 in Jan and 15 in Feb; B pays 5 in Feb only: Feb has 5 new, 5 expansion, ending 20
    for ids in ID_TYPES:
        for months in MONTH_TYPES:
            raw = np.array([0, 0, 1])
            days = np.array(["2026-01-15", "2026-02-03", "2026-02-28"], dtype="datetime64[D]")
            frame = pd.DataFrame({"c": _ids(raw, ids), "m": _months(days, months), "v": [10.0, 15.0, 5.0]})
            m = k.mrr_movements(frame)
            assert m["new"].tolist() == [10.0, 5.0], (ids, months)
            assert m["expansion"].tolist() == [0.0, 5.0]
            assert m["ending MRR"].tolist() == [10.0, 20.0]
            assert m["month"].tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")]


def _with(frame: pd.DataFrame, col: int, row: int, value) -> pd.DataFrame:
    """``frame`` with one cell replaced, the column keeping its type where it can hold the value."""
    out = frame.copy()
    s = out.iloc[:, col].copy()
    name = out.columns[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        values = s.astype(object)
        values.iloc[row] = value
        new = [] if value is None or value in set(s.cat.categories) else [value]
        out[name] = pd.Categorical(values, categories=[*s.cat.categories, *new])
        return out
    text = isinstance(s.dtype, pd.StringDtype)
    number = isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf"
    fits = (s.dtype == object or (text and (value is None or isinstance(value, str)))
            or (s.dtype.kind == "M" and value is None)
            or (number and (value is None or (isinstance(value, float)))))
    if not fits:
        s = s.astype(object)
    elif number and s.dtype.kind != "f" and not isinstance(value, int):
        s = s.astype(float)
    s.iloc[row] = value
    out[name] = s
    return out


BAD_IDS = {"blank": None, "empty text": "", "#N/A": "#N/A", "a boolean": True}


@pytest.mark.parametrize("bad", list(BAD_IDS))
@pytest.mark.parametrize("ids", ID_TYPES)
def test_a_bad_customer_cell_gives_the_general_paths_error(ids, bad):
    frame = _frame(ids, "datetime64")
    value = BAD_IDS[bad]
    if value is True and (ids.startswith("string") or ids == "str"):
        pytest.skip("a text column cannot hold a boolean")
    bad_frame = _with(frame, 0, 11, value)
    for fn in FUNCTIONS:
        got = _assert_same(fn, bad_frame)
        assert got[0] != "ok" and "row 12, column 1" in got[1], got


BAD_MONTHS = {"blank": None, "empty text": "", "#N/A": "#N/A", "not a date": "March", "no such day": "2026-02-30",
              "a bare year": "2026", "serial 0": 0.0, "negative serial": -5.0, "serial past 9999": 3e6,
              "a boolean": True}


@pytest.mark.parametrize("bad", list(BAD_MONTHS))
@pytest.mark.parametrize("months", MONTH_TYPES)
def test_a_bad_month_cell_gives_the_general_paths_error(months, bad):
    frame = _frame("object", months)
    bad_frame = _with(frame, 1, 7, BAD_MONTHS[bad])
    for fn in FUNCTIONS:
        got = _assert_same(fn, bad_frame)
        assert got[0] != "ok" and "row 8, column 2" in got[1], got


@pytest.mark.parametrize("months", ["serial", "ISO text"])
def test_a_serial_with_a_time_of_day_or_a_time_in_text_counts_for_its_month_on_both_paths(months):
    frame = _frame("object", months)
    value = 46000.75 if months == "serial" else "2025-12-09T18:30"
    frame = _with(frame, 1, 4, value)
    assert T._fast_table(frame, _MRR_COLUMNS) is not None
    for fn in FUNCTIONS:
        assert _assert_same(fn, frame)[0] == "ok"


def test_whole_number_ids_in_an_object_column_match_and_a_boolean_among_them_is_named():
    frame = _frame("int64", "datetime64")
    frame["customer"] = frame["customer"].astype(object)
    assert T._fast_table(frame, _MRR_COLUMNS) is not None
    _assert_same(k.mrr_movements, frame)
    frame.loc[5, "customer"] = True  # True == 1 when hashed: it must not pass as customer 1
    got = _assert_same(k.mrr_movements, frame)
    assert got[0] == "KPIInputError" and "boolean" in got[1] and "row 6, column 1" in got[1]


def test_unused_categories_are_no_customers_and_blank_categories_do_not_matter():
    frame = _frame("category", "datetime64")
    cats = ["", "#N/A", "Z-unused", *frame["customer"].cat.categories]
    frame["customer"] = frame["customer"].cat.set_categories(cats)  # categories reordered, some never used
    assert T._fast_table(frame, _MRR_COLUMNS) is not None
    for fn in FUNCTIONS:
        _assert_same(fn, frame)
    # every customer who ever paid is new exactly once: the unused categories add nobody
    m = k.mrr_movements(frame)
    paying = frame.groupby("customer", observed=True)["MRR"].sum()
    assert int(m["new customers"].sum()) == int((paying > 0).sum())
    # and the schedule lists customers in the order of their first row, not of the categories
    subs = _subscriptions("category", "datetime64")
    subs["customer"] = subs["customer"].cat.set_categories(["Z-unused", *subs["customer"].cat.categories[::-1]])
    assert T._fast_table(subs, _SUBSCRIPTION_COLUMNS) is not None
    _assert_same(k.mrr_schedule, subs)


def test_a_categorical_with_a_missing_value_is_named_as_a_blank_customer():
    frame = _frame("category", "ISO text")
    frame.loc[9, "customer"] = np.nan
    assert frame["customer"].cat.codes[9] == -1
    got = _assert_same(k.mrr_movements, frame)
    assert got[0] == "KPIInputError" and "blank" in got[1] and "row 10, column 1" in got[1]


def _subscriptions(ids: str, dates: str, n: int = 60, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01") + rng.integers(0, 300, n)
    end = start + rng.integers(20, 300, n)
    open_ = rng.random(n) < 0.4
    billing = rng.choice([1.0, 3.0, 12.0], n)
    cust = rng.integers(0, n // 2, n)  # customers with several subscriptions, in no order
    end_col = _months(end, dates)
    if isinstance(end_col.dtype, pd.CategoricalDtype):
        end_col = end_col.astype(object).where(~open_, None).astype("category")
    elif end_col.dtype.kind == "M":
        end_col[open_] = pd.NaT
    elif end_col.dtype.kind in "iuf":
        end_col = end_col.astype(float).where(~open_, np.nan)
    else:
        end_col = end_col.astype(object).where(~open_, None).astype(end_col.dtype)
    return pd.DataFrame({"customer": _ids(cust, ids), "start": _months(start, dates), "end": end_col,
                         "amount": rng.choice([29.0, 49.0, 99.0], n) * billing, "billing months": billing})


@pytest.mark.parametrize("dates", ["datetime64", "ISO text", "ISO text as string", "serial", "category of ISO text"])
@pytest.mark.parametrize("ids", ID_TYPES)
def test_the_schedule_takes_the_fast_path_for_every_type_and_matches_the_lists(ids, dates):
    subs = _subscriptions(ids, dates)
    assert T._fast_table(subs, _SUBSCRIPTION_COLUMNS) is not None
    got = _assert_same(k.mrr_schedule, subs)
    assert got[0] == "ok" and len(got[1]) > 0
    # customers in the order of their first subscription row, as documented
    firsts = pd.unique(subs["customer"].astype(object))
    shown = pd.unique(got[1]["customer"])
    assert list(shown) == [v for v in firsts if v in set(shown)]


def test_a_blank_start_in_text_dates_is_named_by_the_general_path():
    subs = _subscriptions("object", "ISO text")
    subs.loc[3, "start"] = None
    got = _assert_same(k.mrr_schedule, subs)
    assert got[0] == "KPIInputError" and "row 4, column 2" in got[1]
