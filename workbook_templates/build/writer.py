"""Writing an evaluated report into a workbook: the sheets, the input tables, every block's cells, the
stored values the KPI cells fall back to without the add-in, the charts and the Notes sheet."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

import kpi_functions as K
from kpi_functions.excel import literal

from .. import formulas as F
from ..build_steps import step
from ..formulas import ExcelError
from ..schema import DATASETS
from ..spec import Banner, ItemList, RowTable, SheetSpec, Spill, Text
from .block_columns import spill_columns, stash_columns
from .chart_data import ChartData
from .charts import write_chart
from .evaluation import Report, cell_value
from .large import VALUES_FULL, Touch
from .large_write import (
    LARGE_BANNER,
    STORED_LEGEND,
    chart_left_out,
    notes_section,
    stored_comment,
    write_left_out,
    write_summary,
)
from .model import (
    PROBE_NAME,
    VALUES_SHEET,
    BlockDef,
    BuildResult,
    CellDef,
    ManifestCell,
    SpillDef,
    SpillRecord,
    abs_cell,
    top_kpi,
)
from .notes import write_notes
from .printing import DEFAULT_ROW_POINTS, DEFAULT_WIDTH, HEADER_LINE_POINTS, LINE_POINTS, spill_headings, text_lines
from .rendering import kpi_name
from .sheets import BlockColumn, FormulaSheet
from .styles import DATE_FMT, MONEY_CENTS, MONTH_FMT, Formats, date_cell_fmt, unit_format
from .trends import write_trend

__all__ = ["FIXED_TIME", "Writer", "result_columns"]

FIXED_TIME = _dt.datetime(2026, 1, 1)  # document properties: templates must not change from run to run
_STYLES = {"kpi": "kpi", "native": "cell", "input": "input", "key": "key", "value": "cell"}


def result_columns(df: pd.DataFrame) -> list[tuple[str, list[Any]]]:
    """Each column of a result as (kind, values): num/date as floats (NaN blank; dates as serials), else objects."""
    out: list[tuple[str, list[Any]]] = []
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out.append(("date", F.to_serial_array(s).tolist()))
        elif (pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype)) \
                and not pd.api.types.is_bool_dtype(s.dtype):
            out.append(("num", s.to_numpy(dtype=float, na_value=np.nan).tolist()))
        else:
            out.append(("obj", [cell_value(x) for x in s.to_numpy(dtype=object)]))
    return out


_columns = result_columns  # the former name (the adapter-vs-builder test)


def _probe_function() -> str:
    """The KPI function the add-in probe calls: ARR is the simplest (12 × 1)."""
    if "KPI_ARR" in K.REGISTRY:
        return "KPI_ARR"
    return next(iter(K.REGISTRY))


def _error_formula(code: str) -> str:
    return "=" + literal(ExcelError(code))


class Writer:
    """Writes an evaluated :class:`~.evaluation.Report` into an XlsxWriter workbook."""

    def __init__(self, b: Report, path: Path) -> None:
        self.b = b
        self.path = path
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "nan_inf_to_errors": False,
                                                  "in_memory": True})
        self.wb.set_properties({"title": b.spec.title, "subject": b.spec.description,
                                "author": "KPI add-in report builder", "created": FIXED_TIME,
                                "comments": "Built by `kpi build`. Regenerate rather than edit by hand."})
        self.fmt = Formats(self.wb, b.data.currency)  # money formats carry the reporting currency, if any
        self.ws: dict[str, Any] = {}
        self.manifest: list[ManifestCell] = []
        self.values_ws: Any = None
        self.values_row = 2
        self.live = b.flavour != "values"
        self.spill_records: list[SpillRecord] = []
        self.kinds = {sh.name: sh.kind for sh in b.spec.sheets}
        self.widths = {sh.name: dict(sh.widths) for sh in b.spec.sheets}
        self.row_heights: dict[tuple[str, int], float] = {}
        self.large = b.large  #: the large-data layout's plan (None: the standard layout)

    # -- cells -------------------------------------------------------------
    def _write_value(self, ws: Any, row: int, col: int, v: Any, fmt: Any) -> None:
        if v is None:
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
            return
        if isinstance(v, ExcelError):
            if not self.live:  # values only: no formula at all, so the error is shown as its text
                ws.write_string(row, col, v.code, fmt)
                return
            # a constant error: a formula that yields it (the writer has no error constant)
            ws.write_formula(row, col, _error_formula(v.code), fmt, v.code)
            return
        if isinstance(v, bool):
            ws.write_boolean(row, col, v, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(row, col, v, fmt)
        elif isinstance(v, pd.Timestamp):
            ws.write_number(row, col, F.excel_serial(v), fmt)
        elif isinstance(v, str):
            if v == "":
                ws.write_formula(row, col, '=""', fmt, "")
            else:
                ws.write_string(row, col, v, fmt)
        else:
            ws.write_string(row, col, str(v), fmt)

    @staticmethod
    def _cached(v: Any) -> Any:
        """A value as XlsxWriter's cached formula result."""
        if v is None:
            return 0
        if isinstance(v, ExcelError):
            return v.code
        if isinstance(v, pd.Timestamp):
            return F.excel_serial(v)
        return v

    def _stash(self, v: Any, fmt_num: str | None = None) -> str:
        """Store ``v`` on the values sheet; returns its absolute address."""
        r = self.values_row
        self.values_row += 1
        self._write_value(self.values_ws, r, 0, v, self.fmt.get("plain", fmt_num) if fmt_num else None)
        return f"{VALUES_SHEET}!{abs_cell(r, 0)}"

    def _manifest(self, sheet: str, row: int, col: int, kind: str, v: Any, fmt: str | None,
                  formula: str | None) -> None:
        if isinstance(v, ExcelError):
            mv: Any = v.code
        elif isinstance(v, pd.Timestamp):
            mv = F.excel_serial(v)
        else:
            mv = v
        self.manifest.append(ManifestCell(sheet, xl_rowcol_to_cell(row, col), kind, mv, fmt, formula))

    def _default_fmt(self, c: CellDef) -> str | None:
        if isinstance(c.fmt, tuple):  # formatted like another cell
            return self._default_fmt(self.b.cells[c.fmt[1]])
        if c.fmt:
            return c.fmt
        if c.node is not None and isinstance(c.node, F.KPI):
            spec = K.REGISTRY.get(c.node.name)
            if spec is not None:
                return unit_format(spec, c.node)
        v = self.b.values.get(c.name)
        if isinstance(v, pd.Timestamp):
            return DATE_FMT
        return None

    def write_cell(self, c: CellDef) -> None:
        b = self.b
        ws = self.ws[c.sheet]
        v = b.value(c.name)
        num = self.fmt.number(self._default_fmt(c))
        fmt = self.fmt.get(_STYLES.get(c.style, "cell"), num)
        if c.node is None or not self.live:
            self._write_value(ws, c.row, c.col, v, fmt)
            self._manifest(c.sheet, c.row, c.col, "input" if c.node is None else
                           ("kpi" if top_kpi(c.node) else "native"), v, num, None)
            return
        if self.large is not None:
            ctx = Touch(b, c.sheet, self.large)
            text = c.node.render(ctx)
            if ctx.touched:  # reads a table that is not in the workbook: the value, marked as stored
                self._write_stored(c, v, num, self.large.why(ctx.touched))
                return
        else:
            text = c.node.render(b.on_sheet(c.sheet))
        if top_kpi(c.node):
            fallback = self._stash(v, num)
            text = f"IF({PROBE_NAME},{fallback},{text})"
            kind = "kpi"
        else:
            kind = "native"
        ws.write_formula(c.row, c.col, "=" + text, fmt, self._cached(v))
        self._manifest(c.sheet, c.row, c.col, kind, v, num, "=" + text)

    def _write_stored(self, c: CellDef, v: Any, num: str | None, why: str) -> None:
        """A cell of the large-data layout whose formula reads a table that is not in the workbook: its value,
        shaded, with a comment (on each cell of an item list, on the first of a row table's column)."""
        assert self.large is not None
        self.large.stored[c.name] = why
        self._write_value(self.ws[c.sheet], c.row, c.col, v, self.fmt.get("stored", num))
        table, _, i = c.name.rpartition(".")
        if not (table.rpartition(".")[0] in self.b.blocks and i.isdigit() and i != "0"):
            self.ws[c.sheet].write_comment(c.row, c.col, stored_comment(why), {"x_scale": 2, "y_scale": 1.5})
        self._manifest(c.sheet, c.row, c.col, "stored", v, num, None)

    # -- spilled tables ------------------------------------------------------
    def write_spill(self, s: SpillDef) -> None:
        b = self.b
        b.spill(s.name)
        ws = self.ws[s.sheet]
        spec = s.spec
        large = self.large
        if large is not None and large.spill_left_out(s.name):
            write_left_out(self, large.left_out[f"spill:{s.name}"], s.sheet, s.row - (1 if spec.title and s.row else 0),
                           s.col, spec.title if s.row else "")
            return
        stored = large.stored_spills.get(s.name) if large is not None else None
        live = self.live and stored is None
        if stored is not None and self.live:  # its values, marked as stored
            legend = "Values computed by kpi build; they do not recalculate in Excel." if stored == VALUES_FULL \
                else STORED_LEGEND
            ws.write_comment(s.row, s.col, f"{legend} This table {stored} (see Notes).",
                             {"x_scale": 2, "y_scale": 1.5})
        if spec.title and s.row > 0:  # a section heading on the row above the spill
            ws.write_string(s.row - 1, s.col, spec.title, self.fmt.get("section"))
        header_fmt = self.fmt.get("header")
        header: list[Any]
        if isinstance(s.value, ExcelError):
            header, cols = [s.value], []
        else:
            header, cols = [str(c) for c in s.value.columns], result_columns(s.value)
        width = len(header)
        n = len(cols[0][1]) if cols else 0
        col_fmt: dict[int, str] = {}
        if cols:
            for key, f in spec.col_formats:
                if isinstance(key, int):
                    col_fmt[key] = f
                elif key in header:
                    col_fmt[header.index(key)] = f
                elif key.endswith("*"):
                    for j, cn in enumerate(header):
                        if cn.startswith(key[:-1]):
                            col_fmt[j] = f
            for j, (kind, _) in enumerate(cols):
                if j not in col_fmt and kind == "date":
                    col_fmt[j] = MONTH_FMT
        row_fmt = dict(spec.row_formats)
        result_header = header
        if cols:
            header = self._headings(s.sheet, spec, header)
            self._fit_header(s.sheet, s.row, s.col, header)
        if live:
            text = s.node.render(b.on_sheet(s.sheet))
            if header != result_header:  # the function's own column names give way to the headings
                text = spill_headings(text, header)
            fallback = self._stash(s.value) if isinstance(s.value, ExcelError) else self._stash_frame(header, cols)
            formula = f"=IF({PROBE_NAME},{fallback},{text})"
            # the range's other cells are written below (write_dynamic_array_formula would first fill it with zeros)
            ws.write_spill_anchor(s.row, s.col, s.row + n, s.col + width - 1, formula, header_fmt,
                                  self._cached(header[0]))
            self._manifest(s.sheet, s.row, s.col, "spill", s.value if isinstance(s.value, ExcelError) else header[0],
                           None, formula)
        else:
            self._write_value(ws, s.row, s.col, header[0], header_fmt)
        for j in range(1, width):
            ws.write_string(s.row, s.col + j, header[j], header_fmt)
        nums: list[str | None] = []
        block: list[list[BlockColumn]] = []
        style = "stored" if stored is not None and self.live else "cell"
        for j, (kind, vals) in enumerate(cols):
            num = self.fmt.number(col_fmt.get(j))
            nums.append(num)
            f = self.fmt.get(style, num)
            per_row: list[Any] | None = None
            if row_fmt and j == width - 1:  # labelled result: the format follows the label
                by_num = {p: self.fmt.get(style, p) for p in dict.fromkeys(row_fmt.get(lab, num) for lab in cols[0][1])}
                per_row = [by_num[row_fmt.get(lab, num)] for lab in cols[0][1]]
            block.append(spill_columns(kind, vals, self.live, f, per_row))
        if block and n:  # the cells under the header, column by column
            ws.write_block(s.row + 1, s.col, block)
        self.spill_records.append(SpillRecord(s.sheet, s.row, s.col, header, cols, nums,
                                              [row_fmt.get(x) for x in cols[0][1]] if row_fmt and cols else None))
        if spec.heatmap and cols and n > 0 and width > 2:
            ws.conditional_format(s.row + 1, s.col + 2, s.row + n, s.col + width - 1, {
                "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B",
                "min_type": "num", "min_value": 0, "mid_type": "num", "mid_value": 0.5,
                "max_type": "num", "max_value": 1})

    def _headings(self, sheet: str, spec: Spill, header: list[str]) -> list[str]:
        """The headings shown over a spilled table: ``Spill.headers``, else on a report sheet the result's column
        name with a capital first letter (a lower-case "label" reads as data, not as a heading)."""
        named = dict(spec.headers)
        report = self.kinds.get(sheet) == "report"
        return [named.get(h, h[:1].upper() + h[1:] if report else h) for h in header]

    def _fit_header(self, sheet: str, row: int, col: int, header: list[str]) -> None:
        """A header row tall enough for its wrapped headings (the header style wraps): one line of
        :data:`HEADER_LINE_POINTS` per line a heading needs in its column's width."""
        widths = self.widths.get(sheet, {})
        lines = max((text_lines(h, widths.get(col + j, DEFAULT_WIDTH)) for j, h in enumerate(header)), default=1)
        self.grow_row(sheet, row, lines * HEADER_LINE_POINTS)

    def grow_row(self, sheet: str, row: int, height: float) -> None:
        """Set a row's height to at least ``height`` points (never lower what another block of the row set)."""
        key = (sheet, row)
        if height > self.row_heights.get(key, DEFAULT_ROW_POINTS):
            self.row_heights[key] = height
            self.ws[sheet].set_row(row, height)

    def _stash_frame(self, header: list[str], cols: list[tuple[str, list[Any]]]) -> str:
        r0 = self.values_row
        ws = self.values_ws
        for j, h in enumerate(header):
            ws.write_string(r0, j, h)
        n = len(cols[0][1]) if cols else 0
        if n:  # NaN, None and "" as the formula ="" (a blank would read as 0)
            ws.write_block(r0 + 1, 0, [stash_columns(kind, vals) for kind, vals in cols])
        self.values_row += n + 2
        return f"{VALUES_SHEET}!{abs_cell(r0, 0)}:{abs_cell(r0 + n, len(header) - 1)}"

    # -- blocks ------------------------------------------------------------
    def write_text(self, t: Text) -> None:
        ws = self.ws[t.sheet]
        if not t.span:
            if t.text:
                ws.write_string(t.row, t.col, t.text, self.fmt.get(t.style))
            else:  # a styled blank (a section line running on)
                ws.write_blank(t.row, t.col, None, self.fmt.get(t.style))
            return
        # a paragraph: merged over its columns, wrapped, and the row as high as its lines (LibreOffice and
        # Excel do not grow a merged row by themselves)
        sheet = next(sh for sh in self.b.spec.sheets if sh.name == t.sheet)
        widths = dict(sh_w for sh_w in sheet.widths)
        chars = sum(widths.get(c, 8.43) for c in range(t.col, t.col + t.span))
        small = t.style in ("small", "note")
        lines = max(1, math.ceil(len(t.text) / (chars * (1.15 if small else 1.0))))
        ws.merge_range(t.row, t.col, t.row, t.col + t.span - 1, t.text, self.fmt.get(t.style + "_wrap"))
        ws.set_row(t.row, (12 if small else 14) * lines + 3)

    def write_banner(self, bn: Banner) -> None:
        ws = self.ws[bn.sheet]
        built = "Values as computed by kpi build. With the KPI add-in loaded the formulas recalculate live."
        live = "Live values: the KPI add-in is computing these formulas."
        if self.large is not None:  # the large-data layout: its shaded cells never recalculate
            built += " " + LARGE_BANNER
            live += " " + LARGE_BANNER
        f = self.fmt.get("banner")
        if self.live:
            # without the add-in the KPI cells show the values of the month the report was built for, while
            # Excel's own formulas follow the report-month cell: a changed month says so, in red
            d = self.b.data
            when = d.period.title if d.period is not None else f"{d.report_month:%B %Y}"
            month = F.Ref("report_month").render(self.b.on_sheet(bn.sheet))
            moved = (f"The yellow month cell was changed, but without the KPI add-in the KPI values are still those "
                     f"of {when}, as built; only Excel's own formulas follow the new month. Load the add-in, or set "
                     f"the month back.")
            formula = (f'=IF({PROBE_NAME},IF({month}<>{F.excel_serial(d.report_month):g},"⚠ {moved}","{built}"),'
                       f'"{live}")')
            ws.write_formula(bn.row, bn.col, formula, f, built)
            ws.conditional_format(bn.row, bn.col, bn.row, bn.col, {
                "type": "text", "criteria": "begins with", "value": "⚠", "format": self.fmt.tone("bad")})
            self._manifest(bn.sheet, bn.row, bn.col, "native", built, None, None)
        else:
            ws.write_string(bn.row, bn.col, "Values as computed by kpi build (no formulas)."
                            + (" " + LARGE_BANNER if self.large is not None else ""), f)

    def write_items(self, il: ItemList) -> None:
        ws = self.ws[il.sheet]
        r = il.row
        if il.title:
            ws.write_string(r, il.col, il.title, self.fmt.get("section"))
            width = 2 + len(il.extra_headers) + (2 if il.trend_cols else 0) + \
                (1 if il.note_header or any(i.note for i in il.items) else 0)
            for j in range(1, width):
                ws.write_blank(r, il.col + j, None, self.fmt.get("section"))
            r += 1
        hf = self.fmt.get("header")
        change_col = il.col + 2 + len(il.extra_headers)  # with trend_cols: change, then the sparkline
        note_col = change_col + (2 if il.trend_cols else 0)
        has_notes = il.note_header or any(i.note for i in il.items)
        if il.header:
            widths = self.widths.get(il.sheet, {})
            heads = (il.label_header, il.value_header, *il.extra_headers)
            lines = max(text_lines(h, widths.get(il.col + j, DEFAULT_WIDTH)) for j, h in enumerate(heads))
            self.grow_row(il.sheet, r, lines * HEADER_LINE_POINTS)
            ws.write_string(r, il.col, il.label_header, hf)
            ws.write_string(r, il.col + 1, il.value_header, hf)
            for j, h in enumerate(il.extra_headers):
                ws.write_string(r, il.col + 2 + j, h, hf)
            if il.trend_cols:
                ws.write_string(r, change_col, "Change", hf)
                ws.write_string(r, change_col + 1, "Trend", hf)
            if has_notes:
                ws.write_string(r, note_col, il.note_header, hf)
            r += 1
        label_width = self.widths.get(il.sheet, {}).get(il.col, DEFAULT_WIDTH)
        for k, it in enumerate(il.items):
            row = r + k
            lines = text_lines(it.label, label_width)
            if lines > 1:  # a label longer than its column wraps in a taller row instead of being cut off
                ws.write_string(row, il.col, it.label, self.fmt.get("label_wrap"))
                self.grow_row(il.sheet, row, lines * LINE_POINTS + 2)
            else:
                ws.write_string(row, il.col, it.label, self.fmt.get("label"))
            self.write_cell(self.b.cells[it.name])
            for j in range(len(il.extra_headers)):
                name = f"{it.name}.{j}"
                if name in self.b.cells:
                    self.write_cell(self.b.cells[name])
                else:
                    ws.write_blank(row, il.col + 2 + j, None, self.fmt.get("cell"))
            if il.trend_cols:
                if it.trend is not None and f"{it.name}.change" in self.b.cells:
                    self.write_cell(self.b.cells[f"{it.name}.change"])
                    write_trend(self.wb, ws, self.b, it.trend, row, change_col)
                else:
                    ws.write_blank(row, change_col, None, self.fmt.get("cell"))
                ws.write_blank(row, change_col + 1, None, self.fmt.get("cell"))
            if has_notes:
                if it.note and (self.live or not it.input):  # a values-only copy: changing an input does nothing
                    ws.write_string(row, note_col, it.note, self.fmt.get("note"))
                else:
                    ws.write_blank(row, note_col, None, self.fmt.get("note"))
        for sc in il.status_cols:
            c = il.col + 2 + sc
            self._status_colors(ws, r, c, r + len(il.items) - 1, c, il.status_tones)

    def _status_colors(self, ws: Any, r0: int, c0: int, r1: int, c1: int,
                       tones: tuple[tuple[str, str], ...]) -> None:
        """Colour the status texts of a range by the text they begin with (``ItemList.status_tones``)."""
        fmt = {tone: self.fmt.tone(tone) for tone in dict.fromkeys(tone for _, tone in tones)}
        for prefix, tone in tones:
            ws.conditional_format(r0, c0, r1, c1, {"type": "text", "criteria": "begins with", "value": prefix,
                                                   "format": fmt[tone]})

    def write_rows(self, bd: BlockDef) -> None:
        spec: RowTable = bd.spec
        ws = self.ws[spec.sheet]
        r = spec.row
        if spec.title:
            ws.write_string(r, spec.col, spec.title, self.fmt.get("section"))
            for j in range(1, len(spec.columns)):
                ws.write_blank(r, spec.col + j, None, self.fmt.get("section"))
            r += 1
        hf = self.fmt.get("header")
        n = len(bd.keys)
        if spec.header:
            widths = self.widths.get(spec.sheet, {})
            lines = max((text_lines(c.header, widths.get(spec.col + j, DEFAULT_WIDTH))
                         for j, c in enumerate(spec.columns)), default=1)
            self.grow_row(spec.sheet, r, lines * HEADER_LINE_POINTS)
            if spec.table_name:  # an Excel table with an autofilter: the reader can sort and filter the rows
                ws.add_table(r, spec.col, r + max(n, 1), spec.col + len(spec.columns) - 1, {
                    "name": spec.table_name, "style": "Table Style Light 1", "autofilter": True,
                    "columns": [{"header": c.header, "header_format": hf} for c in spec.columns]})
            else:
                for j, c in enumerate(spec.columns):
                    ws.write_string(r, spec.col + j, c.header, hf)
        else:
            r -= 1  # the data starts on the first row
        for column in spec.columns:
            for name in bd.cells[column.key]:
                self.write_cell(self.b.cells[name])
        if n:
            keys = [c.key for c in spec.columns]
            for key in spec.heatmap_cols:
                j = keys.index(key)
                ws.conditional_format(r + 1, spec.col + j, r + n, spec.col + j, {
                    "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84",
                    "max_color": "#63BE7B"})
            for key in spec.heatmap_low_cols:
                j = keys.index(key)
                ws.conditional_format(r + 1, spec.col + j, r + n, spec.col + j, {
                    "type": "3_color_scale", "min_color": "#63BE7B", "mid_color": "#FFEB84",
                    "max_color": "#F8696B"})
            for key in spec.bars_cols:
                j = keys.index(key)
                ws.conditional_format(r + 1, spec.col + j, r + n, spec.col + j, {
                    "type": "data_bar", "bar_color": "#93C5FD", "bar_solid": True})

    # -- input tables --------------------------------------------------------
    def write_input(self, ds_name: str, sheet: SheetSpec) -> None:
        ds = DATASETS[ds_name]
        t = self.b.data.tables[ds_name]
        ws = self.ws[sheet.name]
        df = t.df
        n = len(df)
        cols = ds.columns
        ws.add_table(0, 0, max(n, 1), len(cols) - 1, {
            "name": ds.table, "style": "Table Style Light 9",
            "columns": [{"header": c.name} for c in cols]})
        # the sheet is in the grid (checked before writing); the cells go in as whole columns (write_block): the
        # input sheets of a large company hold millions of cells
        block: list[BlockColumn] = []
        for j, c in enumerate(cols):
            s = df[c.name]
            if c.type in ("id", "text"):
                width = min(max([len(c.name) + 2] + [len(x) for x in s.dropna().head(200)]) + 1, 48)
                ws.set_column(j, j, width)
                block.append(BlockColumn("str", s.to_numpy(dtype=object)))
                continue
            if c.type in ("number", "integer"):
                num = "#,##0" if c.type == "integer" else MONEY_CENTS if c.unit == "money" else "#,##0.00"
                f = self.fmt.get("plain", num)
                ws.set_column(j, j, max(len(c.name) + 3, 11), f)
                arr = s.to_numpy(dtype=float)
            else:
                f = self.fmt.get("plain", date_cell_fmt(c.type))
                ws.set_column(j, j, 17 if c.type == "datetime" else 12, f)
                arr = F.to_serial_array(s)
            block.append(BlockColumn("num", arr, f))
        ws.write_block(1, 0, block)
        ws.freeze_panes(1, 0)

    # -- the whole workbook --------------------------------------------------
    def _add_sheets(self) -> None:
        for sh in self.b.spec.sheets:
            ws = self.wb.add_worksheet(sh.name, worksheet_class=FormulaSheet)
            self.ws[sh.name] = ws
            ws.hide_gridlines(2 if sh.kind in ("report", "notes") else 0)
            for col, w in sh.widths:
                ws.set_column(col, col, w)
            if sh.landscape:
                ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
            ws.fit_to_pages(sh.fit_width, sh.fit_height)
            if sh.print_area:
                ws.print_area(sh.print_area)
            if sh.repeat_rows:  # a table running over pages keeps its header on each
                ws.repeat_rows(*sh.repeat_rows)
            if sh.tab_color:
                ws.set_tab_color(sh.tab_color)
            if sh.zoom:
                ws.set_zoom(sh.zoom)
            if sh.kind == "calc":
                ws.set_tab_color("#9CA3AF")
            if sh.hidden_by_default:
                ws.hide()
        if self.live:
            self.values_ws = self.wb.add_worksheet(VALUES_SHEET, worksheet_class=FormulaSheet)
            self.values_ws.hide()
            self.values_ws.write_string(0, 1, "TRUE where the KPI add-in is not loaded; below: the values "
                                              "kpi build computed (shown by KPI cells without the add-in).")
            probe = kpi_name(_probe_function(), self.b.flavour, self.b.namespace)
            self.values_ws.write_formula(0, 0, f"=ISERROR({probe}(1))", None, True)
            self.wb.define_name(PROBE_NAME, f"={VALUES_SHEET}!$A$1")

    def _kpi_cells(self) -> dict[str, list[str]]:
        """The cells that use each KPI function, in layout order."""
        b = self.b
        kpi_cells: dict[str, list[str]] = {}
        left = self.large.cell_block if self.large is not None else {}
        for c in b.cells.values():
            if c.node is not None and c.name not in left:
                for k in dict.fromkeys(c.node.kpis()):
                    kpi_cells.setdefault(k, []).append(f"{c.sheet}!{xl_rowcol_to_cell(c.row, c.col)}")
        for s in b.spills.values():
            if self.large is not None and self.large.spill_left_out(s.name):
                continue
            for k in dict.fromkeys(s.node.kpis()):
                kpi_cells.setdefault(k, []).append(f"{s.sheet}!{xl_rowcol_to_cell(s.row, s.col)}")
        return kpi_cells

    def write(self) -> BuildResult:
        b = self.b
        spec = b.spec
        self._add_sheets()
        step("writing input sheets")
        for sh in spec.sheets:
            if sh.kind == "input":
                ds_name = next(d for d in spec.datasets if DATASETS[d].sheet == sh.name)
                if self.large is not None and f"input:{ds_name}" in self.large.left_out:
                    write_summary(self, ds_name, sh)
                else:
                    self.write_input(ds_name, sh)
        step("writing tables")
        for blk in spec.blocks:
            if isinstance(blk, Text):
                self.write_text(blk)
            elif isinstance(blk, Banner):
                self.write_banner(blk)
            elif isinstance(blk, Spill):
                self.write_spill(b.spills[blk.name])
            elif isinstance(blk, ItemList):
                self.write_items(blk)
            elif isinstance(blk, RowTable):
                lo = self.large.left_out.get(f"rows:{blk.name}") if self.large is not None else None
                if lo is not None:
                    write_left_out(self, lo, blk.sheet, blk.row, blk.col, blk.title)
                else:
                    self.write_rows(b.blocks[blk.name])
        chart_data = ChartData(self.wb, b, self.live)
        for ch in spec.charts:
            if self.large is not None and chart_left_out(self, ch):
                continue
            write_chart(self.wb, self.ws[ch.sheet], b, ch, chart_data)
        kpi_cells = self._kpi_cells()
        notes = next((sh.name for sh in spec.sheets if sh.kind == "notes"), None)
        if notes:
            r = write_notes(self.ws[notes], self.fmt, b, kpi_cells)
            if self.large is not None:
                notes_section(self, self.ws[notes], r)
        self.ws[spec.sheets[0].name].activate()
        step("saving the workbook")
        self.wb.close()
        headline = {n: b.values.get(n) for n in b.cells}
        return BuildResult(path=self.path, cells=self.manifest, warnings=list(dict.fromkeys(b.warnings)),
                           kpis=kpi_cells, headline=headline, spills=self.spill_records,
                           large_data=None if self.large is None else self.large.reason())
