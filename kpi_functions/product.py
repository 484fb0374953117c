"""Product and service KPIs: stickiness (DAU / MAU) and durations (lead, wait, resolution time)."""

from __future__ import annotations

import numbers as _numbers
import re
from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import EXCEL_ERRORS, KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError
from ._registry import kpi
from .survival import _position

__all__ = ["avg_duration", "stickiness"]

_CAT = "Product and service"

_MS = {"minutes": 60_000.0, "hours": 3_600_000.0, "days": 86_400_000.0}
_DAY_MS = 86_400_000


# --------------------------------------------------------------------------
# Private helpers
# --------------------------------------------------------------------------
def _is_real(v: Any) -> bool:
    return isinstance(v, _numbers.Real) and not isinstance(v, (bool, np.bool_))


def _single_number(x: Any, fn: str, arg: str) -> bool:
    """True when ``x`` is one number (or a one-cell range holding one number)."""
    if _is_real(x):
        return not np.isnan(c.to_float(x, fn, arg))
    if isinstance(x, (list, tuple, np.ndarray, pd.Series, pd.DataFrame)):
        g = c.grid(x, fn, arg)
        if g.size != 1:
            return False
        v = g.flat()[0]
        return _is_real(v) and not np.isnan(c.to_float(v, fn, arg))
    return False


def _one_text(x: Any, fn: str, arg: str) -> str | None:
    """A single text option (a one-cell range is fine); blank -> None."""
    if isinstance(x, (list, tuple, np.ndarray, pd.Series, pd.DataFrame)):
        g = c.grid(x, fn, arg)
        if g.size == 0:
            return None
        if g.size != 1:
            raise KPIInputError(fn, f"must be a single value, got a range of {g.size} cells", argument=arg)
        x = g.flat()[0]
    if c.is_blank_value(x):
        return None
    if isinstance(x, str) and x in EXCEL_ERRORS:
        raise KPIErrorValue(fn, x, argument=arg)
    if not isinstance(x, str):
        raise KPIInputError(fn, "must be text such as \"09:00-17:00\"", argument=arg, value=x, has_value=True)
    return x


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def _business_hours(x: Any, fn: str) -> tuple[int, int] | None:
    """Parse ``"09:00-17:00"`` into (start, end) in milliseconds after midnight."""
    text = _one_text(x, fn, "business_hours")
    if text is None:
        return None
    m = _HOURS.match(text)
    if not m:
        raise KPIInputError(fn, "is not a working-hours range; write it as \"09:00-17:00\"",
                            argument="business_hours", value=text, has_value=True)
    h0, m0, h1, m1 = (int(g) for g in m.groups())
    if m0 > 59 or m1 > 59 or h0 > 23 or h1 > 24 or (h1 == 24 and m1 != 0):
        raise KPIDomainError(fn, "holds a time that does not exist (hours 00–24, minutes 00–59)",
                             argument="business_hours", value=text, has_value=True)
    start = (h0 * 60 + m0) * 60_000
    end = (h1 * 60 + m1) * 60_000
    if end <= start:
        raise KPIDomainError(fn, "must end after it starts on the same day (night shifts across midnight are "
                             "not supported)", argument="business_hours", value=text, has_value=True)
    return start, end


def _check_aligned(fn: str, first: str, a: np.ndarray, other: str, b: np.ndarray) -> None:
    if a.size != b.size:
        raise KPIInputError(fn, f"'{first}' has {a.size} cells but '{other}' has {b.size}; "
                            "the ranges must be aligned row by row", argument=other)


def _business_ms(s: np.ndarray, e: np.ndarray, hours: tuple[int, int], holidays: np.ndarray) -> np.ndarray:
    """Working time between ``s`` and ``e`` (datetime64[ms], s ≤ e) in milliseconds.

    Working time runs from ``hours[0]`` to ``hours[1]`` on business days
    (Monday–Friday except ``holidays``). With W(t) the working time from the
    start of t's day to t, the time between s and e is
    ``busdays[day(s), day(e)) × L + W(e) − W(s)``: whole business days by
    ``np.busday_count`` plus the partial last day minus the partial first.
    """
    h0, h1 = hours
    length = h1 - h0
    sd = s.astype("datetime64[D]")
    ed = e.astype("datetime64[D]")
    whole = np.busday_count(sd, ed, holidays=holidays)

    def partial(t: np.ndarray, day: np.ndarray) -> np.ndarray:
        tod = (t - day.astype("datetime64[ms]")).astype(np.int64)
        return np.where(np.is_busday(day, holidays=holidays), np.clip(tod - h0, 0, length), 0)

    return whole.astype(np.int64) * length + partial(e, ed) - partial(s, sd)


# --------------------------------------------------------------------------
# Stickiness
# --------------------------------------------------------------------------
@kpi(
    category=_CAT,
    summary="Stickiness: average daily active users / monthly active users for a month.",
    formula="(Σ_days DAU / days in month) / MAU; or AVERAGE(dau) / mau",
    unit="fraction",
    args={
        "user_ids": "User of each activity row (or, with a single MAU number as second argument, the daily "
                    "active user counts)",
        "dates": "Date of each activity row, aligned with user_ids (or the month's MAU as a single number)",
        "month": "Month to measure (any date in it, or 2026-03); default: the latest month in the data",
    },
    kinds={"user_ids": "ids", "dates": "dates", "month": "dates"},
    example=(["u1", "u2", "u1", "u3", "u1", "u2"],
             ["2026-02-01", "2026-02-01", "2026-02-02", "2026-02-02", "2026-02-03", "2026-02-28"]),
)
def stickiness(user_ids: Any, dates: Any, month: Any = None) -> float:
    """Stickiness: the average daily active users over the month's active users.

    Two forms:

    * ``stickiness(user_ids, dates, [month])`` — an activity log, one row
      per event (a user may appear many times a day). DAU of a day = distinct
      users active that day; MAU = distinct users active in the month.
    * ``stickiness(dau, mau)`` — already counted: a range of daily active
      user counts (whole numbers; blanks ignored; enter a day without
      activity as 0) and the month's MAU as **one number**.

    The form is chosen by the second argument: a single number (not a date,
    and no ``month`` given) selects the counted form; a range of dates, a
    date value or date text selects the log form. (A log of a single row must
    therefore give its date as a date or ISO text, not as a serial number.)

    Parameters
    ----------
    user_ids : range
        User of each activity row (text or numbers), or the DAU counts.
    dates : range or number
        Date (or date-time) of each activity row, aligned with
        ``user_ids``: Excel serials, dates or ISO text. Or the month's MAU.
    month : date, optional
        The month to measure, given by any date in it (``2026-03``,
        ``2026-03-15``, a date serial). Default: the month of the latest date.

    Returns
    -------
    float
        DAU / MAU as a fraction (0.2 means the average user is active on
        about one day in five).

    Raises
    ------
    KPIInputError
        A blank user with a date or a date without a user, text that is not
        a date, ranges of different length, a range as ``month``.
    KPIDomainError
        Counts that are negative or fractional, or a day's DAU above MAU.
    KPIUndefinedError
        No activity rows (no counts), no activity in the month, MAU of 0.

    Notes
    -----
    ``stickiness = (Σ_{d in month} DAU_d / days in month) / MAU``. The
    average runs over **every calendar day** of the month: a day without
    activity counts 0, so a month of 31 days always divides by 31. In the
    counted form it is ``AVERAGE(dau) / mau``.

    References
    ----------
    .. [1] Mixpanel, "DAU/MAU ratio", product analytics glossary.

    Examples
    --------
    February 2026 has 28 days; three users (u1 active 3 days, u2 2 days, u3
    1 day) give 6 user-days: (6 / 28) / 3.

    >>> round(stickiness(["u1", "u2", "u1", "u3", "u1", "u2"],
    ...                  ["2026-02-01", "2026-02-01", "2026-02-02", "2026-02-02", "2026-02-03", "2026-02-28"]), 6)
    0.071429
    >>> stickiness([120, 150, 130], 500)
    0.26666666666666666
    """
    fn = "KPI_STICKINESS"
    if month is None and _single_number(dates, fn, "dates"):
        return _stickiness_counts(user_ids, dates, fn)
    users = c.labels(user_ids, fn, "user_ids")
    ublank = np.asarray(pd.isna(users), dtype=bool)
    if ublank.all():
        raise KPIUndefinedError(fn, "has no activity rows", argument="user_ids")
    d = c.dates(dates, fn, "dates")
    _check_aligned(fn, "user_ids", users, "dates", d)
    dblank = np.isnat(d)
    bad = np.flatnonzero(ublank != dblank)
    if bad.size:
        i = int(bad[0])
        arg, other = ("user_ids", "dates") if ublank[i] else ("dates", "user_ids")
        raise KPIInputError(fn, f"is blank but '{other}' is given in the same row; every activity row needs a "
                            "user and a date", argument=arg,
                            location=_position(user_ids if ublank[i] else dates, fn, arg, i))
    keep = ~ublank
    users, d = users[keep], d[keep]
    months = d.astype("datetime64[M]")
    if month is None:
        m = months.max()
    else:
        md = c.dates(month, fn, "month")
        md = md[~np.isnat(md)]
        if md.size != 1:
            if md.size == 0:
                m = months.max()
            else:
                raise KPIInputError(fn, f"must be a single date, got {md.size}", argument="month")
        else:
            m = md[0].astype("datetime64[M]")
    inm = months == m
    if not inm.any():
        raise KPIUndefinedError(fn, f"there is no activity in {m}, so MAU is 0", argument="month")
    active = users[inm]
    if pd.api.types.infer_dtype(active, skipna=False) == "integer":
        try:
            active = active.astype(np.int64)  # factorising int64 is much faster than Python objects
        except OverflowError:  # ids beyond int64 (1e308 folded to a whole number): hash them as Python ints
            pass
    codes, uniques = pd.factorize(active)
    mau = len(uniques)
    first = m.astype("datetime64[D]")
    n_days = int(((m + 1).astype("datetime64[D]") - first).astype(np.int64))
    day = (d[inm].astype("datetime64[D]") - first).astype(np.int64)
    pairs = np.sort(codes.astype(np.int64) * 31 + day)  # one key per (user, day)
    user_days = 1 + int(np.count_nonzero(pairs[1:] != pairs[:-1]))
    return float(user_days / n_days / mau)


def _stickiness_counts(dau: Any, mau: Any, fn: str) -> float:
    counts = c.aligned_numbers(dau, fn, "user_ids", min=0, integer=True,
                               domain="must be a whole number of daily active users, not negative")
    idx = np.flatnonzero(~np.isnan(counts))
    if idx.size == 0:
        raise KPIUndefinedError(fn, "has no daily active user counts", argument="user_ids")
    m = c.numbers(mau, fn, "dates", min=0, integer=True,
                  domain="must be a whole number of monthly active users, not negative")[0]
    if m == 0:
        raise KPIUndefinedError(fn, "the monthly active users (MAU) are 0", argument="dates")
    over = idx[counts[idx] > m]
    if over.size:
        i = int(over[0])
        raise KPIDomainError(fn, f"is more than the month's {int(m)} active users; a day's DAU cannot exceed MAU",
                             argument="user_ids", location=_position(dau, fn, "user_ids", i), value=int(counts[i]),
                             has_value=True)
    return float(counts[idx].mean() / m)


# --------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------
@kpi(
    category=_CAT,
    summary="Average (or median, or 90th percentile) time from start to end: lead, wait or resolution time.",
    formula="mean / median / PERCENTILE.INC(…, 0.9) of (end − start) over closed rows; optionally working time only",
    unit="duration",
    args={
        "starts": "Start of each item (ticket opened, lead created): date-times",
        "ends": "End of each item, aligned with starts (blank = still open, skipped)",
        "unit": "\"minutes\", \"hours\" or \"days\"",
        "stat": "\"mean\", \"median\" or \"p90\" (PERCENTILE.INC at 0.9)",
        "business_hours": "Count only working time, e.g. \"09:00-17:00\", Monday to Friday",
        "holidays": "Dates that are not working days (with business_hours)",
    },
    kinds={"starts": "dates", "ends": "dates", "unit": "text", "stat": "text", "business_hours": "text",
           "holidays": "dates"},
    example=(["2026-03-06T16:00", "2026-03-09T09:30", "2026-03-10T11:00"],
             ["2026-03-09T10:00", "2026-03-09T12:00", None], "hours", "mean", "09:00-17:00"),
)
def avg_duration(starts: Any, ends: Any, unit: Any = "hours", stat: Any = "mean", business_hours: Any = None,
                 holidays: Any = None) -> float:
    """Average time from start to end (lead time, first-response time, resolution time).

    Parameters
    ----------
    starts : range
        Start date-times (Excel serials, date-times, ISO text such as
        ``2026-03-09T09:30``).
    ends : range
        End date-times, aligned with ``starts``. A blank end is an open item
        and is skipped; a row blank in both is skipped; a blank start with an
        end is an error.
    unit : {"hours", "minutes", "days"}, default "hours"
        Unit of the result. A day is 24 hours, also with business hours
        (divide by the working day's length for working days).
    stat : {"mean", "median", "p90"}, default "mean"
        The statistic: mean, median, or the 90th percentile as Excel's
        ``PERCENTILE.INC(…, 0.9)`` (linear interpolation between order
        statistics).
    business_hours : str, optional
        Working hours such as ``"09:00-17:00"``: only time inside them on
        Monday–Friday (minus ``holidays``) counts. Default: all time counts.
    holidays : range, optional
        Dates that are not working days (only with ``business_hours``).

    Returns
    -------
    float
        The statistic of the durations, in ``unit``.

    Raises
    ------
    KPIInputError
        Text that is not a date, a blank start with an end, ranges of
        different length, an unknown unit or stat, malformed business hours.
    KPIDomainError
        An end before its start; business hours that end before they start.
    KPIUndefinedError
        No starts, or no closed items.

    Notes
    -----
    ``duration = end − start``. With business hours ``[h₀, h₁)`` of length
    ``L``: ``duration = L × busdays[day(start), day(end)) + W(end) −
    W(start)``, where ``W(t) = clip(time of day(t) − h₀, 0, L)`` on a
    business day and 0 otherwise — whole business days counted by
    ``numpy.busday_count``, plus the partial last day minus the partial
    first day. p90 is ``x₍ₖ₎ + f (x₍ₖ₊₁₎ − x₍ₖ₎)`` with ``k + f = 0.9 (n −
    1)`` (0-based order statistics), as ``PERCENTILE.INC``.

    References
    ----------
    .. [1] Microsoft, "PERCENTILE.INC function", Excel documentation.

    Examples
    --------
    >>> starts = ["2026-03-06T16:00", "2026-03-09T09:30", "2026-03-10T11:00"]
    >>> ends = ["2026-03-09T10:00", "2026-03-09T12:00", None]
    >>> avg_duration(starts, ends)
    34.25
    >>> avg_duration(starts, ends, "hours", "mean", "09:00-17:00")
    2.25
    >>> avg_duration(starts, ends, "minutes", "p90")
    3579.0
    """
    fn = "KPI_AVG_DURATION"
    s = c.dates(starts, fn, "starts")
    if np.isnat(s).all():
        raise KPIUndefinedError(fn, "has no start times", argument="starts")
    e = c.dates(ends, fn, "ends")
    _check_aligned(fn, "starts", s, "ends", e)
    u = c.option_text(unit, fn, "unit", "hours", ("minutes", "hours", "days"))
    st = c.option_text(stat, fn, "stat", "mean", ("mean", "median", "p90"))
    hours = _business_hours(business_hours, fn)
    hol = c.dates(holidays, fn, "holidays") if holidays is not None else np.empty(0, dtype="datetime64[ms]")
    hol = np.unique(hol[~np.isnat(hol)].astype("datetime64[D]"))

    sb, eb = np.isnat(s), np.isnat(e)
    bad = np.flatnonzero(sb & ~eb)
    if bad.size:
        i = int(bad[0])
        raise KPIInputError(fn, "is blank but the row has an end; every item needs its start", argument="starts",
                            location=_position(starts, fn, "starts", i))
    closed = ~sb & ~eb
    if not closed.any():
        raise KPIUndefinedError(fn, "has no closed items (every end is blank)", argument="ends")
    s, e = s[closed], e[closed]
    back = np.flatnonzero(e < s)
    if back.size:
        k = int(back[0])
        i = int(np.flatnonzero(closed)[k])
        shown = (np.datetime_as_string(v, unit="m") for v in (s[k], e[k]))
        start_text, end_text = shown
        raise KPIDomainError(fn, f"is before its start {start_text}", argument="ends",
                             location=_position(ends, fn, "ends", i), value=end_text, has_value=True)
    if hours is None:
        ms = (e - s).astype(np.int64)
    else:
        ms = _business_ms(s, e, hours, hol)
    v = ms / _MS[u]
    if st == "mean":
        out = v.mean()
    elif st == "median":
        out = np.median(v)
    else:
        out = np.percentile(v, 90.0, method="linear")
    return float(out)
