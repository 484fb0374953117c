"""Satisfaction KPIs: Net Promoter Score (with its breakdown and margin of
error), CSAT, and a weighted customer health score."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from . import _coerce as c
from ._errors import KPIDomainError, KPIInputError, KPIUndefinedError
from ._registry import kpi

__all__ = ["csat", "health_score", "nps", "nps_breakdown", "nps_moe"]

_CAT = "Satisfaction"

_NPS_EXAMPLE = [10, 9, 10, 9, 10, 9, 8, 7, 6, 3, None, 0, 10]
_SCORES_HELP = "Answers to 'How likely are you to recommend us?', whole numbers 0–10 (blanks are ignored)"
_NPS_BREAKDOWN_LABELS = (
    "promoters",
    "passives",
    "detractors",
    "promoters %",
    "passives %",
    "detractors %",
    "responses",
    "NPS",
    "margin of error",
)


def _nps_counts(scores: Any, fn: str) -> tuple[int, int, int, int]:
    """(promoters, passives, detractors, responses) of 0–10 scores; blanks ignored."""
    v = c.whole_numbers(scores, fn, "scores", min=0, max=10,
                        domain="must be a whole number from 0 to 10 (NPS is asked on a 0–10 scale)")
    n = int(v.size)
    if n == 0:
        raise KPIUndefinedError(fn, "has no scores", argument="scores")
    promoters = int(np.count_nonzero(v >= 9))
    detractors = int(np.count_nonzero(v <= 6))
    return promoters, n - promoters - detractors, detractors, n


def _z(confidence: float) -> float:
    """Two-sided normal critical value: Φ⁻¹(1 − (1 − confidence) / 2)."""
    return float(ndtri(1.0 - (1.0 - confidence) / 2.0))


def _moe_points(promoters: int, detractors: int, n: int, confidence: float) -> float:
    p = promoters / n
    d = detractors / n
    var = max(p + d - (p - d) ** 2, 0.0) / n
    return _z(confidence) * math.sqrt(var) * 100.0


@kpi(
    category=_CAT,
    summary="Net Promoter Score: % promoters (9–10) − % detractors (0–6), from −100 to 100.",
    formula="100 × (#promoters − #detractors) / #responses",
    unit="points",
    args={"scores": _SCORES_HELP},
    example=(_NPS_EXAMPLE,),
)
def nps(scores: Any) -> float:
    """Net Promoter Score (NPS).

    Parameters
    ----------
    scores : range
        Answers to "How likely is it that you would recommend us to a friend
        or colleague?", whole numbers from 0 to 10. Blanks are ignored.

    Returns
    -------
    float
        NPS in points, from −100 (all detractors) to 100 (all promoters).

    Raises
    ------
    KPIInputError
        Text or a boolean among the scores.
    KPIDomainError
        A score that is not a whole number from 0 to 10 (11, −1, 7.5).
    KPIUndefinedError
        No scores.

    Notes
    -----
    Promoters answer 9 or 10, passives 7 or 8, detractors 0 to 6::

        NPS = 100 × (#promoters − #detractors) / #responses

    References
    ----------
    {reichheld_1}

    Examples
    --------
    60 % promoters and 30 % detractors give an NPS of 30:

    >>> nps([10, 10, 9, 9, 10, 9, 8, 0, 3, 6])
    30.0
    >>> nps([10, 9, 10, 9, 10, 9, 8, 7, 6, 3, None, 0, 10])
    33.333333333333336
    """
    p, _, d, n = _nps_counts(scores, "KPI_NPS")
    return float(100.0 * (p - d) / n)


@kpi(
    category=_CAT,
    summary="NPS breakdown: promoter, passive and detractor counts and shares, responses, NPS, margin of error.",
    formula="counts; shares = count / responses; NPS = 100 × (promoters % − detractors %); 95 % margin of error",
    shape="labelled",
    unit="table",
    args={"scores": _SCORES_HELP},
    example=(_NPS_EXAMPLE,),
)
def nps_breakdown(scores: Any) -> pd.DataFrame:
    """Net Promoter Score with its parts.

    Parameters
    ----------
    scores : range
        Whole numbers from 0 to 10; blanks are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``, one row per figure in this order:
        promoters, passives, detractors (counts), promoters %, passives %,
        detractors % (shares, as fractions that sum to 1), responses, NPS
        (points) and margin of error (points, at 95 % confidence).

    Raises
    ------
    KPIInputError
        Text or a boolean among the scores.
    KPIDomainError
        A score that is not a whole number from 0 to 10.
    KPIUndefinedError
        No scores.

    Notes
    -----
    See :func:`nps` and :func:`nps_moe` for the formulas.

    References
    ----------
    {reichheld_1}

    Examples
    --------
    >>> nps_breakdown([10, 10, 9, 9, 10, 9, 8, 0, 3, 6]).round(4)
                 label    value
    0        promoters   6.0000
    1         passives   1.0000
    2       detractors   3.0000
    3      promoters %   0.6000
    4       passives %   0.1000
    5     detractors %   0.3000
    6        responses  10.0000
    7              NPS  30.0000
    8  margin of error  55.7816
    """
    fn = "KPI_NPS_BREAKDOWN"
    p, m, d, n = _nps_counts(scores, fn)
    values = [p, m, d, p / n, m / n, d / n, n, 100.0 * (p - d) / n, _moe_points(p, d, n, 0.95)]
    return pd.DataFrame({"label": list(_NPS_BREAKDOWN_LABELS), "value": np.array(values, dtype=float)})


@kpi(
    category=_CAT,
    summary="Margin of error of the NPS in points, at the given confidence (default 95 %).",
    formula="z · √((p + d − (p − d)²) / n) · 100, z = Φ⁻¹(1 − (1 − confidence)/2)",
    unit="points",
    args={
        "scores": _SCORES_HELP,
        "confidence": "Confidence level strictly between 0 and 1 (default 0.95)",
    },
    example=(_NPS_EXAMPLE,),
)
def nps_moe(scores: Any, confidence: Any = 0.95) -> float:
    """Margin of error of the Net Promoter Score.

    Parameters
    ----------
    scores : range
        Whole numbers from 0 to 10; blanks are ignored.
    confidence : float, optional
        Confidence level, strictly between 0 and 1; default 0.95.

    Returns
    -------
    float
        Half the width of the confidence interval of the NPS, in points
        (NPS ± margin).

    Raises
    ------
    KPIInputError
        Text or a boolean among the scores or as the confidence.
    KPIDomainError
        A score that is not a whole number from 0 to 10, or a confidence
        not strictly between 0 and 1.
    KPIUndefinedError
        No scores.

    Notes
    -----
    Each response is +1 (promoter), 0 (passive) or −1 (detractor); the NPS
    is 100 × their mean. With ``p`` and ``d`` the shares of promoters and
    detractors among ``n`` responses, the variance of one response is
    ``p + d − (p − d)²`` and the normal-approximation (Wald) margin is::

        MOE = z · √((p + d − (p − d)²) / n) · 100,   z = Φ⁻¹(1 − (1 − confidence) / 2)

    (z ≈ 1.96 at 95 %). It is 0 when every response is in one group; for
    small samples or shares near 0 or 1 the Wald interval is too narrow.

    References
    ----------
    .. [1] B. Rocks, "Interval Estimation for the 'Net Promoter Score'",
       *The American Statistician* 70(4), 2016, 365–372.
    .. [2] A. Engelhardt, "Net Promoter Score confidence intervals 2: maths
       and stats", CYBAEA, 2016,
       http://www.cybaea.net/journal/2016/01/14/NPS-confidence-intervals-stats/

    Examples
    --------
    60 % promoters, 30 % detractors, 10 responses:
    z · √((0.9 − 0.09) / 10) · 100 = 1.959964 × 28.4605 = 55.78 points.

    >>> round(nps_moe([10, 10, 9, 9, 10, 9, 8, 0, 3, 6]), 4)
    55.7816
    >>> round(nps_moe([10, 10, 9, 9, 10, 9, 8, 0, 3, 6], 0.9), 4)
    46.8134
    """
    fn = "KPI_NPS_MOE"
    conf = _confidence(confidence, fn)
    p, _, d, n = _nps_counts(scores, fn)
    return float(_moe_points(p, d, n, conf))


def _confidence(x: Any, fn: str) -> float:
    domain = "must be strictly between 0 and 1 (95 % confidence is 0.95)"
    conf = c.option_number(x, fn, "confidence", 0.95, min=0, max=1, min_open=True, domain=domain)
    if conf >= 1:
        raise KPIDomainError(fn, domain, argument="confidence", value=int(conf), has_value=True)
    return conf


@kpi(
    category=_CAT,
    summary="Customer satisfaction score: share of responses at or above satisfied_min on a 1…scale_max scale.",
    formula="#(score ≥ satisfied_min) / #responses",
    unit="fraction",
    args={
        "scores": "Satisfaction ratings, whole numbers from 1 to scale_max (blanks are ignored)",
        "satisfied_min": "Lowest rating that counts as satisfied (default 4)",
        "scale_max": "Highest rating of the scale (default 5)",
    },
    example=([5, 4, 3, 5, 2, None, 4],),
)
def csat(scores: Any, satisfied_min: Any = 4, scale_max: Any = 5) -> float:
    """Customer satisfaction score (CSAT).

    Parameters
    ----------
    scores : range
        Ratings, whole numbers from 1 to ``scale_max``; blanks are ignored.
    satisfied_min : number, optional
        Lowest rating that counts as satisfied, between 1 and ``scale_max``;
        default 4 (the top two boxes of a 1–5 scale).
    scale_max : number, optional
        Highest rating of the scale, a whole number of at least 2; default 5.

    Returns
    -------
    float
        Share of the responses that are ``satisfied_min`` or higher.

    Raises
    ------
    KPIInputError
        Text or a boolean among the scores or options.
    KPIDomainError
        A rating that is not a whole number from 1 to ``scale_max``, a
        ``scale_max`` that is not a whole number of at least 2, or a
        ``satisfied_min`` outside 1 … ``scale_max``.
    KPIUndefinedError
        No responses.

    Notes
    -----
    ``CSAT = #(rating ≥ satisfied_min) / #responses`` (the share of satisfied
    responses, not the mean rating).

    References
    ----------
    .. [1] SoGoSurvey, "Customer Satisfaction – CSAT" (satisfied = 4 or 5 on
       a 1–5 scale), https://www.sogosurvey.com/help/introduction-to-customer-satisfaction-csat/

    Examples
    --------
    >>> csat([5, 4, 3, 5, 2, None, 4])
    0.6666666666666666
    >>> csat([7, 6, 5, 3], 6, 7)
    0.5
    """
    fn = "KPI_CSAT"
    top = c.option_number(scale_max, fn, "scale_max", 5.0, min=2, integer=True,
                          domain="must be a whole number of at least 2 (the highest rating of the scale)")
    low = c.option_number(satisfied_min, fn, "satisfied_min", 4.0, min=1,
                          domain="must be at least 1 (the lowest rating that counts as satisfied)")
    if low > top:
        raise KPIDomainError(fn, f"must be at most scale_max ({top:g})", argument="satisfied_min",
                             value=int(low) if low.is_integer() else low, has_value=True)
    v = c.whole_numbers(scores, fn, "scores", min=1, max=int(top),
                        domain=f"must be a whole number from 1 to {top:g} (the scale)")
    if v.size == 0:
        raise KPIUndefinedError(fn, "has no responses", argument="scores")
    return float(np.count_nonzero(v >= math.ceil(low)) / v.size)  # whole ratings: ≥ 4.5 means ≥ 5


@kpi(
    category=_CAT,
    summary="Customer health score: weighted sum of action values per customer (one score per row).",
    formula="score_i = Σ_j weight_j × value_ij (blank values contribute 0)",
    shape="column",
    unit="number",
    args={
        "values": "Action values: a row per customer, a column per action (blank = 0; an all-blank row gives a blank)",
        "weights": "One weight per action column (a row or a column range)",
    },
    example=([[3, 1, 0], [5, None, 2], [0, 4, 1]], [0.5, 0.3, 0.2]),
)
def health_score(values: Any, weights: Any) -> pd.Series:
    """Weighted customer health score.

    Parameters
    ----------
    values : range
        A row per customer and a column per action or signal (logins, seats
        used, tickets, survey score …), numbers. A blank cell contributes 0;
        a row with no number at all gets no score (NaN, a blank in Excel).
        Values and weights may be negative (a penalty for a bad signal).
    weights : range
        One weight per column of ``values``, as a row or a column range.

    Returns
    -------
    pandas.Series
        ``"health score"``: one score per row of ``values``, in order.

    Raises
    ------
    KPIInputError
        Text or a boolean among the values or weights, a blank weight, or a
        number of weights different from the number of value columns.
    KPIDomainError
        An infinite value or weight.
    KPIUndefinedError
        No values at all.

    Notes
    -----
    ``scoreᵢ = Σⱼ wⱼ · vᵢⱼ`` over the non-blank cells of row ``i``. It is a
    weighted sum, not an average: scale the weights to sum to 1 for a
    weighted average of values on a common scale (e.g. 0–100).

    References
    ----------
    .. [1] Natero, "Calculation of Account Health Score" (the health score
       as a weighted sum of component scores),
       https://support.natero.com/hc/en-us/articles/204446145-Calculation-of-Account-Health-Score
    .. [2] Gainsight, "Scorecards Overview",
       https://support.gainsight.com/Product_Documentation/Scorecards/Overview/Scorecards_Overview

    Examples
    --------
    >>> health_score([[3, 1, 0], [5, None, 2], [None, None, None]], [0.5, 0.3, 0.2])
    0    1.8
    1    2.9
    2    NaN
    Name: health score, dtype: float64
    """
    fn = "KPI_HEALTH_SCORE"
    g = c.grid(values, fn, "values")
    v = c.aligned_numbers(g.values if g.is2d else g.values.reshape(-1), fn, "values")
    if v.size == 0 or np.isnan(v).all():
        raise KPIUndefinedError(fn, "has no numbers", argument="values")
    v = v.reshape(g.nrows, g.ncols)
    w = _weights(weights, g.ncols, fn)
    blank = np.isnan(v)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = np.where(blank, 0.0, v) @ w
    empty = blank.all(axis=1)
    over = np.flatnonzero(~empty & ~np.isfinite(scores))
    if over.size:
        raise KPIDomainError(fn, "the score is too large to compute (beyond ±1.8e308)", argument="values",
                             position=f"row {int(over[0]) + 1}")  # a whole row: no cell Location
    scores[empty] = np.nan
    return pd.Series(scores, name="health score")


def _weights(weights: Any, ncols: int, fn: str) -> np.ndarray:
    """One finite weight per value column, from a row or a column range."""
    g = c.grid(weights, fn, "weights")
    if g.is2d and g.nrows > 1 and g.ncols > 1:
        raise KPIInputError(fn, f"must be a single row or column; got {g.nrows} rows × {g.ncols} columns",
                            argument="weights")
    w = c.aligned_numbers(g.values if g.is2d else g.values.reshape(-1), fn, "weights")
    if w.size != ncols:
        raise KPIInputError(fn, f"has {w.size} weight(s) but 'values' has {ncols} column(s); "
                            "give one weight per value column", argument="weights")
    blank = np.isnan(w)
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise KPIInputError(fn, "is blank; every value column needs a weight", argument="weights",
                            location=g.location(i))
    return w
