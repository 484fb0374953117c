"""Input coercion: the only place that turns what callers hand over into arrays.

Callers hand over what Excel gives (nested lists with ``None`` or ``""`` for
blanks, a text header row on tables, dates as serial numbers or datetimes),
or plain Python numbers, numpy arrays, pandas Series and DataFrames. This
package turns each into numpy arrays, validates them, and raises a typed error
naming the function, the argument, the location and the value when it cannot.

Locations are 1-based and relative to the range that was passed: ``item 3``
for a 1-D input, ``row 4, column 2`` for a 2-D one (:class:`~kpi_functions.Location`).
Nothing is ever silently coerced: text is not a number (``"5"`` is text), a
boolean is not a number, and infinity is out of every domain. Numbers come
back as float64.

Modules: :mod:`.cells` (the grid, blanks, value kinds, identifiers),
:mod:`.numeric` (numbers, sums, ratios, start/end pairs), :mod:`.datetimes`
(dates and the one ISO rule), :mod:`.tables` (table arguments) and
:mod:`.options` (single values).
"""

from __future__ import annotations

from .cells import Grid, grid, is_blank_value, label_pairs, labels
from .datetimes import EXCEL_EPOCH, dates, excel_serial_to_datetime64, index_to_month, month_index, parse_iso
from .numeric import (
    TOO_LARGE,
    aligned_numbers,
    finite,
    numbers,
    pair,
    ratio,
    to_float,
    total,
    total_growth,
    total_ratio,
    whole_numbers,
)
from .options import option_bool, option_number, option_text
from .tables import Column, Table, table

__all__ = [
    "EXCEL_EPOCH",
    "TOO_LARGE",
    "Column",
    "Grid",
    "Table",
    "aligned_numbers",
    "dates",
    "excel_serial_to_datetime64",
    "finite",
    "grid",
    "index_to_month",
    "is_blank_value",
    "label_pairs",
    "labels",
    "month_index",
    "numbers",
    "option_bool",
    "option_number",
    "option_text",
    "pair",
    "parse_iso",
    "ratio",
    "table",
    "to_float",
    "total",
    "total_growth",
    "total_ratio",
    "whole_numbers",
]
