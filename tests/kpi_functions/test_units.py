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
    ("points", 42.25, "42.3", "42.25"),  # Excel shows 42.3: half away from zero
    ("count", 1200.0, "1,200", "1,200"),
    ("number", 0.000123456789, "0.0001235", "0.000123457"),
])
def test_console_formats(name, value, summary, precise):
    u = k.unit(name)
    assert u.summary_text(value) == summary and u.precise_text(value) == precise


@pytest.mark.parametrize(("name", "value", "summary"), [
    # ties as Excel shows them (half away from zero, of the 15-digit decimal), where Python's
    # binary rounding goes the other way: 0.9525 is 0.95249999999999990230 in binary
    ("fraction", 381 / 400, "95.3%"), ("fraction", 19 / 400, "4.8%"), ("fraction", 0.0005, "0.1%"),
    ("fraction", -0.0005, "-0.1%"), ("fraction", -0.0004, "-0.0%"), ("fraction", -0.0, "0.0%"),
    ("money", 2.5, "3"), ("money", -2.5, "-3"), ("money", 1_234_567.5, "1,234,568"),
    ("ratio", 1.005, "1.01×"), ("ratio", 2.675, "2.68×"), ("points", -12.25, "-12.3"),
    ("fraction", 1e300, f"{1e302:.1f}%"), ("fraction", float("nan"), "nan%"),
])
def test_summaries_round_as_excel_shows(name, value, summary):
    assert k.unit(name).summary_text(value) == summary


def test_excel_formats():
    assert k.unit("fraction").excel_format == "0.0%"
    d = k.unit("duration")
    assert d.excel_format_for() == d.excel_format_for("hours") == '0.0" h"'
    assert d.excel_format_for("days") == '0.0" d"' and d.excel_format_for("minutes") == '0" min"'
    assert d.excel_format_for("fortnights") == '0.0" h"'
    assert k.unit("money").excel_format_for("days") == "#,##0"
