"""Without the add-in, a changed report month says that the KPI values are still those of the built month;
a values-only copy has no "change it" hint. Checked by recalculating in LibreOffice, which has no add-in."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from report_helpers import need_program, small_sample

from workbook_templates.batch import Task, run_task
from workbook_templates.render import convert

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

REPORTS = ("saas_dashboard", "customer_experience")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = small_sample(tmp_path_factory.mktemp("banner") / "data", 60)
    out = tmp_path_factory.mktemp("out")
    paths = {}
    for key in REPORTS:
        for flavour in ("classic", "values"):
            res = run_task(Task(key, str(d), str(out / flavour / f"{key}.xlsx"), flavour=flavour))
            assert res.ok, res.error
            paths[key, flavour] = out / flavour / f"{key}.xlsx"
    return paths


def _row(ws, label: str) -> int:
    return next(r for r in range(1, 12) if ws.cell(r, 1).value == label)


@pytest.mark.parametrize("key", REPORTS)
def test_a_changed_month_without_the_add_in_shows_the_banner(built, key, tmp_path):
    need_program("soffice", "libreoffice")
    wb = openpyxl.load_workbook(built[key, "classic"])
    ws = wb.worksheets[0]
    r = _row(ws, "Report month")
    month = ws.cell(r, 2).value
    assert isinstance(month, dt.datetime)
    same, changed = tmp_path / "same.xlsx", tmp_path / "changed.xlsx"
    wb.save(same)
    ws.cell(r, 2).value = month.replace(year=month.year - 1)
    wb.save(changed)
    convert([same, changed], "xlsx", tmp_path / "r", recalc=True)
    shown = {p.stem: openpyxl.load_workbook(tmp_path / "r" / p.name, data_only=True).worksheets[0]
             for p in (same, changed)}
    assert shown["same"]["A3"].value.startswith("Values as computed by kpi build.")
    banner = shown["changed"]["A3"].value
    assert banner.startswith("⚠ The yellow month cell was changed, but without the KPI add-in the KPI values are "
                             f"still those of {month:%B %Y}, as built")
    assert shown["changed"].cell(r, 2).value == month.replace(year=month.year - 1)


@pytest.mark.parametrize("key", REPORTS)
def test_a_values_only_copy_has_no_change_it_hint(built, key):
    live = openpyxl.load_workbook(built[key, "classic"]).worksheets[0]
    values = openpyxl.load_workbook(built[key, "values"]).worksheets[0]
    r = _row(live, "Report month")
    assert live.cell(r, 3).value == "change it to report on an earlier month"
    assert values.cell(_row(values, "Report month"), 3).value is None
    assert values["A3"].value == "Values as computed by kpi build (no formulas)."
