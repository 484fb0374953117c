"""kpi_functions — business KPIs as pure numpy/pandas functions.

Every function here is also an Excel formula (``kpi_functions.nps`` is
``=KPI_NPS``). See :data:`REGISTRY` for the catalog, and ``kpi functions`` on
the command line.

Public names besides the KPI functions: the registry (``REGISTRY``, ``get``,
``specs``, ``KPISpec``, ``Arg``, ``CATEGORIES``, ``SHAPES``, ``ARG_KINDS``,
the units: ``Unit``, ``UNIT_RECORDS``, ``unit``, ``UNITS``), its rendering as
documentation (``example_formula``, ``example_result``,
``example_result_text``, ``render_markdown``) and the errors (``KPIError``
and its subclasses, ``Location``, ``EXCEL_ERRORS``). Modules whose name
starts with ``_`` are private to the package.
"""

from __future__ import annotations

from ._errors import (
    EXCEL_ERRORS,
    KPIDomainError,
    KPIError,
    KPIErrorValue,
    KPIInputError,
    KPIModelError,
    KPIUndefinedError,
    Location,
)
from ._registry import (
    ARG_KINDS,
    CATEGORIES,
    REGISTRY,
    SHAPES,
    UNIT_RECORDS,
    UNITS,
    Arg,
    KPISpec,
    Unit,
    get,
    specs,
    unit,
)

# Domain modules register their functions on import, in catalog order.
# Within a category the catalog order is the import order: churn's scalars come
# before the cohort triangle (mrr_tables) and the survival models.
# isort: off
from .revenue import *
from .churn import *
from .mrr_tables import *
from .survival import *
from .value import *
from .bgnbd import *
from .marketing import *
from .satisfaction import *
from .product import *

# isort: on
# The registry rendered as documentation.
from ._docs import example_formula, example_result, example_result_text, render_markdown

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Arg",
    "KPISpec",
    "get",
    "specs",
    "CATEGORIES",
    "SHAPES",
    "UNITS",
    "UNIT_RECORDS",
    "Unit",
    "unit",
    "ARG_KINDS",
    "example_formula",
    "example_result",
    "example_result_text",
    "render_markdown",
    "EXCEL_ERRORS",
    "KPIError",
    "KPIInputError",
    "KPIDomainError",
    "KPIUndefinedError",
    "KPIErrorValue",
    "KPIModelError",
    "Location",
] + [s.name for s in REGISTRY.values()]
