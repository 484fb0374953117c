"""``kpi build --compare COLUMN``: every segment's headline KPIs side by side in one workbook.

The comparison's formulas split the whole input tables by segment inside the workbook; the per-segment
reports (``--by``) are built from data cut to the segment in Python. The two must agree, KPI by KPI, and the
Total row must be the report without ``--by``.
"""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from report_helpers import copy_data, need_program, same, small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.batch import SAMPLE_DIR, atomic_build
from workbook_templates.builder import evaluate
from workbook_templates.compare import (
    COMPARE_KPIS,
    TABLE_NAME,
    CompareError,
    build_comparison_spec,
    plan_comparison,
)
from workbook_templates.context import scope
from workbook_templates.data import load_all
from workbook_templates.formulas import ExcelError
from workbook_templates.reports import REPORTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl: extensions it does not read

MONTH = pd.Timestamp("2026-03-01")


def _compare(tables, column, month=None):
    spec, data, notes = build_comparison_spec(tables, {}, column, month, "test")
    return spec, evaluate(spec, data), notes


def _rows(b) -> dict[str, dict[str, object]]:
    """segment -> {KPI key: value} of an evaluated comparison, and "Total"."""
    out = {}
    bd = b.blocks["cmp"]
    for i, key in enumerate(bd.keys):
        out[key] = {k: b.values[f"cmp.{k}.{i}"] for k in bd.cells if k != "segment"}
    out["Total"] = {k: b.values[f"tot.{k}.0"] for k in b.blocks["tot"].cells if k != "segment"}
    return out


def _report_values(tables, report, segment, month):
    spec = REPORTS[report]
    b = evaluate(spec, scope(tables, spec.datasets, segment, month, "test"))
    return b.values


def _agree(a, b) -> bool:
    if isinstance(a, ExcelError) or isinstance(b, ExcelError):
        return isinstance(a, ExcelError) and isinstance(b, ExcelError) and a.code == b.code
    return same(a, b)


@pytest.mark.parametrize(("column", "month"), [("region", None), ("plan_tier", MONTH), ("channel", MONTH)])
def test_every_value_equals_the_per_segment_reports(sample_tables, column, month):
    _, b, _ = _compare(sample_tables, column, month)
    rows = _rows(b)
    values = list(dict.fromkeys(sample_tables["customers"].df[column].dropna()))
    assert list(rows) == [*values, "Total"]
    by_report: dict[str, list[str]] = {}
    for k in COMPARE_KPIS:
        by_report.setdefault(k.report, []).append(k.key)
    checked = 0
    for seg in [*values, None]:
        for report, keys in by_report.items():
            want = _report_values(sample_tables, report, None if seg is None else (column, seg), month)
            got = rows["Total" if seg is None else seg]
            for k in keys:
                assert _agree(got[k], want[k]), f"{column}={seg} {k}: comparison {got[k]!r}, {report} {want[k]!r}"
                checked += 1
    assert checked == len(COMPARE_KPIS) * (len(values) + 1)
    # real numbers, not all alike: the segments differ, and the total is more than any segment
    mrr = [rows[v]["mrr"] for v in values]
    assert len(set(mrr)) == len(values) and abs(sum(mrr) - rows["Total"]["mrr"]) < 1e-6


def test_report_month_is_the_period_and_segments_sum_to_counts_by_hand(sample_tables):
    """Paying customers per region at the end of March 2026, counted from the subscription rows."""
    _, b, _ = _compare(sample_tables, "region", MONTH)
    assert b.values["report_month"] == MONTH
    rows = _rows(b)
    subs = sample_tables["subscriptions"].df
    cust = sample_tables["customers"].df.set_index("customer_id")["region"]
    month_end = pd.Timestamp("2026-03-31")
    live = subs[(subs["start_date"] <= month_end) & (subs["end_date"].isna() | (subs["end_date"] > month_end))
                & (subs["amount"] > subs["discount"].fillna(0))]
    paying = live["customer_id"].drop_duplicates().map(cust).value_counts()
    for region, n in paying.items():
        assert rows[region]["cust_end"] == n, region
    assert rows["Total"]["cust_end"] == paying.sum()


def _add_new_segment(d):
    """A region whose one customer starts paying in the last month: nobody paid there at the start."""
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    subs = pd.read_csv(d / "subscriptions.csv", dtype=str, keep_default_na=False)
    cust.loc[len(cust)] = {"customer_id": "C99990", "name": "Polar Ltd", "region": "Antarctica",
                           "plan_tier": "Starter", "signup_date": "2026-06-02", "channel": "Referral"}
    row = {c: "" for c in subs.columns}
    row.update({"customer_id": "C99990", "start_date": "2026-06-02", "amount": "120", "billing_months": "1",
                "plan": "Starter (1 seat)", "subscription_id": "S99990"})
    subs.loc[len(subs)] = row
    cust.to_csv(d / "customers.csv", index=False)
    subs.to_csv(d / "subscriptions.csv", index=False)
    return d


def test_a_segment_too_small_shows_undefined_not_zero(tmp_path):
    d = _add_new_segment(copy_data(SAMPLE_DIR, tmp_path / "data"))
    tables, errors = load_all(d)
    assert errors == {}
    _, b, _ = _compare(tables, "region")
    row = _rows(b)["Antarctica"]
    assert row["mrr"] == 120.0 and row["cust_end"] == 1.0 and row["cust_new"] == 1.0
    for k in ("logo_churn", "revenue_churn", "nrr", "grr", "nps", "csat", "roas"):
        assert isinstance(row[k], ExcelError) and row[k].code == "#DIV/0!", (k, row[k])
    # and the per-segment report says the same
    saas = _report_values(tables, "saas_dashboard", ("region", "Antarctica"), None)
    for k in ("logo_churn", "revenue_churn", "nrr", "grr"):
        assert _agree(row[k], saas[k]), k


def _without(tmp_path, *names):
    d = copy_data(SAMPLE_DIR, tmp_path / "data")
    for n in names:
        (d / f"{n}.csv").unlink()
    return d


def test_kpis_that_cannot_be_split_are_left_out_and_named(tmp_path):
    tables, _ = load_all(_without(tmp_path, "costs"))
    cmp = plan_comparison("region", set(tables))
    assert [k.key for k, _ in cmp.left_out] == ["cac"]
    assert cmp.left_out_text() == ("Left out: CAC (the data folder has no costs data set): these KPIs cannot be "
                                   "split by 'region'.")
    spec, data, notes = build_comparison_spec(tables, {}, "region", None, "test")
    assert cmp.left_out_text() in notes
    atomic_build(spec, data, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "c.xlsx")
    texts = [c.value for ws in (wb["Compare"], wb["Notes"]) for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert sum(cmp.left_out_text() in t for t in texts) == 2  # under the table and on the Notes sheet
    headers = [c.value for c in wb["Compare"][10]]
    assert "CAC" not in headers and "MRR" in headers and "NPS" in headers
    # a column only the subscriptions have: the customers cannot be split by it, so no KPI can
    with pytest.raises(CompareError, match=r"--compare 'plan': no KPI .*customers: has no column 'plan'"):
        plan_comparison("plan", set(tables))


def test_workbook_has_a_sortable_table_formats_charts_and_live_formulas(sample_tables, tmp_path):
    spec, data, _ = build_comparison_spec(sample_tables, {}, "region", None, "test")
    atomic_build(spec, data, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "c.xlsx")
    ws = wb["Compare"]
    table = ws.tables[TABLE_NAME]
    assert table.ref == "A10:N14" and table.autoFilter is not None  # header + four regions, 13 KPIs
    assert [c.value for c in ws[10]][:3] == ["region", "MRR", "ARR"]
    assert ws["A15"].value == "Total"
    formats = {str(r.sqref): [x.type for x in r.rules] for r in ws.conditional_formatting}
    assert formats["B11:B14"] == ["dataBar"] and formats["F11:F14"] == ["colorScale"]
    assert len(ws._charts) == 2
    # live: each segment's cells filter the whole input tables by the row's own key (a relative address,
    # so a sorted row keeps reading its own segment)
    text = lambda c: getattr(ws[c].value, "text", ws[c].value)  # (dynamic arrays: ArrayFormula)
    mrr = text("B11")
    assert "KPI_MRR(_xlfn._xlws.FILTER('Customer MRR'!$D$5:$D$" in mrr and "=A11" in mrr
    assert re.search(r"KPI_ARR\(B11\)", text("C11"))
    nps = text("L12")
    assert "ISNUMBER(_xlfn.XMATCH(NPS[customer_id],_xlfn._xlws.FILTER(Customers[customer_id],Customers[region]=A12" \
        in nps
    assert text("D11").startswith("=SUMPRODUCT(('Customer MRR'!$B$5:$B$")
    seg = wb["Customer MRR"]["B5"].value
    assert seg.startswith("=INDEX(Customers[region],MATCH(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE($A$5,\"~\",\"~~\"),\"*\",\"~*\"),\"?\",\"~?\")")
    # the explanations under the table wrap within the table's width (merged, the row as high as its lines)
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A17:N17", "A18:N18"} <= merged
    assert ws["A17"].value.startswith("Each row reads the rows of its segment") and ws["A17"].alignment.wrap_text
    assert ws.row_dimensions[17].height >= 2 * 12  # two lines or more at the table's width


def test_unknown_and_unsplittable_columns_are_usage_errors(sample_tables):
    with pytest.raises(CompareError, match=r"--compare 'colour': no data set has a column 'colour'"):
        plan_comparison("colour", set(sample_tables))
    with pytest.raises(CompareError, match=r"--compare 'priority': no KPI .* tickets"):
        plan_comparison("priority", set(sample_tables))


def test_values_differing_only_in_case_are_refused(tmp_path):
    d = copy_data(SAMPLE_DIR, tmp_path / "data")
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    cust.loc[0, "region"] = "EUROPE"
    cust.to_csv(d / "customers.csv", index=False)
    tables, _ = load_all(d)
    with pytest.raises(CompareError, match=r"'Europe' and 'EUROPE'|'EUROPE' and 'Europe'"):
        _compare(tables, "region")


# --------------------------------------------------------------------------
# kpi build --compare
# --------------------------------------------------------------------------
def _cli(*args):
    return CliRunner().invoke(app, ["build", *args, "--no-progress"])


def test_cli_builds_one_workbook_and_prints_the_comparison(tmp_path):
    r = _cli("--compare", "channel", "--period", "2026-03", "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert [p.name for p in (tmp_path / "out").glob("*.xlsx")] == ["compare_channel__2026-03.xlsx"]
    out = r.output
    assert "Compared by channel, 2026-03" in out
    for line in ("Paid search", "Referral", "Total"):
        assert re.search(rf"│ {line}\s+│\s+[\d,]+ │", out), out
    assert "costs: has no 'channel' column, so the costs are allocated" in out
    assert "Left out" not in out
    d = _without(tmp_path, "nps_responses")
    r = _cli("--compare", "region", "--data", str(d), "--out", str(tmp_path / "out2"))
    assert r.exit_code == 0, r.output
    assert "note Left out: NPS (the data folder has no nps_responses data set)" in r.output
    assert (tmp_path / "out2" / "compare_region.xlsx").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--compare", "region", "--by", "region"), "use one of them"),
    (("saas_dashboard", "--compare", "region"), "give no template names"),
    (("--compare", "colour"), "no data set has a column 'colour'"),
    (("--compare", "priority"), "no KPI of the comparison can be split by 'priority'"),
    (("--compare", "region", "--period", "2026-Q1"), "--compare builds one month at a time; --period '2026-Q1'"),
    (("--compare", "region", "--period", "latest-year"), "is a quarter or a year"),
])
def test_cli_usage_errors(tmp_path, args, message):
    r = _cli(*args, "--out", str(tmp_path))
    assert r.exit_code == 2, r.output
    assert message in r.output.replace("\n", " ")
    assert not list(tmp_path.glob("*.xlsx"))


# --------------------------------------------------------------------------
# LibreOffice: the native formulas recalculate to the cached values
# --------------------------------------------------------------------------
@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_recalculation_agrees(tmp_path):
    need_program("soffice", "libreoffice")
    from workbook_templates.render import convert

    d = _add_new_segment(small_sample(tmp_path / "data", 60))
    tricky = "C~*?1"  # MATCH would read * and ? as wildcards and ~ as their escape: the look-up escapes them
    first = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False).loc[0, "customer_id"]
    for f in d.glob("*.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        if "customer_id" in df.columns:
            df.loc[df["customer_id"] == first, "customer_id"] = tricky
            df.to_csv(f, index=False)
    cust = pd.read_csv(d / "customers.csv", dtype=str, keep_default_na=False)
    tables, errors = load_all(d)
    assert errors == {}
    spec, data, _ = build_comparison_spec(tables, {}, "region", None, "test")
    path = tmp_path / "compare.xlsx"
    atomic_build(spec, data, path)
    convert([path], "xlsx:Calc MS Excel 2007 XML", tmp_path / "recalc", recalc=True)
    cached = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    recalc = openpyxl.load_workbook(tmp_path / "recalc" / path.name, data_only=True)
    n = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if not ((isinstance(v, str) and v.startswith("=")) or type(v).__name__ == "ArrayFormula"):
                    continue
                n += 1
                a, b = cached[ws.title][c.coordinate].value, recalc[ws.title][c.coordinate].value
                assert same(a, b), f"{ws.title}!{c.coordinate}: cached {a!r}, recalculated {b!r} ({v})"
    assert n > 200
    assert recalc["Customer MRR"]["B5"].value == cust.loc[0, "region"]
    # the undefined churn of the new region is still an error after recalculation, not 0
    i = list(dict.fromkeys(tables["customers"].df["region"])).index("Antarctica")
    assert recalc["Compare"].cell(11 + i, 6).value == "#DIV/0!"
