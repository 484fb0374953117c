"""Peak memory of one piece of work, measured in a fresh process.

    python -m benchmarks.memory WORK IMPL [SIZE ...]

WORK is ``movements``, ``cohort`` or ``schedule``; IMPL is ``library`` or
``duckdb``; SIZE is customers and months (movements, cohort) or
subscriptions and months (schedule). The process builds the input, then
resets the kernel's resident-memory high-water mark (Linux
``/proc/self/clear_refs``), runs the work once and prints one JSON line:

* ``call_mb`` — peak resident memory during the call above what the process
  held just before it (the input already built);
* ``process_mb`` — peak resident memory of the whole process during the call
  (interpreter, libraries, input and the call's own memory);
* ``input_mb`` — resident memory before the call (interpreter, libraries and
  input).

Where the high-water mark cannot be reset, ``tracemalloc``'s peak (Python and
numpy allocations only) is reported instead and ``method`` says so.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _status_mb(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def job(work: str, impl: str, sizes: list[int]) -> Callable[[], Any]:
    """The call to measure, with its input built (outside the measurement)."""
    import kpi_functions as k

    from . import baselines as b
    from .bench_mrr import table_frame
    from .bench_tables import make_subscriptions

    if work in ("movements", "cohort"):
        n_customers, n_months = sizes or [50_000, 20]
        frame = table_frame(n_customers, n_months, "text")
        if work == "movements":
            return (lambda: k.mrr_movements(frame)) if impl == "library" else (lambda: b.duckdb_movements(frame))
        return (lambda: k.cohort_retention(frame)) if impl == "library" else (lambda: b.duckdb_cohort_retention(frame))
    if work == "schedule":
        n_subs, n_months = sizes or [100_000, 36]
        subs = make_subscriptions(n_subs, n_months)
        return (lambda: k.mrr_schedule(subs)) if impl == "library" else (lambda: b.duckdb_schedule(subs))
    raise SystemExit(f"unknown work {work!r}")


def main(argv: list[str]) -> None:
    work, impl, *rest = argv
    if impl not in ("library", "duckdb"):
        raise SystemExit(f"unknown implementation {impl!r}")
    if impl == "duckdb":
        import duckdb  # noqa: F401  (loaded before the measurement, like numpy and pandas)
    fn = job(work, impl, [int(x) for x in rest])
    gc.collect()
    before = _status_mb("VmRSS")
    if before is not None and _reset_peak():
        fn()
        peak = _status_mb("VmHWM")
        out = {"method": "VmHWM", "input_mb": before, "process_mb": peak, "call_mb": peak - before}
    else:
        import tracemalloc

        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out = {"method": "tracemalloc", "input_mb": None, "process_mb": None, "call_mb": peak / 2**20}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
