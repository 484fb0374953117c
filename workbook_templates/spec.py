"""The vocabulary a report is described in: sheets, blocks of cells, spilled KPI tables, charts.

A :class:`ReportSpec` is data: which input tables it reads, which sheets it
has, where each KPI cell goes and which formula (a :mod:`.formulas` node) it
holds, which charts and conditional formats it draws. One builder
(:mod:`.builder`) turns a spec plus data into both the template and every
regenerated report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .formulas import Node

__all__ = [
    "Banner",
    "Chart",
    "Distinct",
    "Fixed",
    "Item",
    "ItemList",
    "Months",
    "Param",
    "PerGrain",
    "ReportSpec",
    "RowColumn",
    "RowTable",
    "Series",
    "SheetSpec",
    "Spill",
    "Text",
    "Trend",
]


@dataclass(frozen=True)
class Item:
    """One labelled cell: a KPI formula, a native formula, or an input value."""

    name: str  #: unique within the report; formulas refer to it with Ref(name)
    label: str
    expr: Any  #: a formula node, or a constant (an input cell)
    fmt: str | None = None  #: number format; default: from the KPI's registry unit
    note: str = ""  #: shown in the column after the value
    input: bool = False  #: a value the report owner may change (styled as an input)
    extra: tuple[Any, ...] = ()  #: values/formulas of the extra columns, in ItemList.extra_headers order
    #: the item's history (a list with ``trend_cols``): its change on the previous period and a sparkline
    trend: Trend | None = None


@dataclass(frozen=True)
class Trend:
    """An item's history: ``values`` is the row-table column holding it by period (keyed by the period's last
    month in the table's ``month`` column, the report period last); the change is the item's value against
    the previous period's row, relative (``rel``: +2.1 %), in percentage points (``pp``: a rate, +0.30 pp) or
    in the KPI's own points (``pts``: NPS, +4.2),
    coloured by whether up is ``good`` (``up``, ``down``, or ``""``: neither)."""

    values: Any
    kind: str = "rel"
    good: str = "up"
    #: only in a monthly report (a history whose quarterly or yearly form the table does not hold)
    monthly: bool = False


@dataclass(frozen=True)
class ItemList:
    """A vertical list: label | value | (extra columns) | note."""

    sheet: str
    row: int  #: 0-based
    col: int
    title: str
    items: tuple[Item, ...]
    value_header: str = "Value"
    extra_headers: tuple[str, ...] = ()
    extra_formats: tuple[str | None, ...] = ()
    note_header: str = ""
    status_cols: tuple[int, ...] = ()  #: extra columns holding a status text, coloured by ``status_tones``
    name: str = ""  #: for charts over the list (ListCol)
    header: bool = True  #: write the header row (KPI | Value | …)
    extra_like_value: tuple[int, ...] = ()
    label_header: str = "KPI"  #: extra columns formatted like the item's value (targets)
    #: how a status text is coloured: (the text it begins with, tone: good | bad | warn), in the order applied
    status_tones: tuple[tuple[str, str], ...] = ()
    #: two columns after the extra ones: each item's change on the previous period and its sparkline
    #: (items with a :class:`Trend`)
    trend_cols: bool = False


@dataclass(frozen=True)
class Spill:
    """A KPI that spills a table (dynamic array) at ``row, col`` of ``sheet``."""

    name: str
    sheet: str
    row: int
    col: int
    expr: Node
    title: str = ""
    col_formats: tuple[tuple[Any, str], ...] = ()  #: (column header or index, number format)
    row_formats: tuple[tuple[str, str], ...] = ()  #: for labelled results: (label, format of its value)
    heatmap: bool = False  #: colour scale over the numeric cells from the third column on
    #: headings shown over the result's columns (result column -> heading); on a report sheet a column not named
    #: here is shown with a capital first letter ("size" -> "Size"), on a calc sheet as the function names it
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RowColumn:
    """One column of a :class:`RowTable`: header, per-row formula template, format."""

    key: str
    header: str
    expr: Any  #: a node using RowRef(...) for cells of the same row; or "KEY" for the row key
    fmt: str | None = None
    width: float | None = None


@dataclass(frozen=True)
class Months:
    """Row keys: the last ``n`` months up to the report month (fewer when the data starts later).

    In a report of a quarter or a year (and ``follow_period``), the last ``quarters`` quarters or ``years``
    years instead, each keyed by its last month. The key cells are live: each is ``EDATE`` of the ``anchor``
    cell (the report month parameter).
    """

    n: int
    anchor: str = "report_month"  #: the cell holding the report month
    #: in a report of a quarter or a year, one row per period (the period's last month) instead of per month
    follow_period: bool = True
    quarters: int = 8  #: rows in a report of a quarter
    years: int = 5  #: rows in a report of a year


@dataclass(frozen=True)
class Distinct:
    """Row keys: the distinct non-blank values of a column, in order of first appearance.

    ``values`` is a column of an input table (``Col``) or of a spilled result (``SpillCol``; a result that is
    an error gives no rows); with ``where``, only the rows where that column is not blank count.
    """

    values: Node
    where: Node | None = None


@dataclass(frozen=True)
class Fixed:
    """Row keys given as they are (a one-row table of totals: ``Fixed(("Total",))``)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class RowTable:
    """A table with one row per key (months, channels, customers), each row from the same templates."""

    name: str
    sheet: str
    row: int
    col: int
    title: str
    keys: Months | Distinct | Fixed  #: where the row keys come from
    columns: tuple[RowColumn, ...]
    heatmap_cols: tuple[str, ...] = ()
    bars_cols: tuple[str, ...] = ()
    #: colour scales where low is good (green at the minimum, red at the maximum)
    heatmap_low_cols: tuple[str, ...] = ()
    #: an Excel table of this name over the header and rows (autofilter: sortable); the row templates' RowRef
    #: cells are then written as relative addresses, so each row's formulas move with it when sorted
    table_name: str = ""
    header: bool = True  #: write the header row


@dataclass(frozen=True)
class Series:
    name: str
    #: a SpillCol / RowTable / item-list column reference (see Chart), or one formula per point (the chart
    #: sheet holds them: a bar per value that no table shows, e.g. a decrease drawn below 0)
    values: Node | tuple[Node, ...]
    categories: Node | tuple[str, ...] | None = None  #: a column reference, or the points' labels
    color: str | None = None
    invisible: bool = False
    line: bool = False  #: draw as a line on top of a column chart
    labels: bool = False
    label_format: str | None = None  #: number format of the data labels (default: the chart's y_format)
    y2: bool = False
    point_colors: tuple[str, ...] = ()  #: a fill per point (bars), overriding ``color``
    dash: str | None = None  #: a line's dash type (XlsxWriter's: dash, round_dot, long_dash, ...)
    marker: str | None = None  #: a line's point marker (XlsxWriter's: circle, square, diamond, ...)


@dataclass(frozen=True)
class Chart:
    sheet: str
    cell: str  #: anchor cell, e.g. "E5"
    kind: str  #: line | column | stacked | bar | scatter
    title: str
    series: tuple[Series, ...]
    width: int = 560
    height: int = 300
    y_format: str | None = None
    x_format: str | None = None
    y2_format: str | None = None
    reverse_categories: bool = False
    legend: str = "bottom"
    y_title: str | None = None
    x_title: str | None = None
    y_min: float | None = None
    y_max: float | None = None
    #: a scatter chart's value axis: a number, or "data" for the smallest / largest x of its series (an
    #: axis that ends where the data end, not at the next round number past them)
    x_min: float | str | None = None
    x_max: float | str | None = None
    y_log: bool = False


@dataclass(frozen=True)
class Text:
    sheet: str
    row: int
    col: int
    text: str
    style: str = "text"  #: title | subtitle | section | text | small
    #: wrap the text over this many columns (merged, the row as high as its lines); 0: one line, unwrapped
    span: int = 0


@dataclass(frozen=True)
class Banner:
    """The line that tells the reader where the values come from (add-in live or as built)."""

    sheet: str
    row: int
    col: int


@dataclass(frozen=True)
class SheetSpec:
    name: str
    kind: str  #: report | calc | input | notes
    widths: tuple[tuple[int, float], ...] = ()
    landscape: bool = True
    fit_width: int = 1
    fit_height: int = 0
    print_area: str | None = None
    tab_color: str | None = None
    zoom: int | None = None
    description: str = ""
    hidden: bool = False  #: a helper sheet the reader does not need (still there, can be unhidden)
    repeat_rows: tuple[int, int] | None = None  #: rows (0-based, first and last) printed atop every page

    @property
    def hidden_by_default(self) -> bool:
        """Whether the workbook opens with the sheet hidden: input-data and calculation sheets always are, so
        that printing the workbook (or exporting it to PDF) prints its report pages only — LibreOffice's PDF
        export leaves out a hidden sheet, never one with a print area. Formulas read hidden sheets as any."""
        return self.hidden or self.kind in ("input", "calc")


@dataclass(frozen=True)
class ReportSpec:
    key: str
    title: str
    description: str
    datasets: tuple[str, ...]
    sheets: tuple[SheetSpec, ...]
    blocks: tuple[Any, ...]  #: Text, Banner, ItemList, Spill, RowTable
    charts: tuple[Chart, ...] = ()
    params: tuple[Item, ...] = field(default=())  #: report parameters (report month, segment) — placed by blocks
    headline: tuple[str, ...] = ()  #: names of the items ``kpi build`` prints in its summary of the report
    cost: int = 0  #: relative build cost: the costliest reports start first, so parallel workers finish together
    #: rows of the Notes sheet's "About this report" (label, text); a label it already has is replaced
    about: tuple[tuple[str, str], ...] = ()
    #: data sets of ``datasets`` the report reads when the folder has their file: without it an empty table
    #: stands in, with a notice (data set, what its absence means) — :mod:`.stand_ins`
    optional: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Param:
    """A value the data decides at build time: ``report_month`` or ``segment``."""

    name: str


@dataclass(frozen=True)
class PerGrain:
    """A constant that depends on the report period: a benchmark or target for a month, a quarter, a year.

    Written as the plain number of the report's period (an input cell the owner may change, as any target).
    """

    month: float
    quarter: float
    year: float

    def value(self, months: int) -> float:
        return {1: self.month, 3: self.quarter, 12: self.year}[months]
