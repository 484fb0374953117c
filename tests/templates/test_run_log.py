"""`kpi build` under cron or systemd (stdout not a terminal, as under CliRunner): one line per report
and a line of totals, in logfmt or (--log-format json) JSON; the terminal keeps its table."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import builder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PERIOD = "2026-03"
#: a logfmt pair: key=bare or key="quoted with \" and \\ escaped"
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return small_sample(tmp_path_factory.mktemp("small") / "data", 30)


def build(*args: str):
    return CliRunner().invoke(app, ["build", *args, "--no-progress"])


def fields(line: str) -> dict[str, str]:
    """The key=value pairs of one logfmt line, quoted values unquoted; a failed report's reason
    (after " error: ", as written) as "error"."""
    line, _, error = line.partition(" error: ")
    out = {}
    for k, v in PAIR.findall(line):
        out[k] = v[1:-1].replace('\\"', '"').replace("\\\\", "\\") if v.startswith('"') else v
    if error:
        out["error"] = error
    return out


def nps_by_hand(data: Path, month: str) -> float:
    """% promoters (9-10) − % detractors (0-6) of the month's responses, from the CSV rows."""
    df = pd.read_csv(data / "nps_responses.csv")
    s = df.loc[df["date"].str[:7] == month, "score"]
    return 100 * ((s >= 9).sum() - (s <= 6).sum()) / len(s)


def test_one_line_per_report_and_a_line_of_totals(small, tmp_path):
    out = tmp_path / "out"
    r = build("marketing_funnel", "customer_experience", "--data", str(small), "--out", str(out),
              "--period", PERIOD)
    assert r.exit_code == 0, r.output
    assert "┃" not in r.output and "│" not in r.output  # no table
    lines = r.output.splitlines()
    reports = [x for x in lines if re.match(rf"{STAMP} report=", x)]
    assert len(reports) == 2, r.output
    got = {f["report"]: f for f in map(fields, reports)}
    assert set(got) == {"marketing_funnel", "customer_experience"}
    for name, f in got.items():
        assert list(f) == ["report", "segment", "period", "status", "seconds", "file", "headline"] + \
            (["warnings"] if "warnings" in f else [])
        assert f["segment"] == "-" and f["period"] == PERIOD and f["status"] == "ok"
        assert f["file"] == str((out / f"{name}__{PERIOD}.xlsx").resolve()) and Path(f["file"]).is_file()
        assert float(f["seconds"]) >= 0
    nps = nps_by_hand(small, PERIOD)
    assert got["customer_experience"]["headline"].startswith(f"NPS {nps:.1f}, CSAT "), got
    warned = [x for x in lines if x.startswith("warning ")]
    total = lines[-1]
    assert re.fullmatch(rf"{STAMP} totals reports=2 ok=2 failed=0 warnings={len(warned)} "
                        rf"wall_seconds=\d+\.\d out={re.escape(str(out.resolve()))}", total), total
    stamps = [datetime.fromisoformat(x.split(" ", 1)[0]) for x in [*reports, total]]
    assert all(abs((s - stamps[-1]).total_seconds()) < 3600 for s in stamps)  # real time stamps of this run


def test_json_lines_have_the_same_fields(small, tmp_path):
    out = tmp_path / "out"
    r = build("customer_experience", "--data", str(small), "--out", str(out), "--period", PERIOD,
              "--by", "region", "--log-format", "json")
    assert r.exit_code == 0, r.output
    objs = [json.loads(x) for x in r.output.splitlines()]  # every line is one JSON object
    reports = [o for o in objs if o["event"] == "report"]
    regions = sorted(pd.read_csv(small / "customers.csv")["region"].dropna().unique())
    assert sorted(o["segment"]["value"] for o in reports) == regions
    for o in reports:
        assert o["segment"]["column"] == "region" and o["report"] == "customer_experience"
        assert o["period"] == PERIOD and o["status"] == "ok" and Path(o["file"]).is_absolute()
        assert datetime.fromisoformat(o["time"]).tzinfo is not None
        assert o["headline"].startswith("NPS ") and set(o["values"]) == {"nps", "csat"}
    assert [o["event"] for o in objs].count("split") == 1
    tot = objs[-1]
    assert tot["event"] == "totals" and (tot["reports"], tot["ok"], tot["failed"]) == (len(regions), len(regions), 0)
    assert tot["warnings"] == sum(len(o["warnings"]) for o in reports)


def test_json_values_are_the_numbers(small, tmp_path):
    r = build("customer_experience", "--data", str(small), "--out", str(tmp_path), "--period", PERIOD,
              "--log-format", "json")
    o = json.loads(r.output.splitlines()[0])
    assert o["values"]["nps"] == pytest.approx(nps_by_hand(small, PERIOD), abs=1e-9)


def _refuse(monkeypatch):
    def refuse(self):
        raise OSError(28, os.strerror(28), str(self.path))

    monkeypatch.setattr(builder.Writer, "write", refuse)


def test_a_failed_report_says_it_kept_the_previous_file_and_its_date(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert build("marketing_funnel", "--data", str(small), "--out", str(out)).exit_code == 0
    old = out / "marketing_funnel.xlsx"
    when = datetime(2026, 5, 31, 12, 0).timestamp()  # local noon: the same date in every time zone's view
    os.utime(old, (when, when))
    before = old.read_bytes()
    _refuse(monkeypatch)
    r = build("marketing_funnel", "customer_experience", "--data", str(small), "--out", str(out))
    assert r.exit_code == 1, r.output
    failed = [fields(x) for x in r.output.splitlines() if " status=failed " in x]
    assert len(failed) == 2
    by = {f["report"]: f for f in failed}
    assert by["marketing_funnel"]["kept"] == "kept the previous report of 2026-05-31"
    assert by["customer_experience"]["kept"] == "no previous report"
    assert "No space left on device" in by["marketing_funnel"]["error"]
    assert by["marketing_funnel"]["file"] == str(old.resolve())
    assert old.read_bytes() == before
    assert re.search(r" totals reports=2 ok=0 failed=2 ", r.output.splitlines()[-1])


def test_the_table_on_request(small, tmp_path, monkeypatch):
    """--log-format table (what a terminal gets by default) keeps the table and the summary sentence."""
    old = tmp_path / "marketing_funnel.xlsx"
    old.write_bytes(b"previous")
    when = datetime(2026, 5, 31, 12, 0).timestamp()
    os.utime(old, (when, when))
    _refuse(monkeypatch)
    r = build("marketing_funnel", "--data", str(small), "--out", str(tmp_path), "--log-format", "table")
    assert r.exit_code == 1
    assert "Reports" in r.output and "┃ report" in r.output
    line = next(x for x in r.output.splitlines() if x.startswith("FAILED"))
    assert line.endswith("(kept the previous report of 2026-05-31)"), line
    assert re.search(r"^0 report\(s\) written to .*, 1 failed \(\d+\.\d s\)$", r.output, re.MULTILINE), r.output


def test_a_terminal_gets_the_table(small, tmp_path):
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--data", str(small), "--out", str(tmp_path),
                                 "--no-progress"], env={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    assert "┃" in r.output and " totals " not in r.output


def test_an_unknown_log_format_is_a_usage_error(small, tmp_path):
    r = build("marketing_funnel", "--data", str(small), "--out", str(tmp_path), "--log-format", "xml")
    assert r.exit_code == 2
    assert r.output == "error: --log-format 'xml': use one of auto, table, text, json\n"
    assert not list(tmp_path.iterdir())


def test_a_reason_is_one_line_and_a_bugs_traceback_follows():
    from workbook_templates.run_log import error_lines

    assert error_lines("1 bad cell(s) in a.csv:\n  a.csv row 4, column x: 'y' is not a number") == \
        ("1 bad cell(s) in a.csv: a.csv row 4, column x: 'y' is not a number", [])
    tb = "unexpected KeyError: 'k'\nTraceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'k'"
    assert error_lines(tb) == ("unexpected KeyError: 'k'",
                               ["  Traceback (most recent call last):", "    File \"x.py\", line 1", "  KeyError: 'k'"])


def test_in_one_process_each_report_is_reported_when_it_is_done(monkeypatch):
    """--jobs 1: each report's line (and the progress bar's step) came only after the whole run."""
    from workbook_templates import batch

    events = []

    def fake(task):
        events.append(f"built {task.template}")
        return batch.TaskResult(task, True, task.out_path)

    monkeypatch.setattr(batch, "run_task", fake)
    tasks = [batch.Task(t, "d", f"{t}.xlsx") for t in ("marketing_funnel", "customer_experience")]
    got = batch.run_tasks(tasks, batch.InProcessExecutor(), lambda r: events.append(f"reported {r.task.template}"))
    assert [r.task for r in got] == tasks
    first, second = events[0].split()[1], events[2].split()[1]  # costliest first
    assert events == [f"built {first}", f"reported {first}", f"built {second}", f"reported {second}"]
