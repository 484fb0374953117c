"""The data one report is built from: the input tables cut to a segment and a report month.

``scope(tables, datasets, segment, month)`` returns a :class:`ReportData`:

- **segment** (``--by COLUMN``, see :func:`split_plan`): the column means what
  it means in customers (its ``dimension`` in the schema). A data set whose
  column of that name means the same keeps its rows with that value; a data
  set of customer rows (``customer_id``) without it — or whose column of that
  name means something else, such as tickets' contact ``channel`` — keeps the
  rows of the segment's customers; costs (no customer_id) are allocated to a
  customer segment (:func:`allocate_costs`); any other data set cannot be
  split, which :func:`.batch.plan` refuses before any report is built.
- **report month** (``--period``): the report shows the business as known at
  the end of that month. Rows dated after it are not part of the report;
  later timestamps of a row (a subscription's end, a ticket's resolution)
  that fall after it are cleared — at month end the subscription was still
  running, the ticket still open. Data sets with a window (product activity)
  keep only their last months.
- **bad rows**: issues of rows in scope, and of rows whose segment cannot be
  known (a bad segment cell, an unknown customer), make the report fail.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import Table
from .periods import Period
from .schema import DATASETS

__all__ = ["ReportData", "ScopeError", "Split", "absent_table", "all_months", "allocate_costs", "latest_month", "scope",
           "segment_meaning", "segment_values", "split_plan"]


class ScopeError(Exception):
    """The report cannot be built for this segment/period (message says why)."""


@dataclass
class ReportData:
    tables: dict[str, Table]
    report_month: pd.Timestamp
    segment: tuple[str, str | None] | None = None  #: (column, value); value None: the rows left blank
    source: str = ""  #: where the data came from (shown in the notes)
    notices: list[str] = field(default_factory=list)
    first_month: pd.Timestamp | None = None
    fx: Any = None  #: the currencies behind the report (:class:`.fx.ReportFx`); None: no reporting currency
    splits: list[Split] = field(default_factory=list)  #: how the segment split each data set (empty: no segment)
    #: with costs allocated to the segment: per month, the bases, shares, totals and allocated amounts
    allocation: pd.DataFrame | None = None
    #: the report period, ending in the report month (None: the report month alone)
    period: Period | None = None
    #: why the period is not fully covered by the data (None: it is)
    partial: str | None = None

    @property
    def the_period(self) -> Period:
        """The report period: :attr:`period`, or the report month as a one-month period."""
        if self.period is not None:
            return self.period
        m = self.report_month
        return Period("month", m.year * 12 + m.month - 1)

    @property
    def period_months(self) -> int:
        """Months in the report period: 1, 3 or 12."""
        return self.the_period.months

    def periods(self, n: int) -> list[pd.Timestamp]:
        """The last months of the last ``n`` periods up to the report period, not before the first month of data."""
        step = self.period_months
        out = [self.report_month - pd.DateOffset(months=k * step) for k in range(n - 1, -1, -1)]
        if self.first_month is not None:
            out = [m for m in out if m >= self.first_month]
        return out

    @property
    def currency(self) -> str | None:
        """The reporting currency (money formats carry it), or None when none was given."""
        return self.fx.currency if self.fx is not None else None

    @property
    def segment_label(self) -> str:
        if self.segment is None:
            return "All"
        return f"{self.segment[0]} = {'(blank)' if self.segment[1] is None else self.segment[1]}"

    def months(self, n: int) -> list[pd.Timestamp]:
        """The last ``n`` months up to the report month, not before the first month of data."""
        out = [self.report_month - pd.DateOffset(months=k) for k in range(n - 1, -1, -1)]
        if self.first_month is not None:
            out = [m for m in out if m >= self.first_month]
        return out


# --------------------------------------------------------------------------
# Which column of which data set splits a report
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    """How a segment column splits one data set."""

    dataset: str
    how: str  #: "direct" (its own column) | "customers" (via customer_id) | "allocated" (costs) | "none"
    text: str  #: one line for the Notes sheet and the command's output

    @property
    def ok(self) -> bool:
        return self.how != "none"


def segment_meaning(column: str) -> str:
    """What ``--by COLUMN`` means: the column's dimension in customers, else in the first data set with it."""
    for ds in [DATASETS["customers"]] + [d for d in DATASETS.values() if d.name != "customers"]:
        if column in ds.column_names:
            return ds.column(column).dimension
    return ""


#: the rule by which costs (no customer_id) are shared out to a customer segment (docs and Notes quote it)
ALLOCATION_RULE = ("each month's sales_cost is allocated pro rata of the segment's new customers that month "
                   "(first paying month, as in the MRR movements), or of its month-end MRR in a month without "
                   "new customers; each month's cogs pro rata of the segment's month-end MRR")


def split_plan(names: Iterable[str], column: str) -> list[Split]:
    """How ``--by column`` splits each of the data sets ``names`` (from the schema alone).

    The column means what it means in customers (:func:`segment_meaning`). A data set with a column of
    that name and meaning is split by it; a data set of customer rows without one (or whose column of that
    name means something else) through its customer_id and customers' column; costs, which have neither,
    are allocated (:data:`ALLOCATION_RULE`) when customers have the column; anything else cannot be split.
    """
    meaning = segment_meaning(column)
    cust = DATASETS["customers"]
    by_customer = column in cust.column_names
    what = f" ({meaning})" if meaning and meaning != column.replace("_", " ") else ""
    out = []
    for n in names:
        ds = DATASETS[n]
        own = column in ds.column_names and ds.column(column).dimension == meaning
        if own:
            out.append(Split(n, "direct", f"{n}: by {n}.{column}{what}"))
            continue
        other = ""
        if column in ds.column_names:  # the same name, another meaning (tickets' contact channel)
            other = f"its own {column!r} is the {ds.column(column).dimension or 'column of ' + n}, not the " \
                    f"{meaning or 'column of customers'}"
        if ds.customer_column and by_customer:
            out.append(Split(n, "customers", f"{n}: by its customer's customers.{column}{what}, through "
                                             f"{n}.{ds.customer_column}" + (f" ({other})" if other else "")))
        elif n == "costs" and by_customer:
            out.append(Split(n, "allocated", f"{n}: has no {column!r} column, so the costs are allocated: "
                                             f"{ALLOCATION_RULE}"))
        elif other:
            out.append(Split(n, "none", f"{n}: {other}, and it has no customer_id"))
        elif ds.customer_column:
            out.append(Split(n, "none", f"{n}: has no column {column!r}, and customers (which its customer_id "
                                        "names) has none either"))
        elif n == "customers":
            out.append(Split(n, "none", f"{n}: has no column {column!r}"))
        else:
            out.append(Split(n, "none", f"{n}: has no column {column!r} and no customer_id"))
    return out


def allocate_costs(tables: dict[str, Table], costs: Table, column: str, value: str | None,
                   upto: pd.Timestamp | None = None) -> tuple[Table, pd.DataFrame, list[str]]:
    """The costs rows of a customer segment: every amount times the segment's share of its month.

    The shares (:data:`ALLOCATION_RULE`) come from the MRR schedule of all subscriptions (KPI_MRR_SCHEDULE:
    month-end MRR, a customer new in its first paying month) and customers' ``column``. Over all the
    segments of the column (blank included) the shares of a month add up to 1, so the allocated amounts
    add up to the costs. A month with no paying customer at its end cannot be shared out: its costs are in
    no segment's report, and a notice says so. Returns the allocated table, the allocation per month and
    the notices.
    """
    import kpi_functions as K

    months = sorted(set(costs.df["month"].dropna()))
    cust = tables["customers"].df
    in_seg = cust[column].isna() if value is None else (cust[column] == value)
    seg_ids = set(cust.loc[in_seg, "customer_id"].dropna().tolist())
    subs = tables.get("subscriptions")
    sched = pd.DataFrame({"customer": [], "month": [], "MRR": []})
    if subs is not None and len(subs.df) and months:
        cols = ["customer_id", "start_date", "end_date", "amount", "billing_months", "discount"]
        try:
            sched = K.mrr_schedule(subs.df[cols], through=max(months[-1], upto or months[-1]))
        except K.KPIUndefinedError:
            pass
    sched = sched.assign(seg=sched["customer"].isin(seg_ids))
    first = sched.groupby("customer", sort=False).agg(month=("month", "min"), seg=("seg", "first"))
    new_all = first.groupby("month").size()
    new_seg = first[first["seg"]].groupby("month").size()
    mrr_all = sched.groupby("month")["MRR"].sum()
    mrr_seg = sched[sched["seg"]].groupby("month")["MRR"].sum()
    idx = pd.DatetimeIndex(months)
    a = pd.DataFrame({
        "new customers (segment)": new_seg.reindex(idx, fill_value=0).astype(float),
        "new customers (all)": new_all.reindex(idx, fill_value=0).astype(float),
        "MRR (segment)": mrr_seg.reindex(idx, fill_value=0.0),
        "MRR (all)": mrr_all.reindex(idx, fill_value=0.0),
    }, index=idx)
    mrr_share = (a["MRR (segment)"] / a["MRR (all)"]).where(a["MRR (all)"] > 0)
    a["cogs share"] = mrr_share
    a["sales cost share"] = (a["new customers (segment)"] / a["new customers (all)"]).where(
        a["new customers (all)"] > 0, mrr_share)
    df = costs.df.copy()
    totals = df.groupby("month")[["cogs", "sales_cost"]].sum()
    a["cogs (all)"] = totals["cogs"].reindex(idx, fill_value=0.0)
    a["sales cost (all)"] = totals["sales_cost"].reindex(idx, fill_value=0.0)
    cogs_share = df["month"].map(a["cogs share"]).fillna(0.0).to_numpy(float)
    sales_share = df["month"].map(a["sales cost share"]).fillna(0.0).to_numpy(float)
    df["cogs"] = df["cogs"].to_numpy(float) * cogs_share
    df["sales_cost"] = df["sales_cost"].to_numpy(float) * sales_share
    a["cogs (allocated)"] = (a["cogs (all)"] * a["cogs share"]).fillna(0.0)
    a["sales cost (allocated)"] = (a["sales cost (all)"] * a["sales cost share"]).fillna(0.0)
    notices = []
    lost = a[a["cogs share"].isna() & ((a["cogs (all)"] > 0) | (a["sales cost (all)"] > 0))]
    if len(lost):
        shown = ", ".join(f"{m:%Y-%m}" for m in lost.index[:6]) + (" …" if len(lost) > 6 else "")
        notices.append(f"costs.csv: the costs of {len(lost)} month(s) ({shown}; cogs {lost['cogs (all)'].sum():,.2f}, "
                       f"sales cost {lost['sales cost (all)'].sum():,.2f}) cannot be allocated to a {column} "
                       "segment: no customer was paying at the end of the month, so they are in no segment's report")
    out = costs.replace_df(df)
    out.derived = (f"Allocated to {column} = {'(blank)' if value is None else value}: {ALLOCATION_RULE}; the "
                   "shares and amounts of each month are in the cost allocation table below")
    a.index.name = "month"
    return out, a.reset_index(), notices


def month_start(ts: Any) -> pd.Timestamp:
    """The first day of ``ts``'s month, in milliseconds.

    Not ``to_period().to_timestamp()``: under pandas 2 that goes through
    nanoseconds, which end at 2262-04-11; months are computed on numpy's
    month numbers, exact for every date a spreadsheet holds (to 9999-12-31).
    """
    return pd.Timestamp(np.datetime64(pd.Timestamp(ts).to_datetime64(), "M").astype("datetime64[ms]"))


def month_range(lo: pd.Timestamp, hi: pd.Timestamp) -> list[pd.Timestamp]:
    """Every month from ``lo``'s to ``hi``'s, as first days (``pd.date_range`` is nanoseconds in pandas 2)."""
    a, b = (np.datetime64(pd.Timestamp(x).to_datetime64(), "M") for x in (lo, hi))
    return [pd.Timestamp(m) for m in np.arange(a, b + 1).astype("datetime64[ms]")]


def latest_month(tables: dict[str, Table], names: Iterable[str]) -> pd.Timestamp | None:
    """The month of the latest date in the time columns of the given data sets."""
    best = None
    for n in names:
        t = tables.get(n)
        ds = DATASETS[n]
        if t is None or not ds.time_column or not len(t.df):
            continue
        m = t.df[ds.time_column].max()
        if pd.notna(m) and (best is None or m > best):
            best = m
    return None if best is None else month_start(best)


def first_month(tables: dict[str, Table], names: Iterable[str]) -> pd.Timestamp | None:
    best = None
    for n in names:
        t = tables.get(n)
        ds = DATASETS[n]
        if t is None or not ds.time_column or not len(t.df) or ds.window_months:
            continue
        m = t.df[ds.time_column].min()
        if pd.notna(m) and (best is None or m < best):
            best = m
    return None if best is None else month_start(best)


def all_months(tables: dict[str, Table], names: Collection[str]) -> list[pd.Timestamp]:
    lo, hi = first_month(tables, names), latest_month(tables, names)
    if lo is None or hi is None:
        return []
    return month_range(lo, hi)


def scope(tables: dict[str, Table], names: Iterable[str], segment: tuple[str, str | None] | None,
          month: pd.Timestamp | None, source: str = "", period: Period | None = None) -> ReportData:
    """Cut the loaded tables to what one report shows. Raises :class:`ScopeError`.

    ``period`` (a quarter or year ending in ``month``) is kept on the result; when the data does not cover it
    from its first month to its last, the result says so (:attr:`ReportData.partial` and a notice).
    """
    names = list(names)
    missing = [n for n in names if n not in tables]
    absent = [n for n in missing if DATASETS[n].optional]  # an optional data set the folder has no file for
    if len(absent) < len(missing):
        raise ScopeError(f"needs data set(s) {', '.join(n for n in missing if n not in absent)}")
    if absent:
        tables = {**tables, **{n: absent_table(n) for n in absent}}
    latest = latest_month(tables, names)
    if month is None:
        month = latest
        if month is None:
            raise ScopeError("the data has no dates, so there is no report month")
    month = month_start(month)
    early_notice = []
    partial = []
    if period is not None and period.months == 1:
        period = None
    if latest is not None and month > latest:
        if period is None:
            early_notice.append(f"the report month {month:%Y-%m} is after the last month in the data "
                                f"({latest:%Y-%m}): subscriptions still running are counted as continuing")
        else:
            partial.append(f"the data ends in {latest:%B %Y}")
            early_notice.append(f"the report period {period.title} ({period.span}) ends after the last month in "
                                f"the data ({latest:%Y-%m}): it is partial — subscriptions still running are "
                                "counted as continuing, and the later months have no rows")
    first = first_month(tables, names)
    if period is not None and first is not None and first.year * 12 + first.month - 1 > period.first:
        partial.append(f"the data starts in {first:%B %Y}")
        early_notice.append(f"the report period {period.title} ({period.span}) starts before the first month in the "
                            f"data ({first:%Y-%m}): it is partial, covering only the months from {first:%Y-%m}")
    month_end = month + pd.DateOffset(months=1)  # exclusive
    out: dict[str, Table] = {}
    notices: list[str] = list(early_notice)
    for n in absent:
        ds = DATASETS[n]
        notices.append(f"no {ds.name} file in the data folder (expected {' or '.join(ds.filenames)}): the "
                       f"{ds.sheet} sheet is empty, so the KPIs that read it are undefined (#DIV/0!)")

    seg_customers = None
    unknown_customers: set = set()
    splits = {sp.dataset: sp for sp in split_plan(names, segment[0])} if segment is not None else {}
    allocation = None
    if segment is not None:
        col, val = segment
        cust = tables.get("customers")
        if cust is not None and col in cust.df.columns:
            c = cust.df
            in_seg = c[col].isna() if val is None else (c[col] == val)
            seg_customers = set(c.loc[in_seg, "customer_id"].dropna().tolist())
            unknown_customers = set() if val is None else set(c.loc[c[col].isna(), "customer_id"].dropna().tolist())

    for n in names:
        t = tables[n]
        ds = t.dataset
        mask = np.ones(len(t.df), dtype=bool)
        unknown = np.zeros(len(t.df), dtype=bool)  # rows whose segment cannot be known
        if segment is not None:
            col, val = segment
            how = splits[n].how
            if how == "direct":
                v = t.df[col]
                if val is None:  # the rows with a blank in the split column are a segment of their own
                    mask &= v.isna().to_numpy(dtype=bool)
                else:
                    mask &= (v == val).to_numpy(dtype=bool)
                    unknown |= (v.isna() & pd.Series(t.bad)).to_numpy(dtype=bool)
            elif how == "customers" and seg_customers is not None:
                ids = t.df[ds.customer_column]
                mask &= ids.isin(seg_customers).to_numpy(dtype=bool)
                unknown |= ids.isna().to_numpy(dtype=bool)
                if unknown_customers:
                    unknown |= ids.isin(unknown_customers).to_numpy(dtype=bool)
                if t.bad.any():  # (each isin is a pass over every row: only when it can change the answer)
                    unknown |= t.bad & ~ids.isin(seg_customers | unknown_customers).to_numpy(dtype=bool) & \
                        ~ids.isin(set(tables["customers"].df["customer_id"].dropna())).to_numpy(dtype=bool)
            elif how == "allocated" and "customers" in tables:
                pass  # every row is kept; its amounts are shared out below
            else:
                raise ScopeError(f"cannot split {t.file} by {col!r}: {splits[n].text.partition(': ')[2]} "
                                 f"(columns: {', '.join(ds.column_names)})")
        # bad rows in scope (or of unknown segment) fail the report
        bad_rows = set(t.rows[(mask | unknown) & t.bad].tolist())
        issues = [i for i in t.issues if i.row in bad_rows or i.row is None]
        if issues:
            shown = "\n".join(f"  {i}" for i in issues[:25])
            more = f"\n  … and {len(issues) - 25} more" if len(issues) > 25 else ""
            raise ScopeError(f"{len(issues)} bad cell(s) in {t.file}:\n{shown}{more}")
        if ds.time_column:
            tc = t.df[ds.time_column]
            in_time = np.array(tc < month_end, dtype=bool)
            if ds.window_months:
                in_time &= (tc >= month - pd.DateOffset(months=ds.window_months - 1)).to_numpy(dtype=bool)
            mask &= in_time
        sub = t.subset(mask)
        if ds.later_columns:
            df = sub.df.copy()
            for lc in ds.later_columns:
                later = (df[lc] >= month_end).to_numpy(dtype=bool)
                if later.any():
                    df.loc[later, lc] = pd.NaT
            sub = sub.replace_df(df)
        if segment is not None and splits[n].how == "allocated":
            sub, allocation, alloc_notices = allocate_costs(tables, sub, segment[0], segment[1], month)
            notices.extend(alloc_notices)
        out[n] = sub
        notices.extend(t.notices)
    from .fx import report_fx

    return ReportData(out, month, segment, source, notices, first,
                      report_fx((tables[n] for n in names), month), list(splits.values()), allocation,
                      period=period, partial="partial: " + " and ".join(partial) if partial else None)


def absent_table(name: str) -> Table:
    """The empty table of an optional data set the folder has no file for: its columns, typed, and no rows
    (a report that reads it shows the KPIs over it as undefined, never 0)."""
    ds = DATASETS[name]
    kind = {"date": "datetime64[ms]", "datetime": "datetime64[ms]", "month": "datetime64[ms]",
            "number": "float64", "integer": "float64"}
    df = pd.DataFrame({c.name: pd.Series([], dtype=kind.get(c.type, object)) for c in ds.columns})
    return Table(ds, df, np.zeros(0, dtype=np.int64), f"{ds.name}.csv (no such file in the data folder)",
                 derived="The data folder has no file of this data set, so the table is empty")


def segment_values(tables: dict[str, Table], column: str) -> list[str | None]:
    """Distinct values of a segment column, in order of first appearance in customers (else any table).

    Rows with a blank in the column are a segment of their own (``None``), so no row is left out.
    """
    order = ["customers"] + [n for n in tables if n != "customers"]
    for n in order:
        t = tables.get(n)
        if t is not None and column in t.df.columns:
            col = t.df[column]
            out: list[str | None] = list(dict.fromkeys(col.dropna().astype(str).tolist()))
            if col.isna().any():
                out.append(None)
            return out
    raise ScopeError(f"no data set has a column {column!r}")
