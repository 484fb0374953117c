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


# -- tables kept as rectangles --------------------------------------------------------------------------------

def _table_book(sheet_class, build) -> bytes:
    import io

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": __import__("datetime").datetime(2026, 1, 1)})
    ws = wb.add_worksheet("S", worksheet_class=sheet_class)
    build(wb, ws)
    wb.close()
    return buf.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


TABLE_OPTIONS = [
    {"name": "Big", "style": "Table Style Light 9", "columns": [{"header": "id"}, {"header": "x"}, {"header": "y"}]},
    {"autofilter": False, "columns": [{"header": "id", "header_format": None}]},
    {"header_row": False},
    {"banded_columns": True, "first_column": True, "style": None},
    {"total_row": True, "columns": [{"header": "a", "total_string": "Total"}, {"total_function": "sum"}]},
    {"columns": [{"header": "a"}, {"header": "b", "formula": "=[@a]*2"}]},
    {"data": [[1, 2], [3, 4]]},
]


@pytest.mark.parametrize("options", TABLE_OPTIONS)
@pytest.mark.parametrize("rows", [1, 2, 3, 5000])
def test_a_table_writes_what_xlsxwriter_writes(options, rows):
    import copy

    def build(wb, ws):
        ws.write_number(0, 0, 1)
        ws.merge_range(0, 6, 0, 7, "merged")
        ws.add_table(2, 1, 2 + rows, 3, copy.deepcopy(options))
        ws.add_table(3 + rows, 1, 10 + rows, 2, {"columns": [{"header": "p"}, {"header": "q"}]})
        ws.autofit()

    ours, theirs = _parts(_table_book(FormulaSheet, build)), _parts(_table_book(Worksheet, build))
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == theirs[name], name


def _overlap_message(sheet_class, build) -> str:
    from xlsxwriter.exceptions import OverlappingRange

    with pytest.raises(OverlappingRange) as e:
        _table_book(sheet_class, build)
    return str(e.value)


OVERLAPS = {
    "a table inside an earlier one": lambda ws: (ws.add_table(0, 0, 9000, 4), ws.add_table(5000, 2, 9500, 6)),
    "an earlier table inside a new one": lambda ws: (ws.add_table(100, 2, 200, 3), ws.add_table(0, 0, 9000, 4)),
    "a merged range in a new table": lambda ws: (ws.merge_range(700, 1, 700, 3, "m"), ws.add_table(0, 0, 9000, 4)),
    "a merged range and a table, the merge first in row order": lambda ws: (
        ws.add_table(800, 1, 900, 2), ws.merge_range(700, 5, 701, 6, "m"), ws.add_table(0, 0, 9000, 8)),
    "a merge into an earlier large table": lambda ws: (ws.add_table(0, 0, 9000, 4), ws.merge_range(8000, 4, 8000, 6,
                                                                                                  "m")),
    "a small table over a large one": lambda ws: (ws.add_table(0, 0, 9000, 4), ws.add_table(8999, 3, 9000, 3)),
}


@pytest.mark.parametrize("case", OVERLAPS)
def test_overlapping_ranges_are_refused_as_xlsxwriter_refuses_them(case):
    def build(wb, ws):
        OVERLAPS[case](ws)

    assert _overlap_message(FormulaSheet, build) == _overlap_message(Worksheet, build)


def test_a_large_table_keeps_no_entry_per_cell():
    def build(wb, ws):
        ws.add_table(0, 0, 100_000, 9, {"columns": [{"header": f"c{j}"} for j in range(10)]})
        assert len(ws.table_cells) == 0 and ws.table_cells.get((100_000, 9)) == "A1:J100001"
        assert ws.table_cells.get((100_001, 9)) is None

    _table_book(FormulaSheet, build)
