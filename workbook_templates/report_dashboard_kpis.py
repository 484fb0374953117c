"""Items of the SaaS dashboard (:func:`.reports._saas_dashboard`) beyond MRR and its movements: the share of
revenue that recurs (MRR against the one-off orders of the report period), the renewal rate of term
contracts (annual and longer plans up for renewal in the report period, and over the last 12 months), and
the history of the headline KPIs (their change on the previous period and a sparkline).
"""

from __future__ import annotations

import dataclasses

from .formulas import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    Cols,
    Const,
    EDate,
    Filter,
    If,
    IfError,
    InMonth,
    Lookup,
    Node,
    Op,
    Ref,
    RowRef,
    SpillCell,
    SumInMonth,
)
from .report_parts import COUNT, MONEY, PCT, PCT2, PERIOD_REVENUE, PREV, RM, _sum_month, mov_at
from .spec import Item, ItemList, RowColumn, Spill, Trend

__all__ = ["TRENDS", "churn_noise_blocks", "churn_noise_items", "recurring_items", "renewal_items", "survey_columns", "trend_columns", "trends", "with_trends"]

#: the subscription rows as KPI_MRR_SCHEDULE and KPI_RENEWAL_RATE read them (customer … discount)
SUBSCRIPTION_ROWS = Cols("subscriptions", "customer_id", "discount")
#: the report period as [first day, day after): the month after the previous period's last month, to the
#: month after the report month (one month, a quarter or a year)
PERIOD_START = EDate(PREV, 1)
PERIOD_AFTER = EDate(RM, 1)


def recurring_items() -> tuple[Item, Item, Item]:
    """Recurring revenue of the period (its MRR), the one-off orders of the period, and the recurring share."""
    one_off = SumInMonth(Col("orders", "amount"), Col("orders", "order_date"), RM)
    return (
        Item("recurring_revenue", "Recurring revenue", PERIOD_REVENUE, MONEY,
             note="the period's MRR (quarter, year: summed)"),
        Item("one_off_revenue", "One-off revenue", one_off, MONEY, note="orders dated in the period"),
        Item("recurring_share", "Recurring share of revenue",
             KPI("KPI_RECURRING_SHARE", Ref("recurring_revenue"), Ref("one_off_revenue")),
             note="recurring ÷ (recurring + one-off)"),
    )


def renewal_items() -> tuple[Item, Item]:
    """The renewal rate of term contracts (billing period of 12 months or more, 30 days' grace) whose term
    ends in the report period, and in the 12 months to the report month's end (steadier: few terms end in
    any one month)."""
    return (
        Item("renewal_rate", "Renewal rate, term contracts",
             KPI("KPI_RENEWAL_RATE", SUBSCRIPTION_ROWS, PERIOD_START, PERIOD_AFTER),
             note="annual+ terms ending in the period that renewed"),
        Item("renewal_rate_12m", "Renewal rate, last 12 months",
             KPI("KPI_RENEWAL_RATE", SUBSCRIPTION_ROWS, EDate(RM, -11), PERIOD_AFTER),
             note="terms ending in the 12 months to the report month"),
    )


# ------------------------------------------------------------------ history of the headline KPIs
def trend_columns() -> tuple[RowColumn, ...]:
    """Columns of the dashboard's trend table (one row per month, or per quarter or year) beyond the MRR
    movements: the KPIs whose change and sparkline the dashboard shows, each by its own definition from that
    row's movements (the totals of a period are exact for these: NRR and GRR are the starting customers' MRR
    at the end over their MRR at the start, summed; churn and retention count customers), and the marketing
    spend and CAC of the row's period. The MRR churn and retention rates are by month only: a quarter's
    movements are sums of monthly ones, which hold the changes of customers who joined within it too."""
    m = RowRef("month")
    start = mov_at(m, "starting MRR")
    kept = start + mov_at(m, "expansion") - mov_at(m, "contraction") - mov_at(m, "churned")
    kept_gross = start - mov_at(m, "contraction") - mov_at(m, "churned")
    return (
        RowColumn("arr", "ARR", KPI("KPI_ARR", mov_at(m, "ending MRR")), MONEY),
        RowColumn("arpa", "ARPA", KPI("KPI_ARPU", mov_at(m, "ending MRR"), mov_at(m, "customers at end")), MONEY),
        RowColumn("new_only", "New customers", IfError(mov_at(m, "new customers"), ""), COUNT),
        RowColumn("churn", "Customer churn",
                  KPI("KPI_CHURN_RATE", mov_at(m, "churned customers"), mov_at(m, "customers at start")), PCT2),
        RowColumn("retention", "Customer retention",
                  KPI("KPI_RETENTION_RATE", mov_at(m, "customers at start"), mov_at(m, "customers at end"),
                      mov_at(m, "new customers") + mov_at(m, "reactivated")), PCT2),
        # a month's movements are its starting customers' MRR changes; a quarter's are sums of monthly
        # movements, which also hold the changes of customers who joined within it: these are monthly only
        RowColumn("gross_churn", "Gross MRR churn", ByGrain(KPI("KPI_CHURN_REVENUE", start, kept_gross), ""), PCT),
        RowColumn("net_churn", "Net MRR churn", ByGrain(KPI("KPI_CHURN_REVENUE", start, kept, True), ""), PCT),
        RowColumn("nrr", "NRR", ByGrain(KPI("KPI_NRR", start, kept), ""), PCT),
        RowColumn("grr", "GRR", ByGrain(KPI("KPI_GRR", start, kept_gross), ""), PCT),
        RowColumn("spend", "Marketing spend", _sum_month("marketing", "spend", m), MONEY),
        RowColumn("sm_cost", "Sales and marketing cost",
                  RowRef("spend") + _sum_month("costs", "sales_cost", m), MONEY),
        RowColumn("paid_cac", "Paid CAC", KPI("KPI_CAC", RowRef("spend"), RowRef("new_only")), MONEY),
        RowColumn("cac", "Fully loaded CAC", KPI("KPI_CAC", RowRef("sm_cost"), RowRef("new_only")), MONEY),
    )


#: the items with a history in a trend table: (its column, relative or points, which way is good, monthly only)
_HISTORY: dict[str, tuple[str, str, str, bool]] = {
    "mrr": ("mrr", "rel", "up", False),
    "arr": ("arr", "rel", "up", False),
    "arpa": ("arpa", "rel", "up", False),
    "cust_start": ("cust_start", "rel", "up", False),
    "cust_new": ("new_only", "rel", "up", False),
    "cust_churned": ("cust_churned", "rel", "down", False),
    "cust_end": ("cust_end", "rel", "up", False),
    "logo_churn": ("churn", "pp", "down", False),
    "churn": ("churn", "pp", "down", False),
    "retention": ("retention", "pp", "up", False),
    "revenue_churn": ("gross_churn", "pp", "down", True),
    "net_revenue_churn": ("net_churn", "pp", "down", True),
    "nrr": ("nrr", "pp", "up", True),
    "grr": ("grr", "pp", "up", True),
    "spend": ("spend", "rel", "", False),
    "sm_cost": ("sm_cost", "rel", "", False),
    "paid_cac": ("paid_cac", "rel", "down", False),
    "cac": ("cac", "rel", "down", False),
    "nps": ("nps", "pts", "up", False),
    "csat": ("csat", "pp", "up", False),
}


def trends(table: str) -> dict[str, Trend]:
    """The histories of the items, read from the trend table ``table``."""
    return {k: Trend(BlockCol(table, c), kind, good, monthly) for k, (c, kind, good, monthly) in _HISTORY.items()}


#: the dashboard's
TRENDS = trends("trend")


def survey_columns() -> tuple[RowColumn, ...]:
    """NPS and CSAT of each row's period (the executive overview's trend table)."""
    m = RowRef("month")
    return (
        RowColumn("nps", "NPS", KPI("KPI_NPS", Filter(Col("nps_responses", "score"),
                                                      InMonth(Col("nps_responses", "date"), m))), "0.0"),
        RowColumn("csat", "CSAT", KPI("KPI_CSAT", Filter(Col("csat_responses", "score"),
                                                         InMonth(Col("csat_responses", "date"), m))), PCT),
    )


def with_trends(il: ItemList, table: str = "trend", skip: tuple[str, ...] = ()) -> ItemList:
    """``il`` with the change and sparkline columns, its items that have a history in the trend table
    ``table`` given theirs (but those in ``skip``)."""
    known = {k: v for k, v in trends(table).items() if k not in skip}
    items = tuple(dataclasses.replace(it, trend=known[it.name]) if it.name in known else it for it in il.items)
    return dataclasses.replace(il, items=items, trend_cols=True)


# ------------------------------------------------------------------ is the change in churn real?
_CHURNED, _START = Ref("cust_churned"), Ref("cust_start")  #: the dashboard's items of the period


def churn_noise_blocks(sheet: str, row: int, trend: str = "trend", churned: Node = _CHURNED,
                       start: Node = _START) -> list[Spill]:
    """The customer churn's confidence interval (KPI_RATE_CI) and the test of its change on the previous
    period (KPI_RATE_CHANGE: previous period's churned of its payers against this period's), spilled on
    ``sheet`` for the items of :func:`churn_noise_items` to read. ``churned`` and ``start`` are the report
    period's churned customers and payers at its start; the previous period's are looked up in the trend
    table ``trend``."""
    prev = lambda col: Lookup(PREV, BlockCol(trend, "month"), BlockCol(trend, col))
    return [
        Spill("churn_ci", sheet, row, 0, KPI("KPI_RATE_CI", churned, start),
              title="Customer churn: 95 % confidence interval", col_formats=(("value", "0.00%"),)),
        Spill("churn_change", sheet, row, 3, KPI("KPI_RATE_CHANGE", prev("cust_churned"), prev("cust_start"),
                                                  churned, start),
              title="Customer churn: change on the previous period (95 %)",
              row_formats=tuple((label, "0.00%") for label in ("rate a", "rate b", "difference (b − a)", "lower",
                                                                "upper"))),
    ]


def churn_noise_items() -> tuple[Item, ...]:
    """Beside the churn: its interval, and whether its change on the previous period is more than noise (the
    p-value of the two-proportion test under 5 %)."""
    p = SpillCell("churn_change", 6, "value")
    return (
        Item("churn_ci_low", "Customer churn, 95 % interval: from", SpillCell("churn_ci", 2, "value"), PCT2,
             note="Wilson score interval of churned ÷ payers at start"),
        Item("churn_ci_high", "Customer churn, 95 % interval: to", SpillCell("churn_ci", 3, "value"), PCT2),
        Item("churn_p", "Churn change: p-value", p, "0.0000",
             note="two-proportion test (Fisher's exact where counts are small)"),
        Item("churn_real", "Churn change significant at 95 %?",
             IfError(If(Op("<", p, Const(0.05)), "yes: more than noise", "no: within noise"), "—"),
             note="p-value under 0.05"),
    )
