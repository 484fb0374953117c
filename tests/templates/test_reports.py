"""The report templates: registry-only formulas, formats from the registry, notes from the registry,
committed template files equal to what the builder makes, and the formula model's Excel semantics."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import kpi_functions as K
from workbook_templates import formulas as F
from workbook_templates.batch import TEMPLATES_DIR
from workbook_templates.builder import PROBE_NAME, UNIT_FORMATS, VALUES_SHEET
from workbook_templates.formulas import NATIVE_FUNCTIONS, ExcelError
from workbook_templates.make_templates import build_templates
from workbook_templates.reports import REPORTS
from workbook_templates.schema import DATASETS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl: conditional-format extensions

KEYS = list(REPORTS)
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


def _formulas(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = v.text if type(v).__name__ == "ArrayFormula" else v
                if isinstance(text, str) and text.startswith("="):
                    yield ws.title, c, text


def _strip_strings(formula: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', formula)


def test_there_are_five_templates_and_their_files():
    assert KEYS == ["saas_dashboard", "retention_cohorts", "marketing_funnel", "customer_experience",
                    "executive_overview"]
    for k in KEYS:
        assert (TEMPLATES_DIR / f"{k}.xlsx").is_file()


def test_each_report_names_its_headline_items_and_build_cost():
    """ReportSpec.headline (the items `kpi build` summarises) names items of the report; ReportSpec.cost
    orders a parallel run (the costliest first)."""
    for spec in REPORTS.values():
        items = {it.name for b in spec.blocks if hasattr(b, "items") for it in b.items}
        assert spec.headline and set(spec.headline) <= items, spec.key
        assert spec.cost > 0, spec.key
    assert min(REPORTS, key=lambda k: -REPORTS[k].cost) == "executive_overview"


def test_the_builder_knows_no_report_details():
    """Table and column names, series labels and status texts live in the report specs (reports.py), which
    hand them to the builder as objects (Months, Distinct, Series.role, ItemList.status_tones)."""
    from workbook_templates import build

    src = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(build.__file__).parent.glob("*.py")))
    for word in ('"marketing"', '"channel"', '"followers"', '"customers"', '"Decrease"', '"On target"',
                 '"n/a"', "months:"):
        assert word not in src, word


@pytest.mark.parametrize("key", KEYS)
def test_template_formulas_call_only_registry_kpis_and_known_native_functions(key):
    kpis = set()
    for sheet, cell, f in _formulas(TEMPLATES_DIR / f"{key}.xlsx"):
        for name in _CALL.findall(_strip_strings(f)):
            if name.upper().startswith("KPI_"):
                assert name in K.REGISTRY, f"{sheet}!{cell.coordinate}: {name} is not a registered KPI"
                kpis.add(name)
            else:
                assert name in NATIVE_FUNCTIONS, f"{sheet}!{cell.coordinate}: unexpected function {name} in {f}"
    assert kpis, "a template without KPI formulas"


# What SPEC §6 says each report shows, as the KPI functions that compute it.
REQUIRED = {
    "saas_dashboard": {"KPI_MRR", "KPI_ARR", "KPI_MRR_MOVEMENTS", "KPI_GROWTH_RATE", "KPI_CHURN_CUSTOMERS",
                       "KPI_CHURN_REVENUE", "KPI_NRR", "KPI_GRR", "KPI_QUICK_RATIO", "KPI_ARPU", "KPI_CLV",
                       "KPI_CAC", "KPI_LTV_CAC", "KPI_CAC_PAYBACK"},
    "retention_cohorts": {"KPI_COHORT_RETENTION", "KPI_RETENTION_RATE", "KPI_SURVIVAL_CURVE",
                          "KPI_REPEAT_PURCHASE_RATE", "KPI_STICKINESS"},
    "marketing_funnel": {"KPI_CONVERSION_RATE", "KPI_CPA", "KPI_CAC", "KPI_CAC_PCT", "KPI_ROAS", "KPI_ROI",
                         "KPI_GROWTH_RATE"},
    "customer_experience": {"KPI_NPS", "KPI_NPS_BREAKDOWN", "KPI_NPS_MOE", "KPI_CSAT", "KPI_AVG_DURATION"},
    "executive_overview": {"KPI_MRR", "KPI_CHURN_RATE", "KPI_RETENTION_RATE", "KPI_NRR", "KPI_NPS"},
}


@pytest.mark.parametrize("key", KEYS)
def test_each_report_computes_what_the_spec_lists(key):
    used = set()
    for _, _, f in _formulas(TEMPLATES_DIR / f"{key}.xlsx"):
        used.update(n for n in _CALL.findall(f) if n.startswith("KPI_"))
    assert REQUIRED[key] <= used, REQUIRED[key] - used


@pytest.mark.parametrize("key", KEYS)
def test_kpi_cells_keep_the_live_formula_and_fall_back_to_the_stored_value(key):
    n = 0
    for sheet, cell, f in _formulas(TEMPLATES_DIR / f"{key}.xlsx"):
        if "KPI_" in f and sheet != VALUES_SHEET:
            m = re.fullmatch(rf"=IF\({PROBE_NAME},({VALUES_SHEET}!\$[A-Z]+\$\d+(?::\$[A-Z]+\$\d+)?),(.*)\)", f)
            assert m, f"{sheet}!{cell.coordinate}: {f}"
            assert "KPI_" in m.group(2)
            n += 1
    assert n >= 5
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{key}.xlsx")
    assert wb[VALUES_SHEET].sheet_state == "hidden"
    assert wb[VALUES_SHEET]["A1"].value == "=ISERROR(KPI_ARR(1))"
    assert PROBE_NAME in wb.defined_names


@pytest.mark.parametrize("key", KEYS)
def test_scalar_kpi_number_formats_follow_the_registry_unit(demo, key):
    wb = openpyxl.load_workbook(demo[key].path)
    checked = 0
    for c in demo[key].result.cells:
        if c.kind != "kpi" or not c.formula:
            continue
        inner = re.fullmatch(r"=IF\([^,]+,[^,]+,(KPI_[A-Z_]+)\((.*)\)\)", c.formula)
        if not inner:
            continue
        spec = K.REGISTRY[inner.group(1)]
        fmt = wb[c.sheet][c.cell].number_format
        want = UNIT_FORMATS[spec.unit]
        if spec.unit == "fraction":
            assert fmt.endswith("%"), (c.sheet, c.cell, fmt)
        elif spec.unit == "duration":
            unit = "days" if ',"days",' in c.formula else "h"  # the unit argument (lead time: days), else hours
            assert fmt.endswith(f'" {unit}"'), (c.sheet, c.cell, fmt)
        elif spec.unit == "money":
            assert fmt in (want, want + ".00"), (c.sheet, c.cell, fmt)  # cents where amounts are small
        else:
            assert fmt == want, (c.sheet, c.cell, spec.excel_name, fmt, want)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("key", KEYS)
def test_notes_sheet_defines_every_kpi_from_the_registry(key):
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{key}.xlsx")
    used = set()
    for _, _, f in _formulas(TEMPLATES_DIR / f"{key}.xlsx"):
        used.update(n for n in _CALL.findall(f) if n.startswith("KPI_"))
    used.discard("KPI_ARR") if key not in ("saas_dashboard", "executive_overview") else None  # the probe
    rows = [[c.value for c in r] for r in wb["Notes"].iter_rows()]
    for name in used:
        spec = K.REGISTRY[name]
        row = next((r for r in rows if r[0] == spec.signature_text), None)
        assert row is not None, f"Notes lacks {name}"
        assert row[1] == spec.summary and row[2] == spec.formula
    for ds in REPORTS[key].datasets:  # and documents every input column
        names = {r[0] for r in rows}
        assert set(DATASETS[ds].column_names) <= names


@pytest.mark.parametrize("key", KEYS)
def test_input_sheets_are_excel_tables_with_the_documented_columns(key):
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{key}.xlsx")
    for ds_name in REPORTS[key].datasets:
        ds = DATASETS[ds_name]
        ws = wb[ds.sheet]
        assert ds.table in ws.tables
        header = [c.value for c in next(ws.iter_rows(max_row=1))]
        assert header[: len(ds.columns)] == ds.column_names


def _content(path: Path) -> dict:
    """Everything a reader sees: per sheet, each cell's formula/value, cached value and number format."""
    wb = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    out = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
           "names": sorted(wb.defined_names)}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is None and c.number_format == "General":
                    continue
                v = v.text if type(v).__name__ == "ArrayFormula" else v
                cells[c.coordinate] = (v, cached[ws.title][c.coordinate].value, c.number_format)
        out[ws.title] = cells
        out[ws.title + "#tables"] = sorted((t.name, t.ref) for t in ws.tables.values())
        out[ws.title + "#charts"] = len(ws._charts)
        out[ws.title + "#cf"] = sorted(str(r.sqref) for r in ws.conditional_formatting)
    return out


def _same(a: object, b: object) -> bool:
    """Equal, but for the last places of a fitted number: the model fits (BG/NBD, sBG) stop at their optimiser's
    tolerance, and where they stop moves by about 1e-8 between scipy releases, so a float cell matches to a
    relative 1e-6 (what this test checks is that the committed templates were regenerated: formulas, formats,
    layout; the fits' own tests check their numbers); everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.slow
def test_committed_templates_are_what_the_builder_makes(tmp_path):
    """Regenerate with: python -m workbook_templates.make_templates"""
    fresh = build_templates(tmp_path)
    for key, path in fresh.items():
        committed = _content(TEMPLATES_DIR / f"{key}.xlsx")
        made = _content(path)
        assert committed.keys() == made.keys(), key
        for part in made:
            assert _same(committed[part], made[part]), \
                f"{key}: {part} differs — run python -m workbook_templates.make_templates"


def test_building_never_touches_the_templates(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    before = {p.name: p.read_bytes() for p in TEMPLATES_DIR.glob("*.xlsx")}
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["build", "marketing_funnel", "--out", str(TEMPLATES_DIR), "--no-progress"])
    assert r.exit_code == 2 and "templates folder" in r.output
    assert {p.name: p.read_bytes() for p in TEMPLATES_DIR.glob("*.xlsx")} == before


def test_spills_have_the_shape_the_addin_spills():
    """The builder writes a library table exactly as addin.adapters.to_excel spills it."""
    adapters = pytest.importorskip("addin.adapters")
    from workbook_templates.builder import _frame_grid

    spec = K.REGISTRY["KPI_COHORT_RETENTION"]
    df = K.cohort_retention([["a", "2024-01", 10], ["a", "2024-02", 10], ["b", "2024-02", 5]])
    want = adapters.to_excel(spec, df)
    got = _frame_grid(df)
    norm = lambda g: [[pd.Timestamp(x) if hasattr(x, "year") else x for x in row] for row in g]
    assert norm(got) == norm(want)


# --------------------------------------------------------------------------
# The formula model: Excel semantics, checked by hand
# --------------------------------------------------------------------------
class Ctx:
    """A minimal evaluation context: named cells and named columns."""

    sheet = "S"

    def __init__(self, cells=None, cols=None, months=1):
        self.cells, self.cols, self._c, self.months = cells or {}, cols or {}, {}, months

    def value(self, name):
        return self.cells[name]

    def addr(self, name, absolute=True):
        return f"${name}$1"

    def table_value(self, ds, first, last):
        return self.cols[first]

    def table_ref(self, ds, first, last):
        return f"T[{first}]"

    def cache(self):
        return self._c

    def period_months(self):
        return self.months


def test_sumwhere_is_exact_equality_ignoring_case_not_criteria_syntax():
    ids = pd.Series(["a*", "A*", "ab", ">1", "=x", None], dtype=object)
    vals = pd.Series([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    ctx = Ctx(cols={"id": ids, "v": vals})
    s = lambda key: F.SumWhere(F.Col("t", "v"), (F.Col("t", "id"), key)).evaluate(ctx)
    assert s("a*") == 3.0  # "a*" and "A*" (case ignored), never "ab" (no wildcard)
    assert s(">1") == 8.0 and s("=x") == 16.0  # no criteria operators
    assert s("zz") == 0.0
    assert F.SumWhere(None, (F.Col("t", "id"), "AB")).evaluate(ctx) == 1.0
    assert F.SumWhere(F.Col("t", "v"), (F.Col("t", "id"), "a*")).render(ctx) == 'SUMPRODUCT((T[id]="a*")*T[v])'


def test_lookup_and_iferror():
    months = pd.Series(pd.to_datetime(["2026-01-01", "2026-02-01"]))
    ctx = Ctx(cols={"m": months, "v": pd.Series([5.0, np.nan])})
    look = lambda m: F.Lookup(m, F.Col("t", "m"), F.Col("t", "v")).evaluate(ctx)
    assert look(pd.Timestamp("2026-01-01")) == 5.0
    assert look(pd.Timestamp("2026-02-01")) == 0.0  # INDEX of a blank cell
    assert isinstance(look(pd.Timestamp("2026-03-01")), ExcelError)
    assert F.IfError(F.Lookup(pd.Timestamp("2026-03-01"), F.Col("t", "m"), F.Col("t", "v")), "").evaluate(ctx) == ""


def test_edate_follows_excel_at_month_ends():
    ctx = Ctx(cells={"d": pd.Timestamp("2026-01-31")})
    assert F.EDate(F.Ref("d"), 1).evaluate(ctx) == pd.Timestamp("2026-02-28")
    assert F.EDate(F.Ref("d"), -2).evaluate(ctx) == pd.Timestamp("2025-11-30")


def test_arithmetic_blank_text_and_errors():
    ctx = Ctx(cells={"blank": None, "t": "x", "e": ExcelError("#DIV/0!"), "n": 4.0})
    assert (F.Ref("blank") + 2).evaluate(ctx) == 2.0  # a blank is 0
    assert (F.Ref("t") + 2).evaluate(ctx).code == "#VALUE!"
    assert (F.Ref("e") * 2).evaluate(ctx).code == "#DIV/0!"
    assert (F.Ref("n") / 0).evaluate(ctx).code == "#DIV/0!"
    assert F.If(F.Op(">=", F.Ref("n"), 4), "yes", "no").evaluate(ctx) == "yes"
    assert F.Fn("ISNUMBER", F.Ref("t")).evaluate(ctx) is False
    assert F.Op("=", F.Ref("blank"), "").evaluate(ctx) is True  # blank = "" in Excel
    assert F.Op("<", F.Ref("n"), "a").evaluate(ctx) is True  # numbers sort before text


def test_filter_keeps_the_rows_of_the_month_and_renders_with_its_prefix():
    d = pd.Series([pd.Timestamp("2026-01-31"), pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-28 23:00"),
                   pd.Timestamp("2026-03-01")])
    ctx = Ctx(cells={"m": pd.Timestamp("2026-02-01")}, cols={"d": d, "s": pd.Series([1.0, 2.0, 3.0, 4.0])})
    f = F.Filter(F.Col("t", "s"), F.InMonth(F.Col("t", "d"), F.Ref("m")))
    assert f.evaluate(ctx).tolist() == [2.0, 3.0]
    assert f.render(ctx) == '_xlfn._xlws.FILTER(T[s],(T[d]>=$m$1)*(T[d]<EDATE($m$1,1)),"")'
    assert F.CountInMonth(F.Col("t", "d"), F.Ref("m")).evaluate(ctx) == 2.0


def test_kpi_nodes_refuse_names_outside_the_registry(sample_tables):
    from workbook_templates.builder import BuildError, evaluate
    from workbook_templates.context import scope
    from workbook_templates.spec import Item, ItemList, ReportSpec, SheetSpec

    spec = ReportSpec("t", "t", "t", ("orders",), (SheetSpec("R", "report"),),
                      (ItemList("R", 0, 0, "", (Item("x", "x", F.KPI("KPI_NOPE", 1)),)),))
    with pytest.raises(BuildError, match="KPI_NOPE is not a registered KPI"):
        evaluate(spec, scope(sample_tables, ("orders",), None, None))


@pytest.mark.slow
def test_the_bare_xlsxwriter_baseline_writes_the_same_cells(tmp_path):
    # Only that the comparison is like for like; the timing itself is reported by
    # `python -m benchmarks` (no timed assertions in the test suite).
    from benchmarks.xlsx_cells import measure

    r = measure(tmp_path, demo_wall=False)
    assert r["cells"] > 100_000
    assert r["ratio"] > 0


def test_formula_text_is_rendered_for_the_sheet_it_is_written_on(sample_tables):
    """Addresses are rendered through a context made for one sheet (no sheet state on the report)."""
    from workbook_templates.builder import evaluate
    from workbook_templates.context import scope
    from workbook_templates.spec import Item, ItemList, ReportSpec, SheetSpec

    spec = ReportSpec("t", "t", "t", ("orders",), (SheetSpec("A", "report"), SheetSpec("B b", "report")), (
        ItemList("A", 0, 0, "", (Item("x", "x", 2.0), Item("y", "y", F.Ref("x") + 1))),))
    b = evaluate(spec, scope(sample_tables, ("orders",), None, None))
    assert b.value("y") == 3.0
    assert F.Ref("x").render(b.on_sheet("A")) == "$B$2"
    assert F.Ref("x").render(b.on_sheet("B b")) == "A!$B$2"
    assert F.Ref("x").render(b.ctx) == "A!$B$2"  # evaluation's context is on no sheet
    assert not hasattr(b, "sheet")
    assert F.Ref("x").render(b.on_sheet("A")) == "$B$2"  # rendering elsewhere changed nothing
