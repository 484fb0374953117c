"""Whole-column readers for the fast path of :func:`~kpi_functions._coerce.tables.table`.

Each reads one DataFrame column in its own type — factorised once, the few
distinct values checked and converted, the result mapped back by the codes —
and returns None when anything is doubtful (a blank, an error value, a value
of another kind), so that the general path reads the column and names the
cell. What they return is exactly what the general path returns for the same
values: the same identifiers (Python ints or the strings themselves, in
first-appearance order) and the same dates (the same ISO rule and serial
conversion, applied to the distinct values only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import EXCEL_ERRORS, KPIInputError
from .cells import Grid
from .datetimes import _dates_flat

Codes = tuple[np.ndarray, np.ndarray]


def _text_ok(u: np.ndarray) -> bool:
    """Distinct identifiers that are all text, none blank ("") or an Excel error value."""
    if u.size == 0:
        return True
    return (pd.api.types.infer_dtype(u, skipna=False) == "string" and not (u == "").any()
            and not pd.Series(u, dtype=object).isin(EXCEL_ERRORS).any())  # hashed: np.isin sorts objects


def _int_uniques(values: np.ndarray) -> Codes | None:
    """Codes of whole numbers hashed as int64, the identifiers as Python ints (as the general path gives)."""
    try:
        k, uniq = pd.factorize(values.astype(np.int64))
    except OverflowError:  # beyond int64: the general path hashes the Python ints
        return None
    return k.astype(np.int64, copy=False), uniq.astype(object)


def ids(s: pd.Series) -> Codes | None:
    """Identifier codes (first-appearance order) and the identifiers of a column, or None.

    Integer columns are hashed as int64; text (an object column of strings,
    pandas ``string``/``str`` of either storage) is factorised as it is and
    only the distinct strings are checked; a categorical column uses its codes
    (factorised again so customers come in order of first appearance, and
    unused categories are no customers), its used categories checked as text
    or integers.
    """
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cat = s.cat.codes.to_numpy()
        if cat.size and cat.min() < 0:  # a blank
            return None
        k, used = pd.factorize(cat)
        cats = dt.categories
        if isinstance(cats.dtype, np.dtype) and cats.dtype.kind in "iu":
            u = np.asarray(cats.to_numpy()[used]).astype(object)  # Python ints
        elif cats.dtype == object or isinstance(cats.dtype, pd.StringDtype):
            u = np.asarray(cats.take(used), dtype=object)
            if not _text_ok(u):
                return None
        else:
            return None
        return k.astype(np.int64, copy=False), u
    if isinstance(dt, np.dtype) and dt.kind in "iu":
        return _int_uniques(s.to_numpy())
    if isinstance(dt, pd.StringDtype) or dt == object:
        k, uniq = pd.factorize(_text_values(s))
        if (k < 0).any():  # a blank
            return None
        u = np.asarray(uniq, dtype=object)
        if _text_ok(u):
            return k.astype(np.int64, copy=False), u
        if dt == object and pd.api.types.infer_dtype(s, skipna=False) == "integer":
            # whole numbers held as objects: no boolean among them (True would hash as 1)
            return _int_uniques(s.to_numpy(dtype=object))
    return None


def _convert(u: np.ndarray) -> np.ndarray | None:
    """The general path's dates of a few distinct values, or None when it would raise."""
    try:
        return _dates_flat(Grid(u.reshape(-1, 1), False), u, "", "")
    except KPIInputError:  # every coercion error: the general path names the cell
        return None


_NAT = np.array([np.datetime64("NaT")], dtype="datetime64[ms]")


def dates(s: pd.Series, keep_blank: bool) -> Codes | None:
    """A date column as codes and its distinct dates (datetime64[ms]), or None.

    The distinct dates end with a NaT, which code -1 (a blank, allowed only
    when ``keep_blank``) picks: ``u[k]`` is the column. datetime64 is
    factorised as it is; Excel serial numbers in a numeric column are
    factorised and the distinct numbers converted with the general path's rule
    and domain; ISO text (object or pandas text columns, or the categories of
    a categorical) is parsed once per distinct string with the general path's
    parser. Anything the general path would refuse — or a blank not kept —
    returns None.
    """
    dt = s.dtype
    if isinstance(dt, np.dtype) and dt.kind == "M":
        k, ui = pd.factorize(s.to_numpy(dtype="datetime64[ms]").view(np.int64))
        parsed = ui.view("datetime64[ms]")
        if not keep_blank and np.isnat(parsed).any():
            return None
        return k.astype(np.int64, copy=False), np.concatenate([parsed, _NAT])
    if isinstance(dt, np.dtype) and dt.kind in "iuf":
        k, uf = pd.factorize(s.to_numpy(dtype=np.float64))  # NaN (a blank): code -1
        parsed = _convert(uf)
    else:
        if isinstance(dt, pd.CategoricalDtype):
            k = s.cat.codes.to_numpy()
            u = np.asarray(dt.categories, dtype=object)
        elif isinstance(dt, pd.StringDtype) or dt == object:
            k, uniq = pd.factorize(_text_values(s))
            u = np.asarray(uniq, dtype=object)
        else:
            return None
        if u.size == 0 or pd.api.types.infer_dtype(u, skipna=False) != "string":
            return None  # only text: values of other kinds could hash together (True and 1)
        parsed = _convert(u)
    if parsed is None:
        return None
    if not keep_blank and ((k < 0).any() or np.isnat(parsed).any()):  # "" is a blank too
        return None
    return k.astype(np.int64, copy=False), np.concatenate([parsed, _NAT])


def _text_values(s: pd.Series) -> pd.Series | np.ndarray:
    """What to factorise for a text column: pandas' python-backed strings hash faster as objects."""
    dt = s.dtype
    if isinstance(dt, pd.StringDtype) and dt.storage == "python":
        return s.to_numpy(dtype=object)
    return s
