"""Reports by acquisition channel: which column splits which data set, the upfront `--by` check, costs
allocated to a channel, and the unit economics by channel — on a tiny company worked by hand."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import batch
from workbook_templates.batch import PlanError
from workbook_templates.builder import evaluate
from workbook_templates.context import scope, segment_values, split_plan
from workbook_templates.data import load_all
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _csv(d: Path, name: str, header: str, *rows: str) -> None:
    (d / f"{name}.csv").write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Two acquisition channels, A and B, over January to April 2026 (report month April).

    Month-end MRR and new customers (first paying month):

    ======  ==============  ==============  =========  ===========
    month   A               B               MRR, all   new, all
    ======  ==============  ==============  =========  ===========
    Jan     C1 100 (new)    C3 300 (new)    400        2 (A 1, B 1)
    Feb     C1 100, C2 200  C3 300          600        1 (A 1)
            (C2 new)
    Mar     C1 100          C3 300, C4 400  800        1 (B 1)
            (C2 churned)    (C4 new)
    Apr     C1 100          C3 300, C4 400  800        0
    ======  ==============  ==============  =========  ===========
    """
    d = tmp_path_factory.mktemp("tiny")
    _csv(d, "customers", "customer_id,name,region,plan_tier,signup_date,channel",
         "C1,One,North,Starter,2026-01-01,A", "C2,Two,North,Starter,2026-02-10,A",
         "C3,Three,South,Growth,2026-01-03,B", "C4,Four,South,Growth,2026-03-01,B")
    _csv(d, "subscriptions", "customer_id,start_date,end_date,amount,billing_months,plan,subscription_id",
         "C1,2026-01-01,,100,1,Starter,S1", "C2,2026-02-10,2026-03-15,200,1,Starter,S2",
         "C3,2026-01-03,,300,1,Growth,S3", "C4,2026-03-01,,400,1,Growth,S4")
    _csv(d, "costs", "month,region,plan_tier,cogs,sales_cost",
         "2026-01,North,Starter,40,100", "2026-02,North,Starter,60,90",
         "2026-03,North,Starter,50,100", "2026-03,South,Growth,30,20", "2026-04,North,Starter,80,40")
    mk = []
    for m in ("2026-01", "2026-02", "2026-03", "2026-04"):
        mk += [f"{m},A,North,Starter,1000,500,50,20,10,1,1200,", f"{m},B,South,Growth,500,300,30,10,5,1,3600,"]
    _csv(d, "marketing", "month,channel,region,plan_tier,spend,visitors,leads,mql,sql,customers,revenue,followers",
         *mk)
    # contact channels named like the acquisition channels, on purpose: a ticket with contact channel "B"
    # from C1 (acquired through A) is one of channel A's tickets
    _csv(d, "tickets", "ticket_id,customer_id,created_at,first_response_at,resolved_at,channel,priority",
         "T1,C1,2026-04-02T09:00,2026-04-02T10:00,2026-04-02T12:00,B,normal",
         "T2,C1,2026-04-03T09:00,2026-04-03T11:00,2026-04-03T15:00,email,high",
         "T3,C3,2026-04-04T09:00,2026-04-04T09:30,2026-04-04T10:00,A,low")
    _csv(d, "nps_responses", "response_id,customer_id,date,score,comment",
         "N1,C1,2026-04-05,10,", "N2,C3,2026-04-06,3,", "N3,C4,2026-04-07,9,")
    _csv(d, "csat_responses", "response_id,customer_id,ticket_id,date,score",
         "R1,C1,T1,2026-04-02,5", "R2,C3,T3,2026-04-04,2")
    _csv(d, "orders", "customer_id,product,order_date,amount,order_id",
         "C1,Training day,2026-02-01,500,O1", "C3,Training day,2026-03-01,500,O2")
    _csv(d, "activity", "user_id,date,customer_id", "U1,2026-04-01,C1", "U3,2026-04-01,C3", "U4,2026-04-02,C4")
    _csv(d, "leads", "lead_id,created_date,converted_date,channel,region,plan_tier,customer_id",
         "L1,2026-01-10,2026-02-01,A,North,Pro,C1", "L2,2026-03-01,,B,South,Starter,")
    return d


@pytest.fixture(scope="module")
def tiny_tables(tiny):
    tables, errors = load_all(tiny)
    assert errors == {}
    return tables


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------
# Which column of which data set splits a report
# --------------------------------------------------------------------------
def test_the_schema_tells_the_acquisition_channel_from_the_contact_channel():
    how = {sp.dataset: sp for sp in split_plan(REPORTS["customer_experience"].datasets, "channel")}
    assert how["tickets"].how == "customers"
    assert "customers.channel (acquisition channel), through tickets.customer_id" in how["tickets"].text
    assert "its own 'channel' is the contact channel" in how["tickets"].text
    how = {sp.dataset: sp.how for sp in split_plan(REPORTS["saas_dashboard"].datasets, "channel")}
    assert how == {"subscriptions": "customers", "customers": "direct", "orders": "customers", "marketing": "direct",
                   "costs": "allocated"}
    how = {sp.dataset: sp.how for sp in split_plan(REPORTS["saas_dashboard"].datasets, "region")}
    assert how == {"subscriptions": "customers", "customers": "direct", "orders": "customers", "marketing": "direct",
                   "costs": "direct"}


def test_tickets_split_by_channel_follow_their_customers_acquisition_channel(tiny_tables):
    spec = REPORTS["customer_experience"]
    for value, tickets, nps in (("A", {"T1", "T2"}, {"N1"}), ("B", {"T3"}, {"N2", "N3"})):
        data = scope(tiny_tables, spec.datasets, ("channel", value), None)
        assert set(data.tables["tickets"].df["ticket_id"]) == tickets
        assert set(data.tables["nps_responses"].df["response_id"]) == nps
        b = evaluate(spec, data)
        assert b.values["tickets_n"] == len(tickets)


def test_by_a_column_no_report_can_use_fails_upfront_with_one_message_naming_them(tiny, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "--all", "--data", str(tiny), "--out", str(out), "--by", "priority", "--no-progress")
    assert r.exit_code == 2, r.output
    assert r.output.count("error:") == 1
    assert "5 of the 5 report(s) cannot be split by it, so nothing was built" in r.output
    for key in REPORTS:
        assert f"  {key}: " in r.output
    assert "marketing_funnel: marketing: has no column 'priority' and no customer_id" in r.output
    assert not list(out.glob("*.xlsx"))


def test_by_a_column_some_reports_cannot_use_names_them_and_the_ones_that_can(tiny, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "saas_dashboard", "customer_experience", "marketing_funnel", "--data", str(tiny),
               "--out", str(out), "--by", "name", "--no-progress")
    assert r.exit_code == 2, r.output
    assert "2 of the 3 report(s) cannot be split by it" in r.output
    assert "saas_dashboard: marketing: has no column 'name' and no customer_id" in r.output
    assert "these can: customer_experience" in r.output
    assert not list(out.glob("*.xlsx"))
    with pytest.raises(PlanError, match="no data set has a column 'nothing'"):
        batch.plan(["marketing_funnel"], tiny, tmp_path, by="nothing")


def test_by_channel_builds_every_report_and_says_which_column_splits_each(tiny, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "--all", "--data", str(tiny), "--out", str(out), "--by", "channel", "--no-progress")
    assert r.exit_code == 0, r.output
    assert len(list(out.glob("*.xlsx"))) == 2 * len(REPORTS)
    assert "customer_experience by channel: nps_responses: by its customer's customers.channel" in r.output
    assert "costs: has no 'channel' column, so the costs are allocated" in r.output
    wb = openpyxl.load_workbook(out / "customer_experience__channel-A.xlsx")
    notes = "\n".join(str(c.value) for row in wb["Notes"].iter_rows() for c in row if c.value is not None)
    assert "tickets: by its customer's customers.channel (acquisition channel), through tickets.customer_id" in notes


# --------------------------------------------------------------------------
# Costs allocated to a channel
# --------------------------------------------------------------------------
#: by hand from the table in :func:`tiny`: (sales cost, cogs) of each channel and month
ALLOCATED = {
    "A": {"2026-01": (100 * 1 / 2, 40 * 100 / 400), "2026-02": (90 * 1 / 1, 60 * 300 / 600),
          "2026-03": (120 * 0 / 1, 80 * 100 / 800),
          "2026-04": (40 * 100 / 800, 80 * 100 / 800)},  # April: no new customer, sales cost by MRR
    "B": {"2026-01": (100 * 1 / 2, 40 * 300 / 400), "2026-02": (90 * 0 / 1, 60 * 300 / 600),
          "2026-03": (120 * 1 / 1, 80 * 700 / 800), "2026-04": (40 * 700 / 800, 80 * 700 / 800)},
}


@pytest.mark.parametrize("value", ["A", "B"])
def test_costs_are_allocated_to_a_channel_by_new_customers_and_mrr(tiny_tables, value):
    data = scope(tiny_tables, REPORTS["saas_dashboard"].datasets, ("channel", value), None)
    costs = data.tables["costs"].df
    by_month = costs.groupby(costs["month"].dt.strftime("%Y-%m"))[["sales_cost", "cogs"]].sum()
    for m, (sales, cogs) in ALLOCATED[value].items():
        assert by_month.loc[m, "sales_cost"] == pytest.approx(sales)
        assert by_month.loc[m, "cogs"] == pytest.approx(cogs)
    # March has two cost rows: each keeps its own amount times the month's share
    march = costs[costs["month"] == pd.Timestamp("2026-03-01")].sort_values("region")
    share = (700 if value == "B" else 100) / 800
    assert list(march["cogs"]) == pytest.approx([50 * share, 30 * share])
    a = data.allocation.set_index("month")
    assert a.loc[pd.Timestamp("2026-04-01"), "sales cost share"] == pytest.approx((100 if value == "A" else 700) / 800)
    assert a.loc[pd.Timestamp("2026-03-01"), "new customers (segment)"] == (1 if value == "B" else 0)
    # the dashboard reads the allocated costs of the report month (April)
    b = evaluate(REPORTS["saas_dashboard"], data)
    assert b.values["cogs"] == pytest.approx(ALLOCATED[value]["2026-04"][1])


def test_the_allocation_is_shown_in_the_notes(tiny, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "saas_dashboard", "--data", str(tiny), "--out", str(out), "--by", "channel", "--no-progress")
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out / "saas_dashboard__channel-A.xlsx")["Notes"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = next(i for i, row in enumerate(rows) if row[0] == "Month" and row[3] == "Sales cost share")
    april = rows[head + 4]
    assert april[1:11] == pytest.approx([0, 0, 100 / 800, 40, 5, 100, 800, 100 / 800, 80, 10])
    assert any(str(row[0]).startswith("Cost allocation to channel = A") for row in rows)


def _allocations_add_up(tables, spec_key: str) -> None:
    spec = REPORTS[spec_key]
    whole = scope(tables, spec.datasets, None, None).tables["costs"].df
    total = whole.groupby("month")[["sales_cost", "cogs"]].sum()
    parts = [scope(tables, spec.datasets, ("channel", v), None).tables["costs"].df
             for v in segment_values(tables, "channel")]
    summed = pd.concat(parts).groupby("month")[["sales_cost", "cogs"]].sum()
    pd.testing.assert_frame_equal(summed, total, check_exact=False, rtol=1e-9)
    for p in parts:  # row by row too: every cost row is shared out in full
        assert len(p) == len(whole)
    rows = sum(p[["sales_cost", "cogs"]].to_numpy() for p in parts)
    assert rows == pytest.approx(whole[["sales_cost", "cogs"]].to_numpy())


def test_allocations_over_all_channels_add_up_to_the_costs(tiny_tables, sample_tables):
    _allocations_add_up(tiny_tables, "saas_dashboard")
    _allocations_add_up(sample_tables, "executive_overview")


def test_a_blank_channel_is_a_segment_that_gets_its_share(tiny, tmp_path):
    d = tmp_path / "blank"
    d.mkdir()
    for f in tiny.glob("*.csv"):
        (d / f.name).write_bytes(f.read_bytes())
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    cust.loc[cust["customer_id"] == "C4", "channel"] = ""
    cust.to_csv(d / "customers.csv", index=False)
    tables, errors = load_all(d)
    assert errors == {}
    assert segment_values(tables, "channel") == ["A", "B", None]
    _allocations_add_up(tables, "saas_dashboard")
    blank = scope(tables, REPORTS["saas_dashboard"].datasets, ("channel", None), None).tables["costs"].df
    march = blank[blank["month"] == pd.Timestamp("2026-03-01")]
    assert march["sales_cost"].sum() == pytest.approx(120.0)  # C4, March's only new customer
    assert march["cogs"].sum() == pytest.approx(80 * 400 / 800)
