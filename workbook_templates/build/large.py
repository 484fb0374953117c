"""The large-data layout: a report whose data is larger than Excel's grid, without a truncated table.

A block that would not fit a worksheet (more rows, with its header and the rows above it, than the grid
holds, or more columns) is *left out*: an input table gives way to a summary of its data, a spilled table
or a row table to a note where it would be. Every value is still computed by ``kpi build`` from the full
data. A formula that reads a left-out block cannot be written (its range is not in the workbook): its cell
holds the computed value instead, shaded as a *stored* cell, with a comment. Every other formula stays
live — the KPIs over the monthly movements, the per-customer MRR and the per-segment sums keep
recalculating in Excel, over stored values where those are stored. A spilled table that reads a left-out
block is written as its values (a stored table), so the formulas over it stay live.

The Notes sheet lists what was left out and which cells are live and which stored (:mod:`.large_notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..formulas import ExcelError, Node
from ..schema import DATASETS
from ..spec import RowTable, Spill
from .blocks import split_name
from .model import VALUES_SHEET
from .rendering import SheetContext

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["LAYOUTS", "VALUES_FULL", "LargeLayout", "LeftCells", "LeftOut", "Touch", "block_extents", "plan_large"]

#: ``kpi build --layout``: auto (the large-data layout when a block would not fit), standard, large
LAYOUTS = ("auto", "standard", "large")
#: why a spilled table that fits is written as its values: the formula's stored copy for spreadsheets without the
#: add-in (on the hidden values sheet, under the others) would not fit
VALUES_FULL = ("is written as its values, not as a formula: its stored copy for spreadsheets without the add-in "
               "would not fit the hidden values sheet")


@dataclass
class LeftOut:
    """A block that is not in the workbook: an input table, a spilled table or a row table."""

    kind: str  #: input | spill | rows
    name: str  #: the data set, spilled table or row table
    sheet: str
    rows: int  #: rows the block would need on its sheet (header and offset included)
    cols: int
    data_rows: int  #: its own rows (no header)
    what: str  #: how the Notes and the messages name it

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


class LeftCells:
    """The cells of the left-out row tables (``tables``): ``get(name)`` is the key of the table a cell name is
    in (``rows:health``), or None — answered from the name, not from a list of every cell."""

    __slots__ = ("tables",)

    def __init__(self, tables: set[str]) -> None:
        self.tables = tables

    def get(self, name: str, default: str | None = None) -> str | None:
        parts = split_name(name)
        return f"rows:{parts[0]}" if parts is not None and parts[0] in self.tables else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __bool__(self) -> bool:
        return bool(self.tables)


@dataclass
class LargeLayout:
    """What the large-data layout leaves out, and (filled while writing) which cells hold stored values."""

    forced: bool  #: asked for (``--layout large``), not chosen because something did not fit
    max_rows: int
    max_cols: int
    left_out: dict[str, LeftOut] = field(default_factory=dict)  #: by :attr:`LeftOut.key`
    #: spilled tables written as values (they read a left-out block, or their stored copy would not fit the
    #: hidden values sheet) -> why
    stored_spills: dict[str, str] = field(default_factory=dict)
    #: cell of a left-out row table -> its key (:class:`LeftCells`: found from the cell's name)
    cell_block: LeftCells = field(default_factory=lambda: LeftCells(set()))
    stored: dict[str, str] = field(default_factory=dict)  #: stored cell -> why (filled by the writer)
    #: a row table's column written as stored values as a whole: (table, column key) -> why (filled by the writer)
    stored_columns: dict[tuple[str, str], str] = field(default_factory=dict)
    charts_left_out: list[str] = field(default_factory=list)  #: titles of charts over a left-out block
    #: spilled tables written as values because their stored copies would not fit the hidden values sheet
    values_full: list[str] = field(default_factory=list)

    @property
    def inputs(self) -> set[str]:
        return {lo.name for lo in self.left_out.values() if lo.kind == "input"}

    def spill_left_out(self, name: str) -> bool:
        return f"spill:{name}" in self.left_out

    def rows_left_out(self, name: str) -> bool:
        return f"rows:{name}" in self.left_out

    def reason(self) -> str:
        """Why the layout was chosen: what did not fit, or that it was asked for."""
        if not self.left_out and not self.values_full:
            return "asked for with --layout large; every table fits a worksheet"
        items = [f"{lo.what} on sheet {lo.sheet!r} needs {lo.rows:,} rows" if lo.rows > self.max_rows
                 else f"{lo.what} on sheet {lo.sheet!r} needs {lo.cols:,} columns" if lo.cols > self.max_cols
                 else f"{lo.what} on sheet {lo.sheet!r} was computed on the Dask cluster"
                 for lo in self.left_out.values()]
        items += [f"the hidden values sheet would not hold the stored copy of {what}, which is written as its "
                  "values" for what in self.values_full]
        return "; ".join(items) + f" (a worksheet holds {self.max_rows:,} rows × {self.max_cols:,} columns)"

    def why(self, keys: dict[str, None]) -> str:
        """The left-out blocks a formula read, as the Notes and the cell comments say it."""
        return ", ".join(self.left_out[k].what for k in keys)


class Touch(SheetContext):
    """A formula context that notes every left-out block a formula's text refers to (while rendering it)."""

    def __init__(self, report: Report, sheet: str, large: LargeLayout) -> None:
        super().__init__(report, sheet)
        self.large = large
        self.touched: dict[str, None] = {}

    def _spill(self, name: str) -> None:
        if self.large.spill_left_out(name):
            self.touched[f"spill:{name}"] = None

    def addr(self, name: str, absolute: bool = True) -> str:
        key = self.large.cell_block.get(name)
        if key is not None:
            self.touched[key] = None
        return super().addr(name, absolute)

    def table_ref(self, dataset: str, first: str, last: str | None) -> str:
        if f"input:{dataset}" in self.large.left_out:
            self.touched[f"input:{dataset}"] = None
        return super().table_ref(dataset, first, last)

    def spill_range(self, name: str, col: int | str | None, header: bool) -> str:
        self._spill(name)
        return super().spill_range(name, col, header)

    def spill_header_range(self, name: str) -> str:
        self._spill(name)
        return super().spill_header_range(name)

    def spill_cell(self, name: str, row: int, col: int | str) -> str:
        self._spill(name)
        return super().spill_cell(name, row, col)

    def block_range(self, table: str, key: str) -> str:
        if self.large.rows_left_out(table):
            self.touched[f"rows:{table}"] = None
        return super().block_range(table, key)


def touches(b: Report, large: LargeLayout, sheet: str, nodes: list[Any]) -> dict[str, None]:
    """The left-out blocks the formulas ``nodes`` (written on ``sheet``) refer to."""
    ctx = Touch(b, sheet, large)
    for n in nodes:
        if isinstance(n, Node):
            n.render(ctx)
    return ctx.touched


def block_extents(b: Report) -> list[LeftOut]:
    """Every input table, spilled table and row table with the rows and columns it needs on its sheet."""
    spec = b.spec
    out: list[LeftOut] = []
    for sh in spec.sheets:
        if sh.kind == "input":
            ds_name = next(d for d in spec.datasets if DATASETS[d].sheet == sh.name)
            n = len(b.data.tables[ds_name].df)
            out.append(LeftOut("input", ds_name, sh.name, max(n, 1) + 1, len(DATASETS[ds_name].columns), n,
                               f"input table {DATASETS[ds_name].table} ({n:,} rows)"))
    for blk in spec.blocks:
        if isinstance(blk, Spill):
            s = b.spills[blk.name]
            width, n = (1, 0) if isinstance(s.value, ExcelError) else (max(len(s.value.columns), 1), len(s.value))
            n = b.outside[s.name][0] if s.name in b.outside else n  # computed outside the build: its rows
            out.append(LeftOut("spill", s.name, s.sheet, s.row + 1 + n, s.col + width, n,
                               f"table {s.name} ({n:,} rows)"))
        elif isinstance(blk, RowTable):
            bd = b.blocks[blk.name]
            n = len(bd.keys)
            out.append(LeftOut("rows", blk.name, blk.sheet, bd.first_row + n, blk.col + len(blk.columns), n,
                               f"table {blk.name} ({n:,} rows)"))
    return out


def _values_rows(b: Report, large: LargeLayout) -> int:
    """Rows of the hidden values sheet holding the stored copies of the live spilled tables (as the writer
    stacks them)."""
    from .layout import grid_extents

    return max((r for sheet, _, r, _ in grid_extents(b, large) if sheet == VALUES_SHEET), default=0)


def plan_large(b: Report, max_rows: int, max_cols: int, forced: bool) -> LargeLayout | None:
    """The large-data layout of a report (None: the standard layout fits and the large one was not asked for).

    Leaves out every block that does not fit; then the spilled tables that read a left-out block become
    stored tables, and — while the hidden values sheet would not hold the stored copies of the live ones —
    the largest live spilled table too.
    """
    extents = block_extents(b)
    # a table computed outside the build (on a cluster) is left out even where it would fit: it is not here
    over = [e for e in extents if e.rows > max_rows or e.cols > max_cols or
            (e.kind == "spill" and e.name in b.outside)]
    if not forced and not b.outside:
        from .layout import grid_extents

        if not any(r > max_rows or c > max_cols for _, _, r, c in grid_extents(b)):
            return None
    large = LargeLayout(forced, max_rows, max_cols, {e.key: e for e in over})
    for e in over:
        if e.kind == "rows":
            large.cell_block.tables.add(e.name)
    for s in b.spills.values():
        if not large.spill_left_out(s.name):
            t = touches(b, large, s.sheet, [s.node])
            if t:
                large.stored_spills[s.name] = f"reads {large.why(t)}, not in this workbook"
    if b.flavour != "values":
        while _values_rows(b, large) > max_rows:
            live = [s for s in b.spills.values() if s.name not in large.stored_spills
                    and not large.spill_left_out(s.name) and not isinstance(s.value, ExcelError)]
            if not live:
                break
            big = max(live, key=lambda s: len(s.value))
            large.stored_spills[big.name] = VALUES_FULL
            large.values_full.append(f"table {big.name} ({len(big.value):,} rows)")
    return large
