"""``kpi map``: propose a mapping file (``kpi.toml``) from the headers of the files in a data folder.

Only the header of each file is read: a CSV file's first record (its encoding and separator detected
by :func:`workbook_templates.dialect.detect`), an .xlsx file's first row, a .parquet file's schema.

* Which file is which data set: by the file's name (English, Norwegian, Swedish and Danish names of
  the data set) and by how many of the data set's required columns its headers match.
* Which header is which column: our column name, else a synonym (English, Norwegian, Swedish,
  Danish), compared with case, spacing, underscores, hyphens and text in brackets ignored; then the
  same with diacritics folded (``ø`` as ``o``); then without a currency code or "excluding tax" in
  the header; a bare ``id``/``nr`` header last, as the data set's key.

Nothing is guessed: two headers that fit one column equally (or one header two columns, or one file
two data sets) are written as commented lines for the user to choose from, and each required column
no header fits is listed as a commented line.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .dialect import Dialect, DialectError, detect
from .schema import DATASETS, Dataset

__all__ = ["COLUMN_SYNONYMS", "FILE_SYNONYMS", "Ambiguity", "ColumnMatch", "FileHeaders", "Proposal",
           "match_columns", "propose", "read_headers", "render", "summary_lines"]

DATA_SUFFIXES = (".csv", ".xlsx", ".parquet")

#: our column -> other names for it (besides the column's own name), in English, Norwegian, Swedish, Danish
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer", "customer no", "customer number", "client id", "account id", "kunde", "kunde id",
                    "kundenummer", "kundenr", "kundeid", "kund", "kund id", "kundnummer", "kundnr", "kunde nummer"),
    "name": ("account name", "customer name", "company", "company name", "navn", "kundenavn", "firmanavn", "firma",
             "selskap", "bedrift", "namn", "kundnamn", "företag", "företagsnamn", "virksomhed", "kundenavn"),
    "region": ("area", "område", "landsdel", "distrikt", "salgsregion", "säljregion", "salgsområde"),
    "plan_tier": ("tier", "plan", "plan type", "plantype", "nivå", "niveau", "pakke", "paket", "kundetype",
                  "kundtyp", "segment"),
    "signup_date": ("signup", "signed up", "sign up date", "created", "created date", "registrert",
                    "registreringsdato", "opprettet", "kunde siden", "registrerad", "registreringsdatum",
                    "skapad", "kund sedan", "registreret", "oprettet", "oprettelsesdato"),
    "channel": ("kanal", "source", "kilde", "källa", "acquisition channel", "salgskanal", "säljkanal"),
    "start_date": ("start", "starts", "start dato", "startdato", "startdatum", "fra", "fra dato", "från",
                   "från datum", "gyldig fra", "giltig från", "fom", "begin", "from"),
    "end_date": ("end", "ends", "sluttdato", "slutt", "slutdato", "slut", "slutdatum", "til", "til dato", "till",
                 "till datum", "gyldig til", "giltig till", "tom", "oppsagt", "avsluttet", "uppsagd", "avslutad",
                 "opsagt", "ophørt", "to"),
    "amount": ("price", "pris", "beløp", "belopp", "beløb", "sum", "value", "verdi", "värde", "værdi", "total",
               "totalt", "ordreverdi", "ordervärde", "ordreværdi", "ordrebeløp", "orderbelopp", "ordrebeløb",
               "månedspris", "månadspris", "periodepris", "line amount", "linjebeløp", "radbelopp",
               "linjebeløb", "nettobeløp", "nettobelopp", "nettobeløb"),
    "billing_months": ("months", "billing period", "billing interval", "interval", "intervall", "periode",
                       "period", "måneder", "månader", "faktureringsperiode", "faktureringsperiod",
                       "fakturaperiode", "betalingsperiode", "betalingsintervall", "frekvens", "frequency",
                       "faktureringsintervall", "bindingstid"),
    "plan": ("plan name", "product", "produkt", "abonnement", "abonnementstype", "prenumeration",
             "prenumerationstyp", "abonnemang", "plannavn", "planname", "plannamn"),
    "subscription_id": ("subscription", "subscription no", "abonnement id", "abonnementsnummer", "abonnementsnr",
                        "abonnement nr", "abonnementsid", "prenumerations id", "prenumerationsnummer",
                        "prenumeration id", "abonnemangsnummer", "abonnemang id"),
    "product": ("produkt", "vare", "varenavn", "artikkel", "artikel", "item", "tjeneste", "tjänst", "ydelse",
                "service", "varenummer", "artikelnummer"),
    "order_date": ("date", "dato", "datum", "ordredato", "orderdatum", "ordre dato", "bestillingsdato",
                   "beställningsdatum", "kjøpsdato", "köpdatum", "købsdato", "purchase date"),
    "order_id": ("order", "order no", "order number", "ordre", "ordre id", "ordrenummer", "ordrenr", "ordernummer",
                 "ordernr", "bestilling", "bestillingsnummer", "beställning", "beställningsnummer"),
    "response_id": ("response", "response no", "svar id", "svar", "svarnummer", "svarsnummer", "svars id",
                    "besvarelse", "besvarelse id", "svarid"),
    "date": ("dato", "datum", "dag", "day", "svardato", "svarsdatum", "besvaret", "besvarad"),
    "score": ("rating", "poeng", "poäng", "point", "karakter", "betyg", "vurdering", "nps", "nps score",
              "csat", "csat score", "tilfredshet", "nöjdhet", "tilfredshed", "score 0 10", "anbefaling"),
    "comment": ("comments", "kommentar", "kommentarer", "fritekst", "fritext", "begrunnelse", "begrundelse",
                "motivering", "tilbakemelding", "feedback"),
    "ticket_id": ("ticket", "ticket no", "case", "case id", "sak", "saksnummer", "saksnr", "sak id", "ärende",
                  "ärendenummer", "ärende id", "sag", "sagsnummer", "sag id", "henvendelse"),
    "created_at": ("created", "opened", "opprettet", "åpnet", "skapad", "öppnad", "oprettet", "åbnet",
                   "opprettet tid", "skapad tid"),
    "first_response_at": ("first response", "first reply", "første svar", "første respons", "första svar",
                          "första respons", "første svar tid", "første svartid"),
    "resolved_at": ("resolved", "closed", "løst", "lukket", "stengt", "löst", "stängd", "lukket tid", "løst tid",
                    "avsluttet tid"),
    "priority": ("prioritet", "prio", "prioritering", "hastegrad"),
    "month": ("måned", "månad", "mnd", "mån", "periode", "period", "year month"),
    "spend": ("cost", "kostnad", "kostnader", "omkostning", "forbruk", "annonsekostnad", "mediekostnad",
              "mediakostnad", "ad spend", "media spend", "budsjett brukt", "annonsforbruk", "spendering"),
    "visitors": ("visits", "sessions", "besøkende", "besøk", "besökare", "besök", "besøgende", "besøg"),
    "leads": ("lead", "emner", "kundeemner", "leadar", "potentielle kunder"),
    "mql": ("marketing qualified leads",),
    "sql": ("sales qualified leads",),
    "customers": ("new customers", "kunder", "nye kunder", "nya kunder", "nye kunder vunnet", "vunne kunder",
                  "vundne kunder", "kunder vundet"),
    "revenue": ("inntekt", "inntekter", "intäkt", "intäkter", "indtægt", "indtægter", "omsetning", "omsättning",
                "omsætning", "salg", "försäljning"),
    "followers": ("følgere", "följare", "følgere antall", "audience", "publikum", "fans", "abonnenter",
                  "prenumeranter"),
    "cogs": ("cost of revenue", "cost of goods sold", "varekostnad", "vareforbruk", "driftskostnad",
             "driftskostnader", "kostnad sålda varor", "varekostnader", "vareforbrug", "driftsomkostninger"),
    "sales_cost": ("sales costs", "salgskostnad", "salgskostnader", "säljkostnad", "säljkostnader",
                   "försäljningskostnad", "salgsomkostninger", "salgsomkostning"),
    "lead_id": ("lead", "lead no", "lead number", "leadnummer", "lead nr", "emne", "emne id", "emnenummer",
                "kundeemne", "prospekt", "prospekt id"),
    "created_date": ("created", "created on", "opprettet", "opprettet dato", "skapad", "skapad datum", "oprettet",
                     "oprettet dato", "lead date"),
    "converted_date": ("converted", "converted on", "won", "won date", "konvertert", "konvertert dato",
                       "konverterad", "konverterat datum", "konverteret", "vunnet", "vunnen", "vundet"),
    "user_id": ("user", "bruker", "bruker id", "brukerid", "användare", "användar id", "användarid", "bruger",
                "bruger id", "brugerid", "login"),
    # invoices, fx_rates and the optional columns of subscriptions (matched once the schema has them)
    "invoice_id": ("invoice", "invoice no", "invoice number", "faktura", "fakturanummer", "fakturanr",
                   "faktura id", "fakturaid", "faktura nr"),
    "invoice_date": ("date", "dato", "datum", "fakturadato", "fakturadatum", "faktura dato", "issued",
                     "utstedt", "utfärdad", "udstedt"),
    "line_type": ("type", "typ", "linjetype", "radtyp", "linjetyp", "line kind", "linjetype", "varetype"),
    "quantity": ("qty", "seats", "antall", "antal", "lisenser", "licenser", "licenser antal", "plasser",
                 "platser", "pladser", "stk", "users", "brukere", "användare antal"),
    "discount": ("rabatt", "rabat", "avslag", "nedslag"),
    "tax": ("vat", "mva", "moms", "skatt", "vat amount", "tax amount", "mva beløp", "momsbelopp", "momsbeløb"),
    "service_start": ("period start", "service period start", "periode start", "periode fra", "periodestart",
                      "periodstart", "period från", "periodens start", "fra", "från", "fra dato", "från datum"),
    "service_end": ("period end", "service period end", "periode slutt", "periode til", "periodeslutt",
                    "periodslut", "period till", "periodens slut", "periode slut", "til", "till", "til dato",
                    "till datum"),
    "cancelled_at": ("cancelled", "canceled", "canceled at", "cancelled date", "oppsagt", "oppsigelsesdato",
                     "kansellert", "uppsagd", "uppsägningsdatum", "opsagt", "opsigelsesdato", "annullert"),
    "prorated": ("prorata", "pro rata", "proration", "forholdsmessig", "delperiode", "forholdsmæssig",
                 "proportionell"),
    "currency": ("valuta", "currency code", "valutakode", "valutakod", "myntenhet"),
    "rate": ("fx rate", "exchange rate", "kurs", "valutakurs", "vekslingskurs", "växelkurs", "omregningskurs"),
}

#: data set -> names a file of it may have (besides the data set's own name)
FILE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customers": ("customer", "accounts", "kunder", "kunde", "kunderegister", "kundeliste", "kund",
                  "kundregister", "kundlista", "kundlistan", "kundeoversigt"),
    "subscriptions": ("subscription", "abonnement", "abonnementer", "abonnementene", "prenumeration",
                      "prenumerationer", "abonnemang", "abonnemangen"),
    "orders": ("order", "ordrer", "ordre", "bestillinger", "bestilling", "ordrar", "beställningar",
               "beställning", "purchases", "kjøp", "köp", "køb"),
    "invoices": ("invoice", "invoice lines", "faktura", "fakturaer", "fakturor", "fakturalinjer", "fakturarader",
                 "fakturalinier", "billing"),
    "nps_responses": ("nps", "nps svar", "nps answers", "anbefalinger"),
    "csat_responses": ("csat", "csat svar", "kundetilfredshet", "kundnöjdhet", "tilfredshet", "nöjdhet",
                       "tilfredshed"),
    "tickets": ("ticket", "support", "saker", "henvendelser", "ärenden", "sager", "kundeservice", "kundtjänst",
                "kundeservicesager", "supportsaker"),
    "marketing": ("markedsføring", "marknadsföring", "funnel", "kampanjer", "kampagner", "markedsforing"),
    "costs": ("cost", "kostnader", "kostnad", "omkostninger", "utgifter", "udgifter"),
    "leads": ("lead", "emner", "kundeemner", "prospekter", "prospects", "crm leads", "salgsmuligheter"),
    "activity": ("usage", "aktivitet", "bruk", "användning", "brug", "innlogginger", "inloggningar"),
    "fx_rates": ("fx", "exchange rates", "valutakurser", "valutakurs", "kurser", "rates"),
}

#: a header this bare names the data set's key
_GENERIC_KEY = ("id", "nr", "no", "nummer", "number", "num")
_CENTS = re.compile(r"\b(øre|ører|öre|oere|cents?)\b")
_TAX_EXCLUDED = re.compile(r"\b(eks|ekskl|exkl|excl|ex|excluding|exklusive|eksklusiv|uten|utan|uden)\s+"
                           r"(mva|moms|vat|tax|skatt)\b")
_CURRENCY_WORDS = re.compile(r"\b(?:(?:i|in)\s+)?(nok|sek|dkk|eur|usd|gbp|kr|kroner|kronor)\b")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ł": "l"})


def spaced(text: str) -> str:
    """Lower case, brackets' contents and punctuation gone, words separated by one space."""
    t = unicodedata.normalize("NFKC", str(text)).casefold()
    t = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", t)
    return " ".join(re.findall(r"[^\W_]+", t))


def compact(text: str) -> str:
    """``spaced`` without the spaces: "Kunde-ID", "kunde_id" and "KundeID" are all "kundeid"."""
    return spaced(text).replace(" ", "")


def fold(text: str) -> str:
    """Diacritics folded (ø→o, å→a, ä→a, é→e): the fallback comparison."""
    t = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in t if not unicodedata.combining(ch))


def _names(own: str, others: tuple[str, ...]) -> tuple[set[str], set[str]]:
    exact = {compact(own), *(compact(s) for s in others)}
    return exact, {fold(s) for s in exact}


_COLUMN_NAMES = {c: _names(c, COLUMN_SYNONYMS.get(c, ())) for ds in DATASETS.values() for c in ds.column_names}


def _column_names(column: str) -> tuple[set[str], set[str]]:
    if column not in _COLUMN_NAMES:
        _COLUMN_NAMES[column] = _names(column, COLUMN_SYNONYMS.get(column, ()))
    return _COLUMN_NAMES[column]


def fit(header: str, column: str, ds: Dataset) -> int:
    """How well a header names a column of ``ds``: 6 our name, 5 a synonym, 4 a synonym with diacritics
    folded, 3 or 2 the same without a currency or "excluding tax" in the header, 1 a bare "id" for the
    data set's key; 0 not at all."""
    exact, folded = _column_names(column)
    sp = spaced(header)
    c = sp.replace(" ", "")
    if not c:
        return 0
    if c == compact(column):
        return 6
    if c in exact:
        return 5
    if fold(c) in folded:
        return 4
    bare = _CURRENCY_WORDS.sub(" ", _TAX_EXCLUDED.sub(" ", sp)).replace(" ", "")
    if bare and bare != c:
        if bare in exact:
            return 3
        if fold(bare) in folded:
            return 2
    if column == ds.key and c in _GENERIC_KEY:
        return 1
    return 0


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------
@dataclass
class FileHeaders:
    """One data file's headers (or why they could not be read)."""

    path: Path
    headers: list[str] = field(default_factory=list)
    dialect: Dialect | None = None  #: a CSV file's encoding and separator
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def read_headers(path: Path) -> FileHeaders:
    """The header row of a data file, reading nothing more than it needs."""
    out = FileHeaders(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            out.dialect = detect(path)
            with open(path, encoding=out.dialect.codec, newline="") as fh:
                out.headers = next(csv.reader(fh, delimiter=out.dialect.separator), [])
        elif suffix == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                row = next(wb.worksheets[0].iter_rows(min_row=1, max_row=1, values_only=True), ())
            finally:
                wb.close()
            vals = ["" if v is None else str(v) for v in row]
            while vals and not vals[-1].strip():
                vals.pop()
            out.headers = vals
        elif suffix == ".parquet":
            import pyarrow.parquet as pq

            out.headers = [str(n) for n in pq.read_schema(path).names]
    except DialectError as err:
        out.problem = str(err)
    except Exception as err:  # noqa: BLE001 - any reader's failure (openpyxl, pyarrow, csv): named, left out
        out.problem = f"{path.name}: cannot be read ({type(err).__name__}: {err})"
    return out


# --------------------------------------------------------------------------
# Columns of one data set
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Ambiguity:
    """Headers and columns that fit each other equally well: the user chooses."""

    pairs: tuple[tuple[str, str], ...]  #: (our column, header)

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for c, _ in self.pairs))

    @property
    def headers(self) -> list[str]:
        return list(dict.fromkeys(h for _, h in self.pairs))


@dataclass
class ColumnMatch:
    """Which header of a file is which column of a data set."""

    dataset: Dataset
    mapped: dict[str, str] = field(default_factory=dict)  #: our column -> header
    ambiguous: list[Ambiguity] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  #: headers no column took

    @property
    def undecided(self) -> set[str]:
        return {c for a in self.ambiguous for c in a.columns}

    @property
    def missing(self) -> list[str]:
        """Required columns neither mapped nor among the choices left to the user."""
        return [c.name for c in self.dataset.columns if c.required and c.name not in self.mapped
                and c.name not in self.undecided]

    @property
    def missing_optional(self) -> list[str]:
        return [c.name for c in self.dataset.columns if not c.required and c.name not in self.mapped
                and c.name not in self.undecided]

    def coverage(self, required_only: bool) -> Fraction:
        cols = [c.name for c in self.dataset.columns if c.required or not required_only]
        found = [c for c in cols if c in self.mapped or c in self.undecided]
        return Fraction(len(found), len(cols)) if cols else Fraction(0)


def match_columns(headers: list[str], ds: Dataset) -> ColumnMatch:
    """Map headers to the columns of ``ds``, best fits first; equal best fits are left to the user."""
    out = ColumnMatch(ds)
    cols = list(ds.column_names)
    hs = [h for h in dict.fromkeys(headers) if h.strip()]
    scores = {(c, h): fit(h, c, ds) for c in cols for h in hs}
    free_c, free_h = set(cols), set(hs)
    while True:
        live = {k: s for k, s in scores.items() if s and k[0] in free_c and k[1] in free_h}
        if not live:
            break
        best = max(live.values())
        top = [k for k, s in live.items() if s == best]
        # groups of columns and headers joined by equal best fits
        while top:
            group = [top.pop(0)]
            grew = True
            while grew:
                grew = False
                for k in list(top):
                    if any(k[0] == g[0] or k[1] == g[1] for g in group):
                        group.append(k)
                        top.remove(k)
                        grew = True
            if len(group) == 1:
                out.mapped[group[0][0]] = group[0][1]
            else:
                order = {c: i for i, c in enumerate(cols)}
                out.ambiguous.append(Ambiguity(tuple(sorted(group, key=lambda k: (order[k[0]], hs.index(k[1]))))))
            free_c -= {c for c, _ in group}
            free_h -= {h for _, h in group}
    out.mapped = {c: out.mapped[c] for c in cols if c in out.mapped}
    out.unused = [h for h in hs if h in free_h]
    return out


# --------------------------------------------------------------------------
# Files of a folder
# --------------------------------------------------------------------------
def name_fit(path: Path, ds: Dataset) -> Fraction:
    """1 when a file's name is a name of the data set, 4/5 when it holds one (``Kunder 2026.csv``), else 0."""
    stem = fold(compact(path.stem))
    names = {fold(compact(n)) for n in (ds.name, *FILE_SYNONYMS.get(ds.name, ()))}
    if stem in names:
        return Fraction(1)
    if any(len(n) >= 3 and n in stem for n in names):
        return Fraction(4, 5)
    return Fraction(0)


@dataclass
class Proposal:
    """A proposed mapping for one data folder."""

    data_dir: Path
    files: list[FileHeaders]
    chosen: dict[str, tuple[FileHeaders, ColumnMatch]]  #: data set -> its file and columns, schema order
    undecided_files: list[tuple[list[str], list[str]]]  #: (files, data sets) that fit each other equally

    @property
    def unused_files(self) -> list[FileHeaders]:
        taken = {f.name for f, _ in self.chosen.values()} | {n for fs, _ in self.undecided_files for n in fs}
        return [f for f in self.files if f.name not in taken]

    @property
    def not_found(self) -> list[str]:
        undecided = {d for _, ds in self.undecided_files for d in ds}
        return [d for d in DATASETS if d not in self.chosen and d not in undecided]


def data_files(data_dir: Path) -> list[Path]:
    """The data files of a folder (not Excel's lock files ``~$x.xlsx`` or hidden files)."""
    return sorted(p for p in Path(data_dir).iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                  and not p.name.startswith(("~$", ".")))


def propose(data_dir: Path) -> Proposal:
    """Which file is which data set and which header which column, from the headers of ``data_dir``."""
    files = [read_headers(p) for p in data_files(data_dir)]
    matches: dict[tuple[str, str], ColumnMatch] = {}
    scores: dict[tuple[str, str], tuple[Fraction, Fraction]] = {}
    by_name = {f.name: f for f in files}
    for f in files:
        if f.problem:
            continue
        for ds in DATASETS.values():
            m = match_columns(f.headers, ds)
            named, req = name_fit(f.path, ds), m.coverage(True)
            if named or req >= Fraction(1, 2):
                matches[f.name, ds.name] = m
                scores[f.name, ds.name] = (named + req, m.coverage(False))
    chosen: dict[str, tuple[FileHeaders, ColumnMatch]] = {}
    undecided: list[tuple[list[str], list[str]]] = []
    free_f, free_d = {f.name for f in files}, set(DATASETS)
    while True:
        live = {k: s for k, s in scores.items() if k[0] in free_f and k[1] in free_d}
        if not live:
            break
        best = max(live.values())
        first = next(k for k, s in live.items() if s == best)
        rivals = [k for k, s in live.items() if s == best and (k[0] == first[0] or k[1] == first[1])]
        if len(rivals) == 1:
            chosen[first[1]] = (by_name[first[0]], matches[first])
        else:
            undecided.append((sorted({f for f, _ in rivals}), [d for d in DATASETS if d in {d for _, d in rivals}]))
        free_f -= {f for f, _ in rivals}
        free_d -= {d for _, d in rivals}
    ordered = {d: chosen[d] for d in DATASETS if d in chosen}
    return Proposal(Path(data_dir), files, ordered, undecided)


# --------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------
def toml_string(text: str) -> str:
    """A TOML basic string."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


#: Dialect.encoding -> the mapping file's encoding setting (None: plain UTF-8, written as a comment only)
_ENCODING_KEYS = {"UTF-8": None, "UTF-8 with BOM": None, "UTF-16 LE": "utf-16", "UTF-16 BE": "utf-16",
                  "UTF-16": "utf-16", "Windows-1252": "windows-1252", "Latin-1": "latin-1"}


def _dialect_lines(dia: Dialect) -> list[str]:
    lines = [f"# read as {dia.describe()}"]
    enc = _ENCODING_KEYS.get(dia.encoding, dia.encoding.lower())
    if enc:
        lines.append(f"encoding = {toml_string(enc)}")
    if dia.separator != ",":
        lines.append(f"separator = {toml_string(dia.separator)}")
    return lines


#: a Norwegian word for a column's value, in the commented value maps
_EXAMPLE_WORDS = {"subscription": "abonnement", "one_time": "engangs", "refund": "kreditnota"}

_HEAD = """\
# Mapping file for kpi build: which file is which data set, and which of its headers is which column.
# Proposed by `kpi map` from the headers of the files in this folder. REVIEW IT before building:
#   - each [data set] names its file; in [data set.columns] our column (left, as in docs/reports.md)
#     takes the values of your header (right);
#   - lines starting with # are not read. A commented "column = ..." line is a choice left to you
#     (two headers fit equally, or no header was found): remove the # of the right one, or fill it in;
#   - numbers and dates are read as each column writes them (kpi build prints what it detected); set
#     decimal, thousands or dates in a table only to fix a reading.
"""


def render(p: Proposal) -> str:
    """The proposed mapping file's text (TOML, in the format ``kpi build`` reads)."""
    out = [_HEAD]
    mapped_cols = {c for _, m in p.chosen.values() for c in m.mapped} | \
                  {c for _, m in p.chosen.values() for a in m.ambiguous for c in a.columns}
    build = []
    if "invoices" in p.chosen and "subscriptions" in p.chosen:
        build.append('# billing = "invoices"      # both invoices and subscriptions are here: say which the MRR '
                     'comes from ("invoices" or "subscriptions")')
    if "currency" in mapped_cols:
        build.append('# currency = "NOK"          # a currency column is mapped: name the reporting currency')
    if build:
        out += ["# [build]", *build, ""]
    for name, (f, m) in p.chosen.items():
        ds = m.dataset
        out.append(f"[{name}]")
        out.append(f"file = {toml_string(f.name)}")
        if f.dialect is not None:
            out += _dialect_lines(f.dialect)
        out.append("")
        out.append(f"[{name}.columns]")
        for col, header in m.mapped.items():
            out.append(f"{col} = {toml_string(header)}")
        for a in m.ambiguous:
            hs = ", ".join(toml_string(h) for h in a.headers)
            out.append(f"# {' and '.join(a.columns)}: the headers {hs} fit equally; keep the right line:"
                       if len(a.headers) > 1 else
                       f"# the header {hs} fits {' and '.join(a.columns)} equally; keep the right line:")
            out += [f"# {c} = {toml_string(h)}" for c, h in a.pairs]
        for col in m.missing:
            out.append(f'# {col} = ""    # required: no header found; write yours, or give every row one '
                       f"value in [{name}.constants]")
        if m.missing_optional:
            out.append(f"# not found (optional, left blank): {', '.join(m.missing_optional)}")
        if m.unused:
            out.append(f"# headers not used: {', '.join(toml_string(h) for h in m.unused)}")
        cents = [c for c, h in m.mapped.items() if ds.column(c).unit == "money" and _CENTS.search(h.casefold())]
        if cents:
            out += ["", "# the header says the amounts are in øre/cents: divide them by 100 after reading",
                    f"# [{name}.scale]", *(f"# {c} = 0.01" for c in cents)]
        if "billing_months" in m.mapped and compact(m.mapped["billing_months"]) != compact("billing_months"):
            out += ["", f"# if {toml_string(m.mapped['billing_months'])} holds words rather than months, map them:",
                    f"# [{name}.values.billing_months]", '# "måned" = 1', '# "kvartal" = 3', '# "år" = 12']
        for col, header in m.mapped.items():
            choices = ds.column(col).choices
            if choices:
                out += ["", (f"# {col} takes {', '.join(choices)}: if {toml_string(header)} holds other words, "
                             "map them:"), f"# [{name}.values.{col}]",
                        *(f"# {toml_string(_EXAMPLE_WORDS.get(c, '...'))} = {toml_string(c)}" for c in choices)]
        out.append("")
    for fs, dss in p.undecided_files:
        out.append(f"# {', '.join(fs)}: fit{'s' if len(fs) == 1 else ''} {' and '.join(dss)} equally (by name and "
                   "headers); write the right table yourself, e.g.")
        out += [f"# [{dss[0]}]", f"# file = {toml_string(fs[0])}", ""]
    for f in p.files:
        if f.problem:
            out.append(f"# not read: {f.problem}")
    unused = [f.name for f in p.unused_files if not f.problem]
    if unused:
        out.append(f"# files that fit no data set: {', '.join(unused)}")
    if p.not_found:
        out.append(f"# data sets with no file here: {', '.join(p.not_found)}")
    return "\n".join(out).rstrip("\n") + "\n"


def summary_lines(p: Proposal) -> list[str]:
    """What was mapped and what was not, one line per data set (for the terminal)."""
    out = []
    for name, (f, m) in p.chosen.items():
        read = f" (read as {f.dialect.describe().split(': ', 1)[1]})" if f.dialect is not None else ""
        line = f"{name} <- {f.name}{read}: {len(m.mapped)} of {len(m.dataset.columns)} column(s) mapped"
        if m.missing:
            line += f"; NOT MAPPED (required): {', '.join(m.missing)}"
        for a in m.ambiguous:
            line += f"; {' / '.join(a.columns)}: left to you ({', '.join(repr(h) for h in a.headers)} fit equally)"
        if m.missing_optional:
            line += f"; not found (optional): {', '.join(m.missing_optional)}"
        out.append(line)
    for fs, dss in p.undecided_files:
        out.append(f"{' / '.join(dss)}: left to you ({', '.join(fs)} fit equally)")
    for f in p.files:
        if f.problem:
            out.append(f"not read: {f.problem}")
    unused = [f.name for f in p.unused_files if not f.problem]
    if unused:
        out.append(f"files that fit no data set: {', '.join(unused)}")
    if p.not_found:
        out.append(f"data sets with no file: {', '.join(p.not_found)}")
    return out
