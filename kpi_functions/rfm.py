"""From a transaction log to the RFM summary the purchase models take.

``rfm_summary`` turns one row per order (customer, date, optional value) into
one row per customer: frequency, recency, T and the average value of the
repeat purchases, by the conventions of the BG/NBD and Gamma-Gamma models,
optionally split into a calibration and a holdout period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIDomainError, KPIInputError, KPIUndefinedError
from ._registry import kpi

__all__ = ["rfm_summary"]

_CAT = "Customer value and acquisition"
#: period name -> days in one period
_PERIODS = {"days": 1.0, "weeks": 7.0}

_EX_IDS = ["a", "b", "a", "a", "c", "b", "a", "c"]
_EX_DATES = ["2026-01-05", "2026-01-10", "2026-01-05", "2026-01-19", "2026-02-02", "2026-03-07", "2026-03-04",
             "2026-02-02"]
_EX_VALUES = [20.0, 35.0, 10.0, 40.0, 15.0, 25.0, 60.0, 5.0]


def _one_date(x: Any, fn: str, arg: str) -> np.datetime64 | None:
    """A single-date option as a calendar day; None when blank."""
    if x is None or c.is_blank_value(x):
        return None
    d = c.dates(x, fn, arg)
    d = d[~np.isnat(d)]
    if d.size == 0:
        return None
    if d.size != 1:
        raise KPIInputError(fn, f"must be a single date, got {d.size}", argument=arg)
    return d[0].astype("datetime64[D]")


def _summary(code: np.ndarray, day: np.ndarray, value: np.ndarray | None, end: np.int64,
             n: int, unit: float) -> dict[str, np.ndarray]:
    """Per customer code 0..n−1 (NaN where a customer has no purchase): frequency, recency, T, monetary."""
    frame = pd.DataFrame({"c": code, "d": day, "v": value if value is not None else np.zeros(code.size)})
    by_day = frame.groupby(["c", "d"], sort=True)["v"].sum()  # one row per customer and purchase day
    cust = by_day.index.get_level_values(0).to_numpy()
    days = by_day.index.get_level_values(1).to_numpy()
    totals = by_day.to_numpy(dtype=float)
    first_row = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    last_row = np.r_[first_row[1:] - 1, cust.size - 1]
    who = cust[first_row]
    n_days = last_row - first_row + 1
    out = {k: np.full(n, np.nan) for k in ("frequency", "recency", "T", "monetary")}
    out["frequency"][who] = n_days - 1
    out["recency"][who] = (days[last_row] - days[first_row]) / unit
    out["T"][who] = (end - days[first_row]) / unit
    if value is not None:
        sums = np.add.reduceat(totals, first_row)
        rep = n_days > 1
        mon = np.zeros(who.size)
        mon[rep] = (sums[rep] - totals[first_row][rep]) / (n_days[rep] - 1)
        out["monetary"][who] = mon
    return out


@kpi(
    category=_CAT,
    summary="RFM summary of a transaction log: frequency, recency, T and average repeat value per customer.",
    formula="frequency = distinct purchase days − 1; recency = last − first purchase day; T = end − first "
            "purchase day; monetary = mean of the repeat days' totals (in the chosen period)",
    shape="table",
    unit="table",
    args={
        "customer_ids": "Customer of each purchase, one row per purchase (order line or order)",
        "dates": "Date of each purchase, aligned with customer_ids (a time of day is ignored)",
        "values": "Value of each purchase, aligned (optional): gives the average value of the repeat purchases",
        "observation_end": "Date the observation ends, on or after every purchase (default: the latest purchase)",
        "period": 'Time unit of recency and T: "weeks" (default) or "days"',
        "calibration_end": "Last date of the calibration period: summary up to it, holdout counts after it "
                           "(optional)",
    },
    kinds={"customer_ids": "ids", "dates": "dates", "values": "range", "observation_end": "dates",
           "period": "text", "calibration_end": "dates"},
    example=(_EX_IDS, _EX_DATES, _EX_VALUES, "2026-03-30"),
)
def rfm_summary(customer_ids: Any, dates: Any, values: Any = None, observation_end: Any = None,
                period: Any = "weeks", calibration_end: Any = None) -> pd.DataFrame:
    """One row per customer from a transaction log: frequency, recency, T and average repeat value.

    Parameters
    ----------
    customer_ids : range
        The customer of each purchase, one row per purchase (text or
        numbers; ``5`` and ``5.0`` are one customer).
    dates : range
        The date of each purchase, aligned row by row (Excel serials, dates
        or ISO text); a time of day is ignored: purchases are counted by
        calendar day. A row blank in every range is skipped.
    values : range, optional
        The value of each purchase, aligned. Several purchases of a customer
        on one day are summed into that day's value.
    observation_end : date, optional
        The end of the observation; no purchase may be after it. Default:
        the latest purchase date.
    period : {"weeks", "days"}, default "weeks"
        The time unit of recency, T and duration_holdout (a week is 7 days;
        times are exact fractions of a week, as in the CDNOW summary).
    calibration_end : date, optional
        Split the log: the summary (frequency, recency, T, monetary) covers
        the purchases on or before this date, with T measured to it, and
        ``frequency_holdout`` counts each customer's purchase days after it
        up to ``observation_end``; ``duration_holdout`` is the length of
        the holdout. Only customers who bought in the calibration period
        are listed. Must be before ``observation_end``.

    Returns
    -------
    pandas.DataFrame
        One row per customer, in the order of their first row in the log:
        ``customer``, ``frequency`` (repeat purchases), ``recency``, ``T``,
        with ``values`` also ``monetary`` (the average value of the repeat
        purchase days, 0 without repeats), with ``calibration_end`` also
        ``frequency_holdout`` and ``duration_holdout``.

    Raises
    ------
    KPIInputError
        A row with a customer but no date (or a date but no customer, or no
        value when values are given), ranges of different length, text that
        is not a date, a value that is not a number, a period other than
        "weeks" or "days", a range of dates where one date is needed.
    KPIDomainError
        A purchase after ``observation_end``; ``calibration_end`` not before
        ``observation_end``.
    KPIUndefinedError
        No purchase at all; no purchase on or before ``calibration_end``.

    Notes
    -----
    With d₁ < d₂ < … < d_k a customer's distinct purchase days (several
    purchases on one day count once; the first purchase is not a repeat),
    v(d) the total value bought on day d, E the observation end and u the
    days in one period:

    ``frequency = k − 1``, ``recency = (d_k − d₁)/u``, ``T = (E − d₁)/u``,
    ``monetary = Σ_{j≥2} v(d_j) / (k − 1)`` (0 when k = 1).

    These are the conventions of Fader, Hardie & Lee (2005) and of
    ``lifetimes.utils.summary_data_from_transaction_data`` with
    ``freq="D"`` (``freq_multiplier=7`` for weeks: the CDNOW summary's
    30.43 and 38.86 weeks). Where this function differs from lifetimes:
    lifetimes' ``freq="W"`` first snaps every date (and the end) to the
    start of its calendar week, so that purchases in one week count once
    and times are whole weeks; here weeks are 7 days, counted from the
    purchase days. Lifetimes silently drops purchases after the
    observation end; here they are an error. With a calibration split,
    lifetimes' holdout frequency counts distinct purchase days after the
    calibration end, as here, but compares the timestamps themselves with
    the calibration end (a purchase at 14:00 on that day falls in its
    holdout; here the whole day is in the calibration period); its holdout
    average value (the mean of the holdout rows, not of their daily totals)
    is not given. On the CDNOW log this function and lifetimes 0.11.3 agree
    customer by customer.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your
       Customers' the Easy Way: An Alternative to the Pareto/NBD Model",
       Marketing Science 24(2), 275–284, 2005.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using
       Iso-Value Curves for Customer Base Analysis", Journal of Marketing
       Research 42(4), 415–430, 2005.

    Examples
    --------
    a buys twice on 5 January (one purchase day), then on 19 January and 4
    March; b on 10 January and 7 March; c twice on 2 February:

    >>> ids = ["a", "b", "a", "a", "c", "b", "a", "c"]
    >>> dates = ["2026-01-05", "2026-01-10", "2026-01-05", "2026-01-19", "2026-02-02", "2026-03-07",
    ...          "2026-03-04", "2026-02-02"]
    >>> amounts = [20.0, 35.0, 10.0, 40.0, 15.0, 25.0, 60.0, 5.0]
    >>> rfm_summary(ids, dates, amounts, "2026-03-30").round(3)
      customer  frequency  recency       T  monetary
    0        a          2    8.286  12.000      50.0
    1        b          1    8.000  11.286      25.0
    2        c          0    0.000   8.000       0.0
    """
    fn = "KPI_RFM_SUMMARY"
    ids = c.labels(customer_ids, fn, "customer_ids")
    d = c.dates(dates, fn, "dates")
    if d.size != ids.size:
        raise KPIInputError(fn, f"'customer_ids' has {ids.size} cells but 'dates' has {d.size}; the ranges must "
                            "be aligned row by row", argument="dates")
    val = None
    if values is not None:
        val = c.aligned_numbers(values, fn, "values")
        if val.size == 0:
            val = None
        elif val.size != ids.size:
            raise KPIInputError(fn, f"'customer_ids' has {ids.size} cells but 'values' has {val.size}; the "
                                "ranges must be aligned row by row", argument="values")
    unit = _PERIODS[c.option_text(period, fn, "period", "weeks", tuple(_PERIODS))]
    blanks = {"customer_ids": np.asarray(pd.isna(ids), dtype=bool), "dates": np.isnat(d)}
    raws = {"customer_ids": customer_ids, "dates": dates}
    if val is not None:
        blanks["values"] = np.isnan(val)
        raws["values"] = values
    stack = np.column_stack(list(blanks.values()))
    empty = stack.all(axis=1)
    partial = np.flatnonzero(stack.any(axis=1) & ~empty)
    if partial.size:
        i = int(partial[0])
        names = list(blanks)
        j = int(np.flatnonzero(stack[i])[0])
        given = [n for n, b in zip(names, stack[i]) if not b]
        raise KPIInputError(fn, f"is blank but {', '.join(repr(n) for n in given)} is given in the same row; "
                            "every purchase needs " + ("a customer, a date and a value" if val is not None
                                                       else "a customer and a date"),
                            argument=names[j], location=c.grid(raws[names[j]], fn, names[j]).location(i))
    keep = np.flatnonzero(~empty)
    if keep.size == 0:
        raise KPIUndefinedError(fn, "has no purchases", argument="customer_ids")
    day_all = d.astype("datetime64[D]")
    day = day_all[keep].astype(np.int64)
    end_d = _one_date(observation_end, fn, "observation_end")
    end = np.int64(day.max()) if end_d is None else np.int64(end_d.astype(np.int64))
    late = np.flatnonzero(day > end)
    if late.size:
        i = int(keep[late[0]])
        raise KPIDomainError(fn, f"is after the end of the observation ({np.datetime64(int(end), 'D')}); give a "
                             "later observation_end or leave out the later purchases", argument="dates",
                             location=c.grid(dates, fn, "dates").location(i), value=str(day_all[i]), has_value=True)
    codes, uniques = pd.factorize(ids[keep])
    n = len(uniques)
    v = val[keep] if val is not None else None
    cal_d = _one_date(calibration_end, fn, "calibration_end")
    if cal_d is None:
        s = _summary(codes, day, v, end, n, unit)
        out = pd.DataFrame({"customer": uniques.astype(object), "frequency": s["frequency"].astype(np.int64),
                            "recency": s["recency"], "T": s["T"]})
        if v is not None:
            out["monetary"] = s["monetary"]
        return out
    cal = np.int64(cal_d.astype(np.int64))
    if cal >= end:
        raise KPIDomainError(fn, f"must be before the end of the observation ({np.datetime64(int(end), 'D')})",
                             argument="calibration_end", value=str(cal_d), has_value=True)
    in_cal = day <= cal
    if not in_cal.any():
        raise KPIUndefinedError(fn, f"no purchase is on or before {cal_d}", argument="calibration_end")
    s = _summary(codes[in_cal], day[in_cal], v[in_cal] if v is not None else None, cal, n, unit)
    listed = ~np.isnan(s["frequency"])
    hold = ~in_cal
    pairs = np.unique(np.column_stack([codes[hold], day[hold]]), axis=0) if hold.any() else np.empty((0, 2), int)
    freq_hold = np.bincount(pairs[:, 0].astype(np.int64), minlength=n).astype(np.int64)
    out = pd.DataFrame({"customer": uniques.astype(object)[listed],
                        "frequency": s["frequency"][listed].astype(np.int64),
                        "recency": s["recency"][listed], "T": s["T"][listed]})
    if v is not None:
        out["monetary"] = s["monetary"][listed]
    out["frequency_holdout"] = freq_hold[listed]
    out["duration_holdout"] = float(end - cal) / unit
    return out.reset_index(drop=True)

