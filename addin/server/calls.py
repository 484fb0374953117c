"""Answering one custom-functions call, start to finish, in a worker thread.

:func:`answer_call` parses the body (:mod:`addin.server.requests`), lets
xlwings convert the arguments, runs the adapter, and serialises the answer —
all CPU-bound work, off the event loop. What can fail, and how it is answered:

- a malformed request: the :class:`~addin.server.requests.BadRequest` status
  (4xx) and message;
- a KPI error: the adapter's Excel error cell, 200, with ``"error"``;
- a bug in the KPI library (an exception that is not a typed KPI error): logged
  with its traceback, answered ``#VALUE!`` "unexpected error in the KPI
  library" (:func:`call_adapter`, docs/addin.md);
- xlwings failing to convert the call, or a result JSON cannot hold: logged,
  answered ``#VALUE!`` naming the function (a 200 with the error cell, as Excel
  shows it: never a 5xx);
- anything else is a bug of the backend itself and is not caught here: the call
  route answers it ``#VALUE!`` "internal error" (:func:`failed_answer`), logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .bridge import XlwingsServer
from .jsonio import dumps
from .middleware import log_safe
from .requests import BadRequest, blanks_as_none, parse_call

logger = logging.getLogger("kpi.addin")

__all__ = ["GC_PAUSE_BYTES", "RANGE_STAND_IN", "answer_call", "call_adapter", "failed_answer"]

#: what xlwings is given in place of a range argument the backend reads itself
RANGE_STAND_IN: list[list[Any]] = [[0]]


class _OneFunction:
    """A module-like object exposing one function to ``custom_functions_call``."""

    def __init__(self, name: str, func: Callable) -> None:
        setattr(self, name, func)


def call_adapter(adapter: Any, args: tuple, excel_error: Callable[[str, str], Any]) -> Any:
    """Run an adapter; a library bug becomes a #VALUE! with a pointer to the log.

    The adapters answer every typed KPI error with its Excel error themselves, so
    what reaches the ``except`` is a bug in the library (any exception type): the
    call is answered as docs/addin.md says, with the traceback in the log. Only
    the adapter call is inside the ``try``.
    """
    try:
        return adapter(*args)
    except Exception:
        name = adapter.kpi_spec.excel_name
        logger.exception("%s raised an unexpected error", name)
        return excel_error("#VALUE!", f"{name}: unexpected error in the KPI library; the server log has details")


_LOOPS = threading.local()
#: bodies from this size on are answered with the cyclic garbage collector paused
GC_PAUSE_BYTES = 256 * 1024
_GC_LOCK = threading.Lock()
_GC_HOLDERS = 0
_GC_WAS_ENABLED = [False]


class _NoCyclicGC:
    """Pause Python's *cyclic* garbage collector while a large call is answered.

    Parsing a large body and converting its cells allocates millions of small,
    acyclic objects (lists, floats, strings) that stay alive until the call ends.
    Each allocation burst triggers generation-2 passes of the cyclic collector
    that rescan every live object while holding the GIL — measured at up to
    0.5 s each for a 4 M-cell call, during which no other request (``/health``,
    a small call) is served, and they tripled ``json.loads``' time. Reference
    counting still frees everything as usual; only the cycle detector waits.
    Paused only for bodies of ``GC_PAUSE_BYTES`` or more, counted across
    concurrent calls (re-enabled when the last one ends), and never if the
    application had disabled it itself.
    """

    def __enter__(self) -> None:
        global _GC_HOLDERS
        with _GC_LOCK:
            if _GC_HOLDERS == 0:
                _GC_WAS_ENABLED[0] = gc.isenabled()
                gc.disable()
            _GC_HOLDERS += 1

    def __exit__(self, *exc: object) -> None:
        global _GC_HOLDERS
        with _GC_LOCK:
            _GC_HOLDERS -= 1
            if _GC_HOLDERS == 0 and _GC_WAS_ENABLED[0]:
                gc.enable()


def failed_answer(message: str) -> tuple[int, bytes]:
    """A call the backend could not answer, as Excel shows it: a 200 whose result is the ``#VALUE!`` cell and
    whose error carries ``message`` (the task pane's Recent errors and the cell's message), never a 5xx."""
    return 200, dumps({"result": [["#VALUE!"]], "error": {"code": "#VALUE!", "message": message}})


def _run_coroutine(coro: Any) -> Any:
    """Run a coroutine to completion in this worker thread (its own event loop)."""
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOOPS.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def answer_call(body: bytes, functions: dict[str, Any], xs: XlwingsServer, excel_error: type) -> tuple[int, bytes]:
    """One custom-functions call, start to finish, in a worker thread: (status, JSON body).

    ``excel_error`` is the adapters' Excel error class (what an adapter returns for
    a KPI error).
    """
    with _NoCyclicGC() if len(body) >= GC_PAUSE_BYTES else contextlib.nullcontext():
        return _answer_call(body, functions, xs, excel_error)


def _answer_call(body: bytes, functions: dict[str, Any], xs: XlwingsServer, excel_error: type) -> tuple[int, bytes]:
    t0 = time.perf_counter()
    try:
        name, data = parse_call(body, functions, xs.xlwings_version)
    except BadRequest as err:
        logger.info("call rejected (%s): %s", err.status, log_safe(err.message))
        return err.status, dumps({"detail": err.message})
    del body
    t_parsed = time.perf_counter()
    adapter = functions[name]
    box: list[Any] = []
    # Range arguments reach the adapter as read here: xlwings' reading of a 2-D range
    # is blanks ("") as None, one Python call per cell (0.3 s for a million cells);
    # xlwings gets a one-cell stand-in in their place and converts the rest of the
    # call (option arguments, the result) as always. tests/addin/test_addin_bridge.py
    # checks both readings give the adapter the same arguments.
    values = data["args"]
    own = {i: blanks_as_none(v) for i, (v, a) in enumerate(zip(values, adapter.kpi_spec.args))
           if a.is_range and v is not None}
    data = {**data, "args": [RANGE_STAND_IN if i in own else v for i, v in enumerate(values)]}
    del values
    times: list[float] = []

    async def run(*args: Any) -> Any:  # called by xlwings once it has converted the arguments
        times.append(time.perf_counter())
        rv = call_adapter(adapter, tuple(own.get(i, a) for i, a in enumerate(args)), excel_error)
        times.append(time.perf_counter())
        box.append(rv)
        return rv

    run.__xlfunc__ = adapter.__xlfunc__  # type: ignore[attr-defined]
    failed = f"{name}: the backend could not convert this call; the server log has details"
    try:
        # xlwings' conversion of the arguments and of the result (the adapter
        # itself cannot raise: call_adapter)
        result = _run_coroutine(xs.custom_functions_call(data, _OneFunction(name, run)))
    except Exception:  # xlwings' own code: a problem converting, never the caller's
        logger.exception("%s: converting the call failed", name)
        return failed_answer(failed)
    payload: dict[str, Any] = {"result": result}
    rv: Any = box[0] if box else None
    is_error = isinstance(rv, excel_error)
    if is_error:
        payload["error"] = {"code": rv.code, "message": rv.message}
    t_converted = time.perf_counter()
    try:
        content = dumps(payload)
    except (TypeError, ValueError):  # a value JSON cannot hold (a non-finite number, an unknown type)
        logger.exception("%s: serialising the answer failed", name)
        return failed_answer(failed)
    t_end = time.perf_counter()
    if len(times) == 2:  # (parse: JSON and validation; KPI: the adapter; xlwings: its conversions)
        parts = (f"parse {(t_parsed - t0) * 1000:.0f}, KPI {(times[1] - times[0]) * 1000:.0f}, "
                 f"xlwings {(times[0] - t_parsed + t_converted - times[1]) * 1000:.0f}, "
                 f"encode {(t_end - t_converted) * 1000:.0f} ms")
    else:  # pragma: no cover - xlwings always calls the function once
        parts = f"parse {(t_parsed - t0) * 1000:.0f} ms"
    logger.info("%s answered in %.1f ms (%s)%s", name, (t_end - t0) * 1000, parts,
                f" ({rv.code})" if is_error else "")
    return 200, content
