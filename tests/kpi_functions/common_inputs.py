"""Valid inputs for every registered KPI, synthesised from each argument's kind.

The common tests (``test_common.py``) never look at a registry example's
shape: every argument gets a value built from its registry kind (``range``,
``ids``, ``dates``, ``table``, ``number``/``text``/``bool`` options) and, where
the kind alone does not say which values are valid, from a *domain* named in
:data:`ARG_DOMAIN` (NPS scores are whole numbers 0–10, a churn rate lies in
[0, 1], survivor counts do not increase …). Tables get the columns their help
text documents (:data:`TABLE_COLUMNS`), options the values their help text
quotes (text), or the alternatives in :data:`OPTION_VALUES` (numbers).

Each argument value is an :class:`ArgIn`: the value as Excel would hand it
over in Python (a flat list for a 1-D range, a list of rows for a 2-D one, a
header row first on tables), what its cells are (``number``, ``flag``,
``id``, ``date``; one per column for a table), and how its rows relate to the
other arguments (``layout``): ``rows`` — one cell (or row) per customer,
order, activity or item, aligned across the arguments that have it and free
to be permuted together; ``series`` — ordered in time; ``cols`` — one cell per
column of another argument; ``single`` — one value.

Money amounts are multiples of 0.25 below 10,000, so sums, splits and
power-of-two scalings of them are exact in floating point.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

import kpi_functions as k
from kpi_functions import KPISpec

#: rows of every per-row (aligned) argument
N = 8
#: the bad value is put here in each argument (0-based: item 2, row 2 …)
BAD_INDEX = 1


@dataclass(frozen=True)
class ArgIn:
    """One argument value, and what the tests need to know about it."""

    value: Any
    #: the kind of every cell: "number", "flag", "id", "date"; a tuple (one per column) for a table;
    #: "option-number", "option-text", "option-bool", "option-date" for single-value options
    cell: str | tuple[str, ...]
    #: "rows", "series", "cols" or "single" (see the module docstring)
    layout: str
    #: the domain it was made from (a key of DOMAINS)
    domain: str
    #: a table whose first row is a text header
    header: bool = False

    @property
    def is_table(self) -> bool:
        return isinstance(self.cell, tuple)

    @property
    def is_range(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is2d(self) -> bool:
        return self.is_range and bool(self.value) and isinstance(self.value[0], list)

    @property
    def money_columns(self) -> tuple[int, ...] | None:
        """Which columns hold money: None for none, () for every cell, else the table columns."""
        if self.domain in TABLE_MONEY_COLUMNS:
            return TABLE_MONEY_COLUMNS[self.domain]
        return () if self.domain in MONEY_DOMAINS else None


@dataclass(frozen=True)
class Case:
    """One valid call of one KPI: ``spec.func(*[a.value for a in args])``."""

    spec: KPISpec
    variant: str
    args: tuple[ArgIn, ...]

    @property
    def id(self) -> str:
        return f"{self.spec.excel_name}[{self.variant}]"

    def values(self) -> list[Any]:
        return [_copy(a.value) for a in self.args]  # a copy: no test can change another

    def call(self, values: list[Any] | None = None) -> Any:
        return self.spec.func(*(self.values() if values is None else values))

    def with_arg(self, i: int, a: ArgIn) -> Case:
        args = list(self.args)
        args[i] = a
        return replace(self, args=tuple(args))


# --------------------------------------------------------------------------
# Domains: how the cells of one argument are made
# --------------------------------------------------------------------------
Rng = np.random.Generator


def _money(rng: Rng, n: int, *, blank: bool = True, zeros: bool = True) -> list[Any]:
    v: list[Any] = [float(x) for x in rng.integers(1 if not zeros else 0, 40_000, n) * 0.25]
    v[0] = v[0] or 12.5  # the sum is never 0
    if blank and n > 3:
        v[3] = None  # a blank is ignored
    return v


def _count(lo: int, hi: int) -> Callable[[Rng, int], list[Any]]:
    def make(rng: Rng, n: int) -> list[Any]:
        v: list[Any] = [int(x) for x in rng.integers(lo, hi, n)]
        if n > 3:
            v[3] = None  # a blank is ignored
        return v
    return make


def _signed_money(rng: Rng, n: int) -> list[Any]:
    v = _money(rng, n)
    v[1] = -v[1] if v[1] else -3.75  # gain may be negative
    return v


def _series_money(rng: Rng, n: int) -> list[Any]:
    v: list[Any] = [float(x) for x in rng.integers(400, 4_000, n) * 0.25]
    v[2] = None  # a month without a value keeps its place
    return v


def _per_customer_mrr(rng: Rng, n: int) -> tuple[list[Any], list[Any]]:
    """Start and end MRR: churned, expanded, new, contracted, steady and absent customers."""
    start = _money(rng, n, blank=False, zeros=False)
    end: list[Any] = [float(x) for x in rng.integers(1, 40_000, n) * 0.25]
    end[0] = 0.0  # churned
    end[1] = start[1] + 50.0  # expanded
    start[2] = 0.0  # new
    end[3] = start[3] / 2  # contracted
    end[4] = start[4]  # steady
    start[5], end[5] = None, None  # blank = 0: not a customer
    order = rng.permutation(n)
    return [start[i] for i in order], [end[i] for i in order]


def _survivors(rng: Rng, n: int) -> list[Any]:
    """Expected sBG survivors (alpha 1.2, beta 3) of a cohort of 1000, rounded."""
    s, out = 1000.0, [1000]
    alpha, beta = 1.2 + rng.uniform(0, 0.2), 3.0
    for t in range(1, 7):
        s *= (beta + t - 1) / (alpha + beta + t - 1)
        out.append(round(s))
    return out + [None]  # blanks after the last count: the range reaches past the data


def _sbg_block(rng: Rng, n: int, shares: bool) -> list[Any]:
    """A cohort triangle: five cohorts of sBG survivors (alpha near 1.2, beta 3), each one month younger, the
    youngest with a single month after month 0 (too few to fit: a row with a note), and a blank row after them.

    As KPI_COHORT_RETENTION spills it (label, size, shares) or as survivor counts (label, counts)."""
    months = 6
    rows: list[Any] = [["cohort", "size"] * shares + [f"month {t}" for t in range(months)]]
    if not shares:
        rows[0] = ["cohort"] + rows[0]
    for c in range(5):
        size = int(rng.integers(200, 1000))
        alpha, beta, s = 1.2 + rng.uniform(0, 0.2), 3.0, float(size)
        counts: list[Any] = [size]
        for t in range(1, months):
            s *= (beta + t - 1) / (alpha + beta + t - 1)
            counts.append(round(s))
        seen = months - c if c < 4 else 2
        counts = counts[:seen] + [None] * (months - seen)
        if shares:
            rows.append([f"c{c + 1}", size] + [None if x is None else x / size for x in counts])
        else:
            rows.append([f"c{c + 1}"] + counts)
    rows.append([None] * len(rows[0]))  # the range reaches past the cohorts
    return rows


def _scores(lo: int, hi: int) -> Callable[[Rng, int], list[Any]]:
    def make(rng: Rng, n: int) -> list[Any]:
        v: list[Any] = [int(x) for x in rng.integers(lo, hi + 1, n + 4)]
        v[-1] = None  # blanks are ignored
        return v
    return make


def _actions(rng: Rng, n: int) -> list[Any]:
    rows: list[Any] = [[int(x) for x in rng.integers(0, 6, 3)] for _ in range(n)]
    rows[2][1] = None  # blank = 0
    return rows


def _ids(prefix: str, pool: int) -> Callable[[Rng, int], list[Any]]:
    def make(rng: Rng, n: int) -> list[Any]:
        v = [f"{prefix}{x}" for x in rng.integers(1, pool + 1, n)]
        v[0] = v[1] = f"{prefix}1"  # a repeat
        return v
    return make


def _order_customers(rng: Rng, n: int) -> dict[str, list[Any]]:
    v: list[Any] = _ids("c", 4)(rng, n)
    days = rng.integers(1, 29, n)
    dates: list[Any] = [f"2026-02-{d:02d}" for d in days]
    dates[-1] = "2026-04-20"  # a late order, so most customers are observed for a whole window
    v[3] = dates[3] = None  # a blank row is skipped
    return {"customer_ids": v, "order_dates": dates}


def _transactions(rng: Rng, n: int) -> dict[str, list[Any]]:
    """A purchase log: customers, dates (two on one day for one customer), amounts; a blank row."""
    v: list[Any] = _ids("c", 4)(rng, n)
    dates: list[Any] = [f"2026-02-{d:02d}" for d in rng.integers(1, 29, n)]
    dates[0] = dates[1] = "2026-02-03"  # c1 twice on one day: one purchase day
    dates[-1] = "2026-04-20"  # a late purchase: the default end of the observation
    amounts: list[Any] = [float(x) for x in rng.integers(1, 4_000, n) * 0.25]
    v[3] = dates[3] = amounts[3] = None  # a blank row is skipped
    return {"customer_ids": v, "dates": dates, "values": amounts}


def _rfm(rng: Rng, n: int) -> dict[str, list[Any]]:
    """A BG/NBD summary (frequency, recency, T) and average repeat spend, simulated from the model."""
    n = 40
    lam = rng.gamma(0.8, 1 / 4.0, n)  # purchase rates per week (r 0.8, alpha 4)
    p = rng.beta(0.8, 2.5, n)  # drop-out probability after each purchase
    T = rng.integers(100, 160, n) * 0.25
    x, tx = np.zeros(n, dtype=int), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = np.floor(t * 4) / 4
            if rng.uniform() < p[i]:
                break
    nu = rng.gamma(4.0, 1 / 15.0, n)  # Gamma-Gamma spend: p 6, q 4, gamma 15
    spend = rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1)))
    m = np.where(x > 0, np.maximum(np.round(spend * 4) / 4, 0.25), 0.0)
    out: dict[str, list[Any]] = {"frequency": [int(v) for v in x], "recency": [float(v) for v in tx],
                                 "T": [float(v) for v in T], "monetary": [float(v) for v in m]}
    for v in out.values():
        v[5] = None  # a blank row is not a customer
    return out


def _activity(rng: Rng, n: int) -> dict[str, list[Any]]:
    days = rng.integers(1, 29, n)
    dates: list[Any] = [f"2026-02-{d:02d}" for d in days]
    dates[-1] = "2026-01-20"  # an earlier month
    users: list[Any] = _ids("u", 3)(rng, n)
    users[4] = dates[4] = None  # a blank row
    return {"user_ids": users, "dates": dates}


def _durations(rng: Rng, n: int) -> dict[str, list[Any]]:
    n = 6
    start = pd.Timestamp("2026-03-02 08:00") + pd.to_timedelta(rng.integers(0, 7 * 96, n) * 15, unit="min")
    end = start + pd.to_timedelta(rng.integers(1, 4 * 96, n) * 15, unit="min")
    starts = [t.isoformat(timespec="minutes") for t in start]
    ends: list[Any] = [t.isoformat(timespec="minutes") for t in end]
    ends[-1] = None  # still open
    return {"starts": starts, "ends": ends}


def _survival(rng: Rng, n: int) -> dict[str, list[Any]]:
    d: list[Any] = [int(x) for x in rng.integers(0, 6, n)]
    d[1] = d[0]  # a tie
    f: list[Any] = [int(x) for x in rng.integers(0, 2, n)]
    f[0], f[1] = 1, 0
    d[4] = f[4] = None  # a blank row
    return {"durations": d, "churned": f}


def _survival_median(rng: Rng, n: int) -> dict[str, list[Any]]:
    """Lifetimes where all but one customer churned (a tie, censored): survival falls to 0.5."""
    v = _survival(rng, n)
    v["churned"] = [None if x is None else 1 for x in v["churned"]]
    v["churned"][1] = 0
    return v


def _pair(rng: Rng, n: int) -> dict[str, list[Any]]:
    s, e = _per_customer_mrr(rng, n)
    return {"start": s, "end": e}


def _cross(rng: Rng, n: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"customer_ids": _ids("c", 3)(rng, n), "product_ids": _ids("p", 3)(rng, n)}
    out["customer_ids"][3] = out["product_ids"][3] = None  # a blank row
    return out


def _mrr_table(rng: Rng, n: int) -> list[Any]:
    rows: list[Any] = [["customer", "month", "MRR"]]
    for m in range(1, 6):
        for c in range(1, 5):
            if rng.uniform() < 0.8:
                v = float(rng.integers(0, 2_000) * 0.25) if rng.uniform() < 0.85 else None
                rows.append([f"c{c}", f"2026-{m:02d}", v])
    rows.insert(3, list(rows[2]))  # a duplicate row is summed
    rows[1][2] = rows[1][2] or 25.0
    return rows


def _subscription_table(rng: Rng, n: int) -> list[Any]:
    rows: list[Any] = [["customer", "start", "end", "amount", "billing months"]]
    for c in range(1, 6):
        start = 1 + int(rng.integers(0, 4))
        end = None if c % 2 else f"2026-{start + 2 + int(rng.integers(0, 3)):02d}-15"
        rows.append([f"c{c}", f"2026-{start:02d}-{1 + int(rng.integers(0, 27)):02d}", end,
                     float(rng.integers(40, 4_000) * 0.25), int(rng.choice([1, 3, 12]))])
    return rows


def _term_subscriptions(rng: Rng, n: int) -> list[Any]:
    """Annual and quarterly plans whose terms end in the first half of 2027; one ended at its term's end, one
    followed by a new plan."""
    rows: list[Any] = [["customer", "start", "end", "amount", "billing months"]]
    for c in range(1, 6):
        day = 1 + int(rng.integers(0, 27))
        end = f"2027-0{c}-{day:02d}" if c in (2, 4) else None
        rows.append([f"c{c}", f"2026-0{c}-{day:02d}", end, float(rng.integers(40, 4_000) * 0.25), 12 if c < 5 else 3])
    rows.append(["c4", f"2027-04-{min(28, int(rows[4][1][-2:]) + 2):02d}", None, 300.0, 12])
    return rows


@dataclass(frozen=True)
class Domain:
    make: Callable[[Rng, int], Any]
    cell: str | tuple[str, ...]
    layout: str
    header: bool = False


#: The domains of argument values. Joint domains (a dict-valued ``make``) make
#: several aligned arguments at once; the argument takes its own key.
DOMAINS: dict[str, Domain] = {
    "money": Domain(_money, "number", "rows"),
    "signed money": Domain(_signed_money, "number", "rows"),
    "monthly money": Domain(_series_money, "number", "series"),
    "per-customer mrr": Domain(_pair, "number", "rows"),
    "count": Domain(_count(3, 60), "number", "rows"),
    "small count": Domain(_count(0, 4), "number", "rows"),
    "large count": Domain(_count(200, 400), "number", "rows"),
    "periods": Domain(_count(1, 5), "number", "rows"),
    "rate": Domain(lambda rng, n: 0.05, "number", "single"),
    "nps scores": Domain(_scores(0, 10), "number", "rows"),
    "csat scores": Domain(_scores(1, 5), "number", "rows"),
    "actions": Domain(_actions, "number", "rows"),
    "weights": Domain(lambda rng, n: [0.5, 0.25, 0.25], "number", "cols"),
    "survivors": Domain(_survivors, "number", "series"),
    "sbg triangle": Domain(lambda rng, n: _sbg_block(rng, n, True), ("id",) + ("number",) * 7, "rows", header=True),
    "sbg counts": Domain(lambda rng, n: _sbg_block(rng, n, False), ("id",) + ("number",) * 6, "rows", header=True),
    "lifetimes": Domain(_survival, "number", "rows"),
    "churn flags": Domain(_survival, "flag", "rows"),
    "median lifetimes": Domain(_survival_median, "number", "rows"),
    "median churn flags": Domain(_survival_median, "flag", "rows"),
    "rfm": Domain(_rfm, "number", "rows"),
    "rfm money": Domain(_rfm, "number", "rows"),
    "transaction customers": Domain(_transactions, "id", "rows"),
    "transaction dates": Domain(_transactions, "date", "rows"),
    "transaction values": Domain(_transactions, "number", "rows"),
    # BG/NBD r, alpha, a, b (KPI_BGNBD_FIT's values): one value per parameter, in that order
    "bgnbd params": Domain(lambda rng, n: [0.8, 4.0, 0.8, 2.5], "number", "series"),
    # Gamma-Gamma p, q, gamma (KPI_GAMMA_GAMMA_FIT's values)
    "gamma-gamma params": Domain(lambda rng, n: [6.0, 4.0, 15.0], "number", "series"),
    "customers": Domain(_cross, "id", "rows"),
    "order customers": Domain(_order_customers, "id", "rows"),
    "order dates": Domain(_order_customers, "date", "rows"),
    "activity users": Domain(_activity, "id", "rows"),
    "activity dates": Domain(_activity, "date", "rows"),
    "item times": Domain(_durations, "date", "rows"),
    "holidays": Domain(lambda rng, n: ["2026-03-04", "2026-03-05"], "date", "series"),
    "mrr table": Domain(_mrr_table, ("id", "date", "number"), "rows", header=True),
    "term subscription table": Domain(_term_subscriptions, ("id", "date", "date", "number", "number"), "rows",
                                      header=True),
    "subscription table": Domain(_subscription_table, ("id", "date", "date", "number", "number"), "rows",
                                 header=True),
}

#: Domains whose values are money: scaling them scales money results and leaves fractions and ratios alone.
MONEY_DOMAINS = frozenset({"money", "signed money", "monthly money", "per-customer mrr", "rfm money",
                           "transaction values"})

#: The money columns (0-based) of the table domains; for a list of model parameters, its money items.
TABLE_MONEY_COLUMNS: dict[str, tuple[int, ...]] = {"mrr table": (2,), "subscription table": (3,),
                                                   "term subscription table": (3,), "gamma-gamma params": (2,)}

#: The domain of every range, ids, dates and table argument: ``"KPI_X.arg"`` first, then the argument name.
ARG_DOMAIN: dict[str, str] = {
    "KPI_MRR.mrr_or_arpu": "money",
    "KPI_MRR.accounts": "count",
    "KPI_ARR.mrr": "money",
    "KPI_ARPU.revenue": "signed money",
    "KPI_ARPU.users": "count",
    "KPI_GROWTH_RATE.start": "money",
    "KPI_GROWTH_RATE.end": "money",
    "KPI_CMGR.values": "monthly money",
    "KPI_MARGIN.revenue": "signed money",
    "KPI_MARGIN.cost": "money",
    "start": "per-customer mrr",
    "end": "per-customer mrr",
    "lost": "small count",
    "at_start": "large count",
    "at_end": "large count",
    "new": "small count",
    "expansion_start": "money",
    "expansion_end": "money",
    "customer_ids": "customers",
    "product_ids": "customers",
    "KPI_REPEAT_PURCHASE_RATE.customer_ids": "order customers",
    "order_dates": "order dates",
    "table": "mrr table",
    "subscriptions": "subscription table",
    "KPI_RENEWAL_RATE.subscriptions": "term subscription table",
    "durations": "lifetimes",
    "churned": "churn flags",
    "KPI_MEDIAN_LIFETIME.durations": "median lifetimes",
    "KPI_MEDIAN_LIFETIME.churned": "median churn flags",
    "survivors": "survivors",
    "KPI_SBG_COHORTS.triangle": "sbg triangle",
    "sales_marketing_cost": "money",
    "new_customers": "count",
    "acquisition_cost": "money",
    "sales_value": "money",
    "arpa": "money",
    "churn_rate": "rate",
    "customer_value": "money",
    "lifespan": "periods",
    "ltv": "money",
    "cac": "money",
    "frequency": "rfm",
    "recency": "rfm",
    "T": "rfm",
    "monetary": "rfm money",
    "params": "bgnbd params",
    "KPI_EXPECTED_SPEND.params": "gamma-gamma params",
    "spend_params": "gamma-gamma params",
    "KPI_RFM_SUMMARY.customer_ids": "transaction customers",
    "KPI_RFM_SUMMARY.dates": "transaction dates",
    "KPI_RFM_SUMMARY.values": "transaction values",
    "conversions": "count",
    "visitors": "large count",
    "cost": "money",
    "gain": "signed money",
    "ad_revenue": "money",
    "ad_spend": "money",
    "KPI_CONVERSION_VALUE.revenue": "money",
    "conversion_value": "money",
    "cpa": "money",
    "recurring": "money",
    "one_off": "money",
    "reactivated": "small count",
    "KPI_NET_NEW_CUSTOMERS.churned": "small count",
    "scores": "nps scores",
    "KPI_CSAT.scores": "csat scores",
    "values": "actions",
    "weights": "weights",
    "user_ids": "activity users",
    "dates": "activity dates",
    "starts": "item times",
    "ends": "item times",
    "holidays": "holidays",
    "successes": "small count",
    "trials": "large count",
    "successes_a": "small count",
    "trials_a": "large count",
    "successes_b": "small count",
    "trials_b": "large count",
}

#: The alternatives tried for number options (text options: the values quoted in their help).
OPTION_VALUES: dict[str, tuple[Any, ...]] = {
    "max_months": (2,),
    "periods": (9,),
    "gross_margin": (0.75,),
    "confidence": (0.9,),
    "satisfied_min": (3,),
    "scale_max": (7,),
    "horizon": (6,),
    "discount_rate": (0.01,),
    "fiscal_year_start": (4,),
    # single dates (kind "dates", but one value)
    "through": ("2026-09",),
    "month": ("2026-01",),
    "window_days": (14,),
    "period_start": ("2027-01-01",),
    "period_end": ("2027-07-01",),
    "min_term_months": (3,),
    "grace_days": (10,),
    "as_of": ("2026-03-31",),
    "observation_end": ("2026-04-30",),
    "calibration_end": ("2026-02-15",),
}
#: an option value that changes how another argument is read: (KPI, option, value) -> (argument, its domain then)
OPTION_DOMAIN: dict[tuple[str, str, Any], tuple[str, str]] = {
    ("KPI_SBG_COHORTS", "basis", "counts"): ("triangle", "sbg counts"),
}
#: an option that only means something together with another one
OPTION_NEEDS: dict[str, str] = {"holidays": "business_hours", "fiscal_year_start": "period",
                                "window_days": "order_dates", "as_of": "order_dates"}


def domain_key(spec: KPISpec, arg: str) -> str | None:
    for key in (f"{spec.excel_name}.{arg}", arg):
        if key in ARG_DOMAIN:
            return key
    return None


def is_option(spec: KPISpec, name: str) -> bool:
    """Options: number/text/bool arguments, and the single-date options."""
    a = next(a for a in spec.args if a.name == name)
    return a.kind in ("number", "text", "bool") or name in OPTION_VALUES


def option_values(spec: KPISpec, name: str) -> tuple[Any, ...]:
    """The non-default values of an option: its help's quoted values (text), else OPTION_VALUES."""
    a = next(a for a in spec.args if a.name == name)
    if a.kind == "text":
        quoted = tuple(dict.fromkeys(re.findall(r'"([^"]+)"', a.help)))
        return tuple(v for v in quoted if v != a.default)
    if a.kind == "bool":
        return (not a.default,)
    if a.kind == "dates" and name not in OPTION_VALUES:  # a range of dates as an option (holidays)
        return ("range",)
    return OPTION_VALUES[name]


def _option_cell(spec: KPISpec, name: str) -> str:
    a = next(a for a in spec.args if a.name == name)
    return "option-date" if a.kind == "dates" else f"option-{a.kind}"


def _seed(spec: KPISpec) -> int:
    return zlib.crc32(spec.excel_name.encode())


def _range_arg(spec: KPISpec, name: str, joint: dict[Any, Any]) -> ArgIn:
    key = domain_key(spec, name)
    if key is None:
        raise KeyError(f"{spec.excel_name}.{name}: no domain in ARG_DOMAIN")
    dname = ARG_DOMAIN[key]
    d = DOMAINS[dname]
    if d.make not in joint:  # one joint draw for the aligned arguments of a joint domain
        joint[d.make] = d.make(np.random.default_rng([_seed(spec), len(joint)]), N)
    made = joint[d.make]
    value = made[name] if isinstance(made, dict) else made
    if not isinstance(made, dict):
        del joint[d.make]  # every other argument gets its own draw
    return ArgIn(_copy(value), d.cell, d.layout, dname, d.header)


def _copy(v: Any) -> Any:
    return [_copy(x) for x in v] if isinstance(v, list) else v


def cases(spec: KPISpec) -> list[Case]:
    """The valid calls of one KPI: its required arguments, then each option value in turn, then all at once."""
    joint: dict[Any, Any] = {}
    base: list[ArgIn] = []
    for a in spec.args:
        if not a.optional:
            if is_option(spec, a.name):
                base.append(ArgIn(option_values(spec, a.name)[0], _option_cell(spec, a.name), "single", "option"))
            else:
                base.append(_range_arg(spec, a.name, joint))

    def optional(name: str, value: Any) -> ArgIn:
        if value == "range" or not is_option(spec, name):
            return _range_arg(spec, name, joint)
        return ArgIn(value, _option_cell(spec, name), "single", "option")

    def default(a: Any) -> ArgIn:
        return ArgIn(a.default, _option_cell(spec, a.name) if is_option(spec, a.name) else "number", "single",
                     "default")

    names = [a.name for a in spec.args]
    two_column = names[:2] == ["start", "end"] and spec.args[1].optional
    start = base[0]
    if two_column:
        # the two-column form (SPEC §3) unless 'end' is given: start in the first column, end in the second
        end = _range_arg(spec, "end", joint).value
        base[0] = replace(start, value=[[x, y] for x, y in zip(start.value, end)])

    def call(settings: dict[str, Any]) -> tuple[ArgIn, ...]:
        out = list(base)
        if two_column and "end" in settings:
            out[0] = start
        last = max((i for i, a in enumerate(spec.args) if a.name in settings), default=len(base) - 1)
        for a in spec.args[len(base): last + 1]:
            out.append(optional(a.name, settings[a.name]) if a.name in settings else default(a))
        for opt, v in settings.items():
            changed = OPTION_DOMAIN.get((spec.excel_name, opt, v))
            if changed:
                arg, dname = changed
                d = DOMAINS[dname]
                made = d.make(np.random.default_rng([_seed(spec), 99]), N)
                out[names.index(arg)] = ArgIn(made, d.cell, d.layout, dname, d.header)
        return tuple(out)

    out = [Case(spec, "two-column" if two_column else "required", tuple(base))]
    full: dict[str, Any] = {}
    for a in spec.args:
        if not a.optional:
            continue
        values = option_values(spec, a.name) if is_option(spec, a.name) else ("range",)
        for v in values:
            settings = {a.name: v}
            need = OPTION_NEEDS.get(a.name)
            if need:
                settings[need] = option_values(spec, need)[0]
            out.append(Case(spec, f"{a.name}={v}", call(settings)))
        full.setdefault(a.name, values[0])
    if len(full) > 1:
        out.append(Case(spec, "all", call(full)))
    return out


def all_cases() -> list[Case]:
    return [c for spec in k.REGISTRY.values() for c in cases(spec)]


# --------------------------------------------------------------------------
# Input containers
# --------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_column(a: ArgIn) -> Any:
    """Excel's shape: a 1-D range as a list of one-cell rows."""
    if not a.is_range or a.is2d:
        return a.value
    return [[x] for x in a.value]


def to_ndarray(a: ArgIn) -> Any:
    if not a.is_range:
        return a.value
    flat = [x for r in a.value for x in r] if a.is2d else a.value
    if flat and all(x is None or _is_number(x) for x in flat) and any(x is not None for x in flat):
        return np.array(a.value, dtype=float)  # None -> NaN: a blank
    arr = np.empty((len(a.value), len(a.value[0])) if a.is2d else len(a.value), dtype=object)
    if a.is2d:
        for i, r in enumerate(a.value):
            arr[i, :] = r
    else:
        arr[:] = a.value
    return arr


def _series(values: list[Any]) -> pd.Series:
    if values and all(x is None or _is_number(x) for x in values) and any(x is not None for x in values):
        return pd.Series([np.nan if x is None else x for x in values], dtype=float)
    return pd.Series(values, dtype=object)


def _frame(rows: list[Any], header: bool) -> pd.DataFrame:
    body = rows[1:] if header else rows
    names = rows[0] if header else [f"c{j}" for j in range(len(rows[0]))]
    return pd.DataFrame({f"{n}": _series([r[j] for r in body]) for j, n in enumerate(names)})


def to_series(a: ArgIn) -> Any:
    """pandas: a Series for a 1-D range, a DataFrame for a 2-D one (a header row gives the column names)."""
    if not a.is_range:
        return a.value
    return _frame(a.value, a.header) if a.is2d else _series(a.value)


def to_frame(a: ArgIn) -> Any:
    """A DataFrame for every range (a 1-D range: one column)."""
    if not a.is_range:
        return a.value
    return _frame(a.value, a.header) if a.is2d else pd.DataFrame({"x": _series(a.value)})


def _typed(values: list[Any], cell: str) -> pd.Series:
    """A Series in the dtype a data file would give the cells: datetime64, string or float (else object)."""
    if cell == "date" and all(x is None or isinstance(x, str) for x in values):
        try:
            return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601"))
        except (ValueError, TypeError):
            pass
    if cell == "id" and all(x is None or isinstance(x, str) for x in values):
        return pd.Series(values, dtype="string")
    return _series(values)


def to_typed(a: ArgIn) -> Any:
    """pandas with typed columns (datetime64 dates, string ids, float numbers): a Series, or a DataFrame."""
    if not a.is_range:
        return a.value
    if not a.is2d:
        return _typed(a.value, str(a.cell))
    body = a.value[1:] if a.header else a.value
    names = a.value[0] if a.header else [f"c{j}" for j in range(len(a.value[0]))]
    cells = a.cell if isinstance(a.cell, tuple) else (a.cell,) * len(names)
    return pd.DataFrame({f"{n}": _typed([r[j] for r in body], cells[j]) for j, n in enumerate(names)})


CONTAINERS: dict[str, Callable[[ArgIn], Any]] = {
    "list": lambda a: a.value,
    "column": to_column,
    "ndarray": to_ndarray,
    "series": to_series,
    "frame": to_frame,
    "typed": to_typed,
}
#: the Python type each container hands over for a range argument (1-D, 2-D)
CONTAINER_TYPES: dict[str, tuple[type, type]] = {
    "list": (list, list),
    "column": (list, list),
    "ndarray": (np.ndarray, np.ndarray),
    "series": (pd.Series, pd.DataFrame),
    "frame": (pd.DataFrame, pd.DataFrame),
    "typed": (pd.Series, pd.DataFrame),
}
