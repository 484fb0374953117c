"""One Excel convention: the add-in and the report builder show the same cells for the same call.

Every registry function runs on its documented example through both callers
of :mod:`kpi_functions.excel`:

- the add-in path: ``addin.adapters.ADAPTERS[name]`` (plain functions here, as
  the tests call them on the classic path), given the arguments as Excel hands
  them over (2-D lists; a cell reference as a 1×1 range);
- the builder path: ``workbook_templates.build.evaluation.Report.call_kpi`` (what
  computes the cached value of every ``=KPI_…`` formula a report holds), given
  the values its formula model evaluates (a column as a ``pd.Series``, a table
  as a ``pd.DataFrame``, a cell as a scalar, an error cell as an
  ``ExcelError``), its result turned into cells the way the writer writes them.

The cells must be identical: values, errors as their codes, dates as dates.
Also with an error value in the arguments (the first in argument order wins),
a one-cell range, and an infinite result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kpi_functions as K
from kpi_functions.excel import EXCEL_ERRORS, ExcelError

adapters = pytest.importorskip("addin.adapters")
E = pytest.importorskip("workbook_templates.build.evaluation")
W = pytest.importorskip("workbook_templates.build.writer")
F = pytest.importorskip("workbook_templates.formulas")

SPECS = list(K.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]


# --------------------------------------------------------------------------
# The two callers
# --------------------------------------------------------------------------
def _is_2d(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(r, list) for r in v)


def excel_arg(spec_arg: K.Arg, v: Any) -> Any:
    """An example argument as Excel hands it over: a range as a 2-D list, a cell reference as 1×1."""
    if v is None:
        return None
    if isinstance(v, list):
        return [list(r) for r in v] if _is_2d(v) else [[x] for x in v]
    return [[v]] if spec_arg.is_range else v


def builder_arg(spec_arg: K.Arg, v: Any) -> Any:
    """The same argument as the builder's formula model evaluates it."""
    if v is None:
        return None
    if isinstance(v, ExcelError):
        return v
    if isinstance(v, list):
        if _is_2d(v):
            if spec_arg.kind == "table":  # a table reference: its columns, named by the header row
                return pd.DataFrame(v[1:], columns=[str(h) for h in v[0]])
            return pd.DataFrame(v)  # a range of several columns, no header
        return pd.Series(v)  # one column
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _builder() -> Any:
    """A report with nothing laid out: enough for its KPI calls (no data file behind any value)."""
    b = object.__new__(E.Report)
    b.spec = SimpleNamespace(key="common")
    b._warned, b._stack = {}, []  # warnings: none said yet, no cell being evaluated
    b._prov = {}
    return b


def via_adapter(spec: K.KPISpec, values: list[Any]) -> Any:
    return adapters.ADAPTERS[spec.excel_name](*values)


def via_builder(spec: K.KPISpec, values: list[Any]) -> Any:
    out = _builder().call_kpi(F.KPI(spec.excel_name), values)
    return builder_cells(out)


def builder_cells(out: Any) -> Any:
    """A builder value as the writer writes it: a spill through ``writer._columns``, a scalar as it is."""
    if isinstance(out, ExcelError):
        return out
    if isinstance(out, pd.Series):
        out = out.to_frame()  # as Report._spill
    if isinstance(out, pd.DataFrame):
        cols = W._columns(out)
        rows: list[list[Any]] = [[str(c) for c in out.columns]]
        for i in range(out.shape[0]):
            row = []
            for kind, vals in cols:
                x = vals[i]
                if kind == "date":
                    x = None if math.isnan(x) else F.EPOCH + pd.to_timedelta(x, unit="D")
                row.append(x)
            rows.append(row)
        return rows
    return out  # a scalar is written as it is (Writer._write_value): no conversion of its own


# --------------------------------------------------------------------------
# Comparing cells
# --------------------------------------------------------------------------
def norm(x: Any) -> Any:
    """A cell as (kind, value): errors as their codes, dates as dates (to the millisecond)."""
    if x is None:
        return None
    if isinstance(x, str) and x in EXCEL_ERRORS:
        return ("error", str.__str__(x))
    if isinstance(x, (bool, np.bool_)):
        return ("bool", bool(x))
    if isinstance(x, (pd.Timestamp, dt.datetime, dt.date)):
        return ("date", pd.Timestamp(x).round("ms"))
    if isinstance(x, (int, float, np.integer, np.floating)):
        f = float(x)
        return None if math.isnan(f) else ("number", f)
    if isinstance(x, str):
        return ("text", x)
    return ("other", repr(x))


def cells(result: Any) -> Any:
    if isinstance(result, list):
        return [[norm(x) for x in row] for row in result]
    return norm(result)


def assert_same_cells(spec: K.KPISpec, excel_values: list[Any], builder_values: list[Any]) -> Any:
    got_addin = cells(via_adapter(spec, excel_values))
    got_builder = cells(via_builder(spec, builder_values))
    assert got_builder == got_addin, f"{spec.excel_name}: the builder shows {got_builder!r}, the add-in {got_addin!r}"
    return got_addin


def example(spec: K.KPISpec) -> list[Any]:
    return list(spec.example)


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------
def test_every_registry_function_has_an_example():
    assert [s.excel_name for s in SPECS if not s.example] == []


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_example_gives_the_same_cells_on_both_paths(spec):
    ex = example(spec)
    got = assert_same_cells(spec, [excel_arg(a, v) for a, v in zip(spec.args, ex)],
                            [builder_arg(a, v) for a, v in zip(spec.args, ex)])
    assert got is not None and not (isinstance(got, tuple) and got[0] == "error"), \
        f"{spec.excel_name}: the example is an error ({got}), so it checks nothing"


def _error_cases(spec: K.KPISpec) -> list[tuple[int, Any]]:
    """(argument index, example value) of every argument given in the example that can hold an error cell."""
    return [(i, v) for i, (a, v) in enumerate(zip(spec.args, example(spec))) if v is not None and a.is_range]


def _with_error(spec_arg: K.Arg, v: Any, code: str, cell: int) -> Any:
    """The example argument with ``code`` in its ``cell``-th data cell (a scalar becomes the error)."""
    if not isinstance(v, list):
        return code
    if _is_2d(v):
        rows = [list(r) for r in v]
        first = 1 if spec_arg.kind == "table" else 0  # a table's header row is no data cell
        r = min(first + cell, len(rows) - 1)
        rows[r][0] = code
        return rows
    out = list(v)
    out[min(cell, len(out) - 1)] = code
    return out


def _builder_error_arg(spec_arg: K.Arg, v: Any) -> Any:
    """As the formula model holds it: an error cell is an ExcelError (in an object column)."""
    if isinstance(v, str) and v in EXCEL_ERRORS:
        return ExcelError(v, "an error cell")
    if isinstance(v, list):
        if _is_2d(v):
            v = [[ExcelError(x, "an error cell") if isinstance(x, str) and x in EXCEL_ERRORS else x for x in r]
                 for r in v]
            if spec_arg.kind == "table":
                return pd.DataFrame(v[1:], columns=[str(h) for h in v[0]], dtype=object)
            return pd.DataFrame(v, dtype=object)
        return pd.Series([ExcelError(x, "an error cell") if isinstance(x, str) and x in EXCEL_ERRORS else x
                          for x in v], dtype=object)
    return builder_arg(spec_arg, v)


ERROR_SPECS = [s for s in SPECS if _error_cases(s)]


@pytest.mark.parametrize("spec", ERROR_SPECS, ids=[s.excel_name for s in ERROR_SPECS])
def test_the_first_error_value_in_argument_order_wins_on_both_paths(spec):
    """#N/A in the second data cell of the first argument, #DIV/0! in the first cell of the last one: #N/A."""
    cases = _error_cases(spec)
    ex = example(spec)
    (i_first, v_first), (i_last, v_last) = cases[0], cases[-1]
    ex[i_first] = _with_error(spec.args[i_first], v_first, "#N/A", 1)
    if i_last != i_first:
        ex[i_last] = _with_error(spec.args[i_last], v_last, "#DIV/0!", 0)
    excel_values = [excel_arg(a, v) for a, v in zip(spec.args, ex)]
    builder_values = [_builder_error_arg(a, v) for a, v in zip(spec.args, ex)]
    assert assert_same_cells(spec, excel_values, builder_values) == ("error", "#N/A")


@pytest.mark.parametrize("spec", ERROR_SPECS, ids=[s.excel_name for s in ERROR_SPECS])
def test_an_error_value_in_the_last_argument_on_both_paths(spec):
    cases = _error_cases(spec)
    ex = example(spec)
    i, v = cases[-1]
    ex[i] = _with_error(spec.args[i], v, "#REF!", 0)
    excel_values = [excel_arg(a, v) for a, v in zip(spec.args, ex)]
    builder_values = [_builder_error_arg(a, v) for a, v in zip(spec.args, ex)]
    assert assert_same_cells(spec, excel_values, builder_values) == ("error", "#REF!")


def _one_cell_cases() -> list[tuple[K.KPISpec, int]]:
    out = []
    for s in SPECS:
        for i, (a, v) in enumerate(zip(s.args, s.example)):
            if a.is_range and a.kind != "table" and v is not None:
                out.append((s, i))
                break
    return out


ONE_CELL = _one_cell_cases()


@pytest.mark.parametrize("spec, i", ONE_CELL, ids=[f"{s.excel_name}-{s.args[i].name}" for s, i in ONE_CELL])
def test_a_one_cell_range_is_the_value_it_holds_on_both_paths(spec, i):
    """The first range argument reduced to its first cell: the add-in gets a 1×1 range, the builder the cell."""
    ex = example(spec)
    v = ex[i]
    while isinstance(v, list):
        v = v[0]
    ex[i] = v
    excel_values = [excel_arg(a, x) for a, x in zip(spec.args, ex)]
    assert excel_values[i] == [[v]]
    builder_values = [builder_arg(a, x) for a, x in zip(spec.args, ex)]
    assert_same_cells(spec, excel_values, builder_values)


def test_an_infinite_result_is_num_on_both_paths(monkeypatch):
    spec = dataclasses.replace(K.get("KPI_CAC"), func=lambda cost, customers: float("inf"))
    monkeypatch.setitem(K.REGISTRY, spec.excel_name, spec)
    got_addin = cells(adapters.call_spec(spec, [[[1.0]], [[1.0]]], path="python"))
    got_builder = cells(via_builder(spec, [1.0, 1.0]))
    assert got_builder == got_addin == ("error", "#NUM!")


def test_a_library_error_is_the_same_code_on_both_paths():
    """A domain error (#NUM!), an undefined KPI (#DIV/0!) and bad input (#VALUE!) map alike."""
    nps = K.get("KPI_NPS")
    arpu = K.get("KPI_ARPU")
    assert assert_same_cells(nps, [[[11]]], [11.0]) == ("error", "#NUM!")
    assert assert_same_cells(arpu, [[[100]], [[0]]], [100.0, 0.0]) == ("error", "#DIV/0!")
    assert assert_same_cells(nps, [[["x"]]], [pd.Series(["x"])]) == ("error", "#VALUE!")
