"""Fixtures of the reliability suite: one real `kpi serve` shared by the HTTP
tests, and the figures file written at the end of the session."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import openpyxl
import pytest
from reliability_figures import DETAILS, FIGURES, PROFILE
from reliability_server import run_server

#: the shared server's bearer token, request-size limit and the one origin CORS allows
TOKEN = "rel-7Qm2-token-9d41c0"
MAX_BYTES = 200_000
ALLOWED_ORIGIN = "https://excel.example"


@pytest.fixture(scope="session")
def report_templates(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report_templates")
    for name in ("saas_dashboard.xlsx", "marketing_funnel.xlsx"):
        wb = openpyxl.Workbook()
        wb.active["A1"] = name
        wb.save(d / name)
    (d / "secret.txt").write_text("not a template")
    return d


@pytest.fixture(scope="session")
def server(tmp_path_factory, report_templates):
    tmp = tmp_path_factory.mktemp("kpi_serve_reliability")
    with run_server(tmp, "--max-request-bytes", str(MAX_BYTES), "--allowed-origins", ALLOWED_ORIGIN,
                    token=TOKEN, env={"KPI_TEMPLATES_DIR": str(report_templates)}) as srv:
        yield srv
        assert srv.alive(), "the server stopped during the tests:\n" + srv.log_text()[-5000:]


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
        "figures": dict(FIGURES),
        "details": {k: dict(v) for k, v in DETAILS.items()},
    }
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
