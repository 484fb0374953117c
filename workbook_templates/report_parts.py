"""The pieces the report specs of :mod:`.reports` share: number formats, the report-period parameters,
the MRR engine (schedule → movements → per-customer MRR), the trend table, the period sums and the annual
churn and retention items.
"""

from __future__ import annotations

from .build.styles import MONEY as _MONEY
from .build.styles import MONEY_CENTS
from .formulas import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    Cols,
    EDate,
    Fn,
    IfError,
    Lookup,
    PeriodLen,
    PeriodName,
    Ref,
    RowRef,
    SpillAll,
    SpillCol,
    SumInPeriod,
    SumWhere,
)
from .schema import DATASETS
from .spec import (
    Banner,
    Distinct,
    Item,
    ItemList,
    Months,
    Param,
    RowColumn,
    RowTable,
    SheetSpec,
    Spill,
    Text,
)

__all__ = ["AMBER", "BLUE", "COUNT", "GREEN", "GREY", "HOURS", "MONEY", "MONTH", "NAVY", "NOW_COL", "PCT", "PCT2", "PERIOD_REVENUE", "PREV", "PREV_COL", "RED", "RM", "TEAL", "_annual_items", "_at_month", "_calc_head", "_calc_sheet", "_customers_list", "_details_sheet", "_head", "_input_sheets", "_monthly_rate", "_mrr_engine", "_params", "_sum_month", "_trend", "mov", "mov_at"]

MONEY = _MONEY  #: money: with a reporting currency, its formats carry it ([$NOK] #,##0)
COUNT = "#,##0"
PCT = "0.0%"
#: churn and retention, which are complements: two decimals, so that the rounded pair adds up to 100 %
#: (4.75 % + 95.25 %, where one decimal shows 4.8 % + 95.3 %)
PCT2 = "0.00%"
MONTH = "mmm yyyy"
HOURS = '0.0" h"'

BLUE, GREEN, RED, GREY, TEAL, AMBER, NAVY = "#2563EB", "#16A34A", "#DC2626", "#9CA3AF", "#0D9488", "#D97706", "#1E3A8A"

RM = Ref("report_month")  #: the report month: the last month of the report period (a month, quarter or year)
PREV = Ref("prev_month")  #: the last month of the period before: the snapshot the report period starts from


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------
def _head(sheet: str, title: str, description: str) -> list:
    return [Text(sheet, 0, 0, title, "title"), Text(sheet, 1, 0, description, "subtitle"), Banner(sheet, 2, 0)]


def _params(sheet: str, row: int = 4) -> ItemList:
    return ItemList(sheet, row, 0, "", (
        Item("report_month", "Report month", Param("report_month"), fmt=MONTH, input=True,
             note="change it to report on an earlier month"),
        Item("segment", "Segment", Param("segment")),
        Item("prev_month", "Previous month", EDate(RM, PeriodLen(-1)), fmt=MONTH),
    ), header=False)


def _input_sheets(names: tuple[str, ...]) -> list[SheetSpec]:
    return [SheetSpec(DATASETS[n].sheet, "input", landscape=True, tab_color="#FBBF24",
                      description=DATASETS[n].description) for n in names]


def _calc_sheet(name: str, description: str, widths=(), hidden: bool = False) -> SheetSpec:
    return SheetSpec(name, "calc", widths=widths or ((0, 14), (1, 14), (2, 14)), description=description,
                     hidden=hidden)


def _details_sheet() -> SheetSpec:
    return SheetSpec("Details", "report", widths=((0, 26),) + tuple((i, 13) for i in range(1, 16)), fit_height=0)


def _calc_head(sheet: str, title: str, text: str) -> list:
    return [Text(sheet, 0, 0, title, "title"), Text(sheet, 1, 0, text, "subtitle")]


# MRR schedule -> movements -> per-customer MRR: the subscription engine several reports share
def mov(col: str) -> SpillCol:
    return SpillCol("movements", col)


def mov_at(month, col: str):
    return Lookup(month, mov("month"), mov(col))


def _mrr_engine(customers_table: bool = True) -> tuple[list, list[SheetSpec]]:
    blocks: list = []
    blocks += _calc_head("MRR", "MRR by customer and month",
                         "KPI_MRR_SCHEDULE over the Subscriptions table: month-end MRR of every paying customer, "
                         "(amount − discount) ÷ billing months.")
    blocks.append(Spill("mrr", "MRR", 3, 0, KPI("KPI_MRR_SCHEDULE", Cols("subscriptions", "customer_id",
                                                                            "discount"), RM),
                        col_formats=(("month", MONTH), ("MRR", MONEY_CENTS))))
    blocks += _calc_head("Movements", "MRR movements by month",
                         "KPI_MRR_MOVEMENTS over the MRR table: starting MRR, new, expansion, reactivation, "
                         "contraction, churn and ending MRR, with customer counts.")
    # by the report period: in a report of a quarter or a year, periods of that length ending in the report month
    # (the fiscal start is the month after it, so the rows always end in the report month, whatever it is set to)
    by_period = KPI("KPI_MRR_MOVEMENTS", SpillAll("mrr"), ByGrain(None, PeriodName()),
                    ByGrain(None, Fn("MONTH", EDate(RM, 1))))
    blocks.append(Spill("movements", "Movements", 3, 0, by_period,
                        col_formats=(("month", MONTH), ("starting MRR", MONEY), ("new", MONEY),
                                     ("expansion", MONEY), ("reactivation", MONEY), ("contraction", MONEY),
                                     ("churned", MONEY), ("ending MRR", MONEY), ("customers at start", COUNT),
                                     ("new customers", COUNT), ("reactivated", COUNT),
                                     ("churned customers", COUNT), ("customers at end", COUNT))))
    sheets = [_calc_sheet("MRR", "MRR schedule", hidden=True),
              _calc_sheet("Movements", "MRR movements", widths=tuple((i, 13) for i in range(13)))]
    if customers_table:
        blocks += _calc_head("Customer MRR", "MRR per customer: previous and report month",
                             "Sums of the MRR table per customer (SUMPRODUCT); the churn, retention and "
                             "expansion KPIs read these two columns.")
        mrr_at = lambda month: SumWhere(SpillCol("mrr", "MRR"), (SpillCol("mrr", "customer"), RowRef("customer")),
                                        (SpillCol("mrr", "month"), month))
        blocks.append(RowTable("cust", "Customer MRR", 3, 0, "", Distinct(Col("customers", "customer_id")), (
            RowColumn("customer", "customer_id", "KEY"),
            RowColumn("prev", "MRR previous month", mrr_at(PREV), MONEY_CENTS),
            RowColumn("now", "MRR report month", mrr_at(RM), MONEY_CENTS),
            RowColumn("year_ago", "MRR 12 months before", mrr_at(EDate(RM, -12)), MONEY_CENTS),
        )))
        sheets.append(_calc_sheet("Customer MRR", "per-customer MRR", widths=((0, 16), (1, 20), (2, 20), (3, 20)),
                                  hidden=True))
    return blocks, sheets


def _trend(name: str, sheet: str, row: int, col: int, title: str, n: int = 12, extra=()) -> RowTable:
    """Last n months of the movements table, looked up by month (live when the report month changes)."""
    m = RowRef("month")
    return RowTable(name, sheet, row, col, title, Months(n), (
        RowColumn("month", "Month", "KEY", MONTH),
        RowColumn("mrr", "Ending MRR", IfError(mov_at(m, "ending MRR"), ""), MONEY),
        RowColumn("new", "New", IfError(mov_at(m, "new"), ""), MONEY),
        RowColumn("expansion", "Expansion", IfError(mov_at(m, "expansion"), ""), MONEY),
        RowColumn("reactivation", "Reactivation", IfError(mov_at(m, "reactivation"), ""), MONEY),
        RowColumn("contraction", "Contraction", IfError(-mov_at(m, "contraction"), ""), MONEY),
        RowColumn("churned", "Churned", IfError(-mov_at(m, "churned"), ""), MONEY),
        RowColumn("cust_start", "Customers at start", IfError(mov_at(m, "customers at start"), ""), COUNT),
        RowColumn("cust_new", "New + reactivated",
                  IfError(mov_at(m, "new customers") + mov_at(m, "reactivated"), ""), COUNT),
        RowColumn("cust_churned", "Churned customers", IfError(mov_at(m, "churned customers"), ""), COUNT),
        RowColumn("cust_end", "Customers at end", IfError(mov_at(m, "customers at end"), ""), COUNT),
        *extra,
    ))


#: the recurring revenue of the report period: the month's MRR, or the sum of the MRR of a quarter's or year's
#: months (the revenue a period's cost of revenue is set against)
PERIOD_REVENUE = ByGrain(Ref("mrr"), SumInPeriod(SpillCol("mrr", "MRR"), SpillCol("mrr", "month"), RM))
PREV_COL = BlockCol("cust", "prev")
NOW_COL = BlockCol("cust", "now")


def _annual_items(year_ago, now) -> tuple[Item, Item]:
    """Annual customer churn and retention over the 12 months ending in the report month, by the period
    definition: customers paying 12 months before the report month who are not paying in it ÷ those paying
    12 months before; retention = 1 − churn (the same ones still paying). ``year_ago`` and ``now`` are the
    per-customer MRR columns at those two month ends."""
    return (Item("churn_annual", "Customer churn, annual (12 months to the report month)",
                 KPI("KPI_CHURN_CUSTOMERS", year_ago, now), PCT2,
                 note="paying 12 months before, not paying now ÷ paying 12 months before"),
            Item("retention_annual", "Customer retention, annual (12 months to the report month)",
                 IfError(1 - Ref("churn_annual"), Ref("churn_annual")), PCT2,
                 note="1 − annual churn: still paying after 12 months"))


def _customers_list(sheet: str, row: int, col: int = 0) -> ItemList:
    return ItemList(sheet, row, col, "Customers", (
        Item("cust_start", "Paying customers at start", mov_at(RM, "customers at start"), COUNT),
        Item("cust_new", "New customers", mov_at(RM, "new customers"), COUNT, note="first paying month"),
        Item("cust_react", "Reactivated customers", mov_at(RM, "reactivated"), COUNT, note="paying again"),
        Item("cust_churned", "Churned customers", mov_at(RM, "churned customers"), COUNT),
        Item("cust_end", "Paying customers at end", mov_at(RM, "customers at end"), COUNT),
        Item("net_new", "Net new customers",
             KPI("KPI_NET_NEW_CUSTOMERS", Ref("cust_new"), Ref("cust_react"), Ref("cust_churned")), COUNT,
             note="new + reactivated − churned"),
    ), value_header="Count", label_header="Customers")


def _sum_month(ds: str, col: str, month=RM, months: int | None = None, **eq):
    """The sum of a column over the report period ending in ``month`` (the month itself in a monthly report;
    ``months`` months when given), where the other columns equal ``eq``: "aggregate, then divide"."""
    return SumInPeriod(Col(ds, col), Col(ds, "month"), month, *[(Col(ds, k), v) for k, v in eq.items()],
                       months=months)


def _at_month(ds: str, col: str, month=RM, **eq):
    """The value of a stock (an audience, a count at month end) in the month ``month`` alone, whatever the
    report period: a snapshot, never a sum over the period's months."""
    conds = [(Col(ds, "month"), month)] + [(Col(ds, k), v) for k, v in eq.items()]
    return SumWhere(Col(ds, col), *conds)


def _monthly_rate(rate):
    """A churn rate per report period as a monthly rate (CLV divides a monthly ARPA by it): the rate itself in
    a monthly report, 1 − (1 − rate)^(1/n) for a period of n months (the constant monthly rate that compounds
    to it)."""
    return ByGrain(rate, 1 - (1 - rate) ** (1 / PeriodLen()))
