"""Marketing KPIs: conversion rate, cost per acquisition, conversion value, ROI (also from CPA and
conversion value), ROAS.

All of them aggregate, then divide: a range (one cell per channel, day or
campaign) is summed before the ratio is taken, so the result is the rate of
the whole, not the mean of the parts' rates.
"""

from __future__ import annotations

from typing import Any

from . import _coerce as c
from ._registry import kpi

__all__ = ["conversion_rate", "conversion_value", "cpa", "roas", "roi", "roi_cpa"]

_CAT = "Marketing"


@kpi(
    category=_CAT,
    summary="Conversion rate: conversions / visitors (also lead → MQL → SQL stage rates).",
    formula="conversions / visitors",
    unit="fraction",
    args={
        "conversions": "Conversions, or the later funnel stage (a range is summed)",
        "visitors": "Visitors, or the earlier funnel stage (a range is summed)",
    },
    example=([12, 13], [400, 600]),
)
def conversion_rate(conversions: Any, visitors: Any) -> float:
    """Conversion rate.

    Parameters
    ----------
    conversions : number or range
        Conversions (sign-ups, orders, leads reaching the next stage); a
        range is summed.
    visitors : number or range
        Visitors (or the population of the earlier funnel stage); a range is
        summed.

    Returns
    -------
    float
        ``conversions / visitors`` as a fraction. It can exceed 1 when
        conversions are counted per event and a visitor converts more than
        once.

    {number_raises}
    KPIDomainError
        A negative count.
    KPIUndefinedError
        No visitors.

    Notes
    -----
    ``conversion rate = conversions / visitors``; the same ratio gives the
    funnel's stage rates (MQL / leads, SQL / MQL, customers / SQL).

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010.

    Examples
    --------
    >>> conversion_rate([12, 13], [400, 600])
    0.025
    """
    return c.total_ratio(conversions, visitors, "KPI_CONVERSION_RATE", "conversions", "visitors",
                         "is 0: with no visitors, the conversion rate is undefined")


@kpi(
    category=_CAT,
    summary="Cost per acquisition: cost / conversions.",
    formula="cost / conversions",
    unit="money",
    args={"cost": "Marketing cost (a range is summed)", "conversions": "Conversions (a range is summed)"},
    example=([3000, 2000], [75, 50]),
)
def cpa(cost: Any, conversions: Any) -> float:
    """Cost per acquisition (CPA).

    Parameters
    ----------
    cost : number or range
        Marketing cost; a range is summed.
    conversions : number or range
        Conversions (acquisitions) the cost bought; a range is summed.

    Returns
    -------
    float
        Cost per conversion, in the cost's unit.

    {number_raises}
    KPIDomainError
        A negative cost or count.
    KPIUndefinedError
        No conversions.

    Notes
    -----
    ``CPA = cost / conversions``. Aggregated over channels it is the total
    cost over the total conversions, not the mean of the channels' CPAs.

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (cost per customer acquired).

    Examples
    --------
    >>> cpa([3000, 2000], [75, 50])
    40.0
    """
    return c.total_ratio(cost, conversions, "KPI_CPA", "cost", "conversions",
                         "is 0: with no conversions, the cost per acquisition is undefined")


@kpi(
    category=_CAT,
    summary="Conversion value: what one conversion is worth, revenue / conversions.",
    formula="revenue / conversions",
    unit="money",
    args={"revenue": "Revenue (value) the conversions brought in (a range is summed)",
          "conversions": "Conversions (a range is summed)"},
    example=([20000, 10000], [75, 50]),
)
def conversion_value(revenue: Any, conversions: Any) -> float:
    """Conversion value: the average revenue one conversion brings in.

    Parameters
    ----------
    revenue : number or range
        Revenue (or another measure of value, such as first-year contract
        value) attributed to the conversions; a range is summed.
    conversions : number or range
        Conversions that brought it in; a range is summed.

    Returns
    -------
    float
        Value per conversion, in the revenue's unit.

    {number_raises}
    KPIDomainError
        A negative revenue or count.
    KPIUndefinedError
        No conversions.

    Notes
    -----
    ``conversion value = revenue / conversions`` — the answer to "how much is
    a conversion worth to you?". Over channels it is the total revenue over
    the total conversions (aggregate, then divide). Compared with the cost per
    acquisition it gives the return on a conversion
    (:func:`roi_cpa`): ``(conversion value − CPA) / CPA``.

    References
    ----------
    .. [1] Google Ads Help, "About conversion values": a value assigned to
       each conversion so that the return on ad spend can be measured,
       https://support.google.com/google-ads/answer/3419241

    Examples
    --------
    30,000 of revenue from 125 conversions: each is worth 240.

    >>> conversion_value([20000, 10000], [75, 50])
    240.0
    """
    return c.total_ratio(revenue, conversions, "KPI_CONVERSION_VALUE", "revenue", "conversions",
                         "is 0: with no conversions, the value per conversion is undefined")


@kpi(
    category=_CAT,
    summary="Return on investment: (gain − cost) / cost.",
    formula="(gain − cost) / cost",
    unit="fraction",
    args={"gain": "Gain (revenue) from the investment (a range is summed; may be negative)",
          "cost": "Cost of the investment (a range is summed)"},
    example=(15000, 10000),
)
def roi(gain: Any, cost: Any) -> float:
    """Return on investment (ROI).

    Parameters
    ----------
    gain : number or range
        What the investment brought in (revenue or gain attributed to it); a
        range is summed. May be negative.
    cost : number or range
        Cost of the investment; a range is summed.

    Returns
    -------
    float
        ``(gain − cost) / cost`` as a fraction (0.5 = 50 %); −1 when the gain
        is 0.

    {number_raises}
    KPIDomainError
        A negative cost.
    KPIUndefinedError
        A cost of 0.

    Notes
    -----
    ``ROI = (gain − cost) / cost``. Unlike ROAS it nets the cost out of the
    return: ``ROI = ROAS − 1`` when the gain is the ad revenue.

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (return on marketing investment).

    Examples
    --------
    >>> roi(15000, 10000)
    0.5
    >>> roi(8000, 10000)
    -0.2
    """
    fn = "KPI_ROI"
    g = c.total(gain, fn, "gain")
    k = c.total(cost, fn, "cost", min=0)
    return c.ratio(g - k, k, fn, "cost", "is 0, so the return on it is undefined")


@kpi(
    category=_CAT,
    summary="Return on ad spend: ad revenue / ad spend.",
    formula="ad_revenue / ad_spend",
    unit="ratio",
    args={"ad_revenue": "Revenue attributed to the ads (a range is summed)",
          "ad_spend": "Spend on the ads (a range is summed)"},
    example=(20000, 5000),
)
def roas(ad_revenue: Any, ad_spend: Any) -> float:
    """Return on ad spend (ROAS).

    Parameters
    ----------
    ad_revenue : number or range
        Revenue attributed to the ads (conversion value); a range is summed.
    ad_spend : number or range
        Spend on the ads; a range is summed.

    Returns
    -------
    float
        Revenue per unit of spend (4.0 = 4:1 = 400 %).

    {number_raises}
    KPIDomainError
        A negative ad spend.
    KPIUndefinedError
        An ad spend of 0.

    Notes
    -----
    ``ROAS = ad revenue / ad spend``. A ROAS of 4 means 4 of revenue for
    every 1 spent (see Warnings for the upside-down form some articles print).

    References
    ----------
    .. [1] Google Ads API reference, "TargetRoas": target ROAS is "the chosen
       revenue (based on conversion data) per unit of spend",
       https://developers.google.com/google-ads/api/reference/rpc/v21/TargetRoas

    Examples
    --------
    >>> roas(20000, 5000)
    4.0
    """
    return c.total_ratio(ad_revenue, ad_spend, "KPI_ROAS", "ad_revenue", "ad_spend",
                         "is 0, so the return on it is undefined", num_min=None)


@kpi(
    category=_CAT,
    summary="ROI from CPA and conversion value: (conversion value − CPA) / CPA.",
    formula="(conversion_value − cpa) / cpa",
    unit="fraction",
    args={"conversion_value": "Value of one conversion, as KPI_CONVERSION_VALUE gives it (a range is summed)",
          "cpa": "Cost per acquisition of one conversion, as KPI_CPA gives it (a range is summed)"},
    example=(240, 40),
)
def roi_cpa(conversion_value: Any, cpa: Any) -> float:
    """Return on investment from the cost per acquisition and the conversion value.

    Parameters
    ----------
    conversion_value : number or range
        What one conversion is worth (:func:`conversion_value`); a range is
        summed, so give one value (a channel's) per call.
    cpa : number or range
        What one conversion costs (:func:`cpa`); a range is summed.

    Returns
    -------
    float
        ``(conversion value − CPA) / CPA`` as a fraction (5.0 = 500 %); −1
        when the conversions are worth nothing.

    {number_raises}
    KPIDomainError
        A negative conversion value or CPA.
    KPIUndefinedError
        A CPA of 0.

    Notes
    -----
    ``ROI = (conversion value − CPA) / CPA``. With ``conversion value =
    revenue / conversions`` and ``CPA = cost / conversions`` the conversions
    cancel, so it equals :func:`roi` of the same revenue and cost,
    ``(revenue − cost) / cost``. Written without the parentheses, as some
    articles print it ("conversion value − CPA / CPA"), the division is done
    first and the result is the conversion value minus 1; and "profit − cost"
    in the numerator counts the cost twice when profit already has it
    deducted.

    References
    ----------
    .. [1] P. Farris, N. Bendle, P. Pfeifer and D. Reibstein, *Marketing
       Metrics: The Definitive Guide to Measuring Marketing Performance*,
       2nd ed., Pearson, 2010 (return on marketing investment).

    Examples
    --------
    A conversion worth 240 that costs 40 returns (240 − 40) / 40 = 5, that
    is 500 %:

    >>> roi_cpa(240, 40)
    5.0
    >>> roi_cpa(30, 40)
    -0.25
    """
    fn = "KPI_ROI_CPA"
    v = c.total(conversion_value, fn, "conversion_value", min=0)
    k = c.total(cpa, fn, "cpa", min=0)
    return c.ratio(v - k, k, fn, "cpa", "is 0, so the return on a conversion is undefined")
