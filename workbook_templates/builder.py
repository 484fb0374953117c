"""The builder: report spec + data -> workbook (.xlsx), for templates and regenerated reports alike.

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

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

import kpi_functions as K
from kpi_functions import KPIError, KPIErrorValue, KPIInputError, KPIModelError, KPIUndefinedError
from kpi_functions import excel as X

from . import formulas as F
from .context import ReportData
from .data import Table
from .formulas import ExcelError, Node
from .schema import DATASETS
from .spec import Banner, Chart, Item, ItemList, Param, ReportSpec, RowTable, SheetSpec, Spill, Text

__all__ = ["build_workbook", "BuildResult", "BuildError", "ReportInputError", "UNIT_FORMATS", "FLAVOURS",
           "PROBE_NAME", "VALUES_SHEET", "unit_format"]

FLAVOURS = X.FORMULA_FLAVOURS
PROBE_NAME = "AddinMissing"
VALUES_SHEET = "_values"
#: number format of a scalar KPI cell, by the registry's ``unit``
UNIT_FORMATS = {
    "fraction": "0.0%",
    "points": "0.0",
    "money": "#,##0",
    "count": "#,##0",
    "ratio": '0.00"×"',
    "months": '0.0" months"',
    "duration": '0.0" h"',
    "number": "0.00",
    "table": "General",
}
_DURATION_FORMATS = {"hours": '0.0" h"', "days": '0.0" d"', "minutes": '0" min"'}
DATE_FMT = "yyyy-mm-dd"
DATETIME_FMT = "yyyy-mm-dd hh:mm"
MONTH_FMT = "mmm yyyy"
FIXED_TIME = _dt.datetime(2026, 1, 1)  # document properties: templates must not change from run to run


class BuildError(Exception):
    """The report cannot be built (a spec or data problem), with a message for the user."""


class ReportInputError(BuildError):
    """A KPI rejected input that came from a data file; the message names file, row and column."""


class GridLimitError(BuildError):
    """A table does not fit on a worksheet (Excel's grid); the report is refused rather than truncated."""


#: Excel's grid: a worksheet holds at most this many rows and columns (XlsxWriter silently drops the rest)
MAX_ROWS = 1_048_576
MAX_COLS = 16_384


@dataclass
class CellDef:
    name: str
    sheet: str
    row: int
    col: int
    node: Node | None = None
    const: Any = None
    fmt: str | None = None
    style: str = "value"  # value | kpi | native | input | key | label


@dataclass
class SpillDef:
    name: str
    sheet: str
    row: int
    col: int
    node: Node
    spec: Spill
    value: Any = None  # DataFrame or ExcelError after evaluation
    grid: list[list[Any]] | None = None  # header + rows, Excel cell values


@dataclass
class BlockDef:
    """A RowTable after expansion: cell names by column key, per row."""

    spec: RowTable
    keys: list[Any]
    cells: dict[str, list[str]]
    first_row: int = 0  #: sheet row of the first data row (where an empty table's data would start)


@dataclass
class ManifestCell:
    sheet: str
    cell: str
    kind: str  # kpi | spill | native | input
    value: Any  # float/str/bool/None/date serial, or "#DIV/0!"-style error code
    fmt: str | None = None
    formula: str | None = None


@dataclass
class BuildResult:
    path: Path | None
    cells: list[ManifestCell] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kpis: dict[str, list[str]] = field(default_factory=dict)  # Excel name -> cells using it
    spills: list["SpillRecord"] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)  # item name -> value (for summaries)


def unit_format(spec: K.KPISpec, node: F.KPI | None = None) -> str:
    """Number format of a scalar KPI result from its registry unit."""
    if spec.unit == "duration" and node is not None:
        names = [a.name for a in spec.args]
        unit = "hours"
        if "unit" in names:
            i = names.index("unit")
            if i < len(node.args) and isinstance(node.args[i], F.Const) and isinstance(node.args[i].value, str):
                unit = node.args[i].value.lower()
        return _DURATION_FORMATS.get(unit, UNIT_FORMATS["duration"])
    return UNIT_FORMATS[spec.unit]


def _quote_sheet(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and not re.fullmatch(r"[A-Za-z]{1,3}[0-9]+", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _abs(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def _top_kpi(node: Node | None) -> bool:
    return node is not None and any(True for _ in node.kpis())


def _cell_value(v: Any) -> Any:
    """A library value as the add-in's Excel cell (:func:`kpi_functions.excel.cell`), dates as Timestamps
    (the formula model's date) and infinity as the ``#NUM!`` error value."""
    c = X.cell(v)
    if isinstance(c, _dt.datetime):
        return pd.Timestamp(c)
    if c == "#NUM!" and not isinstance(v, str):
        return ExcelError("#NUM!", "Excel has no infinity")
    return c


def _frame_grid(df: pd.DataFrame) -> list[list[Any]]:
    """Header row + rows, cell values — the shape the add-in spills (:func:`kpi_functions.excel.frame_rows`)."""
    return X.frame_rows(df)


def _columns(df: pd.DataFrame) -> list[tuple[str, list]]:
    """Each column of a result as (kind, values): num/date as floats (NaN blank; dates as serials), else objects."""
    out: list[tuple[str, list]] = []
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out.append(("date", F.to_serial_array(s).tolist()))
        elif (pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype)) \
                and not pd.api.types.is_bool_dtype(s.dtype):
            out.append(("num", s.to_numpy(dtype=float, na_value=np.nan).tolist()))
        else:
            out.append(("obj", [_cell_value(x) for x in s.to_numpy(dtype=object)]))
    return out


@dataclass
class SpillRecord:
    """Where a spilled result was written and what it holds (for tests and summaries)."""

    sheet: str
    row: int
    col: int
    header: list[Any]
    columns: list[tuple[str, list]]  # (kind, values) as written; dates as serial numbers
    formats: list[str | None]
    row_formats: list[str | None] | None = None


_POS = re.compile(r"(?:row (\d+), column (\d+))|(?:item (\d+))")


class Builder:
    """One build of one report."""

    def __init__(self, spec: ReportSpec, data: ReportData, flavour: str = "classic",
                 namespace: str | None = None) -> None:
        if flavour not in FLAVOURS:
            raise BuildError(f"unknown formula flavour {flavour!r}; use {', '.join(FLAVOURS)}")
        self.spec = spec
        self.data = data
        self.flavour = flavour
        self.namespace = namespace
        self.cells: dict[str, CellDef] = {}
        self.spills: dict[str, SpillDef] = {}
        self.blocks: dict[str, BlockDef] = {}
        self.lists: dict[str, tuple[ItemList, int]] = {}  # name -> (spec, first item row)
        self.order: list[str] = []  # cell names in layout order
        self.values: dict[str, Any] = {}
        self._evaluating: set[str] = set()
        self._cache: dict = {}
        self._prov: dict[int, tuple[Any, str]] = {}  # id(value) -> (value, dataset)
        self.warnings: list[str] = []
        self.sheet = ""  # sheet being rendered
        self.sheet_names = {s.name for s in spec.sheets}
        self.table_pos: dict[str, dict[str, int]] = {}
        for ds in spec.datasets:
            self.table_pos[ds] = {c: i for i, c in enumerate(DATASETS[ds].column_names)}

    # ------------------------------------------------------------------ layout
    def _add_cell(self, c: CellDef) -> None:
        if c.name in self.cells:
            raise BuildError(f"{self.spec.key}: cell name {c.name!r} used twice")
        if c.sheet not in self.sheet_names:
            raise BuildError(f"{self.spec.key}: {c.name} is on unknown sheet {c.sheet!r}")
        self.cells[c.name] = c
        self.order.append(c.name)

    def layout(self) -> None:
        for b in self.spec.blocks:
            if isinstance(b, ItemList):
                self._layout_items(b)
            elif isinstance(b, Spill):
                self.spills[b.name] = SpillDef(b.name, b.sheet, b.row, b.col, b.expr, b)
        for b in self.spec.blocks:
            if isinstance(b, RowTable):
                self._layout_rows(b)

    def _layout_items(self, b: ItemList) -> None:
        r = b.row + (1 if b.title else 0) + (1 if b.header else 0)  # title row, header row
        if b.name:
            self.lists[b.name] = (b, r)
        for k, it in enumerate(b.items):
            row = r + k
            if isinstance(it.expr, Param):
                it = Item(it.name, it.label, self._param(it.expr.name), it.fmt, it.note, it.input, it.key, it.extra)
            node = it.expr if isinstance(it.expr, Node) else None
            style = "input" if it.input else ("kpi" if _top_kpi(node) else "native" if node is not None else "value")
            self._add_cell(CellDef(it.name, b.sheet, row, b.col + 1, node, None if node else it.expr, it.fmt, style))
            for j, x in enumerate(it.extra):
                xn = x if isinstance(x, Node) else None
                fmt = b.extra_formats[j] if j < len(b.extra_formats) else None
                if j in b.extra_like_value:
                    fmt = ("like", it.name)
                st = "kpi" if _top_kpi(xn) else "native" if xn is not None else \
                    "input" if isinstance(x, (int, float)) else "value"
                if x is None:
                    continue
                self._add_cell(CellDef(f"{it.name}.{j}", b.sheet, row, b.col + 2 + j, xn,
                                       None if xn else x, fmt, st))

    def _param(self, name: str) -> Any:
        if name == "report_month":
            return self.data.report_month
        if name == "segment":
            return self.data.segment_label
        raise BuildError(f"unknown report parameter {name!r}")

    def _keys(self, source: str) -> list[Any]:
        d = self.data
        if source.startswith("months:"):
            return d.months(int(source.split(":")[1]))
        if source == "channels":
            m = d.tables["marketing"].df
            return list(dict.fromkeys(m["channel"].dropna().tolist()))
        if source == "follower_channels":
            m = d.tables["marketing"].df
            has = m.loc[m["followers"].notna(), "channel"]
            return list(dict.fromkeys(has.tolist()))
        if source == "customers":
            return d.tables["customers"].df["customer_id"].dropna().tolist()
        if source.startswith("spill_unique:"):
            _, name, col = source.split(":")
            v = self.spill_value(name, col)
            if isinstance(v, ExcelError):
                return []
            return list(dict.fromkeys(v.dropna().tolist()))
        raise BuildError(f"unknown row key source {source!r}")

    def _layout_rows(self, b: RowTable) -> None:
        keys = self._keys(b.keys)
        first = b.row + (1 if b.title else 0) + 1
        cells: dict[str, list[str]] = {c.key: [] for c in b.columns}
        months = b.keys.startswith("months:")
        n_keys = len(keys)
        for i, key in enumerate(keys):
            row = first + i
            names = {c.key: f"{b.name}.{c.key}.{i}" for c in b.columns}
            for j, c in enumerate(b.columns):
                if isinstance(c.expr, str) and c.expr == "KEY":
                    if months:
                        # live: the month is computed from the report month
                        node = F.EDate(F.Ref("report_month"), -(n_keys - 1 - i))
                        self._add_cell(CellDef(names[c.key], b.sheet, row, b.col + j, node, None,
                                               c.fmt or MONTH_FMT, "key"))
                    else:
                        self._add_cell(CellDef(names[c.key], b.sheet, row, b.col + j, None, key, c.fmt, "key"))
                else:
                    node = c.expr.substitute(names) if isinstance(c.expr, Node) else None
                    st = "kpi" if _top_kpi(node) else "native" if node is not None else "value"
                    self._add_cell(CellDef(names[c.key], b.sheet, row, b.col + j, node,
                                           None if node else c.expr, c.fmt, st))
                cells[c.key].append(names[c.key])
        self.blocks[b.name] = BlockDef(b, keys, cells, first)

    # ------------------------------------------------------------ evaluation
    def cache(self) -> dict:
        return self._cache

    def value(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        c = self.cells.get(name)
        if c is None:
            raise BuildError(f"{self.spec.key}: formula refers to unknown cell {name!r}")
        if name in self._evaluating:
            raise BuildError(f"{self.spec.key}: circular reference through {name!r}")
        self._evaluating.add(name)
        try:
            if c.node is None:
                v = c.const
                if isinstance(v, int) and not isinstance(v, bool):
                    v = float(v)
            else:
                v = c.node.evaluate(self)
                if isinstance(v, (pd.Series, pd.DataFrame)):
                    raise BuildError(f"{self.spec.key}: cell {name} holds a range, not one value")
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, int) and not isinstance(v, bool):
                    v = float(v)
        finally:
            self._evaluating.discard(name)
        self.values[name] = v
        return v

    def _spill(self, name: str) -> SpillDef:
        s = self.spills.get(name)
        if s is None:
            raise BuildError(f"{self.spec.key}: unknown spilled table {name!r}")
        if s.value is None:
            key = "spill:" + name
            if key in self._evaluating:
                raise BuildError(f"{self.spec.key}: circular reference through {name!r}")
            self._evaluating.add(key)
            try:
                v = s.node.evaluate(self)
            finally:
                self._evaluating.discard(key)
            if isinstance(v, pd.Series):
                v = v.to_frame()
            if not isinstance(v, (pd.DataFrame, ExcelError)):
                raise BuildError(f"{self.spec.key}: {name} does not spill a table (got {type(v).__name__})")
            s.value = v
            s.grid = _frame_grid(v) if isinstance(v, pd.DataFrame) else [[v]]
        return s

    def _spill_col_index(self, s: SpillDef, col: int | str) -> int:
        df = s.value
        if isinstance(col, int):
            return col
        try:
            return list(df.columns).index(col)
        except ValueError:
            raise BuildError(f"{self.spec.key}: {s.name} has no column {col!r} (columns: {list(df.columns)})") \
                from None

    def spill_value(self, name: str, col: int | str | None) -> Any:
        s = self._spill(name)
        if isinstance(s.value, ExcelError):
            return s.value
        if col is None:
            return s.value
        return s.value.iloc[:, self._spill_col_index(s, col)]

    def spill_cell_value(self, name: str, row: int, col: int | str) -> Any:
        s = self._spill(name)
        if isinstance(s.value, ExcelError):
            return s.value
        j = self._spill_col_index(s, col)
        if row < 1 or row > len(s.value):
            return ExcelError("#REF!", f"{name} has {len(s.value)} rows")
        v = _cell_value(s.value.iloc[row - 1, j])
        return 0.0 if v is None else v

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
        if key not in b.cells:
            raise BuildError(f"{self.spec.key}: row table {table} has no column {key!r}")
        vals = [self.value(n) for n in b.cells[key]]
        if any(isinstance(v, pd.Timestamp) for v in vals):
            return pd.Series(vals)
        return pd.Series([np.nan if v is None else v for v in vals], dtype=object)

    def _to_arg(self, v: Any) -> Any:
        """An evaluated value as the add-in would hand it to the library."""
        if isinstance(v, ExcelError):
            return v.code
        if isinstance(v, pd.Series) and v.dtype == object:
            if any(isinstance(x, ExcelError) for x in v):
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
            self.warnings.append(str(err))
            return X.excel_error(err)
        except KPIInputError as err:
            where = self._locate(err, spec, args)
            if where is not None:  # bad data in an input file: the report fails and says where
                raise ReportInputError(where) from err
            # valid data, but a derived input outside the KPI's domain (a negative margin fed to CLV):
            # the cell shows the Excel error, as the add-in would
            self.warnings.append(str(err))
            return X.excel_error(err)
        return X.result_error(spec, result) or result

    def _locate(self, err: KPIError, spec: K.KPISpec, args: list[Any]) -> str | None:
        """Map a library error position back to the data file row and column (None: not from a file)."""
        names = [a.name for a in spec.args]
        if err.argument in names:
            i = names.index(err.argument)
            v = args[i] if i < len(args) else None
            prov = self._prov.get(id(v))
            if prov is not None and err.position:
                m = _POS.search(err.position)
                if m:
                    r = int(m.group(1) or m.group(3))
                    c = int(m.group(2)) if m.group(2) else 1
                    t: Table = self.data.tables[prov[1]]
                    if 1 <= r <= len(v):
                        idx = v.index[r - 1]
                        file_row = int(t.rows[int(idx)])
                        colname = v.columns[c - 1] if isinstance(v, pd.DataFrame) else v.name
                        return f"{t.file} row {file_row}, column {colname}: {err}"
            if prov is not None:
                return f"{self.data.tables[prov[1]].file}: {err}"
        return None

    # ------------------------------------------------------------- rendering
    def _sheet_ref(self, sheet: str) -> str:
        return "" if sheet == self.sheet else _quote_sheet(sheet) + "!"

    def addr(self, name: str, absolute: bool = True) -> str:
        c = self.cells.get(name)
        if c is None:
            raise BuildError(f"{self.spec.key}: formula refers to unknown cell {name!r}")
        return self._sheet_ref(c.sheet) + _abs(c.row, c.col)

    def table_ref(self, dataset: str, first: str, last: str | None) -> str:
        table = DATASETS[dataset].table
        if last is None:
            return f"{table}[{first}]"
        return f"{table}[[{first}]:[{last}]]"

    def _spill_rows(self, s: SpillDef) -> int:
        return len(s.grid) - 1 if s.grid else 0

    def spill_range(self, name: str, col: int | str | None, header: bool) -> str:
        key = ("spill_range", self.sheet, name, col, header)  # the text depends on the sheet being rendered
        hit = self._cache.get(key)
        if hit is not None:  # per-row formulas (one per customer) ask for the same range thousands of times
            return hit
        s = self._spill(name)
        n = self._spill_rows(s)
        if isinstance(s.value, ExcelError):
            return self._sheet_ref(s.sheet) + _abs(s.row, s.col)
        width = s.value.shape[1]
        r0 = s.row if header else s.row + 1
        r1 = s.row + max(n, 1 if not header else 0)
        if col is None:
            c0, c1 = s.col, s.col + width - 1
        else:
            c0 = c1 = s.col + self._spill_col_index(s, col)
        text = f"{self._sheet_ref(s.sheet)}{_abs(r0, c0)}:{_abs(r1, c1)}"
        if s.value is not None and s.row is not None:  # placed and evaluated: the range can no longer change
            self._cache[key] = text
        return text

    def spill_header_range(self, name: str) -> str:
        s = self._spill(name)
        width = 1 if isinstance(s.value, ExcelError) else s.value.shape[1]
        return f"{self._sheet_ref(s.sheet)}{_abs(s.row, s.col)}:{_abs(s.row, s.col + width - 1)}"

    def spill_cell(self, name: str, row: int, col: int | str) -> str:
        s = self._spill(name)
        j = 0 if isinstance(s.value, ExcelError) else self._spill_col_index(s, col)
        return self._sheet_ref(s.sheet) + _abs(s.row + row, s.col + j)

    def _block_span(self, table: str, key: str) -> tuple[str, int, int, int]:
        """(sheet, first row, last row, column) of a row-table column; an empty table spans its first
        (blank) data cell, so a formula over it reads a blank, as the library reads no rows."""
        b = self.blocks[table]
        names = b.cells[key]
        if names:
            c0, c1 = self.cells[names[0]], self.cells[names[-1]]
            return c0.sheet, c0.row, c1.row, c0.col
        j = [c.key for c in b.spec.columns].index(key)
        return b.spec.sheet, b.first_row, b.first_row, b.spec.col + j

    def block_range(self, table: str, key: str) -> str:
        sheet, r0, r1, c = self._block_span(table, key)
        return f"{self._sheet_ref(sheet)}{_abs(r0, c)}:{_abs(r1, c)}"

    def _list_cells(self, items: str, col: str | int) -> tuple[ItemList, int, int, int]:
        il, r0 = self.lists[items]
        c = il.col + (0 if col == "label" else 1 if col == "value" else 2 + int(col))
        return il, r0, r0 + len(il.items) - 1, c

    def list_range(self, items: str, col: str | int) -> str:
        il, r0, r1, c = self._list_cells(items, col)
        return f"{self._sheet_ref(il.sheet)}{_abs(r0, c)}:{_abs(r1, c)}"

    def list_value(self, items: str, col: str | int) -> Any:
        il, _, _, _ = self._list_cells(items, col)
        if col == "label":
            return pd.Series([it.label for it in il.items], dtype=object)
        names = [it.name if col == "value" else f"{it.name}.{int(col)}" for it in il.items]
        return pd.Series([self.value(n) if n in self.cells else None for n in names], dtype=object)

    def kpi_name(self, excel_name: str) -> str:
        if self.flavour == "classic":
            return excel_name
        return X.formula_name(excel_name, self.flavour, self.namespace)

    def evaluate_node(self, node: Node) -> list:
        v = node.evaluate(self)
        return list(v) if isinstance(v, pd.Series) else [v]

    def range_tuple(self, node: Node) -> list:
        """[sheet, first_row, first_col, last_row, last_col] of a column reference (for charts)."""
        if isinstance(node, F.SpillCol):
            s = self._spill(node.spill)
            j = 0 if isinstance(s.value, ExcelError) else self._spill_col_index(s, node.col)
            n = max(self._spill_rows(s), 1)
            return [s.sheet, s.row + 1, s.col + j, s.row + n, s.col + j]
        if isinstance(node, F.BlockCol):
            sheet, r0, r1, c = self._block_span(node.table, node.key)
            return [sheet, r0, c, r1, c]
        if isinstance(node, F.ListCol):
            il, r0, r1, c = self._list_cells(node.items, node.col)
            return [il.sheet, r0, c, r1, c]
        if isinstance(node, F.Ref):
            c = self.cells[node.name]
            return [c.sheet, c.row, c.col, c.row, c.col]
        raise BuildError(f"{self.spec.key}: a chart needs a column reference, got {type(node).__name__}")


# ----------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------
class _Formats:
    PALETTE = {"ink": "#1F2937", "muted": "#6B7280", "accent": "#1D4ED8", "band": "#E8EEF9", "line": "#C7D2E5",
               "input": "#FFF7D6", "good": "#DCFCE7", "good_ink": "#166534", "bad": "#FEE2E2", "bad_ink": "#991B1B",
               "warn": "#FEF3C7", "warn_ink": "#92400E"}

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self._cache: dict[tuple, Any] = {}

    def get(self, style: str = "value", num: str | None = None) -> Any:
        key = (style, num)
        f = self._cache.get(key)
        if f is not None:
            return f
        p = self.PALETTE
        props: dict[str, Any] = {"font_name": "Calibri", "font_size": 10, "valign": "vcenter"}
        if style == "title":
            props.update(bold=True, font_size=16, font_color=p["ink"])
        elif style == "subtitle":
            props.update(font_size=10, font_color=p["muted"])
        elif style == "banner":
            props.update(italic=True, font_size=9, font_color=p["muted"])
        elif style == "section":
            props.update(bold=True, font_size=11, font_color=p["accent"], bottom=2, bottom_color=p["accent"])
        elif style == "header":
            props.update(bold=True, font_color=p["ink"], bg_color=p["band"], bottom=1, bottom_color=p["line"],
                         text_wrap=True)
        elif style == "label":
            props.update(font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "note":
            props.update(font_size=9, font_color=p["muted"], bottom=1, bottom_color="#EEF2F7")
        elif style == "kpi":
            props.update(bold=True, font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "input":
            props.update(bg_color=p["input"], border=1, border_color="#E5C96B", font_color=p["ink"])
        elif style == "key":
            props.update(bold=True, font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "cell":
            props.update(font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "wrap":
            props.update(text_wrap=True, valign="top", font_color=p["ink"])
        elif style == "plain":
            pass
        if num:
            props["num_format"] = num
        f = self.wb.add_format(props)
        self._cache[key] = f
        return f


def _date_cell_fmt(col_type: str) -> str:
    return {"date": DATE_FMT, "datetime": DATETIME_FMT, "month": MONTH_FMT}[col_type]


class Writer:
    """Writes an evaluated :class:`Builder` into an XlsxWriter workbook."""

    def __init__(self, b: Builder, path: Path) -> None:
        self.b = b
        self.path = path
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "nan_inf_to_errors": False,
                                                  "in_memory": True})
        self.wb.set_properties({"title": b.spec.title, "subject": b.spec.description,
                                "author": "KPI add-in report builder", "created": FIXED_TIME,
                                "comments": "Built by `kpi build`. Regenerate rather than edit by hand."})
        self.fmt = _Formats(self.wb)
        self.ws: dict[str, Any] = {}
        self.manifest: list[ManifestCell] = []
        self.values_ws = None
        self.values_row = 2
        self.live = b.flavour != "values"
        self.spill_records: list[SpillRecord] = []

    # -- cells -------------------------------------------------------------
    def _write_value(self, ws: Any, row: int, col: int, v: Any, fmt: Any) -> None:
        if v is None:
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
            return
        if isinstance(v, ExcelError):
            if not self.live:  # values only: no formula at all, so the error is shown as its text
                ws.write_string(row, col, v.code, fmt)
                return
            # a constant error: a formula that yields it (the writer has no error constant)
            ws.write_formula(row, col, _error_formula(v.code), fmt, v.code)
            return
        if isinstance(v, bool):
            ws.write_boolean(row, col, v, fmt)
        elif isinstance(v, (int, float)):
            ws.write_number(row, col, v, fmt)
        elif isinstance(v, pd.Timestamp):
            ws.write_number(row, col, F.excel_serial(v), fmt)
        elif isinstance(v, str):
            if v == "":
                ws.write_formula(row, col, '=""', fmt, "")
            else:
                ws.write_string(row, col, v, fmt)
        else:
            ws.write_string(row, col, str(v), fmt)

    def _cached(self, v: Any) -> Any:
        """A value as XlsxWriter's cached formula result."""
        if v is None:
            return 0
        if isinstance(v, ExcelError):
            return v.code
        if isinstance(v, pd.Timestamp):
            return F.excel_serial(v)
        return v

    def _stash(self, v: Any, fmt_num: str | None = None) -> str:
        """Store ``v`` on the values sheet; returns its absolute address."""
        r = self.values_row
        self.values_row += 1
        self._write_value(self.values_ws, r, 0, v, self.fmt.get("plain", fmt_num) if fmt_num else None)
        return f"{VALUES_SHEET}!{_abs(r, 0)}"

    def _manifest(self, sheet: str, row: int, col: int, kind: str, v: Any, fmt: str | None,
                  formula: str | None) -> None:
        if isinstance(v, ExcelError):
            mv: Any = v.code
        elif isinstance(v, pd.Timestamp):
            mv = F.excel_serial(v)
        else:
            mv = v
        self.manifest.append(ManifestCell(sheet, xl_rowcol_to_cell(row, col), kind, mv, fmt, formula))

    def _default_fmt(self, c: CellDef) -> str | None:
        if isinstance(c.fmt, tuple):  # formatted like another cell
            return self._default_fmt(self.b.cells[c.fmt[1]])
        if c.fmt:
            return c.fmt
        if c.node is not None and isinstance(c.node, F.KPI):
            spec = K.REGISTRY.get(c.node.name)
            if spec is not None:
                return unit_format(spec, c.node)
        v = self.b.values.get(c.name)
        if isinstance(v, pd.Timestamp):
            return DATE_FMT
        return None

    def write_cell(self, c: CellDef) -> None:
        b = self.b
        ws = self.ws[c.sheet]
        v = b.value(c.name)
        num = self._default_fmt(c)
        style = {"kpi": "kpi", "native": "cell", "input": "input", "key": "key", "value": "cell"}.get(c.style, "cell")
        fmt = self.fmt.get(style, num)
        if c.node is None or not self.live:
            self._write_value(ws, c.row, c.col, v, fmt)
            self._manifest(c.sheet, c.row, c.col, "input" if c.node is None else
                           ("kpi" if _top_kpi(c.node) else "native"), v, num, None)
            return
        b.sheet = c.sheet
        text = c.node.render(b)
        if _top_kpi(c.node):
            fallback = self._stash(v, num)
            text = f"IF({PROBE_NAME},{fallback},{text})"
            kind = "kpi"
        else:
            kind = "native"
        ws.write_formula(c.row, c.col, "=" + text, fmt, self._cached(v))
        self._manifest(c.sheet, c.row, c.col, kind, v, num, "=" + text)

    def write_spill(self, s: SpillDef) -> None:
        b = self.b
        b._spill(s.name)
        ws = self.ws[s.sheet]
        spec = s.spec
        header_fmt = self.fmt.get("header")
        if isinstance(s.value, ExcelError):
            header, cols = [s.value], []
        else:
            header, cols = [str(c) for c in s.value.columns], _columns(s.value)
        width = len(header)
        n = len(cols[0][1]) if cols else 0
        col_fmt: dict[int, str] = {}
        if cols:
            for key, f in spec.col_formats:
                if isinstance(key, int):
                    col_fmt[key] = f
                elif key in header:
                    col_fmt[header.index(key)] = f
                elif key.endswith("*"):
                    for j, cn in enumerate(header):
                        if cn.startswith(key[:-1]):
                            col_fmt[j] = f
            for j, (kind, _) in enumerate(cols):
                if j not in col_fmt and kind == "date":
                    col_fmt[j] = MONTH_FMT
        row_fmt = dict(spec.row_formats)
        if self.live:
            b.sheet = s.sheet
            text = s.node.render(b)
            fallback = self._stash(s.value) if isinstance(s.value, ExcelError) else self._stash_frame(header, cols)
            formula = f"=IF({PROBE_NAME},{fallback},{text})"
            ws.write_dynamic_array_formula(s.row, s.col, s.row + n, s.col + width - 1, formula, header_fmt,
                                           self._cached(header[0]))
            self._manifest(s.sheet, s.row, s.col, "spill", s.value if isinstance(s.value, ExcelError) else header[0],
                           None, formula)
        else:
            self._write_value(ws, s.row, s.col, header[0], header_fmt)
        for j in range(1, width):
            ws.write_string(s.row, s.col + j, header[j], header_fmt)
        nums: list[str | None] = []
        for j, (kind, vals) in enumerate(cols):
            c = s.col + j
            num = col_fmt.get(j)
            nums.append(num)
            if row_fmt and j == width - 1:  # labelled result: the format follows the label
                labels = cols[0][1]
                per_row = [row_fmt.get(lab, num) for lab in labels]
            else:
                per_row = None
            f = self.fmt.get("cell", num)
            for i in range(n):
                v = vals[i]
                r = s.row + 1 + i
                if per_row is not None:
                    f = self.fmt.get("cell", per_row[i])
                if kind in ("num", "date"):
                    if v != v:  # NaN: a blank cell
                        ws.write_blank(r, c, None, f)
                    else:
                        ws.write_number(r, c, v, f)
                elif v is None:
                    ws.write_blank(r, c, None, f)
                elif isinstance(v, str):
                    ws.write_string(r, c, v, f)
                else:
                    self._write_value(ws, r, c, v, f)
        self.spill_records.append(SpillRecord(s.sheet, s.row, s.col, header, cols, nums,
                                              [row_fmt.get(x) for x in cols[0][1]] if row_fmt and cols else None))
        if spec.heatmap and cols and n > 0 and width > 2:
            ws.conditional_format(s.row + 1, s.col + 2, s.row + n, s.col + width - 1, {
                "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B",
                "min_type": "num", "min_value": 0, "mid_type": "num", "mid_value": 0.5,
                "max_type": "num", "max_value": 1})

    def _stash_frame(self, header: list[str], cols: list[tuple[str, list]]) -> str:
        r0 = self.values_row
        ws = self.values_ws
        for j, h in enumerate(header):
            ws.write_string(r0, j, h)
        n = len(cols[0][1]) if cols else 0
        for j, (kind, vals) in enumerate(cols):
            for i in range(n):
                v = vals[i]
                r = r0 + 1 + i
                if kind in ("num", "date"):
                    if v != v:
                        ws.write_formula(r, j, '=""', None, "")
                    else:
                        ws.write_number(r, j, v)
                elif v is None or v == "":
                    ws.write_formula(r, j, '=""', None, "")
                elif isinstance(v, str):
                    ws.write_string(r, j, v)
                else:
                    self._write_value(ws, r, j, v, None)
        self.values_row += n + 2
        return f"{VALUES_SHEET}!{_abs(r0, 0)}:{_abs(r0 + n, len(header) - 1)}"

    # -- blocks ------------------------------------------------------------
    def write_text(self, t: Text) -> None:
        self.ws[t.sheet].write_string(t.row, t.col, t.text, self.fmt.get(t.style))

    def write_banner(self, bn: Banner) -> None:
        ws = self.ws[bn.sheet]
        built = "Values as computed by kpi build. With the KPI add-in loaded the formulas recalculate live."
        live = "Live values: the KPI add-in is computing these formulas."
        f = self.fmt.get("banner")
        if self.live:
            ws.write_formula(bn.row, bn.col, f'=IF({PROBE_NAME},"{built}","{live}")', f, built)
            self._manifest(bn.sheet, bn.row, bn.col, "native", built, None, None)
        else:
            ws.write_string(bn.row, bn.col, "Values as computed by kpi build (no formulas).", f)

    def write_items(self, il: ItemList) -> None:
        ws = self.ws[il.sheet]
        r = il.row
        if il.title:
            ws.write_string(r, il.col, il.title, self.fmt.get("section"))
            width = 2 + len(il.extra_headers) + (1 if il.note_header or any(i.note for i in il.items) else 0)
            for j in range(1, width):
                ws.write_blank(r, il.col + j, None, self.fmt.get("section"))
            r += 1
        hf = self.fmt.get("header")
        note_col = il.col + 2 + len(il.extra_headers)
        has_notes = il.note_header or any(i.note for i in il.items)
        if il.header:
            if il.extra_headers:
                ws.set_row(r, 26)
            ws.write_string(r, il.col, il.label_header, hf)
            ws.write_string(r, il.col + 1, il.value_header, hf)
            for j, h in enumerate(il.extra_headers):
                ws.write_string(r, il.col + 2 + j, h, hf)
            if has_notes:
                ws.write_string(r, note_col, il.note_header, hf)
            r += 1
        for k, it in enumerate(il.items):
            row = r + k
            ws.write_string(row, il.col, it.label, self.fmt.get("label"))
            self.write_cell(self.b.cells[it.name])
            for j in range(len(il.extra_headers)):
                name = f"{it.name}.{j}"
                if name in self.b.cells:
                    self.write_cell(self.b.cells[name])
                else:
                    ws.write_blank(row, il.col + 2 + j, None, self.fmt.get("cell"))
            if has_notes:
                ws.write_string(row, note_col, it.note, self.fmt.get("note")) if it.note else \
                    ws.write_blank(row, note_col, None, self.fmt.get("note"))
        for sc in il.status_cols:
            c = il.col + 2 + sc
            self._status_colors(ws, r, c, r + len(il.items) - 1, c)

    def _status_colors(self, ws: Any, r0: int, c0: int, r1: int, c1: int) -> None:
        p = _Formats.PALETTE
        good = self.wb.add_format({"bg_color": p["good"], "font_color": p["good_ink"], "bold": True})
        bad = self.wb.add_format({"bg_color": p["bad"], "font_color": p["bad_ink"], "bold": True})
        warn = self.wb.add_format({"bg_color": p["warn"], "font_color": p["warn_ink"], "bold": True})
        for word, f in (("On target", good), ("Better than", good), ("Within", good),
                        ("Off target", bad), ("Worse than", bad), ("n/a", warn)):
            ws.conditional_format(r0, c0, r1, c1, {"type": "text", "criteria": "begins with", "value": word,
                                                   "format": f})

    def write_rows(self, bd: BlockDef) -> None:
        spec = bd.spec
        ws = self.ws[spec.sheet]
        r = spec.row
        if spec.title:
            ws.write_string(r, spec.col, spec.title, self.fmt.get("section"))
            for j in range(1, len(spec.columns)):
                ws.write_blank(r, spec.col + j, None, self.fmt.get("section"))
            r += 1
        hf = self.fmt.get("header")
        longest = max((len(c.header) for c in spec.columns), default=0)
        if longest > 11:
            ws.set_row(r, 26 if longest <= 20 else 38)
        for j, c in enumerate(spec.columns):
            ws.write_string(r, spec.col + j, c.header, hf)
        for key in spec.columns:
            for name in bd.cells[key.key]:
                self.write_cell(self.b.cells[name])
        n = len(bd.keys)
        if n:
            for key in spec.heatmap_cols:
                j = [c.key for c in spec.columns].index(key)
                ws.conditional_format(r + 1, spec.col + j, r + n, spec.col + j, {
                    "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84",
                    "max_color": "#63BE7B"})
            for key in spec.bars_cols:
                j = [c.key for c in spec.columns].index(key)
                ws.conditional_format(r + 1, spec.col + j, r + n, spec.col + j, {
                    "type": "data_bar", "bar_color": "#93C5FD", "bar_solid": True})

    def write_chart(self, ch: Chart) -> None:
        b = self.b
        kind = {"line": ("line", None), "column": ("column", None), "stacked": ("column", "stacked"),
                "bar": ("bar", None), "scatter": ("scatter", "straight")}[ch.kind]
        opts = {"type": kind[0]}
        if kind[1]:
            opts["subtype"] = kind[1]
        chart = self.wb.add_chart(opts)
        overlay = None
        for sr in ch.series:
            vals = b.range_tuple(sr.values)
            d: dict[str, Any] = {"name": sr.name, "values": vals}
            if sr.categories is not None:
                d["categories"] = b.range_tuple(sr.categories)
            if sr.invisible:
                d["fill"] = {"none": True}
                d["border"] = {"none": True}
            elif sr.color:
                if ch.kind in ("line", "scatter") or sr.line:
                    d["line"] = {"color": sr.color, "width": 2.25}
                    d["marker"] = {"type": "none"} if ch.kind != "scatter" else {"type": "none"}
                else:
                    d["fill"] = {"color": sr.color}
                    d["border"] = {"none": True}
            if sr.labels:
                d["data_labels"] = {"value": True, "num_format": ch.y_format or "General",
                                    "font": {"size": 8, "color": "#374151"}}
            if sr.y2:
                d["y2_axis"] = True
            if sr.line and ch.kind != "line":
                if overlay is None:
                    overlay = self.wb.add_chart({"type": "line"})
                overlay.add_series(d)
            else:
                chart.add_series(d)
        if overlay is not None:
            chart.combine(overlay)
        chart.set_title({"name": ch.title, "name_font": {"size": 11, "bold": True, "color": "#1F2937"}})
        ax_font = {"size": 8, "color": "#4B5563"}
        y = {"num_font": ax_font, "major_gridlines": {"visible": True, "line": {"color": "#E5E7EB"}},
             "line": {"none": True}}
        if ch.y_format:
            y["num_format"] = ch.y_format
        if ch.y_title:
            y["name"] = ch.y_title
            y["name_font"] = {"size": 8, "bold": False}
        if ch.y_min == "waterfall":
            y["min"] = self._waterfall_min(ch)
        elif ch.y_min is not None:
            y["min"] = ch.y_min
        if ch.y_log:
            y["log_base"] = 10
        x = {"num_font": ax_font, "line": {"color": "#D1D5DB"}, "label_position": "low"}
        if ch.x_format:
            x["num_format"] = ch.x_format
        if ch.x_title:
            x["name"] = ch.x_title
            x["name_font"] = {"size": 8, "bold": False}
        if ch.reverse_categories:
            (y if ch.kind == "bar" else x)["reverse"] = True
            if ch.kind == "bar":
                y["reverse"] = False
                x2 = dict(x)
                x2.pop("reverse", None)
                chart.set_y_axis({**x2, "reverse": True, "num_font": ax_font})
        if ch.kind == "bar":
            chart.set_x_axis(y)
            chart.set_y_axis({"num_font": ax_font, "reverse": ch.reverse_categories, "line": {"color": "#D1D5DB"}})
        else:
            chart.set_x_axis(x)
            chart.set_y_axis(y)
        if ch.y2_format:
            chart.set_y2_axis({"num_format": ch.y2_format, "num_font": ax_font})
        if ch.kind in ("column", "stacked"):
            chart.set_plotarea({"layout": None})
            chart.set_style(2)
        chart.set_legend({"position": ch.legend, "font": {"size": 8}} if ch.legend != "none" else {"none": True})
        chart.set_chartarea({"border": {"color": "#E5E7EB"}})
        chart.set_size({"width": ch.width, "height": ch.height})
        self.ws[ch.sheet].insert_chart(ch.cell, chart, {"x_offset": 4, "y_offset": 4})

    def _waterfall_min(self, ch: Chart) -> float:
        """Axis minimum of a bridge chart: a round number under its lowest bar, so the changes show."""
        b = self.b
        base = b.evaluate_node(ch.series[0].values)
        levels = []
        for sr in ch.series[1:]:
            vals = b.evaluate_node(sr.values)
            for bv, v in zip(base, vals):
                if isinstance(v, (int, float)) and isinstance(bv, (int, float)) and v:
                    levels.append(bv + (v if sr.name != "Decrease" else 0))
                    levels.append(bv)
        lows = [x for x in levels if x > 0]
        if not lows:
            return 0
        low = min(lows) * 0.97
        step = 10 ** max(0, int(math.log10(max(low, 1))) - 1)
        return float(math.floor(low / step) * step)

    # -- input tables --------------------------------------------------------
    def write_input(self, ds_name: str, sheet: SheetSpec) -> None:
        ds = DATASETS[ds_name]
        t = self.b.data.tables[ds_name]
        ws = self.ws[sheet.name]
        df = t.df
        n = len(df)
        cols = ds.columns
        ws.add_table(0, 0, max(n, 1), len(cols) - 1, {
            "name": ds.table, "style": "Table Style Light 9",
            "columns": [{"header": c.name} for c in cols]})
        for j, c in enumerate(cols):
            s = df[c.name]
            if c.type in ("id", "text"):
                width = min(max([len(c.name) + 2] + [len(x) for x in s.dropna().head(200)]) + 1, 48)
                ws.set_column(j, j, width)
                wr = ws.write_string
                for i, v in enumerate(s.to_numpy(dtype=object)):
                    if v is not None:
                        wr(i + 1, j, v)
            elif c.type in ("number", "integer"):
                num = "#,##0" if c.type == "integer" else "#,##0.00"
                f = self.fmt.get("plain", num)
                ws.set_column(j, j, max(len(c.name) + 3, 11), f)
                arr = s.to_numpy(dtype=float)
                wr = ws.write_number
                for i in np.flatnonzero(~np.isnan(arr)):
                    wr(int(i) + 1, j, float(arr[i]), f)
            else:
                num = _date_cell_fmt(c.type)
                f = self.fmt.get("plain", num)
                ws.set_column(j, j, 17 if c.type == "datetime" else 12, f)
                arr = F.to_serial_array(s)
                wr = ws.write_number
                for i in np.flatnonzero(~np.isnan(arr)):
                    wr(int(i) + 1, j, float(arr[i]), f)
        ws.freeze_panes(1, 0)

    # -- notes -----------------------------------------------------------------
    def write_notes(self, sheet: str, kpi_cells: dict[str, list[str]]) -> None:
        b = self.b
        ws = self.ws[sheet]
        f = self.fmt
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 62)
        ws.set_column(2, 2, 46)
        ws.set_column(3, 3, 26)
        r = 0
        ws.write_string(r, 0, f"Notes — {b.spec.title}", f.get("title"))
        r += 1
        ws.write_string(r, 0, b.spec.description, f.get("subtitle"))
        r += 2
        ws.write_string(r, 0, "About this report", f.get("section"))
        for j in range(1, 4):
            ws.write_blank(r, j, None, f.get("section"))
        r += 1
        d = b.data
        about = [
            ("Report month", d.report_month.strftime("%B %Y") +
             " — the business as known at the end of that month: rows dated later are not part of it, and "
             "later end, response and resolution times are left blank (still running or open then)."),
            ("Segment", d.segment_label),
            ("Data", d.source or "—"),
            ("Formulas", {"classic": "KPI formulas for the classic Excel add-in (=KPI_…).",
                          "officejs": "KPI formulas for the Office.js add-in (kpi serve).",
                          "values": "Values only: this copy holds no formulas."}[b.flavour]),
            ("Without the add-in", "Each KPI cell reads =IF(AddinMissing, <stored value>, KPI_…(…)). "
             "AddinMissing (the hidden _values sheet) is TRUE when the KPI functions are not available, "
             "so the cell shows the value computed when the report was built instead of #NAME?."),
            ("Input tables", "Paste or link your data into the tables on the input sheets; the KPI formulas "
             "read whole table columns. Re-run `kpi build` to re-lay the monthly and per-customer tables."),
        ]
        for k, v in about:
            ws.write_string(r, 0, k, f.get("label"))
            ws.write_string(r, 1, v, f.get("wrap"))
            r += 1
        r += 1
        ws.write_string(r, 0, "KPI definitions", f.get("section"))
        for j in range(1, 4):
            ws.write_blank(r, j, None, f.get("section"))
        r += 1
        for j, h in enumerate(("Function", "Definition", "Formula", "Cells")):
            ws.write_string(r, j, h, f.get("header"))
        r += 1
        for name in sorted(kpi_cells, key=lambda n: list(K.REGISTRY).index(n) if n in K.REGISTRY else 999):
            spec = K.REGISTRY[name]
            ws.write_string(r, 0, spec.signature_text, f.get("wrap"))
            ws.write_string(r, 1, spec.summary, f.get("wrap"))
            ws.write_string(r, 2, spec.formula, f.get("wrap"))
            cells = kpi_cells[name]
            shown = ", ".join(cells[:6]) + (f" and {len(cells) - 6} more" if len(cells) > 6 else "")
            ws.write_string(r, 3, shown, f.get("wrap"))
            r += 1
        r += 1
        ws.write_string(r, 0, "Input tables", f.get("section"))
        for j in range(1, 4):
            ws.write_blank(r, j, None, f.get("section"))
        r += 1
        for ds_name in b.spec.datasets:
            ds = DATASETS[ds_name]
            t = d.tables[ds_name]
            ws.write_string(r, 0, f"{ds.sheet} (table {ds.table})", f.get("key"))
            ws.write_string(r, 1, f"{ds.description} Source: {t.file}, {len(t.df)} rows in this report.",
                            f.get("wrap"))
            r += 1
            for j, h in enumerate(("Column", "Description", "Type", "Unit")):
                ws.write_string(r, j, h, f.get("header"))
            r += 1
            for c in ds.columns:
                ws.write_string(r, 0, c.name, f.get("cell"))
                ws.write_string(r, 1, c.description + ("" if c.required else " (may be blank)"), f.get("wrap"))
                ws.write_string(r, 2, c.type, f.get("cell"))
                ws.write_string(r, 3, c.unit or "—", f.get("cell"))
                r += 1
            r += 1
        if b.warnings or d.notices:
            ws.write_string(r, 0, "Warnings", f.get("section"))
            r += 1
            for w in list(dict.fromkeys(d.notices + b.warnings)):
                ws.write_string(r, 0, "•", f.get("cell"))
                ws.write_string(r, 1, w, f.get("wrap"))
                r += 1

    # -- the whole workbook --------------------------------------------------
    def write(self) -> BuildResult:
        b = self.b
        spec = b.spec
        for sh in spec.sheets:
            ws = self.wb.add_worksheet(sh.name)
            self.ws[sh.name] = ws
            ws.hide_gridlines(2 if sh.kind in ("report", "notes") else 0)
            for col, w in sh.widths:
                ws.set_column(col, col, w)
            if sh.landscape:
                ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
            ws.fit_to_pages(sh.fit_width, sh.fit_height)
            if sh.print_area:
                ws.print_area(sh.print_area)
            if sh.tab_color:
                ws.set_tab_color(sh.tab_color)
            if sh.zoom:
                ws.set_zoom(sh.zoom)
            if sh.kind == "calc":
                ws.set_tab_color("#9CA3AF")
            if sh.hidden:
                ws.hide()
        if self.live:
            self.values_ws = self.wb.add_worksheet(VALUES_SHEET)
            self.values_ws.hide()
            self.values_ws.write_string(0, 1, "TRUE where the KPI add-in is not loaded; below: the values "
                                              "kpi build computed (shown by KPI cells without the add-in).")
            probe = self.b.kpi_name(_probe_function())
            self.values_ws.write_formula(0, 0, f"=ISERROR({probe}(1))", None, True)
            self.wb.define_name(PROBE_NAME, f"={VALUES_SHEET}!$A$1")
        # input tables
        for sh in spec.sheets:
            if sh.kind == "input":
                ds_name = next(d for d in spec.datasets if DATASETS[d].sheet == sh.name)
                self.write_input(ds_name, sh)
        for blk in spec.blocks:
            if isinstance(blk, Text):
                self.write_text(blk)
            elif isinstance(blk, Banner):
                self.write_banner(blk)
            elif isinstance(blk, Spill):
                self.write_spill(b.spills[blk.name])
            elif isinstance(blk, ItemList):
                self.write_items(blk)
            elif isinstance(blk, RowTable):
                self.write_rows(b.blocks[blk.name])
        for ch in spec.charts:
            self.write_chart(ch)
        kpi_cells: dict[str, list[str]] = {}
        for c in b.cells.values():
            if c.node is not None:
                for k in dict.fromkeys(c.node.kpis()):
                    kpi_cells.setdefault(k, []).append(f"{c.sheet}!{xl_rowcol_to_cell(c.row, c.col)}")
        for s in b.spills.values():
            for k in dict.fromkeys(s.node.kpis()):
                kpi_cells.setdefault(k, []).append(f"{s.sheet}!{xl_rowcol_to_cell(s.row, s.col)}")
        notes = next((sh.name for sh in spec.sheets if sh.kind == "notes"), None)
        if notes:
            self.write_notes(notes, kpi_cells)
        first = spec.sheets[0].name
        self.ws[first].activate()
        self.wb.close()
        headline = {n: b.values.get(n) for n in b.cells}
        return BuildResult(path=self.path, cells=self.manifest, warnings=list(dict.fromkeys(b.warnings)),
                           kpis=kpi_cells, headline=headline, spills=self.spill_records)


def _probe_function() -> str:
    """The KPI function the add-in probe calls: ARR is the simplest (12 × 1)."""
    if "KPI_ARR" in K.REGISTRY:
        return "KPI_ARR"
    return next(iter(K.REGISTRY))


def _error_formula(code: str) -> str:
    return "=" + X.literal(ExcelError(code))


def _grid_extents(b: Builder) -> list[tuple[str, str, int, int]]:
    """Every rectangle the writer will fill: (sheet, what, rows needed, columns needed), counted from A1.

    Mirrors :class:`Writer`: header rows and start offsets included, hidden sheets and the hidden values
    sheet (its stored KPI values and spill tables, in the order the writer stores them) as well.
    """
    spec = b.spec
    out: list[tuple[str, str, int, int]] = []
    for sh in spec.sheets:
        if sh.kind == "input":
            ds_name = next(d for d in spec.datasets if DATASETS[d].sheet == sh.name)
            n = len(b.data.tables[ds_name].df)
            out.append((sh.name, f"input table {DATASETS[ds_name].table} of {n:,} rows and its header",
                        max(n, 1) + 1, len(DATASETS[ds_name].columns)))
    for c in b.cells.values():
        out.append((c.sheet, f"cell {c.name}", c.row + 1, c.col + 1))
    live = b.flavour != "values"
    values_row = 2  # Writer.values_row: rows 1-2 hold the add-in probe and its note
    values_max = 2

    def stash_cell(name: str) -> None:
        nonlocal values_row, values_max
        c = b.cells.get(name)
        if live and c is not None and c.node is not None and _top_kpi(c.node):
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
            out.append((s.sheet, f"table {s.name} of {n:,} rows and its header", s.row + 1 + n, s.col + width))
            if live:
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
            out.append((blk.sheet, f"table {blk.name} of {n:,} rows and its header", bd.first_row + n,
                        blk.col + len(blk.columns)))
            for col in blk.columns:
                for name in bd.cells[col.key]:
                    stash_cell(name)
    if live:
        out.append((VALUES_SHEET, "stored KPI values", values_max, 2))
    return out


def check_grid(b: Builder) -> None:
    """Refuse a report that would not fit Excel's grid (:data:`MAX_ROWS` × :data:`MAX_COLS`).

    Called before any file is written: XlsxWriter would drop the cells past the grid without a word,
    and a report must never hold a truncated table. Reads the module constants at call time.
    """
    max_rows, max_cols = MAX_ROWS, MAX_COLS
    hint = ("split the data with `kpi build --by <column>` (one workbook per value), "
            "or use the large-data layout (to come)")
    for sheet, what, rows, cols in _grid_extents(b):
        if rows > max_rows:
            raise GridLimitError(f"sheet {sheet!r} needs {rows:,} rows ({what}); a worksheet holds at most "
                                 f"{max_rows:,} rows: {hint}")
        if cols > max_cols:
            raise GridLimitError(f"sheet {sheet!r} needs {cols:,} columns ({what}); a worksheet holds at most "
                                 f"{max_cols:,} columns: {hint}")


def evaluate(spec: ReportSpec, data: ReportData, flavour: str = "classic", namespace: str | None = None) -> Builder:
    """Lay out and evaluate a report without writing it; refuses one that would not fit the grid."""
    b = Builder(spec, data, flavour, namespace)
    b.layout()
    for s in b.spills:
        b._spill(s)
    check_grid(b)  # every table's size is known now: fail before any cell is evaluated or written
    for name in b.order:
        b.value(name)
    return b


def build_workbook(spec: ReportSpec, data: ReportData, path: Path | str, flavour: str = "classic",
                   namespace: str | None = None) -> BuildResult:
    """Build one report into ``path`` (written directly; see :func:`.batch.atomic_build` for safe writes)."""
    b = evaluate(spec, data, flavour, namespace)
    return Writer(b, Path(path)).write()
