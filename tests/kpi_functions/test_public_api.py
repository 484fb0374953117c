"""What other packages use from the library is public: kpi_functions.NAME, never a private module."""

from __future__ import annotations

import kpi_functions as k
from kpi_functions import _coerce, _docs, _errors, _registry, _terminal


def test_every_public_name_resolves():
    for name in k.__all__:
        assert getattr(k, name) is not None, name


def test_the_names_other_packages_import_are_public_and_the_same_objects():
    same = {
        "CATEGORIES": _registry.CATEGORIES, "SHAPES": _registry.SHAPES, "ARG_KINDS": _registry.ARG_KINDS,
        "UNITS": _registry.UNITS, "UNIT_RECORDS": _registry.UNIT_RECORDS, "Unit": _registry.Unit,
        "Arg": _registry.Arg, "KPISpec": _registry.KPISpec,
        "example_formula": _docs.example_formula, "example_result_text": _docs.example_result_text,
        "render_markdown": _docs.render_markdown, "Location": _errors.Location,
        "parse_iso": _coerce.parse_iso, "terminal_safe": _terminal.terminal_safe,
        "show_big_int": _errors._show_big_int,
    }
    for name, obj in same.items():
        assert name in k.__all__ and getattr(k, name) is obj, name
