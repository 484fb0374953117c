"""The shifted-beta-geometric model fitted to every cohort of a retention triangle.

``sbg_cohorts`` reads a block with one row per cohort — the logo triangle of
:func:`~kpi_functions.cohort_retention` (shares of the cohort still paying),
or survivor counts — fits the sBG model of :func:`~kpi_functions.sbg_fit` to
each cohort's observed periods and projects each cohort's retention. The
block is read and checked in one vectorised pass; the fit is one small
optimisation per cohort (a loop over cohorts, never over customers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _coerce as c
from ._errors import KPIDomainError, KPIInputError, KPIModelError, KPIUndefinedError, Location
from ._registry import kpi
from .survival import _sbg, _sbg_terms

__all__ = ["sbg_cohorts"]

_FN = "KPI_SBG_COHORTS"
_ARG = "triangle"
#: the most projected months: a worksheet's 16,384 columns less the seven others of the result
_MAX_PERIODS = 16_384 - 7
#: a share times the cohort size must be this close to a whole number of customers (relative to the size)
_WHOLE_TOL = 1e-6


def _relocate(err: KPIInputError, row0: int, col0: int) -> KPIInputError:
    """An error found in a part of the block, placed in the block as passed (``row0``/``col0``: the part's offset)."""
    if err.location is None:
        return err
    return err.relocated(Location(err.location.row + row0, (err.location.col or 1) + col0))


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _header_row(vals: np.ndarray) -> bool:
    """The first row is a header when every cell after the label is text or blank, and one is text."""
    if vals.shape[0] == 0 or vals.dtype != object:
        return False
    rest = vals[0, 1:]
    text = np.array([_is_text(v) for v in rest], dtype=bool)
    blank = np.array([c.is_blank_value(v) for v in rest], dtype=bool)
    return bool(text.any() and (text | blank).all())


def _read(triangle: Any, counts: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Labels, sizes and the month cells (shares or counts, NaN where not yet observed); the header's rows."""
    g = c.grid(triangle, _FN, _ARG)
    if g.size == 0:
        raise KPIUndefinedError(_FN, "has no cohorts", argument=_ARG)
    need = 2 if counts else 3
    if not g.is2d or g.ncols < need:
        layout = ("the cohort label, then the survivors in month 0, month 1, …" if counts else
                  "the cohort label, its size, then the shares still active in month 0, month 1, …")
        raise KPIInputError(_FN, f"needs one row per cohort with {layout}; got {g.ncols} column"
                                 f"{'' if g.ncols == 1 else 's'}", argument=_ARG)
    vals = g.values
    head = 1 if _header_row(vals) else 0
    body = vals[head:]
    if body.shape[0] == 0:
        raise KPIUndefinedError(_FN, "has no cohorts (only a header row)", argument=_ARG)
    try:
        flat = c.aligned_numbers(body[:, 1:], _FN, _ARG, min=0, integer=counts,
                                 domain="must be a whole number of customers, not negative" if counts else None)
    except KPIInputError as err:
        raise _relocate(err, head, 1) from None
    nums = flat.reshape(body.shape[0], body.shape[1] - 1)
    lab_cells = body[:, 0].copy()
    if lab_cells.dtype == object:  # numpy datetimes as Timestamps: a label may be a date in any form
        is_dt64 = np.array([isinstance(v, np.datetime64) for v in lab_cells], dtype=bool)
        lab_cells[is_dt64] = [pd.Timestamp(v) for v in lab_cells[is_dt64]]
    try:
        labels = c.labels(lab_cells, _FN, _ARG)
    except KPIInputError as err:
        raise _relocate(err, head, 0) from None
    blank_row = np.isnan(nums).all(axis=1) & np.array([v is None for v in labels], dtype=bool)
    keep = np.flatnonzero(~blank_row)
    if keep.size == 0:
        raise KPIUndefinedError(_FN, "has no cohorts (every row is blank)", argument=_ARG)
    rows = keep + head + 1  # 1-based rows of the block as passed
    nums, labels = nums[keep], labels[keep]
    if counts:
        size, months = nums[:, 0], nums
        first_col = 2
    else:
        size, months = nums[:, 0], nums[:, 1:]
        first_col = 3
        _check_size(size, rows)
    _check_shape(months, rows, first_col)
    if counts:
        return labels, size, months, head
    _check_shares(months, size, rows)
    with np.errstate(invalid="ignore"):
        return labels, size, np.round(months * size[:, None]), head


def _check_size(size: np.ndarray, rows: np.ndarray) -> None:
    """A cohort's size: given, a whole number (not negative is checked on reading)."""
    miss = np.isnan(size)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise KPIInputError(_FN, "is blank; each cohort needs its size (customers in month 0)", argument=_ARG,
                            location=Location(int(rows[i]), 2))
    frac = size != np.floor(size)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise KPIDomainError(_FN, "must be a whole number of customers (the cohort's size)", argument=_ARG,
                             location=Location(int(rows[i]), 2), value=float(size[i]), has_value=True)


def _check_shape(months: np.ndarray, rows: np.ndarray, first_col: int) -> None:
    """Month 0 given, and no blank between observed months (the cells after the last observed are blank)."""
    seen = ~np.isnan(months)
    if not seen[:, 0].all():
        i = int(np.flatnonzero(~seen[:, 0])[0])
        raise KPIInputError(_FN, "is blank; each cohort needs month 0", argument=_ARG,
                            location=Location(int(rows[i]), first_col))
    last = months.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1)
    gap = ~seen & (np.arange(months.shape[1])[None, :] < last[:, None])
    if gap.any():
        i, j = (int(v[0]) for v in np.nonzero(gap))
        raise KPIInputError(_FN, f"is blank between observed months (month {j}); every month up to a cohort's "
                                 "last observed one needs a value", argument=_ARG,
                            location=Location(int(rows[i]), first_col + j))


def _check_shares(shares: np.ndarray, size: np.ndarray, rows: np.ndarray) -> None:
    """Logo shares: month 0 is 100 %, none above 100 %, and each a whole number of customers of the size."""
    where = np.isfinite(shares)
    above = where & (shares > 1.0 + 1e-12)
    if above.any():
        i, j = (int(v[0]) for v in np.nonzero(above))
        raise KPIDomainError(_FN, "is above 100 %: a share of a cohort's customers still active cannot exceed 1. "
                                  "This looks like a revenue-basis triangle (KPI_COHORT_RETENTION with basis "
                                  '"revenue"), which is not survivor counts; pass the logo triangle',
                             argument=_ARG, location=Location(int(rows[i]), 3 + j), value=float(shares[i, j]),
                             has_value=True)
    not_one = np.flatnonzero(np.abs(shares[:, 0] - 1.0) > 1e-12)
    if not_one.size:
        i = int(not_one[0])
        raise KPIDomainError(_FN, "must be 1 (100 %): month 0 of a logo triangle is the whole cohort",
                             argument=_ARG, location=Location(int(rows[i]), 3), value=float(shares[i, 0]),
                             has_value=True)
    with np.errstate(invalid="ignore"):
        n = shares * size[:, None]
        off = where & (np.abs(n - np.round(n)) > _WHOLE_TOL * np.maximum(size[:, None], 1.0))
    if off.any():
        i, j = (int(v[0]) for v in np.nonzero(off))
        raise KPIDomainError(_FN, f"of a cohort of {int(size[i])} is {n[i, j]:.4g} customers, not a whole number: a "
                                  "logo triangle's shares are customers ÷ size (a revenue-basis triangle is not "
                                  'survivor counts; for counts use basis "counts")', argument=_ARG,
                             location=Location(int(rows[i]), 3 + j), value=float(shares[i, j]), has_value=True)


def _fit_one(n: np.ndarray) -> tuple[float, float, float, str]:
    """alpha, beta, log-likelihood of one cohort's survivors; NaN and a short reason when it cannot be fitted.

    The reasons are short (a spilled table's cell): the model's own messages say the same at more length.
    """
    nan = float("nan")
    T = n.size - 1
    if n[0] == 0:
        return nan, nan, nan, "no customers"
    if T < 2:
        return nan, nan, nan, f"{T} period{'' if T == 1 else 's'} observed after month 0; the fit needs 2"
    up = np.flatnonzero(np.diff(n) > 0)
    if up.size:
        j = int(up[0]) + 1
        return nan, nan, nan, (f"survivors rise from {int(n[j - 1])} to {int(n[j])} in month {j} (customers came "
                               "back)")
    lost = n[:-1] - n[1:]
    if lost.sum() == 0:
        return nan, nan, nan, "no customer churned: nothing to fit"
    if n[1] == 0:
        return nan, nan, nan, "every customer churned in month 1: nothing to fit"
    try:
        alpha, beta, ll, _ = _sbg(n, _FN)
    except KPIModelError as err:
        if "does not fall over time" not in err.reason:
            return nan, nan, nan, err.reason
        rate = lost.sum() / n[:-1].sum()  # the geometric limit the sBG family tends to: one churn rate
        return nan, nan, nan, f"churn does not fall over time: one rate of {rate:.1%} a period fits as well"
    return alpha, beta, ll, ""


@kpi(
    category="Churn and retention",
    summary="Shifted-beta-geometric (sBG) fit to every cohort of a retention triangle: alpha, beta and the "
            "projected retention per cohort.",
    formula="per cohort: max over α, β of Σₜ (nₜ₋₁ − nₜ) ln P(T = t) + n_τ ln S(τ); "
            "projected S(t) = B(α, β + t) / B(α, β)",
    shape="table",
    unit="table",
    args={
        "triangle": "One row per cohort: label, size, then shares in month 0, 1, … (KPI_COHORT_RETENTION's "
                    "logo triangle; header row optional), or with basis \"counts\" label, then survivors",
        "periods": "Months of projected retention to show, month 0 … periods − 1 (default: as many as the "
                   "triangle has)",
        "basis": '"shares" (default: label, size, shares as KPI_COHORT_RETENTION gives) or "counts" '
                 "(label, then survivor counts, the first the cohort size)",
    },
    kinds={"triangle": "table", "periods": "number"},
    example=([["cohort", "size", "month 0", "month 1", "month 2", "month 3", "month 4"],
              ["regular", 1000, 1.0, 0.631, 0.468, 0.382, 0.326],
              ["high end", 1000, 1.0, 0.869, 0.743, 0.653, None]], 8),
)
def sbg_cohorts(triangle: Any, periods: Any = None, basis: Any = "shares") -> pd.DataFrame:
    """Fit the shifted-beta-geometric model to each cohort and project its retention.

    Parameters
    ----------
    triangle : 2-D range or DataFrame
        One row per cohort, oldest or newest first (the result keeps the
        order). The first column is always the cohort's label (a date,
        text or a number, returned as it is). With ``basis="shares"`` (the
        default) the layout of :func:`cohort_retention`'s logo triangle:
        the label, the cohort's size, then the share of its customers still
        active in month 0 (always 1), month 1, … With ``basis="counts"``:
        the label, then the customers still active in month 0 (the cohort
        size), month 1, … A first row with text (or blanks) after the label
        column is a header and is skipped. The cells after a cohort's last
        observed month are blank; blank rows are skipped.
    periods : int, optional
        How many months of projected retention to show (``month 0`` …
        ``month periods − 1``), a whole number from 1 to 16,377. Default:
        as many month columns as the triangle has.
    basis : {"shares", "counts"}, optional
        How the month cells are read (see ``triangle``).

    Returns
    -------
    pandas.DataFrame
        One row per cohort, with the columns ``cohort`` (the label),
        ``size`` (customers in month 0), ``alpha``, ``beta``,
        ``log-likelihood`` (the sBG fit to the cohort's survivors, as
        :func:`sbg_fit` gives it), ``periods`` (observed months after month
        0 that the fit used), ``month 0`` … (the projected share still
        active, ``S(t)``: the fit over the observed months and the forecast
        after them) and ``note``. A cohort that cannot be fitted — fewer
        than 2 observed months after month 0, a size of 0, survivors that
        rise (customers who came back), no churn at all, everyone churned
        in month 1, or churn that does not fall over time (one constant
        churn rate fits as well: the model is not identified, alpha and
        beta grow without bound) — has blank fit and projection cells and
        says why in ``note`` (blank for the others).

    Raises
    ------
    KPIInputError
        A single column or row, text or a boolean among the sizes or month
        cells, a blank size or month 0, a blank between observed months; an
        unknown ``basis``; ``periods`` not a number.
    KPIDomainError
        A negative cell; with ``basis="shares"``: a share above 1 (a
        revenue-basis triangle is not survivor counts and is refused), a
        month 0 other than 1, a fractional size, or a share that is not a
        whole number of the cohort's customers; with ``basis="counts"``: a
        fractional count; ``periods`` not a whole number from 1 to 16,377.
    KPIUndefinedError
        No cohorts (an empty block, only a header, only blank rows).

    Notes
    -----
    A share times the cohort size gives the survivors ``n₀ … n_τ`` (to
    the nearest customer: :func:`cohort_retention`'s shares are exactly
    customers ÷ size). Each cohort is fitted alone, as :func:`sbg_fit`
    fits one: the churn probability θ of a customer is Beta(α, β)
    distributed, ``P(T = t) = B(α + 1, β + t − 1) / B(α, β)``,
    ``S(t) = B(α, β + t) / B(α, β)``, and
    ``LL = Σ_{t=1}^{τ} (nₜ₋₁ − nₜ) ln P(T = t) + n_τ ln S(τ)`` is
    maximised over α and β. The projected retention is ``S(t)`` for
    ``t = 0 … periods − 1``, by the recursion
    ``S(t) = S(t − 1) (β + t − 1) / (α + β + t − 1)``.

    Two periods after month 0 are the fewest that identify two parameters
    (with one, any α / (α + β) equal to the first churn rate fits
    exactly), so a younger cohort is not fitted.

    References
    ----------
    {fader_hardie_1}

    Examples
    --------
    The first four years of the source's regular and high-end customers
    as two cohorts a month apart, and a third cohort too young to fit:

    >>> t = [["cohort", "size", "month 0", "month 1", "month 2", "month 3", "month 4"],
    ...      ["2026-01", 1000, 1.0, 0.631, 0.468, 0.382, 0.326],
    ...      ["2026-02", 1000, 1.0, 0.869, 0.743, 0.653, None],
    ...      ["2026-03", 500, 1.0, 0.9, None, None, None]]
    >>> fit = sbg_cohorts(t, 8)
    >>> print(fit.iloc[:, :6].round(3).to_string(index=False))
     cohort  size  alpha   beta  log-likelihood  periods
    2026-01  1000  0.764  1.296       -1401.559        4
    2026-02  1000  4.644 29.432       -1023.179        3
    2026-03   500    NaN    NaN             NaN        1
    >>> print(fit.loc[:, "month 0":"month 7"].round(3).to_string(index=False))
     month 0  month 1  month 2  month 3  month 4  month 5  month 6  month 7
         1.0    0.629    0.472    0.383    0.325    0.284    0.254    0.230
         1.0    0.864    0.749    0.653    0.571    0.501    0.442    0.391
         NaN      NaN      NaN      NaN      NaN      NaN      NaN      NaN
    >>> fit.loc[2, "note"]
    '1 period observed after month 0; the fit needs 2'
    """
    basis_ = c.option_text(basis, _FN, "basis", "shares", ("shares", "counts"))
    k = c.option_number(periods, _FN, "periods", None, min=1, max=_MAX_PERIODS, integer=True,
                        domain=f"must be a whole number of months from 1 to {_MAX_PERIODS:,} (a worksheet's columns "
                               "less the result's other seven)")
    labels, size, surv, _ = _read(triangle, basis_ == "counts")
    width = int(k) if k is not None else surv.shape[1]
    seen = (~np.isnan(surv)).sum(axis=1)
    fits = np.full((surv.shape[0], 3), np.nan)
    proj = np.full((surv.shape[0], width), np.nan)
    notes: list[str] = []
    for i in range(surv.shape[0]):  # one small optimisation per cohort (tens of them)
        n = surv[i, : seen[i]]
        alpha, beta, ll, note = _fit_one(n)
        fits[i] = alpha, beta, ll
        notes.append(note)
        if not note:
            proj[i] = np.exp(_sbg_terms(alpha, beta, width - 1)[1])
    cohort = pd.Series(list(labels), dtype=object).infer_objects()
    if len(cohort) and all(isinstance(v, pd.Timestamp) for v in cohort):
        cohort = pd.to_datetime(cohort)
    out = pd.DataFrame({"cohort": cohort, "size": size.astype(np.int64), "alpha": fits[:, 0], "beta": fits[:, 1],
                        "log-likelihood": fits[:, 2], "periods": (seen - 1).astype(np.int64)})
    months = pd.DataFrame(proj, columns=[f"month {t}" for t in range(width)])
    return pd.concat([out, months, pd.DataFrame({"note": notes})], axis=1)
