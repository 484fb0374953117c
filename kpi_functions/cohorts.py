"""The cohort retention triangle from the long MRR table (customer, month, MRR).

A cohort is the customers whose first paying month is the same; the
triangle gives, per cohort and months since that first month, the share of
its customers still paying (logo) or its MRR relative to month 0 (revenue).
Customers, months and the paying cells are read as in
:mod:`~kpi_functions.mrr_tables` (one vectorised pass, no loop over rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIUndefinedError
from ._registry import kpi
from .mrr_tables import _month_text, _paying_cells, _read_mrr_table, _too_large

__all__ = ["cohort_retention"]


@kpi(
    category="Churn and retention",
    summary="Cohort retention triangle from a customer, month, MRR table: logo or revenue retention by "
            "months since the first paying month.",
    formula="logo: #paying in month k / cohort size; revenue: cohort MRR in month k / cohort MRR in month 0",
    shape="table",
    unit="table",
    args={
        "table": "Customer, month, MRR: one row per customer and month (long form); a text header row is "
                 "allowed; duplicates are summed, a missing month is 0",
        "basis": '"logo" (share of the cohort\'s customers paying) or "revenue" (cohort MRR relative to '
                 "month 0, may exceed 1)",
        "max_months": "Most month columns to show (month 0 … max_months − 1); default: all observed",
    },
    kinds={"table": "table", "max_months": "number"},
    example=([["customer", "month", "MRR"],
              ["A", "2026-01", 100], ["B", "2026-01", 50],
              ["A", "2026-02", 120], ["C", "2026-02", 80],
              ["A", "2026-03", 120], ["B", "2026-03", 50], ["C", "2026-03", 40]], "logo"),
)
def cohort_retention(table: Any, basis: Any = "logo", max_months: Any = None) -> pd.DataFrame:
    """Cohort retention triangle: retention by months since each customer's first paying month.

    Parameters
    ----------
    table : 2-D range or DataFrame
        Customer, month, MRR, exactly as for :func:`mrr_movements` (a text
        header row is allowed; duplicates summed; a missing month is 0).
    basis : {"logo", "revenue"}, optional
        ``"logo"`` (default): the share of the cohort's customers paying
        (MRR > 0) in month ``k``. ``"revenue"``: the cohort's MRR in month
        ``k`` divided by its MRR in month 0 (may exceed 1 with expansion).
    max_months : int, optional
        Show at most this many month columns (``month 0`` … ``month
        max_months − 1``); a whole number ≥ 1. Default: every month the table
        can show.

    Returns
    -------
    pandas.DataFrame
        One row per cohort (a month in which at least one customer paid for
        the first time), oldest first, with the columns ``cohort`` (first day
        of the month), ``size`` (customers in the cohort, an integer), then
        ``month 0``, ``month 1``, … as fractions. ``month 0`` is always 1.0.
        Cells after the table's last month (not yet observed) are NaN, blank
        in Excel, which gives the triangle its shape. There are as many month
        columns as months from the first cohort to the table's last month
        (or ``max_months``, if fewer).

    Raises
    ------
    KPIInputError
        A bad table (as for :func:`mrr_movements`); an unknown ``basis``;
        ``max_months`` not a number.
    KPIDomainError
        A negative MRR; ``max_months`` not a whole number ≥ 1.
    KPIUndefinedError
        No rows, or no customer ever paying (no cohort at all).

    Notes
    -----
    With ``x(c, m)`` a customer's MRR in month ``m`` and ``f(c)`` the first
    month with ``x(c, m) > 0`` (the customer's cohort), for cohort ``C`` and
    ``k = 0, 1, …``:

    * logo: ``#{c ∈ C : x(c, C + k) > 0} / #C``;
    * revenue: ``Σ_{c ∈ C} x(c, C + k) / Σ_{c ∈ C} x(c, C)``.

    A cell is observed when month ``C + k`` is not after the last month of the
    table (rows with MRR 0 count as observation); otherwise it is NaN.
    Customers who come back after a gap count again in the month they pay.

    References
    ----------
    .. [1] ChartMogul, "Cohort Analysis" (customer and MRR retention cohorts).

    Examples
    --------
    >>> t = [["customer", "month", "MRR"],
    ...      ["A", "2026-01", 100], ["B", "2026-01", 50],
    ...      ["A", "2026-02", 120], ["C", "2026-02", 80],
    ...      ["A", "2026-03", 120], ["B", "2026-03", 50], ["C", "2026-03", 40]]
    >>> print(cohort_retention(t).to_string(index=False))
        cohort  size  month 0  month 1  month 2
    2026-01-01     2      1.0      0.5      1.0
    2026-02-01     1      1.0      1.0      NaN
    >>> print(cohort_retention(t, "revenue").to_string(index=False))
        cohort  size  month 0  month 1  month 2
    2026-01-01     2      1.0      0.8      1.133333
    2026-02-01     1      1.0      0.5           NaN
    """
    fn = "KPI_COHORT_RETENTION"
    basis_ = c.option_text(basis, fn, "basis", "logo", ("logo", "revenue"))
    limit = c.option_number(max_months, fn, "max_months", None, min=1, integer=True,
                            domain="must be a whole number of months, at least 1")
    codes, customers, month, mrr = _read_mrr_table(table, fn, "table")
    m0 = int(month.min())
    last = int(month.max()) - m0
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        pc, pm, pv = _paying_cells(codes, month - m0, mrr, customers.size, last + 1)
    if pc.size == 0:
        raise KPIUndefinedError(fn, "no customer ever pays (every MRR is 0 or blank), so there is no cohort",
                                argument="table")

    first = np.ones(pc.size, dtype=bool)
    first[1:] = pc[1:] != pc[:-1]
    payer = np.cumsum(first) - 1  # ordinal of the cell's customer among payers
    start_month = pm[first]
    cohorts, cohort_of_payer = np.unique(start_month, return_inverse=True)
    cohort_of_payer = cohort_of_payer.reshape(-1)
    width = last - int(cohorts[0]) + 1
    if limit is not None:
        width = min(width, int(limit))
    k = pm - start_month[payer]
    cell = cohort_of_payer[payer]
    inside = k < width
    flat = cell[inside] * width + k[inside]
    size = np.bincount(cohort_of_payer, minlength=cohorts.size).astype(np.int64)
    if basis_ == "logo":
        num = np.bincount(flat, minlength=cohorts.size * width).reshape(cohorts.size, width).astype(float)
        ret = num / size[:, None]
    else:
        num = np.bincount(flat, weights=pv[inside], minlength=cohorts.size * width).reshape(cohorts.size, width)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            ret = num / num[:, :1]
    unseen = cohorts[:, None] + np.arange(width)[None, :] > last
    ret[unseen] = np.nan
    bad = ~unseen & ~np.isfinite(ret)
    if bad.any():
        i, j = (int(v[0]) for v in np.nonzero(bad))
        raise _too_large(fn, "table", f"the revenue retention of the {_month_text(m0 + int(cohorts[i]))} cohort "
                                      f"in month {j}")

    out = pd.DataFrame({"cohort": c.index_to_month(cohorts + m0), "size": size})
    months = pd.DataFrame(ret, columns=[f"month {i}" for i in range(width)])
    return pd.concat([out, months], axis=1)
