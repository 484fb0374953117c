"""Nodes over a table a KPI returns inside a formula (not spilled on a sheet), and a choice by period length.

The acquisition-channel table (:mod:`..report_channels`) computes one channel's MRR movements with
``KPI_MRR_MOVEMENTS(FILTER(…))`` inside each of its cells, and looks values up in that result:

- :class:`SpillRows` — the data rows of a spilled table, every column, without its header row (what
  :class:`.FilterWhere` filters row by row);
- :class:`TableCol` — one column of the table a KPI call returns: ``INDEX(KPI_…(…),0,j)``. In Excel the
  column holds the header row too; :class:`.Lookup` and :class:`.InMonth` never match a header text
  against a date, so the positions and the matches are those of the data rows, as in Python;
- :class:`ByLength` — one formula for a report of a month, another for a quarter, another for a year
  (a sum over the period's months written out month by month).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .nodes import Ctx, Node, wrap
from .values import ExcelError

__all__ = ["ByLength", "SpillRows", "TableCol"]


@dataclass(frozen=True, eq=False)
class SpillRows(Node):
    """The data rows of every column of a spilled result (no header row)."""

    spill: str

    def render(self, ctx: Ctx) -> str:
        return ctx.spill_range(self.spill, None, header=False)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.spill_value(self.spill, None)


@dataclass(frozen=True, eq=False)
class TableCol(Node):
    """Column ``col`` (its header) of the table ``table`` returns; ``cols`` are the table's headers in order,
    so the column is written by position: ``INDEX(table,0,j)``. The table is computed once per build and
    formula text (every cell of a row that reads it shares it)."""

    table: Node
    col: str
    cols: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.col not in self.cols:
            raise ValueError(f"TableCol: no column {self.col!r} among {', '.join(self.cols)}")

    def children(self) -> Iterable[Node]:
        return (self.table,)

    def render(self, ctx: Ctx) -> str:
        return f"INDEX({self.table.render(ctx)},0,{self.cols.index(self.col) + 1})"

    def evaluate(self, ctx: Ctx) -> Any:
        cache = ctx.cache()
        ident = ("inline-table", self.table.render(ctx))
        if ident not in cache:
            cache[ident] = self.table.evaluate(ctx)
        t = cache[ident]
        if isinstance(t, ExcelError):
            return t
        if not isinstance(t, pd.DataFrame) or list(t.columns) != list(self.cols):
            raise ValueError(f"TableCol: expected a table with the columns {', '.join(self.cols)}, got "
                             f"{type(t).__name__}")
        return t[self.col].reset_index(drop=True)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return TableCol(self.table.substitute(row_cells), self.col, self.cols)


@dataclass(frozen=True, eq=False)
class ByLength(Node):
    """The formula for the report period's length: ``month`` (1 month), ``quarter`` (3) or ``year`` (12)."""

    month: Node
    quarter: Node
    year: Node

    def __init__(self, month: Any, quarter: Any, year: Any) -> None:
        object.__setattr__(self, "month", wrap(month))
        object.__setattr__(self, "quarter", wrap(quarter))
        object.__setattr__(self, "year", wrap(year))

    def chosen(self, ctx: Ctx) -> Node:
        return {1: self.month, 3: self.quarter, 12: self.year}[ctx.period_months()]

    def children(self) -> Iterable[Node]:
        return (self.month, self.quarter, self.year)

    def render(self, ctx: Ctx) -> str:
        return self.chosen(ctx).render(ctx)

    def evaluate(self, ctx: Ctx) -> Any:
        return self.chosen(ctx).evaluate(ctx)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return ByLength(self.month.substitute(row_cells), self.quarter.substitute(row_cells),
                        self.year.substitute(row_cells))
