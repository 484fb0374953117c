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
  thread — or, for a body of 1 MiB or more, in a process of its own. A KPI error comes back as the real Excel error cell in ``result``
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

The modules, one job each:

- :mod:`~addin.server.config`: :class:`ServerConfig` and every default
  (``kpi serve`` flags, or the ``KPI_*`` environment variables);
- :mod:`~addin.server.requests`: parsing and validating a call (pure;
  :mod:`~addin.server.jsonio`: orjson when installed, else json);
- :mod:`~addin.server.middleware`: the ASGI guard in front of everything;
- :mod:`~addin.server.calls`: answering a call in a worker thread;
- :mod:`~addin.server.offload`: the process that answers large calls;
- :mod:`~addin.server.app`: the routes (:func:`create_app`);
- :mod:`~addin.server.bridge`: every touch of xlwings, xlwings-server and
  uvicorn internals. xlwings reads ``XLWINGS_ON_SERVER`` when it is first
  imported, so :func:`create_app` sets the xlwings-server settings in the
  environment *before* importing xlwings.

Importing this package imports only :mod:`~addin.server.config` (``kpi --help``
reads the defaults there); the rest is imported when first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .config import LicenceMissing, ServerConfig, validate_public_url

__all__ = ["BadRequest", "LicenceMissing", "ServerConfig", "app_from_env", "create_app", "parse_call",
           "validate_public_url"]


def create_app(config: ServerConfig | None = None) -> Callable:
    """Build the ASGI app of the backend (:func:`addin.server.app.create_app`)."""
    from .app import create_app as create

    return create(config)


def app_from_env() -> Callable:
    """ASGI factory for uvicorn (``addin.server:app_from_env``), configured by ``KPI_*``."""
    return create_app(ServerConfig.from_env())


def __getattr__(name: str) -> Any:
    if name in ("BadRequest", "parse_call"):
        from . import requests

        return getattr(requests, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
