"""kpi_functions — business KPIs as pure numpy/pandas functions.

Every function here is also an Excel formula (``kpi_functions.nps`` is
``=KPI_NPS``). See :data:`REGISTRY` for the catalog, and ``kpi functions`` on
the command line.

Public names besides the KPI functions: the registry (``REGISTRY``, ``get``,
``specs``, ``KPISpec``, ``Arg``, ``CATEGORIES``, ``SHAPES``, ``ARG_KINDS``,
the units: ``Unit``, ``UNIT_RECORDS``, ``unit``, ``UNITS``), its rendering as
documentation (``example_formula``, ``example_result``,
``example_result_text``, ``render_markdown``) and the errors (``KPIError``
and its subclasses, ``Location``, ``EXCEL_ERRORS``), and three helpers the
other parts share (``parse_iso``, ``terminal_safe``, ``show_big_int``).
Modules whose name starts with ``_`` are private to the package.
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

# Domain modules register their functions on import; specs() sorts them by category
# (the catalog order), keeping the import order within a category: churn's scalars come
# (then expansion's) before the cohort triangle (cohorts), renewals and the survival models.
# isort: off
from .revenue import *
from .churn import *
from .expansion import *
from .mrr_tables import *
from .cohorts import *
from .renewals import *
from .survival import *
from .sbg_cohorts import *
from .value import *
from .bgnbd import *
from .bgnbd_customers import *
from .gamma_gamma import *
from .rfm import *
from .marketing import *
from .satisfaction import *
from .product import *
from .proportions import *

# isort: on
# The registry rendered as documentation (example_formula …), and helpers the other parts
# share: the one ISO date rule (data files read dates as the functions do), text safe for a
# terminal, a huge integer shown short.
from ._coerce import parse_iso
from ._docs import example_formula, example_result, example_result_text, render_markdown
from ._errors import _show_big_int as show_big_int
from ._terminal import terminal_safe

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
    "parse_iso",
    "show_big_int",
    "terminal_safe",
] + [s.name for s in REGISTRY.values()]
