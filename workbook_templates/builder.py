"""The builder: report spec + data -> workbook (.xlsx), for templates and regenerated reports alike.

This module assembles a build (:func:`evaluate`, :func:`build_workbook`) and checks it against Excel's grid;
the parts are in :mod:`workbook_templates.build` (layout, evaluation, rendering, writing, charts, notes,
styles).

How a KPI cell is written
-------------------------
A KPI cell keeps its live formula for users who have the add-in, and shows the
value the library computed for everyone else:

``=IF(AddinMissing,_values!$B$7,KPI_NPS(NPS[score]))``  cached value: 31.7

- ``AddinMissing`` is a defined name for the hidden ``_values!A1``, which holds
  ``=ISERROR(KPI_ARR(1))``: TRUE where the add-in's functions do not exist.
- ``_values`` holds a copy of every KPI result as plain values.
- The cell's own cached value is the library's result.

So: Excel with the add-in evaluates the KPI (IF only evaluates the branch it
takes); a spreadsheet without it — Excel, or LibreOffice, which recalculates
array formulas and error results on load — falls back to the stored result
instead of showing ``#NAME?``. Spilled tables (dynamic arrays) work the same
way with a range of ``_values``. Cells that use only native functions are
plain formulas whose cached values the builder computes with Excel's
semantics (:mod:`.formulas`), and which any spreadsheet recomputes to the same
numbers.

``--formulas values`` writes no formula at all, only the values.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .build.evaluation import Report, frame_grid
from .build.large import LAYOUTS, LargeLayout, plan_large
from .build.layout import BlockMark, grid_extents
from .build.model import (
    FLAVOURS,
    PROBE_NAME,
    VALUES_SHEET,
    BlockDef,
    BuildError,
    BuildResult,
    CellDef,
    GridLimitError,
    ManifestCell,
    ReportInputError,
    SpillDef,
    SpillRecord,
)
from .build.styles import DATE_FMT, DATETIME_FMT, MONTH_FMT, UNIT_FORMATS, unit_format
from .build.writer import FIXED_TIME, Writer
from .build_steps import active as steps_active
from .build_steps import step
from .context import ReportData
from .spec import ReportSpec

__all__ = [
    "DATETIME_FMT",
    "DATE_FMT",
    "FIXED_TIME",
    "FLAVOURS",
    "LAYOUTS",
    "MAX_COLS",
    "MAX_ROWS",
    "MONTH_FMT",
    "PROBE_NAME",
    "UNIT_FORMATS",
    "VALUES_SHEET",
    "BlockDef",
    "BuildError",
    "BuildResult",
    "CellDef",
    "GridLimitError",
    "ManifestCell",
    "Report",
    "ReportInputError",
    "SpillDef",
    "SpillRecord",
    "Writer",
    "build_workbook",
    "check_grid",
    "evaluate",
    "unit_format",
]

_frame_grid = frame_grid  # the name test_reports' spill-shape test imports

#: Excel's grid: a worksheet holds at most this many rows and columns (XlsxWriter silently drops the rest)
MAX_ROWS = 1_048_576
MAX_COLS = 16_384


def check_grid(b: Report, large: LargeLayout | None = None) -> None:
    """Refuse a report that would not fit Excel's grid (:data:`MAX_ROWS` × :data:`MAX_COLS`).

    Called before any file is written: XlsxWriter would drop the cells past the grid without a word,
    and a report must never hold a truncated table. Reads the module constants at call time. With the
    large-data layout's plan (``large``), what it leaves out is not checked: what is left must fit.
    """
    max_rows, max_cols = MAX_ROWS, MAX_COLS
    if large is None:
        hint = ("split the data with `kpi build --by <column>` (one workbook per value), or build it in the "
                "large-data layout (`--layout large`; `--layout auto`, the default, chooses it when a table "
                "would not fit)")
    else:
        hint = ("the large-data layout leaves out only input, spilled and row tables, and this is none of "
                "them; split the data with `kpi build --by <column>` (one workbook per value)")
    for sheet, what, rows, cols in grid_extents(b, large):
        if rows > max_rows:
            raise GridLimitError(f"sheet {sheet!r} needs {rows:,} rows ({what}); a worksheet holds at most "
                                 f"{max_rows:,} rows: {hint}")
        if cols > max_cols:
            raise GridLimitError(f"sheet {sheet!r} needs {cols:,} columns ({what}); a worksheet holds at most "
                                 f"{max_cols:,} columns: {hint}")


def evaluate(spec: ReportSpec, data: ReportData, flavour: str = "classic", namespace: str | None = None,
             layout: str = "auto", cluster: Any = None) -> Report:
    """Lay out and evaluate a report without writing it; refuses one that would not fit the grid.

    ``layout``: ``standard`` refuses a report with a table too large for a worksheet; ``large`` builds the
    large-data layout (:mod:`.build.large`: such tables left out, the cells that read them stored);
    ``auto`` the standard layout when it fits, else the large one (:attr:`Report.large` says which).
    A report of a quarter or a year is worded for its period first (:func:`.build.periodise.for_period`).
    ``cluster``: its MRR tables computed on a Dask cluster (:class:`.cluster_build.ClusterTables`), which puts
    the report in the large-data layout without its MRR table.
    """
    from .build.periodise import for_period

    if layout not in LAYOUTS:
        raise BuildError(f"unknown layout {layout!r}; use {', '.join(LAYOUTS)}")
    with _no_cyclic_gc():
        step("laying out")
        b = Report(for_period(spec, data), data, flavour, namespace)
        if cluster is not None:
            cluster.attach(b)
        b.place()
        if cluster is not None:
            cluster.fill(b)
        for s in b.spills:
            b.spill(s)
        if layout != "standard" or cluster is not None:
            b.large = plan_large(b, MAX_ROWS, MAX_COLS, forced=layout == "large")
        check_grid(b, b.large)  # every table's size is known now: fail before any cell is evaluated or written
        _evaluate_cells(b)
    return b


def _evaluate_cells(b: Report) -> None:
    """Every cell's value, in layout order (a row table's row by row); with a listener (the progress bar) told
    a hundred times how many are done."""
    n = len(b.cells)
    chunk = max(1000, n // 100)
    told = steps_active()
    done = 0
    mark = chunk

    def progress(k: int) -> None:
        nonlocal done, mark
        done += k
        if told and done >= mark:
            step("evaluating", done, n)
            mark = done + chunk

    if told:
        step("evaluating", 0, n)
    for name in b.order:
        bd = b.blocks.get(name) if isinstance(name, BlockMark) else None
        if bd is None:
            b.value(name)
            progress(1)
            continue
        # the columns computed as a whole first (they call no KPI function, so warn of nothing), then the rest
        # row by row, as the cells were laid out (a KPI's warnings list the cells in that order)
        whole = [j for j, c in enumerate(bd.spec.columns) if not bd.kpi_cols[c.key]]
        for j in whole:
            b.block_column(bd, j)
            progress(len(bd.keys))
        rest = [j for j in range(len(bd.spec.columns)) if j not in whole]
        if rest:
            for i in range(len(bd.keys)):
                for j in rest:
                    b.row_value(bd, j, i)
                progress(len(rest))
    if told:
        step("evaluating", n, n)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a report is laid out: a table of 100,000 customers makes
    millions of small formula objects (none of them in a cycle), and each collection walks them all again —
    a third of a large build's time. Reference counting still frees them; the collector resumes after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build_workbook(spec: ReportSpec, data: ReportData, path: Path | str, flavour: str = "classic",
                   namespace: str | None = None, layout: str = "auto") -> BuildResult:
    """Build one report into ``path`` (written directly; see :func:`.batch.atomic_build` for safe writes)."""
    b = evaluate(spec, data, flavour, namespace, layout)
    return Writer(b, Path(path)).write()
