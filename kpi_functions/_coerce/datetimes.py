"""Dates: Excel serial numbers, date values and ISO text to datetime64[ms].

One ISO rule, :func:`parse_iso`, decides what text is a date — for date
arguments, for a table's header row, and for the data files the templates
read: ``YYYY-MM``, ``YYYY-MM-DD``, optionally followed by a time (T or a
space, ``HH:MM``, ``:SS``, fractions); a bare year is not a date.
Milliseconds throughout: datetime64[ns] ends at 2262-04-11.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._errors import EXCEL_ERRORS, KPIDomainError, KPIErrorValue, KPIInputError, Location
from .cells import _DATE_KINDS, _NUMERIC_KINDS, Grid, _blank_mask, _is_real, _kind_name, grid
from .numeric import _floats

EXCEL_EPOCH = np.datetime64("1899-12-30", "ms")


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
    def pos(k: int) -> Location:
        return g.location(int(k if index is None else index[k]))

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
    for k, v in zip(nbi.tolist(), nb):
        if isinstance(v, str) and v in EXCEL_ERRORS:
            raise KPIErrorValue(fn, v, argument=arg, location=pos(k))
    strs, dts, nums = [], [], []
    for k, v in zip(nbi.tolist(), nb):
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


def _parse_iso(vals: np.ndarray, idx: np.ndarray, fn: str, arg: str, pos: Callable[[int], Location]) -> np.ndarray:
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
