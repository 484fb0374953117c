"""Hypothesis strategies for spreadsheet-shaped junk, driven by the registry.

A generated call is a :class:`Case`: the arguments as the raw Python shapes a
spreadsheet hands over (a scalar, a 1-D list, a list of rows — possibly ragged
or deeper), and the same arguments as the caller passes them (the raw shape,
or an ndarray / Series / DataFrame built from it without changing any value).
The raw shapes are what the reference formulas in ``reliability_oracles`` read.

Three ways to build an argument, all starting from the registry example of
the function (so every function gets plausible data without a hand list):

- resample: rows of the example drawn again (one draw shared by the aligned
  arguments of the call, so rows stay coherent), then a few mutations;
- junk: a structure of junk cells of any shape;
- single: one cell where a range is expected.

Mutations put junk cells in (blanks, text, booleans, NaN, ±inf, Excel error
values, dates as text, datetimes, huge and tiny numbers, numbers stored as
text), move or add header rows, make rows ragged, change 1-D to 2-D and back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from kpi_functions import EXCEL_ERRORS

NAN = float("nan")
INF = float("inf")
ERROR_VALUES = sorted(EXCEL_ERRORS)

#: Junk every spreadsheet sooner or later hands over.
JUNK_CONSTANTS = [
    None, "", " ", "abc", "N/A", "n/a", "total", "Total", "-", "—", "5", "1e3", " 7 ", "0x1F", "1,000",
    "TRUE", "FALSE", "true", "=SUM(A1:A3)", "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3", "=HYPERLINK(\"http://x\")",
    True, False, NAN, INF, -INF, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308,
    0, 0.0, -0.0, -1, 1, 2**53 + 1, 10**30, -(10**30), 2**64, 10**400, -(10**400), 2**1024,
    "2026-03-15", "2026-03", "15/03/2026", "03/15/2026", "2026-13-01", "2026-02-30", "2026", "March 2026",
    "2026-03-15T09:30", "2026-03-15 09:30:00", "1900-01-01", "9999-12-31",
    "\u00a0", "\t", "\n", "ÿ", "日本", "😀", "'5", "#NAME", "#N/A ", "#n/a",
]


def _np_scalars() -> st.SearchStrategy:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
        st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
        st.integers(-(2**63), 2**63 - 1).map(np.int64),
        st.booleans().map(np.bool_),
    )


#: dates across Excel's whole calendar (1900-01-01 … 9999-12-31), weighted to both
#: sides of 2262-04-11, where datetime64[ns] ends and casts to it once wrapped round
_NS_END = dt.datetime(2262, 4, 11, 23, 47, 16)
WIDE_DATE = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59)),
    st.datetimes(min_value=_NS_END - dt.timedelta(days=3), max_value=_NS_END + dt.timedelta(days=3)),
    st.dates(min_value=dt.date(2262, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.dates(min_value=dt.date(2262, 4, 1), max_value=dt.date(2262, 5, 31)).map(lambda d: d.isoformat()),
    st.dates(min_value=dt.date(2262, 4, 1), max_value=dt.date(9999, 12, 31)).map(lambda d: d.isoformat()[:7]),
    st.integers(min_value=1, max_value=2958465).map(float),  # Excel serials, 1900-01-01 … 9999-12-31
    st.sampled_from([float(x) for x in (132320, 132321, 250000, 2958465)]),  # 2262-04-11/12, 2584-06-21, 9999-12-31
)

JUNK_CELL = st.one_of(
    st.sampled_from(JUNK_CONSTANTS),
    WIDE_DATE,
    st.sampled_from(ERROR_VALUES),
    st.sampled_from([pd.NA, pd.NaT, np.datetime64("NaT"), np.nan]),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 1, 1)).map(pd.Timestamp),
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    _np_scalars(),
)

BLANK_CELL = st.sampled_from([None, "", NAN])
#: Text holding a lone UTF-16 surrogate: valid JSON ("\\ud800"), but not a character
#: (the HTTP route refuses it with a 400; Excel's strings are UTF-16 and can hold one).
LONE_SURROGATE_TEXT = st.builds(
    lambda pre, c, post: pre + c + post,
    st.text(max_size=3), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.text(max_size=3),
)
#: Numbers at the edges of a double: overflow, underflow, subnormals, signed zero.
EXTREME_NUMBER = st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 1e-300, 1e300, -0.0,
                                  2.2250738585072014e-308, 1e154, 2**53 + 1, 10**30])


def is_plain_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


# ---------------------------------------------------------------- cases
@dataclasses.dataclass
class Case:
    """One generated call: ``raw`` (for the oracles) and ``args`` (what the function gets)."""

    raw: list[Any]
    args: list[Any]
    forms: list[str]
    mutations: list[str]

    def describe(self) -> str:
        return f"forms={self.forms} mutations={self.mutations} raw={_short(self.raw)}"


def _short(v: Any, limit: int = 600) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_2d(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(r, list) for r in v)


def _rect(v: Any) -> bool:
    return _is_2d(v) and len({len(r) for r in v}) == 1 and all(
        not isinstance(x, (list, tuple)) for r in v for x in r
    )


def _flat1d(v: Any) -> bool:
    return isinstance(v, list) and not any(isinstance(x, (list, tuple)) for x in v)


# ---------------------------------------------------------------- containers
def to_container(raw: Any, form: str) -> Any:
    """``raw`` as the caller passes it, with every cell's value unchanged."""
    if form == "raw" or raw is None:
        return raw
    if form == "tuple":
        if _is_2d(raw):
            return tuple(tuple(r) for r in raw)
        return tuple(raw) if isinstance(raw, list) else raw
    if not isinstance(raw, list):
        if form == "ndarray0d" and is_plain_number(raw):
            return np.array(raw, dtype=float)
        return raw
    if form == "ndarray":
        if _flat1d(raw) or _rect(raw):
            cells = [x for r in raw for x in r] if _is_2d(raw) else list(raw)
            shape = (len(raw), len(raw[0])) if _is_2d(raw) else (len(raw),)
            if cells and all(_float_exact(x) for x in cells):
                arr = np.array([np.nan if x is None else float(x) for x in cells], dtype=float)
                return arr.reshape(shape)
            if cells and all(isinstance(x, str) for x in cells):
                return np.array(cells, dtype=str).reshape(shape)  # a numpy unicode array
            arr = np.empty(len(cells), dtype=object)
            arr[:] = cells
            return arr.reshape(shape)
        return raw
    if form == "series":
        if _flat1d(raw):
            return pd.Series(raw, dtype=object) if any(isinstance(x, (pd.Timestamp, dt.date)) for x in raw) else _series(raw)
        return raw
    if form == "dataframe":
        if _rect(raw):
            return pd.DataFrame({f"c{j}": _series([r[j] for r in raw]) for j in range(len(raw[0]))})
        if _flat1d(raw) and raw:
            return pd.DataFrame({"only": _series(raw)})
        return raw
    raise ValueError(form)


def _float_exact(x: Any) -> bool:
    """True when ``x`` survives a float array unchanged (None becomes NaN, a blank)."""
    if x is None or type(x) is float:
        return True
    return type(x) is int and abs(x) < 2**53


def _series(cells: list[Any]) -> pd.Series:
    """A Series that keeps every value: inferred dtype when pandas keeps values exactly, else object."""
    obj = pd.Series(cells, dtype=object)
    try:
        inferred = pd.Series(cells)
    except (TypeError, ValueError, OverflowError):
        return obj
    kind = inferred.dtype.kind
    if kind == "f":
        ok = all(
            (x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA)
            if (isinstance(x, float) and math.isnan(x)) or x is None or x is pd.NA
            else (is_plain_number(x) and float(x) == float(inferred.iloc[i]) and
                  (not isinstance(x, (int, np.integer)) or abs(int(x)) < 2**53))
            for i, x in enumerate(cells)
        )
        return inferred if ok else obj
    if kind in "iu":
        return inferred if all(isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) for x in cells) else obj
    if isinstance(inferred.dtype, pd.StringDtype) or kind == "O":
        if all(isinstance(x, str) or x is None for x in cells):
            return inferred
        return obj
    return obj


FORMS_RANGE = ["raw", "raw", "raw", "tuple", "ndarray", "series", "dataframe"]


# ---------------------------------------------------------------- mutations
@st.composite
def mutate(draw: st.DrawFn, raw: Any, log: list[str], header: list[Any] | None = None,
           strength: float = 1.0) -> Any:
    """Apply 0..3 spreadsheet-shaped mutations to a raw argument."""
    n = draw(st.integers(0, 3 if strength >= 1 else 1))
    for _ in range(n):
        raw = draw(_one_mutation(raw, log, header))
    return raw


@st.composite
def _one_mutation(draw: st.DrawFn, raw: Any, log: list[str], header: list[Any] | None) -> Any:
    if not isinstance(raw, list) or not raw:
        kind = draw(st.sampled_from(["cell", "blank", "wrap"]))
        if kind == "cell":
            log.append("scalar->junk")
            return draw(JUNK_CELL)
        if kind == "blank":
            log.append("scalar->blank")
            return draw(BLANK_CELL)
        log.append("scalar->[[x]]")
        return [[raw]]
    two_d = _is_2d(raw)
    kinds = ["cell", "cell", "extreme", "extreme", "blank", "error", "blankrow", "shape", "single"]
    if two_d:
        kinds += ["header", "header", "ragged", "swapcols", "dropcol"]
    kind = draw(st.sampled_from(kinds))
    rows = [list(r) for r in raw] if two_d else list(raw)
    if kind in ("cell", "blank", "error", "extreme"):
        value = draw({"cell": JUNK_CELL, "blank": BLANK_CELL, "error": st.sampled_from(ERROR_VALUES),
                      "extreme": EXTREME_NUMBER}[kind])
        if two_d:
            i = draw(st.integers(0, len(rows) - 1))
            if not rows[i]:
                return rows
            j = draw(st.integers(0, len(rows[i]) - 1))
            log.append(f"{kind}[{i},{j}]={value!r}")
            rows[i][j] = value
        else:
            i = draw(st.integers(0, len(rows) - 1))
            log.append(f"{kind}[{i}]={value!r}")
            rows[i] = value
        return rows
    if kind == "blankrow":
        i = draw(st.integers(0, len(rows)))
        log.append(f"blankrow@{i}")
        rows.insert(i, [None] * len(rows[0]) if two_d else None)
        return rows
    if kind == "single":
        cell = rows[0][0] if two_d and rows[0] else (rows[0] if not two_d else None)
        log.append("range->single cell")
        return cell
    if kind == "shape":
        if two_d:
            flat = [x for r in rows for x in r]
            log.append("2d->1d")
            return flat
        choice = draw(st.sampled_from(["column", "row"]))
        log.append(f"1d->{choice}")
        return [[x] for x in rows] if choice == "column" else [rows]
    if kind == "header":
        width = len(rows[0])
        hdr = list(header[:width]) if header and len(header) >= width else [f"col{j}" for j in range(width)]
        where = draw(st.sampled_from(["top", "middle", "bottom", "twice"]))
        log.append(f"header@{where}")
        if where == "top":
            rows.insert(0, hdr)
        elif where == "middle":
            rows.insert(len(rows) // 2, hdr)
        elif where == "bottom":
            rows.append(hdr)
        else:
            rows.insert(0, hdr)
            rows.insert(0, list(hdr))
        return rows
    if kind == "ragged":
        i = draw(st.integers(0, len(rows) - 1))
        log.append(f"ragged row {i}")
        rows[i] = rows[i][:-1] if len(rows[i]) > 1 else rows[i] + [1]
        return rows
    if kind == "swapcols":
        log.append("swap columns")
        return [list(reversed(r)) for r in rows]
    if kind == "dropcol":
        log.append("drop last column")
        return [r[:-1] for r in rows]
    raise AssertionError(kind)  # pragma: no cover


@st.composite
def junk_structure(draw: st.DrawFn) -> Any:
    """A structure of junk: a cell, a list, rows (maybe ragged), 3-D, empty."""
    kind = draw(st.sampled_from(["cell", "list", "rows", "ragged", "deep", "empty", "emptyrows"]))
    if kind == "cell":
        return draw(JUNK_CELL)
    if kind == "list":
        return draw(st.lists(JUNK_CELL, min_size=1, max_size=8))
    if kind == "rows":
        w = draw(st.integers(1, 4))
        return draw(st.lists(st.lists(JUNK_CELL, min_size=w, max_size=w), min_size=1, max_size=6))
    if kind == "ragged":
        return draw(st.lists(st.lists(JUNK_CELL, min_size=0, max_size=4), min_size=2, max_size=5))
    if kind == "deep":
        return [[[draw(JUNK_CELL)]], [[1]]]
    if kind == "empty":
        return []
    return [[]]


# ---------------------------------------------------------------- options
OPTION_VALUES = {
    "number": [None, 0, 1, 2, 3, 4, 5, 6, 7, 10, 12, 24, 0.5, 0.8, 0.9, 0.95, 0.99, 1.5, -1, 100, 1e308, 5e-324,
               10**400, -(10**400),
               "", "abc", "5", True, False, INF, NAN, "#N/A", "#NUM!", [[3]], [[0.9]], [[1, 2]], [], [[None]]],
    "text": [None, "", "logo", "revenue", "LOGO", " Revenue ", "hours", "minutes", "days", "mean", "median", "p90",
             "P90", "09:00-17:00", "08:30-18:00", "17:00-09:00", "9-5", "24:00-25:00", "00:00-24:00", "weeks",
             "abc", 5, True, NAN, "#N/A", [["hours"]], [["mean", "median"]], []],
    "bool": [None, "", True, False, 0, 1, 2, 0.5, "TRUE", "false", " True ", "yes", "#N/A", NAN, INF, [[True]],
             [[True, False]], []],
    "dates": [None, "", "2026-03", "2026-03-15", dt.datetime(2026, 3, 1), 46082, 46082.5, "abc", True, -5,
              "2262-04-12", "2600-01", dt.datetime(9999, 12, 31), 250000, 2958465, 2958466,
              1e308, "#N/A", [["2026-02"]], [["2026-02", "2026-03"]], [], ["2026-03-16", "2026-03-17"], [None]],
    "range": [None, 0, 1, "", "abc", [[1]], [[None]], [], "#N/A"],
    "table": [None, [], [[None]]],
    "ids": [None, "a", [], [[None]]],
}


# ---------------------------------------------------------------- cases per function
def _kind_of(v: Any) -> str:
    if isinstance(v, list):
        return "2d" if _is_2d(v) else "1d"
    return "scalar"


def _row_groups(spec: Any) -> dict[int, list[int]]:
    """Example arguments that are aligned 1-D lists of the same length (resampled together)."""
    groups: dict[int, list[int]] = {}
    for i, (a, v) in enumerate(zip(spec.args, spec.example)):
        if a.is_range and isinstance(v, list) and not _is_2d(v):
            groups.setdefault(len(v), []).append(i)
    return groups


@st.composite
def _indices(draw: st.DrawFn, n: int, limit: int) -> list[int]:
    """Row indices into an example of ``n`` rows: in order (series keep their order) or shuffled."""
    how = draw(st.sampled_from(["same", "ordered", "ordered", "any", "empty"]))
    if how == "same":
        return list(range(n))
    if how == "empty":
        return []
    idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max(limit, 1)))
    return sorted(idx) if how == "ordered" else idx


@st.composite
def call_case(draw: st.DrawFn, spec: Any) -> Case:
    """A call of ``spec`` built from its registry example (see module docstring).

    About a third of the cases are clean (valid-looking data only, to reach the
    computation and compare it with the references); the rest are dirty.
    """
    log: list[str] = []
    clean = draw(st.integers(0, 2)) == 0
    if clean:
        log.append("clean")
    example = list(spec.example) + [None] * (len(spec.args) - len(spec.example))
    # one draw of row indices per group of aligned 1-D arguments
    shared: dict[int, list[int]] = {}
    for n in _row_groups(spec):
        shared[n] = draw(_indices(n, min(3 * n, 40)))
    # how many arguments to pass (optional ones may be left out entirely)
    n_req = len(spec.required)
    n_args = draw(st.integers(n_req, len(spec.args)))
    raw: list[Any] = []
    for i, a in enumerate(spec.args[:n_args]):
        ex = example[i]
        if not a.is_range:
            if clean:
                v = draw(st.sampled_from([x for x in (ex, a.default, None) if x is not None or a.optional] or [ex]))
            else:
                v = draw(st.sampled_from(OPTION_VALUES[a.kind] + ([ex] if ex is not None else []) + [a.default]))
                if draw(st.integers(0, 9)) == 0:
                    v = draw(JUNK_CELL)
                    log.append(f"{a.name}=junk")
            raw.append(v)
            continue
        if ex is None:  # an optional range with no example value: mostly omitted
            raw.append(None if clean else draw(st.sampled_from(OPTION_VALUES[a.kind])))
            continue
        mode = "resample" if clean else draw(st.sampled_from(["resample"] * 5 + ["example", "junk", "single"]))
        if mode == "junk":
            log.append(f"{a.name}=junk structure")
            raw.append(draw(junk_structure()))
            continue
        if mode == "single":
            cells = [x for r in ex for x in r] if _is_2d(ex) else (ex if isinstance(ex, list) else [ex])
            nonblank = [x for x in cells if x is not None] or [None]
            v = draw(st.sampled_from(nonblank))
            log.append(f"{a.name}=single cell")
            raw.append(v)
            continue
        if mode == "example" or not isinstance(ex, list):
            v = ex if not isinstance(ex, list) else [list(r) for r in ex] if _is_2d(ex) else list(ex)
            if not isinstance(ex, list) and draw(st.booleans()):
                v = draw(_resample_scalar(ex))
        elif _is_2d(ex):
            header = ex[0] if a.kind == "table" and all(isinstance(x, str) for x in ex[0]) else None
            body = ex[1:] if header else ex
            v = [list(body[k]) for k in draw(_indices(len(body), min(3 * len(body), 30)))]
            if header and draw(st.integers(0, 3)) > 0:
                v.insert(0, list(header))
            v = draw(_perturb_numbers(v))
        else:
            idx = shared[len(ex)]
            if not clean and draw(st.integers(0, 9)) == 0:  # mismatched lengths now and then
                idx = draw(_indices(len(ex), min(3 * len(ex), 40)))
                log.append(f"{a.name} resampled alone")
            v = draw(_perturb_numbers([ex[k] for k in idx]))
        if not clean and draw(st.booleans()):
            header = ex[0] if _is_2d(ex) and all(isinstance(x, str) for x in ex[0]) else None
            sub: list[str] = []
            v = draw(mutate(v, sub, header))
            log.extend(f"{a.name}:{m}" for m in sub)
        raw.append(v)
    forms = []
    args = []
    for i, v in enumerate(raw):
        a = spec.args[i]
        form = draw(st.sampled_from(FORMS_RANGE)) if a.is_range else "raw"
        forms.append(form)
        args.append(to_container(v, form))
    return Case(raw=raw, args=args, forms=forms, mutations=log)


@st.composite
def _resample_scalar(draw: st.DrawFn, x: Any) -> Any:
    if is_plain_number(x):
        return draw(st.one_of(
            st.just(x), st.just(0), st.integers(0, 10**6), st.floats(0, 1e6),
            st.floats(-1e6, 1e6), EXTREME_NUMBER,
        ))
    return x


@st.composite
def _perturb_numbers(draw: st.DrawFn, cells: Any) -> Any:
    """Now and then scale every number of a resampled argument (stays valid in sign)."""
    how = draw(st.sampled_from(["keep"] * 6 + ["scale", "tiny", "huge"]))
    if how == "keep":
        return cells
    factor = {"scale": draw(st.sampled_from([0.001, 0.5, 2, 1000])), "tiny": 1e-300, "huge": 1e300}[how]

    def f(x: Any) -> Any:
        return x * factor if is_plain_number(x) and not isinstance(x, bool) else x

    if _is_2d(cells):
        return [[f(x) for x in r] for r in cells]
    return [f(x) for x in cells]
