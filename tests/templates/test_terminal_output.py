"""Data printed by ``kpi build`` is escaped: no control or bidi character, no Rich markup reaches stdout."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from kpi_functions import terminal_safe

EVIL = ["a\x1b[2Jb", "c\u202ed", "e\x00f", "[bold]x[/bold]", ":smile:"]


@pytest.mark.parametrize(("raw", "shown"), [("a\x1b[2Jb", "a\\x1b[2Jb"), ("c\u202ed", "c\\u202ed"), ("e\x00f", "e\\x00f"),
                                            ("l\u2028m", "l\\u2028m"), ("\ud800", "\\ud800"), ("Zürich 東京 😀", "Zürich 东京 😀".replace("东", "東")),
                                            ("[bold]x[/bold]", "[bold]x[/bold]"), ("a\nb", "a\\x0ab")])
def test_terminal_safe(raw, shown):
    assert terminal_safe(raw) == shown
    assert terminal_safe(raw).isprintable()


def test_keep_newlines():
    assert terminal_safe("a\nb\rc", keep_newlines=True) == "a\nb\\x0dc"


def test_build_output_escapes_segment_names(tmp_path):
    d = small_sample(tmp_path / "data")
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    for i, v in enumerate(EVIL):
        cust.loc[i, "region"] = v
    cust.to_csv(d / "customers.csv", index=False)
    r = CliRunner().invoke(app, ["build", "customer_experience", "--data", str(d), "--out", str(tmp_path / "o"),
                                 "--by", "region", "--no-progress"])
    out = r.output
    assert r.exit_code in (0, 1), out
    assert "\\x00" in out or r.exit_code == 0, out
    for shown in ("\\x1b", "\\u202e", "[bold]", ":smile:"):
        assert shown in out, out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", out), repr(out)


def test_an_unknown_function_name_is_printed_literally():
    """`kpi functions NAME` quoted the user's name with Rich markup on: `[bold]` vanished."""
    r = CliRunner().invoke(app, ["functions", "[bold]KPI_X[/bold]\x1b[2J"])
    assert r.exit_code == 2
    assert "no KPI function named '[bold]KPI_X[/bold]\\x1b[2J'" in r.output
    assert "\x1b" not in r.output
