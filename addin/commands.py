"""``kpi serve`` (the Office.js backend) and ``kpi lite`` (files for xlwings Lite).

Registered on the shared ``kpi`` Typer app. Nothing heavy is imported here:
xlwings must not be imported before ``kpi serve`` has switched it to server
mode, so the server module is imported inside the command.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from kpi_cli.main import app

from . import naming


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", envvar="KPI_HOST", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", envvar="KPI_PORT", help="Port to listen on."),
    certfile: Path | None = typer.Option(
        None, "--certfile", envvar="KPI_CERTFILE", help="TLS certificate (PEM). Office.js add-ins need HTTPS."
    ),
    keyfile: Path | None = typer.Option(None, "--keyfile", envvar="KPI_KEYFILE", help="TLS private key (PEM)."),
    allowed_origins: str = typer.Option(
        "", "--allowed-origins", envvar="KPI_ALLOWED_ORIGINS",
        help="Comma-separated origins allowed by CORS (e.g. https://excel.officeapps.live.com); default: none.",
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="KPI_TOKEN",
        help="Require 'Authorization: Bearer <token>' on function calls (prefer the KPI_TOKEN variable).",
    ),
    max_request_bytes: int = typer.Option(
        8 * 1024 * 1024, "--max-request-bytes", envvar="KPI_MAX_REQUEST_BYTES",
        help="Largest request body accepted; bigger requests get 413.",
    ),
    namespace: str = typer.Option(
        "", "--namespace", envvar="KPI_NAMESPACE",
        help="Function namespace: empty for =KPI_NPS(...), NS for =NS.KPI_NPS(...).",
    ),
    workers: int = typer.Option(1, "--workers", envvar="KPI_WORKERS", help="Worker processes."),
    client_timeout: float = typer.Option(
        15.0, "--client-timeout", envvar="KPI_CLIENT_TIMEOUT",
        help="Seconds a client has to send its request headers, and may pause while sending a body (408 after).",
    ),
    templates_dir: Path | None = typer.Option(
        None, "--templates-dir", envvar="KPI_TEMPLATES_DIR",
        help="Folder of report templates (*.xlsx) offered in the task pane; default: the installed templates.",
    ),
    public_url: str | None = typer.Option(
        None, "--public-url", envvar="KPI_PUBLIC_URL",
        help="The origin Excel reaches the backend at, e.g. https://kpi.example.com (behind a reverse proxy: "
             "the proxy's). Every URL in the manifest and in redirects uses it; default: the address served on.",
    ),
    log_level: str = typer.Option("info", "--log-level", envvar="KPI_LOG_LEVEL", help="uvicorn log level."),
) -> None:
    """Start the Office.js add-in backend (custom functions, manifest, task pane)."""
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
    from .server import ServerConfig

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
    scheme = "https" if config.certfile else "http"
    shown = "[::1]" if host == "::1" else host
    example = naming.typed_name("KPI_NPS", "officejs", config.namespace)
    typer.echo(f"KPI add-in backend on {scheme}://{shown}:{port}  (manifest: /manifest.xml, functions: ={example}(...))")
    if config.public_url:
        typer.echo(f"Manifest and redirect URLs use {config.public_url} (--public-url).")
    elif host in ("0.0.0.0", "::", ""):
        typer.echo("Warning: manifest URLs point to localhost; set --public-url (KPI_PUBLIC_URL) to the address "
                   "Excel reaches this backend at.", err=True)
    import uvicorn

    from .http_protocol import HeaderTimeoutProtocol

    uvicorn.run(
        "addin.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=config.certfile,
        ssl_keyfile=config.keyfile,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-* is never trusted: --public-url pins the origin
        http=HeaderTimeoutProtocol or "auto",  # a deadline for request headers (slow clients)
    )


@app.command("lite")
def lite(
    out: Path = typer.Option(Path("kpi-lite"), "--out", "-o", help="Folder to write main.py and requirements.txt to."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
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
