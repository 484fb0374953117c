"""A real `kpi serve` for the reliability tests, and raw HTTP on loopback.

The server is started the way the README starts it — the `kpi` console script
of this interpreter, ``kpi serve --host 127.0.0.1 --port <free port>`` with
``XLWINGS_LICENSE_KEY=noncommercial`` — as a subprocess whose output goes to a
log file the tests read afterwards. Nothing here talks to any address but
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import EXCEL_ERRORS

LOOPBACK = "127.0.0.1"
#: the shared test server's bearer token, request-size limit and the one origin CORS allows
TOKEN = "rel-7Qm2-token-9d41c0"
MAX_BYTES = 200_000
ALLOWED_ORIGIN = "https://excel.example"
CLIENT_TIMEOUT = 5.0
CALL = "/xlwings/custom-functions-call"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ERROR_TYPES = {
    "#DIV/0!": "Div0", "#N/A": "NotAvailable", "#VALUE!": "Value", "#NUM!": "Num", "#NAME?": "Name",
    "#NULL!": "Null", "#REF!": "Ref", "#SPILL!": "Spill", "#CALC!": "Calc", "#FIELD!": "Field", "#BUSY!": "Busy",
    "#CONNECT!": "Connect", "#BLOCKED!": "Blocked", "#GETTING_DATA": "GettingData", "#UNKNOWN!": "Unknown",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def kpi_command() -> list[str]:
    script = Path(sys.executable).with_name("kpi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kpi_cli.main import app; app()"]


class Server:
    """A running `kpi serve` subprocess."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path, token: str | None) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://{LOOPBACK}:{port}"
        self.log = log
        self.token = token

    def headers(self, **extra: str) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra)
        return h

    def post(self, client: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else dumps(body)
        return client.post(self.base + CALL, content=content, headers=self.headers() if headers is None else headers)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        """Resident memory of the server process (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def listening_addresses(self) -> list[tuple[str, int]]:
        """(address, port) of the TCP sockets this server process listens on (/proc/net/tcp*)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        out = []
        for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
            if not Path(table).exists():
                continue
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, state, inode = parts[1], parts[3], parts[9]
                if state != "0A" or inode not in inodes:  # 0A = LISTEN
                    continue
                addr_hex, port_hex = local.split(":")
                out.append((_addr(addr_hex, v6), int(port_hex, 16)))
        return out


def _addr(hexaddr: str, v6: bool) -> str:
    raw = bytes.fromhex(hexaddr)
    if not v6:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "XLWINGS_"))}
    env["XLWINGS_LICENSE_KEY"] = "noncommercial"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def run_server(tmp: Path, *flags: str, token: str | None = None, env: dict[str, str] | None = None,
               host_flag: bool = True, timeout: float = 90.0) -> Iterator[Server]:
    """`kpi serve` on a free loopback port; waits for /health; stops it afterwards."""
    port = free_port()
    log = tmp / f"kpi-serve-{port}.log"
    cmd = [*kpi_command(), "serve", *(["--host", LOOPBACK] if host_flag else []), "--port", str(port), *flags]
    extra = dict(env or {})
    if token:
        extra["KPI_TOKEN"] = token  # by environment: a token on the command line is visible in `ps`
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=server_env(extra), cwd=str(tmp),
                                start_new_session=True)
    srv = Server(proc, port, log, token)
    deadline = time.time() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kpi serve exited with {proc.returncode}:\n{srv.log_text()}")
            try:
                if httpx.get(srv.base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"kpi serve did not answer /health within {timeout} s:\n{srv.log_text()}")
            time.sleep(0.25)
        yield srv
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop one server process we started (by its own pid, then its group)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # worker processes of --workers N, if any are left


# ---------------------------------------------------------------- raw HTTP
def raw_request(port: int, data: bytes, *, read_timeout: float = 10.0) -> bytes:
    """Send bytes as they are (no URL normalisation) and read the whole answer."""
    with socket.create_connection((LOOPBACK, port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        with contextlib.suppress(socket.timeout, ConnectionResetError):
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if _complete(b"".join(chunks)):
                    break
    return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when the server closed without answering)."""
    if not answer.startswith(b"HTTP/1."):
        return 0
    return int(answer.split(b" ", 2)[1])


# ---------------------------------------------------------------- Office.js payloads
INF_TOKEN = "\u0000INF\u0000"


def dumps(payload: Any) -> str:
    """JSON as Excel's runtime would send it; ±inf become the number 1e999 (which JSON
    parsers read as infinity), never the non-standard Infinity literal."""
    text = json.dumps(payload, allow_nan=False, default=_default)
    return text.replace(json.dumps(INF_TOKEN), "1e999").replace(json.dumps("-" + INF_TOKEN), "-1e999")


def _default(v: Any) -> Any:  # pragma: no cover - every value is converted before dumping
    raise TypeError(f"cannot send {v!r}")


def serial(d: Any) -> float:
    ts = pd.Timestamp(d)
    return (ts.to_pydatetime().replace(tzinfo=None) - EXCEL_EPOCH).total_seconds() / 86400.0


def officejs_cell(v: Any, error_objects: bool) -> Any:
    """One Python cell as Excel's custom-functions runtime sends it."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.datetime64,)):
        return "" if np.isnat(v) else serial(v)
    if isinstance(v, (dt.date, dt.datetime, pd.Timestamp)):
        return serial(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return ""
        if math.isinf(f):
            return INF_TOKEN if f > 0 else "-" + INF_TOKEN
        return f
    if isinstance(v, str):
        if v in EXCEL_ERRORS and error_objects:
            return {"type": "Error", "basicType": "Error", "basicValue": v, "errorType": ERROR_TYPES[v]}
        return v
    raise TypeError(f"no Office.js form for {v!r}")


def officejs_arg(raw: Any, error_objects: bool) -> Any:
    """A raw argument as an Office.js matrix (possibly ragged or deeper: the server must refuse those)."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        return [[officejs_cell(raw, error_objects)]]
    if raw and all(isinstance(r, list) for r in raw):
        return [[officejs_arg(x, error_objects) if isinstance(x, list) else officejs_cell(x, error_objects)
                 for x in r] for r in raw]
    return [[officejs_arg(x, error_objects) if isinstance(x, list) else officejs_cell(x, error_objects)]
            for x in raw]


def python_view(cells: Any) -> Any:
    """What the library sees of an Office.js matrix: blanks None, error cells their text,
    a one-cell range its value (SPEC: a one-cell reference is a scalar)."""
    def cell(c: Any) -> Any:
        if c == "" or c is None:
            return None
        if isinstance(c, dict):
            return c["basicValue"]
        if c == INF_TOKEN:
            return math.inf
        if c == "-" + INF_TOKEN:
            return -math.inf
        return c
    if cells is None:
        return None
    rows = [[cell(c) for c in r] for r in cells]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    return rows


# ---------------------------------------------------------------- what the answer must be
#: The errors a custom function can return as a real error cell (runtime ≥ 1.4).
RETURNABLE = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}


def excel_code(err: k.KPIError) -> str:
    """SPEC §3, written out here: input errors propagate, then #NUM!, #DIV/0!, #VALUE!."""
    if isinstance(err, k.KPIErrorValue):
        return err.excel_error
    if isinstance(err, (k.KPIDomainError, k.KPIModelError)):
        return "#NUM!"
    if isinstance(err, k.KPIUndefinedError):
        return "#DIV/0!"
    return "#VALUE!"


def well_formed(matrix) -> bool:
    if matrix is None:
        return True
    if not isinstance(matrix, list) or not matrix or not all(isinstance(r, list) for r in matrix):
        return False
    width = len(matrix[0])
    return width > 0 and all(len(r) == width and not any(isinstance(c, list) for c in r) for r in matrix)


def first_error(values) -> tuple[str, str] | None:
    for name, v in values:
        cells = v if isinstance(v, list) else [v]
        for row in cells:
            for c in (row if isinstance(row, list) else [row]):
                if isinstance(c, str) and c in k.EXCEL_ERRORS:
                    return c, name
    return None


def expected(spec, matrices):
    """("error", code, message-or-None) or ("value", library result) for one call."""
    values = []
    for a, m in zip(spec.args, matrices):
        v = python_view(m)
        if a.kind == "table" and m is not None and not isinstance(v, list):
            v = [[v]]  # a table stays a range even of one cell
        values.append(v)
    found = first_error([(a.name, v) for a, v in zip(spec.args, values)])
    if found:
        return "error", found[0], f"argument '{found[1]}'"
    try:
        return "value", spec.func(*values)
    except k.KPIError as err:
        return "error", excel_code(err), str(err)


def check_cell(got, want, where: str, runtime: str) -> None:
    if want is None or (isinstance(want, float) and math.isnan(want)) or want is pd.NaT:
        assert got in ("", None), f"{where}: {got!r} should be blank"
    elif isinstance(want, (pd.Timestamp, np.datetime64)) and runtime < "1.4":  # no formatted numbers before 1.4
        assert got == pytest.approx(serial(want), abs=1e-9), f"{where}: {got!r} != {want}"
    elif isinstance(want, (pd.Timestamp, np.datetime64)):
        assert isinstance(got, dict) and got.get("type") == "FormattedNumber", f"{where}: {got!r} is not a date"
        assert got["basicValue"] == pytest.approx(serial(want), abs=1e-9), f"{where}: {got!r} != {want}"
    elif isinstance(want, (bool, np.bool_)):
        assert got is bool(want), f"{where}: {got!r} != {want!r}"
    elif isinstance(want, (int, float, np.integer, np.floating)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{where}: {got!r} is not a number"
        assert math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-300), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def check_value(spec, result, want, runtime: str) -> None:
    name = spec.excel_name
    if isinstance(want, pd.Series):
        want = want.to_frame()
    if isinstance(want, np.ndarray):
        want = pd.DataFrame({"value": want})
    if isinstance(want, pd.DataFrame):
        assert len(result) == len(want) + 1, f"{name}: {len(result)} rows for {len(want)} + header"
        assert [str(c) for c in want.columns] == result[0], f"{name}: header {result[0]}"
        for i, row in enumerate(want.itertuples(index=False, name=None)):
            assert len(result[i + 1]) == len(row), f"{name}: row {i + 2} has {len(result[i + 1])} cells"
            for j, w in enumerate(row):
                check_cell(result[i + 1][j], w, f"{name} row {i + 2} column {j + 1}", runtime)
        return
    assert len(result) == 1 and len(result[0]) == 1, f"{name}: {result!r} is not one cell"
    check_cell(result[0][0], want, name, runtime)
