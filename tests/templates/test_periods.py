"""Reports of a quarter or a year (``--period 2026-Q2 | 2025 | latest-quarter …``, ``--fiscal-year-start``).

Sources of truth:
* the period names and their months, worked out by hand (fiscal years are named by the calendar year
  they end in: with a fiscal year from April, FY2026 is April 2025 – March 2026);
* a slow, obviously-correct reference computed from the subscription rows alone, by the definitions:
  each customer's MRR at every month end by a loop over the subscriptions ((amount − discount) ÷ billing
  months when start ≤ the month's last day < end), the monthly movements by a loop over the customers,
  then per period the sums of the monthly movements and the two month-end snapshots (the month before the
  period, its last month): churn = paying at the start, not at the end ÷ paying at the start; retention =
  the rest; NRR/GRR over the customers paying at the start. It is compared with the reports built from
  the bundled sample data and from a small hand-made data set the repository does not otherwise contain.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.batch import SAMPLE_DIR, PlanError, parse_periods
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.data import load_all
from workbook_templates.formulas import ExcelError
from workbook_templates.periods import Period, latest_complete, parse_period
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl on the workbooks' extensions

MONEY = {"br_start": "starting MRR", "br_new": "new", "br_exp": "expansion", "br_react": "reactivation",
         "br_contr": "contraction", "br_churn": "churned", "br_end": "ending MRR"}


def ym(y: int, m: int) -> int:
    return y * 12 + m - 1


# ==========================================================================
# Names and parsing
# ==========================================================================
@pytest.mark.parametrize(("text", "fy", "grain", "first", "last", "name", "title"), [
    ("2026-03", 1, "month", ym(2026, 3), ym(2026, 3), "2026-03", "March 2026"),
    ("2026-Q2", 1, "quarter", ym(2026, 4), ym(2026, 6), "2026-Q2", "Q2 2026"),
    ("2026Q1", 1, "quarter", ym(2026, 1), ym(2026, 3), "2026-Q1", "Q1 2026"),
    ("2025", 1, "year", ym(2025, 1), ym(2025, 12), "2025", "2025"),
    ("FY2025", 1, "year", ym(2025, 1), ym(2025, 12), "2025", "2025"),
    # fiscal year from April, named by the year it ends in
    ("2026", 4, "year", ym(2025, 4), ym(2026, 3), "FY2026", "FY2026"),
    ("FY2026", 4, "year", ym(2025, 4), ym(2026, 3), "FY2026", "FY2026"),
    ("2026-Q1", 4, "quarter", ym(2025, 4), ym(2025, 6), "FY2026-Q1", "Q1 FY2026"),
    ("FY2026-Q4", 4, "quarter", ym(2026, 1), ym(2026, 3), "FY2026-Q4", "Q4 FY2026"),
    # fiscal year from July: FY2026 = Jul 2025 – Jun 2026; from December: FY2026 = Dec 2025 – Nov 2026
    ("2026", 7, "year", ym(2025, 7), ym(2026, 6), "FY2026", "FY2026"),
    ("2026-Q3", 7, "quarter", ym(2026, 1), ym(2026, 3), "FY2026-Q3", "Q3 FY2026"),
    ("2026", 12, "year", ym(2025, 12), ym(2026, 11), "FY2026", "FY2026"),
])
def test_period_names(text, fy, grain, first, last, name, title) -> None:
    p = parse_period(text, fy)
    assert p is not None
    assert (p.grain, p.first, p.last, p.name, p.title) == (grain, first, last, name, title)
    assert parse_period(p.name, fy) == p  # a file name's period reads back as the same period


def test_latest_complete_period() -> None:
    assert latest_complete("quarter", ym(2026, 6)) == Period("quarter", ym(2026, 6))
    assert latest_complete("quarter", ym(2026, 5)) == Period("quarter", ym(2026, 3))  # Q2 not over yet
    assert latest_complete("year", ym(2026, 6)) == Period("year", ym(2025, 12))
    assert latest_complete("year", ym(2026, 3), 4) == Period("year", ym(2026, 3), 4)  # FY2026 ends in March
    assert latest_complete("quarter", ym(2026, 4), 2) == Period("quarter", ym(2026, 4), 2)  # Feb–Apr


MONTHS = list(pd.date_range("2024-02-01", "2026-05-01", freq="MS"))  # data from Feb 2024 to May 2026


@pytest.mark.parametrize(("values", "fy", "want"), [
    (["2026-Q1"], 1, ["2026-Q1"]),
    (["2026-Q2"], 1, ["2026-Q2"]),  # ends after the data (May): built, and marked partial
    (["2025"], 1, ["2025"]),
    (["2025-Q1:2025-Q4"], 1, ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]),
    (["2025-Q3..2026-Q1"], 1, ["2025-Q3", "2025-Q4", "2026-Q1"]),
    (["2024:2025"], 1, ["2024", "2025"]),
    (["latest-quarter"], 1, ["2026-Q1"]),  # the data ends in May: Q2 is not complete
    (["latest-year"], 1, ["2025"]),
    (["latest-year"], 4, ["FY2026"]),  # Apr 2025 – Mar 2026
    (["latest-quarter"], 4, ["FY2026-Q4"]),  # Jan – Mar 2026
    (["2026"], 4, ["FY2026"]),
    (["2025-Q4", "2025-11,latest"], 1, ["2025-Q4", "2025-11", "2026-05"]),
])
def test_parse_periods(values, fy, want) -> None:
    assert parse_periods(values, MONTHS, fy) == want


@pytest.mark.parametrize(("value", "fy", "words"), [
    ("2026-Q5", 1, "'2026-Q5' is not a period; use a month like 2026-03, a quarter like 2026-Q2"),
    ("Q2", 1, "'Q2' is not a period"),
    ("2023", 1, "'2023' (ending 2023-12) is outside the months this data can report on, 2024-02 to 2027-05"),
    ("2027-Q3", 1, "'2027-Q3' (ending 2027-09) is outside the months this data can report on"),
    ("1800", 1, "'1800' (ending 1800-12) is outside the months a spreadsheet can hold"),
    ("2025-Q1:2025-06", 1, "both ends of a range must be of one kind (a quarter and a month here)"),
    ("2025-Q3:2025-Q1", 1, "the range ends before it starts"),
    ("latest-week", 1, "'latest-week' is not a period"),
])
def test_bad_periods_are_usage_errors_naming_the_value(value, fy, words) -> None:
    with pytest.raises(PlanError) as e:
        parse_periods([value], MONTHS, fy)
    assert words in str(e.value) and repr(value) in str(e.value)


def test_no_complete_period_in_short_data() -> None:
    with pytest.raises(PlanError) as e:
        parse_periods(["latest-year"], list(pd.date_range("2026-02-01", "2026-05-01", freq="MS")))
    assert "covers no year to its end; name the year" in str(e.value) and "--period 2026" in str(e.value)


def test_cli_usage_errors_exit_2(tmp_path) -> None:
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--period", "2026-Q9", "--out", str(tmp_path),
                                 "--no-progress"])
    assert r.exit_code == 2 and "'2026-Q9'" in r.output
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--period", "2025", "--fiscal-year-start", "13",
                                 "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 2 and "--fiscal-year-start 13" in r.output and "1 (January) to 12" in r.output


def test_cli_writes_files_named_by_the_period(tmp_path) -> None:
    small = small_sample(tmp_path / "data", 30)
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(small), "--period", "2026-Q1,2025",
                                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(small), "--period", "latest-year",
                                 "--fiscal-year-start", "4", "--out", str(tmp_path / "out"), "--no-progress"])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "out").glob("*.xlsx"))
    assert names == ["marketing_funnel__2025.xlsx", "marketing_funnel__2026-Q1.xlsx",
                     "marketing_funnel__FY2026.xlsx"]


# ==========================================================================
# The independent reference, from the subscription rows
# ==========================================================================
def _last_day(n: int) -> dt.date:
    y, m = divmod(n, 12)
    return dt.date(y, m + 1, calendar.monthrange(y, m + 1)[1])


def customer_mrr(subs: pd.DataFrame, through: int) -> tuple[dict[tuple[str, int], float], int]:
    """Each customer's MRR at each month end from the first start month to ``through``."""
    rows = subs.to_dict("records")
    starts = [pd.Timestamp(r["start_date"]).date() for r in rows]
    lo = min(s.year * 12 + s.month - 1 for s in starts)
    x: dict[tuple[str, int], float] = defaultdict(float)
    for r, start in zip(rows, starts):
        end = None if pd.isna(r["end_date"]) or r["end_date"] == "" else pd.Timestamp(r["end_date"]).date()
        disc = float(r.get("discount") or 0) if not pd.isna(r.get("discount", 0)) else 0.0
        for n in range(lo, through + 1):
            last = _last_day(n)
            if start <= last and (end is None or end > last):
                x[(r["customer_id"], n)] += (float(r["amount"]) - disc) / float(r["billing_months"])
    return x, lo


def reference(subs: pd.DataFrame, period: Period) -> dict[str, float]:
    x, lo = customer_mrr(subs, period.last)
    custs = sorted({c for c, _ in x})

    def mrr(c: str, n: int) -> float:
        return x.get((c, n), 0.0) if n >= lo else 0.0

    def paying(c: str, n: int) -> bool:
        return mrr(c, n) > 0

    moves = dict.fromkeys(["new", "expansion", "reactivation", "contraction", "churned"], 0.0)
    for n in range(max(period.first, lo), period.last + 1):
        for c in custs:
            now, before = mrr(c, n), mrr(c, n - 1)
            if now > 0 and before > 0:
                moves["expansion"] += max(now - before, 0.0)
                moves["contraction"] += max(before - now, 0.0)
            elif now > 0 and any(paying(c, j) for j in range(lo, n - 1)):
                moves["reactivation"] += now
            elif now > 0:
                moves["new"] += now
            elif before > 0:
                moves["churned"] += before
    s0, e0 = period.first - 1, period.last
    start = {c for c in custs if paying(c, s0)}
    end = {c for c in custs if paying(c, e0)}
    ever_before = {c for c in custs if any(paying(c, j) for j in range(lo, period.first))}
    out = {f"m:{k}": v for k, v in moves.items()}
    out["m:starting MRR"] = sum(mrr(c, s0) for c in custs)
    out["m:ending MRR"] = sum(mrr(c, e0) for c in custs)
    base = sum(mrr(c, s0) for c in start)
    out.update({
        "cust_start": len(start), "cust_end": len(end), "cust_churned": len(start - end),
        "cust_new": len((end - start) - ever_before), "cust_react": len((end - start) & ever_before),
        # nobody paying at the start: undefined (#DIV/0! in the workbook), never 0
        "churn": len(start - end) / len(start) if start else None,
        "retention": len(start & end) / len(start) if start else None,
        "nrr": sum(mrr(c, e0) for c in start) / base if base else None,
        "grr": sum(min(mrr(c, e0), mrr(c, s0)) for c in start) / base if base else None,
        "mrr": out["m:ending MRR"],
    })
    return out


def same_rate(got, want) -> bool:
    if want is None:
        return isinstance(got, ExcelError) and got.code == "#DIV/0!"
    return got == pytest.approx(want, rel=1e-12)


def built_values(folder: Path, key: str, period: Period) -> dict:
    tables, errors = load_all(folder)
    assert errors == {}
    spec = REPORTS[key]
    month = pd.Timestamp(year=period.last // 12, month=period.last % 12 + 1, day=1)
    data = scope(tables, spec.datasets, None, month, "test", period)
    return evaluate(spec, data).values


def check_dashboard(folder: Path, period: Period) -> dict:
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    want = reference(subs, period)
    v = built_values(folder, "saas_dashboard", period)
    for name, col in MONEY.items():
        assert v[name] == pytest.approx(want[f"m:{col}"], abs=1e-6), (period.name, name)
    for name in ("cust_start", "cust_new", "cust_react", "cust_churned", "cust_end"):
        assert v[name] == want[name], (period.name, name)
    for name, ref in (("logo_churn", "churn"), ("retention", "retention"), ("nrr", "nrr"), ("grr", "grr"),
                      ("mrr", "mrr")):
        assert same_rate(v[name], want[ref]), (period.name, name, v[name], want[ref])
    r = built_values(folder, "retention_cohorts", period)
    assert same_rate(r["retention"], want["retention"]) and same_rate(r["churn"], want["churn"])
    e = built_values(folder, "executive_overview", period)
    for name in ("churn", "retention", "nrr", "grr"):
        assert same_rate(e[name], want[name]), (period.name, name, e[name], want[name])
    # annual churn and retention: the 12 months ending in the report month, whatever the report's period
    year = reference(subs, Period("year", period.last))
    for values in (r, e):
        assert same_rate(values["churn_annual"], year["churn"]), (period.name, values["churn_annual"])
        assert same_rate(values["retention_annual"], year["retention"]), period.name
    return want


@pytest.mark.parametrize("text,fy", [("2026-Q2", 1), ("2025-Q3", 1), ("2025", 1), ("2026", 4), ("2025-Q4", 7),
                                     ("2026-03", 1)])
def test_sample_company_periods_match_the_reference(text, fy) -> None:
    p = parse_period(text, fy)
    assert p is not None
    want = check_dashboard(SAMPLE_DIR, p)
    assert want["cust_start"] > 50 and want["cust_churned"] > 0  # a real test, not an empty population


def handmade(dst: Path) -> Path:
    """Six customers written for the edge cases of a quarter and a year (2025-01 … 2026-06)."""
    dst.mkdir(parents=True, exist_ok=True)
    subs = [
        # plan change: 100 a month, then 150 from August (expansion inside Q3 2025)
        ("H1", "2025-01-05", "2025-08-01", 100, 1), ("H1", "2025-08-01", "", 150, 1),
        # annual plan, 1,200 a year: 100 MRR until it ends in Feb 2026
        ("H2", "2025-02-10", "2026-02-10", 1200, 12),
        # new and gone inside Q2 2025 (counts in no customer count of Q2, in both new and churned MRR)
        ("H3", "2025-04-03", "2025-05-20", 50, 1),
        # pays Jan–Feb 2025, stops on 10 March, comes back in June: reactivated in Q2 2025 (new in the year 2025)
        ("H4", "2025-01-15", "2025-03-10", 80, 1), ("H4", "2025-06-01", "", 90, 1),
        # quarterly, from the last day of December to the last day of March (not paying at the end of March)
        ("H5", "2025-12-31", "2026-03-31", 300, 3),
        # joins in May 2026
        ("H6", "2026-05-20", "", 60, 1),
    ]
    pd.DataFrame(subs, columns=["customer_id", "start_date", "end_date", "amount", "billing_months"]).assign(
        plan="Plan", subscription_id=[f"S{i}" for i in range(len(subs))]).to_csv(dst / "subscriptions.csv",
                                                                                index=False)
    ids = sorted({s[0] for s in subs})
    pd.DataFrame({"customer_id": ids, "name": [f"Customer {i}" for i in ids], "region": "Europe",
                  "plan_tier": "Starter", "signup_date": "2025-01-01", "channel": "Content"}).to_csv(
        dst / "customers.csv", index=False)
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)][:18]
    pd.DataFrame({"month": months, "channel": "Content", "region": "Europe", "plan_tier": "Starter",
                  "spend": 1000.0, "visitors": 500, "leads": 50, "mql": 20, "sql": 10, "customers": 1,
                  "revenue": 900.0, "followers": ""}).to_csv(dst / "marketing.csv", index=False)
    pd.DataFrame({"month": months, "region": "Europe", "plan_tier": "Starter", "cogs": 100.0,
                  "sales_cost": 200.0}).to_csv(dst / "costs.csv", index=False)
    for name in ("nps_responses", "csat_responses", "activity", "orders", "tickets", "leads"):
        src = pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False).head(0)
        src.to_csv(dst / f"{name}.csv", index=False)
    return dst


def test_handmade_quarter_by_hand(tmp_path) -> None:
    d = handmade(tmp_path / "h")
    p = parse_period("2025-Q2")
    assert p is not None
    want = check_dashboard(d, p)
    # start (Mar 2025): H1, H2 (H4 stopped on 10 March); end (Jun 2025): H1, H2, H4
    assert (want["cust_start"], want["cust_end"], want["cust_churned"], want["cust_react"], want["cust_new"]) == \
        (2, 3, 0, 1, 0)
    # new MRR: H3 50 (Apr); churned: H3 50 (May); reactivation: H4 90 (Jun)
    assert (want["m:new"], want["m:churned"], want["m:reactivation"]) == (50, 50, 90)


@pytest.mark.parametrize("text,fy", [("2025-Q1", 1), ("2025-Q3", 1), ("2025-Q4", 1), ("2026-Q1", 1),
                                     ("2026-Q2", 1), ("2025", 1), ("2026", 4), ("2026-Q4", 4), ("2026", 7)])
def test_handmade_periods_match_the_reference(tmp_path, text, fy) -> None:
    p = parse_period(text, fy)
    assert p is not None
    check_dashboard(handmade(tmp_path / "h"), p)


def test_handmade_year_by_hand(tmp_path) -> None:
    # 2026 Q1: start (Dec 2025) H1, H2, H4, H5; end (Mar 2026): H1, H4 — H2 (Feb) and H5 (31 Mar) churned
    d = handmade(tmp_path / "h")
    want = check_dashboard(d, Period("quarter", ym(2026, 3)))
    assert (want["cust_start"], want["cust_churned"], want["cust_end"]) == (4, 2, 2)
    assert want["churn"] == 0.5
    # NRR over Q1 2026: start MRR 150 + 100 + 90 + 100 = 440; the same customers at the end: 150 + 90
    assert want["nrr"] == pytest.approx(240 / 440)


# ==========================================================================
# LibreOffice recalculates the period formulas to the same values
# ==========================================================================
@pytest.mark.libreoffice
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("text,fy", [("2026-Q2", 1), ("2026", 4)])
def test_libreoffice_recalculates_period_reports_to_the_cached_values(tmp_path, text, fy) -> None:
    import openpyxl
    from report_helpers import expected_cells, need_program, same

    from workbook_templates.batch import atomic_build
    from workbook_templates.render import convert

    need_program("soffice", "libreoffice")
    p = parse_period(text, fy)
    assert p is not None
    tables, _ = load_all(SAMPLE_DIR)
    month = pd.Timestamp(year=p.last // 12, month=p.last % 12 + 1, day=1)
    built = {}
    for key, spec in REPORTS.items():
        data = scope(tables, spec.datasets, None, month, "test", p)
        built[key] = atomic_build(spec, data, tmp_path / f"{key}.xlsx")
    convert([tmp_path / f"{k}.xlsx" for k in built], "xlsx:Calc MS Excel 2007 XML", tmp_path / "recalc",
            recalc=True)
    for key, result in built.items():
        formulas = openpyxl.load_workbook(tmp_path / f"{key}.xlsx")
        cached = openpyxl.load_workbook(tmp_path / f"{key}.xlsx", data_only=True)
        recalc = openpyxl.load_workbook(tmp_path / "recalc" / f"{key}.xlsx", data_only=True)
        n = 0
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if not ((isinstance(v, str) and v.startswith("=")) or type(v).__name__ == "ArrayFormula"):
                        continue
                    n += 1
                    a, b = cached[ws.title][c.coordinate].value, recalc[ws.title][c.coordinate].value
                    assert same(a, b), f"{key} {ws.title}!{c.coordinate}: cached {a!r}, recalculated {b!r} ({v})"
        for sheet, cell, _kind, want in expected_cells(result):
            assert same(want, recalc[sheet][cell].value), f"{key} {sheet}!{cell} after recalculation"
        assert n > 20


def test_benchmarks_follow_the_period() -> None:
    """A month against the monthly benchmarks (3–8 % churn, 92–97 % retention), a year against the annual ones
    (32–50 %, 50–68 %), a quarter against the monthly ones compounded over three months."""
    for text, (churn, retention) in {"2026-06": ((0.03, 0.08), (0.92, 0.97)),
                                     "2026-Q2": ((1 - 0.97 ** 3, 1 - 0.92 ** 3), (0.92 ** 3, 0.97 ** 3)),
                                     "2025": ((0.32, 0.50), (0.50, 0.68))}.items():
        p = parse_period(text)
        assert p is not None
        e = built_values(SAMPLE_DIR, "executive_overview", p)
        assert (e["churn.2"], e["churn.3"]) == pytest.approx(churn)
        assert (e["retention.2"], e["retention.3"]) == pytest.approx(retention)
        assert (e["churn_annual.2"], e["churn_annual.3"]) == (0.32, 0.50)
        assert (e["retention_annual.2"], e["retention_annual.3"]) == (0.50, 0.68)


def test_headings_say_the_period(tmp_path) -> None:
    import openpyxl

    from workbook_templates.batch import atomic_build

    tables, _ = load_all(SAMPLE_DIR)
    p = Period("quarter", ym(2026, 6))
    spec = REPORTS["marketing_funnel"]
    atomic_build(spec, scope(tables, spec.datasets, None, pd.Timestamp("2026-06-01"), "t", p), tmp_path / "q.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "q.xlsx")["Funnel"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Funnel, Q2 2026", "Efficiency, Q2 2026", "By quarter, all channels", "Channels, Q2 2026"} <= texts
    assert not any("report month" in t for t in texts)
    notes = openpyxl.load_workbook(tmp_path / "q.xlsx")["Notes"]
    assert any(isinstance(c.value, str) and c.value.startswith("Q2 2026: Apr 2026 – Jun 2026")
               for row in notes.iter_rows() for c in row)


def test_a_period_the_data_ends_inside_is_marked_partial(tmp_path) -> None:
    tables, _ = load_all(SAMPLE_DIR)  # the sample data ends in June 2026
    p = Period("quarter", ym(2026, 9))
    spec = REPORTS["saas_dashboard"]
    data = scope(tables, spec.datasets, None, pd.Timestamp("2026-09-01"), "t", p)
    assert data.partial == "partial: the data ends in June 2026"
    assert any("Q3 2026" in n and "partial" in n for n in data.notices)
