"""Report periods: a month, a quarter or a (fiscal) year, and how ``--period`` names them.

A :class:`Period` is a run of 1, 3 or 12 whole months ending in its *last month*, the report
month of the workbook. Months are integers ``year * 12 + month - 1`` (exact in every year a
spreadsheet holds).

Fiscal years (``--fiscal-year-start N``, N = 1…12, default 1 = January): a fiscal year is
named by the calendar year it **ends** in — with N = 4, FY2026 runs from April 2025 to
March 2026 — and its quarters are counted from its first month (Q1 FY2026 = Apr–Jun 2025).
With N = 1 fiscal years are calendar years and the ``FY`` prefix is not used.

Names (``--period`` values and file names):

- a month: ``2026-03``;
- a quarter: ``2026-Q2`` (of the fiscal year 2026 when the fiscal year does not start in
  January; file names then say ``FY2026-Q2``); ``FY2026-Q2`` is accepted too;
- a year: ``2025`` (the fiscal year 2025 when the fiscal year does not start in January;
  file names then say ``FY2025``); ``FY2025`` is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GRAIN_MONTHS", "Period", "fiscal_quarter_of", "fiscal_year_of", "month_name", "parse_period"]

GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_ADJECTIVE = {"month": "monthly", "quarter": "quarterly", "year": "annual"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER_RE = re.compile(r"^(FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR_RE = re.compile(r"^(FY)?(\d{4})$", re.IGNORECASE)


def month_name(n: int, short: bool = False) -> str:
    """``2026 * 12 + 2`` -> ``March 2026`` (``Mar 2026`` when short)."""
    name = _MONTHS[n % 12]
    return f"{name[:3] if short else name} {n // 12}"


def fiscal_year_of(n: int, fiscal_year_start: int) -> int:
    """The fiscal year (named by the calendar year it ends in) that month ``n`` belongs to."""
    y, m = divmod(n, 12)
    return y if fiscal_year_start == 1 or m + 1 < fiscal_year_start else y + 1


def fiscal_quarter_of(n: int, fiscal_year_start: int) -> int:
    """The quarter (1–4) of its fiscal year that month ``n`` is in."""
    return (n % 12 - (fiscal_year_start - 1)) % 12 // 3 + 1


def _year_last_month(year: int, fiscal_year_start: int) -> int:
    """The last month of fiscal year ``year`` (ending in the calendar year ``year``)."""
    return year * 12 + 11 if fiscal_year_start == 1 else year * 12 + fiscal_year_start - 2


@dataclass(frozen=True)
class Period:
    """``months`` whole months ending in the month ``last`` (year * 12 + month - 1)."""

    grain: str  #: month | quarter | year
    last: int
    fiscal_year_start: int = 1

    @property
    def months(self) -> int:
        return GRAIN_MONTHS[self.grain]

    @property
    def first(self) -> int:
        return self.last - self.months + 1

    @property
    def fiscal(self) -> bool:
        return self.fiscal_year_start != 1

    @property
    def name(self) -> str:
        """The ``--period`` value and file-name part: ``2026-03``, ``2026-Q2``, ``2025``, ``FY2026``, ``FY2026-Q1``."""
        if self.grain == "month":
            return f"{self.last // 12:04d}-{self.last % 12 + 1:02d}"
        fy = fiscal_year_of(self.last, self.fiscal_year_start)
        prefix = "FY" if self.fiscal else ""
        if self.grain == "quarter":
            return f"{prefix}{fy:04d}-Q{fiscal_quarter_of(self.last, self.fiscal_year_start)}"
        return f"{prefix}{fy:04d}"

    @property
    def title(self) -> str:
        """How the workbook names it: ``March 2026``, ``Q2 2026``, ``Q1 FY2027``, ``2025``, ``FY2026``."""
        if self.grain == "month":
            return month_name(self.last)
        fy = fiscal_year_of(self.last, self.fiscal_year_start)
        year = f"FY{fy}" if self.fiscal else f"{fy}"
        if self.grain == "quarter":
            return f"Q{fiscal_quarter_of(self.last, self.fiscal_year_start)} {year}"
        return year

    @property
    def span(self) -> str:
        """``Apr 2026 – Jun 2026`` (a month: ``March 2026``)."""
        if self.grain == "month":
            return month_name(self.last)
        return f"{month_name(self.first, True)} – {month_name(self.last, True)}"

    @property
    def adjective(self) -> str:
        """monthly | quarterly | annual."""
        return _ADJECTIVE[self.grain]

    def shifted(self, k: int) -> Period:
        """The period ``k`` periods later (earlier when negative)."""
        return Period(self.grain, self.last + k * self.months, self.fiscal_year_start)


def parse_period(text: str, fiscal_year_start: int = 1) -> Period | None:
    """A month, quarter or year name (see the module) as a :class:`Period`; None when it is none of them."""
    t = text.strip()
    m = _MONTH_RE.match(t)
    if m:
        return Period("month", int(m.group(1)) * 12 + int(m.group(2)) - 1, fiscal_year_start)
    m = _QUARTER_RE.match(t)
    if m:
        year, q = int(m.group(2)), int(m.group(3))
        first_of_year = _year_last_month(year, fiscal_year_start) - 11
        return Period("quarter", first_of_year + 3 * q - 1, fiscal_year_start)
    m = _YEAR_RE.match(t)
    if m:
        return Period("year", _year_last_month(int(m.group(2)), fiscal_year_start), fiscal_year_start)
    return None


def latest_complete(grain: str, last_data_month: int, fiscal_year_start: int = 1) -> Period:
    """The latest quarter or year whose last month is not after ``last_data_month``."""
    n = GRAIN_MONTHS[grain]
    shift = fiscal_year_start - 1
    # the period holding the month, then back one when the data ends before its last month
    index = (last_data_month - shift) // n
    last = index * n + shift + n - 1
    if last > last_data_month:
        last -= n
    return Period(grain, last, fiscal_year_start)
