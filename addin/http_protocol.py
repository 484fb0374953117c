"""uvicorn's HTTP protocol with a deadline for request headers.

uvicorn has no header timeout: a client that opens a connection and sends
half a request line, or stops in the middle of its headers, keeps the
connection (and a file descriptor) forever — a handful of such clients can
exhaust the server. :class:`HeaderTimeoutProtocol` gives every request
``KPI_CLIENT_TIMEOUT`` seconds (``kpi serve --client-timeout``, default 15)
from its first byte — or from the connection being opened — to its last header
line, and otherwise answers ``408 Request Timeout`` and closes. Idle keep-alive
connections are closed by uvicorn's own keep-alive timeout; a stalled request
*body* is cut by the backend's guard (see :mod:`addin.server`).

Used by ``kpi serve`` when uvicorn's httptools parser is installed (the
``uvicorn[standard]`` extra); otherwise uvicorn's default protocol runs without
this deadline.
"""

from __future__ import annotations

import asyncio
import json
import os

__all__ = ["HeaderTimeoutProtocol", "client_timeout"]


def client_timeout() -> float:
    """Seconds a client has for its request headers (and between body chunks)."""
    return float(os.environ.get("KPI_CLIENT_TIMEOUT", "15"))


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

if HttpToolsProtocol is not None:

    class HeaderTimeoutProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """``HttpToolsProtocol`` plus a deadline for each request's headers."""

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

else:  # pragma: no cover
    HeaderTimeoutProtocol = None  # type: ignore[assignment,misc]
