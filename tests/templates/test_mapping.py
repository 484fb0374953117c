"""The mapping file (kpi.toml or --map): the user's own file and column names, constants, scale factors, value
maps and explicit dialect settings read a folder to the same tables as the bundled sample; every mistake in
the file is an error with its line number."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from test_dialects import _nordic_number
from typer.testing import CliRunner

from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.data import DataError, load_all, load_dataset
from workbook_templates.mapping import key_lines, read_mapping
from workbook_templates.schema import DATASETS

#: the data sets the bundled sample has a file for (not the optional ones: exchange rates, invoices)
SAMPLE_SETS = [n for n, ds in DATASETS.items() if not ds.optional]
from workbook_templates.settings import DataSettings

#: the subscriptions file's own headers (Norwegian), ours -> theirs
NORSK = {"customer_id": "Kunde-ID", "start_date": "Startdato", "end_date": "Sluttdato", "amount": "Beløp (øre)",
         "billing_months": "Betalingsintervall", "plan": "Plan", "subscription_id": "Abonnement-ID"}
INTERVALS = {"1": "Måned", "3": "kvartal", "12": " ÅR "}  #: billing months -> the file's text

MAPPING = """\
[defaults]
encoding = "windows-1252"
separator = ";"
decimal = ","
thousands = "nbsp"
dates = "dd.mm.yyyy"

[subscriptions]
file = "Abonnementer.csv"

[subscriptions.columns]
customer_id = "Kunde-ID"
start_date = "Startdato"
end_date = "Sluttdato"
amount = "Beløp (øre)"
billing_months = "Betalingsintervall"
plan = "Plan"
subscription_id = "Abonnement-ID"

[subscriptions.scale]
amount = 0.01

[subscriptions.values.billing_months]
"måned" = 1
"kvartal" = 3
"år" = 12

[subscriptions.formats]
start_date = "mm/dd/yyyy"

[orders.constants]
product = "Oppstartspakke"
"""


def _date(text: str, us: bool = False) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}:\d{2}))?", text)
    if not m:
        return text
    out = f"{m[2]}/{m[3]}/{m[1]}" if us else f"{m[3]}.{m[2]}.{m[1]}"
    return out + (f" {m[4]}" if m[4] else "")


def _plain(tmp_path: Path) -> Path:
    """The sample with one product for every order (so the mapped folder can give it as a constant)."""
    d = tmp_path / "plain"
    d.mkdir()
    for name in SAMPLE_SETS:
        df = pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "orders":
            df["product"] = "Oppstartspakke"
        df.to_csv(d / f"{name}.csv", index=False)
    return d


def _norsk(plain: Path, out: Path, mapping: str | None = MAPPING) -> Path:
    """The same data as a Norwegian user has it: Excel's Nordic CSV, own file and header names, amounts in
    øre, billing periods as words, start dates written mm/dd/yyyy, no product column in the orders."""
    out.mkdir()
    for name in SAMPLE_SETS:
        ds = DATASETS[name]
        df = pd.read_csv(plain / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "subscriptions":
            df["amount"] = df["amount"].map(lambda t: str(int(Decimal(t) * 100)))
            df["billing_months"] = df["billing_months"].map(INTERVALS)
            df["start_date"] = df["start_date"].map(lambda t: _date(t, us=True))
        if name == "orders":
            df = df.drop(columns=["product"])
        for col in ds.columns:
            if col.name not in df or (name == "subscriptions" and col.name == "start_date"):
                continue
            if col.type in ("number", "integer") and not (name == "subscriptions" and col.name in (
                    "amount", "billing_months")):
                df[col.name] = df[col.name].map(_nordic_number)
            elif col.type in ("date", "datetime"):
                df[col.name] = df[col.name].map(_date)
            elif col.type == "month":
                df[col.name] = df[col.name].map(lambda t: f"{t[5:7]}.{t[:4]}" if t else t)
        file = "Abonnementer.csv" if name == "subscriptions" else f"{name}.csv"
        if name == "subscriptions":
            df = df.rename(columns=NORSK)
        (out / file).write_bytes(df.to_csv(index=False, sep=";", lineterminator="\r\n").encode("cp1252"))
    if mapping is not None:
        (out / "kpi.toml").write_text(mapping, encoding="utf-8")
    return out


def _assert_same(a: dict, b: dict) -> None:
    for name in SAMPLE_SETS:
        assert a[name].issues == [] and b[name].issues == [], (name, b[name].issues[:3])
        pd.testing.assert_frame_equal(a[name].df, b[name].df, obj=name)
        assert (a[name].rows == b[name].rows).all()


def test_a_mapped_norwegian_folder_reads_to_the_sample_tables(tmp_path):
    plain = _plain(tmp_path)
    norsk = _norsk(plain, tmp_path / "norsk")
    assert "Beløp (øre)".encode("cp1252") in (norsk / "Abonnementer.csv").read_bytes()
    ta, ea = load_all(plain)
    tb, eb = load_all(norsk)
    assert ea == {} and eb == {}, eb
    _assert_same(ta, tb)
    sub = tb["subscriptions"]
    # by hand: the sample's first subscription is C00001 from 2024-01-29, 116.0 a month (11600 øre, "Måned")
    assert sub.df.loc[0, "amount"] == 116.0 and sub.df.loc[0, "billing_months"] == 1
    assert sub.df.loc[0, "start_date"] == pd.Timestamp("2024-01-29")
    assert tb["orders"].df["product"].eq("Oppstartspakke").all()
    assert sub.headers["amount"] == "Beløp (øre)"
    assert sub.dialect is not None and sub.dialect.dates["start_date"] == "mm/dd/yyyy"


def test_the_mapping_file_can_be_given_with_map(tmp_path):
    plain = _plain(tmp_path)
    norsk = _norsk(plain, tmp_path / "norsk", mapping=None)
    other = tmp_path / "elsewhere.toml"
    other.write_text(MAPPING, encoding="utf-8")
    with pytest.raises(DataError):  # without it the folder has no subscriptions file of our name
        load_dataset(DATASETS["subscriptions"], norsk / "Abonnementer.csv")
    tb, eb = load_all(norsk, settings=DataSettings(map_file=str(other)))
    assert eb == {}
    _assert_same(load_all(plain)[0], tb)


def _write(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "m"
    d.mkdir(exist_ok=True)
    for name in ("customers", "orders"):
        (d / f"{name}.csv").write_bytes((SAMPLE_DIR / f"{name}.csv").read_bytes())
    (d / "kpi.toml").write_text(text, encoding="utf-8")
    return d


@pytest.mark.parametrize(("text", "message"), [
    ("[build]\ncurrency = \"NOK\"\n\n[ordres]\nfile = \"x.csv\"\n",
     r"^kpi\.toml line 4: \[ordres\] is not a data set, \[build\] or \[defaults\]"),
    ("[orders]\n# a comment\nseperator = \";\"\n", r"^kpi\.toml line 3: \[orders\] has no setting 'seperator'"),
    ("[orders.columns]\namount = \"Beløp\"\ncustomer = \"Kunde\"\n",
     r"^kpi\.toml line 3: \[orders\.columns\] 'customer' is not a column of orders"),
    ("[build]\n\nbiling = \"invoices\"\n", r"^kpi\.toml line 3: \[build\] has no setting 'biling'"),
    ("[defaults]\ndecimal = \";\"\n", r"^kpi\.toml line 2: \[defaults\] decimal ';' is not \"\.\" or \",\""),
    ("[orders]\nfile = \"ordre.csv\"\n", r"^kpi\.toml line 2: \[orders\] file 'ordre\.csv' does not exist"),
    ("[orders.scale]\nproduct = 0.01\n", r"^kpi\.toml line 2: \[orders\.scale\] product is a text column"),
    ("[orders.scale]\namount = 0\n", r"^kpi\.toml line 2: \[orders\.scale\] amount = 0 is not a number other"),
    ("[orders.formats]\norder_date = \"yyyy.dd.mm\"\n", r"^kpi\.toml line 2: \[orders\.formats\] order_date: dates"),
    ("[orders.values.product]\n\"A\" = \"x\"\n\" a \" = \"y\"\n",
     r"^kpi\.toml line 3: \[orders\.values\.product\] ' a ' and 'A' are the same text"),
    ("[orders]\nfile = \n", r"^kpi\.toml: is not a valid TOML file"),
])
def test_each_mistake_in_the_mapping_file_names_its_line(tmp_path, text, message):
    d = _write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        load_all(d)


def test_a_header_the_mapping_names_that_the_file_lacks_is_a_load_error(tmp_path):
    d = _write(tmp_path, "[orders.columns]\n\namount = \"Beløp\"\n")
    _, errors = load_all(d, ["customers", "orders"])
    assert errors["orders"].startswith("orders.csv: has no column 'Beløp', which kpi.toml line 3 names as amount")


def test_key_lines_finds_quoted_and_inline_keys():
    text = '[a]\nx = 1\n[a."b c"]\n"d e" = { f = 2 }\ns = """\n[not]\n"""\n'
    assert key_lines(text) == {("a",): 1, ("a", "x"): 2, ("a", "b c"): 3, ("a", "b c", "d e"): 4,
                               ("a", "b c", "d e", "f"): 4, ("a", "b c", "s"): 5}


def test_flags_win_over_the_mapping_file(tmp_path):
    d = _write(tmp_path, "[build]\ncurrency = \"nok\"\nbilling = \"invoices\"\n[defaults]\ndecimal = \",\"\n")
    m = read_mapping(d, DataSettings())
    assert (m.settings.currency, m.settings.billing) == ("NOK", "invoices")
    m = read_mapping(d, DataSettings(currency="SEK"))
    assert (m.settings.currency, m.settings.billing) == ("SEK", "invoices")
    # the file says decimal comma, which would make every sample amount (1200.0) a bad cell; --decimal . wins
    tables, errors = load_all(d, ["customers", "orders"])
    assert errors == {} and tables["orders"].issues
    assert str(tables["orders"].issues[0]).startswith(
        "orders.csv row 2, column amount: '1200.0' is not a number in a column read with decimal comma (set by "
        "decimal in kpi.toml line 5)")
    tables, errors = load_all(d, ["customers", "orders"], DataSettings(decimal="."))
    assert errors == {} and tables["orders"].issues == []
    assert tables["orders"].df["amount"].tolist() == load_all(SAMPLE_DIR, ["customers", "orders"])[0][
        "orders"].df["amount"].tolist()


def test_a_setting_the_file_contradicts_fails_clearly(tmp_path):
    plain = _plain(tmp_path)
    norsk = _norsk(plain, tmp_path / "norsk")
    # a separator under which the header is one column
    tables, errors = load_all(norsk, ["customers"], DataSettings(separator=","))
    assert errors["customers"].startswith("customers.csv: split at ',' (set by --separator) its header is one column")
    # a decimal point in a decimal-comma file: the bad cell names the file, row, header and the raw text
    (norsk / "kpi.toml").write_text(MAPPING + '\n[marketing]\ndecimal = "."\n', encoding="utf-8")
    line = MAPPING.count("\n") + 3
    tables, errors = load_all(norsk, ["marketing"])
    assert errors == {}
    first = str(tables["marketing"].issues[0])
    assert first == ("marketing.csv row 2, column spend: '1\\xa0706,08' is not a number in a column read with decimal "
                     f"point and thousands separator no-break space (set by decimal in kpi.toml line {line}) — set "
                     'decimal = "," and thousands = "nbsp" in kpi.toml or --decimal , --thousands nbsp?')
    # a date format the dates do not fit: bad cells saying which format read them
    (norsk / "kpi.toml").write_text(MAPPING.replace('start_date = "mm/dd/yyyy"', 'start_date = "dd/mm/yyyy"'),
                                    encoding="utf-8")
    tables, errors = load_all(norsk, ["customers", "subscriptions"])
    assert errors == {}
    msgs = [str(i) for i in tables["subscriptions"].issues]
    # by hand: the first subscription starts 2024-01-29, written 01/29/2024: no month 29
    assert msgs[0].startswith("Abonnementer.csv row 2, column Startdato (start_date): '01/29/2024' is not"), msgs[0]
    assert "dd/mm/yyyy" in msgs[0] and "kpi.toml line" in msgs[0]


def test_kpi_build_with_map(tmp_path):
    from kpi_cli.main import app

    plain = _plain(tmp_path)
    norsk = _norsk(plain, tmp_path / "norsk", mapping=None)
    other = tmp_path / "min.toml"
    other.write_text(MAPPING, encoding="utf-8")
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--data", str(norsk), "--map", str(other), "--out",
                                 str(tmp_path / "o"), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "read Abonnementer.csv: ';'-separated" in r.output
    assert r.output.count("read Abonnementer.csv") == 1
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--data", str(norsk), "--decimal", ";", "--out",
                                 str(tmp_path / "o")])
    assert r.exit_code == 2 and "--decimal: decimal ';' is not" in r.output, r.output


def _subs(tmp_path: Path, header: str, rows: list[str], mapping: str, encoding: str = "utf-8") -> Path:
    """A folder with the sample's customers and a small subscriptions file of the user's own."""
    d = tmp_path / "s"
    d.mkdir(exist_ok=True)
    (d / "customers.csv").write_bytes((SAMPLE_DIR / "customers.csv").read_bytes())
    (d / "subscriptions.csv").write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    (d / "kpi.toml").write_text(mapping, encoding="utf-8")
    return d


_COLS = ('[subscriptions.columns]\ncustomer_id = "Kunde"\nstart_date = "Start"\namount = "Beløp"\n'
         'subscription_id = "ID"\nplan = "Plan"\n')


@pytest.mark.parametrize(("mapping", "message"), [
    # a constant is checked against its column's schema, as a cell is
    (_COLS + "[subscriptions.constants]\nbilling_months = 0\n",
     r"^kpi\.toml line 8: \[subscriptions\.constants\] 0 for billing_months: 0 is below the minimum 1"),
    (_COLS + "[subscriptions.constants]\nbilling_months = \"1\"\n",
     r"^kpi\.toml line 8: \[subscriptions\.constants\] '1' for billing_months: '1' is text"),
    # a value map's value too
    (_COLS + "[subscriptions.constants]\nbilling_months = 1\n[subscriptions.values.amount]\n\"gratis\" = \"null\"\n",
     r"^kpi\.toml line 10: \[subscriptions\.values\.amount\] 'null' for amount: 'null' is text"),
    # a column both renamed and given a constant
    (_COLS + "billing_months = \"Periode\"\n[subscriptions.constants]\nbilling_months = 1\n",
     r"^kpi\.toml line 9: \[subscriptions\.constants\] billing_months is also a column of the file"),
])
def test_constants_and_value_maps_are_checked_with_their_line(tmp_path, mapping, message):
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", ["C00001;15.03.2026;100;S1;x"], mapping)
    try:  # a mistake in the file itself stops the load; a value its column refuses fails its data set
        errors = load_all(d, ["customers", "subscriptions"])[1]["subscriptions"]
    except DataError as err:
        errors = str(err)
    assert re.search(message, errors), errors


def test_a_constant_for_a_column_the_file_has_is_refused(tmp_path):
    d = _subs(tmp_path, "customer_id;start_date;amount;subscription_id;plan;billing_months",
              ["C00001;15.03.2026;100;S1;x;1"], "[subscriptions.constants]\nbilling_months = 1\n")
    _, errors = load_all(d, ["customers", "subscriptions"])
    assert errors["subscriptions"].startswith(
        "kpi.toml line 2: [subscriptions.constants] gives billing_months one value for every row, but "
        "subscriptions.csv has a column 'billing_months'")


def test_scale_applies_before_the_minimum_and_bad_cells_name_the_users_header(tmp_path):
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", ["C00001;15.03.2026;12345.0;S1;x", "C00002;16.03.2026;-500;S2;x",
                                                      "C00003;17.03.2026;12,5;S3;x", "C0000X;17.03.2026;1;S4;x"],
              _COLS + "[subscriptions.constants]\nbilling_months = 1\n[subscriptions.scale]\namount = 0.01\n")
    tables, errors = load_all(d, ["customers", "subscriptions"])
    assert errors == {}
    t = tables["subscriptions"]
    assert t.df.loc[0, "amount"] == 123.45  # 12345 øre, divided by 100: exactly the float nearest 123.45
    assert t.df["billing_months"].tolist() == [1, 1, 1, 1]
    assert [str(i) for i in t.issues] == [
        "subscriptions.csv row 3, column Beløp (amount): '-500' (-5 after scale 0.01) is below the minimum 0",
        ("subscriptions.csv row 4, column Beløp (amount): '12,5' is not a number in a column read with decimal "
         'point — set decimal = "," in kpi.toml or --decimal ,?'),
        "subscriptions.csv row 5, column Kunde (customer_id): 'C0000X' is not a customer_id of customers.csv"]


def test_value_maps_apply_before_parsing_and_other_texts_are_checked_as_usual(tmp_path):
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan;Periode",
              ["C00001;15.03.2026;100;S1;x;Måned", "C00002;15.03.2026;100;S2;x; ÅR", "C00003;15.03.2026;100;S3;x;6",
               "C00004;15.03.2026;100;S4;x;uke"],
              _COLS + 'billing_months = "Periode"\n[subscriptions.values.billing_months]\n"måned" = 1\n"år" = 12\n')
    tables, _ = load_all(d, ["customers", "subscriptions"])
    t = tables["subscriptions"]
    assert t.df["billing_months"].tolist()[:3] == [1, 12, 6]
    assert [str(i) for i in t.issues] == [
        "subscriptions.csv row 5, column Periode (billing_months): 'uke' is not a number"]


def test_per_column_formats_settle_what_detection_refuses(tmp_path):
    rows = ["C00001;03/04/2026;1.234;S1;x", "C00002;05/06/2026;5.000;S2;x"]
    plain = _COLS + "[subscriptions.constants]\nbilling_months = 1\n"
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", rows, plain)
    _, errors = load_all(d, ["customers", "subscriptions"])
    # refused, naming the keys and flags that settle it
    assert "cannot tell whether its dates are dd/mm/yyyy or mm/dd/yyyy" in errors["subscriptions"]
    assert 'dates = "dd/mm/yyyy" or "mm/dd/yyyy" in kpi.toml' in errors["subscriptions"]
    assert "[subscriptions.formats]" in errors["subscriptions"] and "--dates" in errors["subscriptions"]
    (d / "kpi.toml").write_text(plain + '[subscriptions.formats]\nstart_date = "mm/dd/yyyy"\n', encoding="utf-8")
    _, errors = load_all(d, ["customers", "subscriptions"])
    assert "cannot tell how its numbers are written" in errors["subscriptions"]
    assert "--decimal and --thousands" in errors["subscriptions"]
    (d / "kpi.toml").write_text(plain + '[subscriptions.formats]\nstart_date = "mm/dd/yyyy"\n'
                                        'amount = {decimal = ",", thousands = "."}\n', encoding="utf-8")
    tables, errors = load_all(d, ["customers", "subscriptions"])
    assert errors == {}
    t = tables["subscriptions"]
    assert t.issues == []
    assert t.df["start_date"].tolist() == [pd.Timestamp("2026-03-04"), pd.Timestamp("2026-05-06")]
    assert t.df["amount"].tolist() == [1234.0, 5000.0]
    # flags win over the file's formats: --dates dd/mm/yyyy reads the same texts day first
    tables, errors = load_all(d, ["customers", "subscriptions"], DataSettings(dates="dd/mm/yyyy"))
    assert tables["subscriptions"].df["start_date"].tolist() == [pd.Timestamp("2026-04-03"), pd.Timestamp("2026-06-05")]


def test_explicit_encodings_are_checked_against_the_file(tmp_path):
    rows = ["C00001;15.03.2026;100;S1;Grønn"]
    m = _COLS + "[subscriptions.constants]\nbilling_months = 1\n"
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", rows, '[defaults]\nencoding = "utf-8"\n' + m, "cp1252")
    _, errors = load_all(d, ["customers", "subscriptions"])
    assert errors["subscriptions"].startswith("subscriptions.csv line 1: byte 0xf8 is not UTF-8 text (set by encoding "
                                              "in kpi.toml line 2); it reads as Windows-1252: set encoding = "
                                              '"windows-1252" or remove the setting'), errors
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", rows, m, "utf-8")
    _, errors = load_all(d, ["customers", "subscriptions"], DataSettings(encoding="windows-1252"))
    assert errors["subscriptions"].startswith("subscriptions.csv: its letters beyond ASCII are UTF-8, but it is to be "
                                              "read as Windows-1252 (set by --encoding)")
    d = _subs(tmp_path, "Kunde;Start;Beløp;ID;Plan", rows, m, "utf-8-sig")
    _, errors = load_all(d, ["customers", "subscriptions"], DataSettings(encoding="latin-1"))
    assert errors["subscriptions"].startswith("subscriptions.csv: starts with the byte-order mark of UTF-8, but is to "
                                              "be read as Latin-1 (set by --encoding)")
    tables, errors = load_all(d, ["customers", "subscriptions"], DataSettings(encoding="utf-8"))
    assert errors == {} and tables["subscriptions"].df.loc[0, "plan"] == "Grønn"


def test_an_explicit_separator_must_give_a_table_of_one_width(tmp_path):
    m = _COLS + "[subscriptions]\nseparator = \"|\"\n[subscriptions.constants]\nbilling_months = 1\n"
    d = _subs(tmp_path, "Kunde|Start|Beløp|ID|Plan", ["C00001|15.03.2026|100|S1|x", "C00002|15.03.2026|100|S2"], m)
    _, errors = load_all(d, ["customers", "subscriptions"])
    assert errors["subscriptions"] == ("subscriptions.csv record 3: 4 fields when split at '|' (set by separator in "
                                       "kpi.toml line 8), but the header has 5 columns")


def test_dialect_settings_for_a_file_that_is_not_csv_are_refused(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    pd.read_csv(SAMPLE_DIR / "orders.csv", dtype=str).to_excel(d / "orders.xlsx", index=False)
    (d / "kpi.toml").write_text('[orders]\n\ndecimal = ","\n', encoding="utf-8")
    _, errors = load_all(d, ["orders"])
    assert errors["orders"] == ("kpi.toml line 3: [orders] says how a CSV file is written, but orders.xlsx is not "
                                "a CSV file")


def test_the_mapping_file_is_part_of_the_cache_signature(tmp_path):
    from workbook_templates.data import file_signature

    d = _write(tmp_path, "[build]\ncurrency = \"NOK\"\n")
    before = file_signature(d)
    (d / "kpi.toml").write_text("[build]\ncurrency = \"SEK\"\n\n", encoding="utf-8")
    assert file_signature(d) != before
    assert any(part[0] == "mapping file" for part in file_signature(d))


def test_the_build_summary_says_once_how_each_file_was_read(tmp_path):
    from kpi_cli.main import app

    plain = _plain(tmp_path)
    norsk = _norsk(plain, tmp_path / "norsk")
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "customer_experience", "--data", str(norsk), "--out",
                                 str(tmp_path / "o"), "--no-progress"])
    assert r.exit_code == 0, r.output
    lines = [x for x in r.output.splitlines() if x.startswith("read ")]
    assert len(lines) == sum(not ds.optional for ds in DATASETS.values()), lines  # every file of the folder is Nordic: one line each, once
    assert "read Abonnementer.csv: ';'-separated, dates dd.mm.yyyy (end_date); mm/dd/yyyy (start_date), " \
           "Windows-1252" in lines


def test_an_explicit_separator_settles_a_file_two_separators_fit(tmp_path):
    d = tmp_path / "two"
    d.mkdir()
    (d / "orders.csv").write_text("customer_id;product;order_date;amount;order_id;note,x\n"
                                  "C1;a,b;2024-02-15;12;O1;\nC2;c,d;2024-03-19;7;O2;\n", encoding="utf-8")
    # ';' and ',' both give one width here (6 and 2 columns): refused, then settled by the flag
    with pytest.raises(DataError, match="alike as separator"):
        load_dataset(DATASETS["orders"], d / "orders.csv")
    tables, errors = load_all(d, ["orders"], DataSettings(separator=";"))
    assert errors == {} and tables["orders"].df["product"].tolist() == ["a,b", "c,d"]


def test_kpi_build_stops_at_a_mistake_in_the_mapping_file(tmp_path):
    from kpi_cli.main import app

    d = _write(tmp_path, "[orders]\nseparator = \";\"\n\n[orders.colums]\namount = \"x\"\n")
    r = CliRunner().invoke(app, ["build", "saas_dashboard", "--data", str(d), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "kpi.toml line 4: [orders] has no setting 'colums'" in r.output
    assert not list((tmp_path / "o").glob("*.xlsx"))
