"""The large-data layout: a report whose data is larger than Excel's grid is built without a truncated table.

The grid limit is shrunk to 1,000 rows (the builder reads ``builder.MAX_ROWS`` at call time), so the bundled
sample data is "too large": its Marketing table (2,160 rows) and its MRR schedule (5,852 customer-months) do
not fit, while the monthly movements (30 months), the per-customer MRR (536 customers) and the per-channel
tables do. What is expected is counted from the data files themselves (pandas) and from the same report built
in the standard layout with Excel's real limits, read back with openpyxl.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import builder
from workbook_templates.batch import SAMPLE_DIR, Task, run_task
from workbook_templates.schema import DATASETS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

REPORT = "saas_dashboard"
LIMIT = 1_000


def r16(v):
    """A number as a workbook stores a value cell: XlsxWriter writes numbers with 16 significant digits (every
    value cell of every report, the hidden stored values too), a formula's cached value with all 17."""
    return float(f"{v:.16g}") if isinstance(v, float) else v


def _build(out: Path, **kw):
    return run_task(Task(REPORT, str(SAMPLE_DIR), str(out / f"{REPORT}.xlsx"), **kw))


@pytest.fixture(scope="module")
def standard(tmp_path_factory) -> dict:
    """The report in the standard layout with Excel's real limits: formulas and cached values."""
    out = tmp_path_factory.mktemp("standard")
    res = _build(out)
    assert res.ok, res.error
    assert res.notes == []  # everything fits: the standard layout, and nothing said about a layout
    path = out / f"{REPORT}.xlsx"
    return {"result": res, "values": openpyxl.load_workbook(path, data_only=True),
            "formulas": openpyxl.load_workbook(path)}


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> dict:
    """The same report with a grid of 1,000 rows: the large-data layout, chosen automatically."""
    out = tmp_path_factory.mktemp("large")
    mp = pytest.MonkeyPatch()
    mp.setattr(builder, "MAX_ROWS", LIMIT)
    try:
        res = _build(out)
    finally:
        mp.undo()
    assert res.ok, res.error
    path = out / f"{REPORT}.xlsx"
    return {"result": res, "values": openpyxl.load_workbook(path, data_only=True),
            "formulas": openpyxl.load_workbook(path)}


def test_the_layout_is_chosen_automatically_and_says_why(large):
    notes = large["result"].notes
    assert len(notes) == 1
    assert notes[0] == ("large-data layout: input table Marketing (2,160 rows) on sheet 'Marketing' needs 2,161 "
                        "rows; table mrr (5,852 rows) on sheet 'MRR' needs 5,856 rows (a worksheet holds 1,000 rows "
                        "× 16,384 columns)")


def test_no_sheet_holds_a_truncated_table(standard, large):
    wb, ref = large["values"], standard["values"]
    assert set(wb.sheetnames) == set(ref.sheetnames)
    for ws in wb.worksheets:
        assert ws.max_row <= LIMIT, ws.title
    # the tables that fit are whole: every row and cell the standard layout has
    for name in ("Movements", "Customer MRR", "Details", "Channels", "Customers", "Subscriptions", "Costs"):
        got = [[r16(v) for v in r] for r in wb[name].iter_rows(values_only=True)]
        want = [[r16(v) for v in r] for r in ref[name].iter_rows(values_only=True)]
        if name == "Channels":  # its banner says more (test_the_banner_says_so)
            got, want = got[3:], want[3:]
        assert len(got) == len(want), name
        assert got == want, name
    # the MRR schedule is not there at all: its sheet holds its title and a note, no row of the table
    mrr = [r for r in wb["MRR"].iter_rows(values_only=True) if any(v is not None for v in r)]
    assert len(mrr) == 3
    assert mrr[2][0].startswith("Not in this workbook: table mrr (5,852 rows) needs 5,856 rows")
    cust = pd.read_csv(SAMPLE_DIR / "customers.csv")
    assert wb["Customer MRR"].max_row == 4 + len(cust) == 540  # header on row 4, one row per customer


def test_an_input_table_too_large_becomes_a_summary_of_all_its_rows(large):
    ws = large["values"]["Marketing"]
    df = pd.read_csv(SAMPLE_DIR / "marketing.csv")
    assert ws["A3"].value == "Rows" and ws["B3"].value == len(df) == 2160
    assert ws["B4"].value == "marketing.csv"
    assert "The full data (2,160 rows) was used" in ws["A2"].value
    rows = {r[0]: r for r in ws.iter_rows(min_row=6, values_only=True) if r[0]}
    assert list(rows)[:len(df.columns)] == list(df.columns)
    assert list(rows)[len(df.columns):] == ["currency"]  # the schema's optional column, not in the file: all blank
    assert rows["currency"][2:4] == (0, 2160)
    assert rows["spend"][2] == df["spend"].notna().sum()  # values
    assert rows["spend"][7] == pytest.approx(df["spend"].sum(), rel=1e-12)  # sum of all 2,160 rows
    assert rows["channel"][4] == df["channel"].nunique()
    assert rows["month"][5].date() == pd.Timestamp(df["month"].min()).date()
    assert rows["month"][6].date() == pd.Timestamp(df["month"].max()).date()
    assert not large["formulas"]["Marketing"].tables  # no Excel table: nothing can read a part of it


def _formulas(wb) -> list[tuple[str, str, str]]:
    return [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")]


def test_no_formula_reads_a_table_that_is_not_in_the_workbook(large):
    found = _formulas(large["formulas"])
    assert len(found) > 200
    for sheet, cell, f in found:
        assert "Marketing[" not in f, (sheet, cell, f)
        assert not re.search(r"(?<![A-Za-z' ])MRR!", f), (sheet, cell, f)


def test_stored_cells_hold_the_standard_layouts_values_exactly_and_are_marked(standard, large):
    wb, ref = large["formulas"], standard["values"]
    spend = wb["Dashboard"]["B52"]  # Marketing spend: a sum over the Marketing table, which is not there
    assert spend.value == r16(ref["Dashboard"]["B52"].value) == 79320.21
    assert spend.fill.fgColor.rgb == "FFEDE9FE"
    assert spend.comment is not None and "Stored value" in spend.comment.text
    assert "input table Marketing (2,160 rows)" in spend.comment.text
    # the per-customer MRR (sums over the MRR schedule) are stored; the first cell of each column says so
    cm, cm_ref = wb["Customer MRR"], ref["Customer MRR"]
    for col in "BCD":
        assert cm[f"{col}5"].comment is not None
        for r in range(5, 541):
            assert cm[f"{col}{r}"].value == r16(cm_ref[f"{col}{r}"].value)
            assert not str(cm[f"{col}{r}"].value).startswith("=")
    # the monthly movements (over the MRR schedule) are a stored table, equal to the standard layout's
    mov = [list(r) for r in wb["Movements"].iter_rows(min_row=5, values_only=True)]
    assert mov == [list(r) for r in standard["values"]["Movements"].iter_rows(min_row=5, values_only=True)]
    assert len(mov) == 30


def test_kpi_cells_stay_live_formulas_over_the_aggregates_that_fit(standard, large):
    wb, ref = large["formulas"], standard["formulas"]
    vals, ref_vals = large["values"], standard["values"]
    ws = wb["Dashboard"]
    assert re.fullmatch(r"=IF\(AddinMissing,_values!\$A\$\d+,KPI_MRR\('Customer MRR'!\$C\$5:\$C\$540\)\)",
                        ws["B11"].value)
    assert ws["B23"].value == "=INDEX(Movements!$I$5:$I$34,MATCH($B$5,Movements!$A$5:$A$34,0))"
    assert ws["B53"].value == "=($B$52+SUMPRODUCT((Costs[month]=$B$5)*Costs[sales_cost]))"
    # every live formula of the dashboard is the standard layout's (up to the stored values' addresses)
    # and caches the same value
    norm = lambda f: re.sub(r"_values!\$A\$\d+", "_values!X", f)
    for row in range(8, 61):
        a = f"B{row}"
        f, g = ws[a].value, ref["Dashboard"][a].value
        if isinstance(f, str) and f.startswith("="):
            assert norm(f) == norm(g), a
        if a == "B52":  # the one stored cell (above)
            continue
        assert vals["Dashboard"][a].value == ref_vals["Dashboard"][a].value, a


def test_the_notes_sheet_lists_live_and_stored_cells(large):
    ws = large["values"]["Notes"]
    rows = [tuple(r[:3]) for r in ws.iter_rows(values_only=True)]
    start = rows.index(("Large-data layout: live and stored cells", None, None))
    table = {r[0]: (r[1], r[2]) for r in rows[start + 3:] if r[0]}
    assert rows[start + 1][0] == "How it works"
    assert rows[start + 1][1].startswith("Chosen by kpi build because a table would not fit a worksheet.")
    assert table["Dashboard!B52"] == ("Unit economics: Marketing spend",
                                      "stored value: reads input table Marketing (2,160 rows), not in this workbook")
    assert table["Dashboard!B11:B19"][1] == "live formula"
    assert table["MRR!A4"] == ("table mrr (5,852 rows)", "not in this workbook (computed from the full data)")
    assert table["Movements!A4:M34"] == ("table movements (30 rows)",
                                         "stored values: this table reads table mrr (5,852 rows), not in this workbook")
    assert table["'Customer MRR'!C5:C540"] == ("table cust, MRR report month (536 rows)",
                                               "stored value: reads table mrr (5,852 rows), not in this workbook")
    assert table["Details!B17:B28"] == ("table trend, Ending MRR (12 rows)", "live formula")
    assert table["Dashboard!B7"] == ("Report settings: Previous month", "live formula")
    # and the About section points at it
    about = {r[0]: r[1] for r in rows[:start]}
    assert "Large-data layout" in about


def test_the_banner_says_so(large):
    cell = large["formulas"]["Dashboard"]["A3"].value
    assert "Large-data layout: shaded cells hold stored values (see Notes)." in cell
    assert len(max(re.findall(r'"([^"]*)"', cell), key=len)) <= 255  # Excel's limit on a text in a formula


def test_layout_standard_refuses_and_the_cli_logs_the_automatic_choice(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "MAX_ROWS", LIMIT)
    runner = CliRunner()
    r = runner.invoke(app, ["build", REPORT, "--out", str(tmp_path / "std"), "--no-progress", "--layout", "standard",
                            "--log-format", "text"])
    assert r.exit_code == 1, r.output
    flat = " ".join(r.output.split())
    assert "error: sheet 'Marketing' needs 2,161 rows (input table Marketing of 2,160 rows and its header); a " \
           "worksheet holds at most 1,000 rows: split the data with `kpi build --by <column>`" in flat, r.output
    assert "`--layout large`" in flat
    assert not list((tmp_path / "std").glob("*.xlsx"))

    r = runner.invoke(app, ["build", REPORT, "--out", str(tmp_path / "auto"), "--no-progress", "--log-format", "text"])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "note saas_dashboard: large-data layout: input table Marketing (2,160 rows) on sheet 'Marketing'" in flat
    r = runner.invoke(app, ["build", REPORT, "--out", str(tmp_path / "table"), "--no-progress", "--log-format",
                            "table"])
    assert r.exit_code == 0, r.output
    assert "note saas_dashboard: large-data layout: input table Marketing (2,160 rows)" in " ".join(r.output.split())
    r = runner.invoke(app, ["build", REPORT, "--out", str(tmp_path / "json"), "--no-progress", "--log-format", "json"])
    assert r.exit_code == 0, r.output
    line = next(json.loads(x) for x in r.output.splitlines() if '"report"' in x and '"totals"' not in x)
    assert line["notes"][0].startswith("large-data layout: input table Marketing (2,160 rows)")

    r = runner.invoke(app, ["build", REPORT, "--out", str(tmp_path / "bad"), "--layout", "huge"])
    assert r.exit_code == 2 and "--layout 'huge': use one of auto, standard, large" in " ".join(r.output.split())


def test_layout_large_with_everything_fitting_keeps_the_standard_values(standard, tmp_path):
    res = _build(tmp_path, layout="large")
    assert res.ok, res.error
    assert res.notes == ["large-data layout: asked for with --layout large; every table fits a worksheet"]
    wb = openpyxl.load_workbook(tmp_path / f"{REPORT}.xlsx", data_only=True)
    for name in ("Dashboard", "Details", "MRR", "Movements", "Marketing"):
        assert [list(r) for r in wb[name].iter_rows(values_only=True) if name != "Dashboard"] == \
               [list(r) for r in standard["values"][name].iter_rows(values_only=True) if name != "Dashboard"]
    for row in range(8, 61):
        assert wb["Dashboard"][f"B{row}"].value == standard["values"]["Dashboard"][f"B{row}"].value


def test_a_values_only_copy_in_the_large_layout(standard, tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "MAX_ROWS", LIMIT)
    res = _build(tmp_path, flavour="values")
    assert res.ok, res.error
    wb = openpyxl.load_workbook(tmp_path / f"{REPORT}.xlsx")
    assert not _formulas(wb)
    assert wb["Marketing"]["B3"].value == 2160
    for row in range(8, 61):
        want = standard["values"]["Dashboard"][f"B{row}"].value
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            assert wb["Dashboard"][f"B{row}"].value == r16(want), row


def test_when_even_the_report_sheet_does_not_fit_it_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "MAX_ROWS", 50)  # the dashboard's own KPI list runs to row 60
    res = _build(tmp_path)
    assert not res.ok
    assert res.error.startswith("sheet 'Dashboard' needs "), res.error
    assert "the large-data layout leaves out only input, spilled and row tables" in res.error
    assert not list(tmp_path.glob("*.xlsx"))


@pytest.mark.parametrize("report", ["retention_cohorts", "marketing_funnel", "customer_experience",
                                    "executive_overview"])
def test_every_report_builds_in_the_large_layout_with_no_formula_left_dangling(report, tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "MAX_ROWS", LIMIT)
    res = run_task(Task(report, str(SAMPLE_DIR), str(tmp_path / f"{report}.xlsx")))
    assert res.ok, res.error
    assert res.notes and res.notes[0].startswith("large-data layout: ")
    wb = openpyxl.load_workbook(tmp_path / f"{report}.xlsx")
    summaries = {ws.title: ws for ws in wb.worksheets if str(ws["A1"].value).endswith("is not in this workbook)")}
    assert summaries  # each of these reports reads an input table of more than 1,000 rows in the sample
    left = [re.search(r"table (\w+) is not", ws["A1"].value).group(1) for ws in summaries.values()]
    for ws in wb.worksheets:
        assert ws.max_row <= LIMIT, ws.title
    for sheet, cell, f in _formulas(wb):
        assert not any(f"{t}[" in f for t in left), (sheet, cell, f)
        assert not re.search(r"(?<![A-Za-z' ])MRR!", f), (sheet, cell, f)
    for title, ws in summaries.items():  # every summary counts all the rows of its file
        ds = next(d for d in DATASETS.values() if d.sheet == title)
        n = len(pd.read_csv(SAMPLE_DIR / f"{ds.name}.csv"))
        assert n > LIMIT and ws["B3"].value == n, title


def test_a_per_customer_table_too_large_is_left_out_and_the_kpis_over_it_are_stored(standard, tmp_path,
                                                                                    monkeypatch):
    n_cust = len(pd.read_csv(SAMPLE_DIR / "customers.csv"))  # 536: the Customer MRR table needs 540 rows
    monkeypatch.setattr(builder, "MAX_ROWS", 500)
    res = _build(tmp_path)
    assert res.ok, res.error
    assert f"table cust ({n_cust:,} rows) on sheet 'Customer MRR' needs 540 rows" in res.notes[0]
    wb = openpyxl.load_workbook(tmp_path / f"{REPORT}.xlsx")
    ref = standard["values"]["Dashboard"]
    cm = [r for r in wb["Customer MRR"].iter_rows(values_only=True) if any(v is not None for v in r)]
    assert len(cm) == 3 and cm[2][0].startswith(f"Not in this workbook: table cust ({n_cust:,} rows)")
    ws = wb["Dashboard"]
    # MRR, churn, NRR read the per-customer columns: stored, equal to the standard layout's values
    for cell in ("B11", "B16", "B32", "B41", "B42"):
        assert not str(ws[cell].value).startswith("="), cell
        assert ws[cell].value == r16(ref[cell].value), cell
        assert ws[cell].comment is not None and "table cust (536 rows)" in ws[cell].comment.text
    # ARR (12 × MRR) and the movements' look-ups stay live
    assert re.fullmatch(r"=IF\(AddinMissing,_values!\$A\$\d+,KPI_ARR\(\$B\$11\)\)", ws["B12"].value)
    assert ws["B23"].value.startswith("=INDEX(Movements!")
    assert wb["Customers"]["B3"].value == n_cust  # the Customers input table is a summary too


def test_when_only_the_hidden_values_sheet_would_overflow_the_largest_table_is_stored(standard, tmp_path,
                                                                                     monkeypatch):
    ref = standard["formulas"]
    values_rows = ref[builder.VALUES_SHEET].max_row
    visible = max(ws.max_row for ws in ref.worksheets if ws.title != builder.VALUES_SHEET)
    assert values_rows > visible
    monkeypatch.setattr(builder, "MAX_ROWS", values_rows - 1)
    res = _build(tmp_path)
    assert res.ok, res.error
    mrr_rows = ref["MRR"].max_row - 4
    assert res.notes == [(f"large-data layout: the hidden values sheet would not hold the stored copy of table mrr "
                         f"({mrr_rows:,} rows), which is written as its values (a worksheet holds "
                         f"{values_rows - 1:,} rows × 16,384 columns)")]
    wb = openpyxl.load_workbook(tmp_path / f"{REPORT}.xlsx")
    vals = openpyxl.load_workbook(tmp_path / f"{REPORT}.xlsx", data_only=True)
    # nothing is left out: the MRR schedule is whole, written as its values (no copy on the values sheet)
    mrr = wb["MRR"]
    assert mrr.max_row == ref["MRR"].max_row
    assert not str(mrr["A4"].value).startswith("=")
    assert [list(r) for r in vals["MRR"].iter_rows(min_row=5, values_only=True)] == \
           [list(r) for r in standard["values"]["MRR"].iter_rows(min_row=5, values_only=True)]
    assert wb[builder.VALUES_SHEET].max_row < values_rows - 5_000
    assert "written as its values, not as a formula" in mrr["A4"].comment.text
    notes = {r[0]: r[2] for r in vals["Notes"].iter_rows(values_only=True) if r[0]}
    assert notes[f"MRR!A4:C{mrr.max_row}"].startswith("stored values: this table is written as its values")
    # the movements over it stay a live spilled formula
    assert wb["Movements"]["A4"].value.text.startswith("=IF(AddinMissing,")
