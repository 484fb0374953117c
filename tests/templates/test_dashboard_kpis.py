"""The SaaS dashboard's recurring share of revenue and renewal rate of term contracts, on the sample company,
against a slow reference written from the definitions (loops over the subscription and order rows), for a
month and for a quarter."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from workbook_templates.batch import SAMPLE_DIR, atomic_build
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.periods import parse_period
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPEC = REPORTS["saas_dashboard"]


@pytest.fixture(scope="module")
def tables(sample_tables):
    return sample_tables  # the sample company, loaded once per session (conftest)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    subs = pd.read_csv(SAMPLE_DIR / "subscriptions.csv", parse_dates=["start_date", "end_date"])
    orders = pd.read_csv(SAMPLE_DIR / "orders.csv", parse_dates=["order_date"])
    return {"subscriptions": subs, "orders": orders}


def _built(tables, text: str):
    period = parse_period(text, 1)
    month = pd.Timestamp(year=period.last // 12, month=period.last % 12 + 1, day=1)
    return evaluate(SPEC, scope(tables, SPEC.datasets, None, month, "test", period)), period, month


def _mrr_at(subs: pd.DataFrame, month_end: pd.Timestamp) -> float:
    total = 0.0
    for r in subs.itertuples():
        if r.start_date <= month_end and (pd.isna(r.end_date) or r.end_date > month_end):
            disc = 0.0 if "discount" not in subs or pd.isna(r.discount) else r.discount
            total += (r.amount - disc) / r.billing_months
    return total


def _renewal(subs: pd.DataFrame, start: pd.Timestamp, after: pd.Timestamp, grace: int = 30) -> float:
    """Terms of annual+ plans ending in [start, after) that the subscription reached; renewed when it runs on
    past the term's end or the customer starts another subscription within the grace days of it."""
    g = pd.Timedelta(days=grace)
    up = renewed = 0
    for r in subs.itertuples():
        if r.billing_months < 12:
            continue
        k = 1
        while True:
            t = r.start_date + pd.DateOffset(months=k * int(r.billing_months))
            if t >= after:
                break
            k += 1
            if t < start or (not pd.isna(r.end_date) and r.end_date < t - g):
                continue
            up += 1
            runs_on = pd.isna(r.end_date) or r.end_date > t
            other = subs[(subs.customer_id == r.customer_id) & (subs.subscription_id != r.subscription_id)
                         & ((subs.start_date - t).abs() <= g)]
            renewed += bool(runs_on or len(other))
    assert up > 0
    return renewed / up


@pytest.mark.parametrize("text", ["2026-06", "2026-Q2", "2025-Q3"])
def test_recurring_share_is_the_period_s_mrr_over_mrr_and_one_off_orders(tables, raw, text):
    b, period, month = _built(tables, text)
    month_ends = [month - pd.DateOffset(months=k) + pd.offsets.MonthEnd(0) for k in range(period.months)]
    recurring = sum(_mrr_at(raw["subscriptions"], e) for e in month_ends)
    first = month - pd.DateOffset(months=period.months - 1)
    o = raw["orders"]
    one_off = float(o.loc[(o.order_date >= first) & (o.order_date < month + pd.DateOffset(months=1)), "amount"].sum())
    assert one_off > 0
    assert b.value("recurring_revenue") == pytest.approx(recurring, rel=1e-12)
    assert b.value("one_off_revenue") == pytest.approx(one_off, rel=1e-12)
    assert b.value("recurring_share") == pytest.approx(recurring / (recurring + one_off), rel=1e-12)


@pytest.mark.parametrize("text", ["2026-06", "2026-05", "2026-Q2", "2025"])
def test_renewal_rates_equal_a_reference_from_the_definition(tables, raw, text):
    b, period, month = _built(tables, text)
    after = month + pd.DateOffset(months=1)
    start = month - pd.DateOffset(months=period.months - 1)
    assert b.value("renewal_rate") == pytest.approx(_renewal(raw["subscriptions"], start, after), rel=1e-12)
    assert b.value("renewal_rate_12m") == pytest.approx(
        _renewal(raw["subscriptions"], after - pd.DateOffset(months=12), after), rel=1e-12)


def test_june_2026_by_hand(tables):
    """Three annual terms end in June 2026 and one of them renewed; one-off orders of 40,182 that month (47 orders)."""
    b, _, _ = _built(tables, "2026-06")
    assert b.value("renewal_rate") == pytest.approx(1 / 3)
    assert b.value("one_off_revenue") == pytest.approx(40182.0)


def test_the_cells_are_live_formulas_with_the_cached_values(tables, tmp_path):
    period = parse_period("2026-06", 1)
    data = scope(tables, SPEC.datasets, None, pd.Timestamp("2026-06-01"), "test", period)
    res = atomic_build(SPEC, data, tmp_path / "d.xlsx")
    f = openpyxl.load_workbook(res.path)["Dashboard"]
    v = openpyxl.load_workbook(res.path, data_only=True)["Dashboard"]
    rows = {f.cell(r, 1).value: r for r in range(1, f.max_row + 1)}
    one_off = f.cell(rows["One-off revenue"], 2).value
    assert one_off.startswith("=SUMIFS(Orders[amount],Orders[order_date],")  # native: no dynamic arrays needed
    assert "KPI_RECURRING_SHARE(" in f.cell(rows["Recurring share of revenue"], 2).value
    assert "KPI_RENEWAL_RATE(Subscriptions[[customer_id]:[discount]]," in f.cell(rows["Renewal rate, term contracts"],
                                                                                 2).value
    assert v.cell(rows["Renewal rate, term contracts"], 2).value == pytest.approx(1 / 3)
    assert v.cell(rows["One-off revenue"], 2).value == pytest.approx(40182.0)


def _folder(tmp_path, orders: str | None):
    d = tmp_path / "data"
    d.mkdir()
    for p in SAMPLE_DIR.glob("*.csv"):
        if p.name != "orders.csv":
            (d / p.name).write_bytes(p.read_bytes())
    if orders is not None:
        (d / "orders.csv").write_text(orders, encoding="utf-8")
    return d


def test_without_an_orders_file_the_dashboard_builds_and_says_it_counts_no_one_off_revenue(tmp_path):
    from workbook_templates.batch import Task, run_task

    res = run_task(Task("saas_dashboard", str(_folder(tmp_path, None)), str(tmp_path / "out" / "d.xlsx")))
    assert res.ok, res.error
    said = [w for w in res.warnings if w.startswith("no orders file in ")]
    assert len(said) == 1 and "counts no one-off revenue" in said[0] and "recurring share" in said[0]
    v = openpyxl.load_workbook(res.path, data_only=True)
    ws = v["Dashboard"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    assert ws.cell(rows["One-off revenue"], 2).value == 0
    assert ws.cell(rows["Recurring share of revenue"], 2).value == 1
    assert v["Orders"].tables["Orders"].ref == "A1:F2"  # the header and one empty row: a table with no orders
    assert any("no orders file in " in str(c) for row in v["Notes"].iter_rows(values_only=True) for c in row)
    # the retention report too stands in an empty Orders table (its repeat buyers say there are no orders:
    # tests/templates/test_retention_models.py)
    res = run_task(Task("retention_cohorts", str(tmp_path / "data"), str(tmp_path / "out" / "r.xlsx")))
    assert res.ok and any(w.startswith("no orders file in ") for w in res.warnings)


def test_an_orders_file_that_cannot_be_read_is_an_error_not_a_stand_in(tmp_path):
    from workbook_templates.batch import Task, run_task

    bad = "customer_id,product,order_date,amount,order_id\nC00001,Training,2026-13-45,100,O1\n"
    res = run_task(Task("saas_dashboard", str(_folder(tmp_path, bad)), str(tmp_path / "out" / "d.xlsx")))
    assert not res.ok
    assert "orders.csv" in res.error and "2026-13-45" in res.error
    assert not (tmp_path / "out" / "d.xlsx").exists()
