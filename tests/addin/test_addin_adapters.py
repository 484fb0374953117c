"""The adapters themselves, and the classic Windows (COM) path.

In this process xlwings' decorators are no-ops (no pywin32, no server mode),
so the adapters are plain functions: we call them with what xlwings' COM path
hands over (2-D tuples, None for blanks, datetime for dates, floats for every
number) and compare with the library. The classic decorators themselves run in
a subprocess with stand-ins for pywin32, which lets xlwings generate the VBA
that "Import Functions" would write into the workbook.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from addin_helpers import assert_matches, com_arg, expected_cells

import kpi_functions as k
from addin import adapters
from addin.adapters import ADAPTERS, ERROR_MAP, ExcelError, KPIFormulaError, render_error, to_excel
from kpi_functions import KPIError

SPECS = list(k.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]


def test_one_adapter_per_registry_function_in_catalog_order():
    assert list(ADAPTERS) == list(k.REGISTRY)
    for name, f in ADAPTERS.items():
        assert getattr(adapters, name) is f
        assert name in adapters.__all__


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_adapter_signature_and_help_come_from_the_registry(spec):
    f = ADAPTERS[spec.excel_name]
    assert f.__name__ == spec.excel_name
    lib = inspect.signature(spec.func).parameters
    mine = inspect.signature(f).parameters
    assert list(mine) == list(lib)
    for name, p in mine.items():
        assert p.kind is p.POSITIONAL_OR_KEYWORD
        assert p.default == lib[name].default
    assert f.__doc__ == spec.description and "\n" not in f.__doc__
    # Excel's function wizard (classic) truncates descriptions beyond 255 characters
    assert len(spec.summary) <= len(spec.description) <= 255 and spec.description.startswith(spec.summary)
    assert all(0 < len(a.help) <= 255 for a in spec.args)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_classic_path_com_style_arguments_give_the_library_answer(spec):
    """2-D tuples, None blanks, datetime dates, numbers as floats — as xlwings' COM path delivers."""
    args = [com_arg(a) for a in spec.example]
    got = ADAPTERS[spec.excel_name](*args)
    try:
        want = spec.func(*spec.example)
    except KPIError as err:
        assert isinstance(got, ExcelError) and got.message == str(err)
        return
    assert not isinstance(got, ExcelError), got.message if isinstance(got, ExcelError) else got
    assert_matches(got, expected_cells(want), spec.excel_name, officejs=False)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_text_in_a_range_is_a_value_error_naming_the_argument(spec):
    """The common-test substitution (first numeric cell of a range argument -> "abc")."""
    args = [com_arg(a) for a in spec.example]
    for i, (a, v) in enumerate(zip(spec.args, args)):
        if a.is_range and isinstance(v, float):
            v = ((v,),)
        if not (a.is_range and isinstance(v, tuple)):
            continue
        rows = [list(r) for r in v]
        for r, row in enumerate(rows):
            for c, x in enumerate(row):
                if isinstance(x, float):
                    rows[r][c] = "abc"
                    args[i] = tuple(tuple(row) for row in rows)
                    got = ADAPTERS[spec.excel_name](*args)
                    assert isinstance(got, ExcelError), got
                    assert got.code in ("#VALUE!", "#NUM!"), got.message  # text in a number or an id column
                    assert got.message.startswith(spec.excel_name + ":") and f"'{a.name}'" in got.message
                    return
    pytest.skip("no numeric cell in a range argument of the example")


def test_the_first_error_value_in_argument_order_is_returned_unchanged():
    got = adapters.KPI_ARPU(((1.0,), ("abc",), ("#REF!",)), (("#N/A",),))
    assert got == "#REF!" and got.code == "#REF!"
    assert got.message == "KPI_ARPU: argument 'revenue', row 3, column 1: the input holds the error #REF!"
    got = adapters.KPI_CLV(((100.0,),), ((0.05,),), "#DIV/0!")  # an option argument, single value
    assert got == "#DIV/0!" and "argument 'gross_margin'" in got.message


def test_blanks_are_ignored_and_one_cell_ranges_are_single_values():
    assert adapters.KPI_ARPU(((100.0,), (None,), (200.0,)), ((3.0,),)) == 100.0
    assert adapters.KPI_ARPU(((100.0, None), (None, 200.0)), 3.0) == 100.0


def test_dates_as_datetime_give_the_same_table_as_iso_text():
    spec = k.get("KPI_MRR_MOVEMENTS")
    com = com_arg(spec.example[0])
    assert isinstance(com[1][1], dt.datetime)
    assert adapters.KPI_MRR_MOVEMENTS(com) == adapters.KPI_MRR_MOVEMENTS(spec.example[0])


@pytest.mark.parametrize(
    "error, code",
    [
        (k.KPIInputError("KPI_X", "bad", argument="a"), "#VALUE!"),
        (k.KPIDomainError("KPI_X", "out of range", argument="a"), "#NUM!"),
        (k.KPIUndefinedError("KPI_X", "empty", argument="a"), "#DIV/0!"),
        (k.KPIModelError("KPI_X", "no fit"), "#NUM!"),
        (k.KPIErrorValue("KPI_X", "#N/A", argument="a"), "#N/A"),
        (k.KPIErrorValue("KPI_X", "#SPILL!", argument="a"), "#SPILL!"),
    ],
)
def test_error_map(error, code):
    assert adapters.excel_error_for(error) == code


def test_error_map_is_one_ordered_table_from_specific_to_general():
    classes = [c for c, _ in ERROR_MAP]
    for i, c in enumerate(classes):
        for later in classes[i + 1:]:
            assert not issubclass(later, c), f"{later.__name__} after its base {c.__name__} is unreachable"
    assert classes[-1] is KPIError


def test_errors_on_each_path():
    msg = "KPI_NPS: argument 'scores', item 1: 11 must be between 0 and 10"
    classic = render_error("#NUM!", msg, "classic")
    assert classic == f"#NUM! {msg}" and type(classic) is str  # COM: the error as text, message included
    for path in ("server", "python"):
        e = render_error("#NUM!", msg, path)
        assert e == "#NUM!" and e.message == msg  # the error value itself, carrying its message
    assert render_error("#NUM!", msg, "lite") == "#NUM!"
    with pytest.raises(KPIFormulaError, match="between 0 and 10"):  # Lite shows a raised error as #VALUE! + message
        render_error("#VALUE!", msg, "lite")


def test_excel_error_is_the_error_string():
    e = ExcelError("#VALUE!", "why")
    assert e == "#VALUE!" and isinstance(e, str) and e.startswith("#")
    assert json.dumps(e) == '"#VALUE!"'
    import pickle

    assert pickle.loads(pickle.dumps(e)).message == "why"


def test_results_nan_is_blank_and_timestamps_are_datetimes():
    spec = k.get("KPI_SURVIVAL_CURVE")
    df = pd.DataFrame({
        "month": pd.to_datetime(["2026-01-01", None]),
        "n": pd.array([1, None], dtype="Int64"),
        "x": [1.5, np.nan],
        "label": pd.array(["a", None], dtype="string"),
        "flag": [True, False],
    })
    rows = to_excel(spec, df)
    assert rows == [
        ["month", "n", "x", "label", "flag"],
        [dt.datetime(2026, 1, 1), 1, 1.5, "a", True],
        [None, None, None, None, False],
    ]
    assert type(rows[1][0]) is dt.datetime and type(rows[1][1]) is int and type(rows[1][2]) is float
    assert to_excel(spec, float("nan")) is None
    assert to_excel(spec, np.float64(0.25)) == 0.25 and type(to_excel(spec, np.int64(3))) is int
    assert to_excel(spec, pd.Series([1.0, np.nan], name="score")) == [["score"], [1.0], [None]]
    assert to_excel(spec, pd.DataFrame({"a": []})) == [["a"]]
    assert to_excel(spec, pd.DataFrame({"a": [np.inf, 1.0]})) == [["a"], ["#NUM!"], [1.0]]  # Excel has no infinity


def test_an_infinite_scalar_result_is_num():
    """Excel has no infinity: should a KPI ever return one, the adapter answers #NUM!."""
    import dataclasses

    spec = dataclasses.replace(k.get("KPI_CAC"), func=lambda cost, customers: float("inf"))
    got = adapters.call_spec(spec, [((1.0,),), ((1.0,),)], path="python")
    assert got == "#NUM!" and got.message == "KPI_CAC: the result (inf) is too large for Excel"


def test_adapters_do_no_arithmetic():
    """No KPI arithmetic in addin/: the adapters only call the library."""
    import ast
    from pathlib import Path

    src = Path(adapters.__file__).read_text()
    tree = ast.parse(src)
    ops = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.Mult, ast.Pow))]
    # the only arithmetic: divmod for a position, 1-based row/column numbers
    assert ops == [], [ast.unparse(o) for o in ops]


CLASSIC = textwrap.dedent(
    r'''
    import io, json, sys, types
    # stand-ins for pywin32 so xlwings' classic UDF module imports on this machine
    for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["pythoncom"].CoInitialize = lambda: None
    sys.modules["win32com.client"].Dispatch = lambda *a, **k: None
    sys.modules["win32com"].client = sys.modules["win32com.client"]
    import xlwings.udfs as udfs
    import kpi_functions as k
    from addin.adapters import build_adapter

    module = types.ModuleType("addin.adapters")
    out = {}
    for spec in k.REGISTRY.values():
        f = build_adapter(spec, func=udfs.xlfunc, arg=udfs.xlarg, ret=udfs.xlret)
        setattr(module, spec.excel_name, f)
        x = f.__xlfunc__
        out[spec.excel_name] = {
            "name": x["name"], "doc": x["ret"]["doc"], "category": x["category"],
            "args": [[a["name"], a["doc"], a.get("optional", "<required>"), a["options"]] for a in x["args"]],
        }

    class Workbook:
        Name = "Book1.xlsm"

    vba = io.StringIO()
    udfs.generate_vba_wrapper("addin.adapters", module, vba, Workbook())
    print(json.dumps({"meta": out, "vba": vba.getvalue()}))
    '''
)


def test_classic_decorators_register_every_function_with_its_help_and_optional_arguments():
    env = {k_: v for k_, v in __import__("os").environ.items() if not k_.startswith("XLWINGS_")}
    run = subprocess.run([sys.executable, "-c", CLASSIC], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    meta, vba = data["meta"], data["vba"]
    assert set(meta) == set(k.REGISTRY)
    for spec in SPECS:
        m = meta[spec.excel_name]
        assert m["name"] == spec.excel_name and m["doc"] == spec.description
        assert m["category"] == f"KPI: {spec.category}"
        for (name, doc, optional, options), a in zip(m["args"], spec.args):
            assert name == a.name and doc == a.help
            assert options.get("err_to_str") is True
            assert options.get("ndim") == (2 if a.is_range else None)
            if a.optional:
                assert optional == (a.default if not isinstance(a.default, tuple) else list(a.default))
            else:
                assert optional == "<required>"
        params = ", ".join(("Optional " if a.optional else "") + a.name for a in spec.args)
        assert f"Function {spec.excel_name}({params})" in vba
        assert f'XLPy.CallUDF("addin.adapters", "{spec.excel_name}"' in vba
