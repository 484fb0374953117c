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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpi_functions import EXCEL_ERRORS, parse_iso

from . import dialect as _dialect
from .dialect import Dialect, DialectError
from .schema import DATASETS, ColumnSchema, Dataset
from .settings import DEFAULT_SETTINGS, DataSettings

__all__ = ["MAX_ROWS", "MAX_TEXT", "DataError", "RowIssue", "Table", "find_files", "load_all", "load_dataset"]

#: Excel's limits: characters in a cell, rows in a sheet (minus the header).
MAX_TEXT = 32767
MAX_ROWS = 1_048_575
MAX_COLUMNS = 16_384  #: columns in a sheet
_ERRORS = EXCEL_ERRORS


_NOT_GIVEN = np.zeros(0, dtype=bool)


class DataError(Exception):
    """A data file cannot be read at all (missing, unreadable, wrong columns)."""


@dataclass(frozen=True)
class RowIssue:
    file: str
    row: int | None  #: spreadsheet row (header = 1); None when about the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


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
    fx: Any = None  #: the currency conversion applied to the table (:class:`.fx.TableFx`; None: none asked for)

    def __post_init__(self) -> None:
        if self.bad is _NOT_GIVEN or self.bad is None:  # not given: no row has an issue
            self.bad = np.zeros(len(self.df), dtype=bool)

    def subset(self, mask: np.ndarray) -> Table:
        mask = np.asarray(mask, dtype=bool)
        kept_rows = set(self.rows[mask].tolist())
        issues = [i for i in self.issues if i.row is None or i.row in kept_rows]
        return Table(self.dataset, self.df.loc[mask].reset_index(drop=True), self.rows[mask], self.file,
                     issues, self.bad[mask], list(self.notices), self.dialect, self.fx)

    def replace_df(self, df: pd.DataFrame) -> Table:
        return Table(self.dataset, df.reset_index(drop=True), self.rows, self.file, list(self.issues),
                     self.bad, list(self.notices), self.dialect, self.fx)


# --------------------------------------------------------------------------
# Finding and reading files
# --------------------------------------------------------------------------
def find_files(data_dir: Path) -> dict[str, Path]:
    """The data file of each known data set found in ``data_dir``.

    File names are matched case-insensitively (``Subscriptions.CSV`` is
    fine); two files for one data set (``nps_responses.csv`` and
    ``nps_responses.xlsx``) are an error rather than a silent choice.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist")
    found: dict[str, list[Path]] = {}
    for p in sorted(data_dir.iterdir()):
        if not p.is_file():
            continue
        low = p.name.lower()
        for ds in DATASETS.values():
            if low in ds.filenames:
                found.setdefault(ds.name, []).append(p)
    out = {}
    for name, paths in found.items():
        if len(paths) > 1:
            raise DataError(f"more than one file for data set {name}: {', '.join(p.name for p in paths)}; keep one")
        out[name] = paths[0]
    return out


#: Excel's grid: row and column indexes a sheet can hold
_SHEET_ROWS = 1_048_576
_SHEET_COLUMNS = 16_384


def _is_blank_value(v: object) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The first sheet of an .xlsx, streamed row by row with the sheet's own row numbers.

    openpyxl's read-only ``iter_rows`` pads: a row at r=30,000,000 yields 30 M empty rows, one cell at XFD pads
    every row to 16,384 values, and it trusts ``<dimension>``. Its row parser (the loop ``iter_rows`` itself runs)
    yields (row index, cells present) instead, so the grid limits are checked on sight, only the header's columns
    are kept, and rows out of order (which ``iter_rows`` drops without a word) are refused. The parser is private
    to openpyxl, hence the upper bound on openpyxl in pyproject.toml.
    """
    import inspect

    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import WorkSheetParser

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        where = f"{path.name}, sheet {ws.title!r}"
        kw = {"data_only": True, "epoch": wb.epoch, "date_formats": wb._date_formats}
        if "timedelta_formats" in inspect.signature(WorkSheetParser.__init__).parameters:  # openpyxl >= 3.1.3
            kw["timedelta_formats"] = wb._timedelta_formats
        src = ws._get_source()
        try:
            header: list | None = None
            width = 0
            data: list[list] = []
            numbers: list[int] = []
            prev = 0
            for idx, cells in WorkSheetParser(src, ws._shared_strings, **kw).parse():
                if idx > _SHEET_ROWS or idx < 1:
                    ref = f"{get_column_letter(min(cells[0]['column'], _SHEET_COLUMNS))}{idx}" if cells else f"row {idx}"
                    raise DataError(f"{where}: cell {ref} is past the last row of a worksheet ({_SHEET_ROWS})")
                for c in cells:
                    if c["column"] > _SHEET_COLUMNS:
                        raise DataError(f"{where}: cell {get_column_letter(c['column'])}{c['row']} is past the "
                                        f"last column of a worksheet ({_SHEET_COLUMNS}, XFD)")
                    if c["row"] > _SHEET_ROWS:
                        raise DataError(f"{where}: cell {get_column_letter(c['column'])}{c['row']} is past the "
                                        f"last row of a worksheet ({_SHEET_ROWS})")
                if idx <= prev:
                    raise DataError(f"{where}: row {idx} comes after row {prev} in the file; rows out of order "
                                    "or repeated cannot be read safely (save the sheet again from a spreadsheet)")
                prev = idx
                if header is None:
                    if idx != 1:  # no header row: nothing matches a column (as before)
                        return pd.DataFrame(), np.arange(2, 2)
                    vals = [None] * (max((c["column"] for c in cells), default=0))
                    for c in cells:
                        vals[c["column"] - 1] = c["value"]
                    while vals and _is_blank_value(vals[-1]):  # trailing blank cells are not columns
                        vals.pop()
                    header, width = vals, len(vals)
                    continue
                if len(numbers) >= MAX_ROWS:
                    raise DataError(f"{path.name}: more than {MAX_ROWS} rows; a worksheet holds at most {MAX_ROWS}")
                row = [None] * width
                for c in cells:
                    col = c["column"]
                    if col <= width:
                        row[col - 1] = c["value"]
                    elif not _is_blank_value(c["value"]):
                        raise DataError(f"{where}: cell {get_column_letter(col)}{idx} holds {_show(c['value'])} "
                                        f"to the right of the header (its last column is {get_column_letter(width)})"
                                        if width else f"{where}: cell {get_column_letter(col)}{idx} holds "
                                        f"{_show(c['value'])} but the header row is empty")
                data.append(row)
                numbers.append(idx)
        finally:
            src.close()
    finally:
        wb.close()
    if header is None:
        return pd.DataFrame(), np.arange(2, 2)
    cols = ["" if h is None else str(h) for h in header]
    df = pd.DataFrame(data, columns=cols, dtype=object) if data else pd.DataFrame(columns=cols, dtype=object)
    return df, np.array(numbers, dtype=np.int64)



def _read_raw(path: Path, found: list[Dialect] | None = None) -> tuple[pd.DataFrame, np.ndarray | int]:
    """The file as an object DataFrame (all columns) and the sheet row numbers of its data rows (or the row
    number of its first data row when they follow one another). A CSV file's detected dialect is appended
    to ``found``."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            import csv
            import itertools

            try:
                dia = _dialect.detect(path)
            except DialectError as err:
                raise DataError(str(err)) from err
            if found is not None:
                found.append(dia)
            enc, sep = dia.codec, dia.separator

            # the header first: too wide a file is refused before pandas builds its columns, and a name
            # used twice is an error (pandas would rename the second one "x.1" without a word)
            with open(path, encoding=enc, newline="") as fh:
                records = csv.reader(fh, delimiter=sep)
                header = next(records, [])
                first = next(records, None) if len(header) <= MAX_COLUMNS else None
            if len(header) > MAX_COLUMNS:
                raise DataError(f"{path.name}: {len(header)} columns; a worksheet holds at most {MAX_COLUMNS}")
            seen: set[str] = set()
            for h in header:
                key = h.strip().lower().replace(" ", "_")
                if key in seen:
                    raise DataError(f"{path.name}: column {h!r} appears twice")
                seen.add(key)
            # a first data row with more fields than the header would make pandas take the first column as
            # the index and shift every value one column left: refuse it (later rows are pandas' field check)
            if first is not None and len(first) > len(header):
                extra = next((v for v in first[len(header):] if v.strip()), first[len(header)])
                raise DataError(f"{path.name} row 2: {len(first)} fields but the header has {len(header)} "
                                f"columns (extra value {_show(extra)})")
            try:
                # index_col=False: never a column as the index; nrows: stop one row past the limit
                df = pd.read_csv(path, header=0, names=header, index_col=False, nrows=MAX_ROWS + 1, dtype=str,
                                 keep_default_na=False, na_filter=False, encoding=enc, sep=sep,
                                 skip_blank_lines=False)
            except pd.errors.ParserError as err:
                m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
                if not m:
                    raise
                line = int(m.group(2))
                with open(path, encoding=enc, newline="") as fh:  # the error path only: find the value
                    rec = next(itertools.islice(csv.reader(fh, delimiter=sep), line - 1, None), [])
                extra = next((v for v in rec[len(header):] if v.strip()), "".join(rec[len(header):len(header) + 1]))
                raise DataError(f"{path.name} row {line}: {m.group(3)} fields but the header has "
                                f"{len(header)} columns (extra value {_show(extra)})") from err
            if len(df) > MAX_ROWS:
                raise DataError(f"{path.name}: more than {MAX_ROWS} rows; a worksheet holds at most {MAX_ROWS}")
            return df.astype(object), 2
        if suffix == ".xlsx":
            return _read_xlsx(path)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            # the row count is in the file's metadata: refuse a table too long for a worksheet before
            # reading (and decompressing) any of it
            n = pq.ParquetFile(path).metadata.num_rows
            if n > MAX_ROWS:
                raise DataError(f"{path.name}: {n} rows; a worksheet holds at most {MAX_ROWS}")
            df = pd.read_parquet(path)
            return df, 2
    except DataError:
        raise
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise DataError(f"{path.name}: cannot be read ({err})") from err
    except Exception as err:  # parser errors of the readers (pyarrow, openpyxl, csv) have many types
        raise DataError(f"{path.name}: cannot be read ({type(err).__name__}: {err})") from err
    raise DataError(f"{path.name}: unsupported file type (use .csv, .xlsx or .parquet)")


# --------------------------------------------------------------------------
# Cell parsing, vectorised per column
# --------------------------------------------------------------------------
def _all_str(s: pd.Series) -> bool:
    """True when every cell is a Python str (a CSV column)."""
    if s.dtype != object or not len(s):
        return False
    return pd.api.types.infer_dtype(s, skipna=False) == "string"


def _blank_mask(s: pd.Series) -> np.ndarray:
    m = np.array(pd.isna(s), dtype=bool)
    if s.dtype == object and len(s):
        if _all_str(s):
            return (s.str.strip() == "").to_numpy(dtype=bool)
        m |= np.array([isinstance(x, str) and x.strip() == "" for x in s.to_numpy(dtype=object)], dtype=bool)
    return m


def _is_text_series(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


#: the dates a spreadsheet cell holds exactly (serial 61 … 2958465); dates stay in
#: milliseconds, so every one of them compares and computes exactly
_FIRST_SHEET_DATE = np.datetime64("1900-03-01", "ms")
_AFTER_LAST_SHEET_DATE = np.datetime64("10000-01-01", "ms")


def _show(v: object) -> str:
    t = repr(v)
    return t if len(t) <= 40 else t[:37] + "..."


#: ``flag(indexes, message_of)``: mark those rows bad, each with its issue
_Flag = Callable[[Iterable[int], Callable[[int], str]], None]


def _parse_column(s: pd.Series, col: ColumnSchema, file: str, rows: np.ndarray,
                  issues: list[RowIssue], bad: np.ndarray, dia: Dialect | None = None,
                  header: str | None = None) -> pd.Series:
    blank = _blank_mask(s)

    def flag(idx: Iterable[int], msg_of: Callable[[int], str]) -> None:
        for i in idx:
            bad[i] = True
            issues.append(RowIssue(file, int(rows[i]), col.name, msg_of(i)))

    if col.required and blank.any():
        flag(np.flatnonzero(blank), lambda i: "is blank; a value is required")
    if col.type in ("number", "integer"):
        return _parse_numbers(s, col, file, blank, flag, dia, header)
    if col.type in ("date", "datetime", "month"):
        return _parse_dates(s, col, blank, flag, dia, f"{file}, column {header or col.name}")
    return _parse_texts(s, col, file, blank, flag)


def _parse_numbers(s: pd.Series, col: ColumnSchema, file: str, blank: np.ndarray, flag: _Flag,
                   dia: Dialect | None = None, header: str | None = None) -> pd.Series:
    values = s.to_numpy(dtype=object)
    out = np.full(len(s), np.nan)
    nb = np.flatnonzero(~blank)
    badi: np.ndarray
    reading: _dialect.NumberReading | None = None
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out[nb] = s.to_numpy(dtype=float, na_value=np.nan)[nb]
        badi = np.array([], dtype=int)
    elif _all_str(s) and file.lower().endswith(".csv"):
        t = s.iloc[nb].str.strip()
        parsed = np.array(pd.to_numeric(t, errors="coerce"), dtype=float)
        special = t.str.lower().str.lstrip("+-").isin(["nan", "inf", "infinity"]).to_numpy()
        parsed[special] = np.nan
        if dia is not None:
            reading, parsed = _dialect.number_reading(t, parsed, dia.separator == ",",
                                                      f"{file}, column {header or col.name}")
            _dialect.record(dia, col.name, reading, t)
        badi = nb[np.isnan(parsed)]
        out[nb] = parsed
    else:
        raw = values[nb]
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
            other = _dialect.fitting_reading(v.strip())
            if not reading.plain or (other is not None and other != reading):
                return f"{_show(v)} is not a number in a column read with {reading}"
        return f"{_show(v)} is not a number"

    flag(badi, not_number)
    ok = ~np.isnan(out)
    inf = np.flatnonzero(ok & ~np.isfinite(out))
    flag(inf, lambda i: f"{out[i]} is not a finite number")
    out[inf] = np.nan
    ok = np.isfinite(out)
    if col.type == "integer":
        frac = np.flatnonzero(ok & (out != np.floor(np.where(ok, out, 0))))
        flag(frac, lambda i: f"{out[i]:g} is not a whole number")
        out[frac] = np.nan
    lowest, highest = col.min, col.max
    if lowest is not None:
        lo = np.flatnonzero(ok & (out < lowest))
        flag(lo, lambda i: f"{out[i]:g} is below the minimum {lowest:g}")
        out[lo] = np.nan
    if highest is not None:
        hi = np.flatnonzero(np.isfinite(out) & (out > highest))
        flag(hi, lambda i: f"{out[i]:g} is above the maximum {highest:g}")
        out[hi] = np.nan
    return pd.Series(out, name=col.name)


def _parse_dates(s: pd.Series, col: ColumnSchema, blank: np.ndarray, flag: _Flag, dia: Dialect | None = None,
                 where: str = "") -> pd.Series:
    # milliseconds end to end: datetime64[ns] ends at 2262-04-11 and numpy's
    # casts to it wrap later dates round silently (2600-01-01 read as 2015-06-13)
    values = s.to_numpy(dtype=object)
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ms]")
    nb = np.flatnonzero(~blank)
    badi: np.ndarray
    fmt: str | None = None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):  # Parquet timestamps in any unit, with or without a zone
        ser = s.dt.tz_localize(None) if getattr(s.dtype, "tz", None) is not None else s
        out[nb] = ser.to_numpy(dtype="datetime64[ms]")[nb]
        badi = np.array([], dtype=int)
    else:
        raw = values[nb]
        bad_k: list[int] = []
        strs_k: list[int] = []
        strs_v: list[str] = []
        for k, v in enumerate(raw):
            if isinstance(v, pd.Timestamp):
                out[nb[k]] = (v.tz_localize(None) if v.tz is not None else v).to_datetime64().astype("datetime64[ms]")
            elif isinstance(v, _dt.datetime):
                out[nb[k]] = np.datetime64(v.replace(tzinfo=None), "ms")
            elif isinstance(v, _dt.date):
                out[nb[k]] = np.datetime64(v, "D").astype("datetime64[ms]")
            elif isinstance(v, str):
                strs_k.append(k)
                strs_v.append(v.strip())
            else:
                bad_k.append(k)
        if strs_v:
            texts = pd.Series(strs_v, dtype=object)
            parsed, not_a_date = parse_iso(texts)
            if dia is not None and not_a_date.any():
                other = _dialect.date_reading(texts, ~not_a_date, col.type, where)
                if other is not None:
                    fmt, clock, iso = other
                    parsed, not_a_date = parse_iso(iso)
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
        what = {"date": f"a date such as {ex}", "datetime": f"a date and time such as {ex} 09:30",
                "month": f"a month such as {ex}"}[col.type] + f" (the column is read as {fmt})"

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


def _parse_texts(s: pd.Series, col: ColumnSchema, file: str, blank: np.ndarray, flag: _Flag) -> pd.Series:
    """Identifiers and text."""
    values = s.to_numpy(dtype=object)
    out = np.empty(len(s), dtype=object)
    out[:] = None
    problems: dict[int, str] = {}
    todo = np.flatnonzero(~blank)
    if _all_str(s):
        t = s.iloc[todo]
        if col.type == "id":
            t = t.str.strip()
        long_ = (t.str.len() > MAX_TEXT).to_numpy()
        err = t.isin(list(_ERRORS)).to_numpy() if col.type == "id" else np.zeros(len(t), dtype=bool)
        ok = ~(long_ | err)
        out[todo[ok]] = t.to_numpy(dtype=object)[ok]
        todo = todo[~ok]
        values = np.asarray(np.where(blank, None, s.to_numpy(dtype=object)))
        if col.type == "id":
            values[todo] = [v.strip() for v in values[todo]]
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
        flag((i for i in np.flatnonzero(~blank).tolist() if out[i] is not None and out[i] not in choices),
             lambda i: f"{_show(out[i])} is not one of {', '.join(choices)}")
    return pd.Series(out, name=col.name, dtype=object)


def load_dataset(ds: Dataset, path: Path) -> Table:
    """Read and check one data file."""
    found: list[Dialect] = []
    raw, first_row = _read_raw(path, found)
    dia = found[0] if found else None
    file = path.name
    issues: list[RowIssue] = []
    notices: list[str] = []
    # columns: matched by name, case- and space-insensitively
    norm = {}
    for c in raw.columns:
        key = str(c).strip().lower().replace(" ", "_")
        if key in norm:
            raise DataError(f"{file}: column {c!r} appears twice")
        norm[key] = c
    missing = [col.name for col in ds.columns if col.name not in norm and col.required]
    if missing:
        raise DataError(f"{file}: missing column(s) {', '.join(missing)}; expected {', '.join(ds.column_names)}")
    extra = [str(c) for k, c in norm.items() if k not in ds.column_names]
    if extra:
        notices.append(f"{file}: column(s) not used by the reports: {', '.join(extra)}")
    n = len(raw)
    if n > MAX_ROWS:
        raise DataError(f"{file}: {n} rows; a worksheet holds at most {MAX_ROWS}")
    rows = first_row if isinstance(first_row, np.ndarray) else np.arange(first_row, first_row + n)
    # rows blank in every cell are layout, not data (a trailing empty line); keep them out quietly only when
    # every column is blank — they hold nothing that could be dropped
    if n:
        all_blank = np.ones(n, dtype=bool)
        for c in raw.columns:
            all_blank &= _blank_mask(raw[c])
        if all_blank.any():
            raw = raw.loc[~all_blank].reset_index(drop=True)
            rows = rows[~all_blank]
            n = len(raw)
    bad = np.zeros(n, dtype=bool)
    cols = {}
    for col in ds.columns:
        if col.name in norm:
            try:
                cols[col.name] = _parse_column(raw[norm[col.name]].reset_index(drop=True), col, file, rows,
                                               issues, bad, dia, str(norm[col.name]))
            except DialectError as err:
                raise DataError(str(err)) from err
        else:
            cols[col.name] = pd.Series([None] * n, dtype=object, name=col.name)
    df = pd.DataFrame(cols)
    if ds.key:
        k = df[ds.key]
        dup = k.notna() & k.duplicated(keep="first")
        for i in np.flatnonzero(dup.to_numpy()):
            first = int(rows[int(np.flatnonzero((k == k.iloc[i]).to_numpy())[0])])
            bad[i] = True
            issues.append(RowIssue(file, int(rows[i]), ds.key, f"{_show(k.iloc[i])} repeats the key of row {first}"))
    for early, late in ds.ordered:
        e, l_ = df[early], df[late]
        wrong = (e.notna() & l_.notna() & (l_ < e)).to_numpy()
        for i in np.flatnonzero(wrong):
            bad[i] = True
            issues.append(RowIssue(file, int(rows[i]), late, f"{l_.iloc[i]} is before {early} {e.iloc[i]}"))
    for c in ds.columns:  # identifiers Excel would confuse (lookups ignore case)
        if c.type == "id" and c.name == ds.key:
            low = df[c.name].dropna().str.lower()
            clash = low.duplicated(keep=False) & ~df[c.name].dropna().duplicated(keep=False)
            for i in np.flatnonzero(clash.to_numpy()):
                idx = low.index[i]
                bad[idx] = True
                issues.append(RowIssue(file, int(rows[idx]), c.name,
                                       f"{_show(df.at[idx, c.name])} differs from another key only in upper/lower "
                                       "case; spreadsheets treat them as the same"))
    issues.sort(key=lambda x: (x.row or 0))
    return Table(ds, df, rows, file, issues, bad, notices, dia)


def load_all(data_dir: Path, names: Iterable[str] | None = None,
             settings: DataSettings = DEFAULT_SETTINGS) -> tuple[dict[str, Table], dict[str, str]]:
    """Load the data sets found in ``data_dir`` (read with ``settings``); returns tables and per-data-set
    fatal errors."""
    files = find_files(Path(data_dir))
    tables: dict[str, Table] = {}
    errors: dict[str, str] = {}
    wanted = list(names) if names is not None else list(DATASETS)
    for name in wanted:
        ds = DATASETS[name]
        if name not in files:
            if ds.optional:  # an optional data set (exchange rates, invoices): absent is as before
                continue
            errors[name] = f"no {ds.name} file in {data_dir} (expected {' or '.join(ds.filenames)})"
            continue
        try:
            tables[name] = load_dataset(ds, files[name])
        except DataError as err:
            errors[name] = str(err)
    # currencies: money columns converted to the reporting currency (workbook_templates.fx)
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
                t.issues.append(RowIssue(t.file, int(t.rows[i]), col,
                                         f"{_show(ids.iloc[i])} is not a customer_id of {cust.file}"))
    return tables, errors


def file_signature(data_dir: Path, settings: DataSettings = DEFAULT_SETTINGS) -> tuple:
    """Names, sizes and modification times of the data files (a cache key)."""
    out = []
    for name, p in sorted(find_files(Path(data_dir)).items()):
        st = os.stat(p)
        out.append((name, str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)
