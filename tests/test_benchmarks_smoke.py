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
                               "throughput, kpi serve --workers 2"])
    for f in figures:
        if f.work.startswith("throughput, "):
            assert "0 errors" in f.note  # every answer checked and right


def bench_server_run():
    from benchmarks import bench_server

    return bench_server.run(cells=200, calls=3, seconds=0.5, clients=3, **QUIET)


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


# --------------------------------------------------------------------------
# The fast paths the benchmarks led to (kpi_functions._coerce: numeric arrays
# and Series) answer exactly as the general path does, errors included.
# --------------------------------------------------------------------------
def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ValueError as err:  # the typed KPI errors are ValueErrors
        return (type(err).__name__, str(err))


def _as_list(a):
    return [None if (isinstance(v, float) and math.isnan(v)) else v for v in np.asarray(a).tolist()]


SCORE_CASES = {
    "valid": [0.0, 10.0, 9.0, 6.0, 7.0, 3.0],
    "blank": [9.0, float("nan"), 3.0],
    "infinite": [9.0, float("inf")],
    "negative": [9.0, -1.0],
    "above the scale": [9.0, 11.0],
    "fractional": [9.0, 7.5],
    "beyond uint8": [9.0, 256.0],
    "negative zero": [9.0, -0.0],
}


@pytest.mark.parametrize("case", list(SCORE_CASES))
@pytest.mark.parametrize("fn", [k.nps, k.csat, k.nps_breakdown, k.nps_moe])
def test_fast_path_for_scores_matches_the_general_path(fn, case):
    values = SCORE_CASES[case]
    if fn is k.csat:
        values = [min(max(v, 1.0), 5.0) if case == "valid" else v for v in values]
    flat, column = _as_list(values), [[v] for v in _as_list(values)]
    for fast, same_as in ((np.array(values), flat), (pd.Series(values), flat),
                          (np.array(values).reshape(-1, 1), column)):
        general, got = _outcome(fn, same_as), _outcome(fn, fast)
        if general[0] == "ok" and isinstance(general[1], pd.DataFrame):
            assert got[0] == "ok"
            pd.testing.assert_frame_equal(got[1], general[1])
        else:
            assert got == general, (case, type(fast))


PAIR_CASES = {
    "valid": ([100.0, 50.0, 0.0, 80.0, 20.0], [0.0, 60.0, 40.0, 80.0, 10.0]),
    "blank start": ([100.0, float("nan"), 30.0], [90.0, 20.0, 0.0]),
    "negative end": ([100.0, 50.0], [90.0, -5.0]),
    "infinite": ([100.0, float("inf")], [90.0, 20.0]),
    "misaligned": ([100.0, 50.0, 10.0], [90.0, 20.0]),
    "nobody paying": ([0.0, 0.0], [10.0, 0.0]),
}
PAIR_KPIS = [k.churn_revenue, k.nrr, k.grr, k.expansion_rate, k.churn_customers, k.upsell_rate, k.quick_ratio,
             k.new_customers, k.net_upsell]


@pytest.mark.parametrize("case", list(PAIR_CASES))
@pytest.mark.parametrize("fn", PAIR_KPIS, ids=lambda f: f.__name__)
def test_fast_path_for_start_end_pairs_matches_the_general_path(fn, case):
    s, e = PAIR_CASES[case]
    general = _outcome(fn, _as_list(s), _as_list(e))
    assert _outcome(fn, np.array(s), np.array(e)) == general
    assert _outcome(fn, pd.Series(s), pd.Series(e)) == general
    if len(s) == len(e):  # one two-column range
        assert _outcome(fn, np.column_stack([s, e])) == _outcome(fn, [list(r) for r in zip(_as_list(s), _as_list(e))])


def test_fast_path_on_a_million_values_agrees_with_lists_and_leaves_inputs_alone():
    start, end = bench_scalars.make_start_end(200_000, seed=5)
    scores = bench_scalars.make_scores(200_000, 0, 10, seed=6)
    before = (start.copy(), end.copy(), scores.copy())
    for fn in PAIR_KPIS:
        assert fn(start, end) == pytest.approx(fn(start.tolist(), end.tolist()), rel=1e-12)
    assert k.churn_revenue(start, end, True) == pytest.approx(k.churn_revenue(start.tolist(), end.tolist(), True))
    assert k.nps(scores) == k.nps(scores.tolist())
    assert k.csat(np.clip(scores, 1, 5), 4.5) == k.csat(np.clip(scores, 1, 5).tolist(), 4.5)
    np.testing.assert_array_equal(start, before[0])
    np.testing.assert_array_equal(end, before[1])
    np.testing.assert_array_equal(scores, before[2])
    assert start.flags.writeable  # the caller's array is untouched, flags included


def _tables_outcome(fn, df):
    try:
        out = fn(df)
    except ValueError as err:
        return (type(err).__name__, str(err))
    return ("ok", out)


def _frame_cases() -> dict[str, pd.DataFrame]:
    base = make_mrr_table(40, 5, seed=7, customer_ids="text")
    base["customer"] = base["customer"].astype("str")
    cases = {"valid": base}
    blank_mrr = base.copy()
    blank_mrr.loc[3, "MRR"] = np.nan
    cases["blank MRR is 0"] = blank_mrr
    neg = base.copy()
    neg.loc[5, "MRR"] = -1.0
    cases["negative MRR"] = neg
    inf = base.copy()
    inf.loc[6, "MRR"] = np.inf
    cases["infinite MRR"] = inf
    blank_id = base.copy()
    blank_id.loc[7, "customer"] = None
    cases["blank customer"] = blank_id
    empty_id = base.copy()
    empty_id.loc[8, "customer"] = ""
    cases["empty-text customer"] = empty_id
    err = base.copy()
    err.loc[9, "customer"] = "#N/A"
    cases["error value as customer"] = err
    nat = base.copy()
    nat.loc[10, "month"] = pd.NaT
    cases["blank month"] = nat
    ints = make_mrr_table(40, 5, seed=8, customer_ids="int")
    cases["integer ids"] = ints
    return cases


@pytest.mark.parametrize("case", list(_frame_cases()))
@pytest.mark.parametrize("fn", [k.mrr_movements, k.cohort_retention], ids=lambda f: f.__name__)
def test_fast_table_path_matches_the_general_path(fn, case):
    fast = _frame_cases()[case]
    general = fast.copy()
    general["customer"] = general["customer"].astype(object)  # object columns take the general path
    want, got = _tables_outcome(fn, general), _tables_outcome(fn, fast)
    assert got[0] == want[0]
    if want[0] == "ok":
        pd.testing.assert_frame_equal(got[1], want[1])
    else:
        assert got[1] == want[1]


def test_fast_table_path_for_subscriptions_matches_the_general_path():
    subs = make_subscriptions(300, 14, seed=9)
    fast = subs.copy()
    fast["customer"] = fast["customer"].astype("str")
    general = subs.copy()
    general["customer"] = general["customer"].astype(object)
    pd.testing.assert_frame_equal(k.mrr_schedule(fast), k.mrr_schedule(general))


def test_reports_and_build_groups_run():
    from benchmarks import bench_build, bench_reports

    _check(bench_reports.run(runs=1, **QUIET), "reports", ["kpi demo (five reports)"])
    figures = bench_build.run(segments=2, subscriptions=2_000, full_segments=2, bare_sample=1, **QUIET)
    _check(figures, "build", ["kpi build --by region --jobs 2", "kpi build --by region --jobs 1",
                              "scaling --jobs 1 → --jobs 2", "kpi build --by region --executor dask"])


def test_build_data_is_the_requested_size_and_loads_cleanly(tmp_path):
    from benchmarks.build_data import write
    from workbook_templates.data import load_all

    write(tmp_path, 5_000, 7)
    tables, errors = load_all(tmp_path)
    assert set(tables) >= {"subscriptions", "customers", "marketing", "costs"}  # what the SaaS dashboard reads
    assert not any(name in errors for name in ("subscriptions", "customers", "marketing", "costs")), errors
    assert len(tables["subscriptions"].df) == 5_000
    assert tables["customers"].df["region"].nunique() == 7
