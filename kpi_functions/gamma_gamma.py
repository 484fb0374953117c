"""The Gamma-Gamma model of spend per purchase: its fit and each customer's expected average spend.

``gamma_gamma_fit`` fits the model (Fader & Hardie's Gamma-Gamma note;
Fader, Hardie & Lee 2005, "RFM and CLV") to the repeat buyers' number of
repeat purchases and average spend per repeat purchase, the model
``KPI_CLV_BGNBD`` fits internally; ``expected_spend`` gives each customer's
expected average spend per purchase, E[M | x, z̄], from those parameters (or
from a fit to the given customers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIUndefinedError
from ._mle import log_scale_intervals
from ._params import GAMMA_GAMMA_PARAMS, given_params
from ._registry import kpi
from .bgnbd import _EX_FREQ, _EX_MON, _fit_gamma_gamma, _GammaGamma, _repeat_spend
from .survival import _check_aligned

__all__ = ["expected_spend", "gamma_gamma_fit"]

_CAT = "Customer value and acquisition"
_ARGS = {
    "frequency": "Repeat purchases of each customer (purchases after the first; whole numbers)",
    "monetary": "Average value of the customer's repeat purchases (0 or blank without repeat purchases)",
}


def _spend_inputs(frequency: Any, monetary: Any,
                  fn: str) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows in the input, the kept rows' positions, their x and monetary values, and the repeat buyers' mask.

    A row blank in frequency is skipped (its monetary must be blank too); monetary is ignored for a
    customer without repeat purchases and must be positive for a repeat buyer.
    """
    x_all = c.aligned_numbers(frequency, fn, "frequency", min=0, integer=True,
                              domain="must be a whole number of repeat purchases, not negative")
    mon_all = c.aligned_numbers(monetary, fn, "monetary", min=0)
    _check_aligned(fn, "frequency", x_all, "monetary", mon_all)
    keep = np.flatnonzero(~np.isnan(x_all))
    if keep.size == 0:
        raise KPIUndefinedError(fn, "has no customers", argument="frequency")
    x = x_all[keep]
    rep = _repeat_spend(x, mon_all, keep, monetary, fn, "frequency is")
    return x_all.size, keep, x, mon_all[keep], rep


@kpi(
    category=_CAT,
    summary="Gamma-Gamma model of spend per purchase fitted by maximum likelihood: p, q, gamma, mean spend.",
    formula="max over p, q, γ of Σᵢ ln f(z̄ᵢ | p, q, γ, xᵢ) over the repeat buyers (Fader & Hardie, "
            "Gamma-Gamma note, eq. 3); mean spend = p γ / (q − 1)",
    shape="labelled",
    unit="number",
    args={**_ARGS,
          "detail": "TRUE adds columns se, lower, upper: standard errors and 95 % intervals (log scale) "
                    "of p, q, gamma and the mean spend (default FALSE)"},
    kinds={"detail": "bool"},
    example=(_EX_FREQ, _EX_MON),
)
def gamma_gamma_fit(frequency: Any, monetary: Any, detail: Any = False) -> pd.DataFrame:
    """Fit the Gamma-Gamma model of spend per purchase by maximum likelihood.

    Parameters
    ----------
    frequency : range
        Each customer's number of repeat purchases (whole, not negative).
    monetary : range
        Aligned: the average value of the customer's repeat purchases,
        greater than 0 for a repeat buyer; ignored (0 or blank) for a
        customer without repeat purchases. A row blank in both is skipped;
        a value in a row whose frequency is blank is an error.
    detail : bool, default False
        TRUE adds the columns ``se``, ``lower`` and ``upper`` (see Returns).

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and ``value``; rows ``p`` (the shape of each
        purchase's amount), ``q`` and ``gamma`` (shape and scale of the
        gamma distribution of the customers' spend rates; gamma in the unit
        of ``monetary``), ``mean spend`` (the population mean of the spend
        per purchase, p γ / (q − 1): what a new customer is expected to
        spend) and ``log-likelihood`` (the total at the estimates, of the
        densities of the average spends). With ``detail`` also ``se``
        (standard error) and ``lower``/``upper`` (95 % confidence interval)
        of p, q, gamma and the mean spend, blank for the log-likelihood,
        from the observed information as for :func:`bgnbd_fit`: the inverse
        Hessian of the negative log-likelihood in ln p, ln q, ln γ,
        ``se(θ) = θ · se(ln θ)`` and ``exp(ln θ ± 1.96 · se(θ)/θ)``; for the
        mean spend the delta method on ``ln p + ln γ − ln(q − 1)``. The
        output, with or without the detail, can be given as the ``params``
        of :func:`expected_spend`.

    Raises
    ------
    KPIInputError
        Text or booleans, ranges of different length, a repeat buyer
        without monetary value, a monetary value in a row without frequency.
    KPIDomainError
        A negative or fractional frequency, a negative monetary value, a
        repeat buyer's monetary value of 0.
    KPIUndefinedError
        No customers, or fewer than two repeat buyers.
    KPIModelError
        The fit does not converge or runs to the edge of the parameter
        space (too few or too regular amounts), or gives q ≤ 1 (an infinite
        mean spend: amounts too heavy-tailed for the model). With
        ``detail``: the information matrix is singular.

    Notes
    -----
    The amount of each purchase is Gamma(p, ν); the rate ν varies across
    customers as Gamma(q, γ). The average z̄ of a customer's x repeat
    purchases then has the density

    ``f(z̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q z̄^{px−1} x^{px} / (γ + x z̄)^{px+q}``,

    and the total log-likelihood over the repeat buyers is maximised over
    the log-parameters by BFGS with the analytic gradient, from several
    starts, with Nelder–Mead as fallback (spend rescaled to mean 1 while
    fitting, gamma scaled back). Customers without repeat purchases carry
    no information on spend and are left out, as in the note.

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "The Gamma-Gamma Model of
       Monetary Value", 2013. On the 946 CDNOW repeat buyers the estimates
       are p 6.25, q 3.74, γ 15.44.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using
       Iso-Value Curves for Customer Base Analysis", Journal of Marketing
       Research 42(4), 415–430, 2005.

    Examples
    --------
    The customers of the :func:`bgnbd_fit` example, with the average value
    of their repeat purchases:

    >>> freq = [0, 5, 1, 0, 7, 2, 5, 2, 0, 1, 0, 6, 8, 1, 4, 2, 1, 0, 1, 0, 4, 1, 0, 2]
    >>> spend = [None, 15.57, 70.26, None, 13.07, 19.32, 40.44, 32.09, None, 42.38, None, 75.25,
    ...          26.91, 26.96, 23.5, 42.83, 68.75, None, 20.05, None, 19.35, 8.63, None, 19.91]
    >>> gamma_gamma_fit(freq, spend).round(3)
                label   value
    0               p   6.160
    1               q   4.395
    2           gamma  18.208
    3      mean spend  33.040
    4  log-likelihood -71.542

    With standard errors and 95 % intervals: seventeen repeat buyers pin
    down the mean spend far better than p, q and gamma, which trade off
    against each other:

    >>> gamma_gamma_fit(freq, spend, True).round(3)
                label   value      se   lower    upper
    0               p   6.160   7.594   0.550   69.016
    1               q   4.395   2.283   1.588   12.164
    2           gamma  18.208  30.133   0.710  466.611
    3      mean spend  33.040   5.847  23.356   46.740
    4  log-likelihood -71.542     NaN     NaN      NaN
    """
    fn = "KPI_GAMMA_GAMMA_FIT"
    more = c.option_bool(detail, fn, "detail", False)
    _, _, x, mon, rep = _spend_inputs(frequency, monetary, fn)
    m = _fit_gamma_gamma(x[rep], mon[rep], fn, detail=more)
    out = pd.DataFrame({"label": list(GAMMA_GAMMA_PARAMS.rows), "value": [m.p, m.q, m.v, m.mean, m.ll]})
    if m.cov is not None:
        # ln(mean) = ln p + ln γ − ln(q − 1): its row of the Jacobian in (ln p, ln q, ln γ)
        jac = np.vstack([np.eye(3), [1.0, -m.q / (m.q - 1.0), 1.0]])
        se, lo, hi = log_scale_intervals(np.array([m.p, m.q, m.v, m.mean]), jac @ m.cov @ jac.T)
        out["se"], out["lower"], out["upper"] = (np.append(v, np.nan) for v in (se, lo, hi))
    return out


@kpi(
    category=_CAT,
    summary="Gamma-Gamma expected average spend per purchase of each customer, given their repeat purchases.",
    formula="E[M | x, z̄] = p (γ + x z̄) / (p x + q − 1); p γ / (q − 1) for x = 0",
    shape="column",
    unit="money",
    args={**_ARGS,
          "params": "Gamma-Gamma parameters: the output of KPI_GAMMA_GAMMA_FIT, or p, q, gamma (blank: fit "
                    "them to these customers)"},
    example=(_EX_FREQ, _EX_MON),
)
def expected_spend(frequency: Any, monetary: Any, params: Any = None) -> pd.Series:
    """Expected average spend per purchase of each customer (Gamma-Gamma).

    Parameters
    ----------
    frequency, monetary : range
        Each customer's repeat purchases and the average value of them, as
        for :func:`gamma_gamma_fit`; a row blank in both is skipped.
    params : range, optional
        The Gamma-Gamma parameters: the output of ``KPI_GAMMA_GAMMA_FIT``
        (its label/value range, with or without its header row and detail
        columns, or its value column), or p, q, gamma in that order (gamma
        in the unit of ``monetary``; q greater than 1). Blank: the model is
        fitted to the given customers (as ``KPI_CLV_BGNBD`` does).

    Returns
    -------
    pandas.Series
        Named ``expected spend``: one value per input row (NaN for a row
        blank in both ranges), in the unit of ``monetary``.

    Raises
    ------
    KPIInputError
        Text or booleans, ranges of different length, a repeat buyer
        without monetary value, a monetary value in a row without
        frequency, ``params`` that are not p, q, gamma.
    KPIDomainError
        A negative or fractional frequency, a negative monetary value, a
        repeat buyer's monetary value of 0, a parameter not greater than 0
        (q: not greater than 1).
    KPIUndefinedError
        No customers; without ``params``, fewer than two repeat buyers.
    KPIModelError
        Without ``params``: the fit fails (see :func:`gamma_gamma_fit`).

    Notes
    -----
    Given x repeat purchases of average value z̄, the customer's expected
    spend per purchase is the posterior mean of p/ν (Fader, Hardie & Lee
    2005, eq. 5; the Gamma-Gamma note, eq. 5):

    ``E[M | p, q, γ, x, z̄] = p (γ + x z̄) / (p x + q − 1)
    = (q − 1)/(p x + q − 1) · p γ/(q − 1) + p x/(p x + q − 1) · z̄``,

    a weighted average of the population mean ``p γ / (q − 1)`` and the
    customer's own average, weighing the latter more the more purchases
    it rests on. A customer without repeat purchases gets the population
    mean.

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "The Gamma-Gamma Model of
       Monetary Value", 2013.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using
       Iso-Value Curves for Customer Base Analysis", Journal of Marketing
       Research 42(4), 415–430, 2005.

    Examples
    --------
    With the CDNOW estimates (p 6.25, q 3.74, γ 15.44): a customer with two
    repeat purchases averaging 22.35, one with one of 11.77, and one who
    never repeated (the population mean, 6.25 · 15.44 / 2.74):

    >>> expected_spend([2, 1, 0], [22.35, 11.77, None], [6.25, 3.74, 15.44]).round(2)
    0    24.66
    1    18.92
    2    35.22
    Name: expected spend, dtype: float64
    """
    fn = "KPI_EXPECTED_SPEND"
    n_rows, keep, x, mon, rep = _spend_inputs(frequency, monetary, fn)
    given = given_params(params, fn, GAMMA_GAMMA_PARAMS)
    if given is None:
        m = _fit_gamma_gamma(x[rep], mon[rep], fn)
    else:
        p, q, gamma = given
        m = _GammaGamma(p, q, gamma, np.nan)
    out = np.full(n_rows, np.nan)
    out[keep] = m.spend(x, np.nan_to_num(mon))
    return pd.Series(out, name="expected spend")
