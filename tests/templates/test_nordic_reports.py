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
from test_dialects import _nordic, _samples
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.schema import DATASETS

#: the data sets the bundled sample has a file for (not the optional ones: exchange rates, invoices)
SAMPLE_SETS = [n for n, ds in DATASETS.items() if not ds.optional]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl drops extensions it does not read


def _build_all(data: Path, out: Path) -> None:
    r = CliRunner().invoke(app, ["build", "--all", "--data", str(data), "--out", str(out), "--no-progress"])
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
    assert r.exit_code != 0, r.output
    flat = " ".join(r.output.split())
    for text in said:
        assert text in flat, (text, r.output)
    assert not list(out.glob("*.xlsx"))
