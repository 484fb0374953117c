"""Timing, memory and machine facts, and the figures the suite reports.

A :class:`Figure` is one measured quantity of the project beside one baseline
measured in the same run: the two medians, their ratio, the target and
whether it is met. Timings interleave the candidates (A, B, A, B, …) so that a
change of load on a shared machine hits every candidate alike, and report the
median.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------
@dataclass
class Figure:
    """One measurement of the project, paired with a baseline from the same run.

    ``value`` and ``baseline_value`` are in ``unit`` ("s", "MB", "calls/s");
    ``ratio`` is value ÷ baseline value (for times: how many times the
    baseline's time the project takes — below 1 is faster). ``ok`` is whether
    the target is met (``None`` when the row has no target: context only).
    """

    group: str
    work: str
    case: str
    value: float
    unit: str = "s"
    baseline: str = ""
    baseline_value: float | None = None
    target: str = ""
    ok: bool | None = None
    runs: int = 0
    note: str = ""
    ratio: float | None = field(default=None)

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline_value not in (None, 0) and self.value == self.value:
            self.ratio = self.value / self.baseline_value

    @property
    def status(self) -> str:
        return "" if self.ok is None else ("met" if self.ok else "MISSED")


def fmt_value(v: float | None, unit: str) -> str:
    """A value in its unit, readable: 0.0012 s -> 1.2 ms."""
    if v is None:
        return ""
    if math.isnan(v):
        return "failed"
    if unit == "s":
        if v < 1e-3:
            return f"{v * 1e6:.0f} µs"
        if v < 1:
            return f"{v * 1e3:.3g} ms" if v * 1e3 < 100 else f"{v * 1e3:.0f} ms"
        return f"{v:.3g} s" if v < 100 else f"{v:.0f} s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    if unit == "calls/s":
        return f"{v:,.0f} calls/s"
    return f"{v:.3g} {unit}"


def fmt_ratio(r: float | None) -> str:
    if r is None or math.isnan(r):
        return ""
    if r >= 10:
        return f"{r:.0f}×"
    if r >= 0.1:
        return f"{r:.2f}×"
    return f"{r:.3f}×"


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
@dataclass
class Timing:
    median: float
    runs: list[float]
    result: Any = None

    @property
    def p90(self) -> float:
        return percentile(self.runs, 0.9)


def percentile(xs: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0…1), as numpy's default."""
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def time_interleaved(candidates: dict[str, Callable[[], Any]], runs: int, *, warmup: int = 1,
                     budget: float | None = None, min_runs: int = 3) -> dict[str, Timing]:
    """Median wall time of each candidate, runs interleaved round-robin.

    ``warmup`` untimed calls of each first (imports, caches, first-touch page
    faults). With ``budget`` (seconds) fast candidates are run more often —
    up to the budget per candidate, at least ``min_runs`` and at most
    ``runs`` times — so that a figure of a millisecond is a median of many.
    Garbage collection is off during a timed call and runs between calls.
    """
    results: dict[str, Any] = {}
    for name, fn in candidates.items():
        for _ in range(warmup):
            results[name] = fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    spent = {name: 0.0 for name in candidates}
    active = list(candidates)
    gc_was = gc.isenabled()
    # the inputs (a million-row nested list is a million objects) go to the permanent
    # generation, so the collections between calls only walk what the calls left
    gc.collect()
    gc.freeze()
    try:
        while active:
            for name in list(active):
                gc.collect(1)
                gc.disable()
                t0 = time.perf_counter()
                results[name] = candidates[name]()
                dt = time.perf_counter() - t0
                gc.enable()
                times[name].append(dt)
                spent[name] += dt
                n = len(times[name])
                done = n >= runs or (budget is not None and n >= min_runs and spent[name] >= budget)
                if done:
                    active.remove(name)
    finally:
        gc.unfreeze()
        if gc_was:
            gc.enable()
        else:
            gc.disable()
    return {name: Timing(statistics.median(ts), ts, results.get(name)) for name, ts in times.items()}


# --------------------------------------------------------------------------
# Peak memory of a piece of work, in a fresh process
# --------------------------------------------------------------------------
def peak_memory(work: str, *args: str, timeout: float = 600) -> dict[str, float]:
    """Run ``python -m benchmarks.memory WORK ARGS…`` and return its JSON answer.

    The child builds the input, then measures the peak resident memory of the
    call alone (Linux: the high-water mark is reset just before the call) and
    of the whole process.
    """
    cmd = [sys.executable, "-m", "benchmarks.memory", work, *args]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, load and the versions the figures depend on."""
    mem = _memory_gb()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": cores,
        "memory": f"{mem:.1f} GB" if mem else "unknown",
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "load average at start": f"{load[0]:.2f}" if load else "n/a",
        "versions": {
            "python": platform.python_version(),
            **{name: _version(dist) for name, dist in (
                ("numpy", "numpy"), ("pandas", "pandas"), ("scipy", "scipy"), ("duckdb", "duckdb"),
                ("xlwings", "xlwings"), ("xlwings-server", "xlwings-server"), ("XlsxWriter", "XlsxWriter"),
                ("uvicorn", "uvicorn"), ("dask", "dask"), ("distributed", "distributed"),
                ("kpi-addin", "kpi-addin"),
            )},
        },
    }


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def figures_json(figures: list[Figure]) -> list[dict[str, Any]]:
    return [asdict(f) for f in figures]
