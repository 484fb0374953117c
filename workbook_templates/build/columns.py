"""A row table's column computed as a whole: its template evaluated once for all rows.

A column of a table of 700,000 customers is one template (``SUMPRODUCT((MRR[customer]=A5)*(MRR[month]=$B$2)*
MRR[MRR])`` with ``A5`` the row's own cell). Evaluated row by row, each row pays for the whole formula: its
ranges looked up, its month computed, its look-up index found. Here the template is evaluated once per
column: a part that does not read the row (a range, the report month, ``EDATE`` of it) once for all rows, a
row's own cell as the column it is in, arithmetic and ``IF`` element-wise with the cells' own rules
(:func:`~..formulas.nodes.apply_op`, :func:`~..formulas.values.truthy`), a conditional sum or count as one
index and a look-up per row. Any other part is evaluated row by row (:class:`~.rendering.RowContext`), as is
a template that calls a KPI function (its warnings name each cell). Every value is what the row's own
formula gives (``tests/templates/test_row_tables.py`` checks each cell of every report against it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import formulas as F
from ..formulas.nodes import apply_op
from ..formulas.values import ExcelError, first_error, number, truthy
from .model import BlockDef
from .rendering import RowContext

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["Unsupported", "column_values", "reads_row"]


class Unsupported(Exception):
    """The column is evaluated row by row instead."""


class _One:
    """A value that is the same in every row (a part of the template that does not read its row)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


def reads_row(node: F.Node, memo: dict[int, tuple[F.Node, bool]]) -> bool:
    """Whether ``node`` or a node under it reads its own row of the table (memoised by node)."""
    hit = memo.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    out = node.reads_row or any(reads_row(c, memo) for c in node.children())
    memo[id(node)] = (node, out)
    return out


def column_values(b: Report, bd: BlockDef, j: int) -> list[Any]:
    """Every row's value of column ``j`` (before :meth:`Report._cell_result`); raises :class:`Unsupported`
    when the column is to be evaluated row by row (a KPI call, a part that failed as a whole)."""
    node = bd.spec.columns[j].expr
    if isinstance(node, str) and node == "KEY" and bd.key_node is None:
        return list(bd.keys)
    if not isinstance(node, F.Node):
        if isinstance(node, str) and node == "KEY":  # a month computed from the report month, row by row
            raise Unsupported
        return [node] * len(bd.keys)
    if any(True for _ in node.kpis()):
        raise Unsupported
    cx = _Columns(b, bd)
    try:
        out = cx.vec(node)
    except (Unsupported, RecursionError):
        raise
    except Exception as err:  # a part the row's formula would not reach (IF's other branch) failed: row by row
        raise Unsupported from err
    n = len(bd.keys)
    return [out.v] * n if isinstance(out, _One) else out


class _Columns:
    def __init__(self, b: Report, bd: BlockDef) -> None:
        self.b = b
        self.bd = bd
        self.n = len(bd.keys)
        self.memo: dict[int, tuple[F.Node, bool]] = b.cache().setdefault("reads_row", {})

    def rows(self, node: F.Node) -> list[Any]:
        """A part evaluated in each row's context (its own formula's value there)."""
        base = self.b.ctx
        bd = self.bd
        return [node.evaluate(RowContext(base, bd, i)) for i in range(self.n)]

    def vec(self, node: F.Node) -> list[Any] | _One:
        if not reads_row(node, self.memo):
            return _One(node.evaluate(self.b.ctx))
        if isinstance(node, F.RowRef):
            bd = self.bd
            if node.key not in bd.col_index:
                raise KeyError(node.key)
            return self.b.block_column(bd, bd.col_index[node.key])
        if isinstance(node, F.Op):
            return self._op(node)
        if isinstance(node, F.Neg):
            a = self.vec(node.a)
            return _One(_neg(a.v)) if isinstance(a, _One) else [_neg(x) for x in a]
        if isinstance(node, F.Fn) and node.name in ("IF", "IFERROR", "ISNUMBER", "AND", "OR"):
            return self._fn(node)
        by_row = getattr(node, "evaluate_rows", None)
        if by_row is not None:  # a node that reads its own row of a spilled table: the table's column once
            return by_row(self.b.ctx, self.n)
        keyed = getattr(node, "key_nodes", None)
        if keyed is not None:  # a conditional sum, count or latest date: its index once, a look-up per row
            keys = keyed()
            others = [c for c in node.children() if not any(c is k for k in keys)]
            if not any(reads_row(c, self.memo) for c in others):
                return getattr(node, "evaluate_column")(self.b.ctx, [self._list(self.vec(k)) for k in keys])  # noqa: B009
        return self.rows(node)

    def _list(self, v: list[Any] | _One) -> list[Any]:
        return [v.v] * self.n if isinstance(v, _One) else v

    def _op(self, node: F.Op) -> list[Any] | _One:
        a, b = self.vec(node.a), self.vec(node.b)
        op = node.op
        if isinstance(a, _One) and isinstance(b, _One):
            return _One(apply_op(op, a.v, b.v))
        xs, ys = self._list(a), self._list(b)
        if op in ("+", "-", "*") and _floats(xs) and _floats(ys):  # numbers only: one vector operation
            x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
            r = x + y if op == "+" else x - y if op == "-" else x * y
            return r.tolist()
        return [apply_op(op, x, y) for x, y in zip(xs, ys, strict=True)]

    def _fn(self, node: F.Fn) -> list[Any] | _One:
        name = node.name
        args = [self.vec(a) for a in node.args]
        cols = [self._list(a) for a in args]
        if name == "ISNUMBER":
            return [isinstance(v, (int, float, np.integer, np.floating, pd.Timestamp)) and not isinstance(v, bool)
                    for v in cols[0]]
        if name == "IFERROR":
            return [alt if isinstance(v, ExcelError) else v for v, alt in zip(cols[0], cols[1], strict=True)]
        if name == "IF":
            other = cols[2] if len(cols) > 2 else [False] * self.n
            out = []
            for c, yes, no in zip(cols[0], cols[1], other, strict=True):
                t = truthy(c)
                out.append(t if isinstance(t, ExcelError) else yes if t else no)
            return out
        # AND, OR
        out = []
        for vals in zip(*cols, strict=True):
            ts = [truthy(v) for v in vals]
            e = first_error(*ts)
            out.append(e if e else all(ts) if name == "AND" else any(ts))
        return out


def _neg(x: Any) -> Any:
    """``-x`` the Excel way (:class:`~..formulas.Neg`)."""
    v = number(x)
    return v if isinstance(v, ExcelError) else -v


def _floats(xs: list[Any]) -> bool:
    """Whether every value is a float (no blank, text, error, boolean or date)."""
    return set(map(type, xs)) <= {float}
