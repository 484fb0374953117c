"""``kpi demo`` (all five reports from the bundled sample data) against bare XlsxWriter.

The baseline writes exactly the cells ``kpi demo`` writes — every value,
formula, blank and table the report builder produced, recorded once in this
process — with bare XlsxWriter: no data loading, no KPI computation, no
formats, no charts (:mod:`benchmarks.bare_xlsx`). Both run as a fresh
process, as a user runs them, so both figures include starting Python and
the imports; ``kpi demo`` runs with its defaults (two worker processes).
Wall time, median of the runs, interleaved.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .bare_xlsx import cell_count, record_demo_cells
from .harness import ROOT, Figure, time_interleaved
from .kpi_serve import kpi_command, server_env

GROUP = "reports"
WALL_TARGET, BARE_TARGET = 10.0, 3.0


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=server_env(), timeout=600,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")


def run(runs: int = 3, log: Callable[[str], None] = print) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="kpi-bench-reports-") as tmp:
        tmpdir = Path(tmp)
        calls = record_demo_cells(tmpdir / "recorded")
        cells = cell_count(calls)
        calls_path = tmpdir / "cells.pickle"
        calls_path.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
        n = {"i": 0}

        def demo() -> None:
            n["i"] += 1
            out = tmpdir / f"demo{n['i']}"
            _run([*kpi_command(), "demo", "--out", str(out)], tmpdir)
            written = sorted(p.name for p in out.glob("*.xlsx"))
            if len(written) != 5:
                raise RuntimeError(f"kpi demo wrote {written}")
            shutil.rmtree(out, ignore_errors=True)

        def bare() -> None:
            n["i"] += 1
            out = tmpdir / f"bare{n['i']}"
            _run([sys.executable, "-m", "benchmarks.bare_xlsx", str(calls_path), str(out)], ROOT)
            shutil.rmtree(out, ignore_errors=True)

        t = time_interleaved({"kpi demo": demo, "bare": bare}, runs, warmup=0)
    ours, base = t["kpi demo"].median, t["bare"].median
    log(f"  kpi demo {ours:.2f} s, bare XlsxWriter {base:.2f} s ({cells:,} cells)")
    return [Figure(GROUP, "kpi demo (five reports)", f"bundled sample data, {cells:,} cells", ours,
                   baseline="bare XlsxWriter, same cells", baseline_value=base,
                   target=f"≤ {WALL_TARGET:g} s; ≤ {BARE_TARGET:g}× bare",
                   ok=ours <= WALL_TARGET and ours / base <= BARE_TARGET, runs=runs,
                   note="both as fresh processes (start-up and imports included); kpi demo with its default 2 jobs")]

