"""Churn and retention KPIs: customer and revenue churn, retention, NRR, GRR,
expansion, new customers, upsell and cross-sell, the SaaS quick ratio.

Most functions here read per-customer MRR at the start and at the end of one
period (``start, end``: aligned rows, or one two-column range; a blank is 0,
"not paying"). Among customers paying at the start (``s > 0``) the MRR
movements are:

* churned MRR      ``Σ s``        where ``e = 0``
* contraction MRR  ``Σ (s − e)``  where ``0 < e < s``
* expansion MRR    ``Σ (e − s)``  where ``e > s``

and, among customers not paying at the start, new MRR ``Σ e`` where ``s = 0``
and ``e > 0``. Starting MRR is ``Σ s`` over ``s > 0``. Customers who are not
paying at the start never enter a churn or retention rate.

The cohort triangle (``cohort_retention``) lives with the MRR tables in
:mod:`kpi_functions.mrr_tables`; the survival curve and the sBG model in
:mod:`kpi_functions.survival`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from . import _flows as F
from ._errors import KPIDomainError
from ._registry import kpi

__all__ = ["churn_customers", "churn_rate", "churn_revenue", "cross_sell_rate", "expansion_mrr_growth",
           "expansion_rate", "grr", "new_customers", "nrr", "quick_ratio", "retention_rate", "upsell_rate"]

_CAT = "Churn and retention"



# --------------------------------------------------------------------------
# Customer churn and retention from counts
# --------------------------------------------------------------------------
@kpi(
    category=_CAT,
    summary="Customer churn rate: customers lost / customers at the start of the period.",
    formula="lost / at_start",
    unit="fraction",
    args={
        "lost": "Customers lost during the period, out of those at the start (a range is summed)",
        "at_start": "Customers at the start of the period (a range is summed)",
    },
    example=(5, 100),
)
def churn_rate(lost: Any, at_start: Any) -> float:
    """Customer (logo) churn rate from counts.

    Parameters
    ----------
    lost : number or range
        Customers lost during the period, counting only customers who were
        customers at its start; a range is summed (aggregate, then divide).
    at_start : number or range
        Customers at the start of the period; a range is summed.

    Returns
    -------
    float
        ``lost / at_start`` as a fraction.

    Raises
    ------
    KPIInputError
        Text or a boolean where a number is needed.
    KPIDomainError
        A negative count, or more customers lost than there were at the start
        (customers won and lost within the period are not churn from the
        starting base).
    KPIUndefinedError
        No customers at the start.

    Notes
    -----
    ``churn rate = customers lost / customers at start``.

    The complement of the churn rate is the share of the starting customers
    still there at the end; :func:`retention_rate` computes it from the
    customer counts at the start and end and the new customers won.

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (customer churn),
       https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    >>> churn_rate(5, 100)
    0.05
    >>> churn_rate([2, 3], [60, 40])
    0.05
    """
    fn = "KPI_CHURN_RATE"
    n_lost = c.total(lost, fn, "lost", min=0)
    n_start = c.total(at_start, fn, "at_start", min=0)
    if n_lost > n_start:
        raise KPIDomainError(
            fn, f"exceeds the customers at the start ({n_start:g}); count only customers who were "
            "customers at the start of the period", argument="lost", value=n_lost, has_value=True)
    return c.ratio(n_lost, n_start, fn, "at_start", "is 0: with no customers at the start, churn is undefined")


@kpi(
    category=_CAT,
    summary="Customer (logo) churn from per-customer MRR: share of paying customers whose MRR fell to 0.",
    formula="#(start > 0 and end = 0) / #(start > 0)",
    unit="fraction",
    **F.PAIR,
)
@F.pair_docs
def churn_customers(start: Any, end: Any = None) -> float:
    """Customer (logo) churn rate from per-customer MRR at the start and end.

    Parameters
    ----------
    start : range
        MRR of each customer at the start of the period (blank = 0), or one
        two-column range with start in the first column and end in the second.
    end : range, optional
        MRR of the same customers at the end of the period, aligned row by
        row (blank = 0). Omit it when ``start`` has two columns.

    Returns
    -------
    float
        Share of the customers paying at the start who pay nothing at the end.

    {pair_raises}
    KPIUndefinedError
        No customer paying at the start.

    Notes
    -----
    ``logo churn = #(sᵢ > 0 and eᵢ = 0) / #(sᵢ > 0)``. Customers who start
    paying during the period (``sᵢ = 0``) do not enter it.

    References
    ----------
    .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (customer churn),
       https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    >>> churn_customers([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    0.25
    >>> churn_customers([[100, 90], [50, None], [200, 260]])
    0.3333333333333333
    """
    fn = "KPI_CHURN_CUSTOMERS"
    f = F.flows(start, end, fn)
    return F.over_paying_customers(f.n_churned, f, fn)


@kpi(
    category=_CAT,
    summary="MRR churn rate: churned plus contraction MRR over starting MRR (net of expansion with net=TRUE).",
    formula="(churned + contraction) / starting MRR; net: (churned + contraction − expansion) / starting MRR",
    unit="fraction",
    args={
        "start": F.START_HELP,
        "end": F.END_HELP,
        "net": "TRUE for net MRR churn (expansion offsets the losses; may be negative); default FALSE, gross",
    },
    kinds={"end": "range"},
    example=(F.EXAMPLE_PAIR,),
)
def churn_revenue(start: Any, end: Any = None, net: Any = False) -> float:
    """Revenue (MRR) churn rate, gross or net, from per-customer MRR.

    Parameters
    ----------
    start : range
        MRR of each customer at the start of the period (blank = 0), or one
        two-column range with start in the first column and end in the second.
    end : range, optional
        MRR of the same customers at the end, aligned row by row (blank = 0).
    net : bool, optional
        ``False`` (default): gross MRR churn. ``True``: net MRR churn, where
        expansion MRR offsets churned and contraction MRR; it is negative
        when existing customers grow more than they shrink.

    Returns
    -------
    float
        The MRR churn rate as a fraction of starting MRR.

    Raises
    ------
    KPIInputError
        Text or a boolean in the MRR, ranges of different sizes, or ``net``
        not TRUE/FALSE.
    KPIDomainError
        A negative MRR.
    KPIUndefinedError
        Starting MRR is 0.

    Notes
    -----
    Over the customers paying at the start (``sᵢ > 0``)::

        gross = (churned MRR + contraction MRR) / starting MRR
        net   = (churned MRR + contraction MRR − expansion MRR) / starting MRR

    with churned MRR ``Σ sᵢ`` where ``eᵢ = 0``, contraction MRR ``Σ (sᵢ − eᵢ)``
    where ``0 < eᵢ < sᵢ``, expansion MRR ``Σ (eᵢ − sᵢ)`` where ``eᵢ > sᵢ``,
    and starting MRR ``Σ sᵢ``. New customers (``sᵢ = 0``) never enter it.
    Gross churn is ``1 − GRR``, net churn is ``1 − NRR``.

    A formula often printed as "MRR churn", ``(MRR start − MRR end) / MRR
    start``, is not churn: it is the net MRR change with the sign flipped,
    and it lets new customers' MRR hide the losses.

    With two snapshots a customer who left and came back within the period
    is not seen; ChartMogul's net rate also offsets reactivation MRR, which a
    start/end pair cannot separate from expansion (use ``KPI_MRR_MOVEMENTS``
    for monthly movements with reactivation).

    References
    ----------
    .. [1] ChartMogul, "Metric: MRR Churn Rate",
       https://help.chartmogul.com/hc/en-us/articles/203359341-Metric-MRR-Churn-Rate
       (worked example: 100 starting MRR, 10 churned, 10 contraction,
       10 expansion: gross 20 %, net 10 %).
    .. [2] ChartMogul, "Data Table and MRR Movements",
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-

    Examples
    --------
    ChartMogul's example: 100 starting MRR loses 10 to churn and 10 to
    contraction and gains 10 in expansion; a new customer (0 → 25) does not
    count.

    >>> start = [10, 40, 30, 20, 0]
    >>> end = [0, 30, 40, 20, 25]
    >>> churn_revenue(start, end)
    0.2
    >>> churn_revenue(start, end, True)
    0.1
    >>> churn_revenue([[100, 150], [100, 100]], net=True)
    -0.25
    """
    fn = "KPI_CHURN_REVENUE"
    use_net = c.option_bool(net, fn, "net", False)
    f = F.flows(start, end, fn)
    return F.over_starting_mrr(f.lost - f.expansion if use_net else f.lost, f, fn)


@kpi(
    category=_CAT,
    summary="Customer retention rate: (customers at end − new customers) / customers at start.",
    formula="(E − N) / S",
    unit="fraction",
    args={
        "at_start": "Customers at the start of the period, S (a range is summed)",
        "at_end": "Customers at the end of the period, E, including the new ones (a range is summed)",
        "new": "New customers won during the period, N (a range is summed)",
    },
    example=(200, 210, 30),
)
def retention_rate(at_start: Any, at_end: Any, new: Any) -> float:
    """Customer retention rate from customer counts.

    Parameters
    ----------
    at_start : number or range
        Customers at the start of the period (S); a range is summed.
    at_end : number or range
        Customers at the end of the period (E), new customers included.
    new : number or range
        Customers won during the period (N).

    Returns
    -------
    float
        ``(E − N) / S`` as a fraction.

    Raises
    ------
    KPIInputError
        Text or a boolean where a number is needed.
    KPIDomainError
        A negative count, or more new customers than customers at the end
        (the customers at the end include the new ones, so N ≤ E).
    KPIUndefinedError
        No customers at the start.

    Notes
    -----
    ``retention = (E − N) / S``: the customers at the end who were not won
    during the period, over the customers at the start.

    References
    ----------
    .. [1] HubSpot, "Retention Rate", glossary,
       https://www.hubspot.com/glossary/retention-rate
    .. [2] Totango, "Customer Retention Rate", customer success glossary,
       https://www.totango.com/glossary/customer-retention-rate

    Examples
    --------
    >>> retention_rate(200, 210, 30)
    0.9
    """
    fn = "KPI_RETENTION_RATE"
    s = c.total(at_start, fn, "at_start", min=0)
    e = c.total(at_end, fn, "at_end", min=0)
    n = c.total(new, fn, "new", min=0)
    if n > e:
        raise KPIDomainError(
            fn, f"exceeds the customers at the end ({e:g}); the customers at the end include the "
            "new ones, so new cannot be larger", argument="new", value=n, has_value=True)
    return c.ratio(e - n, s, fn, "at_start", "is 0: with no customers at the start, retention is undefined")


# --------------------------------------------------------------------------
# Revenue retention from per-customer MRR
# --------------------------------------------------------------------------
@kpi(
    category=_CAT,
    summary="Net revenue retention: MRR kept from customers paying at the start, expansion included.",
    formula="(starting MRR − churned − contraction + expansion) / starting MRR",
    unit="fraction",
    **F.PAIR,
    aliases=("NDR", "net dollar retention"),
)
@F.pair_docs
def nrr(start: Any, end: Any = None) -> float:
    """Net revenue retention (NRR, net dollar retention).

    {pair_parameters}

    Returns
    -------
    float
        NRR as a fraction (1.05 = 105 %); above 1 when expansion outweighs
        churn and contraction.

    {pair_raises}
    KPIUndefinedError
        Starting MRR is 0.

    Notes
    -----
    ``NRR = (S − churned − contraction + expansion) / S`` over customers
    paying at the start, ``S = Σ_{sᵢ>0} sᵢ``; equivalently their ending MRR
    over their starting MRR. New customers do not enter it.
    ``NRR = 1 − net MRR churn`` and ``NRR − GRR = expansion rate``.

    References
    ----------
    .. [1] ChartMogul, "Chart: Net MRR Churn Rate" (net churn = 1 − NRR),
       https://help.chartmogul.com/hc/en-us/articles/4414075567250-Chart-Net-MRR-Churn-Rate
    .. [2] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
       What Matters", forEntrepreneurs (negative churn),
       https://www.forentrepreneurs.com/saas-metrics-2/

    Examples
    --------
    >>> nrr([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    0.9
    >>> nrr([[100, 130], [100, 90]])
    1.1
    """
    fn = "KPI_NRR"
    f = F.flows(start, end, fn)
    return F.over_starting_mrr(f.paying_end, f, fn)  # = starting − churned − contraction + expansion


@kpi(
    category=_CAT,
    summary="Gross revenue retention: MRR kept from customers paying at the start, expansion excluded.",
    formula="(starting MRR − churned − contraction) / starting MRR",
    unit="fraction",
    **F.PAIR,
)
@F.pair_docs
def grr(start: Any, end: Any = None) -> float:
    """Gross revenue retention (GRR).

    {pair_parameters}

    Returns
    -------
    float
        GRR as a fraction, between 0 and 1.

    {pair_raises}
    KPIUndefinedError
        Starting MRR is 0.

    Notes
    -----
    ``GRR = (S − churned − contraction) / S`` over customers paying at the
    start. Expansion never raises it, so ``GRR ≤ 1`` and ``GRR ≤ NRR``;
    ``GRR = 1 − gross MRR churn``.

    References
    ----------
    .. [1] ChartMogul, "Metric: Gross MRR Churn Rate" (gross churn = 1 − GRR),
       https://help.chartmogul.com/hc/en-us/articles/204898491-Metric-Gross-MRR-Churn-Rate

    Examples
    --------
    >>> grr([10, 40, 30, 20, 0], [0, 30, 40, 20, 25])
    0.8
    """
    fn = "KPI_GRR"
    f = F.flows(start, end, fn)
    return F.over_starting_mrr(f.retained, f, fn)  # = starting − churned − contraction


@kpi(
    category=_CAT,
    summary="Expansion rate: expansion MRR from customers paying at the start / starting MRR.",
    formula="expansion MRR / starting MRR",
    unit="fraction",
    **F.PAIR,
)
@F.pair_docs
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
    .. [1] ChartMogul, "Data Table and MRR Movements" (expansion MRR),
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-

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

    Raises
    ------
    KPIInputError
        Text or a boolean where a number is needed.
    KPIDomainError
        A negative expansion MRR.
    KPIUndefinedError
        Expansion MRR of the earlier period is 0.

    Notes
    -----
    ``expansion MRR growth = (X_end − X_start) / X_start``.

    References
    ----------
    .. [1] ChartMogul, "Data Table and MRR Movements" (expansion MRR),
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-

    Examples
    --------
    Expansion MRR growing from 14,000 to 19,500 is 39.29 % growth:

    >>> round(expansion_mrr_growth(14000, 19500), 6)
    0.392857
    """
    fn = "KPI_EXPANSION_MRR_GROWTH"
    s = c.total(expansion_start, fn, "expansion_start", min=0)
    e = c.total(expansion_end, fn, "expansion_end", min=0)
    return c.ratio(e - s, s, fn, "expansion_start", "is 0, so growth from it is undefined")


@kpi(
    category=_CAT,
    summary="New customers: customers not paying at the start who pay at the end.",
    formula="#(start = 0 and end > 0)",
    unit="count",
    **F.PAIR,
)
@F.pair_docs
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
    summary="Upsell rate: share of customers paying at the start whose MRR rose.",
    formula="#(start > 0 and end > start) / #(start > 0)",
    unit="fraction",
    **F.PAIR,
)
@F.pair_docs
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
    .. [1] ChartMogul, "Data Table and MRR Movements" (expansion MRR),
       https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-
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


@kpi(
    category=_CAT,
    summary="SaaS quick ratio: MRR gained (new + expansion) per unit of MRR lost (churned + contraction).",
    formula="(new MRR + expansion MRR) / (churned MRR + contraction MRR)",
    unit="ratio",
    **F.PAIR,
)
@F.pair_docs
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
