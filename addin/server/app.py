"""The backend's ASGI app: our routes in front of xlwings-server's.

- ``POST /xlwings/custom-functions-call`` is ours: validated, then answered in a
  worker thread (:mod:`addin.server.calls`), or for a large body in a process of
  its own (:mod:`addin.server.offload`);
- ``/xlwings/custom-functions-meta.json`` and ``/xlwings/custom-functions-code.js``
  are generated from the adapters (the JavaScript: :func:`addin.server.bridge.custom_functions_js`);
- ``GET /``, a start page linking the manifest, the task pane, the health check,
  the templates and the function reference (``/docs/functions.md``, rendered from
  the registry), with the sideloading steps;
- ``/taskpane.html`` (the function catalog and the report templates),
  ``/templates/<file>.xlsx`` (read-only downloads) and ``GET /health``;
- the manifest (answered as ``application/xml``), ``/favicon.ico`` and
  ``/static/...`` are xlwings-server's;
  nothing else of its routes is reachable (404).

The middleware (:mod:`addin.server.middleware`) wraps it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware

import kpi_functions
from kpi_functions import CATEGORIES, example_formula
from kpi_functions.excel import typed_name

from . import bridge
from .calls import answer_call, failed_answer
from .config import CALL_PATH, ServerConfig
from .middleware import Guard, LastResort, escapes, log_safe
from .offload import OFFLOAD_BYTES, STOPPED, CallProcess, stopped_adapter
from .requests import short

logger = logging.getLogger("kpi.addin")

__all__ = ["create_app", "list_templates"]

#: xlwings-server's routes that stay reachable (GET and HEAD only)
DELEGATED = re.compile(r"^/(manifest(\.xml)?|manifest/download|favicon\.ico|static/.*)$")
#: the manifest's routes (xlwings-server's), answered as XML
MANIFEST = re.compile(r"^/(manifest(\.xml)?|manifest/download)$")
MANIFEST_TYPE = b"application/xml; charset=utf-8"


def _as_xml(send: Callable) -> Callable:
    """``send`` with a successful answer's content type made XML (xlwings-server sends the manifest as text/plain)."""

    async def sending(message):
        if message["type"] == "http.response.start" and message.get("status") == 200:
            headers = [(k, v) for k, v in message.get("headers") or [] if k.lower() != b"content-type"]
            message = {**message, "headers": [*headers, (b"content-type", MANIFEST_TYPE)]}
        await send(message)

    return sending


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


def _human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


class _NoScripts:
    """A module-like object without custom scripts."""


def catalog(functions: dict[str, Any], namespace: str | None) -> list[dict[str, Any]]:
    """The task pane's function catalog, in catalog (category) order."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    out = []
    for spec in sorted((a.kpi_spec for a in functions.values()), key=lambda sp: order.get(sp.category, len(order))):
        typed = typed_name(spec.excel_name, "officejs", namespace)
        out.append({
            "name": spec.excel_name,
            "typed": typed,
            "signature": spec.signature_text.replace(spec.excel_name, typed, 1),
            "summary": spec.summary,
            "formula": spec.formula,
            "category": spec.category,
            "args": [{"name": a.name, "help": a.help, "optional": a.optional} for a in spec.args],
            "example": example_formula(spec, namespace or ""),
            # where popular articles get the KPI wrong (kpi_functions._corrections): what is right, the worked example
            "cautions": [{"topic": c.topic, "right": c.right, "wrong": c.wrong, "pointer": c.pointer,
                          "example": list(c.example)}
                         for c in spec.cautions],
            "search": " ".join([spec.excel_name, spec.name, spec.summary, spec.category, *spec.aliases,
                                *(f"{c.topic} {c.pointer}" for c in spec.cautions)]).lower(),
        })
    return out


def create_app(config: ServerConfig | None = None) -> Callable:
    """Build the ASGI app of the backend."""
    config = config or ServerConfig.from_env()
    bridge.configure(config)
    adapters = bridge.load_adapters()
    xs = bridge.XlwingsServer.load()
    functions = dict(adapters.ADAPTERS)
    excel_error = adapters.ExcelError
    templates_dir = Path(config.templates_dir) if config.templates_dir else None
    started = time.time()

    large_calls = CallProcess(config.to_env(), len(functions))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if config.max_request_bytes >= OFFLOAD_BYTES:  # (else no call is large enough for it)
            large_calls.start()  # the process for large calls (addin.server.offload), spawned with the app
        try:
            yield
        finally:
            large_calls.stop()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="KPI add-in backend", lifespan=lifespan)

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
        # the last resort of every route: a bug of the backend, logged, never a traceback in the answer
        logger.exception("unhandled error on %s %s", request.method, log_safe(request.url.path))
        return error_json(500, "internal error; the server log has details")

    @app.get("/")
    async def start_page(request: Request) -> Response:
        # what this server is and where everything is: manifest, task pane, health, templates, install steps
        return xs.templates.TemplateResponse(
            request=request,
            name="kpi_start.html",
            context={"n_functions": len(functions), "version": kpi_functions.__version__,
                     "example": typed_name("KPI_NPS", "officejs", config.namespace) + "(B2:B900)",
                     "n_templates": len(list_templates(templates_dir)), "token_required": bool(config.token)},
        )

    reference: list[str] = []  # rendered on first request: it runs every function's example

    @app.get("/docs/functions.md")
    async def function_reference() -> Response:
        # the function reference (docs/functions.md), rendered from this server's registry
        if not reference:
            from kpi_functions._docs import render_markdown

            reference.append(await asyncio.to_thread(render_markdown))
        return Response(reference[0], media_type="text/plain; charset=utf-8")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "functions": len(functions),
            "namespace": config.namespace,
            "version": kpi_functions.__version__,
            "xlwings": xs.xlwings_version,
            "uptime_seconds": round(time.time() - started, 1),
        }

    @app.get("/xlwings/custom-functions-meta")
    @app.get("/xlwings/custom-functions-meta.json")
    async def custom_functions_meta() -> dict[str, Any]:
        return xs.custom_functions_meta(adapters)

    code_js = bridge.custom_functions_js(functions, xs.app_path + CALL_PATH)

    @app.get("/xlwings/custom-functions-code")
    @app.get("/xlwings/custom-functions-code.js")
    async def custom_functions_code() -> Response:
        return Response(code_js, media_type="text/javascript")

    @app.post(CALL_PATH)
    async def custom_functions_call(request: Request) -> Response:
        body = await request.body()  # already buffered (and size-checked) by the Guard
        # everything CPU-bound — JSON parsing, validation, xlwings' argument
        # conversion, the KPI, the result's conversion and serialisation — runs in
        # a worker thread, so one large call does not stop the event loop from
        # answering others (/health, small calls); a large body in a process of its
        # own, since its parsing would hold the interpreter lock for tens of ms
        try:
            answered = await large_calls.answer(body) if len(body) >= OFFLOAD_BYTES else None
            if answered is STOPPED:  # the process died computing it: #VALUE! with why (parsed here, once)
                stopped = {n: stopped_adapter(a, excel_error) for n, a in functions.items()}
                answered = await asyncio.to_thread(answer_call, body, stopped, xs, excel_error)
            elif answered is None:
                answered = await asyncio.to_thread(answer_call, body, functions, xs, excel_error)
        except Exception:  # a bug of the backend itself: logged, and the cell says so (never a 5xx to Excel)
            logger.exception("answering a custom-functions call failed")
            answered = failed_answer("the backend could not answer this call (internal error); the server log "
                                     "has details")
        status, content = answered
        return Response(content, status_code=status, media_type="application/json")

    @app.get("/xlwings/custom-scripts-meta")
    @app.get("/xlwings/custom-scripts-meta.json")
    async def custom_scripts_meta() -> Any:
        # xlwings' task-pane runtime asks for the scripts it could run: none here
        return xs.custom_scripts_meta(_NoScripts())

    @app.get("/taskpane")
    @app.get("/taskpane.html")
    async def taskpane(request: Request) -> Response:
        tpls = [{"name": t["name"], "url": t["url"], "size": _human_size(t["size"])} for t in list_templates(templates_dir)]
        fns = catalog(functions, config.namespace)
        return xs.templates.TemplateResponse(
            request=request,
            name="kpi_taskpane.html",
            context={"functions": fns,
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
        return error_json(404, f"no report template named {short(name)}")

    async def dispatch(scope, receive, send):
        path = scope.get("path", "")
        if (scope["type"] == "http" and DELEGATED.match(path) and scope.get("method") in ("GET", "HEAD")
                and not escapes(path)):
            await xs.app(scope, receive, _as_xml(send) if MANIFEST.match(path) else send)
        else:
            await app(scope, receive, send)

    guarded: Callable = Guard(dispatch, config, xs.security_headers)
    if config.allowed_origins:
        guarded = CORSMiddleware(
            guarded,
            allow_origins=list(config.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Auth-Provider"],
            allow_credentials=False,
            max_age=600,
        )
    return LastResort(guarded)
