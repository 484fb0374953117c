"""The retention report's repeat purchase rate within a time frame and its per-customer health table,
checked against hand computations from the sample CSV rows by the definitions."""

from __future__ import annotations

import pandas as pd
import pytest

from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.report_health import REPEAT_WINDOW_DAYS
from workbook_templates.reports import REPORTS

SPEC = REPORTS["retention_cohorts"]


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)


def _built(sample_tables, month: str | None):
    data = scope(sample_tables, SPEC.datasets, None, None if month is None else pd.Timestamp(month), "test")
    return evaluate(SPEC, data), data.report_month


def _repeat_within(orders: pd.DataFrame, days: int, as_of: pd.Timestamp) -> float:
    """By the definition: customers whose first order is at least N days before as_of; of those, the share
    whose second order is at most N days after the first (orders after as_of are not seen)."""
    o = orders.assign(d=pd.to_datetime(orders["order_date"]))
    o = o[o["d"] <= as_of]
    n_eligible = n_repeat = 0
    for _, g in o.groupby("customer_id"):
        dates = sorted(g["d"])
        if (as_of - dates[0]).days < days:
            continue
        n_eligible += 1
        if len(dates) >= 2 and (dates[1] - dates[0]).days <= days:
            n_repeat += 1
    return n_repeat / n_eligible


@pytest.mark.parametrize("month", [None, "2025-09-01"])
def test_repeat_purchase_rate_within_the_window_is_the_hand_computed_share(sample_tables, month):
    r, report_month = _built(sample_tables, month)
    period_end = report_month + pd.offsets.MonthEnd(0)
    assert r.value("repeat_window") == REPEAT_WINDOW_DAYS == 365
    want = _repeat_within(_csv("orders"), REPEAT_WINDOW_DAYS, period_end)
    assert r.value("repeat_window_rate") == pytest.approx(want, rel=1e-12)
    assert r.value("repeat_window_rate") != pytest.approx(r.value("repeat"))  # not the all-time rate


def test_the_windowed_rate_is_a_live_formula_over_the_window_cell_and_the_period_end(sample_tables):
    r, _ = _built(sample_tables, None)
    text = r.cells["repeat_window_rate"].node.render(r.on_sheet("Retention"))
    window = r.cells["repeat_window"]
    assert r.cells["repeat_window"].style == "input"
    assert f"$B${window.row + 1}" in text and "EDATE(" in text and "Orders[order_date]" in text, text


def _hand_health(month: pd.Timestamp) -> pd.DataFrame:
    """Per customer, from the CSV rows by the definitions, with the default weights: active user-days (Activity
    rows) in the month, tickets resolved in it, tickets opened by its end and not resolved by then, the mean
    score of the latest day's NPS answers up to its end; score = 1·days + 2·solved − 5·open + 3·(NPS − 7)."""
    end = month + pd.DateOffset(months=1)
    act = _csv("activity").assign(d=lambda f: pd.to_datetime(f["date"]))
    act = act[(act["d"] >= month) & (act["d"] < end)].groupby("customer_id").size()
    t = _csv("tickets")
    created, resolved = pd.to_datetime(t["created_at"]), pd.to_datetime(t["resolved_at"].replace("", None))
    solved = t[(resolved >= month) & (resolved < end)].groupby("customer_id").size()
    opened = t[created < end]
    still_open = opened[~(resolved[opened.index] < end)].groupby("customer_id").size()
    n = _csv("nps_responses").assign(d=lambda f: pd.to_datetime(f["date"]), s=lambda f: f["score"].astype(float))
    n = n[n["d"] < end]
    latest = n[n["d"] == n.groupby("customer_id")["d"].transform("max")].groupby("customer_id")["s"].mean()
    out = pd.DataFrame({"activity": act, "solved": solved, "open": still_open, "nps": latest})
    out[["activity", "solved", "open"]] = out[["activity", "solved", "open"]].fillna(0)
    out["score"] = out["activity"] + 2 * out["solved"] - 5 * out["open"] + 3 * (out["nps"] - 7).fillna(0)
    return out


def _health_table(r) -> pd.DataFrame:
    b = r.blocks["health"]
    rows = {k: [r.value(n) for n in b.cells[k]] for k in ("customer", "activity", "solved", "open", "nps")}
    df = pd.DataFrame(rows).set_index("customer")
    df["nps"] = pd.to_numeric(df["nps"].replace("", None))
    df["score"] = r.spill("hscore").value["health score"].to_numpy()
    df["rank"] = [r.value(n) for n in r.blocks["hrank"].cells["rank"]]
    return df


@pytest.mark.parametrize("month", [None, "2026-03-01"])
def test_health_scores_equal_the_hand_computation_with_the_default_weights(sample_tables, month):
    r, report_month = _built(sample_tables, month)
    got = _health_table(r)
    paying = [r.value(n) for n, now in zip(r.blocks["life"].cells["customer"], r.blocks["life"].cells["now"])
              if r.value(now) > 0]
    assert sorted(got.index) == sorted(paying) and len(got) > 100
    want = _hand_health(report_month).reindex(got.index)
    for col in ("activity", "solved", "open"):
        assert got[col].tolist() == want[col].fillna(0).tolist(), col
    pd.testing.assert_series_equal(got["nps"].astype(float), want["nps"], check_names=False)
    score = want["activity"].fillna(0) + 2 * want["solved"].fillna(0) - 5 * want["open"].fillna(0) \
        + 3 * (want["nps"] - 7).fillna(0)
    assert got["score"].tolist() == pytest.approx(score.tolist())
    # the signals the weights test are all present in the sample: activity, solved and open tickets, NPS
    assert (got["activity"] > 0).any() and (got["solved"] > 0).any() and (got["open"] > 0).any()
    assert got["nps"].notna().any() and got["nps"].isna().any()
    assert r.cells["w_open"].style == "input" and r.value("w_open") == -5.0


def test_the_at_risk_list_is_the_n_lowest_scores(sample_tables):
    r, _ = _built(sample_tables, None)
    got = _health_table(r)
    assert sorted(got["rank"]) == list(range(1, len(got) + 1))  # a unique rank per customer
    at = r.blocks["at_risk"]
    custs = [r.value(n) for n in at.cells["customer"]]
    scores = [r.value(n) for n in at.cells["score"]]
    assert len(custs) == 10 and len(set(custs)) == 10
    assert scores == sorted(got["score"])[:10]
    assert [got.loc[c, "score"] for c in custs] == scores
    lowest_out = got.drop(index=custs)["score"].min()
    assert lowest_out >= max(scores)
