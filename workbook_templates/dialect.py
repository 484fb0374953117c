"""How a CSV file is written: its encoding, separator, and how each column writes numbers and dates.

Everything is detected per file (and per column for numbers and dates) and never guessed: when two
readings both fit a file or a column and give different values, the file is refused, naming both.

* Encoding: a byte-order mark says UTF-8, UTF-16 LE or UTF-16 BE; without one the file is UTF-8 when
  its bytes are valid UTF-8, else Windows-1252 (what Excel's "CSV" writes on Windows in Nordic and
  German locales). Bytes valid in both are always read as UTF-8.
* Separator: ``,`` ``;`` TAB or ``|``, the one under which the header and the first lines form a
  table of one width with more than one column. Two such separators are refused.
* Numbers: decimal point or decimal comma, with or without one thousands separator (``.`` ``,``
  space, no-break space, narrow no-break space, apostrophe), decided per column from all its values.
* Dates: ``yyyy-mm-dd`` (ISO, as before), ``dd.mm.yyyy``, ``dd-mm-yyyy``, ``dd/mm/yyyy``,
  ``mm/dd/yyyy``, each with an optional ``hh:mm[:ss]``; months also as ``mm.yyyy``.

Every part can be set instead (:class:`Forced`, from ``kpi build`` flags or the mapping file): a set
part is not detected but checked — an encoding must decode the file (and not contradict its byte-order
mark), a separator must give a table of one width, and values that do not fit a set number reading or
date format are bad cells whose message says which setting read them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DATE_SETTINGS", "DEFAULT_SEPARATOR", "ENCODINGS", "MONTH_SETTINGS", "SEPARATOR_SETTINGS",
           "THOUSANDS_SETTINGS", "Dialect", "DialectError", "Forced", "NumberReading", "allowed_readings",
           "date_reading", "detect", "forced_dates", "number_hint", "number_reading"]

DEFAULT_SEPARATOR = ","
SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "','", ";": "';'", "\t": "TAB", "|": "'|'"}
#: lines looked at to find the separator
_SAMPLE_BYTES = 1 << 16
_SAMPLE_LINES = 50


class DialectError(Exception):
    """A file or column can be read in two ways that give different values (or in no way at all)."""


# --------------------------------------------------------------------------
# The settings a user can give (mapping file keys and ``kpi build`` flags), one table each
# --------------------------------------------------------------------------
#: setting -> (name shown, Python codec). "utf-8" takes a byte-order mark too (Excel's "CSV UTF-8" has one)
ENCODINGS = {"utf-8": ("UTF-8", "utf-8-sig"), "utf-8-sig": ("UTF-8 with BOM", "utf-8-sig"),
             "utf-16": ("UTF-16", "utf-16"), "utf-16-le": ("UTF-16 LE", "utf-16-le"),
             "utf-16-be": ("UTF-16 BE", "utf-16-be"), "windows-1252": ("Windows-1252", "cp1252"),
             "latin-1": ("Latin-1", "latin-1")}
ENCODING_ALIASES = {"utf8": "utf-8", "utf8-sig": "utf-8-sig", "utf16": "utf-16", "cp1252": "windows-1252",
                    "latin1": "latin-1", "iso-8859-1": "latin-1"}
#: setting -> separator (the characters themselves, and names for those awkward on a command line)
SEPARATOR_SETTINGS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t", "|": "|", "pipe": "|",
                      "comma": ",", "semicolon": ";"}
#: setting -> thousands separator ("" for none); the characters themselves work too
THOUSANDS_SETTINGS = {"none": "", "": "", ".": ".", ",": ",", "space": " ", " ": " ", "nbsp": "\u00a0",
                      "\u00a0": "\u00a0", "nnbsp": "\u202f", "\u202f": "\u202f", "'": "'", "apostrophe": "'"}
#: thousands separator -> its setting, as hints write it
THOUSANDS_SETTING_NAMES = {"": "none", " ": "space", "\u00a0": "nbsp", "\u202f": "nnbsp", ".": ".", ",": ",",
                           "'": "'"}
DATE_SETTINGS = ("yyyy-mm-dd", "dd.mm.yyyy", "dd-mm-yyyy", "dd/mm/yyyy", "mm/dd/yyyy")
MONTH_SETTINGS = ("yyyy-mm", "mm.yyyy", "mm-yyyy", "mm/yyyy")  #: for one month column (``formats``)


@dataclass(frozen=True)
class Forced:
    """The parts of a file's dialect set by the user (None: detect it), each with where it was set.

    ``columns`` holds per-column settings (``decimal``, ``thousands``, ``dates``), which win over the
    file's; ``origin`` maps a setting (``"decimal"``, or ``"amount.decimal"`` for a column) to where it
    was set (``"--decimal"``, ``"kpi.toml line 4"``); ``map_name`` is the mapping file hints name.
    """

    encoding: str | None = None  #: a key of ENCODINGS
    separator: str | None = None
    decimal: str | None = None
    thousands: str | None = None  #: "" for none
    dates: str | None = None  #: one of DATE_SETTINGS (or MONTH_SETTINGS for a month column)
    columns: dict[str, Forced] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    map_name: str = "kpi.toml"

    def column(self, name: str) -> Forced:
        """The settings that read one column: its own where given, else the file's."""
        own = self.columns.get(name)
        if own is None:
            return self
        origin = dict(self.origin)
        for key in ("decimal", "thousands", "dates"):
            if getattr(own, key) is not None:
                origin[key] = own.origin.get(key, "")
        return Forced(self.encoding, self.separator, own.decimal if own.decimal is not None else self.decimal,
                      own.thousands if own.thousands is not None else self.thousands,
                      own.dates if own.dates is not None else self.dates, {}, origin, self.map_name)

    def set_by(self, *keys: str) -> str:
        """ "(set by --decimal)" or "(set by decimal in kpi.toml line 4)" for the first key given."""
        for k in keys:
            if k in self.origin and getattr(self, k) is not None:
                o = self.origin[k]
                return f"set by {o}" if o.startswith("--") else f"set by {k} in {o}"
        return ""


@dataclass
class Dialect:
    """What was detected for one CSV file."""

    file: str
    encoding: str  #: as shown to people: "UTF-8", "UTF-8 with BOM", "UTF-16 LE", "UTF-16 BE", "Windows-1252"
    codec: str  #: Python codec used to read it
    separator: str = DEFAULT_SEPARATOR
    decimals: dict[str, str] = field(default_factory=dict)  #: column -> "decimal point"/"decimal comma", where shown
    thousands: dict[str, str] = field(default_factory=dict)  #: column -> thousands separator, where used
    dates: dict[str, str] = field(default_factory=dict)  #: column -> date format, e.g. "dd.mm.yyyy"
    forced: Forced | None = None  #: the parts set by the user

    @property
    def is_default(self) -> bool:
        """The plain dialect the reader always took: comma, UTF-8, decimal point, ISO dates."""
        return (self.separator == "," and self.encoding in ("UTF-8", "UTF-8 with BOM")
                and all(r == "decimal point" for r in self.decimals.values()) and not self.thousands
                and all(f.startswith("yyyy-mm") for f in self.dates.values()))

    def describe(self) -> str:
        """One line: "subscriptions.csv: ';'-separated, decimal comma, dates dd.mm.yyyy, Windows-1252"."""
        parts = [f"{_SEP_NAMES[self.separator]}-separated"]
        for what in (self.decimals, self.thousands):
            kinds = sorted(set(what.values()))
            if len(kinds) == 1:
                parts.append(kinds[0])
            elif kinds:
                parts.append(", ".join(f"{k} ({', '.join(c for c, v in what.items() if v == k)})" for k in kinds))
        formats = sorted(set(self.dates.values()))
        if len(formats) == 1:
            parts.append(f"dates {formats[0]}")
        elif formats:
            parts.append("dates " + "; ".join(
                f"{f} ({', '.join(c for c, v in self.dates.items() if v == f)})" for f in formats))
        parts.append(self.encoding)
        return f"{self.file}: {', '.join(parts)}"


# --------------------------------------------------------------------------
# Encoding and separator
# --------------------------------------------------------------------------
def _encoding(path: Path) -> tuple[str, str]:
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "UTF-8 with BOM", "utf-8-sig"
        if head.startswith(codecs.BOM_UTF16_LE):
            return "UTF-16 LE", "utf-16"
        if head.startswith(codecs.BOM_UTF16_BE):
            return "UTF-16 BE", "utf-16"
        fh.seek(0)
        head = fh.read(_SAMPLE_BYTES)
        if head.count(b"\x00") * 4 > len(head):  # UTF-16 text is every other byte NUL (a stray NUL is a cell's)
            raise DialectError(f"{path.name}: holds NUL bytes, as UTF-16 text without a byte-order mark does; "
                               "save it again as CSV UTF-8 (or as Unicode text, which has the mark)")
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                dec.decode(chunk)
            dec.decode(b"", final=True)
            return "UTF-8", "utf-8-sig"
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        legacy = codecs.getincrementaldecoder("cp1252")()
        try:
            while chunk := fh.read(1 << 20):
                legacy.decode(chunk)
        except UnicodeDecodeError as err:
            raise DialectError(f"{path.name}: is neither UTF-8 nor Windows-1252 text ({err}); save it again "
                               "as CSV UTF-8") from err
        return "Windows-1252", "cp1252"


def _records(path: Path, codec: str, sep: str) -> list[list[str]]:
    with open(path, encoding=codec, newline="") as fh:
        text = fh.read(_SAMPLE_BYTES)
        more = fh.read(1) != ""
    if more:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut] if cut > 0 else text
    out: list[list[str]] = []
    for rec in csv.reader(io.StringIO(text, newline=""), delimiter=sep):
        out.append(rec)
        if len(out) > _SAMPLE_LINES:
            break
    else:
        if more and len(out) > 1:  # the sample ended inside the last record read (a long quoted field)
            out.pop()
    return out


def _separator(path: Path, codec: str) -> str:
    consistent = []
    widths = {}
    for sep in SEPARATORS:
        recs = _records(path, codec, sep)
        if not recs:
            return DEFAULT_SEPARATOR
        width = len(recs[0])
        widths[sep] = width
        if width > 1 and all(len(r) == width for r in recs[1:] if r):
            consistent.append(sep)
    if len(consistent) == 1:
        return consistent[0]
    if len(consistent) > 1:
        names = " and ".join(_SEP_NAMES[s] for s in consistent)
        raise DialectError(f"{path.name}: the header and the first lines form a table with {names} alike as "
                           "separator; cannot tell which separates the columns")
    # no separator gives one width (a bad row): ask the sniffer, else the widest header, commas first
    try:
        with open(path, encoding=codec, newline="") as fh:
            sniffed = csv.Sniffer().sniff(fh.read(_SAMPLE_BYTES), delimiters="".join(SEPARATORS)).delimiter
    except (csv.Error, UnicodeDecodeError):
        sniffed = ""
    if sniffed in widths and widths[sniffed] > 1 and widths[sniffed] >= widths[DEFAULT_SEPARATOR]:
        return sniffed
    best = max(SEPARATORS, key=lambda s: (widths.get(s, 0), s == DEFAULT_SEPARATOR))
    return best if widths.get(best, 0) > 1 else DEFAULT_SEPARATOR


def _bom(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "UTF-8"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "UTF-16 LE"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "UTF-16 BE"
    return None


def _forced_encoding(path: Path, forced: Forced) -> tuple[str, str]:
    """The encoding the user set, checked: it agrees with the byte-order mark, and decodes every byte."""
    key = forced.encoding
    assert key is not None
    shown, codec = ENCODINGS[key]
    how = forced.set_by("encoding")
    bom = _bom(path)
    if bom is not None:
        fits = (bom == "UTF-8" and key in ("utf-8", "utf-8-sig")) or (
            bom.startswith("UTF-16") and (key == "utf-16" or shown == bom))
        if not fits:
            raise DialectError(f"{path.name}: starts with the byte-order mark of {bom}, but is to be read as {shown} "
                               f"({how}); remove the setting (the mark says how the file is written) or save the "
                               "file again in that encoding")
        if bom == "UTF-8":
            return "UTF-8 with BOM", "utf-8-sig"
        return bom, "utf-16"
    if key == "utf-16":
        raise DialectError(f"{path.name}: has no byte-order mark, so encoding utf-16 ({how}) does not say which byte "
                           'order it has; set encoding = "utf-16-le" or "utf-16-be"')
    if key == "utf-8-sig":
        shown = "UTF-8"
    dec = codecs.getincrementaldecoder(codec)()
    lines = 0
    non_ascii = False
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            non_ascii = non_ascii or max(chunk) >= 0x80
            try:
                lines += dec.decode(chunk).count("\n")
            except UnicodeDecodeError as err:
                line = lines + chunk[:err.start].decode(codec, errors="replace").count("\n") + 1
                raise DialectError(f"{path.name} line {line}: byte {chunk[err.start]:#04x} is not {shown} text "
                                   f"({how}){_other_encoding(path)}") from err
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError as err:
            raise DialectError(f"{path.name}: ends inside a character, so it is not {shown} text "
                               f"({how}){_other_encoding(path)}") from err
    if codec in ("cp1252", "latin-1") and non_ascii:
        detected = _other_encoding(path)
        if detected.startswith("; it reads as UTF-8"):  # a legacy reading of UTF-8 text turns 'ø' into 'Ã¸'
            raise DialectError(f"{path.name}: its letters beyond ASCII are UTF-8, but it is to be read as {shown} "
                               f"({how}), which would read 'ø' as 'Ã¸'{detected}")
    return shown, codec


def _other_encoding(path: Path) -> str:
    """"; it reads as UTF-8: set encoding = ..." when detection finds an encoding, else ""."""
    try:
        shown, codec = _encoding(path)
    except DialectError:
        return ""
    key = {"utf-8-sig": "utf-8", "cp1252": "windows-1252", "utf-16": "utf-16"}[codec]
    return f"; it reads as {shown}: set encoding = \"{key}\" or remove the setting"


def _forced_separator(path: Path, codec: str, forced: Forced) -> str:
    """The separator the user set, checked: the header and the first lines form a table of one width."""
    sep = forced.separator
    assert sep is not None
    how = forced.set_by("separator")
    recs = _records(path, codec, sep)
    if not recs:
        return sep
    width = len(recs[0])
    if width < 2:
        try:
            found = f"; it looks {_SEP_NAMES[_separator(path, codec)]}-separated"
        except DialectError:
            found = ""
        raise DialectError(f"{path.name}: split at {_SEP_NAMES[sep]} ({how}) its header is one column "
                           f"{recs[0][0] if recs[0] else ''!r}{found}")
    for i, r in enumerate(recs[1:], start=2):
        if r and len(r) != width:
            raise DialectError(f"{path.name} record {i}: {len(r)} fields when split at {_SEP_NAMES[sep]} ({how}), "
                               f"but the header has {width} columns")
    return sep


def detect(path: Path, forced: Forced | None = None) -> Dialect:
    """The encoding and separator of a CSV file (numbers and dates are decided later, per column): those
    ``forced`` sets, checked against the file, else detected."""
    if forced is not None and forced.encoding is not None:
        encoding, codec = _forced_encoding(path, forced)
    else:
        encoding, codec = _encoding(path)
    if forced is not None and forced.separator is not None:
        sep = _forced_separator(path, codec, forced)
    else:
        sep = _separator(path, codec)
    return Dialect(path.name, encoding, codec, sep, forced=forced)


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
_THOUSANDS_NAMES = {",": "','", ".": "'.'", " ": "space", "\u00a0": "no-break space",
                    "\u202f": "narrow no-break space", "'": "apostrophe"}


@dataclass(frozen=True)
class NumberReading:
    decimal: str  #: "." or ","
    thousands: str | None = None

    @property
    def plain(self) -> bool:
        return self.decimal == "." and self.thousands is None

    def __str__(self) -> str:
        out = "decimal point" if self.decimal == "." else "decimal comma"
        if self.thousands is not None:
            out += f" and thousands separator {_THOUSANDS_NAMES[self.thousands]}"
        return out

    @property
    def pattern(self) -> str:
        d = re.escape(self.decimal)
        whole = rf"(?:\d{{1,3}}(?:{re.escape(self.thousands)}\d{{3}})+|\d+)" if self.thousands else r"\d+"
        return rf"[+-]?{whole}(?:{d}\d+)?"

    def parse(self, t: pd.Series) -> np.ndarray:
        """Values of stripped texts under this reading; NaN where a text does not fit it."""
        fits = t.str.fullmatch(self.pattern).to_numpy(dtype=bool, na_value=False)
        u = t
        if self.thousands:
            u = u.str.replace(self.thousands, "", regex=False)
        if self.decimal == ",":
            u = u.str.replace(",", ".", regex=False)
        out = np.array(pd.to_numeric(u.where(fits, ""), errors="coerce"), dtype=float)
        out[~fits] = np.nan
        return out


PLAIN = NumberReading(".")
#: plain first: it wins ties, so a column that reads as before is read as before
READINGS = (PLAIN, NumberReading(","),
            *(NumberReading(".", g) for g in (",", " ", "\u00a0", "\u202f", "'")),
            *(NumberReading(",", g) for g in (".", " ", "\u00a0", "\u202f", "'")))


def record(dia: Dialect, column: str, reading: NumberReading, t: pd.Series) -> None:
    """Note on ``dia`` what a column's values show of its reading (nothing for plain whole numbers)."""
    if reading.thousands is not None and bool(t.str.contains(reading.thousands, regex=False).any()):
        dia.thousands[column] = f"thousands separator {_THOUSANDS_NAMES[reading.thousands]}"
    if bool(t.str.contains(reading.decimal, regex=False).any()):
        dia.decimals[column] = "decimal point" if reading.decimal == "." else "decimal comma"


def allowed_readings(forced: Forced | None) -> tuple[NumberReading, ...] | None:
    """The number readings a column's settings leave (None: nothing set, detect among all)."""
    if forced is None or (forced.decimal is None and forced.thousands is None):
        return None
    return tuple(r for r in READINGS if (forced.decimal is None or r.decimal == forced.decimal)
                 and (forced.thousands is None or (r.thousands or "") == forced.thousands))


def number_hint(text: str, reading: NumberReading | None, map_name: str = "kpi.toml") -> str:
    """ " — set decimal = "," and thousands = "space" in kpi.toml or --decimal , --thousands space?" when
    ``text`` is a number under another reading than the column's, else ""."""
    other = fitting_reading(text)
    if other is None or other == reading:
        return ""
    keys = f'decimal = "{other.decimal}"'
    flags = f"--decimal {other.decimal}"
    if other.thousands is not None:
        name = THOUSANDS_SETTING_NAMES[other.thousands]
        keys += f' and thousands = "{name}"'
        flags += f" --thousands {name if name != chr(39) else repr(name)}"
    return f" — set {keys} in {map_name} or {flags}?"


_SETTLE_NUMBERS = ('; set how it is written: decimal = "." or "," and thousands = "none", ".", ",", "space", "nbsp", '
                   "\"nnbsp\" or \"'\" in {map} (for the file, or for this column under [{dataset}.formats]), or "
                   "--decimal and --thousands on kpi build")


def number_reading(t: pd.Series, plain: np.ndarray, comma_file: bool, where: str,
                   allowed: tuple[NumberReading, ...] | None = None,
                   map_name: str = "kpi.toml", dataset: str = "data set") -> tuple[NumberReading, np.ndarray]:
    """The one reading of a column of stripped texts and its values (NaN where a text does not fit).

    ``plain`` holds the values as the reader always parsed them. A comma-separated file whose column
    reads that way throughout is read that way (as before). Otherwise every reading is tried (only those
    in ``allowed`` when the user set the decimal mark or thousands separator); among those that fit every
    value, two giving different values are refused; when none fits every value, the one fitting most
    values is taken and the others are bad cells.
    """
    ok = ~np.isnan(plain)
    if allowed is None and comma_file and ok.all():
        return PLAIN, plain
    candidates = READINGS if allowed is None else allowed
    results = [(PLAIN, plain, int(ok.sum()))] if PLAIN in candidates else []
    codes, uniq = pd.factorize(t.to_numpy(dtype=object))  # each distinct text once (amounts repeat a lot)
    u = pd.Series(uniq, dtype=object)
    present = {c for c in ",.' \u00a0\u202f" if bool(u.str.contains(c, regex=False).any())}
    for r in candidates:
        if r == PLAIN:
            continue
        # a thousands separator the column never shows reads as that decimal mark alone, and a decimal comma
        # the column never shows reads whole numbers only (a subset of the plain reading): nothing to try
        # (unless the user left only such readings)
        if allowed is None and ((r.thousands is not None and r.thousands not in present)
                                or (r == NumberReading(",") and "," not in present)):
            continue
        v = r.parse(u)[codes]
        results.append((r, v, int((~np.isnan(v)).sum())))
    n = len(t)
    full = [(r, v) for r, v, c in results if c == n and n]
    if full:
        # of readings giving the same values, one whose decimal mark the column shows (for the description)
        full.sort(key=lambda rv: not bool(u.str.contains(rv[0].decimal, regex=False).any()))
        first_r, first_v = full[0]
        for r, v in full[1:]:
            if not np.array_equal(v, first_v, equal_nan=True):
                k = int(np.flatnonzero(v != first_v)[0])
                raise DialectError(
                    f"{where}: cannot tell how its numbers are written: {t.iloc[k]!r} reads as {first_v[k]:.15g} "
                    f"with {first_r} or as {v[k]:.15g} with {r}, and no value in the column settles it; refused "
                    "rather than guessed" + _SETTLE_NUMBERS.format(map=map_name, dataset=dataset))
        return first_r, first_v
    best = max(results, key=lambda x: x[2])  # max keeps the first of equals: plain wins ties
    return best[0], best[1]


def fitting_reading(text: str) -> NumberReading | None:
    """A reading under which one text is a number (for messages about a bad cell)."""
    for r in READINGS:
        if re.fullmatch(r.pattern, text):
            return r
    return None


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------
_DATE_RE = r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_MONTH_RE = r"(\d{1,2})\.(\d{4})"
#: format name -> (separator, day first)
_FORMATS = {"dd.mm.yyyy": (".", True), "dd-mm-yyyy": ("-", True), "dd/mm/yyyy": ("/", True),
            "mm/dd/yyyy": ("/", False)}
EXAMPLES = {"dd.mm.yyyy": "15.03.2026", "dd-mm-yyyy": "15-03-2026", "dd/mm/yyyy": "15/03/2026",
            "mm/dd/yyyy": "03/15/2026", "mm.yyyy": "03.2026", "yyyy-mm-dd": "2026-03-15", "yyyy-mm": "2026-03",
            "mm-yyyy": "03-2026", "mm/yyyy": "03/2026"}


def date_reading(t: pd.Series, iso_ok: np.ndarray, kind: str, where: str, map_name: str = "kpi.toml",
                 dataset: str = "data set") -> tuple[str, str, pd.Series] | None:
    """The one date format of a column of stripped texts that ISO does not fit throughout.

    Returns None to keep ISO (it fits at least as many values as any other format), else the format,
    the time of day it shows (" hh:mm", " hh:mm:ss" or "") and the texts rewritten as ISO (texts not in
    the format become "" and so are bad cells).
    """
    n_iso = int(iso_ok.sum())
    codes, uniq = pd.factorize(t.to_numpy(dtype=object))  # each distinct text once (dates repeat a lot)
    w = np.bincount(codes, minlength=len(uniq))
    whole = t
    t = pd.Series(uniq, dtype=object)
    m = t.str.fullmatch(_DATE_RE).to_numpy(dtype=bool, na_value=False)
    parts = t.str.extract("^" + _DATE_RE + "$")
    a = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    b = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sep = parts[1]
    counts = {}
    masks = {}
    for name, (s, day_first) in _FORMATS.items():
        day, month = (a, b) if day_first else (b, a)
        fit = m & (sep == s).to_numpy(dtype=bool) & (month <= 12) & (day <= 31)
        masks[name] = fit
        counts[name] = int(w[fit].sum())
    month_fit = np.zeros(len(t), dtype=bool)
    if kind == "month":
        mp = t.str.extract("^" + _MONTH_RE + "$")
        mm = pd.to_numeric(mp[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        month_fit = mm <= 12
        masks["mm.yyyy"] = month_fit
        counts["mm.yyyy"] = int(w[month_fit].sum())
    best = max(counts, key=lambda f: counts[f])
    if counts[best] == 0 or counts[best] <= n_iso:
        return None
    if best == "dd/mm/yyyy" and counts["mm/dd/yyyy"] == counts[best] and (masks[best] & (a != b)).any():
        k = int(np.flatnonzero(masks[best] & (a != b))[0])
        raise DialectError(
            f"{where}: cannot tell whether its dates are dd/mm/yyyy or mm/dd/yyyy: every value fits both (no day "
            f"is above 12), and {t.iloc[k]!r} reads differently under them; refused rather than guessed: set "
            f"dates = \"dd/mm/yyyy\" or \"mm/dd/yyyy\" in {map_name} (for the file, or for this column under "
            f"[{dataset}.formats]), or --dates dd/mm/yyyy on kpi build")
    fit = masks[best]
    clock = ""
    if best == "mm.yyyy":
        iso = parts_month_iso(t)
    else:
        day_first = _FORMATS[best][1]
        dd, mo = (parts[0], parts[2]) if day_first else (parts[2], parts[0])
        iso = parts[3] + "-" + mo.str.zfill(2) + "-" + dd.str.zfill(2)
        has_time = parts[4].notna()
        shown = has_time.to_numpy(dtype=bool) & fit
        if shown.any():
            clock = " hh:mm:ss" if bool(parts[6].notna().to_numpy(dtype=bool)[shown].any()) else " hh:mm"
        if has_time.any():
            tm = "T" + parts[4].str.zfill(2) + ":" + parts[5] + ":" + parts[6].fillna("00")
            iso = iso.where(~has_time, iso + tm)
    iso = iso.where(pd.Series(fit, index=t.index), "").astype(object)
    return best, clock, pd.Series(iso.to_numpy(dtype=object)[codes], index=whole.index, dtype=object)


def parts_month_iso(t: pd.Series) -> pd.Series:
    mp = t.str.extract("^" + _MONTH_RE + "$")
    return mp[1] + "-" + mp[0].str.zfill(2)


def forced_dates(t: pd.Series, fmt: str, kind: str) -> tuple[str, pd.Series]:
    """A column of stripped texts read in the date format the user set: the time of day it shows
    (" hh:mm", " hh:mm:ss" or "") and the texts rewritten as ISO, "" where a text is not in the format.

    A month column set to a date format takes that format's month alone too (``dd.mm.yyyy``:
    ``15.03.2026`` or ``03.2026``; ``yyyy-mm-dd``: ``2026-03-15`` or ``2026-03``).
    """
    codes, uniq = pd.factorize(t.to_numpy(dtype=object))
    whole, t = t, pd.Series(uniq, dtype=object)
    iso = pd.Series([""] * len(t), dtype=object)
    clock = ""
    month_sep = None
    if fmt in MONTH_SETTINGS:
        month_sep = "-" if fmt == "yyyy-mm" else fmt[2]
    elif kind == "month":
        month_sep = "-" if fmt == "yyyy-mm-dd" else fmt[2]
    if fmt in DATE_SETTINGS:
        if fmt == "yyyy-mm-dd":
            d = t.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})((?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?)$")
            y, mo, dd, tm = d[0], d[1], d[2], d[3]
            has_time = tm.fillna("") != ""
            tail = "T" + tm.str[1:].str.replace(r"^(\d):", r"0\1:", regex=True)
        else:
            sep, day_first = _FORMATS[fmt]
            d = t.str.extract("^" + _DATE_RE + "$")
            fits_sep = (d[1] == sep).to_numpy(dtype=bool)
            a, b = d[0].where(fits_sep), d[2].where(fits_sep)
            dd, mo = (a, b) if day_first else (b, a)
            y = d[3].where(fits_sep)
            has_time = d[4].notna() & pd.Series(fits_sep)
            tail = "T" + d[4].str.zfill(2) + ":" + d[5] + ":" + d[6].fillna("00")
            if has_time.any():
                clock = " hh:mm:ss" if bool(d[6].notna().to_numpy(dtype=bool)[has_time.to_numpy(dtype=bool)].any()) \
                    else " hh:mm"
        if fmt == "yyyy-mm-dd" and has_time.any():
            clock = " hh:mm:ss" if bool(tm[has_time].str.count(":").eq(2).any()) else " hh:mm"
        ok = y.notna() & mo.notna() & dd.notna()
        day = y + "-" + mo.str.zfill(2) + "-" + dd.str.zfill(2)
        day = day.where(~has_time, day + tail)
        iso = day.where(ok, "").fillna("").astype(object)
    if month_sep is not None:
        if fmt.startswith("yyyy"):
            mp = t.str.extract(r"^(\d{4})-(\d{1,2})$")
            y, mo = mp[0], mp[1]
        else:
            mp = t.str.extract("^" + r"(\d{1,2})" + re.escape(month_sep) + r"(\d{4})$")
            y, mo = mp[1], mp[0]
        m_ok = y.notna() & mo.notna()
        iso = iso.where(~m_ok, y + "-" + mo.str.zfill(2))
    return clock, pd.Series(iso.to_numpy(dtype=object)[codes], index=whole.index, dtype=object)
