"""The SaaS dashboard's Channels sheet: paid and fully loaded CAC, LTV, LTV:CAC and payback per acquisition
channel, with live formulas over the whole input tables.

Each channel's row must equal what the dashboard built for that channel alone (``kpi build --by channel``:
the data cut to the channel in Python, the costs allocated there) shows, for a month, a quarter and a year;
the sales cost allocated over the channels must add up to the period's sales cost; a channel without new
customers has no CAC (an error), not a CAC of 0.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from report_helpers import same

from workbook_templates.batch import atomic_build
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.formulas import ExcelError
from workbook_templates.periods import parse_period
from workbook_templates.report_channels import SHEET
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl: extensions it does not read

SPEC = REPORTS["saas_dashboard"]
#: channel-table column -> the dashboard item it must equal in the report of that channel
SAME_AS = {"new": "cust_new", "cust_end": "cust_end", "mrr": "mrr", "arpa": "arpa", "spend": "spend",
           "cogs": "cogs", "margin": "gross_margin", "churn": "churn_12m", "paid_cac": "paid_cac", "cac": "cac",
           "clv": "clv", "ltv_cac": "ltv_cac", "payback": "payback"}
PERIODS = [("2026-03", pd.Timestamp("2026-03-01"), None), ("2026-Q1", pd.Timestamp("2026-03-01"), "2026-Q1"),
           ("2025", pd.Timestamp("2025-12-01"), "2025")]


def _agree(a, b) -> bool:
    if isinstance(a, ExcelError) or isinstance(b, ExcelError):
        return isinstance(a, ExcelError) and isinstance(b, ExcelError) and a.code == b.code
    return same(a, b) or (isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-9 * max(1, abs(b)))


def _built(tables, segment, month, period):
    return evaluate(SPEC, scope(tables, SPEC.datasets, segment, month, "test",
                                parse_period(period) if period else None))


def _rows(b) -> dict[str, dict[str, object]]:
    bd = b.blocks["chan"]
    return {key: {k: b.values[f"chan.{k}.{i}"] for k in bd.cells if k != "channel"} for i, key in enumerate(bd.keys)}


@pytest.mark.parametrize(("label", "month", "period"), PERIODS, ids=[p[0] for p in PERIODS])
def test_each_channel_row_equals_the_dashboard_split_by_channel(sample_tables, label, month, period):
    rows = _rows(_built(sample_tables, None, month, period))
    channels = list(dict.fromkeys(sample_tables["customers"].df["channel"].dropna()))
    assert list(rows) == channels
    for ch in channels:
        want = _built(sample_tables, ("channel", ch), month, period).values
        got = rows[ch]
        for col, item in SAME_AS.items():
            assert _agree(got[col], want[item]), f"{label} {ch} {col}: table {got[col]!r}, --by channel {want[item]!r}"
        # the split report's sales and marketing cost is its spend plus its allocated sales cost
        assert _agree(got["sales"], want["sm_cost"] - want["spend"]), f"{label} {ch} sales cost"


@pytest.mark.parametrize(("label", "month", "period"), PERIODS, ids=[p[0] for p in PERIODS])
def test_the_allocated_sales_cost_adds_up_to_the_periods_sales_cost(sample_tables, label, month, period):
    b = _built(sample_tables, None, month, period)
    n = {None: 1, "2026-Q1": 3, "2025": 12}[period]
    costs = sample_tables["costs"].df
    lo = month - pd.DateOffset(months=n - 1)
    total = float(costs.loc[(costs["month"] >= lo) & (costs["month"] <= month), "sales_cost"].sum())
    allocated = sum(r["sales"] for r in _rows(b).values())
    assert allocated == pytest.approx(total, rel=1e-12)
    assert b.values["chan_sales_all"] == pytest.approx(total, rel=1e-12)
    assert b.values["chan_sales_sum"] == pytest.approx(total, rel=1e-12)
    assert b.values["chan_sales_rest"] == pytest.approx(0.0, abs=1e-6)
    # and the unsplit dashboard's sales cost is the same amount
    assert b.values["sm_cost"] - b.values["spend"] == pytest.approx(total, rel=1e-12)


def test_a_channel_without_new_customers_has_no_cac_not_a_cac_of_zero(sample_tables):
    month = pd.Timestamp("2026-03-01")
    rows = _rows(_built(sample_tables, None, month, None))
    subs = sample_tables["subscriptions"].df
    cust = sample_tables["customers"].df
    first = subs.groupby("customer_id")["start_date"].min().dt.to_period("M").dt.to_timestamp()
    new_ids = set(first[first == month].index)
    channel_of = dict(zip(cust["customer_id"], cust["channel"], strict=True))
    without = [ch for ch in rows if not any(channel_of.get(c) == ch for c in new_ids)]
    assert without, "the sample month should have a channel without new customers"
    for ch in without:
        r = rows[ch]
        assert r["new"] == 0
        for k in ("paid_cac", "cac", "ltv_cac", "payback"):
            assert isinstance(r[k], ExcelError) and r[k].code == "#DIV/0!", (ch, k, r[k])
    with_new = [ch for ch in rows if ch not in without]
    assert all(isinstance(rows[ch]["cac"], float) and rows[ch]["cac"] > 0 for ch in with_new)


def test_the_workbook_holds_the_channel_table_with_its_cached_values(sample_tables, tmp_path):
    month, period = pd.Timestamp("2026-03-01"), parse_period("2026-Q1")
    data = scope(sample_tables, SPEC.datasets, None, month, "test", period)
    atomic_build(SPEC, data, tmp_path / "q.xlsx")
    rows = _rows(_built(sample_tables, None, month, "2026-Q1"))
    wb = openpyxl.load_workbook(tmp_path / "q.xlsx", data_only=True)
    ws = wb[SHEET]
    header_row = next(r for r in range(1, 40) if ws.cell(r, 1).value == "Channel")
    headers = [ws.cell(header_row, c).value for c in range(1, 17)]
    assert headers[:2] == ["Channel", "New customers"] and "Fully loaded CAC" in headers and "LTV" in headers
    for i, ch in enumerate(rows):
        assert ws.cell(header_row + 1 + i, 1).value == ch
        cac = ws.cell(header_row + 1 + i, headers.index("Fully loaded CAC") + 1).value
        want = rows[ch]["cac"]
        if isinstance(want, ExcelError):
            assert cac == want.code
        else:
            assert cac == pytest.approx(want, rel=1e-12)
    formula = openpyxl.load_workbook(tmp_path / "q.xlsx")[SHEET].cell(header_row + 1, 2).value
    assert "KPI_MRR_MOVEMENTS" in getattr(formula, "text", formula)  # a live formula, not a pasted value


def test_customers_without_a_channel_are_shown_as_not_allocated_never_dropped(sample_tables):
    """Blank channels have no row: their share of the sales cost is the 'not allocated' line, and it is what
    the dashboard built for the blank channel (--by channel's blank segment) allocates to them."""
    cust = sample_tables["customers"]
    df = cust.df.copy()
    blank_ids = df["customer_id"].iloc[::7]  # every 7th customer loses its channel
    df.loc[df["customer_id"].isin(blank_ids), "channel"] = None
    tables = {**sample_tables, "customers": cust.replace_df(df)}
    month = pd.Timestamp("2026-03-01")
    b = _built(tables, None, month, "2026-Q1")
    blank = _built(tables, ("channel", None), month, "2026-Q1").values
    blank_sales = blank["sm_cost"] - blank["spend"]
    assert blank_sales > 0
    assert b.values["chan_sales_rest"] == pytest.approx(blank_sales, rel=1e-9)
    assert b.values["chan_sales_sum"] + b.values["chan_sales_rest"] == pytest.approx(b.values["chan_sales_all"])
    assert "" not in _rows(b) and None not in _rows(b)
