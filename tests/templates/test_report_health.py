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
