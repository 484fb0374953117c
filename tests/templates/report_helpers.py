"""Helpers shared by the report tests (imported as a plain module: pytest puts this folder on sys.path)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.builder import BuildResult

ROOT = Path(__file__).resolve().parents[2]


def small_sample(dst: Path, n_customers: int = 40, tail: dict[str, int] | None = None) -> Path:
    """A small copy of the sample data in `dst`: the first `n_customers` customers and everything about
    them; a table without a customer_id keeps all its rows, or its last `tail[file name]` rows."""
    dst.mkdir(parents=True, exist_ok=True)
    cust = pd.read_csv(SAMPLE_DIR / "customers.csv", dtype=str, keep_default_na=False)
    keep = set(cust["customer_id"].head(n_customers))
    for f in SAMPLE_DIR.glob("*.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        if "customer_id" in df.columns:
            df = df[df["customer_id"].isin(keep)]
        elif tail and f.name in tail:
            df = df.tail(tail[f.name])
        df.to_csv(dst / f.name, index=False)
    return dst


def copy_data(src: Path, dst: Path) -> Path:
    """A copy of the data folder `src` in the new folder `dst`, for a test to edit."""
    dst.mkdir()
    for f in src.glob("*.csv"):
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def bad_nps_score(d: Path) -> tuple[pd.DataFrame, str]:
    """Gives the fourth NPS response of the data folder `d` (row 5 of nps_responses.csv) the score "eleven";
    returns the customers table and the region of the customer who gave that response."""
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    nps = pd.read_csv(d / "nps_responses.csv", dtype=str, keep_default_na=False)
    region = cust.loc[cust["customer_id"] == nps.loc[3, "customer_id"], "region"].iloc[0]
    nps.loc[3, "score"] = "eleven"
    nps.to_csv(d / "nps_responses.csv", index=False)
    return cust, region


@dataclass
class Built:
    key: str
    path: Path
    result: BuildResult


def need_program(*names: str) -> str:
    """tests/conftest.py's rule: skip locally without the program, fail in CI."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_kpi_tests_root_conftest_templates", ROOT / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.need_program(*names)


def expected_cells(res: BuildResult) -> Iterator[tuple[str, str, str, Any]]:
    """(sheet, cell, kind, value) of every formula cell and every cell of a spilled result."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    for c in res.cells:
        if c.kind in ("kpi", "native") or (c.kind == "spill" and c.formula):
            yield c.sheet, c.cell, c.kind, c.value
    for s in res.spills:
        for j, h in enumerate(s.header):
            if j:  # the anchor (j == 0) is listed above
                yield s.sheet, xl_rowcol_to_cell(s.row, s.col + j), "spill", h
        for j, (kind, vals) in enumerate(s.columns):
            for i, v in enumerate(vals):
                if isinstance(v, float) and math.isnan(v):
                    v = None
                yield s.sheet, xl_rowcol_to_cell(s.row + 1 + i, s.col + j), "spill", v


def same(a: Any, b: Any) -> bool:
    """Equality of a library value and a spreadsheet value (numbers to 1e-9; dates as serials; blank == "")."""
    import datetime as dt

    from workbook_templates.formulas import excel_serial

    if isinstance(b, (dt.datetime, dt.date)):
        b = excel_serial(b)
    if isinstance(a, (dt.datetime, dt.date)):
        a = excel_serial(a)
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b
