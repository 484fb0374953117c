"""Tables: a 2-D argument read by column position, with an optional text header row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import EXCEL_ERRORS, KPIErrorValue, KPIInputError, KPIUndefinedError
from . import fastcols
from .cells import Grid, _blank_mask, _series_values, grid, labels
from .datetimes import _dates_flat, parse_iso
from .numeric import _check_domain, _numeric_flat, _plain_ok


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id" | "date" | "number" | "flag"
    blank: str = "error"  # "error" | "zero" | "keep"
    min: float | None = None
    max: float | None = None
    optional: bool = False  # a trailing column that may be left out


@dataclass
class Table:
    """A validated table: one 1-D array per column (blank rows removed)."""

    columns: dict[str, np.ndarray]
    rows: np.ndarray  # 1-based row number of each kept row within the range passed
    header: bool
    grid: Grid
    #: column -> (integer codes, distinct values), when the reader already
    #: factorised the column (DataFrames): identifiers in first-appearance order
    #: (callers that group by an identifier use them instead of hashing the labels
    #: again); dates with a NaT last, which code -1 (a kept blank) picks
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.columns and name in self.codes:  # values of a factorised column, made when asked for
            k, uniques = self.codes[name]
            self.columns[name] = uniques[k]
        return self.columns[name]

    def each(self, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``fn(self[name])``, computed once per distinct value when the column is factorised."""
        if name in self.codes:
            k, uniques = self.codes[name]
            return fn(uniques)[k]
        return fn(self[name])

    def __len__(self) -> int:
        return int(self.rows.size)


def _looks_like_header(row: np.ndarray, cols: Sequence[Column]) -> bool:
    if row.dtype != object:
        return False
    if not all(isinstance(v, str) and v != "" and v not in EXCEL_ERRORS for v in row):
        return False
    for v, c in zip(row, cols):
        if c.kind in ("number", "flag"):
            return True
        if c.kind == "date" and parse_iso(pd.Series([v.strip()], dtype=object))[1][0]:
            return True
    return False


def _table_columns(x: Any, fn: str, arg: str) -> tuple[list[np.ndarray], Grid]:
    """The columns of a table argument, each 1-D in its own type, and a grid for positions.

    A DataFrame is read column by column (integers stay exact, datetimes stay
    datetime64), which is both faster and more faithful than one object array.
    """
    if isinstance(x, pd.DataFrame):
        cols = []
        for j in range(x.shape[1]):
            s = x.iloc[:, j]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                d = s.dt.tz_localize(None) if getattr(s.dtype, "tz", None) is not None else s
                cols.append(d.to_numpy(dtype="datetime64[ms]"))
            else:
                cols.append(_series_values(s, keep_int=True))
        shape = (x.shape[0], max(x.shape[1], 1))
        return cols, Grid(np.broadcast_to(np.zeros((), dtype=bool), shape), True)
    g = grid(x, fn, arg)
    return [g.values[:, j] for j in range(g.ncols)] if g.values.ndim == 2 else [], g


def _fast_table(x: Any, cols: Sequence[Column]) -> Table | None:
    """A DataFrame whose columns already hold the right types, read with whole-column operations.

    Identifiers in an integer, text (object strings, pandas ``string``/``str``)
    or categorical column; dates in a datetime64 column, as ISO text or as
    Excel serial numbers; numbers in a float or integer column; no blank
    identifier or date (unless the column keeps blanks), numbers finite and in
    their domain. Each column is read in its own type by :mod:`.fastcols`
    (identifiers factorised once, into ``Table.codes``; text dates parsed once
    per distinct string). Returns None for anything else — the general path
    then reads the table and names any bad cell.
    """
    if not isinstance(x, pd.DataFrame) or x.shape[0] == 0:
        return None
    if not (sum(not c.optional for c in cols) <= x.shape[1] <= len(cols)):
        return None
    out: dict[str, np.ndarray] = {}
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, c in enumerate(cols[: x.shape[1]]):
        s = x.iloc[:, j]
        dt = s.dtype
        numpy_dtype = isinstance(dt, np.dtype)
        if c.kind == "id":
            got = fastcols.ids(s)
            if got is None:
                return None
            codes[c.name] = got  # the labels, u[k], are made on first use
        elif c.kind == "date":
            d = fastcols.dates(s, keep_blank=c.blank == "keep")
            if d is None:
                return None
            codes[c.name] = d  # the dates are made on first use
        else:  # number, flag
            if not (numpy_dtype and dt.kind in "fiu"):
                return None
            v = s.to_numpy(dtype=np.float64)
            if c.blank == "zero" and np.isnan(v).any():
                v = np.where(np.isnan(v), 0.0, v)
            if not _plain_ok(v, c.min, c.max):
                return None
            out[c.name] = v
    n = x.shape[0]
    grid_ = Grid(np.broadcast_to(np.zeros((), dtype=bool), (n, x.shape[1])), True)
    return Table(out, np.arange(1, n + 1), False, grid_, codes)


def table(x: Any, fn: str, arg: str, cols: Sequence[Column]) -> Table:
    """Validate a table argument (2-D, columns by position, optional text header row).

    Rows that are entirely blank are dropped (ranges often reach past the
    data). In any other row a blank follows the column's rule.
    """
    fast = _fast_table(x, cols)
    if fast is not None:
        return fast
    return _table_general(x, fn, arg, cols)


def _table_general(x: Any, fn: str, arg: str, cols: Sequence[Column]) -> Table:
    """:func:`table` without the fast path."""
    columns, g = _table_columns(x, fn, arg)
    required = sum(not c.optional for c in cols)
    if g.size == 0:
        raise KPIUndefinedError(fn, "has no rows", argument=arg)
    if not g.is2d and len(cols) > 1:
        raise KPIInputError(fn, f"needs a table of {required} columns ({', '.join(c.name for c in cols)}); "
                            "got a single column", argument=arg)
    if not (required <= g.ncols <= len(cols)):
        want = f"{required}" if required == len(cols) else f"{required} to {len(cols)}"
        raise KPIInputError(fn, f"needs {want} columns ({', '.join(c.name for c in cols)}); got {g.ncols}",
                            argument=arg)
    cols = list(cols[: g.ncols])
    first = np.empty(len(columns), dtype=object)
    for j, col in enumerate(columns):
        first[j] = col[0]
    header = g.nrows > 0 and _looks_like_header(first, cols)
    offset = 2 if header else 1
    bodies = [col[1:] if header else col for col in columns]
    blanks = [_blank_mask(b) for b in bodies]
    all_blank = np.logical_and.reduce(blanks) if blanks else np.zeros(0, dtype=bool)
    kept = np.flatnonzero(~all_blank)
    rows = kept + offset
    out: dict[str, np.ndarray] = {}
    ncols = g.ncols
    for j, c in enumerate(cols):
        colv = bodies[j][kept]
        cblank = blanks[j][kept]
        flat_index = (rows - 1) * ncols + j  # position within the whole grid
        if c.blank == "error" and cblank.any():
            k = int(np.flatnonzero(cblank)[0])
            raise KPIInputError(fn, f"is blank; every row needs a {c.name}", argument=arg,
                                location=g.location(int(flat_index[k]), c.name))
        if c.kind == "id":
            out[c.name] = _labels_from(colv, g, flat_index, fn, arg)
        elif c.kind == "date":
            out[c.name] = _dates_flat(g, colv, fn, arg, index=flat_index)
        elif c.kind in ("number", "flag"):
            vals = _numeric_sub(colv, g, flat_index, fn, arg, c)
            if c.blank == "zero":
                vals = np.where(np.isnan(vals), 0.0, vals)
            out[c.name] = vals
        else:  # pragma: no cover - programming error
            raise ValueError(c.kind)
    return Table(out, rows, header, g)


def _labels_from(colv: np.ndarray, g: Grid, flat_index: np.ndarray, fn: str, arg: str) -> np.ndarray:
    try:
        return labels(colv, fn, arg)
    except KPIInputError as err:  # re-anchor the error onto the table's cells
        raise _onto_table(err, g, flat_index, fn, arg) from None


def _onto_table(err: KPIInputError, g: Grid, flat_index: np.ndarray, fn: str, arg: str,
                reason: str | None = None) -> KPIInputError:
    """An error about item k of one column, re-anchored onto that cell of the whole table."""
    k = err.location.row - 1 if err.location is not None else 0
    new = err.relocated(g.location(int(flat_index[k])), function=fn, argument=arg, reason=reason)
    if not isinstance(err, KPIErrorValue):
        new.has_value = True
        new.args = (new._compose(),)
    return new


def _numeric_sub(colv: np.ndarray, g: Grid, flat_index: np.ndarray, fn: str, arg: str, c: Column) -> np.ndarray:
    sub = Grid(colv.reshape(-1, 1), False)
    try:
        vals = _numeric_flat(sub, fn, arg, "a number" if c.kind == "number" else "1/TRUE or 0/FALSE")
    except KPIErrorValue as err:
        raise _onto_table(err, g, flat_index, fn, arg) from None
    except KPIInputError as err:
        raise _onto_table(err, g, flat_index, fn, arg, err.reason + f" in column '{c.name}'") from None
    keep = np.flatnonzero(~np.isnan(vals))
    _check_domain(vals[keep], flat_index[keep], g, fn, arg, c.min, c.max, False, None)
    return vals
