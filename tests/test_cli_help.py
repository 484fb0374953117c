"""What a new user sees of ``kpi`` before any report: --version, help, the function catalog, where the
templates come from. Output is read as printed to an 80-column terminal (``COLUMNS=80``)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import kpi_functions as k
from kpi_cli import _typer_bridge
from kpi_cli.main import app
from workbook_templates.origin import template_origin

ROOT = Path(__file__).resolve().parents[1]
TAG = re.compile(r"<(bool|str|int|float|path|list\[[a-z]+\])>")


def run(*args: str, columns: int = 80):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def test_version_is_the_package_version():
    want = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    r = run("--version")
    assert r.exit_code == 0 and r.output == f"kpi {want}\n"


@pytest.mark.parametrize("cmd", [[], ["build"], ["demo"], ["templates"], ["functions"], ["map"], ["serve"], ["lite"],
                                 ["tables"]])
def test_help_has_no_type_tags_and_fits_80_columns(cmd):
    """Typer printed `--all <bool>`, `--out <path>`, `templates... <list[str]>` (the bridge removes them:
    this fails when the Typer internal it patches moves)."""
    r = run(*cmd, "--help")
    assert r.exit_code == 0, r.output
    assert not TAG.search(r.output), r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80, r.output
    if cmd == ["build"]:
        assert re.search(r"^  --all +Build every template\.$", r.output, re.MULTILINE), r.output  # a flag: no type
        assert re.search(r"^  --out PATH +Output folder\.", r.output, re.MULTILINE), r.output
        assert re.search(r"^  -j, --jobs INTEGER RANGE +Reports built in parallel", r.output, re.MULTILINE), r.output
    if not cmd:  # every command's whole summary, not cut with "..."
        assert not re.search(r"\.\.\.$", r.output.split("Commands:")[1], re.MULTILINE), r.output
        assert "help with an\n             example." in r.output


@pytest.mark.parametrize(("tag", "shown"), [("<str>", "TEXT"), ("<path>", "PATH"), ("<list[str]>", "TEXT"),
                                            ("<int>", "INTEGER"), ("<int range>", "INTEGER RANGE"), ("<a|b>", "a|b"),
                                            (None, None)])
def test_plain_type_names(tag, shown):
    assert _typer_bridge.plain_type(tag) == shown


# --------------------------------------------------------------------------
# kpi functions
# --------------------------------------------------------------------------
def _listed(output: str) -> list[str]:
    return re.findall(r"^│ (KPI_[A-Z0-9_]+) ", output, re.MULTILINE)


def test_the_catalog_fits_80_columns_and_says_how_many_it_listed():
    r = run("functions")
    assert r.exit_code == 0
    assert max(len(line) for line in r.output.splitlines()) <= 80, r.output
    assert _listed(r.output) == [s.excel_name for s in k.specs()]  # every function, by its full name
    cells = " ".join(" ".join(line.strip("│").split("│")) for line in r.output.splitlines() if line.startswith("│"))
    flat = " ".join(cells.split())
    for s in k.specs():  # nothing cut: each name with its whole summary
        assert f"{s.excel_name} {' '.join(s.summary.split())}" in flat, s.excel_name
    assert r.output.rstrip().endswith(f"{len(k.REGISTRY)} functions in 7 categories; 'kpi functions NAME' shows "
                                      "one in full.")


@pytest.mark.parametrize("given", ["marketing", "MARKETING", "Marketing", " marketing "])
def test_category_in_any_case_with_the_count(given):
    r = run("functions", "-c", given)
    assert r.exit_code == 0, r.output
    want = ["KPI_CONVERSION_RATE", "KPI_CPA", "KPI_CONVERSION_VALUE", "KPI_ROI", "KPI_ROAS", "KPI_ROI_CPA"]
    assert _listed(r.output) == want
    assert "6 functions in Marketing;" in r.output


def test_the_first_word_of_a_category_is_enough():
    r = run("functions", "--category", "churn")
    assert r.exit_code == 0 and "in Churn and retention;" in r.output
    assert set(_listed(r.output)) == {s.excel_name for s in k.REGISTRY.values() if s.category == "Churn and retention"}


def test_an_unknown_category_lists_the_categories():
    r = run("functions", "-c", "finance")
    assert r.exit_code == 2
    assert r.output == ("error: --category 'finance' is not a category; use one of: Revenue, Churn and retention, "
                        "Customer value and acquisition, Marketing, Satisfaction, Product and service, Statistics\n")


def test_a_word_searches_names_and_summaries():
    r = run("functions", "churn")
    assert r.exit_code == 0, r.output
    # by hand from the registry's summaries: every function whose name or summary says "churn"
    want = ["KPI_MRR_MOVEMENTS", "KPI_CHURN_RATE", "KPI_CHURN_CUSTOMERS", "KPI_CHURN_REVENUE",
            "KPI_NET_NEW_CUSTOMERS", "KPI_QUICK_RATIO", "KPI_SURVIVAL_CURVE", "KPI_CLV", "KPI_RATE_CI"]
    assert _listed(r.output) == want
    assert "9 functions mention 'churn';" in r.output


def test_a_search_within_a_category():
    r = run("functions", "churn", "-c", "customer value")
    assert r.exit_code == 0 and _listed(r.output) == ["KPI_CLV"]
    assert "1 function in Customer value and acquisition mentions 'churn';" in r.output


def test_an_alias_is_found():
    r = run("functions", "ndr")
    assert r.exit_code == 0 and _listed(r.output) == ["KPI_NRR"]


def test_a_typo_suggests_close_names():
    r = run("functions", "NPSS")
    assert r.exit_code == 2
    assert r.output == ("error: no KPI function named 'NPSS', and no function's name or summary mentions it; "
                        "did you mean KPI_NPS? Run 'kpi functions' for the list.\n")


def test_nothing_close():
    r = run("functions", "zzzq")
    assert r.exit_code == 2
    assert r.output == ("error: no KPI function named 'zzzq', and no function's name or summary mentions it. "
                        "Run 'kpi functions' for the list.\n")


def test_a_name_still_shows_the_function():
    r = run("functions", "nps")
    assert r.exit_code == 0 and r.output.startswith("KPI_NPS(scores)  (Satisfaction)\n")


# --------------------------------------------------------------------------
# kpi templates: where they come from
# --------------------------------------------------------------------------
def _dist(tmp_path: Path, direct_url: str | None):
    site = tmp_path / "site-packages"
    site.mkdir(exist_ok=True)
    return SimpleNamespace(version="9.8.7", read_text=lambda name: direct_url, locate_file=lambda p: site), site


def test_origin_of_an_installed_copy(tmp_path):
    dist, site = _dist(tmp_path, None)
    assert template_origin(site / "workbook_templates", dist) == f"the installed package kpi-addin 9.8.7 ({site})"


def test_origin_of_an_editable_install(tmp_path):
    src = tmp_path / "clone"
    dist, _ = _dist(tmp_path, f'{{"dir_info": {{"editable": true}}, "url": "file://{src}"}}')
    assert template_origin(src / "workbook_templates", dist) == (
        f"the source checkout {src} (kpi-addin 9.8.7 is an editable install: templates changed there change "
        "every report)")


def test_origin_of_a_source_tree_shadowing_the_installed_package(tmp_path):
    dist, site = _dist(tmp_path, None)
    other = tmp_path / "elsewhere"
    assert template_origin(other / "workbook_templates", dist) == (
        f"a source tree ({other}) found first on the Python path, not the installed kpi-addin 9.8.7 in {site}")


def test_origin_without_an_installed_package(tmp_path):
    assert template_origin(tmp_path / "workbook_templates", None) == (
        f"a source tree ({tmp_path}), not an installed package: kpi-addin is not installed in this Python")


def test_templates_says_where_the_templates_come_from():
    import workbook_templates

    r = run("templates", columns=200)
    assert r.exit_code == 0
    here = Path(workbook_templates.__file__).parent
    assert f"Template workbooks: {here / 'templates'}\n" in r.output
    assert f"They come from {template_origin(here)}.\n" in r.output
