"""The MRR tables: movements bridge and subscription schedule.

Both read or write the long MRR table — one row per customer and month,
``customer, month, MRR`` — which is how subscription data usually leaves a
billing system:

* :func:`mrr_schedule` turns subscriptions (customer, start, end, amount,
  billing months) into that table;
* :func:`mrr_movements` turns it into the monthly MRR bridge (new,
  expansion, reactivation, contraction, churned);
* :func:`~kpi_functions.cohorts.cohort_retention` (in :mod:`.cohorts`)
  turns it into the cohort retention triangle, with the helpers here.

Within these functions a customer's MRR in a month is the sum of the
customer's rows dated in that month (any day of the month counts for the
month); a month without rows is 0. A customer is *paying* in a month when that
sum is above 0.

Implementation: customers are factorised to integer codes and months to
integers (months since 1970-01); the (customer, month) cells are summed into
one sorted array of paying cells (a dense ``bincount`` over customers × months
when that fits in memory, a sort otherwise), and every movement is a
comparison of a cell with its neighbour — no Python loop over rows or
customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._coerce import Column
from ._errors import KPIDomainError, KPIInputError, KPIUndefinedError, Location
from ._registry import kpi

__all__ = ["mrr_movements", "mrr_schedule"]

#: Columns of :func:`mrr_movements`, in the order the table shows them.
MOVEMENT_COLUMNS = (
    "month",
    "starting MRR",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churned",
    "ending MRR",
    "customers at start",
    "new customers",
    "reactivated",
    "churned customers",
    "customers at end",
)

_MRR_COLUMNS = (
    Column("customer", "id"),
    Column("month", "date"),
    Column("mrr", "number", blank="zero", min=0),
)
_SUBSCRIPTION_COLUMNS = (
    Column("customer", "id"),
    Column("start", "date"),
    Column("end", "date", blank="keep"),
    Column("amount", "number", min=0),
    Column("billing months", "number"),
    Column("discount", "number", blank="zero", min=0, optional=True),
)

#: Largest customers × months grid summed densely with ``bincount`` (float64
#: cells, 64 MB); above it the cells are summed after a sort instead. Either way
#: the result is the same.
_DENSE_CELLS = 1 << 23

_EXCEL_EPOCH = np.datetime64("1899-12-30", "ms")
_DAY_MS = 86_400_000.0


# --------------------------------------------------------------------------
# Private helpers
# --------------------------------------------------------------------------
def _read_mrr_table(x: Any, fn: str, arg: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coerce a customer, month, MRR table.

    Returns customer codes (first-appearance order), the customers, month
    indexes (months since 1970-01) and MRR (blank = 0), one entry per row.
    """
    t = c.table(x, fn, arg, _MRR_COLUMNS)
    if len(t) == 0:
        raise KPIUndefinedError(fn, "has no rows (only blanks or a header)", argument=arg)
    codes, customers = t.codes["customer"] if "customer" in t.codes else _factorize(t["customer"])
    return codes, customers, t.each("month", c.month_index), t["mrr"]


def _factorize(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of identifiers (first-appearance order) and the identifiers.

    Whole-number identifiers are hashed as int64, several times faster than
    as Python objects.
    """
    if pd.api.types.infer_dtype(ids, skipna=False) == "integer":
        try:
            codes, uniques = pd.factorize(ids.astype(np.int64))
            return codes.astype(np.int64), uniques.astype(object)
        except OverflowError:  # beyond int64: hash the Python ints themselves
            pass
    codes, uniques = pd.factorize(ids)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _paying_cells(codes: np.ndarray, months: np.ndarray, values: np.ndarray, n_codes: int,
                  n_months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum values per (customer, month) and keep the cells above 0.

    ``months`` are 0-based within ``n_months``. Returns customer codes, months
    and sums of the paying cells, sorted by customer code, then month.
    """
    if codes.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    key = codes * np.int64(n_months) + months
    cells = n_codes * n_months
    if cells <= _DENSE_CELLS:
        sums = np.bincount(key, weights=values, minlength=cells)
        where = np.flatnonzero(sums > 0)
        pv = sums[where]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        sums = np.bincount(inverse.reshape(-1), weights=values, minlength=uniq.size)
        keep = sums > 0
        where, pv = uniq[keep], sums[keep]
    pc, pm = np.divmod(where, np.int64(n_months))
    return pc, pm, pv


def _too_large(fn: str, arg: str, what: str) -> KPIDomainError:
    """Overflow is #NUM!, never a silent infinity (as in Excel)."""
    return KPIDomainError(fn, f"{what} is too large to compute (beyond ±1.8e308)", argument=arg)


def _month_text(month: int) -> str:
    return str(np.datetime64(int(month), "M"))  # months since 1970-01 -> "2026-03"


def _position(t: c.Table, k: int, j: int) -> Location:
    """Location of column ``j`` of kept row ``k`` of a table, as the range names it."""
    return t.grid.location((int(t.rows[k]) - 1) * t.grid.ncols + j)


def _iso(d: np.datetime64) -> str:
    ts = pd.Timestamp(d)
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


# --------------------------------------------------------------------------
# KPI_MRR_MOVEMENTS
# --------------------------------------------------------------------------
@kpi(
    category="Revenue",
    summary="MRR bridge by month, quarter or year from a customer, month, MRR table: new, expansion, "
            "reactivation, contraction, churned.",
    formula="ending MRR = starting MRR + new + expansion + reactivation − contraction − churned, every period; "
            "a quarter's or year's movements are the sums of its monthly movements, its customer counts "
            "compare the month-end snapshots before and at the end of the period",
    shape="table",
    unit="table",
    args={"table": "Customer, month, MRR: one row per customer and month (long form); a text header row is "
                   "allowed; duplicates are summed, a missing month is 0",
          "period": '"month" (default), "quarter" or "year": the length of each row\'s period',
          "fiscal_year_start": "The month (1–12) a year starts in; quarters are counted from it "
                               "(default 1, January: calendar quarters and years)"},
    kinds={"table": "table", "fiscal_year_start": "number"},
    example=([["customer", "month", "MRR"],
              ["A", "2026-01", 100], ["B", "2026-01", 50],
              ["A", "2026-02", 120], ["C", "2026-02", 80],
              ["A", "2026-03", 120], ["B", "2026-03", 50], ["C", "2026-03", 40],
              ["A", "2026-04", 120], ["B", "2026-04", 50]],),
)
def mrr_movements(table: Any, period: Any = "month", fiscal_year_start: Any = 1) -> pd.DataFrame:
    """MRR movements (the MRR bridge) by month, quarter or year from a long customer, month, MRR table.

    Parameters
    ----------
    table : 2-D range or DataFrame
        Three columns, taken by position: customer (an identifier, text or
        number), month (an Excel serial number, a date/datetime, or an ISO
        string such as ``2026-03`` or ``2026-03-15``; any day counts for its
        calendar month) and MRR (not negative; blank = 0). A first row of text
        is a header. Rows for the same customer and month are summed; a month
        without a row for a customer is 0 for that customer. Completely blank
        rows are skipped.
    period : {"month", "quarter", "year"}, optional
        The length of the period of each row (default ``"month"``).
    fiscal_year_start : int, optional
        The month, 1–12, a year starts in (default 1, January). Quarters are
        the three-month periods counted from it: with 4 (April) the quarters
        are Apr–Jun, Jul–Sep, Oct–Dec and Jan–Mar, and a year runs from April
        to March. Ignored for ``period="month"``.

    Returns
    -------
    pandas.DataFrame
        One row per period from the one holding the table's first month to
        the one holding its last — a period with no rows at all is still a
        row — with the columns ``month`` (the first day of the period's last
        month: the month whose end is the period's closing snapshot; for the
        period the table ends inside, the table's last month), ``starting
        MRR``, ``new``, ``expansion``, ``reactivation``, ``contraction``,
        ``churned``, ``ending MRR`` (money, in the input's unit) and
        ``customers at start``, ``new customers``, ``reactivated``,
        ``churned customers``, ``customers at end`` (integers).

    Raises
    ------
    KPIInputError
        Not three columns; text or a boolean as MRR; a month that is not a
        date; a blank customer or month in a row that is not blank; a
        ``period`` other than month, quarter or year.
    KPIDomainError
        A negative or infinite MRR; an invalid date serial number; a
        ``fiscal_year_start`` that is not a whole number from 1 to 12.
    KPIErrorValue
        An Excel error value in the table.
    KPIUndefinedError
        No rows (empty, all blank, or a header only).

    Notes
    -----
    With ``x(c, m)`` the MRR of customer ``c`` in month ``m`` (summed over
    the customer's rows of that month) and *paying* meaning ``x > 0``, each
    paying customer of month ``m`` is exactly one of:

    * new — first paying month in the table: ``new += x(c, m)``;
    * reactivated — paid before, but not in ``m − 1``:
      ``reactivation += x(c, m)`` (the whole MRR of the returning month);
    * retained — paying in ``m − 1`` and ``m``: ``expansion += x(c, m) −
      x(c, m−1)`` when positive, ``contraction += x(c, m−1) − x(c, m)`` when
      positive;

    and each customer paying in ``m − 1`` but not in ``m`` is churned:
    ``churned += x(c, m−1)``. Then, on every row,

    ``ending MRR = starting MRR + new + expansion + reactivation −
    contraction − churned``

    with ``ending MRR(m) = Σ_c x(c, m)`` and ``starting MRR(m) = ending
    MRR(m − 1)``; the customer counts follow the same bridge
    (``customers at end = customers at start + new customers + reactivated −
    churned customers``).

    **Quarters and years.** A period ``P`` of several months starts from the
    month-end snapshot before it (``s``, its first month − 1) and ends with
    the snapshot of its last month (``e``). Its MRR movements are the sums of
    the monthly movements of its months (so a customer who starts and stops
    paying inside one quarter adds to both ``new`` and ``churned`` MRR), its
    starting MRR is the ending MRR of ``s`` and its ending MRR that of ``e``.
    Its customer counts compare the two snapshots:

    * ``customers at start`` S — paying in ``s``; ``customers at end`` E —
      paying in ``e``;
    * ``churned customers`` — paying in ``s``, not paying in ``e``;
    * ``new customers`` — paying in ``e``, not in ``s``, first paying month
      inside ``P``; ``reactivated`` — paying in ``e``, not in ``s``, paid
      before ``P``.

    Hence ``E = S + new customers + reactivated − churned customers`` for
    every period, customer churn over the period is ``churned customers ÷
    S`` and retention ``(E − new − reactivated) ÷ S`` — the customers paying
    at the start still paying at the end. A customer paying in ``s`` and in
    ``e`` is retained even with a gap inside ``P``; one who starts and stops
    inside ``P`` is in no count. With ``period="month"`` both definitions are
    the monthly bridge above.

    The table's history starts with its first month, so the first row has a
    starting MRR of 0 and every customer paying in it is new. A month with no
    rows at all is a month in which every customer paying before it churns.
    The period the table ends inside is summarised up to the table's last
    month (its ``month`` says which).

    References
    ----------
    .. [1] ChartMogul, "MRR Movements" and "Reactivation MRR", SaaS metrics
       glossary.
    .. [2] D. Skok, "SaaS Metrics 2.0 — A Guide to Measuring and Improving
       What Matters", For Entrepreneurs (the MRR bridge).

    Examples
    --------
    >>> t = [["customer", "month", "MRR"],
    ...      ["A", "2026-01", 100], ["B", "2026-01", 50],
    ...      ["A", "2026-02", 120], ["C", "2026-02", 80],
    ...      ["A", "2026-03", 120], ["B", "2026-03", 50], ["C", "2026-03", 40],
    ...      ["A", "2026-04", 120], ["B", "2026-04", 50]]
    >>> m = mrr_movements(t)
    >>> print(m[["month", "starting MRR", "new", "expansion", "reactivation",
    ...          "contraction", "churned", "ending MRR"]].to_string(index=False))
         month  starting MRR   new  expansion  reactivation  contraction  churned  ending MRR
    2026-01-01           0.0 150.0        0.0           0.0          0.0      0.0       150.0
    2026-02-01         150.0  80.0       20.0           0.0          0.0     50.0       200.0
    2026-03-01         200.0   0.0        0.0          50.0         40.0      0.0       210.0
    2026-04-01         210.0   0.0        0.0           0.0          0.0     40.0       170.0
    >>> print(m[["month", "customers at start", "new customers", "reactivated",
    ...          "churned customers", "customers at end"]].to_string(index=False))
         month  customers at start  new customers  reactivated  churned customers  customers at end
    2026-01-01                   0              2            0                  0                 2
    2026-02-01                   2              1            0                  1                 2
    2026-03-01                   2              0            1                  0                 3
    2026-04-01                   3              0            0                  1                 2

    By quarter: Q1 (January–March) sums the movements of its three months,
    and Q2, which the table ends inside, runs up to April. C joined in Q1 and
    left in Q2:

    >>> q = mrr_movements(t, "quarter")
    >>> print(q[["month", "starting MRR", "new", "churned", "ending MRR", "customers at start",
    ...          "new customers", "churned customers", "customers at end"]].to_string(index=False))
         month  starting MRR   new  churned  ending MRR  customers at start  new customers  churned customers  customers at end
    2026-03-01           0.0 230.0     50.0       210.0                   0              3                  0                 3
    2026-04-01         210.0   0.0     40.0       170.0                   3              0                  1                 2
    """
    fn = "KPI_MRR_MOVEMENTS"
    grain = c.option_text(period, fn, "period", "month", ("month", "quarter", "year"))
    fy = c.option_number(fiscal_year_start, fn, "fiscal_year_start", 1.0, min=1, max=12, integer=True,
                         domain="must be a month number, a whole number from 1 (January) to 12 (December)")
    codes, customers, month, mrr = _read_mrr_table(table, fn, "table")
    m0 = int(month.min())
    n_months = int(month.max()) - m0 + 1
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        if grain == "month":
            out = _bridge(codes, month - m0, mrr, customers.size, n_months)
            keys = np.arange(m0, m0 + n_months)
        else:
            out, keys = _period_bridge(codes, month - m0, mrr, customers.size, n_months, m0,
                                       PERIOD_MONTHS[grain], int(fy))
    money_cols = np.column_stack([out[col] for col in MOVEMENT_COLUMNS[1:8]])
    bad = ~np.isfinite(money_cols).all(axis=1)
    if bad.any():
        at = int(keys[np.flatnonzero(bad)[0]])
        raise _too_large(fn, "table", f"the MRR of {_month_text(at)}" if grain == "month" else
                         f"the MRR of the {grain} ending {_month_text(at)}")
    out["month"] = c.index_to_month(keys)
    return pd.DataFrame(out, columns=list(MOVEMENT_COLUMNS))


#: months in each period of :func:`mrr_movements`
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _period_bridge(codes: np.ndarray, month: np.ndarray, mrr: np.ndarray, n_codes: int, n_months: int,
                   m0: int, length: int, fiscal_start: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The bridge by periods of ``length`` months aligned on ``fiscal_start`` (1–12), and each row's key month.

    Months are 0-based from ``m0`` (months since 1970-01). Money: sums of the monthly bridge; counts: the
    snapshot before the period against the snapshot at its end (see :func:`mrr_movements`).
    """
    monthly = _bridge(codes, month, mrr, n_codes, n_months)
    # period of every month of the table: periods are counted from the fiscal start month
    shift = fiscal_start - 1
    absolute = np.arange(m0, m0 + n_months)
    p_abs = np.floor_divide(absolute - shift, length)
    p = p_abs - p_abs[0]
    n_p = int(p[-1]) + 1
    first_rel = (p_abs[0] + np.arange(n_p)) * length + shift - m0  # may be < 0 for the first period
    end_rel = np.minimum(first_rel + length - 1, n_months - 1)  # the closing snapshot of each period
    before_rel = first_rel - 1  # the snapshot before each period (< 0: before the table, nobody paying)

    def total(col: str) -> np.ndarray:
        return np.bincount(p, weights=monthly[col], minlength=n_p).astype(float)

    out: dict[str, np.ndarray] = {col: total(col) for col in ("new", "expansion", "reactivation",
                                                               "contraction", "churned")}
    out["starting MRR"] = monthly["starting MRR"][np.maximum(first_rel, 0)]
    out["ending MRR"] = monthly["ending MRR"][end_rel]
    # customer counts from the paying cells at the snapshots
    pc, pm, _ = _paying_cells(codes, month, mrr, n_codes, n_months)
    key = pc * np.int64(n_months) + pm  # sorted ascending (by customer, then month)

    def paying(cust: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Whether each customer pays in each month (a month < 0 is before the table: not paying)."""
        if key.size == 0:
            return np.zeros(cust.size, dtype=bool)
        k = cust * np.int64(n_months) + m
        at = np.minimum(np.searchsorted(key, k), key.size - 1)
        return (m >= 0) & (key[at] == k)

    first_paid = np.full(n_codes, n_months, dtype=np.int64)
    np.minimum.at(first_paid, pc, pm)
    cell_p = p[pm]
    at_end = pm == end_rel[cell_p]  # cells that are a period's closing snapshot
    ep, ec = cell_p[at_end], pc[at_end]
    was = paying(ec, before_rel[ep])
    joined = ~was & (first_paid[ec] >= first_rel[ep])
    back = ~was & ~joined
    # cells at a snapshot that is the start of the next period: churned when not paying at its end
    nxt = ep + 1
    inside = nxt < n_p
    lost = np.zeros(ep.size, dtype=bool)
    lost[inside] = ~paying(ec[inside], end_rel[nxt[inside]])

    def count(where: np.ndarray, at: np.ndarray) -> np.ndarray:
        return np.bincount(at[where], minlength=n_p).astype(np.int64)

    everyone = np.ones(ep.size, dtype=bool)
    out["customers at end"] = count(everyone, ep)
    out["customers at start"] = np.concatenate([[0], out["customers at end"][:-1]]).astype(np.int64)
    out["new customers"] = count(joined, ep)
    out["reactivated"] = count(back, ep)
    out["churned customers"] = count(lost, np.minimum(nxt, n_p - 1))
    keys = m0 + end_rel
    return out, keys


def _bridge(codes: np.ndarray, month: np.ndarray, mrr: np.ndarray, n_codes: int,
            n_months: int) -> dict[str, np.ndarray]:
    """The columns of the MRR bridge but the month, from 0-based month numbers."""
    pc, pm, pv = _paying_cells(codes, month, mrr, n_codes, n_months)
    n = pc.size
    # the previous paying cell of the same customer, if any
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = pc[1:] == pc[:-1]
    gap = np.zeros(n, dtype=np.int64)
    gap[1:] = pm[1:] - pm[:-1]
    is_new = ~same_prev
    is_kept = same_prev & (gap == 1)
    is_back = same_prev & (gap > 1)
    delta = np.zeros(n)
    delta[1:] = pv[1:] - pv[:-1]
    delta[~is_kept] = 0.0
    # a paying cell not followed by the same customer's next month churns in
    # the next month (when that month is inside the table)
    followed = np.zeros(n, dtype=bool)
    followed[:-1] = is_kept[1:]
    is_churn = ~followed & (pm + 1 < n_months)

    def money(mask: np.ndarray, w: np.ndarray, shift: int = 0) -> np.ndarray:
        # (bincount gives int64 zeros when nothing is selected, whatever the weights)
        return np.bincount(pm[mask] + shift, weights=w[mask], minlength=n_months).astype(float)

    def count(mask: np.ndarray, shift: int = 0) -> np.ndarray:
        return np.bincount(pm[mask] + shift, minlength=n_months).astype(np.int64)

    everyone = np.ones(n, dtype=bool)
    ending = money(everyone, pv)
    starting = np.concatenate([[0.0], ending[:-1]])
    at_end = count(everyone)
    at_start = np.concatenate([[0], at_end[:-1]]).astype(np.int64)
    return {
        "starting MRR": starting,
        "new": money(is_new, pv),
        "expansion": money(is_kept & (delta > 0), delta),
        "reactivation": money(is_back, pv),
        "contraction": money(is_kept & (delta < 0), -delta),
        "churned": money(is_churn, pv, 1),
        "ending MRR": ending,
        "customers at start": at_start,
        "new customers": count(is_new),
        "reactivated": count(is_back),
        "churned customers": count(is_churn, 1),
        "customers at end": at_end,
    }


# --------------------------------------------------------------------------
# KPI_MRR_SCHEDULE
# --------------------------------------------------------------------------
@kpi(
    category="Revenue",
    summary="Long MRR table (customer, month, MRR) from subscriptions: each amount normalised to a month.",
    formula="MRR(customer, M) = Σ (amount − discount) / billing months over subscriptions with start ≤ last "
            "day of M and (no end or end > last day of M)",
    shape="table",
    unit="table",
    args={
        "subscriptions": "Customer, start date, end date (blank = open), amount, billing months "
                         "(1 monthly, 3 quarterly, 12 annual) and, optionally, the discount per billing period "
                         "(blank = 0); a text header row is allowed",
        "through": "Last month of the schedule; open subscriptions run through it "
                   "(default: the month of the latest start or end date)",
    },
    kinds={"subscriptions": "table", "through": "dates"},
    example=([["customer", "start", "end", "amount", "billing months"],
              ["A", "2026-01-01", None, 100, 1],
              ["B", "2026-01-15", "2026-03-15", 1200, 12],
              ["C", "2026-02-01", None, 300, 3]],),
)
def mrr_schedule(subscriptions: Any, through: Any = None) -> pd.DataFrame:
    """The long MRR table (customer, month, MRR) of a list of subscriptions.

    Parameters
    ----------
    subscriptions : 2-D range or DataFrame
        Five or six columns, taken by position: customer (an identifier),
        start date, end date (blank = open, still running), amount (the price
        of one billing period; not negative), billing months (the length of
        the billing period in months: 1 monthly, 3 quarterly, 12 annual, …; a
        positive whole number) and, optionally, the discount off the amount
        per billing period (not negative, at most the amount; blank = 0).
        Dates may be Excel serial numbers,
        dates/datetimes or ISO strings. A first row of text is a header;
        completely blank rows are skipped.
    through : date, optional
        The last month of the schedule (any day of it): open subscriptions run
        through it, and no later month is spilled. Default: the month of the
        latest date, start or end, in the table.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer``, ``month`` (first day of the month) and ``MRR``:
        one row per customer and month with MRR above 0, customers in the
        order of their first row in ``subscriptions``, then months in order.
        It can be passed to :func:`mrr_movements` and
        :func:`cohort_retention` as it is. Empty (no rows) when no
        subscription with an amount above 0 runs at any month end.

    Raises
    ------
    KPIInputError
        Not five or six columns; text or a boolean where a number or date is needed;
        a blank customer, start, amount or billing months in a row that is not
        blank; ``through`` not a single date.
    KPIDomainError
        A negative amount or discount; a discount above its amount; billing
        months that are not a positive whole number; an end date before its
        start date.
    KPIUndefinedError
        No rows (empty, all blank, or a header only).

    Notes
    -----
    MRR is a month-end snapshot. A subscription counts in month ``M`` when it
    runs on the last day of ``M``::

        start ≤ last day of M  and  (end is blank  or  end > last day of M)

    with dates compared as days (a time of day is ignored), and then
    contributes ``(amount − discount) / billing months`` to its customer's MRR
    of ``M``. A subscription that ends on the last day of a month therefore
    does not count in that month; one whose amount is all discount (a free
    trial) is not paying. A customer's subscriptions in the same month are
    summed.

    References
    ----------
    .. [1] ChartMogul, "Monthly Recurring Revenue (MRR)": annual and quarterly
       plans are normalised to a monthly amount; discounts are deducted first.

    Examples
    --------
    A 2,000-a-year plan is 166.67 MRR:

    >>> s = mrr_schedule([["A", "2026-01-01", None, 2000, 12]], through="2026-02")
    >>> print(s.to_string(index=False))
    customer      month        MRR
           A 2026-01-01 166.666667
           A 2026-02-01 166.666667

    Subscriptions ending mid-month stop counting in that month:

    >>> subs = [["customer", "start", "end", "amount", "billing months"],
    ...         ["A", "2026-01-01", None, 100, 1],
    ...         ["B", "2026-01-15", "2026-03-15", 1200, 12],
    ...         ["C", "2026-02-01", None, 300, 3]]
    >>> print(mrr_schedule(subs).to_string(index=False))
    customer      month   MRR
           A 2026-01-01 100.0
           A 2026-02-01 100.0
           A 2026-03-01 100.0
           B 2026-01-01 100.0
           B 2026-02-01 100.0
           C 2026-02-01 100.0
           C 2026-03-01 100.0
    """
    fn, arg = "KPI_MRR_SCHEDULE", "subscriptions"
    t = c.table(subscriptions, fn, arg, _SUBSCRIPTION_COLUMNS)
    if len(t) == 0:
        raise KPIUndefinedError(fn, "has no rows (only blanks or a header)", argument=arg)
    start, end = t["start"], t["end"]
    amount, billing = t["amount"], t["billing months"]
    if "discount" in t.columns:
        discount = t["discount"]
        bad = discount > amount
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise KPIDomainError(fn, f"is more than the amount {float(amount[k]):g} in column 'discount'",
                                 argument=arg, location=_position(t, k, 5), value=float(discount[k]),
                                 has_value=True)
        amount = amount - discount

    bad = (billing < 1) | (billing != np.floor(billing))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        v = float(billing[k])
        raise KPIDomainError(fn, "must be a positive whole number of months (1 monthly, 3 quarterly, "
                             "12 annual) in column 'billing months'", argument=arg, location=_position(t, k, 4),
                             value=int(v) if v.is_integer() else v, has_value=True)
    open_ = np.isnat(end)
    bad = ~open_ & (end < start)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise KPIDomainError(fn, f"is before the start date {_iso(start[k])} in column 'end'", argument=arg,
                             location=_position(t, k, 2), value=_iso(end[k]), has_value=True)

    first = t.each("start", c.month_index)
    if through is None:
        through_m = None
    else:
        d = c.dates(through, fn, "through")
        if d.size > 1:
            raise KPIInputError(fn, f"must be a single date, got a range of {d.size} cells", argument="through")
        through_m = int(c.month_index(d)[0]) if d.size == 1 and not np.isnat(d[0]) else None
    if through_m is None:
        latest = start.max() if open_.all() else max(start.max(), end[~open_].max())
        through_m = int(c.month_index(np.array([latest]))[0])

    # a subscription runs on the last day of months first … last
    last = np.where(open_, through_m, c.month_index(np.where(open_, start, end)) - 1)
    last = np.minimum(last, through_m)
    n_months = np.maximum(last - first + 1, 0)
    keep = (n_months > 0) & (amount > 0)
    first, n_months = first[keep], n_months[keep]
    monthly = amount[keep] / billing[keep]
    codes, customers = t.codes["customer"] if "customer" in t.codes else _factorize(t["customer"])
    sub_codes = codes[keep]

    total = int(n_months.sum())
    if total == 0:
        return pd.DataFrame({"customer": pd.Series([], dtype=object),
                             "month": pd.Series([], dtype="datetime64[ms]"),
                             "MRR": pd.Series([], dtype=float)})
    which = np.repeat(np.arange(first.size), n_months)
    offset = np.arange(total) - np.repeat(np.cumsum(n_months) - n_months, n_months)
    month = first[which] + offset
    m0 = int(month.min())
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        pc, pm, pv = _paying_cells(sub_codes[which], month - m0, monthly[which], customers.size,
                                   int(month.max()) - m0 + 1)
    bad = ~np.isfinite(pv)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise _too_large(fn, arg, f"the MRR of customer {customers[pc[k]]!r} in {_month_text(m0 + int(pm[k]))}")
    return pd.DataFrame({
        "customer": pd.Series(customers[pc], dtype=object),
        "month": c.index_to_month(pm + m0),
        "MRR": pv,
    })
