"""The marketing funnel's Lead time block: how long a lead takes to become a customer, from the leads data set.

Over the leads **converted in the report period** (``leads.converted_date`` in the month, or in the quarter or
year of a report of one): how many, and the mean and the median lead time in days — ``KPI_AVG_DURATION`` from
``created_date`` to ``converted_date`` — in total and per channel (``leads.channel``, the acquisition channel of
the marketing table). In a monthly report the channel table covers the report month and the two before, as the
funnel's Channels table does, since one month has few conversions per channel. Beside them, the leads created in
the period and lead → customer = converted ÷ created, both counted in the same period as the funnel's stage
rates are (aggregate, then divide; a lead converted this month was mostly created in an earlier one).

The block sits under the funnel's monthly table, its chart to the right of it. A data folder without a leads
file builds the funnel all the same: the Leads sheet is empty (:func:`.context.absent_table`) and the block's
KPIs are undefined (``#DIV/0!``), with a notice that says why.
"""

from __future__ import annotations

from .formulas import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    CountInPeriod,
    Equals,
    Filter,
    FilterWhere,
    InMonth,
    Node,
    Ref,
    RowRef,
)
from .report_parts import COUNT, PCT, RM, TEAL
from .spec import Chart, Distinct, Item, ItemList, RowColumn, RowTable, Series

__all__ = ["DAYS", "LEADTIME_ABOUT", "ROW", "lead_time", "leadtime_blocks", "leadtime_charts"]

#: first row (0-based) of the block on the Funnel sheet: under the "By month" table (rows 51-64)
ROW = 66
#: the number format of a lead time in days
DAYS = '0.0" days"'
CREATED = Col("leads", "created_date")
CONVERTED = Col("leads", "converted_date")
CHANNEL = Col("leads", "channel")


def lead_time(stat: str, channel: Node | None = None, months: int | None = None) -> KPI:
    """``KPI_AVG_DURATION`` in days over the leads converted in the report period (``months`` months ending in
    the report month when given) and, with ``channel``, of that channel."""
    in_period = InMonth(CONVERTED, RM, months)
    starts: Node
    ends: Node
    if channel is None:
        starts, ends = Filter(CREATED, in_period), Filter(CONVERTED, in_period)
    else:
        same = Equals(CHANNEL, channel)
        starts, ends = FilterWhere(CREATED, in_period, same), FilterWhere(CONVERTED, in_period, same)
    return KPI("KPI_AVG_DURATION", starts, ends, "days", stat)


def _count(dates: Col, channel: Node | None = None, months: int | None = None) -> CountInPeriod:
    return CountInPeriod(dates, RM, *([(CHANNEL, channel)] if channel is not None else []), months=months)


def _per_channel(make, *args) -> ByGrain:
    """Per channel: over the report month and the two before in a monthly report (one month has few
    conversions per channel, as the funnel's Channels table says), over the period in a quarter or a year."""
    return ByGrain(make(*args, months=3), make(*args))


def leadtime_blocks(sheet: str, row: int = ROW) -> list:
    ch = RowRef("channel")
    return [
        ItemList(sheet, row, 0, "Lead time, report month", (
            Item("lt_converted", "Leads converted to customers", _count(CONVERTED), COUNT,
                 note="converted in the report month (Leads sheet)"),
            Item("lt_mean", "Lead time, mean", lead_time("mean"), DAYS, note="created → converted; #DIV/0!: none converted"),
            Item("lt_median", "Lead time, median", lead_time("median"), DAYS, note="half took longer"),
            Item("lt_created", "Leads created", _count(CREATED), COUNT, note="created in the report month"),
            Item("lt_conv", "Lead → customer (converted ÷ created)",
                 KPI("KPI_CONVERSION_RATE", Ref("lt_converted"), Ref("lt_created")), PCT,
                 note="both counted in the report month"),
        ), note_header="How", name="leadtime"),
        RowTable("lt_channels", sheet, row + 8, 0, "Lead time by channel, report month and the two before",
                 Distinct(CHANNEL), (
            RowColumn("channel", "Channel", "KEY"),
            RowColumn("converted", "Converted", _per_channel(_count, CONVERTED, ch), COUNT),
            RowColumn("mean", "Mean lead time", _per_channel(lead_time, "mean", ch), DAYS),
            RowColumn("median", "Median lead time", _per_channel(lead_time, "median", ch), DAYS),
            RowColumn("created", "Leads created", _per_channel(_count, CREATED, ch), COUNT),
            RowColumn("conv", "Lead → customer", KPI("KPI_CONVERSION_RATE", RowRef("converted"), RowRef("created")),
                      PCT),
        )),
    ]


def leadtime_charts(sheet: str, row: int = ROW) -> tuple[Chart, ...]:
    return (
        Chart(sheet, f"I{row + 1}", "bar", "Lead time by channel in days (3 months)", (
            Series("Median", BlockCol("lt_channels", "median"), BlockCol("lt_channels", "channel"), TEAL,
                   labels=True),
            Series("Mean", BlockCol("lt_channels", "mean"), BlockCol("lt_channels", "channel"), "#94A3B8",
                   labels=True),
        ), width=520, height=280, y_format="0", reverse_categories=True),
    )


#: the Notes sheet's rows on the block
LEADTIME_ABOUT = (
    ("Lead time",
     ("The Lead time block (Funnel sheet) reads the Leads table: over the leads whose converted_date falls in "
      "the report period, KPI_AVG_DURATION(created dates, converted dates, \"days\", \"mean\" or \"median\") — "
      "the days from the day a lead was created to the day it became a customer — in total and per channel "
      "(leads.channel; in a report of one month the channel table covers the report month and the two before, "
      "as the funnel's Channels table, since one month has few conversions per channel). Leads created counts the leads created in the period; lead → customer is the leads "
      "converted in the period ÷ the leads created in it, as the funnel's stage rates are counted. A period "
      "without converted leads (or a data folder without a leads file) shows the lead time as undefined "
      "(#DIV/0!), not 0.")),
)
