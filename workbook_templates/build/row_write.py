"""A row table's formula columns written as blocks of whole columns (:class:`~.sheet_xml.BlockColumn`).

A per-customer table of 700,000 rows is millions of cells. :meth:`.writer.Writer.write_cell` writes each with
its own calls (its format found, its formula rendered, a cell tuple kept by XlsxWriter until the workbook is
saved); here a column whose template calls no KPI function is written at once: its formula text rendered once
and each row's addresses put in (:func:`~.rendering.column_texts`), its formats found once per number format,
its values and cached results as lists. What is written is what ``write_cell`` writes for each of its cells —
the formula with its cached value, or in the large-data layout a column that reads a left-out table as stored
values (shaded, a comment on its first cell) — and the build's manifest gets the same entries, kept as the
column's lists (:class:`ManifestCells`) rather than an object per cell.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from kpi_functions.excel import literal

from .. import formulas as F
from ..formulas import ExcelError
from .large_write import stored_comment
from .model import BlockDef, ManifestCell
from .sheet_xml import BlockColumn
from .styles import DATE_FMT

if TYPE_CHECKING:
    from .writer import Writer

__all__ = ["ManifestCells", "write_formula_columns"]


class _Column:
    """One row-table column as the manifest lists it: where, what kind, the values, formats and formulas."""

    __slots__ = ("col", "formulas", "kind", "nums", "r0", "sheet", "values")

    def __init__(self, sheet: str, r0: int, col: int, kind: str, values: list[Any], nums: list[str | None],
                 formulas: list[str] | None) -> None:
        self.sheet, self.r0, self.col, self.kind = sheet, r0, col, kind
        self.values, self.nums, self.formulas = values, nums, formulas

    def cells(self) -> Iterator[ManifestCell]:
        for i, v in enumerate(self.values):
            mv = v.code if isinstance(v, ExcelError) else F.excel_serial(v) if isinstance(v, pd.Timestamp) else v
            yield ManifestCell(self.sheet, xl_rowcol_to_cell(self.r0 + i, self.col), self.kind, mv, self.nums[i],
                               None if self.formulas is None else "=" + self.formulas[i])


class ManifestCells(Sequence[ManifestCell]):
    """The cells a build wrote (:attr:`.model.BuildResult.cells`): those written one by one, then the row-table
    columns written as blocks, each made when read."""

    def __init__(self, cells: list[ManifestCell], columns: list[_Column]) -> None:
        self._cells, self._columns = cells, columns

    def __iter__(self) -> Iterator[ManifestCell]:
        yield from self._cells
        for c in self._columns:
            yield from c.cells()

    def __len__(self) -> int:
        return len(self._cells) + sum(len(c.values) for c in self._columns)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, int) and 0 <= i < len(self._cells):
            return self._cells[i]
        return list(self)[i]


def _nums(w: Writer, fmt: str | None, vals: list[Any]) -> list[str | None]:
    """Each cell's number format, as ``Writer._default_fmt`` finds it for a column without a KPI call."""
    if fmt:
        return [w.fmt.number(fmt)] * len(vals)
    date = w.fmt.number(DATE_FMT)
    return [date if isinstance(v, pd.Timestamp) else None for v in vals]


def _formats(w: Writer, style: str, nums: list[str | None]) -> tuple[Any, list[Any] | None]:
    """One format for the column, or one a row where they differ."""
    distinct = dict.fromkeys(nums)
    if len(distinct) == 1:
        return w.fmt.get(style, nums[0] if nums else None), None
    made = {n: w.fmt.get(style, n) for n in distinct}
    return None, [made[n] for n in nums]


def _value_parts(w: Writer, vals: list[Any], fmt: Any, fmts: list[Any] | None) -> list[BlockColumn]:
    """Values written as ``Writer._write_value`` writes each: numbers (and dates as serials), texts, booleans,
    blanks, and ``=""`` or an error as a formula (its text in a values-only workbook)."""
    n = len(vals)
    num = np.full(n, np.nan)
    text: list[Any] = [None] * n
    boolean: list[Any] = [None] * n
    formula: list[Any] = [None] * n
    cached: list[Any] = [None] * n
    blank = np.zeros(n, dtype=bool)
    for i, v in enumerate(vals):
        if v is None:
            blank[i] = True
        elif isinstance(v, ExcelError):
            if w.live:
                formula[i], cached[i] = literal(ExcelError(v.code)), v.code
            else:
                text[i] = v.code
        elif isinstance(v, bool):
            boolean[i] = v
        elif isinstance(v, (int, float)):
            num[i] = v
        elif isinstance(v, pd.Timestamp):
            num[i] = F.excel_serial(v)
        elif isinstance(v, str):
            if v == "":
                formula[i], cached[i] = '""', ""
            else:
                text[i] = v
        else:
            text[i] = str(v)
    parts = [BlockColumn("num", num, fmt, fmts=fmts), BlockColumn("str", text, fmt, fmts=fmts),
             BlockColumn("bool", boolean, fmt, fmts=fmts), BlockColumn("formula", formula, fmt, cached, fmts=fmts)]
    if fmt is not None or fmts is not None:  # write_blank writes nothing without a format
        parts.append(BlockColumn("blank", blank, fmt, fmts=fmts))
    return parts


def write_formula_columns(w: Writer, bd: BlockDef) -> set[int]:
    """Write the columns of a row table whose template calls no KPI function as blocks; the positions of the
    columns written (the others are written cell by cell)."""
    b, spec = w.b, bd.spec
    n = len(bd.keys)
    if not w.live or not n:
        return set()
    ws = w.ws[spec.sheet]
    done: set[int] = set()
    for j, c in enumerate(spec.columns):
        if not isinstance(c.expr, F.Node) or bd.kpi_cols[c.key]:
            continue
        texts, touched = w._column_texts(bd, j)
        if texts is None:
            continue
        vals = b.block_column(bd, j)
        nums = _nums(w, c.fmt, vals)
        r0, col = bd.first_row, spec.col + j
        if touched:  # reads a table that is not in the workbook: the values, marked as stored
            assert w.large is not None
            why = w.large.why(touched)
            w.large.stored_columns[(spec.name, c.key)] = why
            fmt, fmts = _formats(w, "stored", nums)
            ws.write_block(r0, col, [_value_parts(w, vals, fmt, fmts)])
            ws.write_comment(r0, col, stored_comment(why), {"x_scale": 2, "y_scale": 1.5})
            w.manifest_columns.append(_Column(spec.sheet, r0, col, "stored", vals, nums, None))
        else:
            fmt, fmts = _formats(w, "cell", nums)
            cached = [w._cached(v) for v in vals]
            ws.write_block(r0, col, [BlockColumn("formula", texts, fmt, cached, fmts=fmts)])
            w.manifest_columns.append(_Column(spec.sheet, r0, col, "native", vals, nums, texts))
        w.block_columns.add((spec.name, c.key))
        done.add(j)
    return done
