"""The retention report's models: the survival band and the median customer lifetime, and the repeat buyers
of the orders (RFM summary, BG/NBD, P(alive), expected purchases, the recent repeat buyers most likely lost),
checked against hand computations from the order rows and the library functions called directly."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kpi_functions.bgnbd import bgnbd_fit
from kpi_functions.bgnbd_customers import expected_purchases, prob_alive
from kpi_functions.survival import median_lifetime, survival_curve
from workbook_templates.batch import SAMPLE_DIR, Task, run_task
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.data import load_all
from workbook_templates.report_retention_models import LOST_N, RB_HORIZON_WEEKS, RB_WINDOW_DAYS
from workbook_templates.reports import REPORTS

SPEC = REPORTS["retention_cohorts"]


def _built(tables, month: str | None = None):
    data = scope(tables, SPEC.datasets, None, None if month is None else pd.Timestamp(month), "test")
    return evaluate(SPEC, data), data.report_month


def _spill(r, name: str) -> pd.DataFrame:
    return r.spill(name).value


# ------------------------------------------------------------------ survival band and median lifetime
def _lifetimes(r) -> tuple[np.ndarray, np.ndarray]:
    months = np.array(r.block_value("life", "months"), dtype=float)
    churned = np.array(r.block_value("life", "churned"), dtype=float)
    return months, churned


def test_the_survival_table_has_its_band_and_the_chart_draws_it(sample_tables):
    r, _ = _built(sample_tables)
    months, churned = _lifetimes(r)
    got = _spill(r, "survival")
    want = survival_curve(months, churned, True)
    assert list(got.columns) == ["time", "at risk", "churned", "survival", "lower", "upper"]
    np.testing.assert_allclose(got[["survival", "lower", "upper"]].to_numpy(float),
                               want[["survival", "lower", "upper"]].to_numpy(float), rtol=1e-12)
    assert (got["lower"] <= got["survival"]).all() and (got["survival"] <= got["upper"]).all()
    assert (got["lower"] < got["upper"]).any()  # a band, not a line
    chart = next(c for c in SPEC.charts if c.sheet == "Retention" and c.kind == "scatter")
    drawn = {s.name: (s.values.col, s.dash) for s in chart.series}
    assert drawn == {"Survival": ("survival", None), "95 % band: lower": ("lower", "dash"),
                     "95 % band: upper": ("upper", "dash")}


def test_the_median_lifetime_items_are_kpi_median_lifetime_of_the_lifetimes_table(sample_tables):
    r, _ = _built(sample_tables)
    months, churned = _lifetimes(r)
    want = median_lifetime(months, churned).set_index("label")["value"]
    # by hand from the curve: the first month the survival (and the band's bounds) is 50 % or less
    curve = survival_curve(months, churned, True)
    first = lambda col: curve.loc[curve[col] <= 0.5, "time"].min()
    assert want["median"] == first("survival") and want["lower"] == first("lower")
    assert r.value("median_life") == want["median"] == 28
    assert r.value("median_life_low") == want["lower"] == 24
    # the upper bound stays above 50 % over the 30 months seen: the interval is open, and says so
    assert np.isnan(want["upper"]) and curve["upper"].min() > 0.5
    assert r.value("median_life_high") == f"open (over {months.max():.0f} months)" == "open (over 30 months)"


def test_a_median_not_reached_says_so_with_the_longest_lifetime(sample_tables):
    # a year and a half earlier, fewer than half the customers had stopped paying
    r, _ = _built(sample_tables, "2025-01-01")
    months, churned = _lifetimes(r)
    assert survival_curve(months, churned)["survival"].min() > 0.5
    with pytest.raises(Exception, match="never falls to 50 %"):
        median_lifetime(months, churned)
    assert r.value("median_life") == f"not reached (over {months.max():.0f} months)"
    assert r.value("median_life_low") == r.value("median_life_high") == "—"


# ------------------------------------------------------------------ repeat buyers
def _hand_rfm(orders: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """By the BG/NBD conventions: purchase days (several orders on one day are one), frequency = days − 1,
    recency and T in weeks from the first purchase day to the last and to the period end."""
    o = orders.assign(d=pd.to_datetime(orders["order_date"]).dt.normalize())
    o = o[o["d"] <= end]
    rows = []
    for cust, g in o.groupby("customer_id", sort=False):
        days = sorted(set(g["d"]))
        rows.append({"customer": cust, "frequency": len(days) - 1, "recency": (days[-1] - days[0]).days / 7,
                     "T": (end - days[0]).days / 7, "last": days[-1]})
    return pd.DataFrame(rows)


def _bgnbd_orders(tables, seed: int = 7) -> pd.DataFrame:
    """Orders of the sample customers drawn from a BG/NBD (r 0.9, alpha 12 weeks, a 0.9, b 2.5): purchases at a
    Poisson rate while alive, a drop-out chance after each; first purchases spread over 2024–2025."""
    rng = np.random.default_rng(seed)
    ids = list(tables["customers"].df["customer_id"])[:400]
    end = pd.Timestamp("2026-06-30")
    rows = []
    for c in ids:
        lam, p = rng.gamma(0.9, 1 / 12), rng.beta(0.9, 2.5)
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
        while t <= end:
            rows.append({"customer_id": c, "product": "Training day", "order_date": t.strftime("%Y-%m-%d"),
                         "amount": float(rng.choice([900.0, 1200.0, 1500.0])), "order_id": f"O{len(rows) + 1:06d}"})
            if rng.uniform() < p:
                break
            t += pd.Timedelta(days=max(1, round(7 * rng.exponential(1 / lam))))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def bgnbd_tables(tmp_path_factory, sample_tables):
    d = tmp_path_factory.mktemp("bgnbd_orders")
    for f in SAMPLE_DIR.glob("*.csv"):
        if f.name != "orders.csv":
            (d / f.name).write_bytes(f.read_bytes())
    orders = _bgnbd_orders(sample_tables)
    orders.to_csv(d / "orders.csv", index=False)
    tables, errors = load_all(d)
    assert errors == {}
    return tables, orders


def test_the_rfm_summary_is_the_hand_computed_one_up_to_the_period_end(sample_tables):
    # an earlier report month: the orders after its end are not seen
    r, month = _built(sample_tables, "2025-09-01")
    end = month + pd.offsets.MonthEnd(0)
    orders = pd.read_csv(SAMPLE_DIR / "orders.csv", dtype=str)
    want = _hand_rfm(orders, end)
    got = _spill(r, "rfm")
    assert len(got) == len(want) < orders["customer_id"].nunique()
    assert list(got["customer"]) == list(want["customer"])
    assert list(got["frequency"]) == list(want["frequency"])
    np.testing.assert_allclose(got[["recency", "T"]].to_numpy(float), want[["recency", "T"]].to_numpy(float),
                               rtol=1e-12)


def test_the_most_likely_lost_are_the_recent_repeat_buyers_with_the_lowest_p_alive(bgnbd_tables):
    tables, orders = bgnbd_tables
    r, month = _built(tables)
    end = month + pd.offsets.MonthEnd(0)
    assert end == pd.Timestamp("2026-06-30")
    h = _hand_rfm(orders, end)
    fit = bgnbd_fit(h["frequency"], h["recency"], h["T"])
    assert r.value("rb_status").startswith("fitted")
    np.testing.assert_allclose(_spill(r, "bgfit")["value"].to_numpy(float), fit["value"].to_numpy(float),
                               rtol=1e-9)
    h["p"] = prob_alive(h["frequency"], h["recency"], h["T"], fit)
    h["e"] = expected_purchases(h["frequency"], h["recency"], h["T"], RB_HORIZON_WEEKS, fit)
    recent = h[(h["frequency"] >= 1) & ((end - h["last"]).dt.days <= RB_WINDOW_DAYS)]
    lost = recent.sort_values("p", kind="stable").head(LOST_N)
    assert len(recent) > LOST_N and lost["p"].iloc[-1] < recent["p"].median()
    assert r.value("rb_repeaters") == (h["frequency"] >= 1).sum()
    assert r.value("rb_recent") == len(recent)
    assert r.value("rb_expected") == pytest.approx(h["e"].sum(), rel=1e-9)
    for k, (_, row) in enumerate(lost.iterrows()):
        assert r.value(f"lost.customer.{k}") == row["customer"]
        assert r.value(f"lost.purchases.{k}") == row["frequency"] + 1
        assert r.value(f"lost.last.{k}") == pytest.approx(float((row["last"] - pd.Timestamp("1899-12-30")).days))
        assert r.value(f"lost.p_alive.{k}") == pytest.approx(row["p"], rel=1e-9)
        assert r.value(f"lost.expected.{k}") == pytest.approx(row["e"], rel=1e-9)


def test_the_lost_list_is_live_formulas_over_the_ranks(bgnbd_tables):
    tables, _ = bgnbd_tables
    r, _ = _built(tables)
    text = r.cells["lost.p_alive.0"].node.render(r.on_sheet("Repeat buyers"))
    assert text.startswith("IFERROR(INDEX(") and "MATCH(" in text and "RFM!" in text, text
    rank = r.cells["rbuy.rank.3"].node.render(r.on_sheet("RFM"))
    assert rank.startswith("IF(") and rank.count("SUMPRODUCT(") == 2, rank
    rfm = r.spill("rfm").node.render(r.on_sheet("RFM"))
    assert "KPI_RFM_SUMMARY(" in rfm and "FILTER(Orders[customer_id]" in rfm and '"weeks"' in rfm, rfm


def test_where_the_fit_fails_it_says_so_readably_and_the_report_still_builds(sample_tables):
    # the sample company's Asia Pacific customers: too few repeat buyers to pin down b (the BG/NBD estimate runs
    # to infinity)
    data = scope(sample_tables, SPEC.datasets, ("region", "Asia Pacific"), None, "test")
    r = evaluate(SPEC, data)
    assert str(r.spill("bgfit").value) == "#NUM!"
    assert r.value("rb_status").startswith("not fitted")
    assert r.value("rb_expected") == "—"
    assert all(r.value(f"lost.customer.{k}") == "" for k in range(LOST_N))
    assert r.value("rb_recent") > 0  # the summary itself is there
    assert any(w.startswith("KPI_BGNBD_FIT:") and "cannot identify the model" in w for w in r.warnings)


def test_without_an_orders_file_the_retention_report_builds_and_says_there_are_no_orders(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for f in SAMPLE_DIR.glob("*.csv"):
        if f.name != "orders.csv":
            (d / f.name).write_bytes(f.read_bytes())
    res = run_task(Task("retention_cohorts", str(d), str(tmp_path / "out" / "r.xlsx")))
    assert res.ok, res.error
    said = [w for w in res.warnings if w.startswith("no orders file in ")]
    assert len(said) == 1 and "Repeat buyers sheet is empty" in said[0]
    ws = openpyxl.load_workbook(res.path, data_only=True)["Repeat buyers"]
    rows = {ws.cell(i, 1).value: i for i in range(1, ws.max_row + 1)}
    assert ws.cell(rows["BG/NBD model"], 2).value == "no orders up to the period end"


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_recalculates_the_lost_list_to_the_cached_values(bgnbd_tables, tmp_path):
    """With a fitted model: the ranks (SUMPRODUCT), the list (INDEX/MATCH) and the totals, recalculated by
    LibreOffice without the add-in, equal what the builder cached."""
    from report_helpers import need_program, same

    from workbook_templates.batch import atomic_build
    from workbook_templates.render import convert

    need_program("soffice", "libreoffice")
    tables, _ = bgnbd_tables
    data = scope(tables, SPEC.datasets, None, None, "test")
    path = tmp_path / "r.xlsx"
    atomic_build(SPEC, data, path)
    convert([path], "xlsx:Calc MS Excel 2007 XML", tmp_path / "recalc", recalc=True)
    cached = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    recalc = openpyxl.load_workbook(tmp_path / "recalc" / "r.xlsx", data_only=True)
    n = 0
    for sheet in ("Repeat buyers", "RFM", "Retention"):
        for row in formulas[sheet].iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    n += 1
                    a, b = cached[sheet][c.coordinate].value, recalc[sheet][c.coordinate].value
                    assert same(a, b), f"{sheet}!{c.coordinate}: cached {a!r}, recalculated {b!r} ({c.value})"
    assert n > 1000
    ws = recalc["Repeat buyers"]
    rows = {ws.cell(i, 1).value: i for i in range(1, ws.max_row + 1)}
    assert isinstance(ws.cell(rows[1], 2).value, str) and ws.cell(rows[1], 2).value.startswith("C")


def test_a_region_s_report_shows_every_customer_s_expected_purchases_and_the_lowest_p_alive(sample_tables):
    # (parameters where the library's first form of the expectation overflows — a and b in the tens of
    # thousands — are tested in tests/kpi_functions/test_bgnbd_customers.py: they gave NaN, shown blank, before)
    data = scope(sample_tables, SPEC.datasets, ("region", "Latin America"), None, "test")
    r = evaluate(SPEC, data)
    rfm = _spill(r, "rfm")
    fit = _spill(r, "bgfit")
    assert r.value("rb_status").startswith("fitted")
    e = expected_purchases(rfm["frequency"], rfm["recency"], rfm["T"], RB_HORIZON_WEEKS, fit)
    assert e.notna().all()
    shown = [r.value(f"rbuy.expected.{i}") for i in range(len(rfm))]
    assert shown == pytest.approx(e.tolist(), rel=1e-12)
    assert r.value("rb_expected") == pytest.approx(e.sum(), rel=1e-12)
    p = prob_alive(rfm["frequency"], rfm["recency"], rfm["T"], fit)
    # recent repeat buyers: a repeat purchase, the last within the window (T − recency weeks ago)
    recent = (rfm["frequency"] >= 1) & ((rfm["T"] - rfm["recency"]) * 7 <= RB_WINDOW_DAYS + 1e-9)
    first = p[recent].idxmin()
    assert r.value("lost.customer.0") == rfm.loc[first, "customer"]
    assert r.value("lost.p_alive.0") == pytest.approx(p[first], rel=1e-12)
    assert r.value("lost.expected.0") == pytest.approx(e[first], rel=1e-12)
