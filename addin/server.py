"""The Office.js backend started by ``kpi serve``.

Built on the ``xlwings-server`` package (xlwings PRO: PolyForm Noncommercial or
a commercial licence). Its FastAPI app serves what an Office.js add-in needs
and what we do not want to rewrite — the add-in manifest (rendered from our
template), the vendored ``office.js`` and xlwings' browser runtime
(``/static/...``), the task-pane base page and the custom-functions
JavaScript. This module puts a thin layer in front of it:

- ``POST /xlwings/custom-functions-call`` is ours: it validates the request
  (JSON shape, function name, argument count, cell types) *before* anything
  runs, answers bad requests with a 4xx and a clear message, then calls
  ``xlwings.server.custom_functions_call`` on :mod:`addin.adapters` (the very
  adapters the classic add-in and xlwings Lite use), computing in a worker
  thread. A KPI error comes back as the real Excel error cell in ``result``
  plus ``"error": {"code", "message"}``, which our JavaScript turns into
  ``CustomFunctions.Error(code, message)`` so the message shows in Excel.
- ``/xlwings/custom-functions-meta.json`` and ``/xlwings/custom-functions-code.js``
  are generated from the adapters; the JavaScript is xlwings-server's, with
  our per-function stubs appended.
- ``/taskpane.html`` (the function catalog and the report templates),
  ``/templates/<file>.xlsx`` (read-only downloads) and ``GET /health``.
- Limits: a bearer token (optional) on the call route, a request-size limit
  (413), CORS only for the allowed origins, and nothing else of
  xlwings-server's routes is reachable (404).

Configuration comes from :class:`ServerConfig` (``kpi serve`` flags, or the
``KPI_*`` environment variables). xlwings reads ``XLWINGS_ON_SERVER`` when it
is first imported, so :func:`create_app` sets the xlwings-server settings in
the environment *before* importing xlwings.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import importlib.util
import itertools
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware

from kpi_functions import EXCEL_ERRORS
from kpi_functions._errors import _show_big_int
from kpi_functions._registry import CATEGORIES
from kpi_functions.excel import officejs_error_types, officejs_errors_js

from . import naming

logger = logging.getLogger("kpi.addin")

__all__ = ["BadRequest", "LicenceMissing", "ServerConfig", "app_from_env", "create_app", "parse_call"]

PACKAGE_DIR = Path(__file__).resolve().parent
#: The xlwings-server "project directory": our manifest and task-pane templates
#: and the static files that override xlwings-server's (no Python modules).
PROJECT_DIR = PACKAGE_DIR / "xlwings_project"
#: Our own add-in id (xlwings-server's default id is shared by every project).
MANIFEST_ID = "5cdec51c-43a8-43f0-a280-44fb7df84938"
CALL_PATH = "/xlwings/custom-functions-call"
#: the largest body answered without stalling other requests (docs/addin.md: measured)
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024

#: Office.js error cell types (``Excel.ErrorCellValue.errorType``) -> error value.
ERROR_TYPES = officejs_error_types()


class LicenceMissing(RuntimeError):
    """xlwings server mode needs ``XLWINGS_LICENSE_KEY`` (``noncommercial`` or a key)."""


def _env_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def validate_public_url(url: str) -> str:
    """``https://host[:port]`` (or ``http://``) as ``scheme://host[:port]``; ValueError otherwise.

    The public URL is the origin Excel reaches the backend at (behind a reverse
    proxy, the proxy's). It must be an origin only: no path, query, fragment or
    user name, since every URL in the manifest is built on it.
    """
    import ipaddress
    from urllib.parse import urlsplit

    bad = f"public URL {url!r} must look like https://host[:port] (an origin: no path, query or user name)"
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValueError(bad)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(bad) from None
    if parts.scheme.lower() not in ("https", "http") or parts.path not in ("", "/") or parts.query or parts.fragment \
            or "?" in url or "#" in url or parts.username is not None or parts.password is not None:
        raise ValueError(bad)
    host = parts.hostname or ""
    if host.startswith("[") or ":" in host:  # IPv6 literal
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            raise ValueError(bad) from None
        host = f"[{host.strip('[]')}]"
    elif not _HOSTNAME.match(host):
        raise ValueError(bad)
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    if port == 0:
        raise ValueError(bad)
    return f"{scheme}://{host.lower().rstrip('.')}" + (f":{port}" if port not in (None, default) else "")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything ``kpi serve`` can configure (flag ``--x-y`` = env ``KPI_X_Y``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    certfile: str | None = None
    keyfile: str | None = None
    allowed_origins: tuple[str, ...] = ()
    token: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    namespace: str | None = None
    workers: int = 1
    templates_dir: str | None = None
    client_timeout: float = 15.0
    public_url: str | None = None

    def __post_init__(self) -> None:
        ns = naming.validate_namespace(self.namespace)
        object.__setattr__(self, "namespace", ns)
        if self.public_url is not None:
            object.__setattr__(self, "public_url", validate_public_url(self.public_url))
        object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        if self.max_request_bytes < 1024:
            raise ValueError("max_request_bytes must be at least 1024")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if not (0.5 <= self.client_timeout <= 3600):
            raise ValueError("client_timeout must be between 0.5 and 3600 seconds")
        if not (1 <= self.port <= 65535):
            raise ValueError(f"port {self.port} is not between 1 and 65535")
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("TLS needs both a certificate file and a key file")
        for origin in self.allowed_origins:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(f"allowed origin {origin!r} must look like https://host[:port] (no path) or be *")
        if self.token is not None and (self.token == "" or any(c.isspace() for c in self.token)):
            raise ValueError("the bearer token must be non-empty and contain no whitespace")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServerConfig:
        env = os.environ if environ is None else environ
        return cls(
            host=env.get("KPI_HOST", "127.0.0.1"),
            port=int(env.get("KPI_PORT", "8000")),
            certfile=env.get("KPI_CERTFILE") or None,
            keyfile=env.get("KPI_KEYFILE") or None,
            allowed_origins=tuple(_env_list(env.get("KPI_ALLOWED_ORIGINS"))),
            token=env.get("KPI_TOKEN") or None,
            max_request_bytes=int(env.get("KPI_MAX_REQUEST_BYTES", str(DEFAULT_MAX_REQUEST_BYTES))),
            namespace=env.get("KPI_NAMESPACE") or None,
            workers=int(env.get("KPI_WORKERS", "1")),
            templates_dir=env.get("KPI_TEMPLATES_DIR") or None,
            client_timeout=float(env.get("KPI_CLIENT_TIMEOUT", "15")),
            public_url=env.get("KPI_PUBLIC_URL") or None,
        )

    def to_env(self) -> dict[str, str]:
        """The ``KPI_*`` variables that reproduce this configuration (for workers)."""
        env = {
            "KPI_HOST": self.host,
            "KPI_PORT": str(self.port),
            "KPI_ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            "KPI_MAX_REQUEST_BYTES": str(self.max_request_bytes),
            "KPI_NAMESPACE": self.namespace or "",
            "KPI_WORKERS": str(self.workers),
            "KPI_CERTFILE": self.certfile or "",
            "KPI_KEYFILE": self.keyfile or "",
            "KPI_TEMPLATES_DIR": self.templates_dir or "",
            "KPI_CLIENT_TIMEOUT": f"{self.client_timeout:g}",
            "KPI_PUBLIC_URL": self.public_url or "",
        }
        if self.token:
            env["KPI_TOKEN"] = self.token
        return env


# --------------------------------------------------------------------------
# Request validation (pure functions, no xlwings needed)
# --------------------------------------------------------------------------
class BadRequest(Exception):
    """A request the backend refuses, with its HTTP status and a clear message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reject_constant(name: str) -> Any:
    raise BadRequest(400, f"malformed JSON: {name} is not a valid JSON number")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean_cell(v: Any, fn: str, arg: str, r: int, c: int) -> Any:
    """One cell of an Office.js argument as a plain Python value."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        if abs(v) <= 2**53:
            return v
        try:
            return float(v)  # huge JSON integers: Excel only has doubles
        except OverflowError:
            # Excel cannot hold it (its numbers are doubles), so no real workbook sends it
            raise BadRequest(
                400,
                f"{fn}: argument '{arg}', row {r}, column {c}: number out of range: {_show_big_int(v)} "
                "is beyond what Excel holds (about ±1.8e308)",
            ) from None
    if isinstance(v, float):
        return v
    if isinstance(v, dict):
        kind = v.get("type")
        if kind == "Error":
            basic = v.get("basicValue")
            if isinstance(basic, str) and basic in EXCEL_ERRORS:
                return basic
            err_type = v.get("errorType")
            if isinstance(err_type, str) and err_type in ERROR_TYPES:
                return ERROR_TYPES[err_type]
            raise BadRequest(400, f"{fn}: argument '{arg}', row {r}, column {c}: unknown Excel error value {_short(v)}")
        if "basicValue" in v:  # FormattedNumber, Double, String, Boolean cell values
            basic = v["basicValue"]
            if basic is None or isinstance(basic, (str, bool, int, float)):
                return _clean_cell(basic, fn, arg, r, c)
        raise BadRequest(
            400, f"{fn}: argument '{arg}', row {r}, column {c}: unsupported cell value of type {_short(kind)}"
        )
    raise BadRequest(400, f"{fn}: argument '{arg}', row {r}, column {c}: unsupported value {_short(v)}")


_PLAIN_CELLS = frozenset({str, bool, float, int, type(None)})


def _plain_matrix(value: list, width: int) -> bool:
    """True when every row has ``width`` cells and every cell is what :func:`_clean_cell` returns
    unchanged (text, booleans, null, floats, integers within ±2**53).

    The common case — a range of numbers or text — is checked with C-level passes
    instead of a Python call per cell (a 10,000-cell range: ~0.5 ms instead of ~10 ms);
    anything else takes the cell-by-cell path, which names the offending cell.
    """
    if set(map(len, value)) != {width}:
        return False
    cells = list(itertools.chain.from_iterable(value))
    kinds = set(map(type, cells))
    if not kinds <= _PLAIN_CELLS:
        return False
    return int not in kinds or all(-(2**53) <= v <= 2**53 for v in cells if type(v) is int)


def _clean_arg(value: Any, fn: str, arg: str) -> Any:
    """One Office.js argument: ``null`` (omitted) or a 2-D matrix of cells."""
    if value is None:
        return None
    if not isinstance(value, list):
        # a bare scalar is one cell (lenient: Office.js always sends a matrix)
        return [[_clean_cell(value, fn, arg, 1, 1)]]
    if len(value) == 0 or not all(isinstance(row, list) for row in value):
        raise BadRequest(400, f"{fn}: argument '{arg}' must be a 2-D array (a list of rows of cells)")
    width = len(value[0])
    if width == 0:
        raise BadRequest(400, f"{fn}: argument '{arg}' must be a 2-D array with at least one cell")
    if _plain_matrix(value, width):
        return value  # nothing to clean: every cell is already a plain value
    out = []
    for i, row in enumerate(value):
        if len(row) != width:
            raise BadRequest(
                400, f"{fn}: argument '{arg}': rows differ in length ({width} cells in row 1, {len(row)} in row {i + 1})"
            )
        out.append([_clean_cell(v, fn, arg, i + 1, j + 1) for j, v in enumerate(row)])
    return out


def _optional_text(data: dict, key: str, limit: int = 200) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > limit:
        raise BadRequest(400, f"'{key}' must be a string of at most {limit} characters or null")
    return v


_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(data: dict) -> None:
    """A lone UTF-16 surrogate (``"\\ud800"``) is not a character: it cannot be
    encoded, compared or written back, so it is refused with where it is (400)."""

    def bad(where: str, text: str) -> BadRequest:
        c = _LONE_SURROGATE.search(text).group()
        return BadRequest(400, f"{where}: text {_short(text)} holds a lone UTF-16 surrogate (U+{ord(c):04X}), "
                               "which is not a character")

    name = data.get("func_name")
    for key, value in data.items():
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise bad(f"'{key}'", value)
        if isinstance(key, str) and _LONE_SURROGATE.search(key):
            raise bad("a field name", key)
    args = data.get("args")
    if not isinstance(args, list):
        return
    fn = name if isinstance(name, str) and not _LONE_SURROGATE.search(name) else "the call"
    for i, arg in enumerate(args):
        rows = arg if isinstance(arg, list) else [[arg]]
        for r, row in enumerate(rows):
            for c, cell in enumerate(row if isinstance(row, list) else [row]):
                texts = [cell] if isinstance(cell, str) else [
                    v for v in (cell.values() if isinstance(cell, dict) else []) if isinstance(v, str)]
                for t in texts:
                    if _LONE_SURROGATE.search(t):
                        raise bad(f"{fn}: argument {i + 1}, row {r + 1}, column {c + 1}", t)


def parse_call(body: bytes, functions: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Validate a custom-functions call; return the adapter name and clean xlwings data.

    ``functions`` maps adapter names (``KPI_NPS``) to the adapters. Raises
    :class:`BadRequest` with the status and a message for anything malformed.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed request: the body is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except BadRequest:
        raise
    except (ValueError, RecursionError) as err:  # JSONDecodeError, or an integer of >4300 digits
        raise BadRequest(400, f"malformed JSON: {err}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "the request body must be a JSON object with 'func_name' and 'args'")
    if _MAYBE_SURROGATE.search(body):  # a \uD800-\uDFFF escape: only then look for a lone one
        _refuse_lone_surrogates(data)
    name = data.get("func_name")
    if not isinstance(name, str) or not name:
        raise BadRequest(400, "'func_name' must be the name of a KPI function, e.g. \"KPI_NPS\"")
    key = name.strip().upper()
    if "." in key:  # a namespaced name, NS.KPI_NPS
        key = key.rsplit(".", 1)[1]
    adapter = functions.get(key)
    if adapter is None:
        raise BadRequest(404, f"unknown function {_short(name)}: there is no KPI function of that name")
    spec = adapter.kpi_spec
    args = data.get("args")
    if not isinstance(args, list):
        raise BadRequest(400, f"{spec.excel_name}: 'args' must be a JSON array with one entry per argument")
    n_all, n_req = len(spec.args), len(spec.required)
    if not (n_req <= len(args) <= n_all):
        names = ", ".join(a.name for a in spec.args)
        want = f"{n_all}" if n_all == n_req else f"{n_req} to {n_all}"
        raise BadRequest(
            400, f"{spec.excel_name} takes {want} argument(s) ({names}); the request has {len(args)}"
        )
    clean = [_clean_arg(v, spec.excel_name, a.name) for v, a in zip(args, spec.args)]
    runtime = data.get("runtime", "1.1")
    if isinstance(runtime, bool) or not isinstance(runtime, (str, int, float)):
        raise BadRequest(400, "'runtime' must be the custom-functions runtime version, e.g. \"1.4\"")
    runtime = str(runtime)
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", runtime):
        raise BadRequest(400, "'runtime' must be the custom-functions runtime version, e.g. \"1.4\"")
    # the workbook's short-date pattern; without one (ExcelApi < 1.12) dates would
    # spill as bare serial numbers, so fall back to ISO dates
    date_format = _optional_text(data, "date_format", 64) or "yyyy-mm-dd"
    culture = _optional_text(data, "culture_info_name", 64)
    caller = _optional_text(data, "caller_address", 1000)
    import xlwings

    clean_data = {
        "func_name": key,
        "args": clean,
        "client": "Office.js",
        "version": xlwings.__version__,
        "runtime": runtime,
        "date_format": date_format,
        "culture_info_name": culture,
        "caller_address": caller,
    }
    return key, clean_data


# --------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------
def _configure_xlwings_server(config: ServerConfig) -> None:
    """Set xlwings-server's settings; must run before xlwings or xlwings-server is first imported."""
    if "xlwings_server.config" in sys.modules:
        raise RuntimeError("xlwings-server was imported before the backend was configured; start it with `kpi serve`")
    if "xlwings" in sys.modules:
        import xlwings

        if getattr(xlwings, "on_server", False) is not True:
            raise RuntimeError(
                "xlwings was imported before the server was configured, so its decorators are not the "
                "Office.js ones; start the backend with `kpi serve` (a fresh process)"
            )
    if not os.environ.get("XLWINGS_LICENSE_KEY"):
        raise LicenceMissing(
            "The Office.js backend uses xlwings PRO (xlwings.server and the xlwings-server package). "
            "Set XLWINGS_LICENSE_KEY=noncommercial for noncommercial use (PolyForm Noncommercial 1.0.0), "
            "or to your xlwings PRO licence key for commercial use. The classic Windows add-in and "
            "xlwings Lite (`kpi lite`) need no key."
        )
    os.environ["XLWINGS_ON_SERVER"] = "true"
    os.environ["XLWINGS_PROJECT_DIR"] = str(PROJECT_DIR)
    settings = {
        "XLWINGS_ENVIRONMENT": "prod",
        "XLWINGS_PROJECT_NAME": "KPI functions",
        "XLWINGS_FUNCTIONS_NAMESPACE": config.namespace or "",
        "XLWINGS_MANIFEST_ID_PROD": MANIFEST_ID,
        "XLWINGS_ENABLE_SOCKETIO": "false",
        "XLWINGS_ENABLE_HOTRELOAD": "false",
        "XLWINGS_ENABLE_EXAMPLES": "false",
        "XLWINGS_ENABLE_HTMX": "false",
        "XLWINGS_ENABLE_WASM": "false",
        "XLWINGS_ENABLE_TESTS": "false",
        "XLWINGS_CORS_ALLOW_ORIGINS": "[]",  # CORS is ours (below)
        "XLWINGS_AUTH_PROVIDERS": "[]",  # the bearer token is ours (below)
        "XLWINGS_CUSTOM_FUNCTIONS_MAX_RETRIES": "2",
        "XLWINGS_CUSTOM_FUNCTIONS_RETRY_CODES": "[502, 503, 504]",
        "XLWINGS_TASKPANE_HTML": "kpi_taskpane.html",
    }
    os.environ.update(settings)


def _templates_dir(config: ServerConfig) -> Path | None:
    if config.templates_dir:
        return Path(config.templates_dir)
    spec = importlib.util.find_spec("workbook_templates")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "templates"


def list_templates(directory: Path | None) -> list[dict[str, Any]]:
    """The report templates on offer: regular ``.xlsx`` files directly in ``directory``."""
    if directory is None or not directory.is_dir():
        return []
    out = []
    root = directory.resolve()
    for p in sorted(directory.iterdir()):
        if p.suffix.lower() != ".xlsx" or p.name.startswith((".", "~$")):
            continue
        try:
            real = p.resolve(strict=True)
        except OSError:
            continue
        if real.parent != root or not real.is_file():  # no symlinks out of the folder
            continue
        size = real.stat().st_size
        out.append({"name": p.name, "path": real, "size": size, "url": "/templates/" + quote(p.name, safe="")})
    return out


def _human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def create_app(config: ServerConfig | None = None) -> Callable:
    """Build the ASGI app of the backend."""
    config = config or ServerConfig.from_env()
    _configure_xlwings_server(config)

    import xlwings as xw
    import xlwings.server

    from . import adapters

    if getattr(xw, "on_server", False) is not True or not all(hasattr(f, "__xlfunc__") for f in adapters.ADAPTERS.values()):
        raise RuntimeError("the adapters were not decorated by xlwings' server-mode decorators")
    _fast_jsnull_check()
    # xlwings-server imports `custom_functions` for its own routes: make it ours
    sys.modules.setdefault("custom_functions", adapters)
    from xlwings_server import main as xs_main
    from xlwings_server.config import settings as xs_settings
    from xlwings_server.templates import templates as xs_templates

    from kpi_functions import __version__ as kpi_version
    from kpi_functions import _docs

    xs_app = xs_main.app
    functions = dict(adapters.ADAPTERS)
    templates_dir = _templates_dir(config)
    started = time.time()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="KPI add-in backend")

    def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return error_json(404, f"not found: {request.url.path}")

    @app.exception_handler(405)
    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return error_json(405, f"method {request.method} is not allowed on {request.url.path}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, _log_safe(request.url.path))
        return error_json(500, "internal error; the server log has details")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "functions": len(functions),
            "namespace": config.namespace,
            "version": kpi_version,
            "xlwings": xw.__version__,
            "uptime_seconds": round(time.time() - started, 1),
        }

    @app.get("/xlwings/custom-functions-meta")
    @app.get("/xlwings/custom-functions-meta.json")
    async def custom_functions_meta() -> dict[str, Any]:
        return xlwings.server.custom_functions_meta(adapters)

    code_js = _custom_functions_js(functions, xw.__version__, xs_settings.app_path + CALL_PATH)

    @app.get("/xlwings/custom-functions-code")
    @app.get("/xlwings/custom-functions-code.js")
    async def custom_functions_code() -> Response:
        return Response(code_js, media_type="text/javascript")

    @app.post(CALL_PATH)
    async def custom_functions_call(request: Request) -> Response:
        body = await request.body()  # already buffered (and size-checked) by _Guard
        # everything CPU-bound — JSON parsing, validation, xlwings' argument
        # conversion, the KPI, the result's conversion and serialisation — runs in
        # a worker thread, so one large call does not stop the event loop from
        # answering others (/health, small calls)
        status, content = await asyncio.to_thread(_answer_call, body, functions, xlwings.server, adapters)
        return Response(content, status_code=status, media_type="application/json")

    def catalog(namespace: str | None) -> list[dict[str, Any]]:
        order = {c: i for i, c in enumerate(CATEGORIES)}
        out = []
        for spec in sorted((a.kpi_spec for a in functions.values()), key=lambda sp: order.get(sp.category, len(order))):
            typed = naming.typed_name(spec.excel_name, "officejs", namespace)
            out.append({
                "name": spec.excel_name,
                "typed": typed,
                "signature": spec.signature_text.replace(spec.excel_name, typed, 1),
                "summary": spec.summary,
                "formula": spec.formula,
                "category": spec.category,
                "args": [{"name": a.name, "help": a.help, "optional": a.optional} for a in spec.args],
                "example": _docs.example_formula(spec, namespace or ""),
                "search": " ".join([spec.excel_name, spec.name, spec.summary, spec.category, *spec.aliases]).lower(),
            })
        return out

    @app.get("/xlwings/custom-scripts-meta")
    @app.get("/xlwings/custom-scripts-meta.json")
    async def custom_scripts_meta() -> Any:
        # xlwings' task-pane runtime asks for the scripts it could run: none here
        return xlwings.server.custom_scripts_meta(_NoScripts())

    @app.get("/taskpane")
    @app.get("/taskpane.html")
    async def taskpane(request: Request) -> Response:
        tpls = [{"name": t["name"], "url": t["url"], "size": _human_size(t["size"])} for t in list_templates(templates_dir)]
        return xs_templates.TemplateResponse(
            request=request,
            name="kpi_taskpane.html",
            context={"functions": (fns := catalog(config.namespace)),
                     "categories": [(c, [f for f in fns if f["category"] == c])
                                    for c in dict.fromkeys(f["category"] for f in fns)],
                     "report_templates": tpls,
                     "namespace": config.namespace, "token_required": bool(config.token)},
        )

    @app.get("/templates")
    async def templates_index() -> dict[str, Any]:
        return {"templates": [{"name": t["name"], "url": t["url"], "bytes": t["size"]} for t in list_templates(templates_dir)]}

    @app.get("/templates/{name}")
    async def template_file(name: str) -> Response:
        for t in list_templates(templates_dir):
            if t["name"] == name:  # only names from the listing: no path is ever built from input
                return FileResponse(
                    t["path"], filename=t["name"],
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
        return error_json(404, f"no report template named {_short(name)}")

    delegated = re.compile(r"^/(manifest(\.xml)?|manifest/download|favicon\.ico|static/.*)$")

    async def dispatch(scope, receive, send):
        path = scope.get("path", "")
        if (scope["type"] == "http" and delegated.match(path) and scope.get("method") in ("GET", "HEAD")
                and not _escapes(path)):
            await xs_app(scope, receive, send)
        else:
            await app(scope, receive, send)

    guarded = _Guard(dispatch, config, security_headers())
    if config.allowed_origins:
        guarded = CORSMiddleware(
            guarded,
            allow_origins=list(config.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Auth-Provider"],
            allow_credentials=False,
            max_age=600,
        )
    return _LastResort(guarded)


def _fast_jsnull_check() -> None:
    """Skip xlwings' per-cell Pyodide probe: this backend never runs in Pyodide.

    xlwings 0.37.8's Office.js engine asks, for every cell it reads, whether the
    value is Pyodide's ``JsNull`` by attempting ``from pyodide.ffi import JsNull``.
    Outside Pyodide that import fails each time, at about 0.7 ms per cell (a
    10,000-row table took 8 s instead of 0.3 s). The answer here is always "no".
    """
    if sys.platform == "emscripten":  # pragma: no cover - never on a server
        return
    from xlwings.pro import _xlofficejs, udfs_officejs

    if hasattr(_xlofficejs, "_is_jsnull"):
        _xlofficejs._is_jsnull = lambda value: False
    # the same probe runs once per argument of every call (to_scalar -> js_to_none):
    # ~0.1 ms each, a tenth of a small call's time
    if hasattr(udfs_officejs, "js_to_none"):
        udfs_officejs.js_to_none = lambda arg: arg


class _NoScripts:
    """A module-like object without custom scripts."""


class _OneFunction:
    """A module-like object exposing one function to ``custom_functions_call``."""

    def __init__(self, name: str, func: Callable) -> None:
        setattr(self, name, func)


def _call_adapter(adapter: Callable, args: tuple) -> Any:
    """Run an adapter; a library bug becomes a #VALUE! with a pointer to the log."""
    from . import adapters

    try:
        return adapter(*args)
    except Exception:
        name = adapter.kpi_spec.excel_name
        logger.exception("%s raised an unexpected error", name)
        return adapters.ExcelError("#VALUE!", f"{name}: unexpected error in the KPI library; the server log has details")


_LOOPS = threading.local()
#: bodies from this size on are answered with the cyclic garbage collector paused
GC_PAUSE_BYTES = 256 * 1024
_GC_LOCK = threading.Lock()
_GC_HOLDERS = 0
_GC_WAS_ENABLED = [False]


class _NoCyclicGC:
    """Pause Python's *cyclic* garbage collector while a large call is answered.

    Parsing a large body and converting its cells allocates millions of small,
    acyclic objects (lists, floats, strings) that stay alive until the call ends.
    Each allocation burst triggers generation-2 passes of the cyclic collector
    that rescan every live object while holding the GIL — measured at up to
    0.5 s each for a 4 M-cell call, during which no other request (``/health``,
    a small call) is served, and they tripled ``json.loads``' time. Reference
    counting still frees everything as usual; only the cycle detector waits.
    Paused only for bodies of ``GC_PAUSE_BYTES`` or more, counted across
    concurrent calls (re-enabled when the last one ends), and never if the
    application had disabled it itself.
    """

    def __enter__(self) -> None:
        global _GC_HOLDERS
        with _GC_LOCK:
            if _GC_HOLDERS == 0:
                _GC_WAS_ENABLED[0] = gc.isenabled()
                gc.disable()
            _GC_HOLDERS += 1

    def __exit__(self, *exc: object) -> None:
        global _GC_HOLDERS
        with _GC_LOCK:
            _GC_HOLDERS -= 1
            if _GC_HOLDERS == 0 and _GC_WAS_ENABLED[0]:
                gc.enable()


def _run_coroutine(coro: Any) -> Any:
    """Run a coroutine to completion in this worker thread (its own event loop)."""
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOOPS.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def _json_bytes(payload: Any) -> bytes:
    # as Starlette's JSONResponse renders, but in the worker thread
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def _answer_call(body: bytes, functions: dict[str, Any], xlserver: Any, adapters: Any) -> tuple[int, bytes]:
    """One custom-functions call, start to finish, in a worker thread: (status, JSON body)."""
    with _NoCyclicGC() if len(body) >= GC_PAUSE_BYTES else contextlib.nullcontext():
        return _answer_call_inner(body, functions, xlserver, adapters)


def _answer_call_inner(body: bytes, functions: dict[str, Any], xlserver: Any, adapters: Any) -> tuple[int, bytes]:
    t0 = time.perf_counter()
    try:
        name, data = parse_call(body, functions)
    except BadRequest as err:
        logger.info("call rejected (%s): %s", err.status, _log_safe(err.message))
        return err.status, _json_bytes({"detail": err.message})
    del body
    adapter = functions[name]
    box: list[Any] = []

    async def run(*args: Any) -> Any:  # called by xlwings once it has converted the arguments
        rv = _call_adapter(adapter, args)
        box.append(rv)
        return rv

    run.__xlfunc__ = adapter.__xlfunc__  # type: ignore[attr-defined]
    try:
        result = _run_coroutine(xlserver.custom_functions_call(data, _OneFunction(name, run)))
        payload: dict[str, Any] = {"result": result}
        rv = box[0] if box else None
        if isinstance(rv, adapters.ExcelError):
            payload["error"] = {"code": rv.code, "message": rv.message}
        content = _json_bytes(payload)
    except Exception:  # conversion problem: our bug, never the caller's
        logger.exception("%s: converting the call failed", name)
        return 500, _json_bytes({"detail": f"{name}: the backend could not convert this call; the server log has details"})
    logger.info("%s answered in %.1f ms%s", name, (time.perf_counter() - t0) * 1000,
                f" ({rv.code})" if isinstance(rv, adapters.ExcelError) else "")
    return 200, content


def _escapes(path: str) -> bool:
    """True for a (decoded) path that could leave a static folder.

    xlwings-server looks a static path up in the project folder first with no
    containment check (``OverridableStaticFiles.lookup_path``), so
    ``/static/../../etc/passwd`` would read any file the server can read.
    Such paths never reach it: a ``..``/``.`` segment, a backslash, a drive
    colon or a NUL byte is refused (404).
    """
    return any(p in ("..", ".") or "\\" in p or ":" in p or "\x00" in p for p in path.split("/"))


def _log_safe(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")[:300]


#: a request body must arrive in full within this many times ``--client-timeout``
BODY_DEADLINE_FACTOR = 4
#: routes whose pages Office frames (the task pane); every other answer forbids framing
FRAMED_PATHS = frozenset({"/taskpane", "/taskpane.html"})
_JSON_TYPE = re.compile(rb"^\s*application/json\s*(;\s*charset\s*=\s*\"?utf-8\"?\s*)?$", re.IGNORECASE)
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def security_headers() -> dict[str, str]:
    """The headers xlwings-server adds to its own answers (its OWASP set, for Excel on
    the web), for ours too; framing is decided per route by :class:`_Guard`."""
    from xlwings_server.config import settings as xs_settings
    from xlwings_server.security_headers import resolve_security_headers

    return resolve_security_headers(excel_online=xs_settings.enable_excel_online,
                                    cdn_officejs=xs_settings.cdn_officejs)


def _host_value(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{host}:{port}"


class _Guard:
    """The backend's front door, as pure ASGI, before anything reads a body:

    - the origin: every URL the backend writes (manifest, redirects) is built on
      ``--public-url``, or on the address it listens on; a ``Host`` header
      naming another host is replaced, ``X-Forwarded-*`` headers are dropped;
    - security headers on every answer (xlwings-server's set, no framing except
      the task pane);
    - routes that take no body refuse one (400) without reading it;
    - the call route: bearer token (401), ``Content-Type: application/json`` (415),
      size (413) — all before the body is read — then the body, in full within
      ``--client-timeout`` seconds (408).
    """

    def __init__(self, app: Callable, config: ServerConfig, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.token = config.token.encode() if config.token else None
        self.limit = config.max_request_bytes
        self.timeout = config.client_timeout
        scheme = "https" if config.certfile else "http"
        if config.public_url:
            self.scheme, _, hostport = config.public_url.partition("://")
            self.trusted: frozenset[bytes] = frozenset()
        else:
            self.scheme = scheme
            bind = "localhost" if config.host in _WILDCARD_HOSTS else config.host
            hostport = _host_value(bind, config.port)
            names = {*_LOOPBACK_NAMES, _host_value(bind, config.port).rsplit(":", 1)[0]}
            trusted = {f"{n}:{config.port}" for n in names}
            if config.port == (443 if scheme == "https" else 80):
                trusted |= names
            self.trusted = frozenset(t.lower().encode() for t in trusted)
        self.host = hostport.encode()
        name, colon, port = hostport.rpartition(":")
        if not colon or not port.isdigit() or name.endswith("[") or hostport.endswith("]"):
            name, port = hostport, ("443" if self.scheme == "https" else "80")
        self.server = (name.strip("[]"), int(port))
        base = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.headers = base
        self.no_frame = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope = self._pinned(scope)
        path, method = scope.get("path", ""), scope.get("method")
        send = self._with_headers(send, path)
        headers = scope["headers"]
        declared = [v for k, v in headers if k == b"content-length"]
        chunked = any(k == b"transfer-encoding" for k, _ in headers)
        takes_body = path == CALL_PATH and method == "POST"
        if not takes_body:
            if chunked or any(v.strip() not in (b"0", b"") for v in declared):
                return await _send_json(send, 400, f"{method} {_log_safe(path)[:100]} takes no request body",
                                        {"connection": "close"})
            return await self.app(scope, receive, send)
        if self.token is not None:
            problem = self._check_token(scope)
            if problem:
                return await _send_json(send, 401, problem, {"www-authenticate": 'Bearer realm="kpi"'})
        types = [v for k, v in headers if k == b"content-type"]
        if len(types) != 1 or not _JSON_TYPE.match(types[0]):
            given = types[0].decode("latin-1") if types else "none"
            return await _send_json(send, 415, f"the call route takes Content-Type: application/json "
                                               f"(the request has {_short(given)})", {"connection": "close"})
        if declared:
            try:
                n = int(declared[0])
            except ValueError:
                return await _send_json(send, 400, "malformed Content-Length header")
            if n > self.limit:
                return await _send_json(send, 413, self._too_big(n), {"connection": "close"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BODY_DEADLINE_FACTOR * self.timeout
        body = bytearray()
        more = True
        while more:
            # no pause over --client-timeout, and the whole body within BODY_DEADLINE_FACTOR
            # times that: a client trickling a byte now and then is cut off too (slowloris)
            left = deadline - loop.time()
            try:
                message = await asyncio.wait_for(receive(), max(min(self.timeout, left), 0.0))
            except TimeoutError:
                why = (f"paused over {self.timeout:g} s" if left > self.timeout else
                       f"not complete within {BODY_DEADLINE_FACTOR * self.timeout:g} s")
                return await _send_json(send, 408, f"request body not received in time ({why}; "
                                                   "kpi serve --client-timeout)", {"connection": "close"})
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await _send_json(send, 413, self._too_big(None), {"connection": "close"})
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    def _pinned(self, scope: dict) -> dict:
        """The scope with its origin pinned: scheme, Host and server from the configuration."""
        scope = dict(scope)
        headers = []
        host = None
        for k, v in scope.get("headers") or []:
            if k == b"host":
                host = v if host is None else b""
            elif k.startswith(b"x-forwarded-") or k == b"forwarded":
                continue  # never trusted: --public-url says where the backend is reached
            else:
                headers.append((k, v))
        if host and host.strip().lower() in self.trusted:
            headers.append((b"host", host.strip()))
        else:
            headers.append((b"host", self.host))
            scope["server"] = self.server
        scope["headers"] = headers
        scope["scheme"] = self.scheme
        return scope

    def _with_headers(self, send: Callable, path: str) -> Callable:
        extra = self.headers if path in FRAMED_PATHS else self.headers + self.no_frame

        async def sending(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers") or []}
                add = [(k, v) for k, v in extra if k not in have]
                message = {**message, "headers": [*(message.get("headers") or []), *add]}
            await send(message)

        return sending

    def _too_big(self, n: int | None) -> str:
        got = f" ({n} bytes)" if n is not None else ""
        return f"request body too large{got}: the limit is {self.limit} bytes (kpi serve --max-request-bytes)"

    def _check_token(self, scope) -> str | None:
        values = [v for k, v in scope.get("headers") or [] if k == b"authorization" and v.strip()]
        if not values:
            return "missing bearer token: send the header 'Authorization: Bearer <token>'"
        scheme, _, given = values[0].partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            return "malformed Authorization header: expected 'Bearer <token>'"
        if not secrets.compare_digest(given.strip(), self.token):
            return "invalid bearer token"
        return None


class _LastResort:
    """Never let an exception escape as a traceback: answer 500 with a short message."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s", _log_safe(str(scope.get("path"))))
            if scope["type"] == "http" and not started:
                await _send_json(send, 500, "internal error; the server log has details")


async def _send_json(send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    for k, v in (extra or {}).items():
        headers.append((k.encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------
# The custom-functions JavaScript
# --------------------------------------------------------------------------
_KPI_JS = r"""
// ---------------------------------------------------------------------------
// KPI add-in: per-function stubs and error messages.
// The backend answers a KPI error with the Excel error in `result` and
// {"error": {"code", "message"}}. We surface it as CustomFunctions.Error so
// Excel shows the message (Excel allows a custom message with #VALUE! and
// #N/A only; for #NUM! and #DIV/0! the message goes to the task pane's
// "Recent errors" list and the console).
// ---------------------------------------------------------------------------
placeholder_kpi_error_codes
globalThis.kpiRecentErrors = globalThis.kpiRecentErrors || [];

function kpiHookRequests() {
  const req = globalThis.xwRequest;
  if (!req || req.kpiHooked) {
    return;
  }
  const post = req.post;
  globalThis.xwRequest = {
    ...req,
    kpiHooked: true,
    post: async (url, body, opts) => {
      const response = await post(url, body, opts);
      const data = response ? response.data : null;
      if (
        data && typeof data === "object" && data.error && typeof data.error === "object" &&
        String(url).endsWith("placeholder_kpi_call_path")
      ) {
        const kpiError = {
          code: String(data.error.code),
          message: String(data.error.message || ""),
          address: body && body.caller_address ? body.caller_address : null,
        };
        return { ...response, data: { ...data, result: { kpiError: kpiError } } };
      }
      return response;
    },
  };
}

function kpiRecordError(error) {
  const entry = { ...error, time: new Date().toISOString() };
  globalThis.kpiRecentErrors.unshift(entry);
  globalThis.kpiRecentErrors.length = Math.min(globalThis.kpiRecentErrors.length, 50);
  console.warn(`${error.address || ""} ${error.code} ${error.message}`);
  try {
    globalThis.dispatchEvent(new CustomEvent("kpi-error", { detail: entry }));
  } catch (e) {
    // no DOM events in this runtime
  }
}

function kpiResult(result) {
  if (!result || typeof result !== "object" || !result.kpiError) {
    return result;
  }
  const { code, message } = result.kpiError;
  kpiRecordError(result.kpiError);
  const supported =
    typeof CustomFunctions !== "undefined" &&
    typeof CustomFunctions.Error === "function" &&
    Office.context.requirements.isSetSupported("CustomFunctionsRuntime", "1.2");
  if (!supported) {
    return [[`${code} ${message}`]];
  }
  const name = KPI_ERROR_CODES[code];
  if (!name) {
    // Excel cannot return this error from a custom function (#REF!, #NAME?, ...)
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue, message);
  }
  if (KPI_MESSAGE_CODES.has(code)) {
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode[name], message);
  }
  throw new CustomFunctions.Error(CustomFunctions.ErrorCode[name]);
}
"""


def _xlwings_server_js() -> str:
    import xlwings_server

    path = Path(xlwings_server.__file__).parent / "static" / "js" / "custom-functions" / "custom-functions-code.js"
    return path.read_text(encoding="utf-8")


def _custom_functions_js(functions: dict[str, Any], xlwings_version: str, call_path: str) -> str:
    """xlwings-server's custom-functions runtime plus one stub per KPI function."""
    js = _xlwings_server_js()
    js = js.replace("placeholder_xlwings_version", xlwings_version).replace(
        "placeholder_custom_functions_call_path", call_path
    )
    js += _KPI_JS.replace("placeholder_kpi_call_path", call_path).replace("placeholder_kpi_error_codes", officejs_errors_js())
    for name in functions:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):  # registry names only; never user input
            raise ValueError(f"unexpected function name {name!r}")
        js += (
            f"\nasync function {name}() {{\n"
            f"  kpiHookRequests();\n"
            f"  return kpiResult(await base({{ funcName: \"{name}\", isStreaming: false, isCached: false, "
            f"callerScoped: false }}, ...arguments));\n"
            f"}}\n"
            f"CustomFunctions.associate(\"{name}\", {name});\n"
        )
    return js


def app_from_env() -> Callable:
    """ASGI factory for uvicorn (``addin.server:app_from_env``), configured by ``KPI_*``."""
    return create_app(ServerConfig.from_env())
