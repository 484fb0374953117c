"""The build steps told to a listener (kpi build's progress bar with --jobs 1)."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from report_helpers import small_sample

from workbook_templates.batch import Task, run_task
from workbook_templates.build_steps import listening, step


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return small_sample(tmp_path_factory.mktemp("small") / "data")


def _values(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {(ws.title, c.coordinate): c.value for ws in wb for row in ws.iter_rows() for c in row
            if c.value is not None}


def test_a_build_tells_its_steps_in_order_and_builds_the_same_workbook(small, tmp_path):
    told: list[tuple[str, int | None, int | None]] = []
    with listening(lambda name, done, total: told.append((name, done, total))):
        heard = run_task(Task("marketing_funnel", str(small), str(tmp_path / "heard.xlsx")))
    quiet = run_task(Task("marketing_funnel", str(small), str(tmp_path / "quiet.xlsx")))
    assert heard.ok and quiet.ok, (heard.error, quiet.error)
    names = list(dict.fromkeys(n for n, _, _ in told))
    assert names == ["reading the data", "laying out", "evaluating", "writing input sheets", "writing tables",
                     "saving the workbook"]
    counts = [(d, t) for n, d, t in told if n == "evaluating"]
    total = counts[0][1]
    assert total > 0 and all(t == total for _, t in counts)
    assert counts[0][0] == 0 and counts[-1][0] == total  # from none of the cells to all of them
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)
    assert _values(tmp_path / "heard.xlsx") == _values(tmp_path / "quiet.xlsx")  # told, never changed


def test_no_listener_outside_the_with(small):
    told: list[str] = []
    with listening(lambda name, done, total: told.append(name)):
        step("inside")
    step("outside")
    assert told == ["inside"]


def test_a_log_gets_plain_step_lines_only_when_asked(small, tmp_path):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    asked = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(small), "--out", str(tmp_path / "a"),
                                     "--jobs", "1", "--progress"])
    assert asked.exit_code == 0, asked.output
    steps = [line.split(" (")[0] for line in asked.output.splitlines() if line.startswith("step ")]
    assert steps == [f"step reading the data in {small}", "step laying out", "step evaluating",
                     "step writing input sheets", "step writing tables", "step saving the workbook"]
    assert "\x1b" not in asked.output and "━" not in asked.output  # plain lines, no bar
    default = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(small), "--out",
                                       str(tmp_path / "b")])
    assert default.exit_code == 0, default.output
    assert not [line for line in default.output.splitlines() if line.startswith("step ")]
