"""``kpi serve`` (the Office.js backend) and ``kpi lite`` (files for xlwings Lite).

:func:`make_app` builds the part's Typer app (no callback); the ``kpi`` console
script (:mod:`kpi_cli.main`) adds its commands at the top level and tells
``kpi serve`` where the installed report templates are. Nothing heavy is
imported here: xlwings must not be imported before ``kpi serve`` has switched
it to server mode, so the server's app is imported inside the command.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from kpi_functions.excel import typed_name

from .server.config import (
    DEFAULT_CLIENT_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PORT,
    DEFAULT_WORKERS,
    ServerConfig,
)

__all__ = ["app", "lite", "make_app", "serve"]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def serve(
    host: Annotated[str, typer.Option("--host", envvar="KPI_HOST", help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", envvar="KPI_PORT", help="Port to listen on.")] = DEFAULT_PORT,
    certfile: Annotated[Path | None, typer.Option(
        "--certfile", envvar="KPI_CERTFILE", help="TLS certificate (PEM). Office.js add-ins need HTTPS.",
    )] = None,
    keyfile: Annotated[Path | None, typer.Option(
        "--keyfile", envvar="KPI_KEYFILE", help="TLS private key (PEM).",
    )] = None,
    allowed_origins: Annotated[str, typer.Option(
        "--allowed-origins", envvar="KPI_ALLOWED_ORIGINS",
        help="Comma-separated origins allowed by CORS (e.g. https://excel.officeapps.live.com); default: none.",
    )] = "",
    token: Annotated[str | None, typer.Option(
        "--token", envvar="KPI_TOKEN",
        help="Require 'Authorization: Bearer <token>' on function calls (prefer the KPI_TOKEN variable).",
    )] = None,
    max_request_bytes: Annotated[int, typer.Option(
        "--max-request-bytes", envvar="KPI_MAX_REQUEST_BYTES",
        help="Largest request body accepted; bigger requests get 413.",
    )] = DEFAULT_MAX_REQUEST_BYTES,
    namespace: Annotated[str, typer.Option(
        "--namespace", envvar="KPI_NAMESPACE",
        help="Function namespace: empty for =KPI_NPS(...), NS for =NS.KPI_NPS(...).",
    )] = "",
    workers: Annotated[int, typer.Option("--workers", envvar="KPI_WORKERS", help="Worker processes.")] = DEFAULT_WORKERS,
    client_timeout: Annotated[float, typer.Option(
        "--client-timeout", envvar="KPI_CLIENT_TIMEOUT",
        help="Seconds a client has to send its request headers, and may pause while sending a body (408 after).",
    )] = DEFAULT_CLIENT_TIMEOUT,
    templates_dir: Annotated[Path | None, typer.Option(
        "--templates-dir", envvar="KPI_TEMPLATES_DIR",
        help="Folder of report templates (*.xlsx) offered in the task pane; default: the installed templates.",
    )] = None,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", envvar="KPI_PUBLIC_URL",
        help="The origin Excel reaches the backend at, e.g. https://kpi.example.com (behind a reverse proxy: "
             "the proxy's). Every URL in the manifest and in redirects uses it; default: the address served on.",
    )] = None,
    log_level: Annotated[str, typer.Option(
        "--log-level", envvar="KPI_LOG_LEVEL", help="uvicorn log level.",
    )] = "info",
    *,
    installed_templates: Path | None = None,
) -> None:
    """Start the Office.js add-in backend (custom functions, manifest, task pane)."""
    # installed_templates (not a flag: make_app passes it) is offered without --templates-dir
    import importlib.util

    # find, do not import: xlwings-server reads its settings when first imported
    missing = [m for m in ("uvicorn", "fastapi", "xlwings_server") if importlib.util.find_spec(m) is None]
    if missing:
        _fail(f"the backend needs the server extra: pip install \"kpi-addin[server]\" ({', '.join(missing)} missing)")
    if not os.environ.get("XLWINGS_LICENSE_KEY"):
        _fail(
            "the Office.js backend uses xlwings PRO (xlwings.server, xlwings-server): set "
            "XLWINGS_LICENSE_KEY=noncommercial for noncommercial use (PolyForm Noncommercial 1.0.0) or to your "
            "xlwings PRO licence key for commercial use. xlwings Lite (`kpi lite`) and the classic Windows "
            "add-in need no key."
        )
    for label, path in (("certificate", certfile), ("key", keyfile)):
        if path is not None and not path.is_file():
            _fail(f"TLS {label} file not found: {path}")
    templates_dir = templates_dir or installed_templates
    try:
        config = ServerConfig(
            host=host,
            port=port,
            certfile=str(certfile) if certfile else None,
            keyfile=str(keyfile) if keyfile else None,
            allowed_origins=tuple(o.strip() for o in allowed_origins.split(",") if o.strip()),
            token=token or None,
            max_request_bytes=max_request_bytes,
            namespace=namespace or None,
            workers=workers,
            templates_dir=str(templates_dir) if templates_dir else None,
            client_timeout=client_timeout,
            public_url=public_url or None,
        )
    except ValueError as err:
        _fail(str(err))
    if not config.certfile and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            "Warning: serving plain HTTP on a non-loopback interface; Excel needs HTTPS "
            "(--certfile/--keyfile) and the traffic is unencrypted.",
            err=True,
        )
    os.environ.update(config.to_env())  # the worker processes build the app from these
    scheme = config.scheme
    shown = "[::1]" if host == "::1" else host
    example = typed_name("KPI_NPS", "officejs", config.namespace)
    typer.echo(f"KPI add-in backend on {scheme}://{shown}:{port}  (manifest: /manifest.xml, functions: ={example}(...))")
    if config.public_url:
        typer.echo(f"Manifest and redirect URLs use {config.public_url} (--public-url).")
    elif host in ("0.0.0.0", "::", ""):
        typer.echo("Warning: manifest URLs point to localhost; set --public-url (KPI_PUBLIC_URL) to the address "
                   "Excel reaches this backend at.", err=True)
    from .server import bridge

    bridge.run_uvicorn("addin.server:app_from_env", config, log_level)


def lite(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder to write main.py and requirements.txt to.",
    )] = Path("kpi-lite"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write main.py and requirements.txt to paste into xlwings Lite (no server needed)."""
    from kpi_functions import REGISTRY

    from .lite import write_lite

    try:
        main, req = write_lite(out, overwrite=force)
    except FileExistsError as err:
        _fail(str(err))
    typer.echo(f"Wrote {main} ({len(REGISTRY)} functions) and {req}.")
    typer.echo("In Excel: open xlwings Lite, paste main.py into its main.py and requirements.txt into its "
               "requirements.txt, then restart xlwings Lite; type =KPI_NPS(...) in a cell.")


def make_app(installed_templates: Path | None = None) -> typer.Typer:
    """The part's commands, ``serve`` and ``lite``; ``installed_templates`` is the folder of
    report templates ``kpi serve`` offers without ``--templates-dir`` (None: none)."""
    part = typer.Typer()

    def serve_command(**options: Any) -> None:
        serve(**options, installed_templates=installed_templates)

    signature = inspect.signature(serve, eval_str=True)
    serve_command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "installed_templates"])
    serve_command.__doc__ = serve.__doc__
    part.command("serve")(serve_command)
    part.command("lite")(lite)
    return part


#: the commands without installed templates (``kpi_cli`` builds its own with :func:`make_app`)
app = make_app()
