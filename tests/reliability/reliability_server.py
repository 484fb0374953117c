"""A real `kpi serve` for the reliability tests, and raw HTTP on loopback.

The server is the tests' and benchmarks' one harness (benchmarks/kpi_serve.py:
the `kpi` console script of this interpreter, ``kpi serve --host 127.0.0.1
--port <free port>`` with ``XLWINGS_LICENSE_KEY=noncommercial``, its output in a
log file the tests read afterwards). Nothing here talks to any address but
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import EXCEL_ERRORS

ROOT = Path(__file__).resolve().parents[2]
# the benchmarks package of this checkout (pytest run from elsewhere) and the add-in tests' helpers
for _path in (ROOT, ROOT / "tests" / "addin"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from addin_helpers import excel_code, make_report_templates, read_until_closed  # noqa: F401  (re-exported)

from benchmarks import kpi_serve
from benchmarks.kpi_serve import CALL, LOOPBACK, free_port, kpi_command, server_env, stop  # noqa: F401  (re-exported)

#: the shared test server's bearer token, request-size limit and the one origin CORS allows
TOKEN = "rel-7Qm2-token-9d41c0"
MAX_BYTES = 200_000
ALLOWED_ORIGIN = "https://excel.example"
CLIENT_TIMEOUT = 5.0
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ERROR_TYPES = {
    "#DIV/0!": "Div0", "#N/A": "NotAvailable", "#VALUE!": "Value", "#NUM!": "Num", "#NAME?": "Name",
    "#NULL!": "Null", "#REF!": "Ref", "#SPILL!": "Spill", "#CALC!": "Calc", "#FIELD!": "Field", "#BUSY!": "Busy",
    "#CONNECT!": "Connect", "#BLOCKED!": "Blocked", "#GETTING_DATA": "GettingData", "#UNKNOWN!": "Unknown",
}


class Server(kpi_serve.Server):
    """A running `kpi serve` subprocess (benchmarks/kpi_serve.py) that posts Office.js JSON."""

    def post(self, client: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else dumps(body)
        return client.post(self.base + CALL, content=content, headers=self.headers() if headers is None else headers)


def run_server(tmp: Path, *flags: str, token: str | None = None, env: dict[str, str] | None = None,
               host_flag: bool = True, timeout: float = 90.0) -> contextlib.AbstractContextManager[Server]:
    """`kpi serve` on a free loopback port; waits for /health; stops it afterwards."""
    return kpi_serve.run_server(tmp, *flags, token=token, env=env, host_flag=host_flag, timeout=timeout,
                                server_class=Server)


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
