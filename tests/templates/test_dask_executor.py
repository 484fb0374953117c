"""`kpi build --executor dask`: the report tasks on a Dask cluster (a LocalCluster of two worker processes).

Same reports as a local run, tasks spread over the workers, one progress
callback per report, a failing report isolated with the previous file left
intact, and clear errors when the cluster cannot run the build.
"""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
from report_helpers import bad_nps_score, copy_data, small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.batch import plan, run_tasks, safe_component

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # noqa: F401  (.ci/run installs the dask extra: a missing one must fail, not skip)
else:
    pytest.importorskip("distributed")

from workbook_templates.dask_executor import DaskUnavailable, dask_executor, probe_worker

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The first 40 customers of the sample data and everything about them."""
    return small_sample(tmp_path_factory.mktemp("small") / "data")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _cells(path: Path) -> dict[str, list]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_a_dask_run_writes_the_reports_of_a_local_run_using_both_workers(cluster, small, tmp_path):
    from distributed import Client, get_task_stream

    args = ["marketing_funnel", "customer_experience", "--data", str(small), "--by", "plan_tier", "--no-progress"]
    local = invoke("build", *args, "--out", str(tmp_path / "local"))
    assert local.exit_code == 0, local.output
    with Client(cluster, set_as_default=False) as observer, get_task_stream(client=observer) as stream:
        r = invoke("build", *args, "--out", str(tmp_path / "dask"), "--executor", "dask", "--scheduler", cluster)
    assert r.exit_code == 0, r.output
    records = list(stream.data)  # collected when the context closes
    names = sorted(p.name for p in (tmp_path / "local").glob("*.xlsx"))
    assert names and names == sorted(p.name for p in (tmp_path / "dask").glob("*.xlsx"))
    for name in names:
        assert _cells(tmp_path / "dask" / name) == _cells(tmp_path / "local" / name), name
    ran = [rec for rec in records if str(rec["key"]).startswith("run_task")]
    assert len(ran) == len(names)
    assert len({rec["worker"] for rec in ran}) == 2  # the work was spread over both worker processes
    assert f" totals reports={len(names)} ok={len(names)} failed=0 " in r.output.splitlines()[-1]
    assert not list((tmp_path / "dask").glob(".*.kpi-tmp"))  # no temporary file left behind


def test_every_finished_report_reaches_the_progress_callback(cluster, small, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    tasks = plan(["customer_experience"], small.resolve(), out.resolve(), by="region")
    seen = []
    with dask_executor(cluster, small, out) as ex:
        results = run_tasks(tasks, ex, seen.append)
    assert len(seen) == len(tasks) == len(results) and all(r.ok for r in results)
    assert [r.task for r in results] == tasks  # results in task order, whatever order they finished in


def test_a_failing_report_fails_alone_and_leaves_the_previous_file_intact(cluster, small, tmp_path):
    d = copy_data(small, tmp_path / "data")
    cust, region = bad_nps_score(d)
    out = tmp_path / "out"
    out.mkdir()
    victim = next(t for t in plan(["customer_experience"], d, out, by="region") if t.segment[1] == region)
    Path(victim.out_path).write_bytes(b"the previous report")
    r = invoke("build", "customer_experience", "--data", str(d), "--out", str(out), "--by", "region",
               "--executor", "dask", "--scheduler", cluster, "--no-progress")
    assert r.exit_code == 1, r.output
    assert Path(victim.out_path).read_bytes() == b"the previous report"
    written = {p.name for p in out.glob("*.xlsx")} - {Path(victim.out_path).name}
    assert len(written) == cust["region"].nunique() - 1
    assert not any(safe_component(region) in n for n in written)
    flat = " ".join(r.output.split())
    assert "status=failed" in flat and "nps_responses.csv row 5, column score" in flat
    assert 'kept="kept the previous report of ' in flat  # the file the failed report left in place


def test_usage_errors_exit_2(cluster, small, tmp_path):
    r = invoke("build", "customer_experience", "--data", str(small), "--out", str(tmp_path), "--executor", "dask")
    assert r.exit_code == 2 and "--executor dask needs --scheduler" in r.output
    r = invoke("build", "customer_experience", "--data", str(small), "--out", str(tmp_path), "--scheduler", cluster)
    assert r.exit_code == 2 and "--scheduler only applies to --executor dask" in r.output
    r = invoke("build", "customer_experience", "--data", str(small), "--out", str(tmp_path), "--executor", "ray")
    assert r.exit_code == 2 and "--executor must be local or dask" in r.output
    assert not list(tmp_path.glob("*.xlsx"))


def test_an_unreachable_scheduler_is_a_clear_error(small, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (pytest.raises(DaskUnavailable, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"),
          dask_executor(f"tcp://127.0.0.1:{port}", small, tmp_path, connect_timeout=2)):
        pass


def test_workers_that_cannot_see_the_folders_are_named(cluster, small, tmp_path):
    missing = tmp_path / "not-there"
    with (pytest.raises(DaskUnavailable, match=r"Dask worker tcp://127\.0\.0\.1:\d+ cannot see the output folder"),
          dask_executor(cluster, small, missing)):
        pass
    assert probe_worker(str(missing), str(tmp_path))["problems"] == [f"cannot see the data folder {missing}"]
