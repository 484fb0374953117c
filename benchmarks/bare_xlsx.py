"""The bare-XlsxWriter baseline of ``kpi demo``: write the same cells, nothing else.

    python -m benchmarks.bare_xlsx CALLS.pickle OUT_DIR

CALLS.pickle holds, per report, the cell writes the report builder made
(recorded by :func:`record_demo_cells`: sheet, method, arguments — values,
formulas, blanks and table definitions). This script replays them on fresh
XlsxWriter workbooks with no formats, charts, data loading or KPI
computation, as the shortest script that produces those cells would. It is
run as its own process, like ``kpi demo``, so both figures include starting
Python and importing what they need.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path


def record_demo_cells(work_dir: Path) -> dict[str, list]:
    """Build every demo report once in this process, recording each cell it writes."""
    from workbook_templates.batch import SAMPLE_DIR, atomic_build
    from workbook_templates.context import scope
    from workbook_templates.data import load_all
    from workbook_templates.make_templates import SOURCE_LABEL
    from workbook_templates.reports import REPORTS

    from .xlsx_cells import recording

    tables, _ = load_all(SAMPLE_DIR)
    out: dict[str, list] = {}
    for key, spec in REPORTS.items():
        with recording() as calls:
            atomic_build(spec, scope(tables, spec.datasets, None, None, SOURCE_LABEL), work_dir / f"{key}.xlsx")
        # keep what the replay needs: sheet, method, plain arguments (no Format objects)
        out[key] = [(sheet, name, tuple(_plain(a) for a in args), {k: _plain(v) for k, v in kw.items()})
                    for sheet, name, args, kw in calls]
    return out


def _plain(v):
    from xlsxwriter.format import Format

    if isinstance(v, Format):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def cell_count(calls: dict[str, list]) -> int:
    return sum(1 for cs in calls.values() for c in cs if c[1] != "add_table")


def main(argv: list[str]) -> None:
    from .xlsx_cells import replay

    calls_path, out_dir = Path(argv[0]), Path(argv[1] if len(argv) > 1 else tempfile.mkdtemp())
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(calls_path, "rb") as fh:
        per_report = pickle.load(fh)
    for key, calls in per_report.items():
        replay(calls, out_dir / f"{key}.xlsx")


if __name__ == "__main__":
    main(sys.argv[1:])
