"""The charts of a report: series over the cells of spilled tables, row tables and item lists."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .. import formulas as F
from ..formulas import ExcelError, Node
from ..spec import Chart
from .model import BuildError
from .styles import currency_format

if TYPE_CHECKING:
    from .chart_data import ChartData
    from .evaluation import Report

__all__ = ["range_tuple", "waterfall_min", "write_chart"]

_KINDS = {"line": ("line", None), "column": ("column", None), "stacked": ("column", "stacked"),
          "bar": ("bar", None), "scatter": ("scatter", "straight")}


def range_tuple(b: Report, node: Node) -> list[Any]:
    """[sheet, first_row, first_col, last_row, last_col] of a column reference (for charts)."""
    if isinstance(node, F.SpillCol):
        s = b.spill(node.spill)
        j = 0 if isinstance(s.value, ExcelError) else b.spill_col_index(s, node.col)
        n = max(b.spill_rows(s), 1)
        return [s.sheet, s.row + 1, s.col + j, s.row + n, s.col + j]
    if isinstance(node, F.BlockCol):
        sheet, r0, r1, c = b.block_span(node.table, node.key)
        return [sheet, r0, c, r1, c]
    if isinstance(node, F.ListCol):
        il, r0, r1, c = b.list_cells(node.items, node.col)
        return [il.sheet, r0, c, r1, c]
    if isinstance(node, F.Ref):
        cell = b.cells[node.name]
        return [cell.sheet, cell.row, cell.col, cell.row, cell.col]
    raise BuildError(f"{b.spec.key}: a chart needs a column reference, got {type(node).__name__}")


def write_chart(wb: Any, ws: Any, b: Report, ch: Chart, data: ChartData | None = None) -> None:
    """Add chart ``ch`` to workbook ``wb`` and insert it on worksheet ``ws`` (its sheet); its series draw the
    gap-for-undefined columns of ``data`` (:mod:`.chart_data`) when given."""
    kind = _KINDS[ch.kind]
    opts = {"type": kind[0]}
    if kind[1]:
        opts["subtype"] = kind[1]
    chart = wb.add_chart(opts)
    cur = b.data.currency  # money axes and labels carry the reporting currency, as money cells do
    overlay = None
    for sr in ch.series:
        rng = range_tuple(b, sr.values)
        d: dict[str, Any] = {"name": sr.name, "values": data.values(sr.values, rng) if data is not None else rng}
        if sr.categories is not None:
            d["categories"] = range_tuple(b, sr.categories)
        if sr.invisible:
            d["fill"] = {"none": True}
            d["border"] = {"none": True}
        elif sr.color:
            if ch.kind in ("line", "scatter") or sr.line:
                d["line"] = {"color": sr.color, "width": 2.25}
                d["marker"] = {"type": "none"}
            else:
                d["fill"] = {"color": sr.color}
                d["border"] = {"none": True}
        if sr.labels:
            d["data_labels"] = {"value": True, "num_format": currency_format(ch.y_format, cur) or "General",
                                "font": {"size": 8, "color": "#374151"}}
        if sr.y2:
            d["y2_axis"] = True
        if sr.line and ch.kind != "line":
            if overlay is None:
                overlay = wb.add_chart({"type": "line"})
            overlay.add_series(d)
        else:
            chart.add_series(d)
    if overlay is not None:
        chart.combine(overlay)
    chart.set_title({"name": ch.title, "name_font": {"size": 11, "bold": True, "color": "#1F2937"}})
    ax_font = {"size": 8, "color": "#4B5563"}
    y: dict[str, Any] = {"num_font": ax_font, "major_gridlines": {"visible": True, "line": {"color": "#E5E7EB"}},
                         "line": {"none": True}}
    if ch.y_format:
        y["num_format"] = currency_format(ch.y_format, cur)
    if ch.y_title:
        y["name"] = ch.y_title
        y["name_font"] = {"size": 8, "bold": False}
    if ch.y_min == "waterfall":
        y["min"] = waterfall_min(b, ch)
    elif ch.y_min is not None:
        y["min"] = ch.y_min
    if ch.y_log:
        y["log_base"] = 10
    x: dict[str, Any] = {"num_font": ax_font, "line": {"color": "#D1D5DB"}, "label_position": "low"}
    if ch.x_format:
        x["num_format"] = ch.x_format
    if ch.x_title:
        x["name"] = ch.x_title
        x["name_font"] = {"size": 8, "bold": False}
    if ch.reverse_categories:
        (y if ch.kind == "bar" else x)["reverse"] = True
        if ch.kind == "bar":
            y["reverse"] = False
            x2 = dict(x)
            x2.pop("reverse", None)
            chart.set_y_axis({**x2, "reverse": True, "num_font": ax_font})
    if ch.kind == "bar":
        chart.set_x_axis(y)
        chart.set_y_axis({"num_font": ax_font, "reverse": ch.reverse_categories, "line": {"color": "#D1D5DB"}})
    else:
        chart.set_x_axis(x)
        chart.set_y_axis(y)
    if ch.y2_format:
        chart.set_y2_axis({"num_format": ch.y2_format, "num_font": ax_font})
    if ch.kind in ("column", "stacked"):
        chart.set_plotarea({"layout": None})
        chart.set_style(2)
    chart.set_legend({"position": ch.legend, "font": {"size": 8}} if ch.legend != "none" else {"none": True})
    chart.set_chartarea({"border": {"color": "#E5E7EB"}})
    chart.set_size({"width": ch.width, "height": ch.height})
    chart.show_blanks_as("gap")
    chart.show_na_as_empty_cell()  # no "#N/A" data label on a gap
    ws.insert_chart(ch.cell, chart, {"x_offset": 4, "y_offset": 4})


def waterfall_min(b: Report, ch: Chart) -> float:
    """Axis minimum of a bridge chart: a round number under its lowest bar, so the changes show."""
    bars = next((sr for sr in ch.series if sr.role == "base"), ch.series[0])  # what the bars stand on
    base = b.evaluate_node(bars.values)
    levels = []
    for sr in ch.series:
        if sr is bars:
            continue
        vals = b.evaluate_node(sr.values)
        for bv, v in zip(base, vals, strict=False):
            if isinstance(v, (int, float)) and isinstance(bv, (int, float)) and v:
                levels.append(bv + (v if sr.role != "decrease" else 0))  # a decrease ends at the base
                levels.append(bv)
    lows = [x for x in levels if x > 0]
    if not lows:
        return 0
    low = min(lows) * 0.97
    step = 10 ** max(0, int(math.log10(max(low, 1))) - 1)
    return float(math.floor(low / step) * step)
