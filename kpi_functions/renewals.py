"""Renewals of term contracts: which annual (or longer) terms ending in a period renewed.

Reads the subscription rows :func:`~kpi_functions.mrr_tables.mrr_schedule`
reads (customer, start, end, amount, billing months, optional discount).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _coerce as c
from ._errors import KPIDomainError, KPIInputError, KPIUndefinedError
from ._registry import kpi
from .mrr_tables import _SUBSCRIPTION_COLUMNS, _factorize, _iso, _position

#: the longest billing period a term contract may have (100 years)
MAX_BILLING_MONTHS = 1200

__all__ = ["renewal_rate"]


def _edate_days(start: np.ndarray, months: np.ndarray) -> np.ndarray:
    """EDATE on day arrays: the same day ``months`` months later, clipped to the month's last day."""
    m = start.astype("datetime64[M]")
    day = (start - m.astype("datetime64[D]")).astype(np.int64)  # 0-based day of the month
    target = m + months.astype("timedelta64[M]")
    last = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, last - 1).astype("timedelta64[D]")


def _single_day(x: Any, fn: str, arg: str) -> np.datetime64:
    d = c.dates(x, fn, arg)
    d = d[~np.isnat(d)]
    if d.size != 1:
        raise KPIInputError(fn, f"must be a single date, got {d.size}", argument=arg)
    return d[0].astype("datetime64[D]")


@kpi(
    category="Churn and retention",
    summary="Renewal rate of term contracts: share of the annual (or longer) terms ending in the period that "
            "renewed.",
    formula="#(terms ending in [period_start, period_end) that renewed) / #(terms ending in it); a term of "
            "billing months b ends at EDATE(start, k·b)",
    unit="fraction",
    args={
        "subscriptions": "Customer, start date, end date (blank = running), amount, billing months and, "
                         "optionally, discount: the table KPI_MRR_SCHEDULE reads; a text header row is allowed",
        "period_start": "First day of the period: terms ending on or after it count",
        "period_end": "Day after the period: terms ending before it count (2027-01-01 for the year 2026)",
        "min_term_months": "Shortest term that is a term contract, in months (12: annual and longer)",
        "grace_days": "Days around a term's end in which a following subscription of the customer is its "
                      "renewal",
    },
    kinds={"subscriptions": "table", "period_start": "dates", "period_end": "dates"},
    example=([["customer", "start", "end", "amount", "billing months"],
              ["A", "2025-01-10", None, 1200, 12],
              ["B", "2025-02-01", "2026-02-01", 2400, 12],
              ["C", "2025-03-15", "2026-03-15", 1200, 12],
              ["C", "2026-03-20", None, 1800, 12],
              ["D", "2025-06-01", None, 100, 1]], "2026-01-01", "2026-07-01"),
)
def renewal_rate(subscriptions: Any, period_start: Any, period_end: Any, min_term_months: Any = 12,
                 grace_days: Any = 30) -> float:
    """Renewal rate of term contracts: the share of contract terms up for renewal that renewed.

    Parameters
    ----------
    subscriptions : 2-D range or DataFrame
        The subscription rows as :func:`mrr_schedule` reads them (five or
        six columns by position: customer, start date, end date — blank while
        it runs —, amount, billing months, optional discount). The amounts
        are checked but do not enter the rate.
    period_start : date
        First day of the period.
    period_end : date
        The day after the period (exclusive): the period is
        ``[period_start, period_end)``.
    min_term_months : number, default 12
        A subscription is a term contract when its billing period is at
        least this many months (12: annual and longer plans; 3 takes
        quarterly plans in too). Shorter (monthly) plans are left out.
    grace_days : number, default 30
        A following subscription of the same customer that starts at most
        this many days before or after a term's end renews it (a late or an
        early renewal, a renewal on another plan). A subscription that ends
        more than ``grace_days`` before a term's end ended mid-term and does
        not come up for renewal.

    Returns
    -------
    float
        Renewed terms ÷ terms up for renewal in the period.

    Raises
    ------
    KPIInputError
        Not five or six columns; text or a boolean where a number or date is
        needed; a blank customer, start, amount or billing months; a period
        bound that is not a single date.
    KPIDomainError
        Billing months that are not a whole number from 1 to 1,200, an end before
        its start, a period that ends before it starts, a negative grace.
    KPIUndefinedError
        No rows, or no term of a term contract ends in the period.

    Notes
    -----
    A subscription with billing months ``b ≥ min_term_months`` runs in terms
    of ``b`` months from its start: term ``k`` (``k = 1, 2, …``) ends on
    ``Tₖ = EDATE(start, k·b)``. The term is **up for renewal in the period**
    when ``period_start ≤ Tₖ < period_end`` and the subscription reached it:
    its end date is blank or no earlier than ``Tₖ − grace_days``. It
    **renewed** when the subscription continues past ``Tₖ`` (end blank or
    after ``Tₖ``) or another subscription of the same customer starts
    within ``grace_days`` of ``Tₖ``::

        renewal rate = #(terms up for renewal that renewed) / #(terms up for renewal)

    An end date on ``Tₖ`` itself is a non-renewal (not paying from that day
    on, as in :func:`mrr_schedule`). Renewals are judged on the data as it
    is: a late renewal within the grace days that lies after the data's last
    day is not yet known, so measure a period that ended at least
    ``grace_days`` ago for the final figure. The complement is the term
    contracts' churn at renewal.

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (annual contracts and churn at
       renewal), https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    In the first half of 2026 three annual terms end: A's (10 January, runs
    on: renewed), B's (1 February, ended that day: not renewed) and C's (15
    March, ended, but C took a new annual plan five days later: renewed). D
    pays monthly and is no term contract. Two of three renewed:

    >>> subs = [["customer", "start", "end", "amount", "billing months"],
    ...         ["A", "2025-01-10", None, 1200, 12],
    ...         ["B", "2025-02-01", "2026-02-01", 2400, 12],
    ...         ["C", "2025-03-15", "2026-03-15", 1200, 12],
    ...         ["C", "2026-03-20", None, 1800, 12],
    ...         ["D", "2025-06-01", None, 100, 1]]
    >>> round(renewal_rate(subs, "2026-01-01", "2026-07-01"), 6)
    0.666667
    """
    fn, arg = "KPI_RENEWAL_RATE", "subscriptions"
    t = c.table(subscriptions, fn, arg, _SUBSCRIPTION_COLUMNS)
    if len(t) == 0:
        raise KPIUndefinedError(fn, "has no rows (only blanks or a header)", argument=arg)
    ps = _single_day(period_start, fn, "period_start")
    pe = _single_day(period_end, fn, "period_end")
    if pe <= ps:
        raise KPIDomainError(fn, f"must be after period_start {ps}: the period is [period_start, period_end)",
                             argument="period_end", value=str(pe), has_value=True)
    term_min = c.option_number(min_term_months, fn, "min_term_months", 12.0, min=1, integer=True,
                               domain="must be a whole number of months, 1 or more")
    grace = int(c.option_number(grace_days, fn, "grace_days", 30.0, min=0, integer=True,
                                domain="must be a whole number of days, 0 or more"))
    start = t["start"].astype("datetime64[D]")
    end = t["end"].astype("datetime64[D]")
    billing = t["billing months"]
    # (terms are counted in whole months: a billing period beyond 100 years is no term that ends, and would not
    # survive the conversion to integers; the MRR schedule only divides by it)
    bad = (billing < 1) | (billing != np.floor(billing)) | (billing > MAX_BILLING_MONTHS)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        v = float(billing[k])
        raise KPIDomainError(fn, f"must be a whole number of months from 1 to {MAX_BILLING_MONTHS:,} (1 monthly, 3 "
                             "quarterly, 12 annual) in column 'billing months'", argument=arg,
                             location=_position(t, k, 4), value=int(v) if v.is_integer() else v, has_value=True)
    back = ~np.isnat(end) & (end < start)
    if back.any():
        k = int(np.flatnonzero(back)[0])
        raise KPIDomainError(fn, f"is before its start {_iso(start[k])} in column 'end'", argument=arg,
                             location=_position(t, k, 2), value=_iso(end[k]), has_value=True)
    codes, _ = _factorize(t["customer"])

    # every term end in the period, of the term contracts: k from a safe lower bound, filtered exactly
    term = np.flatnonzero(billing >= term_min)
    b = billing[term].astype(np.int64)
    m0 = start[term].astype("datetime64[M]").astype(np.int64)
    k_lo = np.maximum(1, (ps.astype("datetime64[M]").astype(np.int64) - m0) // b)
    k_hi = (pe.astype("datetime64[M]").astype(np.int64) - m0) // b + 1
    n_k = np.maximum(k_hi - k_lo + 1, 0)
    row = np.repeat(term, n_k)
    kk = np.repeat(k_lo, n_k) + (np.arange(int(n_k.sum())) - np.repeat(np.cumsum(n_k) - n_k, n_k))
    ends = _edate_days(start[row], kk * billing[row].astype(np.int64))
    e = end[row]
    running = np.isnat(e)
    due = (ends >= ps) & (ends < pe) & (running | (e >= ends - np.timedelta64(grace, "D")))
    row, ends, e, running = row[due], ends[due], e[due], running[due]
    if row.size == 0:
        raise KPIUndefinedError(fn, f"no term of a subscription billed every {int(term_min)} months or more ends "
                                f"in the period {ps} to {pe} (exclusive)", argument=arg)
    renewed = running | (e > ends)
    # a following subscription of the customer starting within the grace days of the term's end
    key_start = start.astype(np.int64)
    order = np.lexsort((key_start, codes))
    keys = codes[order].astype(np.int64) * (1 << 32) + key_start[order]
    base = codes[row].astype(np.int64) * (1 << 32)
    lo = base + (ends - np.timedelta64(grace, "D")).astype(np.int64)
    hi = base + (ends + np.timedelta64(grace, "D")).astype(np.int64)
    found = np.searchsorted(keys, hi, side="right") - np.searchsorted(keys, lo, side="left")
    own = (start[row] >= ends - np.timedelta64(grace, "D")).astype(np.int64)  # the term's own row in the window
    renewed |= (found - own) > 0
    return float(renewed.sum() / row.size)
