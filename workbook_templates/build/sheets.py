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

__all__ = ["DYNAMIC_FUNCTIONS", "MAY_NAME", "MAY_NAME_TEXTS", "BlockColumn", "FormulaSheet"]

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


class FormulaSheet(Worksheet):
    """XlsxWriter's worksheet; a formula that names no dynamic-array function skips the substitutions, and
    blocks of cells are kept as columns of arrays."""

    def __init__(self) -> None:
        super().__init__()
        self._block_cols: dict[int, list[sheet_xml.StoredColumn]] = {}  # by the sheet's column

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
