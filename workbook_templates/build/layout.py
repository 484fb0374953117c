"""Placing a report on its sheets: every item, spilled table and row-table cell gets its sheet, row and column.

A spilled table's size is known only once it is evaluated, so the geometry helpers here ask
:meth:`Layout.spill` (implemented by :class:`~.evaluation.Report`) for the evaluated table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .. import formulas as F
from ..context import ReportData
from ..formulas import ExcelError, Node
from ..schema import DATASETS
from ..spec import Banner, Distinct, Fixed, ItemList, Months, Param, PerGrain, ReportSpec, RowTable, Spill, Text
from .blocks import CellMap
from .model import FLAVOURS, VALUES_SHEET, BlockDef, BuildError, CellDef, SpillDef, top_kpi
from .styles import MONTH_FMT
from .trends import CHANGE_FORMATS, change_node

if TYPE_CHECKING:
    from .large import LargeLayout

__all__ = ["SUMMARY_HEADER", "SUMMARY_TOP", "BlockMark", "Layout", "grid_extents", "layout_order"]


class BlockMark(str):
    """In :attr:`Layout.order`: where a row table's cells come (all of them, row by row)."""

    __slots__ = ()


def layout_order(b: Layout) -> Iterator[str]:
    """Every cell name in layout order: the placed cells, and each row table's cells row by row where it was
    placed."""
    for name in b.order:
        if isinstance(name, BlockMark):
            yield from b.blocks[str(name)].names_by_row()
        else:
            yield name

#: the summary an input table too large for a worksheet gives way to (large-data layout): its first row of
#: columns (one row per column of the data set below it) and the headings of those columns
SUMMARY_TOP = 5
SUMMARY_HEADER = ("Column", "Type", "Values", "Blank", "Distinct", "Smallest", "Largest", "Sum")


class Layout:
    """Where each cell of one report goes (for one data set and formula flavour)."""

    def __init__(self, spec: ReportSpec, data: ReportData, flavour: str = "classic",
                 namespace: str | None = None) -> None:
        if flavour not in FLAVOURS:
            raise BuildError(f"unknown formula flavour {flavour!r}; use {', '.join(FLAVOURS)}")
        self.spec = spec
        self.data = data
        self.flavour = flavour
        self.namespace = namespace
        self.cells = CellMap()  #: every cell by name: those placed one by one, and the row tables' (made on request)
        self.spills: dict[str, SpillDef] = {}
        self.blocks: dict[str, BlockDef] = {}
        self.lists: dict[str, tuple[ItemList, int]] = {}  # name -> (spec, first item row)
        #: cell names in layout order; a row table's cells as one mark (its cells row by row: BlockDef.names_by_row)
        self.order: list[str] = []
        self.large: LargeLayout | None = None  #: the large-data layout's plan (None: the standard layout)
        self.sheet_names = {s.name for s in spec.sheets}
        self.table_pos: dict[str, dict[str, int]] = {}
        for ds in spec.datasets:
            self.table_pos[ds] = {c: i for i, c in enumerate(DATASETS[ds].column_names)}

    # -- what evaluation provides ----------------------------------------------
    def spill(self, name: str) -> SpillDef:  # pragma: no cover - implemented by evaluation.Report
        """The spilled table ``name``, evaluated."""
        raise NotImplementedError

    def evaluate(self, node: Node) -> Any:  # pragma: no cover - implemented by evaluation.Report
        """The value of a formula node."""
        raise NotImplementedError

    def period_months(self) -> int:
        """Months in the report period (1, 3 or 12): what the period formulas of the report cover."""
        return self.data.period_months

    def key_step(self, source: Months) -> int:
        """Months between the rows of a :class:`Months` table: 1, or the report period's when it follows it."""
        return self.data.period_months if source.follow_period else 1

    # -- placing ---------------------------------------------------------------
    def add_cell(self, c: CellDef) -> None:
        if c.name in self.cells.placed:
            raise BuildError(f"{self.spec.key}: cell name {c.name!r} used twice")
        if c.sheet not in self.sheet_names:
            raise BuildError(f"{self.spec.key}: {c.name} is on unknown sheet {c.sheet!r}")
        self.cells.placed[c.name] = c
        self.order.append(c.name)

    def place(self) -> None:
        """Place every block: item lists and spilled tables first, then the row tables (whose keys may come
        from a spilled table)."""
        for b in self.spec.blocks:
            if isinstance(b, ItemList):
                self._place_items(b)
            elif isinstance(b, Spill):
                self.spills[b.name] = SpillDef(b.name, b.sheet, b.row, b.col, b.expr, b)
        for b in self.spec.blocks:
            if isinstance(b, RowTable):
                self._place_rows(b)

    def _place_items(self, b: ItemList) -> None:
        r = b.row + (1 if b.title else 0) + (1 if b.header else 0)  # title row, header row
        if b.name:
            self.lists[b.name] = (b, r)
        for k, it in enumerate(b.items):
            row = r + k
            if isinstance(it.expr, Param):
                it = dataclasses.replace(it, expr=self._param(it.expr.name))
            node = it.expr if isinstance(it.expr, Node) else None
            style = "input" if it.input else ("kpi" if top_kpi(node) else "native" if node is not None else "value")
            self.add_cell(CellDef(it.name, b.sheet, row, b.col + 1, node, None if node else it.expr, it.fmt, style))
            for j, x in enumerate(it.extra):
                if isinstance(x, PerGrain):  # a benchmark or target of the report's period
                    x = x.value(self.data.period_months)
                xn = x if isinstance(x, Node) else None
                fmt: str | tuple[str, str] | None = b.extra_formats[j] if j < len(b.extra_formats) else None
                if j in b.extra_like_value:
                    fmt = ("like", it.name)
                st = "kpi" if top_kpi(xn) else "native" if xn is not None else \
                    "input" if isinstance(x, (int, float)) else "value"
                if x is None:
                    continue
                self.add_cell(CellDef(f"{it.name}.{j}", b.sheet, row, b.col + 2 + j, xn,
                                      None if xn else x, fmt, st))
            if b.trend_cols and it.trend is not None and not (it.trend.monthly and self.data.period_months > 1):
                self.add_cell(CellDef(f"{it.name}.change", b.sheet, row, b.col + 2 + len(b.extra_headers),
                                      change_node(it.name, it.trend), None, CHANGE_FORMATS[it.trend.kind], "native"))

    def _param(self, name: str) -> Any:
        if name == "report_month":
            return self.data.report_month
        if name == "segment":
            return self.data.segment_label
        raise BuildError(f"unknown report parameter {name!r}")

    def row_keys(self, source: Months | Distinct | Fixed) -> list[Any]:
        """The keys of a row table, one per row."""
        if isinstance(source, Fixed):
            return list(source.values)
        if isinstance(source, Months):
            step = self.key_step(source)
            if step == 1:
                return self.data.months(source.n)
            return self.data.periods(source.quarters if step == 3 else source.years)
        if isinstance(source, Distinct):
            v = self.evaluate(source.values)
            if isinstance(v, ExcelError):  # a spilled table that is an error: no rows
                return []
            if source.where is not None:
                v = v[self.evaluate(source.where).notna()]
            return list(dict.fromkeys(v.dropna().tolist()))
        raise BuildError(f"{self.spec.key}: unknown row key source {source!r}")

    def _place_rows(self, b: RowTable) -> None:
        """A row table: its keys and column templates, no object per cell (:mod:`.blocks` makes a cell when
        asked for); its sheet and names checked once."""
        keys = self.row_keys(b.keys)
        first = b.row + (1 if b.title else 0) + (1 if b.header else 0)
        if b.sheet not in self.sheet_names:
            raise BuildError(f"{self.spec.key}: {b.name}.{b.columns[0].key}.0 is on unknown sheet {b.sheet!r}"
                             if b.columns else f"{self.spec.key}: {b.name} is on unknown sheet {b.sheet!r}")
        if b.name in self.cells.blocks:
            raise BuildError(f"{self.spec.key}: row table name {b.name!r} used twice")
        months = b.keys if isinstance(b.keys, Months) else None
        n_keys = len(keys)
        key_node = key_fmt = None
        if months is not None:  # live: the month is computed from the report month
            step = self.key_step(months)
            anchor = months.anchor
            key_node = lambda i: F.EDate(F.Ref(anchor), -(n_keys - 1 - i) * step)
            key_col = next((c for c in b.columns if isinstance(c.expr, str) and c.expr == "KEY"), None)
            key_fmt = period_key_format(self.data, step) or (key_col.fmt if key_col else None) or MONTH_FMT
        # whether a column's cells call a KPI function is its template's (substituting the row's cells for its
        # RowRefs adds no call): asked once per column, not once per row of a table of 100,000 customers
        kpi_cols = {c.key: isinstance(c.expr, Node) and top_kpi(c.expr) for c in b.columns}
        from .blocks import NameSeq

        cells: dict[str, Sequence[str]] = {c.key: NameSeq(b.name, c.key, n_keys) for c in b.columns}
        bd = BlockDef(b, keys, cells, first, key_node, key_fmt, kpi_cols, {c.key: j for j, c in enumerate(b.columns)})
        for c in b.columns:  # a name a placed cell already has
            if n_keys and f"{b.name}.{c.key}.0" in self.cells.placed:
                raise BuildError(f"{self.spec.key}: cell name {b.name}.{c.key}.0 used twice")
        self.blocks[b.name] = bd
        self.cells.blocks[b.name] = bd
        self.order.append(BlockMark(b.name))

    # -- geometry ----------------------------------------------------------------
    def spill_col_index(self, s: SpillDef, col: int | str) -> int:
        """Position of column ``col`` (an index or a header) of an evaluated spilled table."""
        df = s.value
        if isinstance(col, int):
            return col
        try:
            return list(df.columns).index(col)
        except ValueError:
            raise BuildError(f"{self.spec.key}: {s.name} has no column {col!r} (columns: {list(df.columns)})") \
                from None

    @staticmethod
    def spill_rows(s: SpillDef) -> int:
        """Data rows of an evaluated spilled table (its header not counted)."""
        return s.rows

    def block_span(self, table: str, key: str) -> tuple[str, int, int, int]:
        """(sheet, first row, last row, column) of a row-table column; an empty table spans its first
        (blank) data cell, so a formula over it reads a blank, as the library reads no rows."""
        b = self.blocks[table]
        j = b.col_index[key]
        return b.spec.sheet, b.first_row, b.first_row + max(len(b.keys), 1) - 1, b.spec.col + j

    def list_cells(self, items: str, col: str | int) -> tuple[ItemList, int, int, int]:
        """(list, first row, last row, column) of a column of an item list: label, value or an extra column."""
        il, r0 = self.lists[items]
        c = il.col + (0 if col == "label" else 1 if col == "value" else 2 + int(col))
        return il, r0, r0 + len(il.items) - 1, c


def period_key_format(data: ReportData, step: int) -> str | None:
    """The number format of the key cells (a period's last month) of a table by quarter or year; None by month.

    A calendar year shows as ``2026``, a fiscal year (named by the year it ends in) as ``FY2026``; a quarter
    by the month it ends in (``Jun 2026``), its column headed "Quarter ending".
    """
    if step == 1:
        return None
    if step == 12:
        return '"FY"yyyy' if data.the_period.fiscal else "yyyy"
    return "mmm yyyy"


def grid_extents(b: Layout, large: LargeLayout | None = None) -> list[tuple[str, str, int, int]]:
    """Every rectangle the writer will fill: (sheet, what, rows needed, columns needed), counted from A1.

    Mirrors :class:`~.writer.Writer`: header rows and start offsets included, hidden sheets and the hidden
    values sheet (its stored KPI values and spill tables, in the order the writer stores them) as well.
    Needs the spilled tables evaluated (their sizes). In the large-data layout (``large``), a left-out block
    takes its note's cell (an input table: its summary), and a stored spilled table no copy on the values sheet.
    """
    spec = b.spec
    out: list[tuple[str, str, int, int]] = []
    for sh in spec.sheets:
        if sh.kind == "input":
            ds_name = next(d for d in spec.datasets if DATASETS[d].sheet == sh.name)
            n = len(b.data.tables[ds_name].df)
            if large is not None and f"input:{ds_name}" in large.left_out:
                out.append((sh.name, f"summary of input table {DATASETS[ds_name].table}",
                            SUMMARY_TOP + 1 + len(DATASETS[ds_name].columns), len(SUMMARY_HEADER)))
                continue
            out.append((sh.name, f"input table {DATASETS[ds_name].table} of {n:,} rows and its header",
                        max(n, 1) + 1, len(DATASETS[ds_name].columns)))
    left_cells: Any = large.cell_block if large is not None else {}
    for c in b.cells.placed.values():  # a row table's cells: its rectangle, below
        if c.name not in left_cells:
            out.append((c.sheet, f"cell {c.name}", c.row + 1, c.col + 1))
    live = b.flavour != "values"
    values_row = 2  # Writer.values_row: rows 1-2 hold the add-in probe and its note
    values_max = 2

    def stash_cell(name: str) -> None:
        nonlocal values_row, values_max
        c = b.cells.get(name)
        if live and c is not None and c.node is not None and top_kpi(c.node):
            values_max = max(values_max, values_row + 1)
            values_row += 1

    for blk in spec.blocks:
        if isinstance(blk, (Text, Banner)):
            out.append((blk.sheet, "a text cell", blk.row + 1, blk.col + 1))
        elif isinstance(blk, Spill):
            s = b.spills[blk.name]
            if isinstance(s.value, ExcelError):
                width, n = 1, 0
            else:
                width, n = max(len(s.value.columns), 1), len(s.value)
            if large is not None and large.spill_left_out(s.name):
                out.append((s.sheet, f"the note on table {s.name}", s.row + 1, s.col + 1))
                continue
            out.append((s.sheet, f"table {s.name} of {n:,} rows and its header", s.row + 1 + n, s.col + width))
            if live and not (large is not None and s.name in large.stored_spills):
                if isinstance(s.value, ExcelError):
                    values_max = max(values_max, values_row + 1)
                    values_row += 1
                else:
                    values_max = max(values_max, values_row + 1 + n)
                    out.append((VALUES_SHEET, f"stored copy of table {s.name} ({n:,} rows and its header)",
                                values_row + 1 + n, width))
                    values_row += n + 2
        elif isinstance(blk, ItemList):
            extra = len(blk.extra_headers) + (1 if blk.note_header or any(i.note for i in blk.items) else 0)
            rows = blk.row + (1 if blk.title else 0) + (1 if blk.header else 0) + len(blk.items)
            out.append((blk.sheet, f"list of {len(blk.items):,} items", rows, blk.col + 2 + extra))
            for it in blk.items:
                stash_cell(it.name)
                for j in range(len(blk.extra_headers)):
                    stash_cell(f"{it.name}.{j}")
        elif isinstance(blk, RowTable):
            bd = b.blocks[blk.name]
            n = len(bd.keys)
            if large is not None and large.rows_left_out(blk.name):
                out.append((blk.sheet, f"the note on table {blk.name}", blk.row + 1, blk.col + 1))
                continue
            out.append((blk.sheet, f"table {blk.name} of {n:,} rows and its header", bd.first_row + n,
                        blk.col + len(blk.columns)))
            if live and n:
                # a column's cells call a KPI function when its template does (as _place_rows styles them):
                # counted per column, not asked of each of a table's 100,000 rows
                for col in blk.columns:
                    if isinstance(col.expr, Node) and top_kpi(col.expr):
                        values_max = max(values_max, values_row + n)
                        values_row += n
    if live:
        out.append((VALUES_SHEET, "stored KPI values", values_max, 2))
    return out


