"""Customer value and acquisition KPIs: CAC, CAC %, CLV (churn-based and
lifespan-based), LTV:CAC, CAC payback, repeat purchase rate.

The probabilistic customer-value models (BG/NBD, Gamma-Gamma) live in
:mod:`kpi_functions.bgnbd`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIInputError, KPIUndefinedError
from ._registry import kpi

__all__ = ["cac", "cac_payback", "cac_pct", "clv", "clv_lifespan", "ltv_cac", "repeat_purchase_rate"]

_CAT = "Customer value and acquisition"

def _input_rate(x: Any, fn: str, arg: str, what: str) -> float:
    """A rate given as input: one number in [0, 1] (a range of rates is not summed)."""
    v = c.option_number(x, fn, arg, None, min=0, max=1,
                        domain=f"must be a {what} between 0 and 1 (5 % is 0.05)")
    if v is None:
        raise KPIUndefinedError(fn, "is blank", argument=arg)
    return v


def _gross_margin(x: Any, fn: str) -> float:
    return c.option_number(x, fn, "gross_margin", 1.0, min=0, max=1,
                           domain="must be a fraction between 0 and 1 (80 % is 0.8)")


@kpi(
    category=_CAT,
    summary="Customer acquisition cost: sales and marketing cost / new customers won.",
    formula="sales_marketing_cost / new_customers",
    unit="money",
    args={
        "sales_marketing_cost": "Sales and marketing cost of the period (a range is summed)",
        "new_customers": "New customers won in the period (a range is summed)",
    },
    example=(50000, 100),
)
def cac(sales_marketing_cost: Any, new_customers: Any) -> float:
    """Customer acquisition cost (CAC).

    Parameters
    ----------
    sales_marketing_cost : number or range
        Total sales and marketing cost of the period; a range is summed
        (aggregate, then divide).
    new_customers : number or range
        New customers won in the same period; a range is summed.

    Returns
    -------
    float
        Cost per new customer, in the cost's unit.

    {number_raises}
    KPIDomainError
        A negative cost or count.
    KPIUndefinedError
        No new customers.

    Notes
    -----
    ``CAC = sales and marketing cost / new customers``.

    References
    ----------
    {skok_1}

    Examples
    --------
    >>> cac(50000, 100)
    500.0
    >>> cac([30000, 20000], [60, 40])
    500.0
    """
    return c.total_ratio(sales_marketing_cost, new_customers, "KPI_CAC", "sales_marketing_cost", "new_customers",
                         "is 0: with no new customers, the cost per customer is undefined")


@kpi(
    category=_CAT,
    summary="Acquisition cost as a share of sales value: cost / sales value.",
    formula="acquisition_cost / sales_value",
    unit="fraction",
    args={
        "acquisition_cost": "Cost of acquiring the sales (a range is summed)",
        "sales_value": "Value of the sales acquired (a range is summed)",
    },
    example=(1000, 10000),
)
def cac_pct(acquisition_cost: Any, sales_value: Any) -> float:
    """Customer acquisition cost as a percentage of the sales value.

    Parameters
    ----------
    acquisition_cost : number or range
        Cost of acquiring the sales; a range is summed.
    sales_value : number or range
        Value of the sales acquired; a range is summed.

    Returns
    -------
    float
        ``cost / sales value`` as a fraction: 0.1 means the sales cost 10 %
        of their value (a target of 10 % means a sale may cost at most 10 %
        of what it brings in).

    {number_raises}
    KPIDomainError
        A negative cost or sales value.
    KPIUndefinedError
        A sales value of 0.

    Notes
    -----
    ``CAC % = acquisition cost / sales value``.

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (customer acquisition
       cost), https://www.forentrepreneurs.com/saas-metrics-2/
    .. [2] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (costs as a percentage of sales).

    Examples
    --------
    >>> cac_pct(1000, 10000)
    0.1
    """
    return c.total_ratio(acquisition_cost, sales_value, "KPI_CAC_PCT", "acquisition_cost", "sales_value")


@kpi(
    category=_CAT,
    summary="Customer lifetime value: ARPA × gross margin / churn rate.",
    formula="arpa × gross_margin / churn_rate",
    unit="money",
    args={
        "arpa": "Average revenue per account per period (a range is summed)",
        "churn_rate": "Customer churn rate per period, one value between 0 and 1 (5 % is 0.05)",
        "gross_margin": "Gross margin between 0 and 1 (default 1: revenue LTV)",
    },
    example=(100, 0.05),
    aliases=("LTV",),
)
def clv(arpa: Any, churn_rate: Any, gross_margin: Any = 1) -> float:
    """Customer lifetime value (CLV, LTV) from ARPA and churn.

    Parameters
    ----------
    arpa : number or range
        Average revenue per account per period (month or year); a range is
        summed.
    churn_rate : number
        Customer churn rate per period of ``arpa``, one value in [0, 1]. A
        range of several rates is an error: rates are not summed.
    gross_margin : number, optional
        Gross margin in [0, 1]; default 1 (revenue lifetime value).

    Returns
    -------
    float
        Lifetime value in the unit of ``arpa``.

    Raises
    ------
    KPIInputError
        Text or a boolean where a number is needed, or several churn rates.
    KPIDomainError
        A negative ARPA, or a churn rate or gross margin outside [0, 1].
    KPIUndefinedError
        A churn rate of 0: customers never leave, so the lifetime is infinite.

    Notes
    -----
    ``CLV = ARPA × gross margin / churn rate``. With a constant churn rate
    ``c`` per period the expected customer lifetime is ``1 / c`` periods, so
    ARPA and churn must be for the same period (monthly ARPA with monthly
    churn). Undiscounted; see ``KPI_CLV_BGNBD`` for a model-based value.

    References
    ----------
    {skok_1}
    {gupta_lehmann_2}

    Examples
    --------
    ARPA 100 a month at 5 % monthly churn:

    >>> clv(100, 0.05)
    2000.0
    >>> clv(100, 0.05, 0.8)
    1600.0
    """
    fn = "KPI_CLV"
    a = c.total(arpa, fn, "arpa", min=0)
    churn = _input_rate(churn_rate, fn, "churn_rate", "churn rate")
    gm = _gross_margin(gross_margin, fn)
    return c.ratio(a * gm, churn, fn, "churn_rate",
                   "is 0: customers who never leave have no finite lifetime value")


@kpi(
    category=_CAT,
    summary="Customer lifetime value from lifespan: customer value × average customer lifespan.",
    formula="customer_value × lifespan",
    unit="money",
    args={
        "customer_value": "Value of a customer per period (e.g. average purchase value × purchase frequency)",
        "lifespan": "Average customer lifespan, in the same periods",
    },
    example=(500, 3),
)
def clv_lifespan(customer_value: Any, lifespan: Any) -> float:
    """Customer lifetime value as customer value × average lifespan.

    Parameters
    ----------
    customer_value : number or range
        Value of a customer per period (for example average purchase value ×
        purchases per year); a range is summed.
    lifespan : number or range
        Average customer lifespan in the same periods (years for a yearly
        value); a range is summed.

    Returns
    -------
    float
        Lifetime value in the unit of ``customer_value``.

    {number_raises}
    KPIDomainError
        A negative value or lifespan.
    KPIUndefinedError
        No numbers in an argument.

    Notes
    -----
    ``CLV = customer value × average customer lifespan``.

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (customer lifetime value).
    {gupta_lehmann_2}

    Examples
    --------
    A customer worth 500 a year who stays 3 years on average:

    >>> clv_lifespan(500, 3)
    1500.0
    """
    fn = "KPI_CLV_LIFESPAN"
    v = c.total(customer_value, fn, "customer_value", min=0)
    years = c.total(lifespan, fn, "lifespan", min=0)
    return c.finite(v * years, fn)


@kpi(
    category=_CAT,
    summary="LTV:CAC ratio: lifetime value / customer acquisition cost.",
    formula="ltv / cac",
    unit="ratio",
    args={"ltv": "Customer lifetime value (a range is summed)", "cac": "Customer acquisition cost (a range is summed)"},
    example=(2000, 500),
)
def ltv_cac(ltv: Any, cac: Any) -> float:
    """LTV:CAC ratio.

    Parameters
    ----------
    ltv : number or range
        Customer lifetime value; a range is summed.
    cac : number or range
        Customer acquisition cost; a range is summed.

    Returns
    -------
    float
        ``LTV / CAC`` (3 or more is the usual rule of thumb).

    {number_raises}
    KPIDomainError
        A negative LTV or CAC.
    KPIUndefinedError
        A CAC of 0.

    Notes
    -----
    ``LTV:CAC = LTV / CAC``.

    References
    ----------
    {skok_1}

    Examples
    --------
    >>> ltv_cac(2000, 500)
    4.0
    """
    return c.total_ratio(ltv, cac, "KPI_LTV_CAC", "ltv", "cac")


@kpi(
    category=_CAT,
    summary="CAC payback: months of gross-margin ARPA needed to recover the acquisition cost.",
    formula="cac / (arpa × gross_margin)",
    unit="months",
    args={
        "cac": "Customer acquisition cost (a range is summed)",
        "arpa": "Monthly average revenue per account (a range is summed)",
        "gross_margin": "Gross margin between 0 and 1 (default 1)",
    },
    example=(500, 100, 0.8),
)
def cac_payback(cac: Any, arpa: Any, gross_margin: Any = 1) -> float:
    """Months to recover CAC.

    Parameters
    ----------
    cac : number or range
        Customer acquisition cost; a range is summed.
    arpa : number or range
        Monthly revenue per account; a range is summed.
    gross_margin : number, optional
        Gross margin in [0, 1]; default 1.

    Returns
    -------
    float
        Months of gross-margin revenue needed to pay back the CAC.

    {number_raises}
    KPIDomainError
        A negative CAC or ARPA, or a gross margin outside [0, 1].
    KPIUndefinedError
        ARPA × gross margin is 0: the CAC is never recovered.

    Notes
    -----
    ``payback = CAC / (ARPA × gross margin)``, in months when ARPA is
    monthly. It ignores churn (the customer is assumed to stay).

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (months to recover CAC),
       https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    >>> cac_payback(500, 100, 0.8)
    6.25
    >>> cac_payback(1200, 100)
    12.0
    """
    fn = "KPI_CAC_PAYBACK"
    cost = c.total(cac, fn, "cac", min=0)
    a = c.total(arpa, fn, "arpa", min=0)
    gm = _gross_margin(gross_margin, fn)
    return c.ratio(cost, a * gm, fn, "arpa", "× gross margin is 0, so the acquisition cost is never recovered")


@kpi(
    category=_CAT,
    summary="Repeat purchase rate: share of customers with two or more orders, optionally within N days of "
            "their first.",
    formula="#(customers with ≥ 2 orders) / #(customers); with a window: #(2nd order ≤ first + N days) / "
            "#(customers whose first order is ≥ N days before as_of)",
    unit="fraction",
    args={"customer_ids": "Customer of each order, one row per order (blanks are skipped)",
          "order_dates": "Date of each order, aligned with customer_ids (needed for window_days and as_of)",
          "window_days": "Count a repeat only when the second order is at most this many days after the first",
          "as_of": "Date the data runs to: later orders are ignored (default: the latest order date)"},
    kinds={"customer_ids": "ids", "order_dates": "dates", "window_days": "number", "as_of": "dates"},
    example=(["a", "b", "a", "c", "a", "b"],
             ["2026-01-05", "2026-01-10", "2026-01-20", "2026-02-01", "2026-03-01", "2026-04-15"], 30),
)
def repeat_purchase_rate(customer_ids: Any, order_dates: Any = None, window_days: Any = None,
                         as_of: Any = None) -> float:
    """Repeat purchase rate, over all time or within a time frame.

    Parameters
    ----------
    customer_ids : range
        The customer of each order, one row per order (text or numbers;
        ``5`` and ``5.0`` are one customer, text is matched exactly). Blank
        cells are skipped.
    order_dates : range, optional
        The date of each order, aligned row by row with ``customer_ids``
        (Excel serials, dates or ISO text). A row blank in both is skipped;
        a row with only one of the two is an error.
    window_days : number, optional
        The time frame: a customer repeats when their second order is at
        most ``window_days`` calendar days after their first (0: on the same
        day). Needs ``order_dates``. Default: any time.
    as_of : date, optional
        The date the data runs to; orders after it are ignored. Default: the
        latest order date. Needs ``order_dates``.

    Returns
    -------
    float
        Share of the customers who placed at least two orders (within the
        window, among the customers observed for the whole window).

    Raises
    ------
    KPIInputError
        A boolean where an identifier is needed, text that is not a date, a
        row with a customer but no date (or a date but no customer), ranges
        of different length, ``window_days`` or ``as_of`` without
        ``order_dates``.
    KPIDomainError
        A window that is negative or not a whole number of days.
    KPIUndefinedError
        No customer at all; with a window, no customer whose first order is
        at least ``window_days`` before ``as_of``.

    Notes
    -----
    ``repeat purchase rate = #{customers with ≥ 2 orders} / #{customers}``.

    Within a time frame of ``N`` days, with ``f₁ ≤ f₂ ≤ …`` a customer's
    order dates (calendar days)::

        rate = #{customers with f₂ − f₁ ≤ N} / #{customers with f₁ ≤ as_of − N}

    over the customers counted in the denominator. Only customers whose first
    order is at least ``N`` days before ``as_of`` count: the others have not
    yet had the whole window to come back, and counting them would lower the
    rate the more recent the customers are.

    References
    ----------
    .. [1] A. S. C. Ehrenberg, *Repeat-Buying: Facts, Theory and
       Applications*, 2nd ed., Charles Griffin / Oxford University Press, 1988.

    Examples
    --------
    a orders 3 times, b twice, c once:

    >>> repeat_purchase_rate(["a", "b", "a", "c", "a", "b"])
    0.6666666666666666

    Within 30 days: a orders again after 15 days, b only after 95 days, and c
    (first order on 1 February) is observed for 73 days until the latest
    order on 15 April, so all three count — one of three repeats:

    >>> ids = ["a", "b", "a", "c", "a", "b"]
    >>> dates = ["2026-01-05", "2026-01-10", "2026-01-20", "2026-02-01", "2026-03-01", "2026-04-15"]
    >>> repeat_purchase_rate(ids, dates, 30)
    0.3333333333333333
    """
    fn = "KPI_REPEAT_PURCHASE_RATE"
    ids = c.labels(customer_ids, fn, "customer_ids")
    if order_dates is None:
        for name, v in (("window_days", window_days), ("as_of", as_of)):
            if v is not None and not c.is_blank_value(v):
                raise KPIInputError(fn, "needs the order dates (order_dates) to place the orders in time",
                                    argument=name)
        ids = ids[~pd.isna(ids)]
        if ids.size == 0:
            raise KPIUndefinedError(fn, "has no customer ids", argument="customer_ids")
        codes, uniques = pd.factorize(ids)
        orders = np.bincount(codes, minlength=len(uniques))
        return float((orders >= 2).sum() / len(uniques))

    d = c.dates(order_dates, fn, "order_dates")
    if d.size != ids.size:
        raise KPIInputError(fn, f"'customer_ids' has {ids.size} cells but 'order_dates' has {d.size}; the ranges "
                            "must be aligned row by row", argument="order_dates")
    iblank = np.asarray(pd.isna(ids), dtype=bool)
    dblank = np.isnat(d)
    bad = np.flatnonzero(iblank != dblank)
    if bad.size:
        i = int(bad[0])
        arg, other, raw = (("customer_ids", "order_dates", customer_ids) if iblank[i]
                           else ("order_dates", "customer_ids", order_dates))
        raise KPIInputError(fn, f"is blank but '{other}' is given in the same row; every order needs a customer "
                            "and a date", argument=arg, location=c.grid(raw, fn, arg).location(i))
    window = c.option_number(window_days, fn, "window_days", None, min=0, integer=True,
                             domain="must be a whole number of days, 0 or more")
    keep = ~iblank
    ids, day = ids[keep], d[keep].astype("datetime64[D]")
    if ids.size == 0:
        raise KPIUndefinedError(fn, "has no customer ids", argument="customer_ids")
    if as_of is None:
        end = day.max()
    else:
        a = c.dates(as_of, fn, "as_of")
        a = a[~np.isnat(a)]
        if a.size != 1:
            raise KPIInputError(fn, f"must be a single date, got {a.size}", argument="as_of")
        end = a[0].astype("datetime64[D]")
        seen = day <= end
        ids, day = ids[seen], day[seen]
        if ids.size == 0:
            raise KPIUndefinedError(fn, f"has no orders on or before {end}", argument="as_of")
    codes, uniques = pd.factorize(ids)
    n = len(uniques)
    t = day.astype(np.int64)
    order = np.lexsort((t, codes))
    sc, st = codes[order], t[order]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    counts = np.diff(np.r_[starts, sc.size])
    first = st[starts]
    has_second = counts >= 2
    second = np.where(has_second, st[np.minimum(starts + 1, sc.size - 1)], 0)
    if window is None:
        return float(has_second.sum() / n)
    w = int(window)
    observed = first <= end.astype(np.int64) - w
    if not observed.any():
        raise KPIUndefinedError(fn, f"no customer's first order is {w} days or more before {end}, so no one has "
                                "been observed for the whole window", argument="window_days")
    repeat = has_second & (second - first <= w) & observed
    return float(repeat.sum() / observed.sum())
