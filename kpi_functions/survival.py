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
from scipy.special import ndtri

from . import _coerce as c
from ._errors import KPIDomainError, KPIErrorValue, KPIInputError, KPIModelError, KPIUndefinedError, Location
from ._mle import log_scale_intervals, maximise, observed_information
from ._registry import kpi

__all__ = ["median_lifetime", "retention_forecast", "sbg_fit", "survival_curve"]

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
def _confidence(x: Any, fn: str) -> float:
    """The ``confidence`` option: strictly between 0 and 1, default 0.95."""
    domain = "must be strictly between 0 and 1 (95 % confidence is 0.95)"
    conf = c.option_number(x, fn, "confidence", 0.95, min=0, max=1, min_open=True, domain=domain)
    if conf >= 1:
        raise KPIDomainError(fn, domain, argument="confidence", value=int(conf), has_value=True)
    return float(conf)


def _km(durations: Any, churned: Any, fn: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times, customers at risk, churned and S(t) after each time (checked inputs)."""
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
    times = sd[starts].astype(float)
    events = np.add.reduceat(f[order], starts).astype(np.int64)
    at_risk = (d.size - starts).astype(np.int64)  # customers whose duration is at least this time
    surv = np.cumprod(1.0 - events / at_risk)
    return times, at_risk, events, surv


def _band(at_risk: np.ndarray, events: np.ndarray, surv: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Greenwood's variance on the log(−log S) scale: the lower and upper bound of S at each time.

    ``σ² = Σ_{tᵢ ≤ t} dᵢ / (nᵢ (nᵢ − dᵢ)) / (ln S)²``, lower ``S^exp(z σ)``, upper ``S^exp(−z σ)``. A
    time where everyone at risk churns (nᵢ = dᵢ) adds nothing to the sum (its
    term is infinite and S is 0 from there on, where both bounds are 0); while
    S is 1 both bounds are 1.
    """
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    n = at_risk.astype(float)
    d = events.astype(float)
    left = n - d
    term = np.divide(d, n * left, out=np.zeros_like(n), where=left > 0)
    green = np.cumsum(term)
    lower = np.ones_like(surv)
    upper = np.ones_like(surv)
    zero = surv <= 0.0
    mid = (surv < 1.0) & ~zero
    ln_s = np.log(surv[mid])
    sigma = np.sqrt(green[mid]) / -ln_s  # standard error of ln(−ln S)
    lower[mid] = surv[mid] ** np.exp(z * sigma)  # S < 1: the larger power is the lower bound
    upper[mid] = surv[mid] ** np.exp(-z * sigma)
    lower[zero] = 0.0
    upper[zero] = 0.0
    return lower, upper


@kpi(
    category=_CAT,
    summary="Kaplan–Meier customer survival curve from lifetimes and churn flags.",
    formula="S(t) = Π_{tᵢ ≤ t} (1 − dᵢ / nᵢ); nᵢ at risk (duration ≥ tᵢ), dᵢ churned at tᵢ",
    shape="table",
    unit="table",
    args={
        "durations": "Lifetime of each customer so far (months or days; not negative)",
        "churned": "1 or TRUE if the customer churned at that duration, 0 or FALSE if still active (censored)",
        "band": "TRUE adds the columns lower and upper, the confidence band of the survival "
                "(Greenwood, log(−log) scale); default FALSE",
        "confidence": "Confidence level of the band, strictly between 0 and 1 (default 0.95)",
    },
    example=([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1]),
)
def survival_curve(durations: Any, churned: Any, band: Any = False, confidence: Any = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate of customer survival, with its confidence band on request.

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
    band : bool, optional
        TRUE adds the columns ``lower`` and ``upper`` (the confidence band);
        default FALSE, the four columns alone.
    confidence : float, optional
        Confidence level of the band, strictly between 0 and 1; default
        0.95. Checked even without the band.

    Returns
    -------
    pandas.DataFrame
        One row per distinct duration, in increasing order, with columns
        ``time``, ``at risk`` (customers whose duration is at least
        ``time``), ``churned`` (customers who churned at ``time``),
        ``survival`` (the share still active just after ``time``); with
        ``band``, also ``lower`` and ``upper`` (the confidence band of
        ``survival``).

    Raises
    ------
    KPIInputError
        Text or booleans among the durations, text among the flags, blanks
        in only one of the ranges, or ranges of different lengths; text
        as ``band`` or the confidence.
    KPIDomainError
        A negative duration, a flag other than 0/1/TRUE/FALSE, or a
        confidence not strictly between 0 and 1.
    KPIUndefinedError
        No durations at all.

    Notes
    -----
    With ``nᵢ`` customers at risk at the i-th distinct duration ``tᵢ`` and
    ``dᵢ`` of them churning then, ``S(t) = Π_{tᵢ ≤ t} (1 − dᵢ / nᵢ)``. A
    customer still active at ``tᵢ`` (censored) counts as at risk at ``tᵢ``
    and leaves the risk set after it.

    The band is Greenwood's variance on the log(−log) scale (the
    "exponential Greenwood" interval, lifelines' default):
    ``σ²(t) = Σ_{tᵢ ≤ t} dᵢ / (nᵢ (nᵢ − dᵢ)) / (ln S(t))²`` and
    ``lower = S(t)^exp(z σ(t))``, ``upper = S(t)^exp(−z σ(t))`` with
    ``z = Φ⁻¹(1 − (1 − confidence) / 2)``. It stays within [0, 1]. While
    ``S = 1`` both bounds are 1; once ``S = 0`` both are 0 (a time where
    every customer at risk churns adds nothing to the sum).

    References
    ----------
    .. [1] E. L. Kaplan and P. Meier, "Nonparametric Estimation from
       Incomplete Observations", Journal of the American Statistical
       Association 53(282), 457–481, 1958.
    .. [2] M. Greenwood, "The natural duration of cancer", Reports on
       Public Health and Medical Subjects 33, 1–26, 1926.
    .. [3] J. D. Kalbfleisch and R. L. Prentice, *The Statistical Analysis
       of Failure Time Data*, 2nd ed., Wiley, 2002, section 1.4.

    Examples
    --------
    >>> survival_curve([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
       time  at risk  churned  survival
    0   1.0        6        1  0.833333
    1   2.0        5        1  0.666667
    2   3.0        3        1  0.444444
    3   4.0        2        0  0.444444
    4   5.0        1        1  0.000000

    With the 95 % band:

    >>> survival_curve([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1], True).round(6)
       time  at risk  churned  survival     lower     upper
    0   1.0        6        1  0.833333  0.273123  0.974712
    1   2.0        5        1  0.666667  0.194617  0.904434
    2   3.0        3        1  0.444444  0.066187  0.784908
    3   4.0        2        0  0.444444  0.066187  0.784908
    4   5.0        1        1  0.000000  0.000000  0.000000
    """
    fn = "KPI_SURVIVAL_CURVE"
    times, at_risk, events, surv = _km(durations, churned, fn)
    with_band = c.option_bool(band, fn, "band", False)
    conf = _confidence(confidence, fn)
    out = pd.DataFrame({"time": times, "at risk": at_risk, "churned": events, "survival": surv})
    if with_band:
        out["lower"], out["upper"] = _band(at_risk, events, surv, conf)
    return out


def _first_at_or_below(times: np.ndarray, s: np.ndarray, q: float) -> float:
    """The smallest time where ``s ≤ q`` (NaN when it never is)."""
    hit = np.flatnonzero(s <= q)
    return float(times[hit[0]]) if hit.size else float("nan")


@kpi(
    category=_CAT,
    summary="Median customer lifetime (Kaplan–Meier) with its confidence interval: median, lower, upper.",
    formula="median = min{t : S(t) ≤ 0.5}; lower/upper = min{t : band(t) ≤ 0.5} of the lower/upper band",
    shape="labelled",
    unit="number",
    args={
        "durations": "Lifetime of each customer so far (months or days; not negative)",
        "churned": "1 or TRUE if the customer churned at that duration, 0 or FALSE if still active (censored)",
        "confidence": "Confidence level of the interval, strictly between 0 and 1 (default 0.95)",
    },
    example=([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1]),
)
def median_lifetime(durations: Any, churned: Any, confidence: Any = 0.95) -> pd.DataFrame:
    """Median customer lifetime from the Kaplan–Meier curve, with its interval.

    Parameters
    ----------
    durations : range
        Each customer's lifetime so far (months, days); not negative.
    churned : range
        Aligned with ``durations``: 1 or TRUE when the customer churned,
        0 or FALSE when still active (censored). As for
        :func:`survival_curve`.
    confidence : float, optional
        Confidence level, strictly between 0 and 1; default 0.95.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``; rows ``median`` (the smallest
        time where the survival ``S(t)`` is 0.5 or less), ``lower`` and
        ``upper`` (the smallest times where the lower and the upper bound
        of the band of :func:`survival_curve` are 0.5 or less). ``upper``
        is blank when the upper bound stays above 0.5 over the data (the
        interval is open to the right).

    Raises
    ------
    KPIInputError, KPIDomainError
        As for :func:`survival_curve`.
    KPIUndefinedError
        No durations, or survival never falls to 0.5 (fewer than half the
        customers are known to have churned by the longest lifetime).

    Notes
    -----
    The conventions of lifelines (``median_survival_time_`` and
    ``median_survival_times(confidence_interval_)``): on the step function
    ``S``, the median is ``min{t : S(t) ≤ 0.5}``; the lower bound of the
    band falls first, so it gives the lower end of the interval, and the
    upper bound gives the upper end. The band is the log(−log) Greenwood
    band of :func:`survival_curve`.

    References
    ----------
    .. [1] R. Brookmeyer and J. Crowley, "A Confidence Interval for the
       Median Survival Time", Biometrics 38(1), 29–41, 1982.
    .. [2] J. D. Kalbfleisch and R. L. Prentice, *The Statistical Analysis
       of Failure Time Data*, 2nd ed., Wiley, 2002, section 1.4.

    Examples
    --------
    >>> median_lifetime([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
        label  value
    0  median    3.0
    1   lower    1.0
    2   upper    5.0
    """
    fn = "KPI_MEDIAN_LIFETIME"
    times, at_risk, events, surv = _km(durations, churned, fn)
    conf = _confidence(confidence, fn)
    med = _first_at_or_below(times, surv, 0.5)
    if np.isnan(med):
        raise KPIUndefinedError(fn, f"survival never falls to 50 % (it ends at {surv[-1]:.1%} after the longest "
                                f"lifetime, {times[-1]:g}): fewer than half the customers are known to have "
                                "churned, so the median lifetime is not reached yet", argument="durations")
    lower, upper = _band(at_risk, events, surv, conf)
    return pd.DataFrame({"label": ["median", "lower", "upper"],
                         "value": [med, _first_at_or_below(times, lower, 0.5),
                                   _first_at_or_below(times, upper, 0.5)]})


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
