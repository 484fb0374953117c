"""KPI_MRR_MOVEMENTS by quarter and year (``period``, ``fiscal_year_start``).

Sources of truth: a table worked out by hand from the definitions in the
function's Notes (written beside each value), and a slow reference that
follows the definitions literally — a dict of each customer's MRR per month,
the monthly bridge by loops, then per period the sums of the monthly
movements and the two month-end snapshots (before the period, at its end) —
compared with the vectorised function on random tables.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError

MONEY = ["starting MRR", "new", "expansion", "reactivation", "contraction", "churned", "ending MRR"]
COUNTS = ["customers at start", "new customers", "reactivated", "churned customers", "customers at end"]
LENGTH = {"month": 1, "quarter": 3, "year": 12}


def reference(rows: list[tuple[str, int, float]], period: str, fy: int) -> list[dict]:
    """rows: (customer, month number = year * 12 + month - 1, MRR)."""
    x: dict[tuple[str, int], float] = defaultdict(float)
    for c, m, v in rows:
        x[(c, m)] += v
    custs = sorted({c for c, _, _ in rows})
    lo, hi = min(m for _, m, _ in rows), max(m for _, m, _ in rows)

    def mrr(c: str, m: int) -> float:
        return x.get((c, m), 0.0) if lo <= m <= hi else 0.0

    monthly = {}
    for m in range(lo, hi + 1):
        mv = dict.fromkeys(MONEY[1:6], 0.0)
        for c in custs:
            now, before = mrr(c, m), mrr(c, m - 1)
            paid_before = any(mrr(c, j) > 0 for j in range(lo, m - 1))
            if now > 0 and before > 0:
                mv["expansion"] += max(now - before, 0)
                mv["contraction"] += max(before - now, 0)
            elif now > 0 and paid_before:
                mv["reactivation"] += now
            elif now > 0:
                mv["new"] += now
            elif before > 0:
                mv["churned"] += before
        monthly[m] = mv
    length = LENGTH[period]
    out = []
    p_first = (lo - (fy - 1)) // length
    p_last = (hi - (fy - 1)) // length
    for p in range(p_first, p_last + 1):
        start = p * length + fy - 1
        end = min(start + length - 1, hi)
        before = start - 1
        row = {"month": pd.Timestamp(year=end // 12, month=end % 12 + 1, day=1)}
        for col in MONEY[1:6]:
            row[col] = sum(monthly[m][col] for m in range(max(start, lo), end + 1))
        row["starting MRR"] = sum(mrr(c, before) for c in custs)
        row["ending MRR"] = sum(mrr(c, end) for c in custs)
        s = {c for c in custs if mrr(c, before) > 0}
        e = {c for c in custs if mrr(c, end) > 0}
        first = {c: min(m for (cc, m), v in x.items() if cc == c and v > 0) for c in e}
        row["customers at start"] = len(s)
        row["customers at end"] = len(e)
        row["churned customers"] = len(s - e)
        row["new customers"] = sum(1 for c in e - s if first[c] >= start)
        row["reactivated"] = sum(1 for c in e - s if first[c] < start)
        out.append(row)
    return out


def table(rows: list[tuple[str, int, float]]) -> list[list]:
    return [["customer", "month", "MRR"]] + [[c, f"{m // 12:04d}-{m % 12 + 1:02d}", v] for c, m, v in rows]


def check(rows: list[tuple[str, int, float]], period: str, fy: int) -> pd.DataFrame:
    got = k.mrr_movements(table(rows), period, fy)
    want = reference(rows, period, fy)
    assert len(got) == len(want)
    for i, w in enumerate(want):
        assert got["month"].iloc[i] == w["month"], (period, fy, i)
        for col in MONEY:
            assert got[col].iloc[i] == pytest.approx(w[col], abs=1e-9), (period, fy, i, col)
        for col in COUNTS:
            assert got[col].iloc[i] == w[col], (period, fy, i, col)
    return got


def ym(y: int, m: int) -> int:
    return y * 12 + m - 1


def test_quarters_by_hand() -> None:
    # A pays Jan–Jun 100, 100, 100, 150, 150, 150; B pays Jan only (50) then Jun (60): reactivated in Q2;
    # C joins in Apr (80) and leaves in May (new and churned inside Q2); D joins Mar (40), pays through Jun.
    rows = [("A", ym(2026, m), v) for m, v in zip(range(1, 7), (100, 100, 100, 150, 150, 150))]
    rows += [("B", ym(2026, 1), 50), ("B", ym(2026, 6), 60), ("C", ym(2026, 4), 80)]
    rows += [("D", ym(2026, m), 40) for m in range(3, 7)]
    q = k.mrr_movements(table(rows), "quarter")
    assert list(q["month"]) == [pd.Timestamp("2026-03-01"), pd.Timestamp("2026-06-01")]
    q1, q2 = q.iloc[0], q.iloc[1]
    # Q1: new = 100 + 50 (Jan) + 40 (Mar D); churned = 50 (B in Feb); ending = A 100 + D 40
    assert (q1["starting MRR"], q1["new"], q1["churned"], q1["ending MRR"]) == (0, 190, 50, 140)
    # start snapshot: before the table, nobody; end (Mar): A, D — both new
    assert (q1["customers at start"], q1["new customers"], q1["reactivated"], q1["churned customers"],
            q1["customers at end"]) == (0, 2, 0, 0, 2)
    # Q2 money: expansion 50 (A in Apr); new 80 (C, Apr); churned 80 (C, May); reactivation 60 (B, Jun)
    assert (q2["starting MRR"], q2["new"], q2["expansion"], q2["reactivation"], q2["contraction"],
            q2["churned"], q2["ending MRR"]) == (140, 80, 50, 60, 0, 80, 250)
    # counts: S = {A, D} (Mar), E = {A, B, D} (Jun): B reactivated; C (in and out inside Q2) in no count
    assert (q2["customers at start"], q2["new customers"], q2["reactivated"], q2["churned customers"],
            q2["customers at end"]) == (2, 0, 1, 0, 3)
    check(rows, "quarter", 1)


def test_fiscal_year_by_hand() -> None:
    # fiscal year from April: FY Apr 2025–Mar 2026 ends in Mar 2026 (the row's month), the next runs to Jun 2026
    rows = [("A", ym(2025, 4), 10), ("A", ym(2026, 3), 10), ("B", ym(2026, 2), 20), ("B", ym(2026, 4), 25)]
    y = k.mrr_movements(table(rows), "year", 4)
    assert list(y["month"]) == [pd.Timestamp("2026-03-01"), pd.Timestamp("2026-04-01")]
    # FY to Mar 2026: new 10 (A Apr) + 20 (B Feb); reactivation 10 (A Mar); churned 10 (A May) + 20 (B Mar)
    assert (y["new"].iloc[0], y["reactivation"].iloc[0], y["churned"].iloc[0], y["ending MRR"].iloc[0]) == \
        (30, 10, 30, 10)
    assert (y["customers at start"].iloc[0], y["new customers"].iloc[0], y["customers at end"].iloc[0]) == (0, 1, 1)
    # next year (to Apr 2026, the table's last month): A churned, B reactivated (paid Feb, not Mar)
    assert (y["customers at start"].iloc[1], y["churned customers"].iloc[1], y["reactivated"].iloc[1],
            y["customers at end"].iloc[1]) == (1, 1, 1, 1)
    assert (y["starting MRR"].iloc[1], y["reactivation"].iloc[1], y["churned"].iloc[1]) == (10, 25, 10)
    check(rows, "year", 4)
    # fiscal quarters from February: Feb–Apr is one quarter
    q = check(rows, "quarter", 2)
    assert pd.Timestamp("2026-04-01") in set(q["month"])


def test_month_is_the_monthly_bridge() -> None:
    t = k.get("KPI_MRR_MOVEMENTS").example[0]
    pd.testing.assert_frame_equal(k.mrr_movements(t, "month", 7), k.mrr_movements(t))
    pd.testing.assert_frame_equal(k.mrr_movements(t, "Month"), k.mrr_movements(t))


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_cust, span = int(rng.integers(1, 9)), int(rng.integers(1, 40))
    m0 = ym(2024, int(rng.integers(1, 13)))
    rows = []
    for c in range(n_cust):
        for m in range(span):
            if rng.random() < 0.55:
                rows.append((f"c{c}", m0 + m, float(rng.choice([0, 10, 20, 35.5]))))
    if not rows:
        rows = [("c0", m0, 10.0)]
    for period in ("month", "quarter", "year"):
        for fy in (1, 4, 7, 12):
            got = check(rows, period, fy)
            # the bridge adds up on every row, in money and in customers
            flow = got["starting MRR"] + got["new"] + got["expansion"] + got["reactivation"] - \
                got["contraction"] - got["churned"]
            np.testing.assert_allclose(flow, got["ending MRR"], atol=1e-9)
            assert (got["customers at start"] + got["new customers"] + got["reactivated"] -
                    got["churned customers"] == got["customers at end"]).all()


@pytest.mark.parametrize(("period", "fy", "err", "words"), [
    ("week", 1, KPIInputError, "not one of 'month', 'quarter', 'year'"),
    (3, 1, KPIInputError, "one of 'month', 'quarter', 'year' is needed"),
    ("quarter", 13, KPIDomainError, "from 1 (January) to 12"),
    ("quarter", 0, KPIDomainError, "from 1 (January) to 12"),
    ("year", 4.5, KPIDomainError, "from 1 (January) to 12"),
    ("year", "April", KPIInputError, "a number is needed"),
])
def test_bad_period_arguments(period, fy, err, words) -> None:
    t = k.get("KPI_MRR_MOVEMENTS").example[0]
    with pytest.raises(err) as e:
        k.mrr_movements(t, period, fy)
    assert "KPI_MRR_MOVEMENTS" in str(e.value) and words in str(e.value)
