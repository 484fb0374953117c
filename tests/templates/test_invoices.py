"""Invoices as the source of MRR: the subscriptions (and orders) derived from invoice line items.

Every expected value is computed by hand from the rule in workbook_templates/invoices.py: a subscription
line gives (amount − discount) ÷ (months of its service period) to every month whose last day it serves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpi_functions as K
from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.data import load_all
from workbook_templates.invoices import billed_revenue, service_months
from workbook_templates.settings import DataSettings

CUSTOMERS = """customer_id,name,region,plan_tier,signup_date,channel
A,Alpha AS,Europe,Starter,2025-12-01,
B,Beta AB,Europe,Starter,2025-12-01,
C,Gamma ApS,Europe,Growth,2025-12-01,
"""
HEADER = ("invoice_id,customer_id,invoice_date,line_type,amount,subscription_id,plan,quantity,discount,tax,"
          "service_start,service_end,cancelled_at,prorated,currency\n")
SCHEDULE = ["customer_id", "start_date", "end_date", "amount", "billing_months", "discount"]


def _folder(tmp_path: Path, lines: str, subscriptions: str | None = None) -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    (d / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (d / "invoices.csv").write_text(HEADER + lines, encoding="utf-8")
    if subscriptions is not None:
        (d / "subscriptions.csv").write_text(subscriptions, encoding="utf-8")
    return d


def _load(d: Path, billing: str | None = None):
    """The tables and errors of the folder; no orders file (and no one-time line to make one) is no error here."""
    tables, errors = load_all(d, ["customers", "subscriptions", "orders"], DataSettings(billing=billing))
    if errors.get("orders", "").startswith("no orders file"):
        del errors["orders"]
    return tables, errors


def _mrr(tables, through: str = "2026-12-01") -> dict[tuple[str, str], float]:
    """(customer, month) -> MRR, as the Subscriptions sheet's KPI_MRR_SCHEDULE formula computes it."""
    subs = tables["subscriptions"]
    assert subs.issues == []
    s = K.mrr_schedule(subs.df[SCHEDULE], through)
    return {(c, m.strftime("%Y-%m")): round(float(v), 9) for c, m, v in s.itertuples(index=False) if v}


def test_service_months_whole_and_partial():
    def d(*xs: str) -> np.ndarray:
        return np.array(xs, dtype="datetime64[D]")

    months, whole = service_months(d("2026-01-01", "2026-01-15", "2026-01-31", "2026-01-15", "2026-02-01"),
                                   d("2026-02-01", "2027-01-15", "2026-02-28", "2026-02-01", "2026-05-01"))
    assert whole.tolist() == [True, True, True, False, True]
    assert months[[0, 1, 2, 4]].tolist() == [1, 12, 1, 3]
    # 17 days (Jan 15 → Feb 1) of the 31-day month Jan 15 → Feb 15
    assert months[3] == pytest.approx(17 / 31)
    months, whole = service_months(d("2026-01-10"), d("2026-03-20"))  # 2 months to Mar 10, + 10 of 31 days
    assert not whole[0] and months[0] == pytest.approx(2 + 10 / 31)


def test_monthly_lines_with_discount_and_seats(tmp_path):
    d = _folder(tmp_path, (
        "I1,A,2026-01-01,subscription,250,S1,Team,5,50,62.5,2026-01-01,2026-02-01,,,\n"
        "I2,A,2026-02-01,subscription,250,S1,Team,5,50,62.5,2026-02-01,2026-03-01,,,\n"
    ))
    tables, errors = _load(d)
    assert errors == {}
    # 250 for all five seats, minus 50: 200 a month (seats are never multiplied; tax is never MRR)
    assert _mrr(tables) == {("A", "2026-01"): 200.0, ("A", "2026-02"): 200.0}
    df = tables["subscriptions"].df
    assert df["quantity"].tolist() == [5, 5] and df["billing_months"].tolist() == [1, 1]
    assert "MRR derived from invoices.csv" in tables["subscriptions"].derived


def test_annual_and_quarterly_lines(tmp_path):
    d = _folder(tmp_path, (
        "I1,A,2026-01-15,subscription,1200,S1,Annual,,,,2026-01-15,2027-01-15,,,\n"
        "I2,B,2026-02-01,subscription,300,S2,Quarterly,,,,2026-02-01,2026-05-01,,,\n"
    ))
    tables, errors = _load(d)
    assert errors == {}
    want = {("A", f"2026-{m:02d}"): 100.0 for m in range(1, 13)}  # a twelfth, Jan 31 .. Dec 31 served
    want |= {("B", m): 100.0 for m in ("2026-02", "2026-03", "2026-04")}  # a third; Apr 30 < May 1
    assert _mrr(tables, "2027-02-01") == want
    assert tables["subscriptions"].df["billing_months"].tolist() == [12, 3]


def test_prorated_first_period_and_an_upgrade_superseding_the_line(tmp_path):
    d = _folder(tmp_path, (
        # A: a prorated first period Jan 15 → Feb 1 (17/31 of a month) for 17, then monthly 31
        "I1,A,2026-01-15,subscription,17,S1,Starter,,,,2026-01-15,2026-02-01,,true,\n"
        "I2,A,2026-02-01,subscription,31,S1,Starter,,,,2026-02-01,2026-03-01,,,\n"
        # B: monthly 100 from Jan 1; upgraded on Jan 20: 60 for Jan 20 → Feb 1 (12 of the 31 days of
        # Jan 20 → Feb 20) supersedes the first line from Jan 20; then the new price 155 a month
        "I3,B,2026-01-01,subscription,100,S2,Starter,,,,2026-01-01,2026-02-01,,,\n"
        "I4,B,2026-01-20,subscription,60,S2,Growth,,,,2026-01-20,2026-02-01,,true,\n"
        "I5,B,2026-02-01,subscription,155,S2,Growth,,,,2026-02-01,2026-03-01,,,\n"
    ))
    tables, errors = _load(d)
    assert errors == {}
    assert _mrr(tables) == {
        ("A", "2026-01"): 31.0, ("A", "2026-02"): 31.0,  # 17 ÷ (17/31)
        ("B", "2026-01"): 155.0, ("B", "2026-02"): 155.0,  # 60 ÷ (12/31); the 100 line ends Jan 20
    }
    df = tables["subscriptions"].df
    assert df["end_date"].dt.strftime("%Y-%m-%d").tolist()[2] == "2026-01-20"


def test_cancelled_line_stops_from_its_cancellation(tmp_path):
    d = _folder(tmp_path, "I1,A,2026-01-01,subscription,1200,S1,Annual,,,,2026-01-01,2027-01-01,2026-04-15,,\n")
    tables, errors = _load(d)
    assert errors == {}
    # served Jan 31, Feb 28, Mar 31; not Apr 30 (cancelled from Apr 15)
    assert _mrr(tables) == {("A", m): 100.0 for m in ("2026-01", "2026-02", "2026-03")}


def test_trial_and_full_discount_are_not_paying(tmp_path):
    d = _folder(tmp_path, (
        "I1,A,2026-01-01,subscription,0,S1,Trial,,,,2026-01-01,2026-02-01,,,\n"
        "I2,A,2026-02-01,subscription,80,S1,Starter,,,,2026-02-01,2026-03-01,,,\n"
        "I3,B,2026-01-01,subscription,80,S2,Starter,,80,,2026-01-01,2026-02-01,,,\n"
    ))
    tables, errors = _load(d)
    assert errors == {}
    assert _mrr(tables) == {("A", "2026-02"): 80.0}


def test_one_time_lines_and_refunds_are_never_mrr(tmp_path):
    d = _folder(tmp_path, (
        "I1,A,2026-01-01,subscription,100,S1,Starter,,,,2026-01-01,2026-02-01,,,\n"
        "I1,A,2026-01-01,one_time,500,,Onboarding,,100,,,,,,\n"
        "I2,A,2026-01-20,refund,-50,,Onboarding,,,,,,,,\n"
        "I3,B,2026-03-05,one_time,200,,Training day,2,,,,,,,\n"
    ))
    tables, errors = _load(d)
    assert errors == {}
    assert _mrr(tables) == {("A", "2026-01"): 100.0}
    orders = tables["orders"]
    assert orders.df["amount"].tolist() == [400.0, 200.0]  # amount − discount; the refund is no order
    assert orders.df["product"].tolist() == ["Onboarding", "Training day"]
    assert orders.df["order_id"].tolist() == ["I1/2", "I3/1"]
    assert orders.rows.tolist() == [3, 5]  # the rows of invoices.csv (header = row 1)


def test_bad_lines_name_file_row_and_column(tmp_path):
    d = _folder(tmp_path, (
        "I1,A,2026-01-01,subscription,100,S1,Starter,,,,2026-01-01,,,,\n"
        "I2,A,2026-01-01,subscription,100,S2,Starter,,120,,2026-01-01,2026-02-01,,,\n"
        "I3,B,2026-01-01,subscription,100,S3,Starter,,,,2026-01-01,2026-02-01,2025-12-01,,\n"
    ))
    tables, _ = _load(d)
    got = {(i.file, i.row, i.column) for i in tables["subscriptions"].issues}
    assert got == {("invoices.csv", 2, "service_end"), ("invoices.csv", 3, "discount"),
                   ("invoices.csv", 4, "cancelled_at")}
    assert tables["subscriptions"].bad.tolist() == [True, True, True]


def test_both_files_need_billing(tmp_path):
    subs = ("customer_id,start_date,end_date,amount,billing_months,plan,subscription_id\n"
            "C,2026-01-01,,70,1,Starter,X1\n")
    d = _folder(tmp_path, "I1,A,2026-01-01,subscription,100,S1,Starter,,,,2026-01-01,2026-02-01,,,\n", subs)
    tables, errors = _load(d)
    assert "subscriptions" not in tables and "--billing invoices" in errors["subscriptions"]
    tables, errors = _load(d, "invoices")
    assert errors == {} and _mrr(tables) == {("A", "2026-01"): 100.0}
    tables, errors = _load(d, "subscriptions")
    assert errors == {} and _mrr(tables, "2026-02-01") == {("C", "2026-01"): 70.0, ("C", "2026-02"): 70.0}


def test_subscriptions_discount_reduces_mrr(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (d / "subscriptions.csv").write_text(
        "customer_id,start_date,end_date,amount,billing_months,discount,plan,subscription_id,quantity,currency\n"
        "A,2026-01-01,,1200,12,240,Annual,X1,4,\n"
        "B,2026-01-01,2026-03-01,100,1,,Starter,X2,,\n", encoding="utf-8")
    tables, errors = load_all(d, ["customers", "subscriptions"])
    assert errors == {}
    # (1200 − 240) ÷ 12 = 80; no discount: 100
    assert _mrr(tables, "2026-03-01") == {("A", "2026-01"): 80.0, ("A", "2026-02"): 80.0, ("A", "2026-03"): 80.0,
                                          ("B", "2026-01"): 100.0, ("B", "2026-02"): 100.0}
    pd.testing.assert_series_equal(tables["subscriptions"].df["quantity"], pd.Series([4.0, np.nan],
                                                                                     name="quantity"),
                                   check_dtype=False)


# --------------------------------------------------------------------------
# Every rule in one file: each customer shows one (dates in 2026; file rows from 2)
# --------------------------------------------------------------------------
LINES = [
    # A monthly: 100 a month, January and February
    "I1,A,2026-01-01,subscription,100,SA,Basic,1,,25,2026-01-01,2026-02-01,,,",
    "I2,A,2026-02-01,subscription,100,SA,Basic,1,,25,2026-02-01,2026-03-01,,,",
    # B annual from 10 January: 1200 ÷ 12 in every month from January to December
    "I3,B,2026-01-10,subscription,1200,SB,Annual,1,,,2026-01-10,2027-01-10,,,",
    # C quarterly from 1 February: 300 ÷ 3 in February, March and April
    "I4,C,2026-02-01,subscription,300,SC,Quarterly,1,,,2026-02-01,2026-05-01,,,",
    # D upgrades on 15 January: the prorated line (17 of the 31 days of 15 Jan - 15 Feb) supersedes the
    # January line from its start: January's MRR is 40 ÷ (17/31); February's the new full price
    "I5,D,2026-01-01,subscription,62,SD,Small,1,,,2026-01-01,2026-02-01,,,",
    "I6,D,2026-01-15,subscription,40,SD,Large,1,,,2026-01-15,2026-02-01,,true,",
    "I7,D,2026-02-01,subscription,80,SD,Large,1,,,2026-02-01,2026-03-01,,,",
    # E partial period 20 Jan - 5 Mar: one month (to 20 Feb) + 13 days of the 28 of 20 Feb - 20 Mar
    "I8,E,2026-01-20,subscription,123,SE,Odd,1,,,2026-01-20,2026-03-05,,,",
    # F annual cancelled on 15 April: 100 in January to March, nothing from April
    "I9,F,2026-01-01,subscription,1200,SF,Annual,1,,,2026-01-01,2027-01-01,2026-04-15,,",
    # G a free trial (amount 0), then 50 from 15 January: paying at the end of January only
    "I10,G,2026-01-01,subscription,0,SG,Trial,1,,,2026-01-01,2026-01-15,,,",
    "I11,G,2026-01-15,subscription,50,SG,Basic,1,,,2026-01-15,2026-02-15,,,",
    # H five seats for 500 less a discount of 100: 400
    "I12,H,2026-01-01,subscription,500,SH,Team,5,100,,2026-01-01,2026-02-01,,,",
    # a one-time line (an order), a refund and a credit for unused time: revenue, never MRR
    "I12,H,2026-01-01,one_time,30,,Setup,1,5,,,,,,",
    "I13,B,2026-03-03,refund,-40,,,,,,,,,,",
    "I14,D,2026-01-15,subscription,-20,SD,Small,1,,,2026-01-15,2026-02-01,,true,",
]

EXPECTED = {
    ("A", "2026-01"): 100, ("A", "2026-02"): 100,
    **{("B", f"2026-{m:02d}"): 100 for m in range(1, 13)},
    ("C", "2026-02"): 100, ("C", "2026-03"): 100, ("C", "2026-04"): 100,
    ("D", "2026-01"): 40 * 31 / 17, ("D", "2026-02"): 80,
    ("E", "2026-01"): 123 / (1 + 13 / 28), ("E", "2026-02"): 123 / (1 + 13 / 28),
    ("F", "2026-01"): 100, ("F", "2026-02"): 100, ("F", "2026-03"): 100,
    ("G", "2026-01"): 50,
    ("H", "2026-01"): 400,
}


def _all_rules(tmp_path: Path, lines: list[str], extra: dict[str, str] | None = None) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    rows = ["customer_id,name,region,plan_tier,signup_date,channel"]
    rows += [f"{c},{c} Ltd,North,Starter,2025-12-01,Web" for c in "ABCDEFGH"]
    (d / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (d / "invoices.csv").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    for name, text in (extra or {}).items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def test_every_rule_in_one_file(tmp_path):
    tables, errors = load_all(_all_rules(tmp_path, LINES))
    assert "subscriptions" not in errors and "invoices" not in errors
    assert tables["invoices"].issues == [] and not tables["invoices"].bad.any()
    s = K.mrr_schedule(tables["subscriptions"].df[SCHEDULE], "2026-12-01")
    got = {(c, m.strftime("%Y-%m")): float(v) for c, m, v in s.itertuples(index=False)}
    assert got.keys() == EXPECTED.keys()
    for key, want in EXPECTED.items():
        assert got[key] == pytest.approx(want, rel=1e-12), key


def test_derived_rows_keep_their_invoice_line(tmp_path):
    tables, _ = load_all(_all_rules(tmp_path, LINES))
    t = tables["subscriptions"]
    assert t.file == "invoices.csv"
    df = t.df
    # one row per subscription line with an amount of 0 or more, in file order: file rows 2 to 13
    assert t.rows.tolist() == list(range(2, 14))
    assert df["subscription_id"].tolist()[:3] == ["I1/1", "I2/1", "I3/1"]
    assert df["end_date"].iloc[4] == pd.Timestamp("2026-01-15")  # D's January line ends at the upgrade
    assert df["end_date"].iloc[8] == pd.Timestamp("2026-04-15")  # F stops at the cancellation
    b = df.iloc[2]  # a whole-months line keeps its amount and billing months
    assert (b["amount"], b["billing_months"], b["discount"]) == (1200, 12, 0)
    h = df.iloc[-1]
    assert (h["amount"], h["discount"], h["quantity"]) == (500, 100, 5)
    e = df.iloc[7]  # a partial period: amount per month, billing months 1
    assert e["billing_months"] == 1 and e["amount"] == pytest.approx(123 * 28 / 41)
    assert not t.issues and not t.bad.any()
    o = tables["orders"]
    assert o.df["order_id"].tolist() == ["I12/2"] and o.rows.tolist() == [14] and o.df["amount"].tolist() == [25]


def test_billed_revenue_by_month(tmp_path):
    tables, _ = load_all(_all_rules(tmp_path, LINES))
    got = billed_revenue(tables["invoices"])
    # January: subscription lines 100 + 1200 + 62 + 40 + 123 + 1200 + 0 + 50 + (500 − 100); the one-time line
    # 30 − 5; the credit of 20 for unused time. February: 100 + 300 + 80. March: the refund of 40
    assert got["month"].dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03"]
    assert got["subscriptions"].tolist() == [3175.0, 480.0, 0.0]
    assert got["one_time"].tolist() == [25.0, 0.0, 0.0]
    assert got["refunds"].tolist() == [-20.0, 0.0, -40.0]
    assert got["net"].tolist() == [3180.0, 480.0, -40.0]


def test_an_orders_file_wins_over_one_time_lines(tmp_path):
    orders = "customer_id,product,order_date,amount,order_id\nA,Training,2026-02-02,90,O1\n"
    tables, _ = load_all(_all_rules(tmp_path, LINES, {"orders.csv": orders}))
    assert tables["orders"].file == "orders.csv" and tables["orders"].df["order_id"].tolist() == ["O1"]


def test_a_subscriptions_row_with_too_much_discount(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (d / "subscriptions.csv").write_text(
        "customer_id,start_date,end_date,amount,billing_months,plan,subscription_id,discount,currency\n"
        "A,2026-01-01,,100,1,Team,S1,120,\n", encoding="utf-8")
    tables, _ = load_all(d, ["customers", "subscriptions"])
    assert [str(i) for i in tables["subscriptions"].issues] == [
        "subscriptions.csv row 2, column discount: 120 is more than the amount 100"]


@pytest.mark.parametrize("line, column, message", [
    ("I1,A,2026-01-01,subscription,100,SA,Basic,1,,,,2026-02-01,,,", "service_start", "is blank"),
    ("I1,A,2026-01-01,subscription,100,SA,Basic,1,,,2026-01-01,2026-01-01,,,", "service_end", "serves no day"),
    ("I1,A,2026-01-01,subscription,100,SA,Basic,1,,,2026-01-01,2026-02-01,2025-12-01,,", "cancelled_at",
     "before service_start"),
    ("I1,A,2026-01-01,one_time,-5,,Setup,1,,,,,,,", "amount", "refund line"),
    ("I1,A,2026-01-01,refund,-5,,,,2,,,,,,", "discount", "refund line"),
    ("I1,A,2026-01-01,monthly,100,SA,Basic,1,,,2026-01-01,2026-02-01,,,", "line_type", "not one of"),
    ("I1,A,2026-01-01,subscription,100,SA,Basic,1,,,2026-01-01,2037-01-02,,,", "service_end", "at most 120"),
])
def test_each_bad_line_names_its_row_and_column(tmp_path, line, column, message):
    tables, _ = load_all(_all_rules(tmp_path, [LINES[2], line]))
    issues = [i for i in tables["invoices"].issues if i.row == 3]
    assert issues and issues[0].file == "invoices.csv" and issues[0].column == column
    assert message in issues[0].message
    for name in ("subscriptions", "orders"):  # where the line went, it is a bad row: reports on it fail
        t = tables.get(name)
        if t is not None and 3 in t.rows.tolist():
            assert t.bad[t.rows.tolist().index(3)]


def test_a_bad_line_outside_mrr_still_fails_the_reports(tmp_path):
    from workbook_templates.context import ScopeError, scope

    orders = "customer_id,product,order_date,amount,order_id\nA,Training,2026-02-02,90,O1\n"
    bad_refund = "I99,A,2026-02-01,refund,-5,,,,2,,,,,,"
    tables, _ = load_all(_all_rules(tmp_path, [*LINES, bad_refund], {"orders.csv": orders}))
    assert [str(i) for i in tables["subscriptions"].issues] == [
        ("invoices.csv: row 17, column discount: 2 on a refund line; give the amount paid back, after any discount, "
        "as amount")]
    with pytest.raises(ScopeError, match="row 17, column discount"):
        scope(tables, ["customers", "subscriptions"], None, None)


def test_lines_of_one_invoice_or_subscription_must_agree(tmp_path):
    lines = ["I1,A,2026-01-01,subscription,100,SA,Basic,1,,,2026-01-01,2026-02-01,,,",
             "I1,B,2026-01-01,one_time,10,,Setup,1,,,,,,,",
             "I2,B,2026-02-01,subscription,100,SA,Basic,1,,,2026-02-01,2026-03-01,,,",
             "I3,A,2026-01-01,subscription,100,SA,Basic,1,,,2026-01-01,2026-02-01,,,"]
    tables, _ = load_all(_all_rules(tmp_path, lines))
    assert [str(i) for i in tables["invoices"].issues] == [
        "invoices.csv row 3, column customer_id: 'B' differs from the customer_id 'A' of row 2 of the same invoice",
        ("invoices.csv row 4, column customer_id: 'B' differs from the customer_id 'A' of row 2 of the same "
        "subscription"),
        ("invoices.csv row 5, column service_start: 2026-01-01 is also the service_start of row 2 of subscription "
        "'SA'; which of the two lines holds is not said")]


def test_billing_invoices_without_an_invoices_file(tmp_path):
    d = _all_rules(tmp_path, LINES)
    (d / "invoices.csv").unlink()
    _, errors = load_all(d, settings=DataSettings(billing="invoices"))
    assert "no invoices file" in errors["subscriptions"]
    _, errors = load_all(d)
    assert "invoices" not in errors  # invoices are an alternative: no file is no error


@pytest.mark.parametrize("start, end, months, whole", [
    ("2026-01-31", "2026-02-28", 1, True),  # the 31st falls on February's last day
    ("2026-02-28", "2026-03-31", 1, True),  # month end to month end
    ("2027-02-28", "2028-02-29", 12, True),
    ("2026-01-20", "2026-03-05", 1 + 13 / 28, False),
    ("2026-03-10", "2026-03-11", 1 / 31, False),
])
def test_service_months_at_month_ends(start, end, months, whole):
    m, w = service_months(np.array([start], dtype="datetime64[D]"), np.array([end], dtype="datetime64[D]"))
    assert m[0] == pytest.approx(months, rel=1e-15) and bool(w[0]) is whole


# --------------------------------------------------------------------------
# The bundled sample company in invoice form: the same MRR, movements and revenue KPIs
# --------------------------------------------------------------------------
def _exact_discount(amount: float, d: float) -> float:
    """A discount that adds to and comes off ``amount`` without rounding (else none)."""
    return d if d > 0 and (amount + d) - d == amount else 0.0


def _sample_as_invoices(dst: Path, last_day: pd.Timestamp) -> Path:
    """The sample's subscriptions and orders as invoice lines (written here, independently of invoices.py).

    Each subscription row becomes a line per billing period from its start (monthly, quarterly or annual),
    through the last day of the data; a plan change continues the same subscription_id (the new row's first
    line supersedes the old one from its start); a row that ends with no row after it carries the end as
    cancelled_at. Some lines carry a discount (added to the amount, so amount − discount is the sample's
    price), seats as quantity and tax; some customers start with a 14-day free trial in their first month.
    The orders become one-time lines (there is no orders file), and one refund is added.
    """
    dst.mkdir()
    for f in SAMPLE_DIR.glob("*.csv"):
        if f.name not in ("subscriptions.csv", "orders.csv"):
            (dst / f.name).write_bytes(f.read_bytes())
    subs = pd.read_csv(SAMPLE_DIR / "subscriptions.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(SAMPLE_DIR / "orders.csv", dtype=str, keep_default_na=False)
    lines: list[dict] = []
    same_customer = subs["customer_id"].eq(subs["customer_id"].shift())
    continues = same_customer & subs["start_date"].eq(subs["end_date"].shift())  # a plan change
    followed = continues.shift(-1, fill_value=False)  # the next row continues this one
    chain: dict[str, str] = {}
    seen: set[str] = set()
    for j, r in subs.iterrows():
        c = r["customer_id"]
        if not continues[j]:
            chain[c] = f"SUB-{r['subscription_id']}"
        sid = chain[c]
        s = pd.Timestamp(r["start_date"])
        e = pd.Timestamp(r["end_date"]) if r["end_date"] else None
        amount, b = float(r["amount"]), int(r["billing_months"])
        seats = r["plan"].split("(")[1].split()[0]
        if c not in seen and s.day >= 16 and j % 2 == 0:  # a free trial first
            t0 = s - pd.Timedelta(days=14)
            lines.append({"customer_id": c, "invoice_date": t0, "line_type": "subscription", "amount": 0.0,
                          "subscription_id": sid, "plan": "Trial", "quantity": seats, "discount": "", "tax": "",
                          "service_start": t0, "service_end": s, "cancelled_at": "", "prorated": ""})
        seen.add(c)
        i = 0
        while True:
            ps = s + pd.DateOffset(months=i * b)
            if ps > last_day or (e is not None and ps >= e):
                break
            pe = s + pd.DateOffset(months=(i + 1) * b)
            d = _exact_discount(amount, float(round(amount * 0.1))) if (j + i) % 3 == 0 else 0.0
            last = e is not None and pe >= e
            lines.append({"customer_id": c, "invoice_date": ps, "line_type": "subscription", "amount": amount + d,
                          "subscription_id": sid, "plan": r["plan"], "quantity": seats, "discount": d or "",
                          "tax": round(amount * 0.25, 2), "service_start": ps, "service_end": pe,
                          "cancelled_at": e if last and not followed[j] else "", "prorated": "false"})
            i += 1
    for j, o in orders.iterrows():
        amount = float(o["amount"])
        d = _exact_discount(amount, 5.0) if j % 4 == 0 else 0.0
        lines.append({"customer_id": o["customer_id"], "invoice_date": pd.Timestamp(o["order_date"]),
                      "line_type": "one_time", "amount": amount + d, "plan": o["product"], "discount": d or ""})
    first = orders.iloc[0]
    lines.append({"customer_id": first["customer_id"], "invoice_date": pd.Timestamp(first["order_date"]),
                  "line_type": "refund", "amount": -20.0})
    df = pd.DataFrame(lines)
    df["invoice_id"] = "INV-" + df["customer_id"] + "-" + df["invoice_date"].dt.strftime("%Y%m%d")
    for col in ("invoice_date", "service_start", "service_end", "cancelled_at"):
        df[col] = df[col].map(lambda v: v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else (v or ""))
    df["currency"] = ""
    df = df.reindex(columns=HEADER.strip().split(",")).fillna("")
    df.to_csv(dst / "invoices.csv", index=False)
    return dst


def test_the_sample_company_in_invoice_form_gives_the_same_reports(tmp_path, sample_tables, demo):
    from report_helpers import expected_cells, same

    from workbook_templates.batch import atomic_build
    from workbook_templates.context import latest_month, scope
    from workbook_templates.make_templates import SOURCE_LABEL
    from workbook_templates.reports import REPORTS

    keys = [key for key, spec in REPORTS.items() if "subscriptions" in spec.datasets]
    assert keys == ["saas_dashboard", "retention_cohorts", "executive_overview"]
    months = {latest_month(sample_tables, REPORTS[key].datasets) for key in keys}
    assert len(months) == 1
    last_day = months.pop() + pd.offsets.MonthEnd(0)
    d = _sample_as_invoices(tmp_path / "invoices", last_day)
    inv = pd.read_csv(d / "invoices.csv", dtype=str, keep_default_na=False)
    kinds = inv["line_type"].value_counts().to_dict()
    assert kinds["refund"] == 1 and kinds["one_time"] > 100 and kinds["subscription"] > 3000
    assert (inv["discount"] != "").sum() > 500 and (inv["amount"] == "0.0").sum() > 20  # discounts, trials
    assert (inv["cancelled_at"] != "").sum() > 100 and set(inv["quantity"]) - {""} != {"1"}
    tables, errors = load_all(d)
    assert errors == {}
    assert tables["subscriptions"].file == tables["orders"].file == "invoices.csv"
    assert not tables["invoices"].issues
    for key in keys:
        spec = REPORTS[key]
        data = scope(tables, spec.datasets, None, None, SOURCE_LABEL)
        res = atomic_build(spec, data, tmp_path / f"{key}.xlsx")
        want = {(s, c): v for s, c, _, v in expected_cells(demo[key].result)}
        got = {(s, c): v for s, c, _, v in expected_cells(res)}
        assert got.keys() == want.keys(), key
        wrong = [(cell, want[cell], got[cell]) for cell in want if not same(want[cell], got[cell])]
        assert not wrong, (key, len(wrong), wrong[:5])
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "saas_dashboard.xlsx", read_only=True)
    notes = " ".join(str(v) for row in wb["Notes"].iter_rows(values_only=True) for v in row if v)
    wb.close()
    assert "Source: invoices.csv" in notes and "MRR derived from invoices.csv" in notes


def test_kpi_build_billing_chooses_between_both_files(tmp_path, sample_tables):
    from typer.testing import CliRunner

    from kpi_cli.main import app
    from workbook_templates.context import latest_month
    from workbook_templates.reports import REPORTS

    last_day = latest_month(sample_tables, REPORTS["saas_dashboard"].datasets) + pd.offsets.MonthEnd(0)
    d = _sample_as_invoices(tmp_path / "both", last_day)
    for name in ("subscriptions.csv", "orders.csv"):
        (d / name).write_bytes((SAMPLE_DIR / name).read_bytes())

    def build(*flags: str):
        return CliRunner().invoke(app, ["build", "saas_dashboard", "--data", str(d), "--out", str(tmp_path / "o"),
                                        "--no-progress", *flags])

    r = build()
    assert r.exit_code != 0 and "--billing invoices" in " ".join(r.output.split())
    for choice in ("invoices", "subscriptions"):
        r = build("--billing", choice)
        assert r.exit_code == 0, r.output
    r = build("--billing", "orders")
    assert r.exit_code == 2 and "--billing must be invoices or subscriptions" in r.output


def test_invoice_lines_in_other_currencies_convert_at_their_billing_periods_start(tmp_path):
    """Invoices in SEK and EUR, reported in NOK: each line converts at the rate of the month its period starts."""
    d = _folder(tmp_path, (
        "I1,A,2026-01-01,subscription,100,S1,Pro,1,0,25,2026-01-01,2026-02-01,,,SEK\n"
        "I2,A,2026-02-01,subscription,100,S1,Pro,1,10,25,2026-02-01,2026-03-01,,,SEK\n"
        "I3,A,2026-03-01,subscription,100,S1,Pro,1,0,25,2026-03-01,2026-04-01,,,SEK\n"
        "I4,B,2026-01-01,subscription,1200,S2,Pro,3,200,0,2026-01-01,2027-01-01,,,EUR\n"
        "I5,C,2026-03-10,one_time,50,,Setup,1,0,0,,,,,SEK\n"))
    (d / "fx_rates.csv").write_text("month,currency,rate\n2026-01,SEK,0.5\n2026-02,SEK,1\n2026-03,SEK,2\n"
                                    "2026-01,EUR,10\n2026-02,EUR,11\n2026-03,EUR,12\n", encoding="utf-8")
    tables, errors = load_all(d, ["customers", "subscriptions", "orders", "fx_rates"], DataSettings(currency="NOK"))
    assert errors == {}
    # by hand: A 100 × 0.5, (100 − 10) × 1, 100 × 2; B's annual line (1200 − 200) ÷ 12 at January's 10 all year
    assert _mrr(tables, "2026-03-01") == {("A", "2026-01"): 50.0, ("A", "2026-02"): 90.0, ("A", "2026-03"): 200.0,
                                          ("B", "2026-01"): round(10_000 / 12, 9),
                                          ("B", "2026-02"): round(10_000 / 12, 9),
                                          ("B", "2026-03"): round(10_000 / 12, 9)}
    orders = tables["orders"].df
    assert orders["amount"].tolist() == [100.0] and orders["currency"].tolist() == ["SEK"]  # 50 SEK at March's 2
