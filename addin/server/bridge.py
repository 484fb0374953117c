"""Every touch of xlwings, xlwings-server and uvicorn beyond their plain public API.

The backend leans on these packages' internals in a few places; they are all
here, each named in :data:`UPSTREAM` (patched or used attributes) or
:data:`JS_PLACEHOLDERS` (strings replaced in xlwings-server's JavaScript), so
that :func:`upstream_problems` — run by the tests — fails loudly when an
upgrade removes one instead of the backend silently losing a patch:

- xlwings-server's settings, set in the environment before xlwings or
  xlwings-server is first imported (:func:`configure`);
- ``sys.modules["custom_functions"]``: xlwings-server's routers import a
  ``custom_functions`` module; it is our adapters (:func:`load_adapters`);
- the per-cell Pyodide probe of xlwings' Office.js engine, replaced by a
  constant (:func:`skip_jsnull_probe`);
- xlwings-server's custom-functions JavaScript, read from its package and
  filled in (:func:`custom_functions_js`);
- xlwings-server's task-pane page, whose ``js/officejs/taskpane-reload.js`` our
  project folder replaces (:data:`BASE_HTML_NEEDS`);
- xlwings-server's app, settings, templates and security headers
  (:class:`XlwingsServer`);
- uvicorn's httptools protocol with a deadline for request headers
  (:class:`HeaderTimeoutProtocol`) and the uvicorn settings ``kpi serve``
  runs with (:func:`run_uvicorn`).

Nothing here imports xlwings at module level: xlwings reads
``XLWINGS_ON_SERVER`` when first imported, so :func:`configure` runs first.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from kpi_functions.excel import officejs_errors_js

from .config import MANIFEST_ID, PROJECT_DIR, LicenceMissing, ServerConfig, client_timeout

__all__ = [
    "BASE_HTML_NEEDS",
    "JS_PLACEHOLDERS",
    "UPSTREAM",
    "HeaderTimeoutProtocol",
    "XlwingsServer",
    "configure",
    "custom_functions_js",
    "load_adapters",
    "run_uvicorn",
    "skip_jsnull_probe",
    "upstream_problems",
    "xlwings_version",
]

#: (module, dotted attribute) of every upstream name the backend patches or relies on
UPSTREAM: tuple[tuple[str, str], ...] = (
    ("xlwings", "on_server"),
    ("xlwings", "__version__"),
    ("xlwings.server", "custom_functions_call"),
    ("xlwings.server", "custom_functions_meta"),
    ("xlwings.server", "custom_scripts_meta"),
    ("xlwings.pro._xlofficejs", "_is_jsnull"),  # patched: skip_jsnull_probe
    ("xlwings.pro.udfs_officejs", "js_to_none"),  # patched: skip_jsnull_probe
    ("xlwings_server.main", "app"),
    ("xlwings_server.config", "settings.app_path"),
    ("xlwings_server.config", "settings.enable_excel_online"),
    ("xlwings_server.config", "settings.cdn_officejs"),
    ("xlwings_server.config", "settings.taskpane_reload_attempts"),
    ("xlwings_server.templates", "templates.TemplateResponse"),
    ("xlwings_server.security_headers", "resolve_security_headers"),
    # subclassed: HeaderTimeoutProtocol
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol.connection_made"),
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol.on_message_begin"),
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol.on_headers_complete"),
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol.connection_lost"),
)
#: the path of xlwings-server's custom-functions runtime inside its package
XLWINGS_SERVER_JS = ("static", "js", "custom-functions", "custom-functions-code.js")
#: placeholders in xlwings-server's runtime that :func:`custom_functions_js` fills in
JS_PLACEHOLDERS = ("placeholder_xlwings_version", "placeholder_custom_functions_call_path")
#: what xlwings-server's task-pane page (templates/base.html) must still hold for our replacement of its
#: js/officejs/taskpane-reload.js (addin/xlwings_project/static: no reloads outside Excel) to take effect
BASE_HTML_NEEDS = ("/js/officejs/taskpane-reload.js", 'id="xlwings-office-ready-error"',
                   'id="xlwings-taskpane-reload-btn"', "settings.jsconfig")
#: xlwings-server's settings, as the environment variables it reads
XLWINGS_SETTINGS = {
    "XLWINGS_ENVIRONMENT": "prod",
    "XLWINGS_PROJECT_NAME": "KPI functions",
    "XLWINGS_MANIFEST_ID_PROD": MANIFEST_ID,
    "XLWINGS_ENABLE_SOCKETIO": "false",
    "XLWINGS_ENABLE_HOTRELOAD": "false",
    "XLWINGS_ENABLE_EXAMPLES": "false",
    "XLWINGS_ENABLE_HTMX": "false",
    "XLWINGS_ENABLE_WASM": "false",
    "XLWINGS_ENABLE_TESTS": "false",
    "XLWINGS_CORS_ALLOW_ORIGINS": "[]",  # CORS is ours (addin.server.app)
    "XLWINGS_AUTH_PROVIDERS": "[]",  # the bearer token is ours (addin.server.middleware)
    "XLWINGS_CUSTOM_FUNCTIONS_MAX_RETRIES": "2",
    "XLWINGS_CUSTOM_FUNCTIONS_RETRY_CODES": "[502, 503, 504]",
    "XLWINGS_TASKPANE_HTML": "kpi_taskpane.html",
}
_SETTING_NAMES = (*XLWINGS_SETTINGS, "XLWINGS_FUNCTIONS_NAMESPACE")


# --------------------------------------------------------------------------
# xlwings and xlwings-server
# --------------------------------------------------------------------------
def configure(config: ServerConfig) -> None:
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
    os.environ.update(XLWINGS_SETTINGS)
    os.environ["XLWINGS_FUNCTIONS_NAMESPACE"] = config.namespace or ""


def xlwings_version() -> str:
    import xlwings

    return str(xlwings.__version__)


def load_adapters() -> ModuleType:
    """:mod:`addin.adapters` with xlwings' server-mode decorators, made xlwings-server's ``custom_functions``."""
    import xlwings as xw
    import xlwings.server  # (imported before the adapters, as the backend always has)

    from .. import adapters

    if getattr(xw, "on_server", False) is not True or not all(hasattr(f, "__xlfunc__") for f in adapters.ADAPTERS.values()):
        raise RuntimeError("the adapters were not decorated by xlwings' server-mode decorators")
    skip_jsnull_probe()
    # xlwings-server imports `custom_functions` for its own routes: make it ours
    sys.modules.setdefault("custom_functions", adapters)
    return adapters


def skip_jsnull_probe() -> None:
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


@dataclass(frozen=True)
class XlwingsServer:
    """The parts of xlwings-server (and of xlwings' server mode) the backend uses."""

    app: Callable  #: xlwings-server's ASGI app (manifest, static files)
    app_path: str  #: its URL prefix
    templates: Any  #: its Jinja2 templates (``TemplateResponse``)
    security_headers: dict[str, str]  #: its OWASP header set, for our answers too
    custom_functions_meta: Callable[[Any], Any]
    custom_functions_call: Callable[[dict, Any], Any]  #: a coroutine function
    custom_scripts_meta: Callable[[Any], Any]
    xlwings_version: str

    @classmethod
    def load(cls) -> XlwingsServer:
        """Import xlwings-server (after :func:`configure` and :func:`load_adapters`)."""
        import xlwings.server
        from xlwings_server import main as xs_main
        from xlwings_server.config import settings
        from xlwings_server.security_headers import resolve_security_headers
        from xlwings_server.templates import templates

        headers = resolve_security_headers(excel_online=settings.enable_excel_online,
                                           cdn_officejs=settings.cdn_officejs)
        return cls(xs_main.app, settings.app_path, templates, headers, xlwings.server.custom_functions_meta,
                   xlwings.server.custom_functions_call, xlwings.server.custom_scripts_meta, xlwings_version())


def _static(name: str) -> str:
    return resources.files("addin").joinpath("static", name).read_text(encoding="utf-8")


def xlwings_server_js() -> str:
    """xlwings-server's custom-functions runtime, as shipped in its package."""
    import xlwings_server

    return Path(xlwings_server.__file__).parent.joinpath(*XLWINGS_SERVER_JS).read_text(encoding="utf-8")


def custom_functions_js(functions: Iterable[str], call_path: str) -> str:
    """xlwings-server's custom-functions runtime, our error handling (``static/kpi-custom-functions.js``)
    and one stub per KPI function (``static/kpi-function-stub.js``)."""
    js = xlwings_server_js()
    js = js.replace("placeholder_xlwings_version", xlwings_version()).replace(
        "placeholder_custom_functions_call_path", call_path
    )
    # each part starts on a line of its own
    js += "\n" + _static("kpi-custom-functions.js").replace("placeholder_kpi_call_path", call_path).replace(
        "placeholder_kpi_error_codes", officejs_errors_js()
    )
    stub = _static("kpi-function-stub.js")
    for name in functions:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):  # registry names only; never user input
            raise ValueError(f"unexpected function name {name!r}")
        js += "\n" + stub.replace("placeholder_function_name", name)
    return js


# --------------------------------------------------------------------------
# uvicorn
# --------------------------------------------------------------------------
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

#: uvicorn's httptools protocol with a header deadline; None without httptools (the
#: ``uvicorn[standard]`` extra), when uvicorn's default protocol runs without it
HeaderTimeoutProtocol: type | None = None

if HttpToolsProtocol is not None:

    class _HeaderTimeoutProtocol(HttpToolsProtocol):
        """uvicorn's ``HttpToolsProtocol`` plus a deadline for each request's headers.

        uvicorn has no header timeout: a client that opens a connection and sends
        half a request line, or stops in the middle of its headers, keeps the
        connection (and a file descriptor) forever — a handful of such clients can
        exhaust the server. This protocol gives every request ``KPI_CLIENT_TIMEOUT``
        seconds (``kpi serve --client-timeout``) from its first byte — or from the
        connection being opened — to its last header line, and otherwise answers
        ``408 Request Timeout`` and closes. Idle keep-alive connections are closed by
        uvicorn's own keep-alive timeout; a stalled request *body* is cut by the
        backend's guard (:mod:`addin.server.middleware`).
        """

        _kpi_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._kpi_arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._kpi_arm()  # a new request: its headers must arrive in time

        def on_headers_complete(self) -> None:
            self._kpi_disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._kpi_disarm()
            super().connection_lost(exc)

        def _kpi_arm(self) -> None:
            self._kpi_disarm()
            self._kpi_timer = self.loop.call_later(client_timeout(), self._kpi_expired)

        def _kpi_disarm(self) -> None:
            if self._kpi_timer is not None:
                self._kpi_timer.cancel()
                self._kpi_timer = None

        def _kpi_expired(self) -> None:
            self._kpi_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being answered: not stalled in its headers
            body = json.dumps({"detail": "request headers not received in time"}).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
            )
            self.transport.close()

    HeaderTimeoutProtocol = _HeaderTimeoutProtocol


def run_uvicorn(factory: str, config: ServerConfig, log_level: str) -> None:
    """Serve the ASGI app factory ``factory`` (``module:function``) as ``kpi serve`` does.

    The worker processes build their app from the ``KPI_*`` environment
    variables (:meth:`ServerConfig.to_env`), which the caller has set.
    """
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        ssl_certfile=config.certfile,
        ssl_keyfile=config.keyfile,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-* is never trusted: --public-url pins the origin
        http=HeaderTimeoutProtocol or "auto",  # a deadline for request headers (slow clients)
    )


# --------------------------------------------------------------------------
# The upstream check
# --------------------------------------------------------------------------
def upstream_problems() -> list[str]:
    """What the backend relies on and the installed packages no longer have (empty: all there).

    Imports xlwings-server, so run it in a process configured by :func:`configure`.
    """
    problems = []
    for module_name, dotted in UPSTREAM:
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as err:
            problems.append(f"{module_name}: cannot be imported ({err})")
            continue
        for part in dotted.split("."):
            if not hasattr(obj, part):
                problems.append(f"{module_name}.{dotted}: no longer exists")
                break
            obj = getattr(obj, part)
    try:
        js = xlwings_server_js()
    except OSError as err:
        problems.append(f"xlwings-server's custom-functions JavaScript is gone: {err}")
    else:
        problems += [f"xlwings-server's custom-functions JavaScript has no {p}" for p in JS_PLACEHOLDERS
                     if p not in js]
    import xlwings_server

    base_html = Path(xlwings_server.__file__).parent / "templates" / "base.html"
    try:
        page = base_html.read_text(encoding="utf-8")
    except OSError as err:
        problems.append(f"xlwings-server's task-pane page is gone: {err}")
    else:
        problems += [f"xlwings-server's templates/base.html no longer has {need}" for need in BASE_HTML_NEEDS
                     if need not in page]
    from xlwings_server.config import Settings

    fields = set(Settings.model_fields)
    problems += [f"xlwings-server has no setting {name}" for name in _SETTING_NAMES
                 if name.removeprefix("XLWINGS_").lower() not in fields]
    if HttpToolsProtocol is not None:
        import inspect

        source = inspect.getsource(HttpToolsProtocol)
        problems += [f"uvicorn's HttpToolsProtocol no longer has self.{name}"
                     for name in ("loop", "transport", "cycle") if f"self.{name} =" not in source]
        cycle = getattr(sys.modules[HttpToolsProtocol.__module__], "RequestResponseCycle", None)
        if cycle is None or "self.response_complete =" not in inspect.getsource(cycle):
            problems.append("uvicorn's RequestResponseCycle no longer has response_complete")
    return problems
