"""Large custom-function calls: the fast JSON parser, numbers read as one array, the
range arguments read without xlwings' per-cell pass — each equal to the plain path —
and, over real HTTP, a 1,000,000-cell KPI_NPS and a 100,000-row KPI_MRR_MOVEMENTS that
answer as the library does while /health keeps answering. No timing is asserted
(benchmarks/bench_server.py times these calls)."""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import select
import signal
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("orjson")

import kpi_functions as k
from addin.server import jsonio, requests
from addin.server.requests import BadRequest, blanks_as_none, parse_call

CALL = "/xlwings/custom-functions-call"
FUNCTIONS = {spec.excel_name: type("Adapter", (), {"kpi_spec": spec}) for spec in k.REGISTRY.values()}


def parsed(body: bytes) -> tuple:
    """parse_call's answer: (name, data) or (status, message)."""
    try:
        name, data = parse_call(body, FUNCTIONS, "0.0")
    except BadRequest as err:
        return err.status, err.message
    return name, json.dumps(data, default=lambda a: ["ndarray", a.tolist()])


BODIES = [
    b'{"func_name": "KPI_NPS", "args": [[[10], [9], [""], [3]]], "runtime": "1.4"}',
    b'{"func_name": "KPI_NPS", "args": [[[10], [9]]], "func_name": "KPI_CSAT"}',  # duplicate key: the last wins
    b'{"func_name": "KPI_NPS", "args": [[[NaN]]]}',
    b'{"func_name": "KPI_NPS", "args": [[[Infinity]]]}',
    b'{"func_name": "KPI_NPS", "args": [[[1e400]]]}',
    b'{"func_name": "KPI_NPS", "args": [[[' + b"9" * 400 + b"]]]}",  # beyond a double
    b'{"func_name": "KPI_NPS", "args": [[[18446744073709551616], [3]]]}',  # beyond 64 bits
    b'{"func_name": "KPI_NPS", "args": [[[9007199254740993], [3]]]}',  # 2**53 + 1
    b'{"func_name": "KPI_NPS", "args": [[["\\ud800"]]]}',  # a lone surrogate
    b'{"func_name": "KPI_NPS", "args": [[["\\ud83d\\ude00"]]]}',  # a pair: one character
    b'{"func_name": "KPI_NPS", "args": [[[10]]]} x',
    b'{"func_name": "KPI_NPS", "args": [[[10], [9, 8]]]}',
    b'\xef\xbb\xbf{"func_name": "KPI_NPS", "args": [[[10]]]}',  # a byte-order mark
    b'{"func_name": "KPI_NPS", "args": [[["\xff"]]]}',  # not UTF-8
    b"[" * 5000 + b"]" * 5000,
    b'{"func_name": "KPI_NPS", "args": [[[true], [1]]]}',
    b'{"func_name": "KPI_ARPU", "args": [[[162500]], [[6500]]]}',
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_fast_parser_reads_and_refuses_exactly_what_the_standard_library_does(body, monkeypatch):
    fast = parsed(body)
    monkeypatch.setattr(jsonio, "_orjson_loads", None)
    assert jsonio.fast_loads(body) == (False, None)
    assert parsed(body) == fast


def test_a_range_of_numbers_is_one_float_array_and_anything_else_stays_cells():
    arr = requests._clean_arg([[10], [9], [3.5]], "KPI_NPS", "scores", numbers=True)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (3, 1)
    assert arr.tolist() == [[10.0], [9.0], [3.5]] and not arr.flags.writeable
    # 2**53 + 1 is the double Excel holds, as the cell-by-cell cleaning makes it
    assert requests._clean_arg([[2**53 + 1, 1]], "F", "a", numbers=True).tolist() == [[float(2**53 + 1), 1.0]]
    for cells in ([[10], [""]], [[10], [None]], [[True], [1]], [[10], ["#N/A"]], [[7]]):
        assert requests._clean_arg(cells, "F", "a", numbers=True) == cells  # lists, as sent
    assert requests._clean_arg([[10], [9]], "F", "a", numbers=False) == [[10], [9]]  # not a range of numbers
    with pytest.raises(BadRequest, match=r"'a', row 2, column 1: number out of range: 10000…000 \(401 digits\)"):
        requests._clean_arg([[1], [10**400]], "F", "a", numbers=True)


def test_blanks_are_none_as_xlwings_reads_them():
    assert blanks_as_none([["a", ""], [0, None]]) == [["a", None], [0, None]]
    same = [["a", 0], [False, None]]
    assert blanks_as_none(same) is same
    arr = np.ones((2, 1))
    assert blanks_as_none(arr) is arr


def _examples():
    for spec in k.REGISTRY.values():
        for i, a in enumerate(spec.args):
            if a.kind == "range" and i < len(spec.example):
                yield pytest.param(spec, id=spec.excel_name)
                break


@pytest.mark.parametrize("spec", list(_examples()))
def test_every_function_answers_a_range_of_numbers_as_array_as_it_answers_the_cells(spec):
    """Every registry function with a range of numbers: its example (and the example's
    numbers as a column) read as a float array give the adapter's answer for the lists
    (what the adapter runs: kpi_functions.excel.call)."""
    from addin_helpers import officejs_arg

    from kpi_functions import excel

    cases = [list(spec.example)]
    for i, a in enumerate(spec.args):  # each range argument's numbers as a column of two or more
        if a.kind == "range" and i < len(spec.example):
            flat = [v for v in np.ravel(np.asarray(spec.example[i], dtype=object)) if isinstance(v, (int, float))]
            if len(flat) >= 2 and not isinstance(flat[0], bool):
                cases.append([*spec.example[:i], [[v] for v in flat], *spec.example[i + 1:]])
    for args in cases:
        cells = [officejs_arg(v) for v in args]
        lists = [blanks_as_none(requests._clean_arg(v, spec.excel_name, a.name, numbers=False))
                 for v, a in zip(cells, spec.args)]
        arrays = [blanks_as_none(requests._clean_arg(v, spec.excel_name, a.name, numbers=a.kind == "range"))
                  for v, a in zip(cells, spec.args)]
        assert _same(excel.call(spec, arrays), excel.call(spec, lists)), (spec.excel_name, args)


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b and getattr(a, "message", None) == getattr(b, "message", None)


# --------------------------------------------------------------------------
# Over HTTP: a server with the default request limit
# --------------------------------------------------------------------------
CHILD = re.compile(r"process (\d+) answers the calls of (\d+) bytes or more")


def _children(srv) -> list[int]:
    """The processes for large calls the server has started so far (from its log)."""
    return [int(m.group(1)) for m in CHILD.finditer(srv.log_text())]


def _wait_for_child(srv, count: int) -> int:
    deadline = time.time() + 180
    while len(_children(srv)) < count:
        assert time.time() < deadline, "no process for large calls started:\n" + srv.log_text()[-3000:]
        assert srv.alive(), srv.log_text()[-3000:]
        time.sleep(0.2)
    return _children(srv)[count - 1]


@pytest.fixture(scope="module")
def big_server():
    from addin_helpers import run_server

    with tempfile.TemporaryDirectory(prefix="kpi-large-") as tmp, run_server(Path(tmp)) as srv:
        _wait_for_child(srv, 1)  # (until then large calls are answered in a thread, as the others)
        yield srv
        assert srv.alive(), srv.log_text()[-3000:]


def _answered_by(srv, name: str) -> str:
    """Who answered the last call of ``name``: "server" or "process <pid>" (the server log's line)."""
    lines = [line for line in srv.log_text().splitlines() if f"{name} answered in" in line]
    found = re.search(r"\[process (\d+)\]$", lines[-1])
    return f"process {found.group(1)}" if found else "server"


def _post(port: int, body: bytes) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("POST", CALL, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def _scores(n: int) -> list[int]:
    return np.random.default_rng(3).integers(0, 11, n).tolist()


def test_a_million_cell_nps_answers_what_the_library_computes(big_server):
    scores = _scores(1_000_000)
    body = json.dumps({"func_name": "KPI_NPS", "args": [[[s] for s in scores]], "runtime": "1.4"}).encode()
    status, got = _post(big_server.port, body)
    promoters, detractors = sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)  # by hand, not the library
    assert status == 200 and "error" not in got
    assert got["result"] == [[k.nps(scores)]]
    assert abs(got["result"][0][0] - 100 * (promoters - detractors) / len(scores)) < 1e-9


def test_a_100000_row_mrr_movements_table_answers_what_the_library_computes(big_server):
    from addin_helpers import assert_matches, expected_cells

    rng = np.random.default_rng(5)
    rows = [["customer", "month", "MRR"]] + [
        [f"c{c}", f"2025-{m:02d}", "" if v == 0 else int(v)]
        for c, m, v in zip(rng.integers(0, 9000, 100_000), rng.integers(1, 13, 100_000),
                           rng.choice([0, 50, 100, 200], 100_000))]
    body = json.dumps({"func_name": "KPI_MRR_MOVEMENTS", "args": [rows], "runtime": "1.4",
                       "date_format": "yyyy-mm-dd"}).encode()
    status, got = _post(big_server.port, body)
    assert status == 200 and "error" not in got, str(got)[:300]
    want = k.mrr_movements([[None if x == "" else x for x in row] for row in rows])
    assert len(got["result"]) == len(want) + 1 == 13
    assert_matches(got["result"], expected_cells(want), "KPI_MRR_MOVEMENTS", officejs=True)


def test_health_answers_while_a_large_call_is_computed(big_server):
    """The large call's request is sent in full, then /health is asked until the large
    answer arrives: /health answers while the call is still being computed (ordering,
    not timing: some /health answer comes before the large call's first byte)."""
    scores = _scores(1_000_000)
    body = json.dumps({"func_name": "KPI_NPS", "args": [[[s] for s in scores]], "runtime": "1.4"}).encode()
    big = socket.create_connection(("127.0.0.1", big_server.port), timeout=300)
    health = http.client.HTTPConnection("127.0.0.1", big_server.port, timeout=300)
    before = 0
    try:
        big.sendall(f"POST {CALL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        while not select.select([big], [], [], 0)[0]:  # no byte of the large answer yet
            health.request("GET", "/health")
            r = health.getresponse()
            assert r.status == 200 and json.loads(r.read())["status"] == "ok"
            if not select.select([big], [], [], 0)[0]:
                before += 1  # answered while the large call was still in flight
        answer = b""
        while chunk := big.recv(1 << 16):
            answer += chunk
    finally:
        big.close()
        health.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["result"] == [[k.nps(scores)]]
    assert before >= 1


def test_a_bad_cell_deep_in_a_large_call_is_a_4xx_naming_it(big_server):
    cells = [[s] for s in _scores(200_000)]
    cells[150_000] = [10**400]
    status, got = _post(big_server.port, json.dumps({"func_name": "KPI_NPS", "args": [cells]}).encode())
    assert status == 400
    assert got["detail"] == ("KPI_NPS: argument 'scores', row 150001, column 1: number out of range: "
                             "10000…000 (401 digits) is beyond what Excel holds (about ±1.8e308)")
    cells[150_000] = [1, 2]
    status, got = _post(big_server.port, json.dumps({"func_name": "KPI_NPS", "args": [cells]}).encode())
    assert status == 400
    assert got["detail"] == "KPI_NPS: argument 'scores': rows differ in length (1 cells in row 1, 2 in row 150001)"
    cells[150_000] = ["ten"]  # text among the scores: the KPI's own error, named
    status, got = _post(big_server.port, json.dumps({"func_name": "KPI_NPS", "args": [cells]}).encode())
    assert status == 200 and got["error"]["code"] == "#VALUE!"
    assert "row 150001" in got["error"]["message"] and "'ten'" in got["error"]["message"]


def test_large_calls_are_answered_in_a_process_of_their_own_small_ones_in_the_server(big_server):
    from addin.server.offload import OFFLOAD_BYTES

    child = _children(big_server)[-1]
    assert child != big_server.proc.pid and child in _child_processes(big_server.proc.pid)
    scores = _scores(400_000)
    body = json.dumps({"func_name": "KPI_NPS", "args": [[[s] for s in scores]]}).encode()
    assert len(body) >= OFFLOAD_BYTES
    assert _post(big_server.port, body) == (200, {"result": [[k.nps(scores)]]})
    assert _answered_by(big_server, "KPI_NPS") == f"process {child}"
    small = json.dumps({"func_name": "KPI_NPS", "args": [[[10], [9], [3]]]}).encode()
    assert _post(big_server.port, small) == (200, {"result": [[100 * (2 - 1) / 3]]})
    assert _answered_by(big_server, "KPI_NPS") == "server"


def test_a_process_for_large_calls_that_died_is_replaced(big_server):
    """Killed between calls: the next large call is answered in the server (a thread) while a
    new process starts; the one after that by the new process. (Last in this module.)"""
    child = _children(big_server)[-1]
    n = len(_children(big_server))
    os.kill(child, signal.SIGKILL)  # the server's own child, by its id
    deadline = time.time() + 60
    while Path(f"/proc/{child}").exists():  # reaped by the server once it has noticed
        assert time.time() < deadline
        time.sleep(0.1)
    scores = _scores(300_000)
    body = json.dumps({"func_name": "KPI_NPS", "args": [[[s] for s in scores]]}).encode()
    assert _post(big_server.port, body) == (200, {"result": [[k.nps(scores)]]})
    assert _answered_by(big_server, "KPI_NPS") == "server"
    assert "the process answering large calls had stopped; starting a new one" in big_server.log_text()
    new = _wait_for_child(big_server, n + 1)
    assert new != child
    assert _post(big_server.port, body) == (200, {"result": [[k.nps(scores)]]})
    assert _answered_by(big_server, "KPI_NPS") == f"process {new}"


def test_the_process_for_large_calls_ends_with_a_server_killed_without_a_shutdown():
    from addin_helpers import run_server

    with tempfile.TemporaryDirectory(prefix="kpi-large-") as tmp, run_server(Path(tmp)) as srv:
        child = _wait_for_child(srv, 1)
        srv.proc.kill()  # the server we started, by its id: no lifespan shutdown runs
        srv.proc.wait(timeout=30)
        deadline = time.time() + 30
        while Path(f"/proc/{child}").exists() and "State:\tZ" not in _status(child):
            assert time.time() < deadline, "the process for large calls outlived its server"
            time.sleep(0.2)


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "State:\tZ"


def test_no_process_for_large_calls_where_the_size_limit_admits_none():
    from addin_helpers import run_server

    with tempfile.TemporaryDirectory(prefix="kpi-large-") as tmp, \
            run_server(Path(tmp), "--max-request-bytes", "500000") as srv:
        body = json.dumps({"func_name": "KPI_NPS", "args": [[[10], [9], [3]]]}).encode()
        assert _post(srv.port, body) == (200, {"result": [[100 * (2 - 1) / 3]]})
        assert _answered_by(srv, "KPI_NPS") == "server"
        # the process would have been spawned before the app answered /health: the server has no child
        assert _child_processes(srv.proc.pid) == []


def _child_processes(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.MULTILINE):
            out.append(int(status.parent.name))
    return out


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_a_large_call_whose_process_dies_during_it_is_a_value_error_not_a_5xx(big_server):
    import threading

    scores = _scores(1_000_000)
    body = json.dumps({"func_name": "KPI_NPS", "args": [[[s] for s in scores]], "runtime": "1.4"}).encode()
    n = len(_children(big_server))
    got: dict = {}
    for _ in range(3):  # (should the call end before the process is seen computing it, again)
        child = _wait_for_child(big_server, n)
        out: dict = {}
        th = threading.Thread(target=lambda out=out: out.update(r=_post(big_server.port, body)))
        start = _cpu_ticks(child)
        th.start()
        while th.is_alive() and _cpu_ticks(child) - start < 5:  # computing: 50 ms of its CPU time
            time.sleep(0.005)
        if th.is_alive():
            os.kill(child, signal.SIGKILL)  # the server's own child, by its id
        th.join()
        status, got = out["r"]
        assert status == 200
        if "error" in got:
            break
    assert got["error"] == {"code": "#VALUE!", "message": "KPI_NPS: the backend's process for large calls stopped "
                                                          "during this call (out of memory?); the server log has details"}
    assert got["result"] == [[{"type": "Error", "errorType": "Value"}]]
    assert "stopped during a call; starting a new one" in big_server.log_text()
    assert _wait_for_child(big_server, n + 1) != child  # replaced
    assert _post(big_server.port, body) == (200, {"result": [[k.nps(scores)]]})
