"""Formula text: addresses and ranges as written on one sheet, and the names of the KPI functions.

A :class:`SheetContext` is the formula context (:class:`workbook_templates.formulas.Ctx`) for formulas
written on one sheet: the sheet is fixed when the context is made, so an address on that sheet needs no
sheet name and one elsewhere gets it. The value side of the context (what nodes read when evaluated) is
the report's (:class:`~.evaluation.Report`); the context hands those calls on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from xlsxwriter.utility import xl_rowcol_to_cell

from kpi_functions.excel import formula_name

from .. import formulas as F
from ..formulas import ExcelError
from ..schema import DATASETS
from .model import BlockDef, BuildError, abs_cell

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["RowContext", "SheetContext", "column_texts", "kpi_name", "quote_sheet"]


def quote_sheet(name: str) -> str:
    """A sheet name as a formula writes it: quoted unless it is a plain name that is not a cell address."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and not re.fullmatch(r"[A-Za-z]{1,3}[0-9]+", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def kpi_name(excel_name: str, flavour: str, namespace: str | None) -> str:
    """The name a formula of ``flavour`` calls a KPI function by (``KPI_NPS``, ``ACME.NPS``, ...)."""
    if flavour in ("classic", "values"):  # a values-only file writes no formula; its cache keys use the plain name
        return excel_name
    return formula_name(excel_name, flavour, namespace)


class SheetContext:
    """The formula context for formulas written on ``sheet`` ("": on no sheet, every address qualified)."""

    def __init__(self, report: Report, sheet: str) -> None:
        self.report = report
        self.sheet = sheet  #: the sheet the formulas are written on (never changed)

    def _sheet_ref(self, sheet: str) -> str:
        return "" if sheet == self.sheet else quote_sheet(sheet) + "!"

    # -- rendering -------------------------------------------------------------------
    def addr(self, name: str, absolute: bool = True) -> str:
        at = self.report.cells.place(name)
        if at is None:
            raise BuildError(f"{self.report.spec.key}: formula refers to unknown cell {name!r}")
        sheet, row, col = at
        return self._sheet_ref(sheet) + (abs_cell(row, col) if absolute else xl_rowcol_to_cell(row, col))

    def table_ref(self, dataset: str, first: str, last: str | None) -> str:
        table = DATASETS[dataset].table
        if last is None:
            return f"{table}[{first}]"
        return f"{table}[[{first}]:[{last}]]"

    def spill_range(self, name: str, col: int | str | None, header: bool) -> str:
        r = self.report
        key = ("spill_range", self.sheet, name, col, header)  # the text depends on the sheet written on
        cache = r.cache()
        hit = cache.get(key)
        if hit is not None:  # per-row formulas (one per customer) ask for the same range thousands of times
            return hit
        s = r.spill(name)
        n = r.spill_rows(s)
        if isinstance(s.value, ExcelError):
            return self._sheet_ref(s.sheet) + abs_cell(s.row, s.col)
        width = s.value.shape[1]
        r0 = s.row if header else s.row + 1
        r1 = s.row + max(n, 1 if not header else 0)
        if col is None:
            c0, c1 = s.col, s.col + width - 1
        else:
            c0 = c1 = s.col + r.spill_col_index(s, col)
        text = f"{self._sheet_ref(s.sheet)}{abs_cell(r0, c0)}:{abs_cell(r1, c1)}"
        if s.value is not None and s.row is not None:  # placed and evaluated: the range can no longer change
            cache[key] = text
        return text

    def spill_header_range(self, name: str) -> str:
        s = self.report.spill(name)
        width = 1 if isinstance(s.value, ExcelError) else s.value.shape[1]
        return f"{self._sheet_ref(s.sheet)}{abs_cell(s.row, s.col)}:{abs_cell(s.row, s.col + width - 1)}"

    def spill_cell(self, name: str, row: int, col: int | str) -> str:
        r = self.report
        s = r.spill(name)
        if isinstance(s.value, ExcelError):  # the spill is one error cell: point at it (below it is blank: 0)
            return self._sheet_ref(s.sheet) + abs_cell(s.row, s.col)
        return self._sheet_ref(s.sheet) + abs_cell(s.row + row, s.col + r.spill_col_index(s, col))

    def block_range(self, table: str, key: str) -> str:
        sheet, r0, r1, c = self.report.block_span(table, key)
        return f"{self._sheet_ref(sheet)}{abs_cell(r0, c)}:{abs_cell(r1, c)}"

    def list_range(self, items: str, col: str | int) -> str:
        il, r0, r1, c = self.report.list_cells(items, col)
        return f"{self._sheet_ref(il.sheet)}{abs_cell(r0, c)}:{abs_cell(r1, c)}"

    def kpi_name(self, excel_name: str) -> str:
        return kpi_name(excel_name, self.report.flavour, self.report.namespace)

    # -- values: the report's ----------------------------------------------------------
    def value(self, name: str) -> Any:
        return self.report.value(name)

    def table_value(self, dataset: str, first: str, last: str | None) -> Any:
        return self.report.table_value(dataset, first, last)

    def spill_value(self, name: str, col: int | str | None) -> Any:
        return self.report.spill_value(name, col)

    def spill_cell_value(self, name: str, row: int, col: int | str) -> Any:
        return self.report.spill_cell_value(name, row, col)

    def block_value(self, table: str, key: str) -> Any:
        return self.report.block_value(table, key)

    def list_value(self, items: str, col: str | int) -> Any:
        return self.report.list_value(items, col)

    def call_kpi(self, node: F.KPI, vals: list[Any]) -> Any:
        return self.report.call_kpi(node, vals)

    def computed_outside(self, node: F.Node) -> Any:
        return self.report.computed_outside(node)

    def cache(self) -> dict[Any, Any]:
        return self.report.cache()

    def period_months(self) -> int:
        return self.report.period_months()

    # -- a row of a row table: only in a RowContext ----------------------------------------
    def row_addr(self, key: str) -> str:
        raise RuntimeError(f"RowRef({key!r}) outside a row table")

    def row_value(self, key: str) -> Any:
        raise RuntimeError(f"RowRef({key!r}) outside a row table")

    def row_index(self) -> int:
        raise RuntimeError("a row's own cell outside a row table")


class RowContext:
    """The formula context of one row of a row table: ``base`` (a sheet's context, or the report's on no sheet)
    for everything, and the row's own cells for :class:`~workbook_templates.formulas.RowRef` — the same text and
    value as the template with the row's cells substituted (:meth:`Node.substitute`), without making that
    formula: a table of 700,000 customers is evaluated and written from its column templates."""

    __slots__ = ("base", "block", "i", "sheet")

    def __init__(self, base: Any, block: BlockDef, i: int) -> None:
        self.base = base
        self.block = block
        self.i = i
        self.sheet = base.sheet

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    def row_addr(self, key: str) -> str:
        spec = self.block.spec
        return self.base.addr(f"{spec.name}.{key}.{self.i}", absolute=not spec.table_name)

    def row_value(self, key: str) -> Any:
        bd = self.block
        if key not in bd.col_index:
            raise KeyError(key)  # as substituting a template with an unknown column key
        return self.base.report.row_value(bd, bd.col_index[key], self.i)

    def row_index(self) -> int:
        return self.i

    def computed_outside(self, node: F.Node) -> Any:
        return self.base.report.computed_outside(node, self)


class _RowRead(Exception):
    """A template reads its own row otherwise than through its row's cells (its row number)."""


class _Marks(RowContext):
    """A row context that renders a row's cells as marks (``\x00key\x00``), for :func:`column_texts`."""

    def __init__(self, base: Any, block: BlockDef) -> None:
        super().__init__(base, block, -1)

    def row_addr(self, key: str) -> str:
        if key not in self.block.col_index:
            raise KeyError(key)  # as substituting a template with an unknown column key
        return f"\x00{key}\x00"

    def row_index(self) -> int:
        raise _RowRead

    def row_value(self, key: str) -> Any:  # pragma: no cover - rendering reads no value of a row's cell
        raise _RowRead


def column_texts(node: F.Node, base: Any, block: BlockDef) -> list[str] | None:
    """The formula text of ``node`` (a row table's column template) in each row of ``block``, rendered in
    ``base`` (a context on the table's sheet): the template is rendered once, with each of its row's cells as
    a mark, and each row's addresses are put in — the text :class:`RowContext` renders for each row, at the
    cost of one string join per row. None when the template reads its row otherwise (a node asking for its
    row number): render each row then."""
    try:
        text = node.render(_Marks(base, block))
    except _RowRead:
        return None
    parts = text.split("\x00")
    if len(parts) == 1:
        return [text] * len(block.keys)
    spec = block.spec
    relative = bool(spec.table_name)
    prefix = base._sheet_ref(spec.sheet)
    first = block.first_row + 1  # A1 row numbers
    n = len(block.keys)
    columns = []
    for k in parts[1::2]:
        letters = xl_rowcol_to_cell(0, spec.col + block.col_index[k]).rstrip("0123456789")
        columns.append(prefix + (letters if relative else f"${letters}$"))
    literal = parts[0::2]
    out = []
    for r in range(first, first + n):
        row = str(r)
        pieces = [literal[0]]
        for col, lit in zip(columns, literal[1:], strict=True):
            pieces.append(col)
            pieces.append(row)
            pieces.append(lit)
        out.append("".join(pieces))
    return out
