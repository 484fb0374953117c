"""Timings of the MRR table functions on large synthetic data.

Run from the project root::

    python benchmarks/bench_tables.py            # full sizes, median of 5 runs
    python benchmarks/bench_tables.py --quick    # small sizes, to check it runs

It times ``mrr_movements`` and ``cohort_retention`` on a 1,000,000-row long
MRR table (50,000 customers × 20 months) in several input forms — DataFrames
with text or numeric customer ids and months as datetimes, ISO text or Excel
serial numbers, and the Excel-style nested lists the add-in hands over — and
``mrr_schedule`` on 100,000 subscriptions over 36 months. Each figure is the
median wall time of a few runs and includes the input coercion; the
"coercion only" lines show how much of it is reading the input.

The data generators (:func:`make_mrr_table`, :func:`make_subscriptions`,
:func:`as_nested`) are importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kpi_functions as k
from kpi_functions import _coerce
from kpi_functions.mrr_tables import _MRR_COLUMNS, _SUBSCRIPTION_COLUMNS

__all__ = ["as_nested", "main", "make_mrr_table", "make_subscriptions", "time_call", "time_calls"]

_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
PLANS = np.array([29.0, 49.0, 99.0, 299.0, 999.0])


def _months_as(months: np.ndarray, kind: str) -> Any:
    """datetime64[D] dates in the requested form: datetime, iso, serial."""
    if kind == "datetime":
        return months.astype("datetime64[ns]")
    if kind == "iso":
        return pd.Series(months.astype("datetime64[M]").astype(str), dtype=object)
    if kind == "serial":
        return (months.astype("datetime64[D]") - _EXCEL_EPOCH).astype(np.int64).astype(float)
    raise ValueError(f"unknown month kind {kind!r}")


def _ids_as(codes: np.ndarray, kind: str) -> Any:
    if kind == "text":
        return pd.Series(np.char.add("C", np.char.zfill(codes.astype(str), 6)), dtype=object)
    if kind == "int":
        return codes.astype(np.int64) + 1
    raise ValueError(f"unknown customer id kind {kind!r}")


def make_mrr_table(n_customers: int = 50_000, n_months: int = 20, seed: int = 0, *,
                   customer_ids: str = "text", months: str = "datetime", first_month: str = "2024-01",
                   shuffle: bool = True) -> pd.DataFrame:
    """A long customer, month, MRR table: one row per customer and month.

    A synthetic SaaS book: customers sign up over the period (more of them
    early), pay one of a few plans, upgrade (5 % a month, ×1.5) and downgrade
    (3 %, ×0.7), churn (4 % a month) and come back (10 % of churned customers a
    month). Months before sign-up and after churn are rows with MRR 0, so the
    table has exactly ``n_customers × n_months`` rows.

    customer_ids: "text" (``C000001``) or "int"; months: "datetime"
    (datetime64 column, days spread over the month), "iso" (``2024-03``) or
    "serial" (Excel serial numbers). Rows are shuffled unless ``shuffle`` is
    False.
    """
    rng = np.random.default_rng(seed)
    signup = np.minimum((rng.exponential(n_months / 3, n_customers)).astype(np.int64), n_months - 1)
    base = rng.choice(PLANS, n_customers, p=[0.3, 0.3, 0.25, 0.1, 0.05])
    mrr = np.zeros((n_customers, n_months))
    level = base.copy()
    active = np.zeros(n_customers, dtype=bool)
    for m in range(n_months):  # a loop over months, each step vectorised over customers
        u = rng.random(n_customers)
        joining = signup == m
        was = active.copy()
        churn = was & (u < 0.04)
        back = ~was & (signup < m) & (u < 0.10)
        active = (was & ~churn) | back | joining
        change = rng.random(n_customers)
        level = np.where(was & active & (change < 0.05), np.round(level * 1.5), level)
        level = np.where(was & active & (change > 0.97), np.round(level * 0.7), level)
        mrr[:, m] = np.where(active, level, 0.0)
    cust = np.repeat(np.arange(n_customers), n_months)
    month_no = np.tile(np.arange(n_months), n_customers)
    day = rng.integers(0, 28, cust.size)
    dates = np.datetime64(first_month, "M") + month_no
    dates = dates.astype("datetime64[D]") + day
    values = mrr.reshape(-1)
    order = rng.permutation(cust.size) if shuffle else np.arange(cust.size)
    return pd.DataFrame({
        "customer": _ids_as(cust[order], customer_ids),
        "month": _months_as(dates[order], months),
        "MRR": values[order],
    }).reset_index(drop=True)


def make_subscriptions(n_subscriptions: int = 100_000, n_months: int = 36, seed: int = 0, *,
                       first_month: str = "2023-01", dates: str = "datetime") -> pd.DataFrame:
    """Subscriptions: customer, start, end (NaT = open), amount, billing months.

    About 80 % of customers hold one subscription, the rest two or three;
    starts are spread over ``n_months`` months; 55 % are still open; billing is
    monthly (60 %), quarterly (10 %) or annual (30 %), the amount being the
    price of one billing period. dates: "datetime", "iso" or "serial".
    """
    rng = np.random.default_rng(seed)
    n_customers = max(1, int(n_subscriptions * 0.8))
    cust = np.sort(rng.integers(0, n_customers, n_subscriptions))
    day0 = np.datetime64(first_month, "M").astype("datetime64[D]")
    span = int(((np.datetime64(first_month, "M") + n_months).astype("datetime64[D]") - day0).astype(np.int64))
    start = day0 + rng.integers(0, span, n_subscriptions)
    length = rng.integers(20, span, n_subscriptions)
    end = start + length
    open_ = rng.random(n_subscriptions) < 0.55
    billing = rng.choice([1.0, 3.0, 12.0], n_subscriptions, p=[0.6, 0.1, 0.3])
    amount = rng.choice(PLANS, n_subscriptions) * billing * np.where(billing == 12, 10 / 12, 1)
    end_col = end.astype("datetime64[ns]").copy()
    end_col[open_] = np.datetime64("NaT")
    frame = pd.DataFrame({
        "customer": _ids_as(cust, "text"),
        "start": start.astype("datetime64[ns]"),
        "end": end_col,
        "amount": np.round(amount, 2),
        "billing months": billing,
    })
    if dates != "datetime":
        for col in ("start", "end"):
            d = frame[col].to_numpy(dtype="datetime64[D]")
            if dates == "serial":
                frame[col] = np.where(np.isnat(d), np.nan, (d - _EXCEL_EPOCH).astype(np.int64).astype(float))
            elif dates == "iso":
                frame[col] = pd.Series([None if pd.isna(x) else str(x) for x in d], dtype=object)
            else:
                raise ValueError(f"unknown date kind {dates!r}")
    return frame


def as_nested(frame: pd.DataFrame, dates: str = "datetime") -> list[list[Any]]:
    """A DataFrame as the add-in hands a range over: a header row, then rows of
    Python values with None for blanks. Datetime columns become ``datetime``
    objects (classic add-in, "datetime") or Excel serial numbers ("serial",
    the Office.js path)."""
    cols = []
    for j in range(frame.shape[1]):
        s = frame.iloc[:, j]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            d = s.to_numpy(dtype="datetime64[ms]")
            if dates == "serial":
                v = (d - _EXCEL_EPOCH.astype("datetime64[ms]")).astype(np.int64) / 86_400_000.0
                col = [None if np.isnat(x) else float(y) for x, y in zip(d, v)]
            else:
                col = [None if pd.isna(x) else x for x in s.dt.to_pydatetime()]
        else:
            col = [None if (x is None or (isinstance(x, float) and np.isnan(x))) else x for x in s.tolist()]
        cols.append(col)
    return [list(map(str, frame.columns))] + [list(r) for r in zip(*cols)]


def time_call(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in seconds."""
    return time_calls(fn, repeat)[0]


def time_calls(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time of this process for ``fn()``, in seconds.

    On a busy machine the wall time includes waiting for a core; the CPU time
    does not.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _line(label: str, fn: Callable[[], Any], repeat: int) -> None:
    try:
        wall, cpu = time_calls(fn, repeat)
        print(f"  {label:<52} {wall:7.3f} s wall  {cpu:7.3f} s cpu", flush=True)
    except Exception as err:  # noqa: BLE001 - a failing variant is reported, not hidden
        print(f"  {label:<52}   FAILED: {type(err).__name__}: {err}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (checks the script runs)")
    p.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    a = p.parse_args(argv)
    n_cust, n_months, n_subs = (2_000, 20, 4_000) if a.quick else (50_000, 20, 100_000)
    repeat = 1 if a.quick else a.repeat
    fn = "BENCH"

    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.2f} at the start")
    print(f"mrr_movements / cohort_retention: {n_cust:,} customers × {n_months} months "
          f"= {n_cust * n_months:,} rows; median of {repeat}")
    forms = {
        "DataFrame, text ids, datetime months": make_mrr_table(n_cust, n_months),
        "DataFrame, int ids, Excel serial months": make_mrr_table(n_cust, n_months, customer_ids="int",
                                                                  months="serial"),
        "DataFrame, text ids, ISO text months": make_mrr_table(n_cust, n_months, months="iso"),
    }
    dt_frame = forms["DataFrame, text ids, datetime months"]
    nested = {
        "nested lists, text ids, Excel serial months": as_nested(dt_frame, "serial"),
        "nested lists, text ids, datetime months": as_nested(dt_frame, "datetime"),
    }
    for label, data in {**forms, **nested}.items():
        print(f" {label}")
        if isinstance(data, pd.DataFrame):
            _line("coercion only (_coerce.table)", lambda data=data: _coerce.table(data, fn, "t",
                                                                                    _MRR_COLUMNS), repeat)
        else:
            _line("coercion only (_coerce.table)", lambda data=data: _coerce.table(data, fn, "t", _MRR_COLUMNS),
                  repeat)
        _line("mrr_movements", lambda data=data: k.mrr_movements(data), repeat)
        _line("cohort_retention (logo)", lambda data=data: k.cohort_retention(data), repeat)
        _line("cohort_retention (revenue)", lambda data=data: k.cohort_retention(data, "revenue"), repeat)

    print(f"\nmrr_schedule: {n_subs:,} subscriptions over 36 months; median of {repeat}")
    for label, subs in {
        "DataFrame, datetime dates": make_subscriptions(n_subs),
        "DataFrame, Excel serial dates": make_subscriptions(n_subs, dates="serial"),
    }.items():
        print(f" {label}")
        _line("coercion only (_coerce.table)",
              lambda subs=subs: _coerce.table(subs, fn, "s", _SUBSCRIPTION_COLUMNS), repeat)
        _line("mrr_schedule", lambda subs=subs: k.mrr_schedule(subs), repeat)
        out = k.mrr_schedule(subs)
        print(f"  ({len(out):,} customer-month rows out)")
        _line("mrr_schedule -> mrr_movements", lambda subs=subs: k.mrr_movements(k.mrr_schedule(subs)), repeat)


if __name__ == "__main__":
    main()
