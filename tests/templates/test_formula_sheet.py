"""The writer's worksheet class stores every formula exactly as XlsxWriter's own preparation does."""

from __future__ import annotations

import inspect
import re

import pytest
import xlsxwriter.worksheet
from xlsxwriter.worksheet import Worksheet

from workbook_templates.build.sheets import DYNAMIC_FUNCTIONS, MAY_NAME, FormulaSheet


def _xlsxwriter_expanded_names() -> set[str]:
    """The functions XlsxWriter's preparation prefixes without use_future_functions: those its table marks as
    dynamic (3.3.2 and later), or those substituted before its use_future_functions test (earlier, read from its
    source)."""
    future = getattr(xlsxwriter.worksheet, "FUTURE_FUNCTIONS", None)
    if future is not None:
        return {name for name, kind in future.items() if kind > 0}
    src = inspect.getsource(Worksheet._prepare_formula)
    head = src.split("if not self.use_future_functions")[0]
    return set(re.findall(r'r"\\(?:b|S)([A-Z][A-Z0-9.]*)\\\(', head))


def _xlsxwriter_dynamic_names() -> set[str]:
    """The functions that make XlsxWriter write a formula as a dynamic array."""
    future = getattr(xlsxwriter.worksheet, "FUTURE_FUNCTIONS", None)
    if future is not None:
        return {name for name, kind in future.items() if kind > 0}
    pattern = xlsxwriter.worksheet.re_dynamic_function.pattern
    return set(re.findall(r"\\b([A-Z][A-Z0-9.]*)\\\(", pattern))


def test_names_cover_the_installed_xlsxwriter():
    names = _xlsxwriter_expanded_names()
    assert "FILTER" in names and "XLOOKUP" in names  # the source was read
    assert names <= set(DYNAMIC_FUNCTIONS) | {"INGLE"}


def test_may_name_covers_the_installed_dynamic_functions():
    names = _xlsxwriter_dynamic_names()
    assert "FILTER" in names and "UNIQUE" in names  # the list was read
    for name in names:
        assert MAY_NAME.search(f"=IF(A1,{name}(B1:B9),0)"), name


FORMULAS = [
    "=SUM(A1:A9)", "=IF($A$1,_values!$A$3,KPI_NPS(Data!B2:B900))", "=SUMIFS(MRR!C:C,MRR!A:A,A5)", '=""',
    "{=SUM(A1:A3*B1:B3)}", "=FILTER(A1:A9,B1:B9>0)", "=IF(A1,XLOOKUP(B1,C:C,D:D),0)", "=_xlfn.SINGLE(A1)",
    "=SINGLE(A1)", "=ASINGLE(A1)", "=SORTBY(A1:A3,B1:B3)", "=MYFILTER(A1)", "=LET(x,1,x)", "=STDEV.S(A1:A9)",
    "=CONCAT(A1,B1)", "=IFS(A1>1,1,TRUE,0)", "=_xldudf_KPI_NPS(A1:A9)", "=NS.KPI_NPS(A1:A9)",
    *(f"=IF(A1,{name}(A1:A9),0)" for name in DYNAMIC_FUNCTIONS),
]


@pytest.mark.parametrize("future", [False, True])
@pytest.mark.parametrize("formula", FORMULAS)
def test_same_formula_as_xlsxwriter(formula, future):
    ours, theirs = FormulaSheet(), Worksheet()
    ours.use_future_functions = theirs.use_future_functions = future
    assert ours._prepare_formula(formula) == theirs._prepare_formula(formula)
    if "expand_future_functions" in inspect.signature(Worksheet._prepare_formula).parameters:  # 3.2 and later
        assert ours._prepare_formula(formula, True) == theirs._prepare_formula(formula, True)
