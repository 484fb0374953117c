"""Custom-function calls over HTTP to the Office.js backend (``kpi serve``) on loopback.

* Latency: one call at a time over a kept-alive connection, as Excel's
  custom-functions runtime sends them — ``KPI_NPS`` over a 10,000-cell column
  and over one cell, each interleaved with the same call to
  ``KPI_BENCH_IDENTITY`` (returns its argument) and ``KPI_BENCH_CONSTANT``
  (reads its argument, returns 0) through the same server
  (:mod:`benchmarks.identity_server`: ``kpi serve``'s app plus those two
  functions). p50 over many calls.
* Large calls (:mod:`benchmarks.large_calls`): a 1,000,000-cell ``KPI_NPS`` and
  a 100,000-row ``KPI_MRR_MOVEMENTS`` through ``kpi serve`` beside their
  in-process floor (``json.loads`` + the library), and ``/health``'s slowest
  answer while one of them runs.
* Throughput: ``kpi serve --workers 1`` and ``--workers 2`` (the real
  command, default settings, request logging on) under 16 concurrent
  keep-alive clients sending small calls (:mod:`benchmarks.loadgen`, run in
  its own process on the same machine); every answer is checked.

The request bodies are what the xlwings custom-functions JavaScript posts
(one 2-D matrix per argument, ``runtime`` 1.4).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import kpi_functions as k

from . import large_calls
from .harness import ROOT, Figure, percentile
from .kpi_serve import run_server, server_env

GROUP = "server"
CALL_PATH = "/xlwings/custom-functions-call"
P50_10K_MS, P50_1_MS, IDENTITY_RATIO, THROUGHPUT = 30.0, 5.0, 1.5, 300.0


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------
def body(func: str, *args: Any) -> dict[str, Any]:
    """An Office.js custom-functions request body."""
    import xlwings

    return {"client": "Office.js", "func_name": func, "args": list(args), "caller_address": "[Book1.xlsx]Sheet1!B2",
            "culture_info_name": "en-US", "date_format": "yyyy-mm-dd", "version": xlwings.__version__,
            "runtime": "1.4"}


def column(values: np.ndarray) -> list[list[Any]]:
    return [[int(v)] for v in values]


class Client:
    """Sequential calls over one kept-alive connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, payload: bytes) -> tuple[float, int, Any]:
        t0 = time.perf_counter()
        self.conn.request("POST", CALL_PATH, body=payload, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        dt = time.perf_counter() - t0
        return dt, resp.status, json.loads(data)

    def close(self) -> None:
        self.conn.close()


def latency(port: int, payloads: dict[str, tuple[bytes, Any]], calls: int, warmup: int = 20) -> dict[str, list[float]]:
    """Per-call wall times of each payload, calls interleaved; every answer checked."""
    client = Client(port)
    times: dict[str, list[float]] = {name: [] for name in payloads}
    try:
        for i in range(warmup + calls):
            for name, (payload, expected) in payloads.items():
                dt, status, data = client.call(payload)
                if status != 200 or "error" in data or data.get("result") != expected:
                    raise AssertionError(f"{name}: HTTP {status}, answer {str(data)[:200]}")
                if i >= warmup:
                    times[name].append(dt)
    finally:
        client.close()
    return times


def throughput(url: str, payloads: list[dict], clients: int, seconds: float, workdir: Path) -> dict[str, Any]:
    path = workdir / "payloads.json"
    path.write_text(json.dumps(payloads), encoding="utf-8")
    cmd = [sys.executable, "-m", "benchmarks.loadgen", url + CALL_PATH, str(path), "--clients", str(clients),
           "--seconds", str(seconds)]
    run = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, env=server_env())
    if run.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def small_calls() -> list[dict]:
    """Small calls a sheet makes all the time, with their expected results."""
    scores = [10, 9, 9, 10, 9, 9, 8, 7, 3, 5]
    pairs = [[100, 0], [200, 150], [50, 80], [120, 120], [90, 100]]
    return [
        {"body": body("KPI_NPS", column(np.array(scores))), "result": [[k.nps(scores)]]},
        {"body": body("KPI_ARPU", [[162500]], [[6500]]), "result": [[k.arpu(162500, 6500)]]},
        {"body": body("KPI_CHURN_REVENUE", pairs, None, None), "result": [[k.churn_revenue(pairs)]]},
    ]


# --------------------------------------------------------------------------
# The group
# --------------------------------------------------------------------------
def run(cells: int = 10_000, calls: int = 150, clients: int = 16, seconds: float = 8.0,
        workers: tuple[int, ...] = (1, 2), large_cells: int = 1_000_000, large_rows: int = 100_000,
        large_calls_n: int = 5, log: Callable[[str], None] = print) -> list[Figure]:
    figures: list[Figure] = []
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 11, cells)
    big, one = column(scores), [[9]]
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as tmp:
        tmpdir = Path(tmp)
        identity = [sys.executable, "-m", "benchmarks.identity_server"]
        with run_server(tmpdir, command=identity, cwd=ROOT) as srv:
            port = srv.port
            for label, arg, n_calls, limit in ((f"{cells:,}-cell argument", big, calls, P50_10K_MS),
                                               ("1-cell argument", one, calls * 3, P50_1_MS)):
                payloads = {
                    "KPI_NPS": (json.dumps(body("KPI_NPS", arg)).encode(), [[k.nps(arg)]]),
                    "identity": (json.dumps(body("KPI_BENCH_IDENTITY", arg)).encode(), arg),
                    "constant": (json.dumps(body("KPI_BENCH_CONSTANT", arg)).encode(), [[0.0]]),
                }
                t = latency(port, payloads, n_calls)
                p50 = {name: percentile(ts, 0.5) for name, ts in t.items()}
                p90 = percentile(t["KPI_NPS"], 0.9)
                r = p50["KPI_NPS"] / p50["identity"]
                figures.append(Figure(
                    GROUP, "KPI_NPS over HTTP, p50 latency", label, p50["KPI_NPS"],
                    baseline="identity function, same server", baseline_value=p50["identity"],
                    target=f"p50 ≤ {limit:g} ms; ≤ {IDENTITY_RATIO:g}× identity",
                    ok=p50["KPI_NPS"] * 1e3 <= limit and r <= IDENTITY_RATIO, runs=n_calls,
                    note=f"p90 {p90 * 1e3:.1f} ms; body {len(payloads['KPI_NPS'][0]):,} bytes"))
                figures.append(Figure(
                    GROUP, "KPI_NPS over HTTP, p50 latency", label, p50["KPI_NPS"],
                    baseline="constant function (reads the argument, returns 0), same server",
                    baseline_value=p50["constant"], runs=n_calls,
                    note="context: the KPI's own share of the call"))
                log(f"  {label}: KPI_NPS p50 {p50['KPI_NPS'] * 1e3:.2f} ms, identity {p50['identity'] * 1e3:.2f} ms,"
                    f" constant {p50['constant'] * 1e3:.2f} ms")
        with run_server(tmpdir, cwd=ROOT) as srv:
            figures += large_calls.run(srv.log_text, srv.port, large_cells, large_rows, large_calls_n, log=log)
        rates: dict[int, float] = {}
        for n_workers in workers:
            with run_server(tmpdir, "--workers", str(n_workers), cwd=ROOT) as srv:
                base = srv.base
                throughput(base, small_calls(), clients, min(2.0, seconds), tmpdir)  # warm every worker up
                res = throughput(base, small_calls(), clients, seconds, tmpdir)
            rates[n_workers] = res["calls_per_s"]
            ok = res["calls_per_s"] >= THROUGHPUT and res["errors"] == 0 and res["calls"] > 0
            figures.append(Figure(
                GROUP, f"throughput, kpi serve --workers {n_workers}",
                f"small calls, {clients} concurrent clients, {seconds:g} s", res["calls_per_s"], unit="calls/s",
                target=f"≥ {THROUGHPUT:g} calls/s, zero errors", ok=ok, runs=res["calls"],
                note=f"{res['calls']:,} calls, {res['errors']} errors; latency p50 {res['p50'] * 1e3:.1f} ms, "
                     f"p99 {res['p99'] * 1e3:.1f} ms"))
            log(f"  kpi serve --workers {n_workers}: {res['calls_per_s']:.0f} calls/s, {res['errors']} errors "
                f"(p50 {res['p50'] * 1e3:.1f} ms)")
        if 1 in rates and 2 in rates:
            figures.append(Figure(GROUP, "throughput scaling", "--workers 2 vs --workers 1", rates[2], unit="calls/s",
                                  baseline="--workers 1", baseline_value=rates[1],
                                  note="context: the load generator shares the 2 cores with the workers"))
    return figures
