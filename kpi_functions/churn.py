"""Churn and retention KPIs: customer and revenue churn, retention, NRR and GRR.

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

Expansion, new customers, upsell, cross-sell and the SaaS quick ratio (the
same category, read from the same movements) are in :mod:`kpi_functions.expansion`;
the cohort triangle (``cohort_retention``) lives with the MRR tables in
:mod:`kpi_functions.mrr_tables`; the survival curve and the sBG model in
:mod:`kpi_functions.survival`.
"""

from __future__ import annotations

from typing import Any

from . import _coerce as c
from . import _flows as F
from ._errors import KPIDomainError
from ._registry import kpi

__all__ = ["churn_customers", "churn_rate", "churn_revenue", "grr", "nrr", "retention_rate"]

_CAT = "Churn and retention"


def _at_most_customers(n: float, customers: float, when: str, fn: str, arg: str, why: str) -> None:
    """A count of customers that cannot exceed the customers at the ``when`` (start, end) of the period."""
    if n > customers:
        raise KPIDomainError(fn, f"exceeds the customers at the {when} ({customers:g}); {why}",
                             argument=arg, value=n, has_value=True)


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

    {number_raises}
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
    {skok_churn_1}

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
    _at_most_customers(n_lost, n_start, "start", fn, "lost",
                       "count only customers who were customers at the start of the period")
    return c.ratio(n_lost, n_start, fn, "at_start", "is 0: with no customers at the start, churn is undefined")


@F.pair_kpi(
    summary="Customer (logo) churn from per-customer MRR: share of paying customers whose MRR fell to 0.",
    formula="#(start > 0 and end = 0) / #(start > 0)",
    unit="fraction",
)
def churn_customers(start: Any, end: Any = None) -> float:
    """Customer (logo) churn rate from per-customer MRR at the start and end.

    Parameters
    ----------
    {pair_start}
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
    {skok_churn_1}

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
    {pair_start}
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

    The worked example of the Warnings: per customer the churn shows; two
    totals (one "customer" whose MRR fell) give the net MRR change instead.

    >>> start = [2000, 900, 1500, 2400, 10200, 0]
    >>> end = [0, 0, 1100, 3000, 10200, 300]
    >>> churn_revenue(start, end)
    0.19411764705882353
    >>> churn_revenue(start, end, True)
    0.1588235294117647
    >>> churn_revenue(17000, 14600)
    0.1411764705882353
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

    {number_raises}
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
    _at_most_customers(n, e, "end", fn, "new", "the customers at the end include the new ones, so new cannot be larger")
    return c.ratio(e - n, s, fn, "at_start", "is 0: with no customers at the start, retention is undefined")


# --------------------------------------------------------------------------
# Revenue retention from per-customer MRR
# --------------------------------------------------------------------------
@F.pair_kpi(
    summary="Net revenue retention: MRR kept from customers paying at the start, expansion included.",
    formula="(starting MRR − churned − contraction + expansion) / starting MRR",
    unit="fraction",
    aliases=("NDR", "net dollar retention"),
)
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


@F.pair_kpi(
    summary="Gross revenue retention: MRR kept from customers paying at the start, expansion excluded.",
    formula="(starting MRR − churned − contraction) / starting MRR",
    unit="fraction",
)
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
