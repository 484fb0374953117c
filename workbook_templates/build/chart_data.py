"""The values the charts draw, on a hidden sheet of their own: an undefined KPI is a gap, never a zero.

Excel and LibreOffice draw a chart point whose cell holds ``#DIV/0!``, ``#VALUE!``, ``#NUM!`` or text as 0 —
a month without CSAT responses would fall to 0 %, a month without new customers to a CAC of 0. Only ``#N/A``
(or an empty cell) is a gap. So a chart does not read a table's cells directly: each series reads a column
of the hidden ``_charts`` sheet, whose cells are ``=IF(ISNUMBER(cell),cell,NA())`` over the table's cells —
live, so a changed report month recalculates them too — with ``#N/A`` as the cached value wherever the
table's cell is not a number. The tables keep showing the real error, with its meaning. In a values-only
copy (no formulas) a gap is an empty cell. Spilled tables hold numbers or blanks already and are read as
they are.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from .. import formulas as F
from .rendering import quote_sheet

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["CHART_SHEET", "ChartData", "is_number"]

CHART_SHEET = "_charts"


def is_number(v: Any) -> bool:
    """What ISNUMBER says of a cached value: a number or a date; not text, a blank, a boolean or an error."""
    if isinstance(v, (bool, F.ExcelError)):
        return False
    if isinstance(v, pd.Timestamp):
        return True
    return isinstance(v, (int, float)) and not math.isnan(v)


class ChartData:
    """Writes the chart columns of one workbook (created with its first chart; one column per source
    range, shared by the series that draw the same range)."""

    def __init__(self, wb: Any, b: Report, live: bool) -> None:
        self.wb, self.b, self.live = wb, b, live
        self.ws: Any = None
        self.columns: dict[tuple[Any, ...], list[Any]] = {}

    def values(self, node: F.Node, rng: list[Any]) -> list[Any]:
        """The range a series should draw for the column reference ``node`` spanning ``rng``."""
        if isinstance(node, F.SpillCol):
            return rng
        key = tuple(rng)
        if key in self.columns:
            return self.columns[key]
        sheet, r0, c0, r1, c1 = rng
        vals = self.b.evaluate_node(node)
        if c0 != c1 or len(vals) != r1 - r0 + 1:  # not one column of cells: drawn as it is
            return rng
        self._sheet()
        j = len(self.columns)
        src = quote_sheet(sheet)
        for i, v in enumerate(vals):
            r = 1 + i
            if self.live:
                cell = f"{src}!{xl_rowcol_to_cell(r0 + i, c0, row_abs=True, col_abs=True)}"
                cached = (F.excel_serial(v) if isinstance(v, pd.Timestamp) else v) if is_number(v) else "#N/A"
                self.ws.write_formula(r, j, f"=IF(ISNUMBER({cell}),{cell},NA())", None, cached)
            elif is_number(v):
                self.ws.write_number(r, j, F.excel_serial(v) if isinstance(v, pd.Timestamp) else v)
        out = [CHART_SHEET, 1, j, len(vals), j]
        self.columns[key] = out
        return out

    def points(self, nodes: tuple[F.Node, ...]) -> list[Any]:
        """A column of one formula per point (``=IF(ISNUMBER(f),f,NA())``, cached as built; in a values-only
        copy the number, or an empty cell for a gap) for a series whose values no table holds as a column."""
        j = self._column()
        for i, node in enumerate(nodes):
            v = self.b.evaluate(node)
            if self.live:
                f = node.render(self.b.on_sheet(CHART_SHEET))
                self.ws.write_formula(1 + i, j, f"=IF(ISNUMBER({f}),{f},NA())", None, v if is_number(v) else "#N/A")
            elif is_number(v):
                self.ws.write_number(1 + i, j, v)
        return [CHART_SHEET, 1, j, len(nodes), j]

    def labels(self, texts: tuple[str, ...]) -> list[Any]:
        """A column of the category labels of a series of formulas."""
        j = self._column()
        for i, t in enumerate(texts):
            self.ws.write_string(1 + i, j, t)
        return [CHART_SHEET, 1, j, len(texts), j]

    def _column(self) -> int:
        """A new column of the chart sheet."""
        self._sheet()
        j = len(self.columns)
        self.columns[("column", j)] = []
        return j

    def _sheet(self) -> None:
        if self.ws is None:
            self.ws = self.wb.add_worksheet(CHART_SHEET)
            self.ws.hide()
            self.ws.write_string(0, 0, "The values the charts draw: a table's cell where it is a number, "
                                       "#N/A (a gap) where its KPI is undefined.")
