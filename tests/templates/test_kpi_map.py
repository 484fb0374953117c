"""``kpi map --data DIR``: a mapping file proposed from the headers of the user's files.

The expected mappings are the renames the tests made themselves (our column -> the header written),
so each assertion compares the proposal with what the folder was built to hold.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.propose import compact, fit, fold, match_columns, propose, toml_string
from workbook_templates.schema import DATASETS

#: data set -> (file name, our column -> a Norwegian or Swedish header), every column of every data set
NORDIC = {
    "customers": ("Kunder", {"customer_id": "Kunde-ID", "name": "Navn", "region": "Region", "plan_tier": "Nivå",
                             "signup_date": "Registrert", "channel": "Kanal"}),
    "subscriptions": ("Abonnementer", {"customer_id": "Kundenummer", "start_date": "Startdato",
                                       "end_date": "Sluttdato", "amount": "Beløp (NOK)", "billing_months": "Måneder",
                                       "plan": "Abonnement", "subscription_id": "Abonnementsnummer"}),
    "orders": ("Ordrar", {"customer_id": "Kund", "product": "Produkt", "order_date": "Orderdatum",
                          "amount": "Belopp", "order_id": "Ordernummer"}),
    "nps_responses": ("NPS-svar", {"response_id": "Svar-ID", "customer_id": "Kund-ID", "date": "Datum",
                                   "score": "Poäng", "comment": "Kommentar"}),
    "csat_responses": ("Kundnöjdhet", {"response_id": "Svars-ID", "customer_id": "Kundnummer", "ticket_id": "Ärende",
                                       "date": "Datum", "score": "Betyg"}),
    "tickets": ("Saker", {"ticket_id": "Saksnummer", "customer_id": "Kunde", "created_at": "Opprettet",
                          "first_response_at": "Første svar", "resolved_at": "Løst", "channel": "Kanal",
                          "priority": "Prioritet"}),
    "marketing": ("Markedsføring", {"month": "Måned", "channel": "Kanal", "region": "Region", "plan_tier": "Nivå",
                                    "spend": "Kostnad", "visitors": "Besøkende", "leads": "Leads", "mql": "MQL",
                                    "sql": "SQL", "customers": "Nye kunder", "revenue": "Inntekt",
                                    "followers": "Følgere"}),
    "leads": ("Kundeemner", {"lead_id": "Emne-ID", "created_date": "Opprettet", "converted_date": "Konvertert",
                             "channel": "Kanal", "region": "Region", "plan_tier": "Nivå", "customer_id": "Kunde-ID"}),
    "costs": ("Kostnader", {"month": "Månad", "region": "Region", "plan_tier": "Nivå", "cogs": "Varekostnad",
                            "sales_cost": "Säljkostnad"}),
    "activity": ("Aktivitet", {"user_id": "Bruker", "date": "Dato", "customer_id": "Kunde-ID"}),
}


def nordic_folder(d: Path, rows: int | None = 5, drop: dict[str, str] | None = None) -> Path:
    """The sample company with Norwegian and Swedish headers, saved as ';'-separated Windows-1252 files."""
    d.mkdir(parents=True, exist_ok=True)
    for name, (stem, ren) in NORDIC.items():
        if name not in DATASETS:
            continue
        df = pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False, nrows=rows)
        if drop and name in drop:
            df = df.drop(columns=[drop[name]])
        df.rename(columns=ren).to_csv(d / f"{stem}.csv", index=False, sep=";", encoding="cp1252")
    return d


def kpi_map(*args: str):
    return CliRunner().invoke(app, ["map", *args])


def test_every_column_of_the_nordic_sample_is_mapped_and_the_file_follows_the_format(tmp_path):
    d = nordic_folder(tmp_path / "data")
    r = kpi_map("--data", str(d))
    assert r.exit_code == 0, r.output
    doc = tomllib.loads((d / "kpi.toml").read_text(encoding="utf-8"))
    expected = {name: NORDIC[name] for name in DATASETS if name in NORDIC}
    assert set(doc) == set(expected)
    for name, (stem, ren) in expected.items():
        table = doc[name]
        assert table["file"] == f"{stem}.csv"
        assert table["columns"] == ren, name
        assert table["separator"] == ";"
        # files with a letter outside ASCII are Windows-1252 by their bytes; pure ASCII ones read as UTF-8 too
        if any(not h.isascii() for h in ren.values()):
            assert table["encoding"] == "windows-1252"
        assert set(table) <= {"file", "encoding", "separator", "columns"}
    for name in expected:
        enc = "Windows-1252" if any(not h.isascii() for h in expected[name][1].values()) else "UTF-8"
        # every column the file has is mapped; the optional ones it lacks (currency) are listed as not found
        assert f"{name} <- {expected[name][0]}.csv (read as ';'-separated, {enc}): {len(expected[name][1])} " \
               f"of {len(DATASETS[name].columns)} column(s) mapped" in r.output
    assert "NOT MAPPED" not in r.output


def test_a_missing_required_column_is_listed_and_written_as_a_commented_line(tmp_path):
    d = nordic_folder(tmp_path / "data", drop={"subscriptions": "billing_months", "customers": "channel"})
    r = kpi_map("--data", str(d))
    assert r.exit_code == 0, r.output
    text = (d / "kpi.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    assert "billing_months" not in doc["subscriptions"]["columns"]
    assert '\n# billing_months = ""' in text
    assert ("subscriptions <- Abonnementer.csv (read as ';'-separated, Windows-1252): 6 of 10 column(s) mapped; "
            "NOT MAPPED (required): billing_months; not found (optional): discount, quantity, currency") in r.output
    # an optional column that is absent is said to be absent, not listed as required
    assert "channel" not in doc["customers"]["columns"]
    assert "not found (optional, left blank): channel" in text
    assert ("customers <- Kunder.csv (read as ';'-separated, Windows-1252): 5 of 6 column(s) mapped; "
            "not found (optional): channel") in r.output


def test_two_headers_that_fit_one_column_equally_are_not_guessed(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "Abonnementer.csv").write_text("Kunde;Startdato;Sluttdato;Beløp;Pris;Måneder;Plan;Abonnement-ID\n"
                                        "C1;01.01.2026;;100;100;1;Basic;S1\n", encoding="cp1252")
    r = kpi_map("--data", str(d))
    assert r.exit_code == 0, r.output
    text = (d / "kpi.toml").read_text(encoding="utf-8")
    cols = tomllib.loads(text)["subscriptions"]["columns"]
    assert "amount" not in cols
    assert '\n# amount = "Beløp"\n# amount = "Pris"\n' in text
    assert cols == {"customer_id": "Kunde", "start_date": "Startdato", "end_date": "Sluttdato",
                    "billing_months": "Måneder", "plan": "Plan", "subscription_id": "Abonnement-ID"}
    assert "amount: left to you ('Beløp', 'Pris' fit equally)" in r.output


def test_headers_differing_only_in_case_are_not_guessed():
    m = match_columns(["Kunde", "kunde", "Startdato"], DATASETS["subscriptions"])
    assert "customer_id" not in m.mapped
    assert [a.headers for a in m.ambiguous] == [["Kunde", "kunde"]]
    assert m.mapped["start_date"] == "Startdato"


def test_no_name_fits_two_columns_of_one_data_set():
    """Ambiguity comes from the user's headers, never from our synonym lists."""
    from workbook_templates.propose import COLUMN_SYNONYMS

    for ds in DATASETS.values():
        seen: dict[str, str] = {}
        for col in ds.column_names:
            for n in (col, *COLUMN_SYNONYMS.get(col, ())):
                for form in {compact(n), fold(compact(n))}:
                    assert seen.setdefault(form, col) == col, (ds.name, n, seen[form], col)


@pytest.mark.parametrize(("header", "column", "level"), [
    ("customer_id", "customer_id", 6), ("Customer ID", "customer_id", 6), ("CUSTOMER-ID", "customer_id", 6),
    ("Kunde-ID", "customer_id", 5), ("kunde_id", "customer_id", 5), ("  Kundenummer ", "customer_id", 5),
    ("Beløb", "amount", 5), ("Belopp", "amount", 5), ("Belop", "amount", 4), ("BELØP (øre)", "amount", 5),
    ("Beløp eks. mva", "amount", 3), ("Belop i NOK", "amount", 2), ("Beløp inkl. mva", "amount", 0),
    ("Slutdatum", "end_date", 5), ("Slutdato", "end_date", 5), ("Startdatum", "start_date", 5),
    ("Prenumeration", "plan", 5), ("ID", "subscription_id", 1), ("ID", "customer_id", 0),
])
def test_header_fit_levels(header, column, level):
    assert fit(header, column, DATASETS["subscriptions"]) == level


def test_files_are_matched_by_headers_when_their_names_say_nothing(tmp_path):
    d = nordic_folder(tmp_path / "data")
    (d / "Abonnementer.csv").rename(d / "eksport 1.csv")
    p = propose(d)
    assert p.chosen["subscriptions"][0].name == "eksport 1.csv"
    assert p.chosen["subscriptions"][1].mapped == NORDIC["subscriptions"][1]


def test_two_files_fitting_one_data_set_equally_are_not_guessed(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    head = "Kunde;Startdato;Sluttdato;Beløp;Måneder;Plan;Abonnement-ID\n"
    for n in ("a.csv", "b.csv"):
        (d / n).write_text(head, encoding="utf-8")
    r = kpi_map("--data", str(d))
    assert r.exit_code == 0, r.output
    text = (d / "kpi.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text) == {}
    assert "subscriptions: left to you (a.csv, b.csv fit equally)" in r.output
    assert '# a.csv, b.csv: fit subscriptions equally' in text


def test_xlsx_and_parquet_headers(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    pd.DataFrame({"Kund-ID": ["C1"], "Produkt": ["X"], "Orderdatum": ["2026-01-02"], "Belopp": [10.0],
                  "Ordernummer": ["O1"]}).to_excel(d / "Ordrar.xlsx", index=False)
    pd.DataFrame({"Bruker": ["u"], "Dato": ["2026-01-02"], "Kunde": ["C1"]}).to_parquet(d / "aktivitet.parquet")
    r = kpi_map("--data", str(d))
    assert r.exit_code == 0, r.output
    doc = tomllib.loads((d / "kpi.toml").read_text(encoding="utf-8"))
    assert doc["orders"] == {"file": "Ordrar.xlsx", "columns": {
        "customer_id": "Kund-ID", "product": "Produkt", "order_date": "Orderdatum", "amount": "Belopp",
        "order_id": "Ordernummer"}}
    assert doc["activity"] == {"file": "aktivitet.parquet",
                               "columns": {"user_id": "Bruker", "date": "Dato", "customer_id": "Kunde"}}


def test_an_existing_mapping_file_is_kept_unless_forced(tmp_path):
    d = nordic_folder(tmp_path / "data")
    (d / "kpi.toml").write_text("# mine\n", encoding="utf-8")
    r = kpi_map("--data", str(d))
    assert r.exit_code == 2
    assert "exists" in r.output and "--force" in r.output
    assert (d / "kpi.toml").read_text(encoding="utf-8") == "# mine\n"
    r = kpi_map("--data", str(d), "--force")
    assert r.exit_code == 0, r.output
    assert "customers" in tomllib.loads((d / "kpi.toml").read_text(encoding="utf-8"))
    out = tmp_path / "elsewhere" / "map.toml"
    r = kpi_map("--data", str(d), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert tomllib.loads(out.read_text(encoding="utf-8"))["customers"]["file"] == "Kunder.csv"


def test_a_folder_without_data_files_is_refused(tmp_path):
    r = kpi_map("--data", str(tmp_path / "nope"))
    assert r.exit_code == 2 and "does not exist" in r.output
    (tmp_path / "empty").mkdir()
    r = kpi_map("--data", str(tmp_path / "empty"))
    assert r.exit_code == 2 and "no data files" in r.output
    assert not (tmp_path / "empty" / "kpi.toml").exists()


@pytest.mark.parametrize("text", ['a"b', "a\\b", "tab\there", "del\x7f", "Beløp (øre)"])
def test_headers_are_written_as_toml_strings(text):
    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text


def test_cents_and_worded_billing_periods_get_commented_hints(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "abonnement.csv").write_text("Kunde,Startdato,Sluttdato,Beløp (øre),Periode,Plan,Abonnement-ID\n",
                                      encoding="utf-8")
    assert kpi_map("--data", str(d)).exit_code == 0
    text = (d / "kpi.toml").read_text(encoding="utf-8")
    assert "# [subscriptions.scale]\n# amount = 0.01\n" in text
    assert '# [subscriptions.values.billing_months]\n# "måned" = 1\n' in text
    assert tomllib.loads(text)["subscriptions"]["columns"]["billing_months"] == "Periode"


def test_the_proposed_mapping_reads_the_nordic_sample_as_the_original(tmp_path, sample_tables):
    pytest.importorskip("workbook_templates.mapping")  # the mapping file reader
    from workbook_templates.data import load_all

    d = nordic_folder(tmp_path / "data", rows=None)
    assert kpi_map("--data", str(d)).exit_code == 0
    tables, errors = load_all(d)
    assert errors == {}
    assert set(tables) == set(sample_tables)
    for name, t in tables.items():
        pd.testing.assert_frame_equal(t.df, sample_tables[name].df, check_dtype=False, obj=name)


def test_a_column_with_fixed_values_gets_a_commented_value_map(tmp_path):
    from workbook_templates.schema import ColumnSchema, Dataset

    ds = next((d for d in DATASETS.values() for c in d.columns if c.choices), None)
    if ds is None:
        pytest.skip("no data set has a column of fixed values")
    assert isinstance(ds, Dataset)
    col: ColumnSchema = next(c for c in ds.columns if c.choices)
    d = tmp_path / "data"
    d.mkdir()
    (d / f"{ds.name}.csv").write_text(",".join(ds.column_names) + "\n", encoding="utf-8")
    assert kpi_map("--data", str(d)).exit_code == 0
    text = (d / "kpi.toml").read_text(encoding="utf-8")
    assert f"# [{ds.name}.values.{col.name}]\n" in text
    for choice in col.choices:
        assert f' = "{choice}"' in text
    tomllib.loads(text)
