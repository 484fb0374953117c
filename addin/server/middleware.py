"""The backend's front door, as pure ASGI middleware, before anything reads a body.

:class:`Guard` pins the origin, adds the security headers, refuses bodies on
routes that take none and checks the call route's token, content type, size
and body deadline; :class:`LastResort` turns an exception that escaped every
route into a logged 500 (never a traceback). Standard library only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable

from .config import BODY_DEADLINE_FACTOR, CALL_PATH, ServerConfig
from .requests import short

logger = logging.getLogger("kpi.addin")

__all__ = ["FRAMED_PATHS", "Guard", "LastResort", "escapes", "log_safe", "send_json"]

#: routes whose pages Office frames (the task pane); every other answer forbids framing
FRAMED_PATHS = frozenset({"/taskpane", "/taskpane.html"})
_JSON_TYPE = re.compile(rb"^\s*application/json\s*(;\s*charset\s*=\s*\"?utf-8\"?\s*)?$", re.IGNORECASE)
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def log_safe(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")[:300]


def escapes(path: str) -> bool:
    """True for a (decoded) path that could leave a static folder.

    xlwings-server looks a static path up in the project folder first with no
    containment check (``OverridableStaticFiles.lookup_path``), so
    ``/static/../../etc/passwd`` would read any file the server can read.
    Such paths never reach it: a ``..``/``.`` segment, a backslash, a drive
    colon or a NUL byte is refused (404).
    """
    return any(p in ("..", ".") or "\\" in p or ":" in p or "\x00" in p for p in path.split("/"))


def _host_value(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{host}:{port}"


class Guard:
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
                return await send_json(send, 400, f"{method} {log_safe(path)[:100]} takes no request body",
                                        {"connection": "close"})
            return await self.app(scope, receive, send)
        if self.token is not None:
            problem = self._check_token(scope)
            if problem:
                return await send_json(send, 401, problem, {"www-authenticate": 'Bearer realm="kpi"'})
        types = [v for k, v in headers if k == b"content-type"]
        if len(types) != 1 or not _JSON_TYPE.match(types[0]):
            given = types[0].decode("latin-1") if types else "none"
            return await send_json(send, 415, f"the call route takes Content-Type: application/json "
                                               f"(the request has {short(given)})", {"connection": "close"})
        if declared:
            try:
                n = int(declared[0])
            except ValueError:
                return await send_json(send, 400, "malformed Content-Length header")
            if n > self.limit:
                return await send_json(send, 413, self._too_big(n), {"connection": "close"})
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
                return await send_json(send, 408, f"request body not received in time ({why}; "
                                                   "kpi serve --client-timeout)", {"connection": "close"})
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await send_json(send, 413, self._too_big(None), {"connection": "close"})
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


class LastResort:
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
            logger.exception("unhandled error on %s", log_safe(str(scope.get("path"))))
            if scope["type"] == "http" and not started:
                await send_json(send, 500, "internal error; the server log has details")


async def send_json(send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    for k, v in (extra or {}).items():
        headers.append((k.encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
