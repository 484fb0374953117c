"""kpi_functions._coerce: the fast paths answer exactly as the general paths do.

Every reader with a fast path (numeric ndarrays and Series, typed DataFrame
columns) gives the same outcome as its general path — the same float64
values, or the same exception class with the same message — on arbitrary
inputs (hypothesis), and the KPIs built on them agree on numeric arrays and
on the equivalent Excel-style lists.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kpi_functions as k
from kpi_functions import _coerce as c
from kpi_functions._coerce import numeric as N
from kpi_functions._coerce import tables as T

FN, ARG = "KPI_TEST", "x"


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", fn(*args, **kwargs))
    except ValueError as err:  # the typed KPI errors are ValueErrors
        return (type(err).__name__, str(err))


def _same(got, want):
    """Two outcomes are the same: equal float64 arrays (NaN equal to NaN) or the same error and message."""
    assert got[0] == want[0], (got, want)
    if got[0] != "ok":
        assert got[1] == want[1]
        return
    a, b = got[1], want[1]
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(("ok", x), ("ok", y))
        return
    assert a.dtype == np.float64 and b.dtype == np.float64, (a.dtype, b.dtype)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# Arbitrary inputs: every kind of cell, 1-D and 2-D, lists and arrays
# --------------------------------------------------------------------------
_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 4.0, 5.0, 9.0, 10.0, 10.5, 255.0, 256.0, -1.0, 1e308, float("nan")]),
)
_CELLS = st.one_of(
    _FLOATS,
    st.integers(min_value=-300, max_value=300),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.sampled_from(["", "5", "abc", "2026-03", "#N/A", "#VALUE!", "#DIV/0!", "TRUE"]),
    st.text(max_size=4),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.just(pd.NA),
    st.just(np.datetime64("2026-01-31")),
)


@st.composite
def _ranges(draw):
    """A 1-D or 2-D range as a list, an ndarray of any dtype numpy picks, or a Series."""
    numeric_only = draw(st.booleans())
    cell = st.one_of(_FLOATS, st.integers(min_value=0, max_value=12)) if numeric_only else _CELLS
    if draw(st.booleans()):
        values = draw(st.lists(cell, max_size=8))
        shape = "1d"
    else:
        ncols = draw(st.integers(min_value=1, max_value=3))
        values = draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), max_size=5))
        shape = "2d"
    form = draw(st.sampled_from(["list", "array", "float array", "int array", "series"]))
    if form == "list":
        return values
    try:
        if form == "float array":
            arr = np.array(values, dtype=float)
        elif form == "int array":
            arr = np.array(values, dtype=np.int64)
        else:
            arr = np.array(values) if numeric_only else np.array(values, dtype=object)
    except (TypeError, ValueError, OverflowError):
        return values
    if form == "series":
        return pd.Series(arr.reshape(-1)) if shape == "1d" or arr.ndim == 2 else values
    return arr


@st.composite
def _numeric_arrays(draw, n=None):
    """Numeric arrays and Series, mostly valid (so the fast path answers), sometimes not."""
    n = draw(st.integers(min_value=0, max_value=8)) if n is None else n
    clean = st.integers(min_value=0, max_value=12).map(float)
    cell = clean if draw(st.booleans()) else st.one_of(clean, _FLOATS)
    values = draw(st.lists(cell, min_size=n, max_size=n))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.uint8]))
    try:
        with np.errstate(all="ignore"):
            arr = np.array(values).astype(dtype)
    except (TypeError, ValueError, OverflowError):
        arr = np.array(values)
    form = draw(st.sampled_from(["1d", "column", "series"]))
    return arr if form == "1d" else arr.reshape(-1, 1) if form == "column" else pd.Series(arr)


_BOUNDS = st.sampled_from([(None, None), (0.0, None), (0.0, 10.0), (1.0, 5.0), (None, 0.0)])
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.one_of(_ranges(), _numeric_arrays()), _BOUNDS, st.booleans())
def test_numbers_fast_path_equals_the_general_path(x, bounds, integer):
    lo, hi = bounds
    want = _outcome(N._numbers_general, x, FN, ARG, min=lo, max=hi, integer=integer)
    _same(_outcome(c.numbers, x, FN, ARG, min=lo, max=hi, integer=integer), want)


@PROPERTY
@given(st.one_of(_ranges(), _numeric_arrays()), _BOUNDS, st.booleans(), st.sampled_from([None, 0.0]))
def test_aligned_numbers_fast_path_equals_the_general_path(x, bounds, integer, blank):
    lo, hi = bounds
    want = _outcome(N._aligned_general, x, FN, ARG, min=lo, max=hi, integer=integer, blank=blank)
    _same(_outcome(c.aligned_numbers, x, FN, ARG, min=lo, max=hi, integer=integer, blank=blank), want)


@PROPERTY
@given(st.one_of(_ranges(), _numeric_arrays()), st.sampled_from([(0, 10), (1, 5), (0, 255), (3, 3), (0, 300)]))
def test_whole_numbers_fast_path_equals_the_general_path(x, scale):
    lo, hi = scale
    want = _outcome(N._numbers_general, x, FN, ARG, min=lo, max=hi, integer=True)
    _same(_outcome(c.whole_numbers, x, FN, ARG, min=lo, max=hi), want)


@st.composite
def _pairs(draw):
    """(start, end): two numeric arrays of one length, a two-column array, or arbitrary ranges."""
    kind = draw(st.sampled_from(["arrays", "two columns", "any"]))
    if kind == "any":
        return draw(_ranges()), draw(st.one_of(st.none(), _ranges()))
    n = draw(st.integers(min_value=0, max_value=6))
    s, e = draw(_numeric_arrays(n)), draw(_numeric_arrays(n))
    if kind == "arrays":
        return s, e
    return np.column_stack([np.asarray(s).reshape(-1), np.asarray(e).reshape(-1)]), None


@PROPERTY
@given(_pairs(), st.sampled_from([0.0, None]))
def test_pair_fast_path_equals_the_general_path(pair, lo):
    start, end = pair
    want = _outcome(N._pair_general, start, end, FN, min=lo)
    _same(_outcome(c.pair, start, end, FN, min=lo), want)


def test_whole_numbers_are_float64_on_every_path():
    for x in (np.array([9, 10, 3]), np.array([9.0, 10.0, 3.0]), pd.Series([9, 10, 3]), [9, 10, 3], [[9], [10]]):
        got = c.whole_numbers(x, FN, ARG, min=0, max=10)
        assert got.dtype == np.float64, type(x)
    np.testing.assert_array_equal(c.whole_numbers(np.array([9, 10, 3], dtype=np.uint8), FN, ARG, min=0, max=10),
                                  [9.0, 10.0, 3.0])


# --------------------------------------------------------------------------
# Tables: typed DataFrame columns (fast) and object columns (general)
# --------------------------------------------------------------------------
COLS = [T.Column("customer", "id"), T.Column("month", "date"), T.Column("mrr", "number", blank="zero", min=0)]


def _table_outcome(fn, x):
    try:
        t = fn(x, FN, ARG, COLS)
    except ValueError as err:
        return (type(err).__name__, str(err))
    return ("ok", {name: t[name] for name in ("customer", "month", "mrr")}, t.rows.tolist(), t.header)


@st.composite
def _frames(draw):
    n = draw(st.integers(min_value=0, max_value=6))
    ids = draw(st.lists(st.one_of(st.sampled_from(["A", "B", "", "#N/A"]), st.none()), min_size=n, max_size=n))
    int_ids = draw(st.booleans())
    months = draw(st.lists(st.one_of(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
                                     st.none()), min_size=n, max_size=n))
    mrr = draw(st.lists(_FLOATS, min_size=n, max_size=n))
    customer = (pd.Series(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64) if int_ids
                else pd.Series(ids, dtype="string"))
    return pd.DataFrame({"customer": customer, "month": pd.to_datetime(pd.Series(months, dtype=object)),
                         "mrr": pd.Series(mrr, dtype=float)})


@PROPERTY
@given(_frames())
def test_table_fast_path_equals_the_general_path(df):
    got, want = _table_outcome(c.table, df), _table_outcome(T._table_general, df)
    assert got[0] == want[0], (got, want)
    if got[0] != "ok":
        assert got[1] == want[1]
        return
    assert got[2:] == want[2:]
    assert list(got[1]["customer"]) == list(want[1]["customer"])
    np.testing.assert_array_equal(got[1]["month"], want[1]["month"])
    _same(("ok", got[1]["mrr"]), ("ok", want[1]["mrr"]))


# --------------------------------------------------------------------------
# The KPIs on the fast paths (numeric arrays and Series) answer exactly as
# on Excel-style lists, errors included.
# --------------------------------------------------------------------------
def _as_list(a):
    return [None if (isinstance(v, float) and math.isnan(v)) else v for v in np.asarray(a).tolist()]


SCORE_CASES = {
    "valid": [0.0, 10.0, 9.0, 6.0, 7.0, 3.0],
    "blank": [9.0, float("nan"), 3.0],
    "infinite": [9.0, float("inf")],
    "negative": [9.0, -1.0],
    "above the scale": [9.0, 11.0],
    "fractional": [9.0, 7.5],
    "beyond uint8": [9.0, 256.0],
    "negative zero": [9.0, -0.0],
}


@pytest.mark.parametrize("case", list(SCORE_CASES))
@pytest.mark.parametrize("fn", [k.nps, k.csat, k.nps_breakdown, k.nps_moe])
def test_fast_path_for_scores_matches_the_general_path(fn, case):
    values = SCORE_CASES[case]
    if fn is k.csat:
        values = [min(max(v, 1.0), 5.0) if case == "valid" else v for v in values]
    flat, column = _as_list(values), [[v] for v in _as_list(values)]
    for fast, same_as in ((np.array(values), flat), (pd.Series(values), flat),
                          (np.array(values).reshape(-1, 1), column)):
        general, got = _outcome(fn, same_as), _outcome(fn, fast)
        if general[0] == "ok" and isinstance(general[1], pd.DataFrame):
            assert got[0] == "ok"
            pd.testing.assert_frame_equal(got[1], general[1])
        else:
            assert got == general, (case, type(fast))


PAIR_CASES = {
    "valid": ([100.0, 50.0, 0.0, 80.0, 20.0], [0.0, 60.0, 40.0, 80.0, 10.0]),
    "blank start": ([100.0, float("nan"), 30.0], [90.0, 20.0, 0.0]),
    "negative end": ([100.0, 50.0], [90.0, -5.0]),
    "infinite": ([100.0, float("inf")], [90.0, 20.0]),
    "misaligned": ([100.0, 50.0, 10.0], [90.0, 20.0]),
    "nobody paying": ([0.0, 0.0], [10.0, 0.0]),
}
PAIR_KPIS = [k.churn_revenue, k.nrr, k.grr, k.expansion_rate, k.churn_customers, k.upsell_rate, k.quick_ratio,
             k.new_customers, k.net_upsell]


@pytest.mark.parametrize("case", list(PAIR_CASES))
@pytest.mark.parametrize("fn", PAIR_KPIS, ids=lambda f: f.__name__)
def test_fast_path_for_start_end_pairs_matches_the_general_path(fn, case):
    s, e = PAIR_CASES[case]
    general = _outcome(fn, _as_list(s), _as_list(e))
    assert _outcome(fn, np.array(s), np.array(e)) == general
    assert _outcome(fn, pd.Series(s), pd.Series(e)) == general
    if len(s) == len(e):  # one two-column range
        assert _outcome(fn, np.column_stack([s, e])) == _outcome(fn, [list(r) for r in zip(_as_list(s), _as_list(e))])


def _start_end(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer MRR at the start and end of a month: new, churned, flat, expanded, contracted."""
    rng = np.random.default_rng(seed)
    start = rng.choice([29.0, 49.0, 99.0, 299.0, 999.0], n)
    u = rng.random(n)
    end = np.where(u < 0.05, 0.0, np.where(u < 0.15, start * 1.5, np.where(u < 0.20, start * 0.7, start)))
    return np.where(rng.random(n) < 0.08, 0.0, start), end


def test_fast_path_on_large_inputs_agrees_with_lists_and_leaves_inputs_alone():
    start, end = _start_end(200_000, seed=5)
    scores = np.random.default_rng(6).integers(0, 11, 200_000).astype(float)
    before = (start.copy(), end.copy(), scores.copy())
    for fn in PAIR_KPIS:
        assert fn(start, end) == pytest.approx(fn(start.tolist(), end.tolist()), rel=1e-12)
    assert k.churn_revenue(start, end, True) == pytest.approx(k.churn_revenue(start.tolist(), end.tolist(), True))
    assert k.nps(scores) == k.nps(scores.tolist())
    assert k.csat(np.clip(scores, 1, 5), 4.5) == k.csat(np.clip(scores, 1, 5).tolist(), 4.5)
    np.testing.assert_array_equal(start, before[0])
    np.testing.assert_array_equal(end, before[1])
    np.testing.assert_array_equal(scores, before[2])
    assert start.flags.writeable  # the caller's array is untouched, flags included


def _mrr_table(n_customers: int, n_months: int, seed: int, customer_ids: str = "text") -> pd.DataFrame:
    """A long customer, month, MRR table (one row per customer and month, some at 0), shuffled."""
    rng = np.random.default_rng(seed)
    cust = np.repeat(np.arange(n_customers), n_months)
    month = np.tile(np.arange(n_months), n_customers)
    mrr = rng.choice([0.0, 0.0, 29.0, 49.0, 99.0, 299.0], cust.size)
    days = rng.integers(0, 28, cust.size)
    dates = (np.datetime64("2024-01", "M") + month).astype("datetime64[D]") + days
    ids = pd.Series([f"C{i:06d}" for i in cust], dtype=object) if customer_ids == "text" else pd.Series(cust)
    frame = pd.DataFrame({"customer": ids, "month": dates.astype("datetime64[ns]"), "MRR": mrr})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _frame_cases() -> dict[str, pd.DataFrame]:
    base = _mrr_table(40, 5, seed=7)
    base["customer"] = base["customer"].astype("str")
    cases = {"valid": base}
    blank_mrr = base.copy()
    blank_mrr.loc[3, "MRR"] = np.nan
    cases["blank MRR is 0"] = blank_mrr
    neg = base.copy()
    neg.loc[5, "MRR"] = -1.0
    cases["negative MRR"] = neg
    inf = base.copy()
    inf.loc[6, "MRR"] = np.inf
    cases["infinite MRR"] = inf
    blank_id = base.copy()
    blank_id.loc[7, "customer"] = None
    cases["blank customer"] = blank_id
    empty_id = base.copy()
    empty_id.loc[8, "customer"] = ""
    cases["empty-text customer"] = empty_id
    err = base.copy()
    err.loc[9, "customer"] = "#N/A"
    cases["error value as customer"] = err
    nat = base.copy()
    nat.loc[10, "month"] = pd.NaT
    cases["blank month"] = nat
    cases["integer ids"] = _mrr_table(40, 5, seed=8, customer_ids="int")
    return cases


@pytest.mark.parametrize("case", list(_frame_cases()))
@pytest.mark.parametrize("fn", [k.mrr_movements, k.cohort_retention], ids=lambda f: f.__name__)
def test_fast_table_path_matches_the_general_path(fn, case):
    fast = _frame_cases()[case]
    general = fast.astype(object).to_numpy().tolist()  # nested lists take the general path
    want, got = _outcome(fn, general), _outcome(fn, fast)
    assert got[0] == want[0]
    if want[0] == "ok":
        pd.testing.assert_frame_equal(got[1], want[1])
    else:
        assert got[1] == want[1]


def _subscriptions(n: int, seed: int) -> pd.DataFrame:
    """Subscriptions: customer, start, end (NaT = open), amount, billing months."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01") + rng.integers(0, 400, n)
    end = (start + rng.integers(20, 400, n)).astype("datetime64[ns]")
    end[rng.random(n) < 0.55] = np.datetime64("NaT")
    billing = rng.choice([1.0, 3.0, 12.0], n, p=[0.6, 0.1, 0.3])
    return pd.DataFrame({
        "customer": pd.Series([f"C{i:05d}" for i in np.sort(rng.integers(0, int(n * 0.8), n))], dtype=object),
        "start": start.astype("datetime64[ns]"),
        "end": end,
        "amount": rng.choice([29.0, 49.0, 99.0], n) * billing,
        "billing months": billing,
    })


def test_fast_table_path_for_subscriptions_matches_the_general_path():
    subs = _subscriptions(300, seed=9)
    fast = subs.copy()
    fast["customer"] = fast["customer"].astype("str")
    general = subs.astype(object).to_numpy().tolist()  # nested lists take the general path
    pd.testing.assert_frame_equal(k.mrr_schedule(fast), k.mrr_schedule(general))


# --------------------------------------------------------------------------
# The package keeps its old import paths
# --------------------------------------------------------------------------
def test_every_name_the_library_uses_is_importable_from_the_package():
    for name in c.__all__:
        assert getattr(c, name) is not None
    from kpi_functions._coerce import Column, parse_iso  # noqa: F401  (workbook_templates, mrr_tables)


def test_one_iso_rule_for_date_arguments_and_headers():
    texts = ["2026-03", "2026-03-15", "2026-03-15T09:30", "2026-03-15 09:30:05.5", "2026", "03/2026", "9999-12-31"]
    _, bad = c.parse_iso(pd.Series(texts, dtype=object))
    assert bad.tolist() == [False, False, False, False, True, True, False]
    for t, b in zip(texts, bad):
        if b:
            with pytest.raises(k.KPIInputError):
                c.dates([t], FN, ARG)
        else:
            assert not np.isnat(c.dates([t], FN, ARG)[0])
