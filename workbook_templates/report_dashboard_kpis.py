"""Items of the SaaS dashboard (:func:`.reports._saas_dashboard`) beyond MRR and its movements: the share of
revenue that recurs (MRR against the one-off orders of the report period) and the renewal rate of term
contracts (annual and longer plans up for renewal in the report period, and over the last 12 months).
"""

from __future__ import annotations

from .formulas import KPI, Col, Cols, EDate, Ref, SumInMonth
from .report_parts import MONEY, PERIOD_REVENUE, PREV, RM
from .spec import Item

__all__ = ["recurring_items", "renewal_items"]

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
