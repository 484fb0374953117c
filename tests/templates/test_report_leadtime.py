"""The marketing funnel's Lead time block: the mean and median days from a lead's creation to its conversion,
in total and per channel, checked against pandas on the rows of leads.csv (and against a tiny company worked
out by hand); a folder without a leads file; the funnel split by channel."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from report_helpers import copy_data
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.context import split_plan

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl drops extensions it does not read

SHEET = "Funnel"
CHANNEL_TITLE = "Lead time by channel"


def _build(data: Path, out: Path, *args: str) -> list[Path]:
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(data), "--out", str(out), "--no-progress",
                                 *args])
    assert r.exit_code == 0, r.output
    return sorted(out.glob("*.xlsx"))


def _block(path: Path) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The cached values of the block: {label: value} of the list, {channel: {header: value}} of the table."""
    ws = openpyxl.load_workbook(path, data_only=True)[SHEET]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=1, max_col=8)]
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("Lead time, "))
    items = {}
    i = start + 2  # title, header
    while rows[i][0]:
        items[rows[i][0]] = rows[i][1]
        i += 1
    t = next(j for j in range(i, len(rows)) if isinstance(rows[j][0], str) and rows[j][0].startswith(CHANNEL_TITLE))
    header = [h for h in rows[t + 1] if h]
    table = {}
    j = t + 2
    while j < len(rows) and rows[j][0]:
        table[rows[j][0]] = dict(zip(header[1:], rows[j][1:len(header)], strict=True))
        j += 1
    return items, table


def _leads(folder: Path = SAMPLE_DIR) -> pd.DataFrame:
    df = pd.read_csv(folder / "leads.csv", dtype=str, keep_default_na=False)
    return df.assign(created=pd.to_datetime(df["created_date"]),
                     converted=pd.to_datetime(df["converted_date"].replace("", None)))


def _hand(leads: pd.DataFrame, first: str, last: str) -> dict[str, float]:
    """By the definition, over the months ``first`` to ``last``: leads converted in them, the mean and median of
    (converted − created) in days, leads created in them, converted ÷ created."""
    lo, hi = pd.Timestamp(first), pd.Timestamp(last) + pd.DateOffset(months=1)
    conv = leads[(leads["converted"] >= lo) & (leads["converted"] < hi)]
    days = (conv["converted"] - conv["created"]).dt.days
    created = int(((leads["created"] >= lo) & (leads["created"] < hi)).sum())
    return {"converted": len(conv), "mean": days.mean(), "median": days.median(), "created": created,
            "conv": len(conv) / created}


def _check(items, table, leads, first, last, ch_first) -> None:
    want = _hand(leads, first, last)
    assert items["Leads converted to customers"] == want["converted"]
    assert items["Lead time, mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert items["Lead time, median"] == pytest.approx(want["median"], rel=1e-12)
    assert items["Leads created"] == want["created"]
    assert items["Lead → customer (converted ÷ created)"] == pytest.approx(want["conv"], rel=1e-12)
    assert set(table) == set(leads["channel"])
    for ch, got in table.items():
        w = _hand(leads[leads["channel"] == ch], ch_first, last)
        assert got["Converted"] == w["converted"], ch
        assert got["Mean lead time"] == pytest.approx(w["mean"], rel=1e-12), ch
        assert got["Median lead time"] == pytest.approx(w["median"], rel=1e-12), ch
        assert got["Leads created"] == w["created"], ch
        assert got["Lead → customer"] == pytest.approx(w["conv"], rel=1e-12), ch


@pytest.fixture(scope="module")
def sample_builds(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("leadtime")
    month = _build(SAMPLE_DIR, out / "month")[0]
    quarter = _build(SAMPLE_DIR, out / "quarter", "--period", "2025-Q4")[0]
    return {"month": month, "quarter": quarter}


def test_the_report_month_lead_times_are_the_hand_computed_mean_and_median(sample_builds):
    """The sample data ends in June 2026: the totals over June, the channel table over April to June."""
    ws = openpyxl.load_workbook(sample_builds["month"], data_only=True)[SHEET]
    assert pd.Timestamp(ws["B5"].value) == pd.Timestamp("2026-06-01")
    items, table = _block(sample_builds["month"])
    leads = _leads()
    _check(items, table, leads, "2026-06-01", "2026-06-01", "2026-04-01")
    # a lead converted in June was created weeks before: the lead time is not a same-day artefact
    assert items["Lead time, median"] > 7
    # every new customer of the funnel converted from a lead (the sample's rule): the counts agree
    funnel = {r[0].value: r[1].value for r in ws.iter_rows(min_row=10, max_row=15, max_col=2)}
    assert items["Leads converted to customers"] == funnel["Customers"]


def test_a_quarter_build_covers_the_quarters_leads(sample_builds):
    items, table = _block(sample_builds["quarter"])
    _check(items, table, _leads(), "2025-10-01", "2025-12-01", "2025-10-01")
    ws = openpyxl.load_workbook(sample_builds["quarter"], data_only=True)[SHEET]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Lead time, Q4 2025", "Lead time by channel, Q4 2025"} <= texts
    assert not any("report month" in t for t in texts)


def test_the_lead_time_cells_are_live_formulas_over_the_leads_table(sample_builds):
    ws = openpyxl.load_workbook(sample_builds["month"])[SHEET]
    found = {}
    for row in ws.iter_rows(max_col=4):
        label = row[0].value
        if label in ("Lead time, median", "Leads created"):
            v = row[1].value
            found[label] = getattr(v, "text", v)
    assert "KPI_AVG_DURATION" in found["Lead time, median"] and "Leads[converted_date]" in found["Lead time, median"]
    assert '"median"' in found["Lead time, median"] and '"days"' in found["Lead time, median"]
    assert found["Leads created"].startswith("=SUMPRODUCT((Leads[created_date]>=")
    assert "Leads" in openpyxl.load_workbook(sample_builds["month"]).sheetnames


def _csv(d: Path, name: str, header: str, *rows: str) -> None:
    (d / f"{name}.csv").write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")


def test_a_tiny_company_by_hand(tmp_path):
    """March 2026, channels "Ads" and "Ad*" (a key with a wildcard means itself: "Ad*" is not "Ads"):

    ====  =======  ==========  ==========  ====
    lead  channel  created     converted   days
    ====  =======  ==========  ==========  ====
    L1    Ads      2026-02-20  2026-03-02  10
    L2    Ads      2026-03-01  2026-03-05  4
    L3    Ads      2026-01-01  2026-03-31  89
    L4    Ad*      2026-03-10  2026-03-30  20
    L5    Ad*      2026-03-15  (open)
    L6    Ads      2026-01-10  2026-02-10  31 (February: not the report month)
    L7    Ads      2026-03-20  2026-04-02  (converted after March: open at the end of March)
    ====  =======  ==========  ==========  ====

    Converted in March: L1–L4, mean (10 + 4 + 89 + 20) / 4 = 30.75, median (10 + 20) / 2 = 15; created in
    March: L2, L4, L5, L7 = 4, so lead → customer 4 / 4 = 100 %. Per channel over January to March: Ads
    converted L1, L2, L3, L6: mean (10 + 4 + 89 + 31) / 4 = 33.5, median (10 + 31) / 2 = 20.5, created all of
    L1, L2, L3, L6, L7 = 5; Ad*: L4 alone, 20 days, created 2 (L4, L5).
    """
    d = tmp_path / "d"
    d.mkdir()
    _csv(d, "marketing", "month,channel,region,plan_tier,spend,visitors,leads,mql,sql,customers,revenue,followers",
         "2026-03,Ads,North,Starter,1000,500,50,20,10,4,1200,", "2026-03,Ad*,North,Starter,500,300,30,10,5,1,300,")
    _csv(d, "leads", "lead_id,created_date,converted_date,channel,region,plan_tier,customer_id",
         "L1,2026-02-20,2026-03-02,Ads,North,Starter,", "L2,2026-03-01,2026-03-05,Ads,North,Starter,",
         "L3,2026-01-01,2026-03-31,Ads,North,Starter,", "L4,2026-03-10,2026-03-30,Ad*,North,Starter,",
         "L5,2026-03-15,,Ad*,North,Starter,", "L6,2026-01-10,2026-02-10,Ads,North,Starter,",
         "L7,2026-03-20,2026-04-02,Ads,North,Starter,")
    path = _build(d, tmp_path / "o", "--period", "2026-03")[0]
    items, table = _block(path)
    assert items == {"Leads converted to customers": 4, "Lead time, mean": 30.75, "Lead time, median": 15,
                     "Leads created": 4, "Lead → customer (converted ÷ created)": 1}
    assert set(table) == {"Ads", "Ad*"}
    assert table["Ads"] == {"Converted": 4, "Mean lead time": 33.5, "Median lead time": 20.5, "Leads created": 5,
                            "Lead → customer": 0.8}
    assert table["Ad*"] == {"Converted": 1, "Mean lead time": 20, "Median lead time": 20, "Leads created": 2,
                            "Lead → customer": 0.5}


def test_without_a_leads_file_the_funnel_builds_and_the_lead_time_is_undefined(tmp_path):
    d = copy_data(SAMPLE_DIR, tmp_path / "d")
    (d / "leads.csv").unlink()
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(d), "--out", str(tmp_path / "o"),
                                 "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "no leads file in the data folder" in r.output and "#DIV/0!" in r.output
    path = tmp_path / "o" / "marketing_funnel.xlsx"
    items, table = _block(path)
    assert items["Leads converted to customers"] == 0 and items["Leads created"] == 0
    assert items["Lead time, mean"] == items["Lead time, median"] == "#DIV/0!"  # undefined, not 0
    assert items["Lead → customer (converted ÷ created)"] == "#DIV/0!"
    assert table == {}
    wb = openpyxl.load_workbook(path, data_only=True)
    assert wb["Leads"]["A1"].value == "lead_id" and wb["Leads"]["A2"].value is None
    notes = [c.value for row in wb["Notes"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any("no leads file in the data folder" in t for t in notes)
    assert any("leads.csv (no such file in the data folder), 0 rows" in t for t in notes)
    # the rest of the funnel is what it is with the leads file
    funnel = {r[0].value: r[1].value for r in wb[SHEET].iter_rows(min_row=10, max_row=15, max_col=2)}
    assert funnel["Customers"] == 16 and funnel["SQL"] == 340


def test_split_by_channel_keeps_each_channels_leads_by_their_own_channel(tmp_path):
    """leads.channel is the acquisition channel: each channel's funnel has that channel's leads — the open ones
    (no customer_id) too, which a split through the customers would lose."""
    assert [sp.text for sp in split_plan(["marketing", "leads"], "channel")] == [
        "marketing: by marketing.channel (acquisition channel)", "leads: by leads.channel (acquisition channel)"]
    paths = _build(SAMPLE_DIR, tmp_path / "o", "--by", "channel", "--period", "2025-Q4")
    leads = _leads()
    assert len(paths) == leads["channel"].nunique() == 6
    for p in paths:
        items, table = _block(p)
        (ch,) = table
        assert p.name == f"marketing_funnel__channel-{ch.replace(' ', '_')}__2025-Q4.xlsx"
        mine = leads[leads["channel"] == ch]
        want = _hand(mine, "2025-10-01", "2025-12-01")
        assert items["Leads converted to customers"] == want["converted"]
        assert items["Leads created"] == want["created"] > want["converted"]  # the open leads are there
        assert items["Lead time, median"] == pytest.approx(want["median"], rel=1e-12)
        assert table[ch]["Median lead time"] == pytest.approx(want["median"], rel=1e-12)
