"""Cells: every input as a 2-D grid, what a blank is, what kind a value is, identifiers.

Callers hand over what Excel gives (nested lists with ``None`` or ``""`` for
blanks, a text header row on tables, dates as serial numbers or datetimes),
or plain Python numbers, numpy arrays, pandas Series and DataFrames.
:func:`grid` turns each into a 2-D array without changing a value; a
:class:`Grid` names the :class:`~kpi_functions.Location` of any cell in it.
"""

from __future__ import annotations

import datetime as _dt
import numbers as _numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._errors import EXCEL_ERRORS, KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError, Location

_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float", "empty"}


_DATE_KINDS = {"datetime64", "datetime", "date"}


@dataclass(frozen=True)
class Grid:
    """An input normalised to a 2-D array.

    ``is2d`` records whether the caller passed a 2-D shape (positions are then
    named by row and column) or a 1-D one (positions are items).
    """

    values: np.ndarray
    is2d: bool

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def ncols(self) -> int:
        return int(self.values.shape[1]) if self.values.ndim == 2 else 1

    @property
    def nrows(self) -> int:
        return int(self.values.shape[0])

    def location(self, flat_index: int, name: str | None = None) -> Location:
        """The 1-based location of a cell given its flat (row-by-row) index."""
        ncols = max(self.ncols, 1)
        r, c = divmod(int(flat_index), ncols)
        return Location(r + 1, c + 1 if self.is2d else None, name)

    def position(self, flat_index: int) -> str:
        """The location as text: ``item 3`` or ``row 4, column 2``."""
        return self.location(flat_index).text

    def flat(self) -> np.ndarray:
        return self.values.reshape(-1)


def _is_sequence(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray, pd.Series))


def grid(x: Any, fn: str, arg: str) -> Grid:
    """Normalise ``x`` to a :class:`Grid` without changing any value.

    ``None`` is an empty input. DataFrames are taken by position: their column
    names are ignored.
    """
    if x is None:
        return Grid(np.empty((0, 1), dtype=object), False)
    if isinstance(x, pd.DataFrame):
        if x.shape[1] == 0:
            return Grid(np.empty((0, 1), dtype=object), True)
        if all(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t) for t in x.dtypes):
            return Grid(x.to_numpy(dtype=float, copy=True), True)
        out = np.empty((x.shape[0], x.shape[1]), dtype=object)
        for j in range(x.shape[1]):
            s = x.iloc[:, j]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                # into an object array as Timestamps: numpy would store datetime64[ns] as integers
                out[:, j] = s.astype(object).to_numpy()
            else:
                out[:, j] = _series_values(s)
        return Grid(out, True)
    if isinstance(x, pd.Series):
        return Grid(_series_values(x).reshape(-1, 1), False)
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "US":  # numpy text arrays: "" must stay a blank, "#N/A" an error value
            x = x.astype(object)
        if x.ndim == 0:
            return Grid(x.reshape(1, 1), False)
        if x.ndim == 1:
            return Grid(x.reshape(-1, 1), False)
        if x.ndim == 2:
            return Grid(x, True)
        raise KPIInputError(fn, f"expected a range (1-D or 2-D), got a {x.ndim}-D array", argument=arg)
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            return Grid(np.empty((0, 1), dtype=object), False)
        if _is_sequence(x[0]):  # a list of rows (Excel's shape)
            try:
                widths = set(map(len, x))
            except TypeError:
                i = next(i for i, v in enumerate(x) if not _is_sequence(v))
                raise KPIInputError(
                    fn, "mixes single values and rows; pass a flat list or a list of rows",
                    argument=arg, location=Location(i + 1),
                ) from None
            if len(widths) != 1:
                first = len(x[0])
                bad = next(i for i, v in enumerate(x) if len(v) != first)
                raise KPIInputError(
                    fn, f"rows differ in length ({first} cells in row 1, {len(x[bad])} in row {bad + 1})",
                    argument=arg, position=f"row {bad + 1}",  # a whole row: no cell Location
                )
            width = widths.pop()
            if width == 0:
                return Grid(np.empty((len(x), 0), dtype=object), True)
            arr = _object_array(x, (len(x), width), fn, arg)
            return Grid(arr, True)
        arr = _object_array(x, (len(x),), fn, arg)
        return Grid(arr.reshape(-1, 1), False)
    # a single value
    arr = np.empty((1, 1), dtype=object)
    arr[0, 0] = x
    return Grid(arr, False)


def _object_array(x: Sequence, shape: tuple[int, ...], fn: str, arg: str) -> np.ndarray:
    """Build an array from Python data, keeping numbers numeric when they all are.

    """
    try:
        arr = np.array(x, dtype=object)
    except ValueError:  # ragged deeper levels
        arr = None
    if arr is None or arr.shape != shape:  # cells that are sequences: place them one by one
        arr = np.empty(shape, dtype=object)
        if len(shape) == 1:
            arr[:] = list(x)
        else:
            for i, row in enumerate(x):
                arr[i, :] = list(row)
    flat = arr.reshape(-1)
    kind = pd.api.types.infer_dtype(flat, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float"):
        try:
            return arr.astype(float)
        except OverflowError:  # an integer beyond a double: the readers name it
            return arr
        except TypeError:  # pd.NA among the numbers (skipped by infer_dtype): a blank
            missing = np.asarray(pd.isna(arr), dtype=bool)
            out = np.full(shape, np.nan)
            try:
                out[~missing] = arr[~missing].astype(float)
            except OverflowError:
                return arr
            return out
    # Cells that are themselves sequences (a 3-D list, a row inside a flat list)
    # stay as objects here: every reader refuses a non-scalar cell with its
    # position ("is a list; a number is needed"), so the common path pays no
    # extra pass over every cell.
    return arr


def _series_values(s: pd.Series, keep_int: bool = False) -> np.ndarray:
    if keep_int and pd.api.types.is_integer_dtype(s.dtype) and not s.isna().any():
        return s.to_numpy(dtype=np.int64)  # exact (ids above 2**53 stay distinct)
    if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
        return s.to_numpy(dtype=float, copy=True)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        # milliseconds, never nanoseconds: datetime64[ns] ends at 2262-04-11 and numpy's casts wrap silently
        return s.to_numpy(dtype="datetime64[ms]") if getattr(s.dtype, "tz", None) is None else s.dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
    return s.to_numpy(dtype=object, na_value=None)


def is_blank_value(v: Any) -> bool:
    """True for what counts as an empty cell: None, "", NaN, NaT, pd.NA."""
    if v is None:
        return True
    if isinstance(v, str):
        return v == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _blank_mask(flat: np.ndarray) -> np.ndarray:
    if flat.dtype.kind in "fc":
        return np.isnan(flat)
    if flat.dtype.kind == "M":
        return np.isnat(flat)
    if flat.dtype.kind in "iub":
        return np.zeros(flat.shape, dtype=bool)
    mask = np.array(pd.isna(flat), dtype=bool)
    if flat.dtype == object and flat.size:
        rest = ~mask  # compare only the non-missing cells: pd.NA == "" is NA, not False
        mask[rest] = flat[rest] == ""
    return mask


def _kind_name(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "a boolean"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (_dt.datetime, _dt.date, np.datetime64, pd.Timestamp)):
        return "a date"
    return f"a {type(v).__name__}"


def _is_real(v: Any) -> bool:
    return isinstance(v, _numbers.Real) and not isinstance(v, (bool, np.bool_))


def _first_error_value(flat: np.ndarray, g: Grid, fn: str, arg: str, idx: Iterable[int] | None = None) -> None:
    """Raise KPIErrorValue for the first Excel error value, if any (vectorised scan)."""
    if flat.dtype != object or flat.size == 0:
        return
    idx = np.arange(flat.size) if idx is None else np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        return
    sub = pd.Series(flat[idx], dtype=object)
    hit = sub.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    if hit.any():
        k = int(np.flatnonzero(hit)[0])
        raise KPIErrorValue(fn, flat[idx[k]], argument=arg, location=g.location(int(idx[k])))
def labels(x: Any, fn: str, arg: str) -> np.ndarray:
    """Identifiers, row by row, as a 1-D object array; blanks are ``None``.

    Numbers and text are both identifiers (integral floats are folded to int
    so 5 and 5.0 are one customer); booleans and error values are not.
    """
    g = grid(x, fn, arg)
    flat = g.flat()
    if flat.dtype.kind == "f":
        out = np.empty(flat.size, dtype=object)
        nan = np.isnan(flat)
        whole = ~nan & (flat == np.floor(flat)) & (np.abs(flat) < 2**53)
        out[whole] = flat[whole].astype(np.int64)
        other = ~nan & ~whole
        out[other] = flat[other]
        out[nan] = None
        if np.isinf(flat).any():
            i = int(np.flatnonzero(np.isinf(flat))[0])
            raise KPIDomainError(fn, "is not a valid identifier", argument=arg, location=g.location(i),
                                 value=float(flat[i]), has_value=True)
        return out
    if flat.dtype.kind in "iu":
        return flat.astype(object)
    if flat.dtype.kind != "O":
        if flat.dtype.kind == "b" and flat.size:
            raise KPIInputError(fn, "is a boolean; an identifier is needed", argument=arg,
                                location=g.location(0), value=bool(flat[0]), has_value=True)
        return flat.astype(object)
    blank = _blank_mask(flat)
    out = flat.copy()
    out[blank] = None
    nb = np.flatnonzero(~blank)
    kind = pd.api.types.infer_dtype(flat[nb], skipna=False) if nb.size else "empty"
    if kind in ("string", "integer", "empty"):
        if kind == "string":
            _first_error_value(flat, g, fn, arg, nb)
        return out
    _first_error_value(flat, g, fn, arg, nb)
    for i in nb.tolist():
        v = flat[i]
        if isinstance(v, (bool, np.bool_)):
            raise KPIInputError(fn, "is a boolean; an identifier is needed", argument=arg,
                                location=g.location(i), value=v, has_value=True)
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                raise KPIDomainError(fn, "is not a valid identifier", argument=arg,
                                     location=g.location(i), value=float(v), has_value=True)
            if float(v).is_integer():
                out[i] = int(v)
        elif isinstance(v, np.integer):
            out[i] = int(v)
        elif not isinstance(v, (str, int, _dt.date)):
            raise KPIInputError(fn, f"is {_kind_name(v)}; an identifier (text or a number) is needed",
                                argument=arg, location=g.location(i), value=v, has_value=True)
    return out


def label_pairs(x: Any, y: Any, fn: str, first: tuple[str, str], second: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two aligned identifier ranges (a customer and a product per row), rows blank in both dropped.

    ``first`` and ``second`` are (argument name, noun): ``("customer_ids",
    "customer")``. Either range without any identifier leaves the KPI
    undefined; ranges of different sizes, or a row with one identifier but not
    the other, are input errors.
    """
    (arg_x, noun_x), (arg_y, noun_y) = first, second
    a, b = labels(x, fn, arg_x), labels(y, fn, arg_y)
    a_blank, b_blank = pd.isna(a), pd.isna(b)
    if a_blank.all():
        raise KPIUndefinedError(fn, f"has no {noun_x} ids", argument=arg_x)
    if b_blank.all():
        raise KPIUndefinedError(fn, f"has no {noun_y} ids", argument=arg_y)
    if a.size != b.size:
        raise KPIInputError(fn, f"'{arg_x}' has {a.size} cells but '{arg_y}' has {b.size}; the ranges must be "
                            "aligned", argument=arg_y)
    odd = np.flatnonzero(a_blank != b_blank)
    if odd.size:
        i = int(odd[0])
        arg, other, raw = (arg_x, noun_y, x) if a_blank[i] else (arg_y, noun_x, y)
        raise KPIInputError(fn, f"is blank but the row has a {other}; every row needs both a {noun_x} and a "
                            f"{noun_y}", argument=arg, location=grid(raw, fn, arg).location(i))
    return a[~a_blank], b[~a_blank]
