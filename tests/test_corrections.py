"""Where the source articles go wrong: each correction is said wherever a user reads about the function.

The corrections are one table (kpi_functions._corrections); these tests look for each of them, as a user
would read it, in the help Excel shows (description and argument help), the docstring (help()),
docs/functions.md and `kpi functions NAME`; the task pane and the Notes sheets have their own tests
(tests/addin/test_addin_http.py, tests/templates/test_reports.py). The worked churn example's numbers are
computed here with the library functions.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kpi_functions as k
from kpi_cli.main import app
from kpi_functions._corrections import CORRECTIONS, MRR_CHURN_EXAMPLE, excel_description

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [(c, name) for c in CORRECTIONS.values() for name in c.functions]
IDS = [f"{c.key}-{name}" for c, name in PAIRS]


def words(text: str) -> str:
    """Text with every run of whitespace as one space (terminals and docstrings wrap lines)."""
    return " ".join(text.split())


def test_every_correction_names_registered_functions_and_reaches_their_specs():
    assert set(CORRECTIONS) == {"roas", "roi", "mrr_churn", "nps_scale", "clv_cac"}
    for c in CORRECTIONS.values():
        assert c.functions, c.key
        for name in c.functions:
            assert c in k.get(name).cautions, (c.key, name)
        assert set(c.arg_notes) <= set(c.functions), c.key
    cited = {(c.key, s.excel_name) for s in k.REGISTRY.values() for c in s.cautions}
    assert cited == {(c.key, name) for c, name in PAIRS}


@pytest.mark.parametrize("c, name", PAIRS, ids=IDS)
def test_the_help_excel_shows_carries_the_correction(c, name):
    spec = k.get(name)
    # the description: the summary, then the pointer (each fits Excel's 255 characters here)
    assert spec.description == excel_description(spec.summary, spec.cautions)
    assert spec.description.startswith(spec.summary + " ") and c.pointer in spec.description
    assert len(spec.description) <= 255
    for arg in spec.args:
        note = c.arg_notes.get(name, {}).get(arg.name)
        assert len(arg.help) <= 255
        if note:
            assert arg.help.endswith(" — " + note), (name, arg.name, arg.help)
    from addin.adapters import ADAPTERS  # the adapter Excel calls has it as its one-line docstring

    assert ADAPTERS[name].__doc__ == spec.description


def test_a_pointer_that_does_not_fit_is_left_out_of_the_description():
    c = CORRECTIONS["roas"]
    summary = "x" * (255 - len(c.pointer))  # one character too many with the space
    assert excel_description(summary, (c,)) == summary
    assert excel_description(summary[1:], (c,)) == summary[1:] + " " + c.pointer


@pytest.mark.parametrize("c, name", PAIRS, ids=IDS)
def test_the_docstring_has_a_warnings_section_with_the_correction(c, name):
    doc = inspect.getdoc(k.get(name).func)
    assert "\nWarnings\n--------\n" in doc
    section = doc.split("\nWarnings\n--------\n")[1]
    section = re.split(r"\n[A-Z][a-z]+( [A-Z][a-z]+)?\n-+\n", section)[0]
    assert words(c.text) in words(section)
    for step in c.example:
        assert words(step) in words(section.replace("\n- ", "\n"))
    # numpydoc order: Warnings after Raises, before Notes/References/Examples
    assert doc.index("\nWarnings\n") < doc.index("\nReferences\n") < doc.index("\nExamples\n")
    if "\nRaises\n" in doc:
        assert doc.index("\nRaises\n") < doc.index("\nWarnings\n")


def _doc_section(md: str, name: str) -> str:
    start = md.index(f"### `{name}(")
    end = md.find("\n### ", start + 1)
    return md[start: end if end > 0 else None]


@pytest.mark.parametrize("c, name", PAIRS, ids=IDS)
def test_docs_functions_md_shows_the_caution_under_the_function(c, name):
    md = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    sec = _doc_section(md, name)
    assert f"> **Caution ({c.topic}):** {c.text}" in sec
    for step in c.example[1:]:
        assert f"> - {step}" in sec
    help_rows = [a.help for a in k.get(name).args]
    for note in c.arg_notes.get(name, {}).values():
        assert any(h.endswith(note) and f"| {h} |" in sec for h in help_rows)
    # and the overview table at the top lists it
    assert f"| {c.topic} | {c.right} |" in md


@pytest.mark.parametrize("c, name", PAIRS, ids=IDS)
def test_kpi_functions_name_prints_the_caution(c, name):
    result = CliRunner().invoke(app, ["functions", name], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    out = words(result.output)
    assert f"Caution ({c.topic}) {c.text}" in out
    for step in c.example[1:]:
        assert words(f"• {step}") in out
    for note in c.arg_notes.get(name, {}).values():
        assert words(note) in out


def _pct(x: float) -> str:
    """A fraction as the example writes it: 19.41 %."""
    return f"{100 * x:.2f} %"


def test_the_worked_churn_example_is_what_the_library_computes():
    c = CORRECTIONS["mrr_churn"]
    text = c.example_text
    start = [s for _, s, _ in MRR_CHURN_EXAMPLE]
    end = [e for _, _, e in MRR_CHURN_EXAMPLE]
    assert (sum(start), sum(end)) == (17000, 14600)

    # the movements of the breakdown, by KPI_MRR_MOVEMENTS over the same customers in two months
    rows = [[cust, month, mrr] for cust, s, e in MRR_CHURN_EXAMPLE
            for month, mrr in (("2026-01", s), ("2026-02", e)) if mrr]
    mov = k.mrr_movements(rows).iloc[-1]
    assert (mov["starting MRR"], mov["ending MRR"]) == (17000, 14600)
    assert (mov["churned"], mov["contraction"], mov["expansion"], mov["new"], mov["reactivation"]) == (
        2900, 400, 600, 300, 0)
    assert "churned 2,900, contraction 400, expansion 600, new 300" in text

    gross = k.churn_revenue(start, end)
    net = k.churn_revenue(start, end, True)
    totals = k.churn_revenue(17000, 14600)
    assert gross == pytest.approx((2900 + 400) / 17000) and _pct(gross) == "19.41 %"
    assert net == pytest.approx((2900 + 400 - 600) / 17000) and _pct(net) == "15.88 %"
    # the article's figure is minus the MRR growth, and what the two totals give
    assert totals == pytest.approx(-k.growth_rate(17000, 14600)) == pytest.approx(2400 / 17000)
    assert _pct(totals) == "14.12 %"
    assert k.churn_revenue([[s, e] for s, e in zip(start, end)]) == gross  # one two-column range, as B2:C7
    assert f"= {_pct(gross)}" in text and f"= {_pct(net)}" in text
    assert f"(17,000 − 14,600) ÷ 17,000 = {_pct(totals)}" in text
    assert f"=KPI_CHURN_REVENUE(B2:C7) gives {_pct(gross)}, =KPI_CHURN_REVENUE(B2:C7, TRUE) {_pct(net)}" in text
    assert f"=KPI_CHURN_REVENUE(17000, 14600) gives {_pct(totals)}" in text
    # gross and net churn are 1 − GRR and 1 − NRR of the same customers
    assert 1 - k.grr(start, end) == pytest.approx(gross) and 1 - k.nrr(start, end) == pytest.approx(net)
    # the per-customer rows the text lists are the example's
    for cust, s, e in MRR_CHURN_EXAMPLE:
        assert f"{cust} {s:,} → {e:,}" in text


def test_the_other_corrections_agree_with_the_library():
    assert k.roas(20000, 5000) == 4.0 and 5000 / 20000 == 0.25  # ROAS 4 = ACoS 25 %
    assert "a ROAS of 4 is an ACoS of 25 %" in CORRECTIONS["roas"].wrong
    # ROI from revenue and cost is profit ÷ cost; "profit − cost" counts the cost twice
    assert k.roi(15000, 10000) == (15000 - 10000) / 10000
    assert k.roi(15000 - 10000, 10000) != k.roi(15000, 10000)
    # NPS: 0 is a valid answer, and a detractor
    assert k.nps([0, 10]) == 0.0 and k.nps([0]) == -100.0
