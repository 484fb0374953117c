"""Whole columns of cells for :class:`~.sheets.FormulaSheet`: kept as arrays until the workbook is saved, then
written into the sheet's ``<sheetData>`` in chunks of rows, column by column.

XlsxWriter keeps a Python tuple per cell until ``close()`` and then writes each cell's XML through several
method calls; the input sheets of a large company hold millions of cells. A :class:`BlockColumn` is one
column of a block as whole arrays (numbers, shared-string indices, formula texts and their cached results).
:func:`write_rows` writes the sheet's ``<row>`` elements for the stored columns and for the cells written
through XlsxWriter's own methods together: rows in row order, cells within a row in column order, the cells
of the blocks built per chunk of rows with list comprehensions over whole columns, XlsxWriter's own cells and
the rows it has properties of (``set_row``, comments) written by XlsxWriter's own ``_write_cell`` and
``_write_row``. A cell is written exactly as XlsxWriter writes it (``Worksheet._write_cell`` and the
``XMLwriter`` element writers of XlsxWriter 3.1 to 3.3.4): the same ``s=`` style, the same ``t=`` type, numbers
as ``%.16G``, strings through the shared string table in the order per-cell writes would add them, formulas and
their results escaped as XlsxWriter escapes them; the row spans and dimensions are those per-cell writes give.

This reproduces internals of XlsxWriter's ``Worksheet`` (``_write_rows``, ``_calculate_spans``, ``_write_cell``,
``_get_range_data``, ``row_info``/``set_rows``, ``col_info``, ``str_table``): ``pyproject.toml`` bounds
XlsxWriter to ``>=3.1.4,<3.4``, and ``tests/templates/test_block_writer.py`` compares files written both ways.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

try:  # XlsxWriter 3.3.2 and later: a test that skips string literals
    from xlsxwriter.worksheet import _has_dynamic_function as _names_dynamic
except ImportError:  # XlsxWriter 3.1 to 3.3.1: a regular expression
    from xlsxwriter.worksheet import re_dynamic_function as _re_dynamic

    def _names_dynamic(formula: str) -> bool:
        return _re_dynamic.search(formula) is not None

__all__ = ["CHUNK_ROWS", "ERROR_CODES", "KINDS", "BlockColumn", "StoredColumn", "add_block", "range_data",
           "write_rows"]

#: the kinds of a block column
KINDS = ("num", "str", "bool", "formula", "blank")
#: what a missing value (NaN, None) of a column writes: no cell, a blank cell with the column's format (none
#: without a format, as XlsxWriter's ``write_blank``), or the formula ``=""`` with the cached result ``""``
MISSING = ("skip", "blank", "empty")
#: the cached formula results XlsxWriter writes as errors (``t="e"``)
ERROR_CODES = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")
#: rows of XML built at a time
CHUNK_ROWS = 10_000

_STRMAX = 32767  # Excel's characters in a cell (UTF-16 code units)
_COL_BITS = 14  # a cell's key: row << 14 | column (16,384 columns)


@dataclass(frozen=True, eq=False)
class BlockColumn:
    """One column of a block, as whole arrays.

    ``kind``: ``num`` (``values`` floats; NaN is missing), ``str`` (str or None), ``bool`` (bool or None),
    ``formula`` (formula texts without the leading ``=``, or None; ``cached`` the results, one a row: numbers,
    strings, bools or error codes such as ``#DIV/0!``, as ``write_formula``'s ``value``) or ``blank`` (``values``
    true where a blank cell with the format goes). ``fmt``: the cells' format (None: XlsxWriter's fallback to
    the row's, then the column's format); ``fmts``: a format per row instead. ``missing``: what a missing value
    writes (:data:`MISSING`)."""

    kind: str
    values: Any
    fmt: Any = None
    cached: Any = None
    fmts: Sequence[Any] | None = None
    missing: str = "skip"


class StoredColumn:
    """A block column as the sheet keeps it: which rows have a cell, and the values as arrays."""

    __slots__ = ("cached", "codes", "col", "data", "fmt", "kind", "letters", "miss", "missing", "n", "present",
                 "r0", "uniq")

    def __init__(self, col: int, r0: int, kind: str, present: np.ndarray, miss: np.ndarray, missing: str,
                 data: Any, cached: Any, fmt: Any, codes: np.ndarray | None, uniq: list[Any]) -> None:
        self.col, self.r0, self.kind, self.present, self.miss, self.missing = col, r0, kind, present, miss, missing
        self.n = len(present)
        self.data, self.cached, self.fmt, self.codes, self.uniq = data, cached, fmt, codes, uniq
        self.letters = xl_col_to_name(col)

    @property
    def r1(self) -> int:
        """One past the last row."""
        return self.r0 + self.n

    def present_rows(self) -> np.ndarray:
        return self.r0 + np.flatnonzero(self.present)


# -- storing a block ---------------------------------------------------------------------------------------
def _missing_of(kind: str, values: Any) -> tuple[Any, np.ndarray]:
    """The column's values as an array, and where they are missing."""
    if kind == "num":
        arr = np.asarray(values, dtype=float)
        if np.isinf(arr).any():
            raise TypeError("a block's numbers cannot be infinite (XlsxWriter writes no NAN/INF)")
        return arr, np.isnan(arr)
    if kind == "blank":
        arr = np.asarray(values, dtype=bool)
        return arr, ~arr
    arr = _objects(values)
    return arr, np.asarray(pd.isna(arr), dtype=bool)


def _objects(values: Any) -> np.ndarray:
    """A 1-D object array of the values (never one of str, whose width would be the longest string's)."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    arr = np.array(values, dtype=object)
    if arr.ndim != 1:
        arr = np.fromiter(values, dtype=object, count=len(values))
    return arr


def _check_strings(strs: np.ndarray, where: str) -> None:
    if len(strs) and pd.api.types.infer_dtype(strs, skipna=False) != "string":
        bad = next(v for v in strs.tolist() if not isinstance(v, str))
        raise TypeError(f"{where}: a str column holds {type(bad).__name__} {bad!r}")
    lens = np.fromiter(map(len, strs), dtype=np.int64, count=len(strs))
    for i in np.flatnonzero(lens > _STRMAX // 2).tolist():  # could pass the limit in UTF-16 code units
        if len(strs[i].encode("utf-16-le")) // 2 > _STRMAX:
            raise ValueError(f"{where}: a string of {len(strs[i])} characters; a cell holds at most {_STRMAX}")


def _formula_texts(ws: Any, texts: np.ndarray, where: str) -> np.ndarray:
    """The formulas as XlsxWriter stores and writes them: prepared (``_prepare_formula``), then XML-escaped."""
    if not len(texts):
        return texts
    _check_strings(texts, where)
    strs = texts.tolist()
    if "" in strs:
        raise ValueError(f"{where}: an empty formula")
    joined = "\n".join(strs) + "\n"
    # a formula XlsxWriter would write as a dynamic array is refused: those that could name a dynamic function
    # (MAY_NAME, a superset of XlsxWriter's names) are asked XlsxWriter's own test
    from .sheets import MAY_NAME_TEXTS

    may_name = _rows_containing(strs, joined, MAY_NAME_TEXTS)
    for i in np.flatnonzero(may_name).tolist():
        if _names_dynamic(strs[i]):
            raise ValueError(f"{where}: {strs[i]!r} is a dynamic array formula; write it with "
                             "write_dynamic_array_formula")
    # what XlsxWriter does to "=" + text: the = removed, then a closing brace; the formulas that could name a
    # future function (all with use_future_functions) and those ending in a brace (or holding one before a
    # newline) go through the sheet's own _prepare_formula
    if ws.use_future_functions:
        slow = np.ones(len(strs), dtype=bool)
    else:
        slow = may_name | _rows_containing(strs, joined, ("}\n",))
    out = np.array(strs + [None], dtype=object)[:-1]  # a 1-D object array, never one of str
    at = np.flatnonzero(slow)
    if len(at):
        out[at] = [ws._prepare_formula("=" + x) for x in out[at].tolist()]
    return _escape(out, None if len(at) else joined)  # prepared formulas differ from the texts joined


def _rows_containing(strs: list[str], joined: str, texts: Sequence[str]) -> np.ndarray:
    """Which of the strings hold one of ``texts`` (none of which holds a newline, except as its last character),
    given ``joined``: the strings each followed by a newline. One substring search per text over the whole;
    the positions of the texts found are mapped to the strings they are in."""
    hit = np.zeros(len(strs), dtype=bool)
    present = [t for t in texts if t in joined]
    if present:
        found = [m.start() for m in re.finditer("|".join(map(re.escape, present)), joined)]
        ends = np.cumsum(np.fromiter(map(len, strs), dtype=np.int64, count=len(strs)) + 1) - 1  # the newlines
        hit[np.searchsorted(ends, np.asarray(found, dtype=np.int64), side="left")] = True
    return hit


def _escape(texts: np.ndarray, joined: str | None = None) -> np.ndarray:
    """XlsxWriter's ``_escape_data``: ``&``, ``<`` and ``>`` as entities. ``joined``: the texts each followed by a
    newline, if the caller has it."""
    strs = texts.tolist()
    if joined is None:
        joined = "\n".join(strs) + "\n"
    if not any(c in joined for c in "&<>"):
        return texts
    if joined.count("\n") == len(strs):  # no text holds a newline: replace over the whole, split at the newlines
        done = joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("\n")
        done.pop()
        out = np.empty(len(strs), dtype=object)
        out[:] = done
        return out
    need = np.flatnonzero(_rows_containing(strs, joined, ("&", "<", ">")))
    texts = texts.copy()
    texts[need] = [x.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for x in texts[need].tolist()]
    return texts


def _shared_strings(st: Any, uniques: list[str], cells: int) -> np.ndarray:
    """The shared-string indices of distinct strings, added in their order as ``_get_shared_string_index`` once a
    cell would add them (its table, counts and all; a dict update instead of a call per string)."""
    table = st.string_table
    new = [u for u in uniques if u not in table]
    table.update(zip(new, range(st.unique_count, st.unique_count + len(new)), strict=True))
    st.unique_count += len(new)
    st.count += cells
    return np.fromiter(map(table.__getitem__, uniques), dtype=np.int64, count=len(uniques))


def _store(ws: Any, row: int, col: int, bc: BlockColumn, n: int) -> StoredColumn:
    where = f"block column at {xl_rowcol_to_cell(row, col)}"
    if bc.kind not in KINDS:
        raise ValueError(f"{where}: kind {bc.kind!r}; one of {', '.join(KINDS)}")
    if bc.missing not in MISSING:
        raise ValueError(f"{where}: missing={bc.missing!r}; one of {', '.join(MISSING)}")
    values, miss = _missing_of(bc.kind, bc.values)
    if len(values) != n:
        raise ValueError(f"{where}: {len(values)} values; the block has {n} rows")
    codes: np.ndarray | None = None
    uniq: list[Any] = []
    if bc.fmts is not None:
        if bc.fmt is not None:
            raise ValueError(f"{where}: give fmt or fmts, not both")
        if len(bc.fmts) != n:
            raise ValueError(f"{where}: {len(bc.fmts)} formats; the block has {n} rows")
        ids: dict[int, int] = {}
        for f in bc.fmts:
            if id(f) not in ids:
                ids[id(f)] = len(uniq)
                uniq.append(f)
        codes = np.fromiter((ids[id(f)] for f in bc.fmts), dtype=np.int32, count=n)
        has_fmt = np.asarray([f is not None for f in uniq], dtype=bool)[codes]
    else:
        has_fmt = np.full(n, bc.fmt is not None)
    val = ~miss
    if bc.kind == "blank":
        present, miss = val & has_fmt, np.zeros(n, dtype=bool)
    elif bc.missing == "skip":
        present, miss = val, np.zeros(n, dtype=bool)
    elif bc.missing == "blank":
        miss = miss & has_fmt
        present = val | miss
    else:
        present = np.ones(n, dtype=bool)
    data: Any = None
    cached: Any = None
    if bc.kind == "num":
        data = values
    elif bc.kind == "bool":
        data = np.zeros(n, dtype=np.uint8)
        data[val] = values[val].astype(bool)
    elif bc.kind == "str":
        data = np.full(n, -1, dtype=np.int64)
        strs = values[val]
        _check_strings(strs, where)
        if len(strs):
            fcodes, uniques = pd.factorize(strs)  # first-appearance order: the shared strings of per-cell writes
            data[val] = _shared_strings(ws.str_table, uniques.tolist(), len(strs))[fcodes]
    elif bc.kind == "formula":
        data = np.full(n, None, dtype=object)
        data[val] = _formula_texts(ws, values[val], where)
        if bc.cached is None:
            raise ValueError(f"{where}: a formula column needs its cached results")
        cached = _objects(bc.cached)
        if len(cached) != n:
            raise ValueError(f"{where}: {len(cached)} cached results; the block has {n} rows")
    return StoredColumn(col, row, bc.kind, present, miss, bc.missing, data, cached, bc.fmt, codes, uniq)


def add_block(ws: Any, first_row: int, first_col: int,
              columns: Sequence[BlockColumn | Sequence[BlockColumn]]) -> None:
    """Store a block: ``columns[j]`` is the column ``first_col + j`` (one :class:`BlockColumn`, or several whose
    cells are on different rows, e.g. the strings and the numbers of a mixed column)."""
    if ws.constant_memory:
        raise ValueError("write_block needs a workbook without constant_memory")
    parts = [(first_col + j, p) for j, c in enumerate(columns) for p in ([c] if isinstance(c, BlockColumn) else c)]
    if not parts:
        return
    n = len(parts[0][1].values)
    if first_row < 0 or first_col < 0 or first_row + max(n, 1) > ws.xls_rowmax \
            or first_col + len(columns) > ws.xls_colmax:
        raise ValueError(f"a block of {n} rows × {len(columns)} columns at row {first_row}, column {first_col} "
                         f"is outside a worksheet ({ws.xls_rowmax} rows, {ws.xls_colmax} columns)")
    stored = [_store(ws, first_row, c, p, n) for c, p in parts]
    by_col: dict[int, list[StoredColumn]] = ws._block_cols
    for i, sc in enumerate(stored):  # two columns holding the same cell: refused (before any is kept)
        for other in by_col.get(sc.col, []) + [o for o in stored[:i] if o.col == sc.col]:
            lo, hi = max(sc.r0, other.r0), min(sc.r1, other.r1)
            if lo < hi:
                both = sc.present[lo - sc.r0:hi - sc.r0] & other.present[lo - other.r0:hi - other.r0]
                if both.any():
                    r = lo + int(np.flatnonzero(both)[0])
                    raise ValueError(f"cell {xl_rowcol_to_cell(r, sc.col)} is written by two block columns")
    for sc in stored:
        by_col.setdefault(sc.col, []).append(sc)
        if sc.present.any():
            rows = np.flatnonzero(sc.present)
            ws._check_dimensions(sc.r0 + int(rows[0]), sc.col)
            ws._check_dimensions(sc.r0 + int(rows[-1]), sc.col)


# -- writing the rows ------------------------------------------------------------------------------------------
def _row_infos(ws: Any) -> dict[int, Any]:
    """The rows given properties by ``set_row`` (``row_info`` in XlsxWriter 3.2 and later, ``set_rows`` before)."""
    return ws.row_info if hasattr(ws, "row_info") else ws.set_rows


def _row_format(info: Any) -> Any:
    if not info:
        return None
    return info.row_format if hasattr(info, "row_format") else info[1]


def _col_format(ws: Any, col: int) -> Any:
    info = ws.col_info.get(col)
    if info is None:
        return None
    return info.column_format if hasattr(info, "column_format") else info[1]


def _s(fmt: Any) -> str:
    return f' s="{fmt._get_xf_index()}"'


def _num_texts(v: np.ndarray) -> list[str]:
    """Numbers as XlsxWriter writes them (``%.16G``): whole numbers below 1e15 through int."""
    whole = (v == np.trunc(v)) & (np.abs(v) < 1e15) & ~((v == 0) & np.signbit(v))
    if whole.all():
        return list(map(str, v.astype(np.int64).tolist()))
    out = np.empty(len(v), dtype=object)
    out[whole] = list(map(str, v[whole].astype(np.int64).tolist()))
    out[~whole] = list(map("{:.16G}".format, v[~whole].tolist()))
    return out.tolist()


def _cached_bodies(formulas: list[str], cached: list[Any]) -> list[str]:
    """``t=`` and ``<f>``/``<v>`` of formula cells as XlsxWriter's ``_write_cell`` writes them."""
    esc = _escape(_objects([v if v.__class__ is str else "" for v in cached]))
    return [(' t="b"><f>' + f + "</f><v>" + ("1" if v else "0") + "</v></c>") if v.__class__ is bool else
            ((("" if v == "" else ' t="e"' if v in ERROR_CODES else ' t="str"') + "><f>" + f + "</f><v>" + e
              + "</v></c>") if v.__class__ is str else "><f>" + f + "</f><v>" + str(v) + "</v></c>")
            for f, v, e in zip(formulas, cached, esc.tolist(), strict=True)]


def _bodies(sc: StoredColumn, sl: slice, at: np.ndarray) -> list[str]:
    """What follows ``<c r=".." s=".."`` in each present cell ``at`` (indices into the slice ``sl``)."""
    miss = sc.miss[sl][at]
    val = at[~miss] if miss.any() else at
    kind = sc.kind
    if kind == "blank":
        return ["/>"] * len(at)
    if not len(val):
        vb: list[str] = []
    elif kind == "num":
        vb = ["><v>" + t + "</v></c>" for t in _num_texts(sc.data[sl][val])]
    elif kind == "str":
        vb = [' t="s"><v>' + t + "</v></c>" for t in map(str, sc.data[sl][val].tolist())]
    elif kind == "bool":
        vb = [' t="b"><v>' + t + "</v></c>" for t in map(str, sc.data[sl][val].tolist())]
    else:
        vb = _cached_bodies(sc.data[sl][val].tolist(), sc.cached[sl][val].tolist())
    if not miss.any():
        return vb
    out = np.empty(len(at), dtype=object)
    out[~miss] = np.array(vb, dtype=object)
    out[miss] = "/>" if sc.missing == "blank" else '><f>""</f><v></v></c>'
    return out.tolist()


class _Sheet:
    """What the rows of one sheet need at close time: XlsxWriter's own cells and rows, the spans, formats."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.cols = sorted((sc for scs in ws._block_cols.values() for sc in scs), key=lambda sc: (sc.col, sc.r0))
        lo, hi = ws.dim_rowmin, ws.dim_rowmax
        self.infos = _row_infos(ws)
        table_rows = sorted(r for r, d in ws.table.items() if d and lo <= r <= hi)
        self.table_rows = np.asarray(table_rows, dtype=np.int64)
        special = set(table_rows) | {r for r in self.infos if lo <= r <= hi} | \
            {r for r in ws.comments if lo <= r <= hi}
        self.special = np.asarray(sorted(special), dtype=np.int64)
        self._index_formats(table_rows)
        self.row_s = {r: _s(f) for r, info in self.infos.items() if (f := _row_format(info))}
        self.spans = self._spans(table_rows)
        buf = io.StringIO()
        fh, ws.fh = ws.fh, buf
        try:
            ws._write_row(0, "\x00")
        finally:
            ws.fh = fh
        head = buf.getvalue()
        pre, post = head.split(' r="1"', 1)
        self.h0 = pre + ' r="'
        self.h1, self.h2 = ('"' + post).split("\x00")

    def _index_formats(self, table_rows: list[int]) -> None:
        """Give the formats their XF indices in the order XlsxWriter would (each on its first use, row by row and
        within a row the row's format, then the cells in column order): the styles come out as before."""
        ws = self.ws
        first: dict[int, tuple[int, int, Any]] = {}

        def seen(r: int, c: int, f: Any) -> None:
            if f is not None and f.xf_index is None:
                old = first.get(id(f))
                if old is None or (r, c) < old[:2]:
                    first[id(f)] = (r, c, f)

        lo, hi = ws.dim_rowmin, ws.dim_rowmax
        row_fmt = {r: f for r, info in self.infos.items() if lo <= r <= hi and (f := _row_format(info))}
        for r, f in row_fmt.items():
            seen(r, -1, f)
        for r in table_rows:
            rf = row_fmt.get(r)
            for c, cell in ws.table[r].items():
                seen(r, c, cell.format or rf or _col_format(ws, c))
        keys = np.fromiter(row_fmt, dtype=np.int64, count=len(row_fmt))
        for sc in self.cols:
            rows = sc.present_rows()
            if not len(rows):
                continue
            if sc.codes is not None:
                u, at = np.unique(sc.codes[sc.present], return_index=True)
                fmts = [sc.uniq[k] for k in u.tolist()]
                firsts = rows[at].tolist()
            else:
                fmts, firsts = [sc.fmt], [int(rows[0])]
            for f, r in zip(fmts, firsts, strict=True):
                if f is not None:
                    seen(r, sc.col, f)
            if any(f is None for f in fmts):  # the fallback: the row's format, else the column's
                if sc.codes is not None:
                    none = np.asarray([f is None for f in sc.uniq], dtype=bool)[sc.codes[sc.present]]
                    rows = rows[none]
                plain = rows[~np.isin(rows, keys)] if len(keys) else rows
                if len(plain):
                    seen(int(plain[0]), sc.col, _col_format(ws, sc.col))
        for _, _, f in sorted(first.values(), key=lambda t: t[:2]):
            f._get_xf_index()

    def _spans(self, table_rows: list[int]) -> dict[int, str]:
        ws = self.ws
        g = (ws.dim_rowmax >> 4) + 1
        gmin = np.full(g, 1 << 20, dtype=np.int64)
        gmax = np.full(g, -1, dtype=np.int64)
        for sc in self.cols:
            grp = np.unique(sc.present_rows() >> 4)
            gmin[grp] = np.minimum(gmin[grp], sc.col)
            gmax[grp] = np.maximum(gmax[grp], sc.col)
        for r in table_rows:
            d = ws.table[r]
            k = r >> 4
            gmin[k] = min(gmin[k], min(d))
            gmax[k] = max(gmax[k], max(d))
        for r, d in ws.comments.items():
            if d and ws.dim_rowmin <= r <= ws.dim_rowmax:
                k = r >> 4
                gmin[k] = min(gmin[k], min(d))
                gmax[k] = max(gmax[k], max(d))
        at = np.flatnonzero(gmax >= 0)
        return {k: f"{a}:{b}" for k, a, b in zip(at.tolist(), (gmin[at] + 1).tolist(), (gmax[at] + 1).tolist(),
                                                  strict=True)}

    def _fallback(self, col: int, rows: np.ndarray) -> Any:
        """The ``s=`` of cells without a format of their own: the row's format, else the column's."""
        cf = _col_format(self.ws, col)
        base = _s(cf) if cf is not None else ""
        if not self.row_s:
            return repeat(base)
        keys = np.fromiter(self.row_s, dtype=np.int64, count=len(self.row_s))
        hit = np.isin(rows, keys)
        if not hit.any():
            return repeat(base)
        out = np.full(len(rows), base, dtype=object)
        out[hit] = [self.row_s[r] for r in rows[hit].tolist()]
        return out.tolist()

    def _styles(self, sc: StoredColumn, sl: slice, at: np.ndarray, rows: np.ndarray) -> Any:
        if sc.codes is None:
            return repeat(_s(sc.fmt)) if sc.fmt is not None else self._fallback(sc.col, rows)
        table = [_s(f) if f is not None else None for f in sc.uniq]
        out = [table[c] for c in sc.codes[sl][at].tolist()]
        if None in table:
            fb = self._fallback(sc.col, rows)
            out = [s if s is not None else f for s, f in zip(out, fb)]
        return out

    def column_cells(self, sc: StoredColumn, lo: int, hi: int) -> tuple[np.ndarray, list[str]]:
        a, b = max(lo, sc.r0) - sc.r0, min(hi, sc.r1) - sc.r0
        sl = slice(a, b)
        at = np.flatnonzero(sc.present[sl])
        if not len(at):
            return np.zeros(0, dtype=np.int64), []
        rows = at + (a + sc.r0)
        pre = f'<c r="{sc.letters}'
        cells = [pre + r + '"' + s + body for r, s, body in
                 zip(map(str, (rows + 1).tolist()), self._styles(sc, sl, at, rows), _bodies(sc, sl, at))]
        return (rows << _COL_BITS) | sc.col, cells

    def chunk(self, lo: int, hi: int) -> str:
        """The ``<row>`` elements of rows ``lo`` to ``hi - 1``."""
        ws = self.ws
        keys: list[np.ndarray] = []
        cells: list[str] = []
        for sc in self.cols:
            if sc.r0 < hi and sc.r1 > lo:
                k, c = self.column_cells(sc, lo, hi)
                keys.append(k)
                cells += c
        t0, t1 = np.searchsorted(self.table_rows, [lo, hi])
        if t1 > t0:  # XlsxWriter's own cells on these rows, written by XlsxWriter
            buf = io.StringIO()
            fh, ws.fh = ws.fh, buf
            nk: list[int] = []
            ends: list[int] = []
            try:
                for r in self.table_rows[t0:t1].tolist():
                    d = ws.table[r]
                    for c in sorted(d):
                        ws._write_cell(r, c, d[c])
                        nk.append(r << _COL_BITS | c)
                        ends.append(buf.tell())
            finally:
                ws.fh = fh
            text = buf.getvalue()
            cells += [text[s:e] for s, e in zip([0, *ends[:-1]], ends, strict=True)]
            keys.append(np.asarray(nk, dtype=np.int64))
        allk = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        order = np.argsort(allk, kind="stable")
        allk = allk[order]
        dup = np.flatnonzero(allk[1:] == allk[:-1])
        if len(dup):
            key = int(allk[dup[0]])
            raise ValueError(f"cell {xl_rowcol_to_cell(key >> _COL_BITS, key & ((1 << _COL_BITS) - 1))} is written "
                             "both by a block and by another write (or by two blocks)")
        sorted_cells = np.array(cells, dtype=object)[order].tolist()
        rows = allk >> _COL_BITS
        cut = np.flatnonzero(rows[1:] != rows[:-1]) + 1
        starts = np.concatenate([[0], cut]).tolist() if len(rows) else []
        ends_ = np.concatenate([cut, [len(rows)]]).tolist() if len(rows) else []
        cell_rows = rows[np.asarray(starts, dtype=np.int64)].tolist() if len(rows) else []
        s0, s1 = np.searchsorted(self.special, [lo, hi])
        special = set(self.special[s0:s1].tolist())
        out: list[str] = []
        spans = self.spans
        h0, h1, h2 = self.h0, self.h1, self.h2
        if not special:
            for r, s, e in zip(cell_rows, starts, ends_, strict=True):
                out.append(h0 + str(r + 1) + h1 + spans[r >> 4] + h2 + "".join(sorted_cells[s:e]) + "</row>")
            return "".join(out)
        by_row = {r: (s, e) for r, s, e in zip(cell_rows, starts, ends_, strict=True)}
        for r in sorted(special | set(cell_rows)):
            se = by_row.get(r)
            if r in special:
                buf = io.StringIO()
                fh, ws.fh = ws.fh, buf
                try:
                    if se is None:
                        ws._write_empty_row(r, spans.get(r >> 4), self.infos.get(r))
                    else:
                        ws._write_row(r, spans.get(r >> 4), self.infos.get(r))
                finally:
                    ws.fh = fh
                head = buf.getvalue()
            else:
                head = h0 + str(r + 1) + h1 + spans[r >> 4] + h2
            out.append(head if se is None else head + "".join(sorted_cells[se[0]:se[1]]) + "</row>")
        return "".join(out)


def write_rows(ws: Any) -> None:
    """Write the rows of a sheet with blocks (what ``Worksheet._write_rows`` writes, in chunks of rows)."""
    sh = _Sheet(ws)
    ws.row_spans = sh.spans
    lo, last = ws.dim_rowmin, ws.dim_rowmax
    starts = np.asarray([sc.r0 for sc in sh.cols], dtype=np.int64)
    ends = np.asarray([sc.r1 for sc in sh.cols], dtype=np.int64)
    while lo <= last:
        nxt = []
        k = int(np.searchsorted(sh.special, lo))
        if k < len(sh.special):
            nxt.append(int(sh.special[k]))
        live = ends > lo
        if live.any():
            nxt.append(int(np.maximum(starts[live], lo).min()))
        if not nxt:
            break
        lo = min(nxt)
        hi = min(lo + CHUNK_ROWS, last + 1)
        ws.fh.write(sh.chunk(lo, hi))
        lo = hi


# -- chart data ------------------------------------------------------------------------------------------------
def _range_value(ws: Any, cell: Any) -> list[Any]:
    """What XlsxWriter's ``_get_range_data`` gives for one of its cells (nothing for a boolean)."""
    name = cell.__class__.__name__
    if name in ("Number", "Datetime"):
        return [f"{cell.number:.16g}"]
    if name == "String":
        return [ws.str_table._get_shared_string(cell.string)]
    if name in ("Formula", "ArrayFormula"):
        return [0 if cell.value is None else cell.value]
    if name == "Blank":
        return [""]
    return []


def range_data(ws: Any, row_start: int, col_start: int, row_end: int, col_end: int) -> list[Any] | None:
    """``Worksheet._get_range_data`` (the cached values of a chart's series) with the block cells; None when no
    block column meets the range (XlsxWriter's own then answers)."""
    cols = [sc for scs in ws._block_cols.values() for sc in scs
            if col_start <= sc.col <= col_end and sc.r0 <= row_end and sc.r1 > row_start]
    if not cols:
        return None
    data: list[Any] = []
    for row in range(row_start, row_end + 1):
        here = {sc.col: sc for sc in cols if sc.r0 <= row < sc.r1 and sc.present[row - sc.r0]}
        if row not in ws.table and not here:
            data.append(None)
            continue
        cells = ws.table.get(row, {})
        for col in range(col_start, col_end + 1):
            if col in cells:
                data.extend(_range_value(ws, cells[col]))
            elif col in here:
                sc = here[col]
                i = row - sc.r0
                if sc.kind == "blank" or sc.miss[i]:  # a blank, or the formula ="" with its result ""
                    data.append("")
                elif sc.kind == "num":
                    data.append(f"{float(sc.data[i]):.16g}")
                elif sc.kind == "str":
                    data.append(ws.str_table._get_shared_string(int(sc.data[i])))
                elif sc.kind == "formula":
                    v = sc.cached[i]
                    data.append(0 if v is None else v)
                # a boolean: XlsxWriter gives nothing for it
            else:
                data.append(None)
    return data
