"""One way to run ``kpi serve`` for the tests and the benchmarks: a real subprocess on loopback.

The server is started the way the README starts it — the ``kpi`` console
script of this interpreter, ``kpi serve --host 127.0.0.1 --port <free port>``
with ``XLWINGS_LICENSE_KEY=noncommercial`` — in a session of its own, its
output in a log file the caller reads afterwards; :func:`run_server` waits for
``GET /health`` and stops it (and any ``--workers`` children) at the end.
Another server command (the benchmarks' identity server) runs the same way.
Nothing here talks to any address but 127.0.0.1, and nothing imports the
project's packages: the standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
CALL = "/xlwings/custom-functions-call"

__all__ = ["CALL", "LOOPBACK", "Server", "free_port", "kpi_command", "run_server", "server_env", "stop"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def kpi_command() -> list[str]:
    """The ``kpi`` console script of this interpreter, or its module when not installed as a script."""
    script = Path(sys.executable).with_name("kpi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kpi_cli.main import app; app()"]


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``KPI_*`` or ``XLWINGS_*`` setting, with
    ``XLWINGS_LICENSE_KEY=noncommercial`` and this checkout first on ``PYTHONPATH``; then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "XLWINGS_"))}
    env["XLWINGS_LICENSE_KEY"] = "noncommercial"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


class Server:
    """A running server subprocess."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path, token: str | None, scheme: str = "http") -> None:
        self.proc = proc
        self.port = port
        self.base = f"{scheme}://{LOOPBACK}:{port}"
        self.log = log
        self.token = token
        self.templates_dir: Path | None = None

    def headers(self, **extra: str) -> dict[str, str]:
        """The headers of a call: JSON, and the bearer token if the server has one."""
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra)
        return h

    def call(self, client: Any, payload: Any, headers: dict[str, str] | None = None) -> Any:
        """POST a call with an ``httpx.Client``: bytes and text as they are, anything else as JSON."""
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return client.post(self.base + CALL, content=body, headers=self.headers() if headers is None else headers)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        """Resident memory of the server process (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def listening_addresses(self) -> list[tuple[str, int]]:
        """(address, port) of the TCP sockets this server process listens on (/proc/net/tcp*)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        out = []
        for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
            if not Path(table).exists():
                continue
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, state, inode = parts[1], parts[3], parts[9]
                if state != "0A" or inode not in inodes:  # 0A = LISTEN
                    continue
                addr_hex, port_hex = local.split(":")
                out.append((_addr(addr_hex, v6), int(port_hex, 16)))
        return out


def _addr(hexaddr: str, v6: bool) -> str:
    raw = bytes.fromhex(hexaddr)
    if not v6:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def _healthy(port: int, context: ssl.SSLContext | None) -> bool:
    conn: http.client.HTTPConnection
    if context is not None:
        conn = http.client.HTTPSConnection(LOOPBACK, port, timeout=2, context=context)
    else:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def run_server(workdir: Path, *flags: str, token: str | None = None, env: Mapping[str, str] | None = None,
               host_flag: bool = True, timeout: float = 90.0, verify: ssl.SSLContext | None = None,
               command: list[str] | None = None, cwd: Path | None = None,
               server_class: type[Server] = Server) -> Iterator[Server]:
    """``kpi serve FLAGS`` on a free loopback port; waits for ``/health``; stops it afterwards.

    ``token`` goes in by environment (``KPI_TOKEN``: a token on the command line is
    visible in ``ps``). With ``--certfile`` among the flags the server speaks HTTPS
    and ``verify`` is the SSL context that trusts its certificate. ``command``
    replaces ``kpi serve`` (``--port`` and, with ``host_flag``, ``--host`` are
    appended); the log goes to ``workdir``, the process runs in ``cwd`` (default:
    ``workdir``).
    """
    port = free_port()
    log = workdir / f"kpi-serve-{port}.log"
    base_cmd = command if command is not None else [*kpi_command(), "serve"]
    cmd = [*base_cmd, *(["--host", LOOPBACK] if host_flag else []), "--port", str(port), *flags]
    extra = dict(env or {})
    if token:
        extra["KPI_TOKEN"] = token
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=server_env(extra),
                                cwd=str(cwd or workdir), start_new_session=True)
    https = "--certfile" in flags
    srv = server_class(proc, port, log, token, "https" if https else "http")
    context = (verify or ssl.create_default_context()) if https else None
    deadline = time.time() + timeout
    try:
        while not _healthy(port, context):
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(base_cmd)} exited with {proc.returncode}:\n{srv.log_text()[-5000:]}")
            if time.time() > deadline:
                raise RuntimeError(f"{' '.join(base_cmd)} did not answer /health within {timeout:g} s:\n"
                                   f"{srv.log_text()[-5000:]}")
            time.sleep(0.2)
        yield srv
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop one server process we started (by its own pid, then its group)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # worker processes of --workers N, if any are left
