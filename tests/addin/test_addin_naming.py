"""Formula names (kpi_functions.excel): what users type and what Excel stores."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import kpi_functions as k
from kpi_functions import excel
from kpi_functions.excel import formula_name, typed_name, validate_namespace


def test_doctests():
    failures, tried = doctest.testmod(excel)
    assert tried > 0 and failures == 0


@pytest.mark.parametrize(
    "flavour, namespace, stored",
    [
        ("classic", None, "KPI_NPS"),
        ("classic", "NS", "KPI_NPS"),  # VBA UDFs have no namespace
        ("officejs", None, "_xldudf_KPI_NPS"),
        ("officejs", "", "_xldudf_KPI_NPS"),
        ("officejs", "ns", "_xldudf_NS_KPI_NPS"),
        ("officejs", "Contoso_2", "_xldudf_CONTOSO_2_KPI_NPS"),
        ("lite", None, "_xldudf_KPI_NPS"),
        ("lite", "NS", "_xldudf_KPI_NPS"),
    ],
)
def test_formula_name(flavour, namespace, stored):
    assert formula_name("KPI_NPS", flavour, namespace) == stored


@pytest.mark.parametrize(
    "flavour, namespace, typed",
    [("classic", None, "KPI_NPS"), ("officejs", None, "KPI_NPS"), ("officejs", "ns", "NS.KPI_NPS"), ("lite", "ns", "KPI_NPS")],
)
def test_typed_name(flavour, namespace, typed):
    assert typed_name("KPI_NPS", flavour, namespace) == typed


@pytest.mark.parametrize("bad", ["", "1NS", "N S", "NS.SUB", "X" * 33, "ÄNS", "NS-1"])
def test_invalid_namespaces_are_refused(bad):
    if bad == "":
        assert validate_namespace(bad) is None  # empty means no namespace
        return
    with pytest.raises(ValueError, match="invalid function namespace"):
        formula_name("KPI_NPS", "officejs", bad)


def test_invalid_names_and_flavours_are_refused():
    with pytest.raises(ValueError, match="unknown add-in flavour"):
        formula_name("KPI_NPS", "xll")
    for bad in ("", "=KPI_NPS", "KPI NPS", "1KPI", None):
        with pytest.raises(ValueError, match="invalid Excel function name"):
            formula_name(bad)  # type: ignore[arg-type]


def test_every_registry_name_has_a_stored_form():
    for name in k.REGISTRY:
        assert formula_name(name, "officejs", "KPI") == f"_xldudf_KPI_{name}"
        assert formula_name(name.lower()) == name


def test_excel_convention_needs_no_addin_runtime():
    code = (
        "import sys; import kpi_functions.excel as n; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('xlwings', 'xlwings_server', 'fastapi', 'uvicorn', 'addin', 'workbook_templates', 'xlsxwriter')); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
