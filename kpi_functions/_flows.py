"""The MRR movements between two per-customer snapshots (start and end of one period).

Among customers paying at the start (``s > 0``) churned MRR is ``Σ s`` where
``e = 0``, contraction ``Σ (s − e)`` where ``0 < e < s`` and expansion
``Σ (e − s)`` where ``e > s``; new MRR is ``Σ e`` where ``s = 0``. The
per-customer KPIs of :mod:`kpi_functions.churn` read two or three of them,
and share their registry record (:data:`PAIR`, applied by the
:func:`pair_kpi` decorator) from here; their shared docstring parts are in
:mod:`kpi_functions._parts`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from . import _coerce as c
from ._errors import KPIDomainError
from ._registry import kpi

__all__ = ["END_HELP", "EXAMPLE_PAIR", "PAIR", "START_HELP", "Flows", "flows", "money_ratio", "over_paying_customers",
           "over_starting_mrr", "pair_kpi"]

# The worked example of ChartMogul's MRR churn article, one row per customer:
# 100 starting MRR; 10 lost to churn, 10 to contraction, 10 gained in
# expansion; plus one new customer (25) who never enters the churn rates.
EXAMPLE_PAIR = [[10, 0], [40, 30], [30, 40], [20, 20], [0, 25]]

START_HELP = "MRR of each customer at the start of the period (blank = 0), or one two-column range: start, end"
END_HELP = "MRR of the same customers at the end of the period, row by row (blank = 0)"
#: the registry record of a (start, end) pair function
PAIR: dict[str, Any] = {"args": {"start": START_HELP, "end": END_HELP}, "kinds": {"end": "range"},
                         "example": (EXAMPLE_PAIR,)}


def pair_kpi(*, summary: str, formula: str, unit: str,
             aliases: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a (start, end) pair KPI of the churn and retention category.

    Its registry record takes the :data:`PAIR` arguments and example; its
    docstring may use the pair parts of :mod:`._parts` (``{pair_parameters}`` …).
    """
    return kpi(category="Churn and retention", summary=summary, formula=formula, unit=unit, aliases=aliases, **PAIR)


class Flows:
    """The MRR movements between two aligned snapshots, each summed when first asked for.

    A KPI reads two or three of these figures; computing only those keeps a
    call on a million customers close to the cost of the sums themselves.
    ``s`` and ``e`` are validated (finite, not negative, blank = 0), so sums
    over ``s > 0`` are sums over all rows where the summand is 0 otherwise.
    """

    def __init__(self, s: np.ndarray, e: np.ndarray) -> None:
        self.s, self.e = s, e

    @cached_property
    def starting(self) -> float:  # Σ s over s > 0
        return float(self.s.sum())

    @cached_property
    def lost(self) -> float:  # churned + contraction = Σ max(s − e, 0), one sum without cancellation
        return float(np.maximum(self.s - self.e, 0.0).sum())

    @cached_property
    def churned(self) -> float:  # Σ s where s > 0, e = 0
        return float(self.s[self.e == 0].sum())

    @cached_property
    def contraction(self) -> float:  # Σ (s − e) where 0 < e < s
        d = self.s - self.e
        return float(d[(d > 0) & (self.e > 0)].sum())

    @cached_property
    def expansion(self) -> float:  # Σ (e − s) where s > 0, e > s
        d = self.e - self.s
        return float(d[(d > 0) & (self.s > 0)].sum())

    @cached_property
    def new(self) -> float:  # Σ e where s = 0, e > 0
        return float(self.e[self.s == 0].sum())

    @cached_property
    def n_paying(self) -> int:  # #(s > 0)
        return int(np.count_nonzero(self.s))

    @cached_property
    def n_churned(self) -> int:  # #(s > 0, e = 0)
        return int(np.count_nonzero((self.e == 0) & (self.s > 0)))

    @cached_property
    def n_expanded(self) -> int:  # #(s > 0, e > s)
        return int(np.count_nonzero((self.e > self.s) & (self.s > 0)))

    @cached_property
    def n_new(self) -> int:  # #(s = 0, e > 0)
        return int(np.count_nonzero((self.s == 0) & (self.e > 0)))

    @cached_property
    def retained(self) -> float:  # Σ min(s, e) over s > 0 = starting − churned − contraction, without cancellation
        return float(np.minimum(self.s, self.e).sum())

    @cached_property
    def paying_end(self) -> float:  # Σ e over s > 0 = retained + expansion
        return float(np.where(self.s > 0, self.e, 0.0).sum())


def flows(start: Any, end: Any, fn: str) -> Flows:
    """Coerce start/end MRR (``_coerce.pair``); the movements are summed on demand, vectorised."""
    s, e = c.pair(start, end, fn)
    return Flows(s, e)


def money_ratio(num: float, den: float, fn: str, what: str) -> float:
    """num / den of MRR sums; a sum that overflowed (inf, or NaN from inf − inf) is #NUM!.

    A finite numerator over an overflowed denominator would otherwise be a silent 0.
    """
    if den != 0 and not (np.isfinite(num) and np.isfinite(den)):
        raise KPIDomainError(fn, "the MRR sums are too large to compute (beyond ±1.8e308)", argument="start")
    return c.ratio(num, den, fn, "start", what)


def over_starting_mrr(num: float, f: Flows, fn: str) -> float:
    return money_ratio(num, f.starting, fn,
                        "no customer is paying at the start (starting MRR is 0), so the rate is undefined")


def over_paying_customers(num: int, f: Flows, fn: str) -> float:
    return c.ratio(num, f.n_paying, fn, "start",
                   "no customer is paying at the start, so the rate is undefined")
