"""Uncertainty of rates: the confidence interval of a share, and whether a change of a share is real.

A churn rate, a conversion rate, a CSAT share or a retention rate is a count of
successes out of a count of trials. :func:`rate_ci` gives its confidence
interval (Wilson's score interval by default); :func:`rate_change` compares the
rates of two periods or groups — the difference, its interval (Newcombe's
hybrid score interval) and the p-value of the two-proportion test, exact
(Fisher) where the counts are small.

Counts are summed over a range (aggregate, then divide), as the rate
functions do: ``KPI_RATE_CI(lost_by_plan, customers_by_plan)`` is the interval
of the overall rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv, ndtri

from . import _coerce as c
from ._errors import KPIDomainError, KPIUndefinedError
from ._registry import kpi

__all__ = ["rate_change", "rate_ci"]

_CAT = "Statistics"

#: the interval methods of KPI_RATE_CI, in the order the docs list them
METHODS = ("wilson", "exact", "jeffreys", "agresti-coull", "wald")
#: the tests of KPI_RATE_CHANGE
TESTS = ("auto", "z", "fisher")
#: the largest count a double holds exactly (2⁵³)
_MAX_COUNT = 2**53
#: the smallest expected cell count for which the "auto" test uses the z-test
MIN_EXPECTED = 5.0
#: Fisher's exact test is summed for up to this many trials in all (a and b); beyond, its probabilities
#: underflow, and the z-test is accurate anyway
FISHER_MAX_TRIALS = 10_000_000

_CONFIDENCE_HELP = "Confidence level strictly between 0 and 1 (default 0.95)"
_CI_LABELS = ["rate", "lower", "upper"]
_Z_LABEL = "p-value (two-proportion z-test)"
_FISHER_LABEL = "p-value (Fisher exact test)"


def _count(x: Any, fn: str, arg: str) -> float:
    """The sum of a count argument: whole numbers, not negative; no number at all is undefined."""
    vals = c.numbers(x, fn, arg, min=0, integer=True, domain="must be a whole number, not negative (a count)")
    if vals.size == 0:
        raise KPIUndefinedError(fn, "has no numbers", argument=arg)
    with np.errstate(over="ignore", invalid="ignore"):
        total = c.finite(vals.sum(), fn, "the sum", argument=arg)
    if total > _MAX_COUNT:
        raise KPIDomainError(fn, f"sums to more than {_MAX_COUNT:,}, beyond what a double counts exactly",
                             argument=arg, value=total, has_value=True)
    return total


def _counts(successes: Any, trials: Any, fn: str, s_arg: str, t_arg: str) -> tuple[float, float]:
    """(successes, trials) summed and checked: trials > 0, successes ≤ trials."""
    x = _count(successes, fn, s_arg)
    n = _count(trials, fn, t_arg)
    if n == 0:
        raise KPIUndefinedError(fn, "is 0: a rate of no trials is undefined", argument=t_arg)
    if x > n:
        raise KPIDomainError(fn, f"exceeds the {t_arg} ({n:g}); the successes are counted among the trials",
                             argument=s_arg, value=int(x), has_value=True)
    return x, n


def _confidence(x: Any, fn: str) -> float:
    domain = "must be strictly between 0 and 1 (95 % confidence is 0.95)"
    conf = c.option_number(x, fn, "confidence", 0.95, min=0, max=1, min_open=True, domain=domain)
    if conf >= 1:
        raise KPIDomainError(fn, domain, argument="confidence", value=int(conf), has_value=True)
    return conf


def _z(confidence: float) -> float:
    """Two-sided normal critical value: Φ⁻¹(1 − (1 − confidence) / 2)."""
    return float(ndtri(1.0 - (1.0 - confidence) / 2.0))


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's score interval; exactly 0 at x = 0 and exactly 1 at x = n."""
    z2 = z * z
    centre = (x + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4.0)
    lo = 0.0 if x == 0 else max(centre - half, 0.0)
    hi = 1.0 if x == n else min(centre + half, 1.0)
    return lo, hi


def _interval(x: float, n: float, confidence: float, method: str) -> tuple[float, float]:
    alpha = 1.0 - confidence
    z = _z(confidence)
    if method == "wilson":
        return _wilson(x, n, z)
    if method == "exact":  # Clopper–Pearson: quantiles of Beta(x, n − x + 1) and Beta(x + 1, n − x)
        lo = 0.0 if x == 0 else float(betaincinv(x, n - x + 1.0, alpha / 2.0))
        hi = 1.0 if x == n else float(betaincinv(x + 1.0, n - x, 1.0 - alpha / 2.0))
        return lo, hi
    if method == "jeffreys":  # equal tails of the Beta(x + ½, n − x + ½) posterior
        lo = 0.0 if x == 0 else float(betaincinv(x + 0.5, n - x + 0.5, alpha / 2.0))
        hi = 1.0 if x == n else float(betaincinv(x + 0.5, n - x + 0.5, 1.0 - alpha / 2.0))
        return lo, hi
    if method == "agresti-coull":
        nt = n + z * z
        pt = (x + z * z / 2.0) / nt
        half = z * math.sqrt(pt * (1.0 - pt) / nt)
        return max(pt - half, 0.0), min(pt + half, 1.0)
    p = x / n  # wald
    half = z * math.sqrt(p * (1.0 - p) / n)
    return max(p - half, 0.0), min(p + half, 1.0)


@kpi(
    category=_CAT,
    summary="Confidence interval of a rate (churn, conversion, CSAT, retention): rate, lower and upper bound.",
    formula="Wilson: (x + z²/2 ± z·√(x(n − x)/n + z²/4)) / (n + z²), z = Φ⁻¹(1 − (1 − confidence)/2)",
    shape="labelled",
    unit="fraction",
    args={
        "successes": "Successes counted among the trials: customers lost, conversions, satisfied answers "
                     "(whole numbers; a range is summed)",
        "trials": "Trials: customers at the start, visitors, answers (whole numbers; a range is summed)",
        "confidence": _CONFIDENCE_HELP,
        "method": 'Interval: "wilson" (default), "exact" (Clopper–Pearson), "jeffreys", "agresti-coull" '
                  'or "wald"',
    },
    example=(19, 400),
)
def rate_ci(successes: Any, trials: Any, confidence: Any = 0.95, method: Any = "wilson") -> pd.DataFrame:
    """Confidence interval of a rate: a share of successes among trials.

    Parameters
    ----------
    successes : number or range
        Successes among the trials (customers lost, conversions, satisfied
        answers): whole numbers, not negative; a range is summed.
    trials : number or range
        Trials (customers at the start, visitors, answers): whole numbers;
        a range is summed.
    confidence : float, optional
        Confidence level, strictly between 0 and 1; default 0.95.
    method : str, optional
        ``"wilson"`` (default), ``"exact"`` (Clopper–Pearson),
        ``"jeffreys"``, ``"agresti-coull"`` or ``"wald"``; case-insensitive.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``; rows ``rate`` (successes ÷ trials),
        ``lower`` and ``upper`` (the bounds of the interval, fractions in
        [0, 1]).

    Raises
    ------
    KPIInputError
        Text or a boolean where a count or the confidence is needed, or an
        unknown method.
    KPIDomainError
        A negative or fractional count, more successes than trials, a
        count above 2⁵³, or a confidence not strictly between 0 and 1.
    KPIUndefinedError
        No trials (0, or no numbers).

    Notes
    -----
    With ``x`` successes in ``n`` trials, ``p̂ = x / n`` and
    ``z = Φ⁻¹(1 − (1 − confidence) / 2)`` (1.96 at 95 %):

    * **wilson** — the score interval of Wilson (1927) [1]_, the set of
      rates the score test does not reject::

          (x + z²/2 ± z · √(x (n − x) / n + z²/4)) / (n + z²)

      Its coverage is close to the nominal level even for small ``n`` and
      rates near 0 or 1, and it is never empty: 0 successes give a lower
      bound of 0 and an upper bound above 0. The default, as recommended by
      Brown, Cai and DasGupta (2001) [4]_.
    * **exact** — Clopper–Pearson (1934) [2]_, from the binomial
      distribution itself: ``lower = B⁻¹(α/2; x, n − x + 1)``,
      ``upper = B⁻¹(1 − α/2; x + 1, n − x)`` with ``B⁻¹`` the inverse of
      the beta distribution and ``α = 1 − confidence`` (0 at ``x = 0``, 1 at
      ``x = n``). It covers at least the nominal level, so it is wider
      than needed: the conservative choice.
    * **jeffreys** — the equal-tailed interval of the Beta(x + ½, n − x + ½)
      posterior (0 at ``x = 0``, 1 at ``x = n``) [4]_.
    * **agresti-coull** — "add z²/2 successes and z²/2 failures", then
      Wald: ``p̃ ± z √(p̃ (1 − p̃) / ñ)`` with ``ñ = n + z²``,
      ``p̃ = (x + z²/2) / ñ`` [3]_ (cut to [0, 1]).
    * **wald** — ``p̂ ± z √(p̂ (1 − p̂) / n)`` (cut to [0, 1]): the
      textbook interval, shown for comparison only — it is too narrow for
      small counts and has width 0 when ``x`` is 0 or ``n`` [4]_.

    References
    ----------
    .. [1] E. B. Wilson, "Probable inference, the law of succession, and
       statistical inference", *Journal of the American Statistical
       Association* 22(158), 1927, 209–212.
    .. [2] C. J. Clopper and E. S. Pearson, "The use of confidence or
       fiducial limits illustrated in the case of the binomial",
       *Biometrika* 26(4), 1934, 404–413.
    .. [3] A. Agresti and B. A. Coull, "Approximate is better than 'exact'
       for interval estimation of binomial proportions", *The American
       Statistician* 52(2), 1998, 119–126.
    .. [4] L. D. Brown, T. T. Cai and A. DasGupta, "Interval estimation for
       a binomial proportion", *Statistical Science* 16(2), 2001, 101–133.

    Examples
    --------
    19 customers lost out of 400 (4.75 % churn):

    >>> rate_ci(19, 400).round(6)
       label     value
    0   rate  0.047500
    1  lower  0.030617
    2  upper  0.072992
    >>> rate_ci(0, 10, 0.95, "exact").round(6)
       label     value
    0   rate  0.000000
    1  lower  0.000000
    2  upper  0.308497
    """
    fn = "KPI_RATE_CI"
    x, n = _counts(successes, trials, fn, "successes", "trials")
    conf = _confidence(confidence, fn)
    how = c.option_text(method, fn, "method", "wilson", METHODS)
    lo, hi = _interval(x, n, conf, how)
    return pd.DataFrame({"label": _CI_LABELS, "value": np.array([x / n, lo, hi], dtype=float)})


def _z_test(xa: float, na: float, xb: float, nb: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1 when the pooled rate is 0 or 1)."""
    p = (xa + xb) / (na + nb)
    var = p * (1.0 - p) * (1.0 / na + 1.0 / nb)
    if var <= 0.0:
        return 1.0
    z = (xb / nb - xa / na) / math.sqrt(var)
    return float(math.erfc(abs(z) / math.sqrt(2.0)))


def _min_expected(xa: float, na: float, xb: float, nb: float) -> float:
    """The smallest expected count of the 2 × 2 table under equal rates."""
    p = (xa + xb) / (na + nb)
    return min(na * p, na * (1.0 - p), nb * p, nb * (1.0 - p))


@kpi(
    category=_CAT,
    summary="Change of a rate from a to b: difference b − a, its confidence interval and the p-value "
            "(is it real or noise?).",
    formula="b − a; Newcombe's hybrid score interval; pooled z-test, or Fisher's exact test "
            "when an expected count is below 5",
    shape="labelled",
    unit="fraction",
    args={
        "successes_a": "Successes of the first (earlier) period or group, e.g. customers lost last month "
                       "(whole numbers; a range is summed)",
        "trials_a": "Trials of the first period or group, e.g. customers at its start (a range is summed)",
        "successes_b": "Successes of the second (later) period or group (whole numbers; a range is summed)",
        "trials_b": "Trials of the second period or group (a range is summed)",
        "confidence": _CONFIDENCE_HELP,
        "test": 'Test: "auto" (default: Fisher when an expected count is below 5, else z), "z" or "fisher"',
    },
    example=(48, 80, 56, 70),
)
def rate_change(successes_a: Any, trials_a: Any, successes_b: Any, trials_b: Any, confidence: Any = 0.95,
                test: Any = "auto") -> pd.DataFrame:
    """Difference of two rates, its confidence interval and the p-value of the test that they are equal.

    "Did churn really rise this month, or is it noise?": ``a`` is last
    month (customers lost, customers at its start), ``b`` this month.

    Parameters
    ----------
    successes_a, trials_a : number or range
        Successes and trials of the first period or group: whole numbers,
        successes at most trials; a range is summed.
    successes_b, trials_b : number or range
        The same for the second period or group.
    confidence : float, optional
        Confidence level of the interval, strictly between 0 and 1; default
        0.95.
    test : str, optional
        ``"auto"`` (default): Fisher's exact test when an expected count
        of the 2 × 2 table is below 5, else the z-test; ``"z"`` or
        ``"fisher"`` choose one.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``; rows ``rate a``, ``rate b``,
        ``difference (b − a)``, ``lower`` and ``upper`` (the confidence
        interval of the difference) and the two-sided p-value, labelled with
        the test used: ``p-value (two-proportion z-test)`` or
        ``p-value (Fisher exact test)``. A p-value below 0.05 says the
        change is significant at 95 %.

    Raises
    ------
    KPIInputError
        Text or a boolean where a count or the confidence is needed, or an
        unknown test.
    KPIDomainError
        A negative or fractional count, more successes than trials, a
        count above 2⁵³, a confidence not strictly between 0 and 1, or
        ``"fisher"`` for more than 10 million trials.
    KPIUndefinedError
        No trials in a or in b.

    Notes
    -----
    With rates ``a = xₐ / nₐ`` and ``b = x_b / n_b`` and their Wilson
    intervals ``(lₐ, uₐ)`` and ``(l_b, u_b)`` (see :func:`rate_ci`), the
    interval of ``d = b − a`` is Newcombe's hybrid score interval (method 10
    of Newcombe 1998 [1]_)::

        lower = d − √((b − l_b)² + (uₐ − a)²)
        upper = d + √((u_b − b)² + (a − lₐ)²)

    It stays within [−1, 1] and behaves well for small counts and rates
    near 0 or 1, where the Wald interval fails.

    The p-value is two-sided. The z-test pools the rates,
    ``p = (xₐ + x_b) / (nₐ + n_b)``,
    ``z = (b − a) / √(p (1 − p) (1/nₐ + 1/n_b))``, ``P = erfc(|z| / √2)``
    (``P = 1`` when ``p`` is 0 or 1); it is Pearson's χ² test of the 2 × 2
    table without continuity correction [2]_. Where an expected count of
    the table (``nₐ p``, ``nₐ (1 − p)``, ``n_b p``, ``n_b (1 − p)``) is below
    5 — Cochran's rule [3]_ — the normal approximation is poor and ``"auto"``
    uses Fisher's exact test [2]_: the sum of the hypergeometric
    probabilities of all tables with the same margins that are no more
    likely than the one observed (up to 10 million trials in a and b
    together; beyond, the z-test, whose approximation is good there).

    The interval and the test can disagree at the margin (the interval is
    not the inversion of the test); read the p-value for "is it real".

    References
    ----------
    .. [1] R. G. Newcombe, "Interval estimation for the difference between
       independent proportions: comparison of eleven methods", *Statistics
       in Medicine* 17(8), 1998, 873–890.
    .. [2] A. Agresti, *Categorical Data Analysis*, 2nd ed., Wiley, 2002,
       sections 3.1 and 3.5.
    .. [3] W. G. Cochran, "Some methods for strengthening the common χ²
       tests", *Biometrics* 10(4), 1954, 417–451.

    Examples
    --------
    Newcombe's example (b = 56/70, a = 48/80): a difference of 0.2, 95 %
    interval 0.0524 to 0.3339:

    >>> rate_change(48, 80, 56, 70).round(4)
                                 label   value
    0                           rate a  0.6000
    1                           rate b  0.8000
    2               difference (b − a)  0.2000
    3                            lower  0.0524
    4                            upper  0.3339
    5  p-value (two-proportion z-test)  0.0080
    """
    fn = "KPI_RATE_CHANGE"
    xa, na = _counts(successes_a, trials_a, fn, "successes_a", "trials_a")
    xb, nb = _counts(successes_b, trials_b, fn, "successes_b", "trials_b")
    conf = _confidence(confidence, fn)
    how = c.option_text(test, fn, "test", "auto", TESTS)
    z = _z(conf)
    pa, pb = xa / na, xb / nb
    la, ua = _wilson(xa, na, z)
    lb, ub = _wilson(xb, nb, z)
    d = pb - pa
    lower = d - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2)
    upper = d + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2)
    small = na + nb <= FISHER_MAX_TRIALS
    if how == "auto":
        how = "fisher" if small and _min_expected(xa, na, xb, nb) < MIN_EXPECTED else "z"
    elif how == "fisher" and not small:
        raise KPIDomainError(fn, f"cannot be Fisher's exact test for more than {FISHER_MAX_TRIALS:,} trials in "
                             f"all (here {na + nb:,.0f}); use \"z\"", argument="test", value="fisher", has_value=True)
    if how == "z":
        p_value, label = _z_test(xa, na, xb, nb), _Z_LABEL
    else:
        from scipy.stats import fisher_exact  # here: scipy.stats takes long to import (Pyodide), and few calls need it

        table = np.array([[xa, na - xa], [xb, nb - xb]], dtype=np.int64)
        p_value, label = min(float(fisher_exact(table, alternative="two-sided")[1]), 1.0), _FISHER_LABEL
    return pd.DataFrame({"label": ["rate a", "rate b", "difference (b − a)", "lower", "upper", label],
                         "value": np.array([pa, pb, d, max(lower, -1.0), min(upper, 1.0), p_value], dtype=float)})
