"""What a build works with and produces: the laid-out cells, spilled tables and row tables, the manifest of
what was written, the errors a build raises, and the names every workbook shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from kpi_functions.excel import FORMULA_FLAVOURS

from ..formulas import Node
from ..spec import RowTable, Spill

__all__ = [
    "FLAVOURS",
    "PROBE_NAME",
    "VALUES_SHEET",
    "BlockDef",
    "BuildError",
    "BuildResult",
    "CellDef",
    "GridLimitError",
    "ManifestCell",
    "ReportInputError",
    "SpillDef",
    "SpillRecord",
    "abs_cell",
    "top_kpi",
]

FLAVOURS = FORMULA_FLAVOURS
PROBE_NAME = "AddinMissing"  #: defined name of the hidden cell that is TRUE where the add-in is not loaded
VALUES_SHEET = "_values"  #: the hidden sheet with the stored KPI results


class BuildError(Exception):
    """The report cannot be built (a spec or data problem), with a message for the user."""


class ReportInputError(BuildError):
    """A KPI rejected input that came from a data file; the message names file, row and column."""


class GridLimitError(BuildError):
    """A table does not fit on a worksheet (Excel's grid); the report is refused rather than truncated."""


@dataclass(slots=True)
class CellDef:
    name: str
    sheet: str
    row: int
    col: int
    node: Node | None = None
    const: Any = None
    fmt: str | tuple[str, str] | None = None  #: a number format, or ("like", name): formatted like that cell
    style: str = "value"  # value | kpi | native | input | key | label
    #: a row table's cell written from its column's template (``node``, not substituted): the table and the row
    block: BlockDef | None = None
    i: int = 0


@dataclass
class SpillDef:
    name: str
    sheet: str
    row: int
    col: int
    node: Node
    spec: Spill
    value: Any = None  # DataFrame or ExcelError after evaluation
    rows: int = 0  # data rows (its header not counted) after evaluation


@dataclass
class BlockDef:
    """A RowTable after expansion: its keys (one per row) and, by column key, its cells' names — made when
    asked for (:mod:`.blocks`), as are its cells: a table of 700,000 customers keeps no object per cell."""

    spec: RowTable
    keys: list[Any]
    cells: dict[str, Sequence[str]]
    first_row: int = 0  #: sheet row of the first data row (where an empty table's data would start)
    #: the formula of row ``i``'s key cell in a table by month (computed from the report month); None: a constant
    key_node: Callable[[int], Node] | None = None
    key_fmt: str | None = None  #: the number format of those key cells
    kpi_cols: dict[str, bool] = field(default_factory=dict)  #: column key -> whether its template calls a KPI
    col_index: dict[str, int] = field(default_factory=dict)  #: column key -> its position

    def cell(self, j: int, i: int) -> CellDef:
        """Row ``i``'s cell of column ``j`` (made now, with its template substituted for the row)."""
        from .blocks import template_cell

        return template_cell(self, j, i)

    def names_by_row(self) -> Iterator[str]:
        """Every cell name, row by row (the order the cells were laid out in)."""
        name = self.spec.name
        keys = [c.key for c in self.spec.columns]
        for i in range(len(self.keys)):
            for k in keys:
                yield f"{name}.{k}.{i}"


@dataclass(slots=True)
class ManifestCell:
    sheet: str
    cell: str
    kind: str  # kpi | spill | native | input
    value: Any  # float/str/bool/None/date serial, or "#DIV/0!"-style error code
    fmt: str | None = None
    formula: str | None = None


@dataclass
class SpillRecord:
    """Where a spilled result was written and what it holds (for tests and summaries)."""

    sheet: str
    row: int
    col: int
    header: list[Any]
    columns: list[tuple[str, list[Any]]]  # (kind, values) as written; dates as serial numbers
    formats: list[str | None]
    row_formats: list[str | None] | None = None


@dataclass
class BuildResult:
    path: Path | None
    cells: Sequence[ManifestCell] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kpis: dict[str, list[str]] = field(default_factory=dict)  # Excel name -> cells using it
    spills: list[SpillRecord] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)  # item name -> value (for summaries)
    #: the large-data layout: why it was chosen and what it left out (None: the standard layout)
    large_data: str | None = None


def abs_cell(row: int, col: int) -> str:
    """``$B$7`` for 0-based (row 6, column 1)."""
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def top_kpi(node: Node | None) -> bool:
    """True when a formula calls a KPI function (its cell falls back to the stored value without the add-in)."""
    return node is not None and any(True for _ in node.kpis())
