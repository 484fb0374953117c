"""Fixtures of the reliability suite: one real `kpi serve` shared by the HTTP
tests, and the figures file written at the end of the session."""

from __future__ import annotations

import collections
import json
import os
import re
import time
from pathlib import Path

import pytest
from reliability_figures import DETAILS, FIGURES, PROFILE, count
from reliability_server import ALLOWED_ORIGIN, CLIENT_TIMEOUT, MAX_BYTES, TOKEN, make_report_templates, run_server


@pytest.fixture(scope="session")
def report_templates(tmp_path_factory) -> Path:
    return make_report_templates(tmp_path_factory.mktemp("report_templates"),
                                 ("saas_dashboard.xlsx", "marketing_funnel.xlsx"), "secret.txt")


@pytest.fixture(scope="session")
def server(tmp_path_factory, report_templates):
    tmp = tmp_path_factory.mktemp("kpi_serve_reliability")
    with run_server(tmp, "--max-request-bytes", str(MAX_BYTES), "--allowed-origins", ALLOWED_ORIGIN,
                    "--client-timeout", str(CLIENT_TIMEOUT),
                    token=TOKEN, env={"KPI_TEMPLATES_DIR": str(report_templates)}) as srv:
        yield srv
        assert srv.alive(), "the server stopped during the tests:\n" + srv.log_text()[-5000:]
        log = srv.log_text()
        # the server's own access log: every request it answered, by status
        statuses = collections.Counter(m.group(1) for m in ACCESS.finditer(log))
        count("requests answered by the shared server", sum(statuses.values()))
        DETAILS["shared server answers by status"].update(statuses)
        count("5xx answers in the server log", sum(v for k, v in statuses.items() if k.startswith("5")))
        assert not any(k.startswith("5") for k in statuses), f"5xx answers: {statuses}"
        assert "Traceback" not in log, log[log.index("Traceback") - 300:][:3000]
        assert TOKEN not in log


ACCESS = re.compile(r'^INFO: +[\d.:\[\]]+ - "[A-Z]+ [^"]*" (\d{3})', re.MULTILINE)
OUTCOMES: collections.Counter = collections.Counter()


def pytest_runtest_logreport(report):
    where = str(getattr(report, "fspath", "")) + " " + report.nodeid
    if "reliability" not in where.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.outcome == "skipped" else report.outcome
        OUTCOMES[outcome] += 1
    elif report.when == "teardown" and report.outcome == "failed":
        OUTCOMES["teardown errors"] += 1


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("KPI_RELIABILITY_FIGURES")
    if not path or not FIGURES:
        return
    data = {
        "profile": PROFILE,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "exit_status": int(exitstatus),
        "tests_failed": session.testsfailed,
        "tests_collected": session.testscollected,
        "outcomes": dict(OUTCOMES),
        "figures": dict(FIGURES),
        "details": {k: dict(v) for k, v in DETAILS.items()},
    }
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
