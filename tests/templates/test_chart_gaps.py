"""No chart point comes from an error value other than #N/A: an undefined KPI is a gap in its chart, never a
point at 0, while the table beside it keeps the real error (with its meaning).

Read as an outside check would: the chart XML of each built workbook names the cells each series draws; the
cached values of those cells must be numbers or #N/A, and their live formulas must turn anything else into
NA().
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.build.chart_data import CHART_SHEET

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def series_refs(path: Path) -> list[tuple[str, str]]:
    """(chart part, reference) of every series' values in a workbook's charts."""
    out = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = z.read(name).decode()
            for val in re.findall(r"<c:val>(.*?)</c:val>", xml, re.DOTALL):
                out += [(name, f) for f in re.findall(r"<c:f>(.*?)</c:f>", val)]
    return out


def cells(wb: openpyxl.Workbook, ref: str) -> list:
    sheet, rng = ref.rsplit("!", 1)
    sheet = sheet.strip("'").replace("''", "'")
    c0, r0, c1, r1 = range_boundaries(rng.replace("$", ""))
    ws = wb[sheet]
    return [ws.cell(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]


@pytest.fixture(scope="module")
def by_region(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("regions")
    r = CliRunner().invoke(app, ["build", "--all", "--by", "region", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    return out


def test_every_chart_point_is_a_number_or_a_gap(by_region):
    files = sorted(by_region.glob("*.xlsx"))
    assert len(files) == 20
    gaps = 0
    for path in files:
        values = openpyxl.load_workbook(path, data_only=True)
        formulas = openpyxl.load_workbook(path)
        refs = series_refs(path)
        assert refs, path.name
        for part, ref in refs:
            for c in cells(values, ref):
                v = c.value
                assert v is None or v == "#N/A" or (isinstance(v, (int, float)) and not isinstance(v, bool)), \
                    (path.name, part, ref, c.coordinate, v)
                gaps += v == "#N/A"
            if ref.startswith(CHART_SHEET + "!"):
                for c in cells(formulas, ref):
                    assert re.fullmatch(r"=IF\(ISNUMBER\((.+)\),\1,NA\(\)\)", c.value), (path.name, c.value)
    assert gaps > 0  # the small regions have months where a KPI is undefined


def test_a_month_without_new_customers_is_a_gap_in_the_cac_chart_and_an_error_in_the_table(by_region):
    path = by_region / "marketing_funnel__region-Latin_America.xlsx"
    values = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    ws = values["Funnel"]
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "By month, all channels")
    cols = {ws.cell(head + 1, c).value: c for c in range(1, 12)}
    months = range(head + 2, head + 14)
    table = [ws.cell(r, cols["Paid CAC"]).value for r in months]
    undefined = [i for i, v in enumerate(table) if v == "#DIV/0!"]
    customers = [ws.cell(r, cols["Customers"]).value for r in months]
    assert undefined and all(customers[i] == 0 for i in undefined)  # no new customers: CAC undefined
    ref = next(f for part, f in series_refs(path) if part.endswith("chart3.xml"))  # "Paid CAC by month"
    drawn = [c.value for c in cells(values, ref)]
    assert [i for i, v in enumerate(drawn) if v == "#N/A"] == undefined
    assert all(drawn[i] == pytest.approx(table[i]) for i in range(12) if i not in undefined)
    # the live formula points at the table's own cell
    src = cells(formulas, ref)[undefined[0]].value
    col = openpyxl.utils.get_column_letter(cols["Paid CAC"])
    assert src == f"=IF(ISNUMBER(Funnel!${col}${head + 2 + undefined[0]}),Funnel!${col}${head + 2 + undefined[0]},NA())"
