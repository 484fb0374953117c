"""Per-customer BG/NBD predictions: the probability of being alive and the expected purchases.

Both functions take the RFM summary of each customer (as :func:`bgnbd_fit`)
and the model's parameters: the output of ``KPI_BGNBD_FIT`` (its two-column
label/value range, or the values r, alpha, a, b in that order), or, left
blank, the model is fitted to the given customers, as ``KPI_CLV_BGNBD`` does.
Each spills one value per input row, blank for a blank row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from . import _coerce as c
from ._errors import KPIInputError
from ._params import BGNBD_PARAMS, given_params
from ._registry import kpi
from .bgnbd import _BGNBD, _EX_FREQ, _EX_REC, _EX_T, _conditional_purchases, _finite_purchases, _fit_bgnbd, _rfm

__all__ = ["expected_purchases", "prob_alive"]

_CAT = "Customer value and acquisition"
_PARAMS_HELP = ("BG/NBD parameters: the output of KPI_BGNBD_FIT, or r, alpha, a, b (blank: fit them to these "
                "customers)")


def _model(frequency: Any, recency: Any, T: Any, params: Any, fn: str) -> tuple[Any, _BGNBD]:
    d = _rfm(frequency, recency, T, fn)
    given = given_params(params, fn, BGNBD_PARAMS)
    if given is None:
        return d, _fit_bgnbd(d, fn)
    r, alpha, a, b = given
    return d, _BGNBD(r, alpha, a, b, np.nan)


def _alive(m: _BGNBD, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x−1) ((α+T)/(α+t_x))^{r+x}), through the log-odds."""
    rep = x > 0
    out = np.ones(x.shape)
    xr = x[rep]
    log_odds = (np.log(m.a) - np.log(m.b + xr - 1.0)
                + (m.r + xr) * np.log1p((T[rep] - tx[rep]) / (m.alpha + tx[rep])))
    out[rep] = special.expit(-log_odds)
    return out


@kpi(
    category=_CAT,
    summary="BG/NBD probability that each customer is still active (alive), from frequency, recency and T.",
    formula="P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x)) "
            "(Fader, Hardie & Lee 2005; Hardie's note 021)",
    shape="column",
    unit="fraction",
    args={
        "frequency": "Repeat purchases of each customer (purchases after the first; whole numbers)",
        "recency": "Time from the customer's first to last purchase (0 without repeat purchases)",
        "T": "Time from the customer's first purchase to the end of the observation (same unit as recency)",
        "params": _PARAMS_HELP,
    },
    example=(_EX_FREQ, _EX_REC, _EX_T),
)
def prob_alive(frequency: Any, recency: Any, T: Any, params: Any = None) -> pd.Series:
    """Probability that each customer is still alive under the BG/NBD model.

    Parameters
    ----------
    frequency, recency, T : range
        The RFM summary of each customer, as for :func:`bgnbd_fit`: the
        repeat purchases, the time of the last purchase and the customer's
        age, aligned row by row (a row blank in all three is skipped).
    params : range, optional
        The BG/NBD parameters: the output of ``KPI_BGNBD_FIT`` (its
        label/value range, or its value column), or r, alpha, a, b in that
        order; alpha in the time unit of recency and T. The spilled output
        may be given with its header row. Blank: the model is
        fitted to the given customers (as ``KPI_CLV_BGNBD`` does).

    Returns
    -------
    pandas.Series
        Named ``P(alive)``: one probability per input row (NaN for a row
        blank in every range).

    Raises
    ------
    KPIInputError
        Text or booleans, a partly blank row, ranges of different length,
        ``params`` that are not r, alpha, a, b.
    KPIDomainError
        Invalid RFM values (see :func:`bgnbd_fit`), a parameter that is not
        greater than 0.
    KPIUndefinedError
        No customers.
    KPIModelError
        Without ``params``: the fit fails (see :func:`bgnbd_fit`).

    Notes
    -----
    A customer who made x repeat purchases, the last at t_x, and was
    observed for T is alive with probability

    ``P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})``

    (Fader, Hardie & Lee 2005, eq. 13; Hardie's note 021): 1 for a customer
    without repeat purchases, who under the BG/NBD can drop out only just
    after a purchase. It is computed as the logistic function of the
    log-odds, so that it neither overflows nor loses digits for customers
    with many purchases long ago.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your
       Customers' the Easy Way: An Alternative to the Pareto/NBD Model",
       Marketing Science 24(2), 275–284, 2005.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Computing P(alive)
       Using the BG/NBD Model", note 021, 2008.

    Examples
    --------
    With the CDNOW estimates (r 0.243, alpha 4.414, a 0.793, b 2.426, in
    weeks): a customer with two repeat purchases, the last at 30.43 weeks, aged
    38.86 weeks; one who has not bought again since week 1.71; and one who
    never repeated:

    >>> prob_alive([2, 1, 0], [30.43, 1.71, 0], [38.86, 38.86, 38.86], [0.243, 4.414, 0.793, 2.426]).round(4)
    0    0.7266
    1    0.2121
    2    1.0000
    Name: P(alive), dtype: float64
    """
    fn = "KPI_PROB_ALIVE"
    d, m = _model(frequency, recency, T, params, fn)
    out = np.full(d.n_rows, np.nan)
    out[d.keep] = _alive(m, d.x, d.tx, d.T)
    return pd.Series(out, name="P(alive)")


@kpi(
    category=_CAT,
    summary="BG/NBD expected number of purchases of each customer in the next periods, given their history.",
    formula="E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; "
            "t/(α+T+t))] / (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))",
    shape="column",
    unit="number",
    args={
        "frequency": "Repeat purchases of each customer (purchases after the first; whole numbers)",
        "recency": "Time from the customer's first to last purchase (0 without repeat purchases)",
        "T": "Time from the customer's first purchase to the end of the observation (same unit as recency)",
        "periods": "Length of the future span t, in the time unit of recency and T (greater than 0)",
        "params": _PARAMS_HELP,
    },
    kinds={"periods": "number"},
    example=(_EX_FREQ, _EX_REC, _EX_T, 12),
)
def expected_purchases(frequency: Any, recency: Any, T: Any, periods: Any, params: Any = None) -> pd.Series:
    """Expected purchases of each customer in the next ``periods``, given their history (BG/NBD).

    Parameters
    ----------
    frequency, recency, T : range
        The RFM summary of each customer, as for :func:`bgnbd_fit`.
    periods : number
        The length t of the future span (T, T + t], in the time unit of
        recency and T (CDNOW: weeks); greater than 0 and at most 1,000,000;
        need not be whole.
    params : range, optional
        The BG/NBD parameters, as for :func:`prob_alive`. Blank: the model
        is fitted to the given customers.

    Returns
    -------
    pandas.Series
        Named ``expected purchases``: one value per input row (NaN for a row
        blank in every range).

    Raises
    ------
    KPIInputError
        Text or booleans, a partly blank row, ranges of different length,
        ``params`` that are not r, alpha, a, b.
    KPIDomainError
        Invalid RFM values (see :func:`bgnbd_fit`), periods not greater than
        0, a parameter that is not greater than 0.
    KPIUndefinedError
        No customers.
    KPIModelError
        Without ``params``: the fit fails (see :func:`bgnbd_fit`); parameters
        so extreme that the expectation overflows double precision (never a
        blank or NaN instead).

    Notes
    -----
    The conditional expectation (Fader, Hardie & Lee 2005, eq. 10):

    ``E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x}
    ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / (1 + [x>0] a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})``.

    The hypergeometric term is evaluated through Euler's transformation,
    ``((α+T)/(α+T+t))^{a−1} ₂F₁(a+b−1−r, a−1; a+b+x−1; z)``, whose
    parameters do not grow with x; at a = 1, where the formula is 0/0, its
    limit is taken, interpolated across a = 1 ± 10⁻⁶ (the same evaluation
    as ``KPI_CLV_BGNBD``). Digits cancel in proportion to b: within 1e-12
    of a 50-digit evaluation at b = 50, 1e-10 at b = 10⁴, 1e-7 at
    b = 10⁶ (fitted values of b are rarely above 20).

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your
       Customers' the Easy Way: An Alternative to the Pareto/NBD Model",
       Marketing Science 24(2), 275–284, 2005. For the CDNOW customer with
       x = 2, t_x = 30.43, T = 38.86 (weeks) the paper gives
       E[Y(39) | x, t_x, T] = 1.226.

    Examples
    --------
    The paper's CDNOW customer over the next 39 weeks, and one who never
    repeated:

    >>> expected_purchases([2, 0], [30.43, 0], [38.86, 38.86], 39, [0.243, 4.414, 0.793, 2.426]).round(3)
    0    1.226
    1    0.195
    Name: expected purchases, dtype: float64
    """
    fn = "KPI_EXPECTED_PURCHASES"
    t = c.option_number(periods, fn, "periods", None, min=0, max=1_000_000, min_open=True)
    if t is None:
        raise KPIInputError(fn, "is blank; give the length of the future span", argument="periods")
    d, m = _model(frequency, recency, T, params, fn)
    out = np.full(d.n_rows, np.nan)
    out[d.keep] = _finite_purchases(_conditional_purchases(m, t, d.x, d.tx, d.T), m, fn)
    return pd.Series(out, name="expected purchases")
