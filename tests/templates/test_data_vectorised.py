"""The column-wide checks of the data reader against the per-cell definitions they replaced.

Each reference below is the loop the reader ran before (kept here verbatim in what it computes): the texts
parsed cell by cell, blanks found cell by cell, every cell converted to a Python object for the messages,
every date text parsed (not each distinct one once), the keys checked with three hash passes. On adversarial
columns (mixed types, categorical and pyarrow string columns, white space of every kind, errors, numbers in
id columns, NaN/inf, dates out of range, keys differing in case) the values, the bad rows and the issue
messages must be the same.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_functions import EXCEL_ERRORS, parse_iso
from workbook_templates import data, data_checks
from workbook_templates.data import load_dataset
from workbook_templates.data_errors import show as _show
from workbook_templates.schema import DATASETS, ColumnSchema


# ------------------------------------------------------------------ the per-cell definitions
def old_blank_mask(s: pd.Series, stripped: pd.Series | None = None) -> np.ndarray:
    if stripped is not None:
        return (stripped == "").to_numpy(dtype=bool)
    m = np.array(pd.isna(s), dtype=bool)
    if s.dtype == object and len(s):
        if data._all_str(s):
            return (s.str.strip() == "").to_numpy(dtype=bool)
        m |= np.array([isinstance(x, str) and x.strip() == "" for x in s.to_numpy(dtype=object)], dtype=bool)
    return m


def old_parse_texts(s, col, file, blank, flag, stripped=None):
    values = s.to_numpy(dtype=object)
    out = np.empty(len(s), dtype=object)
    out[:] = None
    problems: dict[int, str] = {}
    todo = np.flatnonzero(~blank)
    if stripped is not None:
        t = stripped.iloc[todo] if col.type == "id" else s.iloc[todo]
        long_ = (t.str.len() > data.MAX_TEXT).to_numpy()
        err = t.isin(list(EXCEL_ERRORS)).to_numpy() if col.type == "id" else np.zeros(len(t), dtype=bool)
        ok = ~(long_ | err)
        out[todo[ok]] = t.to_numpy(dtype=object)[ok]
        todo = todo[~ok]
        values = np.asarray(np.where(blank, None, s.to_numpy(dtype=object)))
        if col.type == "id":
            values[todo] = [v.strip() for v in values[todo]]
    needed = "an identifier" if col.type == "id" else "text"
    for i in todo.tolist():
        v = values[i]
        if isinstance(v, str):
            text = v if col.type == "text" else v.strip()
            if col.type == "id" and text in EXCEL_ERRORS:
                problems[i] = f"holds the error {text}"
                continue
            if len(text) > data.MAX_TEXT:
                problems[i] = f"has {len(text)} characters; a cell holds at most {data.MAX_TEXT}"
                continue
            out[i] = text
        elif isinstance(v, (bool, np.bool_)):
            problems[i] = f"{v!r} is a boolean; {needed} is needed"
        elif isinstance(v, (int, np.integer)) or (
                isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer()):
            out[i] = str(int(v))
        elif col.type == "text" and isinstance(v, (float, np.floating)) and math.isfinite(v):
            out[i] = repr(float(v))
        else:
            problems[i] = f"{_show(v)} is not {needed}"
    flag(problems, problems.__getitem__)
    if col.choices:
        choices = col.choices
        flag((i for i in np.flatnonzero(~blank).tolist() if out[i] is not None and out[i] not in choices),
             lambda i: f"{_show(out[i])} is not one of {', '.join(choices)}")
    return pd.Series(out, name=col.name, dtype=object)


def old_stripped(s: pd.Series) -> pd.Series:
    return s.str.strip()


def old_key_checks(k: pd.Series):
    dup = (k.notna() & k.duplicated(keep="first")).to_numpy()
    seen: dict = {}
    for i, v in enumerate(k.tolist()):  # the row each key first appears in
        if v is not None:
            seen.setdefault(v, i)
    first = np.array([seen[v] for v in k[dup].tolist()], dtype=np.int64)
    low = k.dropna().str.lower()
    clash = low.duplicated(keep=False) & ~k.dropna().duplicated(keep=False)
    return dup, first, np.asarray(low.index[clash.to_numpy()], dtype=np.int64)


@contextlib.contextmanager
def old_definitions():
    """The reader with the per-cell definitions (for the reference run)."""
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(data, "_blank_mask", old_blank_mask)
        mp.setattr(data, "_parse_texts", old_parse_texts)
        mp.setattr(data._checks, "cells", lambda s: s.to_numpy(dtype=object))
        mp.setattr(data._checks, "parse_iso_once", parse_iso)
        mp.setattr(data._checks, "key_checks", old_key_checks)
        mp.setattr(data._checks, "stripped", lambda v: pd.Series(v, dtype=object).str.strip().to_numpy(dtype=object))
        yield
    finally:
        mp.undo()


@pytest.fixture(autouse=True)
def short_cells(monkeypatch):
    monkeypatch.setattr(data, "MAX_TEXT", 6)  # texts too long for a cell without megabytes of test data
    monkeypatch.setattr(data_checks, "_SAMPLE", 4)  # repeated texts shared from 5 rows on, not 10,001


# ------------------------------------------------------------------ adversarial cells
_WS = ["", " ", "\t", "\xa0", "\u3000", "\u2007", "\u200b", "\ufeff", "\x1c", "\x85", " \n "]
_TEXTS = ["a", " A1 ", "a1", "A1", "S1", "s1", "İ", "i̇", "ß", "SS", "ss", "#N/A", " #REF! ", "#DIV/0!", "#name?",
          "x#y", "toolong!", "subscription", " subscription", "refund", "1", " 2 ", "+1.5", "1,5", "1.200,50",
          "nan", "NaN", "inf", "-Infinity", "1e400", "-0", "١٢", "0x10", "1_000",
          "2026-03-15", " 2026-03 ", "2026-03-15T10:00", "2026-03-15 10:30:05", "2600-01-01", "1899-12-31",
          "9999-12-31", "10000-01-01", "2026-02-30", "2026", "15.03.2026", "03/04/2026", "2026-03-15T10:00+01:00",
          "\x00", "a\x00b", "a\x00c", "2026-03-15\x00x"]  # NUL: pandas 2 hashed texts as C strings
_OTHER = [None, np.nan, pd.NA, pd.NaT, 1, 0, -3, 1.0, 2.5, -0.0, np.inf, -np.inf, 1e300, True, False, np.True_,
          np.int64(7), np.float64(4.0), np.float32(0.5), pd.Timestamp("2026-03-15"), pd.Timestamp("2026-03-15 09:30"),
          pd.Timestamp("2026-03-15", tz="Europe/Paris"), np.datetime64("2026-01-01"), np.str_("np text"),
          __import__("datetime").date(2026, 3, 1), b"bytes", [1], {"a": 1}]

_COLUMNS = [
    ColumnSchema("k", "id", ""), ColumnSchema("k", "id", "", required=False),
    ColumnSchema("t", "text", "", required=False), ColumnSchema("t", "text", "", choices=("subscription", "refund")),
    ColumnSchema("n", "number", "", min=0, max=1e6), ColumnSchema("n", "number", "", required=False),
    ColumnSchema("n", "integer", "", min=1, max=12),
    ColumnSchema("d", "date", ""), ColumnSchema("d", "datetime", "", required=False), ColumnSchema("d", "month", ""),
]


def _run(s: pd.Series, col: ColumnSchema, file: str):
    issues: list = []
    bad = np.zeros(len(s), dtype=bool)
    out = data._parse_column(s, col, file, np.arange(2, 2 + len(s)), issues, bad, dataset="x")
    return out, [(i.row, i.column, i.message) for i in issues], bad


def _same(s: pd.Series, col: ColumnSchema, file: str) -> None:
    try:
        new = _run(s.copy(), col, file)
    except (TypeError, ValueError) as err:  # the same refusal both ways
        with old_definitions(), pytest.raises(type(err)):
            _run(s.copy(), col, file)
        return
    with old_definitions():
        old = _run(s.copy(), col, file)
    pd.testing.assert_series_equal(new[0], old[0], check_exact=True)
    assert new[1] == old[1]
    assert np.array_equal(new[2], old[2])


def _as_dtype(values: list, kind: str) -> pd.Series:
    if kind == "object":
        return pd.Series(values, dtype=object)
    texts = [v if isinstance(v, str) else None for v in values]
    if kind == "category":
        return pd.Series(texts, dtype="category")
    if kind == "string":
        return pd.Series(texts, dtype="string")
    if kind == "arrow":
        pytest.importorskip("pyarrow")
        return pd.Series(texts, dtype="string[pyarrow]")
    if kind == "str":  # pandas 3's text dtype (what it reads a Parquet string column as); object before
        return pd.Series(texts, dtype=str)
    raise AssertionError(kind)


cell_lists = st.lists(st.sampled_from(_WS + _TEXTS + _OTHER) | st.text(max_size=8), max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=cell_lists, col=st.sampled_from(_COLUMNS), kind=st.sampled_from(["object", "category", "string",
                                                                              "arrow", "str"]),
       csv=st.booleans())
def test_a_column_parses_as_cell_by_cell(cells, col, kind, csv):
    s = _as_dtype(cells, kind)
    if csv:  # a CSV column: texts only
        s = pd.Series(["" if not isinstance(v, str) else v for v in cells], dtype=object)
    _same(s, col, "f.csv" if csv else "f.parquet")


@pytest.mark.parametrize("col", _COLUMNS, ids=lambda c: f"{c.type}-{c.required}-{bool(c.choices)}")
@pytest.mark.parametrize("kind", ["object", "category", "string", "arrow", "str"])
def test_every_adversarial_cell_at_once(col, kind):
    cells = [v for v in _WS + _TEXTS + _OTHER if not isinstance(v, (list, dict, bytes))]
    _same(_as_dtype(cells * 3, kind), col, "f.parquet")
    _same(pd.Series([v if isinstance(v, str) else "" for v in cells] * 3, dtype=object), col, "f.csv")


@pytest.mark.parametrize("values", [
    [1.5, np.nan, np.inf, -np.inf, -1.0, 2e6, 3.0, 12.5], [np.nan] * 4, list(range(2000)),
    [0.5] * 3000,  # more bad cells than are looked up one by one
])
@pytest.mark.parametrize("col", [c for c in _COLUMNS if c.type in ("number", "integer")], ids=str)
def test_a_number_column_keeps_its_messages(values, col):
    _same(pd.Series(values, dtype=float), col, "f.parquet")
    _same(pd.Series(values, dtype=float).astype("Float64"), col, "f.parquet")


@pytest.mark.parametrize("col", [c for c in _COLUMNS if c.type in ("date", "datetime", "month")], ids=str)
def test_a_timestamp_column_keeps_its_messages(col):
    ts = pd.Series(pd.to_datetime(["2026-03-15 10:00", None, "1899-01-01 00:00", "2026-03-01 00:00"]).as_unit("us"))
    for s in (ts, ts.dt.tz_localize("UTC"), pd.Series(np.array(["2600-01-01", "1800-05-05", "NaT"],
                                                                dtype="datetime64[s]"))):
        _same(s, col, "f.parquet")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "A", "b", "B", "ab", "Ab", "aB", "İ", "i̇", "ß", "SS", "ss", None, "x", "X",
                                 "Straße", "STRASSE", "", "\x00", "a\x00", "A\x00"]) | st.text(max_size=3), max_size=30))
def test_key_checks_are_those_of_three_hash_passes(keys):
    k = pd.Series(keys, dtype=object)
    new, old = data_checks.key_checks(k), old_key_checks(k)
    for a, b in zip(new, old):
        assert np.array_equal(np.asarray(a), np.asarray(b)), (keys, new, old)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TEXTS + ["", "2026-03-15T10:00Z", "2026-03-15 10:00:00.123456789",
                                          "0001-01-01", "2026-13-01"]), max_size=30))
def test_each_distinct_date_parsed_once_is_every_date_parsed(texts):
    t = pd.Series([x.strip() for x in texts], dtype=object)
    try:
        want = parse_iso(t)
    except (TypeError, ValueError) as err:
        with pytest.raises(type(err)):
            data_checks.parse_iso_once(t)
        return
    got = data_checks.parse_iso_once(t)
    assert np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1])


# ------------------------------------------------------------------ whole files
def _write(tmp_path, name, df, fmt):
    p = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        df.to_csv(p, index=False)
    else:
        pytest.importorskip("pyarrow")
        df.to_parquet(p, index=False)
    return p


def _table(t):
    return t.df, t.rows, [str(i) for i in t.issues], t.notices, t.bad


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("strings", ["object", "category", "string"])
def test_a_file_loads_as_cell_by_cell(tmp_path, fmt, strings):
    ids = ["C1", "c1", " C2", "C2", "C3", "\xa0", "#N/A", "", "C4", "C4 ", "12", None, "C5", "c5", "C5"]
    n = len(ids)
    df = pd.DataFrame({
        "customer_id": ids,
        "name": ["x", " ", "\u3000", None, "ok", "ok", "a" * 40, "b", "", "c", "d", "e", "f", "g", "h"],
        "region": ["EU", "US", " EU", "eu", None, "EU", "EU", "", "US", "US", "\xa0", "EU", "EU", "US", "EU"],
        "plan_tier": ["pro"] * n,
        "signup_date": ["2026-03-15", "2026-03", "15.03.2026", "", "2600-01-01", "1800-01-01", "2026-03-15T10:00",
                        "x", "2026-02-30", " 2026-01-01 ", "2026-01-01", "2026-01-01", None, "2026-01-01",
                        "2026-01-01"],
        "channel": ["web"] * n,
        "extra": list(range(n)),
    })
    for c in ("customer_id", "name", "region", "signup_date"):
        df[c] = df[c].astype(strings) if strings != "object" else df[c].astype(object)
    if fmt == "csv":
        df = df.astype(object).where(df.notna(), "")
    p = _write(tmp_path, "customers", df, fmt)
    ds = DATASETS["customers"]
    new = _table(load_dataset(ds, p))
    with old_definitions():
        old = _table(load_dataset(ds, p))
    pd.testing.assert_frame_equal(new[0], old[0], check_exact=True)
    assert np.array_equal(new[1], old[1]) and new[2] == old[2] and new[3] == old[3]
    assert np.array_equal(new[4], old[4])
    assert any("differs from another key only in upper/lower case" in i for i in new[2])
    assert any("repeats the key of row" in i for i in new[2])


def test_a_repeated_key_names_the_row_it_first_appears_in_after_a_blank_key(tmp_path):
    """With a blank key above, the row named as the first of a repeated key was one row off (the blank's
    code, -1, counted among the keys' first rows)."""
    p = tmp_path / "customers.csv"
    p.write_text("customer_id,name,region,plan_tier,signup_date,channel\n"
                 ",a,EU,pro,2026-01-01,web\nC1,b,EU,pro,2026-01-01,web\nC2,c,EU,pro,2026-01-01,web\n"
                 "C2,d,EU,pro,2026-01-01,web\n", encoding="utf-8")
    issues = [str(i) for i in load_dataset(DATASETS["customers"], p).issues]
    assert any("row 5" in i and "'C2' repeats the key of row 4" in i for i in issues), issues


@pytest.mark.parametrize("kind", ["object", "category", "string", "arrow", "str"])
def test_repeated_texts_share_one_object_and_keep_their_values(kind, monkeypatch):
    monkeypatch.setattr(data_checks, "_SAMPLE", 10_000)
    cells = [None if v is None else "".join([v[:1], v[1:]]) for v in ["EU", "US", None, " EU", "EU"] * 3000]
    assert len({id(x) for x in cells}) > 3  # each its own object
    s = _as_dtype(cells, kind)
    got = data_checks.objects(s)
    want = s.to_numpy(dtype=object)
    assert [type(x) for x in got] == [type(x) for x in want]
    assert pd.Series(got, dtype=object).equals(pd.Series(want, dtype=object))
    assert len({id(x) for x in got if isinstance(x, str)}) == 3
    mixed = np.array([1, 1.0, True, np.True_, "1", np.str_("1"), None, np.nan] * 3000, dtype=object)
    assert data_checks.shared(mixed) is mixed  # equal keys of other types are not merged


def test_texts_with_a_nul_are_their_own_values():
    """pandas 2 factorised texts as C strings: "a\\x00b" was "a", and "2026-03-15\\x00x" a date."""
    codes, uniq = data_checks.factorize(np.array(["", "\x00", "a\x00b", "a", "a\x00b", None], dtype=object))
    assert codes.tolist() == [0, 1, 2, 3, 2, -1] and uniq.tolist() == ["", "\x00", "a\x00b", "a"]
    parsed, bad = data_checks.parse_iso_once(pd.Series(["2026-03-15", "2026-03-15\x00x"], dtype=object))
    assert bad.tolist() == [False, True]
    assert parsed[0] == np.datetime64("2026-03-15", "ms") and np.isnat(parsed[1])
    k = pd.Series(["a", "a\x00", "A\x00", "a"], dtype=object)
    dup, first, clash = data_checks.key_checks(k)
    assert dup.tolist() == [False, False, False, True] and first.tolist() == [0] and clash.tolist() == [1, 2]


@pytest.mark.parametrize("strings", ["object", "string", "str", "category"])
def test_white_space_alone_in_a_parquet_text_column_is_blank_under_every_pandas(tmp_path, strings):
    """pandas 3 reads Parquet texts as its string dtype, which the blank check took for not-texts: an id of
    spaces was the id "" and no issue (pandas 2, object columns: a blank, required)."""
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"customer_id": ["C1", "  ", "C3", None], "name": ["a", "b", "c", "d"],
                       "region": ["EU", "\xa0", "US", "US"], "plan_tier": ["pro"] * 4,
                       "signup_date": pd.to_datetime(["2026-01-01"] * 4), "channel": ["web"] * 4})
    for c in ("customer_id", "region"):
        df[c] = pd.Series(df[c].tolist(), dtype=strings)  # (pandas 2: astype(str) makes None "None")
    p = tmp_path / "customers.parquet"
    df.to_parquet(p, index=False)
    t = load_dataset(DATASETS["customers"], p)
    assert t.df["customer_id"].tolist() == ["C1", None, "C3", None]
    assert t.df["region"].tolist() == ["EU", None, "US", "US"]
    assert [(i.row, i.column) for i in t.issues] == [(3, "customer_id"), (3, "region"), (5, "customer_id")]
