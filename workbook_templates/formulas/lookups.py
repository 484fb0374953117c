"""Nodes over whole ranges: conditional sums and counts, month filters, exact-match look-ups.

Each is one Excel construct (``SUMPRODUCT``, ``FILTER``, ``COUNTIFS``,
``INDEX``/``MATCH``) evaluated with Excel's equality; the sums and look-ups
build their index once per range through the build's cache, so a column of
these formulas costs one pass over the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from .nodes import Const, Ctx, Node, wrap
from .values import ExcelError, first_error, lookup_key, lookup_keys, sum_range

__all__ = ["CountInMonth", "CountInPeriod", "Filter", "InMonth", "Lookup", "Lookup2D", "SumInMonth", "SumInPeriod",
           "SumWhere"]


@dataclass(frozen=True, eq=False)
class SumWhere(Node):
    """``SUMPRODUCT((r1=k1)*(r2=k2)*values)`` — sum of ``values`` where every range equals its key.

    With ``values`` None it counts the matching rows. SUMPRODUCT with ``=``
    tests exact equality (no wildcards, no criteria operators), so keys taken
    from the data (``*``, ``>5``, ``=x``) mean themselves, as in Python; text
    compares without regard to case, as in Excel. Evaluated through a grouped
    index built once per set of ranges, so a column of these formulas costs
    one pass over the data.
    """

    values: Node | None
    conds: tuple[tuple[Node, Node], ...]

    def __init__(self, values: Node | None, *conds: tuple[Node, Any]) -> None:
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "conds", tuple((r, wrap(k)) for r, k in conds))

    def children(self) -> Iterable[Node]:
        out = [r for r, _ in self.conds] + [k for _, k in self.conds]
        return out + ([self.values] if self.values is not None else [])

    def render(self, ctx: Ctx) -> str:
        terms = [f"({r.render(ctx)}={k.render(ctx)})" for r, k in self.conds]
        if self.values is not None:
            terms.append(self.values.render(ctx))
        elif len(terms) == 1:
            terms.append("1")
        return f"SUMPRODUCT({'*'.join(terms)})"

    def evaluate(self, ctx: Ctx) -> Any:
        keys = [k.evaluate(ctx) for _, k in self.conds]
        e = first_error(*keys)
        if e:
            return e
        index = self.index(ctx)
        if isinstance(index, ExcelError):
            return index
        # blank cells compare equal to a blank key and to 0 / ""
        norm = tuple(lookup_key(k) for k in keys)
        return float(index.get(norm, 0.0))

    def key_nodes(self) -> list[Node]:
        """The parts a row of a row table may set (the keys); the ranges and values are the same in every row."""
        return [k for _, k in self.conds]

    def evaluate_column(self, ctx: Ctx, keys: list[list[Any]]) -> list[Any]:
        """The value in each row of a row table, given each row's keys (:meth:`key_nodes`): the index once."""
        index: Any = None
        out: list[Any] = []
        for ks in zip(*keys, strict=True):
            e = first_error(*ks)
            if e:
                out.append(e)
                continue
            if index is None:
                index = self.index(ctx)
            out.append(index if isinstance(index, ExcelError) else
                       float(index.get(tuple(lookup_key(k) for k in ks), 0.0)))
        return out

    def index(self, ctx: Ctx) -> dict[Any, float] | ExcelError:
        """The sum of ``values`` for each key of the ranges (built once per set of ranges and values)."""
        cache = ctx.cache()
        ident = ("sumwhere", tuple(r.render(ctx) for r, _ in self.conds),
                 None if self.values is None else self.values.render(ctx))
        index = cache.get(ident)
        if index is None:
            ranges = [r.evaluate(ctx) for r, _ in self.conds]
            e = first_error(*ranges)
            if e:  # a spilled table that is itself an error
                return e
            cols = [lookup_keys(r) for r in ranges]
            if self.values is None:
                vals = np.ones(len(cols[0]))
            else:
                v = self.values.evaluate(ctx)
                if isinstance(v, ExcelError):
                    return v
                vals = v.to_numpy(dtype=float, na_value=np.nan) if isinstance(v, pd.Series) else np.asarray(v, float)
                vals = np.where(np.isnan(vals), 0.0, vals)  # a blank multiplies as 0
            index = {}
            for i, key in enumerate(zip(*cols)):
                index[key] = index.get(key, 0.0) + vals[i]
            cache[ident] = index
        return index

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return SumWhere(None if self.values is None else self.values.substitute(row_cells),
                        *[(r.substitute(row_cells), k.substitute(row_cells)) for r, k in self.conds])


def _span(ctx: Ctx, months: int | None) -> int:
    """Months a period filter covers: ``months``, or the report period's (1, 3 or 12) when None."""
    return ctx.period_months() if months is None else months


def _period_bounds(ctx: Ctx, d: str, m: str, n: int) -> tuple[str, str]:
    """The two comparisons of a period filter as formula text: the ``n`` months ending in the month ``m``."""
    start = m if n == 1 else f"EDATE({m},{1 - n})"
    return f"{d}>={start}", f"{d}<EDATE({m},1)"


@dataclass(frozen=True, eq=False)
class _DatesInMonth(Node):
    """A date column and a month: which rows of the column fall in the report period ending in ``month``.

    The period is the ``months`` months ending in ``month`` (its first day), by default the report period's
    length (one month in a monthly report: exactly the month; a quarter or a year otherwise).
    """

    dates: Node
    month: Node
    months: int | None = None

    def children(self) -> Iterable[Node]:
        return (self.dates, self.month)

    def mask(self, ctx: Ctx) -> np.ndarray | ExcelError:
        m = self.month.evaluate(ctx)
        if isinstance(m, ExcelError):
            return m
        d = self.dates.evaluate(ctx)
        n = _span(ctx, self.months)
        end = pd.Timestamp(m) + pd.DateOffset(months=1)
        start = pd.Timestamp(m) - pd.DateOffset(months=n - 1)
        v = pd.to_datetime(d)
        return ((v >= start) & (v < end)).to_numpy(dtype=bool)

    def substitute(self, row_cells: dict[str, str]) -> Self:
        return type(self)(self.dates.substitute(row_cells), self.month.substitute(row_cells), self.months)


@dataclass(frozen=True, eq=False)
class InMonth(_DatesInMonth):
    """Condition for :class:`Filter`: a date column falls in the report period ending in the month ``month``
    (``months`` months; default: the report period's — the month itself in a monthly report)."""

    def render(self, ctx: Ctx) -> str:
        d, m = self.dates.render(ctx), self.month.render(ctx)
        lo, hi = _period_bounds(ctx, d, m, _span(ctx, self.months))
        return f"({lo})*({hi})"

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - only used through Filter
        raise RuntimeError("InMonth is a FILTER condition")


@dataclass(frozen=True, eq=False)
class Filter(Node):
    """``FILTER(range, condition, "")``: the rows of ``range`` where the condition holds.

    Written with its ``_xlfn._xlws.`` prefix (a dynamic-array function). With no
    matching row it gives ``""`` — one blank — so a KPI over it reports an
    empty input (``#DIV/0!``) rather than FILTER's ``#CALC!``.
    """

    source: Node
    cond: InMonth

    def children(self) -> Iterable[Node]:
        return (self.source, self.cond)

    def render(self, ctx: Ctx) -> str:
        return f'_xlfn._xlws.FILTER({self.source.render(ctx)},{self.cond.render(ctx)},"")'

    def evaluate(self, ctx: Ctx) -> Any:
        mask, src = self.cond.mask(ctx), self.source.evaluate(ctx)
        e = first_error(mask, src)  # the condition's error first
        return e if e else src.loc[mask].reset_index(drop=True)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Filter(self.source.substitute(row_cells), self.cond.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class Lookup(Node):
    """``INDEX(values, MATCH(key, keys, 0))``: exact-match lookup (dates, numbers)."""

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
        return f"INDEX({self.values.render(ctx)},MATCH({self.key.render(ctx)},{self.keys.render(ctx)},0))"

    def evaluate(self, ctx: Ctx) -> Any:
        k = self.key.evaluate(ctx)
        if isinstance(k, ExcelError):
            return k
        if isinstance(k, str):
            # a spec error (a text key in a report spec), not a cell value: never shown as an Excel error
            msg = "Lookup is for dates and numbers (MATCH treats text keys as wildcard patterns)"
            raise ValueError(msg)  # noqa: TRY004
        keys = self.keys.evaluate(ctx)
        if isinstance(keys, ExcelError):  # MATCH never finds a key among error cells: #N/A
            return ExcelError("#N/A", f"{k} not found ({keys.code} in the look-up range)")
        cache = ctx.cache()
        ident = ("match", self.keys.render(ctx))
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
        if isinstance(v, (float, np.floating)) and math.isnan(v):
            return 0.0  # INDEX of a blank cell is 0 in a numeric context
        if isinstance(v, np.generic):
            v = v.item()
        return v

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Lookup(self.key.substitute(row_cells), self.keys.substitute(row_cells),
                      self.values.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class CountInMonth(_DatesInMonth):
    """``COUNTIFS(dates,">="&start,dates,"<"&EDATE(month,1))``: rows dated in the report period ending in
    ``month`` (start = ``month`` in a monthly report, ``EDATE(month, 1 − months)`` otherwise)."""

    def render(self, ctx: Ctx) -> str:
        d, m = self.dates.render(ctx), self.month.render(ctx)
        n = _span(ctx, self.months)
        start = m if n == 1 else f"EDATE({m},{1 - n})"
        return f'COUNTIFS({d},">="&{start},{d},"<"&EDATE({m},1))'

    def evaluate(self, ctx: Ctx) -> Any:
        mask = self.mask(ctx)
        if isinstance(mask, ExcelError):
            return mask
        return float(mask.sum())


@dataclass(frozen=True, eq=False)
class SumInMonth(Node):
    """``SUMIFS(values,dates,">="&start,dates,"<"&EDATE(month,1))``: the sum of ``values`` over the rows dated
    (any day) in the report period ending in ``month`` — :class:`CountInMonth`'s rows, summed; blanks and text
    count as nothing, as SUMIFS does."""

    values: Node
    dates: Node
    month: Node
    months: int | None = None

    def children(self) -> Iterable[Node]:
        return (self.values, self.dates, self.month)

    def render(self, ctx: Ctx) -> str:
        rows = CountInMonth(self.dates, self.month, self.months).render(ctx)
        return f"SUMIFS({self.values.render(ctx)},{rows[len('COUNTIFS('):]}"

    def evaluate(self, ctx: Ctx) -> Any:
        mask = CountInMonth(self.dates, self.month, self.months).mask(ctx)
        if isinstance(mask, ExcelError):
            return mask
        v = self.values.evaluate(ctx)
        if isinstance(v, ExcelError):
            return v
        return sum_range(v.loc[mask])

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return SumInMonth(self.values.substitute(row_cells), self.dates.substitute(row_cells),
                          self.month.substitute(row_cells), self.months)


@dataclass(frozen=True, eq=False)
class CountInPeriod(Node):
    """Rows dated in the report period ending in ``month`` whose other ranges equal their keys:
    ``SUMPRODUCT((dates>=start)*(dates<EDATE(month,1))*(r1=k1)*…)``.

    :class:`CountInMonth` with conditions. Not ``COUNTIFS``: its criteria read ``*``, ``?`` and ``>5`` in a key
    as patterns and operators, where ``=`` compares exactly (text without regard to case), so a key taken from
    the data means itself. A blank date is in no period.
    """

    dates: Node
    month: Node
    conds: tuple[tuple[Node, Node], ...]
    months: int | None

    def __init__(self, dates: Node, month: Any, *conds: tuple[Node, Any], months: int | None = None) -> None:
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "month", wrap(month))
        object.__setattr__(self, "conds", tuple((r, wrap(k)) for r, k in conds))
        object.__setattr__(self, "months", months)

    def children(self) -> Iterable[Node]:
        return [self.dates, self.month] + [r for r, _ in self.conds] + [k for _, k in self.conds]

    def render(self, ctx: Ctx) -> str:
        d, m = self.dates.render(ctx), self.month.render(ctx)
        lo, hi = _period_bounds(ctx, d, m, _span(ctx, self.months))
        terms = [f"({lo})", f"({hi})"] + [f"({r.render(ctx)}={k.render(ctx)})" for r, k in self.conds]
        return f"SUMPRODUCT({'*'.join(terms)})"

    def evaluate(self, ctx: Ctx) -> Any:
        mask = CountInMonth(self.dates, self.month, self.months).mask(ctx)
        keys = [k.evaluate(ctx) for _, k in self.conds]
        e = first_error(mask, *keys)
        if e:
            return e
        cache = ctx.cache()
        for (r, _), key in zip(self.conds, keys, strict=True):
            ident = ("rows_by_key", r.render(ctx))
            rows = cache.get(ident)
            if rows is None:  # one pass over the range: the rows of each key
                vals = r.evaluate(ctx)
                if isinstance(vals, ExcelError):
                    return vals
                groups: dict[Any, list[int]] = {}
                for i, kk in enumerate(lookup_keys(vals)):
                    groups.setdefault(kk, []).append(i)
                rows = {kk: np.asarray(ix, dtype=np.int64) for kk, ix in groups.items()}
                cache[ident] = rows
            want = lookup_key("" if key is None else key)
            hit = [rows.get(want, np.zeros(0, np.int64))]
            if want in (("s", ""), ("n", 0.0)):  # a blank cell equals "" and 0 under Excel's "="
                hit.append(rows.get(None, np.zeros(0, np.int64)))
            sel = np.zeros(len(mask), dtype=bool)
            sel[np.concatenate(hit)] = True
            mask = mask & sel
        return float(np.count_nonzero(mask))

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return CountInPeriod(self.dates.substitute(row_cells), self.month.substitute(row_cells),
                             *[(r.substitute(row_cells), k.substitute(row_cells)) for r, k in self.conds],
                             months=self.months)


@dataclass(frozen=True, eq=False)
class SumInPeriod(Node):
    """The sum of ``values`` over the rows whose month column falls in the report period ending in ``month``
    and whose other ranges equal their keys.

    In a monthly report (or with ``months=1``) this is exactly :class:`SumWhere` on the month:
    ``SUMPRODUCT((months=month)*…*values)``; over a quarter or year it is
    ``SUMPRODUCT((months>=EDATE(month,1−n))*(months<EDATE(month,1))*…*values)``.
    """

    values: Node
    dates: Node
    month: Node
    conds: tuple[tuple[Node, Node], ...]
    months: int | None

    def __init__(self, values: Node, dates: Node, month: Any, *conds: tuple[Node, Any],
                 months: int | None = None) -> None:
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "month", wrap(month))
        object.__setattr__(self, "conds", tuple((r, wrap(k)) for r, k in conds))
        object.__setattr__(self, "months", months)

    def _monthly(self) -> SumWhere:
        return SumWhere(self.values, (self.dates, self.month), *self.conds)

    def children(self) -> Iterable[Node]:
        return [self.values, self.dates, self.month] + [r for r, _ in self.conds] + [k for _, k in self.conds]

    def render(self, ctx: Ctx) -> str:
        n = _span(ctx, self.months)
        if n == 1:
            return self._monthly().render(ctx)
        d, m = self.dates.render(ctx), self.month.render(ctx)
        lo, hi = _period_bounds(ctx, d, m, n)
        terms = [f"({lo})", f"({hi})"] + [f"({r.render(ctx)}={k.render(ctx)})" for r, k in self.conds]
        return f"SUMPRODUCT({'*'.join(terms + [self.values.render(ctx)])})"

    def evaluate(self, ctx: Ctx) -> Any:
        done = ctx.computed_outside(self)  # (kpi build on a cluster: the monthly totals computed there)
        if done is not None:
            return done
        n = _span(ctx, self.months)
        if n == 1:
            return self._monthly().evaluate(ctx)
        m = self.month.evaluate(ctx)
        keys = [k.evaluate(ctx) for _, k in self.conds]
        e = first_error(m, *keys)
        if e:
            return e
        if not isinstance(m, pd.Timestamp):
            return ExcelError("#VALUE!", f"EDATE needs a date, got {m!r}")
        # the sum over the period is the sum of the monthly sums of its months (one index for all of them)
        total = 0.0
        for k in range(n):
            month = m - pd.DateOffset(months=k)
            part = SumWhere(self.values, (self.dates, Const(month)), *self.conds).evaluate(ctx)
            if isinstance(part, ExcelError):
                return part
            total += part
        return total

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return SumInPeriod(self.values.substitute(row_cells), self.dates.substitute(row_cells),
                           self.month.substitute(row_cells),
                           *[(r.substitute(row_cells), k.substitute(row_cells)) for r, k in self.conds],
                           months=self.months)


@dataclass(frozen=True, eq=False)
class Lookup2D(Node):
    """``INDEX(table, MATCH(key, keys, 0), MATCH(header, headers, 0))`` on a spilled result.

    The column is found by its header at calculation time, so a result with
    fewer columns (a young cohort table) gives ``#N/A`` instead of a broken
    reference. A blank cell of the result reads as ``""`` (what its stored
    copy holds).
    """

    key: Node
    keys: Node
    spill: str
    header: str

    def __init__(self, key: Any, keys: Node, spill: str, header: str) -> None:
        object.__setattr__(self, "key", wrap(key))
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "spill", spill)
        object.__setattr__(self, "header", header)

    def children(self) -> Iterable[Node]:
        return (self.key, self.keys)

    def render(self, ctx: Ctx) -> str:
        table = ctx.spill_range(self.spill, None, header=False)
        head = ctx.spill_header_range(self.spill)
        return (f"INDEX({table},MATCH({self.key.render(ctx)},{self.keys.render(ctx)},0),"
                f"MATCH({Const(self.header).render(ctx)},{head},0))")

    def evaluate(self, ctx: Ctx) -> Any:
        k = self.key.evaluate(ctx)
        if isinstance(k, ExcelError):
            return k
        table = ctx.spill_value(self.spill, None)
        if isinstance(table, ExcelError):  # the header row holds only the error: MATCH finds nothing
            return ExcelError("#N/A", f"{self.spill} is {table.code}")
        cols = [str(c).lower() for c in table.columns]
        if self.header.lower() not in cols:
            return ExcelError("#N/A", f"{self.spill} has no column {self.header!r}")
        j = cols.index(self.header.lower())
        keys = lookup_keys(self.keys.evaluate(ctx))
        try:
            i = keys.index(lookup_key(k))
        except ValueError:
            return ExcelError("#N/A", f"{k} not found")
        v = table.iloc[i, j]
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            return ""
        return v.item() if isinstance(v, np.generic) else v


