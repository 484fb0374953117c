"""One Unit record per unit: description, Excel number format, console formats."""

from __future__ import annotations

import pytest

import kpi_functions as k


def test_every_registry_unit_has_one_record():
    assert set(k.UNITS) == set(k.UNIT_RECORDS)
    assert {s.unit for s in k.REGISTRY.values()} <= set(k.UNIT_RECORDS)
    for name, u in k.UNIT_RECORDS.items():
        assert u.name == name and k.UNITS[name] == u.description and k.unit(name) is u


def test_specs_know_their_unit_record():
    assert k.get("KPI_NPS").unit_record is k.UNIT_RECORDS["points"]


@pytest.mark.parametrize(("name", "value", "summary", "precise"), [
    ("fraction", 0.05234, "5.2%", "0.05234  (5.23%)"),
    ("money", 1234.5678, "1,235", "1,234.57"),
    ("ratio", 3.0, "3.00×", "3"),
    ("points", 42.25, "42.2", "42.25"),
    ("count", 1200.0, "1,200", "1,200"),
    ("number", 0.000123456789, "0.0001235", "0.000123457"),
])
def test_console_formats(name, value, summary, precise):
    u = k.unit(name)
    assert u.summary_text(value) == summary and u.precise_text(value) == precise


def test_excel_formats():
    assert k.unit("fraction").excel_format == "0.0%"
    d = k.unit("duration")
    assert d.excel_format_for() == d.excel_format_for("hours") == '0.0" h"'
    assert d.excel_format_for("days") == '0.0" d"' and d.excel_format_for("minutes") == '0" min"'
    assert d.excel_format_for("fortnights") == '0.0" h"'
    assert k.unit("money").excel_format_for("days") == "#,##0"
