"""Fixtures of the add-in tests: one running `kpi serve` (with a token, a small
request-size limit and two report templates) shared by the HTTP and browser tests."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from addin_helpers import MAX_BYTES, TOKEN, run_server


@pytest.fixture(scope="session")
def report_templates_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report_templates")
    for name in ("saas_dashboard.xlsx", "customer_experience.xlsx"):
        wb = openpyxl.Workbook()
        wb.active["A1"] = name
        wb.save(d / name)
    (d / "notes.txt").write_text("not a template")
    return d


@pytest.fixture(scope="session")
def server(tmp_path_factory, report_templates_dir):
    tmp = tmp_path_factory.mktemp("kpi_serve")
    with run_server(tmp, "--max-request-bytes", str(MAX_BYTES), token=TOKEN,
                    env={"KPI_TEMPLATES_DIR": str(report_templates_dir)}) as srv:
        yield srv
        assert srv.proc.poll() is None, "the server stopped during the tests:\n" + srv.log_text()
