"""Pieces of the retention report (:func:`.reports._retention`): the repeat purchase rate within a time
frame (an editable window in days), and the per-customer health table — activity, tickets and NPS of every
customer paying at the end of the report period, the health score (KPI_HEALTH_SCORE) from editable weights,
and the customers most at risk (the lowest scores).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .formulas import (
    KPI,
    BlockCol,
    Col,
    Const,
    EDate,
    ExcelError,
    Filter,
    Fn,
    If,
    IfError,
    InMonth,
    ListCol,
    Lookup,
    Node,
    Op,
    Ref,
    RowRef,
    SpillCol,
    SumWhere,
)
from .formulas.nodes import Ctx, row_of, wrap
from .formulas.values import first_error, keys_equal, lookup_key, lookup_keys, ranks_in_order
from .report_parts import COUNT, MONEY, RM
from .spec import Distinct, Fixed, Item, ItemList, RowColumn, RowTable, SheetSpec, Spill, Text

__all__ = ["AT_RISK_N", "HEALTH_ABOUT", "HEALTH_SHEET", "HEALTH_WEIGHTS", "NPS_NEUTRAL", "PERIOD_END", "REPEAT_WINDOW_DAYS",
           "health_blocks", "health_sheet", "repeat_window_items"]

#: the last day of the report period (the report month is the period's last month, on its first day)
PERIOD_END = EDate(RM, 1) - 1
#: the default time frame of the windowed repeat purchase rate, in days (an input cell the owner may change)
REPEAT_WINDOW_DAYS = 365


def repeat_window_items() -> tuple[Item, Item]:
    """The time frame (an input cell, days) and the repeat purchase rate within it, as of the period end."""
    return (
        Item("repeat_window", "Repeat purchase window N (days)", REPEAT_WINDOW_DAYS, "0", input=True,
             note="change it: the time frame of the rate below"),
        Item("repeat_window_rate", "Repeat purchase rate within N days",
             KPI("KPI_REPEAT_PURCHASE_RATE", Col("orders", "customer_id"), Col("orders", "order_date"),
                 Ref("repeat_window"), PERIOD_END),
             note="second order ≤ N days after the first ÷ customers whose first order is ≥ N days "
                  "before the period end"),
    )


# --------------------------------------------------------------------------
# Customer health
# --------------------------------------------------------------------------
HEALTH_SHEET = "Customer health"
#: a customer's latest NPS score counts as (score − 7): a passive's lowest score (7) is neutral, promoters
#: (9–10) add, detractors (0–6) subtract; a customer who never answered adds nothing (a blank counts 0)
NPS_NEUTRAL = 7
#: (item name, label, default weight, what it means): the weights of the health score, in the order of the
#: value columns they multiply. The score is Σ weight × value (KPI_HEALTH_SCORE), so a weight is the points
#: one unit of its signal adds (negative: takes away).
HEALTH_WEIGHTS = (
    ("w_activity", "Weight: active user-days", 1.0,
     "points per user-day of activity in the report period (Activity rows)"),
    ("w_solved", "Weight: tickets solved", 2.0,
     "points per ticket of the customer resolved in the report period"),
    ("w_open", "Weight: tickets open", -5.0,
     "points per ticket still open at the period end (negative: a penalty)"),
    ("w_nps", "Weight: NPS points", 3.0,
     f"points per NPS point of the latest answer, counted as score − {NPS_NEUTRAL} (no answer: 0)"),
)
#: rows of the most-at-risk list (the lowest health scores)
AT_RISK_N = 10


@dataclass(frozen=True, eq=False)
class CountDated(Node):
    """``SUMPRODUCT((r1=k1)*…*ISNUMBER(dates)*(dates>=start)*(dates<EDATE(month,1)))``: the rows whose
    ranges equal their keys and whose date falls in the report period ending in ``month`` (``months``
    months; None: the report period's length; 0: any time up to the period's end). A blank date never
    counts. Evaluated through one index per set of ranges and period, so a column of these costs one pass.
    """

    dates: Node
    month: Node
    conds: tuple[tuple[Node, Node], ...]
    months: int | None

    def __init__(self, dates: Node, month: Any, *conds: tuple[Node, Any], months: int | None = None) -> None:
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "month", wrap(month))
        object.__setattr__(self, "conds", tuple((r, wrap(k)) for r, k in conds))
        object.__setattr__(self, "months", months)

    def children(self) -> Iterable[Node]:
        return [self.dates, self.month] + [r for r, _ in self.conds] + [k for _, k in self.conds]

    def _span(self, ctx: Ctx) -> int:
        return ctx.period_months() if self.months is None else self.months

    def render(self, ctx: Ctx) -> str:
        d, m, n = self.dates.render(ctx), self.month.render(ctx), self._span(ctx)
        terms = [f"({r.render(ctx)}={k.render(ctx)})" for r, k in self.conds] + [f"ISNUMBER({d})"]
        if n:
            terms.append(f"({d}>={m if n == 1 else f'EDATE({m},{1 - n})'})")
        terms.append(f"({d}<EDATE({m},1))")
        return f"SUMPRODUCT({'*'.join(terms)})"

    def evaluate(self, ctx: Ctx) -> Any:
        m = self.month.evaluate(ctx)
        keys = [k.evaluate(ctx) for _, k in self.conds]
        e = first_error(m, *keys)
        if e:
            return e
        index = self.index(ctx, m)
        if isinstance(index, ExcelError):
            return index
        return float(index.get(tuple(lookup_key(k) for k in keys), 0.0))

    def key_nodes(self) -> list[Node]:
        """The parts a row of a row table may set (the month and the keys); the ranges are the same in every
        row."""
        return [self.month] + [k for _, k in self.conds]

    def evaluate_column(self, ctx: Ctx, keys: list[list[Any]]) -> list[Any]:
        """The value in each row of a row table, given each row's month and keys: one index per month."""
        indexes: dict[Any, Any] = {}
        out: list[Any] = []
        for m, *ks in zip(*keys, strict=True):
            e = first_error(m, *ks)
            if e:
                out.append(e)
                continue
            at = (type(m), m)
            index = indexes.get(at)
            if index is None:
                index = indexes[at] = self.index(ctx, m)
            out.append(index if isinstance(index, ExcelError) else
                       float(index.get(tuple(lookup_key(k) for k in ks), 0.0)))
        return out

    def index(self, ctx: Ctx, m: Any) -> dict[Any, float] | ExcelError:
        """The count of each key of the ranges in the period ending in the month ``m`` (built once)."""
        if not isinstance(m, pd.Timestamp):
            return ExcelError("#VALUE!", f"EDATE needs a date, got {m!r}")
        n = self._span(ctx)
        ident = ("countdated", self.dates.render(ctx), tuple(r.render(ctx) for r, _ in self.conds), n, m)
        cache = ctx.cache()
        index = cache.get(ident)
        if index is None:
            ranges = [r.evaluate(ctx) for r, _ in self.conds]
            d = self.dates.evaluate(ctx)
            e = first_error(d, *ranges)
            if e:
                return e
            v = pd.to_datetime(d)
            inside = v.notna() & (v < m + pd.DateOffset(months=1))
            if n:
                inside &= v >= m - pd.DateOffset(months=n - 1)
            rows = np.flatnonzero(inside.to_numpy(dtype=bool))
            cols = [lookup_keys(r.iloc[rows]) for r in ranges]
            index = {}
            for key in zip(*cols):
                index[key] = index.get(key, 0.0) + 1.0
            cache[ident] = index
        return index

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return CountDated(self.dates.substitute(row_cells), self.month.substitute(row_cells),
                          *[(r.substitute(row_cells), k.substitute(row_cells)) for r, k in self.conds],
                          months=self.months)


@dataclass(frozen=True, eq=False)
class LatestDate(Node):
    """``SUMPRODUCT(MAX((r=k)*dates))``: the latest date (a serial number) in the rows where ``r`` equals
    ``k``; 0 when there is none."""

    dates: Node
    cond: tuple[Node, Node]

    def __init__(self, dates: Node, cond: tuple[Node, Any]) -> None:
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "cond", (cond[0], wrap(cond[1])))

    def children(self) -> Iterable[Node]:
        return (self.dates, *self.cond)

    def render(self, ctx: Ctx) -> str:
        r, k = self.cond
        return f"SUMPRODUCT(MAX(({r.render(ctx)}={k.render(ctx)})*{self.dates.render(ctx)}))"

    def evaluate(self, ctx: Ctx) -> Any:
        key = self.cond[1].evaluate(ctx)
        if isinstance(key, ExcelError):
            return key
        index = self.index(ctx)
        if isinstance(index, ExcelError):
            return index
        return float(max(index.get(lookup_key(key), 0.0), 0.0))

    def key_nodes(self) -> list[Node]:
        """The part a row of a row table may set (the key); the range and dates are the same in every row."""
        return [self.cond[1]]

    def evaluate_column(self, ctx: Ctx, keys: list[list[Any]]) -> list[Any]:
        """The value in each row of a row table, given each row's key: the index once."""
        index: Any = None
        out: list[Any] = []
        for key in keys[0]:
            if isinstance(key, ExcelError):
                out.append(key)
                continue
            if index is None:
                index = self.index(ctx)
            out.append(index if isinstance(index, ExcelError) else
                       float(max(index.get(lookup_key(key), 0.0), 0.0)))
        return out

    def index(self, ctx: Ctx) -> dict[Any, float] | ExcelError:
        """The latest date (serial) of each key of the range (built once)."""
        r = self.cond[0]
        ident = ("latestdate", self.dates.render(ctx), r.render(ctx))
        cache = ctx.cache()
        index = cache.get(ident)
        if index is None:
            ids, d = r.evaluate(ctx), self.dates.evaluate(ctx)
            e = first_error(ids, d)
            if e:
                return e
            serial = pd.Series(pd.to_datetime(d)).map(lambda t: lookup_key(t)[1] if pd.notna(t) else 0.0)
            frame = pd.DataFrame({"k": lookup_keys(ids), "d": serial.to_numpy(dtype=float)})
            index = frame.groupby("k", sort=False)["d"].max().to_dict()
            cache[ident] = index
        return index

    def substitute(self, row_cells: dict[str, str]) -> Node:
        r, k = self.cond
        return LatestDate(self.dates.substitute(row_cells), (r.substitute(row_cells), k.substitute(row_cells)))


@dataclass(frozen=True, eq=False)
class BlockCols(Node):
    """Adjacent columns of a row table as one range (``$D$19:$G$400``), for a KPI over a row per customer."""

    table: str
    keys: tuple[str, ...]

    def render(self, ctx: Ctx) -> str:
        first, last = ctx.block_range(self.table, self.keys[0]), ctx.block_range(self.table, self.keys[-1])
        return f"{first.split(':')[0]}:{last.split(':')[1]}"

    def evaluate(self, ctx: Ctx) -> Any:
        cols = [ctx.block_value(self.table, k).reset_index(drop=True) for k in self.keys]
        return pd.concat(cols, axis=1, ignore_index=True)


@dataclass(frozen=True, eq=False)
class RiskRank(Node):
    """The rank of row ``i``'s health score from the lowest (1), ties in table order:
    ``IF(ISNUMBER(s), SUMPRODUCT(ISNUMBER(all)*(all<s)) + SUMPRODUCT(ISNUMBER(first:s)*(first:s=s)), "")``
    where ``s`` is the spilled score of this row. Unique for every scored row, so the at-risk list finds the
    k-th lowest by MATCH(k, ranks)."""

    reads_row = True

    spill: str
    col: str
    row: int | None = None  #: the data row (0-based): set by :meth:`substitute`, else the row it is evaluated in

    def children(self) -> Iterable[Node]:
        return (SpillCol(self.spill, self.col),)

    def render(self, ctx: Ctx) -> str:
        s = ctx.spill_cell(self.spill, row_of(self.row, ctx) + 1, self.col)
        first = ctx.spill_cell(self.spill, 1, self.col)
        run = f"{first}:{s.split('!')[-1]}"
        every = ctx.spill_range(self.spill, self.col, header=False)
        return (f'IF(ISNUMBER({s}),SUMPRODUCT(ISNUMBER({every})*({every}<{s}))'
                f'+SUMPRODUCT(ISNUMBER({run})*({run}={s})),"")')

    def evaluate(self, ctx: Ctx) -> Any:
        ident = ("riskrank", self.spill, self.col)
        cache = ctx.cache()
        hit = cache.get(ident)
        if hit is None:  # every row's rank at once: each row's cell reads the whole column
            v = ctx.spill_value(self.spill, self.col)
            if isinstance(v, ExcelError):
                hit = v
            else:
                s = pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(dtype=float)
                hit = (s, ranks_in_order(s))
            cache[ident] = hit
        if isinstance(hit, ExcelError):
            return hit
        s, ranks = hit
        row = row_of(self.row, ctx)
        if row >= s.size or np.isnan(s[row]):
            return ""
        return float(ranks[row])

    def substitute(self, row_cells: dict[str, str]) -> Node:
        row = int(next(iter(row_cells.values())).rsplit(".", 1)[1])
        return RiskRank(self.spill, self.col, row)


def health_sheet() -> SheetSpec:
    # the weights' labels in A, the per-customer table A:J (H: its latest NPS date), the at-risk list L:R
    widths = ((0, 22), (1, 12), (2, 11), (3, 12), (4, 11), (5, 11), (6, 12), (7, 11), (8, 11), (9, 9),
              (10, 2), (11, 5), (12, 13), (13, 11), (14, 12), (15, 11), (16, 11), (17, 10))
    # the per-customer table runs over pages: its header row (18) heads each of them
    return SheetSpec(HEALTH_SHEET, "report", widths=widths, fit_height=0, tab_color="#2563EB", repeat_rows=(17, 17))


def health_blocks() -> list:
    """The health sheet: the weights (input cells), the per-customer table with its KPI_HEALTH_SCORE spill and
    risk ranks, and the customers most at risk."""
    S = HEALTH_SHEET
    cust = RowRef("customer")
    t_id = (Col("tickets", "customer_id"), cust)
    n_id = (Col("nps_responses", "customer_id"), cust)
    paying_now = Filter(SpillCol("mrr", "customer"), _MonthIs(SpillCol("mrr", "month"), RM))
    values = ("activity", "solved", "open", "nps_points")
    blocks: list = [
        Text(S, 0, 0, "Customer health", "title"),
        Text(S, 1, 0, "Every customer paying at the end of the report period: activity, tickets and NPS, the "
                      "health score Σ weight × value (KPI_HEALTH_SCORE) from the weights below (yellow: change "
                      "them), and the customers most at risk (the lowest scores).", "subtitle"),
        ItemList(S, 3, 0, "Health score weights", tuple(
            Item(name, label, w, "0.0", note, input=True) for name, label, w, note in HEALTH_WEIGHTS),
            value_header="Weight", label_header="Signal", name="hweights"),
        RowTable("health", S, 16, 0, "Per customer", Distinct(paying_now), (
            RowColumn("customer", "customer_id", "KEY"),
            RowColumn("mrr", "MRR at period end",
                      SumWhere(SpillCol("mrr", "MRR"), (SpillCol("mrr", "customer"), cust),
                               (SpillCol("mrr", "month"), RM)), MONEY),
            RowColumn("nps", "Latest NPS score",
                      If(Fn("ISNUMBER", RowRef("nps_date")),
                         SumWhere(Col("nps_responses", "score"), n_id, (Col("nps_responses", "date"), RowRef("nps_date")))
                         / SumWhere(None, n_id, (Col("nps_responses", "date"), RowRef("nps_date"))), ""), "0.0"),
            RowColumn("activity", "Active user-days",
                      CountDated(Col("activity", "date"), RM, (Col("activity", "customer_id"), cust)), COUNT),
            RowColumn("solved", "Tickets solved",
                      CountDated(Col("tickets", "resolved_at"), RM, t_id), COUNT),
            RowColumn("open", "Tickets open",
                      CountDated(Col("tickets", "created_at"), RM, t_id, months=0)
                      - CountDated(Col("tickets", "resolved_at"), RM, t_id, months=0), COUNT),
            RowColumn("nps_points", f"NPS points (score − {NPS_NEUTRAL})",
                      If(Fn("ISNUMBER", RowRef("nps")), RowRef("nps") - NPS_NEUTRAL, ""), "0.0"),
            RowColumn("nps_date", "Latest NPS answer",
                      If(Op(">", LatestDate(Col("nps_responses", "date"), n_id), Const(0)),
                         LatestDate(Col("nps_responses", "date"), n_id), ""), "yyyy-mm-dd"),
        )),
        # the section line of "Per customer" runs on over the score and the rank beside the table
        Text(S, 16, 8, "", "section"), Text(S, 16, 9, "", "section"),
        Spill("hscore", S, 17, 8, KPI("KPI_HEALTH_SCORE", BlockCols("health", values), ListCol("hweights", "value")),
              col_formats=(("health score", "0.0"),), headers=(("health score", "Health score"),)),
        RowTable("hrank", S, 17, 9, "", Distinct(paying_now), (
            RowColumn("rank", "Risk rank", RiskRank("hscore", "health score"), "0"),
        ), header=True),
    ]
    k = RowRef("k")
    at = lambda col: IfError(Lookup(k, BlockCol("hrank", "rank"), col), "")
    blocks.append(RowTable("at_risk", S, 3, 11, f"Most at risk: the {AT_RISK_N} lowest health scores",
                           Fixed(tuple(range(1, AT_RISK_N + 1))), (
        RowColumn("k", "#", "KEY", "0"),
        RowColumn("customer", "customer_id", at(BlockCol("health", "customer"))),
        RowColumn("score", "Health score", at(SpillCol("hscore", "health score")), "0.0"),
        RowColumn("mrr", "MRR at period end", at(BlockCol("health", "mrr")), MONEY),
        RowColumn("activity", "Active user-days", at(BlockCol("health", "activity")), COUNT),
        RowColumn("open", "Tickets open", at(BlockCol("health", "open")), COUNT),
        RowColumn("nps", "Latest NPS", at(BlockCol("health", "nps")), "0.0"),
    ), heatmap_cols=("score",)))
    return blocks


@dataclass(frozen=True, eq=False)
class _MonthIs(InMonth):
    """Condition for :class:`~.formulas.Filter`: a month column equals ``month`` (``(col=month)``)."""

    def render(self, ctx: Ctx) -> str:
        return f"({self.dates.render(ctx)}={self.month.render(ctx)})"

    def mask(self, ctx: Ctx) -> Any:
        m, c = self.month.evaluate(ctx), self.dates.evaluate(ctx)
        e = first_error(m, c)
        if e:
            return e
        return keys_equal(c, lookup_key(m))


#: the Notes sheet's rows about the windowed repeat purchase rate and the health table (ReportSpec.about)
HEALTH_ABOUT = (
    ("Repeat purchase rate within N days",
     (f"KPI_REPEAT_PURCHASE_RATE over the Orders table with the order dates, the window N (an input cell on the "
     f"Retention sheet, {REPEAT_WINDOW_DAYS} days by default: change it) and as of the last day of the report "
     "period: customers whose second order came at most N days after their first ÷ customers whose first order "
     "is at least N days before the period end (customers who have not had the whole window yet are left out, "
     "so they do not lower the rate). The all-time rate above it counts every customer who ordered.")),
    ("Customer health",
     ("The Customer health sheet has one row per customer paying (MRR above 0) at the end of the report period. "
     "Columns: MRR at period end; latest NPS score (the mean score of the customer's latest day of answers up to "
     "the period end; blank: never answered); active user-days (rows of the Activity table in the report "
     "period — one per user and day of use; the activity data covers the six months up to the report month, so "
     "a report of a year counts those); tickets solved (resolved in the report period); tickets open (opened by "
     f"the period end and not resolved by then); NPS points (latest score − {NPS_NEUTRAL}: 7, the lowest passive "
     "score, is neutral; blank without an answer); latest NPS answer (its date). Health score = KPI_HEALTH_SCORE "
     "of the four value columns (active user-days, tickets solved, tickets open, NPS points) with the weights: "
     "Σ weight × value, a blank counting 0. Risk rank: 1 for the lowest score, ties in table order. The row set "
     "is fixed when the report is built; the values are live formulas over the input tables.")),
    ("Health score weights",
     "Yellow input cells on the Customer health sheet — change them and the scores, ranks and the at-risk list "
     "recalculate: " + "; ".join(f"{label.removeprefix('Weight: ')}: {w:+g}, {note}"
                                 for _, label, w, note in HEALTH_WEIGHTS)
     + f". The most-at-risk list shows the {AT_RISK_N} customers with the lowest scores, lowest first."),
)
