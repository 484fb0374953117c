"""The cells of the row tables, kept by column instead of one object per cell.

A row table of 700,000 customers × 8 columns would be millions of :class:`~.model.CellDef` objects, each with
its own substituted formula tree, held for the whole build. Here a row table is its keys and its column
templates: a cell ``table.key.i`` is found from its name, and its :class:`~.model.CellDef` (with the template
substituted for that row) is made when asked for and not kept. Its value is kept in one list per column.

:class:`CellMap` is the report's map of cell names to cells: the cells placed one by one (item lists) and
those of the row tables. :class:`ValueMap` the map of cell names to computed values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from .. import formulas as F
from .model import BlockDef, CellDef

__all__ = ["MISSING", "CellMap", "NameSeq", "ValueMap", "split_name", "template_cell"]

MISSING = object()  #: a row-table cell not evaluated yet


def split_name(name: str) -> tuple[str, str, int] | None:
    """``("health", "mrr", 12)`` for the cell name ``health.mrr.12``; None for a name of no row-table form."""
    head, dot, i = name.rpartition(".")
    if not dot or not i.isdigit():
        return None
    table, dot, key = head.rpartition(".")
    if not dot:
        return None
    return table, key, int(i)


class NameSeq(Sequence[str]):
    """The cell names of one column of a row table (``table.key.0`` …), made when asked for."""

    __slots__ = ("n", "prefix")

    def __init__(self, table: str, key: str, n: int) -> None:
        self.prefix = f"{table}.{key}."
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.prefix + str(k) for k in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.prefix + str(i)

    def __iter__(self) -> Iterator[str]:
        p = self.prefix
        return (p + str(k) for k in range(self.n))

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __hash__(self) -> int:  # pragma: no cover - not used as a key
        return hash((self.prefix, self.n))


class CellMap(Mapping[str, CellDef]):
    """Cell name -> :class:`~.model.CellDef`: the cells placed one by one, then every row-table cell."""

    def __init__(self) -> None:
        self.placed: dict[str, CellDef] = {}
        self.blocks: dict[str, BlockDef] = {}

    def block_cell(self, name: str) -> tuple[BlockDef, int, int] | None:
        """(the row table, column index, row index) of a row-table cell's name; None for any other name."""
        parts = split_name(name)
        if parts is None:
            return None
        bd = self.blocks.get(parts[0])
        if bd is None:
            return None
        j = bd.col_index.get(parts[1])
        if j is None or parts[2] >= len(bd.keys):
            return None
        return bd, j, parts[2]

    def place(self, name: str) -> tuple[str, int, int] | None:
        """(sheet, row, column) of a cell, without making its :class:`~.model.CellDef`; None: no such cell."""
        c = self.placed.get(name)
        if c is not None:
            return c.sheet, c.row, c.col
        hit = self.block_cell(name)
        if hit is None:
            return None
        bd, j, i = hit
        return bd.spec.sheet, bd.first_row + i, bd.spec.col + j

    def __getitem__(self, name: str) -> CellDef:
        c = self.placed.get(name)
        if c is not None:
            return c
        hit = self.block_cell(name)
        if hit is None:
            raise KeyError(name)
        return hit[0].cell(hit[1], hit[2])

    def get(self, name: str, default: Any = None) -> Any:
        c = self.placed.get(name)
        if c is not None:
            return c
        hit = self.block_cell(name)
        return default if hit is None else hit[0].cell(hit[1], hit[2])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.placed or self.block_cell(name) is not None)

    def __iter__(self) -> Iterator[str]:
        yield from self.placed
        for bd in self.blocks.values():
            yield from bd.names_by_row()

    def __len__(self) -> int:
        return len(self.placed) + sum(len(bd.keys) * len(bd.spec.columns) for bd in self.blocks.values())


class ValueMap(MutableMapping[str, Any]):
    """Cell name -> computed value: a dict for the cells placed one by one, a list per row-table column."""

    def __init__(self, cells: CellMap) -> None:
        self.cells = cells
        self.placed: dict[str, Any] = {}
        self.columns: dict[tuple[str, int], list[Any]] = {}  #: (table, column index) -> values (MISSING: not yet)

    def column(self, bd: BlockDef, j: int) -> list[Any]:
        col = self.columns.get((bd.spec.name, j))
        if col is None:
            col = self.columns[(bd.spec.name, j)] = [MISSING] * len(bd.keys)
        return col

    def _at(self, name: str) -> tuple[list[Any], int] | None:
        hit = self.cells.block_cell(name)
        if hit is None:
            return None
        bd, j, i = hit
        return self.column(bd, j), i

    def __getitem__(self, name: str) -> Any:
        if name in self.placed:
            return self.placed[name]
        at = self._at(name)
        if at is None or at[0][at[1]] is MISSING:
            raise KeyError(name)
        return at[0][at[1]]

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def __setitem__(self, name: str, v: Any) -> None:
        at = self._at(name)
        if at is None:
            self.placed[name] = v
        else:
            at[0][at[1]] = v

    def __delitem__(self, name: str) -> None:
        at = self._at(name)
        if at is None:
            del self.placed[name]
        else:
            at[0][at[1]] = MISSING

    def __iter__(self) -> Iterator[str]:
        yield from self.placed
        for bd in self.cells.blocks.values():
            for name in bd.names_by_row():
                if name in self:
                    yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)


def template_cell(bd: BlockDef, j: int, i: int) -> CellDef:
    """Row ``i``'s cell of column ``j`` of a row table, its template substituted for that row (made on request,
    not kept; :meth:`~.model.BlockDef.cell`)."""
    spec = bd.spec
    c = spec.columns[j]
    name = f"{spec.name}.{c.key}.{i}"
    row, col = bd.first_row + i, spec.col + j
    if isinstance(c.expr, str) and c.expr == "KEY":
        if bd.key_node is not None:
            return CellDef(name, spec.sheet, row, col, bd.key_node(i), None, bd.key_fmt or c.fmt, "key")
        return CellDef(name, spec.sheet, row, col, None, bd.keys[i], c.fmt, "key")
    if isinstance(c.expr, F.Node):
        names = F.RowCells({x.key: f"{spec.name}.{x.key}.{i}" for x in spec.columns}, relative=bool(spec.table_name))
        node = c.expr.substitute(names)
        return CellDef(name, spec.sheet, row, col, node, None, c.fmt, "kpi" if bd.kpi_cols[c.key] else "native")
    return CellDef(name, spec.sheet, row, col, None, c.expr, c.fmt, "value")
