"""Numbers: validated float64 arrays, sums and ratios.

Every reader has two paths with one outcome. The fast path takes a numeric
ndarray or Series whose values are all valid (no blank, finite, in the
domain), checked with a few whole-array reductions; anything else — lists,
object arrays, a blank, a value out of the domain — takes the general path,
which reads cell by cell where it must and names the offending cell. Both
return float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import KPIDomainError, KPIInputError, KPIUndefinedError, Location
from .cells import _NUMERIC_KINDS, Grid, _blank_mask, _first_error_value, _is_real, _is_sequence, _kind_name, grid

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


def _floats(vals: np.ndarray, fn: str, arg: str, pos: Callable[[int], Location],
            reason: str = TOO_LARGE) -> np.ndarray:
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
            for i in np.flatnonzero(~blank).tolist():
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


def numbers(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
            integer: bool = False, domain: str | None = None) -> np.ndarray:
    """The non-blank numbers of ``x``, row by row, as a 1-D float array."""
    fast = _fast_numbers(x, min, max, integer)
    if fast is not None:
        return fast
    return _numbers_general(x, fn, arg, min=min, max=max, integer=integer, domain=domain)


def _numbers_general(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
                     integer: bool = False, domain: str | None = None) -> np.ndarray:
    """:func:`numbers` without the fast path."""
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
    return _aligned_general(x, fn, arg, min=min, max=max, integer=integer, domain=domain, blank=blank)


def _aligned_general(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
                     integer: bool = False, domain: str | None = None, blank: float | None = None) -> np.ndarray:
    """:func:`aligned_numbers` without the fast path."""
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
    through ``uint8`` — and its float64 values are returned. Anything else
    goes through :func:`numbers`, which names the offending cell.
    """
    fast = _fast_whole(x, min, max)
    if fast is not None:
        return fast
    return numbers(x, fn, arg, min=min, max=max, integer=True, domain=domain)


def _fast_whole(x: Any, min: int, max: int) -> np.ndarray | None:
    """The values of a numeric array or Series of whole numbers in [min, max] within 0 … 255; else None."""
    v = _plain_floats(x)
    if v is None or not 0 <= min <= max <= 255:
        return None
    with np.errstate(invalid="ignore"):
        small = v.astype(np.uint8)
    if bool((small == v).all()) and (min == 0 or small.min() >= min) and small.max() <= max:
        return v
    return None


def total(x: Any, fn: str, arg: str, *, min: float | None = None, max: float | None = None,
          empty: float | None = None) -> float:
    """Aggregate, then divide: the sum of the numbers in ``x`` (blanks ignored).

    An argument with no number at all leaves the KPI undefined, unless the KPI
    has a natural value for nothing (``empty``: the MRR of no subscription is 0).
    """
    vals = numbers(x, fn, arg, min=min, max=max)
    if vals.size == 0:
        if empty is not None:
            return float(empty)
        raise KPIUndefinedError(fn, "has no numbers", argument=arg)
    with np.errstate(over="ignore", invalid="ignore"):
        return finite(vals.sum(), fn, "the sum", argument=arg)


def finite(x: float, fn: str, what: str = "the result", *, argument: str | None = None) -> float:
    """``x`` as a float; a value beyond the range of a double (overflow) is ``#NUM!``, as in Excel.

    Finite inputs can still overflow (1e308 + 1e308, 1 / 5e-324): the KPI is
    then out of reach of floating point, never a silent infinity or NaN.
    """
    x = float(x)
    if not math.isfinite(x):
        raise KPIDomainError(fn, f"{what} is too large to compute (beyond ±1.8e308)", argument=argument)
    return x


def ratio(num: float, den: float, fn: str, den_arg: str, what: str | None = None) -> float:
    """num / den, with a zero denominator reported as undefined (#DIV/0!) and overflow as #NUM!."""
    if den == 0:
        raise KPIUndefinedError(fn, what or "is 0, so the ratio is undefined", argument=den_arg)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return finite(num / den, fn)


def total_ratio(num: Any, den: Any, fn: str, num_arg: str, den_arg: str, what: str | None = None, *,
                num_min: float | None = 0.0) -> float:
    """Aggregate, then divide: ``total(num) / total(den)``, the denominator not negative.

    The numerator is not negative either unless ``num_min`` says otherwise
    (``None``: any sign). The numerator is read first, so its errors come first.
    """
    n = total(num, fn, num_arg, min=num_min)
    return ratio(n, total(den, fn, den_arg, min=0), fn, den_arg, what)


def total_growth(start: Any, end: Any, fn: str, start_arg: str, end_arg: str, what: str | None = None) -> float:
    """``(total(end) − total(start)) / total(start)``, neither negative; ``start`` is read first."""
    s = total(start, fn, start_arg, min=0)
    e = total(end, fn, end_arg, min=0)
    return ratio(e - s, s, fn, start_arg, what)


def pair(start: Any, end: Any, fn: str, start_arg: str = "start", end_arg: str = "end",
         *, min: float | None = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer start/end values, aligned row by row; a blank means 0.

    With ``end`` omitted, ``start`` must be one two-column range (start in the
    first column, end in the second).
    """
    fast = _fast_pair(start, end, min)
    if fast is not None:
        return fast
    return _pair_general(start, end, fn, start_arg, end_arg, min=min)


def _one_range(start: Any, end: Any) -> bool:
    """True when the pair is given as one two-column range (``end`` omitted)."""
    return end is None or (isinstance(end, (list, tuple)) and len(end) == 0
                           and not _is_sequence(start) and not isinstance(start, pd.DataFrame))


def _fast_pair(start: Any, end: Any, min: float | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Numeric arrays without a blank, in the domain: nothing to align or fill; else None."""
    if _one_range(start, end):
        if isinstance(start, np.ndarray) and start.ndim == 2 and start.shape[1] == 2:
            both = _plain_floats(start)
            if both is not None and _plain_ok(both, min, None):
                both = both.reshape(-1, 2)
                return both[:, 0], both[:, 1]
        return None
    s, e = _plain_floats(start), _plain_floats(end)
    if s is not None and e is not None and s.size == e.size and _plain_ok(s, min, None) and _plain_ok(e, min, None):
        return s, e
    return None


def _pair_general(start: Any, end: Any, fn: str, start_arg: str = "start", end_arg: str = "end",
                  *, min: float | None = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pair` without the fast path."""
    if _one_range(start, end):
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
