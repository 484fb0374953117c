"""Blocks of whole columns (``FormulaSheet.write_block``) write the file per-cell XlsxWriter calls write.

Each test writes the same cells twice, once one call per cell (the reference) and once with ``write_block``,
and compares every part of the two files byte for byte (the sheet XML, the shared strings, the styles, the
charts) and every cell as openpyxl reads it. The module overrides XlsxWriter internals, so this file runs on
XlsxWriter 3.1.4 too (``.ci/run`` runs it at the lower bounds; by hand: ``pip install --target DIR
xlsxwriter==3.1.4`` and ``PYTHONPATH=DIR:. pytest`` this file).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import openpyxl
import pytest
import xlsxwriter
from openpyxl.worksheet.formula import ArrayFormula

from workbook_templates.build import sheet_xml
from workbook_templates.build.sheets import MAY_NAME, MAY_NAME_TEXTS, BlockColumn, FormulaSheet

Writer = Callable[[Any, Any, bool], None]
FIXED = dt.datetime(2026, 1, 1)


def _book(write: Writer, block: bool) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    wb.set_properties({"created": FIXED})
    write(wb, wb.add_worksheet("S", worksheet_class=FormulaSheet), block)
    wb.close()
    return buf.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _cells(data: bytes) -> dict[tuple[str, str], tuple[Any, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula):
                    v = (v.ref, v.text)
                out[ws.title, c.coordinate] = (v, c.data_type, c.number_format, c.font.b, c.font.i,
                                               str(c.font.color.rgb) if c.font.color else None, c.fill.fgColor.rgb)
    return out


def assert_same(write: Writer) -> bytes:
    """Write both ways; the files must be the same, part by part, and so must every cell openpyxl reads."""
    ref, blk = _book(write, False), _book(write, True)
    a, b = _parts(ref), _parts(blk)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].decode() == b[name].decode(), name
    assert _cells(ref) == _cells(blk)
    return blk


def _sheet_xml(data: bytes) -> str:
    return _parts(data)["xl/worksheets/sheet1.xml"].decode()


# -- the per-cell reference of a block column ----------------------------------------------------------------
def per_cell(ws: Any, row: int, col: int, c: BlockColumn) -> None:
    """The calls one column stands for (written independently of the block code)."""
    values = list(c.values)
    fmts = list(c.fmts) if c.fmts is not None else [c.fmt] * len(values)
    for i, v in enumerate(values):
        r, f = row + i, fmts[i]
        if c.kind == "blank":
            if v:
                ws.write_blank(r, col, None, f)
            continue
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if c.missing == "blank":
                ws.write_blank(r, col, None, f)
            elif c.missing == "empty":
                ws.write_formula(r, col, '=""', f, "")
        elif c.kind == "num":
            ws.write_number(r, col, float(v), f)
        elif c.kind == "str":
            ws.write_string(r, col, v, f)
        elif c.kind == "bool":
            ws.write_boolean(r, col, bool(v), f)
        else:
            ws.write_formula(r, col, "=" + v, f, c.cached[i])


def put(ws: Any, row: int, col: int, columns: list[Any], block: bool) -> None:
    if block:
        ws.write_block(row, col, columns)
        return
    for j, c in enumerate(columns):
        for p in [c] if isinstance(c, BlockColumn) else c:
            per_cell(ws, row, col + j, p)


NUMS = [1.0, math.nan, 2.5, -0.0, 0.0, 1e20, -1e-7, 0.1 + 0.2, 123456789012345.0, 1e15, 2 ** 53, -7.0, 1 / 3]
TEXTS = ["a", None, "", "b&<>\"'", " lead", "trail ", "a", "line\nbreak", "tab\t", "ctrl\x01\x1f", "_x0041_",
         "Å ⚠ 😀", "<r>rich?</r>"]


def test_numbers_nan_blank_and_empty():
    def write(wb, ws, block):
        f = wb.add_format({"num_format": "0.00", "bold": True})
        put(ws, 0, 0, [BlockColumn("num", np.array(NUMS)), BlockColumn("num", NUMS, f),
                       BlockColumn("num", NUMS, f, missing="blank"), BlockColumn("num", NUMS, missing="blank"),
                       BlockColumn("num", NUMS, missing="empty")], block)

    xml = _sheet_xml(assert_same(write))
    assert '<c r="A1"><v>1</v></c>' in xml and "1E+20" in xml and '<c r="C2" s="1"/>' in xml
    assert '<c r="E2"><f>""</f><v></v></c>' in xml


def test_strings_escaping_control_characters_and_the_shared_strings():
    def write(wb, ws, block):
        ws.write_string(0, 5, "a")  # a string before the block, then the same again inside it
        put(ws, 1, 0, [BlockColumn("str", TEXTS), BlockColumn("str", np.array(TEXTS[::-1], dtype=object)),
                       BlockColumn("str", TEXTS, missing="blank", fmt=wb.add_format({"italic": True}))], block)
        ws.write_string(20, 0, "after")

    data = assert_same(write)
    sst = _parts(data)["xl/sharedStrings.xml"].decode()
    assert "b&amp;&lt;&gt;\"'" in sst and "_x0001__x001F_" in sst and "_x005F_x0041_" in sst


def test_long_strings_up_to_the_limit_and_refused_past_it():
    long_ = "x" * 32767
    astral = "😀" * 16384  # 32,768 UTF-16 code units

    def write(wb, ws, block):
        put(ws, 0, 0, [BlockColumn("str", [long_, "y" * 20000])], block)

    assert_same(write)
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet("S", worksheet_class=FormulaSheet)
    for bad in (long_ + "x", astral):
        with pytest.raises(ValueError, match="a cell holds at most 32767"):
            ws.write_block(0, 0, [BlockColumn("str", ["ok", bad])])
    with pytest.raises(TypeError, match="a str column holds float"):
        ws.write_block(0, 0, [BlockColumn("str", ["ok", 1.5])])


def test_booleans_and_dates():
    def write(wb, ws, block):
        d = wb.add_format({"num_format": "yyyy-mm-dd"})
        t = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        serials = [46023.0, math.nan, 46054.75, 1.0]
        put(ws, 0, 0, [BlockColumn("bool", [True, None, False, np.True_], wb.add_format({"bold": True})),
                       BlockColumn("bool", np.array([False, True, True, False])),
                       BlockColumn("num", serials, d), BlockColumn("num", serials, t)], block)

    data = assert_same(write)
    assert '<c r="A1" s="1" t="b"><v>1</v></c>' in _sheet_xml(data)
    cells = _cells(data)
    assert cells["S", "C1"][0] == dt.datetime(2026, 1, 1)


FORMULAS = ["A1+1", None, 'IF(A1>1,"x<y","")', "SUM(A1:A9)", "1/0", 'B2&"&"', "{1,2}", "NA()", "IF(A1,ASINGLE(A1),0)",
            "ISERROR(KPI_ARR(1))", "A1", "_xlfn.STDEV.S(A1:A3)", '""', "STDEV.S(A1:A3)"]
CACHED = [2, None, "x<y", 5.0, "#DIV/0!", "&", True, "#N/A", 0.1 + 0.2, False, "text", 3, "", 1e-9]


@pytest.mark.parametrize("future", [False, True])
def test_formulas_and_their_cached_results(future):
    def write(wb, ws, block):
        ws.use_future_functions = future
        f = wb.add_format({"num_format": "0.0%"})
        put(ws, 0, 0, [BlockColumn("formula", FORMULAS, None, CACHED), BlockColumn("formula", FORMULAS, f, CACHED),
                       BlockColumn("formula", FORMULAS, None, np.array(CACHED, dtype=object), missing="empty")],
            block)

    xml = _sheet_xml(assert_same(write))
    assert '<c r="A5" t="e"><f>1/0</f><v>#DIV/0!</v></c>' in xml and "<f>_xlfn.STDEV.S(A1:A3)</f>" in xml
    assert '<c r="A7" t="b"><f>{1,2</f><v>1</v></c>' in xml  # XlsxWriter's own: the closing brace is removed


def test_formula_blocks_refuse_dynamic_arrays_and_empty_formulas():
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet("S", worksheet_class=FormulaSheet)
    with pytest.raises(ValueError, match="dynamic array formula"):
        ws.write_block(0, 0, [BlockColumn("formula", ["FILTER(A:A,B:B)"], cached=[0])])
    with pytest.raises(ValueError, match="an empty formula"):
        ws.write_block(0, 0, [BlockColumn("formula", [""], cached=[0])])
    with pytest.raises(ValueError, match="needs its cached results"):
        ws.write_block(0, 0, [BlockColumn("formula", ["A1"])])


def test_random_formulas_with_newlines_braces_and_entities_write_as_per_cell_writes():
    # the block writer finds the formulas to prepare and to escape with one pass of a regular expression over
    # them all joined by newlines: formulas holding newlines, braces and entities at every place
    rng = np.random.default_rng(7)
    pieces = np.array(["A1", "}", "{", "&", "<", ">", "\n", "+", '"x\ny"', "STDEV.S(", "INGLE(", "(", ")", "1",
                       "_xlfn.", "TEXTJOIN(", "MYSORT(", '"}"'], dtype=object)
    texts = ["".join(rng.choice(pieces, rng.integers(1, 7))) for _ in range(3000)]
    cached = [float(i) for i in range(len(texts))]
    joined = "\n".join(texts) + "\n"
    may_name = sheet_xml._rows_containing(texts, joined, MAY_NAME_TEXTS)
    assert may_name.tolist() == [MAY_NAME.search(t) is not None for t in texts]
    assert may_name.any() and not may_name.all()
    entity = sheet_xml._rows_containing(texts, joined, ("&", "<", ">"))
    assert entity.tolist() == [any(c in t for c in "&<>") for t in texts]
    ends = sheet_xml._rows_containing(texts, joined, ("}\n",))
    assert all(ends[i] for i, t in enumerate(texts) if t.endswith("}"))  # every formula ending in a brace is found

    flat = [t.replace("\n", " ") for t in texts]  # and without newlines: escaped over the whole at once
    for future in (False, True):
        def write(wb, ws, block, future=future):
            ws.use_future_functions = future
            put(ws, 0, 0, [BlockColumn("formula", texts, None, cached), BlockColumn("formula", flat, None, cached)],
                block)

        assert_same(write)


def test_a_block_between_other_cells_on_the_same_rows_rows_with_properties_and_comments():
    def write(wb, ws, block):
        hf = wb.add_format({"bold": True})
        rf = wb.add_format({"font_color": "#FF0000"})
        cf = wb.add_format({"num_format": "0.000"})
        ws.set_column(3, 3, 12, cf)  # the fallback of a column's cells without a format of their own
        ws.set_row(0, 30)
        ws.set_row(3, 40, rf)  # a row format: the fallback before the column's
        ws.set_row(5, None, None, {"hidden": True})
        ws.set_row(40, 18)  # a row with properties only, past the block
        for j, h in enumerate(["id", "n", "s", "d"]):
            ws.write_string(0, 2 + j, h, hf)
        for r in range(1, 9):
            ws.write_number(r, 0, r, hf)  # left of the block
            ws.write_string(r, 7, f"right {r}")  # right of it
        ws.write_number(3, 3, 99)  # in a hole of the block (its NaN)
        ws.write_comment(6, 9, "a note")
        n = 8
        nums = [float(i) if i != 2 else math.nan for i in range(n)]
        fmts = [hf if i % 3 == 0 else None for i in range(n)]
        put(ws, 1, 2, [BlockColumn("str", [f"C{i:03}" for i in range(n)]), BlockColumn("num", nums, fmts=fmts),
                       BlockColumn("str", [None, "x", "y", None, "z", "", "w", None], fmts=fmts),
                       BlockColumn("num", [1.5] * n), BlockColumn("num", nums, cf)], block)

    xml = _sheet_xml(assert_same(write))
    assert 'hidden="1"' in xml and '<row r="41"' in xml


def test_two_blocks_side_by_side_mixed_parts_and_empty_blocks():
    def write(wb, ws, block):
        f = wb.add_format({"bold": True})
        put(ws, 0, 0, [], block)
        put(ws, 3, 0, [BlockColumn("num", []), BlockColumn("str", [])], block)
        put(ws, 0, 4, [BlockColumn("num", [1.0, 2.0, 3.0])], block)
        put(ws, 1, 0, [BlockColumn("str", ["a", "b", "c", "d"])], block)  # left of it, on the same rows
        mixed = [[BlockColumn("str", ["t", None, None, None, None], f), BlockColumn("num", [math.nan, 2, math.nan,
                                                                                          math.nan, math.nan], f),
                  BlockColumn("bool", [None, None, True, None, None], f),
                  BlockColumn("formula", [None, None, None, "NA()", None], f, [0, 0, 0, "#N/A", 0]),
                  BlockColumn("blank", [False, False, False, False, True], f)]]
        put(ws, 2, 2, mixed, block)

    assert_same(write)


def test_cells_written_twice_are_refused():
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet("S", worksheet_class=FormulaSheet)
    ws.write_block(0, 0, [BlockColumn("num", [1.0, math.nan, 3.0])])
    with pytest.raises(ValueError, match="A3 is written by two block columns"):
        ws.write_block(2, 0, [BlockColumn("str", ["x"])])
    ws.write_block(1, 0, [BlockColumn("str", ["in the hole"])])  # the NaN holds no cell

    wb = xlsxwriter.Workbook(io.BytesIO())
    ws = wb.add_worksheet("S", worksheet_class=FormulaSheet)
    ws.write_block(0, 1, [BlockColumn("num", [1.0, 2.0])])
    ws.write_number(1, 1, 5)
    with pytest.raises(ValueError, match="cell B2 is written both by a block and by another write"):
        wb.close()


def test_blocks_outside_the_sheet_and_infinity_are_refused():
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet("S", worksheet_class=FormulaSheet)
    with pytest.raises(ValueError, match="outside a worksheet"):
        ws.write_block(1_048_575, 0, [BlockColumn("num", [1.0, 2.0])])
    with pytest.raises(ValueError, match="outside a worksheet"):
        ws.write_block(0, 16_383, [BlockColumn("num", [1.0]), BlockColumn("num", [1.0])])
    with pytest.raises(TypeError, match="infinite"):
        ws.write_block(0, 0, [BlockColumn("num", [1.0, math.inf])])
    with pytest.raises(ValueError, match="3 values; the block has 2 rows"):
        ws.write_block(0, 0, [BlockColumn("num", [1.0, 2.0]), BlockColumn("num", [1.0, 2.0, 3.0])])


def test_many_rows_over_several_chunks_with_cells_at_the_chunk_edges(monkeypatch):
    monkeypatch.setattr(sheet_xml, "CHUNK_ROWS", 1000)
    n = 3500
    rng = np.random.default_rng(7)
    nums = rng.normal(size=n) * 1000
    nums[rng.random(n) < 0.1] = math.nan
    ids = np.array([f"id{int(x)}" for x in rng.integers(0, 400, n)], dtype=object)
    ids[rng.random(n) < 0.05] = None

    def write(wb, ws, block):
        f = wb.add_format({"num_format": "#,##0.00"})
        ws.set_row(1000, 25)
        for r in (0, 999, 1000, 1001, 2000, n):
            ws.write_string(r, 5, f"edge {r}")
        put(ws, 1, 0, [BlockColumn("str", ids), BlockColumn("num", nums, f),
                       BlockColumn("num", np.round(nums), f, missing="blank")], block)
        put(ws, 1500, 3, [BlockColumn("num", nums[:700])], block)

    assert_same(write)


def test_charts_read_the_cached_values_of_block_cells():
    def write(wb, ws, block):
        put(ws, 1, 0, [BlockColumn("str", ["a", "b", None, "d"]), BlockColumn("num", [1.0, math.nan, 3.0, 4.5]),
                       BlockColumn("formula", ["B2*2", "B3*2", "B4*2", "B5*2"], None, [2.0, 0, "#N/A", 9]),
                       BlockColumn("num", [1.0, math.nan, 2.0, 3.0], wb.add_format(), missing="blank")], block)
        ws.write_number(6, 1, 7)
        chart = wb.add_chart({"type": "line"})
        for c in "BCD":
            chart.add_series({"categories": "=S!$A$2:$A$7", "values": f"=S!${c}$2:${c}$7"})
        ws.insert_chart("G2", chart)

    data = assert_same(write)
    assert "<c:v>4.5</c:v>" in _parts(data)["xl/charts/chart1.xml"].decode()


def test_a_spill_anchor_and_its_block_write_what_the_padded_dynamic_array_did():
    def write(wb, ws, block):
        hf = wb.add_format({"bold": True})
        args = (2, 1, 5, 3, "=IF(AddinMissing,_values!$A$3:$C$6,KPI_TABLE(1))", hf, "label")
        if block:
            ws.write_spill_anchor(*args)
        else:
            ws.write_dynamic_array_formula(*args)
        ws.write_string(2, 2, "a", hf)
        ws.write_string(2, 3, "b", hf)
        f = wb.add_format({"num_format": "0.0"})
        put(ws, 3, 1, [BlockColumn("str", ["x", "y", None], f, missing="blank"),
                       BlockColumn("num", [1.0, math.nan, 3.0], f, missing="blank"),
                       BlockColumn("num", [4.0, 5.0, 6.0], f, missing="blank")], block)

    xml = _sheet_xml(assert_same(write))
    assert 'ref="B3:D6"' in xml


def test_a_block_at_the_first_row_on_a_sheet_of_its_own():
    def write(wb, ws, block):
        put(ws, 0, 0, [BlockColumn("str", ["only"])], block)

    assert '<dimension ref="A1"/>' in _sheet_xml(assert_same(write))


def test_the_parts_of_one_column_must_hold_different_rows():
    ws = xlsxwriter.Workbook(io.BytesIO()).add_worksheet("S", worksheet_class=FormulaSheet)
    with pytest.raises(ValueError, match="cell B1 is written by two block columns"):
        ws.write_block(0, 0, [BlockColumn("num", [1.0, 2.0]), [BlockColumn("str", ["a", None]),
                                                             BlockColumn("num", [1.0, 2.0])],
                              BlockColumn("bool", [True, True])])
    assert not ws._block_cols and ws.dim_rowmin is None  # nothing of the refused block is kept
