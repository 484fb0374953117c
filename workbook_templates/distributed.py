"""The MRR tables of data larger than one machine, computed data-parallel on a Dask cluster.

The subscriptions are read in partitions (CSV or Parquet, one file or many),
shuffled by customer — hash partitioning on the customer column, so that all
of a customer's subscriptions land in one partition — and each partition runs
the library's own functions (:func:`~kpi_functions.mrr_schedule`,
:func:`~kpi_functions.mrr_movements`, :func:`~kpi_functions.cohort_retention`).
The partition results are then combined by month. This is exact because every
table here is a per-customer computation summed by month: the movements of
disjoint sets of customers add up, cohort sizes and counts add up, and a
per-customer table is a concatenation — provided every partition works on the
same month range. Each partition therefore gets the global range: two rows of
MRR 0 (which add nothing to any cell and make no one paying) at the first and
last month of the whole MRR table are appended to its MRR table before the
movements and cohorts are computed. In that way a partition whose customers
stop early still reports their churn in the month after, and quarters and
years are cut the same way in every partition.

What is identical and what is equal to rounding:

* customer counts, cohort sizes, logo retention (a ratio of summed integer
  counts, divided as the library divides) and the per-customer MRR — every
  customer's cells are summed over the customer's subscriptions in the order
  of the input rows, as on one machine — are **identical**;
* money totals (starting/ending MRR, new, expansion, …) and revenue
  retention are sums of the same per-customer amounts in another order
  (partition subtotals, then their sum, where one machine adds customer after
  customer), so they agree to a few units in the last place (relative 1e-12),
  and exactly whenever the amounts are whole cents' worth of binary fractions.

Passes over the data: reading and the shuffle (the shuffled subscriptions are
kept in the workers' memory for the passes that follow); the latest date, when
``through`` is not given (as :func:`~kpi_functions.mrr_schedule` finds it);
each partition's schedule range (for the global month range); the tables.
Nothing but the per-month and per-cohort partials — and, when asked for, the
per-customer table — comes back to the calling process.

Needs the optional extra ``kpi-addin[dask]``. On a real cluster every worker
needs this package installed (the same version) and read access to the data
files at the same path (a shared file system or an object store URL that
``dask.dataframe`` can read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import kpi_functions as K
from kpi_functions.mrr_tables import MOVEMENT_COLUMNS

__all__ = ["SUBSCRIPTION_COLUMNS", "MrrTables", "SubscriptionError", "customer_mrr", "customers_at", "mrr_tables",
           "read_subscriptions"]

#: the subscription columns the schedule reads, in its order (the data sets' names); ``discount`` is optional
SUBSCRIPTION_COLUMNS = ("customer_id", "start_date", "end_date", "amount", "billing_months", "discount")
_ROW = "_kpi_row"  # the input row's place: partition number × 2**40 + row within it (original order)
_MONEY = MOVEMENT_COLUMNS[1:8]
_COUNTS = MOVEMENT_COLUMNS[8:]


@dataclass
class MrrTables:
    """The tables of the whole data set, as the library's functions give them on one machine."""

    #: :func:`~kpi_functions.mrr_movements` of the MRR table, by ``period``
    movements: pd.DataFrame
    #: :func:`~kpi_functions.cohort_retention`, basis "logo"
    cohorts: pd.DataFrame
    #: :func:`~kpi_functions.cohort_retention`, basis "revenue"
    revenue_cohorts: pd.DataFrame
    #: :func:`customer_mrr` of the MRR table at ``snapshot`` (None unless asked for)
    customers: pd.DataFrame | None
    #: first and last month of the MRR table (first days of the months)
    months: tuple[pd.Timestamp, pd.Timestamp]
    #: rows of the MRR table (customer-months with MRR above 0) and partitions used
    mrr_rows: int
    partitions: int
    #: :func:`customers_at` of the MRR table at the months ``at`` (None unless asked for)
    at: pd.DataFrame | None = None


def customer_mrr(mrr: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """Per-customer MRR at two month ends, from a long MRR table (``customer, month, MRR``).

    One row per customer paying in ``start`` or in ``end`` (either month, any day of it), in the
    table's customer order, with the columns ``customer``, ``start MRR`` and ``end MRR`` (0 where
    the customer is not paying) — the ``start``/``end`` arguments of :func:`~kpi_functions.churn_customers`,
    :func:`~kpi_functions.churn_revenue`, :func:`~kpi_functions.nrr` and :func:`~kpi_functions.grr`.
    """
    s, e = (pd.Timestamp(v).to_period("M").to_timestamp() for v in (start, end))
    month = pd.to_datetime(mrr.iloc[:, 1]).dt.to_period("M").dt.to_timestamp()
    at_s, at_e = (month == s).to_numpy(), (month == e).to_numpy()
    ids = mrr.iloc[:, 0].to_numpy(dtype=object)
    codes, uniques = pd.factorize(ids)
    value = mrr.iloc[:, 2].to_numpy(dtype=float)
    start_v = np.bincount(codes[at_s], weights=value[at_s], minlength=uniques.size)
    end_v = np.bincount(codes[at_e], weights=value[at_e], minlength=uniques.size)
    keep = (start_v > 0) | (end_v > 0)
    return pd.DataFrame({"customer": pd.Series(np.asarray(uniques, dtype=object)[keep], dtype=object),
                         "start MRR": start_v[keep], "end MRR": end_v[keep]})


def customers_at(mrr: pd.DataFrame, months: Sequence[Any]) -> pd.DataFrame:
    """Per-customer MRR at any number of month ends, from a long MRR table (``customer, month, MRR``).

    One row per customer paying in one of ``months`` at least, in the table's customer order: the column
    ``customer`` and one column per month (named ``YYYY-MM``, in the order given; 0 where the customer is
    not paying). Each value is the table's one row of that customer and month (as ``SUMPRODUCT`` over the
    table finds it).
    """
    wanted = [pd.Timestamp(v).to_period("M").to_timestamp() for v in months]
    month = pd.to_datetime(mrr.iloc[:, 1]).dt.to_period("M").dt.to_timestamp()
    codes, uniques = pd.factorize(mrr.iloc[:, 0].to_numpy(dtype=object))
    value = mrr.iloc[:, 2].to_numpy(dtype=float)
    cols = {}
    for m in wanted:
        at = (month == m).to_numpy()
        cols[f"{m:%Y-%m}"] = np.bincount(codes[at], weights=value[at], minlength=uniques.size)
    keep = np.zeros(uniques.size, dtype=bool)
    for v in cols.values():
        keep |= v > 0
    return pd.DataFrame({"customer": pd.Series(np.asarray(uniques, dtype=object)[keep], dtype=object),
                         **{k: v[keep] for k, v in cols.items()}})


# --------------------------------------------------------------------------
# Reading and shuffling (in the calling process: builds the task graph)
# --------------------------------------------------------------------------
def read_subscriptions(paths: str | Path | Sequence[str | Path], columns: Sequence[str] = SUBSCRIPTION_COLUMNS,
                       blocksize: str | int = "64MiB") -> Any:
    """The subscriptions as a ``dask.dataframe`` in partitions, in the order of the files and their rows.

    ``paths``: a CSV or Parquet file, a list of files of one kind, or a folder (its Parquet files, else its
    CSV files, in the order of their names).
    ``columns``: customer, start, end, amount, billing months and, optionally, discount (an absent
    optional last column is left out). Adds the column ``_kpi_row``: each row's place in the input.
    """
    import dask.dataframe as dd

    items = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not items:
        raise ValueError("mrr_tables: no subscription file given")
    if len(items) == 1 and Path(items[0]).is_dir():  # a folder: its Parquet files, else its CSV files, by name
        folder = Path(items[0])
        found = sorted(folder.glob("*.parquet")) or sorted(folder.glob("*.csv"))
        if not found:
            raise ValueError(f"mrr_tables: the folder {folder} holds no .parquet or .csv file")
        items = [str(p) for p in found]
    kinds = {Path(p).suffix.lower() or ".parquet" for p in items}  # (an object store prefix: a Parquet data set)
    if len(kinds) > 1 or not kinds <= {".csv", ".parquet"}:
        raise ValueError(f"mrr_tables: the subscription files must be all CSV or all Parquet, got {items}")
    csv = kinds == {".csv"}
    head = pd.read_csv(items[0], nrows=0).columns if csv else dd.read_parquet(items[0]).columns
    missing = [c for c in list(columns)[:5] if c not in head]
    if missing:
        raise ValueError(f"mrr_tables: {items[0]} has no column {missing[0]!r} (columns: {list(head)})")
    cols = [c for c in columns if c in head]
    if csv:
        ddf = dd.read_csv(items, blocksize=blocksize, usecols=cols, dtype={cols[0]: "object"},
                          parse_dates=cols[1:3])
    else:
        ddf = dd.read_parquet(items if len(items) > 1 else items[0], columns=cols)
    return ddf[cols].map_partitions(_number_rows, meta=_number_rows(ddf[cols]._meta))


def _number_rows(part: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
    base = (partition_info or {}).get("number", 0) << 40
    return part.assign(**{_ROW: base + np.arange(len(part), dtype=np.int64)})


# --------------------------------------------------------------------------
# What runs on the workers: the library's functions on one partition
# --------------------------------------------------------------------------
def _ordered(part: pd.DataFrame) -> pd.DataFrame:
    """A partition's rows in input order (a customer's subscriptions are then summed as on one machine)."""
    return part.sort_values(_ROW, kind="stable")


class SubscriptionError(ValueError):
    """A bad subscription row, named by its customer and start date (and the input part and row).

    The library's own error names a row of the shuffled partition, which the user never sees; this one is
    raised on the worker instead and, holding only its message, travels back to the calling process.
    """


def _bad_row(part: pd.DataFrame, k: int, column: str | None, reason: str) -> SubscriptionError:
    row = part.iloc[k]
    place = int(row[_ROW])
    start = row.iloc[1]
    when = f" starting {pd.Timestamp(start).date()}" if isinstance(start, (pd.Timestamp, np.datetime64)) else ""
    where = f"column {column!r} of " if column else ""
    who = "" if column == part.columns[0] else f" of customer {row.iloc[0]!r}"
    return SubscriptionError(f"subscriptions: {where}the subscription{who}{when} "
                             f"(input part {place >> 40}, row {(place & ((1 << 40) - 1)) + 1}): {reason}")


def _schedule(part: pd.DataFrame, through: Any, codes: bool) -> tuple[pd.DataFrame, np.ndarray | None] | None:
    """A partition's MRR table (the library's, on the rows in input order); ``None`` for an empty partition.

    The first pass (``codes=False``) hands the library the subscriptions as they are, so that every check of
    :func:`~kpi_functions.mrr_schedule` runs on the user's data; a bad row is reported by its customer. The
    second (``codes=True``) replaces the customers by integer codes in first-appearance order and also returns
    the customers: the codes keep the order of the identifiers, so every sum runs in the same order, and they
    spare the library the hashing of text identifiers in each of its calls.
    """
    part = _ordered(part)
    if part.empty:
        return None
    subs = part.drop(columns=_ROW)
    customers = None
    if codes:
        ids, uniques = pd.factorize(subs.iloc[:, 0].to_numpy(dtype=object))
        subs[subs.columns[0]] = ids.astype(np.int64)
        customers = np.asarray(uniques, dtype=object)
    try:
        sched = K.mrr_schedule(subs, through=through)
    except K.KPIError as err:
        loc = err.location
        if loc is None or not 1 <= loc.row <= len(part):
            raise SubscriptionError(f"subscriptions: {err}") from None
        column = part.columns[loc.col - 1] if loc.col is not None and 1 <= loc.col <= len(subs.columns) else None
        raise _bad_row(part, loc.row - 1, column, str(err).split(f"{loc.text}: ", 1)[-1]) from None
    if codes:
        sched["customer"] = sched["customer"].to_numpy(dtype=np.int64)
    return sched, customers


def _range(part: pd.DataFrame, through: Any) -> tuple[int, int, int] | None:
    """First and last month (months since 1970-01) and rows of a partition's MRR table."""
    got = _schedule(part, through, codes=False)
    if got is None or got[0].empty:
        return None
    sched = got[0]
    m = sched["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    return int(m.min()), int(m.max()), len(sched)


def _tables(part: pd.DataFrame, through: Any, lo: int, hi: int, period: str, fiscal_year_start: int,
            max_months: int | None, snapshot: tuple[Any, Any] | None,
            at: Sequence[Any] | None = None) -> dict[str, Any] | None:
    """A partition's partials: its movements, its cohorts' sizes and counts, its per-customer MRR."""
    try:
        return _partials(part, through, lo, hi, period, fiscal_year_start, max_months, snapshot, at)
    except K.KPIError as err:  # (an MRR beyond ±1.8e308): a message that travels back to the caller
        raise SubscriptionError(f"subscriptions: {err}") from None


def _partials(part: pd.DataFrame, through: Any, lo: int, hi: int, period: str, fiscal_year_start: int,
              max_months: int | None, snapshot: tuple[Any, Any] | None,
              at: Sequence[Any] | None) -> dict[str, Any] | None:
    got = _schedule(part, through, codes=True)
    if got is None or got[0].empty:
        return None
    sched, customers = got
    assert customers is not None
    # the global month range: two rows of MRR 0 for a customer of the partition, at the first and the last month
    pad = pd.DataFrame({"customer": np.full(2, sched["customer"].iloc[0], dtype=np.int64),
                        "month": np.array([lo, hi], dtype="datetime64[M]").astype("datetime64[ms]"),
                        "MRR": [0.0, 0.0]})
    mrr = pd.concat([sched, pad], ignore_index=True)
    out: dict[str, Any] = {"movements": K.mrr_movements(mrr, period, fiscal_year_start)}
    monthly = out["movements"] if period == "month" else K.mrr_movements(mrr)
    for basis in ("logo", "revenue"):
        ret = K.cohort_retention(mrr, basis, max_months)
        size = ret["size"].to_numpy()
        months = ret.drop(columns=["cohort", "size"]).to_numpy()
        if basis == "logo":  # the counts: shares of whole numbers of customers
            num = np.rint(months * size[:, None])
        else:  # cohort MRR: month 0 is the cohort's new MRR (the movements' "new" of its month)
            base = monthly.set_index("month")["new"].reindex(ret["cohort"]).to_numpy()
            num = months * base[:, None]
        out[basis] = (ret["cohort"].to_numpy().astype("datetime64[M]").astype(np.int64), size, num)
    first_row = None
    for key, cm in (("customers", None if snapshot is None else customer_mrr(sched, *snapshot)),
                    ("at", None if at is None else customers_at(sched, at))):
        if cm is None:
            continue
        cm["customer"] = pd.Series(customers[cm["customer"].to_numpy(dtype=np.int64)], dtype=object)
        if first_row is None:
            first_row = part.groupby(part.columns[0], sort=False)[_ROW].min()
        cm[_ROW] = first_row.reindex(cm["customer"].to_numpy()).to_numpy()
        out[key] = cm
    return out


# --------------------------------------------------------------------------
# Combining the partials (in the calling process)
# --------------------------------------------------------------------------
def _combine_movements(parts: list[pd.DataFrame]) -> pd.DataFrame:
    first = parts[0]
    for p in parts[1:]:
        if not p["month"].equals(first["month"]):  # cannot happen: every partition has the global range
            raise AssertionError("partition movements cover different periods")
    out = {"month": first["month"].to_numpy()}
    for col in _MONEY:
        out[col] = np.sum([p[col].to_numpy() for p in parts], axis=0)
    for col in _COUNTS:
        out[col] = np.sum([p[col].to_numpy() for p in parts], axis=0).astype(np.int64)
    return pd.DataFrame(out, columns=list(MOVEMENT_COLUMNS))


def _combine_cohorts(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], basis: str, hi: int,
                     max_months: int | None) -> pd.DataFrame:
    cohorts = np.unique(np.concatenate([p[0] for p in parts]))
    width = hi - int(cohorts[0]) + 1
    if max_months is not None:
        width = min(width, int(max_months))
    size = np.zeros(cohorts.size, dtype=np.int64)
    num = np.zeros((cohorts.size, width))
    for keys, s, n in parts:
        at = np.searchsorted(cohorts, keys)
        size[at] += s
        w = min(width, n.shape[1])
        num[at, :w] += np.nan_to_num(n[:, :w])  # unseen cells (NaN) are after the last month everywhere
    ret = num / size[:, None] if basis == "logo" else num / num[:, :1]
    ret[cohorts[:, None] + np.arange(width)[None, :] > hi] = np.nan
    out = pd.DataFrame({"cohort": np.asarray(cohorts, dtype="datetime64[M]").astype("datetime64[ms]"),
                        "size": size})
    return pd.concat([out, pd.DataFrame(ret, columns=[f"month {i}" for i in range(width)])], axis=1)


def mrr_tables(paths: str | Path | Sequence[str | Path], client: Any = None, *,
               columns: Sequence[str] = SUBSCRIPTION_COLUMNS, through: Any = None, period: str = "month",
               fiscal_year_start: int = 1, max_months: int | None = None,
               snapshot: tuple[Any, Any] | None = None, partitions: int | None = None,
               at: Sequence[Any] | None = None) -> MrrTables:
    """Movements, cohorts and per-customer MRR of a subscription data set, computed on a Dask cluster.

    The same tables as ``mrr_movements(mrr_schedule(subscriptions, through), period, fiscal_year_start)``,
    ``cohort_retention(…, "logo" / "revenue", max_months)`` and :func:`customer_mrr` at ``snapshot``
    (``(start month, end month)``; left out when None) on the whole data on one machine — see the module
    notes for what is identical and what equal to rounding. ``at``: months for :func:`customers_at`
    (:attr:`MrrTables.at`; left out when None).

    ``client``: a ``distributed.Client`` (default: the current one, else Dask's local scheduler).
    ``partitions``: partitions of the shuffle (default: those of the input; each should hold a few hundred
    thousand subscriptions).
    """
    import dask
    from dask import delayed

    ddf = read_subscriptions(paths, columns)
    customer = ddf.columns[0]
    shuffled = ddf.shuffle(on=customer, npartitions=partitions or ddf.npartitions)
    shuffled = client.persist(shuffled) if client is not None else shuffled.persist()
    compute = client.compute if client is not None else None

    def run(*tasks: Any) -> list[Any]:
        if compute is None:
            return list(dask.compute(*tasks))
        return list(client.gather(compute(list(tasks))))

    try:
        if through is None:  # as mrr_schedule: the month of the latest start or end date
            latest = [d for d in run(shuffled[ddf.columns[1]].max(), shuffled[ddf.columns[2]].max()) if pd.notna(d)]
            through = max(latest) if latest else None
        blocks = shuffled.to_delayed()
        ranges = [r for r in run(*[delayed(_range)(b, through) for b in blocks]) if r is not None]
        if not ranges:
            raise K.KPIUndefinedError("KPI_MRR_MOVEMENTS", "has no rows: no subscription with an amount above 0 "
                                      "runs at any month end", argument="table")
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
        parts = [p for p in run(*[delayed(_tables)(b, through, lo, hi, period, fiscal_year_start, max_months,
                                                   snapshot, at) for b in blocks]) if p is not None]
    finally:
        if client is not None:
            client.cancel(shuffled)
    def joined(key: str) -> pd.DataFrame:  # per-customer rows in the input order of the customers
        return (pd.concat([p[key] for p in parts], ignore_index=True)
                .sort_values(_ROW, kind="stable").drop(columns=_ROW).reset_index(drop=True))

    return MrrTables(
        movements=_combine_movements([p["movements"] for p in parts]),
        cohorts=_combine_cohorts([p["logo"] for p in parts], "logo", hi, max_months),
        revenue_cohorts=_combine_cohorts([p["revenue"] for p in parts], "revenue", hi, max_months),
        customers=None if snapshot is None else joined("customers"),
        months=(pd.Timestamp(np.datetime64(lo, "M")), pd.Timestamp(np.datetime64(hi, "M"))),
        mrr_rows=sum(r[2] for r in ranges),
        partitions=len(blocks),
        at=None if at is None else joined("at"),
    )
