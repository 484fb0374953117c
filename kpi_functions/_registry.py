"""The registry: one record per KPI function, written once, next to the function.

Everything that lists KPIs — the Excel adapters, the add-in metadata, the
function reference in the docs, ``kpi functions`` and the template checks —
reads this registry. Nothing keeps a second list by hand.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

__all__ = ["Arg", "KPISpec", "kpi", "REGISTRY", "get", "specs", "CATEGORIES", "SHAPES", "UNITS", "ARG_KINDS"]

#: Categories in catalog order (SPEC §4).
CATEGORIES = (
    "Revenue",
    "Churn and retention",
    "Customer value and acquisition",
    "Marketing",
    "Satisfaction",
    "Product and service",
)
#: scalar: one value; column: one value per input row; table: a spilled table
#: with a header row; labelled: two columns (label, value), one row per figure.
SHAPES = ("scalar", "column", "table", "labelled")
#: What a scalar result measures (drives number formats in templates and docs).
UNITS = {
    "fraction": "a fraction, shown as a percentage (0.052 = 5.2 %)",
    "points": "points on the NPS scale, −100…100",
    "money": "money, in the input's unit",
    "count": "a count",
    "ratio": "a ratio (× times)",
    "months": "months",
    "duration": "a duration in the unit asked for",
    "number": "a number",
    "table": "a table",
}
#: range: a cell or range of numbers; table: a 2-D range read by column position;
#: ids: a range of identifiers; dates: a range of dates; number/text/bool: one option value.
ARG_KINDS = ("range", "table", "ids", "dates", "number", "text", "bool")


@dataclass(frozen=True)
class Arg:
    """One argument of a KPI function."""

    name: str
    help: str
    kind: str
    optional: bool
    default: Any = None

    @property
    def is_range(self) -> bool:
        """True when Excel should hand the argument over as a 2-D range."""
        return self.kind in ("range", "table", "ids", "dates")


@dataclass(frozen=True)
class KPISpec:
    """Everything known about one KPI function."""

    excel_name: str
    func: Callable[..., Any]
    summary: str
    formula: str
    args: tuple[Arg, ...]
    category: str
    shape: str
    unit: str
    example: tuple[Any, ...] = field(default=())
    aliases: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """The Python name (``churn_revenue``)."""
        return self.func.__name__

    @property
    def required(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.optional)

    @property
    def signature_text(self) -> str:
        """``KPI_CSAT(scores, [satisfied_min=4], [scale_max=5])``."""
        parts = []
        for a in self.args:
            if a.optional:
                d = a.default
                shown = "" if d is None else "=" + (
                    ("TRUE" if d else "FALSE") if isinstance(d, bool) else (f'"{d}"' if isinstance(d, str) else f"{d:g}" if isinstance(d, (int, float)) else str(d))
                )
                parts.append(f"[{a.name}{shown}]")
            else:
                parts.append(a.name)
        return f"{self.excel_name}({', '.join(parts)})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


#: Excel name -> spec, in registration (catalog) order.
REGISTRY: dict[str, KPISpec] = {}


def _default_kind(p: inspect.Parameter) -> str:
    d = p.default
    if p.default is inspect.Parameter.empty:
        return "range"
    if isinstance(d, bool):
        return "bool"
    if isinstance(d, str):
        return "text"
    if isinstance(d, (int, float)):
        return "number"
    return "range"


def kpi(
    *,
    category: str,
    summary: str,
    formula: str,
    args: dict[str, str],
    shape: str = "scalar",
    unit: str = "number",
    kinds: dict[str, str] | None = None,
    example: tuple[Any, ...] = (),
    aliases: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a KPI function and return it unchanged.

    ``args`` maps every parameter name to its help text, in signature order.
    ``kinds`` overrides the argument kind (default: ``range`` for required
    arguments, else by the default's type). ``example`` is a tuple of Python
    arguments that make a small, valid call (used by the docs and the common
    tests).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}")
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    if "\n" in summary:
        raise ValueError("summary must be one line")
    kinds = kinds or {}

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        names = [p.name for p in params]
        if list(args) != names:
            raise ValueError(f"{func.__name__}: args {list(args)} do not match the signature {names}")
        for p in params:
            if p.kind not in (p.POSITIONAL_OR_KEYWORD,):
                raise ValueError(f"{func.__name__}: parameter {p.name} must be positional-or-keyword")
        unknown = set(kinds) - set(names)
        if unknown:
            raise ValueError(f"{func.__name__}: kinds for unknown parameters {unknown}")
        arg_specs = []
        for p in params:
            kind = kinds.get(p.name, _default_kind(p))
            if kind not in ARG_KINDS:
                raise ValueError(f"{func.__name__}: unknown kind {kind!r}")
            optional = p.default is not inspect.Parameter.empty
            arg_specs.append(Arg(p.name, args[p.name], kind, optional, None if not optional else p.default))
        excel_name = "KPI_" + func.__name__.upper()
        if excel_name in REGISTRY:
            raise ValueError(f"{excel_name} registered twice")
        REGISTRY[excel_name] = KPISpec(
            excel_name=excel_name,
            func=func,
            summary=summary,
            formula=formula,
            args=tuple(arg_specs),
            category=category,
            shape=shape,
            unit=unit,
            example=example,
            aliases=aliases,
        )
        func.kpi_spec = REGISTRY[excel_name]  # type: ignore[attr-defined]
        return func

    return register


def get(name: str) -> KPISpec:
    """Look a KPI up by Excel name (``KPI_NPS``, ``=KPI_NPS``) or Python name (``nps``)."""
    key = name.strip().lstrip("=").upper()
    if "." in key:  # a namespaced name, NS.KPI_NPS
        key = key.rsplit(".", 1)[1]
    if not key.startswith("KPI_"):
        key = "KPI_" + key
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"no KPI function named {name!r}") from None


def specs(category: str | None = None) -> Iterator[KPISpec]:
    """The registered specs in catalog order, optionally of one category."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    items = sorted(REGISTRY.values(), key=lambda s: order[s.category])  # stable: keeps definition order
    return iter([s for s in items if category is None or s.category == category])
