"""A report spec worded for its period: the headings of a quarter or a year say so.

The report specs (:mod:`..reports`) are written for a month. Built for a quarter or a year, every heading,
label and note that speaks of "the report month", "monthly", "by month" or "the last 12 months" is reworded
for the period ("Funnel, Q2 2026", "Customer churn, quarterly", "By quarter", "Last 8 quarters"), the key
column of a table by period says what its rows are ("Quarter ending", "Year"), and the charts over such a
table label their axis by year where a year is the period. A report of one month is returned unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..context import ReportData
from ..spec import Chart, ItemList, Months, ReportSpec, RowColumn, RowTable, Series, Spill, Text

__all__ = ["for_period", "period_words"]


def period_words(data: ReportData) -> list[tuple[str, str]]:
    """The rewordings of a report of ``data``'s period, most specific first: (phrase, replacement)."""
    p = data.the_period
    t, g = p.title, p.grain
    n = 8 if g == "quarter" else 5
    plural = f"{g}s"
    last_month = f"{data.report_month:%b %Y}"
    bench = ("Quarterly customer churn against the 8.7–22.1 % benchmark (3–8 % a month, compounded)"
             if g == "quarter" else "Annual customer churn against the 32–50 % benchmark")
    return [
        ("Monthly customer churn against the 3–8 % benchmark", bench),
        ("(12 months to the report month)", f"(12 months to the end of {t})"),
        ("Compound monthly growth", f"Compound {p.adjective} growth"),
        ("over the months in the trend table (up to 12)", f"over the {plural} in the trend table (up to {n})"),
        ("month on month", f"{g} on {g}"),
        ("ARPA × margin ÷ 12-month average churn",
         f"ARPA × margin ÷ the monthly equivalent of the {n}-{g} average churn"),
        ("12-month average", f"{n}-{g} average"),
        ("the last 12 months", f"the last {n} {plural}"),
        ("Last 12 months", f"Last {n} {plural}"),
        ("last 12 months", f"last {n} {plural}"),
        ("Channels, report month and the two before", f"Channels, {t}"),
        ("report month and the two before", t),
        ("(3 months)", f"({t})"),
        ("MRR per customer: previous and report month", f"MRR per customer: end of the previous {g} and of {t}"),
        ("MRR previous month", f"MRR end of the previous {g}"),
        ("MRR report month", f"MRR end of {t}"),
        ("Paying in report month", f"Paying at the end of {t}"),
        ("by the report month", f"by the end of {t}"),
        ("of the report month", f"of {t}"),
        ("for the report month", f"for {t}"),
        ("the report month", t),
        (", report month", f", {t}"),
        ("share of last month's payers not paying now", f"share of the payers at the start of {t} not paying at its end"),
        ("on the previous month's", f"on the previous {g}'s"),
        ("on the previous month", f"on the previous {g}"),
        ("sales cost of the month", f"sales cost of {t}"),
        ("on the month's MRR", f"on the MRR of the months of {t}"),
        ("month-end MRR of paying customers", f"MRR of paying customers at the end of {t}"),
        ("the trend months", f"the trend {plural}"),
        ("first paying month", f"first paid in {t}, paying at its end"),
        ("paying again", f"paid before {t}, not at its start, paying at its end"),
        ("Stickiness (DAU/MAU)", f"Stickiness (DAU/MAU), {last_month}"),
        (", monthly", f", {p.adjective}"),
        ("By month", f"By {g}"),
        ("by month", f"by {g}"),
    ]


#: whole texts reworded as a whole (a column header or a title that is only these words)
def _exact(data: ReportData) -> dict[str, str]:
    p = data.the_period
    return {"Report month": p.title, "Previous month": f"End of the previous {p.grain}"}


def for_period(spec: ReportSpec, data: ReportData) -> ReportSpec:
    """``spec`` worded for ``data``'s period (unchanged for a month)."""
    if data.period_months == 1:
        return spec
    p = data.the_period
    rules = period_words(data)
    exact = _exact(data)

    def words(text: str) -> str:
        if not text:
            return text
        if text in exact:
            return exact[text]
        for a, b in rules:
            text = text.replace(a, b)
        return text

    following: set[str] = set()  # the row tables by period (their key column is a period's last month)
    blocks: list[Any] = []
    for b in spec.blocks:
        if isinstance(b, Text):
            b = dataclasses.replace(b, text=words(b.text))
        elif isinstance(b, ItemList):
            items = []
            for it in b.items:
                if it.name == "report_month":
                    partial = f"; {data.partial}" if data.partial else ""
                    it = dataclasses.replace(it, label="Report period ends in",
                                             note=f"Report period: {p.title} ({p.span}{partial})")
                elif it.name == "prev_month":
                    it = dataclasses.replace(it, label=f"End of the previous {p.grain}")
                else:
                    it = dataclasses.replace(it, label=words(it.label), note=words(it.note))
                items.append(it)
            b = dataclasses.replace(b, title=words(b.title), items=tuple(items))
        elif isinstance(b, RowTable):
            if isinstance(b.keys, Months) and b.keys.follow_period:
                following.add(b.name)
                key_header = "Quarter ending" if p.grain == "quarter" else ("Fiscal year" if p.fiscal else "Year")
                cols = tuple(dataclasses.replace(c, header=key_header if isinstance(c.expr, str) and c.expr == "KEY"
                                                 else words(c.header)) for c in b.columns)
                b = dataclasses.replace(b, title=words(b.title), columns=cols)
            else:
                b = dataclasses.replace(b, title=words(b.title) if not isinstance(b.keys, Months) else b.title,
                                        columns=tuple(_header(c, words) for c in b.columns)
                                        if not isinstance(b.keys, Months) else b.columns)
        elif isinstance(b, Spill) and b.title:
            b = dataclasses.replace(b, title=words(b.title))
        blocks.append(b)
    charts = []
    year_format = '"FY"yyyy' if p.fiscal else "yyyy"
    for ch in spec.charts:
        over_periods = any(_over(s, following) for s in ch.series)
        if over_periods or not _over_months(ch, spec):
            ch = dataclasses.replace(ch, title=words(ch.title),
                                     series=tuple(dataclasses.replace(s, name=words(s.name)) for s in ch.series))
        if over_periods and p.grain == "year" and ch.x_format:
            ch = dataclasses.replace(ch, x_format=year_format)
        charts.append(ch)
    return dataclasses.replace(spec, blocks=tuple(blocks), charts=tuple(charts))


def _header(c: RowColumn, words: Any) -> RowColumn:
    return dataclasses.replace(c, header=words(c.header))


def _over(s: Series, tables: set[str]) -> bool:
    """Whether a series' categories are the key column of one of the row tables by period."""
    cat = s.categories
    return cat is not None and getattr(cat, "table", None) in tables


def _over_months(ch: Chart, spec: ReportSpec) -> bool:
    """Whether a chart draws a table that stays by month in every report (stickiness)."""
    monthly = {b.name for b in spec.blocks if isinstance(b, RowTable) and isinstance(b.keys, Months)
               and not b.keys.follow_period}
    return any(getattr(s.categories, "table", None) in monthly for s in ch.series)

