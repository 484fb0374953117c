"""`kpi build --executor dask` on large data: the MRR tables from the cluster give the workbook of the in-process build.

A LocalCluster of two worker processes; small data forced into the large-data layout (`--layout large`), so
that the build takes the MRR schedule's tables from the cluster (`workbook_templates.cluster_build`). Each
workbook is compared with the same report built in this process in the same layout, cell by cell on every
sheet but the MRR table's own (the cluster build leaves it out), the Notes and the hidden stored values:
counts, customer numbers and per-customer MRR must be identical, money equal to a relative 1e-12 (the
cluster adds partition subtotals). What the in-process build computes is the library on the whole data, so
this checks the cluster's tables against it, independently of how they were made.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # noqa: F401  (.ci/run installs the dask and parquet extras: a missing one must fail)
    import pyarrow  # noqa: F401
else:
    pytest.importorskip("distributed")
    pytest.importorskip("pyarrow")

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

#: sheets that differ by design: the MRR table is not in the cluster build, the Notes say how each was made, and
#: the hidden stored copies follow from which tables are live
SKIP = {"MRR", "Notes", "_values"}
#: below this a money cell is a difference of sums that is 0 but for rounding (the sales cost not allocated to a
#: channel: the total less the channels' shares), which no relative tolerance can compare
ZERO = 1e-9
LOG_LINE = re.compile(r"MRR tables from the cluster: (\d+) partitions, ([\d,]+) MRR rows")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The first 60 customers of the sample data and everything about them."""
    return small_sample(tmp_path_factory.mktemp("small") / "data", 60)


def _build(out: Path, data: Path, *args: str, scheduler: str | None = None) -> str:
    extra = ["--executor", "dask", "--scheduler", scheduler] if scheduler else []
    r = CliRunner().invoke(app, ["build", *args, "--data", str(data), "--out", str(out), "--no-progress",
                                 "--log-format", "text", *extra])
    assert r.exit_code == 0, r.output
    return r.output


def _sheets(path: Path) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def _exact(sheet: str, header: list) -> set[int]:
    """Columns that must be identical: customer counts of the movements, the per-customer MRR, cohort sizes
    and logo retention."""
    if sheet in ("Customer MRR", "Cohorts"):
        return set(range(len(header)))
    if sheet in ("Movements",):
        return {j for j, h in enumerate(header) if isinstance(h, str) and (h.startswith("customers")
                                                                           or h in ("new customers", "reactivated",
                                                                                    "churned customers"))}
    return set()


def assert_same_workbook(cluster_path: Path, local_path: Path) -> int:
    """Every cell of every sheet but :data:`SKIP` equal; returns how many numbers were compared."""
    got, want = _sheets(cluster_path), _sheets(local_path)
    assert list(got) == list(want)
    numbers = 0
    for sheet, rows in want.items():
        if sheet in SKIP:
            continue
        other = got[sheet]
        assert len(other) == len(rows), f"{sheet}: {len(other)} rows, in-process {len(rows)}"  # nothing cut
        header = next((r for r in rows[:4] if any(isinstance(v, str) for v in r)), [])
        exact = _exact(sheet, rows[3] if len(rows) > 3 else header)
        for i, (a, b) in enumerate(zip(other, rows, strict=True)):
            assert len(a) == len(b), f"{sheet} row {i + 1}"
            for j, (x, y) in enumerate(zip(a, b, strict=True)):
                where = f"{sheet}!{openpyxl.utils.get_column_letter(j + 1)}{i + 1}"
                if isinstance(y, float) and isinstance(x, (int, float)) and not isinstance(x, bool):
                    numbers += 1
                    if j in exact or math.isnan(y):
                        assert x in (y, r16(y)) or (math.isnan(y) and math.isnan(x)), (where, x, y)
                    elif abs(y) < ZERO:  # a difference of sums that is 0 up to rounding: 0 up to rounding here too
                        assert abs(x) < ZERO, (where, x, y)
                    else:
                        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0) or x == y, (where, x, y)
                else:
                    assert x == y, (where, x, y)
    return numbers


def r16(v: float) -> float:
    """A number as a workbook stores a value cell: XlsxWriter writes a value with 16 significant digits, a formula's
    cached value with all 17 — a cell stored in the cluster build (it reads the MRR table, not in the workbook)
    and live in the in-process one holds the same number written to 16 digits."""
    return float(f"{v:.16g}")


def _lines(output: str, kind: str) -> list[str]:
    """The log lines of one kind; a number with more than 12 significant digits in them (a KPI's input quoted
    in its warning, e.g. a gross margin made from the period's recurring revenue) to 12."""
    def short(m: re.Match) -> str:
        return f"{float(m.group(0)):.12g}"

    return sorted(re.sub(r"-?\d+\.\d{12,}", short, line) for line in output.splitlines()
                  if line.startswith(f"{kind} "))


def _warned(output: str) -> set[tuple[str, str]]:
    """Each warning and each cell it was said of (a line groups the cells of one message: cells whose inputs
    differ in the last digit are two lines in one build and one in the other)."""
    out = set()
    for line in _lines(output, "warning"):
        message, _, places = line.partition(" — ")
        cells = re.findall(r"\(([^()]*![A-Z]+\d+)\)", places) or [""]
        out.update((message, c) for c in cells)
    return out


def test_the_cluster_build_gives_the_in_process_workbook(cluster, small, tmp_path):
    reports = ["saas_dashboard", "executive_overview"]
    local = _build(tmp_path / "local", small, *reports, "--layout", "large")
    dask = _build(tmp_path / "dask", small, *reports, "--layout", "large", scheduler=cluster)
    customers = pd.read_csv(small / "customers.csv")
    expected_rows = None
    for name in reports:
        numbers = assert_same_workbook(tmp_path / "dask" / f"{name}.xlsx", tmp_path / "local" / f"{name}.xlsx")
        assert numbers > 2_000
        said = [m for line in dask.splitlines() if line.startswith(f"note {name}:") and (m := LOG_LINE.search(line))]
        assert len(said) == 1, dask
        partitions, rows = int(said[0][1]), int(said[0][2].replace(",", ""))
        assert partitions >= 2
        # the MRR table's rows, as the in-process build wrote them (its MRR sheet, under the header row)
        mrr = _sheets(tmp_path / "local" / f"{name}.xlsx")["MRR"]
        in_process = sum(1 for r in mrr[4:] if r and r[0] is not None)
        assert rows == in_process
        expected_rows = expected_rows or rows
        assert rows == expected_rows  # one computation for both reports (same segment and period)
        cust = _sheets(tmp_path / "dask" / f"{name}.xlsx")["Customer MRR"]
        assert sum(1 for r in cust[4:] if r and r[0] is not None) == customers["customer_id"].nunique()
    assert "MRR tables from the cluster" not in local
    assert _warned(dask) == _warned(local)  # the KPIs' own warnings, place by place
    assert not list((tmp_path / "dask").glob(".*kpi-tmp*"))  # the Parquet parts and tables are removed


def test_a_quarter_takes_its_movements_and_recurring_revenue_from_the_cluster(cluster, small, tmp_path):
    """A quarter's movements (quarters of the fiscal year that ends in the report month's quarter), the monthly
    movements beside them, and the recurring revenue of the quarter's three months (summed from the monthly
    totals)."""
    args = ["saas_dashboard", "executive_overview", "--period", "2026-Q1", "--layout", "large"]
    local = _build(tmp_path / "local", small, *args)
    dask = _build(tmp_path / "dask", small, *args, scheduler=cluster)
    for name in ("saas_dashboard__2026-Q1.xlsx", "executive_overview__2026-Q1.xlsx"):
        assert assert_same_workbook(tmp_path / "dask" / name, tmp_path / "local" / name) > 2_000
    assert len(LOG_LINE.findall(dask)) == 2
    assert _warned(dask) == _warned(local)


def test_each_segment_gets_its_own_tables(cluster, small, tmp_path):
    args = ["saas_dashboard", "--by", "region", "--layout", "large"]
    local = _build(tmp_path / "local", small, *args)
    dask = _build(tmp_path / "dask", small, *args, scheduler=cluster)
    names = sorted(p.name for p in (tmp_path / "local").glob("*.xlsx"))
    assert len(names) >= 3 and names == sorted(p.name for p in (tmp_path / "dask").glob("*.xlsx"))
    for name in names:
        assert_same_workbook(tmp_path / "dask" / name, tmp_path / "local" / name)
    rows = [int(m[2].replace(",", "")) for m in LOG_LINE.finditer(dask)]
    assert len(rows) == len(names) and len(set(rows)) > 1  # each segment's own MRR table
    assert _warned(dask) == _warned(local)


def test_a_mapped_nordic_folder_reads_the_same_rows_on_the_cluster(cluster, tmp_path):
    """Own file and header names, amounts in øre, billing periods as words, ';', decimal comma, dd.mm.yyyy,
    Windows-1252 (the mapping file of test_mapping): the cluster works on the rows as the build read them."""
    from test_mapping import _norsk, _plain

    norsk = _norsk(_plain(tmp_path), tmp_path / "norsk")
    local = _build(tmp_path / "local", norsk, "saas_dashboard", "--layout", "large")
    dask = _build(tmp_path / "dask", norsk, "saas_dashboard", "--layout", "large", scheduler=cluster)
    assert LOG_LINE.search(dask) and not LOG_LINE.search(local)
    assert assert_same_workbook(tmp_path / "dask" / "saas_dashboard.xlsx",
                                tmp_path / "local" / "saas_dashboard.xlsx") > 2_000


def test_a_report_whose_formulas_read_the_mrr_table_otherwise_is_built_in_full(cluster, small, tmp_path):
    """The retention report's lifetimes table has a row per customer of the MRR table: the cluster's tables
    do not stand for it, so the build computes the schedule itself, says so, and writes the same workbook as
    the local run (its MRR table included)."""
    _build(tmp_path / "local", small, "retention_cohorts", "--layout", "large")
    dask = _build(tmp_path / "dask", small, "retention_cohorts", "--layout", "large", scheduler=cluster)
    assert "retention_cohorts: the MRR table is computed in the build, not on the cluster: the rows of table " \
           "life are the customers of the MRR table" in dask.replace("\n", " ")
    assert not LOG_LINE.search(dask)
    a, b = (_sheets(p / "retention_cohorts.xlsx") for p in (tmp_path / "dask", tmp_path / "local"))
    assert a == b


def test_auto_layout_uses_the_cluster_only_when_the_mrr_table_would_not_fit(cluster, small, tmp_path,
                                                                           monkeypatch):
    from distributed import Client

    from workbook_templates import builder
    from workbook_templates.batch import plan
    from workbook_templates.cluster_build import attach_cluster_tables

    out = tmp_path / "out"
    out.mkdir()
    tasks = plan(["saas_dashboard"], small.resolve(), out.resolve())
    said: list[tuple[str, str]] = []
    with Client(cluster, set_as_default=False) as client:
        with attach_cluster_tables(tasks, client, out.resolve(), lambda k, line: said.append((k, line))) as got:
            assert [t.cluster for t in got] == [None]  # the MRR table fits: the standard build
        monkeypatch.setattr(builder, "MAX_ROWS", 500)  # now it does not (a few thousand customer-months)
        with attach_cluster_tables(tasks, client, out.resolve(), lambda k, line: said.append((k, line))) as got:
            t = got[0].cluster
            assert t is not None and t.rows > 500 and Path(t.customers_path).is_file()
            assert said.pop()[1].startswith("saas_dashboard: MRR tables computed on the cluster in ")
        assert not Path(t.customers_path).exists()  # removed when the block ends
        standard = [dataclass_replace(x, layout="standard") for x in tasks]
        with attach_cluster_tables(standard, client, out.resolve(), lambda k, line: said.append((k, line))) as got:
            assert [x.cluster for x in got] == [None]  # --layout standard never
    assert said == []


def dataclass_replace(task, **kw):
    import dataclasses

    return dataclasses.replace(task, **kw)


def test_a_formula_no_cluster_table_stands_for_stops_that_build_which_runs_in_full(cluster, small, tmp_path):
    """The tables the task carries lack the movements: the first formula over them reads the MRR table, which
    is not there — the build stops and runs again in full (in this process here), and says so."""
    from distributed import Client

    from workbook_templates.batch import plan, run_task
    from workbook_templates.cluster_build import attach_cluster_tables

    out = tmp_path / "out"
    out.mkdir()
    tasks = plan(["executive_overview"], small.resolve(), out.resolve(), layout="large")
    with Client(cluster, set_as_default=False) as client, \
            attach_cluster_tables(tasks, client, out.resolve(), lambda k, line: None) as got:
        ct = got[0].cluster
        assert ct is not None
        whole = run_task(got[0])
        assert whole.ok and ct.note in whole.notes
        partial = dataclass_replace(ct, tables=tuple((k, v) for k, v in ct.tables if k[0] != "KPI_MRR_MOVEMENTS"))
        res = run_task(dataclass_replace(got[0], cluster=partial, out_path=str(out / "again.xlsx")))
    assert res.ok, res.error
    said = [n for n in res.notes if n.startswith("MRR tables from the cluster not used: executive_overview: a "
                                                   "formula of table ") and "movements" in n]
    assert len(said) == 1 and said[0].endswith("reads the table mrr, which was computed outside this build; "
                                               "computed in the build"), res.notes
    ref = run_task(dataclass_replace(tasks[0], out_path=str(out / "local.xlsx")))
    assert _sheets(out / "again.xlsx") == _sheets(out / "local.xlsx")  # the MRR table and all, as in-process
    assert ref.ok and res.headline == ref.headline
