"""Models in the retention report (:func:`.reports._retention`): the survival curve with its confidence band
and the median customer lifetime, and the repeat buyers of the one-off orders — the RFM summary of the orders
up to the report period's end, the BG/NBD fit, each customer's P(alive) and expected purchases, and the
recent repeat buyers most likely lost (the lowest P(alive)).

The survival spill and its chart, the lifetime items, the blocks and the sheets are built here; the report
only hooks them in.
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
    ExcelError,
    Filter,
    Fn,
    If,
    IfError,
    InMonth,
    Lookup,
    Node,
    Op,
    Ref,
    RowRef,
    SpillAll,
    SpillCell,
    SpillCol,
)
from .formulas.nodes import Ctx, row_of, wrap
from .formulas.values import cell_value, first_error, number, ranks_in_order
from .report_health import PERIOD_END
from .report_parts import COUNT, NAVY, PCT, RM, _calc_head, _calc_sheet
from .spec import Chart, Distinct, Fixed, Item, ItemList, RowColumn, RowTable, Series, SheetSpec, Spill, Text

__all__ = ["LOST_N", "MODELS_ABOUT", "NO_ORDERS_RETENTION", "RB_HORIZON_WEEKS", "RB_WINDOW_DAYS", "REPEAT_SHEET",
           "RFM_SHEET", "lifetime_blocks", "repeat_buyer_blocks", "repeat_buyer_sheets", "survival_chart",
           "survival_spill"]

D = "Details"
REPEAT_SHEET = "Repeat buyers"
RFM_SHEET = "RFM"
#: the default span of the expected purchases, in weeks (13 weeks: a quarter); an input cell
RB_HORIZON_WEEKS = 13
#: a repeat buyer is recent with a purchase in the last N days to the period end (an input cell)
RB_WINDOW_DAYS = 365
#: rows of the most-likely-lost list
LOST_N = 10
#: the survival band's lower and upper bounds: the curve's navy, lighter (each line of a chart its own colour)
BAND = ("#8C9CC4", "#B3BEDB")
#: what a folder without an orders file means for the retention report (it stands in an empty Orders table)
NO_ORDERS_RETENTION = ("the retention report counts no one-off orders: the repeat purchase and cross-sell rates "
                       "are undefined and the Repeat buyers sheet is empty; add the orders (orders.csv) for them")


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------
def _text_of(v: Any) -> str:
    """A value as Excel's ``&`` writes it: a whole number without decimals, text as it is."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.15g}"
    return "" if v is None else str(v)


@dataclass(frozen=True, eq=False)
class Concat(Node):
    """``(a&b&…)``: text joined; the first error wins."""

    parts: tuple[Node, ...]

    def __init__(self, *parts: Any) -> None:
        object.__setattr__(self, "parts", tuple(wrap(p) for p in parts))

    def children(self) -> Iterable[Node]:
        return self.parts

    def render(self, ctx: Ctx) -> str:
        return "(" + "&".join(p.render(ctx) for p in self.parts) + ")"

    def evaluate(self, ctx: Ctx) -> Any:
        vals = [p.evaluate(ctx) for p in self.parts]
        return first_error(*vals) or "".join(_text_of(v) for v in vals)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Concat(*[p.substitute(row_cells) for p in self.parts])


@dataclass(frozen=True, eq=False)
class MaxOf(Node):
    """``MAX(range)``: the largest number of a range (blanks and text left out; 0 when there is none)."""

    values: Node

    def children(self) -> Iterable[Node]:
        return (self.values,)

    def render(self, ctx: Ctx) -> str:
        return f"MAX({self.values.render(ctx)})"

    def evaluate(self, ctx: Ctx) -> Any:
        v = self.values.evaluate(ctx)
        if isinstance(v, ExcelError):
            return v
        s = pd.Series(v, dtype=object)
        e = first_error(*s)
        if e:
            return e
        x = pd.to_numeric(s[s.map(lambda y: isinstance(y, (int, float)) and not isinstance(y, bool))],
                          errors="coerce")
        return float(x.max()) if x.notna().any() else 0.0


@dataclass(frozen=True, eq=False)
class UpTo(InMonth):
    """Condition for :class:`~.formulas.Filter`: a date column falls on or before the last day of the month
    ``month`` (``(dates<EDATE(month,1))``)."""

    def render(self, ctx: Ctx) -> str:
        return f"({self.dates.render(ctx)}<EDATE({self.month.render(ctx)},1))"

    def mask(self, ctx: Ctx) -> Any:
        m = self.month.evaluate(ctx)
        if isinstance(m, ExcelError):
            return m
        v = pd.to_datetime(self.dates.evaluate(ctx))
        return (v < pd.Timestamp(m) + pd.DateOffset(months=1)).to_numpy(dtype=bool)


def _row_of(row_cells: dict[str, str]) -> int:
    """The data row (0-based) of a row table's cells, from their names (``table.key.i``)."""
    return int(next(iter(row_cells.values())).rsplit(".", 1)[1])


@dataclass(frozen=True, eq=False)
class SpillAt(Node):
    """In a row table whose rows follow a spill's rows one to one: this row's cell of column ``col`` of the
    spill (:class:`~.formulas.SpillCell` once substituted)."""

    reads_row = True

    spill: str
    col: int | str

    def render(self, ctx: Ctx) -> str:
        return SpillCell(self.spill, row_of(None, ctx) + 1, self.col).render(ctx)

    def evaluate(self, ctx: Ctx) -> Any:
        return SpillCell(self.spill, row_of(None, ctx) + 1, self.col).evaluate(ctx)

    def evaluate_rows(self, ctx: Ctx, n: int) -> list[Any]:
        """Rows 0 to ``n - 1``, as :class:`~.formulas.SpillCell` reads each: the column once."""
        v = ctx.spill_value(self.spill, self.col)
        if isinstance(v, ExcelError):
            return [v] * n
        vals = [cell_value(x) for x in v.tolist()[:n]]
        out: list[Any] = [0.0 if x is None else x for x in vals]
        m = len(v)
        out += [ExcelError("#REF!", f"{self.spill} has {m} rows")] * (n - len(out))
        return out

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return SpillCell(self.spill, _row_of(row_cells) + 1, self.col)


@dataclass(frozen=True, eq=False)
class NumberAt(Node):
    """As :class:`SpillAt`, but a cell the function left blank (a value it could not compute) is ``""``, not
    the 0 a reference to a blank cell reads: ``IF(ISNUMBER(c),c,IF(ISERROR(c),c,""))``; an error stays."""

    reads_row = True

    spill: str
    col: int | str
    row: int | None = None  #: the data row (0-based): set by :meth:`substitute`, else the row it is evaluated in

    def _row(self, ctx: Ctx) -> int:
        return row_of(self.row, ctx)

    def render(self, ctx: Ctx) -> str:
        c = SpillCell(self.spill, self._row(ctx) + 1, self.col).render(ctx)
        return f'IF(ISNUMBER({c}),{c},IF(ISERROR({c}),{c},""))'

    def evaluate(self, ctx: Ctx) -> Any:
        v = ctx.spill_value(self.spill, self.col)
        if isinstance(v, ExcelError):
            return v
        row = self._row(ctx)
        x = v.iloc[row] if 0 <= row < len(v) else None
        return _number_or_text(x)

    def evaluate_rows(self, ctx: Ctx, n: int) -> list[Any]:
        """Rows 0 to ``n - 1`` (the column once)."""
        v = ctx.spill_value(self.spill, self.col)
        if isinstance(v, ExcelError):
            return [v] * n
        vals = v.tolist()[:n]
        return [_number_or_text(x) for x in vals] + [""] * (n - len(vals))

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return NumberAt(self.spill, self.col, _row_of(row_cells))


def _number_or_text(x: Any) -> Any:
    """A spilled cell as :class:`NumberAt` reads it: an error stays, a number is a float, anything else ``""``."""
    if isinstance(x, ExcelError):
        return x
    return float(x) if isinstance(x, (int, float, np.integer, np.floating)) and not pd.isna(x) else ""


@dataclass(frozen=True, eq=False)
class CountNumbers(Node):
    """``SUMPRODUCT(--ISNUMBER(range))``: the cells of a range holding a number (a blank, text or an error
    does not count)."""

    values: Node

    def children(self) -> Iterable[Node]:
        return (self.values,)

    def render(self, ctx: Ctx) -> str:
        return f"SUMPRODUCT(--ISNUMBER({self.values.render(ctx)}))"

    def evaluate(self, ctx: Ctx) -> Any:
        v = self.values.evaluate(ctx)
        if isinstance(v, ExcelError):  # a spilled error is one cell: not a number
            return 0.0
        s = pd.Series(v, dtype=object)
        return float(sum(1 for y in s if isinstance(y, (int, float, np.integer, np.floating))
                         and not isinstance(y, bool) and not pd.isna(y)))


@dataclass(frozen=True, eq=False)
class FlaggedRank(Node):
    """The rank of row ``i``'s ``score`` from the lowest (1) among the rows of ``table`` whose ``flag`` is 1,
    ties in table order; blank for an unflagged row:
    ``IF(f=1, SUMPRODUCT((F=1)*(S<s)) + SUMPRODUCT((F₁:f=1)*(S₁:s=s)), "")``. Unique for every flagged row, so
    a list finds the k-th lowest by MATCH(k, ranks)."""

    reads_row = True

    table: str
    flag: str
    score: str
    row: int | None = None  #: the data row (0-based): set by :meth:`substitute`, else the row it is evaluated in

    def _row(self, ctx: Ctx) -> int:
        return row_of(self.row, ctx)

    def _cells(self, ctx: Ctx) -> tuple[str, str, str, str, str, str]:
        f_all, s_all = ctx.block_range(self.table, self.flag), ctx.block_range(self.table, self.score)
        row = self._row(ctx)
        f_i = ctx.addr(f"{self.table}.{self.flag}.{row}")
        s_i = ctx.addr(f"{self.table}.{self.score}.{row}")
        return f_all, s_all, f_i, s_i, f"{f_all.split(':')[0]}:{f_i}", f"{s_all.split(':')[0]}:{s_i}"

    def render(self, ctx: Ctx) -> str:
        f_all, s_all, f_i, s_i, f_run, s_run = self._cells(ctx)
        return (f'IF({f_i}=1,SUMPRODUCT(({f_all}=1)*({s_all}<{s_i}))'
                f'+SUMPRODUCT(({f_run}=1)*({s_run}={s_i})),"")')

    def evaluate(self, ctx: Ctx) -> Any:
        ident = ("flaggedrank", self.table, self.flag, self.score)
        cache = ctx.cache()
        hit = cache.get(ident)
        if hit is None:  # the whole columns once: every row's rank reads them
            flags, scores = ctx.block_value(self.table, self.flag), ctx.block_value(self.table, self.score)
            f = np.array([number(x) == 1.0 for x in flags], dtype=bool)
            s = np.array([x if isinstance(x, (int, float)) and not isinstance(x, bool) else np.nan
                          for x in scores], dtype=float)
            hit = (list(flags), f, s, first_error(*flags, *scores), ranks_in_order(s, f))
            cache[ident] = hit
        flags, f, s, e, ranks = hit
        row = self._row(ctx)
        own = flags[row]
        if isinstance(own, ExcelError):  # IF's condition
            return own
        if not f[row]:
            return ""
        if e:  # SUMPRODUCT over a range holding an error
            return e
        return float(ranks[row])

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return FlaggedRank(self.table, self.flag, self.score, _row_of(row_cells))


@dataclass(frozen=True, eq=False)
class CountAtLeast(Node):
    """``SUMPRODUCT(--(range>=x))``: the numbers of a range at least ``x``."""

    values: Node
    x: float

    def children(self) -> Iterable[Node]:
        return (self.values,)

    def render(self, ctx: Ctx) -> str:
        return f"SUMPRODUCT(--({self.values.render(ctx)}>={self.x:g}))"

    def evaluate(self, ctx: Ctx) -> Any:
        v = self.values.evaluate(ctx)
        if isinstance(v, ExcelError):
            return v
        s = list(pd.Series(v, dtype=object))
        e = first_error(*s)
        if e:
            return e
        return float(sum(1 for y in s if isinstance(y, (int, float)) and not isinstance(y, bool) and y >= self.x))


# --------------------------------------------------------------------------
# Survival with its band, and the median lifetime
# --------------------------------------------------------------------------
LIFE_MONTHS, LIFE_CHURNED = BlockCol("life", "months"), BlockCol("life", "churned")


def survival_spill(sheet: str, row: int) -> Spill:
    """The Kaplan–Meier table of the customers' paying months with its 95 % band (Greenwood, log(−log))."""
    return Spill("survival", sheet, row, 0, KPI("KPI_SURVIVAL_CURVE", LIFE_MONTHS, LIFE_CHURNED, True),
                 col_formats=(("time", "0"), ("at risk", COUNT), ("churned", COUNT), ("survival", PCT),
                              ("lower", PCT), ("upper", PCT)),
                 headers=(("time", "Months"), ("at risk", "At risk"), ("churned", "Churned"),
                          ("survival", "Survival"), ("lower", "95 % band: lower"), ("upper", "95 % band: upper")))


def survival_chart(sheet: str, cell: str) -> Chart:
    """The survival curve, its band as two thin dashed lines of a lighter shade."""
    t = SpillCol("survival", "time")
    return Chart(sheet, cell, "scatter", "Survival curve with its 95 % confidence band", (
        Series("Survival", SpillCol("survival", "survival"), t, NAVY),
        Series("95 % band: lower", SpillCol("survival", "lower"), t, BAND[0], dash="dash"),
        Series("95 % band: upper", SpillCol("survival", "upper"), t, BAND[1], dash="dash"),
    ), width=620, height=290, y_format="0%", x_title="months as a customer", legend="bottom", y_min=0, y_max=1,
        x_min=0, x_max="data")


def lifetime_blocks(sheet: str, row: int, details_row: int = 18) -> list:
    """The median lifetime and its interval (KPI_MEDIAN_LIFETIME, spilled on Details beside the survival
    table) as items on ``sheet`` at ``row``. A median the data do not reach yet, or an interval open to the
    right, says so with the longest lifetime seen."""
    med = lambda i: SpillCell("median_life", i, "value")
    longest = MaxOf(LIFE_MONTHS)
    return [
        Text(D, details_row, 7, "Median customer lifetime (months)", "section"),
        Spill("median_life", D, details_row + 1, 7, KPI("KPI_MEDIAN_LIFETIME", LIFE_MONTHS, LIFE_CHURNED),
              col_formats=(("value", "0"),), headers=(("label", "Measure"), ("value", "Months"))),
        ItemList(sheet, row, 0, "Customer lifetime (Kaplan–Meier)", (
            Item("median_life", "Median customer lifetime (months)",
                 IfError(med(1), Concat("not reached (over ", longest, " months)")), "0",
                 note="when half the customers have stopped paying"),
            Item("median_life_low", "Median lifetime, 95 % interval: from", IfError(med(2), "—"), "0",
                 note="Greenwood's band, log(−log) scale"),
            # a blank upper end (read as 0, or an empty text) is an interval open to the right
            # (ISNUMBER first: a spilled blank may come as an empty text, which compares above any number)
            Item("median_life_high", "Median lifetime, 95 % interval: to",
                 IfError(If(Fn("AND", Fn("ISNUMBER", med(3)), Op(">", med(3), Const(0))), med(3),
                            Concat("open (over ", longest, " months)")), "—"), "0"),
        ), note_header="How"),
    ]


# --------------------------------------------------------------------------
# Repeat buyers: RFM summary, BG/NBD, P(alive), expected purchases
# --------------------------------------------------------------------------
def _orders(col: str) -> Filter:
    """A column of the orders up to the report period's end (a report of an earlier month sees no later
    order, as KPI_RFM_SUMMARY refuses purchases after the observation end)."""
    return Filter(Col("orders", col), UpTo(Col("orders", "order_date"), RM))


def repeat_buyer_blocks(details_row: int = 24) -> list:
    """The RFM calc sheet (summary, P(alive), expected purchases, one row per customer with its rank), the
    BG/NBD fit on Details, and the Repeat buyers sheet: its inputs, status and totals, and the recent repeat
    buyers most likely lost."""
    C, S = RFM_SHEET, REPEAT_SHEET
    rfm = tuple(SpillCol("rfm", k) for k in ("frequency", "recency", "T"))
    fit = SpillAll("bgfit")
    weeks = lambda k: SpillAt("rfm", k)
    blocks: list = _calc_head(C, "RFM summary of the orders, BG/NBD predictions",
                              "Per customer who ordered by the report period's end: repeat purchases (frequency), "
                              "recency and age T in weeks (KPI_RFM_SUMMARY), P(alive) and expected purchases "
                              "(BG/NBD), and the rank among the recent repeat buyers by P(alive), lowest first.")
    blocks += [
        Spill("rfm", C, 3, 0, KPI("KPI_RFM_SUMMARY", _orders("customer_id"), _orders("order_date"), _orders("amount"),
                                  PERIOD_END, "weeks"),
              col_formats=(("recency", "0.00"), ("T", "0.00"), ("monetary", "#,##0.00"))),
        Spill("palive", C, 3, 6, KPI("KPI_PROB_ALIVE", *rfm, fit), col_formats=((0, "0.0000"),)),
        Spill("epurch", C, 3, 7, KPI("KPI_EXPECTED_PURCHASES", *rfm, Ref("rb_horizon"), fit),
              col_formats=((0, "0.0000"),)),
        RowTable("rbuy", C, 3, 9, "", Distinct(SpillCol("rfm", "customer")), (
            RowColumn("customer", "customer_id", "KEY"),
            RowColumn("purchases", "Purchase days", weeks("frequency") + 1, COUNT),
            RowColumn("days", "Days since last purchase", (weeks("T") - weeks("recency")) * 7, "0"),
            RowColumn("last", "Last purchase", PERIOD_END - RowRef("days"), "yyyy-mm-dd"),
            # days are whole: the half day absorbs the rounding of weeks × 7
            RowColumn("recent", "Recent repeat buyer",
                      If(Fn("AND", Op(">=", RowRef("purchases"), Const(2)),
                            Op("<", RowRef("days"), Ref("rb_window") + 0.5)), 1, 0), "0"),
            RowColumn("p_alive", "P(alive)", SpillAt("palive", 0), "0.0000"),
            # (blank, not 0, where the library could not compute it)
            RowColumn("expected", "Expected purchases", NumberAt("epurch", 0), "0.0000"),
            RowColumn("rank", "Lost rank", FlaggedRank("rbuy", "recent", "p_alive"), "0"),
        )),
        # the predictions read the plain fit; the standard errors are a second spill, so that a fit whose
        # information matrix is singular (no standard errors) still predicts
        Text(D, details_row, 7, "BG/NBD fit of the repeat purchases (weeks)", "section"),
        Spill("bgfit", D, details_row + 1, 7, KPI("KPI_BGNBD_FIT", *rfm),
              col_formats=(("value", "0.000"),), headers=(("label", "Parameter"), ("value", "Estimate"))),
        Text(D, details_row + 8, 7, "BG/NBD parameters: standard errors and 95 % intervals", "section"),
        Spill("bgfit_se", D, details_row + 9, 7, KPI("KPI_BGNBD_FIT", *rfm, True),
              col_formats=(("value", "0.000"), ("se", "0.000"), ("lower", "0.000"), ("upper", "0.000")),
              headers=(("label", "Parameter"), ("value", "Estimate"), ("se", "Std. error"),
                       ("lower", "95 %: lower"), ("upper", "95 %: upper"))),
    ]
    status = If(Fn("ISNUMBER", SpillCell("rfm", 1, "frequency")),
                If(Fn("ISNUMBER", SpillCell("bgfit", 1, "value")), "fitted: parameters on the Details sheet",
                   "not fitted: too few or too alike repeat buyers (the Notes' Warnings say why)"),
                "no orders up to the period end")
    blocks += [
        Text(S, 0, 0, "Repeat buyers", "title"),
        Text(S, 1, 0, "The one-off orders to the report period's end through the BG/NBD model (Fader, Hardie & Lee "
                      "2005): each customer's probability of still being a customer, P(alive), and expected "
                      "purchases over the next weeks; below, the recent repeat buyers most likely lost.", "subtitle",
             span=7),
        ItemList(S, 3, 0, "Repeat buyers (BG/NBD)", (
            Item("rb_horizon", "Forecast horizon (weeks)", RB_HORIZON_WEEKS, "0", input=True,
                 note="change it: 13 weeks is a quarter"),
            Item("rb_window", "Recent buyer window (days)", RB_WINDOW_DAYS, "0", input=True,
                 note="a purchase in the last N days to the period end"),
            Item("rb_status", "BG/NBD model", status),
            Item("rb_repeaters", "Repeat buyers (2+ purchase days)",
                 CountAtLeast(BlockCol("rbuy", "purchases"), 2.0), COUNT),
            Item("rb_recent", "Recent repeat buyers", Fn("SUM", BlockCol("rbuy", "recent")), COUNT,
                 note="2+ purchase days, the last within the window"),
            Item("rb_expected", "Expected purchases, next N weeks, all customers",
                 IfError(If(Fn("ISNUMBER", SpillCell("bgfit", 1, "value")),
                            If(Op("=", CountNumbers(SpillCol("epurch", 0)), CountNumbers(SpillCol("rfm", "frequency"))),
                               Fn("SUM", SpillCol("epurch", 0)), "—: not every customer's could be computed"), "—"),
                         "—"),
                 "#,##0.0", note="Σ of each customer's conditional expectation"),
        ), note_header="How"),
    ]
    k = RowRef("k")
    at = lambda col: IfError(Lookup(k, BlockCol("rbuy", "rank"), BlockCol("rbuy", col)), "")
    blocks.append(RowTable("lost", S, 12, 0, f"Most likely lost: the {LOST_N} recent repeat buyers with the "
                                              "lowest P(alive)", Fixed(tuple(range(1, LOST_N + 1))), (
        RowColumn("k", "Rank (lowest P(alive) first)", "KEY", "0"),
        RowColumn("customer", "customer_id", at("customer")),
        RowColumn("purchases", "Purchase days", at("purchases"), COUNT),
        RowColumn("last", "Last purchase", at("last"), "yyyy-mm-dd"),
        RowColumn("p_alive", "P(alive)", at("p_alive"), PCT),
        RowColumn("expected", "Expected purchases (horizon)", at("expected"), "0.00"),
    ), heatmap_cols=("p_alive",)))
    return blocks


def repeat_buyer_sheets() -> tuple[SheetSpec, SheetSpec]:
    """The Repeat buyers report sheet and the RFM calc sheet."""
    widths = ((0, 40), (1, 13), (2, 12), (3, 13), (4, 11), (5, 16), (6, 44))
    report = SheetSpec(REPEAT_SHEET, "report", widths=widths, print_area="A1:G24", fit_height=1,
                       tab_color="#2563EB")
    calc = _calc_sheet(RFM_SHEET, "RFM summary of the orders and the BG/NBD predictions per customer",
                       widths=((0, 14), (1, 10), (2, 10), (3, 10), (4, 11), (5, 2), (6, 11), (7, 12), (8, 2),
                               (9, 14), (10, 11), (11, 12), (12, 12), (13, 12), (14, 11), (15, 12), (16, 10)))
    return report, calc


#: the Notes sheet's rows about the models (ReportSpec.about)
MODELS_ABOUT = (
    ("Survival band and median lifetime",
     ("The survival curve (Details) is KPI_SURVIVAL_CURVE of each customer's paying months with its 95 % band "
     "(Greenwood's variance on the log(−log) scale; lifelines' default). The median customer lifetime is "
     "KPI_MEDIAN_LIFETIME: the first month the survival is 50 % or less, its interval the first months the "
     "band's lower and upper bounds are. Until half the customers have stopped paying it is not reached, and "
     "the Retention sheet says so with the longest lifetime seen; an upper end the band does not reach is open.")),
    ("Repeat buyers (BG/NBD)",
     ("The orders dated up to the report period's end, summarised per customer by KPI_RFM_SUMMARY in weeks "
     "(several orders on one day are one purchase day; frequency = purchase days − 1; recency and T from the "
     "first purchase to the last and to the period end). KPI_BGNBD_FIT fits the BG/NBD model to them (the "
     "parameters with standard errors on Details); KPI_PROB_ALIVE and KPI_EXPECTED_PURCHASES give each "
     "customer's probability of still being a customer and expected purchases over the horizon (an input "
     f"cell, {RB_HORIZON_WEEKS} weeks by default). A recent repeat buyer has 2+ purchase days, the last within "
     f"the window (an input cell, {RB_WINDOW_DAYS} days by default); the {LOST_N} of them with the lowest "
     "P(alive) are the customers most likely lost. When the model cannot be fitted (too few repeat buyers, or "
     "buyers too alike for it to tell them apart) its cells are errors and the Warnings below say why.")),
)
