"""kpi_functions — business KPIs as pure numpy/pandas functions.

Every function here is also an Excel formula (``kpi_functions.nps`` is
``=KPI_NPS``). See :data:`REGISTRY` for the catalog, and ``kpi functions`` on
the command line.
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
)
from ._registry import CATEGORIES, REGISTRY, Arg, KPISpec, get, specs

# Domain modules register their functions on import, in catalog order.
# Within a category the catalog order is the import order: churn's scalars come
# before the cohort triangle (mrr_tables) and the survival models.
from .revenue import *  # noqa: F401,F403
from .churn import *  # noqa: F401,F403
from .mrr_tables import *  # noqa: F401,F403
from .survival import *  # noqa: F401,F403
from .value import *  # noqa: F401,F403
from .bgnbd import *  # noqa: F401,F403
from .marketing import *  # noqa: F401,F403
from .satisfaction import *  # noqa: F401,F403
from .product import *  # noqa: F401,F403

from ._docs import example_formula  # noqa: E402  (after the domain modules: the catalog is complete)

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "REGISTRY",
    "Arg",
    "KPISpec",
    "get",
    "specs",
    "example_formula",
    "EXCEL_ERRORS",
    "KPIError",
    "KPIInputError",
    "KPIDomainError",
    "KPIUndefinedError",
    "KPIErrorValue",
    "KPIModelError",
] + [s.name for s in REGISTRY.values()]
