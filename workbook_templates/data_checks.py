"""Column-wide helpers of :mod:`workbook_templates.data`: each does what a loop over the cells with Python's own
``str`` methods did, in one pass at C speed (``map`` of the ``str`` method itself, no Python code per cell), so
the values, and so the issues and their messages, are those the loop gave.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np
import pandas as pd

from kpi_functions import parse_iso

__all__ = ["Cells", "cells", "factorize", "is_str", "key_checks", "lengths", "longest", "objects", "parse_iso_once", "shared", "stripped", "text_dtype"]


def is_str(v: np.ndarray) -> np.ndarray:
    """``isinstance(x, str)`` of each cell of an object array."""
    return np.fromiter(map(isinstance, v, repeat(str)), dtype=bool, count=len(v))


def stripped(v: np.ndarray) -> np.ndarray:
    """``x.strip()`` of each cell of an object array of texts (an unchanged text is the same object)."""
    return np.fromiter(map(str.strip, v), dtype=object, count=len(v))


def lengths(v: np.ndarray) -> np.ndarray:
    """``len(x)`` of each cell of an object array of texts."""
    return np.fromiter(map(len, v), dtype=np.int64, count=len(v))


#: a column is looked at for repeated values in its first rows: when at most half of them are distinct, equal
#: values share one Python object (a column of regions: a few objects, not a million copies of "EU")
_SAMPLE = 10_000


def _few_distinct(s: pd.Series) -> bool:
    k = min(len(s), _SAMPLE)
    return len(s) > _SAMPLE and int(s.iloc[:k].nunique(dropna=False)) <= k // 2


def factorize(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of an object array (codes in order of first appearance, -1 for a missing value).

    pandas 2 hashes an array of texts as C strings, which end at a NUL character: "a\x00b" and "a" were one
    value. A column with a NUL in a text (rare) is factorised with a dict instead.
    """
    v = np.asarray(v, dtype=object)
    try:
        joined = "".join(v)
    except TypeError:  # not texts only
        joined = "".join(v[is_str(v)])
    if "\x00" not in joined:
        codes, uniq = pd.factorize(v)
        return np.asarray(codes), np.asarray(uniq, dtype=object)
    missing = np.asarray(pd.isna(v), dtype=bool)
    seen: dict[object, int] = {}
    codes = np.array([-1 if m else seen.setdefault(x, len(seen)) for x, m in zip(v.tolist(), missing.tolist())],
                     dtype=np.intp)
    uniq = np.empty(len(seen), dtype=object)
    uniq[:] = list(seen)
    return codes, uniq


def _texts_or_missing(v: np.ndarray) -> bool:
    """Every cell a ``str`` (exactly: 1, 1.0 and True are equal keys, as "a" and numpy's "a" are) or missing."""
    kinds = set(map(type, v))
    if not kinds <= {str, type(None), float, type(pd.NA)}:
        return False
    return float not in kinds or bool((is_str(v) | np.asarray(pd.isna(v), dtype=bool)).all())


def _shared_already(sample: np.ndarray) -> bool:
    """Whether the first rows hold each of their texts as one object (a column factorised before)."""
    return len(set(map(id, sample))) <= int(pd.Series(sample, dtype=object).nunique(dropna=False))


def shared(v: np.ndarray) -> np.ndarray:
    """An object array of texts with equal texts as one object each (when the column repeats its values): the
    same values, a fraction of the memory."""
    if not (_texts_or_missing(v[:_SAMPLE]) and _few_distinct(pd.Series(v, dtype=object, copy=False))
            and not _shared_already(v[:_SAMPLE]) and _texts_or_missing(v)):
        return v
    codes, uniq = factorize(v)
    out = uniq.take(codes) if len(uniq) else np.empty(len(v), dtype=object)
    missing = codes < 0
    if missing.any():
        out[missing] = v[missing]
    return out


def text_dtype(s: pd.Series) -> bool:
    """A column of pandas' string dtype, or categorical with texts for categories."""
    if isinstance(s.dtype, pd.StringDtype):
        return True
    return isinstance(s.dtype, pd.CategoricalDtype) and (
        s.cat.categories.dtype == object or isinstance(s.cat.categories.dtype, pd.StringDtype)) and \
        _texts_or_missing(s.cat.categories.to_numpy(dtype=object))


def objects(s: pd.Series) -> np.ndarray:
    """``s.to_numpy(dtype=object)``, with equal values as one object each when the column repeats its values
    (a categorical or pyarrow string column from Parquet is factorised in place, not converted cell by cell)."""
    if s.dtype == object:
        return shared(s.to_numpy(dtype=object))
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage != "pyarrow":
        return shared(s.to_numpy(dtype=object))
    arrow = isinstance(s.dtype, pd.StringDtype)  # factorised by pyarrow, byte by byte
    cats = not arrow and text_dtype(s)
    if not (arrow or cats) or not _few_distinct(s):
        return s.to_numpy(dtype=object)
    if cats:
        codes, uniq = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniq = pd.factorize(s)
        uniq = np.asarray(uniq, dtype=object)
    out = uniq.take(codes) if len(uniq) else np.empty(len(s), dtype=object)
    missing = codes < 0
    if missing.any():
        out[missing] = s[missing].to_numpy(dtype=object)
    return out


def longest(v: np.ndarray) -> int:
    """The longest text's length (0 for none), without an array of lengths."""
    return max(map(len, v), default=0)


class Cells:
    """The cells of a column as ``s.to_numpy(dtype=object)`` gives them, converted only for the rows looked at.

    Messages about bad cells show the user's value; a column of numbers or timestamps has few bad cells (or
    none), so its million values are not made into Python objects for them. After many lookups the column is
    converted once, as it was before.
    """

    _WHOLE_AFTER = 1000

    def __init__(self, s: pd.Series) -> None:
        self._s = s
        self._all: np.ndarray | None = s.to_numpy(dtype=object) if s.dtype == object else None
        self._asked = 0

    def __getitem__(self, i: int) -> object:
        if self._all is None:
            self._asked += 1
            if self._asked <= self._WHOLE_AFTER:
                return self._s.iloc[int(i):int(i) + 1].to_numpy(dtype=object)[0]
            self._all = self._s.to_numpy(dtype=object)
        return self._all[i]


def cells(s: pd.Series) -> Cells:
    return Cells(s)


def key_checks(k: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a key column (texts and None): the rows repeating a key seen above, the row each of them first
    appeared in, and the rows whose key differs from another key only in upper/lower case while no other row
    holds it exactly — from one factorisation of the column (the distinct keys alone are lowered).

    The same rows as ``k.notna() & k.duplicated(keep="first")`` and, over ``k.dropna()``,
    ``k.str.lower().duplicated(keep=False) & ~k.duplicated(keep=False)``.
    """
    codes, uniq = factorize(k.to_numpy(dtype=object))
    n_u = len(uniq)
    # codes are given in order of first appearance: a row is a first appearance when its code is above all
    # the codes before it
    prev_max = np.empty(len(codes), dtype=codes.dtype)
    if len(codes):
        prev_max[0] = -1
        np.maximum.accumulate(codes[:-1], out=prev_max[1:])
    first = codes > prev_max
    first_of_code = np.flatnonzero(first)
    dup = (codes >= 0) & ~first
    dup_first = first_of_code[codes[dup]]
    none = np.zeros(0, dtype=np.int64)
    if not n_u:
        return dup, dup_first, none
    u = uniq
    if not is_str(u).all():  # not a column of texts: as pandas' string methods see it
        low = k.dropna().str.lower()
        clash = (low.duplicated(keep=False) & ~k.dropna().duplicated(keep=False)).to_numpy(dtype=bool)
        return dup, dup_first, np.asarray(low.index[clash], dtype=np.int64)
    if len(set(map(str.lower, u))) == n_u:  # no two keys differ only in case (the usual answer, at once)
        return dup, dup_first, none
    lcodes, luniq = factorize(np.fromiter(map(str.lower, u), dtype=object, count=n_u))
    count = np.bincount(codes[codes >= 0], minlength=n_u)
    keys_per_lower = np.bincount(lcodes, minlength=len(luniq))
    clash_u = (keys_per_lower[lcodes] >= 2) & (count == 1)
    return dup, dup_first, np.sort(first_of_code[clash_u])


def parse_iso_once(t: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kpi_functions.parse_iso` of a column of texts, each distinct text parsed once (dates repeat a
    lot: 2.9 million activity rows hold a few thousand dates); the same values and mask as over the column."""
    codes, uniq = factorize(t.to_numpy(dtype=object))
    if len(codes) and int(codes.min()) < 0:  # a missing value among the texts: as it always was
        return parse_iso(t)
    parsed, bad = parse_iso(pd.Series(uniq, dtype=object))
    return parsed[codes], bad[codes]
