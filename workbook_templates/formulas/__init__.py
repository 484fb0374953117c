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

The modules:

- :mod:`.nodes` — :class:`Node`, the :class:`Ctx` protocol (what a node needs
  from the builder), cell and range references, KPI calls, arithmetic;
- :mod:`.native` — Excel's native functions (``IF``, ``IFERROR``, ``SUM``,
  ``EDATE``, …) and :data:`NATIVE_FUNCTIONS`;
- :mod:`.lookups` — nodes over whole ranges (``SUMPRODUCT``, ``FILTER``,
  ``COUNTIFS``, ``INDEX``/``MATCH``);
- :mod:`.segments` — one segment's rows of a whole input table (``FILTER`` by a segment column or by the
  customer's segment, exact text look-ups), for the comparison workbook;
- :mod:`.values` — Excel's error values and its rules for values
  (arithmetic, truth, comparison, look-up equality);
- :mod:`.serial` — date serial numbers.
"""

from __future__ import annotations

from .lookups import (
    CountInMonth,
    CountInPeriod,
    Filter,
    InMonth,
    Lookup,
    Lookup2D,
    SumInMonth,
    SumInPeriod,
    SumWhere,
)
from .native import NATIVE_FUNCTIONS, EDate, Fn, If, IfError
from .nodes import (
    KPI,
    BlockCol,
    ByGrain,
    Col,
    Cols,
    Const,
    Ctx,
    ListCol,
    Neg,
    Node,
    Op,
    PeriodLen,
    PeriodName,
    Ref,
    RelRef,
    RowCells,
    RowRef,
    SpillAll,
    SpillCell,
    SpillCol,
)
from .segments import Equals, FilterWhere, InSegment, TextLookup
from .serial import EPOCH, excel_serial, to_serial_array
from .values import ExcelError

__all__ = [
    "EPOCH", "KPI", "NATIVE_FUNCTIONS", "BlockCol", "ByGrain", "Col", "Cols", "Const", "CountInMonth", "CountInPeriod", "Ctx",
    "EDate", "Equals", "ExcelError", "Filter", "FilterWhere", "Fn", "If", "IfError", "InMonth", "InSegment", "ListCol",
    "Lookup", "Lookup2D", "Neg", "Node", "Op", "PeriodLen", "PeriodName", "Ref", "RelRef", "RowCells", "RowRef",
    "SpillAll", "SpillCell", "SpillCol", "SumInMonth", "SumInPeriod", "SumWhere", "TextLookup", "excel_serial", "to_serial_array",
]
