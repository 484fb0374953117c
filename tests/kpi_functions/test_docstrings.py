"""Docstrings: shared parts are filled in, and every KPI cites its source."""

from __future__ import annotations

import inspect
import re

import pytest

import kpi_functions as k
from kpi_functions._docstring import fill, shared

SPECS = list(k.REGISTRY.values())


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_docstring_has_no_unfilled_part_and_cites_a_reference(spec):
    doc = inspect.getdoc(spec.func)
    assert not [ln for ln in doc.splitlines() if re.fullmatch(r"\{\w+\}", ln.strip())]
    for section in ("Parameters", "Returns", "References", "Examples"):
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, (spec.name, section)
    refs = doc.split("\nReferences\n")[1].split("\nExamples\n")[0]
    assert re.search(r"^\.\. \[1\] \S", refs, re.MULTILINE), spec.name


def test_pair_functions_share_one_parameter_text():
    want = ("start : range\n    MRR of each customer at the start of the period (blank = 0), or one\n"
            "    two-column range with start and end.\nend : range, optional\n"
            "    MRR of the same customers at the end, aligned row by row (blank = 0).\n")
    for f in (k.nrr, k.grr, k.expansion_rate, k.new_customers, k.upsell_rate, k.quick_ratio):
        assert want in inspect.getdoc(f), f.__name__


def test_fill_keeps_the_indentation_and_blank_lines():
    doc = "Title.\n\n    {part}\n\n    Rest.\n"
    assert fill(doc, {"part": "A\n  b\n\nC"}) == "Title.\n\n    A\n      b\n\n    C\n\n    Rest.\n"
    assert fill("    {other}\n", {"part": "x"}) == "    {other}\n"


def test_shared_refuses_a_placeholder_it_cannot_fill():
    def f():
        """Title.

        {missing}
        """

    with pytest.raises(ValueError, match="missing"):
        shared(part="x")(f)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_documented_parameters_are_the_signature(spec):
    """The numpydoc Parameters section names every argument, in order, and nothing else."""
    doc = inspect.getdoc(spec.func)
    body = doc.split("\nParameters\n----------\n")[1]
    body = re.split(r"\n\n[A-Z][a-z]+\n-+\n", body)[0]
    names = [n.strip() for ln in body.splitlines() if ln and not ln.startswith(" ")
             for n in ln.split(" : ")[0].split(",")]
    assert names == [a.name for a in spec.args]
