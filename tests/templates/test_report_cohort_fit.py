"""The retention report's cohort projections: the sBG fit per cohort, the cohorts drawn, the chart.

Checked against the built workbook as a reader would see it: the fit table equals KPI_SBG_COHORTS called
here on the cached triangle of the Cohorts sheet, the cohorts drawn are the latest fitted ones with at least
six observed months (picked here from that result by hand), and the chart draws each one's actual row of the
triangle and its projected row of the fit, with a gap (``#N/A``) where a month is not observed.
"""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

import kpi_functions as k
from workbook_templates.batch import atomic_build
from workbook_templates.context import scope
from workbook_templates.make_templates import SOURCE_LABEL
from workbook_templates.report_cohort_fit import COHORT_FIT_SHEET, CURVES_SHEET, DRAWN, MIN_MONTHS, MONTHS
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

KEY = "retention_cohorts"


@pytest.fixture(scope="module")
def books(sample_tables, tmp_path_factory):
    """The retention report built from the sample data (alone: the other reports are not needed here)."""
    spec = REPORTS[KEY]
    path = tmp_path_factory.mktemp("cohort_fit") / f"{KEY}.xlsx"
    atomic_build(spec, scope(sample_tables, spec.datasets, None, None, SOURCE_LABEL), path)
    return openpyxl.load_workbook(path, data_only=True), openpyxl.load_workbook(path), path


def _block(ws, top: int, width: int) -> list[list]:
    """The rows of a spilled table from its header row ``top`` (1-based) down to the first blank label."""
    rows = []
    r = top
    while ws.cell(r, 1).value not in (None, ""):
        rows.append([ws.cell(r, c).value for c in range(1, width + 1)])
        r += 1
    return rows


def _header_row(ws, text: str) -> int:
    return next(r for r in range(1, 60) if ws.cell(r, 1).value == text)


def _triangle(wb) -> list[list]:
    ws = wb["Cohorts"]
    return _block(ws, _header_row(ws, "Cohort"), 2 + MONTHS)


def _fit_table(wb) -> pd.DataFrame:
    ws = wb[COHORT_FIT_SHEET]
    rows = _block(ws, _header_row(ws, "Cohort"), 7 + MONTHS)
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_the_sheet_follows_the_cohorts_sheet_and_its_calc_sheet_is_hidden(books):
    values, _, _ = books
    names = values.sheetnames
    assert names[names.index("Cohorts") + 1] == COHORT_FIT_SHEET
    assert values[CURVES_SHEET].sheet_state == "hidden" and values[COHORT_FIT_SHEET].sheet_state == "visible"


def test_the_fit_table_is_kpi_sbg_cohorts_of_the_cohort_triangle(books):
    values, formulas, _ = books
    ws = formulas[COHORT_FIT_SHEET]
    top = _header_row(values[COHORT_FIT_SHEET], "Cohort")
    anchor = ws.cell(top, 1).value
    text = getattr(anchor, "text", anchor)
    assert "KPI_SBG_COHORTS(" in text and "Cohorts!" in text and text.rstrip(")").endswith(str(MONTHS))
    expect = k.sbg_cohorts(_triangle(values), MONTHS)
    got = _fit_table(values)
    assert len(got) == len(expect) and len(expect) >= 20
    assert [c.lower() for c in got.columns[:6]] == ["cohort", "size", "alpha", "beta", "log-lik.", "observed"]
    np.testing.assert_array_equal(got["Size"].to_numpy(float), expect["size"].to_numpy(float))
    np.testing.assert_array_equal(got["Observed"].to_numpy(float), expect["periods"].to_numpy(float))
    for mine, theirs in (("Alpha", "alpha"), ("Beta", "beta"), ("Log-lik.", "log-likelihood"), ("Month 12", "month 12")):
        a = pd.to_numeric(got[mine].replace("", np.nan), errors="coerce").to_numpy(float)
        np.testing.assert_allclose(a, expect[theirs].to_numpy(float), rtol=1e-6, equal_nan=True)
    notes = ["" if v is None else v for v in got["Why not fitted"]]
    assert notes == expect["note"].tolist()
    fitted = expect["note"] == ""
    assert fitted.sum() >= 2 and (~fitted).sum() >= 2  # the sample has both kinds of cohort


def test_the_cohorts_drawn_are_the_latest_fitted_with_six_months(books):
    values, _, _ = books
    expect = k.sbg_cohorts(_triangle(values), MONTHS)
    ok = expect[(expect["periods"] >= MIN_MONTHS) & expect["alpha"].notna()]["cohort"].sort_values(ascending=False)
    picks = [pd.Timestamp(v) for v in ok.head(len(DRAWN))]
    picks += ["none"] * (len(DRAWN) - len(picks))
    ws = values[COHORT_FIT_SHEET]
    row = _header_row(ws, "Drawn")
    got = [ws.cell(row + 1 + i, 2).value for i in range(len(DRAWN))]
    assert [pd.Timestamp(v) if not isinstance(v, str) else v for v in got] == picks
    assert [ws.cell(row + 1 + i, 1).value for i in range(len(DRAWN))] == [label for _, label, *_ in DRAWN]


def _chart_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"xl/charts/chart\d+\.xml", name):
                xml = z.read(name).decode()
                if "Latest full cohorts" in xml:
                    return xml
    raise AssertionError("no cohort projection chart")


def test_the_chart_draws_actuals_solid_and_projections_dashed(books):
    values, _, path = books
    xml = _chart_xml(path)
    assert "<c:scatterChart>" in xml  # a scatter chart: LibreOffice leaves a gap at #N/A only there
    sers = re.findall(r"<c:ser>(.*?)</c:ser>", xml, re.DOTALL)
    names = [re.search(r"<c:v>(.*?)</c:v>", s).group(1) for s in sers]
    assert names == [f"{label}: {kind}" for _, label, *_ in DRAWN for kind in ("actual", "projected")]
    for s, name in zip(sers, names):
        dashed = '<a:prstDash val="dash"/>' in s
        assert dashed == name.endswith("projected"), name
        assert ('<c:symbol val="circle"/>' in s) == name.endswith("actual"), name

    # the points: the picked cohort's row of the triangle (a gap where not observed) and of the fit
    expect = k.sbg_cohorts(_triangle(values), MONTHS)
    tri = pd.DataFrame(_triangle(values)[1:], columns=["cohort", "size"] + [f"m{t}" for t in range(MONTHS)])
    charts = values["_charts"]
    ws = values[COHORT_FIT_SHEET]
    row = _header_row(ws, "Drawn")
    for i, s in enumerate(sers[:4]):
        ref = re.search(r"<c:yVal>.*?<c:f>(.*?)</c:f>", s, re.DOTALL).group(1)
        col = ref.split("!")[1].split(":")[0].strip("$").rstrip("0123456789").strip("$")
        pts = [charts[f"{col}{r}"].value for r in range(2, 2 + MONTHS)]
        cohort = pd.Timestamp(ws.cell(row + 1 + i // 2, 2).value)
        if i % 2 == 0:
            line = tri[pd.to_datetime(tri["cohort"]) == cohort].iloc[0, 2:].tolist()
            want = ["#N/A" if v is None or v == "" or (isinstance(v, float) and np.isnan(v)) else v for v in line]
        else:
            want = expect[expect["cohort"] == cohort].loc[:, "month 0":f"month {MONTHS - 1}"].iloc[0].tolist()
        assert len(pts) == MONTHS
        for p, w in zip(pts, want):
            assert (p == w) if isinstance(w, str) else (p == pytest.approx(w, rel=1e-9)), (i, p, w)
    months = [values[CURVES_SHEET].cell(r, 1).value for r in range(5, 5 + MONTHS)]
    assert months == list(range(MONTHS))
