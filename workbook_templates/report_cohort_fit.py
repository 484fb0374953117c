"""The retention report's cohort projections (:func:`.reports._retention`): the sBG model fitted to every cohort.

A sheet after the Cohorts sheet holds ``KPI_SBG_COHORTS`` over the logo triangle of the Cohorts sheet — per
cohort alpha, beta, the log-likelihood, the months fitted and the projected retention for month 0 … 12, or
why the cohort cannot be fitted — and a chart of the latest *full* cohorts (at least :data:`MIN_MONTHS`
observed months after month 0, and fitted) drawn twice: their actual retention from the triangle (solid, with
points) and the sBG projection (dashed, the fit over the observed months and the forecast after them).

Which cohorts are drawn is worked out in the workbook (:class:`LatestFitted`), so a changed report month or
new data picks them anew: the latest fitted cohort with enough months, then the latest before it, and so on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .formulas import KPI, BlockCol, ExcelError, IfError, Lookup2D, Node, Ref, SpillAll, SpillCol
from .formulas.nodes import Ctx
from .report_parts import AMBER, BLUE, COUNT, MONTH, NAVY, TEAL, _calc_head, _calc_sheet
from .spec import Chart, Fixed, Item, ItemList, RowColumn, RowTable, Series, SheetSpec, Spill, Text

__all__ = ["COHORT_FIT_SHEET", "CURVES_SHEET", "DRAWN", "MIN_MONTHS", "MONTHS", "LatestFitted", "cohort_fit_blocks",
           "cohort_fit_charts", "cohort_fit_sheets"]

COHORT_FIT_SHEET = "Cohort projections"
#: the hidden sheet of the chart's x values (months 0 … 12): a scatter chart needs numbers there, and only a
#: scatter chart leaves a gap at ``#N/A`` in LibreOffice too (its line charts draw it at 0)
CURVES_SHEET = "Cohort curves"
#: months of the triangle and of the projection: month 0 … 12 (the Cohorts sheet's triangle is as wide)
MONTHS = 13
#: a cohort is drawn when it has at least this many observed months after month 0 (and the model fits it)
MIN_MONTHS = 6
#: (item name, label, colour of the actual line, of the projected one) of the cohorts drawn, the latest first:
#: each projection a darker shade of its cohort's colour (no two lines of a chart share one)
DRAWN = (("sbgc_latest", "Latest", BLUE, NAVY), ("sbgc_second", "2nd latest", AMBER, "#92400E"),
         ("sbgc_third", "3rd latest", TEAL, "#115E59"))
_SPILL = "sbgc"
_ROW = 19  #: the fit table's first row (0-based), under the chart


@dataclass(frozen=True, eq=False)
class LatestFitted(Node):
    """The latest cohort of the ``spill`` (a KPI_SBG_COHORTS result over month cohorts) fitted from at least
    ``min_periods`` observed months, and earlier than ``before`` when given; ``#N/A`` when there is none.

    ``SUMPRODUCT(MAX((periods>=n)*ISNUMBER(alpha)*(cohort<before)*cohort))``: SUMPRODUCT evaluates the
    MAX over the arrays in every Excel and in LibreOffice (no FILTER, no LARGE). ``before`` that is not a
    number (the "none" of the cohort before) gives ``#N/A``, so the chain stops there.
    """

    spill: str
    min_periods: int
    before: Node | None = None

    def children(self) -> Iterable[Node]:
        return () if self.before is None else (self.before,)

    def render(self, ctx: Ctx) -> str:
        c = ctx.spill_range(self.spill, "cohort", header=False)
        p = ctx.spill_range(self.spill, "periods", header=False)
        a = ctx.spill_range(self.spill, "alpha", header=False)
        cond = f"({p}>={self.min_periods})*ISNUMBER({a})"
        if self.before is not None:
            cond += f"*({c}<{self.before.render(ctx)})"
        latest = f"SUMPRODUCT(MAX({cond}*{c}))"
        out = f"IF({latest}=0,NA(),{latest})"
        if self.before is not None:
            out = f"IF(ISNUMBER({self.before.render(ctx)}),{out},NA())"
        return out

    def evaluate(self, ctx: Ctx) -> Any:
        cols = [ctx.spill_value(self.spill, k) for k in ("cohort", "periods", "alpha")]
        for v in cols:
            if isinstance(v, ExcelError):
                return v
        cohort, periods, alpha = cols
        keep = (pd.to_numeric(periods, errors="coerce") >= self.min_periods) & pd.to_numeric(alpha, errors="coerce").notna()
        dates = pd.to_datetime(cohort, errors="coerce")
        if self.before is not None:
            before = self.before.evaluate(ctx)
            if not isinstance(before, pd.Timestamp):
                return ExcelError("#N/A", "no cohort before")
            keep &= dates < before
        found = dates[keep & dates.notna()]
        if found.empty:
            return ExcelError("#N/A", f"no fitted cohort with {self.min_periods}+ months")
        return pd.Timestamp(found.max())


def _picks() -> tuple[Item, ...]:
    items: list[Item] = []
    before: Node | None = None
    for name, label, *_ in DRAWN:
        node = LatestFitted(_SPILL, MIN_MONTHS, before)
        items.append(Item(name, label, IfError(node, "none"), MONTH))
        before = Ref(name)
    return tuple(items)


def cohort_fit_blocks() -> list[Any]:
    """The sheet's title, the cohorts drawn, a line on how to read the chart, and the fit per cohort."""
    S = COHORT_FIT_SHEET
    return [
        Text(S, 0, 0, "Retention projected by cohort (shifted-beta-geometric model)", "title"),
        Text(S, 1, 0, "Each cohort's sBG fit to its logo retention on the Cohorts sheet (KPI_SBG_COHORTS) and its "
                      "projected retention for months 0–12; a cohort that cannot be fitted says why.", "subtitle"),
        ItemList(S, 3, 0, "", _picks(), value_header="Cohort", label_header="Drawn", header=True),
        Text(S, 8, 0, f"The chart draws the latest cohorts with at least {MIN_MONTHS} observed months after month 0 "
                      "that the model fits: the actual retention (solid, with points) and the sBG projection "
                      "(dashed) — the fit over the observed months, the forecast after them. \"none\": fewer such "
                      "cohorts.", "small", span=5),
        Text(S, _ROW - 1, 0, "sBG fit per cohort: alpha and beta of the beta distribution of churn "
                             "probabilities, the months observed after month 0, the projected share still paying", "section"),
        *_calc_head(CURVES_SHEET, "Months of the cohort projection chart",
                    "The x values of the chart on the Cohort projections sheet: months 0 to 12."),
        RowTable("sbgc_months", CURVES_SHEET, 3, 0, "", Fixed(tuple(range(MONTHS))),
                 (RowColumn("month", "Months since the first paying month", "KEY", "0"),)),
        Spill(_SPILL, S, _ROW, 0, KPI("KPI_SBG_COHORTS", SpillAll("cohorts"), MONTHS),
              col_formats=(("cohort", MONTH), ("size", COUNT), ("alpha", "0.000"), ("beta", "0.000"),
                           ("log-likelihood", "#,##0.0"), ("periods", "0"), ("month*", "0%")),
              headers=(("log-likelihood", "Log-lik."), ("periods", "Observed"), ("note", "Why not fitted"))),
    ]


def cohort_fit_charts() -> tuple[Chart, ...]:
    """Actual and projected retention of the cohorts drawn, by months since the first paying month."""
    months = BlockCol("sbgc_months", "month")
    series: list[Series] = []
    for name, label, color, dark in DRAWN:
        key = Ref(name)
        actual = tuple(Lookup2D(key, SpillCol("cohorts", "cohort"), "cohorts", f"month {t}") for t in range(MONTHS))
        fitted = tuple(Lookup2D(key, SpillCol(_SPILL, "cohort"), _SPILL, f"month {t}") for t in range(MONTHS))
        series += [Series(f"{label}: actual", actual, months, color, marker="circle"),
                   Series(f"{label}: projected", fitted, months, dark, dash="dash")]
    return (Chart(COHORT_FIT_SHEET, "F4", "scatter", "Latest full cohorts: actual and projected logo retention",
                  tuple(series), width=760, height=320, y_format="0%", y_min=0, y_max=1, x_min=0, x_max=MONTHS - 1,
                  x_title="months since the cohort's first paying month", legend="bottom"),)


def cohort_fit_sheets() -> tuple[SheetSpec, SheetSpec]:
    """The report sheet (the cohort column as on the Cohorts sheet, narrow month columns, the note at the end)
    and the hidden sheet of the chart's months."""
    widths = ((0, 11), (1, 9), (2, 7), (3, 7), (4, 9), (5, 9)) + tuple((6 + t, 6) for t in range(MONTHS))
    return (SheetSpec(COHORT_FIT_SHEET, "report", widths=widths + ((6 + MONTHS, 48),), fit_height=1, tab_color=BLUE),
            _calc_sheet(CURVES_SHEET, "the months the cohort projection chart draws", widths=((0, 34),)))
