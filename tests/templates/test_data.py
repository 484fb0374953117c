"""The sample data set and the data loader: schemas, bad cells reported by file/row/column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbook_templates import sample_data
from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.context import ScopeError, scope
from workbook_templates.data import DataError, find_files, load_all, load_dataset
from workbook_templates.schema import DATASETS


def test_the_bundled_sample_data_is_what_the_seeded_generator_writes(tmp_path):
    sample_data.write_csvs(tmp_path)  # default seed and months
    names = [n for n in DATASETS if (SAMPLE_DIR / f"{n}.csv").exists()]  # the files the sample has
    assert "leads" in names and "invoices" not in names
    for name in names:
        a = pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
        b = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(a, b, obj=name)


def test_generator_is_seeded_and_local():
    state = np.random.get_state()[1].copy()
    a, b = sample_data.generate(7, 14), sample_data.generate(7, 14)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not sample_data.generate(8, 14)["subscriptions"].equals(a["subscriptions"])
    assert (np.random.get_state()[1] == state).all()  # never seeds numpy's global generator


def test_sample_data_is_small_and_loads_without_issues():
    size = sum(p.stat().st_size for p in SAMPLE_DIR.glob("*.csv"))
    assert size < 3_000_000
    tables, errors = load_all(SAMPLE_DIR)
    assert errors == {}
    assert all(t.issues == [] for t in tables.values())


def test_sample_company_has_what_the_reports_need():
    tables, _ = load_all(SAMPLE_DIR)
    subs = tables["subscriptions"].df
    months = subs["start_date"].dt.to_period("M")
    assert (months.max() - months.min()).n + 1 >= 24
    assert set(subs["billing_months"]) == {1.0, 3.0, 12.0}
    mrr = subs["amount"] / subs["billing_months"]
    changes = upgrades = downgrades = reactivations = 0
    for _, g in subs.assign(mrr=mrr).sort_values("start_date").groupby("customer_id"):
        for (_, a), (_, b) in zip(g.iterrows(), g.iloc[1:].iterrows()):
            if a["end_date"] == b["start_date"]:
                changes += 1
                upgrades += b["mrr"] > a["mrr"]
                downgrades += b["mrr"] < a["mrr"]
            elif pd.notna(a["end_date"]) and (b["start_date"] - a["end_date"]).days > 28:
                reactivations += 1
    assert upgrades > 20 and downgrades > 5 and reactivations > 5
    assert subs["end_date"].notna().sum() > 100  # churn (and plan changes)
    cust = tables["customers"].df
    assert cust["region"].nunique() >= 3 and cust["plan_tier"].nunique() == 3
    assert set(tables["nps_responses"].df["score"]) <= set(range(11))
    assert set(tables["csat_responses"].df["score"]) <= {1, 2, 3, 4, 5}
    t = tables["tickets"].df
    assert (t["first_response_at"] >= t["created_at"]).all() and t["resolved_at"].isna().any()
    m = tables["marketing"].df
    assert (m["visitors"] >= m["leads"]).all() and (m["leads"] >= m["mql"]).all() and (m["sql"] >= m["customers"]).all()
    assert m["followers"].notna().any() and m["followers"].isna().any()
    assert len(tables["activity"].df) > 5000


def _write(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / name


def test_bad_cells_are_reported_with_file_row_and_column(tmp_path):
    p = _write(tmp_path, "nps_responses.csv",
               "response_id,customer_id,date,score,comment\n"
               "N1,C1,2026-01-05,9,\n"
               "N2,C1,2026-01-06,11,too high\n"
               "N3,C1,2026-13-01,7,\n"
               "N4,,2026-01-07,abc,\n"
               "N1,C1,2026-01-08,8.5,\n"
               "N6,C1,2026-01-08,#N/A,\n")
    t = load_dataset(DATASETS["nps_responses"], p)
    got = [(i.row, i.column) for i in t.issues]
    assert (3, "score") in got and (4, "date") in got and (5, "customer_id") in got and (5, "score") in got
    assert (6, "response_id") in got and (6, "score") in got and (7, "score") in got
    text = "\n".join(map(str, t.issues))
    assert "nps_responses.csv row 3, column score: 11 is above the maximum 10" in text
    assert "nps_responses.csv row 5, column score: 'abc' is not a number" in text
    assert "nps_responses.csv row 6, column score: 8.5 is not a whole number" in text
    assert "row 6, column response_id: 'N1' repeats the key of row 2" in text
    assert "row 7, column score: holds the error #N/A" in text
    assert t.bad.tolist() == [False, True, True, True, True, True]


def test_each_repeated_key_names_the_row_it_first_appears_in(tmp_path):
    # keys repeated out of order, after a blank line (its row still counts): every repeat, and the first row
    p = tmp_path / "nps_responses.csv"
    p.write_text("response_id,customer_id,date,score,comment\n"
                 "N1,C1,2026-01-05,9,\n"
                 ",,,,\n"
                 "N2,C1,2026-01-06,7,\n"
                 "N2,C1,2026-01-07,8,\n"
                 "N1,C1,2026-01-08,8,\n"
                 "N3,C1,2026-01-08,6,\n"
                 "N2,C1,2026-01-09,5,\n")
    t = load_dataset(DATASETS["nps_responses"], p)
    got = sorted(str(i).split(": ", 1)[1] for i in t.issues)
    assert got == ["'N1' repeats the key of row 2", "'N2' repeats the key of row 4", "'N2' repeats the key of row 4"]
    assert sorted(i.row for i in t.issues) == [5, 6, 8]
    assert t.bad.tolist() == [False, False, True, True, False, True]


def test_a_report_with_bad_rows_in_scope_fails_and_lists_them(tmp_path):
    for f in SAMPLE_DIR.glob("*.csv"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    subs = pd.read_csv(tmp_path / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs.loc[9, "end_date"] = "2020-01-01"  # before its start
    subs.loc[10, "customer_id"] = "C99999"  # no such customer
    subs.to_csv(tmp_path / "subscriptions.csv", index=False)
    tables, _ = load_all(tmp_path)
    with pytest.raises(ScopeError) as ei:
        scope(tables, ("subscriptions", "customers"), None, None)
    msg = str(ei.value)
    assert "subscriptions.csv row 11, column end_date" in msg and "is before start_date" in msg
    assert "subscriptions.csv row 12, column customer_id: 'C99999' is not a customer_id of customers.csv" in msg
    # the other data sets are fine, so a report that does not read subscriptions still builds
    scope(tables, ("nps_responses",), None, None)


def test_xlsx_numbers_stored_as_text_are_text(tmp_path):
    df = pd.DataFrame({"month": ["2026-01"], "region": ["Europe"], "plan_tier": ["Growth"], "cogs": ["5"],
                       "sales_cost": [3.5]})
    df.to_excel(tmp_path / "costs.xlsx", index=False)
    t = load_dataset(DATASETS["costs"], tmp_path / "costs.xlsx")
    assert [str(i) for i in t.issues] == [
        "costs.xlsx row 2, column cogs: '5' is text; a number is needed (numbers stored as text are text)"]


def test_columns_by_name_missing_extra_and_ambiguous_files(tmp_path):
    _write(tmp_path, "Costs.CSV", "Plan Tier,month,region,sales_cost,cogs,extra\nGrowth,2026-01,EU,1,2,x\n")
    t = load_dataset(DATASETS["costs"], find_files(tmp_path)["costs"])
    assert t.issues == [] and list(t.df.columns) == DATASETS["costs"].column_names
    assert t.df["cogs"].iloc[0] == 2.0 and any("extra" in n for n in t.notices)
    _write(tmp_path, "orders.csv", "customer_id,product\nC1,x\n")
    with pytest.raises(DataError, match="missing column"):
        load_dataset(DATASETS["orders"], tmp_path / "orders.csv")
    _write(tmp_path, "costs.parquet", "")
    with pytest.raises(DataError, match="more than one file"):
        find_files(tmp_path)


def test_keys_that_differ_only_in_case_are_rejected(tmp_path):
    p = _write(tmp_path, "customers.csv", "customer_id,name,region,plan_tier,signup_date,channel\n"
                                          "abc,A,EU,Growth,2026-01-01,\nABC,B,EU,Growth,2026-01-01,\n")
    t = load_dataset(DATASETS["customers"], p)
    assert any("only in upper/lower case" in str(i) for i in t.issues)


def test_as_of_scope_drops_later_rows_and_clears_later_timestamps():
    tables, _ = load_all(SAMPLE_DIR)
    d = scope(tables, ("tickets", "subscriptions", "customers", "activity"), None, pd.Timestamp("2025-06-01"))
    t = d.tables["tickets"].df
    assert t["created_at"].max() < pd.Timestamp("2025-07-01")
    assert t["resolved_at"].max() < pd.Timestamp("2025-07-01") and t["resolved_at"].isna().sum() > 0
    s = d.tables["subscriptions"].df
    assert s["start_date"].max() < pd.Timestamp("2025-07-01")
    assert s["end_date"].dropna().max() < pd.Timestamp("2025-07-01")
    a = d.tables["activity"].df  # activity keeps its last six months (here: none, it starts 2026-01)
    assert len(a) == 0
    # the rows kept still know their file rows
    assert d.tables["tickets"].rows[0] == 2


def test_readme_and_docs_document_the_schemas_as_the_code_defines_them():
    from workbook_templates.schema import schema_markdown, schema_summary_markdown

    root = SAMPLE_DIR.parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("<!-- BEGIN reports -->"):readme.index("<!-- END reports -->")]
    assert schema_summary_markdown() in section
    assert schema_markdown() in (root / "docs" / "reports.md").read_text(encoding="utf-8")
    for png in ("report_saas_dashboard.png", "report_retention_cohorts.png", "report_marketing_funnel.png",
                "report_customer_experience.png", "report_executive_overview.png"):
        assert (root / "docs" / png).is_file() and png in section


def test_an_xlsx_whose_dimension_is_too_small_is_read_to_its_last_row(tmp_path):
    import re
    import zipfile

    src = pd.read_csv(SAMPLE_DIR / "nps_responses.csv", dtype=str, keep_default_na=False)
    assert len(src) > 1000
    df = src.copy()
    df["score"] = df["score"].astype(int)
    df.to_excel(tmp_path / "full.xlsx", index=False, engine="xlsxwriter",
                engine_kwargs={"options": {"strings_to_formulas": False}})  # comments like "=..." stay text
    with zipfile.ZipFile(tmp_path / "full.xlsx") as zin, \
            zipfile.ZipFile(tmp_path / "nps_responses.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, k = re.subn(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:E100"/>', data)
                assert k == 1
            zout.writestr(item, data)
    t = load_dataset(DATASETS["nps_responses"], tmp_path / "nps_responses.xlsx")
    ref = load_dataset(DATASETS["nps_responses"], SAMPLE_DIR / "nps_responses.csv")
    assert len(t.df) == len(src) and t.rows[-1] == len(src) + 1
    assert t.df["response_id"].tolist() == src["response_id"].tolist()
    assert t.df["score"].tolist() == src["score"].astype(float).tolist()
    pd.testing.assert_frame_equal(t.df.drop(columns=["date"]), ref.df.drop(columns=["date"]), check_dtype=False)


def test_a_parquet_too_long_for_a_worksheet_is_refused_from_its_metadata(tmp_path, monkeypatch):
    from workbook_templates import data

    # no limit by default: a table longer than a worksheet is read in full, and the report's layout
    # summarises it (the large-data layout) or refuses the report (--layout standard): test_large_layout
    assert data.MAX_ROWS is None
    src = pd.read_csv(SAMPLE_DIR / "nps_responses.csv", dtype=str, keep_default_na=False).iloc[:50]
    src.to_parquet(tmp_path / "nps_responses.parquet")
    monkeypatch.setattr(data, "MAX_ROWS", 49)
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: pytest.fail("read the data before the row count"))
    with pytest.raises(DataError, match=r"^nps_responses\.parquet: 50 rows; a worksheet holds at most 49$"):
        load_dataset(DATASETS["nps_responses"], tmp_path / "nps_responses.parquet")
    monkeypatch.setattr(data, "MAX_ROWS", 50)
    monkeypatch.undo()
    assert len(load_dataset(DATASETS["nps_responses"], tmp_path / "nps_responses.parquet").df) == 50


def test_csv_headers_too_wide_or_with_a_name_twice_are_refused(tmp_path):
    from workbook_templates.data import MAX_COLUMNS

    assert MAX_COLUMNS == 16_384
    p = _write(tmp_path, "nps_responses.csv", ",".join(f"c{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n")
    with pytest.raises(DataError, match=r"^nps_responses\.csv: 20000 columns; a worksheet holds at most 16384$"):
        load_dataset(DATASETS["nps_responses"], p)
    p = _write(tmp_path, "nps_responses.csv", "response_id,customer_id,date,score,score\nN1,C1,2026-01-05,9,10\n")
    with pytest.raises(DataError, match=r"^nps_responses\.csv: column 'score' appears twice$"):
        load_dataset(DATASETS["nps_responses"], p)


def test_csv_rows_with_more_fields_than_the_header_are_refused_never_shifted(tmp_path):
    hdr = "response_id,customer_id,date,score\n"
    # the first data row one field too long: pandas used to take response_id as the index and shift every
    # value one column left (customer_id read 'N1'... score read 'extra'); now an error naming row and value
    p = _write(tmp_path, "nps_responses.csv", hdr + "N1,C1,2026-01-05,9,7\nN2,C2,2026-01-06,3\n")
    with pytest.raises(DataError, match=r"^nps_responses\.csv row 2: 5 fields but the header has 4 columns "
                                        r"\(extra value '7'\)$"):
        load_dataset(DATASETS["nps_responses"], p)
    # a later row: named by its row (a quoted line break does not shift the row number)
    p = _write(tmp_path, "nps_responses.csv", hdr + 'N1,C1,2026-01-05,9\n"N\n2",C2,2026-01-06,3\nN3,C3,2026-01-07,8,,42\n')
    with pytest.raises(DataError, match=r"^nps_responses\.csv row 4: 6 fields but the header has 4 columns "
                                        r"\(extra value '42'\)$"):
        load_dataset(DATASETS["nps_responses"], p)
    # rows of the header's width read as written (values checked independently of the loader)
    p = _write(tmp_path, "nps_responses.csv", hdr + "N1,C1,2026-01-05,9\nN2,C2,2026-01-06,3\n\n")
    t = load_dataset(DATASETS["nps_responses"], p)
    assert list(t.df["response_id"]) == ["N1", "N2"] and list(t.df["customer_id"]) == ["C1", "C2"]
    assert list(t.df["score"]) == [9, 3] and not t.issues


def test_a_csv_longer_than_a_worksheet_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    from workbook_templates import data

    monkeypatch.setattr(data, "MAX_ROWS", 3)
    body = "".join(f"N{i},C{i},2026-01-05,9\n" for i in range(10))
    p = _write(tmp_path, "nps_responses.csv", "response_id,customer_id,date,score\n" + body)
    seen = []
    real = pd.read_csv

    def spy(*a, **k):
        seen.append(k.get("nrows"))
        return real(*a, **k)

    monkeypatch.setattr(pd, "read_csv", spy)
    with pytest.raises(DataError, match=r"^nps_responses\.csv: more than 3 rows; a worksheet holds at most 3$"):
        load_dataset(DATASETS["nps_responses"], p)
    assert seen == [4]


def _xlsx_with_sheet_rows(tmp_path, rows_xml: str):
    """An nps_responses.xlsx whose sheet XML is written by hand (inline strings), for grid edge cases."""
    import zipfile

    import xlsxwriter

    base = tmp_path / "base.xlsx"
    wb = xlsxwriter.Workbook(str(base))
    ws = wb.add_worksheet("Responses")
    ws.write_row(0, 0, ["response_id"])
    ws.write_number(1, 0, 46027, wb.add_format({"num_format": "yyyy-mm-dd"}))  # style 1: a date format
    wb.close()
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{rows_xml}</sheetData></worksheet>')
    out = tmp_path / "nps_responses.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else zin.read(item.filename)
            zout.writestr(item, data)
    return out


def _c(ref, v):
    if isinstance(v, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'
    style = ' s="1"' if ref.startswith("C") else ""  # column C holds dates
    return f'<c r="{ref}"{style}><v>{v}</v></c>'


def _row(r, cells):
    return f'<row r="{r}">' + "".join(_c(ref, v) for ref, v in cells) + "</row>"


_HEAD = _row(1, [("A1", "response_id"), ("B1", "customer_id"), ("C1", "date"), ("D1", "score")])


def _resp(r, i, score=9):
    return _row(r, [(f"A{r}", f"N{i}"), (f"B{r}", f"C{i}"), (f"C{r}", 46027), (f"D{r}", score)])


def test_xlsx_rows_keep_their_sheet_numbers_and_gaps_are_not_padded(tmp_path):
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _resp(5, 2, 11) + _resp(900_000, 3, 4))
    t = load_dataset(DATASETS["nps_responses"], p)
    assert list(t.df["response_id"]) == ["N1", "N2", "N3"] and list(t.df["customer_id"]) == ["C1", "C2", "C3"]
    assert t.df["score"].iloc[0] == 9 and t.df["score"].iloc[2] == 4 and list(t.bad) == [False, True, False]
    assert list(t.rows) == [2, 5, 900_000]
    assert [(i.row, i.column) for i in t.issues] == [(5, "score")]  # 11 > 10, named at its real row


def test_xlsx_cells_past_the_grid_or_right_of_the_header_or_rows_out_of_order_are_refused(tmp_path):
    ds = DATASETS["nps_responses"]
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _resp(30_000_000, 2))
    with pytest.raises(DataError, match=r"^nps_responses\.xlsx, sheet 'Responses': cell A30000000 is past the last "
                                        r"row of a worksheet \(1048576\)$"):
        load_dataset(ds, p)
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _row(3, [("XFE3", 1)]))
    with pytest.raises(DataError, match=r"cell XFE3 is past the last column of a worksheet \(16384, XFD\)$"):
        load_dataset(ds, p)
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _row(3, [("A3", "N2"), ("XFD3", 7)]))
    with pytest.raises(DataError, match=r"^nps_responses\.xlsx, sheet 'Responses': cell XFD3 holds 7 to the right "
                                        r"of the header \(its last column is D\)$"):
        load_dataset(ds, p)
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _resp(4, 2) + _resp(3, 3))
    with pytest.raises(DataError, match=r"row 3 comes after row 4 in the file"):
        load_dataset(ds, p)
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _resp(2, 2))
    with pytest.raises(DataError, match=r"row 2 comes after row 2 in the file"):
        load_dataset(ds, p)
    # a blank cell right of the header (a styled empty cell) is layout, not data
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + _resp(2, 1) + _row(3, [("A3", "N2"), ("B3", "C2"), ("C3", 46028),
                                                                         ("D3", 3), ("XFD3", " ")]))
    t = load_dataset(ds, p)
    assert list(t.df["response_id"]) == ["N1", "N2"] and list(t.df["score"]) == [9, 3] and not t.issues


def test_an_xlsx_longer_than_a_worksheet_stops_one_row_past_the_limit(tmp_path, monkeypatch):
    from workbook_templates import data

    monkeypatch.setattr(data, "MAX_ROWS", 3)
    p = _xlsx_with_sheet_rows(tmp_path, _HEAD + "".join(_resp(r, r) for r in range(2, 12)))
    with pytest.raises(DataError, match=r"^nps_responses\.xlsx: more than 3 rows; a worksheet holds at most 3$"):
        load_dataset(DATASETS["nps_responses"], p)
