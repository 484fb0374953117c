"""Several currencies: amounts converted to the reporting currency with fx_rates, by the rules of
workbook_templates.fx (subscriptions at the rate of each billing period's first month, other money at its own
month, or everything at one month with --fx-constant). Expected values are worked out by hand below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kpi_functions.mrr_tables import mrr_schedule
from workbook_templates.batch import SAMPLE_DIR, atomic_build
from workbook_templates.context import ScopeError, scope
from workbook_templates.data import DataError, load_all
from workbook_templates.reports import REPORTS
from workbook_templates.settings import DataSettings

EUR = DataSettings(currency="EUR")
NOK = DataSettings(currency="NOK")

_CUSTOMERS = "customer_id,name,region,plan_tier,signup_date,channel\nC1,A,North,Starter,2025-01-01,\n" \
             "C2,B,North,Starter,2025-01-01,\n"
_SUBS = "customer_id,start_date,end_date,amount,billing_months,plan,subscription_id,currency\n"
_ORDERS = "customer_id,product,order_date,amount,order_id,currency\n"
_COSTS = "month,region,plan_tier,cogs,sales_cost,currency\n"


def _folder(tmp_path: Path, subs: str = "", orders: str = "", costs: str = "", rates: str | None = None) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "customers.csv").write_text(_CUSTOMERS, encoding="utf-8")
    (d / "subscriptions.csv").write_text(_SUBS + subs, encoding="utf-8")
    (d / "orders.csv").write_text(_ORDERS + orders, encoding="utf-8")
    (d / "costs.csv").write_text(_COSTS + costs, encoding="utf-8")
    if rates is not None:
        (d / "fx_rates.csv").write_text("month,currency,rate\n" + rates, encoding="utf-8")
    return d


def _mrr(table, through: str = "2026-06-30") -> dict[tuple[str, str], float]:
    df = table.df[["customer_id", "start_date", "end_date", "amount", "billing_months"]]
    out = mrr_schedule(df, pd.Timestamp(through))
    return {(c, m.strftime("%Y-%m")): v for c, m, v in out.itertuples(index=False)}


def test_a_monthly_nok_subscription_in_a_eur_report_follows_each_months_rate(tmp_path):
    # 1,000 NOK a month from January; rates 0.125, 0.0625, 0.25 EUR per NOK (exact in binary)
    d = _folder(tmp_path, subs="C1,2026-01-01,,1000,1,P,S1,NOK\n",
                orders="C2,X,2026-03-10,5,O1,\n",  # the data runs to March
                rates="2026-01,NOK,0.125\n2026-02,NOK,0.0625\n2026-03,NOK,0.25\n")
    tables, errors = load_all(d, settings=EUR)
    assert "subscriptions" not in errors and "fx_rates" not in errors
    t = tables["subscriptions"]
    assert t.issues == []
    # one derived row per billing period whose rate differs, each from file row 2
    assert t.df["amount"].tolist() == [125.0, 62.5, 250.0]
    assert t.df["start_date"].tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"),
                                           pd.Timestamp("2026-03-01")]
    assert t.df["end_date"].iloc[:2].tolist() == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01")]
    assert pd.isna(t.df["end_date"].iloc[2])
    assert t.rows.tolist() == [2, 2, 2] and t.df["currency"].tolist() == ["NOK"] * 3
    assert _mrr(t, "2026-03-31") == {("C1", "2026-01"): 125.0, ("C1", "2026-02"): 62.5, ("C1", "2026-03"): 250.0}
    assert t.fx.rates == (("NOK", "2026-01", 0.125), ("NOK", "2026-02", 0.0625), ("NOK", "2026-03", 0.25))
    # an order without a currency is in the reporting currency: unchanged
    assert tables["orders"].df["amount"].tolist() == [5.0]


def test_an_annual_sek_subscription_is_converted_once_per_renewal(tmp_path):
    # 1,200 SEK a year from 2025-03-15: renewals on 2025-03-15 and 2026-03-15; only those months need a rate
    d = _folder(tmp_path, subs="C1,2025-03-15,,1200,12,P,S1,SEK\n", orders="C2,X,2026-06-01,5,O1,\n",
                rates="2025-03,SEK,0.5\n2026-03,SEK,0.25\n")
    tables, _ = load_all(d, settings=NOK)
    t = tables["subscriptions"]
    assert t.issues == []
    assert t.df["amount"].tolist() == [600.0, 300.0]
    assert t.df["start_date"].tolist() == [pd.Timestamp("2025-03-15"), pd.Timestamp("2026-03-15")]
    mrr = _mrr(t)
    # 600 / 12 = 50 a month through February 2026 (the month-end of March is after the renewal): 300 / 12 = 25
    assert mrr[("C1", "2025-03")] == 50.0 and mrr[("C1", "2026-02")] == 50.0
    assert mrr[("C1", "2026-03")] == 25.0 and mrr[("C1", "2026-06")] == 25.0


def test_equal_rates_at_renewals_keep_the_row_whole(tmp_path):
    d = _folder(tmp_path, subs="C1,2026-01-31,2026-04-15,90,1,P,S1,SEK\n", orders="C2,X,2026-06-01,5,O1,\n",
                rates="2026-01,SEK,2\n2026-02,SEK,2\n2026-03,SEK,2\n2026-04,SEK,2\n")
    t = load_all(d, settings=NOK)[0]["subscriptions"]
    assert t.df["amount"].tolist() == [180.0] and t.df["end_date"].tolist() == [pd.Timestamp("2026-04-15")]


def test_a_renewal_on_the_31st_falls_on_the_last_day_of_a_shorter_month(tmp_path):
    d = _folder(tmp_path, subs="C1,2026-01-31,,10,1,P,S1,SEK\n", orders="C2,X,2026-03-01,5,O1,\n",
                rates="2026-01,SEK,1\n2026-02,SEK,2\n2026-03,SEK,4\n")
    t = load_all(d, settings=NOK)[0]["subscriptions"]
    assert t.df["start_date"].tolist() == [pd.Timestamp("2026-01-31"), pd.Timestamp("2026-02-28"),
                                           pd.Timestamp("2026-03-31")]
    assert t.df["amount"].tolist() == [10.0, 20.0, 40.0]


def test_fx_constant_converts_everything_at_one_months_rates(tmp_path):
    d = _folder(tmp_path, subs="C1,2025-03-15,,1200,12,P,S1,SEK\nC2,2026-01-01,,100,1,P,S2,\n",
                orders="C2,X,2026-02-10,80,O1,SEK\n", costs="2026-01,North,Starter,40,8,SEK\n",
                rates="2026-06,SEK,0.25\n")
    tables, errors = load_all(d, settings=DataSettings(currency="NOK", fx_constant="2026-06"))
    assert not {"subscriptions", "orders", "costs"} & set(errors)
    assert tables["subscriptions"].df["amount"].tolist() == [300.0, 100.0]
    assert tables["orders"].df["amount"].tolist() == [20.0]
    assert tables["costs"].df[["cogs", "sales_cost"]].values.tolist() == [[10.0, 2.0]]
    data = scope(tables, ("subscriptions", "customers", "orders", "costs"), None, None)
    assert data.fx.rates == (("SEK", "2026-06", 0.25),) and "rates of 2026-06" in data.fx.rule


def test_orders_and_costs_convert_at_their_own_month(tmp_path):
    d = _folder(tmp_path, orders="C1,X,2026-01-20,100,O1,EUR\nC2,Y,2026-02-03,100,O2,EUR\nC2,Z,2026-02-04,7,O3,\n",
                costs="2026-01,North,Starter,10,20,DKK\n2026-02,North,Starter,10,20,DKK\n",
                rates="2026-01,EUR,10\n2026-02,EUR,12\n2026-01,DKK,1.5\n2026-02,DKK,2\n")
    tables, _errors = load_all(d, settings=NOK)
    assert tables["orders"].df["amount"].tolist() == [1000.0, 1200.0, 7.0]
    assert tables["costs"].df[["cogs", "sales_cost"]].values.tolist() == [[15.0, 30.0], [20.0, 40.0]]
    assert tables["orders"].df["currency"].tolist() == ["EUR", "EUR", None]


def test_a_missing_rate_names_the_currency_the_month_and_the_row(tmp_path):
    d = _folder(tmp_path, subs="C1,2026-01-01,,1000,1,P,S1,SEK\n", orders="C2,X,2026-03-10,5,O1,DKK\n",
                rates="2026-01,SEK,0.5\n2026-03,SEK,0.5\n")
    tables, _ = load_all(d, settings=NOK)
    t = tables["subscriptions"]
    assert [str(i) for i in t.issues] == [
        ("subscriptions.csv row 2, column currency: no SEK rate for 2026-02 in fx_rates.csv (a billing period "
        "starts then; a rate is units of NOK per 1 SEK)")]
    assert len(t.df) == 1 and t.bad.tolist() == [True] and np.isnan(t.df["amount"].iloc[0])  # kept, never lost
    o = tables["orders"]
    assert [str(i) for i in o.issues] == [
        ("orders.csv row 2, column currency: no DKK rate for 2026-03 in fx_rates.csv (the row's month; a rate is "
        "units of NOK per 1 DKK)")]
    with pytest.raises(ScopeError, match="no SEK rate for 2026-02"):
        scope(tables, ("subscriptions", "customers", "orders", "costs"), None, None)


def test_currencies_without_a_reporting_currency_say_how_to_give_one(tmp_path):
    d = _folder(tmp_path, subs="C1,2026-01-01,,1000,1,P,S1,SEK\n", orders="C2,X,2026-03-10,5,O1,\n")
    tables, errors = load_all(d)
    assert "subscriptions" not in tables
    assert "no reporting currency is given" in errors["subscriptions"] and "--currency" in errors["subscriptions"]
    assert "kpi.toml" in errors["subscriptions"]
    assert "orders" in tables and "orders" not in errors  # no currency named: as before


def test_no_rates_file_or_a_bad_one_fails_the_tables_that_need_it(tmp_path):
    d = _folder(tmp_path, subs="C1,2026-01-01,,1000,1,P,S1,SEK\n", orders="C2,X,2026-03-10,5,O1,NOK\n")
    tables, errors = load_all(d, settings=NOK)
    assert "no fx_rates file" in errors["subscriptions"] and "subscriptions" not in tables
    assert "orders" in tables  # in the reporting currency: needs no rate
    (d / "fx_rates.csv").write_text("month,currency,rate\n2026-01,SEK,0.5\n2026-01,SEK,0.6\n2026-02,sek,1\n"
                                    "2026-03,NOK,2\n2026-03,SEK,0\n", encoding="utf-8")
    tables, errors = load_all(d, settings=NOK)
    msg = errors["subscriptions"]
    assert "fx_rates.csv row 3, column currency: SEK in 2026-01 repeats the rate of row 2" in msg
    assert "row 4, column currency: 'sek' is not an ISO 4217 currency code" in msg
    assert "row 5, column rate: 2 for NOK, the reporting currency: its rate is 1" in msg
    assert "row 6, column rate: 0 is not a rate" in msg


def test_bad_codes_are_bad_rows_and_bad_settings_are_refused(tmp_path):
    d = _folder(tmp_path, orders="C1,X,2026-01-20,100,O1,eur\n", rates="2026-01,EUR,10\n")
    o = load_all(d, settings=NOK)[0]["orders"]
    assert [str(i) for i in o.issues] == [("orders.csv row 2, column currency: 'eur' is not an ISO 4217 currency "
                                          "code (three upper-case letters such as NOK)")]
    with pytest.raises(DataError, match="'nok' is not an ISO 4217"):
        load_all(d, settings=DataSettings(currency="nok"))
    with pytest.raises(DataError, match="not a month"):
        load_all(d, settings=DataSettings(currency="NOK", fx_constant="June"))
    with pytest.raises(DataError, match="no reporting currency|none is given"):
        load_all(d, settings=DataSettings(fx_constant="2026-06"))


# --------------------------------------------------------------------------
# The sample company in three currencies
# --------------------------------------------------------------------------
#: reporting NOK; subscriptions and orders by customer in NOK, SEK (0.5) or EUR (0.25); marketing by row in
#: NOK or EUR; costs in DKK at 0.5 in even months and 0.25 in odd ones. Every rate is a power of two, so
#: dividing by it and converting back gives the original amount exactly.
_RATE = {"SEK": 0.5, "EUR": 0.25}


def _dkk(month: pd.Series) -> np.ndarray:
    return np.where(pd.to_datetime(month).dt.month % 2 == 0, 0.5, 0.25)


def _three_currencies(dst: Path) -> Path:
    dst.mkdir()
    for f in SAMPLE_DIR.glob("*.csv"):
        (dst / f.name).write_bytes(f.read_bytes())
    codes = np.array(["NOK", "SEK", "EUR"], dtype=object)
    for name, money in (("subscriptions", ["amount"]), ("orders", ["amount"])):
        df = pd.read_csv(dst / f"{name}.csv", dtype=str, keep_default_na=False)
        cur = codes[df["customer_id"].str[1:].astype(int).to_numpy() % 3]
        rate = np.array([_RATE.get(c, 1.0) for c in cur])
        for col in money:
            df[col] = (df[col].astype(float) / rate).map(repr)
        df["currency"] = np.where(cur == "NOK", "", cur)  # a blank: the reporting currency
        df.to_csv(dst / f"{name}.csv", index=False)
    mk = pd.read_csv(dst / "marketing.csv", dtype=str, keep_default_na=False)
    eur = np.arange(len(mk)) % 2 == 1
    for col in ("spend", "revenue"):
        mk[col] = np.where(eur, mk[col].astype(float) / 0.25, mk[col].astype(float))
        mk[col] = mk[col].map(repr)
    mk["currency"] = np.where(eur, "EUR", "NOK")
    mk.to_csv(dst / "marketing.csv", index=False)
    costs = pd.read_csv(dst / "costs.csv", dtype=str, keep_default_na=False)
    for col in ("cogs", "sales_cost"):
        costs[col] = (costs[col].astype(float) / _dkk(costs["month"])).map(repr)
    costs["currency"] = "DKK"
    costs.to_csv(dst / "costs.csv", index=False)
    months = pd.period_range("2023-01", "2027-12", freq="M")
    rows = [(str(m), c, r) for m in months for c, r in _RATE.items()]
    rows += [(str(m), "DKK", float(_dkk(pd.Series([str(m)]))[0])) for m in months]
    pd.DataFrame(rows, columns=["month", "currency", "rate"]).to_csv(dst / "fx_rates.csv", index=False)
    return dst


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = _three_currencies(tmp_path_factory.mktemp("fx") / "data")
    tables, errors = load_all(d, settings=NOK)
    assert not errors
    assert all(t.issues == [] for t in tables.values())
    return tables


def test_the_sample_in_three_currencies_converts_back_to_the_original_amounts(converted, sample_tables):
    for name in ("subscriptions", "orders", "marketing", "costs"):
        a, b = sample_tables[name].df, converted[name].df
        cols = [c for c in a.columns if c != "currency"]
        pd.testing.assert_frame_equal(a[cols], b[cols], obj=name)


def _nan_free(columns: list) -> list:
    """A spill's columns with NaN (a blank cell) as None, so that equal tables compare equal."""
    return [(kind, [None if isinstance(v, float) and np.isnan(v) else v for v in vals]) for kind, vals in columns]


@pytest.mark.parametrize("key", list(REPORTS))
def test_reports_from_three_currencies_equal_the_originals(key, converted, sample_tables, tmp_path):
    spec = REPORTS[key]
    a = atomic_build(spec, scope(sample_tables, spec.datasets, None, None), tmp_path / "a.xlsx")
    data = scope(converted, spec.datasets, None, None)
    b = atomic_build(spec, data, tmp_path / "b.xlsx")
    assert [(c.sheet, c.cell, c.value) for c in a.cells] == [(c.sheet, c.cell, c.value) for c in b.cells]
    assert [(s.sheet, s.header, _nan_free(s.columns)) for s in a.spills] == \
        [(s.sheet, s.header, _nan_free(s.columns)) for s in b.spills]
    # money cells carry the reporting currency; the others keep their formats
    pairs = [(x.fmt, y.fmt) for x, y in zip(a.cells, b.cells)]
    assert all(y == x or y == f"[$NOK] {x}" for x, y in pairs)
    assert data.currency == "NOK"
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx")
    notes = [[c.value for c in r] for r in wb["Notes"].iter_rows()]
    text = " ".join(str(v) for r in notes for v in r if v is not None)
    assert "in NOK" in text
    if set(spec.datasets) & {"subscriptions", "orders", "marketing", "costs"}:
        assert any(r[:3] == ["DKK", "2024-02", 0.5] for r in notes) == ("costs" in spec.datasets)
        assert "[$NOK] #,##0" in {y for _, y in pairs}


def test_a_money_cell_shows_the_reporting_currency_in_its_number_format(converted, tmp_path):
    spec = REPORTS["saas_dashboard"]
    res = atomic_build(spec, scope(converted, spec.datasets, None, None), tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["Dashboard"]
    mrr = next(c for c in res.cells if c.sheet == "Dashboard" and c.formula and "KPI_MRR(" in c.formula)
    assert ws[mrr.cell].number_format == "[$NOK] #,##0"
    share = next(c for c in res.cells if c.sheet == "Dashboard" and c.formula and "KPI_CHURN_CUSTOMERS(" in c.formula)
    assert ws[share.cell].number_format == "0.00%"  # not money: unchanged (churn shows two decimals)
    inputs = openpyxl.load_workbook(tmp_path / "s.xlsx")["Subscriptions"]
    header = [c.value for c in inputs[1]]
    assert inputs.cell(2, header.index("amount") + 1).number_format == "[$NOK] #,##0.00"
    assert inputs.cell(2, header.index("billing_months") + 1).number_format == "#,##0"
    import zipfile

    with zipfile.ZipFile(tmp_path / "s.xlsx") as z:  # the MRR charts' money axes too
        charts = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert any('formatCode="[$NOK] #,##0"' in c for c in charts)


@pytest.fixture(scope="module")
def three_currency_folder(tmp_path_factory) -> Path:
    return _three_currencies(tmp_path_factory.mktemp("fxcli") / "data")


def _cli(*args: str):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    return CliRunner().invoke(app, ["build", *args, "--no-progress"])


def test_kpi_build_currency_flag_and_mapping_file(three_currency_folder, tmp_path):
    d = three_currency_folder
    r = _cli("marketing_funnel", "--data", str(d), "--out", str(tmp_path / "none"))
    assert r.exit_code == 1 and "no reporting currency is given" in r.output and "--currency" in r.output
    r = _cli("marketing_funnel", "--data", str(d), "--currency", "NOK", "--out", str(tmp_path / "flag"))
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(tmp_path / "flag" / "marketing_funnel.xlsx")["Marketing"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("spend") + 1).number_format == "[$NOK] #,##0.00"
    # the same from the data folder's kpi.toml
    m = tmp_path / "mapped"
    m.mkdir()
    for f in d.iterdir():
        (m / f.name).write_bytes(f.read_bytes())
    (m / "kpi.toml").write_text('[build]\ncurrency = "NOK"\n', encoding="utf-8")
    r = _cli("marketing_funnel", "--data", str(m), "--out", str(tmp_path / "toml"))
    assert r.exit_code == 0, r.output
    r = _cli("marketing_funnel", "--data", str(d), "--currency", "nok", "--out", str(tmp_path / "bad"))
    assert r.exit_code == 2 and "'nok' is not an ISO 4217" in r.output
    r = _cli("marketing_funnel", "--data", str(d), "--currency", "NOK", "--fx-constant", "2026-13",
             "--out", str(tmp_path / "bad"))
    assert r.exit_code == 2 and "not a month" in r.output
