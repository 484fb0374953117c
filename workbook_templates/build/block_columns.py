"""A spilled table's columns as blocks of whole columns (:class:`~.sheet_xml.BlockColumn`), holding the cells the
writer's per-cell code wrote: the table's own cells (:meth:`.writer.Writer.write_spill`) and their stored copy
on the hidden values sheet (:meth:`.writer.Writer._stash_frame`).

A column of numbers or dates is one block column; a column of other values (``result_columns``' ``obj``) may
mix texts, numbers, booleans, dates, errors and blanks, and is split into a block column per kind of cell,
each with its cells on its own rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kpi_functions.excel import literal

from .. import formulas as F
from ..formulas import ExcelError
from .sheet_xml import BlockColumn

__all__ = ["spill_columns", "stash_columns"]

_STR, _NONE, _BOOL, _NUM, _DATE, _ERR, _OTHER = range(7)
_TYPES = {str: _STR, type(None): _NONE, bool: _BOOL, int: _NUM, float: _NUM, pd.Timestamp: _DATE,
          ExcelError: _ERR}


def _classify(v: Any) -> int:
    """The kind of a value of another type, as the writer's ``isinstance`` tests order them."""
    if v is None:
        return _NONE
    if isinstance(v, ExcelError):
        return _ERR
    if isinstance(v, bool):
        return _BOOL
    if isinstance(v, (int, float)):
        return _NUM
    if isinstance(v, pd.Timestamp):
        return _DATE
    if isinstance(v, str):
        return _STR
    return _OTHER


def _kinds(vals: list[Any]) -> np.ndarray:
    codes = np.fromiter((_TYPES.get(v.__class__, -1) for v in vals), dtype=np.int8, count=len(vals))
    for i in np.flatnonzero(codes < 0).tolist():  # subclasses and other types (rare)
        codes[i] = _classify(vals[i])
    return codes


def _objects(vals: list[Any], mask: np.ndarray, convert: Any = None) -> np.ndarray:
    out = np.full(len(vals), None, dtype=object)
    at = np.flatnonzero(mask)
    if len(at):
        picked = [vals[i] for i in at.tolist()]
        out[at] = np.array([convert(v) for v in picked] if convert else picked, dtype=object)
    return out


def _parts(vals: list[Any], live: bool, fmt: Any, fmts: list[Any] | None, stash: bool) -> list[BlockColumn]:
    """The block columns of one ``obj`` column: texts, numbers (and dates), booleans, errors, blanks."""
    k = _kinds(vals)
    strs = (k == _STR) | (k == _OTHER) | ((k == _ERR) & (not live))
    empty = np.zeros(len(vals), dtype=bool)
    if stash:  # None and "" are the formula ="" there
        empty = k == _NONE
        at = np.flatnonzero(k == _STR)
        if len(at):
            blank_str = np.array([vals[i] == "" for i in at.tolist()], dtype=bool)
            empty[at[blank_str]] = True
            strs[at[blank_str]] = False
    parts = [BlockColumn("str", _objects(vals, strs, lambda v: v if isinstance(v, str) else
                                         v.code if isinstance(v, ExcelError) else str(v)), fmt, fmts=fmts)]
    nums = (k == _NUM) | (k == _DATE)
    if nums.any():
        num = np.full(len(vals), np.nan)
        at = np.flatnonzero(nums)
        num[at] = [F.excel_serial(v) if isinstance(v, pd.Timestamp) else v for v in (vals[i] for i in at.tolist())]
        parts.append(BlockColumn("num", num, fmt, fmts=fmts))
    if (k == _BOOL).any():
        parts.append(BlockColumn("bool", _objects(vals, k == _BOOL), fmt, fmts=fmts))
    errs = (k == _ERR) & live
    if errs.any() or empty.any():  # an error: a formula that yields it (the writer has no error constant)
        texts = _objects(vals, errs, lambda v: literal(ExcelError(v.code)))
        cached = _objects(vals, errs, lambda v: v.code)
        texts[empty] = '""'
        cached[empty] = ""
        parts.append(BlockColumn("formula", texts, fmt, cached, fmts=fmts))
    if not stash and (k == _NONE).any():
        parts.append(BlockColumn("blank", k == _NONE, fmt, fmts=fmts))
    return parts


def spill_columns(kind: str, vals: list[Any], live: bool, fmt: Any,
                  fmts: list[Any] | None = None) -> list[BlockColumn]:
    """A spilled table's column as ``write_spill`` writes it: NaN and None blank cells with the format, numbers,
    texts (an empty text too), booleans, dates as serial numbers, errors as formulas (as texts without
    ``live``)."""
    if fmts is not None:
        fmt = None
    if kind in ("num", "date"):
        return [BlockColumn("num", np.asarray(vals, dtype=float), fmt, fmts=fmts, missing="blank")]
    return _parts(vals, live, fmt, fmts, stash=False)


def stash_columns(kind: str, vals: list[Any]) -> list[BlockColumn]:
    """A column's stored copy on the values sheet as ``_stash_frame`` writes it: no format, NaN, None and ""
    as the formula ``=""``."""
    if kind in ("num", "date"):
        return [BlockColumn("num", np.asarray(vals, dtype=float), missing="empty")]
    return _parts(vals, True, None, None, stash=True)
