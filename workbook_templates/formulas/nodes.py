"""The formula nodes: what a cell's formula is made of, and the context they render and evaluate in.

Each node renders to Excel formula text and evaluates in Python; :class:`Ctx`
is what a node needs from the builder (addresses of named cells, input tables,
spilled results, row tables and item lists, KPI calls, a per-build cache).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kpi_functions.excel import literal

from .values import ExcelError, compare, number

__all__ = [
    "KPI", "BlockCol", "ByGrain", "Col", "Cols", "Const", "Ctx", "ListCol", "Neg", "Node", "Op", "PeriodLen",
    "PeriodName", "Ref", "RelRef", "RowCells", "RowRef", "SpillAll", "SpillCell", "SpillCol", "apply_op", "row_of", "wrap",
]


class Ctx(Protocol):
    """What nodes need from the builder: every ``ctx.<method>`` a node calls is declared here."""

    sheet: str  #: sheet of the cell being rendered (addresses on it need no sheet name)

    # named cells (Ref)
    def addr(self, name: str, absolute: bool = True) -> str: ...
    def value(self, name: str) -> Any: ...
    # input tables (Col, Cols)
    def table_ref(self, dataset: str, first: str, last: str | None) -> str: ...
    def table_value(self, dataset: str, first: str, last: str | None) -> Any: ...
    # spilled results (SpillCol, SpillAll, SpillCell, Lookup2D)
    def spill_range(self, name: str, col: int | str | None, header: bool) -> str: ...
    def spill_header_range(self, name: str) -> str: ...
    def spill_value(self, name: str, col: int | str | None) -> Any: ...
    def spill_cell(self, name: str, row: int, col: int | str) -> str: ...
    def spill_cell_value(self, name: str, row: int, col: int | str) -> Any: ...
    # row tables (BlockCol) and item lists (ListCol)
    def block_range(self, table: str, key: str) -> str: ...
    def block_value(self, table: str, key: str) -> Any: ...
    def list_range(self, items: str, col: str | int) -> str: ...
    def list_value(self, items: str, col: str | int) -> Any: ...
    # KPI calls (KPI)
    def kpi_name(self, excel_name: str) -> str: ...
    def call_kpi(self, node: KPI, vals: list[Any]) -> Any: ...
    def computed_outside(self, node: Node) -> Any: ...  # a result computed outside the build, or None
    # per-build memo of look-up indexes (SumWhere, Lookup)
    def cache(self) -> dict[Any, Any]: ...
    # the report period (PeriodLen, ByGrain, the period filters): its length in months, 1, 3 or 12
    def period_months(self) -> int: ...
    # in a row of a row table (RowRef, and nodes that read their own row of a spilled table): the address and
    # value of the row's cell of column ``key``, and the row (0-based); outside a row table each is an error
    def row_addr(self, key: str) -> str: ...
    def row_value(self, key: str) -> Any: ...
    def row_index(self) -> int: ...


class Node:
    """A formula node."""

    #: whether the node reads its own row of a row table (a :class:`RowRef`, a node asking for its row number)
    reads_row = False

    def render(self, ctx: Ctx) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, ctx: Ctx) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def kpis(self) -> Iterable[str]:
        """Excel names of the KPI functions used in this node."""
        for c in self.children():
            yield from c.kpis()

    def children(self) -> Iterable[Node]:
        return ()

    def substitute(self, row_cells: dict[str, str]) -> Node:
        """Replace :class:`RowRef` placeholders by references to the cells of one row."""
        return self

    # operators build Op nodes, so specs read like formulas
    def __add__(self, o: Any) -> Op: return Op("+", self, wrap(o))
    def __radd__(self, o: Any) -> Op: return Op("+", wrap(o), self)
    def __sub__(self, o: Any) -> Op: return Op("-", self, wrap(o))
    def __rsub__(self, o: Any) -> Op: return Op("-", wrap(o), self)
    def __mul__(self, o: Any) -> Op: return Op("*", self, wrap(o))
    def __rmul__(self, o: Any) -> Op: return Op("*", wrap(o), self)
    def __truediv__(self, o: Any) -> Op: return Op("/", self, wrap(o))
    def __rtruediv__(self, o: Any) -> Op: return Op("/", wrap(o), self)
    def __pow__(self, o: Any) -> Op: return Op("^", self, wrap(o))
    def __rpow__(self, o: Any) -> Op: return Op("^", wrap(o), self)
    def __neg__(self) -> Neg: return Neg(self)


def row_of(row: int | None, ctx: Ctx) -> int:
    """A node's data row in a row table: the one it was substituted for, else the row it is evaluated in."""
    return ctx.row_index() if row is None else row


def wrap(x: Any) -> Node:
    """A node as is; any other value as a :class:`Const`."""
    return x if isinstance(x, Node) else Const(x)


# --------------------------------------------------------------------------
# Leaves
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Const(Node):
    value: Any

    def render(self, ctx: Ctx) -> str:
        v = self.value
        return "" if v is None else literal(v)

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
class RelRef(Ref):
    """A named cell written as a relative address (``B12``, not ``$B$12``): a row of a sortable table reads
    its own cells this way, so the row's formulas follow it when Excel sorts the table."""

    def render(self, ctx: Ctx) -> str:
        return ctx.addr(self.name, absolute=False)


class RowCells(dict):
    """The cells of one row of a row table (column key -> cell name), for :meth:`Node.substitute`;
    ``relative``: :class:`RowRef` becomes a :class:`RelRef` (a sortable table's row)."""

    def __init__(self, cells: dict[str, str], relative: bool = False) -> None:
        super().__init__(cells)
        self.relative = relative


@dataclass(frozen=True, eq=False)
class RowRef(Node):
    """Placeholder in a per-row template: the cell of column ``key`` in the same row.

    Rendered and evaluated in a row's context (the row table's :class:`Ctx` for one row: ``row_addr``,
    ``row_value``), or replaced by that cell's :class:`Ref` (:meth:`substitute`); outside a row table it is an
    error."""

    key: str
    reads_row = True

    def render(self, ctx: Ctx) -> str:
        return ctx.row_addr(self.key)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.row_value(self.key)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        if getattr(row_cells, "relative", False):
            return RelRef(row_cells[self.key])
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
        object.__setattr__(self, "args", tuple(None if a is None else wrap(a) for a in args))

    def children(self) -> Iterable[Node]:
        return [a for a in self.args if a is not None]

    def kpis(self) -> Iterable[str]:
        yield self.name
        yield from super().kpis()

    def _trimmed(self, ctx: Ctx) -> list[Node | None]:
        """The arguments written: trailing ones that are None (or a :class:`ByGrain` that is None for this
        report period) are omitted."""
        args = [a.chosen(ctx) if isinstance(a, ByGrain) else a for a in self.args]
        while args and args[-1] is None:
            args.pop()
        return args

    def render(self, ctx: Ctx) -> str:
        parts = ["" if a is None else a.render(ctx) for a in self._trimmed(ctx)]
        return f"{ctx.kpi_name(self.name)}({','.join(parts)})"

    def evaluate(self, ctx: Ctx) -> Any:
        done = ctx.computed_outside(self)  # (kpi build on a cluster: a table computed there)
        if done is not None:
            return done
        args = [a.chosen(ctx) if isinstance(a, ByGrain) else a for a in self.args]
        vals = [None if a is None else a.evaluate(ctx) for a in args]
        return ctx.call_kpi(self, vals)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return KPI(self.name, *[None if a is None else a.substitute(row_cells) for a in self.args])


def apply_op(op: str, a: Any, b: Any) -> Any:
    """``a op b`` the Excel way (:class:`Op`): a comparison, or arithmetic on the values as numbers."""
    if op in ("=", "<>", "<", "<=", ">", ">="):
        return compare(op, a, b)
    x, y = number(a), number(b)
    if isinstance(x, ExcelError):  # the first error wins
        return x
    if isinstance(y, ExcelError):
        return y
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return ExcelError("#DIV/0!", "division by zero") if y == 0 else x / y
    if op == "^":
        if x < 0 and not float(y).is_integer():
            return ExcelError("#NUM!", "a negative number to a fractional power")
        return float(x) ** float(y)
    raise ValueError(op)


@dataclass(frozen=True, eq=False)
class Op(Node):
    op: str
    a: Node
    b: Node

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", wrap(self.a))
        object.__setattr__(self, "b", wrap(self.b))

    def children(self) -> Iterable[Node]:
        return (self.a, self.b)

    def render(self, ctx: Ctx) -> str:
        return f"({self.a.render(ctx)}{self.op}{self.b.render(ctx)})"

    def evaluate(self, ctx: Ctx) -> Any:
        return apply_op(self.op, self.a.evaluate(ctx), self.b.evaluate(ctx))

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
        x = number(self.a.evaluate(ctx))
        return x if isinstance(x, ExcelError) else -x

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return Neg(self.a.substitute(row_cells))

@dataclass(frozen=True, eq=False)
class BlockCol(Node):
    """The data cells of one column of a :class:`~workbook_templates.spec.RowTable`."""

    table: str
    key: str

    def render(self, ctx: Ctx) -> str:
        return ctx.block_range(self.table, self.key)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.block_value(self.table, self.key)



@dataclass(frozen=True, eq=False)
class ListCol(Node):
    """A column of an :class:`~workbook_templates.spec.ItemList`: ``label``, ``value`` or an extra column index."""

    items: str
    col: str | int

    def render(self, ctx: Ctx) -> str:
        return ctx.list_range(self.items, self.col)

    def evaluate(self, ctx: Ctx) -> Any:
        return ctx.list_value(self.items, self.col)


# --------------------------------------------------------------------------
# The report period (a month, a quarter, a year): decided when the report is built
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PeriodLen(Node):
    """The number ``factor × months in the report period + offset`` (written as a number: 1, 3 or 12 months)."""

    factor: int = 1
    offset: int = 0

    def render(self, ctx: Ctx) -> str:
        return str(self.factor * ctx.period_months() + self.offset)

    def evaluate(self, ctx: Ctx) -> Any:
        return float(self.factor * ctx.period_months() + self.offset)


@dataclass(frozen=True, eq=False)
class PeriodName(Node):
    """The text ``"month"``, ``"quarter"`` or ``"year"``: the kind of the report period (KPI_MRR_MOVEMENTS' period)."""

    def render(self, ctx: Ctx) -> str:
        return literal(self.evaluate(ctx))

    def evaluate(self, ctx: Ctx) -> Any:
        return {1: "month", 3: "quarter", 12: "year"}[ctx.period_months()]


@dataclass(frozen=True, eq=False)
class ByGrain(Node):
    """``month`` in a report of one month, ``period`` in a report of a quarter or a year.

    A report keeps its monthly formulas as they are, and a quarter or year gets the formula its definition
    needs (a sum over the period's months, a monthly rate from a period's). As an argument of :class:`KPI`,
    a branch that is None leaves the argument out.
    """

    month: Node | None
    period: Node | None

    def __init__(self, month: Any, period: Any) -> None:
        object.__setattr__(self, "month", None if month is None else wrap(month))
        object.__setattr__(self, "period", None if period is None else wrap(period))

    def chosen(self, ctx: Ctx) -> Node | None:
        return self.month if ctx.period_months() == 1 else self.period

    def children(self) -> Iterable[Node]:
        return [n for n in (self.month, self.period) if n is not None]

    def render(self, ctx: Ctx) -> str:
        n = self.chosen(ctx)
        return "" if n is None else n.render(ctx)

    def evaluate(self, ctx: Ctx) -> Any:
        n = self.chosen(ctx)
        return None if n is None else n.evaluate(ctx)

    def substitute(self, row_cells: dict[str, str]) -> Node:
        return ByGrain(None if self.month is None else self.month.substitute(row_cells),
                       None if self.period is None else self.period.substitute(row_cells))
