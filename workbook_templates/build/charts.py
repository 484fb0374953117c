"""The charts of a report: series over the cells of spilled tables, row tables and item lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import formulas as F
from ..formulas import ExcelError, Node
from ..spec import Chart
from .chart_data import ChartData, is_number
from .model import BuildError
from .styles import currency_format

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["range_tuple", "write_chart"]

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
        d: dict[str, Any] = {"name": sr.name, "values": _values(b, sr.values, data)}
        if sr.categories is not None:
            d["categories"] = _categories(b, sr.categories, data)
        if sr.invisible:
            d["fill"] = {"none": True}
            d["border"] = {"none": True}
        elif sr.color:
            if ch.kind in ("line", "scatter") or sr.line:
                d["line"] = {"color": sr.color, "width": 2.25}
                if sr.dash:
                    d["line"]["dash_type"] = sr.dash
                d["marker"] = {"type": "none"}
                if sr.marker:
                    d["marker"] = {"type": sr.marker, "size": 5, "fill": {"color": sr.color},
                                   "border": {"color": sr.color}}
            else:
                d["fill"] = {"color": sr.color}
                d["border"] = {"none": True}
        if sr.point_colors:
            d["points"] = [{"fill": {"color": c}, "border": {"none": True}} for c in sr.point_colors]
        if sr.labels:
            d["data_labels"] = {"value": True,
                                "num_format": currency_format(sr.label_format or ch.y_format, cur) or "General",
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
    if ch.y_min is not None:
        y["min"] = ch.y_min
    if ch.y_max is not None:
        y["max"] = ch.y_max
    if ch.y_log:
        y["log_base"] = 10
    x: dict[str, Any] = {"num_font": ax_font, "line": {"color": "#D1D5DB"}, "label_position": "low"}
    if ch.x_format:
        x["num_format"] = ch.x_format
    for bound, at in (("min", ch.x_min), ("max", ch.x_max)):
        if at is not None:
            x[bound] = _data_bound(b, ch, bound) if at == "data" else at
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


def _values(b: Report, values: Node | tuple[Node, ...], data: ChartData | None) -> list[Any]:
    """The range a series draws: a column of the chart sheet (gaps for undefined KPIs) or the table's own."""
    if isinstance(values, tuple):
        if data is None:
            raise BuildError(f"{b.spec.key}: a series of formulas needs the chart sheet")
        return data.points(values)
    rng = range_tuple(b, values)
    return data.values(values, rng) if data is not None else rng


def _categories(b: Report, cats: Node | tuple[str, ...], data: ChartData | None) -> list[Any]:
    if isinstance(cats, tuple):
        if data is None:
            raise BuildError(f"{b.spec.key}: a series of labels needs the chart sheet")
        return data.labels(cats)
    return range_tuple(b, cats)


def _data_bound(b: Report, ch: Chart, bound: str) -> float:
    """The smallest or largest x value of a chart's series (as built), for an axis that ends with its data."""
    xs = [v for sr in ch.series if sr.categories is not None and not isinstance(sr.categories, tuple)
          for v in b.evaluate_node(sr.categories) if is_number(v)]
    if not xs:
        return 0.0
    return float(min(xs) if bound == "min" else max(xs))
