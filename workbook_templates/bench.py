"""How long the reports take, against writing the same cells with bare XlsxWriter.

``python -m workbook_templates.bench`` builds every demo report in one
process while recording each cell the builder writes (value, formula, blank,
table), then replays exactly those calls on a fresh XlsxWriter workbook —
no data loading, no KPI computation, no formats, no charts — and reports
both times (CPU seconds of this process, so a busy machine does not skew the
ratio) and the wall time of ``kpi demo`` run as a user would.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

__all__ = ["measure"]

_RECORDED = ("write_number", "write_string", "write_formula", "write_blank", "write_boolean",
             "write_dynamic_array_formula", "add_table")


def _record(calls: list) -> dict:
    originals = {}
    for name in _RECORDED:
        orig = getattr(Worksheet, name)
        originals[name] = orig

        def wrapper(self, *args, _orig=orig, _name=name, **kw):
            calls.append((self.name, _name, args, kw))
            return _orig(self, *args, **kw)

        setattr(Worksheet, name, wrapper)
    return originals


def _replay(calls: list, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})  # the same writer options as the builder
    sheets: dict[str, Worksheet] = {}
    for sheet, name, args, kw in calls:
        ws = sheets.get(sheet)
        if ws is None:
            ws = sheets[sheet] = wb.add_worksheet(sheet)
        if name == "add_table":
            getattr(ws, name)(*args, **kw)
            continue
        # the same cell and value, without a format object
        a = list(args)
        if name in ("write_number", "write_string", "write_boolean", "write_blank"):
            a = a[:3] if name != "write_blank" else a[:2] + [None]
        elif name == "write_formula":
            a = a[:3] + [None] + a[4:5]
        elif name == "write_dynamic_array_formula":
            a = a[:5] + [None] + a[6:7]
        getattr(ws, name)(*a)
    wb.close()


def measure(out: Path | None = None, demo_wall: bool = True) -> dict:
    from .batch import SAMPLE_DIR, atomic_build
    from .context import scope
    from .data import load_all
    from .make_templates import SOURCE_LABEL
    from .reports import REPORTS

    tmp = Path(out or tempfile.mkdtemp(prefix="kpi-bench-"))
    T = time.process_time
    per_report: dict[str, list] = {}
    t0 = T()
    tables, _ = load_all(SAMPLE_DIR)
    t_load = T() - t0
    ours = t_load
    cells = 0
    for key, spec in REPORTS.items():
        a = T()
        atomic_build(spec, scope(tables, spec.datasets, None, None, SOURCE_LABEL), tmp / f"{key}.xlsx")
        ours += T() - a
        calls: list = []
        orig = _record(calls)  # a second build, only to record the cells it writes
        try:
            atomic_build(spec, scope(tables, spec.datasets, None, None, SOURCE_LABEL), tmp / f"rec_{key}.xlsx")
        finally:
            for name, f in orig.items():
                setattr(Worksheet, name, f)
        per_report[key] = calls
        cells += sum(1 for c in calls if c[1] != "add_table")
    bare = 0.0
    for key, calls in per_report.items():
        a = T()
        _replay(calls, tmp / f"bare_{key}.xlsx")
        bare += T() - a
    result = {"cells": cells, "load_s": t_load, "ours_cpu_s": ours, "bare_cpu_s": bare, "ratio": ours / bare}
    if demo_wall:
        a = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", "from kpi_cli.main import app; app()", "demo", "--out",
                               str(tmp / "demo")], capture_output=True, text=True)
        result["demo_wall_s"] = time.perf_counter() - a
        result["demo_ok"] = proc.returncode == 0
    return result


def main() -> None:  # pragma: no cover
    r = measure()
    print(f"cells written (all five reports): {r['cells']:,}")
    print(f"ours, one process: {r['ours_cpu_s']:.2f} s CPU (load {r['load_s']:.2f} s, KPIs, formats, charts, write)")
    print(f"bare XlsxWriter, same cells: {r['bare_cpu_s']:.2f} s CPU")
    print(f"ratio: {r['ratio']:.2f}×")
    if "demo_wall_s" in r:
        print(f"kpi demo (2 processes, incl. start-up): {r['demo_wall_s']:.1f} s wall, ok={r['demo_ok']}")


if __name__ == "__main__":  # pragma: no cover
    main()
