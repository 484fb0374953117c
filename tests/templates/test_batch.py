"""`kpi build` / `kpi demo` / `kpi templates`: options, failure isolation, atomic writes, injection, paths."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from report_helpers import bad_nps_score, copy_data, small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import batch
from workbook_templates.batch import PlanError, Task, parse_periods, parse_shard, run_task, safe_component

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

HOSTILE_NAME = '=HYPERLINK("http://example.invalid/x","click")'


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return small_sample(tmp_path_factory.mktemp("small") / "data")


@pytest.fixture()
def hostile(small, tmp_path) -> Path:
    """Segment values that try to escape the output folder or name devices, and text that looks like formulas."""
    d = copy_data(small, tmp_path / "hostile")
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    evil = ["../../escape", "CON", "x" * 300, "a/b\\c:d*?", "=1+1", "-2+3", "@SUM(A1)", "Zürich ünïcode"]
    for i, v in enumerate(evil):
        cust.loc[i, "region"] = v
    cust.loc[len(evil), "name"] = HOSTILE_NAME
    cust.to_csv(d / "customers.csv", index=False)
    nps = pd.read_csv(d / "nps_responses.csv", dtype=str, keep_default_na=False)
    nps.loc[0, "comment"] = "+cmd|' /C calc'!A0"
    nps.loc[1, "comment"] = "=2*3"
    nps.to_csv(d / "nps_responses.csv", index=False)
    return d


def invoke(*args: str):
    r = CliRunner().invoke(app, list(args))
    return r


# --------------------------------------------------------------------------
# Names and option parsing
# --------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["../../x", "..", "/etc/passwd", "CON", "con.txt", "LPT1", "a" * 300, "a/b", "a\\b",
                                   "", " ", "x\x00y", "\u202eevil", "..\\..\\win"])
def test_file_name_parts_from_data_are_safe(value, tmp_path):
    name = safe_component(value)
    assert name and "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert len(name) <= 80
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}
    p = tmp_path / f"report__region-{name}.xlsx"
    assert p.resolve().parent == tmp_path.resolve()


def test_different_values_never_share_a_file_name(small, tmp_path):
    values = ["a/b", "a_b", "a\\b", "A B", "a" * 300, "a" * 301]
    names = [safe_component(v) for v in values]
    assert len(set(names)) == len(names)
    assert safe_component("Europe") == "Europe" and safe_component("Paid search") == "Paid_search"
    # values that only differ by space/underscore read the same: the planner tells them apart
    d = copy_data(small, tmp_path / "d")
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    cust.loc[0, "region"], cust.loc[1, "region"] = "North East", "North_East"
    cust.loc[2, "channel"] = ""  # a blank in an optional column: a segment of its own
    cust.to_csv(d / "customers.csv", index=False)
    names = [Path(t.out_path).name for t in batch.plan(["customer_experience"], d, tmp_path, by="region")]
    assert len(set(names)) == len(names)
    assert sum("North_East" in n for n in names) == 2
    tasks = batch.plan(["customer_experience"], d, tmp_path / "o", by="channel")
    blank = [t for t in tasks if t.segment[1] is None]
    assert len(blank) == 1 and "channel-blank-" in blank[0].out_path
    r = run_task(blank[0])
    assert r.ok, r.error
    wb = openpyxl.load_workbook(r.path, data_only=True)
    assert wb["Experience"]["B6"].value == "channel = (blank)"
    assert {c.value for c in wb["NPS responses"]["B"][1:]} <= {cust.loc[2, "customer_id"]}


def test_periods_and_shards_parse():
    months = list(pd.date_range("2026-01-01", "2026-06-01", freq="MS"))
    assert parse_periods([], months) == [None]
    assert parse_periods(["latest"], months) == ["2026-06"]
    assert parse_periods(["2026-02:2026-04"], months) == ["2026-02", "2026-03", "2026-04"]
    assert parse_periods(["2026-01,2026-03", "2026-01"], months) == ["2026-01", "2026-03"]
    assert len(parse_periods(["all"], months)) == 6
    for bad in ("2026-13", "26-01", "2026-04:2026-02", "soon"):
        with pytest.raises(PlanError):
            parse_periods([bad], months)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "1/0", "x"):
        with pytest.raises(PlanError):
            parse_shard(bad)


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------
def test_build_one_template_writes_it_and_prints_a_summary(small, tmp_path):
    r = invoke("build", "marketing_funnel", "--data", str(small), "--out", str(tmp_path), "--no-progress")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "marketing_funnel.xlsx").is_file()
    assert " report=marketing_funnel segment=- period=2026-06 status=ok " in r.output
    assert " totals reports=1 ok=1 failed=0 " in r.output


def test_usage_errors_exit_2(small, tmp_path):
    for args in (["build", "--data", str(small)],  # nothing named
                 ["build", "nope", "--data", str(small), "--out", str(tmp_path)],
                 ["build", "--all", "--data", str(small), "--by", "no_such_column", "--out", str(tmp_path)],
                 ["build", "--all", "--data", str(small), "--formulas", "lisp", "--out", str(tmp_path)],
                 ["build", "--all", "--data", str(small), "--shard", "3/2", "--out", str(tmp_path)],
                 ["build", "--all", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)]):
        r = invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "error" in r.output.lower()


def test_by_segment_writes_one_workbook_per_value_inside_the_out_folder(hostile, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "customer_experience", "--data", str(hostile), "--out", str(out), "--by", "region",
               "--no-progress", "--jobs", "2")
    assert r.exit_code == 0, r.output
    files = sorted(out.iterdir())
    cust = pd.read_csv(hostile / "customers.csv", dtype=str, keep_default_na=False)
    assert len(files) == cust["region"].nunique()
    assert all(f.resolve().parent == out.resolve() for f in files)
    assert not (tmp_path / "escape").exists() and not list(tmp_path.glob("*escape*"))
    for f in files:
        assert len(f.name) < 200 and f.name.startswith("customer_experience__region-")


def test_text_that_looks_like_a_formula_is_stored_as_text(hostile, tmp_path):
    r = invoke("build", "customer_experience", "retention_cohorts", "--data", str(hostile), "--out", str(tmp_path),
               "--by", "region", "--no-progress")
    assert r.exit_code == 0, r.output
    seen = set()
    for f in tmp_path.glob("*.xlsx"):
        wb = openpyxl.load_workbook(f)
        for ws in wb.worksheets:
            if ws.title in ("NPS responses", "Customers", "Experience", "Retention"):
                for row in ws.iter_rows():
                    for c in row:
                        if isinstance(c.value, str) and c.value[:1] in "=+-@" and c.data_type != "f":
                            seen.add(c.value)
                        if c.data_type == "f":  # a formula: must be one the builder wrote, never data
                            assert "HYPERLINK" not in c.value and "cmd|" not in c.value and "SUM(A1)" not in c.value
    assert HOSTILE_NAME in seen
    assert "=2*3" in seen and "+cmd|' /C calc'!A0" in seen
    assert any(v.startswith("region = =1+1") or v == "region = =1+1" for v in seen) or "=1+1" in str(seen)


def test_one_bad_segment_fails_alone_and_the_exit_code_says_so(small, tmp_path):
    d = copy_data(small, tmp_path / "data")
    cust, region = bad_nps_score(d)
    out = tmp_path / "out"
    r = invoke("build", "customer_experience", "--data", str(d), "--out", str(out), "--by", "region", "--no-progress")
    assert r.exit_code == 1, r.output
    regions = cust["region"].unique()
    written = {p.name for p in out.glob("*.xlsx")}
    assert len(written) == len(regions) - 1
    assert not any(safe_component(region) in n for n in written)
    flat = " ".join(r.output.split())
    assert "nps_responses.csv row 5, column score" in flat and "'eleven' is not a number" in flat
    assert f'segment="region={region}"' in flat and "status=failed" in flat


def test_a_library_error_is_mapped_back_to_the_file_row(small):
    """A KPI that rejects a value names the data file's row and column (here: a 0 on CSAT's 1–5 scale)."""
    from workbook_templates import formulas as F
    from workbook_templates.builder import ReportInputError, evaluate
    from workbook_templates.context import scope
    from workbook_templates.data import load_all
    from workbook_templates.spec import Item, ItemList, ReportSpec, SheetSpec

    tables, _ = load_all(small)
    spec = ReportSpec("t", "t", "t", ("nps_responses",), (SheetSpec("R", "report"),), (
        ItemList("R", 0, 0, "", (Item("x", "x", F.KPI("KPI_CSAT", F.Col("nps_responses", "score"))),)),))
    scores = tables["nps_responses"].df["score"]
    first_bad = int((scores > 5).to_numpy().nonzero()[0][0])  # NPS 6…10 are outside CSAT's 1…5
    with pytest.raises(ReportInputError) as ei:
        evaluate(spec, scope(tables, ("nps_responses",), None, None))
    row = int(tables["nps_responses"].rows[first_bad])
    assert f"nps_responses.csv row {row}, column score" in str(ei.value)
    assert "KPI_CSAT" in str(ei.value)


def test_period_builds_the_report_as_of_that_month(small, tmp_path):
    r = invoke("build", "customer_experience", "--data", str(small), "--out", str(tmp_path),
               "--period", "2025-10:2025-11", "--no-progress")
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in tmp_path.glob("*.xlsx"))
    assert names == ["customer_experience__2025-10.xlsx", "customer_experience__2025-11.xlsx"]
    wb = openpyxl.load_workbook(tmp_path / "customer_experience__2025-10.xlsx", data_only=True)
    assert wb["Experience"]["B5"].value.strftime("%Y-%m") == "2025-10"
    created = [c.value for c in wb["Tickets"]["C"][1:] if c.value is not None]
    assert created and max(created) < pd.Timestamp("2025-11-01")
    resolved = [c.value for c in wb["Tickets"]["E"][1:] if c.value is not None]
    assert max(resolved) < pd.Timestamp("2025-11-01")  # resolved later = still open at the end of October


def test_shards_split_the_run_without_overlap(small, tmp_path):
    tasks = batch.plan(["customer_experience", "marketing_funnel"], small, tmp_path, by="region")
    parts = [batch.plan(["customer_experience", "marketing_funnel"], small, tmp_path, by="region", shard=(k, 3))
             for k in (1, 2, 3)]
    flat = [t.out_path for p in parts for t in p]
    assert sorted(flat) == sorted(t.out_path for t in tasks) and len(set(flat)) == len(flat)
    r = invoke("build", "marketing_funnel", "--data", str(small), "--out", str(tmp_path / "s"), "--by", "region",
               "--shard", "1/2", "--no-progress")
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "s").glob("*.xlsx"))) == len(batch.plan(["marketing_funnel"], small, tmp_path,
                                                                         by="region", shard=(1, 2)))


def test_parallel_and_serial_runs_write_the_same_reports(small, tmp_path):
    for jobs, sub in ((1, "a"), (2, "b")):
        r = invoke("build", "marketing_funnel", "customer_experience", "--data", str(small), "--out",
                   str(tmp_path / sub), "--by", "plan_tier", "--jobs", str(jobs), "--no-progress")
        assert r.exit_code == 0, r.output
    for p in (tmp_path / "a").glob("*.xlsx"):
        a = openpyxl.load_workbook(p, data_only=True)
        b = openpyxl.load_workbook(tmp_path / "b" / p.name, data_only=True)
        for ws in a.worksheets:
            rows_b = [[c.value for c in r] for r in b[ws.title].iter_rows()]
            assert [[c.value for c in r] for r in ws.iter_rows()] == rows_b


def test_formula_flavours(small, tmp_path):
    for flavour in ("classic", "officejs", "values"):
        out = tmp_path / flavour
        r = invoke("build", "customer_experience", "--data", str(small), "--out", str(out), "--formulas", flavour,
                   "--no-progress")
        assert r.exit_code == 0, r.output
        wb = openpyxl.load_workbook(out / "customer_experience.xlsx")
        formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
        text = " ".join(str(getattr(f, "text", f)) for f in formulas)
        if flavour == "values":
            assert formulas == []
        elif flavour == "officejs":
            assert "_xldudf_KPI_NPS(" in text and not re.search(r"(?<!_)KPI_NPS\(", text.replace("_xldudf_KPI", ""))
        else:
            assert "KPI_NPS(" in text and "_xldudf_" not in text
    values = openpyxl.load_workbook(tmp_path / "values" / "customer_experience.xlsx", data_only=True)
    live = openpyxl.load_workbook(tmp_path / "classic" / "customer_experience.xlsx", data_only=True)
    for cell in ("B11", "B12", "B14"):
        assert values["Experience"][cell].value == pytest.approx(live["Experience"][cell].value)


def test_every_report_builds_values_only_with_the_live_file_s_cached_values(small, tmp_path):
    """A values-only copy of each report (inline lookup tables included) holds what the live one caches."""
    for flavour in ("classic", "values"):
        r = invoke("build", "--all", "--data", str(small), "--out", str(tmp_path / flavour), "--formulas", flavour,
                   "--no-progress")
        assert r.exit_code == 0, r.output
    for path in sorted((tmp_path / "values").glob("*.xlsx")):
        values = openpyxl.load_workbook(path, data_only=True)
        live = openpyxl.load_workbook(tmp_path / "classic" / path.name, data_only=True)
        first = values.worksheets[0]
        assert not [c for ws in values.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
        cells = [(c.coordinate, c.value) for row in first.iter_rows() for c in row
                 if isinstance(c.value, (int, float))]  # the numbers; the texts differ (no "recalculates" hint)
        assert len(cells) > 10, path.name
        assert [v for _, v in cells] == pytest.approx([live[first.title][k].value for k, _ in cells], rel=1e-14), \
            path.name


def test_xlsx_and_parquet_data_give_the_same_report_as_csv(small, tmp_path):
    from workbook_templates.data import load_all

    tables, _ = load_all(small)
    for fmt in ("xlsx", "parquet"):
        d = tmp_path / fmt
        d.mkdir()
        for name, t in tables.items():
            df = t.df.copy()
            if fmt == "xlsx":
                df.to_excel(d / f"{name}.xlsx", index=False)
            else:
                df.to_parquet(d / f"{name}.parquet", index=False)
    outs = {}
    for src, d in (("csv", small), ("xlsx", tmp_path / "xlsx"), ("parquet", tmp_path / "parquet")):
        r = invoke("build", "saas_dashboard", "--data", str(d), "--out", str(tmp_path / f"o_{src}"), "--no-progress")
        assert r.exit_code == 0, r.output
        wb = openpyxl.load_workbook(tmp_path / f"o_{src}" / "saas_dashboard.xlsx", data_only=True)
        outs[src] = [c.value for c in wb["Dashboard"]["B"][10:48]]
    assert outs["csv"] == outs["xlsx"] == outs["parquet"]


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------
def test_a_failure_mid_write_leaves_the_previous_report_intact(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    r = invoke("build", "marketing_funnel", "--data", str(small), "--out", str(out), "--no-progress")
    assert r.exit_code == 0
    before = (out / "marketing_funnel.xlsx").read_bytes()

    from workbook_templates import builder

    real = builder.Writer.write

    def crash(self):
        self.wb.filename = str(self.path)
        self.wb.add_worksheet("half")
        Path(self.path).write_bytes(b"PK\x03\x04 half a zip")  # something partial on disk
        raise OSError("disk full")

    monkeypatch.setattr(builder.Writer, "write", crash)
    res = run_task(Task("marketing_funnel", str(small), str(out / "marketing_funnel.xlsx")))
    monkeypatch.setattr(builder.Writer, "write", real)
    assert not res.ok and "disk full" in res.error
    assert (out / "marketing_funnel.xlsx").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["marketing_funnel.xlsx"]  # no temp file left behind


def test_a_killed_run_leaves_the_previous_report_intact(small, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "marketing_funnel", "--data", str(small), "--out", str(out), "--no-progress")
    assert r.exit_code == 0
    before = (out / "marketing_funnel.xlsx").read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import xlsxwriter
        from workbook_templates import batch
        real_close = xlsxwriter.Workbook.close
        def close(self):
            # the new report is half written to its temporary file when the process is killed
            Path(self.filename).write_bytes(b"PK\\x03\\x04 partial")
            os.kill(os.getpid(), signal.SIGKILL)
        xlsxwriter.Workbook.close = close
        batch.run_task(batch.Task("marketing_funnel", {str(small)!r}, {str(out / "marketing_funnel.xlsx")!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL
    assert (out / "marketing_funnel.xlsx").read_bytes() == before
    leftovers = [p for p in out.iterdir() if p.name != "marketing_funnel.xlsx"]
    assert leftovers and all(p.name.startswith(".") and p.name.endswith(".kpi-tmp") for p in leftovers)
    old = 10_000
    for p in leftovers:
        os.utime(p, (p.stat().st_atime - old, p.stat().st_mtime - old))
    assert batch.clean_stale_temp(out) == leftovers
    assert [p.name for p in out.iterdir()] == ["marketing_funnel.xlsx"]


# --------------------------------------------------------------------------
# demo and templates
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_builds_every_report_and_prints_a_summary(tmp_path):
    r = invoke("demo", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == sorted(
        ["saas_dashboard.xlsx", "retention_cohorts.xlsx", "marketing_funnel.xlsx", "customer_experience.xlsx",
         "executive_overview.xlsx"])
    flat = " ".join(r.output.split())
    assert re.search(r"MRR\s*│\s*265,093", flat) and "NPS" in flat
    # the month it reported on, by name: the last month with any dated row of the sample data
    last = max(pd.read_csv(batch.SAMPLE_DIR / f"{name}.csv", usecols=[col])[col].max()[:7]
               for name, col in (("subscriptions", "start_date"), ("nps_responses", "date"),
                                 ("csat_responses", "date"), ("marketing", "month"), ("activity", "date")))
    assert last == "2026-06"
    assert f"Sample company, reported on {last} (the latest month of its data)" in flat, flat
    assert f"5 report(s) on {last} in {tmp_path}" in flat and "latest" not in flat.replace("latest month", "")


def test_templates_lists_and_copies(tmp_path):
    r = invoke("templates")
    assert r.exit_code == 0
    for k in ("saas_dashboard", "retention_cohorts", "marketing_funnel", "customer_experience", "executive_overview"):
        assert k in r.output
    r = invoke("templates", "--copy", str(tmp_path))
    assert r.exit_code == 0 and len(list(tmp_path.glob("*.xlsx"))) == 5
    r = invoke("templates", "--copy", str(tmp_path))
    assert "skipped" in r.output


def test_every_report_command_has_help():
    for cmd in ("build", "demo", "templates"):
        r = invoke(cmd, "--help")
        assert r.exit_code == 0 and len(r.output) > 100


# --------------------------------------------------------------------------
# File names that one file system tells apart and another does not
# --------------------------------------------------------------------------
NFC, NFD = "Z\u00fcrich", "Zu\u0308rich"


def _with_regions(small: Path, d: Path, values: list[str], reverse: bool = False) -> Path:
    copy_data(small, d)
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    for i, v in enumerate(values):
        cust.loc[i, "region"] = v
    if reverse:
        cust = cust.iloc[::-1]
    cust.to_csv(d / "customers.csv", index=False)
    return d


def test_values_that_differ_only_in_case_or_unicode_form_never_share_a_file(small, tmp_path):
    """Europe / EUROPE / europe are one file on Windows and macOS, as NFC and NFD Zürich are on macOS."""
    import hashlib
    import unicodedata

    clashing = ["EUROPE", "europe", NFC, NFD, "ZÜRICH"]
    d = _with_regions(small, tmp_path / "d", clashing)
    out = tmp_path / "out"
    r = invoke("build", "customer_experience", "--data", str(d), "--out", str(out), "--by", "region", "--no-progress")
    assert r.exit_code == 0, r.output
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    values = list(dict.fromkeys(cust["region"]))
    files = sorted(p.name for p in out.glob("*.xlsx"))
    assert len(files) == len(values)
    folded = {unicodedata.normalize("NFC", unicodedata.normalize("NFC", f).casefold()) for f in files}
    assert len(folded) == len(files), files  # distinct even where case and Unicode form are ignored
    by_label = {}
    for f in files:
        wb = openpyxl.load_workbook(out / f, data_only=True)
        by_label[wb["Experience"]["B6"].value] = f
    for v in ["Europe", *clashing]:  # each value's own file, named with a hash of its own value
        digest = hashlib.sha1(v.encode()).hexdigest()[:8]
        assert by_label[f"region = {v}"].endswith(f"-{digest}.xlsx"), (v, by_label)
    others = [v for v in values if v not in ["Europe", *clashing]]
    assert others and all(by_label[f"region = {v}"] == f"customer_experience__region-{v.replace(' ', '_')}.xlsx"
                          for v in others)
    flat = " ".join(r.output.split())
    assert "note the region values 'EUROPE', 'Europe', 'europe' would get the same file name" in flat, flat
    assert f"'{NFD}' (NFD), 'ZÜRICH', '{NFC}' would get the same file name" in flat, flat
    # the same names whatever the order of the rows
    d2 = _with_regions(small, tmp_path / "d2", clashing, reverse=True)
    again = {t.segment[1]: Path(t.out_path).name for t in batch.plan(["customer_experience"], d2, out, by="region")}
    assert {v: by_label[f"region = {v}"] for v in values} == again


# --------------------------------------------------------------------------
# No process-global surprises: bugs stay bugs, the umask is left alone
# --------------------------------------------------------------------------
def test_a_bug_in_one_report_is_reported_as_unexpected_with_its_traceback_and_the_run_goes_on(
        small, tmp_path, monkeypatch):
    from workbook_templates import builder

    real = builder.evaluate

    def buggy(spec, *args, **kwargs):
        if spec.key == "marketing_funnel":
            raise KeyError("a bug, not an input error")
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(builder, "evaluate", buggy)
    res = run_task(Task("marketing_funnel", str(small), str(tmp_path / "m.xlsx")))
    assert not res.ok and res.error.startswith("unexpected KeyError: 'a bug, not an input error'")
    assert "Traceback" in res.error
    out = tmp_path / "out"
    r = invoke("build", "marketing_funnel", "customer_experience", "--data", str(small), "--out", str(out),
               "--no-progress")
    assert r.exit_code == 1, r.output
    assert [p.name for p in out.glob("*.xlsx")] == ["customer_experience.xlsx"]
    assert "unexpected KeyError" in r.output


def test_a_bug_while_splitting_by_a_column_is_not_a_usage_error(small, tmp_path, monkeypatch):
    from workbook_templates import context

    def buggy(tables, column):
        raise TypeError("a bug in segment_values")

    monkeypatch.setattr(context, "segment_values", buggy)
    with pytest.raises(TypeError, match="a bug in segment_values"):
        batch.plan(["marketing_funnel"], small, tmp_path, by="region")
    monkeypatch.undo()
    with pytest.raises(PlanError, match="--by 'no_such_column': no data set has a column 'no_such_column'"):
        batch.plan(["marketing_funnel"], small, tmp_path, by="no_such_column")


def test_ctrl_c_stops_an_in_process_run_instead_of_failing_one_report():
    def interrupted():
        raise KeyboardInterrupt

    ex = batch.InProcessExecutor()
    with pytest.raises(KeyboardInterrupt):
        ex.submit(interrupted)
    assert isinstance(ex.submit(lambda: 1 / 0).exception(), ZeroDivisionError)  # an error goes into the future


def test_a_report_gets_an_ordinary_file_mode_without_the_umask_being_touched(small, tmp_path, monkeypatch):
    """Regression: each write set the process umask to 0 and back to read it — a race on a
    threaded Dask worker, where another thread's files were created meanwhile with mode 0666."""
    old = os.umask(0o027)
    try:
        def no(mask):
            raise AssertionError("the process umask was changed while building a report")

        monkeypatch.setattr(os, "umask", no)
        res = run_task(Task("marketing_funnel", str(small), str(tmp_path / "m.xlsx")))
        monkeypatch.undo()
    finally:
        os.umask(old)
    assert res.ok, res.error
    assert (tmp_path / "m.xlsx").stat().st_mode & 0o777 == 0o640
