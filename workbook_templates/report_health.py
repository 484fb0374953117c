"""Pieces of the retention report (:func:`.reports._retention`): the repeat purchase rate within a time
frame (an editable window in days) and the per-customer health table with its editable weights and the
customers most at risk.
"""

from __future__ import annotations

from .formulas import KPI, Col, EDate, Ref
from .report_parts import RM
from .spec import Item

__all__ = ["PERIOD_END", "REPEAT_WINDOW_DAYS", "repeat_window_items"]

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
