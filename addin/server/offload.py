"""Large calls answered in a process of their own, so that nothing else waits for them.

Every call is answered off the event loop, in a worker thread
(:func:`addin.server.calls.answer_call`). That frees the event loop from the
call's Python code but not from the interpreter lock: parsing a 5 MB body is a
single C call that holds the lock for its whole length (about 70 ms of CPU for
a 1,000,000-cell column, whichever JSON parser), and turning the cells into an
array takes a few more of 10–20 ms — no other request, ``/health`` included, is
served meanwhile (measured: /health's slowest answer 158 ms during a
1,000,000-cell ``KPI_NPS`` answered in a thread).

So a body of :data:`OFFLOAD_BYTES` or more is answered — start to finish, by
the same :func:`~addin.server.calls.answer_call` — in a child process: one per
server process whose ``--max-request-bytes`` admits such bodies, spawned fresh
when the app starts (it configures xlwings' server mode and loads the adapters
itself, as a ``--workers`` process does);
the event loop only hands the body over and gets the answer's bytes back.
Until the child is ready (its imports take a few seconds after start-up), and
where a child cannot be started, large calls are answered in a thread as
before. If the child dies during a call (killed, out of memory), that call is
answered ``#VALUE!`` "the backend's process for large calls stopped" (a 200,
as a KPI library bug is: never a 5xx) and a new child is started; if it died
between calls, the next call is answered in a thread while the new child starts.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import SimpleNamespace
from typing import Any

logger = logging.getLogger("kpi.addin")

__all__ = ["OFFLOAD_BYTES", "STOPPED", "CallProcess", "stopped_adapter"]

#: bodies from this size on are answered in the child process (1 MiB: about 200,000 cells)
OFFLOAD_BYTES = 1 << 20

_CHILD: dict[str, Any] = {}
#: :meth:`CallProcess.answer`'s answer when the process died during the call
STOPPED: tuple[int, bytes] = (0, b"")
#: the #VALUE! message of a call during which the process died
STOPPED_MESSAGE = ("{name}: the backend's process for large calls stopped during this call (out of memory?); "
                   "the server log has details")


def stopped_adapter(adapter: Any, excel_error: Any) -> Any:
    """A stand-in for ``adapter`` that answers #VALUE! "the process stopped" (same spec, same
    xlwings options): the call is answered as a 200 with that error cell, never a 5xx."""
    name = adapter.kpi_spec.excel_name

    def stopped(*args: Any) -> Any:
        return excel_error("#VALUE!", STOPPED_MESSAGE.format(name=name))

    stopped.kpi_spec = adapter.kpi_spec  # type: ignore[attr-defined]
    stopped.__xlfunc__ = adapter.__xlfunc__  # type: ignore[attr-defined]
    return stopped


def _exit_with_parent(parent: int) -> None:
    """End this process once the server that started it is gone (killed without a shutdown)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _start_child(env: dict[str, str], log_level: int) -> None:
    """The child's start: the server's environment, xlwings' server mode, the adapters."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops it (Ctrl+C reaches the whole group)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="kpi-parent-watch").start()
    os.environ.update(env)
    # the server's log line format, with this process's id after each line
    logging.basicConfig(level=log_level, format=f"%(levelname)s:%(name)s:%(message)s [process {os.getpid()}]")
    logger.setLevel(log_level)
    from . import bridge
    from .config import ServerConfig

    bridge.configure(ServerConfig.from_env())
    adapters = bridge.load_adapters()
    import xlwings.server

    _CHILD.update(functions=dict(adapters.ADAPTERS), excel_error=adapters.ExcelError,
                  xs=SimpleNamespace(custom_functions_call=xlwings.server.custom_functions_call,
                                     xlwings_version=bridge.xlwings_version()))
    logger.info("process %d answers the calls of %d bytes or more", os.getpid(), OFFLOAD_BYTES)


def _ready() -> int:
    return len(_CHILD["functions"])


def _answer(body: bytes) -> tuple[int, bytes]:
    from .calls import answer_call

    return answer_call(body, _CHILD["functions"], _CHILD["xs"], _CHILD["excel_error"])


class CallProcess:
    """The child process that answers large calls (``None`` from :meth:`answer`: use a thread)."""

    def __init__(self, env: dict[str, str], functions: int) -> None:
        self.env = env
        self.functions = functions  # the number of functions the child must have (the same adapters)
        self.pool: ProcessPoolExecutor | None = None
        self.ready: Future | None = None

    def start(self) -> None:
        """Spawn the child now (not at the first large call); its imports run in the background."""
        try:
            self.pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_child,
                initargs=(self.env, logger.getEffectiveLevel()))
            self.ready = self.pool.submit(_ready)
        except (OSError, RuntimeError, ValueError) as err:  # no processes here: threads it is
            logger.warning("large calls will be answered in a thread: no process for them (%s)", err)
            self.pool = self.ready = None

    def usable(self) -> bool:
        """True once the child is up and serves the same functions as this process."""
        if self.pool is None or self.ready is None or not self.ready.done():
            return False
        try:
            n = self.ready.result()
        except Exception:  # the child could not start: say so once, then use threads
            logger.exception("large calls will be answered in a thread: their process did not start")
            self.stop()
            return False
        if n != self.functions:  # e.g. a server with functions added to its adapters at start-up
            logger.info("large calls are answered in a thread: their process has %d functions, this one %d",
                        n, self.functions)
            self.stop()
            return False
        return True

    async def answer(self, body: bytes) -> tuple[int, bytes] | None:
        """The call answered by the child; None when there is no usable child (answer it in a thread);
        :data:`STOPPED` when the child died during the call (answer it with :func:`stopped_adapter`)."""
        if not self.usable():
            return None
        pool = self.pool
        assert pool is not None
        try:
            future = pool.submit(_answer, body)
        except BrokenProcessPool:  # it stopped between calls: this call in a thread, a new process for the next
            logger.error("the process answering large calls had stopped; starting a new one")
            self._restart(pool)
            return None
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            logger.error("the process answering large calls stopped during a call; starting a new one")
            self._restart(pool)
            return STOPPED

    def _restart(self, pool: ProcessPoolExecutor) -> None:
        if pool is self.pool:  # (not already restarted by a concurrent call)
            pool.shutdown(wait=False, cancel_futures=True)
            self.start()

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self.ready = None
