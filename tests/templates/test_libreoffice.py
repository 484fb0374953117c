"""The demo reports as a user without the add-in sees them: opened by headless LibreOffice.

- with LibreOffice's default settings, every KPI cell shows the value the
  library computed (no error, no blank) and every cell of a spilled KPI table
  shows its value;
- with recalculation on load forced, every formula cell — native formulas
  (SUMPRODUCT, INDEX/MATCH, COUNTIFS, EDATE, IF …) and KPI cells alike —
  agrees with the cached value the builder wrote;
- each report renders to PDF and PNG.

Skipped locally without LibreOffice; fails in CI (tests/conftest.need_program).
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from report_helpers import expected_cells, need_program, same

import kpi_functions as K
from workbook_templates.render import CSV_ALL_SHEETS, convert, render_pdf, render_png
from workbook_templates.report_channels import SHEET as CHANNELS_SHEET

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

XLSX = "xlsx:Calc MS Excel 2007 XML"


@pytest.fixture(scope="module")
def lo(demo, tmp_path_factory):
    """The demo reports round-tripped through LibreOffice: default settings, and recalculation forced."""
    need_program("soffice", "libreoffice")
    files = [b.path for b in demo.values()]
    base = tmp_path_factory.mktemp("lo")
    convert(files, XLSX, base / "default")
    convert(files, CSV_ALL_SHEETS, base / "csv")
    convert(files, XLSX, base / "recalc", recalc=True)
    return base


def _values(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, data_only=True)


def _shown(csv_dir: Path, stem: str, sheet: str) -> list[list[str]]:
    with open(csv_dir / f"{stem}-{sheet}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _at(grid: list[list[str]], cell: str) -> str:
    col, row = coordinate_from_string(cell)
    r, c = row - 1, column_index_from_string(col) - 1
    if r >= len(grid) or c >= len(grid[r]):
        return ""
    return grid[r][c]


def test_recalculation_setting_really_recalculates(tmp_path):
    """The harness itself: a wrong cached value survives a default load and is corrected by a forced one."""
    need_program("soffice", "libreoffice")
    p = tmp_path / "probe.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    wb.add_worksheet("S").write_formula("A1", "=1+1", None, 3)
    wb.close()
    convert([p], XLSX, tmp_path / "d")
    convert([p], XLSX, tmp_path / "r", recalc=True)
    assert _values(tmp_path / "d" / "probe.xlsx")["S"]["A1"].value == 3
    assert _values(tmp_path / "r" / "probe.xlsx")["S"]["A1"].value == 2


def _code(v) -> str | None:
    """The error code of a cached value (an ExcelError or its text), None for a value."""
    code = getattr(v, "code", v)
    return code if isinstance(code, str) and code.startswith("#") else None


@pytest.mark.parametrize("key", ["saas_dashboard", "retention_cohorts", "marketing_funnel", "customer_experience",
                                 "executive_overview"])
def test_libreoffice_shows_every_kpi_value(demo, lo, key):
    built = demo[key]
    wb = _values(lo / "default" / built.path.name)
    csvs = {}
    checked = kpis = 0
    for sheet, cell, kind, want in expected_cells(built.result):
        got = wb[sheet][cell].value
        assert same(want, got), f"{key} {sheet}!{cell} ({kind}): library {want!r}, LibreOffice {got!r}"
        checked += 1
        if kind == "kpi":
            kpis += 1
            grid = csvs.setdefault(sheet, _shown(lo / "csv", built.path.stem, sheet))
            shown = _at(grid, cell)
            assert shown.strip(), f"{key} {sheet}!{cell} shows a blank"
            if sheet == CHANNELS_SHEET and _code(want) == "#DIV/0!" == shown.strip():
                continue  # a channel without new customers in the demo month: its CAC is undefined, not 0
            assert not shown.startswith("#") and "Err:" not in shown, f"{key} {sheet}!{cell} shows {shown}"
            assert want is not None and not (isinstance(want, str) and want.startswith("#"))
    assert kpis >= 5 and checked > kpis


@pytest.mark.parametrize("key", ["saas_dashboard", "retention_cohorts", "marketing_funnel", "customer_experience",
                                 "executive_overview"])
def test_forced_recalculation_agrees_with_cached_values(demo, lo, key):
    built = demo[key]
    cached = _values(built.path)
    formulas = openpyxl.load_workbook(built.path)
    recalc = _values(lo / "recalc" / built.path.name)
    n = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                is_formula = (isinstance(v, str) and v.startswith("=")) or type(v).__name__ == "ArrayFormula"
                if not is_formula:
                    continue
                n += 1
                a, b = cached[ws.title][c.coordinate].value, recalc[ws.title][c.coordinate].value
                assert same(a, b), f"{key} {ws.title}!{c.coordinate}: cached {a!r}, recalculated {b!r} ({v})"
    # and every cell of the spilled tables after recalculation
    for sheet, cell, kind, want in expected_cells(built.result):
        assert same(want, recalc[sheet][cell].value), f"{key} {sheet}!{cell} after recalculation"
    assert n > 50


def test_displayed_values_equal_an_independent_library_call(demo, lo, sample_tables):
    """Values read from LibreOffice equal kpi_functions called directly on the CSV data (not via the builder)."""
    import pandas as pd

    from workbook_templates.batch import SAMPLE_DIR

    nps = pd.read_csv(SAMPLE_DIR / "nps_responses.csv", parse_dates=["date"])
    june = nps[(nps["date"] >= "2026-06-01") & (nps["date"] < "2026-07-01")]["score"]
    subs = pd.read_csv(SAMPLE_DIR / "subscriptions.csv", parse_dates=["start_date", "end_date"])
    sched = K.mrr_schedule(subs.iloc[:, :5], "2026-06")
    mrr_june = sched[sched.iloc[:, 1] == pd.Timestamp("2026-06-01")].iloc[:, 2].sum()

    wb = _values(lo / "default" / demo["customer_experience"].path.name)
    res = demo["customer_experience"].result
    cell = next(c for c in res.cells if c.formula and "KPI_NPS(" in c.formula and c.sheet == "Experience"
                and "FILTER(NPS[score],(NPS[date]>=$B$5)" in c.formula)
    assert wb["Experience"][cell.cell].value == pytest.approx(K.nps(june.tolist()), abs=1e-9)

    wb = _values(lo / "default" / demo["executive_overview"].path.name)
    res = demo["executive_overview"].result
    mrr_cell = next(c for c in res.cells if c.formula and "KPI_MRR(" in c.formula)
    assert wb["Overview"][mrr_cell.cell].value == pytest.approx(mrr_june, rel=1e-12)


def test_every_report_renders_to_pdf_and_png(demo, tmp_path):
    need_program("soffice", "libreoffice")
    need_program("pdftoppm")
    for key, built in demo.items():
        pdf = render_pdf(built.path, tmp_path / "pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-"
        png = render_png(pdf, tmp_path / f"{key}.png", dpi=60)
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        assert width > 400 and height > 300
        assert len(data) > 15_000, f"{key}: the rendered page looks empty"


def test_undefined_kpis_show_the_same_excel_error_in_libreoffice(tmp_path, sample_tables):
    """A segment with one customer and no activity: KPIs are undefined (#DIV/0!), spilled tables too.

    LibreOffice recalculates cells whose stored result is an error; the fallback keeps the error the
    library gave (not #NAME?), with default settings and with recalculation forced.
    """
    need_program("soffice", "libreoffice")
    import shutil

    from workbook_templates.batch import SAMPLE_DIR, atomic_build
    from workbook_templates.context import scope
    from workbook_templates.data import load_all
    from workbook_templates.reports import REPORTS

    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    with open(data / "customers.csv", "a", encoding="utf-8") as fh:
        fh.write("C90000,Lonely Ltd,Antarctica,Starter,2026-06-01,\n")
    tables, _ = load_all(data)
    built = {}
    for key, spec in REPORTS.items():
        d = scope(tables, spec.datasets, ("region", "Antarctica"), None)
        built[key] = atomic_build(spec, d, tmp_path / "out" / f"{key}.xlsx")
    files = [r.path for r in built.values()]
    convert(files, XLSX, tmp_path / "default")
    convert(files, XLSX, tmp_path / "recalc", recalc=True)
    errors = 0
    for key, res in built.items():
        for mode in ("default", "recalc"):
            wb = _values(tmp_path / mode / f"{key}.xlsx")
            for sheet, cell, kind, want in expected_cells(res):
                got = wb[sheet][cell].value
                assert same(want, got), f"{mode} {key} {sheet}!{cell} ({kind}): library {want!r}, LibreOffice {got!r}"
                if isinstance(want, str) and want.startswith("#"):
                    errors += 1
    assert errors > 10  # the segment really is full of undefined KPIs
