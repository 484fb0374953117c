"""The worksheet class the writer adds its sheets with: XlsxWriter's, with a faster formula preparation and
blocks of whole columns.

XlsxWriter prepares every formula it stores by trying some thirty regular-expression substitutions, one
per dynamic-array function (``FILTER(`` becomes ``_xlfn._xlws.FILTER(``, ...); a table of 100,000 customers
has hundreds of thousands of formulas, none of which names such a function, and those substitutions were a
tenth of a large report's build. :class:`FormulaSheet` first asks one regular expression whether a formula
could name any of them and leaves the formula to XlsxWriter when it could, so what is stored is the same.

:meth:`FormulaSheet.write_block` stores a block of cells as whole columns (:class:`~.sheet_xml.BlockColumn`:
arrays of numbers, strings, booleans or formulas with their results) instead of a tuple per cell, and the
sheet's rows are written from those arrays in chunks when the workbook is saved (:mod:`.sheet_xml`), merged
with the cells written through XlsxWriter's own methods, each cell's XML as XlsxWriter writes it.

It overrides internal methods of XlsxWriter's ``Worksheet`` (``_prepare_formula``, ``_write_rows``,
``_get_range_data``) and reads its internal state: ``pyproject.toml`` bounds XlsxWriter to ``>=3.1.4,<3.4``; tests
check the names below against the installed version's own list and compare files written cell by cell and
by blocks (``tests/templates/test_block_writer.py``, run on XlsxWriter 3.1.4 in the lower-bounds run and on the installed version).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from xlsxwriter.utility import xl_range
from xlsxwriter.worksheet import Worksheet

from . import sheet_xml
from .sheet_xml import BlockColumn

__all__ = ["DYNAMIC_FUNCTIONS", "MAY_NAME", "MAY_NAME_TEXTS", "BlockColumn", "FormulaSheet", "TableCells"]

#: the functions XlsxWriter prefixes with ``_xlfn.`` even without ``use_future_functions`` (those of 3.3, and LET
#: and XMATCH, which 3.1 prefixes too)
DYNAMIC_FUNCTIONS = ("ANCHORARRAY", "BYCOL", "BYROW", "CHOOSECOLS", "CHOOSEROWS", "DROP", "EXPAND", "FILTER",
                     "HSTACK", "LAMBDA", "MAKEARRAY", "MAP", "RANDARRAY", "REDUCE", "SCAN", "SINGLE", "SEQUENCE",
                     "SORT", "SORTBY", "SWITCH", "TAKE", "TEXTSPLIT", "TOCOL", "TOROW", "UNIQUE", "VSTACK",
                     "WRAPCOLS", "WRAPROWS", "XLOOKUP", "XMATCH", "LET")

#: a formula that could name one of them (any word ending in one, and XlsxWriter's pattern for SINGLE, which
#: matches ``INGLE(`` after any character): these go through XlsxWriter's own preparation
MAY_NAME = re.compile("INGLE\\(|(?:" + "|".join(DYNAMIC_FUNCTIONS) + ")\\(")
_MAY_NAME = MAY_NAME
#: the same as texts: a formula could name one of them when it holds one of these
MAY_NAME_TEXTS = ("INGLE(", *(f"{name}(" for name in DYNAMIC_FUNCTIONS))


class TableCells(dict):
    """XlsxWriter's ``table_cells`` (the table range each cell is in, for its overlap checks), with the tables
    :meth:`FormulaSheet.add_table` keeps as rectangles: ``rects``, ``(first_row, first_col, last_row, last_col,
    range)``."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[tuple[int, int, int, int, str]] = []

    def get(self, key: Any, default: Any = None) -> Any:
        found = super().get(key)
        if found is None and self.rects:
            row, col = key
            for r0, c0, r1, c1, rng in self.rects:
                if r0 <= row <= r1 and c0 <= col <= c1:
                    return rng
        return default if found is None else found


class FormulaSheet(Worksheet):
    """XlsxWriter's worksheet; a formula that names no dynamic-array function skips the substitutions, and
    blocks of cells are kept as columns of arrays."""

    def __init__(self) -> None:
        super().__init__()
        self._block_cols: dict[int, list[sheet_xml.StoredColumn]] = {}  # by the sheet's column
        self.table_cells = TableCells()

    def write_block(self, first_row: int, first_col: int,
                    columns: Sequence[BlockColumn | Sequence[BlockColumn]]) -> None:
        """Write a block of cells from whole columns: ``columns[j]`` fills the column ``first_col + j`` from the
        row ``first_row`` on (a :class:`BlockColumn`, or several with their cells on different rows). Each cell
        is what the matching ``write_number``/``write_string``/``write_boolean``/``write_formula``/
        ``write_blank`` call would store; a cell written both by a block and otherwise is refused (ValueError,
        when the workbook is saved), as are a string past Excel's 32,767 characters and a block outside the
        worksheet."""
        sheet_xml.add_block(self, first_row, first_col, columns)

    def write_spill_anchor(self, first_row: int, first_col: int, last_row: int, last_col: int, formula: str,
                           cell_format: Any = None, value: Any = 0) -> int:
        """``write_dynamic_array_formula`` without the zeros XlsxWriter writes over the rest of the range: the
        caller writes every other cell of the range itself (e.g. with :meth:`write_block`)."""
        err = self.write_dynamic_array_formula(first_row, first_col, first_row, first_col, formula, cell_format,
                                               value)
        if err or (first_row, first_col) == (last_row, last_col):
            return int(err)
        if self._check_dimensions(last_row, last_col):
            return -1
        cell = self.table[first_row][first_col]
        self.table[first_row][first_col] = cell._replace(range=xl_range(first_row, first_col, last_row, last_col))
        return 0

    def add_table(self, first_row: Any, first_col: Any = None, last_row: Any = None, last_col: Any = None,
                  options: dict[str, Any] | None = None) -> Any:
        """XlsxWriter's ``add_table``; a table whose options write no cells below the header (no ``data``, no
        column ``formula``, no ``total_row``) has its range kept as one rectangle instead of a dict entry per
        cell (a table of a million rows took seconds and a gigabyte): its overlaps with earlier tables, merged
        ranges and pivot tables are checked here, over the rectangle, then XlsxWriter adds the table over its
        first two rows and the ranges it recorded are widened to the whole table."""
        opts = options if options is not None else {}
        writes_rows = ("data" in opts or opts.get("total_row")
                       or any("formula" in c for c in opts.get("columns", ()) if isinstance(c, dict)))
        if (not isinstance(first_row, int) or not all(isinstance(v, int) for v in (first_col, last_row, last_col))
                or writes_rows):
            return super().add_table(first_row, first_col, last_row, last_col, options)
        first_row, last_row = min(first_row, last_row), max(first_row, last_row)
        first_col, last_col = min(first_col, last_col), max(first_col, last_col)
        filters = self.filter_cells
        if (last_row - first_row < 2 or self._check_dimensions(first_row, first_col, True, True)
                or self._check_dimensions(last_row, last_col, True, True)
                or any((first_row, col) in filters for col in range(first_col, last_col + 1))):
            return super().add_table(first_row, first_col, last_row, last_col, options)
        whole = xl_range(first_row, first_col, last_row, last_col)
        self._refuse_overlaps(first_row, first_col, last_row, last_col, whole)
        tables = len(self.tables)
        err = super().add_table(first_row, first_col, first_row + 1, last_col, opts)
        if err or len(self.tables) == tables:
            return err
        table = self.tables[-1]
        table["range"] = whole
        table["a_range"] = xl_range(first_row, first_col, last_row, last_col)
        if "autofilter" in table:
            table["autofilter"] = table["a_range"]
        for col in range(first_col, last_col + 1):
            self.table_cells.pop((first_row, col), None)
            self.table_cells.pop((first_row + 1, col), None)
            if isinstance(filters.get((first_row, col)), tuple):  # ("table", range) from 3.2 on; 3.1 keeps True
                filters[(first_row, col)] = ("table", whole)
        self.table_cells.rects.append((first_row, first_col, last_row, last_col, whole))
        return err

    def _refuse_overlaps(self, r0: int, c0: int, r1: int, c1: int, whole: str) -> None:
        """XlsxWriter's overlap checks of a new table's range, over the cells the earlier ranges hold: the first
        cell in row order that overlaps names the range (a table before a merged range before a pivot table)."""
        from xlsxwriter.exceptions import OverlappingRange

        found: list[tuple[int, int, int, str]] = []
        for a0, b0, a1, b1, rng in self.table_cells.rects:
            if a0 <= r1 and r0 <= a1 and b0 <= c1 and c0 <= b1:
                found.append((max(a0, r0), max(b0, c0), 0, f"previous table range '{rng}'"))
        for what, order, cells in (("table range", 0, dict(self.table_cells)), ("merge range", 1, self.merged_cells)):
            for (row, col), rng in cells.items():
                if rng and r0 <= row <= r1 and c0 <= col <= c1:
                    found.append((row, col, order, f"previous {what} '{rng}'"))
        for (row, col), cell in getattr(self, "pivot_cells", {}).items():
            if cell and r0 <= row <= r1 and c0 <= col <= c1:
                found.append((row, col, 2, f"pivot table at '{cell}'"))
        if found:
            raise OverlappingRange(f"Table range '{whole}' overlaps {min(found)[3]}.")

    def _write_rows(self) -> None:
        if not self._block_cols:
            super()._write_rows()
            return
        sheet_xml.write_rows(self)

    def _get_range_data(self, row_start: int, col_start: int, row_end: int, col_end: int) -> Any:
        data = sheet_xml.range_data(self, row_start, col_start, row_end, col_end) if self._block_cols else None
        if data is None:
            return super()._get_range_data(row_start, col_start, row_end, col_end)
        return data

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> Any:
        if expand_future_functions:  # XlsxWriter 3.2 and later (3.1's method takes the formula only)
            return super()._prepare_formula(formula, True)
        if self.use_future_functions or _MAY_NAME.search(formula):
            return super()._prepare_formula(formula)
        # what XlsxWriter does to such a formula: the array braces and the leading = removed
        formula = formula.removeprefix("{")
        formula = formula.removeprefix("=")
        formula = formula.removesuffix("}")
        return formula
