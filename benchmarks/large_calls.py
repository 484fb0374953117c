"""Large custom-function calls over HTTP, beside their in-process floor (part of the ``server`` group).

* ``KPI_NPS`` over a 1,000,000-cell column of scores and ``KPI_MRR_MOVEMENTS``
  over a 100,000-row table (customer text ids, ISO months, MRR with blanks),
  posted to ``kpi serve`` (the real command, default settings) over loopback as
  the xlwings custom-functions JavaScript posts them; median of several calls,
  every answer checked against the library.
* The floor, in this process, same run: ``json.loads`` of the same body plus
  the library on the parsed cells (what no server can avoid with the standard
  parser), with ``orjson.loads`` beside it when installed.
* ``GET /health`` asked in a loop on its own connection while one large call is
  in flight: its slowest answer (the target: ≤ 50 ms), beside ``/health`` on an
  idle server.

Calls of 1 MiB or more are answered in the server's process for large calls
(:mod:`addin.server.offload`; the run waits until it is up). The server log's
line for each call splits the time into parsing (JSON and validation), the KPI,
xlwings' conversions and encoding; the last call's split is in the figure's note.
"""

from __future__ import annotations

import gc
import http.client
import json
import re
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import kpi_functions as k

from .harness import Figure

GROUP = "server"
CALL_PATH = "/xlwings/custom-functions-call"
CALL_LIMIT_S, HEALTH_LIMIT_MS = 1.0, 50.0


def nps_body(cells: int, seed: int = 0) -> tuple[bytes, list[list[int]]]:
    scores = np.random.default_rng(seed).integers(0, 11, cells).tolist()
    matrix = [[s] for s in scores]
    return json.dumps({"func_name": "KPI_NPS", "args": [matrix], "runtime": "1.4"}).encode(), matrix


def mrr_body(rows: int, seed: int = 1) -> tuple[bytes, list[list[Any]]]:
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, max(1, rows // 10), rows)
    months = rng.integers(1, 13, rows)
    mrr = rng.choice([0, 50, 100, 200], rows)
    matrix = [["customer", "month", "MRR"]] + [
        [f"c{c}", f"2025-{m:02d}", "" if v == 0 else int(v)] for c, m, v in zip(customers, months, mrr)]
    body = {"func_name": "KPI_MRR_MOVEMENTS", "args": [matrix], "runtime": "1.4", "date_format": "yyyy-mm-dd"}
    return json.dumps(body).encode(), matrix


def _best(f: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def floor(body: bytes, library: Callable[[Any], Any]) -> dict[str, float]:
    """``json.loads`` and the library on the parsed cells, in this process (best of 3 each), with the
    cyclic garbage collector paused as the server pauses it for a large call."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t_json, data = _best(lambda: json.loads(body))
        cells = [[None if c == "" else c for c in row] for row in data["args"][0]]
        t_lib, _ = _best(lambda: library(cells))
        out = {"json": t_json, "library": t_lib, "floor": t_json + t_lib}
        try:
            import orjson
        except ImportError:
            return out
        out["orjson"] = _best(lambda: orjson.loads(body))[0]
        return out
    finally:
        if enabled:
            gc.enable()


def _post(port: int, body: bytes) -> tuple[float, int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        t0 = time.perf_counter()
        conn.request("POST", CALL_PATH, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return time.perf_counter() - t0, r.status, json.loads(data)
    finally:
        conn.close()


def _checked(port: int, body: bytes, expected: Any, name: str) -> float:
    dt, status, data = _post(port, body)
    if status != 200 or "error" in data or data.get("result") != expected:
        raise AssertionError(f"{name}: HTTP {status}, answer {str(data)[:300]}")
    return dt


def health_latencies(port: int, busy: Callable[[], Any] | None = None, polls: int = 20) -> list[float]:
    """``/health`` round trips on one kept-alive connection: while ``busy()`` runs in another
    thread (until it returns), or ``polls`` of them on an idle server."""
    done = threading.Event()
    errors: list[Exception] = []

    def run() -> None:
        try:
            busy()  # type: ignore[misc]
        except Exception as err:  # noqa: BLE001 - raised again in the caller's thread, below
            errors.append(err)
        finally:
            done.set()

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out: list[float] = []
    th = None
    if busy is not None:
        th = threading.Thread(target=run)
        th.start()
    try:
        while (not done.is_set()) if busy is not None else len(out) < polls:
            t0 = time.perf_counter()
            conn.request("GET", "/health")
            r = conn.getresponse()
            r.read()
            out.append(time.perf_counter() - t0)
            if r.status != 200:
                raise AssertionError(f"/health answered {r.status}")
            time.sleep(0.002)
    finally:
        conn.close()
        if th is not None:
            th.join()
    if errors:
        raise errors[0]
    return out


_SPLIT = re.compile(r"(KPI_\w+) answered in ([\d.]+) ms \(([^)]*)\)")


def last_split(log: str, name: str) -> str:
    """The server's own split of its last ``name`` call (parse, KPI, xlwings, encode)."""
    found = [m for m in _SPLIT.finditer(log) if m.group(1) == name]
    return f"server: {found[-1].group(2)} ms = {found[-1].group(3)}" if found else ""


def wait_for_call_process(server_log: Callable[[], str], timeout: float = 180.0) -> None:
    """Until the server's process for large calls is up (its imports take seconds after start-up;
    until then large calls are answered in a thread)."""
    deadline = time.time() + timeout
    while "answers the calls of" not in server_log():
        if time.time() > deadline:
            raise RuntimeError("the server's process for large calls did not start:\n" + server_log()[-3000:])
        time.sleep(0.2)


def run(server_log: Callable[[], str], port: int, cells: int = 1_000_000, rows: int = 100_000, calls: int = 5,
        log: Callable[[str], None] = print) -> list[Figure]:
    figures: list[Figure] = []
    wait_for_call_process(server_log)
    idle = health_latencies(port)
    nps, nps_cells = nps_body(cells)
    mrr, mrr_cells = mrr_body(rows)
    workloads = [
        ("KPI_NPS", f"{cells:,}-cell column", nps, k.nps, lambda c: [[k.nps(c)]], nps_cells),
        ("KPI_MRR_MOVEMENTS", f"{rows:,}-row table", mrr, k.mrr_movements, None, mrr_cells),
    ]
    for name, label, body, library, expect, cells_ in workloads:
        base = floor(body, library)
        _dt, status, first = _post(port, body)  # warm-up, and the expected answer for the table
        if status != 200 or "error" in first:
            raise AssertionError(f"{name}: HTTP {status}, answer {str(first)[:300]}")
        expected = expect(cells_) if expect is not None else first["result"]
        if expect is None and len(first["result"]) != len(library(
                [[None if c == "" else c for c in row] for row in cells_])) + 1:
            raise AssertionError(f"{name}: the answer has {len(first['result'])} rows")
        times = [_checked(port, body, expected, name) for _ in range(calls)]
        med = statistics.median(times)
        parsers = f"json.loads {base['json'] * 1e3:.0f} ms" + (
            f", orjson.loads {base['orjson'] * 1e3:.0f} ms" if "orjson" in base else "")
        figures.append(Figure(
            GROUP, "large call over HTTP, median", f"{name}, {label} ({len(body) / 1e6:.1f} MB)", med,
            baseline="in-process floor: json.loads + the library on the parsed cells", baseline_value=base["floor"],
            target=f"≤ {CALL_LIMIT_S:g} s", ok=med <= CALL_LIMIT_S, runs=calls,
            note=f"{parsers}, library {base['library'] * 1e3:.0f} ms; {last_split(server_log(), name)}"))
        log(f"  {name} {label}: median {med * 1e3:.0f} ms over HTTP; floor {base['floor'] * 1e3:.0f} ms ({parsers}, "
            f"library {base['library'] * 1e3:.0f} ms)")
        busy = health_latencies(port, lambda body=body, expected=expected, name=name: _checked(port, body, expected, name))
        worst = max(busy)
        figures.append(Figure(
            GROUP, "/health while a large call runs, slowest answer", f"during {name}, {label}", worst,
            baseline="/health on an idle server, median", baseline_value=statistics.median(idle),
            target=f"≤ {HEALTH_LIMIT_MS:g} ms", ok=worst * 1e3 <= HEALTH_LIMIT_MS, runs=len(busy),
            note=f"{len(busy)} answers, median {statistics.median(busy) * 1e3:.1f} ms"))
        log(f"  /health during {name}: {len(busy)} answers, slowest {worst * 1e3:.1f} ms, "
            f"median {statistics.median(busy) * 1e3:.1f} ms")
    return figures


def main() -> None:  # pragma: no cover - a manual run: python -m benchmarks.large_calls
    import tempfile

    from .harness import ROOT
    from .kpi_serve import run_server

    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as tmp, run_server(Path(tmp), cwd=ROOT) as srv:
        for f in run(srv.log_text, srv.port):
            print(f)


if __name__ == "__main__":  # pragma: no cover
    main()
