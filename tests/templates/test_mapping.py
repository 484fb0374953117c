"""The mapping file (kpi.toml or --map): the user's own file and column names, constants, scale factors, value
maps and explicit dialect settings read a folder to the same tables as the bundled sample; every mistake in
the file is an error with its line number."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.data import DataError, load_all, load_dataset
from workbook_templates.mapping import key_lines, read_mapping
from workbook_templates.schema import DATASETS

#: the data sets the bundled sample has a file for (not the optional ones: exchange rates, invoices)
SAMPLE_SETS = [n for n, ds in DATASETS.items() if not ds.optional]
from workbook_templates.settings import DataSettings

NBSP = "\u00a0"
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


def _number(text: str) -> str:
    """'1350.25' -> '1 350,25' with a no-break space, from the text."""
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
                df[col.name] = df[col.name].map(_number)
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
    # the file says decimal comma, which would make every sample amount (1350.0) a bad cell; --decimal . wins
    tables, errors = load_all(d, ["customers", "orders"])
    assert errors == {} and tables["orders"].issues
    assert str(tables["orders"].issues[0]).startswith(
        "orders.csv row 2, column amount: '1350.0' is not a number in a column read with decimal comma (set by "
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
