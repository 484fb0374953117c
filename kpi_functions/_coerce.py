"""Input coercion: the only place that turns what callers hand over into arrays.

Callers hand over what Excel gives (nested lists with ``None`` or ``""`` for
blanks, a text header row on tables, dates as serial numbers or datetimes),
or plain Python numbers, numpy arrays, pandas Series and DataFrames. This
module turns each into numpy arrays, validates them, and raises a typed error
naming the function, the argument, the position and the value when it cannot.

Positions are 1-based and relative to the range that was passed: ``item 3``
for a 1-D input, ``row 4, column 2`` for a 2-D one. Nothing is ever silently
coerced: text is not a number (``"5"`` is text), a boolean is not a number,
and infinity is out of every domain.
"""

from __future__ import annotations

import datetime as _dt
import numbers as _numbers
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ._errors import (
    EXCEL_ERRORS,
    KPIDomainError,
    KPIErrorValue,
    KPIInputError,
    KPIUndefinedError,
    Location,
)

__all__ = [
    "Grid",
    "grid",
    "is_blank_value",
    "numbers",
    "aligned_numbers",
    "whole_numbers",
    "total",
    "pair",
    "labels",
    "dates",
    "table",
    "Table",
    "option_number",
    "option_text",
    "option_bool",
    "ratio",
    "finite",
    "to_float",
    "month_index",
    "index_to_month",
    "parse_iso",
    "excel_serial_to_datetime64",
]

EXCEL_EPOCH = np.datetime64("1899-12-30", "ms")
_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float", "empty"}
_DATE_KINDS = {"datetime64", "datetime", "date"}


# --------------------------------------------------------------------------
# The grid: every input as a 2-D array plus how to name a position in it
# --------------------------------------------------------------------------
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
                    argument=arg, location=Location(bad + 1), position=f"row {bad + 1}",
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


# --------------------------------------------------------------------------
# Blanks and value kinds
# --------------------------------------------------------------------------
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


def _is_real(v: Any) -> bool:
    return isinstance(v, _numbers.Real) and not isinstance(v, (bool, np.bool_))


TOO_LARGE = "is beyond the range of a number (about ±1.8e308)"


def to_float(v: Any, fn: str, arg: str, location: Location | None = None, reason: str = TOO_LARGE) -> float:
    """``float(v)`` for one real number; a value beyond a double (``10**400``) is #NUM! naming it.

    Python integers (and fractions) have no size limit, doubles stop at
    about 1.8e308: ``float()`` raises OverflowError, which is not a
    ValueError and would escape as an unexpected error.
    """
    try:
        return float(v)
    except OverflowError:
        raise KPIDomainError(fn, reason, argument=arg, location=location, value=v, has_value=True) from None


def _floats(vals: np.ndarray, fn: str, arg: str, pos, reason: str = TOO_LARGE) -> np.ndarray:
    """``vals.astype(float)``; the first value beyond a double is #NUM! at ``pos(k)``.

    One cast on the common path; the cells are looked at one by one only
    once the cast has failed, to name the offending one.
    """
    try:
        return vals.astype(float)
    except OverflowError:
        for k, v in enumerate(vals):
            to_float(v, fn, arg, pos(k), reason)
        raise  # pragma: no cover - the cast failed, so one cell does


def _numeric_flat(g: Grid, fn: str, arg: str, what: str = "a number") -> np.ndarray:
    """Flat float array of the grid, NaN where blank. Raises on anything else."""
    flat = g.flat()
    if flat.dtype.kind in "iuf":
        out = flat.astype(float, copy=True)
    elif flat.dtype.kind == "b":
        if flat.size:
            raise KPIInputError(fn, f"is a boolean; {what} is needed", argument=arg,
                                location=g.location(0), value=bool(flat[0]), has_value=True)
        out = np.empty(0)
    elif flat.dtype.kind == "M":
        nonblank = np.flatnonzero(~np.isnat(flat))
        if nonblank.size:
            i = int(nonblank[0])
            raise KPIInputError(fn, f"is a date; {what} is needed", argument=arg,
                                location=g.location(i), value=str(flat[i]), has_value=True)
        out = np.full(flat.shape, np.nan)
    else:
        blank = _blank_mask(flat)
        nb = flat[~blank]
        kind = pd.api.types.infer_dtype(nb, skipna=False) if nb.size else "empty"
        if kind in _NUMERIC_KINDS:
            out = np.full(flat.shape, np.nan)
            nbi = np.flatnonzero(~blank)
            out[~blank] = _floats(nb, fn, arg, lambda k: g.location(int(nbi[k])))
        else:
            _first_error_value(flat, g, fn, arg, np.flatnonzero(~blank))
            out = np.full(flat.shape, np.nan)
            for i in np.flatnonzero(~blank):
                v = flat[i]
                if not _is_real(v):
                    raise KPIInputError(
                        fn, f"is {_kind_name(v)}; {what} is needed"
                        + (" (numbers stored as text are text)" if isinstance(v, str) else ""),
                        argument=arg, location=g.location(i), value=v, has_value=True,
                    )
                out[i] = to_float(v, fn, arg, g.location(i))
    bad = np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise KPIDomainError(fn, "is not a finite number", argument=arg, location=g.location(i),
                             value=float(out[i]), has_value=True)
    return out


def _check_domain(vals: np.ndarray, idx: np.ndarray, g: Grid, fn: str, arg: str,
                  min: float | None, max: float | None, integer: bool, domain: str | None) -> None:
    bad = np.zeros(vals.shape, dtype=bool)
    if min is not None:
        bad |= vals < min
    if max is not None:
        bad |= vals > max
    if integer:
        bad |= vals != np.floor(vals)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        if domain is None:
            parts = []
            if integer:
                parts.append("a whole number")
            if min is not None and max is not None:
                parts.append(f"between {min:g} and {max:g}")
            elif min is not None:
                parts.append("not negative" if min == 0 else f"at least {min:g}")
            elif max is not None:
                parts.append(f"at most {max:g}")
            domain = ("must not be negative" if parts == ["not negative"]
                      else "must be " + ", ".join(parts))
        v = vals[k]
        raise KPIDomainError(fn, domain, argument=arg, location=g.location(int(idx[k])),
                             value=int(v) if float(v).is_integer() else float(v), has_value=True)


# --------------------------------------------------------------------------
# The fast path: numbers already in a numeric array or Series
# --------------------------------------------------------------------------
def _plain_floats(x: Any) -> np.ndarray | None:
    """A numeric ndarray (1-D or 2-D) or Series as a flat, read-only float64 array; else None.

    A float64 input is not copied: the result is a read-only view of it (the
    library never writes into a validated input). Everything else — lists,
    DataFrames, object or extension dtypes, booleans, an empty input — returns
    None and takes the general path.
    """
    if isinstance(x, pd.Series):
        if not isinstance(x.dtype, np.dtype):
            return None
        x = x.to_numpy()
    elif not isinstance(x, np.ndarray) or x.ndim not in (1, 2):
        return None
    if x.dtype.kind not in "fiu" or x.size == 0:
        return None
    flat = x.reshape(-1)
    flat = flat.astype(np.float64) if flat.dtype != np.float64 else flat.view()
    flat.flags.writeable = False
    return flat


def _plain_ok(v: np.ndarray, min: float | None, max: float | None) -> bool:
    """True when ``v`` has no blank (NaN), no infinity and lies in [min, max]: two reductions.

    ``min``/``max`` of an array holding a NaN are NaN, so one test rules out
    blanks and infinities alike.
    """
    lo, hi = v.min(), v.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    return (min is None or lo >= min) and (max is None or hi <= max)


def _fast_numbers(x: Any, min: float | None, max: float | None, integer: bool) -> np.ndarray | None:
    """The values of a numeric array or Series when every one is valid (no blank, in the domain); else None.

    Validation is a few whole-array reductions instead of the general path's
    copies and masks; when anything is off, the general path runs and names
    the offending cell.
    """
    v = _plain_floats(x)
    if v is None or not _plain_ok(v, min, max):
        return None
    if integer and not bool((np.trunc(v) == v).all()):
        return None
    return v


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
def numbers(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
            integer: bool = False, domain: str | None = None) -> np.ndarray:
    """The non-blank numbers of ``x``, row by row, as a 1-D float array."""
    fast = _fast_numbers(x, min, max, integer)
    if fast is not None:
        return fast
    g = grid(x, fn, arg)
    flat = _numeric_flat(g, fn, arg)
    keep = np.flatnonzero(~np.isnan(flat))
    vals = flat[keep]
    _check_domain(vals, keep, g, fn, arg, min, max, integer, domain)
    return vals


def aligned_numbers(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
                    integer: bool = False, domain: str | None = None, blank: float | None = None) -> np.ndarray:
    """All cells of ``x`` row by row (1-D), blanks as NaN (or ``blank``), so rows stay aligned."""
    fast = _fast_numbers(x, min, max, integer)
    if fast is not None:
        return fast  # no blank to fill
    g = grid(x, fn, arg)
    flat = _numeric_flat(g, fn, arg)
    keep = np.flatnonzero(~np.isnan(flat))
    _check_domain(flat[keep], keep, g, fn, arg, min, max, integer, domain)
    if blank is not None:
        flat[np.isnan(flat)] = blank
    return flat


def whole_numbers(x: Any, fn: str, arg: str, *, min: int, max: int, domain: str | None = None) -> np.ndarray:
    """:func:`numbers` for whole numbers from ``min`` to ``max`` (a rating scale).

    A numeric array or Series without blanks whose values all lie in 0 … 255
    is checked with one cast and one comparison — a cell that is blank,
    infinite, fractional or outside 0 … 255 cannot survive the round trip
    through ``uint8`` — and returned as a ``uint8`` array (exact for these
    values; compare and count it like the float result). Anything else goes
    through :func:`numbers`, which names the offending cell.
    """
    v = _plain_floats(x)
    if v is not None and 0 <= min <= max <= 255:
        with np.errstate(invalid="ignore"):
            small = v.astype(np.uint8)
        if bool((small == v).all()) and (min == 0 or small.min() >= min) and small.max() <= max:
            return small
    return numbers(x, fn, arg, min=min, max=max, integer=True, domain=domain)


def total(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None) -> float:
    """Aggregate, then divide: the sum of the numbers in ``x`` (blanks ignored).

    An argument with no number at all leaves the KPI undefined.
    """
    vals = numbers(x, fn, arg, min=min, max=max)
    if vals.size == 0:
        raise KPIUndefinedError(fn, "has no numbers", argument=arg)
    with np.errstate(over="ignore", invalid="ignore"):
        return finite(vals.sum(), fn, "the sum", argument=arg)


def finite(x: float, fn: str, what: str = "the result", *, argument: str | None = None) -> float:
    """``x`` as a float; a value beyond the range of a double (overflow) is ``#NUM!``, as in Excel.

    Finite inputs can still overflow (1e308 + 1e308, 1 / 5e-324): the KPI is
    then out of reach of floating point, never a silent infinity or NaN.
    """
    x = float(x)
    if x != x or x in (np.inf, -np.inf):
        raise KPIDomainError(fn, f"{what} is too large to compute (beyond ±1.8e308)", argument=argument)
    return x


def ratio(num: float, den: float, fn: str, den_arg: str, what: str | None = None) -> float:
    """num / den, with a zero denominator reported as undefined (#DIV/0!) and overflow as #NUM!."""
    if den == 0:
        raise KPIUndefinedError(fn, what or "is 0, so the ratio is undefined", argument=den_arg)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return finite(num / den, fn)


def pair(start: Any, end: Any, fn: str, start_arg: str = "start", end_arg: str = "end",
         *, min: float | None = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer start/end values, aligned row by row; a blank means 0.

    With ``end`` omitted, ``start`` must be one two-column range (start in the
    first column, end in the second).
    """
    if end is None or (isinstance(end, (list, tuple)) and len(end) == 0
                       and not _is_sequence(start) and not isinstance(start, pd.DataFrame)):
        if isinstance(start, np.ndarray) and start.ndim == 2 and start.shape[1] == 2:
            both = _plain_floats(start)
            if both is not None and _plain_ok(both, min, None):
                both = both.reshape(-1, 2)
                return both[:, 0], both[:, 1]
        g = grid(start, fn, start_arg)
        if g.size == 0:
            raise KPIUndefinedError(fn, "has no rows", argument=start_arg)
        if g.ncols != 2 or not g.is2d:
            raise KPIInputError(
                fn, f"give '{end_arg}' as well, or one range of two columns "
                f"({start_arg} in the first, {end_arg} in the second); got {g.ncols} column(s)",
                argument=start_arg,
            )
        flat = _numeric_flat(g, fn, start_arg)
        keep = np.flatnonzero(~np.isnan(flat))
        if keep.size == 0:
            raise KPIUndefinedError(fn, "has no numbers", argument=start_arg)
        _check_domain(flat[keep], keep, g, fn, start_arg, min, None, False, None)
        flat = np.where(np.isnan(flat), 0.0, flat).reshape(-1, 2)
        return flat[:, 0].copy(), flat[:, 1].copy()
    s, e = _plain_floats(start), _plain_floats(end)
    if s is not None and e is not None and s.size == e.size and _plain_ok(s, min, None) and _plain_ok(e, min, None):
        return s, e  # numeric arrays without a blank: nothing to align or fill
    s = aligned_numbers(start, fn, start_arg, min=min)
    e = aligned_numbers(end, fn, end_arg, min=min)
    if s.size != e.size:
        raise KPIInputError(
            fn, f"'{start_arg}' has {s.size} cells but '{end_arg}' has {e.size}; the ranges must be aligned",
            argument=end_arg,
        )
    if s.size == 0:
        raise KPIUndefinedError(fn, "has no rows", argument=start_arg)
    if np.isnan(s).all() and np.isnan(e).all():
        raise KPIUndefinedError(fn, "has no numbers", argument=start_arg)
    return np.nan_to_num(s, nan=0.0), np.nan_to_num(e, nan=0.0)


# --------------------------------------------------------------------------
# Labels (customer ids, product ids) and dates
# --------------------------------------------------------------------------
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
    for i in nb:
        v = flat[i]
        if isinstance(v, (bool, np.bool_)):
            raise KPIInputError(fn, "is a boolean; an identifier is needed", argument=arg,
                                location=g.location(i), value=v, has_value=True)
        if isinstance(v, float) or isinstance(v, np.floating):
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


def excel_serial_to_datetime64(serial: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (1900 date system) to datetime64[ms].

    Serial 1 is 1900-01-01; serials from 61 on (1900-03-01) are exact. Excel's
    fictitious 1900-02-29 (serial 60) does not exist in any calendar.
    """
    serial = np.asarray(serial, dtype=float)
    ms = np.round(serial * 86_400_000.0).astype(np.int64)
    out = EXCEL_EPOCH + ms.astype("timedelta64[ms]")
    early = serial < 61
    if early.any():
        out = np.where(early, out + np.timedelta64(1, "D"), out)
    return out


_NOT_A_SERIAL = "is not a valid Excel date serial number"


def dates(x: Any, fn: str, arg: str, *, min_serial: float = 1.0) -> np.ndarray:
    """Dates row by row as datetime64[ms] (NaT for blanks).

    Accepts Excel serial numbers, date / datetime values, numpy datetime64 and
    ISO strings (``2026-03``, ``2026-03-15``, ``2026-03-15T09:30``).
    """
    g = grid(x, fn, arg)
    return _dates_flat(g, g.flat(), fn, arg, min_serial)


def _dates_flat(g: Grid, flat: np.ndarray, fn: str, arg: str, min_serial: float = 1.0,
                index: np.ndarray | None = None) -> np.ndarray:
    """Convert a flat array of date-ish values; ``index`` maps to flat grid positions."""
    pos = (lambda k: g.location(int(k if index is None else index[k])))
    if flat.dtype.kind == "M":
        return flat.astype("datetime64[ms]")
    if flat.dtype.kind in "iuf":
        vals = flat.astype(float)
        out = np.full(vals.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
        ok = ~np.isnan(vals)
        bad = ok & ((vals < min_serial) | ~np.isfinite(vals) | (vals > 2958465.99999))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise KPIDomainError(fn, _NOT_A_SERIAL, argument=arg,
                                 location=pos(k), value=float(vals[k]), has_value=True)
        out[ok] = excel_serial_to_datetime64(vals[ok])
        return out
    blank = _blank_mask(flat)
    out = np.full(flat.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
    nbi = np.flatnonzero(~blank)
    if nbi.size == 0:
        return out
    nb = flat[nbi]
    kind = pd.api.types.infer_dtype(nb, skipna=False)
    if kind == "string":
        out[nbi] = _parse_iso(nb, nbi, fn, arg, pos)
        return out
    if kind in _DATE_KINDS:
        out[nbi] = _to_dt64(nb)
        return out
    if kind in _NUMERIC_KINDS:
        out[nbi] = _dates_flat(g, _floats(nb, fn, arg, lambda k: pos(nbi[k]), _NOT_A_SERIAL), fn, arg, min_serial,
                               index=nbi if index is None else index[nbi])
        return out
    # mixed kinds: classify one by one (only on unusual inputs)
    for k, v in zip(nbi, nb):
        if isinstance(v, str) and v in EXCEL_ERRORS:
            raise KPIErrorValue(fn, v, argument=arg, location=pos(k))
    strs, dts, nums = [], [], []
    for k, v in zip(nbi, nb):
        if isinstance(v, str):
            strs.append(k)
        elif isinstance(v, (_dt.date, np.datetime64, pd.Timestamp)):
            dts.append(k)
        elif _is_real(v):
            nums.append(k)
        else:
            raise KPIInputError(fn, f"is {_kind_name(v)}; a date is needed", argument=arg,
                                location=pos(k), value=v, has_value=True)
    if strs:
        idx = np.array(strs)
        out[idx] = _parse_iso(flat[idx], idx, fn, arg, pos)
    if dts:
        idx = np.array(dts)
        out[idx] = _to_dt64(flat[idx])
    if nums:
        idx = np.array(nums)
        out[idx] = _dates_flat(g, _floats(flat[idx], fn, arg, lambda k: pos(idx[k]), _NOT_A_SERIAL), fn, arg, min_serial,
                               index=idx if index is None else index[idx])
    return out


def _to_dt64(vals: np.ndarray) -> np.ndarray:
    """date / datetime / Timestamp / datetime64 objects to datetime64[ms] (time-zone aware: wall time)."""
    try:
        ser = pd.to_datetime(pd.Series(vals, dtype=object), utc=False, errors="raise")
    except pd.errors.OutOfBoundsDatetime:
        # pandas 2 holds parsed values in nanoseconds (to 2262-04-11); numpy's own
        # conversion has the whole calendar (rare inputs only, one pass over them)
        return np.array([v.replace(tzinfo=None) if isinstance(v, _dt.datetime) and v.tzinfo is not None else v
                         for v in vals], dtype="datetime64[ms]")
    if getattr(ser.dtype, "tz", None) is not None:
        ser = ser.dt.tz_localize(None)
    return ser.to_numpy(dtype="datetime64[ms]")


#: what the wide-range fallback of :func:`parse_iso` accepts: YYYY-MM, YYYY-MM-DD,
#: then optionally a time (T or a space, HH:MM, :SS, fractions), no time zone
_ISO_PLAIN = r"\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?"


def parse_iso(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse stripped ISO date strings to datetime64[ms]; returns (dates, not-a-date mask).

    pandas parses what it can (every ISO 8601 form); strings it cannot hold
    (pandas 2 keeps nanoseconds, which end at 2262-04-11) are parsed again by
    numpy in milliseconds when they are plain ISO dates, so every date from
    year 1 to 9999 is exact under every pandas version — never a wrapped one.
    A bare year ("2026") is not a date: a month needs at least YYYY-MM.
    """
    s = s.astype(object)
    parsed = pd.to_datetime(s, format="ISO8601", errors="coerce")
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    out = parsed.to_numpy(dtype="datetime64[ms]")
    short = (s.str.len() < 7).to_numpy(dtype=bool)
    retry = np.isnat(out) & ~short & s.str.fullmatch(_ISO_PLAIN).to_numpy(dtype=bool, na_value=False)
    if retry.any():
        idx = np.flatnonzero(retry)
        texts = s.to_numpy(dtype=object)[idx].tolist()
        try:
            out[idx] = np.array(texts, dtype="datetime64[ms]")
        except ValueError:  # some are not calendar dates (2600-02-30): find them one by one
            for i, t in zip(idx, texts):
                try:
                    out[i] = np.datetime64(t, "ms")
                except ValueError:
                    pass
    return out, np.isnat(out) | short


def _parse_iso(vals: np.ndarray, idx: np.ndarray, fn: str, arg: str, pos) -> np.ndarray:
    """Parse ISO date strings; each distinct string is parsed once (months repeat a lot)."""
    codes, uniques = pd.factorize(pd.Series(vals, dtype=object), sort=False)
    uniq = np.asarray(uniques, dtype=object)
    err = pd.Series(uniq, dtype=object).isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    if err.any():
        k = int(np.flatnonzero(np.isin(codes, np.flatnonzero(err)))[0])
        raise KPIErrorValue(fn, vals[k], argument=arg, location=pos(idx[k]))
    parsed, bad = parse_iso(pd.Series(uniq, dtype=object).str.strip())
    if bad.any():
        k = int(np.flatnonzero(np.isin(codes, np.flatnonzero(bad)))[0])
        raise KPIInputError(fn, "is text that is not a date; use a date, an Excel serial number "
                            "or an ISO date such as 2026-03 or 2026-03-15",
                            argument=arg, location=pos(idx[k]), value=vals[k], has_value=True)
    return parsed[codes]


def month_index(d: np.ndarray) -> np.ndarray:
    """Calendar month of each datetime64 as an integer (months since 1970-01)."""
    return d.astype("datetime64[M]").astype(np.int64)


def index_to_month(m: np.ndarray | int) -> np.ndarray:
    """Inverse of :func:`month_index`: the first day of each month, datetime64[ms].

    Milliseconds, not nanoseconds: datetime64[ns] ends at 2262-04-11 and numpy's
    cast to it wraps later months round silently.
    """
    return np.asarray(m, dtype=np.int64).astype("datetime64[M]").astype("datetime64[ms]")


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id" | "date" | "number" | "flag"
    blank: str = "error"  # "error" | "zero" | "keep"
    min: float | None = None
    max: float | None = None
    optional: bool = False  # a trailing column that may be left out


@dataclass
class Table:
    """A validated table: one 1-D array per column (blank rows removed)."""

    columns: dict[str, np.ndarray]
    rows: np.ndarray  # 1-based row number of each kept row within the range passed
    header: bool
    grid: Grid
    #: id column -> (integer codes, identifiers in first-appearance order), when the
    #: reader already factorised the column (DataFrames); callers that group by an
    #: identifier can use them instead of hashing the labels again
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.columns and name in self.codes:  # labels of a factorised column, made when asked for
            k, uniques = self.codes[name]
            self.columns[name] = uniques[k]
        return self.columns[name]

    def __len__(self) -> int:
        return int(self.rows.size)


def _looks_like_header(row: np.ndarray, cols: Sequence[Column]) -> bool:
    if row.dtype != object:
        return False
    if not all(isinstance(v, str) and v != "" and v not in EXCEL_ERRORS for v in row):
        return False
    for v, c in zip(row, cols):
        if c.kind in ("number", "flag"):
            return True
        if c.kind == "date" and parse_iso(pd.Series([v.strip()], dtype=object))[1][0]:
            return True
    return False


def _table_columns(x: Any, fn: str, arg: str) -> tuple[list[np.ndarray], Grid]:
    """The columns of a table argument, each 1-D in its own type, and a grid for positions.

    A DataFrame is read column by column (integers stay exact, datetimes stay
    datetime64), which is both faster and more faithful than one object array.
    """
    if isinstance(x, pd.DataFrame):
        cols = []
        for j in range(x.shape[1]):
            s = x.iloc[:, j]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                d = s.dt.tz_localize(None) if getattr(s.dtype, "tz", None) is not None else s
                cols.append(d.to_numpy(dtype="datetime64[ms]"))
            else:
                cols.append(_series_values(s, keep_int=True))
        shape = (x.shape[0], max(x.shape[1], 1))
        return cols, Grid(np.broadcast_to(np.zeros((), dtype=bool), shape), True)
    g = grid(x, fn, arg)
    return [g.values[:, j] for j in range(g.ncols)] if g.values.ndim == 2 else [], g


_ERROR_LIST = sorted(EXCEL_ERRORS)


def _fast_table(x: Any, cols: Sequence[Column]) -> Table | None:
    """A DataFrame whose columns already hold the right types, read with whole-column operations.

    Identifiers in a string or integer column, dates in a datetime64 column,
    numbers in a float or integer column; no blank identifier or date (unless
    the column keeps blanks), numbers finite and in their domain. Identifier
    columns are factorised once (``Table.codes``). Returns None for anything
    else — the general path then reads the table and names any bad cell.
    """
    if not isinstance(x, pd.DataFrame) or x.shape[0] == 0:
        return None
    if not (sum(not c.optional for c in cols) <= x.shape[1] <= len(cols)):
        return None
    out: dict[str, np.ndarray] = {}
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, c in enumerate(cols[: x.shape[1]]):
        s = x.iloc[:, j]
        dt = s.dtype
        numpy_dtype = isinstance(dt, np.dtype)
        if c.kind == "id":
            if isinstance(dt, pd.StringDtype):
                k, uniq = pd.factorize(s)
                u = np.asarray(uniq, dtype=object)
                if (k < 0).any() or (u == "").any() or np.isin(u, _ERROR_LIST).any():
                    return None
            elif numpy_dtype and dt.kind in "iu":
                k, uniq = pd.factorize(s.to_numpy(dtype=np.int64))
                u = uniq.astype(object)  # Python ints, as the general path gives
            else:
                return None
            codes[c.name] = (k.astype(np.int64, copy=False), u)  # the labels, u[k], are made on first use
        elif c.kind == "date":
            if not (numpy_dtype and dt.kind == "M"):
                return None
            d = s.to_numpy(dtype="datetime64[ms]")
            if c.blank != "keep" and np.isnat(d).any():
                return None
            out[c.name] = d
        else:  # number, flag
            if not (numpy_dtype and dt.kind in "fiu"):
                return None
            v = s.to_numpy(dtype=np.float64)
            if c.blank == "zero" and np.isnan(v).any():
                v = np.where(np.isnan(v), 0.0, v)
            if not _plain_ok(v, c.min, c.max):
                return None
            out[c.name] = v
    n = x.shape[0]
    grid_ = Grid(np.broadcast_to(np.zeros((), dtype=bool), (n, x.shape[1])), True)
    return Table(out, np.arange(1, n + 1), False, grid_, codes)


def table(x: Any, fn: str, arg: str, cols: Sequence[Column]) -> Table:
    """Validate a table argument (2-D, columns by position, optional text header row).

    Rows that are entirely blank are dropped (ranges often reach past the
    data). In any other row a blank follows the column's rule.
    """
    fast = _fast_table(x, cols)
    if fast is not None:
        return fast
    columns, g = _table_columns(x, fn, arg)
    required = sum(not c.optional for c in cols)
    if g.size == 0:
        raise KPIUndefinedError(fn, "has no rows", argument=arg)
    if not g.is2d and len(cols) > 1:
        raise KPIInputError(fn, f"needs a table of {required} columns ({', '.join(c.name for c in cols)}); "
                            "got a single column", argument=arg)
    if not (required <= g.ncols <= len(cols)):
        want = f"{required}" if required == len(cols) else f"{required} to {len(cols)}"
        raise KPIInputError(fn, f"needs {want} columns ({', '.join(c.name for c in cols)}); got {g.ncols}",
                            argument=arg)
    cols = list(cols[: g.ncols])
    first = np.empty(len(columns), dtype=object)
    for j, col in enumerate(columns):
        first[j] = col[0]
    header = g.nrows > 0 and _looks_like_header(first, cols)
    offset = 2 if header else 1
    bodies = [col[1:] if header else col for col in columns]
    blanks = [_blank_mask(b) for b in bodies]
    all_blank = np.logical_and.reduce(blanks) if blanks else np.zeros(0, dtype=bool)
    kept = np.flatnonzero(~all_blank)
    rows = kept + offset
    out: dict[str, np.ndarray] = {}
    ncols = g.ncols
    for j, c in enumerate(cols):
        colv = bodies[j][kept]
        cblank = blanks[j][kept]
        flat_index = (rows - 1) * ncols + j  # position within the whole grid
        if c.blank == "error" and cblank.any():
            k = int(np.flatnonzero(cblank)[0])
            raise KPIInputError(fn, f"is blank; every row needs a {c.name}", argument=arg,
                                location=g.location(int(flat_index[k]), c.name))
        if c.kind == "id":
            out[c.name] = _labels_from(colv, g, flat_index, fn, arg)
        elif c.kind == "date":
            out[c.name] = _dates_flat(g, colv, fn, arg, index=flat_index)
        elif c.kind in ("number", "flag"):
            vals = _numeric_sub(colv, g, flat_index, fn, arg, c)
            if c.blank == "zero":
                vals = np.where(np.isnan(vals), 0.0, vals)
            out[c.name] = vals
        else:  # pragma: no cover - programming error
            raise ValueError(c.kind)
    return Table(out, rows, header, g)


def _labels_from(colv: np.ndarray, g: Grid, flat_index: np.ndarray, fn: str, arg: str) -> np.ndarray:
    try:
        return labels(colv, fn, arg)
    except KPIInputError as err:  # re-anchor the error onto the table's cells
        raise _onto_table(err, g, flat_index, fn, arg) from None


def _onto_table(err: KPIInputError, g: Grid, flat_index: np.ndarray, fn: str, arg: str,
                reason: str | None = None) -> KPIInputError:
    """An error about item k of one column, re-anchored onto that cell of the whole table."""
    k = err.location.row - 1 if err.location is not None else 0
    new = err.relocated(g.location(int(flat_index[k])), function=fn, argument=arg, reason=reason)
    if not isinstance(err, KPIErrorValue):
        new.has_value = True
        new.args = (new._compose(),)
    return new


def _numeric_sub(colv: np.ndarray, g: Grid, flat_index: np.ndarray, fn: str, arg: str, c: Column) -> np.ndarray:
    sub = Grid(colv.reshape(-1, 1), False)
    try:
        vals = _numeric_flat(sub, fn, arg, "a number" if c.kind == "number" else "1/TRUE or 0/FALSE")
    except KPIErrorValue as err:
        raise _onto_table(err, g, flat_index, fn, arg) from None
    except KPIInputError as err:
        raise _onto_table(err, g, flat_index, fn, arg, err.reason + f" in column '{c.name}'") from None
    keep = np.flatnonzero(~np.isnan(vals))
    _check_domain(vals[keep], flat_index[keep], g, fn, arg, c.min, c.max, False, None)
    return vals


# --------------------------------------------------------------------------
# Options (single values)
# --------------------------------------------------------------------------
def _single(x: Any, fn: str, arg: str) -> Any:
    """The one value of an option; a one-cell range is fine. Blank -> None."""
    if x is None:
        return None
    if isinstance(x, (list, tuple, np.ndarray, pd.Series, pd.DataFrame)):
        g = grid(x, fn, arg)
        if g.size == 0:
            return None
        if g.size != 1:
            raise KPIInputError(fn, f"must be a single value, got a range of {g.size} cells", argument=arg)
        x = g.flat()[0]
    if is_blank_value(x):
        return None
    if isinstance(x, str) and x in EXCEL_ERRORS:
        raise KPIErrorValue(fn, x, argument=arg)
    return x


def option_number(x: Any, fn: str, arg: str, default: float | None, *, min: float | None = None,
                  max: float | None = None, integer: bool = False, domain: str | None = None,
                  min_open: bool = False, max_open: bool = False) -> float | None:
    """A numeric option; blank or omitted gives ``default``."""
    v = _single(x, fn, arg)
    if v is None:
        return default
    if not _is_real(v):
        raise KPIInputError(fn, f"is {_kind_name(v)}; a number is needed", argument=arg, value=v, has_value=True)
    f = to_float(v, fn, arg)
    if not np.isfinite(f):
        raise KPIDomainError(fn, "is not a finite number", argument=arg, value=f, has_value=True)
    bad = (min is not None and (f < min or (min_open and f == min))) \
        or (max is not None and (f > max or (max_open and f == max))) \
        or (integer and not f.is_integer())
    if bad:
        if domain is None:
            lo = "" if min is None else (f"greater than {min:g}" if min_open else f"at least {min:g}")
            hi = "" if max is None else (f"less than {max:g}" if max_open else f"at most {max:g}")
            domain = "must be " + " and ".join(p for p in ((("a whole number") if integer else ""), lo, hi) if p)
        raise KPIDomainError(fn, domain, argument=arg, value=int(f) if f.is_integer() else f, has_value=True)
    return f


def option_text(x: Any, fn: str, arg: str, default: str, choices: Sequence[str]) -> str:
    """A text option chosen from ``choices`` (case-insensitive); blank gives ``default``."""
    v = _single(x, fn, arg)
    if v is None:
        return default
    if not isinstance(v, str):
        raise KPIInputError(fn, f"is {_kind_name(v)}; one of {', '.join(repr(c) for c in choices)} is needed",
                            argument=arg, value=v, has_value=True)
    low = v.strip().lower()
    for c in choices:
        if c.lower() == low:
            return c
    raise KPIInputError(fn, f"is not one of {', '.join(repr(c) for c in choices)}", argument=arg,
                        value=v, has_value=True)


def option_bool(x: Any, fn: str, arg: str, default: bool) -> bool:
    """A TRUE/FALSE option (1/0 also accepted); blank gives ``default``."""
    v = _single(x, fn, arg)
    if v is None:
        return default
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if _is_real(v) and (v == 0 or v == 1):
        return bool(v)
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    raise KPIInputError(fn, "must be TRUE or FALSE", argument=arg, value=v, has_value=True)
