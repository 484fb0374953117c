"""Growth inside the customer base: expansion, new customers, upsell, cross-sell, the SaaS quick ratio.

They belong to the "Churn and retention" category and read the same per-customer
MRR movements as :mod:`kpi_functions.churn` (``start, end``: aligned rows, or one
two-column range; a blank is 0, "not paying"): expansion MRR ``Σ (e − s)`` where
``e > s > 0``, new MRR ``Σ e`` where ``s = 0 < e``, churned and contraction MRR
as there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from . import _flows as F
from ._errors import KPIDomainError
from ._registry import kpi

__all__ = ["cross_sell_rate", "expansion_mrr_growth", "expansion_rate", "net_new_customers", "new_customers", "quick_ratio",
           "upsell_rate"]

_CAT = "Churn and retention"


@F.pair_kpi(
    summary="Expansion rate: expansion MRR from customers paying at the start / starting MRR.",
    formula="expansion MRR / starting MRR",
    unit="fraction",
)
def expansion_rate(start: Any, end: Any = None) -> float:
    """Expansion MRR rate.

    {pair_parameters}

    Returns
    -------
    float
        Expansion MRR as a fraction of starting MRR.

    {pair_raises}
    KPIUndefinedError
        Starting MRR is 0.

    Notes
    -----
    ``expansion rate = Σ_{eᵢ > sᵢ > 0} (eᵢ − sᵢ) / Σ_{sᵢ>0} sᵢ``.
    It equals ``NRR − GRR``.

    References
    ----------
    {chartmogul_expansion_1}

    Examples
    --------
    >>> expansion_rate([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    0.1
    """
    fn = "KPI_EXPANSION_RATE"
    f = F.flows(start, end, fn)
    return F.over_starting_mrr(f.expansion, f, fn)


@kpi(
    category=_CAT,
    summary="Growth of expansion MRR from one period to the next: (end − start) / start.",
    formula="(expansion_end − expansion_start) / expansion_start",
    unit="fraction",
    args={
        "expansion_start": "Expansion MRR of the earlier period (a range is summed)",
        "expansion_end": "Expansion MRR of the later period (a range is summed)",
    },
    example=(14000, 19500),
)
def expansion_mrr_growth(expansion_start: Any, expansion_end: Any) -> float:
    """Growth rate of expansion MRR between two periods.

    Parameters
    ----------
    expansion_start : number or range
        Expansion MRR of the earlier period; a range is summed.
    expansion_end : number or range
        Expansion MRR of the later period; a range is summed.

    Returns
    -------
    float
        ``(end − start) / start`` as a fraction.

    {number_raises}
    KPIDomainError
        A negative expansion MRR.
    KPIUndefinedError
        Expansion MRR of the earlier period is 0.

    Notes
    -----
    ``expansion MRR growth = (X_end − X_start) / X_start``.

    References
    ----------
    {chartmogul_expansion_1}

    Examples
    --------
    Expansion MRR growing from 14,000 to 19,500 is 39.29 % growth:

    >>> round(expansion_mrr_growth(14000, 19500), 6)
    0.392857
    """
    return c.total_growth(expansion_start, expansion_end, "KPI_EXPANSION_MRR_GROWTH", "expansion_start",
                          "expansion_end", "is 0, so growth from it is undefined")


@F.pair_kpi(
    summary="New customers: customers not paying at the start who pay at the end.",
    formula="#(start = 0 and end > 0)",
    unit="count",
)
def new_customers(start: Any, end: Any = None) -> int:
    """Number of new customers from per-customer MRR.

    {pair_parameters}

    Returns
    -------
    int
        The number of customers with no MRR at the start and some at the end.

    {pair_raises}
    KPIUndefinedError
        No rows, or no numbers at all.

    Notes
    -----
    ``new customers = #(sᵢ = 0 and eᵢ > 0)``. Two snapshots cannot tell a
    first-time customer from a returning one; ``KPI_MRR_MOVEMENTS`` can.

    References
    ----------
    .. [1] ChartMogul, "Data Table and MRR Movements" (new business MRR),
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-

    Examples
    --------
    >>> new_customers([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    1
    >>> new_customers([[None, 50], [0, 20], [30, 30], [None, None]])
    2
    """
    f = F.flows(start, end, "KPI_NEW_CUSTOMERS")
    return f.n_new


@kpi(
    category=_CAT,
    summary="Net new customers: new + reactivated − churned customers of the period.",
    formula="new + reactivated − churned",
    unit="count",
    args={"new": "Customers paying for the first time in the period (a range is summed)",
          "reactivated": "Customers paying again after a pause (a range is summed)",
          "churned": "Customers who stopped paying (a range is summed)"},
    example=([12, 9], [1, 2], [5, 4]),
)
def net_new_customers(new: Any, reactivated: Any, churned: Any) -> int:
    """Net new customers: how much the paying customer base grew.

    Parameters
    ----------
    new : number or range
        Customers paying for the first time in the period (the ``new
        customers`` column of :func:`mrr_movements`); a range is summed.
    reactivated : number or range
        Customers paying again after a pause (``reactivated``); a range is
        summed. Blank or 0 when the data has none.
    churned : number or range
        Customers who stopped paying (``churned customers``); a range is
        summed.

    Returns
    -------
    int
        ``new + reactivated − churned``; negative when the customer base
        shrank.

    {number_raises}
    KPIDomainError
        A negative count, or counts that add up to a fraction.
    KPIUndefinedError
        An argument with no number at all.

    Notes
    -----
    ``net new customers = new + reactivated − churned``. Over a period of
    several months it is the sum of the months' figures, and it equals
    ``customers at end − customers at start``: a customer paying at both ends
    who paused in between is counted once churned and once reactivated.

    References
    ----------
    {skok_churn_1}

    Examples
    --------
    Two months with 12 and 9 new, 1 and 2 reactivated, 5 and 4 churned
    customers:

    >>> net_new_customers([12, 9], [1, 2], [5, 4])
    15
    >>> net_new_customers(3, 0, 7)
    -4
    """
    fn = "KPI_NET_NEW_CUSTOMERS"

    def count(x: Any, arg: str) -> int:
        t = c.total(x, fn, arg, min=0)
        if t != np.floor(t):
            raise KPIDomainError(fn, "adds up to a fraction of a customer; counts of customers are whole numbers",
                                 argument=arg, value=t, has_value=True)
        return int(t)

    return count(new, "new") + count(reactivated, "reactivated") - count(churned, "churned")


@F.pair_kpi(
    summary="Upsell rate: share of customers paying at the start whose MRR rose.",
    formula="#(start > 0 and end > start) / #(start > 0)",
    unit="fraction",
)
def upsell_rate(start: Any, end: Any = None) -> float:
    """Upsell rate: the share of existing customers who expanded.

    {pair_parameters}

    Returns
    -------
    float
        Share of the customers paying at the start whose MRR rose.

    {pair_raises}
    KPIUndefinedError
        No customer paying at the start.

    Notes
    -----
    ``upsell rate = #(sᵢ > 0 and eᵢ > sᵢ) / #(sᵢ > 0)``.

    References
    ----------
    {chartmogul_expansion_1}
    .. [2] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (expansion revenue),
       https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    >>> upsell_rate([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    0.25
    """
    fn = "KPI_UPSELL_RATE"
    f = F.flows(start, end, fn)
    return F.over_paying_customers(f.n_expanded, f, fn)


@kpi(
    category=_CAT,
    summary="Cross-sell rate: share of customers holding at least two distinct products.",
    formula="#(customers with ≥ 2 distinct products) / #(customers)",
    unit="fraction",
    args={
        "customer_ids": "Customer of each row (one row per customer and product held)",
        "product_ids": "Product of each row, aligned with customer_ids",
    },
    kinds={"customer_ids": "ids", "product_ids": "ids"},
    example=(["a", "a", "b", "c", "c", "c"], ["x", "y", "x", "x", "x", "z"]),
)
def cross_sell_rate(customer_ids: Any, product_ids: Any) -> float:
    """Cross-sell rate: the share of customers who hold two or more products.

    Parameters
    ----------
    customer_ids : range
        The customer of each row (text or numbers; ``5`` and ``5.0`` are one
        customer, text is matched exactly).
    product_ids : range
        The product of each row, aligned with ``customer_ids``. A customer
        may appear on several rows with the same product; it counts once.

    Returns
    -------
    float
        Share of distinct customers holding at least two distinct products.

    Raises
    ------
    KPIInputError
        Ranges of different sizes, a row with a customer but no product (or
        a product but no customer), or a boolean identifier.
    KPIUndefinedError
        No customer at all.

    Notes
    -----
    ``cross-sell rate = #{customers with ≥ 2 distinct products} /
    #{distinct customers}``. Rows where both cells are blank are skipped
    (ranges often reach past the data).

    References
    ----------
    .. [1] V. Kumar, M. George and J. Pancras, "Cross-buying in retailing:
       Drivers and consequences", *Journal of Retailing* 84(1), 2008, 15–27.

    Examples
    --------
    >>> cross_sell_rate(["a", "a", "b", "c", "c", "c"], ["x", "y", "x", "x", "x", "z"])
    0.6666666666666666
    """
    fn = "KPI_CROSS_SELL_RATE"
    cust, prod = c.label_pairs(customer_ids, product_ids, fn, ("customer_ids", "customer"),
                               ("product_ids", "product"))
    ccode, _ = pd.factorize(cust)
    pcode, _ = pd.factorize(prod)
    n_customers = int(ccode.max()) + 1
    n_products = int(pcode.max()) + 1
    pairs = pd.unique(ccode.astype(np.int64) * n_products + pcode)  # distinct (customer, product)
    products_per_customer = np.bincount(pairs // n_products, minlength=n_customers)
    return float((products_per_customer >= 2).sum() / n_customers)


@F.pair_kpi(
    summary="SaaS quick ratio: MRR gained (new + expansion) per unit of MRR lost (churned + contraction).",
    formula="(new MRR + expansion MRR) / (churned MRR + contraction MRR)",
    unit="ratio",
)
def quick_ratio(start: Any, end: Any = None) -> float:
    """SaaS quick ratio.

    {pair_parameters}

    Returns
    -------
    float
        MRR gained per unit of MRR lost (above 1: MRR grows; 4 is often
        quoted as healthy for a young company).

    {pair_raises}
    KPIUndefinedError
        No MRR was lost (no churn and no contraction), so the ratio is
        undefined.

    Notes
    -----
    ``quick ratio = (new MRR + expansion MRR) / (churned MRR + contraction MRR)``
    with new MRR ``Σ eᵢ`` where ``sᵢ = 0`` and the other movements as in
    :func:`churn_revenue`. It is not the accounting quick (acid-test) ratio.

    References
    ----------
    .. [1] The SaaS quick ratio, introduced by M. Hamid (Social Capital);
       see kpitree, "SaaS quick ratio",
       https://kpitree.co/glossary/saas-metrics/saas-quick-ratio

    Examples
    --------
    New 25 and expansion 10 against churned 10 and contraction 10:

    >>> quick_ratio([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    1.75
    """
    fn = "KPI_QUICK_RATIO"
    f = F.flows(start, end, fn)
    return F.money_ratio(f.new + f.expansion, f.churned + f.contraction, fn,
                        "no MRR was lost to churn or contraction, so the quick ratio is undefined")
