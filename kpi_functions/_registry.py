"""The registry: one record per KPI function, written once, next to the function.

Everything that lists KPIs — the Excel adapters, the add-in metadata, the
function reference in the docs, ``kpi functions`` and the template checks —
reads this registry. Nothing keeps a second list by hand.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, SupportsFloat

from ._corrections import EXCEL_HELP_LIMIT, Correction, arg_help, corrections_for, docstring_with_warnings
from ._corrections import excel_description as _excel_description
from ._parts import shared_parts

__all__ = [
    "ARG_KINDS",
    "CATEGORIES",
    "REGISTRY",
    "SHAPES",
    "UNITS",
    "UNIT_RECORDS",
    "Arg",
    "KPISpec",
    "Unit",
    "get",
    "kpi",
    "specs",
    "unit",
]

#: Categories in catalog order (SPEC §4).
CATEGORIES = (
    "Revenue",
    "Churn and retention",
    "Customer value and acquisition",
    "Marketing",
    "Satisfaction",
    "Product and service",
    "Statistics",
)
#: scalar: one value; column: one value per input row; table: a spilled table
#: with a header row; labelled: two columns (label, value), one row per figure
#: (an option may add columns after them, as the fits' standard errors).
SHAPES = ("scalar", "column", "table", "labelled")


@dataclass(frozen=True)
class Unit:
    """What a result measures, and how to show it: in words, in Excel, on a console.

    ``excel_format`` is the number format of a KPI cell in a workbook;
    ``excel_formats`` overrides it per variant (a duration's ``unit``
    option: hours, days, minutes). ``summary_format`` shows a value in a
    short summary (``kpi build``), ``precise_format`` in the docs and
    ``kpi functions NAME`` (both :meth:`str.format` templates of one value).
    """

    name: str
    description: str
    excel_format: str
    summary_format: str = "{:,.4g}"
    precise_format: str = "{:,.6g}"
    excel_formats: tuple[tuple[str, str], ...] = ()

    def excel_format_for(self, variant: str | None = None) -> str:
        """The Excel number format, for a variant (``days``) when the unit has variants."""
        return dict(self.excel_formats).get(variant, self.excel_format) if variant is not None else self.excel_format

    def summary_text(self, value: SupportsFloat) -> str:
        """A number as a short summary shows it: ``5.2%``, ``1,200``, ``3.00×``.

        Fixed decimals are rounded as Excel shows them — the number's 15 significant digits, half away from
        zero — so that a summary agrees with the workbook's cell: 381/400 = 0.9525 is ``95.3%`` (Python's own
        rounding of the binary 0.95249999… would give 95.2%)."""
        return self.summary_format.format(_excel_rounded(float(value), self.summary_format))

    def precise_text(self, value: SupportsFloat) -> str:
        """A number as the docs show it: ``0.052  (5.20%)``, ``1,234.57``."""
        return self.precise_format.format(value)


_FIXED = re.compile(r"\{:,?\.(\d+)([f%])\}")


def _excel_rounded(x: float, fmt: str) -> float:
    """``x`` rounded to the decimals of the fixed-point ``fmt`` (``{:.1%}``, ``{:,.0f}``) the way Excel displays
    a number: its 15 significant digits, rounded half away from zero. Other formats: ``x`` unchanged."""
    m = _FIXED.search(fmt)
    if m is None or not math.isfinite(x) or abs(x) >= 1e15:  # 15 digits, all before the point: nothing to round
        return x
    places = int(m.group(1)) + (2 if m.group(2) == "%" else 0)
    d = Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    r = float(d)
    # a small negative number shows as -0.0 in Excel too; a zero (or -0.0) is 0
    return r if r != 0 else (-0.0 if x < 0 else 0.0)


#: What a scalar result measures (drives number formats in templates, summaries and docs), by name.
UNIT_RECORDS: dict[str, Unit] = {
    u.name: u
    for u in (
        Unit("fraction", "a fraction, shown as a percentage (0.052 = 5.2 %)", "0.0%",
             summary_format="{:.1%}", precise_format="{0:.6g}  ({0:.2%})"),
        Unit("points", "points on the NPS scale, −100…100", "0.0", summary_format="{:.1f}"),
        Unit("money", "money, in the input's unit", "#,##0", summary_format="{:,.0f}"),
        Unit("count", "a count", "#,##0"),
        Unit("ratio", "a ratio (× times)", '0.00"×"', summary_format="{:.2f}×"),
        Unit("months", "months", '0.0" months"'),
        Unit("duration", "a duration in the unit asked for", '0.0" h"',
             excel_formats=(("hours", '0.0" h"'), ("days", '0.0" d"'), ("minutes", '0" min"'))),
        Unit("number", "a number", "0.00"),
        Unit("table", "a table", "General"),
    )
}
#: unit name -> its description (the ``description`` of :data:`UNIT_RECORDS`).
UNITS = {name: u.description for name, u in UNIT_RECORDS.items()}


def unit(name: str) -> Unit:
    """The :class:`Unit` record of a unit name (``"fraction"``)."""
    return UNIT_RECORDS[name]


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
    #: where popular articles get this KPI wrong (:mod:`kpi_functions._corrections`), in table order
    cautions: tuple[Correction, ...] = field(default=())

    @property
    def description(self) -> str:
        """The description Excel shows: the summary and, where it fits 255 characters, each caution's pointer."""
        return _excel_description(self.summary, self.cautions)

    @property
    def name(self) -> str:
        """The Python name (``churn_revenue``)."""
        return self.func.__name__

    @property
    def unit_record(self) -> Unit:
        """The :class:`Unit` of the result (its formats)."""
        return UNIT_RECORDS[self.unit]

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


#: Excel name -> spec, in registration (import) order; :func:`specs` gives the catalog order.
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
    """Register a KPI function and return it, its docstring's shared parts filled in.

    The docstring may use the parts of :mod:`kpi_functions._parts` (a line
    ``{number_raises}``); they are filled in before anything reads it.
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
        shared_parts(func)
        excel_name = "KPI_" + func.__name__.upper()
        cautions = corrections_for(excel_name)
        if func.__doc__ is not None:
            func.__doc__ = docstring_with_warnings(func.__doc__, cautions)
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
        for c in cautions:
            stray = set(c.arg_notes.get(excel_name, {})) - set(names)
            if stray:
                raise ValueError(f"{excel_name}: correction {c.key!r} notes unknown arguments {sorted(stray)}")
        arg_specs = []
        for p in params:
            kind = kinds.get(p.name, _default_kind(p))
            if kind not in ARG_KINDS:
                raise ValueError(f"{func.__name__}: unknown kind {kind!r}")
            optional = p.default is not inspect.Parameter.empty
            help_text = arg_help(excel_name, p.name, args[p.name], cautions)
            if len(help_text) > EXCEL_HELP_LIMIT:
                raise ValueError(f"{excel_name}: the help of argument {p.name!r} is {len(help_text)} characters; "
                                 f"Excel shows at most {EXCEL_HELP_LIMIT}")
            arg_specs.append(Arg(p.name, help_text, kind, optional, None if not optional else p.default))
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
            cautions=cautions,
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
