"""MRR tables against DuckDB SQL and naive pandas on the same DataFrame.

* ``mrr_movements`` and ``cohort_retention`` on a long customer, month, MRR
  table of 50,000 customers × 20 months = 1,000,000 rows (the generator of
  ``benchmarks/bench_tables.py``), customer ids as integers and as text
  (pandas' default string dtype, as ``read_csv``/``read_parquet`` give it);
  and on the same table as the nested list the add-in hands over (text ids,
  dates as Excel serial numbers, the Office.js shape), whose baseline builds
  a DataFrame from the list and runs the same SQL.
* ``mrr_schedule`` on 100,000 subscriptions over 36 months.

The DuckDB queries and naive versions are in :mod:`benchmarks.baselines`;
each result is compared with the library's before anything is timed. Peak
memory is measured in fresh processes (:mod:`benchmarks.memory`). The naive
versions run once (they take tens of seconds); everything else is a median.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import kpi_functions as k

from . import baselines as b
from .bench_tables import as_nested, make_mrr_table, make_subscriptions
from .harness import Figure, peak_memory, time_interleaved

GROUP = "tables"
DUCKDB_TARGET = 0.5
NAIVE_TARGET = 0.1  # ≥ 10× faster
MEMORY_TARGET_MB = 1024


def table_frame(n_customers: int, n_months: int, ids: str, seed: int = 0) -> pd.DataFrame:
    """The long MRR table; ``ids`` "int" or "text" (pandas' default string dtype)."""
    frame = make_mrr_table(n_customers, n_months, seed, customer_ids="int" if ids == "int" else "text")
    if ids == "text":
        frame["customer"] = frame["customer"].astype("str")
    return frame


def _nested_frame(rows: list[list]) -> pd.DataFrame:
    """What a DuckDB user does with the add-in's list: a DataFrame, dates from serials."""
    df = pd.DataFrame(rows[1:], columns=["customer", "month", "mrr"])
    df["month"] = pd.to_datetime(df["month"], unit="D", origin="1899-12-30")
    return df


def run(n_customers: int = 50_000, n_months: int = 20, n_subs: int = 100_000, sched_months: int = 36,
        runs: int = 5, naive: bool = True, memory: bool = True,
        log: Callable[[str], None] = print) -> list[Figure]:
    figures: list[Figure] = []
    rows = n_customers * n_months
    size = f"{rows:,} rows ({n_customers:,} customers × {n_months} months)"
    frames = {"int": table_frame(n_customers, n_months, "int"), "text": table_frame(n_customers, n_months, "text")}
    nested = as_nested(frames["text"], "serial")
    works = {
        "mrr_movements": (k.mrr_movements, b.duckdb_movements, b.naive_movements),
        "cohort_retention": (k.cohort_retention, b.duckdb_cohort_retention, b.naive_cohort_retention),
    }
    for name, (lib, duck, naive_fn) in works.items():
        library_s = {}
        for ids, frame in frames.items():
            b.assert_same_table(lib(frame), duck(frame), f"{name}: DuckDB")
            t = time_interleaved({"library": lambda lib=lib, frame=frame: lib(frame),
                                  "duckdb": lambda duck=duck, frame=frame: duck(frame)}, runs)
            library_s[ids] = t["library"].median
            r = t["library"].median / t["duckdb"].median
            figures.append(Figure(GROUP, name, f"{size}, DataFrame, {ids} ids", t["library"].median,
                                  baseline="DuckDB SQL", baseline_value=t["duckdb"].median,
                                  target=f"≤ {DUCKDB_TARGET:g}× DuckDB", ok=r <= DUCKDB_TARGET, runs=runs))
            log(f"  {name} ({ids} ids): library {t['library'].median:.3f} s, DuckDB {t['duckdb'].median:.3f} s")
        b.assert_same_table(lib(nested), duck(_nested_frame(nested)), f"{name}: DuckDB on the list")
        tn = time_interleaved({"library": lambda lib=lib: lib(nested),
                               "duckdb": lambda duck=duck: duck(_nested_frame(nested))},
                              max(1, runs - 2))
        figures.append(Figure(GROUP, name, f"{size}, nested list (Excel shape, text ids, serial dates)",
                              tn["library"].median, baseline="DataFrame(list) + DuckDB SQL",
                              baseline_value=tn["duckdb"].median, runs=len(tn["library"].runs),
                              note="reported separately: mostly reading the list"))
        log(f"  {name} (nested list): library {tn['library'].median:.3f} s, DuckDB {tn['duckdb'].median:.3f} s")
        if naive:
            frame = frames["int"]
            slow = naive_fn(frame)
            b.assert_same_table(lib(frame), slow, f"{name}: naive pandas")
            t = time_interleaved({"naive": lambda naive_fn=naive_fn, frame=frame: naive_fn(frame)}, 1, warmup=0)
            r = library_s["int"] / t["naive"].median
            figures.append(Figure(GROUP, name, f"{size}, DataFrame, int ids", library_s["int"],
                                  baseline="naive pandas groupby/apply", baseline_value=t["naive"].median,
                                  target=f"≥ {1 / NAIVE_TARGET:g}× faster (≤ {NAIVE_TARGET:g}×)",
                                  ok=r <= NAIVE_TARGET, runs=runs, note="the naive version timed once"))
            log(f"  {name}: naive pandas {t['naive'].median:.1f} s")
        if memory:
            work = "movements" if name == "mrr_movements" else "cohort"
            ours = peak_memory(work, "library", str(n_customers), str(n_months))
            theirs = peak_memory(work, "duckdb", str(n_customers), str(n_months))
            figures.append(Figure(GROUP, name, f"{size}, DataFrame, text ids: peak memory of the whole process",
                                  ours["process_mb"], unit="MB", baseline="DuckDB SQL",
                                  baseline_value=theirs["process_mb"], target=f"≤ {MEMORY_TARGET_MB:,} MB",
                                  ok=ours["process_mb"] <= MEMORY_TARGET_MB, runs=1,
                                  note=f"the call itself: {ours['call_mb']:.0f} MB (DuckDB {theirs['call_mb']:.0f} MB);"
                                       f" before the call: {ours['input_mb']:.0f} MB"))
            log(f"  {name}: peak memory {ours['process_mb']:.0f} MB (call {ours['call_mb']:.0f} MB), "
                f"DuckDB {theirs['process_mb']:.0f} MB (call {theirs['call_mb']:.0f} MB)")

    # cohort retention on revenue: same query shape, context only
    frame = frames["text"]
    b.assert_same_table(k.cohort_retention(frame, "revenue"), b.duckdb_cohort_retention(frame, "revenue"),
                        "cohort_retention revenue: DuckDB")
    t = time_interleaved({"library": lambda: k.cohort_retention(frame, "revenue"),
                          "duckdb": lambda: b.duckdb_cohort_retention(frame, "revenue")}, runs)
    figures.append(Figure(GROUP, "cohort_retention (revenue)", f"{size}, DataFrame, text ids", t["library"].median,
                          baseline="DuckDB SQL", baseline_value=t["duckdb"].median, runs=runs,
                          target=f"≤ {DUCKDB_TARGET:g}× DuckDB", ok=t["library"].median / t["duckdb"].median <= DUCKDB_TARGET))

    # the schedule
    subs = make_subscriptions(n_subs, sched_months)
    ssize = f"{n_subs:,} subscriptions × {sched_months} months"
    ours = k.mrr_schedule(subs)
    b.assert_same_table(ours, b.duckdb_schedule(subs), "mrr_schedule: DuckDB")
    ssize += f" → {len(ours):,} rows"
    t = time_interleaved({"library": lambda: k.mrr_schedule(subs), "duckdb": lambda: b.duckdb_schedule(subs)}, runs)
    sched_s = t["library"].median
    r = t["library"].median / t["duckdb"].median
    figures.append(Figure(GROUP, "mrr_schedule", f"{ssize}, DataFrame", t["library"].median, baseline="DuckDB SQL",
                          baseline_value=t["duckdb"].median, target="faster than DuckDB (< 1×)", ok=r < 1, runs=runs))
    log(f"  mrr_schedule: library {t['library'].median:.3f} s, DuckDB {t['duckdb'].median:.3f} s")
    if naive:
        b.assert_same_table(ours, b.naive_schedule(subs), "mrr_schedule: naive")
        t = time_interleaved({"naive": lambda: b.naive_schedule(subs)}, 1, warmup=0)
        figures.append(Figure(GROUP, "mrr_schedule", f"{ssize}, DataFrame", sched_s,
                              baseline="naive per-row expansion", baseline_value=t["naive"].median, runs=runs,
                              note="context; the naive version timed once"))
        log(f"  mrr_schedule: naive {t['naive'].median:.1f} s")
    if memory:
        m = peak_memory("schedule", "library", str(n_subs), str(sched_months))
        d = peak_memory("schedule", "duckdb", str(n_subs), str(sched_months))
        figures.append(Figure(GROUP, "mrr_schedule", f"{ssize}: peak memory of the whole process", m["process_mb"],
                              unit="MB", baseline="DuckDB SQL", baseline_value=d["process_mb"], runs=1,
                              note=f"the call itself: {m['call_mb']:.0f} MB (DuckDB {d['call_mb']:.0f} MB)"))
    return figures
