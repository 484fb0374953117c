"""The backend's configuration: every default in one place.

``kpi serve``'s flags (:mod:`addin.commands`), the ``KPI_*`` environment
variables the worker processes read (:meth:`ServerConfig.from_env`), the
request guard and uvicorn's header deadline all take their defaults from the
constants here. Standard library only: ``kpi --help`` imports this module.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from kpi_functions.excel import validate_namespace

__all__ = [
    "CALL_PATH",
    "DEFAULT_CLIENT_TIMEOUT",
    "DEFAULT_HOST",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_WORKERS",
    "MANIFEST_ID",
    "PROJECT_DIR",
    "LicenceMissing",
    "ServerConfig",
    "client_timeout",
    "validate_public_url",
]

#: The xlwings-server "project directory": our manifest and task-pane templates
#: and the static files that override xlwings-server's (no Python modules).
PROJECT_DIR = Path(__file__).resolve().parent.parent / "xlwings_project"
#: Our own add-in id (xlwings-server's default id is shared by every project).
MANIFEST_ID = "5cdec51c-43a8-43f0-a280-44fb7df84938"
#: the one route that takes a body: a custom-function call
CALL_PATH = "/xlwings/custom-functions-call"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: the largest body answered without stalling other requests (docs/addin.md: measured)
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_WORKERS = 1
#: seconds a client has for its request headers, and may pause while sending a body
DEFAULT_CLIENT_TIMEOUT = 15.0
#: a request body must arrive in full within this many times ``--client-timeout``
BODY_DEADLINE_FACTOR = 4


class LicenceMissing(RuntimeError):
    """xlwings server mode needs ``XLWINGS_LICENSE_KEY`` (``noncommercial`` or a key)."""


def _env_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


def client_timeout(environ: Mapping[str, str] | None = None) -> float:
    """``KPI_CLIENT_TIMEOUT`` (seconds), as the worker processes see it."""
    env = os.environ if environ is None else environ
    return float(env.get("KPI_CLIENT_TIMEOUT", f"{DEFAULT_CLIENT_TIMEOUT:g}"))


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def validate_public_url(url: str) -> str:
    """``https://host[:port]`` (or ``http://``) as ``scheme://host[:port]``; ValueError otherwise.

    The public URL is the origin Excel reaches the backend at (behind a reverse
    proxy, the proxy's). It must be an origin only: no path, query, fragment or
    user name, since every URL in the manifest is built on it.
    """
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
    """Everything ``kpi serve`` can configure (flag ``--x-y`` = env ``KPI_X_Y``).

    ``templates_dir`` is the folder of report templates the task pane offers;
    the backend knows no default (``kpi serve`` passes the installed templates).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    certfile: str | None = None
    keyfile: str | None = None
    allowed_origins: tuple[str, ...] = ()
    token: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    namespace: str | None = None
    workers: int = DEFAULT_WORKERS
    templates_dir: str | None = None
    client_timeout: float = DEFAULT_CLIENT_TIMEOUT
    public_url: str | None = None

    def __post_init__(self) -> None:
        ns = validate_namespace(self.namespace)
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

    @property
    def scheme(self) -> str:
        """``https`` with a TLS certificate, else ``http``."""
        return "https" if self.certfile else "http"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        env = os.environ if environ is None else environ
        return cls(
            host=env.get("KPI_HOST", DEFAULT_HOST),
            port=int(env.get("KPI_PORT", str(DEFAULT_PORT))),
            certfile=env.get("KPI_CERTFILE") or None,
            keyfile=env.get("KPI_KEYFILE") or None,
            allowed_origins=tuple(_env_list(env.get("KPI_ALLOWED_ORIGINS"))),
            token=env.get("KPI_TOKEN") or None,
            max_request_bytes=int(env.get("KPI_MAX_REQUEST_BYTES", str(DEFAULT_MAX_REQUEST_BYTES))),
            namespace=env.get("KPI_NAMESPACE") or None,
            workers=int(env.get("KPI_WORKERS", str(DEFAULT_WORKERS))),
            templates_dir=env.get("KPI_TEMPLATES_DIR") or None,
            client_timeout=client_timeout(env),
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
