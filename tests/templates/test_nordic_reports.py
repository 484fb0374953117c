"""The sample company saved as a Nordic Excel saves it builds, with no flags, the very reports of the original.

`kpi build --all` runs as a user runs it, once on the sample (with Nordic letters in the account names) and
once on the same files re-saved with ';', decimal comma, no-break-space thousands, dd.mm.yyyy dates and
dd.mm.yyyy hh:mm times, Windows-1252 and CRLF. Every cell of every sheet of every workbook — formulas and the
cached values — must be the same; only the Notes differ, where they say how each file was read.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_dialects import NBSP, _nordic, _nordic_date, _nordic_number, _samples
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.schema import DATASETS

#: the data sets the bundled sample has a file for (not the optional ones: exchange rates, invoices)
SAMPLE_SETS = [n for n, ds in DATASETS.items() if not ds.optional]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl drops extensions it does not read


def _build_all(data: Path, out: Path, *templates: str) -> None:
    r = CliRunner().invoke(app, ["build", *(templates or ["--all"]), "--data", str(data), "--out", str(out),
                                 "--no-progress"])
    assert r.exit_code == 0, r.output


def _cells(path: Path, data_only: bool) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path, data_only=data_only)
    out: dict[tuple[str, str], object] = {}
    for ws in wb.worksheets:
        out[(ws.title, "dimensions")] = ws.dimensions
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, openpyxl.worksheet.formula.ArrayFormula):
                    v = ("array", v.ref, v.text)
                if v is not None:
                    out[(ws.title, c.coordinate)] = v
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nordic_reports")
    plain = _samples(tmp)
    nordic = _nordic(plain, tmp / "nordic")
    _build_all(plain, tmp / "out-plain")
    _build_all(nordic, tmp / "out-nordic")
    return tmp


READ_AS = re.compile(r" Read as (.+)\.$")


def test_every_cell_of_every_report_is_the_same(built):
    files = sorted(p.name for p in (built / "out-plain").glob("*.xlsx"))
    assert len(files) == 5 and files == sorted(p.name for p in (built / "out-nordic").glob("*.xlsx"))
    read_as_seen = set()
    for name in files:
        for data_only in (False, True):
            a = _cells(built / "out-plain" / name, data_only)
            b = _cells(built / "out-nordic" / name, data_only)
            assert a.keys() == b.keys(), (name, a.keys() ^ b.keys())
            for key, va in a.items():
                vb = b[key]
                if va == vb:
                    continue
                sheet = key[0]
                assert sheet == "Notes", (name, key, va, vb)
                if va == str(built / "plain"):  # the data folder the report was built from
                    assert vb == str(built / "nordic")
                    continue
                m = READ_AS.search(str(vb))
                assert m and str(vb)[: m.start()] == va, (name, key, va, vb)
                read_as_seen.add(m.group(1))
    assert read_as_seen == {
        "';'-separated, decimal comma, thousands separator no-break space, dates dd.mm.yyyy, Windows-1252",
        "';'-separated, decimal comma, thousands separator no-break space, dates mm.yyyy, Windows-1252",
        "';'-separated, dates dd.mm.yyyy, Windows-1252",
        "';'-separated, dates dd.mm.yyyy, UTF-8",
        "';'-separated, dates dd.mm.yyyy hh:mm, UTF-8",
    }


def test_the_files_really_are_written_the_nordic_way(built):
    raw = (built / "nordic" / "subscriptions.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 700 and b";" in raw.splitlines()[0]
    text = raw.decode("cp1252")
    assert re.search(r";\d{2}\.\d{2}\.\d{4};", text)
    assert re.search(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", (built / "nordic" / "tickets.csv").read_text("cp1252"))
    assert "\u00a0" in (built / "nordic" / "marketing.csv").read_text("cp1252")
    assert re.search("[æøåÆØÅ]", (built / "nordic" / "customers.csv").read_text("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        (built / "nordic" / "customers.csv").read_bytes().decode("utf-8")


def _ambiguous(tmp_path: Path, column: str, values: list[str]) -> Path:
    d = tmp_path / "data"
    plain = _samples(tmp_path)
    d.mkdir()
    for name in SAMPLE_SETS:
        (d / f"{name}.csv").write_bytes((plain / f"{name}.csv").read_bytes())
    orders = pd.read_csv(d / "orders.csv", dtype=str, keep_default_na=False)
    orders[column] = [values[i % len(values)] for i in range(len(orders))]
    orders.to_csv(d / "orders.csv", index=False, sep=";")
    return d


@pytest.mark.parametrize(("column", "values", "said"), [
    ("amount", ["1.234", "2.500", "12.000"], ["column amount", "'1.234' reads as 1.234 with decimal point",
                                              "1234 with decimal comma and thousands separator '.'"]),
    ("order_date", ["03/04/2024", "11/12/2024", "05/06/2024"], ["column order_date", "dd/mm/yyyy or mm/dd/yyyy",
                                                                "dates = \""]),
])
def test_an_ambiguous_column_is_refused_and_nothing_is_built(tmp_path, column, values, said):
    d = _ambiguous(tmp_path, column, values)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["build", "retention_cohorts", "--data", str(d), "--out", str(out), "--no-progress"])
    assert r.exit_code == 1, r.output  # the report fails (as with any bad data), exit code 1
    flat = " ".join(r.output.split())
    for text in said:
        assert text in flat, (text, r.output)
    assert not list(out.glob("*.xlsx"))


#: the letters put into the plan and product names of the variants below (all six, capitals too)
LETTERS = str.maketrans({"a": "å", "o": "ø", "e": "æ", "A": "Å", "O": "Ø", "E": "Æ"})


def _save(df: pd.DataFrame, path: Path, sep: str, encoding: str, terminator: str = "\r\n") -> None:
    path.write_bytes(df.to_csv(index=False, sep=sep, lineterminator=terminator).encode(encoding))


def _variants(plain: Path, out: Path) -> Path:
    """The sample as other exports write it, one way per file: Excel's "Unicode text" (UTF-16 LE with its
    byte-order mark, TAB-separated), CSV UTF-8 with BOM and ';', Swiss thousands (apostrophe, decimal point)
    and French ones (narrow no-break space, decimal comma); Nordic letters in the plan and product names."""
    out.mkdir()
    for f in plain.glob("*.csv"):
        (out / f.name).write_bytes(f.read_bytes())
    read = {n: pd.read_csv(plain / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("customers", "subscriptions", "orders", "marketing")}
    _save(read["customers"], out / "customers.csv", "\t", "utf-16")  # Python's utf-16 writes the LE mark
    sub = read["subscriptions"]
    sub["plan"] = sub["plan"].str.translate(LETTERS)
    sub["amount"] = sub["amount"].map(lambda t: _nordic_number(t).replace(NBSP, ""))
    for c in ("start_date", "end_date"):
        sub[c] = sub[c].map(_nordic_date)
    _save(sub, out / "subscriptions.csv", ";", "utf-8-sig")
    orders = read["orders"]
    orders["product"] = orders["product"].str.translate(LETTERS)
    orders["amount"] = orders["amount"].map(lambda t: _nordic_number(t).replace(",", ".").replace(NBSP, "'"))
    _save(orders, out / "orders.csv", ",", "utf-8", "\n")
    mkt = read["marketing"]
    for c in ("spend", "revenue"):
        mkt[c] = mkt[c].map(lambda t: _nordic_number(t).replace(NBSP, "\u202f"))
    _save(mkt, out / "marketing.csv", ";", "utf-8")
    return out


def test_unicode_text_utf8_bom_and_swiss_or_french_thousands_build_the_same_reports(built, tmp_path):
    data = _variants(built / "plain", tmp_path / "variants")
    raw = (data / "customers.csv").read_bytes()
    assert raw.startswith(b"\xff\xfe") and "\t".encode("utf-16-le") in raw
    assert (data / "subscriptions.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "1'350.0" in (data / "orders.csv").read_text("utf-8")  # thousands really written: 1350.0 by hand
    assert "1\u202f706,08" in (data / "marketing.csv").read_text("utf-8")  # the first spend, 1706.08
    templates = ("saas_dashboard", "retention_cohorts")  # between them every file changed above
    _build_all(data, tmp_path / "out", *templates)
    plans = set(pd.read_csv(built / "plain" / "subscriptions.csv", dtype=str)["plan"])
    products = set(pd.read_csv(built / "plain" / "orders.csv", dtype=str)["product"])
    lettered = 0
    read_as = {}
    for name in templates:
        for data_only in (False, True):
            a = _cells(built / "out-plain" / f"{name}.xlsx", data_only)
            b = _cells(tmp_path / "out" / f"{name}.xlsx", data_only)
            assert a.keys() == b.keys(), (name, a.keys() ^ b.keys())
            for key, va in a.items():
                vb = b[key]
                if isinstance(va, str) and va in plans | products:  # the names that now carry the letters
                    assert vb == va.translate(LETTERS), (name, key, va, vb)
                    lettered += vb != va
                elif va != vb:
                    assert key[0] == "Notes", (name, key, va, vb)
                    if va == str(built / "plain"):
                        assert vb == str(data)
                        continue
                    m = READ_AS.search(str(vb))
                    assert m and str(vb)[: m.start()] == va, (name, key, va, vb)
                    file = re.search(r"Source: (\w+\.csv)", va)
                    assert file, va
                    read_as[file.group(1)] = m.group(1)
    assert lettered > 700  # the plan of every subscription row at least (formulas and cached values)
    assert read_as == {
        "customers.csv": "TAB-separated, UTF-16 LE",
        "subscriptions.csv": "';'-separated, decimal comma, dates dd.mm.yyyy, UTF-8 with BOM",
        "orders.csv": "','-separated, decimal point, thousands separator apostrophe, UTF-8",
        "marketing.csv": "';'-separated, decimal comma, thousands separator narrow no-break space, UTF-8",
    }
