"""Function names as Excel shows them and as Excel stores them in a saved file.

The names moved to :mod:`kpi_functions.excel` (the one Excel convention, shared
with the report builder); this module re-exports them for the add-in.
"""

from __future__ import annotations

from kpi_functions.excel import ADDIN_PATHS as FLAVOURS
from kpi_functions.excel import OFFICEJS_FILE_PREFIX, formula_name, typed_name, validate_namespace

__all__ = [
    "FLAVOURS",
    "OFFICEJS_FILE_PREFIX",
    "formula_name",
    "typed_name",
    "validate_namespace",
]
