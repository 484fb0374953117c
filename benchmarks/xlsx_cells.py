"""How long the reports take, against writing the same cells with bare XlsxWriter.

``python -m benchmarks.xlsx_cells`` builds every demo report in one
process while recording each cell the builder writes (value, formula, blank,
table), then replays exactly those calls on a fresh XlsxWriter workbook —
no data loading, no KPI computation, no formats, no charts — and reports
both times (CPU seconds of this process, so a busy machine does not skew the
ratio) and the wall time of ``kpi demo`` run as a user would.

The recording patches ``xlsxwriter.Worksheet`` class-wide for as long as
:func:`recording` is open, which is why it lives with the benchmarks and not in
the report package. A block of whole columns (``FormulaSheet.write_block``) is
recorded as the per-cell calls it stands for, and a spill's anchor
(``FormulaSheet.write_spill_anchor``) as ``write_dynamic_array_formula``.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

__all__ = ["measure", "recording", "replay"]

_RECORDED = ("write_number", "write_string", "write_formula", "write_blank", "write_boolean",
             "write_dynamic_array_formula", "add_table")


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[str, str, tuple[Any, ...], dict[str, Any]]]]:
    """Record every cell write of every worksheet while open: ``(sheet, method, args, kwargs)``."""
    from workbook_templates.build.sheets import FormulaSheet

    calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
    originals = {name: getattr(Worksheet, name) for name in _RECORDED}
    block_originals = {name: getattr(FormulaSheet, name) for name in ("write_block", "write_spill_anchor")}

    def block(self: Any, first_row: int, first_col: int, columns: Any) -> None:
        calls.extend((self.name, name, args, {}) for name, args in _block_calls(first_row, first_col, columns))
        block_originals["write_block"](self, first_row, first_col, columns)

    def anchor(self: Any, *args: Any) -> Any:
        calls.append((self.name, "write_dynamic_array_formula", args, {}))
        return block_originals["write_spill_anchor"](self, *args)

    def recorder(name: str, orig: Any) -> Any:
        def wrapper(self: Worksheet, *args: Any, **kw: Any) -> Any:
            calls.append((self.name, name, args, kw))
            return orig(self, *args, **kw)

        return wrapper

    for name, orig in originals.items():
        setattr(Worksheet, name, recorder(name, orig))
    FormulaSheet.write_block = block  # type: ignore[method-assign]
    FormulaSheet.write_spill_anchor = anchor  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        for name, orig in originals.items():
            setattr(Worksheet, name, orig)
        for name, orig in block_originals.items():
            setattr(FormulaSheet, name, orig)


def _block_calls(first_row: int, first_col: int, columns: Any) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The per-cell calls a block stands for."""
    from workbook_templates.build.sheets import BlockColumn

    for j, col in enumerate(columns):
        for p in [col] if isinstance(col, BlockColumn) else col:
            fmts = list(p.fmts) if p.fmts is not None else [p.fmt] * len(p.values)
            cached = list(p.cached) if p.cached is not None else None
            for i, v in enumerate(list(p.values)):
                r, c, f = first_row + i, first_col + j, fmts[i]
                if p.kind == "blank":
                    if v:
                        yield "write_blank", (r, c, None, f)
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    if p.missing == "blank":
                        yield "write_blank", (r, c, None, f)
                    elif p.missing == "empty":
                        yield "write_formula", (r, c, '=""', f, "")
                elif p.kind == "num":
                    yield "write_number", (r, c, v, f)
                elif p.kind == "str":
                    yield "write_string", (r, c, v, f)
                elif p.kind == "bool":
                    yield "write_boolean", (r, c, bool(v), f)
                else:
                    yield "write_formula", (r, c, "=" + v, f, cached[i] if cached is not None else 0)


def replay(calls: list, path: Path) -> None:
    """Write the recorded cells on a fresh workbook: the same cells and values, no formats."""
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
    from workbook_templates.batch import SAMPLE_DIR, atomic_build
    from workbook_templates.context import scope
    from workbook_templates.data import load_all
    from workbook_templates.make_templates import SOURCE_LABEL
    from workbook_templates.reports import REPORTS

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
        with recording() as calls:  # a second build, only to record the cells it writes
            atomic_build(spec, scope(tables, spec.datasets, None, None, SOURCE_LABEL), tmp / f"rec_{key}.xlsx")
        per_report[key] = calls
        cells += sum(1 for c in calls if c[1] != "add_table")
    bare = 0.0
    for key, calls in per_report.items():
        a = T()
        replay(calls, tmp / f"bare_{key}.xlsx")
        bare += T() - a
    result = {"cells": cells, "load_s": t_load, "ours_cpu_s": ours, "bare_cpu_s": bare, "ratio": ours / bare}
    if demo_wall:
        a = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", "from kpi_cli.main import app; app()", "demo", "--out",
                               str(tmp / "demo")], capture_output=True, text=True, check=False)
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
