"""Excel's values during evaluation, and its rules for them.

An error value (:class:`ExcelError`), and how Excel treats a value in
arithmetic (blank is 0, text is ``#VALUE!``), in a condition, in a comparison
(numbers < text < booleans, text ignores case), in ``SUM`` over a range, and
as a look-up key (``MATCH``/``SUMPRODUCT`` equality).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

from kpi_functions import excel as X
from kpi_functions.excel import ExcelError  # the one Excel error value: a str (the code) with .code and .message

from .serial import excel_serial, to_serial_array

__all__ = [
    "ExcelError",
    "cell_value",
    "compare",
    "first_error",
    "keys_equal",
    "lookup_key",
    "lookup_keys",
    "number",
    "ranks_in_order",
    "sum_range",
    "truthy",
]

def cell_value(v: Any) -> Any:
    """A library value as the add-in's Excel cell (:func:`kpi_functions.excel.cell`), dates as Timestamps
    (the formula model's date) and infinity as the ``#NUM!`` error value."""
    c = X.cell(v)
    if isinstance(c, _dt.datetime):
        return pd.Timestamp(c)
    if c == "#NUM!" and not isinstance(v, str):
        return ExcelError("#NUM!", "Excel has no infinity")
    return c


def first_error(*vals: Any) -> ExcelError | None:
    for v in vals:
        if isinstance(v, ExcelError):
            return v
    return None


def number(v: Any) -> float | ExcelError:
    """A value in arithmetic, the Excel way: blank is 0, TRUE is 1, text is #VALUE!."""
    if isinstance(v, ExcelError):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return excel_serial(v)
    return ExcelError("#VALUE!", f"{v!r} is not a number")


def _cmp_key(v: Any) -> tuple:
    """Excel's ordering for comparisons: numbers < text < booleans; text ignores case."""
    if v is None:
        return (0, 0.0)
    if isinstance(v, bool):
        return (2, float(v))
    if isinstance(v, str):
        return (1, v.lower())
    return (0, number(v))


def compare(op: str, a: Any, b: Any) -> Any:
    e = first_error(a, b)
    if e:
        return e
    # a blank compares as 0 with numbers and as "" with text
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    ka, kb = _cmp_key(a), _cmp_key(b)
    return {"=": ka == kb, "<>": ka != kb, "<": ka < kb, "<=": ka <= kb, ">": ka > kb, ">=": ka >= kb}[op]



def truthy(v: Any) -> bool | ExcelError:
    if isinstance(v, ExcelError):
        return v
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v.upper() in ("TRUE", "FALSE"):
            return v.upper() == "TRUE"
        return ExcelError("#VALUE!", f"{v!r} is not TRUE or FALSE")
    return number(v) != 0


def sum_range(v: Any) -> float | ExcelError:
    """SUM over a range: numbers only (text and blanks ignored); an error propagates."""
    if isinstance(v, (pd.Series, pd.DataFrame)):
        arr = v.to_numpy(dtype=object).reshape(-1)
        total = 0.0
        if v.dtypes.apply(lambda t: pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t)).all() \
                if isinstance(v, pd.DataFrame) else (pd.api.types.is_float_dtype(v.dtype)
                                                     or pd.api.types.is_integer_dtype(v.dtype)):
            f = np.asarray(v, dtype=float).reshape(-1)
            return float(np.nansum(f))
        for x in arr:
            if isinstance(x, ExcelError):
                return x
            if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and not (
                    isinstance(x, float) and math.isnan(x)):
                total += float(x)
        return total
    x = number(v)
    return x


def lookup_key(v: Any) -> Any:
    """Hashable key with Excel's equality: text ignores case; blank equals 0 and ""."""
    if v is None:
        return None
    if isinstance(v, ExcelError):  # an error cell never equals a text key (ExcelError is a str)
        return ("e", v.code, v.message)
    if isinstance(v, str):
        return ("s", v.lower())
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return ("n", excel_serial(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return None if math.isnan(f) else ("n", f)
    return ("o", v)


def lookup_keys(v: Any) -> list:
    if isinstance(v, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(v.dtype):
            arr = to_serial_array(v)
            return [None if math.isnan(x) else ("n", x) for x in arr]
        if pd.api.types.is_float_dtype(v.dtype) or pd.api.types.is_integer_dtype(v.dtype):
            arr = v.to_numpy(dtype=float, na_value=np.nan)
            return [None if math.isnan(x) else ("n", x) for x in arr]
        return [lookup_key(x) for x in v.to_numpy(dtype=object)]
    raise TypeError("a condition range must be one column")


def keys_equal(v: pd.Series, key: Any) -> np.ndarray:
    """``lookup_keys(v)[i] == key`` for every cell, as one array: dates and numbers compared as serial numbers
    in one vector operation (a blank ``key`` matches the blank cells), other columns cell by cell."""
    if pd.api.types.is_datetime64_any_dtype(v.dtype) or pd.api.types.is_float_dtype(v.dtype) or \
            pd.api.types.is_integer_dtype(v.dtype):
        arr = to_serial_array(v) if pd.api.types.is_datetime64_any_dtype(v.dtype) else \
            v.to_numpy(dtype=float, na_value=np.nan)
        if key is None:
            return np.isnan(arr)
        if key[0] == "n":
            return np.asarray(arr == key[1], dtype=bool)
        return np.zeros(len(arr), dtype=bool)
    return np.array([x == key for x in lookup_keys(v)], dtype=bool)



def ranks_in_order(s: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """Every row's rank from the lowest (1), ties in table order, among the rows ``among`` (default all) that hold
    a number: ``SUMPRODUCT(among*(all<x)) + SUMPRODUCT(among_to_here*(first:here=x))`` for each row at once, from
    one stable sort. Rows outside ``among`` and rows without a number rank 0."""
    ok = ~np.isnan(s) if among is None else among & ~np.isnan(s)
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(s[idx], kind="stable")]
    ranks = np.zeros(s.size)
    ranks[order] = np.arange(1, order.size + 1, dtype=float)
    return ranks
