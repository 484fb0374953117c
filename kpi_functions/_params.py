"""Model parameters handed back to the per-customer functions: a fit's labelled output or plain numbers.

``KPI_PROB_ALIVE`` and ``KPI_EXPECTED_PURCHASES`` take the BG/NBD
parameters, ``KPI_EXPECTED_SPEND`` the Gamma-Gamma ones, each as the output
of its fit (the spilled label/value range, with or without its header row
and detail columns, or its value column) or as the parameters in order.
:func:`given_params` reads either form for any model described by a
:class:`ModelParams`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _coerce as c
from ._errors import KPIDomainError, KPIInputError, Location

__all__ = ["BGNBD_PARAMS", "GAMMA_GAMMA_PARAMS", "ModelParams", "given_params"]


@dataclass(frozen=True)
class ModelParams:
    """What a fit's output looks like."""

    fit: str                     # the fit's Excel name, e.g. "KPI_BGNBD_FIT"
    model: str                   # the model's name in messages, e.g. "BG/NBD"
    names: tuple[str, ...]       # the parameters, in order (the first rows of the fit's output)
    rows: tuple[str, ...]        # every label of the fit's output, in order (parameters first)
    minimum: tuple[float, ...]   # each parameter must be greater than this
    aliases: dict[str, str] = field(default_factory=dict)  # another spelling of a label -> the label

    def index(self, label: str) -> int | None:
        """The parameter a label (lower case) stands for; None for a row that is not a parameter."""
        label = self.aliases.get(label, label)
        return self.names.index(label) if label in self.names else None


#: KPI_BGNBD_FIT's output (the log-likelihood is not a parameter)
BGNBD_PARAMS = ModelParams(fit="KPI_BGNBD_FIT", model="BG/NBD", names=("r", "alpha", "a", "b"),
                           rows=("r", "alpha", "a", "b", "log-likelihood"), minimum=(0.0, 0.0, 0.0, 0.0),
                           aliases={"α": "alpha"})
#: KPI_GAMMA_GAMMA_FIT's output; q must exceed 1 for the mean spend to be finite
GAMMA_GAMMA_PARAMS = ModelParams(fit="KPI_GAMMA_GAMMA_FIT", model="Gamma-Gamma", names=("p", "q", "gamma"),
                                 rows=("p", "q", "gamma", "mean spend", "log-likelihood"), minimum=(0.0, 1.0, 0.0),
                                 aliases={"γ": "gamma"})


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def given_params(params: Any, fn: str, spec: ModelParams, arg: str = "params") -> tuple[float, ...] | None:
    """The parameters in ``params`` (the fit's labelled output or plain numbers); None if it is blank.

    ``arg`` is the argument's name in messages.
    """
    if params is None:
        return None
    g = c.grid(params, fn, arg)
    vals = g.values
    k = len(spec.names)
    listed = ", ".join(spec.names)
    if g.ncols >= 2 and vals.ndim == 2 and any(_is_text(v) for v in vals[:, 0]):
        # the labelled output of the fit: a label column and a value column (then, with its
        # detail, the standard errors and intervals, not needed here)
        found: list[float | None] = [None] * k
        for i in range(g.nrows):
            label, v = vals[i, 0], vals[i, 1]
            if c.is_blank_value(label) and c.is_blank_value(v):
                continue
            key = str(label).strip().lower() if isinstance(label, str) else None
            if key == "label" and i == 0:
                continue  # the header row of the spilled output
            if key is None or (key not in spec.rows and key not in spec.aliases):
                raise KPIInputError(fn, f"is not a label of {spec.fit}'s output ({', '.join(spec.rows)})",
                                    argument=arg, location=g.location(g.ncols * i), value=label,
                                    has_value=True)
            j = spec.index(key)
            if j is None:
                continue
            x = c.aligned_numbers([v], fn, arg)[0]
            if np.isnan(x):
                raise KPIInputError(fn, f"gives no value for {spec.names[j]}", argument=arg,
                                    location=g.location(g.ncols * i + 1))
            found[j] = _in_domain(float(x), fn, arg, g.location(g.ncols * i + 1), spec, j)
        missing = [n for n, v in zip(spec.names, found) if v is None]
        if missing:
            raise KPIInputError(fn, f"lacks {', '.join(missing)}; give the output of {spec.fit} or {listed}",
                                argument=arg)
        return tuple(float(v) for v in found)  # type: ignore[arg-type]
    flat = c.aligned_numbers(params, fn, arg)
    idx = np.flatnonzero(~np.isnan(flat))
    if idx.size == 0:
        return None
    if idx.size not in (k, len(spec.rows)):
        raise KPIInputError(fn, f"must hold {listed} (the output of {spec.fit}); got {idx.size} numbers",
                            argument=arg)
    return tuple(_in_domain(float(flat[i]), fn, arg, g.location(int(i)), spec, j) for j, i in enumerate(idx[:k]))


def _in_domain(x: float, fn: str, arg: str, where: Location | None, spec: ModelParams, j: int) -> float:
    lo = spec.minimum[j]
    if not x > lo:
        raise KPIDomainError(fn, f"must be greater than {lo:g} ({spec.names[j]} of the {spec.model} model)",
                             argument=arg, location=where, value=x, has_value=True)
    return x
