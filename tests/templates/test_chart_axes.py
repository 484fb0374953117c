"""Charts that read right: read as an outside check would, from the chart XML of the built workbooks.

The MRR bridge draws the movements of the report month as their own bars from 0, each labelled (a change of 60
on an MRR of 17,000 stays readable), from cells of the hidden chart sheet: no helper table on the Details
sheet. No chart has a second value axis (two series on two axes drew retention and churn as mirror images, and
first response and resolution as the same line). The survival curve's axes end at 100 % and at its last month;
the stickiness bars start at 0 and are labelled with one decimal; no two lines of a chart share a colour.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from test_chart_gaps import cells
from typer.testing import CliRunner

from kpi_cli.main import app

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def charts(path: Path) -> dict[str, str]:
    """Title → chart XML of every chart of a workbook."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = z.read(name).decode()
            title = "".join(re.findall(r"<a:t>(.*?)</a:t>", xml.split("</c:title>")[0]))
            out[title] = xml
    return out


def chart(path: Path, title_start: str) -> str:
    found = [xml for t, xml in charts(path).items() if t.startswith(title_start)]
    assert len(found) == 1, (title_start, list(charts(path)))
    return found[0]


def value_axes(xml: str) -> list[dict[str, float]]:
    """The scaling (min / max where set) of each value axis of a chart."""
    out = []
    for ax in re.findall(r"<c:valAx>(.*?)</c:valAx>", xml, re.DOTALL):
        scaling = re.search(r"<c:scaling>(.*?)</c:scaling>", ax, re.DOTALL).group(1)
        out.append({k: float(v) for k, v in re.findall(r'<c:(min|max) val="([^"]+)"/>', scaling)})
    return out


def series(xml: str) -> list[str]:
    return re.findall(r"<c:ser>(.*?)</c:ser>", xml, re.DOTALL)


def cached(ser: str, tag: str = "val") -> list[float | str]:
    block = re.search(rf"<c:{tag}>(.*?)</c:{tag}>", ser, re.DOTALL).group(1)
    vals = re.findall(r"<c:v>(.*?)</c:v>", block)
    return [float(v) if tag == "val" or tag == "xVal" else v for v in vals]


def details_bridge(path: Path) -> dict[str, float]:
    """The MRR bridge table of the Details sheet, label → value (as built)."""
    ws = openpyxl.load_workbook(path, data_only=True)["Details"]
    head = next(r for r in range(1, 40) if ws.cell(r, 1).value == "MRR bridge of the report month")
    return {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(head + 2, head + 9)}


@pytest.fixture(scope="module")
def latin_america(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("la")
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--by", "region", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    return out / "saas_dashboard__region-Latin_America.xlsx"


def _bridge_is_the_movements_from_zero(path: Path) -> list[float]:
    xml = chart(path, "MRR bridge, report month")
    (ser,) = series(xml)  # one series of bars: no invisible base, no stacked helpers
    assert "<c:grouping val=\"clustered\"/>" in xml
    assert value_axes(xml) == [{}]  # the axis is Excel's own from 0, not a minimum just under the bars
    assert '<c:showVal val="1"/>' in ser
    assert re.search(r'<c:dLbls><c:numFmt formatCode="\+#,##0;-#,##0;0"', ser)
    assert cached(ser, "cat") == ["New", "Expansion", "Reactivation", "Contraction", "Churned", "Net change"]
    br = details_bridge(path)
    drawn = cached(ser)
    assert drawn == pytest.approx([br["New"], br["Expansion"], br["Reactivation"], -br["Contraction"],
                                   -br["Churned"], br["Ending MRR"] - br["Starting MRR"]])
    # the bars' colours: increases green, decreases red, the net change blue
    assert re.findall(r'<c:dPt>.*?srgbClr val="(\w+)"', ser) == ["16A34A"] * 3 + ["DC2626"] * 2 + ["2563EB"]
    return drawn


def test_the_bridge_draws_the_demo_movements_as_labelled_bars_from_zero(demo):
    drawn = _bridge_is_the_movements_from_zero(demo["saas_dashboard"].path)
    # Jun 2026 of the sample data (Details: new 4,652.15, expansion 472, reactivation 203, no contraction,
    # churned 3,437.60; MRR 263,203.85 → 265,093.40)
    assert drawn == pytest.approx([4652.15, 472, 203, 0, -3437.6, 1889.55])


def test_a_segment_whose_change_is_58_on_18_000_gets_a_readable_bar(latin_america):
    drawn = _bridge_is_the_movements_from_zero(latin_america)
    br = details_bridge(latin_america)
    assert br["Ending MRR"] > 18_000 and drawn == pytest.approx([0, 0, 58, 0, 0, 58])


def test_the_bridge_helper_table_is_gone_from_the_details_sheet(demo, latin_america):
    for path in (demo["saas_dashboard"].path, latin_america):
        ws = openpyxl.load_workbook(path)["Details"]
        words = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
        assert not words & {"Base", "Total", "Increase", "Decrease"}, path.name
        # and the chart's cells are live formulas over the bridge table
        ref = re.search(r"<c:val><c:numRef><c:f>(.*?)</c:f>", chart(path, "MRR bridge")).group(1)
        formulas = [c.value for c in cells(openpyxl.load_workbook(path), ref)]
        assert formulas[3] == "=IF(ISNUMBER((-Details!$B$10)),(-Details!$B$10),NA())"
        assert formulas[5] == "=IF(ISNUMBER((Details!$B$12-Details!$B$6)),(Details!$B$12-Details!$B$6),NA())"


def test_no_chart_has_a_second_value_axis(demo):
    for key, built in demo.items():
        for title, xml in charts(built.path).items():
            n = len(value_axes(xml))
            assert n == (2 if "<c:scatterChart>" in xml else 1), (key, title)  # a scatter's x axis is a value axis


def test_retention_is_drawn_without_its_mirror_image(demo):
    xml = chart(demo["retention_cohorts"].path, "Customer retention by month")
    assert [re.search(r"<c:tx><c:v>(.*?)</c:v>", s).group(1) for s in series(xml)] == ["Retention"]


def test_response_and_resolution_times_have_a_chart_each_from_zero(demo):
    path = demo["customer_experience"].path
    for title, name in (("First response time", "First response"), ("Resolution time", "Resolution")):
        xml = chart(path, title)
        assert [re.search(r"<c:tx><c:v>(.*?)</c:v>", s).group(1) for s in series(xml)] == [name]
        assert value_axes(xml) == [{"min": 0.0}]


def test_the_survival_curve_axes_end_at_100_percent_and_at_its_last_month(demo):
    xml = chart(demo["retention_cohorts"].path, "Survival curve")
    ser, *band = series(xml)  # the curve, then the lower and upper bounds of its band
    assert len(band) == 2
    months = cached(ser, "xVal")
    assert max(months) == 30  # the sample data's longest customer life (Jul 2026 is not in the data)
    x_axis, y_axis = value_axes(xml)
    assert x_axis == {"min": 0.0, "max": 30.0}
    assert y_axis == {"min": 0.0, "max": 1.0}


def test_the_stickiness_bars_start_at_zero_with_one_decimal_labels(demo):
    xml = chart(demo["retention_cohorts"].path, "Stickiness")
    assert value_axes(xml) == [{"min": 0.0}]
    assert re.search(r'<c:dLbls><c:numFmt formatCode="0\.0%"', xml)


def test_no_two_lines_of_a_chart_share_a_colour(demo):
    checked = 0
    for key, built in demo.items():
        for title, xml in charts(built.path).items():
            lines = [m.group(1) for s in series(xml)
                     if (m := re.search(r'<a:ln w="\d+"><a:solidFill><a:srgbClr val="(\w+)"', s))]
            assert len(lines) == len(set(lines)), (key, title, lines)
            checked += len(lines) > 1
    xml = chart(demo["executive_overview"].path, "Monthly customer churn")
    dashes = re.findall(r'<a:prstDash val="(\w+)"/>', xml)
    assert dashes == ["dash", "lgDash"]  # the benchmarks are dashed, each its own way
    assert checked >= 1  # the churn chart with its two benchmarks
