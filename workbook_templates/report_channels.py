"""The SaaS dashboard's acquisition-channel sheet: paid and fully loaded CAC, LTV, LTV:CAC and payback per
acquisition channel (``customers.channel``), one row per channel, with live formulas.

Each row computes what the dashboard split by channel (``kpi build --by channel``) shows for that channel,
by the dashboard's own definitions and over the same report period (a month, a quarter or a year):

- the channel's MRR movements: ``KPI_MRR_MOVEMENTS`` over the rows of the MRR table whose customer is of
  the channel (the same schedule the split dashboard computes from the channel's subscriptions), by the
  report period, and month by month for the allocations;
- marketing spend: the marketing rows of the channel (``marketing.channel``) in the period;
- sales cost (costs have no channel): allocated by :data:`.context.ALLOCATION_RULE`, the split reports' rule —
  each month's sales cost pro rata of the channel's new customers that month, or of its month-end MRR in a
  month without new customers; cogs pro rata of the month-end MRR — summed over the period's months;
- paid CAC = spend ÷ new customers; fully loaded CAC = (spend + sales cost) ÷ new customers (a channel
  without new customers: undefined, ``#DIV/0!``); LTV = KPI_CLV(ARPA, the trend's average churn as a monthly
  rate, gross margin); LTV:CAC and payback on the fully loaded CAC.

Under the table, the sales cost allocated over the channels is set against the dashboard's, so what no
channel gets (customers without a channel, months without a paying customer) is shown, never dropped.
"""

from __future__ import annotations

from .context import ALLOCATION_RULE
from .formulas import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    Const,
    EDate,
    FilterWhere,
    Fn,
    If,
    IfError,
    InMonth,
    InSegment,
    Lookup,
    Node,
    Op,
    PeriodName,
    Ref,
    RowRef,
    SpillAll,
    SpillCol,
    SumWhere,
)
from .formulas.inline import ByLength, SpillRows, TableCol
from .report_parts import COUNT, MONEY, NOW_COL, PCT, RM, _head, _monthly_rate, _sum_month
from .spec import Distinct, Item, ItemList, RowColumn, RowTable, SheetSpec, Spill, Text

__all__ = ["SHEET", "channel_blocks", "channel_sheets", "with_channels"]

SHEET = "Channels"
CALC = "Channel months"
MOVEMENT_COLS = ("month", "starting MRR", "new", "expansion", "reactivation", "contraction", "churned",
                 "ending MRR", "customers at start", "new customers", "reactivated", "churned customers",
                 "customers at end")
CH = RowRef("channel")


def _in_channel(ids) -> InSegment:
    return InSegment(ids, Col("customers", "customer_id"), Col("customers", "channel"), CH)


#: the MRR table's rows (customer, month, MRR) of the row's channel
_CH_MRR = FilterWhere(SpillRows("mrr"), _in_channel(SpillCol("mrr", "customer")))
#: the channel's movements by the report period (the dashboard's Movements table, for the channel's customers)
_CH_PERIOD = KPI("KPI_MRR_MOVEMENTS", _CH_MRR, ByGrain(None, PeriodName()), ByGrain(None, Fn("MONTH", EDate(RM, 1))))
#: the channel's movements month by month (new customers and month-end MRR of each month, for the allocation)
_CH_MONTHLY = KPI("KPI_MRR_MOVEMENTS", _CH_MRR)


def _at(table, month, col: str):
    return Lookup(month, TableCol(table, "month", MOVEMENT_COLS), TableCol(table, col, MOVEMENT_COLS))


def _all_at(month, col: str):
    """A month's value in the monthly movements of every customer (the ``chan_mov`` table); 0 before the data."""
    return IfError(Lookup(month, SpillCol("chan_mov", "month"), SpillCol("chan_mov", col)), 0)


def _ch_at(month, col: str):
    """A month's value in the channel's monthly movements; 0 in a month the channel has no row."""
    return IfError(_at(_CH_MONTHLY, month, col), 0)


def _gt0(x) -> Op:
    return Op(">", x, Const(0))


def _month(k: int):
    """The k-th month before the report month (0: the report month)."""
    return RM if k == 0 else EDate(RM, -k)


def _share(part, whole):
    return If(_gt0(whole), part / whole, 0)


def _alloc_columns(k: int) -> tuple[RowColumn, ...]:
    """Month k of the allocation (:data:`.context.ALLOCATION_RULE`): the channel's new customers and month-end
    MRR, and its shares of the month's sales cost and cogs."""
    m, r = _month(k), RowRef
    new_all, mrr_all = _all_at(m, "new customers"), _all_at(m, "ending MRR")
    when = "report month" if k == 0 else f"month −{k}"
    return (
        RowColumn(f"new{k}", f"New customers, {when}", _ch_at(m, "new customers"), COUNT),
        RowColumn(f"mrr{k}", f"MRR, {when}", _ch_at(m, "ending MRR"), MONEY),
        RowColumn(f"sales{k}", f"Sales cost, {when}",
                  _cost_month("sales_cost", m) * If(_gt0(new_all), r(f"new{k}") / new_all,
                                                    _share(r(f"mrr{k}"), mrr_all)), MONEY),
        RowColumn(f"cogs{k}", f"Cost of revenue, {when}", _cost_month("cogs", m) * _share(r(f"mrr{k}"), mrr_all),
                  MONEY),
    )


def _cost_month(col: str, m):
    return SumWhere(Col("costs", col), (Col("costs", "month"), m))


def _over_months(col: str):
    """Σ of the allocation table's column ``col`` over the months of the report period (1, 3 or 12)."""
    def total(n: int) -> Node:
        out: Node = RowRef(f"{col}0")
        for k in range(1, n):
            out = out + RowRef(f"{col}{k}")
        return out
    return ByLength(total(1), total(3), total(12))


def _alloc_table() -> RowTable:
    cols = [c for k in range(12) for c in _alloc_columns(k)]
    return RowTable("chan_alloc", CALC, 3, 15, "Allocation by channel and month", Distinct(Col("customers", "channel")), (
        RowColumn("channel", "Channel", "KEY"),
        RowColumn("sales", "Sales cost (allocated)", _over_months("sales"), MONEY),
        RowColumn("cogs", "Cost of revenue (allocated)", _over_months("cogs"), MONEY),
        RowColumn("revenue", "Recurring revenue of the period's months", _over_months("mrr"), MONEY),
        *cols,
    ))


def _from_alloc(col: str) -> SumWhere:
    """The row's channel's value in the allocation table (the channels are the same keys, in any order)."""
    return SumWhere(BlockCol("chan_alloc", col), (BlockCol("chan_alloc", "channel"), CH))


def _trend_window(col: str):
    """The channel's period rows of the dashboard's trend (12 months, 8 quarters or 5 years to the report month)."""
    month = TableCol(_CH_PERIOD, "month", MOVEMENT_COLS)
    values = TableCol(_CH_PERIOD, col, MOVEMENT_COLS)
    return ByLength(*(FilterWhere(values, InMonth(month, RM, months=n)) for n in (12, 24, 60)))


def _table() -> RowTable:
    r = RowRef
    return RowTable("chan", SHEET, 11, 0, "By acquisition channel", Distinct(Col("customers", "channel")), (
        RowColumn("channel", "Channel", "KEY"),
        RowColumn("new", "New customers", _at(_CH_PERIOD, RM, "new customers"), COUNT),
        RowColumn("cust_end", "Paying at end", _at(_CH_PERIOD, RM, "customers at end"), COUNT),
        RowColumn("mrr", "MRR", KPI("KPI_MRR", FilterWhere(NOW_COL, _in_channel(BlockCol("cust", "customer")))),
                  MONEY),
        RowColumn("arpa", "ARPA", KPI("KPI_ARPU", r("mrr"), r("cust_end")), MONEY),
        RowColumn("spend", "Marketing spend", _sum_month("marketing", "spend", channel=CH), MONEY),
        RowColumn("sales", "Sales cost (allocated)", _from_alloc("sales"), MONEY),
        RowColumn("cogs", "Cost of revenue (allocated)", _from_alloc("cogs"), MONEY),
        RowColumn("revenue", "Recurring revenue", ByGrain(r("mrr"), _from_alloc("revenue")), MONEY),
        RowColumn("margin", "Gross margin", KPI("KPI_MARGIN", r("revenue"), r("cogs")), PCT),
        RowColumn("churn", "Average churn (trend)",
                  KPI("KPI_CHURN_RATE", _trend_window("churned customers"), _trend_window("customers at start")),
                  PCT),
        RowColumn("paid_cac", "Paid CAC", KPI("KPI_CAC", r("spend"), r("new")), MONEY),
        RowColumn("cac", "Fully loaded CAC", KPI("KPI_CAC", r("spend") + r("sales"), r("new")), MONEY),
        RowColumn("clv", "LTV", KPI("KPI_CLV", r("arpa"), _monthly_rate(r("churn")), r("margin")), MONEY),
        RowColumn("ltv_cac", "LTV : fully loaded CAC", KPI("KPI_LTV_CAC", r("clv"), r("cac"))),
        RowColumn("payback", "Payback (months)", KPI("KPI_CAC_PAYBACK", r("cac"), r("arpa"), r("margin"))),
    ), table_name="ChannelEconomics")


def channel_blocks() -> list:
    """The Channels sheet's blocks (the dashboard's MRR engine — ``mrr``, ``cust`` — must be in the report)."""
    blocks: list = _head(SHEET, "Unit economics by acquisition channel",
                         "Paid and fully loaded CAC, LTV, LTV:CAC and payback of the customers won through each "
                         "channel (customers.channel), over the report period, by the dashboard's definitions.")
    blocks.append(Text(SHEET, 3, 0, "Costs have no channel: " + ALLOCATION_RULE + ".", "subtitle"))
    blocks.append(ItemList(SHEET, 5, 0, "Sales cost over the channels", (
        Item("chan_sales_sum", "Sales cost allocated over the channels", Fn("SUM", BlockCol("chan", "sales")),
             MONEY),
        Item("chan_sales_all", "Sales cost of the period", _sum_month("costs", "sales_cost"), MONEY),
        Item("chan_sales_rest", "Not allocated to a channel", Ref("chan_sales_all") - Ref("chan_sales_sum"), MONEY,
             note="customers without a channel; months without a paying customer"),
    ), header=False))
    blocks.append(_table())
    blocks.append(_alloc_table())
    blocks.append(Spill("chan_mov", CALC, 3, 0, KPI("KPI_MRR_MOVEMENTS", SpillAll("mrr")),
                        title="Monthly movements of every customer (the allocation's totals)"))
    return blocks


def channel_sheets() -> list[SheetSpec]:
    # A holds the channel names and the labels of the sales-cost check above the table
    return [SheetSpec(SHEET, "report", widths=((0, 34),) + tuple((i, 13) for i in range(1, 17)), fit_height=0),
            SheetSpec(CALC, "calc", widths=tuple((i, 13) for i in range(68)),
                      description="monthly MRR movements for the channel allocation", hidden=True)]



def with_channels(blocks: list, sheets: list[SheetSpec]) -> tuple[list, list[SheetSpec]]:
    """The dashboard's blocks and sheets with the Channels sheet (after the report sheets, before the inputs)
    and its calc sheet (at the end, before Notes)."""
    report, calc = channel_sheets()
    at = max(i for i, s in enumerate(sheets) if s.kind == "report") + 1
    out = sheets[:at] + [report] + sheets[at:]
    notes = [i for i, s in enumerate(out) if s.kind == "notes"]
    end = notes[0] if notes else len(out)
    return blocks + channel_blocks(), out[:end] + [calc] + out[end:]
