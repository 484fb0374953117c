"""Revenue KPIs: MRR, ARR, ARPU, growth, margin, net upsell.

The MRR tables (movements, schedule) live in :mod:`kpi_functions.mrr_tables`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _coerce as c
from ._errors import KPIUndefinedError
from ._registry import kpi

__all__ = ["arpu", "arr", "cmgr", "growth_rate", "margin", "mrr", "net_upsell", "recurring_share"]

_CAT = "Revenue"


@kpi(
    category=_CAT,
    summary="Monthly recurring revenue: the sum of MRR, or ARPU × active accounts.",
    formula="Σ MRR; or ARPU × accounts",
    unit="money",
    args={
        "mrr_or_arpu": "MRR of each customer (a range, summed), or the ARPU when accounts is given",
        "accounts": "Number of active accounts; give it to compute ARPU × accounts",
    },
    kinds={"accounts": "range"},
    example=([25], [6500]),
)
def mrr(mrr_or_arpu: Any, accounts: Any = None) -> float:
    """Monthly recurring revenue.

    Parameters
    ----------
    mrr_or_arpu : number or range
        The MRR of each customer (summed, blanks ignored), or — when
        ``accounts`` is given — the average revenue per account.
    accounts : number or range, optional
        Number of active accounts.

    Returns
    -------
    float
        MRR in the input's unit.

    {number_raises}
    KPIDomainError
        A negative MRR, ARPU or account count.
    KPIUndefinedError
        ``accounts`` given and no numbers in either argument.

    Notes
    -----
    ``MRR = Σ MRRᵢ`` over customers, or ``MRR = ARPU × accounts``. A range
    with no number at all (no subscription pays) has an MRR of 0: a sum of
    nothing is 0, not undefined.

    References
    ----------
    .. [1] ChartMogul, "Monthly Recurring Revenue (MRR)", SaaS metrics glossary.

    Examples
    --------
    >>> mrr([100, 250, None, 50])
    400.0
    >>> mrr([None, None])
    0.0
    >>> mrr(25, 6500)
    162500.0
    """
    fn = "KPI_MRR"
    if accounts is None:
        return c.total(mrr_or_arpu, fn, "mrr_or_arpu", min=0, empty=0.0)  # no subscription pays: MRR 0
    return c.finite(c.total(mrr_or_arpu, fn, "mrr_or_arpu", min=0) * c.total(accounts, fn, "accounts", min=0), fn)


@kpi(
    category=_CAT,
    summary="Annual recurring revenue: 12 × MRR.",
    formula="12 × MRR",
    unit="money",
    args={"mrr": "MRR (a cell, or a range of per-customer MRR that is summed)"},
    example=([100, 250, 50],),
)
def arr(mrr: Any) -> float:
    """Annual recurring revenue.

    Parameters
    ----------
    mrr : number or range
        Monthly recurring revenue; a range is summed (blanks ignored).

    Returns
    -------
    float
        ``12 × MRR``.

    Notes
    -----
    ``ARR = 12 × MRR``. Annual plans enter MRR at a twelfth of their price, so
    ARR is the annualised run rate, not the bookings of the year. A range with
    no number at all (no subscription pays) gives 0, as MRR does.

    References
    ----------
    .. [1] ChartMogul, "Annual Run Rate (ARR)", SaaS metrics glossary.

    Examples
    --------
    >>> arr(12500)
    150000.0
    """
    return c.finite(12.0 * c.total(mrr, "KPI_ARR", "mrr", min=0, empty=0.0), "KPI_ARR")


@kpi(
    category=_CAT,
    summary="Average revenue per user (or per account): revenue / users.",
    formula="revenue / users",
    unit="money",
    args={"revenue": "Revenue of the period (a range is summed)", "users": "Number of users or accounts (a range is summed)"},
    example=([100, 100, 300, 500, 500], 5),
    aliases=("ARPA",),
)
def arpu(revenue: Any, users: Any) -> float:
    """Average revenue per user (ARPU), also per account (ARPA).

    Parameters
    ----------
    revenue : number or range
        Revenue of the period; a range is summed (aggregate, then divide).
    users : number or range
        Users or accounts; a range is summed.

    Returns
    -------
    float
        ``revenue / users``.

    Raises
    ------
    KPIUndefinedError
        ``users`` is 0 or blank.

    Notes
    -----
    ``ARPU = revenue / users``.

    References
    ----------
    .. [1] ChartMogul, "Average Revenue Per Account (ARPA)", SaaS metrics glossary.

    Examples
    --------
    >>> arpu([100, 100, 300, 500, 500], 5)
    300.0
    """
    return c.total_ratio(revenue, users, "KPI_ARPU", "revenue", "users", num_min=None)


@kpi(
    category=_CAT,
    summary="Growth rate between two periods: (end − start) / start.",
    formula="(end − start) / start",
    unit="fraction",
    args={"start": "Value at the start (MRR, followers, sales; a range is summed)",
          "end": "Value at the end (a range is summed)"},
    example=(100000, 112000),
)
def growth_rate(start: Any, end: Any) -> float:
    """Growth rate from one period to the next.

    Parameters
    ----------
    start, end : number or range
        The value at the start and at the end (MRR, followers, monthly
        sales); ranges are summed. Neither may be negative.

    Returns
    -------
    float
        ``(end − start) / start`` as a fraction.

    Raises
    ------
    KPIUndefinedError
        ``start`` is 0.

    Notes
    -----
    ``growth = (end − start) / start``. Note that "(MRR start − MRR end) / MRR
    start" — sometimes printed as "MRR churn" — is this rate with the sign
    flipped: the net MRR change, not churn.

    References
    ----------
    .. [1] J. Jordan, A. Hariharan, F. Chen and P. Kasireddy, "16 Startup
       Metrics", Andreessen Horowitz, 2015 (month-on-month growth),
       https://a16z.com/16-startup-metrics/

    Examples
    --------
    >>> growth_rate(100000, 112000)
    0.12
    """
    return c.total_growth(start, end, "KPI_GROWTH_RATE", "start", "end")


@kpi(
    category=_CAT,
    summary="Compound monthly growth rate over a series of monthly values.",
    formula="(last / first)^(1/k) − 1, k = months between first and last non-blank value",
    unit="fraction",
    args={"values": "Monthly values in order, one per month (blanks keep their place)"},
    example=([1000, 1100, None, 1331],),
)
def cmgr(values: Any) -> float:
    """Compound monthly growth rate (CMGR).

    Parameters
    ----------
    values : range
        One value per month, in time order. Blanks are skipped but keep
        their place: the exponent counts months by position.

    Returns
    -------
    float
        ``(last / first)^(1/k) − 1`` where ``k`` is the number of months
        (positions) between the first and the last non-blank value.

    Raises
    ------
    KPIUndefinedError
        Fewer than two values, or a first value of 0.
    KPIDomainError
        A negative value.

    Notes
    -----
    ``CMGR = (v_last / v_first)^(1/k) − 1``.

    References
    ----------
    .. [1] J. Jordan, A. Hariharan, F. Chen and P. Kasireddy, "16 Startup
       Metrics", Andreessen Horowitz, 2015 (month-on-month growth and
       the compounded monthly growth rate, CMGR),
       https://a16z.com/16-startup-metrics/

    Examples
    --------
    >>> round(cmgr([1000, 1100, 1210, 1331]), 10)
    0.1
    >>> round(cmgr([1000, None, None, 1331]), 10)
    0.1
    """
    fn = "KPI_CMGR"
    v = c.aligned_numbers(values, fn, "values", min=0)
    idx = np.flatnonzero(~np.isnan(v))
    if idx.size < 2:
        raise KPIUndefinedError(fn, "needs at least two non-blank monthly values", argument="values")
    first, last = v[idx[0]], v[idx[-1]]
    k = int(idx[-1] - idx[0])
    if first == 0:
        raise KPIUndefinedError(fn, "the first non-blank value is 0, so growth from it is undefined",
                                argument="values")
    with np.errstate(over="ignore"):
        q = last / first
        if not np.isfinite(q):  # last/first overflows although the k-th root may not: take it in logs
            return c.finite(np.expm1((np.log(last) - np.log(first)) / k), fn)
    return float(q ** (1.0 / k) - 1.0)


@kpi(
    category=_CAT,
    summary="Margin: (revenue − cost) / revenue.",
    formula="(revenue − cost) / revenue",
    unit="fraction",
    args={"revenue": "Revenue (a range is summed)", "cost": "Cost (a range is summed; not negative)"},
    example=(200000, 50000),
)
def margin(revenue: Any, cost: Any) -> float:
    """Margin (gross or net, depending on the cost given).

    Parameters
    ----------
    revenue : number or range
        Revenue; a range is summed.
    cost : number or range
        Cost (cost of goods sold for gross margin); a range is summed.

    Returns
    -------
    float
        ``(revenue − cost) / revenue``.

    Raises
    ------
    KPIUndefinedError
        Revenue is 0.

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (margins).

    Examples
    --------
    >>> margin(200000, 50000)
    0.75
    """
    fn = "KPI_MARGIN"
    r = c.total(revenue, fn, "revenue")
    k = c.total(cost, fn, "cost", min=0)
    return c.ratio(r - k, r, fn, "revenue")


@kpi(
    category=_CAT,
    summary="Net upsell MRR: expansion minus contraction among customers paying in both periods.",
    formula="Σ (end − start) over customers with start > 0 and end > 0",
    unit="money",
    args={"start": "MRR of each customer at the start (or a two-column range start, end)",
          "end": "MRR of the same customers at the end, row by row"},
    kinds={"end": "range"},
    example=([[100, 120], [200, 150], [0, 80], [50, 0]],),
)
def net_upsell(start: Any, end: Any = None) -> float:
    """Net upsell: upsells net of downgrades among customers who stay.

    Parameters
    ----------
    start : range
        MRR of each customer at the start of the period (blank = 0), or a
        two-column range with start and end.
    end : range, optional
        MRR of the same customers at the end, aligned row by row.

    Returns
    -------
    float
        Expansion MRR − contraction MRR, counting only customers paying in
        both periods (new and churned customers do not enter it).

    Notes
    -----
    ``net upsell = Σ_{sᵢ>0, eᵢ>0} (eᵢ − sᵢ)``.

    References
    ----------
    .. [1] ChartMogul, "Data Table and MRR Movements" (expansion and
       contraction MRR),
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-

    Examples
    --------
    >>> net_upsell([100, 200, 0, 50], [120, 150, 80, 0])
    -30.0
    """
    s, e = c.pair(start, end, "KPI_NET_UPSELL")
    both = (s > 0) & (e > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        return c.finite((e[both] - s[both]).sum(), "KPI_NET_UPSELL")


@kpi(
    category=_CAT,
    summary="Recurring share of revenue: recurring revenue / (recurring + one-off revenue).",
    formula="recurring / (recurring + one_off)",
    unit="fraction",
    args={"recurring": "Recurring revenue of the period: MRR, subscription lines (a range is summed)",
          "one_off": "One-off revenue of the same period: orders, services, one-time lines (a range is summed)"},
    example=([48000, 52000], [6000, 4000]),
)
def recurring_share(recurring: Any, one_off: Any) -> float:
    """Recurring share of revenue: how much of the revenue comes back every month.

    Parameters
    ----------
    recurring : number or range
        Recurring revenue of the period (MRR, or the subscription lines of
        the invoices); a range is summed.
    one_off : number or range
        One-off revenue of the same period (add-ons, services, set-up fees,
        the one-time lines of the invoices); a range is summed. 0 when there
        is none.

    Returns
    -------
    float
        ``recurring / (recurring + one_off)`` as a fraction: 1 when every
        sale recurs.

    {number_raises}
    KPIDomainError
        A negative revenue.
    KPIUndefinedError
        No revenue at all (both are 0).

    Notes
    -----
    ``recurring share = R / (R + O)`` with ``R`` the recurring and ``O`` the
    one-off revenue of the same period; the denominator is the total revenue.
    The two are given apart so that the total always contains the recurring
    part. Aggregate, then divide: over several months it is the months'
    recurring revenue over their total revenue.

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (recurring revenue and the predictable
       business it makes), https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    100,000 of MRR over two months and 10,000 of one-off sales: 100,000 /
    110,000 = 90.9 %.

    >>> round(recurring_share([48000, 52000], [6000, 4000]), 6)
    0.909091
    """
    fn = "KPI_RECURRING_SHARE"
    r = c.total(recurring, fn, "recurring", min=0)
    o = c.total(one_off, fn, "one_off", min=0)
    return c.ratio(r, c.finite(r + o, fn), fn, "one_off", "and the recurring revenue are both 0, so there is no "
                   "revenue to take a share of")
