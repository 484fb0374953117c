"""Reading a data file into raw cells: CSV (in its dialect), the first sheet of an .xlsx, Parquet.

Nothing is typed here: every cell stays as the file holds it (text for CSV) and
:mod:`workbook_templates.data` checks it against the schema. The .xlsx reader uses openpyxl's row
parser, a private part of openpyxl: this module is its one bridge (see :func:`read_xlsx`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import dialect as _dialect
from .data_errors import DataError
from .data_errors import show as _show
from .dialect import Dialect, DialectError, Forced

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "read_raw", "read_xlsx"]

#: Excel's limits: rows in a sheet (minus the header), columns in a sheet.
MAX_ROWS = 1_048_575
MAX_COLUMNS = 16_384

#: Excel's grid: row and column indexes a sheet can hold
_SHEET_ROWS = 1_048_576
_SHEET_COLUMNS = 16_384


def _is_blank_value(v: object) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def read_xlsx(path: Path, max_rows: int = MAX_ROWS) -> tuple[pd.DataFrame, np.ndarray]:
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
                if len(numbers) >= max_rows:
                    raise DataError(f"{path.name}: more than {max_rows} rows; a worksheet holds at most {max_rows}")
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



def read_raw(path: Path, found: list[Dialect] | None = None,
             forced: Forced | None = None, max_rows: int | None = MAX_ROWS,
             max_columns: int = MAX_COLUMNS) -> tuple[pd.DataFrame, np.ndarray | int]:
    """The file as an object DataFrame (all columns) and the sheet row numbers of its data rows (or the row
    number of its first data row when they follow one another). A CSV file is read in the encoding and
    with the separator ``forced`` sets (checked against the file), else in those detected; its dialect is
    appended to ``found``. ``max_rows`` None: no limit on the rows of a CSV or Parquet file (an .xlsx file
    is still read up to a worksheet's rows, all it can hold)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            import csv
            import itertools

            try:
                dia = _dialect.detect(path, forced)
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
                first = next(records, None) if len(header) <= max_columns else None
            if len(header) > max_columns:
                raise DataError(f"{path.name}: {len(header)} columns; a worksheet holds at most {max_columns}")
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
                df = pd.read_csv(path, header=0, names=header, index_col=False,
                                 nrows=None if max_rows is None else max_rows + 1, dtype=object,
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
            if max_rows is not None and len(df) > max_rows:
                raise DataError(f"{path.name}: more than {max_rows} rows; a worksheet holds at most {max_rows}")
            return df.astype(object), 2
        if suffix == ".xlsx":
            return read_xlsx(path, MAX_ROWS if max_rows is None else max_rows)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            # the row count is in the file's metadata: refuse a table too long for a worksheet before
            # reading (and decompressing) any of it
            n = pq.ParquetFile(path).metadata.num_rows
            if max_rows is not None and n > max_rows:
                raise DataError(f"{path.name}: {n} rows; a worksheet holds at most {max_rows}")
            df = pd.read_parquet(path)
            return df, 2
    except DataError:
        raise
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise DataError(f"{path.name}: cannot be read ({err})") from err
    except Exception as err:  # parser errors of the readers (pyarrow, openpyxl, csv) have many types
        raise DataError(f"{path.name}: cannot be read ({type(err).__name__}: {err})") from err
    raise DataError(f"{path.name}: unsupported file type (use .csv, .xlsx or .parquet)")


