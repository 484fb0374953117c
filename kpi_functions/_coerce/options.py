"""Options: single values (a number, a choice of text, TRUE/FALSE); a one-cell range is fine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from .._errors import EXCEL_ERRORS, KPIDomainError, KPIErrorValue, KPIInputError
from .cells import _is_real, _kind_name, grid, is_blank_value
from .numeric import to_float


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


@overload
def option_number(x: Any, fn: str, arg: str, default: float, *, min: float | None = None,
                  max: float | None = None, integer: bool = False, domain: str | None = None,
                  min_open: bool = False, max_open: bool = False) -> float: ...
@overload
def option_number(x: Any, fn: str, arg: str, default: None, *, min: float | None = None,
                  max: float | None = None, integer: bool = False, domain: str | None = None,
                  min_open: bool = False, max_open: bool = False) -> float | None: ...
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
