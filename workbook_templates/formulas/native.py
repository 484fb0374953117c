"""Excel's native functions the reports use (IF, IFERROR, AND, OR, ISNUMBER, SUM, EDATE, MONTH, ABS, MAX, MIN).

Each is evaluated with Excel's semantics, so LibreOffice and Excel compute
exactly what :meth:`Fn.evaluate` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .nodes import Ctx, Node, wrap
from .values import ExcelError, first_error, number, sum_range, truthy

__all__ = ["NATIVE_FUNCTIONS", "EDate", "Fn", "If", "IfError"]


# Native functions: Excel name as written in the file, Python implementation on evaluated args.
def _f_if(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    c = truthy(nodes[0].evaluate(ctx))
    if isinstance(c, ExcelError):
        return c
    if c:
        return nodes[1].evaluate(ctx)
    return nodes[2].evaluate(ctx) if len(nodes) > 2 else False


def _f_iferror(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    v = nodes[0].evaluate(ctx)
    return nodes[1].evaluate(ctx) if isinstance(v, ExcelError) else v


def _f_and(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    vals = [truthy(n.evaluate(ctx)) for n in nodes]
    e = first_error(*vals)
    return e if e else all(vals)


def _f_or(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    vals = [truthy(n.evaluate(ctx)) for n in nodes]
    e = first_error(*vals)
    return e if e else any(vals)


def _f_isnumber(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    v = nodes[0].evaluate(ctx)
    return isinstance(v, (int, float, np.integer, np.floating, pd.Timestamp)) and not isinstance(v, bool)


def _f_sum(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    total = 0.0
    for n in nodes:
        v = sum_range(n.evaluate(ctx))
        if isinstance(v, ExcelError):
            return v
        total += v
    return total


def _f_edate(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    d, k = nodes[0].evaluate(ctx), nodes[1].evaluate(ctx)
    e = first_error(d, k)
    if e:
        return e
    if not isinstance(d, pd.Timestamp):
        return ExcelError("#VALUE!", f"EDATE needs a date, got {d!r}")
    n = number(k)
    if isinstance(n, ExcelError):  # a spec's month offset is a number; text is a bug in the spec
        raise TypeError(f"EDATE needs a number of months, got {k!r}")
    return d + pd.DateOffset(months=int(n))


def _f_month(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    d = nodes[0].evaluate(ctx)
    if isinstance(d, ExcelError):
        return d
    if not isinstance(d, pd.Timestamp):
        return ExcelError("#VALUE!", f"MONTH needs a date, got {d!r}")
    return float(d.month)


def _f_abs(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    x = number(nodes[0].evaluate(ctx))
    return x if isinstance(x, ExcelError) else abs(x)


def _f_max(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    xs = [number(n.evaluate(ctx)) for n in nodes]
    e = first_error(*xs)
    return e if e else max(x for x in xs if not isinstance(x, ExcelError))


def _f_min(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    xs = [number(n.evaluate(ctx)) for n in nodes]
    e = first_error(*xs)
    return e if e else min(x for x in xs if not isinstance(x, ExcelError))


_NATIVE: dict[str, tuple[str, Callable[[Ctx, tuple[Node, ...]], Any]]] = {
    "IF": ("IF", _f_if),
    "IFERROR": ("IFERROR", _f_iferror),
    "AND": ("AND", _f_and),
    "OR": ("OR", _f_or),
    "ISNUMBER": ("ISNUMBER", _f_isnumber),
    "SUM": ("SUM", _f_sum),
    "EDATE": ("EDATE", _f_edate),
    "MONTH": ("MONTH", _f_month),
    "ABS": ("ABS", _f_abs),
    "MAX": ("MAX", _f_max),
    "MIN": ("MIN", _f_min),
}
#: Native functions a template may use (as stored in the file), for the template checks: the
#: :class:`Fn` functions, those the range nodes of :mod:`.lookups` write, NA, ISERROR (the add-in probe), and
#: VSTACK and DROP (a spilled table's headings, :func:`..build.printing.spill_headings`).
NATIVE_FUNCTIONS = frozenset({v[0] for v in _NATIVE.values()} | {"SUMPRODUCT", "INDEX", "MATCH",
                                                                   "_xlfn._xlws.FILTER", "NA", "COUNTIFS", "SUMIFS",
                                                                   "ISERROR", "_xlfn.XMATCH", "SUBSTITUTE",
                                                                   "_xlfn.VSTACK", "_xlfn.DROP"})


@dataclass(frozen=True, eq=False)
class Fn(Node):
    """A native Excel function from :data:`_NATIVE`."""

    name: str
    args: tuple[Node, ...]

    def __init__(self, name: str, *args: Any) -> None:
        if name not in _NATIVE:
            raise ValueError(f"native function {name} is not supported by the formula model")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", tuple(wrap(a) for a in args))

    def children(self) -> Iterable[Node]:
        return self.args

    def render(self, ctx: Ctx) -> str:
        return f"{_NATIVE[self.name][0]}({','.join(a.render(ctx) for a in self.args)})"

    def evaluate(self, ctx: Ctx) -> Any:
        return _NATIVE[self.name][1](ctx, self.args)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Fn(self.name, *[a.substitute(row_cells) for a in self.args])


def If(cond: Any, a: Any, b: Any) -> Fn:
    """``IF(cond, a, b)``."""
    return Fn("IF", cond, a, b)


def IfError(x: Any, alt: Any) -> Fn:
    """``IFERROR(x, alt)``."""
    return Fn("IFERROR", x, alt)


def EDate(d: Any, months: Any) -> Fn:
    """``EDATE(d, months)``: the same day ``months`` months later (clipped to the month's end); ``months`` is a
    number or a node (:class:`~.nodes.PeriodLen`: a report period's length)."""
    return Fn("EDATE", d, months)

