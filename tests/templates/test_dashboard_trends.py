"""The dashboard's change on the previous period and sparkline beside each headline KPI, against a slow
reference from the subscription rows (each customer's MRR at each month end), for a month and a quarter."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from workbook_templates.batch import SAMPLE_DIR, atomic_build
from workbook_templates.build.trends import CHANGE_FORMATS
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.formulas import BlockCol
from workbook_templates.periods import parse_period
from workbook_templates.report_dashboard_kpis import TRENDS
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPEC = REPORTS["saas_dashboard"]


@pytest.fixture(scope="module")
def tables(sample_tables):
    return sample_tables  # the sample company, loaded once per session (conftest)


@pytest.fixture(scope="module")
def mrr() -> pd.DataFrame:
    """Customer × month-end MRR, summed from the subscription rows one month end at a time."""
    subs = pd.read_csv(SAMPLE_DIR / "subscriptions.csv", parse_dates=["start_date", "end_date"])
    ends = pd.date_range("2025-09-30", "2026-06-30", freq="ME")
    out = {}
    for e in ends:
        on = (subs.start_date <= e) & (subs.end_date.isna() | (subs.end_date > e))
        out[e.strftime("%Y-%m")] = (subs.amount / subs.billing_months)[on].groupby(subs.customer_id[on]).sum()
    return pd.DataFrame(out).fillna(0.0)


def _built(tables, text: str, spec=SPEC):
    period = parse_period(text, 1)
    month = pd.Timestamp(year=period.last // 12, month=period.last % 12 + 1, day=1)
    return evaluate(spec, scope(tables, spec.datasets, None, month, "test", period))


def _churn(mrr: pd.DataFrame, start: str, end: str) -> float:
    paying = mrr[start] > 0
    return float((paying & (mrr[end] <= 0)).sum() / paying.sum())


def _nrr(mrr: pd.DataFrame, start: str, end: str) -> float:
    paying = mrr[start] > 0
    return float(mrr.loc[paying, end].sum() / mrr.loc[paying, start].sum())


@pytest.mark.parametrize(("text", "prev", "start", "end"), [
    ("2026-06", "2026-04", "2026-05", "2026-06"),   # June on May
    ("2026-Q2", "2025-12", "2026-03", "2026-06"),   # Q2 on Q1
])
def test_changes_on_the_previous_period_equal_the_reference(tables, mrr, text, prev, start, end):
    b = _built(tables, text)
    total = mrr.sum()
    assert b.value("mrr.change") == pytest.approx(total[end] / total[start] - 1, rel=1e-9)
    assert b.value("arr.change") == pytest.approx(total[end] / total[start] - 1, rel=1e-9)
    paying = (mrr > 0).sum()
    assert b.value("cust_end.change") == pytest.approx(paying[end] / paying[start] - 1, rel=1e-12)
    arpa = total / paying
    assert b.value("arpa.change") == pytest.approx(arpa[end] / arpa[start] - 1, rel=1e-9)
    # rates: percentage points
    assert b.value("logo_churn.change") == pytest.approx(
        100 * (_churn(mrr, start, end) - _churn(mrr, prev, start)), rel=1e-9)
    assert b.value("retention.change") == pytest.approx(
        -100 * (_churn(mrr, start, end) - _churn(mrr, prev, start)), rel=1e-9)
    if text == "2026-06":
        assert b.value("nrr.change") == pytest.approx(100 * (_nrr(mrr, start, end) - _nrr(mrr, prev, start)),
                                                      rel=1e-9)
    else:  # a quarter's movements are sums of monthly ones: no exact NRR history by quarter, so no change
        assert "nrr.change" not in b.cells and "grr.change" not in b.cells
        assert set(b.evaluate_node(BlockCol("trend", "nrr"))) == {""}


def test_june_2026_by_hand(tables):
    """19 of 400 payers churned in June, 3 of 374 in May: +3.95 points; 16 new customers after 25: −36 %."""
    b = _built(tables, "2026-06")
    assert b.value("logo_churn.change") == pytest.approx(100 * (19 / 400 - 3 / 374))
    assert b.value("cust_new.change") == pytest.approx(16 / 25 - 1)
    assert b.value("cust_churned.change") == pytest.approx(19 / 3 - 1)


def test_change_cells_sparklines_and_colours_in_the_workbook(tables, tmp_path):
    period = parse_period("2026-06", 1)
    res = atomic_build(SPEC, scope(tables, SPEC.datasets, None, pd.Timestamp("2026-06-01"), "t", period),
                       tmp_path / "d.xlsx")
    ws = openpyxl.load_workbook(res.path)["Dashboard"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    head = rows.get("KPI")
    assert head is not None and ws.cell(head, 3).value == "Change" and ws.cell(head, 4).value == "Trend"
    mrr_change = ws.cell(rows["MRR"], 3)
    assert mrr_change.value.startswith("=IFERROR((($B$") and mrr_change.number_format == CHANGE_FORMATS["rel"]
    assert ws.cell(rows["Customer churn"], 3).number_format == CHANGE_FORMATS["pp"]
    assert ws.cell(rows["MRR growth"], 3).value is None  # no history: no change shown
    xml = zipfile.ZipFile(res.path).read("xl/worksheets/sheet1.xml").decode()
    lines = dict(re.findall(r"<xm:f>([^<]+)</xm:f><xm:sqref>([A-Z]+\d+)</xm:sqref>", xml))
    spark = {v: k for k, v in lines.items()}
    assert len(spark) == len(set(TRENDS) - {"churn", "nps", "csat"}) == 17  # those are the overview's names
    assert spark[f"D{rows['MRR']}"] == "Details!B17:B28"  # the trend table's Ending MRR, 12 months
    # green when MRR rises, red when churn rises
    rules = {str(rng): [(r.formula, r.dxf.font.color.rgb) for r in cf.rules]
             for cf in ws.conditional_formatting for rng in [cf.sqref]}
    assert rules[f"C{rows['MRR']}"] == [([f"AND(ISNUMBER(C{rows['MRR']}),C{rows['MRR']}>0)"], "FF15803D"),
                                        ([f"AND(ISNUMBER(C{rows['MRR']}),C{rows['MRR']}<0)"], "FFB91C1C")]
    c = rows["Customer churn"]
    assert rules[f"C{c}"] == [([f"AND(ISNUMBER(C{c}),C{c}>0)"], "FFB91C1C"),
                              ([f"AND(ISNUMBER(C{c}),C{c}<0)"], "FF15803D")]


def test_the_executive_overview_shows_the_same_changes_and_the_surveys(tables):
    over = evaluate(REPORTS["executive_overview"],
                    scope(tables, REPORTS["executive_overview"].datasets, None, pd.Timestamp("2026-06-01"), "t"))
    dash = _built(tables, "2026-06")
    assert over.value("mrr.change") == pytest.approx(dash.value("mrr.change"), rel=1e-12)
    assert over.value("churn.change") == pytest.approx(dash.value("logo_churn.change"), rel=1e-12)
    assert over.value("nrr.change") == pytest.approx(dash.value("nrr.change"), rel=1e-12)

    def month(path: str, m: str) -> pd.Series:
        df = pd.read_csv(SAMPLE_DIR / path, parse_dates=["date"])
        return df.loc[df.date.dt.strftime("%Y-%m") == m, "score"]

    def nps(m: str) -> float:
        s = month("nps_responses.csv", m)
        return 100 * ((s >= 9).mean() - (s <= 6).mean())

    def csat(m: str) -> float:
        return float((month("csat_responses.csv", m) >= 4).mean())

    assert over.value("nps.change") == pytest.approx(nps("2026-06") - nps("2026-05"), rel=1e-9)  # NPS points
    assert over.value("csat.change") == pytest.approx(100 * (csat("2026-06") - csat("2026-05")), rel=1e-9)
    assert "stickiness.change" not in over.cells  # no history


def test_the_cli_summary_shows_churn_with_the_workbook_s_digits(tmp_path):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    r = CliRunner().invoke(app, ["build", "saas_dashboard", "executive_overview", "--out", str(tmp_path),
                                 "--log-format", "text"])
    assert r.exit_code == 0, r.output
    assert 'headline="MRR 265,093, Customer churn 4.75%,' in r.output  # 19/400, as the 0.00% cell shows it
    assert "Customer churn, monthly 4.75%" in r.output
    ws = openpyxl.load_workbook(tmp_path / "saas_dashboard.xlsx", data_only=True)["Dashboard"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    cell = ws.cell(rows["Customer churn"], 2)
    assert cell.value == pytest.approx(19 / 400) and cell.number_format == "0.00%"


@pytest.mark.parametrize("report", ["saas_dashboard", "executive_overview"])
def test_churn_interval_and_whether_its_change_is_more_than_noise_by_hand(tables, report):
    """June 2026: 19 of 400 payers churned (May: 3 of 374). Wilson's interval and the pooled z-test by hand;
    the dashboard and the executive overview show the same."""
    import math

    spec = REPORTS[report]
    b = _built(tables, "2026-06", spec)
    n, k, z = 400, 19, 1.959963984540054
    p = k / n
    centre, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert b.value("churn_ci_low") == pytest.approx((centre - half) / (1 + z * z / n), rel=1e-9)
    assert b.value("churn_ci_high") == pytest.approx((centre + half) / (1 + z * z / n), rel=1e-9)
    pooled = (3 + 19) / (374 + 400)
    zz = (19 / 400 - 3 / 374) / math.sqrt(pooled * (1 - pooled) * (1 / 374 + 1 / 400))
    assert b.value("churn_p") == pytest.approx(math.erfc(abs(zz) / math.sqrt(2)), rel=1e-9)
    assert b.value("churn_real") == "yes: more than noise"
    b = _built(tables, "2026-05", spec)  # 3 of 374 in May against 16 of 363 in April: also more than noise
    assert b.value("churn_p") < 0.05
    b = _built(tables, "2026-04", spec)  # 16/363 against 7/342 in March
    pooled = (7 + 16) / (342 + 363)
    zz = (16 / 363 - 7 / 342) / math.sqrt(pooled * (1 - pooled) * (1 / 342 + 1 / 363))
    assert b.value("churn_p") == pytest.approx(math.erfc(abs(zz) / math.sqrt(2)), rel=1e-9)
    assert b.value("churn_real") == ("yes: more than noise" if b.value("churn_p") < 0.05 else "no: within noise")


def test_the_spilled_churn_tests_carry_their_headings(tables, tmp_path):
    """The interval and the test spill on Details under a heading saying what they are."""
    spec = REPORTS["executive_overview"]
    atomic_build(spec, scope(tables, spec.datasets, None, pd.Timestamp("2026-06-01"), "t", parse_period("2026-06", 1)),
                 tmp_path / "o.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx", data_only=True)["Details"]
    cells = {ws.cell(r, c).value: (r, c) for r in range(1, 40) for c in range(1, 8)}
    r, c = cells["Customer churn: 95 % confidence interval"]
    assert ws.cell(r + 1, c).value == "Label" and ws.cell(r + 2, c).value == "rate"
    assert ws.cell(r + 2, c + 1).value == pytest.approx(19 / 400)
    r, c = cells["Customer churn: change on the previous period (95 %)"]
    assert ws.cell(r + 2, c).value == "rate a" and ws.cell(r + 2, c + 1).value == pytest.approx(3 / 374)
