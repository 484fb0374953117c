"""Excel's grid (1,048,576 rows × 16,384 columns): a report whose table does not fit is refused, never truncated.

XlsxWriter drops cells past the grid without a word, so the builder checks every sheet it will write
(input tables, report and calc sheets, the hidden values sheet) before any file is written. These tests
shrink the limits (the check reads the module constants) and build a real small report the way `kpi build`
does; the sizes they expect come from a report actually written with the real limits, read back with openpyxl.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import builder
from workbook_templates.batch import Task, run_task
from workbook_templates.builder import BuildError, GridLimitError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

REPORT = "saas_dashboard"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The first 40 customers of the sample data; marketing and costs cut short so that the MRR sheet is the
    largest visible table of saas_dashboard."""
    return small_sample(tmp_path_factory.mktemp("grid") / "data", 40, tail={"marketing.csv": 60, "costs.csv": 60})


@pytest.fixture(scope="module")
def reference(small, tmp_path_factory) -> dict:
    """saas_dashboard built with the real limits: its file's bytes and the extent of every sheet as written."""
    out = tmp_path_factory.mktemp("ref")
    res = run_task(Task(REPORT, str(small), str(out / f"{REPORT}.xlsx")))
    assert res.ok, res.error
    path = out / f"{REPORT}.xlsx"
    wb = openpyxl.load_workbook(path, read_only=False)
    extents = {ws.title: (ws.max_row, ws.max_column) for ws in wb.worksheets}
    return {"bytes": path.read_bytes(), "extents": extents}


def _build(small: Path, out: Path, **kw):
    """Build in the standard layout (the default, auto, would choose the large-data layout: test_large_layout)."""
    kw.setdefault("layout", "standard")
    return run_task(Task(REPORT, str(small), str(out / f"{REPORT}.xlsx"), **kw))


def test_the_limits_are_excels_and_the_check_reads_them_at_call_time():
    assert builder.MAX_ROWS == 1_048_576 == 2**20
    assert builder.MAX_COLS == 16_384 == 2**14
    assert issubclass(GridLimitError, BuildError)  # batch and CLI report it per report, as a clean failure
    # the check refers to the module globals (not default arguments or copies bound at import)
    names = builder.check_grid.__code__.co_names
    assert "MAX_ROWS" in names and "MAX_COLS" in names


def test_a_sheet_over_the_row_limit_fails_cleanly_and_keeps_the_previous_report(small, reference, tmp_path,
                                                                               monkeypatch):
    mrr_rows = reference["extents"]["MRR"][0]
    assert mrr_rows > 100  # a real table (header at row 4, one row per customer and month)
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{REPORT}.xlsx").write_bytes(reference["bytes"])  # the previous report
    fresh = tmp_path / "fresh"

    monkeypatch.setattr(builder, "MAX_ROWS", mrr_rows - 1)
    res = _build(small, out)
    assert not res.ok
    assert res.error.startswith(f"sheet 'MRR' needs {mrr_rows:,} rows")
    assert f"at most {mrr_rows - 1:,} rows" in res.error and "kpi build --by <column>" in res.error
    assert REPORT not in res.error  # the caller prefixes the report name
    assert "unexpected" not in res.error
    assert (out / f"{REPORT}.xlsx").read_bytes() == reference["bytes"]
    assert sorted(p.name for p in out.iterdir()) == [f"{REPORT}.xlsx"]  # no temp file left behind

    res = _build(small, fresh)  # no previous report: nothing at all is written
    assert not res.ok
    assert not fresh.exists() or not list(fresh.iterdir())


@pytest.mark.parametrize("flavour", ["classic", "values"])
def test_exactly_at_the_limit_builds_and_one_more_row_or_column_is_refused(small, reference, tmp_path,
                                                                         monkeypatch, flavour):
    if flavour == "classic":
        extents = reference["extents"]
    else:  # no hidden values sheet: measure this flavour's own file
        res = _build(small, tmp_path / "ref", flavour=flavour)
        assert res.ok, res.error
        wb = openpyxl.load_workbook(tmp_path / "ref" / f"{REPORT}.xlsx")
        extents = {ws.title: (ws.max_row, ws.max_column) for ws in wb.worksheets}
        assert builder.VALUES_SHEET not in extents
    rows = max(r for r, _ in extents.values())
    cols = max(c for _, c in extents.values())
    widest = [s for s, (_, c) in extents.items() if c == cols]

    monkeypatch.setattr(builder, "MAX_ROWS", rows)
    monkeypatch.setattr(builder, "MAX_COLS", cols)
    res = _build(small, tmp_path / "at", flavour=flavour)
    assert res.ok, res.error
    wb = openpyxl.load_workbook(tmp_path / "at" / f"{REPORT}.xlsx")
    assert {ws.title: (ws.max_row, ws.max_column) for ws in wb.worksheets} == extents

    monkeypatch.setattr(builder, "MAX_ROWS", rows - 1)
    res = _build(small, tmp_path / "rows", flavour=flavour)
    assert not res.ok and f"needs {rows:,} rows" in res.error and f"at most {rows - 1:,} rows" in res.error
    assert not list((tmp_path / "rows").glob("*.xlsx"))

    monkeypatch.setattr(builder, "MAX_ROWS", rows)
    monkeypatch.setattr(builder, "MAX_COLS", cols - 1)
    res = _build(small, tmp_path / "cols", flavour=flavour)
    assert not res.ok and f"needs {cols:,} columns" in res.error, res.error
    assert f"at most {cols - 1:,} columns" in res.error
    assert any(res.error.startswith(f"sheet {s!r}") for s in widest), res.error
    assert not list((tmp_path / "cols").glob("*.xlsx"))


def test_the_hidden_values_sheet_is_checked_too(small, reference, tmp_path, monkeypatch):
    values_rows = reference["extents"][builder.VALUES_SHEET][0]
    visible = max(r for s, (r, _) in reference["extents"].items() if s != builder.VALUES_SHEET)
    assert values_rows > visible  # the stored copies of every spilled table: the largest sheet of this report
    monkeypatch.setattr(builder, "MAX_ROWS", values_rows - 1)
    res = _build(small, tmp_path)
    assert not res.ok
    assert res.error.startswith(f"sheet '{builder.VALUES_SHEET}' needs {values_rows:,} rows"), res.error
    monkeypatch.setattr(builder, "MAX_ROWS", values_rows)
    assert _build(small, tmp_path).ok


def test_kpi_build_exits_1_with_one_line_per_failed_report_and_builds_the_others(small, reference, tmp_path,
                                                                                 monkeypatch):
    mrr_rows = reference["extents"]["MRR"][0]
    monkeypatch.setattr(builder, "MAX_ROWS", mrr_rows - 1)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["build", REPORT, "marketing_funnel", "--data", str(small), "--out", str(out),
                                 "--no-progress", "--layout", "standard"])
    assert r.exit_code == 1, r.output
    flat = " ".join(r.output.split())
    line = f" report={REPORT} segment=- period=latest status=failed "
    assert flat.count(line) == 1, r.output
    assert flat.count(f'kept="no previous report" error: sheet \'MRR\' needs {mrr_rows:,} rows') == 1, r.output
    assert f"{REPORT}: {REPORT}" not in flat and flat.count("sheet 'MRR' needs") == 1
    assert f"at most {mrr_rows - 1:,} rows" in flat and "kpi build --by <column>" in flat
    assert "Traceback" not in r.output and "unexpected" not in r.output
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["marketing_funnel.xlsx"]
