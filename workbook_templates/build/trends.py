"""An item's change on the previous period and its sparkline (:class:`~..spec.Trend`), as the best SaaS
dashboards lead with: MRR 265,093 ▲ 0.7 % and a small line of the last 12 months beside it.

The change is a live formula: the item's own cell against the previous period's row of its history column
(looked up by the previous period's last month, the ``prev_month`` cell), relative for amounts and counts,
in percentage points for rates; ``—`` where either is undefined. Its colour says whether the move is good
for that KPI (churn down is good): green or red by conditional formatting on the number, so a changed report
month recolours it. The sparkline draws the history column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xlsxwriter.utility import xl_rowcol_to_cell

from .. import formulas as F
from ..spec import Trend
from .charts import range_tuple
from .rendering import quote_sheet

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["CHANGE_FORMATS", "change_node", "write_trend"]

#: number formats of the change: ▲/▼ and the amount (a relative change, or percentage points)
CHANGE_FORMATS = {"rel": '"▲ "0.0%;"▼ "0.0%;0.0%', "pp": '"▲ "0.00" pp";"▼ "0.00" pp";0.00" pp"',
                  "pts": '"▲ "0.0;"▼ "0.0;0.0'}
_GREEN, _RED = "#15803D", "#B91C1C"


def change_node(name: str, trend: Trend) -> F.Node:
    """The change of the item ``name`` on the previous period, from its history column."""
    values = trend.values
    if not isinstance(values, F.BlockCol):
        raise TypeError(f"{name}: a trend reads a row-table column (BlockCol), not {type(values).__name__}")
    prev = F.Lookup(F.Ref("prev_month"), F.BlockCol(values.table, "month"), values)
    now = F.Ref(name)
    delta = now / prev - 1 if trend.kind == "rel" else (now - prev) * 100 if trend.kind == "pp" else now - prev
    return F.IfError(delta, "—")


def write_trend(wb: Any, ws: Any, b: Report, trend: Trend, row: int, col: int) -> None:
    """Colour the change cell at (row, col) by whether up is good, and draw the sparkline in the next cell."""
    cell = xl_rowcol_to_cell(row, col)
    if trend.good:
        up, down = (_GREEN, _RED) if trend.good == "up" else (_RED, _GREEN)
        for sign, colour in ((">", up), ("<", down)):
            ws.conditional_format(row, col, row, col, {
                "type": "formula", "criteria": f"=AND(ISNUMBER({cell}),{cell}{sign}0)",
                "format": wb.add_format({"font_color": colour, "bold": True})})
    sheet, r0, c0, r1, _ = range_tuple(b, trend.values)
    src = f"{quote_sheet(sheet)}!{xl_rowcol_to_cell(r0, c0, True, True)}:{xl_rowcol_to_cell(r1, c0, True, True)}"
    # columns (LibreOffice draws column sparklines, not line ones), the report period's darker
    ws.add_sparkline(row, col + 1, {"range": src, "type": "column", "series_color": "#93C5FD", "last_point": True,
                                    "last_color": "#1D4ED8", "negative_points": True, "negative_color": "#FCA5A5"})
