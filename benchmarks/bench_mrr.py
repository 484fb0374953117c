"""MRR tables against DuckDB SQL and naive pandas on the same DataFrame.

* ``mrr_movements`` and ``cohort_retention`` on a long customer, month, MRR
  table of 50,000 customers × 20 months = 1,000,000 rows (the generator of
  ``benchmarks/bench_tables.py``), for every pair of customer-id type (int64;
  text as an object column, as ``read_csv`` gives it under pandas 2; pandas
  ``string`` with python and with pyarrow storage; categorical, as Parquet
  often gives it) and month type (datetime64; ISO text ``2024-03-17``; Excel
  serial numbers). The DuckDB SQL is what a DuckDB user would write on that
  DataFrame: the same query, the month column converted in a view
  (``CAST(month AS DATE)`` for text, ``DATE '1899-12-30' + CAST(month AS
  INTEGER)`` for serials). Also the same table as the nested list the add-in
  hands over (text ids, dates as Excel serial numbers, the Office.js shape),
  whose baseline builds a DataFrame from the list and runs the same SQL.
* ``mrr_schedule`` on 100,000 subscriptions over 36 months, for every id type.

The DuckDB queries and naive versions are in :mod:`benchmarks.baselines`;
each result is compared with the library's before anything is timed. Peak
memory is measured in fresh processes (:mod:`benchmarks.memory`). The naive
versions run once per id type, on datetime64 months (they take tens of
seconds); everything else is a median of interleaved runs.
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


#: customer-id and month column types of the matrix
ID_TYPES = ("int64", "object", "string[python]", "string[pyarrow]", "category")
MONTH_TYPES = ("datetime64", "ISO text", "serial")


def table_frame(n_customers: int, n_months: int, ids: str, seed: int = 0) -> pd.DataFrame:
    """The long MRR table; ``ids`` "int" or "text" (pandas' default string dtype)."""
    frame = make_mrr_table(n_customers, n_months, seed, customer_ids="int" if ids == "int" else "text")
    if ids == "text":
        frame["customer"] = frame["customer"].astype("str")
    return frame


def typed(frame: pd.DataFrame, ids: str, months: str, text_ids: pd.Series | None = None) -> pd.DataFrame:
    """The int-id, datetime64 table with its customer ids as ``ids`` and its months as ``months``.

    Text ids are ``C000001`` … (``text_ids``, the object column, when already
    made); ISO months are the dates as ``YYYY-MM-DD`` text; serials are whole
    Excel day numbers as floats.
    """
    out = frame.copy()
    if ids != "int64":
        text = text_ids if text_ids is not None else text_id_column(frame)
        out["customer"] = text if ids == "object" else text.astype(ids)
    if months == "ISO text":
        out["month"] = out["month"].dt.strftime("%Y-%m-%d").astype(object)
    elif months == "serial":
        out["month"] = (out["month"] - pd.Timestamp("1899-12-30")).dt.days.astype(float)
    return out


def text_id_column(frame: pd.DataFrame) -> pd.Series:
    """Integer customer ids as text ids in an object column (``C000001``)."""
    return ("C" + frame["customer"].astype(str).str.zfill(6)).astype(object)


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
    base = table_frame(n_customers, n_months, "int")
    text_ids = text_id_column(base)
    works = {
        "mrr_movements": (k.mrr_movements, b.duckdb_movements, b.naive_movements),
        "cohort_retention": (k.cohort_retention, b.duckdb_cohort_retention, b.naive_cohort_retention),
    }
    lib_s: dict[tuple[str, str, str], float] = {}
    for ids in ID_TYPES:
        for months in MONTH_TYPES:
            frame = typed(base, ids, months, text_ids)
            for name, (lib, duck, _) in works.items():
                b.assert_same_table(lib(frame), duck(frame, months=months), f"{name} ({ids}, {months}): DuckDB")
                t = time_interleaved({"library": lambda lib=lib, frame=frame: lib(frame),
                                      "duckdb": lambda duck=duck, frame=frame, m=months: duck(frame, months=m)},
                                     runs)
                lib_s[name, ids, months] = t["library"].median
                r = t["library"].median / t["duckdb"].median
                figures.append(Figure(GROUP, name, f"{size}, {ids} ids, {months} months", t["library"].median,
                                      baseline="DuckDB SQL", baseline_value=t["duckdb"].median,
                                      target=f"≤ {DUCKDB_TARGET:g}× DuckDB", ok=r <= DUCKDB_TARGET, runs=runs))
                log(f"  {name} ({ids} ids, {months} months): library {t['library'].median:.3f} s, "
                    f"DuckDB {t['duckdb'].median:.3f} s ({r:.2f}×)")
        if naive:
            frame = typed(base, ids, "datetime64", text_ids)
            for name, (lib, _, naive_fn) in works.items():
                slow = naive_fn(frame)
                b.assert_same_table(lib(frame), slow, f"{name} ({ids}): naive pandas")
                t = time_interleaved({"naive": lambda naive_fn=naive_fn, frame=frame: naive_fn(frame)}, 1, warmup=0)
                ours = lib_s[name, ids, "datetime64"]
                r = ours / t["naive"].median
                figures.append(Figure(GROUP, name, f"{size}, {ids} ids, datetime64 months", ours,
                                      baseline="naive pandas groupby/apply", baseline_value=t["naive"].median,
                                      target=f"≥ {1 / NAIVE_TARGET:g}× faster (≤ {NAIVE_TARGET:g}×)",
                                      ok=r <= NAIVE_TARGET, runs=runs, note="the naive version timed once"))
                log(f"  {name} ({ids} ids): naive pandas {t['naive'].median:.1f} s")

    text = typed(base, "str", "datetime64", text_ids)  # pandas' default text dtype
    nested = as_nested(text, "serial")
    for name, (lib, duck, _) in works.items():
        b.assert_same_table(lib(nested), duck(_nested_frame(nested)), f"{name}: DuckDB on the list")
        tn = time_interleaved({"library": lambda lib=lib: lib(nested),
                               "duckdb": lambda duck=duck: duck(_nested_frame(nested))},
                              max(1, runs - 2))
        figures.append(Figure(GROUP, name, f"{size}, nested list (Excel shape, text ids, serial dates)",
                              tn["library"].median, baseline="DataFrame(list) + DuckDB SQL",
                              baseline_value=tn["duckdb"].median, runs=len(tn["library"].runs),
                              note="reported separately: mostly reading the list"))
        log(f"  {name} (nested list): library {tn['library'].median:.3f} s, DuckDB {tn['duckdb'].median:.3f} s")
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
    b.assert_same_table(k.cohort_retention(text, "revenue"), b.duckdb_cohort_retention(text, "revenue"),
                        "cohort_retention revenue: DuckDB")
    t = time_interleaved({"library": lambda: k.cohort_retention(text, "revenue"),
                          "duckdb": lambda: b.duckdb_cohort_retention(text, "revenue")}, runs)
    figures.append(Figure(GROUP, "cohort_retention (revenue)", f"{size}, DataFrame, str ids", t["library"].median,
                          baseline="DuckDB SQL", baseline_value=t["duckdb"].median, runs=runs,
                          target=f"≤ {DUCKDB_TARGET:g}× DuckDB", ok=t["library"].median / t["duckdb"].median <= DUCKDB_TARGET))

    # the schedule, for every id type
    subs_text = make_subscriptions(n_subs, sched_months)
    ssize = f"{n_subs:,} subscriptions × {sched_months} months"
    ours = None
    for ids in ID_TYPES:
        subs = subs_text.copy()
        if ids == "int64":
            subs["customer"] = pd.factorize(subs_text["customer"])[0].astype("int64") + 1
        elif ids != "object":
            subs["customer"] = subs_text["customer"].astype(ids)
        ours = k.mrr_schedule(subs)
        b.assert_same_table(ours, b.duckdb_schedule(subs), f"mrr_schedule ({ids}): DuckDB")
        t = time_interleaved({"library": lambda subs=subs: k.mrr_schedule(subs),
                              "duckdb": lambda subs=subs: b.duckdb_schedule(subs)}, runs)
        r = t["library"].median / t["duckdb"].median
        figures.append(Figure(GROUP, "mrr_schedule", f"{ssize} → {len(ours):,} rows, {ids} ids", t["library"].median,
                              baseline="DuckDB SQL", baseline_value=t["duckdb"].median,
                              target=f"≤ {DUCKDB_TARGET:g}× DuckDB", ok=r <= DUCKDB_TARGET, runs=runs))
        log(f"  mrr_schedule ({ids} ids): library {t['library'].median:.3f} s, DuckDB {t['duckdb'].median:.3f} s "
            f"({r:.2f}×)")
        if naive and ids == "object":
            b.assert_same_table(ours, b.naive_schedule(subs), "mrr_schedule: naive")
            ours_s = t["library"].median
            t = time_interleaved({"naive": lambda subs=subs: b.naive_schedule(subs)}, 1, warmup=0)
            figures.append(Figure(GROUP, "mrr_schedule", f"{ssize}, object ids", ours_s,
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
