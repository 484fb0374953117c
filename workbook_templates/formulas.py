"""A small formula model: each node renders to Excel formula text and evaluates in Python.

Report specs describe cells with these nodes. The builder renders them into
the workbook (``=KPI_NPS(NPS[score])``) and evaluates them to store the
formula's cached value: KPI calls run the registered library function on the
same data, native Excel functions are evaluated here with Excel's semantics.
Only the handful of native functions the reports use exist, each written so
that LibreOffice and Excel compute exactly what :meth:`Node.evaluate` does.

Values during evaluation: ``float``, ``str``, ``bool``, ``pd.Timestamp``
(a date; written as its serial number), ``None`` (a blank cell),
:class:`ExcelError`, and for ranges a ``pd.Series`` (one column) or a
``pd.DataFrame`` (several columns, no header row).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import pandas as pd

from kpi_functions.excel import ExcelError  # the one Excel error value (a str: the code, with .code and .message)
from kpi_functions.excel import literal as _literal

__all__ = [
    "ExcelError", "Node", "Const", "Ref", "Col", "Cols", "SpillCol", "SpillAll", "SpillCell", "RowRef",
    "KPI", "Fn", "Op", "Neg", "SumWhere", "Filter", "InMonth", "Index", "Match", "Lookup", "If", "IfError",
    "EDate", "excel_serial", "to_serial_array",
]

EPOCH = pd.Timestamp("1899-12-30")


#: milliseconds, never nanoseconds: datetime64[ns] ends at 2262-04-11 and its
#: casts wrap later dates round silently; serials run to 9999-12-31 (2958465)
_EPOCH_MS = np.datetime64("1899-12-30", "ms")


def excel_serial(ts: pd.Timestamp | _dt.datetime | _dt.date) -> float:
    """Excel serial number of a date (1900 date system, dates from 1900-03-01)."""
    if isinstance(ts, pd.Timestamp):
        v = ts.to_datetime64()
    elif isinstance(ts, _dt.datetime):
        v = np.datetime64(ts.replace(tzinfo=None), "ms")
    else:
        v = np.datetime64(ts, "D")
    return float((v.astype("datetime64[ms]") - _EPOCH_MS) / np.timedelta64(1, "D"))


def to_serial_array(s: pd.Series) -> np.ndarray:
    """Vectorised :func:`excel_serial`; NaT -> NaN."""
    v = s.to_numpy(dtype="datetime64[ms]")
    out = (v - _EPOCH_MS) / np.timedelta64(1, "D")
    return out.astype(float)


class Ctx(Protocol):  # what nodes need from the builder
    sheet: str  #: sheet of the cell being rendered (addresses on it need no sheet name)

    def addr(self, name: str, absolute: bool = True) -> str: ...
    def value(self, name: str) -> Any: ...
    def table_ref(self, dataset: str, first: str, last: str | None) -> str: ...
    def table_value(self, dataset: str, first: str, last: str | None) -> Any: ...
    def spill_range(self, name: str, col: int | str | None, header: bool) -> str: ...
    def spill_value(self, name: str, col: int | str | None) -> Any: ...
    def spill_cell(self, name: str, row: int, col: int | str) -> str: ...
    def spill_cell_value(self, name: str, row: int, col: int | str) -> Any: ...
    def kpi_name(self, excel_name: str) -> str: ...
    def call_kpi(self, node: "KPI", args: list[Any]) -> Any: ...
    def cache(self) -> dict: ...


class Node:
    """A formula node."""

    def render(self, ctx: Ctx) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def kpis(self) -> Iterable[str]:
        """Excel names of the KPI functions used in this node."""
        for c in self.children():
            yield from c.kpis()

    def children(self) -> Iterable["Node"]:
        return ()

    def substitute(self, row_cells: dict[str, str]) -> "Node":
        """Replace :class:`RowRef` placeholders by references to the cells of one row."""
        return self

    # operators build Op nodes, so specs read like formulas
    def __add__(self, o): return Op("+", self, _wrap(o))
    def __radd__(self, o): return Op("+", _wrap(o), self)
    def __sub__(self, o): return Op("-", self, _wrap(o))
    def __rsub__(self, o): return Op("-", _wrap(o), self)
    def __mul__(self, o): return Op("*", self, _wrap(o))
    def __rmul__(self, o): return Op("*", _wrap(o), self)
    def __truediv__(self, o): return Op("/", self, _wrap(o))
    def __neg__(self): return Neg(self)


def _wrap(x: Any) -> Node:
    return x if isinstance(x, Node) else Const(x)


# --------------------------------------------------------------------------
# Leaves
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Const(Node):
    value: Any

    def render(self, ctx: Ctx) -> str:
        v = self.value
        return "" if v is None else _literal(v)

    def evaluate(self, ctx: Ctx) -> Any:
        v = self.value
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


@dataclass(frozen=True, eq=False)
class Ref(Node):
    """A named cell of the report."""

    name: str

    def render(self, ctx: Ctx) -> str:
        return ctx.addr(self.name)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.value(self.name)


@dataclass(frozen=True, eq=False)
class RowRef(Node):
    """Placeholder in a per-row template: the cell of column ``key`` in the same row."""

    key: str

    def render(self, ctx: Ctx) -> str:  # pragma: no cover - always substituted first
        raise RuntimeError(f"RowRef({self.key!r}) outside a row table")

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover
        raise RuntimeError(f"RowRef({self.key!r}) outside a row table")

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Ref(row_cells[self.key])


@dataclass(frozen=True, eq=False)
class Col(Node):
    """One column of an input table: ``Table[column]``."""

    dataset: str
    column: str

    def render(self, ctx: Ctx) -> str:
        return ctx.table_ref(self.dataset, self.column, None)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.table_value(self.dataset, self.column, None)


@dataclass(frozen=True, eq=False)
class Cols(Node):
    """Adjacent columns of an input table: ``Table[[first]:[last]]``."""

    dataset: str
    first: str
    last: str

    def render(self, ctx: Ctx) -> str:
        return ctx.table_ref(self.dataset, self.first, self.last)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.table_value(self.dataset, self.first, self.last)


@dataclass(frozen=True, eq=False)
class SpillCol(Node):
    """The data rows of one column of a spilled result (by position or header)."""

    spill: str
    col: int | str

    def render(self, ctx: Ctx) -> str:
        return ctx.spill_range(self.spill, self.col, header=False)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.spill_value(self.spill, self.col)


@dataclass(frozen=True, eq=False)
class SpillAll(Node):
    """A whole spilled table with its header row (what a table argument reads)."""

    spill: str

    def render(self, ctx: Ctx) -> str:
        return ctx.spill_range(self.spill, None, header=True)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.spill_value(self.spill, None)


@dataclass(frozen=True, eq=False)
class SpillCell(Node):
    """One cell of a spilled result: data row ``row`` (1-based) of column ``col``."""

    spill: str
    row: int
    col: int | str

    def render(self, ctx: Ctx) -> str:
        return ctx.spill_cell(self.spill, self.row, self.col)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.spill_cell_value(self.spill, self.row, self.col)


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class KPI(Node):
    """A call of a registered KPI function. Trailing ``None`` arguments are omitted."""

    name: str
    args: tuple[Any, ...] = ()

    def __init__(self, name: str, *args: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", tuple(None if a is None else _wrap(a) for a in args))

    def children(self) -> Iterable[Node]:
        return [a for a in self.args if a is not None]

    def kpis(self) -> Iterable[str]:
        yield self.name
        yield from super().kpis()

    def _trimmed(self) -> list[Node | None]:
        args = list(self.args)
        while args and args[-1] is None:
            args.pop()
        return args

    def render(self, ctx: Ctx) -> str:
        parts = ["" if a is None else a.render(ctx) for a in self._trimmed()]
        return f"{ctx.kpi_name(self.name)}({','.join(parts)})"

    def evaluate(self, ctx: Ctx) -> Any:
        vals = [None if a is None else a.evaluate(ctx) for a in self.args]
        return ctx.call_kpi(self, vals)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return KPI(self.name, *[None if a is None else a.substitute(row_cells) for a in self.args])


def _err_of(*vals: Any) -> ExcelError | None:
    for v in vals:
        if isinstance(v, ExcelError):
            return v
    return None


def _num(v: Any) -> float | ExcelError:
    """A value in arithmetic, the Excel way: blank is 0, TRUE is 1, text is #VALUE!."""
    if isinstance(v, ExcelError):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return excel_serial(v)
    return ExcelError("#VALUE!", f"{v!r} is not a number")


def _cmp_key(v: Any) -> tuple:
    """Excel's ordering for comparisons: numbers < text < booleans; text ignores case."""
    if v is None:
        return (0, 0.0)
    if isinstance(v, bool):
        return (2, float(v))
    if isinstance(v, str):
        return (1, v.lower())
    return (0, _num(v))


def _compare(op: str, a: Any, b: Any) -> Any:
    e = _err_of(a, b)
    if e:
        return e
    # a blank compares as 0 with numbers and as "" with text
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    ka, kb = _cmp_key(a), _cmp_key(b)
    return {"=": ka == kb, "<>": ka != kb, "<": ka < kb, "<=": ka <= kb, ">": ka > kb, ">=": ka >= kb}[op]


@dataclass(frozen=True, eq=False)
class Op(Node):
    op: str
    a: Node
    b: Node

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _wrap(self.a))
        object.__setattr__(self, "b", _wrap(self.b))

    def children(self) -> Iterable[Node]:
        return (self.a, self.b)

    def render(self, ctx: Ctx) -> str:
        return f"({self.a.render(ctx)}{self.op}{self.b.render(ctx)})"

    def evaluate(self, ctx: Ctx) -> Any:
        a, b = self.a.evaluate(ctx), self.b.evaluate(ctx)
        if self.op in ("=", "<>", "<", "<=", ">", ">="):
            return _compare(self.op, a, b)
        x, y = _num(a), _num(b)
        e = _err_of(x, y)
        if e:
            return e
        if self.op == "+":
            return x + y
        if self.op == "-":
            return x - y
        if self.op == "*":
            return x * y
        if self.op == "/":
            return ExcelError("#DIV/0!", "division by zero") if y == 0 else x / y
        raise ValueError(self.op)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Op(self.op, self.a.substitute(row_cells), self.b.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class Neg(Node):
    a: Node

    def children(self) -> Iterable[Node]:
        return (self.a,)

    def render(self, ctx: Ctx) -> str:
        return f"(-{self.a.render(ctx)})"

    def evaluate(self, ctx: Ctx) -> Any:
        x = _num(self.a.evaluate(ctx))
        return x if isinstance(x, ExcelError) else -x

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Neg(self.a.substitute(row_cells))


def _truthy(v: Any) -> bool | ExcelError:
    if isinstance(v, ExcelError):
        return v
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v.upper() in ("TRUE", "FALSE"):
            return v.upper() == "TRUE"
        return ExcelError("#VALUE!", f"{v!r} is not TRUE or FALSE")
    return _num(v) != 0


def _sum_range(v: Any) -> float | ExcelError:
    """SUM over a range: numbers only (text and blanks ignored); an error propagates."""
    if isinstance(v, (pd.Series, pd.DataFrame)):
        arr = v.to_numpy(dtype=object).reshape(-1)
        total = 0.0
        if v.dtypes.apply(lambda t: pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t)).all() \
                if isinstance(v, pd.DataFrame) else (pd.api.types.is_float_dtype(v.dtype)
                                                     or pd.api.types.is_integer_dtype(v.dtype)):
            f = np.asarray(v, dtype=float).reshape(-1)
            return float(np.nansum(f))
        for x in arr:
            if isinstance(x, ExcelError):
                return x
            if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and not (
                    isinstance(x, float) and math.isnan(x)):
                total += float(x)
        return total
    x = _num(v)
    return x


# Native functions: Excel name as written in the file, Python implementation on evaluated args.
def _f_if(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    c = _truthy(nodes[0].evaluate(ctx))
    if isinstance(c, ExcelError):
        return c
    if c:
        return nodes[1].evaluate(ctx)
    return nodes[2].evaluate(ctx) if len(nodes) > 2 else False


def _f_iferror(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    v = nodes[0].evaluate(ctx)
    return nodes[1].evaluate(ctx) if isinstance(v, ExcelError) else v


def _f_and(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    vals = [_truthy(n.evaluate(ctx)) for n in nodes]
    e = _err_of(*vals)
    return e if e else all(vals)


def _f_or(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    vals = [_truthy(n.evaluate(ctx)) for n in nodes]
    e = _err_of(*vals)
    return e if e else any(vals)


def _f_isnumber(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    v = nodes[0].evaluate(ctx)
    return isinstance(v, (int, float, np.integer, np.floating, pd.Timestamp)) and not isinstance(v, bool)


def _f_sum(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    total = 0.0
    for n in nodes:
        v = _sum_range(n.evaluate(ctx))
        if isinstance(v, ExcelError):
            return v
        total += v
    return total


def _f_edate(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    d, k = nodes[0].evaluate(ctx), nodes[1].evaluate(ctx)
    e = _err_of(d, k)
    if e:
        return e
    if not isinstance(d, pd.Timestamp):
        return ExcelError("#VALUE!", f"EDATE needs a date, got {d!r}")
    return d + pd.DateOffset(months=int(_num(k)))


def _f_abs(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    x = _num(nodes[0].evaluate(ctx))
    return x if isinstance(x, ExcelError) else abs(x)


def _f_max(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    xs = [_num(n.evaluate(ctx)) for n in nodes]
    e = _err_of(*xs)
    return e if e else max(xs)


def _f_min(ctx: Ctx, nodes: tuple[Node, ...]) -> Any:
    xs = [_num(n.evaluate(ctx)) for n in nodes]
    e = _err_of(*xs)
    return e if e else min(xs)


_NATIVE: dict[str, tuple[str, Callable[[Ctx, tuple[Node, ...]], Any]]] = {
    "IF": ("IF", _f_if),
    "IFERROR": ("IFERROR", _f_iferror),
    "AND": ("AND", _f_and),
    "OR": ("OR", _f_or),
    "ISNUMBER": ("ISNUMBER", _f_isnumber),
    "SUM": ("SUM", _f_sum),
    "EDATE": ("EDATE", _f_edate),
    "ABS": ("ABS", _f_abs),
    "MAX": ("MAX", _f_max),
    "MIN": ("MIN", _f_min),
}
#: Native functions a template may use (as stored in the file), for the template checks.
NATIVE_FUNCTIONS = frozenset({v[0] for v in _NATIVE.values()} | {"SUMPRODUCT", "INDEX", "MATCH",
                                                                   "_xlfn._xlws.FILTER", "NA"})


@dataclass(frozen=True, eq=False)
class Fn(Node):
    """A native Excel function from :data:`_NATIVE`."""

    name: str
    args: tuple[Node, ...]

    def __init__(self, name: str, *args: Any) -> None:
        if name not in _NATIVE:
            raise ValueError(f"native function {name} is not supported by the formula model")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", tuple(_wrap(a) for a in args))

    def children(self) -> Iterable[Node]:
        return self.args

    def render(self, ctx: Ctx) -> str:
        return f"{_NATIVE[self.name][0]}({','.join(a.render(ctx) for a in self.args)})"

    def evaluate(self, ctx: Ctx) -> Any:
        return _NATIVE[self.name][1](ctx, self.args)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Fn(self.name, *[a.substitute(row_cells) for a in self.args])


def If(cond: Any, a: Any, b: Any) -> Fn:
    return Fn("IF", cond, a, b)


def IfError(x: Any, alt: Any) -> Fn:
    return Fn("IFERROR", x, alt)


def EDate(d: Any, months: int) -> Fn:
    return Fn("EDATE", d, months)


def _key(v: Any) -> Any:
    """Hashable key with Excel's equality: text ignores case; blank equals 0 and ""."""
    if v is None:
        return None
    if isinstance(v, str):
        return ("s", v.lower())
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return ("n", excel_serial(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return None if math.isnan(f) else ("n", f)
    return ("o", v)


def _keys_of(v: Any) -> list:
    if isinstance(v, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(v.dtype):
            arr = to_serial_array(v)
            return [None if math.isnan(x) else ("n", x) for x in arr]
        if pd.api.types.is_float_dtype(v.dtype) or pd.api.types.is_integer_dtype(v.dtype):
            arr = v.to_numpy(dtype=float, na_value=np.nan)
            return [None if math.isnan(x) else ("n", x) for x in arr]
        return [_key(x) for x in v.to_numpy(dtype=object)]
    raise TypeError("a condition range must be one column")


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
        object.__setattr__(self, "conds", tuple((r, _wrap(k)) for r, k in conds))

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
        e = _err_of(*keys)
        if e:
            return e
        cache = ctx.cache()
        ident = ("sumwhere", tuple(r.render(ctx) for r, _ in self.conds),
                 None if self.values is None else self.values.render(ctx))
        index = cache.get(ident)
        if index is None:
            ranges = [r.evaluate(ctx) for r, _ in self.conds]
            e = _err_of(*ranges)
            if e:  # a spilled table that is itself an error
                return e
            cols = [_keys_of(r) for r in ranges]
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
        # blank cells compare equal to a blank key and to 0 / ""
        norm = tuple(_key(k) for k in keys)
        total = index.get(norm, 0.0)
        return float(total)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return SumWhere(None if self.values is None else self.values.substitute(row_cells),
                        *[(r.substitute(row_cells), k.substitute(row_cells)) for r, k in self.conds])


@dataclass(frozen=True, eq=False)
class InMonth(Node):
    """Condition for :class:`Filter`: a date column falls in the month starting at ``month``."""

    dates: Node
    month: Node

    def children(self) -> Iterable[Node]:
        return (self.dates, self.month)

    def render(self, ctx: Ctx) -> str:
        d, m = self.dates.render(ctx), self.month.render(ctx)
        return f"({d}>={m})*({d}<EDATE({m},1))"

    def mask(self, ctx: Ctx) -> np.ndarray | ExcelError:
        m = self.month.evaluate(ctx)
        if isinstance(m, ExcelError):
            return m
        d = self.dates.evaluate(ctx)
        start = pd.Timestamp(m)
        end = start + pd.DateOffset(months=1)
        v = pd.to_datetime(d)
        return ((v >= start) & (v < end)).to_numpy(dtype=bool)

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - only used through Filter
        raise RuntimeError("InMonth is a FILTER condition")

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return InMonth(self.dates.substitute(row_cells), self.month.substitute(row_cells))


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
        mask = self.cond.mask(ctx)
        if isinstance(mask, ExcelError):
            return mask
        src = self.source.evaluate(ctx)
        if isinstance(src, ExcelError):
            return src
        return src.loc[mask].reset_index(drop=True)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Filter(self.source.substitute(row_cells), self.cond.substitute(row_cells))


@dataclass(frozen=True, eq=False)
class Lookup(Node):
    """``INDEX(values, MATCH(key, keys, 0))``: exact-match lookup (dates, numbers)."""

    key: Node
    keys: Node
    values: Node

    def __init__(self, key: Any, keys: Node, values: Node) -> None:
        object.__setattr__(self, "key", _wrap(key))
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
            raise ValueError("Lookup is for dates and numbers (MATCH treats text keys as wildcard patterns)")
        keys = self.keys.evaluate(ctx)
        if isinstance(keys, ExcelError):  # MATCH never finds a key among error cells: #N/A
            return ExcelError("#N/A", f"{k} not found ({keys.code} in the look-up range)")
        cache = ctx.cache()
        ident = ("match", self.keys.render(ctx))
        pos = cache.get(ident)
        if pos is None:
            pos = {}
            for i, kk in enumerate(_keys_of(keys)):
                pos.setdefault(kk, i)
            cache[ident] = pos
        i = pos.get(_key(k))
        if i is None:
            return ExcelError("#N/A", f"{k} not found")
        vals = self.values.evaluate(ctx)
        if isinstance(vals, ExcelError):
            return vals
        v = vals.iloc[i]
        if isinstance(v, (float, np.floating)) and math.isnan(v):
            return 0.0  # INDEX of a blank cell is 0 in a numeric context
        if isinstance(v, np.generic):
            v = v.item()
        return v

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Lookup(self.key.substitute(row_cells), self.keys.substitute(row_cells),
                      self.values.substitute(row_cells))


# exported names for symmetry with the spec vocabulary
Index = Lookup
Match = Lookup


@dataclass(frozen=True, eq=False)
class BlockCol(Node):
    """The data cells of one column of a :class:`~workbook_templates.spec.RowTable`."""

    table: str
    key: str

    def render(self, ctx: Ctx) -> str:
        return ctx.block_range(self.table, self.key)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.block_value(self.table, self.key)


__all__.append("BlockCol")


@dataclass(frozen=True, eq=False)
class ListCol(Node):
    """A column of an :class:`~workbook_templates.spec.ItemList`: ``label``, ``value`` or an extra column index."""

    items: str
    col: str | int

    def render(self, ctx: Ctx) -> str:
        return ctx.list_range(self.items, self.col)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.list_value(self.items, self.col)


__all__.append("ListCol")


@dataclass(frozen=True, eq=False)
class CountInMonth(Node):
    """``COUNTIFS(dates,">="&month,dates,"<"&EDATE(month,1))``: rows dated in the month."""

    dates: Node
    month: Node

    def children(self) -> Iterable[Node]:
        return (self.dates, self.month)

    def render(self, ctx: Ctx) -> str:
        d, m = self.dates.render(ctx), self.month.render(ctx)
        return f'COUNTIFS({d},">="&{m},{d},"<"&EDATE({m},1))'

    def evaluate(self, ctx: Ctx) -> Any:
        mask = InMonth(self.dates, self.month).mask(ctx)
        if isinstance(mask, ExcelError):
            return mask
        return float(mask.sum())

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return CountInMonth(self.dates.substitute(row_cells), self.month.substitute(row_cells))


__all__.append("CountInMonth")
NATIVE_FUNCTIONS = NATIVE_FUNCTIONS | {"COUNTIFS", "EDATE", "ISERROR"}  # ISERROR: the add-in probe


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
        object.__setattr__(self, "key", _wrap(key))
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
        keys = _keys_of(self.keys.evaluate(ctx))
        try:
            i = keys.index(_key(k))
        except ValueError:
            return ExcelError("#N/A", f"{k} not found")
        v = table.iloc[i, j]
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            return ""
        return v.item() if isinstance(v, np.generic) else v


__all__.append("Lookup2D")
