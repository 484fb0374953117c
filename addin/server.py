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
import dataclasses
import importlib.util
import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware

from kpi_functions import EXCEL_ERRORS
from kpi_functions._registry import CATEGORIES

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
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024

#: Office.js error cell types (``Excel.ErrorCellValue.errorType``) -> error value.
ERROR_TYPES = {
    "Div0": "#DIV/0!",
    "NotAvailable": "#N/A",
    "Value": "#VALUE!",
    "Num": "#NUM!",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Ref": "#REF!",
    "Spill": "#SPILL!",
    "Calc": "#CALC!",
    "Field": "#FIELD!",
    "Busy": "#BUSY!",
    "Connect": "#CONNECT!",
    "Blocked": "#BLOCKED!",
    "GettingData": "#GETTING_DATA",
    "Unknown": "#UNKNOWN!",
}


class LicenceMissing(RuntimeError):
    """xlwings server mode needs ``XLWINGS_LICENSE_KEY`` (``noncommercial`` or a key)."""


def _env_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


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

    def __post_init__(self) -> None:
        ns = naming.validate_namespace(self.namespace)
        object.__setattr__(self, "namespace", ns)
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
            raise BadRequest(400, f"{fn}: argument '{arg}', row {r}, column {c}: number out of range") from None
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
        out.append({"name": p.name, "path": real, "size": size, "url": f"/templates/{p.name}"})
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
    async def custom_functions_call(request: Request) -> JSONResponse:
        body = await request.body()
        t0 = time.perf_counter()
        try:
            name, data = parse_call(body, functions)
        except BadRequest as err:
            logger.info("call rejected (%s): %s", err.status, _log_safe(err.message))
            return error_json(err.status, err.message)
        adapter = functions[name]
        box: list[Any] = []

        async def run(*args: Any) -> Any:
            rv = await asyncio.to_thread(_call_adapter, adapter, args)
            box.append(rv)
            return rv

        run.__xlfunc__ = adapter.__xlfunc__  # type: ignore[attr-defined]
        module = _OneFunction(name, run)
        try:
            result = await xlwings.server.custom_functions_call(data, module)
        except Exception:  # conversion problem: our bug, never the caller's
            logger.exception("%s: converting the call failed", name)
            return error_json(500, f"{name}: the backend could not convert this call; the server log has details")
        payload: dict[str, Any] = {"result": result}
        rv = box[0] if box else None
        if isinstance(rv, adapters.ExcelError):
            payload["error"] = {"code": rv.code, "message": rv.message}
        logger.info("%s answered in %.1f ms%s", name, (time.perf_counter() - t0) * 1000,
                    f" ({rv.code})" if isinstance(rv, adapters.ExcelError) else "")
        return JSONResponse(payload)

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

    guarded = _Guard(dispatch, config)
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


class _Guard:
    """Bearer token (call route) and request-size limit (every request), as pure ASGI."""

    def __init__(self, app: Callable, config: ServerConfig) -> None:
        self.app = app
        self.token = config.token.encode() if config.token else None
        self.limit = config.max_request_bytes
        self.timeout = config.client_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.token is not None and scope.get("path") == CALL_PATH and scope.get("method") != "OPTIONS":
            problem = self._check_token(scope)
            if problem:
                return await _send_json(send, 401, problem, {"www-authenticate": 'Bearer realm="kpi"'})
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                return await _send_json(send, 400, "malformed Content-Length header")
            if n > self.limit:
                return await _send_json(send, 413, self._too_big(n))
        body = bytearray()
        more = True
        while more:
            try:  # a client that stops sending its body is cut off (slowloris)
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                return await _send_json(send, 408, "request body not received in time", {"connection": "close"})
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await _send_json(send, 413, self._too_big(None))
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

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
const KPI_ERROR_CODES = {
  "#VALUE!": "invalidValue",
  "#N/A": "notAvailable",
  "#DIV/0!": "divisionByZero",
  "#NUM!": "invalidNumber",
  "#NULL!": "nullReference",
};
const KPI_MESSAGE_CODES = new Set(["#VALUE!", "#N/A"]);
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
    js += _KPI_JS.replace("placeholder_kpi_call_path", call_path)
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
