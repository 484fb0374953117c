"""Nodes that pick one segment's rows out of a whole input table (the comparison workbook, ``--compare``).

- :class:`Equals` — the condition ``(range=key)``: rows whose segment cell equals the key (Excel's ``=``:
  exact, text without regard to case, no wildcards);
- :class:`InSegment` — the condition "this row's customer is a customer of the segment":
  ``ISNUMBER(XMATCH(ids, FILTER(Customers[customer_id], Customers[column]=key)))``;
- :class:`FilterWhere` — ``FILTER(range, cond1*cond2*…, "")`` over such conditions (and :class:`.InMonth`);
- :class:`TextLookup` — ``INDEX(values, MATCH(key, keys, 0))&""`` for text keys: the key's wildcard
  characters are escaped (``~``, ``*``, ``?``), so an identifier means itself, as it does in Python;
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .nodes import Ctx, Node, wrap
from .values import ExcelError, first_error, lookup_key, lookup_keys

__all__ = ["Equals", "FilterWhere", "InSegment", "TextLookup"]


def _key_codes(values: Any) -> tuple[np.ndarray, dict[Any, int]]:
    """Each cell's lookup key as a code (the keys numbered in order of appearance; a blank cell's key is None)."""
    numbers: dict[Any, int] = {}
    codes = np.fromiter((numbers.setdefault(k, len(numbers)) for k in lookup_keys(values)), dtype=np.int64,
                        count=len(values))
    return codes, numbers


def _mask_keys(values: Any, key: Any, coded: tuple[np.ndarray, dict[Any, int]] | None = None) -> np.ndarray:
    """Which cells of ``values`` equal ``key`` under Excel's ``=``; ``coded``: the column's :func:`_key_codes`,
    if the caller keeps them."""
    want = lookup_key("" if key is None else key)
    codes, numbers = coded if coded is not None else _key_codes(values)
    mask = codes == numbers.get(want, -1)
    if want in (("s", ""), ("n", 0.0)) and None in numbers:  # a blank cell equals "" (and 0) under Excel's "="
        mask |= codes == numbers[None]
    return mask


@dataclass(frozen=True, eq=False)
class Equals(Node):
    """FILTER condition ``(range=key)``: rows whose cell equals ``key`` (Excel's equality)."""

    range: Node
    key: Node

    def __init__(self, range_: Node, key: Any) -> None:
        object.__setattr__(self, "range", range_)
        object.__setattr__(self, "key", wrap(key))

    def children(self) -> Iterable[Node]:
        return (self.range, self.key)

    def render(self, ctx: Ctx) -> str:
        return f"({self.range.render(ctx)}={self.key.render(ctx)})"

    def mask(self, ctx: Ctx) -> np.ndarray | ExcelError:
        k = self.key.evaluate(ctx)
        if isinstance(k, ExcelError):
            return k
        v = self.range.evaluate(ctx)
        if isinstance(v, ExcelError):
            return v
        # the column's keys coded once per build: a row table's column evaluates this condition once per row
        cache = ctx.cache()
        ident = ("equals", self.range.render(ctx))
        coded = cache.get(ident)
        if coded is None:
            coded = cache[ident] = _key_codes(v)
        return _mask_keys(v, k, coded)

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - only used through FilterWhere
        raise RuntimeError("Equals is a FILTER condition")

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Equals(self.range.substitute(row_cells), self.key.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class InSegment(Node):
    """FILTER condition: the row's customer (``ids``) is one of the customers whose ``group`` cell equals ``key``.

    ``members`` and ``group`` are two columns of the customers table. Written with ``XMATCH``, whose default
    match is exact (no wildcards), text without regard to case.
    """

    ids: Node
    members: Node
    group: Node
    key: Node

    def __init__(self, ids: Node, members: Node, group: Node, key: Any) -> None:
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "key", wrap(key))

    def children(self) -> Iterable[Node]:
        return (self.ids, self.members, self.group, self.key)

    def render(self, ctx: Ctx) -> str:
        members = (f'_xlfn._xlws.FILTER({self.members.render(ctx)},'
                   f'{self.group.render(ctx)}={self.key.render(ctx)},"")')
        return f"ISNUMBER(_xlfn.XMATCH({self.ids.render(ctx)},{members}))"

    def mask(self, ctx: Ctx) -> np.ndarray | ExcelError:
        k = self.key.evaluate(ctx)
        if isinstance(k, ExcelError):
            return k
        members, group, ids = (n.evaluate(ctx) for n in (self.members, self.group, self.ids))
        e = first_error(members, group, ids)
        if e:
            return e
        cache = ctx.cache()
        ident = ("insegment", self.members.render(ctx), self.group.render(ctx), self.ids.render(ctx))
        by_group = cache.get(ident)
        if by_group is None:  # one pass: the customers of every group, then each row's group
            groups: dict[Any, set] = {}
            for m, g in zip(lookup_keys(members), lookup_keys(group), strict=True):
                if m is not None:
                    groups.setdefault(("s", "") if g is None else g, set()).add(m)
            by_group = (groups, lookup_keys(ids))
            cache[ident] = by_group
        groups, id_keys = by_group
        want = lookup_key("" if k is None else k)
        if want == ("n", 0.0):
            want = ("s", "")  # a blank group cell equals "" and 0
        seg = groups.get(want, set())
        return np.fromiter((x in seg for x in id_keys), dtype=bool, count=len(id_keys))

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - only used through FilterWhere
        raise RuntimeError("InSegment is a FILTER condition")

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return InSegment(self.ids.substitute(row_cells), self.members.substitute(row_cells),
                         self.group.substitute(row_cells), self.key.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class FilterWhere(Node):
    """``FILTER(range, cond1*cond2*…, "")``: the rows of ``range`` where every condition holds.

    The conditions are nodes with a ``mask(ctx)`` (:class:`Equals`, :class:`InSegment`, :class:`.InMonth`).
    Like :class:`.Filter`, no matching row gives ``""`` in Excel, so a KPI over it reports an empty input
    (``#DIV/0!``: undefined), never 0.
    """

    source: Node
    conds: tuple[Node, ...]

    def __init__(self, source: Node, *conds: Node) -> None:
        if not conds:
            raise ValueError("FilterWhere needs at least one condition")
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "conds", tuple(conds))

    def children(self) -> Iterable[Node]:
        return (self.source, *self.conds)

    def render(self, ctx: Ctx) -> str:
        cond = "*".join(c.render(ctx) for c in self.conds)
        return f'_xlfn._xlws.FILTER({self.source.render(ctx)},{cond},"")'

    def evaluate(self, ctx: Ctx) -> Any:
        masks = [c.mask(ctx) for c in self.conds]  # type: ignore[attr-defined]
        src = self.source.evaluate(ctx)
        e = first_error(*masks, src)  # the conditions' errors first
        if e:
            return e
        mask = np.logical_and.reduce([np.asarray(m, dtype=bool) for m in masks])
        if isinstance(src, pd.Series) and len(src) != len(mask):
            raise ValueError(f"FILTER over {len(src)} rows with a condition of {len(mask)} rows")
        return src.loc[mask].reset_index(drop=True)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return FilterWhere(self.source.substitute(row_cells), *[c.substitute(row_cells) for c in self.conds])


@dataclass(frozen=True, eq=False)
class TextLookup(Node):
    """``INDEX(values, MATCH(escaped key, keys, 0))&""``: the text of ``values`` on the first row whose key
    equals ``key`` (a blank cell reads ``""``; no such key: ``#N/A``)."""

    key: Node
    keys: Node
    values: Node

    def __init__(self, key: Any, keys: Node, values: Node) -> None:
        object.__setattr__(self, "key", wrap(key))
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "values", values)

    def children(self) -> Iterable[Node]:
        return (self.key, self.keys, self.values)

    def render(self, ctx: Ctx) -> str:
        k = self.key.render(ctx)
        escaped = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({k},"~","~~"),"*","~*"),"?","~?")'
        return f'INDEX({self.values.render(ctx)},MATCH({escaped},{self.keys.render(ctx)},0))&""'

    def evaluate(self, ctx: Ctx) -> Any:
        k = self.key.evaluate(ctx)
        if isinstance(k, ExcelError):
            return k
        keys = self.keys.evaluate(ctx)
        if isinstance(keys, ExcelError):
            return ExcelError("#N/A", f"{k} not found ({keys.code} in the look-up range)")
        cache = ctx.cache()
        ident = ("textmatch", self.keys.render(ctx))
        pos = cache.get(ident)
        if pos is None:
            pos = {}
            for i, kk in enumerate(lookup_keys(keys)):
                pos.setdefault(kk, i)
            cache[ident] = pos
        at = pos.get(lookup_key(k))
        if at is None:
            return ExcelError("#N/A", f"{k} not found")
        vals = self.values.evaluate(ctx)
        if isinstance(vals, ExcelError):
            return vals
        v = vals.iloc[at]
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, ExcelError):
            return v
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float):
            return f"{v:g}"  # (a text column holds text: numbers only from hand-made tables)
        return str(v)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return TextLookup(self.key.substitute(row_cells), self.keys.substitute(row_cells),
                          self.values.substitute(row_cells))
