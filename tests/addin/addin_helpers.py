"""Helpers for the add-in tests: Office.js / COM shaped arguments, the expected
Excel view of a library result (written independently of addin.adapters), and
a real `kpi serve` subprocess on a free loopback port (benchmarks/kpi_serve.py)."""

from __future__ import annotations

import atexit
import datetime as dt
import math
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the benchmarks package of this checkout (pytest run from elsewhere)
    sys.path.insert(0, str(ROOT))

# `kpi serve` as a subprocess: one harness for the tests and the benchmarks
from benchmarks.kpi_serve import Server as RunningServer
from benchmarks.kpi_serve import free_port, kpi_command, run_server, server_env  # noqa: F401  (re-exported)

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
#: the shared test server's bearer token and request-size limit
TOKEN = "test-token-7f3a9c"
MAX_BYTES = 200_000
NA_CELL = {"type": "Error", "basicType": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}


# ----------------------------------------------------------------- arguments
def _is_2d(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and isinstance(v[0], (list, tuple))


def officejs_arg(v: Any) -> Any:
    """A Python example argument as Office.js sends it: a 2-D matrix, "" for blanks."""
    if v is None:
        return None
    if isinstance(v, list):
        rows = [list(r) for r in v] if _is_2d(v) else [[x] for x in v]
        return [["" if x is None else x for x in row] for row in rows]
    return [[v]]


def com_cell(x: Any) -> Any:
    """One cell as the classic COM path delivers it: numbers as floats, dates as datetime."""
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, int):
        return float(x)
    if isinstance(x, str) and ISO_DATE.match(x):
        parts = [int(p) for p in x.split("-")] + [1]
        return dt.datetime(parts[0], parts[1], parts[2])
    return x


def com_arg(v: Any) -> Any:
    """A Python example argument as xlwings' COM path hands it over (ndim=2): 2-D tuples."""
    if v is None:
        return None
    if isinstance(v, list):
        rows = v if _is_2d(v) else [[x] for x in v]
        return tuple(tuple(com_cell(x) for x in row) for row in rows)
    return com_cell(v)


# ----------------------------------------------------------------- expected results
def expected_cells(result: Any) -> Any:
    """The Excel view of a library result: scalars as is; tables as header + rows,
    NaN/NaT as None, Timestamps as datetime."""
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if isinstance(result, np.ndarray) and result.ndim == 1:
        result = pd.DataFrame({"value": result})
    if isinstance(result, pd.DataFrame):
        rows: list[list[Any]] = [[str(c) for c in result.columns]]
        for rec in result.itertuples(index=False):
            row = []
            for x in rec:
                if isinstance(x, pd.Timestamp):
                    row.append(None if pd.isna(x) else x.to_pydatetime())
                elif x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT or x is pd.NA:
                    row.append(None)
                elif isinstance(x, (np.integer,)):
                    row.append(int(x))
                elif isinstance(x, (np.floating,)):
                    row.append(None if np.isnan(x) else float(x))
                else:
                    row.append(x)
            rows.append(row)
        return rows
    return result


def excel_code(err: KPIError) -> str:
    """SPEC §3, written out independently of the library's mapping: input errors propagate,
    then #NUM!, #DIV/0!, #VALUE!."""
    if isinstance(err, k.KPIErrorValue):
        return err.excel_error
    if isinstance(err, (k.KPIDomainError, k.KPIModelError)):
        return "#NUM!"
    if isinstance(err, k.KPIUndefinedError):
        return "#DIV/0!"
    return "#VALUE!"


def serial(d: dt.datetime) -> float:
    return (d - EXCEL_EPOCH).total_seconds() / 86400.0


def assert_cell_equal(got: Any, want: Any, where: str, officejs: bool) -> None:
    """Compare one result cell. On the Office.js path blanks are "" and dates are
    FormattedNumber objects (serials); on the COM path blanks are None and dates datetime."""
    if want is None:
        assert got in (("", None) if officejs else (None,)), f"{where}: {got!r} should be blank"
    elif isinstance(want, dt.datetime):
        if officejs:
            assert isinstance(got, dict) and got.get("type") == "FormattedNumber", f"{where}: {got!r} is not a date"
            assert got["basicValue"] == serial(want), f"{where}: {got!r} != {want}"
        else:
            assert got == want, f"{where}: {got!r} != {want!r}"
    elif isinstance(want, bool):
        assert got is want, f"{where}: {got!r} != {want!r}"
    elif isinstance(want, (int, float)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{where}: {got!r} is not a number"
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def assert_matches(got: Any, want: Any, name: str, officejs: bool) -> None:
    """Compare a whole result: Office.js results are always 2-D."""
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"
        for i, (grow, wrow) in enumerate(zip(got, want)):
            assert len(grow) == len(wrow), f"{name}: row {i + 1} has {len(grow)} cells, expected {len(wrow)}"
            for j, (g, w) in enumerate(zip(grow, wrow)):
                assert_cell_equal(g, w, f"{name} row {i + 1} column {j + 1}", officejs)
    elif officejs:
        assert isinstance(got, list) and len(got) == 1 and len(got[0]) == 1, f"{name}: {got!r} is not one cell"
        assert_cell_equal(got[0][0], want, name, officejs)
    else:
        assert_cell_equal(got, want, name, officejs)


def first_cell_path(spec) -> tuple[int, int, int] | None:
    """(argument index, row, column) of the first cell of the first range argument
    given in the example, for error-cell payloads."""
    for i, (a, v) in enumerate(zip(spec.args, spec.example)):
        if a.is_range and v is not None:
            return i, 0, 0
    return None


def read_until_closed(sock: socket.socket, wait: float, reset_ok: bool = False) -> bytes:
    """All the server sends on `sock` until it closes the connection; the test fails when `wait` seconds
    pass without a byte and the connection still open (a reset ends the answer when `reset_ok`)."""
    sock.settimeout(wait)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"the connection was still open after {wait} s; got {data[:200]!r}")
    except ConnectionResetError:
        if not reset_ok:
            raise
    return data


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (cert, key) in PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _root_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_kpi_tests_root_conftest", ROOT / "tests" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def need_program(*names: str) -> str:
    """tests/conftest.py's rule: skip locally without the program, fail in CI."""
    return _root_conftest().need_program(*names)


def need_playwright():
    """The Playwright package: skip locally without it, fail in CI (it is in the dev extra)."""
    import pytest

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _root_conftest().IN_CI:
            pytest.fail("needs the playwright package (dev extra) — missing in CI")
        pytest.skip("needs the playwright package (pip install -e '.[dev]')")
    return sync_playwright


# ----------------------------------------------------------------- one shared server per test process
# (not a conftest fixture: a second conftest.py breaks `--doctest-modules`
# collection of tests/conftest.py, which shares the basename)
_SHARED: dict[str, Any] = {}


def make_report_templates(directory: Path, names: tuple[str, ...] = ("saas_dashboard.xlsx", "customer_experience.xlsx"),
                          other: str = "notes.txt") -> Path:
    """`directory` (created) with a one-cell workbook for each of `names` and a file `other` that is no template."""
    import openpyxl

    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        wb = openpyxl.Workbook()
        wb.active["A1"] = name
        wb.save(directory / name)
    (directory / other).write_text("not a template")
    return directory


def shared_server() -> RunningServer:
    """A `kpi serve` (token, small size limit, two report templates) shared by the
    HTTP and browser tests; stopped when the test process exits."""
    if "server" not in _SHARED:
        tmp = Path(tempfile.mkdtemp(prefix="kpi_serve_"))
        templates = make_report_templates(tmp / "report_templates")
        cm = run_server(tmp, "--max-request-bytes", str(MAX_BYTES), token=TOKEN,
                        env={"KPI_TEMPLATES_DIR": str(templates)}, timeout=60.0)
        srv = cm.__enter__()
        srv.templates_dir = templates

        def stop() -> None:
            cm.__exit__(None, None, None)
            shutil.rmtree(tmp, ignore_errors=True)

        atexit.register(stop)
        _SHARED["server"] = srv
    srv = _SHARED["server"]
    assert srv.proc.poll() is None, "the shared server has stopped:\n" + srv.log_text()
    return srv


def serving() -> Iterator[RunningServer]:
    """A test module's `server` fixture (``yield from serving()``): the shared server, which must still be
    running when the module's tests are done."""
    srv = shared_server()
    yield srv
    assert srv.proc.poll() is None, "the server stopped during the tests:\n" + srv.log_text()


#: Debian's Chromium as the browser tests start it (no background connections: the machine's network is closed)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def launched_browser() -> Iterator[Any]:
    """A test module's `browser` fixture (``yield from launched_browser()``): headless Chromium through
    Playwright (never `playwright install`), closed when the module is done."""
    chromium = need_program("chromium")
    sync_playwright = need_playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
