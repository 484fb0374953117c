"""How the demo reports print and read: the default print (or PDF) holds the report pages only, tables that
run over pages repeat their header, wrapped rows have the height of their text, spilled tables carry headings.

The page counts are measured the way a reader gets them: LibreOffice's PDF export of the whole workbook
(skipped locally without LibreOffice and poppler; fails in CI).
"""

from __future__ import annotations

import math
import subprocess

import openpyxl
import pytest
from report_helpers import need_program

from workbook_templates.build.printing import spill_headings, text_lines
from workbook_templates.render import convert
from workbook_templates.report_health import HEALTH_SHEET
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def books(demo):
    return {key: openpyxl.load_workbook(b.path) for key, b in demo.items()}


# -- row heights: lines of a wrapped text --------------------------------------------------------------
def test_text_lines_counts_lines_as_a_column_wraps_words():
    # width 10 holds int(10 × 1.25) = 12 characters a line
    assert text_lines("", 10) == 1
    assert text_lines("aaaa bbbb ab", 10) == 1  # 12 characters
    assert text_lines("aaaa bbbb cccc", 10) == 2  # "aaaa bbbb" | "cccc"
    assert text_lines("aaaaaaaaaa bbb", 10) == 2  # 14 characters: "aaaaaaaaaa" | "bbb", the word kept whole
    assert text_lines("one\ntwo\nthree", 10) == 3  # each line of the text starts a line
    assert text_lines("x" * 25, 10) == 3  # a word longer than a line breaks inside: 12 + 12 + 1


def test_spill_headings_replace_the_first_row_of_the_result():
    assert spill_headings("KPI_X(A1:A9)", ["Measure", 'Say "hi"']) == \
        'IFERROR(_xlfn.VSTACK({"Measure","Say ""hi"""},_xlfn.DROP(KPI_X(A1:A9),1)),KPI_X(A1:A9))'
    # Excel 2021 spills but has no VSTACK or DROP: there the #NAME? falls back to the function's own headings


# -- what prints by default -------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(REPORTS))
def test_input_and_calc_sheets_are_hidden_and_the_report_pages_shown(books, key):
    wb = books[key]
    state = {ws.title: ws.sheet_state for ws in wb.worksheets}
    for sh in REPORTS[key].sheets:
        want = "hidden" if sh.kind in ("input", "calc") else "visible"
        assert state[sh.name] == want, (key, sh.name, sh.kind)
    assert wb.active.title == REPORTS[key].sheets[0].name and wb.active.sheet_state == "visible"


@pytest.mark.parametrize("key", list(REPORTS))
def test_report_sheets_print_landscape_fit_to_the_width(books, key):
    for sh in REPORTS[key].sheets:
        if sh.kind != "report":
            continue
        ws = books[key][sh.name]
        assert ws.page_setup.orientation == "landscape", sh.name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, sh.name
        assert (ws.page_setup.fitToWidth or 1) == 1, sh.name  # absent: the default, 1 page wide


def test_the_customer_health_table_repeats_its_header_on_every_page(books):
    ws = books["retention_cohorts"][HEALTH_SHEET]
    assert ws.print_title_rows == "$18:$18"
    assert ws["A18"].value == "customer_id" and ws["B18"].value == "MRR at period end"


def test_the_notes_say_the_data_sheets_are_hidden_and_how_to_unhide_them(books):
    ws = books["saas_dashboard"]["Notes"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Hidden sheets")
    text = ws.cell(row, 2).value
    assert "hidden" in text and "Unhide" in text and "Show Sheet" in text


# -- rows and headers that fit their text ----------------------------------------------------------------
@pytest.mark.parametrize("key", list(REPORTS))
def test_wrapped_notes_rows_are_as_tall_as_their_text(books, key):
    """Every Notes row with a wrapped text longer than one line of its column has a height of at least the
    lines that text needs at the most characters a line holds in Excel or LibreOffice, about 1.3 a width unit
    (a lower bound that ignores word breaks)."""
    ws = books[key]["Notes"]
    widths = {"A": 30, "B": 62, "C": 46, "D": 26}
    checked = 0
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=4):
        for c in row:
            if not (isinstance(c.value, str) and c.alignment.wrap_text):
                continue
            per_line = widths[c.column_letter] * 1.3
            lines = sum(math.ceil(max(len(p), 1) / per_line) for p in c.value.split("\n"))
            if lines < 2:
                continue
            height = ws.row_dimensions[c.row].height
            assert height is not None and height >= 13.5 * lines, (key, c.coordinate, c.value[:40], height)
            checked += 1
    assert checked >= 5, key


def test_the_hidden_sheets_note_is_five_lines_tall(books):
    """By hand: its 296 characters in column B (62 wide: 77 characters a line), broken at spaces, make lines of
    73, 74, 68, 63 and 14 characters: 5 lines, 13.5 points each and 2 to spare (XlsxWriter stores heights in
    whole pixels: 69.5 -> 69.75)."""
    ws = books["saas_dashboard"]["Notes"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Hidden sheets")
    assert len(ws.cell(row, 2).value) == 296
    assert ws.row_dimensions[row].height == pytest.approx(13.5 * 5 + 2, abs=0.5)


def test_movements_headers_wrap_in_a_taller_row(books):
    ws = books["saas_dashboard"]["Movements"]
    assert ws["I4"].value == "customers at start"  # 18 characters in a column of 13 (16 a line): 2 lines
    assert ws.row_dimensions[4].height == pytest.approx(2 * 13, abs=0.5)


def test_spilled_tables_on_report_sheets_carry_headings(books, demo):
    formula = books["customer_experience"]["Experience"]["A23"].value.text
    assert 'IFERROR(_xlfn.VSTACK({"Measure","Value"},_xlfn.DROP(KPI_NPS_BREAKDOWN(' in formula
    cached = {key: openpyxl.load_workbook(b.path, data_only=True) for key, b in demo.items()}
    ws = cached["customer_experience"]["Experience"]
    assert [ws["A23"].value, ws["B23"].value] == ["Measure", "Value"]
    assert ws["A24"].value == "promoters"  # the data rows stay as the function returns them
    rc = cached["retention_cohorts"]
    assert rc[HEALTH_SHEET]["I18"].value == "Health score"
    assert [rc["Details"].cell(20, j).value for j in range(1, 5)] == ["Months", "At risk", "Churned", "Survival"]
    assert [rc["Cohorts"].cell(4, j).value for j in range(1, 4)] == ["Cohort", "Size", "Month 0"]
    # a calculation sheet keeps the function's names (what its formulas and the docs call the columns)
    assert cached["saas_dashboard"]["Movements"]["B4"].value == "starting MRR"


# -- the PDF a reader prints ----------------------------------------------------------------------------
#: pages of each demo report's PDF (LibreOffice): report sheets and Notes; every input row printed before —
#: 132, 455, 340, 460 and 101 pages
MAX_PAGES = {"saas_dashboard": 8, "retention_cohorts": 17, "marketing_funnel": 5, "customer_experience": 4,
             "executive_overview": 7}


@pytest.mark.libreoffice
@pytest.mark.slow
def test_each_demo_pdf_is_its_report_pages(demo, tmp_path):
    need_program("soffice", "libreoffice")
    pdfinfo = need_program("pdfinfo")
    convert([b.path for b in demo.values()], "pdf", tmp_path)
    for key, b in demo.items():
        info = subprocess.run([pdfinfo, str(tmp_path / f"{b.path.stem}.pdf")], capture_output=True, text=True,
                              check=True).stdout
        pages = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
        # at least one page per visible sheet, and no input table's rows
        visible = sum(1 for sh in REPORTS[key].sheets if sh.kind in ("report", "notes"))
        assert visible <= pages <= MAX_PAGES[key], (key, pages)


def test_a_label_longer_than_its_column_wraps_in_a_taller_row(books):
    """The Retention sheet's column A is 34 wide (42 characters a line): the 58 characters of the annual
    retention label take 2 lines; a short label keeps one line at the default height."""
    ws = books["retention_cohorts"]["Retention"]
    rows = {ws.cell(r, 1).value: r for r in range(1, 40)}
    long_row = rows["Customer retention, annual (12 months to the report month)"]
    assert ws.cell(long_row, 1).alignment.wrap_text
    assert ws.row_dimensions[long_row].height == pytest.approx(2 * 13.5 + 2, abs=0.5)
    short_row = rows["Cross-sell rate"]
    assert not ws.cell(short_row, 1).alignment.wrap_text and ws.row_dimensions[short_row].height is None
