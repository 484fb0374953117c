"""Customer survival: the Kaplan–Meier curve and the shifted-beta-geometric model.

``survival_curve`` estimates survival from observed customer lifetimes, some
of them still running (censored). ``sbg_fit`` fits the shifted-beta-geometric
(sBG) model of contractual retention to a cohort's survivor counts, and
``retention_forecast`` projects the cohort with it.

The models are fitted by :func:`kpi_functions._mle.maximise` (robust
maximum likelihood on log-parameters), as are :mod:`kpi_functions.bgnbd`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIDomainError, KPIErrorValue, KPIInputError, KPIModelError, KPIUndefinedError, Location
from ._mle import log_scale_intervals, maximise, observed_information
from ._registry import kpi

__all__ = ["retention_forecast", "sbg_fit", "survival_curve"]

_CAT = "Churn and retention"


# --------------------------------------------------------------------------
# Private helpers
# --------------------------------------------------------------------------
def _flags(x: Any, fn: str, arg: str) -> np.ndarray:
    """Churn flags row by row: 1.0 (1/TRUE), 0.0 (0/FALSE), NaN (blank).

    Booleans are flags here (unlike everywhere else a number is needed); text
    is an input error and any number other than 0 and 1 is out of the domain.
    """
    g = c.grid(x, fn, arg)
    vals = g.values
    if vals.dtype.kind == "b":
        vals = vals.astype(float)
    elif vals.dtype == object and vals.size:
        flat = vals.reshape(-1)
        kind = pd.api.types.infer_dtype(flat, skipna=True)
        if kind == "boolean":
            blank = pd.isna(flat)
            conv = np.full(flat.shape, np.nan)
            conv[~blank] = flat[~blank].astype(bool).astype(float)
            vals = conv.reshape(vals.shape)
        elif kind not in ("integer", "floating", "mixed-integer-float", "empty", "string"):
            is_bool = np.frompyfunc(lambda v: isinstance(v, (bool, np.bool_)), 1, 1)(flat).astype(bool)
            if is_bool.any():
                conv = flat.copy()
                conv[is_bool] = flat[is_bool].astype(bool).astype(float)
                vals = conv.reshape(vals.shape)
    shaped = vals if g.is2d else vals.reshape(-1)
    try:
        return c.aligned_numbers(shaped, fn, arg, min=0, max=1, integer=True,
                                 domain="must be 1 or TRUE (churned) or 0 or FALSE (still active)")
    except KPIErrorValue:
        raise
    except KPIDomainError:
        raise
    except KPIInputError as err:
        raise KPIInputError(fn, err.reason.split(";")[0] + "; 1 or TRUE (churned) or 0 or FALSE (still active) "
                            "is needed", argument=arg, location=err.location, position=err.position,
                            value=err.value, has_value=True) from None


def _check_aligned(fn: str, first: str, a: np.ndarray, other: str, b: np.ndarray) -> None:
    if a.size != b.size:
        raise KPIInputError(fn, f"'{first}' has {a.size} cells but '{other}' has {b.size}; "
                            "the ranges must be aligned row by row", argument=other)


def _position(x: Any, fn: str, arg: str, i: int) -> Location:
    """Where the i-th (0-based, row by row) cell of argument ``x`` is: ``item 3`` or ``row 3, column 1``."""
    return c.grid(x, fn, arg).location(i)


def _partial_blank(fn: str, names: Sequence[str], cols: Sequence[np.ndarray], raws: Sequence[Any]) -> np.ndarray:
    """Rows where every column is blank (dropped); a row blank in only some columns is an error.

    ``raws`` are the arguments as passed, to name the position.
    """
    blank = np.column_stack([np.isnan(v) for v in cols])
    empty = blank.all(axis=1)
    partial = blank.any(axis=1) & ~empty
    if partial.any():
        i = int(np.flatnonzero(partial)[0])
        j = int(np.flatnonzero(blank[i])[0])
        given = [n for n, b in zip(names, blank[i]) if not b]
        raise KPIInputError(fn, f"is blank but {', '.join(repr(n) for n in given)} is given in the same row; "
                            "every row needs all of them", argument=names[j],
                            location=_position(raws[j], fn, names[j], i))
    return np.asarray(empty)


# --------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------
@kpi(
    category=_CAT,
    summary="Kaplan–Meier customer survival curve from lifetimes and churn flags.",
    formula="S(t) = Π_{tᵢ ≤ t} (1 − dᵢ / nᵢ); nᵢ at risk (duration ≥ tᵢ), dᵢ churned at tᵢ",
    shape="table",
    unit="table",
    args={
        "durations": "Lifetime of each customer so far (months or days; not negative)",
        "churned": "1 or TRUE if the customer churned at that duration, 0 or FALSE if still active (censored)",
    },
    example=([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1]),
)
def survival_curve(durations: Any, churned: Any) -> pd.DataFrame:
    """Kaplan–Meier estimate of customer survival.

    Parameters
    ----------
    durations : range
        Each customer's lifetime so far, in any time unit (months, days);
        not negative.
    churned : range
        Aligned with ``durations``: 1 or TRUE when the customer churned at
        that duration, 0 or FALSE when still active (a censored lifetime).
        Text and other numbers are errors. A row blank in both ranges is
        skipped; a row blank in only one is an error.

    Returns
    -------
    pandas.DataFrame
        One row per distinct duration, in increasing order, with columns
        ``time``, ``at risk`` (customers whose duration is at least
        ``time``), ``churned`` (customers who churned at ``time``) and
        ``survival`` (the share still active just after ``time``).

    Raises
    ------
    KPIInputError
        Text or booleans among the durations, text among the flags, blanks
        in only one of the ranges, or ranges of different lengths.
    KPIDomainError
        A negative duration, or a flag other than 0/1/TRUE/FALSE.
    KPIUndefinedError
        No durations at all.

    Notes
    -----
    With ``nᵢ`` customers at risk at the i-th distinct duration ``tᵢ`` and
    ``dᵢ`` of them churning then, ``S(t) = Π_{tᵢ ≤ t} (1 − dᵢ / nᵢ)``. A
    customer still active at ``tᵢ`` (censored) counts as at risk at ``tᵢ``
    and leaves the risk set after it.

    References
    ----------
    .. [1] E. L. Kaplan and P. Meier, "Nonparametric Estimation from
       Incomplete Observations", Journal of the American Statistical
       Association 53(282), 457–481, 1958.

    Examples
    --------
    >>> survival_curve([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
       time  at risk  churned  survival
    0   1.0        6        1  0.833333
    1   2.0        5        1  0.666667
    2   3.0        3        1  0.444444
    3   4.0        2        0  0.444444
    4   5.0        1        1  0.000000
    """
    fn = "KPI_SURVIVAL_CURVE"
    d = c.aligned_numbers(durations, fn, "durations", min=0)
    if np.isnan(d).all():
        raise KPIUndefinedError(fn, "has no durations", argument="durations")
    f = _flags(churned, fn, "churned")
    _check_aligned(fn, "durations", d, "churned", f)
    empty = _partial_blank(fn, ("durations", "churned"), (d, f), (durations, churned))
    d, f = d[~empty], f[~empty]

    order = np.argsort(d, kind="stable")
    sd = d[order]
    starts = np.flatnonzero(np.concatenate(([True], sd[1:] != sd[:-1])))  # first row of each distinct time
    times = sd[starts]
    events = np.add.reduceat(f[order], starts).astype(np.int64)
    at_risk = d.size - starts  # customers whose duration is at least this time
    surv = np.cumprod(1.0 - events / at_risk)
    return pd.DataFrame({"time": times.astype(float), "at risk": at_risk.astype(np.int64),
                         "churned": events, "survival": surv})


# --------------------------------------------------------------------------
# Shifted-beta-geometric
# --------------------------------------------------------------------------
def _survivors(x: Any, fn: str) -> np.ndarray:
    """Survivor counts per period: whole, not negative, non-increasing, first > 0, ≥ 2 periods.

    Blanks after the last count are ignored (a range may reach past the
    data); a blank between counts is an error.
    """
    arg = "survivors"
    v = c.aligned_numbers(x, fn, arg, min=0, integer=True,
                          domain="must be a whole number of customers, not negative")
    idx = np.flatnonzero(~np.isnan(v))
    if idx.size == 0:
        raise KPIUndefinedError(fn, "has no survivor counts", argument=arg)
    if idx[0] != 0 or idx.size != idx[-1] + 1:
        i = int(np.flatnonzero(np.isnan(v[: idx[-1] + 1]))[0])
        raise KPIInputError(fn, "is blank between survivor counts; every period up to the last needs a count",
                            argument=arg, location=_position(x, fn, arg, i))
    v = v[: idx[-1] + 1]
    if v.size < 3:
        # two parameters need two observed churn rates: with one period any alpha/(alpha+beta)
        # equal to the churn rate fits exactly
        raise KPIUndefinedError(fn, "needs the cohort size and at least two later periods", argument=arg)
    if v[0] == 0:
        raise KPIUndefinedError(fn, "the cohort size (first count) is 0", argument=arg, location=Location(1))
    up = np.flatnonzero(np.diff(v) > 0)
    if up.size:
        i = int(up[0]) + 1
        raise KPIDomainError(fn, f"is more than the {int(v[i - 1])} survivors of the period before; survivor "
                             "counts may not increase", argument=arg, location=_position(x, fn, arg, i),
                             value=int(v[i]), has_value=True)
    return v


def _sbg_terms(alpha: float, beta: float, T: int) -> tuple[np.ndarray, np.ndarray]:
    """ln P(T = t) for t = 1 … T and ln S(t) for t = 0 … T, by the stable recursions

    ``S(t) = S(t − 1) (β + t − 1) / (α + β + t − 1)`` and
    ``P(T = t) = S(t − 1) α / (α + β + t − 1)``.
    """
    k = np.arange(1, T + 1, dtype=float)
    ln_s = np.concatenate(([0.0], -np.cumsum(np.log1p(alpha / (beta + k - 1.0)))))
    ln_p = ln_s[:-1] + np.log(alpha) - np.log(alpha + beta + k - 1.0)
    return ln_p, ln_s


def _sbg_loglik(alpha: float, beta: float, n: np.ndarray) -> float:
    ln_p, ln_s = _sbg_terms(alpha, beta, n.size - 1)
    lost = n[:-1] - n[1:]
    return float(np.sum(lost * ln_p) + (n[-1] * ln_s[-1] if n[-1] > 0 else 0.0))


def _sbg(n: np.ndarray, fn: str, detail: bool = False) -> tuple[float, float, float, np.ndarray | None]:
    """Maximum-likelihood sBG fit to survivor counts ``n`` (n[0] = cohort size).

    With ``detail`` also the covariance of (ln α, ln β) from the observed
    information; else None.
    """
    T = n.size - 1
    t = np.arange(1, T + 1)
    lost = n[:-1] - n[1:]
    if lost.sum() == 0:
        raise KPIModelError(fn, "no customer churned in these periods, so the sBG model cannot be fitted",
                            argument="survivors")
    if n[1] == 0:
        raise KPIModelError(fn, "every customer churned in the first period, so the sBG model cannot be "
                            "fitted", argument="survivors")
    scale = float(n[0])
    last = float(n[-1])

    at_end = n[1:]  # customers alive after each period t = 1 … T

    def negll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = np.exp(theta)
        ln_p, ln_s = _sbg_terms(a, b, T)
        ll = np.sum(lost * ln_p) + last * ln_s[-1]
        # d/d ln a and d/d ln b of ln S(t) = Σ_{k ≤ t} [ln(b + k − 1) − ln(a + b + k − 1)] and of
        # ln P(t) = ln S(t − 1) + ln a − ln(a + b + t − 1)
        u = 1.0 / (a + b + t - 1.0)
        ds_a = -a * u                          # per-k term of d ln S / d ln a
        ds_b = b / (b + t - 1.0) - b * u       # per-k term of d ln S / d ln b
        # Σ_t lost_t Σ_{k<t} term_k + last Σ_{k≤T} term_k = Σ_k term_k (customers alive after period k)
        ga = np.sum(at_end * ds_a) + np.sum(lost * (1.0 - a * u))
        gb = np.sum(at_end * ds_b) + np.sum(lost * (-b * u))
        return -ll / scale, -np.array([ga, gb]) / scale

    # The sBG family's limit alpha, beta -> infinity is the geometric model (one
    # churn rate for everyone). When that limit is at least as likely as the
    # fit, churn does not fall over time in these counts and the estimates are
    # not finite.
    exposure = float(n[:-1].sum())
    theta_geo = lost.sum() / exposure
    ll_geo = float(lost.sum() * np.log(theta_geo) + (exposure - lost.sum()) * np.log1p(-theta_geo))
    geo_msg = (f"the churn rate does not fall over time in these counts (one rate of {theta_geo:.4g} per "
               "period fits as well), so the sBG model is not identified: alpha and beta grow without bound")

    def explain(theta: np.ndarray, value: float) -> str | None:
        return geo_msg if -value * scale <= ll_geo + 1e-6 * max(1.0, abs(ll_geo)) else None

    starts = [(0.0, 0.0), (np.log(0.5), np.log(2.0)), (np.log(2.0), np.log(8.0)), (np.log(0.2), np.log(0.5))]
    bounds = [(np.log(1e-8), np.log(1e8))] * 2
    theta, _ = maximise(negll, starts, bounds, fn, "shifted-beta-geometric", explain=explain,
                         names=("alpha", "beta"))
    alpha, beta = (float(v) for v in np.exp(theta))
    ll = _sbg_loglik(alpha, beta, n)
    if ll <= ll_geo + 1e-9 * max(1.0, abs(ll_geo)):
        raise KPIModelError(fn, geo_msg, argument="survivors")
    cov = observed_information(negll, theta, scale, fn, "shifted-beta-geometric", ("alpha", "beta")) if detail else None
    return alpha, beta, ll, cov


@kpi(
    category=_CAT,
    summary="Shifted-beta-geometric (sBG) fit to a cohort's survivor counts: alpha, beta, log-likelihood.",
    formula="max over α, β of Σₜ (nₜ₋₁ − nₜ) ln P(T = t) + n_last ln S(last); P(T = t) = B(α+1, β+t−1)/B(α, β)",
    shape="labelled",
    unit="number",
    args={"survivors": "Customers of one cohort still active at the start and after each period "
                       "(first = cohort size; whole numbers, non-increasing)",
          "detail": "TRUE adds columns se, lower, upper: standard errors and 95 % intervals (log scale) "
                    "of alpha and beta (default FALSE)"},
    kinds={"detail": "bool"},
    example=([1000, 631, 468, 382, 326, 289, 262, 241],),
)
def sbg_fit(survivors: Any, detail: Any = False) -> pd.DataFrame:
    """Fit the shifted-beta-geometric model of contractual retention.

    Parameters
    ----------
    survivors : range
        One cohort's active customers per period: the cohort size first,
        then the number still active after period 1, 2, … Whole numbers,
        never increasing. Blanks after the last count are ignored.
    detail : bool, default False
        TRUE adds the columns ``se``, ``lower`` and ``upper`` (see Returns).

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``; rows ``alpha``, ``beta`` (the
        parameters of the beta distribution of churn probabilities) and
        ``log-likelihood`` (at the estimates). With ``detail`` also ``se``
        (standard error) and ``lower``/``upper`` (95 % confidence interval)
        of alpha and beta, blank for the log-likelihood. The standard errors
        come from the observed information (the inverse Hessian of the
        negative log-likelihood at the estimates, by central differences of
        the analytic gradient in ln α, ln β): ``se(θ) = θ · se(ln θ)``. As
        the parameters are positive the interval is taken on the log scale,
        ``exp(ln θ ± 1.96 · se(θ)/θ)``, so it is not symmetric about θ.

    Raises
    ------
    KPIDomainError
        A negative or fractional count, or a count above the one before.
    KPIUndefinedError
        No counts, a single period, or a cohort size of 0.
    KPIModelError
        The model cannot be fitted: no one churned, everyone churned in the
        first period, or the churn rate does not fall over time (the
        estimates would be infinite). With ``detail``: the information
        matrix is singular (the standard errors are not defined).

    Notes
    -----
    Each customer has a churn probability θ per period, drawn from a
    Beta(α, β) distribution. The probability of churning in period t and of
    surviving beyond it are

    ``P(T = t) = B(α + 1, β + t − 1) / B(α, β)``,
    ``S(t) = B(α, β + t) / B(α, β)``.

    With survivors ``n₀ … n_τ`` the log-likelihood is
    ``LL = Σ_{t=1}^{τ} (nₜ₋₁ − nₜ) ln P(T = t) + n_τ ln S(τ)``,
    maximised over ``ln α`` and ``ln β`` (BFGS with the analytic gradient
    from several starts, Nelder–Mead as fallback).

    References
    ----------
    {fader_hardie_1}

    Examples
    --------
    The "regular" segment of the source (α ≈ 0.704, β ≈ 1.182):

    >>> fit = sbg_fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> fit.round(3)
                label     value
    0           alpha     0.704
    1            beta     1.182
    2  log-likelihood -1680.265

    With standard errors and 95 % intervals:

    >>> sbg_fit([1000, 631, 468, 382, 326, 289, 262, 241], True).round(3)
                label     value     se  lower  upper
    0           alpha     0.704  0.066  0.587  0.845
    1            beta     1.182  0.152  0.918  1.522
    2  log-likelihood -1680.265    NaN    NaN    NaN
    """
    fn = "KPI_SBG_FIT"
    n = _survivors(survivors, fn)
    more = c.option_bool(detail, fn, "detail", False)
    alpha, beta, ll, cov = _sbg(n, fn, detail=more)
    out = pd.DataFrame({"label": ["alpha", "beta", "log-likelihood"], "value": [alpha, beta, ll]})
    if cov is not None:
        se, lo, hi = log_scale_intervals(np.array([alpha, beta]), cov)
        out["se"], out["lower"], out["upper"] = (np.append(v, np.nan) for v in (se, lo, hi))
    return out


@kpi(
    category=_CAT,
    summary="Survivors of a cohort projected by the sBG fit for periods 0 … periods−1.",
    formula="n₀ × S(t), S(t) = B(α, β + t) / B(α, β), t = 0 … periods − 1 (α, β fitted by sBG)",
    shape="column",
    unit="number",
    args={
        "survivors": "Customers of one cohort still active at the start and after each observed period "
                     "(first = cohort size)",
        "periods": "Number of periods to show, from period 0 (the observed ones are refitted, the rest forecast)",
    },
    kinds={"periods": "number"},
    example=([1000, 631, 468, 382, 326], 8),
)
def retention_forecast(survivors: Any, periods: Any) -> pd.Series:
    """Project a cohort's survivors with the shifted-beta-geometric model.

    Parameters
    ----------
    survivors : range
        Observed survivor counts, cohort size first (as for :func:`sbg_fit`).
    periods : int
        How many periods to return, counting period 0 (a whole number from 1
        to 1,048,576, the rows of a worksheet).

    Returns
    -------
    pandas.Series
        Named ``survivors``: the expected survivors ``n₀ S(t)`` for
        ``t = 0 … periods − 1``. Observed periods are model values too
        (the fit, not the data), so the column shows the fit and the
        forecast in one line.

    Raises
    ------
    KPIDomainError
        ``periods`` not a whole number ≥ 1; invalid counts (see
        :func:`sbg_fit`).
    KPIUndefinedError
        Fewer than two periods of counts.
    KPIModelError
        The sBG model cannot be fitted to the counts.

    Notes
    -----
    ``E[survivors(t)] = n₀ B(α, β + t) / B(α, β)``, with α and β from
    :func:`sbg_fit`.

    References
    ----------
    {fader_hardie_1}

    Examples
    --------
    >>> retention_forecast([1000, 631, 468, 382, 326], 8).round(1)
    0    1000.0
    1     629.2
    2     472.1
    3     383.3
    4     325.5
    5     284.5
    6     253.7
    7     229.6
    Name: survivors, dtype: float64
    """
    fn = "KPI_RETENTION_FORECAST"
    n = _survivors(survivors, fn)
    k = c.option_number(periods, fn, "periods", None, min=1, max=1_048_576, integer=True,
                        domain="must be a whole number of periods from 1 to 1,048,576 (a worksheet's rows)")
    if k is None:
        raise KPIUndefinedError(fn, "is blank; give the number of periods to show", argument="periods")
    alpha, beta, _, _ = _sbg(n, fn)
    _, ln_s = _sbg_terms(alpha, beta, int(k) - 1)
    s = np.exp(ln_s)
    return pd.Series(n[0] * s, name="survivors")
