"""Writing the large-data layout (:mod:`.large`): an input table's summary, the note where a left-out table
would be, stored cells, and the Notes sheet's list of what is live and what is stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from .. import formulas as F
from ..schema import DATASETS
from ..spec import ItemList, RowTable, SheetSpec, Spill
from .large import LargeLayout, LeftOut, touches
from .layout import SUMMARY_HEADER, SUMMARY_TOP
from .rendering import quote_sheet
from .styles import DATE_FMT, MONEY_CENTS

if TYPE_CHECKING:
    from .writer import Writer

__all__ = ["LARGE_BANNER", "STORED_LEGEND", "chart_left_out", "left_out_note", "notes_section", "stored_comment",
           "write_left_out", "write_summary"]

#: the banner's addition in the large-data layout (part of a formula's text: at most 255 characters in all)
LARGE_BANNER = "Large-data layout: shaded cells hold stored values (see Notes)."

#: what a stored cell is, as its comment and the Notes say it
STORED_LEGEND = ("Stored value: computed by kpi build from the full data, which is too large for a worksheet; "
                 "it does not recalculate in Excel.")


def stored_comment(why: str) -> str:
    """The comment on a stored cell (or the first cell of a stored column)."""
    return f"{STORED_LEGEND} Its formula reads {why}, which is not in this workbook (see Notes)."


def left_out_note(lo: LeftOut, large: LargeLayout) -> str:
    """The text written where a left-out spilled or row table would be."""
    if lo.rows <= large.max_rows and lo.cols <= large.max_cols:  # it fits: left out as it was computed on a cluster
        return (f"Not in this workbook: {lo.what}, computed on the Dask cluster from the full data (kpi build "
                "--executor dask); the cells that read it hold stored values (shaded; see Notes).")
    return (f"Not in this workbook: {lo.what} needs {lo.rows:,} rows and {lo.cols:,} columns on this sheet; a "
            f"worksheet holds {large.max_rows:,} rows × {large.max_cols:,} columns. kpi build computed it from "
            "the full data; the cells that read it hold stored values (shaded; see Notes).")


def _summary_rows(df: pd.DataFrame, ds_name: str) -> list[tuple[Any, ...]]:
    """One row per column of the data set: name, type, values, blanks, distinct values, smallest, largest, sum
    (vectorised: the columns are counted, never their rows looped over)."""
    out: list[tuple[Any, ...]] = []
    for c in DATASETS[ds_name].columns:
        s = df[c.name]
        filled = int(s.notna().sum())
        blank = int(len(s) - filled)
        distinct = int(s.nunique(dropna=True))
        lo: Any = None
        hi: Any = None
        total: Any = None
        if c.type in ("number", "integer"):
            arr = s.to_numpy(dtype=float, na_value=np.nan)
            if filled:
                lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
                total = float(np.nansum(arr))
        elif c.type not in ("id", "text") and filled:
            lo, hi = pd.Timestamp(s.min()), pd.Timestamp(s.max())
        out.append((c.name, c.type, filled, blank, distinct, lo, hi, total))
    return out


def write_summary(w: Writer, ds_name: str, sheet: SheetSpec) -> None:
    """An input sheet whose table is too large for a worksheet: a summary of the data instead (its rows,
    and per column the values, blanks, distinct values, smallest, largest and sum) and a note."""
    ds = DATASETS[ds_name]
    t = w.b.data.tables[ds_name]
    large = w.b.large
    assert large is not None
    ws = w.ws[sheet.name]
    n = len(t.df)
    f = w.fmt
    ws.write_string(0, 0, f"{ds.sheet}: a summary of the data (table {ds.table} is not in this workbook)",
                    f.get("title"))
    ws.write_string(1, 0, f"The full data ({n:,} rows) was used for every value of this report; it has more rows "
                          f"than a worksheet holds ({large.max_rows - 1:,} rows under the header), so this sheet "
                          "shows a summary instead of the table. The formulas that would read the table hold "
                          "stored values (shaded; see Notes).", f.get("note"))
    ws.write_string(2, 0, "Rows", f.get("label"))
    ws.write_number(2, 1, n, f.get("kpi", "#,##0"))
    ws.write_string(3, 0, "Source", f.get("label"))
    ws.write_string(3, 1, t.file, f.get("cell"))
    for j, h in enumerate(SUMMARY_HEADER):
        ws.write_string(SUMMARY_TOP - 1, j, h, f.get("header"))
    ws.set_column(0, 0, 22)
    ws.set_column(1, len(SUMMARY_HEADER) - 1, 14)
    cols = {c.name: c for c in ds.columns}
    for i, row in enumerate(_summary_rows(t.df, ds_name)):
        r = SUMMARY_TOP + i
        c = cols[row[0]]
        num = "#,##0" if c.type == "integer" else MONEY_CENTS if c.unit == "money" else "#,##0.00"
        for j, v in enumerate(row):
            if j < 2:
                ws.write_string(r, j, v, f.get("cell"))
            elif j < 5:
                ws.write_number(r, j, v, f.get("cell", "#,##0"))
            elif v is None:
                ws.write_blank(r, j, None, f.get("cell"))
            elif isinstance(v, pd.Timestamp):
                ws.write_number(r, j, F.excel_serial(v), f.get("cell", DATE_FMT))
            else:
                ws.write_number(r, j, v, f.get("cell", num))
    ws.freeze_panes(SUMMARY_TOP, 0)


def write_left_out(w: Writer, lo: LeftOut, sheet: str, row: int, col: int, title: str) -> None:
    """The note where a left-out spilled or row table would be (its title above, as the table's)."""
    ws = w.ws[sheet]
    large = w.b.large
    assert large is not None
    if title:
        ws.write_string(row, col, title, w.fmt.get("section"))
        row += 1
    ws.write_string(row, col, left_out_note(lo, large), w.fmt.get("stored"))


def chart_left_out(w: Writer, ch: Any) -> bool:
    """Whether a chart draws a table that is not in the workbook (it is then left out, and the Notes say so)."""
    large = w.b.large
    assert large is not None
    nodes: list[Any] = []
    for se in ch.series:
        nodes += list(se.values) if isinstance(se.values, tuple) else [se.values]
        if isinstance(se.categories, F.Node):
            nodes.append(se.categories)
    if not touches(w.b, large, ch.sheet, nodes):
        return False
    large.charts_left_out.append(f"{ch.title} ({ch.sheet}!{ch.cell})")
    return True


# -- the Notes sheet -----------------------------------------------------------------------------------
class _Place:
    """Where a row-table cell with a formula is (for :func:`_runs`)."""

    __slots__ = ("col", "row", "sheet")
    node = True

    def __init__(self, sheet: str, row: int, col: int) -> None:
        self.sheet, self.row, self.col = sheet, row, col


def _runs(w: Writer, names: Sequence[str], formulas: bool | None = None,
          column: tuple[str, str] | None = None) -> list[tuple[str, int, int, int, int, str]]:
    """Runs of formula cells of one column with the same status: (sheet, first row, last row, column,
    count, status) — status "live" or the why of a stored cell. ``formulas``: the cells are a row table's
    column, all formulas (True) or none (False), ``column`` its (table, key); None: look at each cell."""
    b, large = w.b, w.b.large
    assert large is not None
    out: list[tuple[str, int, int, int, int, str]] = []
    whole = large.stored_columns.get(column) if column is not None else None
    if column is not None and formulas and names and (whole is not None or column in w.block_columns):
        # a column written as a whole: one run, every cell live or every cell stored
        first, last = b.cells.place(names[0]), b.cells.place(names[-1])
        assert first is not None and last is not None
        return [(first[0], first[1], last[1], first[2], len(names), "live" if whole is None else whole)]
    for n in names:
        c = b.cells.get(n) if formulas is None else None
        if formulas is not None:  # a row table's column: where each cell is, without making the cell
            if not formulas:
                continue
            at = b.cells.place(n)
            assert at is not None
            c = _Place(*at)
        if c is None or c.node is None:
            continue
        status = whole if whole is not None else large.stored.get(n, "live")
        if out and out[-1][0] == c.sheet and out[-1][3] == c.col and out[-1][2] == c.row - 1 \
                and out[-1][5] == status:
            s, r0, _, col, k, st = out[-1]
            out[-1] = (s, r0, c.row, col, k + 1, st)
        else:
            out.append((c.sheet, c.row, c.row, c.col, 1, status))
    return out


def _range(sheet: str, r0: int, c0: int, r1: int, c1: int) -> str:
    a = xl_rowcol_to_cell(r0, c0)
    return f"{quote_sheet(sheet)}!{a}" if (r0, c0) == (r1, c1) else f"{quote_sheet(sheet)}!{a}:{xl_rowcol_to_cell(r1, c1)}"


def _status(st: str, live: bool) -> str:
    if st == "live":
        return "live formula" if live else "value (a values-only copy)"
    return f"stored value: reads {st}, not in this workbook"


def cell_lines(w: Writer) -> list[tuple[str, str, str]]:
    """(cells, what they hold, live or stored) for every formula cell and spilled table, block by block."""
    b, large = w.b, w.b.large
    assert large is not None
    out: list[tuple[str, str, str]] = []
    for blk in b.spec.blocks:
        if isinstance(blk, Spill):
            s = b.spills[blk.name]
            lo = large.left_out.get(f"spill:{blk.name}")
            if lo is not None:
                out.append((_range(s.sheet, s.row, s.col, s.row, s.col), lo.what,
                            "not in this workbook (computed from the full data)"))
                continue
            rows = 0 if isinstance(s.value, F.ExcelError) else len(s.value)
            width = 1 if isinstance(s.value, F.ExcelError) else max(s.value.shape[1], 1)
            why = large.stored_spills.get(blk.name)
            st = "live spilled formula" if w.live else "values (a values-only copy)"
            out.append((_range(s.sheet, s.row, s.col, s.row + rows, s.col + width - 1),
                        f"table {blk.name} ({rows:,} rows)", st if why is None else f"stored values: this table {why}"))
        elif isinstance(blk, ItemList):
            columns: dict[int, list[str]] = {}
            for it in blk.items:
                for n in (it.name, *(f"{it.name}.{j}" for j in range(len(blk.extra_headers))), f"{it.name}.change"):
                    c = b.cells.get(n)
                    if c is not None:
                        columns.setdefault(c.col, []).append(n)
            labels = {it.name: it.label for it in blk.items}
            for names in columns.values():
                for sheet, r0, r1, col, k, st in _runs(w, names):
                    held = [labels.get(n.split(".")[0], n) for n in names
                            if b.cells[n].row in range(r0, r1 + 1) and b.cells[n].node is not None]
                    what = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
                    out.append((_range(sheet, r0, col, r1, col), f"{blk.title or blk.name or 'Report settings'}: {what}",
                                _status(st, w.live)))
        elif isinstance(blk, RowTable):
            lo = large.left_out.get(f"rows:{blk.name}")
            bd = b.blocks[blk.name]
            if lo is not None:
                out.append((_range(blk.sheet, blk.row, blk.col, blk.row, blk.col), lo.what,
                            "not in this workbook (computed from the full data)"))
                continue
            for rc in blk.columns:
                formulas = isinstance(rc.expr, F.Node) or (rc.expr == "KEY" and bd.key_node is not None)
                for sheet, r0, r1, j, k, st in _runs(w, bd.cells[rc.key], formulas, (blk.name, rc.key)):
                    out.append((_range(sheet, r0, j, r1, j), f"table {blk.name}, {rc.header} ({k:,} rows)",
                                _status(st, w.live)))
    return out


def notes_section(w: Writer, ws: Any, r: int) -> int:
    """The Notes sheet's section on the large-data layout from row ``r``: why it was chosen, what is not in
    the workbook, and which cells are live and which stored. Returns the next free row."""
    from .notes import _fit, _section

    large, f = w.b.large, w.fmt
    assert large is not None
    _section(ws, f, r, "Large-data layout: live and stored cells")
    r += 1
    why = ("Asked for with kpi build --layout large." if large.forced else
           "Chosen by kpi build because a table would not fit a worksheet.")
    intro = (f"{why} What does not fit: {large.reason()}. Such a table is not in this workbook (an input table "
             "gives way to a summary of its data); kpi build computed every value from the full data. A formula "
             "that reads such a table cannot be written: its cell holds the stored value, shaded and with a "
             "comment. Every other formula is live, over the tables that are in the workbook (where one of "
             "them holds stored values, over those). Stored values do not follow a changed report month.")
    ws.write_string(r, 0, "How it works", f.get("label_top"))
    ws.write_string(r, 1, intro, f.get("wrap"))
    _fit(ws, r, {1: intro})
    r += 1
    if large.charts_left_out:
        text = "Left out (they draw a table that is not in this workbook): " + "; ".join(large.charts_left_out)
        ws.write_string(r, 0, "Charts", f.get("label_top"))
        ws.write_string(r, 1, text, f.get("wrap"))
        _fit(ws, r, {1: text})
        r += 1
    r += 1
    for j, h in enumerate(("Cells", "What", "Live or stored")):
        ws.write_string(r, j, h, f.get("header"))
    r += 1
    for cells, what, status in cell_lines(w):
        stored = status.startswith("stored")
        ws.write_string(r, 0, cells, f.get("stored" if stored else "cell"))
        ws.write_string(r, 1, what, f.get("wrap"))
        ws.write_string(r, 2, status, f.get("wrap"))
        _fit(ws, r, {1: what, 2: status})
        r += 1
    return r + 1
