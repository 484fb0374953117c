"""The steps of one report's build, told to whoever listens (``kpi build``'s progress bar).

A build calls :func:`step` as it goes (``laying out``, ``evaluating`` with how many of its cells are done,
``writing input sheets``, ``writing``, ``saving``); :func:`listening` installs a listener for the calls made in
this process (``--jobs 1``: reports run in the process that shows the bar; a worker process of ``--jobs N``
has no listener and the calls cost nothing). A listener never changes what is built: it is only told.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

#: ``listener(step, done, total)``: ``done``/``total`` count the step's parts (cells, sheets), or are None
Listener = Callable[[str, "int | None", "int | None"], None]

_local = threading.local()


def step(name: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the listener of this thread, if any, that the build is at ``name`` (``done`` of ``total``)."""
    listener = getattr(_local, "listener", None)
    if listener is not None:
        listener(name, done, total)


def active() -> bool:
    """Whether a listener is installed in this thread (callers skip counting work nobody is told of)."""
    return getattr(_local, "listener", None) is not None


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Install ``listener`` for the builds run in this thread inside the ``with``; the previous one after."""
    before = getattr(_local, "listener", None)
    _local.listener = listener
    try:
        yield
    finally:
        _local.listener = before


# the listeners of kpi build (a terminal's bar, a log's lines)
#: how far into one report's build each step starts (a rough share of a large build's time), for the bar
_STEP_AT = {"reading the data": 0.0, "laying out": 0.02, "evaluating": 0.1, "writing input sheets": 0.5,
            "writing tables": 0.6, "saving the workbook": 0.8}


def bar_listener(prog, bar, finished: list[int]):
    """A build-step listener: the step (and how much of it is done) in the bar's description, and the bar
    moved that far into the report being built (``finished[0]`` reports are done)."""
    def told(name: str, done: int | None, total: int | None) -> None:
        at = _STEP_AT.get(name, 0.0)
        pct = ""
        if done is not None and total:
            pct = f" {100 * done // total}%"
            at += (0.5 - at) * done / total  # evaluating: from its start to where writing starts
        prog.update(bar, description=f"building reports: {name}{pct}", completed=finished[0] + at)
    return told


def log_listener(log):
    """A build-step listener for a log: one ``step`` line as a report's build reaches each step."""
    last: list[str] = [""]
    t0 = [time.perf_counter()]

    def told(name: str, done: int | None, total: int | None) -> None:
        if name == last[0]:
            return
        last[0] = name
        if name == "reading the data":  # a new report (its data read already, by the plan)
            t0[0] = time.perf_counter()
            return
        log.message("step", f"{name} ({time.perf_counter() - t0[0]:.1f} s into the report)")
    return told
