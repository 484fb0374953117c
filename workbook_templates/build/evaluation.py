"""The values of a report: what the formula nodes read when they are evaluated, and the KPI calls.

:class:`Report` is a laid-out report (:class:`~.layout.Layout`) plus the values of its cells and spilled
tables, computed on demand and kept. Formula nodes are evaluated against its :attr:`Report.ctx` (a
:class:`~.rendering.SheetContext` on no sheet), which hands the value side of the formula context to the
methods here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

import kpi_functions as K
from kpi_functions import KPIError, KPIErrorValue, KPIInputError, KPIModelError, KPIUndefinedError
from kpi_functions import excel as X

from .. import formulas as F
from ..context import ReportData
from ..data import Table
from ..formulas import ExcelError, Node
from ..formulas.values import cell_value
from ..spec import Months, ReportSpec
from .blocks import MISSING, ValueMap
from .columns import Unsupported, column_values
from .layout import Layout
from .model import BlockDef, BuildError, ReportInputError, SpillDef
from .rendering import RowContext, SheetContext, quote_sheet

__all__ = ["OutsideTableRead", "Report", "cell_value", "frame_grid"]


class OutsideTableRead(BuildError):
    """A formula read a spilled table that this build did not compute (:attr:`Report.outside`), and no
    table computed outside it (:attr:`Report.precomputed`) stands for what it reads."""


def frame_grid(df: pd.DataFrame) -> list[list[Any]]:
    """Header row + rows, cell values — the shape the add-in spills (:func:`kpi_functions.excel.frame_rows`)."""
    return X.frame_rows(df)


class Report(Layout):
    """One report laid out on its sheets, with the values of its cells computed on demand."""

    def __init__(self, spec: ReportSpec, data: ReportData, flavour: str = "classic",
                 namespace: str | None = None) -> None:
        super().__init__(spec, data, flavour, namespace)
        self.values = ValueMap(self.cells)  #: every computed cell value by name (a row table's: a list per column)
        self._warned: dict[str, list[str]] = {}  # a KPI's message -> the cells (and months) it was said of
        self._evaluating: set[str] = set()
        self._columns: set[tuple[str, str, int]] = set()  #: row-table columns being computed as a whole
        self._stack: list[str] = []  # the cells being evaluated, innermost last
        self._cache: dict[Any, Any] = {}
        self._prov: dict[int, tuple[Any, str]] = {}  # id(value) -> (value, dataset)
        #: spilled tables computed outside this build (kpi build on a Dask cluster): name -> (rows, columns);
        #: never evaluated here, and a formula that reads one is an :class:`OutsideTableRead`
        self.outside: dict[str, tuple[int, tuple[str, ...]]] = {}
        #: the results of KPI calls over those, computed outside this build (by the KPI call and its arguments)
        self.precomputed: dict[tuple[Any, ...], Any] = {}
        #: (report, node) -> a KPI call's (or a sum's) result from :attr:`precomputed`, or None: evaluate it here
        self.outside_call: Callable[[Report, Node, Any], Any] | None = None
        #: the formula context nodes are evaluated in (on no sheet: every address it renders is qualified)
        self.ctx = SheetContext(self, "")

    def on_sheet(self, sheet: str) -> SheetContext:
        """The formula context for rendering a formula written on ``sheet``."""
        return SheetContext(self, sheet)

    def cache(self) -> dict[Any, Any]:
        """Per-build memo (look-up indexes of the formula nodes, rendered ranges)."""
        return self._cache

    def evaluate(self, node: Node) -> Any:
        return node.evaluate(self.ctx)

    def evaluate_node(self, node: Node) -> list[Any]:
        """The value of a node as a list (a column reference's cells, or one value)."""
        v = self.evaluate(node)
        return list(v) if isinstance(v, pd.Series) else [v]

    # -- cells -------------------------------------------------------------------
    def value(self, name: str) -> Any:
        c = self.cells.placed.get(name)
        if c is None:
            hit = self.cells.block_cell(name)
            if hit is None:
                raise BuildError(f"{self.spec.key}: formula refers to unknown cell {name!r}")
            return self.row_value(hit[0], hit[1], hit[2])
        values = self.values.placed
        if name in values:
            return values[name]
        if name in self._evaluating:
            raise BuildError(f"{self.spec.key}: circular reference through {name!r}")
        self._evaluating.add(name)
        self._stack.append(name)
        try:
            v = c.const if c.node is None else self.evaluate(c.node)
        finally:
            self._evaluating.discard(name)
            self._stack.pop()
        v = self._cell_result(name, c.node, v)
        values[name] = v
        return v

    def _cell_result(self, name: str, node: Node | None, v: Any) -> Any:
        """A formula's (or constant's) value as a cell holds it: one value, integers as floats."""
        if node is not None:
            if isinstance(v, (pd.Series, pd.DataFrame)):
                raise BuildError(f"{self.spec.key}: cell {name} holds a range, not one value")
            if isinstance(v, np.generic):
                v = v.item()
        if isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        return v

    def block_column(self, bd: BlockDef, j: int) -> list[Any]:
        """Every row's value of column ``j`` of a row table (its list, kept): computed as a whole where the
        template allows (:func:`~.columns.column_values`), else row by row."""
        col = self.values.column(bd, j)
        ident = ("column", bd.spec.name, j)
        if ident in self._cache:
            return col
        if ident in self._columns:  # a column that reads itself: row by row, which names the cell
            raise Unsupported
        todo = [i for i, v in enumerate(col) if v is MISSING] if MISSING in col else []
        if todo:
            vals: list[Any] | None = None
            self._columns.add(ident)
            try:
                vals = column_values(self, bd, j)
            except Unsupported:
                vals = None
            finally:
                self._columns.discard(ident)
            if vals is None:
                for i in todo:
                    self.row_value(bd, j, i)
            else:
                name = f"{bd.spec.name}.{bd.spec.columns[j].key}"
                node = bd.spec.columns[j].expr
                result = self._cell_result
                for i in todo:
                    col[i] = result(name, node, vals[i])
        self._cache[ident] = True
        return col

    def row_value(self, bd: BlockDef, j: int, i: int) -> Any:
        """The value of row ``i``'s cell of column ``j`` of a row table: its template evaluated for that row
        (:class:`~.rendering.RowContext`: a ``RowRef`` reads the row's own cell), kept in the column's list."""
        col = self.values.column(bd, j)
        v = col[i]
        if v is not MISSING:
            return v
        spec = bd.spec
        c = spec.columns[j]
        name = f"{spec.name}.{c.key}.{i}"
        if name in self._evaluating:
            raise BuildError(f"{self.spec.key}: circular reference through {name!r}")
        node: Node | None
        if isinstance(c.expr, str) and c.expr == "KEY":
            node = bd.key_node(i) if bd.key_node is not None else None
            const: Any = bd.keys[i]
        else:
            node, const = (c.expr, None) if isinstance(c.expr, Node) else (None, c.expr)
        self._evaluating.add(name)
        self._stack.append(name)
        try:
            v = const if node is None else node.evaluate(RowContext(self.ctx, bd, i))
        finally:
            self._evaluating.discard(name)
            self._stack.pop()
        v = self._cell_result(name, node, v)
        col[i] = v
        return v

    # -- spilled tables ------------------------------------------------------------
    def spill(self, name: str) -> SpillDef:
        s = self.spills.get(name)
        if s is None:
            raise BuildError(f"{self.spec.key}: unknown spilled table {name!r}")
        if s.value is None:
            key = "spill:" + name
            if key in self._evaluating:
                raise BuildError(f"{self.spec.key}: circular reference through {name!r}")
            self._evaluating.add(key)
            try:
                if name in self.outside:  # its columns and no row: it is left out of the workbook (.large)
                    v = pd.DataFrame(columns=list(self.outside[name][1]))
                else:
                    v = self.evaluate(s.node)
            finally:
                self._evaluating.discard(key)
            if isinstance(v, pd.Series):
                v = v.to_frame()
            if not isinstance(v, (pd.DataFrame, ExcelError)):
                raise BuildError(f"{self.spec.key}: {name} does not spill a table (got {type(v).__name__})")
            s.value = v
            s.rows = len(v) if isinstance(v, pd.DataFrame) else 0
        return s

    def computed_outside(self, node: Node, ctx: Any = None) -> Any:
        """A node's result computed outside this build (:attr:`outside_call`), or None: evaluate it. ``ctx``:
        the context it is evaluated in (a row's, in a row table; None: the report's)."""
        return None if self.outside_call is None else self.outside_call(self, node, ctx)

    def _outside_read(self, name: str) -> None:
        if name in self.outside:
            spills = sorted(k[6:] for k in self._evaluating if k.startswith("spill:"))
            where = f" in {self.where(self._stack[-1])}" if self._stack else \
                f" of table {', '.join(spills)}" if spills else ""
            raise OutsideTableRead(f"{self.spec.key}: a formula{where} reads the table {name}, which was computed "
                                   "outside this build")

    def spill_value(self, name: str, col: int | str | None) -> Any:
        self._outside_read(name)
        s = self.spill(name)
        if isinstance(s.value, ExcelError):
            return s.value
        if col is None:
            return s.value
        return s.value.iloc[:, self.spill_col_index(s, col)]

    def spill_cell_value(self, name: str, row: int, col: int | str) -> Any:
        self._outside_read(name)
        s = self.spill(name)
        if isinstance(s.value, ExcelError):
            return s.value
        j = self.spill_col_index(s, col)
        if row < 1 or row > len(s.value):
            return ExcelError("#REF!", f"{name} has {len(s.value)} rows")
        v = cell_value(s.value.iloc[row - 1, j])
        return 0.0 if v is None else v

    # -- input tables, row tables, item lists ----------------------------------------
    def table_value(self, dataset: str, first: str, last: str | None) -> Any:
        t = self.data.tables[dataset]
        pos = self.table_pos[dataset]
        if last is None:
            v = t.df[first]
        else:
            cols = list(t.df.columns)[pos[first]:pos[last] + 1]
            v = t.df[cols]
        self._prov[id(v)] = (v, dataset)
        return v

    def block_value(self, table: str, key: str) -> Any:
        b = self.blocks.get(table)
        if b is None:
            raise BuildError(f"{self.spec.key}: unknown row table {table!r}")
        if key not in b.col_index:
            raise BuildError(f"{self.spec.key}: row table {table} has no column {key!r}")
        ident = ("block", table, key)
        hit = self._cache.get(ident)
        if hit is None:  # built once: every cell that reads the column (a total, a rank, a look-up) shares it
            vals = list(self.block_column(b, b.col_index[key]))
            if any(isinstance(v, pd.Timestamp) for v in vals):
                hit = pd.Series(vals)
            else:
                hit = pd.Series([np.nan if v is None else v for v in vals], dtype=object)
            self._cache[ident] = hit
        return hit.copy()  # a copy: a caller may change what it got

    def list_value(self, items: str, col: str | int) -> Any:
        il, _, _, _ = self.list_cells(items, col)
        if col == "label":
            return pd.Series([it.label for it in il.items], dtype=object)
        names = [it.name if col == "value" else f"{it.name}.{int(col)}" for it in il.items]
        return pd.Series([self.value(n) if n in self.cells else None for n in names], dtype=object)

    # -- KPI calls -----------------------------------------------------------------
    def _to_arg(self, v: Any) -> Any:
        """An evaluated value as the add-in would hand it to the library."""
        if isinstance(v, ExcelError):
            return v.code
        if isinstance(v, pd.Series) and v.dtype == object and any(isinstance(x, ExcelError) for x in v):
            w = v.map(lambda x: x.code if isinstance(x, ExcelError) else x)
            if id(v) in self._prov:
                self._prov[id(w)] = (w, self._prov[id(v)][1])
            return w
        return v

    def call_kpi(self, node: F.KPI, vals: list[Any]) -> Any:
        spec = K.REGISTRY.get(node.name)
        if spec is None:
            raise BuildError(f"{self.spec.key}: {node.name} is not a registered KPI function")
        if len(vals) > len(spec.args):
            raise BuildError(f"{self.spec.key}: {node.name} takes {len(spec.args)} arguments, got {len(vals)}")
        # the add-in's convention (kpi_functions.excel): the first error value of the inputs, unchanged
        found = X.first_error_value(spec.excel_name, [a.name for a in spec.args], vals)
        if found is not None:
            return ExcelError(found.excel_error, str(found))
        args = X.prepare_args(spec, [self._to_arg(v) for v in vals])
        try:
            result = spec.func(*args)
        except KPIErrorValue as err:
            return X.excel_error(err)
        except (KPIUndefinedError, KPIModelError) as err:
            self.warn(str(err))
            return X.excel_error(err)
        except KPIInputError as err:
            where = self._locate(err, spec, args)
            if where is not None:  # bad data in an input file: the report fails and says where
                raise ReportInputError(where) from err
            # valid data, but a derived input outside the KPI's domain (a negative margin fed to CLV):
            # the cell shows the Excel error, as the add-in would
            self.warn(str(err))
            return X.excel_error(err)
        return X.result_error(spec, result) or result  # an infinite result is #NUM!, as in the add-in

    # -- warnings ----------------------------------------------------------------
    def warn(self, message: str) -> None:
        """Note a KPI that is undefined (or refused a derived input) in the cell being evaluated."""
        places = self._warned.setdefault(message, [])
        if self._stack:
            place = self.where(self._stack[-1])
            if place not in places:
                places.append(place)

    @property
    def warnings(self) -> list[str]:
        """One line per message, naming the month (row) and the cell of each place it was said of:
        ``KPI_CSAT: … — Sep 2025 (Experience!D41), Nov 2025 (Experience!D43)``."""
        out = []
        for msg, places in self._warned.items():
            shown = places[:4] + ([f"{len(places) - 4} more"] if len(places) > 4 else [])
            out.append(f"{msg} — {', '.join(shown)}" if shown else msg)
        return out

    def where(self, name: str) -> str:
        """Where a cell is, as a reader finds it: its period (a table row's month, or the report period), a
        table row's text key, and its address."""
        c = self.cells[name]
        address = f"{quote_sheet(c.sheet)}!{xl_rowcol_to_cell(c.row, c.col)}"
        when = self.data.period.title if self.data.period is not None else f"{self.data.report_month:%b %Y}"
        what = ""
        block, _, i = name.rpartition(".")
        bd = self.blocks.get(block.rpartition(".")[0]) if block else None
        if bd is not None and i.isdigit() and int(i) < len(bd.keys):
            key = bd.keys[int(i)]
            if isinstance(key, pd.Timestamp):
                step = self.key_step(bd.spec.keys) if isinstance(bd.spec.keys, Months) else 1
                when = f"{key:%b %Y}" if step == 1 else f"the {step} months to {key:%b %Y}"
            elif key is not None:
                what = f"{key}, "
        return f"{what}{when} ({address})"

    def _locate(self, err: KPIError, spec: K.KPISpec, args: list[Any]) -> str | None:
        """Map a library error position back to the data file row and column (None: not from a file)."""
        names = [a.name for a in spec.args]
        if err.argument in names:
            i = names.index(err.argument)
            v = args[i] if i < len(args) else None
            prov = self._prov.get(id(v))
            loc = err.location  # 1-based within the argument; no column for a 1-D one
            if prov is not None and v is not None and loc is not None:
                r, c = loc.row, loc.col or 1
                t: Table = self.data.tables[prov[1]]
                if 1 <= r <= len(v):
                    idx = v.index[r - 1]
                    file_row = int(t.rows[int(idx)])
                    colname = v.columns[c - 1] if isinstance(v, pd.DataFrame) else v.name
                    return f"{t.file} row {file_row}, column {colname}: {err}"
            if prov is not None:
                return f"{self.data.tables[prov[1]].file}: {err}"
        return None
