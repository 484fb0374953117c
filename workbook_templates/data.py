"""Reading and checking the input data files (CSV, XLSX, Parquet).

Every cell is checked against its column's schema (type, blank, domain), keys
must be unique, later timestamps may not precede earlier ones, and rows must
name a known customer. A bad cell is never coerced or dropped: it becomes a
:class:`RowIssue` naming the file, the row (counted as in a spreadsheet: the
header is row 1) and the column. A report that uses a data set with bad rows
in its scope fails and lists them.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpi_functions import EXCEL_ERRORS

from . import data_checks as _checks
from . import dialect as _dialect
from .data_errors import DataError, RowIssue
from .data_errors import show as _show
from .dialect import Dialect, DialectError, Forced
from .mapping import Mapping, TableMap, read_mapping
from .readers import MAX_COLUMNS, read_raw
from .schema import DATASETS, ColumnSchema, Dataset
from .settings import DEFAULT_SETTINGS, DataSettings

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "MAX_TEXT", "DataError", "RowIssue", "Table", "find_files", "load_all",
           "load_dataset", "missing_file"]

#: the most rows a data file may have (None: no limit). A table longer than a worksheet is read in full: the
#: report's layout then summarises it (the large-data layout, :mod:`.build.large`) or, with ``--layout
#: standard``, refuses the report (:func:`.builder.check_grid`). An .xlsx file holds a worksheet's rows at most.
MAX_ROWS: int | None = None

#: Excel's limit of characters in a cell (rows and columns: :mod:`workbook_templates.readers`).
MAX_TEXT = 32767
_ERRORS = EXCEL_ERRORS


_NOT_GIVEN = np.zeros(0, dtype=bool)


@dataclass
class Table:
    """A loaded data set: typed columns in schema order plus where each row came from."""

    dataset: Dataset
    df: pd.DataFrame  #: schema columns only, typed; bad cells are NaN/None
    rows: np.ndarray  #: spreadsheet row number of each df row in its file
    file: str  #: file name as shown in messages
    issues: list[RowIssue] = field(default_factory=list)
    bad: np.ndarray = field(default_factory=lambda: _NOT_GIVEN)  #: bool per row: the row has an issue
    notices: list[str] = field(default_factory=list)
    dialect: Dialect | None = None  #: how a CSV file was written (None for .xlsx and .parquet)
    headers: dict[str, str] = field(default_factory=dict)  #: our column -> the file's header (for messages)
    fx: Any = None  #: the currency conversion applied to the table (:class:`.fx.TableFx`; None: none asked for)
    derived: str = ""  #: how the rows were made from the file, when they are not its rows (invoices)

    def __post_init__(self) -> None:
        if self.bad is _NOT_GIVEN or self.bad is None:  # not given: no row has an issue
            self.bad = np.zeros(len(self.df), dtype=bool)

    def subset(self, mask: np.ndarray) -> Table:
        mask = np.asarray(mask, dtype=bool)
        kept_rows = set(self.rows[mask].tolist())
        issues = [i for i in self.issues if i.row is None or i.row in kept_rows]
        return Table(self.dataset, self.df.loc[mask].reset_index(drop=True), self.rows[mask], self.file,
                     issues, self.bad[mask], list(self.notices), self.dialect, self.headers, self.fx, self.derived)

    def replace_df(self, df: pd.DataFrame) -> Table:
        return Table(self.dataset, df.reset_index(drop=True), self.rows, self.file, list(self.issues),
                     self.bad, list(self.notices), self.dialect, self.headers, self.fx, self.derived)

    def issue(self, row: int | None, column: str | None, message: str) -> RowIssue:
        """A bad cell of this table, naming the column by the file's header."""
        return RowIssue(self.file, row, column, message, self.headers.get(column or ""))


# --------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------
def find_files(data_dir: Path, mapping: Mapping | None = None) -> dict[str, Path]:
    """The data file of each known data set found in ``data_dir``: the one the mapping file names, else
    the one with the data set's name.

    File names are matched case-insensitively (``Subscriptions.CSV`` is
    fine); two files for one data set (``nps_responses.csv`` and
    ``nps_responses.xlsx``) are an error rather than a silent choice, and so is a file that the mapping
    gives to one data set while its name makes it another's.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist")
    mapped = {name: tm for name, tm in (mapping.tables.items() if mapping else ()) if tm.file is not None}
    found: dict[str, list[Path]] = {}
    for p in sorted(data_dir.iterdir()):
        if not p.is_file():
            continue
        low = p.name.lower()
        for ds in DATASETS.values():
            if low in ds.filenames and ds.name not in mapped:
                found.setdefault(ds.name, []).append(p)
    out = {}
    for name, paths in found.items():
        if len(paths) > 1:
            raise DataError(f"more than one file for data set {name}: {', '.join(p.name for p in paths)}; keep one")
        out[name] = paths[0]
    for name, tm in mapped.items():
        assert tm.file is not None and mapping is not None
        for other, p in out.items():
            if p.resolve() == tm.file.resolve():
                raise DataError(f"{mapping.where(tm.file_line)}: [{name}] file {tm.file.name!r} is by its name the "
                                f"{other} file too; give [{other}] a file of its own in {mapping.name}")
        out[name] = tm.file
    return out


# --------------------------------------------------------------------------
# Cell parsing, vectorised per column
# --------------------------------------------------------------------------
def _all_str(s: pd.Series) -> bool:
    """True when every cell is a Python str (a CSV column)."""
    if s.dtype != object or not len(s):
        return False
    return pd.api.types.infer_dtype(s, skipna=False) == "string"


def _blank_mask(s: pd.Series, stripped: pd.Series | None = None) -> np.ndarray:
    """Blank cells: missing, or text of nothing but white space. ``stripped``: the column's texts stripped
    (given for a column of texts only, :func:`_stripped`)."""
    if stripped is not None:
        return np.asarray(stripped.to_numpy(dtype=object) == "", dtype=bool)
    m = np.array(pd.isna(s), dtype=bool)
    if s.dtype == object and len(s):
        v = s.to_numpy(dtype=object)
        if _all_str(s):
            return np.asarray(_checks.stripped(v) == "", dtype=bool)
        strs = np.flatnonzero(_checks.is_str(v))
        m[strs] |= np.asarray(_checks.stripped(v[strs]) == "", dtype=bool)
    return m


def _is_text_series(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


#: the dates a spreadsheet cell holds exactly (serial 61 … 2958465); dates stay in
#: milliseconds, so every one of them compares and computes exactly
_FIRST_SHEET_DATE = np.datetime64("1900-03-01", "ms")
_AFTER_LAST_SHEET_DATE = np.datetime64("10000-01-01", "ms")


#: ``flag(indexes, message_of)``: mark those rows bad, each with its issue
_Flag = Callable[[Iterable[int], Callable[[int], str]], None]


def _parse_column(s: pd.Series, col: ColumnSchema, file: str, rows: np.ndarray,
                  issues: list[RowIssue], bad: np.ndarray, dia: Dialect | None = None,
                  header: str | None = None, given: np.ndarray | None = None, scale: float | None = None,
                  dataset: str = "data set") -> pd.Series:
    """One column's cells, typed; each bad cell flagged. ``given``: rows whose value comes from elsewhere
    (a value map), never blank; ``scale``: a factor for a number column (applied before min/max)."""
    # a column of texts (a CSV column) is stripped once, for the blanks and every parser
    stripped = pd.Series(_checks.stripped(s.to_numpy(dtype=object)), index=s.index, dtype=object,
                         name=s.name) if _all_str(s) else None
    blank = _blank_mask(s, stripped)
    shown = header if header is not None and header != col.name else None

    def flag(idx: Iterable[int], msg_of: Callable[[int], str]) -> None:
        for i in idx:
            bad[i] = True
            issues.append(RowIssue(file, int(rows[i]), col.name, msg_of(i), shown))

    required_blank = blank if given is None else blank & ~given
    if col.required and required_blank.any():
        flag(np.flatnonzero(required_blank), lambda i: "is blank; a value is required")
    if given is not None:
        blank = blank | given
    forced = dia.forced.column(col.name) if dia is not None and dia.forced is not None else None
    if col.type in ("number", "integer"):
        return _parse_numbers(s, col, file, blank, flag, dia, header, scale, forced, dataset, stripped)
    if col.type in ("date", "datetime", "month"):
        return _parse_dates(s, col, blank, flag, dia, f"{file}, column {header or col.name}", forced, dataset,
                            stripped)
    return _parse_texts(s, col, file, blank, flag, stripped)


def _scaled(v: np.ndarray, scale: float) -> np.ndarray:
    """Values times ``scale``; a scale of 1/N (0.01: cents) divides by N, so 12345 cents are exactly 123.45."""
    inv = 1 / scale
    n = round(inv)
    if abs(inv) >= 1 and abs(inv - n) <= 1e-9 * abs(inv):
        return v / n
    return v * scale


def _parse_numbers(s: pd.Series, col: ColumnSchema, file: str, blank: np.ndarray, flag: _Flag,
                   dia: Dialect | None = None, header: str | None = None, scale: float | None = None,
                   forced: Forced | None = None, dataset: str = "data set",
                   stripped: pd.Series | None = None) -> pd.Series:
    values = _checks.cells(s)  # the user's values, for the messages about bad cells
    out = np.full(len(s), np.nan)
    nb = np.flatnonzero(~blank)
    badi: np.ndarray
    reading: _dialect.NumberReading | None = None
    map_name = forced.map_name if forced is not None else "kpi.toml"
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out[nb] = s.to_numpy(dtype=float, na_value=np.nan)[nb]
        badi = np.array([], dtype=int)
    elif stripped is not None and file.lower().endswith(".csv"):
        t = stripped.iloc[nb]
        parsed = np.array(pd.to_numeric(t, errors="coerce"), dtype=float)
        special = t.str.lower().str.lstrip("+-").isin(["nan", "inf", "infinity"]).to_numpy()
        parsed[special] = np.nan
        if dia is not None:
            reading, parsed = _dialect.number_reading(t, parsed, dia.separator == ",",
                                                      f"{file}, column {header or col.name}",
                                                      _dialect.allowed_readings(forced), map_name, dataset)
            _dialect.record(dia, col.name, reading, t)
        badi = nb[np.isnan(parsed)]
        out[nb] = parsed
    else:
        raw = s.to_numpy(dtype=object)[nb]
        parsed = np.full(nb.size, np.nan)
        bad_k: list[int] = []
        for k, v in enumerate(raw):
            if isinstance(v, (bool, np.bool_)):
                bad_k.append(k)
            elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                parsed[k] = float(v)
            elif isinstance(v, str) and file.lower().endswith(".csv"):
                t = v.strip()
                try:
                    f = float(t)
                except ValueError:
                    bad_k.append(k)
                    continue
                if t.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
                    bad_k.append(k)
                    continue
                parsed[k] = f
            else:
                bad_k.append(k)
        out[nb] = parsed
        badi = nb[np.array(bad_k, dtype=int)] if bad_k else np.array([], dtype=int)

    def not_number(i: int) -> str:
        v = values[i]
        if isinstance(v, str) and v.strip() in _ERRORS:
            return f"holds the error {v.strip()}"
        if isinstance(v, str) and not file.lower().endswith(".csv"):
            return f"{_show(v)} is text; a number is needed (numbers stored as text are text)"
        if reading is not None and isinstance(v, str):
            how = forced.set_by("decimal", "thousands") if forced is not None else ""
            hint = _dialect.number_hint(v.strip(), reading, map_name)
            if not reading.plain or hint or how:
                return (f"{_show(v)} is not a number in a column read with {reading}"
                        f"{f' ({how})' if how else ''}{hint}")
        return f"{_show(v)} is not a number"

    flag(badi, not_number)
    ok = ~np.isnan(out)
    inf = np.flatnonzero(ok & ~np.isfinite(out))
    flag(inf, lambda i: f"{out[i]} is not a finite number")
    out[inf] = np.nan
    if scale is not None:
        out = _scaled(out, scale)
    ok = np.isfinite(out)

    def value(i: int) -> str:
        """The value read, with the file's text when that is written otherwise: '1 200,50' (1200.5)."""
        got = f"{out[i]:g}"
        after = f" after scale {scale:g}" if scale is not None else ""
        raw = values[i]
        if isinstance(raw, str) and (raw.strip() != got or after):
            return f"{_show(raw.strip())} ({got}{after})"
        return got + (f" ({_show(raw)}{after})" if after else "")

    if col.type == "integer":
        frac = np.flatnonzero(ok & (out != np.floor(np.where(ok, out, 0))))
        flag(frac, lambda i: f"{value(i)} is not a whole number")
        out[frac] = np.nan
    lowest, highest = col.min, col.max
    if lowest is not None:
        lo = np.flatnonzero(ok & (out < lowest))
        flag(lo, lambda i: f"{value(i)} is below the minimum {lowest:g}")
        out[lo] = np.nan
    if highest is not None:
        hi = np.flatnonzero(np.isfinite(out) & (out > highest))
        flag(hi, lambda i: f"{value(i)} is above the maximum {highest:g}")
        out[hi] = np.nan
    return pd.Series(out, name=col.name)


def _parse_dates(s: pd.Series, col: ColumnSchema, blank: np.ndarray, flag: _Flag, dia: Dialect | None = None,
                 where: str = "", forced: Forced | None = None, dataset: str = "data set",
                 stripped: pd.Series | None = None) -> pd.Series:
    # milliseconds end to end: datetime64[ns] ends at 2262-04-11 and numpy's
    # casts to it wrap later dates round silently (2600-01-01 read as 2015-06-13)
    values = _checks.cells(s)  # the user's values, for the messages about bad cells
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ms]")
    nb = np.flatnonzero(~blank)
    badi: np.ndarray
    fmt: str | None = None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):  # Parquet timestamps in any unit, with or without a zone
        ser = s.dt.tz_localize(None) if getattr(s.dtype, "tz", None) is not None else s
        out[nb] = ser.to_numpy(dtype="datetime64[ms]")[nb]
        badi = np.array([], dtype=int)
    else:
        # texts only: no cell to look at one by one
        raw = s.to_numpy(dtype=object)[nb] if stripped is None else np.zeros(0, dtype=object)
        bad_k: list[int] = []
        strs_k: list[int] | np.ndarray = [] if stripped is None else np.arange(nb.size)
        strs_v: list[str] | pd.Series = [] if stripped is None else stripped.iloc[nb].reset_index(drop=True)
        for k, v in enumerate(raw):
            if isinstance(v, pd.Timestamp):
                out[nb[k]] = (v.tz_localize(None) if v.tz is not None else v).to_datetime64().astype("datetime64[ms]")
            elif isinstance(v, _dt.datetime):
                out[nb[k]] = np.datetime64(v.replace(tzinfo=None), "ms")
            elif isinstance(v, _dt.date):
                out[nb[k]] = np.datetime64(v, "D").astype("datetime64[ms]")
            elif isinstance(v, str):
                assert isinstance(strs_k, list) and isinstance(strs_v, list)
                strs_k.append(k)
                strs_v.append(v.strip())
            else:
                bad_k.append(k)
        if len(strs_v):
            texts = pd.Series(strs_v, dtype=object)
            set_fmt = forced.dates if forced is not None and dia is not None else None
            if set_fmt is not None and set_fmt not in ("yyyy-mm-dd", "yyyy-mm"):
                clock, iso = _dialect.forced_dates(texts, set_fmt, col.type)
                parsed, not_a_date = _checks.parse_iso_once(iso)
                fmt = set_fmt
                assert dia is not None
                dia.dates[col.name] = fmt + clock
            elif set_fmt is not None:
                _, iso = _dialect.forced_dates(texts, set_fmt, col.type)
                parsed, not_a_date = _checks.parse_iso_once(iso)
                fmt = set_fmt
            else:
                parsed, not_a_date = _checks.parse_iso_once(texts)
            if dia is not None and set_fmt is None and not_a_date.any():
                other = _dialect.date_reading(texts, ~not_a_date, col.type, where,
                                              forced.map_name if forced is not None else "kpi.toml", dataset)
                if other is not None:
                    fmt, clock, iso = other
                    parsed, not_a_date = _checks.parse_iso_once(iso)
                    dia.dates[col.name] = fmt + clock
            ok = ~not_a_date
            if col.type == "date":  # a date column takes a date, not a time of day
                has_time = ok & (parsed != parsed.astype("datetime64[D]").astype("datetime64[ms]"))
                for j in np.flatnonzero(has_time):
                    bad_k.append(strs_k[j])
                ok &= ~has_time
            pk = np.array(strs_k)
            out[nb[pk[ok]]] = parsed[ok]
            bad_k.extend(pk[~ok].tolist())
        badi = nb[np.unique(np.array(bad_k, dtype=int))] if bad_k else np.array([], dtype=int)
    what = {"date": "a date such as 2026-03-15", "datetime": "a date and time such as 2026-03-15T09:30",
            "month": "a month such as 2026-03"}[col.type]
    if fmt is not None:
        ex = _dialect.EXAMPLES[fmt]
        how = forced.set_by("dates") if forced is not None and forced.dates is not None else ""
        what = {"date": f"a date such as {ex}", "datetime": f"a date and time such as {ex} 09:30",
                "month": f"a month such as {ex}"}[col.type] + f" (the column is read as {fmt}" + \
            (f", {how})" if how else ")")

    def not_date(i: int) -> str:
        v = values[i]
        if isinstance(v, str) and v.strip() in _ERRORS:
            return f"holds the error {v.strip()}"
        return f"{_show(v)} is not {what}"

    flag(badi, not_date)
    ok = ~np.isnat(out)
    oor = np.flatnonzero(ok & ((out < _FIRST_SHEET_DATE) | (out >= _AFTER_LAST_SHEET_DATE)))

    def outside(i: int) -> str:
        v = values[i]
        shown = _show(v) if isinstance(v, str) else str(out[i].astype("datetime64[D]" if col.type != "datetime"
                                                                       else "datetime64[s]"))
        return f"{shown} is outside the dates a spreadsheet can hold (1900-03-01 to 9999-12-31)"

    flag(oor, outside)
    out[oor] = np.datetime64("NaT")
    if col.type == "month":
        out = out.astype("datetime64[M]").astype("datetime64[ms]")
    return pd.Series(out, name=col.name)


def _parse_texts(s: pd.Series, col: ColumnSchema, file: str, blank: np.ndarray, flag: _Flag,
                 stripped: pd.Series | None = None) -> pd.Series:
    """Identifiers and text."""
    values = _checks.objects(s)
    out = np.full(len(s), None, dtype=object)
    problems: dict[int, str] = {}
    todo = np.flatnonzero(~blank)
    # the texts at once: an identifier stripped, no error value, not too long (the cells left, which are
    # not texts or fail a check, are looked at one by one below)
    src = _checks.shared(stripped.to_numpy(dtype=object)) if stripped is not None and col.type == "id" else values
    sub = src[todo]
    texts_only = stripped is not None or pd.api.types.infer_dtype(sub, skipna=False) == "string"
    strs = np.arange(len(sub)) if texts_only else np.flatnonzero(_checks.is_str(sub))
    t = sub[strs] if len(strs) < len(sub) else sub
    if stripped is None and col.type == "id":
        t = _checks.stripped(t)
    ok = _checks.lengths(t) <= MAX_TEXT if _checks.longest(t) > MAX_TEXT else np.ones(len(t), dtype=bool)
    if col.type == "id":
        ok &= ~pd.Series(t, dtype=object).isin(list(_ERRORS)).to_numpy(dtype=bool)
    out[todo[strs[ok]]] = t[ok]
    left = np.ones(len(todo), dtype=bool)
    left[strs[ok]] = False
    todo = todo[left]
    del src, sub, t
    needed = "an identifier" if col.type == "id" else "text"
    for i in todo.tolist():
        v = values[i]
        if isinstance(v, str):
            text = v if col.type == "text" else v.strip()
            if col.type == "id" and text in _ERRORS:
                problems[i] = f"holds the error {text}"
                continue
            if len(text) > MAX_TEXT:
                problems[i] = f"has {len(text)} characters; a cell holds at most {MAX_TEXT}"
                continue
            out[i] = text
        elif isinstance(v, (bool, np.bool_)):
            problems[i] = f"{v!r} is a boolean; {needed} is needed"
        elif isinstance(v, (int, np.integer)) or (
                isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer()):
            out[i] = str(int(v))
        elif col.type == "text" and isinstance(v, (float, np.floating)) and math.isfinite(v):
            out[i] = repr(float(v))
        else:
            problems[i] = f"{_show(v)} is not {needed}"
    flag(problems, problems.__getitem__)
    if col.choices:
        choices = col.choices
        filled = np.flatnonzero(~blank)
        got = out[filled]
        flag(filled[~pd.isna(got) & ~pd.Series(got, dtype=object).isin(list(choices)).to_numpy(dtype=bool)],
             lambda i: f"{_show(out[i])} is not one of {', '.join(choices)}")
    return pd.Series(out, name=col.name, dtype=object)


def _key(header: object) -> str:
    """A header as columns are matched: case and spaces ignored."""
    return str(header).strip().lower().replace(" ", "_")


def _match_columns(ds: Dataset, raw: pd.DataFrame, file: str, tm: TableMap) -> dict[str, object]:
    """Our column -> the file's column that holds it: the header the mapping names, else our own name."""
    at = tm.where
    norm: dict[str, object] = {}
    for c in raw.columns:
        if _key(c) in norm:
            raise DataError(f"{file}: column {c!r} appears twice")
        norm[_key(c)] = c
    listed = ", ".join(repr(str(c)) for c in raw.columns)
    headers: dict[str, object] = {}
    for col in ds.columns:
        if col.name in tm.columns:
            theirs = tm.columns[col.name]
            if _key(theirs) not in norm:
                raise DataError(f"{file}: has no column {theirs!r}, which {at('columns', col.name)} names as "
                                f"{col.name}; its columns are {listed}")
            headers[col.name] = norm[_key(theirs)]
        elif col.name in tm.constants:
            if col.name in norm:
                raise DataError(f"{at('constants', col.name)}: [{ds.name}.constants] gives {col.name} one value for "
                                f"every row, but {file} has a column {str(norm[col.name])!r}; remove the constant or "
                                f"map that column to another of ours under [{ds.name}.columns]")
        elif col.name in norm and norm[col.name] not in headers.values():
            headers[col.name] = norm[col.name]
    for sub, named in (("values", tm.values), ("scale", tm.scale), ("formats", tm.forced.columns)):
        for col_name in named:
            if col_name not in headers:
                raise DataError(f"{at(sub, col_name)}: [{ds.name}.{sub}] {col_name}: {file} has no such column "
                                f"(its columns are {listed}); name its header under [{ds.name}.columns]")
    missing = [c.name for c in ds.columns if c.required and c.name not in headers and c.name not in tm.constants]
    if missing:
        raise DataError(f"{file}: missing column(s) {', '.join(missing)}; expected {', '.join(ds.column_names)}. "
                        f"Its columns are {listed}: say which is which under [{ds.name}.columns] in "
                        f"{tm.forced.map_name} (kpi map --data DIR proposes one), or give a column absent from the "
                        f"file one value under [{ds.name}.constants]")
    return headers


def _one_value(ds: Dataset, col: ColumnSchema, v: object, where: str, what: str) -> pd.Series:
    """A value from the mapping file, checked against its column's schema as a cell is: a Series of one."""
    iss: list[RowIssue] = []
    parsed = _parse_column(pd.Series([v], dtype=object), col, where, np.array([0]), iss, np.zeros(1, dtype=bool))
    if iss:
        raise DataError(f"{where}: [{ds.name}.{what}] {v!r} for {col.name}: {iss[0].message}")
    return parsed


def _cell_key(v: object) -> str:
    """A cell as value maps match it: text with case and surrounding space ignored; numbers as written."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip().casefold()


def load_dataset(ds: Dataset, path: Path, mapping: TableMap | None = None) -> Table:
    """Read and check one data file (as the mapping file's table for its data set says, when given)."""
    tm = mapping if mapping is not None else TableMap(ds.name)
    csv_file = path.suffix.lower() == ".csv"
    if tm.csv_line and not csv_file:
        raise DataError(f"{tm.forced.map_name} line {tm.csv_line}: [{ds.name}] says how a CSV file is written, but "
                        f"{path.name} is not a CSV file")
    found: list[Dialect] = []
    raw, first_row = read_raw(path, found, tm.forced if csv_file else None, MAX_ROWS, MAX_COLUMNS)
    # a text column in pandas' string dtype (pandas 3 reads Parquet texts so) or categorical is checked as the
    # object column pandas 2 reads: white space alone is a blank cell, whatever the dtype and the pandas
    for c in [c for c in raw.columns if _checks.text_dtype(raw[c])]:
        raw[c] = pd.Series(_checks.objects(raw[c]), index=raw.index, dtype=object)
    dia = found[0] if found else None
    file = path.name
    issues: list[RowIssue] = []
    notices: list[str] = []
    # columns: matched by name (ours or the one the mapping gives), case- and space-insensitively
    headers = _match_columns(ds, raw, file, tm)
    used = {_key(h) for h in headers.values()}
    extra = [str(c) for c in raw.columns if _key(c) not in used]
    if extra:
        notices.append(f"{file}: column(s) not used by the reports: {', '.join(extra)}")
    shown = {c: str(h) for c, h in headers.items() if str(h) != c}
    n = len(raw)
    if MAX_ROWS is not None and n > MAX_ROWS:
        raise DataError(f"{file}: {n} rows; a worksheet holds at most {MAX_ROWS}")
    rows = first_row if isinstance(first_row, np.ndarray) else np.arange(first_row, first_row + n)
    # rows blank in every cell are layout, not data (a trailing empty line); keep them out quietly only when
    # every column is blank — they hold nothing that could be dropped
    if n:
        # narrowed column by column: after the first column only its blank rows are looked at
        blank_rows = np.arange(n)
        for c in raw.columns:
            if not blank_rows.size:
                break
            cells = raw[c] if blank_rows.size == n else raw[c].iloc[blank_rows]
            blank_rows = blank_rows[_blank_mask(cells)]
        all_blank = np.zeros(n, dtype=bool)
        all_blank[blank_rows] = True
        if all_blank.any():
            raw = raw.loc[~all_blank].reset_index(drop=True)
            rows = rows[~all_blank]
            n = len(raw)
    bad = np.zeros(n, dtype=bool)
    cols = {}
    for col in ds.columns:
        if col.name in headers:
            cell = raw[headers[col.name]].reset_index(drop=True)
            vmap = tm.values.get(col.name, {})
            keys = cell.map(_cell_key) if vmap else None
            given = keys.isin(list(vmap)).to_numpy(dtype=bool) if keys is not None else None
            try:
                parsed = _parse_column(cell, col, file, rows, issues, bad, dia, str(headers[col.name]), given,
                                       tm.scale.get(col.name), ds.name)
            except DialectError as err:
                raise DataError(str(err)) from err
            if keys is not None and given is not None:
                for text, v in vmap.items():  # each value checked, used or not: a mistake is a mistake
                    one = _one_value(ds, col, v, tm.where("values", col.name, text), f"values.{col.name}")
                    hit = np.flatnonzero(given & (keys == text).to_numpy(dtype=bool))
                    if hit.size:
                        parsed.iloc[hit] = one.iloc[0]
            cols[col.name] = parsed
        elif col.name in tm.constants:
            one = _one_value(ds, col, tm.constants[col.name], tm.where("constants", col.name), "constants")
            cols[col.name] = one.iloc[np.zeros(n, dtype=int)].reset_index(drop=True)
        else:
            cols[col.name] = pd.Series([None] * n, dtype=object, name=col.name)
    df = pd.DataFrame(cols)
    clash = np.zeros(0, dtype=np.int64)
    if ds.key:
        k = df[ds.key]
        # repeated keys (with the row each first appears in) and keys differing only in case, from one
        # factorisation (not one scan of the column per repeat: a file of a million copies of one row took hours)
        dup, dup_first, clash = _checks.key_checks(k)
        if ds.column(ds.key).type != "id":
            clash = np.zeros(0, dtype=np.int64)
        if dup.any():
            first_row = rows[dup_first]
            bad[dup] = True
            for at, first in zip(np.flatnonzero(dup).tolist(), first_row.tolist()):
                issues.append(RowIssue(file, int(rows[at]), ds.key, f"{_show(k.iloc[at])} repeats the key of row "
                                       f"{int(first)}", shown.get(ds.key)))
    for early, late in ds.ordered:
        e, l_ = df[early], df[late]
        wrong = (e.notna() & l_.notna() & (l_ < e)).to_numpy()
        for i in np.flatnonzero(wrong):
            bad[i] = True
            issues.append(RowIssue(file, int(rows[i]), late, f"{l_.iloc[i]} is before {early} {e.iloc[i]}",
                                   shown.get(late)))
    key = ds.key or ""
    for idx in clash.tolist():  # identifiers Excel would confuse (lookups ignore case)
        bad[idx] = True
        issues.append(RowIssue(file, int(rows[idx]), key, f"{_show(df.at[idx, key])} differs from another key "
                               "only in upper/lower case; spreadsheets treat them as the same", shown.get(key)))
    issues.sort(key=lambda x: (x.row or 0))
    return Table(ds, df, rows, file, issues, bad, notices, dia, shown)


_NO_FILE = "no {name} file in "  #: how load_all's message for a data set without a file begins


def missing_file(name: str, error: str) -> bool:
    """Whether ``error`` (load_all's message for the data set ``name``) says its file is missing, rather than
    that a file is there but cannot be read."""
    return error.startswith(_NO_FILE.format(name=name))


def load_all(data_dir: Path, names: Iterable[str] | None = None,
             settings: DataSettings = DEFAULT_SETTINGS) -> tuple[dict[str, Table], dict[str, str]]:
    """Load the data sets found in ``data_dir`` (read with ``settings``); returns tables and per-data-set
    fatal errors."""
    mapping = read_mapping(Path(data_dir), settings)
    settings = mapping.settings  # flags over the mapping file's [build]: what the steps below read
    files = find_files(Path(data_dir), mapping)
    tables: dict[str, Table] = {}
    errors: dict[str, str] = {}
    wanted = list(names) if names is not None else list(DATASETS)
    wanted += ["invoices"] if "invoices" not in wanted and {"subscriptions", "orders"} & set(wanted) else []
    for name in wanted:
        ds = DATASETS[name]
        if name not in files:
            if ds.optional:  # an optional data set (exchange rates, invoices): absent is as before
                continue
            errors[name] = (f"{_NO_FILE.format(name=ds.name)}{data_dir} (expected {' or '.join(ds.filenames)}, or "
                            f"the file named by file = \"...\" under [{name}] in {mapping.name})")
            continue
        try:
            tables[name] = load_dataset(ds, files[name], mapping.table(name))
        except DataError as err:
            errors[name] = str(err)
    from .invoices import derive_billing  # step 2: MRR from invoices when the folder has them

    derive_billing(tables, errors, files, settings)
    # step 3, currencies: money columns converted to the reporting currency (workbook_templates.fx)
    from .fx import convert_currencies

    convert_currencies(tables, errors, settings, data_dir)
    # referential integrity: every customer_id must be a customer
    cust = tables.get("customers")
    if cust is not None:
        known = set(cust.df["customer_id"].dropna().tolist())
        for name, t in tables.items():
            col = t.dataset.customer_column
            if not col:
                continue
            ids = t.df[col]
            unknown = (ids.notna() & ~ids.isin(known)).to_numpy()
            for i in np.flatnonzero(unknown):
                t.bad[i] = True
                t.issues.append(t.issue(int(t.rows[i]), col, f"{_show(ids.iloc[i])} is not a customer_id of {cust.file}"))
    return tables, errors


def file_signature(data_dir: Path, settings: DataSettings = DEFAULT_SETTINGS) -> tuple:
    """Names, sizes and modification times of the data files and the mapping file (a cache key)."""
    mapping = read_mapping(Path(data_dir), settings)
    out = []
    if mapping.path is not None:
        st = os.stat(mapping.path)
        out.append(("mapping file", str(mapping.path), st.st_size, st.st_mtime_ns))
    for name, p in sorted(find_files(Path(data_dir), mapping).items()):
        st = os.stat(p)
        out.append((name, str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)
