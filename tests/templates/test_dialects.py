"""CSV dialects: the sample company re-saved as Excel saves it elsewhere reads to the same tables; ambiguity is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.data import DataError, load_all, load_dataset
from workbook_templates.schema import DATASETS

NBSP = "\u00a0"
#: Nordic letters put into the account names (Windows-1252 holds them all)
#: the data sets the bundled sample company has a file for (not the optional ones: exchange rates, invoices)
SAMPLE_SETS = [n for n, ds in DATASETS.items() if not ds.optional]
NORDIC = {"a": "å", "o": "ø", "e": "æ", "A": "Å", "O": "Ø"}


def _nordic_number(text: str) -> str:
    """'1350.25' -> '1 350,25' with a no-break space, written from the text (never through a float)."""
    if not text:
        return text
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = body.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + NBSP.join(groups) + ("," + frac if frac else "")


def _nordic_date(text: str) -> str:
    """'2024-01-07' -> '07.01.2024'; '2024-01-07T18:11' -> '07.01.2024 18:11'."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}:\d{2}))?", text)
    if not m:
        return text
    out = f"{m[3]}.{m[2]}.{m[1]}"
    return out + (f" {m[4]}" if m[4] else "")


def _nordic_month(text: str, as_date: bool) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not m:
        return text
    return f"01.{m[2]}.{m[1]}" if as_date else f"{m[2]}.{m[1]}"


def _samples(tmp_path: Path) -> Path:
    """The bundled sample with Nordic letters in the account names, as plain UTF-8 comma CSV."""
    d = tmp_path / "plain"
    d.mkdir()
    for name in SAMPLE_SETS:
        df = pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "customers":
            df["name"] = df["name"].str.translate(str.maketrans(NORDIC))
        df.to_csv(d / f"{name}.csv", index=False)
    return d


def _nordic(plain: Path, out: Path) -> Path:
    """As a Nordic Excel saves it: ';', decimal comma, no-break-space thousands, dd.mm.yyyy, Windows-1252, CRLF."""
    out.mkdir()
    for name in SAMPLE_SETS:
        ds = DATASETS[name]
        df = pd.read_csv(plain / f"{name}.csv", dtype=str, keep_default_na=False)
        for col in ds.columns:
            if col.name not in df:
                continue
            if col.type in ("number", "integer"):
                df[col.name] = df[col.name].map(_nordic_number)
            elif col.type in ("date", "datetime"):
                df[col.name] = df[col.name].map(_nordic_date)
            elif col.type == "month":  # costs as mm.yyyy, marketing as the first day of the month
                df[col.name] = df[col.name].map(lambda t, d=(name == "marketing"): _nordic_month(t, d))
        text = df.to_csv(index=False, sep=";", lineterminator="\r\n")
        (out / f"{name}.csv").write_bytes(text.encode("cp1252"))
    return out


def _assert_same_tables(a: Path, b: Path) -> dict:
    ta, ea = load_all(a)
    tb, eb = load_all(b)
    assert ea == {} and eb == {}, (ea, eb)
    assert set(ta) == set(tb) == set(SAMPLE_SETS)
    for name in SAMPLE_SETS:
        assert ta[name].issues == [] and tb[name].issues == [], (name, tb[name].issues[:3])
        pd.testing.assert_frame_equal(ta[name].df, tb[name].df, obj=name)
        assert (ta[name].rows == tb[name].rows).all()
    return tb


def test_a_nordic_excel_csv_reads_to_the_same_tables_as_the_original(tmp_path):
    plain = _samples(tmp_path)
    nordic = _nordic(plain, tmp_path / "nordic")
    raw = (nordic / "subscriptions.csv").read_bytes()
    assert b"\r\n" in raw and b";" in raw
    assert "å".encode("cp1252") in (nordic / "customers.csv").read_bytes()
    assert f"1{NBSP}350,0" in (nordic / "orders.csv").read_text(encoding="cp1252")  # thousands really used
    tables = _assert_same_tables(plain, nordic)
    # by hand: the first subscription of the sample is C00001, 2024-01-29 .. 2024-07-08, 116.0 a month
    sub = tables["subscriptions"].df
    assert sub.loc[0, "customer_id"] == "C00001"
    assert sub.loc[0, "amount"] == 116.0
    assert sub.loc[0, "start_date"] == pd.Timestamp("2024-01-29")
    assert sub.loc[0, "end_date"] == pd.Timestamp("2024-07-08")
    assert tables["tickets"].df.loc[0, "created_at"] == pd.Timestamp("2024-01-07 18:11")
    assert tables["customers"].df.loc[0, "name"] == "Nøvå Wørks BV"
    assert tables["costs"].df.loc[0, "month"] == pd.Timestamp("2024-01-01")
    assert tables["marketing"].df.loc[0, "spend"] == 1706.08
    d = tables["subscriptions"].dialect
    assert d is not None and not d.is_default
    assert d.describe() == ("subscriptions.csv: ';'-separated, decimal comma, thousands separator no-break space, "
                            "dates dd.mm.yyyy, Windows-1252")
    # no letter beyond ASCII in the tickets: its bytes are valid UTF-8, so UTF-8 it is (never a guess)
    assert tables["tickets"].dialect.describe() == "tickets.csv: ';'-separated, dates dd.mm.yyyy hh:mm, UTF-8"
    assert tables["orders"].dialect.describe() == (
        "orders.csv: ';'-separated, decimal comma, thousands separator no-break space, dates dd.mm.yyyy, "
        "Windows-1252")
    assert tables["costs"].dialect.dates == {"month": "mm.yyyy"}


def test_the_plain_sample_is_read_as_before_and_says_so():
    tables, errors = load_all(SAMPLE_DIR)
    assert errors == {}
    for t in tables.values():
        assert t.dialect is not None and t.dialect.is_default, t.dialect
    assert tables["subscriptions"].dialect.describe() == "subscriptions.csv: ','-separated, decimal point, UTF-8"


@pytest.mark.parametrize("encoding,terminator", [("utf-16", "\r\n"), ("utf-16-be", "\n"), ("utf-8-sig", "\r")])
def test_unicode_text_tab_separated_reads_the_same(tmp_path, encoding, terminator):
    plain = _samples(tmp_path)
    out = tmp_path / "unicode"
    out.mkdir()
    for name in SAMPLE_SETS:
        df = pd.read_csv(plain / f"{name}.csv", dtype=str, keep_default_na=False)
        text = df.to_csv(index=False, sep="\t", lineterminator=terminator)
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        (out / f"{name}.csv").write_bytes(data)
    tables = _assert_same_tables(plain, out)
    want = {"utf-16": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "utf-8-sig": "UTF-8 with BOM"}[encoding]
    assert tables["customers"].dialect.encoding == want
    assert tables["customers"].dialect.separator == "\t"


def test_pipe_separated_with_quoted_fields(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text('customer_id|product|order_date|amount|order_id\r\nC1|"Pipe | and ""quotes"""|2024-02-15|'
                 '1350.5|O1\r\nC2|Training|2024-03-19|12|O2\r\n', encoding="utf-8")
    t = load_dataset(DATASETS["orders"], p)
    assert t.issues == []
    assert t.df["product"].tolist() == ['Pipe | and "quotes"', "Training"]
    assert t.df["amount"].tolist() == [1350.5, 12.0]


def _orders(tmp_path: Path, amounts: list[str], sep: str = ";", dates: list[str] | None = None) -> Path:
    dates = dates or ["2024-02-15"] * len(amounts)
    lines = [sep.join(["customer_id", "product", "order_date", "amount", "order_id"])]
    for i, (a, d) in enumerate(zip(amounts, dates)):
        lines.append(sep.join([f"C{i}", "Training", d, a, f"O{i}"]))
    p = tmp_path / "orders.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("amounts,expected", [
    (["1.234,50", "12,5", "7"], [1234.5, 12.5, 7.0]),
    (["1 234,50", "2 000"], [1234.5, 2000.0]),
    ([f"1{NBSP}234,50", f"1{NBSP}000{NBSP}000,25"], [1234.5, 1000000.25]),
    (["1\u202f234,5", "3,25"], [1234.5, 3.25]),
    (["1'234.50", "99.9"], [1234.5, 99.9]),
    (["1,234.50", "99"], [1234.5, 99.0]),
    (["12.5", "1.234"], [12.5, 1.234]),  # 12.5 settles it: decimal point
    (["12,5", "1,234"], [12.5, 1.234]),  # 12,5 settles it: decimal comma
])
def test_numbers_are_read_per_column_from_all_their_values(tmp_path, amounts, expected):
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, amounts))
    assert t.issues == []
    assert t.df["amount"].tolist() == expected


@pytest.mark.parametrize("amounts,one,other", [
    (["1.234", "5.000"], "1.234 with decimal point", "1234 with decimal comma and thousands separator '.'"),
    (["1,234", "12"], "1.234 with decimal comma", "1234 with decimal point and thousands separator ','"),
])
def test_a_column_that_reads_two_ways_is_refused(tmp_path, amounts, one, other):
    with pytest.raises(DataError) as err:
        load_dataset(DATASETS["orders"], _orders(tmp_path, amounts))
    msg = str(err.value)
    assert msg.startswith("orders.csv, column amount: cannot tell how its numbers are written")
    assert one in msg and other in msg, msg


def test_a_comma_file_reads_plain_numbers_as_before(tmp_path):
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["1.234", "5.000"], sep=","))
    assert t.df["amount"].tolist() == [1.234, 5.0]


def test_a_column_is_read_one_way_only_and_the_message_says_which(tmp_path):
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["12.5", "3.25", "1 200,50", "abc"]))
    assert t.df["amount"].tolist()[:2] == [12.5, 3.25]
    msgs = [str(i) for i in t.issues]
    assert msgs == [("orders.csv row 4, column amount: '1 200,50' is not a number in a column read with decimal "
                     'point — set decimal = "," and thousands = "space" in kpi.toml or --decimal , --thousands space?'),
                    "orders.csv row 5, column amount: 'abc' is not a number"]
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["12,5", "3,25", "4.5"]))
    assert [str(i) for i in t.issues] == [
        ("orders.csv row 4, column amount: '4.5' is not a number in a column read with decimal comma"
         ' — set decimal = "." in kpi.toml or --decimal .?')]


def test_columns_of_one_file_may_differ(tmp_path):
    p = tmp_path / "costs.csv"
    p.write_text("month;region;plan_tier;cogs;sales_cost\n2024-01;N;S;1,5;2.5\n2024-02;N;S;3,25;4.75\n",
                 encoding="utf-8")
    t = load_dataset(DATASETS["costs"], p)
    assert t.issues == []
    assert t.df["cogs"].tolist() == [1.5, 3.25] and t.df["sales_cost"].tolist() == [2.5, 4.75]
    assert "decimal comma (cogs), decimal point (sales_cost)" in t.dialect.describe()


@pytest.mark.parametrize("dates,expected", [
    (["15.03.2026", "1.2.2024"], ["2026-03-15", "2024-02-01"]),
    (["15-03-2026", "01-02-2024"], ["2026-03-15", "2024-02-01"]),
    (["15/03/2026", "01/02/2024"], ["2026-03-15", "2024-02-01"]),  # 15 is no month: day first
    (["03/15/2026", "01/02/2024"], ["2026-03-15", "2024-01-02"]),  # 15 is no month: month first
    (["2026-03-15", "2024-02-01"], ["2026-03-15", "2024-02-01"]),
])
def test_dates_are_read_per_column(tmp_path, dates, expected):
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["1"] * len(dates), dates=dates))
    assert t.issues == []
    assert t.df["order_date"].tolist() == [pd.Timestamp(x) for x in expected]


def test_times_of_day_are_read_with_the_date(tmp_path):
    p = tmp_path / "tickets.csv"
    p.write_text("ticket_id;customer_id;created_at;first_response_at;resolved_at;channel;priority\r"
                 "T1;C1;07.01.2024 18:11;7.1.2024 19:18:30;08.01.2024;email;high\r", encoding="utf-8")
    t = load_dataset(DATASETS["tickets"], p)
    assert t.issues == []
    assert t.df.loc[0, ["created_at", "first_response_at", "resolved_at"]].tolist() == [
        pd.Timestamp("2024-01-07 18:11"), pd.Timestamp("2024-01-07 19:18:30"), pd.Timestamp("2024-01-08")]
    assert t.dialect.dates == {"created_at": "dd.mm.yyyy hh:mm", "first_response_at": "dd.mm.yyyy hh:mm:ss",
                               "resolved_at": "dd.mm.yyyy"}
    # a date column takes no time of day, in any format
    p = tmp_path / "orders.csv"
    p.write_text("customer_id;product;order_date;amount;order_id\nC1;x;15.03.2026 09:30;1;O1\n", encoding="utf-8")
    t = load_dataset(DATASETS["orders"], p)
    assert [str(i) for i in t.issues] == [
        ("orders.csv row 2, column order_date: '15.03.2026 09:30' is not a date such as 15.03.2026 "
        "(the column is read as dd.mm.yyyy)")]  # once, not once per reason


def test_day_and_month_that_both_fit_are_refused(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset(DATASETS["orders"], _orders(tmp_path, ["1", "2"], dates=["03/04/2026", "05/06/2026"]))
    msg = str(err.value)
    assert msg.startswith("orders.csv, column order_date: cannot tell whether its dates are dd/mm/yyyy or mm/dd/yyyy")
    assert "'03/04/2026'" in msg and 'dates = "dd/mm/yyyy"' in msg


def test_a_date_column_is_read_one_way_only(tmp_path):
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["1", "2", "3"],
                                                 dates=["15.03.2026", "16.03.2026", "2026-03-17"]))
    assert [str(i) for i in t.issues] == [
        ("orders.csv row 4, column order_date: '2026-03-17' is not a date such as 15.03.2026 "
        "(the column is read as dd.mm.yyyy)")]
    t = load_dataset(DATASETS["orders"], _orders(tmp_path, ["1", "2"], dates=["31.02.2026", "16.03.2026"]))
    assert [str(i) for i in t.issues] == [
        ("orders.csv row 2, column order_date: '31.02.2026' is not a date such as 15.03.2026 "
        "(the column is read as dd.mm.yyyy)")]


def test_two_separators_that_both_fit_are_refused(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text("a;b,c\n1;2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"orders.csv: .*',' and ';' alike"):
        load_dataset(DATASETS["orders"], p)


def test_long_quoted_fields_past_the_sample_do_not_change_the_separator(tmp_path):
    p = tmp_path / "orders.csv"
    rows = [f'C{i};"{"x; y, z " * 3000}";15.03.2026;1,5;O{i}' for i in range(3)]
    p.write_text("customer_id;product;order_date;amount;order_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    t = load_dataset(DATASETS["orders"], p)
    assert t.issues == [] and t.dialect.separator == ";"
    assert t.df["amount"].tolist() == [1.5, 1.5, 1.5]


def test_windows_1252_only_when_not_utf8(tmp_path):
    p = tmp_path / "customers.csv"
    head = "customer_id;name;region;plan_tier;signup_date\n"
    p.write_bytes((head + "C1;Blåbær AS;Norge;Start;01.02.2024\n").encode("cp1252"))
    t = load_dataset(DATASETS["customers"], p)
    assert t.df["name"].tolist() == ["Blåbær AS"] and t.dialect.encoding == "Windows-1252"
    p.write_bytes((head + "C1;Blåbær AS;Norge;Start;01.02.2024\n").encode("utf-8"))
    t = load_dataset(DATASETS["customers"], p)
    assert t.df["name"].tolist() == ["Blåbær AS"] and t.dialect.encoding == "UTF-8"


def test_the_notes_say_how_a_file_was_read_only_when_it_is_not_plain(tmp_path):
    import openpyxl

    from workbook_templates.batch import atomic_build
    from workbook_templates.context import scope
    from workbook_templates.reports import REPORTS

    plain = _samples(tmp_path)
    nordic = _nordic(plain, tmp_path / "nordic")
    spec = REPORTS["marketing_funnel"]
    notes = {}
    for d in (plain, nordic):
        tables, errors = load_all(d, spec.datasets)
        assert errors == {}
        atomic_build(spec, scope(tables, spec.datasets, None, None, "test"), tmp_path / f"{d.name}.xlsx")
        ws = openpyxl.load_workbook(tmp_path / f"{d.name}.xlsx")["Notes"]
        notes[d.name] = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("Read as" in v for v in notes["plain"])
    line = next(v for v in notes["nordic"] if "Source: marketing.csv" in v)
    assert line.endswith("Source: marketing.csv, 2160 rows in this report. Read as ';'-separated, decimal comma, "
                         "thousands separator no-break space, dates dd.mm.yyyy, Windows-1252.")
