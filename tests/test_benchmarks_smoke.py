"""The benchmark suite runs, at tiny sizes, and its baselines compute what the library computes.

No timing is asserted here (CI machines vary): the suite's figures are only
meaningful from a full ``python -m benchmarks`` run. What is asserted: every
group produces its figures, every baseline returns the library's result on
awkward inputs (a month without rows, duplicate rows, text ids), the load
generator counts bad answers as errors, and the command writes its report.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import math
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` lives at the project root, outside the installed packages
    sys.path.insert(0, str(ROOT))

import kpi_functions as k
from benchmarks import baselines as b
from benchmarks import bench_models, bench_mrr, bench_scalars, cli, harness
from benchmarks.bench_tables import make_mrr_table, make_subscriptions

QUIET = {"log": lambda s: None}


def _awkward_table(seed: int) -> pd.DataFrame:
    df = make_mrr_table(120, 9, seed=seed)
    month = df["month"].dt.to_period("M")
    df = df[month != month.unique()[4]]  # a month in which nobody has a row: everyone churns
    df = pd.concat([df, df.sample(40, random_state=seed)])  # duplicate rows are summed
    df["customer"] = df["customer"].astype("str")
    return df.reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_duckdb_and_naive_baselines_compute_the_library_tables(seed):
    df = _awkward_table(seed)
    ours = k.mrr_movements(df)
    assert (ours["ending MRR"] == 0).sum() == 1  # the empty month is in the table
    b.assert_same_table(ours, b.duckdb_movements(df), "movements, DuckDB")
    b.assert_same_table(ours, b.naive_movements(df), "movements, naive")
    for basis in ("logo", "revenue"):
        ours = k.cohort_retention(df, basis)
        b.assert_same_table(ours, b.duckdb_cohort_retention(df, basis), f"cohort {basis}, DuckDB")
        b.assert_same_table(ours, b.naive_cohort_retention(df, basis), f"cohort {basis}, naive")
    subs = make_subscriptions(200, 14, seed=seed)
    ours = k.mrr_schedule(subs)
    b.assert_same_table(ours, b.duckdb_schedule(subs), "schedule, DuckDB")
    b.assert_same_table(ours, b.naive_schedule(subs), "schedule, naive")


def test_assert_same_table_notices_a_different_value():
    df = _awkward_table(2)
    ours = k.mrr_movements(df)
    theirs = ours.copy()
    theirs.loc[3, "expansion"] += 1.0
    with pytest.raises(AssertionError, match="expansion"):
        b.assert_same_table(ours, theirs, "tampered")


def test_scalar_floors_and_pandas_versions_agree_with_the_library():
    scores = bench_scalars.make_scores(5_000, 0, 10)
    ratings = bench_scalars.make_scores(5_000, 1, 5, seed=1)
    start, end = bench_scalars.make_start_end(5_000, seed=2)
    for lib, floor, pdv, args in ((k.nps, bench_scalars.floor_nps, bench_scalars.pandas_nps, (scores,)),
                                  (k.csat, bench_scalars.floor_csat, bench_scalars.pandas_csat, (ratings,)),
                                  (k.churn_revenue, bench_scalars.floor_churn_revenue,
                                   bench_scalars.pandas_churn_revenue, (start, end)),
                                  (k.nrr, bench_scalars.floor_nrr, bench_scalars.pandas_nrr, (start, end))):
        assert math.isclose(lib(*args), floor(*args), rel_tol=1e-12)
        assert math.isclose(lib(*args), pdv(*args), rel_tol=1e-12)


def _check(figures, group, works):
    assert figures and all(f.group == group for f in figures)
    assert {f.work for f in figures} >= set(works)
    for f in figures:
        assert f.value == f.value and f.value > 0, f  # measured, not NaN
        if f.baseline:
            assert f.baseline_value and f.ratio == pytest.approx(f.value / f.baseline_value)
        if f.target:
            assert f.ok in (True, False)


def test_scalars_group_runs():
    figures = bench_scalars.run(n=500, runs=2, budget=0.0, **QUIET)
    _check(figures, "scalars", ["nps", "csat", "churn_revenue", "nrr"])
    assert sum(1 for f in figures if f.target) == 8  # ndarray and Series for each KPI


def test_tables_group_runs():
    figures = bench_mrr.run(n_customers=60, n_months=6, n_subs=80, sched_months=8, runs=1, **QUIET)
    _check(figures, "tables", ["mrr_movements", "cohort_retention", "mrr_schedule"])
    for work in ("mrr_movements", "cohort_retention"):  # the matrix of id and month types, each against DuckDB
        cases = {f.case.split(", ", 1)[1] for f in figures if f.work == work and f.baseline == "DuckDB SQL"
                 and f.unit == "s"}
        assert cases == {f"{i} ids, {m} months" for i in bench_mrr.ID_TYPES for m in bench_mrr.MONTH_TYPES}
        naive = {f.case for f in figures if f.work == work and f.baseline.startswith("naive")}
        assert len(naive) == len(bench_mrr.ID_TYPES)
    schedule = {f.case.rsplit(", ", 1)[1] for f in figures if f.work == "mrr_schedule" and f.baseline == "DuckDB SQL"
                and f.unit == "s"}
    assert schedule == {f"{i} ids" for i in bench_mrr.ID_TYPES}
    memory = [f for f in figures if f.unit == "MB"]
    assert len(memory) == 3 and all(f.value > 10 for f in memory)  # a Python process with pandas


def test_models_group_runs_and_the_synthetic_fit_is_near_its_parameters():
    _check(bench_models.run(n_synthetic=500, runs=1, **QUIET), "models", ["bgnbd_fit + clv_bgnbd"])
    d = bench_models.make_rfm(20_000, seed=3)
    assert ((d["t_x"] <= d["T"]) & (d["t_x"] >= 0)).all() and ((d["x"] == 0) == (d["zbar"] == 0)).all()
    est = dict(zip(*k.bgnbd_fit(d["x"], d["t_x"], d["T"]).to_numpy().T))
    assert est["r"] == pytest.approx(0.243, rel=0.15) and est["a"] == pytest.approx(0.793, rel=0.25)


@pytest.mark.skipif(importlib.util.find_spec("xlwings_server") is None, reason="needs the server extra")
def test_server_group_runs():
    figures = bench_server_run()
    _check(figures, "server", ["KPI_NPS over HTTP, p50 latency", "throughput, kpi serve --workers 1",
                               "throughput, kpi serve --workers 2", "large call over HTTP, median",
                               "/health while a large call runs, slowest answer"])
    for f in figures:
        if f.work.startswith("throughput, "):
            assert "0 errors" in f.note  # every answer checked and right


def bench_server_run():
    from benchmarks import bench_server

    return bench_server.run(cells=200, calls=3, seconds=0.5, clients=3, large_cells=5_000, large_rows=500,
                            large_calls_n=1, **QUIET)


class _Flaky(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).count += 1
        status, answer = (200, {"result": [[1]]}) if self.count % 3 else (200, {"result": [[2]]})
        if self.count % 5 == 0:
            status, answer = 500, {"detail": "boom"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_load_generator_counts_wrong_answers_and_failures_as_errors():
    import asyncio

    from benchmarks import loadgen

    _Flaky.protocol_version = "HTTP/1.1"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/call"
        res = asyncio.run(loadgen.run(url, [{"body": {"x": 1}, "result": [[1]]}], clients=2, seconds=0.5))
    finally:
        server.shutdown()
    assert res["calls"] > 10
    assert 0 < res["errors"] < res["calls"]  # a wrong result and an HTTP 500 are errors, right answers are not


def test_harness_helpers():
    f = harness.Figure("g", "w", "c", 0.002, baseline="b", baseline_value=0.004, target="t", ok=True)
    assert f.ratio == 0.5 and f.status == "met"
    assert harness.fmt_value(0.0012, "s") == "1.2 ms" and harness.fmt_value(2.5, "s") == "2.5 s"
    assert harness.fmt_value(350.4, "calls/s") == "350 calls/s" and harness.fmt_ratio(0.05) == "0.050×"
    assert harness.percentile([1, 2, 3, 4], 0.5) == 2.5 == np.percentile([1, 2, 3, 4], 50)
    calls = []
    t = harness.time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3 and len(t["a"].runs) == 3
    info = harness.machine()
    assert info["cores"] >= 1 and "numpy" in info["versions"]


def test_command_writes_the_report(tmp_path, capsys):
    out, js = tmp_path / "bench.md", tmp_path / "bench.json"
    code = cli.main(["--quick", "--only", "scalars", "models", "--output", str(out), "--json", str(js)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "## Machine" in text and "## Summary: the targets" in text and "| nps |" in text
    assert "Quick run" in text
    data = json.loads(js.read_text(encoding="utf-8"))
    assert {f["group"] for f in data["figures"]} == {"scalars", "models"}
    assert "targets met" in capsys.readouterr().out


def test_command_lists_its_groups(capsys):
    assert cli.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for g in cli.GROUP_NAMES:
        assert g in listed


def test_reports_and_build_groups_run():
    from benchmarks import bench_build, bench_reports

    _check(bench_reports.run(runs=1, **QUIET), "reports", ["kpi demo (five reports)"])
    figures = bench_build.run(segments=2, subscriptions=2_000, full_segments=2, bare_sample=1, **QUIET)
    _check(figures, "build", ["kpi build --by region --jobs 2", "kpi build --by region --jobs 1",
                              "scaling --jobs 1 → --jobs 2", "kpi build --by region --executor dask"])


def test_large_build_group_runs_and_measures_the_build_process():
    from benchmarks import bench_large_build

    figures = bench_large_build.run(subscriptions=2_000, **QUIET)
    _check(figures, "build-large", ["kpi build saas_dashboard (wall)", "kpi build saas_dashboard (user CPU)",
                                    "kpi build saas_dashboard (peak memory)"])
    peak = next(f for f in figures if f.unit == "MB")
    assert 50 < peak.value < 4096  # a Python process with pandas loaded, not the benchmark's own memory
    assert all(f.ok is None for f in figures)  # the targets are for a million subscriptions


def test_build_data_is_the_requested_size_and_loads_cleanly(tmp_path):
    from benchmarks.build_data import write
    from workbook_templates.data import load_all

    write(tmp_path, 5_000, 7)
    tables, errors = load_all(tmp_path)
    assert set(tables) >= {"subscriptions", "customers", "marketing", "costs"}  # what the SaaS dashboard reads
    assert not any(name in errors for name in ("subscriptions", "customers", "marketing", "costs")), errors
    assert len(tables["subscriptions"].df) == 5_000
    assert tables["customers"].df["region"].nunique() == 7


def test_build_data_with_every_data_set_loads_cleanly_and_its_ids_are_the_customers(tmp_path):
    from benchmarks.build_data import write
    from workbook_templates.data import load_all
    from workbook_templates.sample_data import generate

    write(tmp_path, 2_000, 1, every=True)  # 722 sample subscriptions: 3 replicas, the third cut short
    tables, errors = load_all(tmp_path)
    assert not errors, errors
    base = generate(2026)
    assert set(tables) == set(base)
    customers = set(tables["customers"].df["customer_id"])
    for name in ("orders", "nps_responses", "csat_responses", "tickets", "activity"):
        df = tables[name].df
        assert set(df["customer_id"]) <= customers, name
        assert len(base[name]) * 2 < len(df) <= len(base[name]) * 3, name  # two full replicas and part of one
    assert tables["tickets"].df["ticket_id"].is_unique and tables["orders"].df["order_id"].is_unique
    assert tables["leads"].df["lead_id"].is_unique


def test_distributed_benchmark_data_and_report(tmp_path):
    """The data of ``benchmarks.bench_distributed``: the sample company replicated with new customer ids."""
    from benchmarks import bench_distributed as bd
    from workbook_templates.sample_data import generate

    paths = bd.make_data(tmp_path, 1_500)
    parts = [pd.read_parquet(p) for p in paths]
    assert [len(p) for p in parts] == [750, 750]
    subs = pd.concat(parts, ignore_index=True)
    base = generate(2026)["subscriptions"]
    assert subs["customer_id"].iloc[0] == base["customer_id"].iloc[0] + "-00000"
    assert subs["customer_id"].iloc[len(base)] == base["customer_id"].iloc[0] + "-00001"
    assert not set(subs["customer_id"].iloc[:len(base)]) & set(subs["customer_id"].iloc[len(base):])  # own ids
    rows = [{"subscriptions": 1e4, "seconds": 2.0, "peak_mb": 200.0, "mrr_rows": 8e4, "partitions": 2, "months": 30},
            {"subscriptions": 1e5, "seconds": 20.0, "peak_mb": 300.0, "mrr_rows": 8e5, "partitions": 2, "months": 30}]
    md = bd.markdown(rows, 2, "4GiB", (1.0, 2.0), "plot.svg", "python -m benchmarks.bench_distributed x")
    assert "| 100,000 | 800,000 | 2 | 30 | 20.0 s | 300 MB | 200.0 s |" in md
    assert "between the two largest sizes: 1.00 (1 = linear cost)" in md
    assert bd.svg_plot(rows).startswith("<svg ")
