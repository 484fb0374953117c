"""What a correct answer looks like: invariants per function and slow references.

Two independent checks of every fuzzed call:

1. :func:`check_result` — the invariants every result must satisfy whatever the
   input: the type of the registry shape, finite numbers (NaN only where the
   catalog documents a blank), shares in [0, 1], NPS in [−100, 100], tables
   with the catalog's columns in the catalog's order, identities of the tables
   (MRR movements add up, cohorts start at 1, survival never rises …).
2. :data:`REFERENCES` — for the functions whose definition is a few lines, a
   slow, obviously-correct reference written from SPEC §3–4 (not from the
   library): it reads the raw cells one by one, decides whether the input is
   valid, and either computes the value (with ``math.fsum``) or names the Excel
   error the input deserves. A library answer must match it: the same value
   (to floating-point accuracy), or the same error class.

The error a reference expects follows SPEC §3 and the order in which the
library reads its arguments (an argument is read completely before the next):
within one argument an Excel error value wins over text or booleans
(#N/A propagates), text/booleans/dates where a number is needed are #VALUE!,
infinity and out-of-domain numbers are #NUM!, an argument with no number is
#DIV/0!. A result too large for a double (overflow) is #NUM!, as in Excel.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import kpi_functions as k
from kpi_functions import EXCEL_ERRORS

Input, Domain, Undefined, ErrorValue, Model = (
    k.KPIInputError, k.KPIDomainError, k.KPIUndefinedError, k.KPIErrorValue, k.KPIModelError,
)


class Err(Exception):
    """The reference says: this input must raise exactly this KPIError class."""

    def __init__(self, cls: type | tuple[type, ...], why: str) -> None:
        classes = cls if isinstance(cls, tuple) else (cls,)
        super().__init__(f"{' or '.join(c.__name__ for c in classes)}: {why}")
        self.classes = classes
        self.why = why


class NoReference(Exception):
    """The reference does not decide this input (only the invariants apply)."""


# ====================================================================== cells
def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v == ""
    if isinstance(v, (float, np.floating)):
        return math.isnan(float(v))
    if v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, np.datetime64):
        return bool(np.isnat(v))
    return False


def is_error(v: Any) -> bool:
    return isinstance(v, str) and v in EXCEL_ERRORS


def is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def shape_of(raw: Any) -> tuple[list[Any], bool, int]:
    """(cells row by row, is 2-D, number of columns) of a raw argument, or Err."""
    if raw is None:
        return [], False, 1
    if not isinstance(raw, list):
        return [raw], False, 1
    if not raw:
        return [], False, 1
    nested = [isinstance(v, (list, tuple)) for v in raw]
    if not any(nested):
        return list(raw), False, 1
    if not all(nested):
        raise Err(Input, "mixes single values and rows")
    widths = {len(r) for r in raw}
    if len(widths) != 1:
        raise Err(Input, "ragged rows")
    width = widths.pop()
    cells = [x for r in raw for x in r]
    if any(isinstance(x, (list, tuple)) for x in cells):
        # a cell that is itself a list: refused where it is read (#VALUE!), unless an error
        # value comes first in the same range (it propagates)
        raise Err((Input, ErrorValue), "three dimensions")
    return cells, True, width


def real(v: Any) -> float:
    """A number cell as a float; a Python int beyond a double is outside the domain (#NUM!)."""
    try:
        return float(v)
    except OverflowError:
        raise Err(Domain, "an integer beyond the range of a double") from None


def numeric_cells(raw: Any, *, min: float | None = None, max: float | None = None,
                  integer: bool = False, bools: bool = False) -> list[float | None]:
    """Every cell as a float, None for blanks (and TRUE/FALSE as 1/0 with `bools`, as in a flag argument);
    Err in the library's precedence."""
    cells, _, _ = shape_of(raw)
    if any(is_error(v) for v in cells if not is_blank(v)):
        raise Err(ErrorValue, "an Excel error value in the input")
    out: list[float | None] = []
    for v in cells:
        if is_blank(v):
            out.append(None)
        elif bools and isinstance(v, (bool, np.bool_)):
            out.append(float(bool(v)))
        elif not is_real(v):
            raise Err(Input, f"{v!r} is not a number")
        else:
            out.append(real(v))
    if any(x is not None and math.isinf(x) for x in out):
        raise Err(Domain, "infinity")
    for x in out:
        if x is None:
            continue
        if (min is not None and x < min) or (max is not None and x > max) or (integer and x != math.floor(x)):
            raise Err(Domain, f"{x!r} outside the domain")
    return out


def total(raw: Any, *, min: float | None = None, empty: float | None = None) -> tuple[float, float]:
    """Aggregate: (exact sum, sum of magnitudes) of the numbers; Err if none (``empty``: that value instead)."""
    vals = [x for x in numeric_cells(raw, min=min) if x is not None]
    if not vals and empty is not None:
        return empty, 0.0
    if not vals:
        raise Err(Undefined, "no numbers")
    return fsum(vals), loose_sum(abs(x) for x in vals)  # the scale (a tolerance) may overflow


def fsum(xs: Any) -> float:
    try:
        s = math.fsum(xs)
    except OverflowError:
        raise Err(Domain, "the sum overflows") from None
    if not math.isfinite(s):
        raise Err(Domain, "the sum overflows")
    return s


def loose_sum(xs: Any) -> float:
    """An exact sum that may overflow to ±inf (the caller decides what that means)."""
    xs = list(xs)
    try:
        return math.fsum(xs)
    except OverflowError:
        return math.inf if sum(1 for x in xs if x > 0) >= sum(1 for x in xs if x < 0) else -math.inf
    except ValueError:  # inf − inf inside
        return math.nan


def money_ratio(num: float, num_scale: float, den: float) -> Value:
    """num / den of MRR sums: a zero denominator is #DIV/0!, an overflowed sum #NUM!."""
    if den == 0:
        raise Err(Undefined, "zero denominator")
    if not (math.isfinite(num) and math.isfinite(den)):
        raise Err(Domain, "an MRR sum overflows")
    return ratio_value(num, num_scale, den, num_scale)


def finite(x: float) -> float:
    if not math.isfinite(x):
        raise Err(Domain, f"the result {x!r} overflows")
    return x


def divide(num: float, den: float) -> float:
    if den == 0:
        raise Err(Undefined, "zero denominator")
    try:
        return finite(num / den)
    except OverflowError:
        raise Err(Domain, "the ratio overflows") from None


def mul(a: float, b: float) -> float:
    return finite(a * b)


class Value:
    """A reference value with the absolute tolerance floating point allows."""

    def __init__(self, value: float, tol: float = 0.0) -> None:
        self.value = value
        self.tol = math.inf if math.isnan(tol) else tol  # a scale that overflowed: no bound

    def matches(self, got: float) -> bool:
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return got == self.value
        return math.isclose(got, self.value, rel_tol=1e-9, abs_tol=max(self.tol, 1e-300))


def ratio_value(num: float, num_scale: float, den: float, den_scale: float = 0.0) -> Value:
    """num/den with a tolerance that covers rounding of both sums."""
    q = divide(num, den)
    eps = 1e-12
    tol = eps * num_scale / abs(den) + abs(q) * eps * (den_scale / abs(den) if den_scale else 1.0)
    return Value(q, tol)


# ====================================================================== options
def single(raw: Any) -> Any:
    """The one value of an option (a one-cell range is fine); None when blank."""
    if raw is None:
        return None
    if isinstance(raw, list):
        cells, _, _ = shape_of(raw)
        if not cells:
            return None
        if len(cells) != 1:
            raise Err(Input, "a range where one value is needed")
        raw = cells[0]
    if is_blank(raw):
        return None
    if is_error(raw):
        raise Err(ErrorValue, "an Excel error value")
    return raw


def opt_number(raw: Any, default: float | None, *, min: float | None = None, max: float | None = None,
               integer: bool = False, min_open: bool = False) -> float | None:
    v = single(raw)
    if v is None:
        return default
    if not is_real(v):
        raise Err(Input, f"{v!r} is not a number")
    f = real(v)
    if not math.isfinite(f):
        raise Err(Domain, "not finite")
    if (min is not None and (f < min or (min_open and f == min))) or (max is not None and f > max) \
            or (integer and not f.is_integer()):
        raise Err(Domain, f"{f!r} outside the domain")
    return f


def opt_bool(raw: Any, default: bool) -> bool:
    v = single(raw)
    if v is None:
        return default
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if is_real(v) and real(v) in (0.0, 1.0):
        return bool(v)
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    raise Err(Input, f"{v!r} is not TRUE/FALSE")


def opt_text(raw: Any, default: str, choices: tuple[str, ...]) -> str:
    v = single(raw)
    if v is None:
        return default
    if not isinstance(v, str):
        raise Err(Input, f"{v!r} is not text")
    for c in choices:
        if c.lower() == v.strip().lower():
            return c
    raise Err(Input, f"{v!r} is not one of {choices}")


def arg(case_raw: list[Any], i: int) -> Any:
    return case_raw[i] if i < len(case_raw) else None


# ====================================================================== references
def _ratio_of_totals(num_min: float | None, den_min: float | None = 0) -> Callable[[list[Any]], Value]:
    def ref(raw: list[Any]) -> Value:
        n, ns = total(arg(raw, 0), min=num_min)
        d, ds = total(arg(raw, 1), min=den_min)
        return ratio_value(n, ns, d, ds)
    return ref


def ref_mrr(raw: list[Any]) -> Value:
    if arg(raw, 1) is None:  # a sum of per-customer MRR: nothing paying is 0
        a, s = total(arg(raw, 0), min=0, empty=0.0)
        return Value(a, 1e-12 * s)
    a, s = total(arg(raw, 0), min=0)
    b, _ = total(arg(raw, 1), min=0)
    return Value(mul(a, b), 1e-12 * s * b)


def ref_arr(raw: list[Any]) -> Value:
    a, s = total(arg(raw, 0), min=0, empty=0.0)
    return Value(mul(12.0, a), 12e-12 * s)


def ref_arpu(raw: list[Any]) -> Value:
    n, ns = total(arg(raw, 0))
    d, ds = total(arg(raw, 1), min=0)
    return ratio_value(n, ns, d, ds)


def _growth(raw: list[Any]) -> Value:
    s, ss = total(arg(raw, 0), min=0)
    e, es = total(arg(raw, 1), min=0)
    return ratio_value(finite(e - s), ss + es, s, ss)


def ref_margin(raw: list[Any]) -> Value:
    r, rs = total(arg(raw, 0))
    c, cs = total(arg(raw, 1), min=0)
    return ratio_value(finite(r - c), rs + cs, r, rs)


def ref_churn_rate(raw: list[Any]) -> Value:
    lost, ls = total(arg(raw, 0), min=0)
    start, ss = total(arg(raw, 1), min=0)
    if lost > start:
        raise Err(Domain, "more lost than at start")
    return ratio_value(lost, ls, start, ss)


def ref_retention_rate(raw: list[Any]) -> Value:
    s, ss = total(arg(raw, 0), min=0)
    e, es = total(arg(raw, 1), min=0)
    n, ns = total(arg(raw, 2), min=0)
    if n > e:
        raise Err(Domain, "more new than at end")
    return ratio_value(finite(e - n), es + ns, s, ss)


def _rate_option(raw: Any, default: float | None) -> float:
    v = opt_number(raw, default, min=0, max=1)
    if v is None:
        raise Err(Undefined, "blank rate")
    return v


def ref_clv(raw: list[Any]) -> Value:
    a, s = total(arg(raw, 0), min=0)
    churn = _rate_option(arg(raw, 1), None)
    gm = opt_number(arg(raw, 2), 1.0, min=0, max=1)
    return ratio_value(mul(a, gm), s * gm, churn)


def ref_clv_lifespan(raw: list[Any]) -> Value:
    v, vs = total(arg(raw, 0), min=0)
    y, ys = total(arg(raw, 1), min=0)
    return Value(mul(v, y), 1e-12 * (vs * abs(y) + ys * abs(v)))


def ref_cac_payback(raw: list[Any]) -> Value:
    cost, cs = total(arg(raw, 0), min=0)
    a, s = total(arg(raw, 1), min=0)
    gm = opt_number(arg(raw, 2), 1.0, min=0, max=1)
    return ratio_value(cost, cs, mul(a, gm), s * gm)


def ref_roi(raw: list[Any]) -> Value:
    g, gs = total(arg(raw, 0))
    c, cs = total(arg(raw, 1), min=0)
    return ratio_value(finite(g - c), gs + cs, c, cs)


# ---- per-customer start/end (SPEC: blank = 0, not paying)
def pair(raw: list[Any]) -> tuple[list[float], list[float]]:
    start, end = arg(raw, 0), arg(raw, 1)
    if isinstance(end, list) and not end and not isinstance(start, list):
        # an empty end range with a single-cell start: read as the two-column form when the empty
        # range is a list, as a misaligned pair when it is an array — an error either way
        raise Err((Input, ErrorValue, Domain, Undefined), "an empty end range with a single start cell")
    if end is None:
        cells, two_d, width = shape_of(start)
        if not cells:
            raise Err(Undefined, "no rows")
        if width != 2 or not two_d:
            raise Err(Input, "one range of two columns needed")
        vals = numeric_cells(start)
        if all(x is None for x in vals):
            raise Err(Undefined, "no numbers")
        numeric_cells(start, min=0)
        vals = [0.0 if x is None else x for x in vals]
        return vals[0::2], vals[1::2]
    s = numeric_cells(start, min=0)
    e = numeric_cells(end, min=0)
    if len(s) != len(e):
        raise Err(Input, "not aligned")
    if not s:
        raise Err(Undefined, "no rows")
    if all(x is None for x in s) and all(x is None for x in e):
        raise Err(Undefined, "no numbers")
    return [0.0 if x is None else x for x in s], [0.0 if x is None else x for x in e]


class Flows:
    """Per-customer movements; the money sums are taken only when asked for (a count-based
    KPI such as the upsell rate is defined even when the MRR sums overflow)."""

    def __init__(self, raw: list[Any]) -> None:
        s, e = pair(raw)
        self.rows = list(zip(s, e))
        self.paying = [(a, b) for a, b in self.rows if a > 0]
        self.n_paying = len(self.paying)
        self.n_churned = sum(1 for a, b in self.paying if b == 0)
        self.n_expanded = sum(1 for a, b in self.paying if b > a)
        self.n_new = sum(1 for a, b in self.rows if a == 0 and b > 0)

    def __getitem__(self, key: str) -> float:
        if key.startswith("n_"):
            return getattr(self, key)
        p = self.paying
        sums = {
            "starting": lambda: (a for a, _ in p),
            "churned": lambda: (a for a, b in p if b == 0),
            "contraction": lambda: (a - b for a, b in p if 0 < b < a),
            "expansion": lambda: (b - a for a, b in p if b > a),
            "new": lambda: (b for a, b in self.rows if a == 0 and b > 0),
            "retained": lambda: (min(a, b) for a, b in p),
            "paying_end": lambda: (b for _, b in p),
        }
        if key == "scale":
            return loose_sum(a + b for a, b in self.rows)
        return loose_sum(sums[key]())


def flows(raw: list[Any]) -> Flows:
    return Flows(raw)


def _over_start(f: Flows, num: float) -> Value:
    return money_ratio(num, f["scale"], f["starting"])


def ref_churn_customers(raw: list[Any]) -> Value:
    f = flows(raw)
    return ratio_value(f["n_churned"], 0, f["n_paying"])


def ref_churn_revenue(raw: list[Any]) -> Value:
    net = opt_bool(arg(raw, 2), False)
    f = flows(raw[:2])
    lost = f["churned"] + f["contraction"]
    return _over_start(f, lost - f["expansion"] if net else lost)


def ref_nrr(raw: list[Any]) -> Value:
    f = flows(raw)
    return _over_start(f, f["paying_end"])  # starting − churned − contraction + expansion


def ref_grr(raw: list[Any]) -> Value:
    f = flows(raw)
    return _over_start(f, f["retained"])  # starting − churned − contraction


def ref_expansion_rate(raw: list[Any]) -> Value:
    f = flows(raw)
    return _over_start(f, f["expansion"])


def ref_new_customers(raw: list[Any]) -> Value:
    return Value(int(flows(raw)["n_new"]))


def ref_upsell_rate(raw: list[Any]) -> Value:
    f = flows(raw)
    return ratio_value(f["n_expanded"], 0, f["n_paying"])


def ref_quick_ratio(raw: list[Any]) -> Value:
    f = flows(raw)
    return money_ratio(f["new"] + f["expansion"], f["scale"], f["churned"] + f["contraction"])


def ref_net_upsell(raw: list[Any]) -> Value:
    s, e = pair(raw)
    both = [(a, b) for a, b in zip(s, e) if a > 0 and b > 0]
    return Value(fsum(b - a for a, b in both), 1e-12 * fsum(a + b for a, b in both))


# ---- scores
def nps_counts(raw: Any) -> tuple[int, int, int, int]:
    v = [x for x in numeric_cells(raw, min=0, max=10, integer=True) if x is not None]
    if not v:
        raise Err(Undefined, "no scores")
    p = sum(1 for x in v if x >= 9)
    d = sum(1 for x in v if x <= 6)
    return p, len(v) - p - d, d, len(v)


def _z(conf: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - (1 - conf) / 2)


def _moe(p: int, d: int, n: int, conf: float) -> float:
    pp, dd = p / n, d / n
    return _z(conf) * math.sqrt(max(pp + dd - (pp - dd) ** 2, 0.0) / n) * 100


def ref_nps(raw: list[Any]) -> Value:
    p, _, d, n = nps_counts(arg(raw, 0))
    return Value(100.0 * (p - d) / n, 1e-12)


def ref_nps_moe(raw: list[Any]) -> Value:
    conf = opt_number(arg(raw, 1), 0.95, min=0, max=1, min_open=True)
    if conf >= 1:
        raise Err(Domain, "confidence 1")
    p, _, d, n = nps_counts(arg(raw, 0))
    return Value(_moe(p, d, n, conf), 1e-9)


def ref_nps_breakdown(raw: list[Any]) -> list[float]:
    p, m, d, n = nps_counts(arg(raw, 0))
    return [p, m, d, p / n, m / n, d / n, n, 100.0 * (p - d) / n, _moe(p, d, n, 0.95)]


def ref_csat(raw: list[Any]) -> Value:
    top = opt_number(arg(raw, 2), 5.0, min=2, integer=True)
    low = opt_number(arg(raw, 1), 4.0, min=1)
    if low > top:
        raise Err(Domain, "satisfied_min above scale_max")
    v = [x for x in numeric_cells(arg(raw, 0), min=1, max=top, integer=True) if x is not None]
    if not v:
        raise Err(Undefined, "no responses")
    return Value(sum(1 for x in v if x >= low) / len(v), 1e-15)


# ---- rates: their interval and their change
def _whole_count(raw: Any) -> float:
    vals = [x for x in numeric_cells(raw, min=0, integer=True) if x is not None]
    if not vals:
        raise Err(Undefined, "no counts")
    s = fsum(vals)
    if s > 2.0**53:
        raise Err(Domain, "a count beyond 2**53")
    return s


def _successes_trials(raw: list[Any], i: int) -> tuple[float, float]:
    x, n = _whole_count(arg(raw, i)), _whole_count(arg(raw, i + 1))
    if n == 0:
        raise Err(Undefined, "no trials")
    if x > n:
        raise Err(Domain, "more successes than trials")
    return x, n


def _rate_confidence(raw: Any) -> float:
    conf = opt_number(raw, 0.95, min=0, max=1, min_open=True)
    assert conf is not None
    if conf >= 1:
        raise Err(Domain, "confidence 1")
    return conf


def _wilson_roots(x: float, n: float, z: float) -> tuple[float, float]:
    """The roots of (x − n p)² = z² n p (1 − p), written as the quadratic formula."""
    r = z * math.sqrt(z * z + 4.0 * x * (n - x) / n)
    return (0.0 if x == 0 else (2 * x + z * z - r) / (2 * (n + z * z)),
            1.0 if x == n else (2 * x + z * z + r) / (2 * (n + z * z)))


def ref_rate_ci(raw: list[Any]) -> dict[str, float]:
    x, n = _successes_trials(raw, 0)
    conf = _rate_confidence(arg(raw, 2))
    method = opt_text(arg(raw, 3), "wilson", ("wilson", "exact", "jeffreys", "agresti-coull", "wald"))
    z = _z(conf)
    if method == "wilson":
        lo, hi = _wilson_roots(x, n, z)
    elif method == "wald":
        h = z * math.sqrt(x * (n - x) / n) / n
        lo, hi = max(0.0, x / n - h), min(1.0, x / n + h)
    else:
        raise NoReference(f"no slow reference for the {method} interval here (tests/kpi_functions has them)")
    return {"rate": x / n, "lower": lo, "upper": hi}


def ref_rate_change(raw: list[Any]) -> dict[str, float]:
    xa, na = _successes_trials(raw, 0)
    xb, nb = _successes_trials(raw, 2)
    conf = _rate_confidence(arg(raw, 4))
    test = opt_text(arg(raw, 5), "auto", ("auto", "z", "fisher"))
    if test == "fisher" and na + nb > 10_000_000:
        raise Err(Domain, "Fisher's test for more than 10 million trials")
    z = _z(conf)
    (la, ua), (lb, ub) = _wilson_roots(xa, na, z), _wilson_roots(xb, nb, z)
    a, b = xa / na, xb / nb
    out = {"rate a": a, "rate b": b, "difference (b − a)": b - a,
           "lower": max(-1.0, b - a - math.sqrt((b - lb) ** 2 + (ua - a) ** 2)),
           "upper": min(1.0, b - a + math.sqrt((ub - b) ** 2 + (a - la) ** 2))}
    m, big_n = xa + xb, na + nb
    expected = min(na * m, na * (big_n - m), nb * m, nb * (big_n - m)) / big_n
    if test == "z" or (test == "auto" and (expected >= 5 or big_n > 10_000_000)):
        var = m * (big_n - m) / big_n**2 * (1 / na + 1 / nb)
        out["p-value (two-proportion z-test)"] = 1.0 if var <= 0 else math.erfc(abs(b - a) / math.sqrt(2 * var))
        return out
    if big_n > 5_000:
        raise NoReference("Fisher's test by brute force only for small tables")
    ia, ib, im = int(xa), int(nb), int(m)
    probs = [math.comb(int(na), i) * math.comb(ib, im - i) for i in range(max(0, im - ib), min(int(na), im) + 1)]
    seen = math.comb(int(na), ia) * math.comb(ib, im - ia)
    p = sum(q for q in probs if q <= seen * (1 + 1e-7)) / math.comb(int(big_n), im)
    out["p-value (Fisher exact test)"] = min(1.0, p)
    return out


# ---- identifiers
def id_cells(raw: Any) -> list[Any]:
    cells, _, _ = shape_of(raw)
    nonblank = [v for v in cells if not is_blank(v)]
    if any(is_error(v) for v in nonblank):
        raise Err(ErrorValue, "an Excel error value")
    out = []
    for v in cells:
        if is_blank(v):
            out.append(None)
        elif isinstance(v, (bool, np.bool_)):
            raise Err(Input, "a boolean is not an identifier")
        elif is_real(v):
            f = float(v)
            if math.isinf(f):
                raise Err(Domain, "infinity is not an identifier")
            out.append(int(f) if f.is_integer() and not isinstance(v, (int, np.integer)) else
                       int(v) if isinstance(v, (int, np.integer)) else f)
        elif isinstance(v, str):
            out.append(("s", v))
        else:
            raise NoReference(f"identifier of type {type(v).__name__}")
    return out


def ref_repeat_purchase_rate(raw: list[Any]) -> Value:
    if any(x is not None for x in raw[1:]):
        raise NoReference("order dates, a window or an as-of date (checked by hand in test_article_kpis.py)")
    ids = [x for x in id_cells(arg(raw, 0)) if x is not None]
    if not ids:
        raise Err(Undefined, "no ids")
    counts: dict[Any, int] = {}
    for x in ids:
        counts[x] = counts.get(x, 0) + 1
    return Value(sum(1 for c in counts.values() if c >= 2) / len(counts), 1e-15)


def ref_cross_sell_rate(raw: list[Any]) -> Value:
    cust = id_cells(arg(raw, 0))
    prod = id_cells(arg(raw, 1))
    if all(x is None for x in cust):
        raise Err(Undefined, "no customers")
    if all(x is None for x in prod):
        raise Err(Undefined, "no products")
    if len(cust) != len(prod):
        raise Err(Input, "not aligned")
    if any((a is None) != (b is None) for a, b in zip(cust, prod)):
        raise Err(Input, "a row with only one of customer/product")
    held: dict[Any, set] = {}
    for a, b in zip(cust, prod):
        if a is not None:
            held.setdefault(a, set()).add(b)
    return Value(sum(1 for s in held.values() if len(s) >= 2) / len(held), 1e-15)


# ---- series
def ref_cmgr(raw: list[Any]) -> Value:
    v = numeric_cells(arg(raw, 0), min=0)
    idx = [i for i, x in enumerate(v) if x is not None]
    if len(idx) < 2:
        raise Err(Undefined, "fewer than two values")
    first, last = v[idx[0]], v[idx[-1]]
    if first == 0:
        raise Err(Undefined, "first value 0")
    k_months = idx[-1] - idx[0]
    q = last / first
    if math.isinf(q):  # the ratio overflows, its k-th root may not
        try:
            g = math.exp((math.log(last) - math.log(first)) / k_months)
        except OverflowError:
            raise Err(Domain, "the growth factor overflows") from None
        return Value(finite(g - 1.0), 1e-9 * g)
    return Value(finite(q ** (1.0 / k_months) - 1.0), 1e-12 * (1 + q))


def ref_health_score(raw: list[Any]) -> list[float]:
    values = arg(raw, 0)
    _, two_d, width = shape_of(values)
    v = numeric_cells(values)
    if not v or all(x is None for x in v):
        raise Err(Undefined, "no numbers")
    ncols = width if two_d else 1
    wcells, wtwo, wwidth = shape_of(arg(raw, 1))
    if wtwo and len(wcells) // max(wwidth, 1) > 1 and wwidth > 1:
        raise Err(Input, "weights must be one row or column")
    w = numeric_cells(arg(raw, 1))
    if len(w) != ncols:
        raise Err(Input, "one weight per column")
    if any(x is None for x in w):
        raise Err(Input, "a blank weight")
    rows = [v[r * ncols:(r + 1) * ncols] for r in range(len(v) // ncols)]
    out = []
    for row in rows:
        if all(x is None for x in row):
            out.append(math.nan)
        else:
            out.append(finite(fsum((0.0 if x is None else x) * wj for x, wj in zip(row, w))))
    return out


def ref_survival_curve(raw: list[Any]) -> list[tuple[float, int, int, float]]:
    d = numeric_cells(arg(raw, 0), min=0)
    if all(x is None for x in d):
        raise Err(Undefined, "no durations")
    flags = numeric_cells(arg(raw, 1), min=0, max=1, integer=True, bools=True)  # 0/1 or FALSE/TRUE
    if len(d) != len(flags):
        raise Err(Input, "not aligned")
    if any((a is None) != (b is None) for a, b in zip(d, flags)):
        raise Err(Input, "a row with only one of duration/flag")
    band = opt_bool(arg(raw, 2), False)
    z = _z(_rate_confidence(arg(raw, 3)))
    rows = [(a, b) for a, b in zip(d, flags) if a is not None]
    out: list[tuple[Any, ...]] = []
    surv, green = 1.0, 0.0
    for t in sorted({a for a, _ in rows}):
        at_risk = sum(1 for a, _ in rows if a >= t)
        events = int(sum(b for a, b in rows if a == t))
        surv *= 1.0 - events / at_risk
        if at_risk > events:
            green += events / (at_risk * (at_risk - events))
        if not band:
            out.append((t, at_risk, events, surv))
        elif surv in (0.0, 1.0):
            out.append((t, at_risk, events, surv, surv, surv))
        else:  # exponential Greenwood: S^exp(±z √V / −ln S)
            sig = math.sqrt(green) / -math.log(surv)
            out.append((t, at_risk, events, surv, surv ** math.exp(z * sig), surv ** math.exp(-z * sig)))
    return out


def ref_median_lifetime(raw: list[Any]) -> dict[str, float]:
    rows = ref_survival_curve([arg(raw, 0), arg(raw, 1), True, arg(raw, 2)])
    found = [next((r[0] for r in rows if r[j] <= 0.5), math.nan) for j in (3, 4, 5)]
    if math.isnan(found[0]):
        raise Err(Undefined, "survival never falls to 0.5")
    return dict(zip(("median", "lower", "upper"), found))


REFERENCES: dict[str, Callable[[list[Any]], Any]] = {
    "KPI_MRR": ref_mrr,
    "KPI_ARR": ref_arr,
    "KPI_ARPU": ref_arpu,
    "KPI_GROWTH_RATE": _growth,
    "KPI_CMGR": ref_cmgr,
    "KPI_MARGIN": ref_margin,
    "KPI_NET_UPSELL": ref_net_upsell,
    "KPI_CHURN_RATE": ref_churn_rate,
    "KPI_CHURN_CUSTOMERS": ref_churn_customers,
    "KPI_CHURN_REVENUE": ref_churn_revenue,
    "KPI_RETENTION_RATE": ref_retention_rate,
    "KPI_NRR": ref_nrr,
    "KPI_GRR": ref_grr,
    "KPI_EXPANSION_RATE": ref_expansion_rate,
    "KPI_EXPANSION_MRR_GROWTH": _growth,
    "KPI_NEW_CUSTOMERS": ref_new_customers,
    "KPI_UPSELL_RATE": ref_upsell_rate,
    "KPI_CROSS_SELL_RATE": ref_cross_sell_rate,
    "KPI_QUICK_RATIO": ref_quick_ratio,
    "KPI_SURVIVAL_CURVE": ref_survival_curve,
    "KPI_MEDIAN_LIFETIME": ref_median_lifetime,
    "KPI_CAC": _ratio_of_totals(0),
    "KPI_CAC_PCT": _ratio_of_totals(0),
    "KPI_CLV": ref_clv,
    "KPI_CLV_LIFESPAN": ref_clv_lifespan,
    "KPI_LTV_CAC": _ratio_of_totals(0),
    "KPI_CAC_PAYBACK": ref_cac_payback,
    "KPI_REPEAT_PURCHASE_RATE": ref_repeat_purchase_rate,
    "KPI_CONVERSION_RATE": _ratio_of_totals(0),
    "KPI_CPA": _ratio_of_totals(0),
    "KPI_ROI": ref_roi,
    "KPI_ROAS": _ratio_of_totals(None),
    "KPI_NPS": ref_nps,
    "KPI_NPS_BREAKDOWN": ref_nps_breakdown,
    "KPI_NPS_MOE": ref_nps_moe,
    "KPI_CSAT": ref_csat,
    "KPI_HEALTH_SCORE": ref_health_score,
    "KPI_RATE_CI": ref_rate_ci,
    "KPI_RATE_CHANGE": ref_rate_change,
}


def reference(excel_name: str, raw: list[Any]) -> tuple[str, Any]:
    """("value", v) | ("error", cls) | ("none", why) for one call."""
    ref = REFERENCES.get(excel_name)
    if ref is None:
        return "none", "no reference for this function"
    try:
        return "value", ref(list(raw))
    except Err as e:
        return "error", e
    except NoReference as e:
        return "none", str(e)


def compare(excel_name: str, raw: list[Any], result: Any, error: k.KPIError | None) -> tuple[str | None, bool]:
    """(what differs or None, whether a reference decided this input)."""
    kind, want = reference(excel_name, raw)
    if kind == "none":
        return None, False
    if kind == "error":
        if error is None:
            return f"expected {want} but got the result {result!r}", True
        if type(error) not in want.classes:
            return f"expected {want} but got {type(error).__name__}: {error}", True
        return None, True
    if error is not None:
        return f"expected a result ({_show(want)}) but got {type(error).__name__}: {error}", True
    return _compare_value(excel_name, want, result), True


def _show(want: Any) -> str:
    return repr(want.value) if isinstance(want, Value) else repr(want)[:200]


def _compare_value(name: str, want: Any, got: Any) -> str | None:
    if isinstance(want, Value):
        if not want.matches(got):
            return f"expected {want.value!r} (± {want.tol:.3g}), got {got!r}"
        return None
    if name == "KPI_NPS_BREAKDOWN":
        vals = list(got["value"])
        for lbl, w, g in zip(got["label"], want, vals):
            if not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12):
                return f"{lbl}: expected {w!r}, got {g!r}"
        return None
    if name == "KPI_MEDIAN_LIFETIME":  # an upper end not reached is blank (NaN)
        for lbl, g in zip(got["label"], got["value"]):
            if not (math.isnan(g) and math.isnan(want[lbl]) or g == want[lbl]):
                return f"{lbl}: expected {want[lbl]!r}, got {g!r}"
        return None
    if isinstance(want, dict):  # a labelled result: the labels in order, each value (p-values to 1e-7)
        if list(got["label"]) != list(want):
            return f"expected the labels {list(want)}, got {list(got['label'])}"
        for lbl, g in zip(got["label"], got["value"]):
            if not math.isclose(g, want[lbl], rel_tol=1e-7 if lbl.startswith("p-value") else 1e-9, abs_tol=1e-12):
                return f"{lbl}: expected {want[lbl]!r}, got {g!r}"
        return None
    if name == "KPI_HEALTH_SCORE":
        g = np.asarray(got, dtype=float)
        w = np.asarray(want, dtype=float)
        if g.shape != w.shape or not np.allclose(g, w, rtol=1e-9, atol=1e-12, equal_nan=True):
            return f"expected {w.tolist()!r}, got {g.tolist()!r}"
        return None
    if name == "KPI_SURVIVAL_CURVE":
        rows = list(got.itertuples(index=False, name=None))
        if len(rows) != len(want):
            return f"expected {len(want)} rows, got {len(rows)}"
        for r, w in zip(rows, want):
            if len(r) != len(w) or r[0] != w[0] or r[1] != w[1] or r[2] != w[2] or not all(
                    math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(r[3:], w[3:])):
                return f"expected row {w!r}, got {r!r}"
        return None
    raise AssertionError(name)  # pragma: no cover


# ====================================================================== invariants
#: Scalar KPIs that are shares of a population: always within [0, 1].
SHARES = {
    "KPI_CHURN_RATE", "KPI_CHURN_CUSTOMERS", "KPI_UPSELL_RATE", "KPI_CROSS_SELL_RATE",
    "KPI_REPEAT_PURCHASE_RATE", "KPI_CSAT", "KPI_STICKINESS", "KPI_GRR",
}
#: Scalar KPIs that can never be negative.
NON_NEGATIVE = {
    "KPI_MRR", "KPI_ARR", "KPI_CAC", "KPI_CAC_PCT", "KPI_CLV", "KPI_CLV_LIFESPAN", "KPI_LTV_CAC", "KPI_CAC_PAYBACK",
    "KPI_CPA", "KPI_NRR", "KPI_EXPANSION_RATE", "KPI_QUICK_RATIO", "KPI_NEW_CUSTOMERS", "KPI_NPS_MOE",
    "KPI_AVG_DURATION", "KPI_CONVERSION_RATE",
}
#: Lower bounds of growth-like rates over non-negative inputs.
AT_LEAST = {"KPI_GROWTH_RATE": -1.0, "KPI_EXPANSION_MRR_GROWTH": -1.0, "KPI_CMGR": -1.0,
            "KPI_RETENTION_RATE": 0.0}
AT_MOST = {"KPI_CHURN_REVENUE": 1.0}

#: The catalog's columns (SPEC §4), in its order.
TABLE_COLUMNS = {
    "KPI_MRR_MOVEMENTS": ["month", "starting MRR", "new", "expansion", "reactivation", "contraction", "churned",
                          "ending MRR", "customers at start", "new customers", "reactivated", "churned customers",
                          "customers at end"],
    "KPI_MRR_SCHEDULE": ["customer", "month", "MRR"],
    "KPI_SURVIVAL_CURVE": ["time", "at risk", "churned", "survival"],
}
LABELS = {
    "KPI_SBG_FIT": ["alpha", "beta", "log-likelihood"],
    "KPI_RATE_CI": ["rate", "lower", "upper"],
    "KPI_MEDIAN_LIFETIME": ["median", "lower", "upper"],
    "KPI_BGNBD_FIT": ["r", "alpha", "a", "b", "log-likelihood"],
    "KPI_GAMMA_GAMMA_FIT": ["p", "q", "gamma", "mean spend", "log-likelihood"],
    "KPI_NPS_BREAKDOWN": ["promoters", "passives", "detractors", "promoters %", "passives %", "detractors %",
                          "responses", "NPS", "margin of error"],
}


class Broken(AssertionError):
    """An invariant does not hold."""


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise Broken(what)


def _finite_frame(df: pd.DataFrame, cols: list[str], name: str) -> None:
    for c in cols:
        v = df[c].to_numpy(dtype=float)
        _need(bool(np.isfinite(v).all()), f"{name}: column {c!r} holds {v[~np.isfinite(v)][:3]!r}")


def _first_of_month(s: pd.Series, name: str) -> None:
    _need(pd.api.types.is_datetime64_any_dtype(s.dtype), f"{name}: months are not dates ({s.dtype})")
    _need(not s.isna().any(), f"{name}: a blank month")
    _need(bool((s.dt.day == 1).all() and (s.dt.hour == 0).all()), f"{name}: a month that is not the 1st")


def check_result(spec: Any, raw: list[Any], result: Any) -> None:
    """Raise :class:`Broken` when ``result`` breaks an invariant of ``spec``."""
    name = spec.excel_name
    if spec.shape == "scalar":
        want = int if spec.unit == "count" else float
        _need(type(result) is want, f"{name}: returned {type(result).__name__}, the registry says {want.__name__}")
        _need(math.isfinite(result), f"{name}: returned {result!r}")
        if name in SHARES:
            _need(0.0 <= result <= 1.0, f"{name}: a share of {result!r}")
        if name in NON_NEGATIVE:
            _need(result >= 0, f"{name}: negative result {result!r}")
        if name in AT_LEAST:
            _need(result >= AT_LEAST[name] - 1e-12, f"{name}: {result!r} below {AT_LEAST[name]}")
        if name in AT_MOST:
            _need(result <= AT_MOST[name] + 1e-12, f"{name}: {result!r} above {AT_MOST[name]}")
        if spec.unit == "points" and name == "KPI_NPS":
            _need(-100.0 <= result <= 100.0, f"{name}: NPS {result!r}")
        return
    if spec.shape in ("table", "labelled"):
        _need(isinstance(result, pd.DataFrame), f"{name}: returned {type(result).__name__}, not a DataFrame")
    else:
        _need(isinstance(result, (pd.Series, np.ndarray)), f"{name}: returned {type(result).__name__}")
        _need(np.asarray(result).ndim == 1, f"{name}: a column result of {np.asarray(result).ndim} dimensions")
    check = TABLE_CHECKS.get(name)
    if spec.shape == "labelled":
        _need(list(result.columns)[:2] == ["label", "value"], f"{name}: columns {list(result.columns)}")
        if name in LABELS:
            _need(list(result["label"]) == LABELS[name], f"{name}: labels {list(result['label'])}")
        # the median's interval may be open to the right: its upper end is then blank
        _finite_frame(result.iloc[:2] if name == "KPI_MEDIAN_LIFETIME" else result, ["value"], name)
    if check is None:
        raise Broken(f"{name}: no invariant check is written for this {spec.shape} function; add one")
    check(result, raw)


def _movements(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_MRR_MOVEMENTS"
    cols = TABLE_COLUMNS[name]
    _need(list(df.columns) == cols, f"{name}: columns {list(df.columns)}")
    _need(len(df) >= 1, f"{name}: no rows")
    _first_of_month(df["month"], name)
    m = df["month"].dt.year * 12 + df["month"].dt.month
    _need(bool((m.diff().dropna() == 1).all()), f"{name}: months are not consecutive")
    _finite_frame(df, cols[1:], name)
    money = df[cols[1:8]].to_numpy(float)
    _need(bool((money >= 0).all()), f"{name}: a negative amount")
    start, new, exp, react, contr, churn, end = (df[c].to_numpy(float) for c in cols[1:8])
    scale = np.abs(money).sum(axis=1) * 1e-9 + 1e-9
    _need(bool((np.abs(start + new + exp + react - contr - churn - end) <= scale).all()),
          f"{name}: end ≠ start + new + expansion + reactivation − contraction − churned")
    _need(bool((np.abs(start[1:] - end[:-1]) <= scale[1:]).all()), f"{name}: a month does not start where the last ended")
    _need(start[0] == 0, f"{name}: the first month starts at {start[0]}")
    counts = df[cols[8:]].to_numpy()
    _need(df[cols[8:]].dtypes.map(lambda t: t.kind in "iu").all(), f"{name}: counts are not integers")
    a, n, r, ch, e = counts.T
    _need(bool((a + n + r - ch == e).all()), f"{name}: customers at end ≠ start + new + reactivated − churned")
    _need(bool((counts >= 0).all()), f"{name}: a negative count")


def _schedule(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_MRR_SCHEDULE"
    _need(list(df.columns) == TABLE_COLUMNS[name], f"{name}: columns {list(df.columns)}")
    if len(df):
        _first_of_month(df["month"], name)
        _finite_frame(df, ["MRR"], name)
        _need(bool((df["MRR"] > 0).all()), f"{name}: a month with MRR ≤ 0 is listed")
        _need(not df.duplicated(["customer", "month"]).any(), f"{name}: a customer twice in one month")
        _need(not df["customer"].isna().any(), f"{name}: a blank customer")


def _cohorts(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_COHORT_RETENTION"
    cols = list(df.columns)
    _need(cols[:2] == ["cohort", "size"], f"{name}: columns {cols}")
    _need(cols[2:] == [f"month {i}" for i in range(len(cols) - 2)] and len(cols) >= 3, f"{name}: columns {cols}")
    _first_of_month(df["cohort"], name)
    _need(df["cohort"].is_monotonic_increasing and df["cohort"].is_unique, f"{name}: cohorts not in order")
    _need(df["size"].dtype.kind in "iu" and bool((df["size"] >= 1).all()), f"{name}: a cohort of no customers")
    tri = df[cols[2:]].to_numpy(float)
    basis = "logo"
    try:
        basis = opt_text(arg(raw, 1), "logo", ("logo", "revenue"))
    except Err:
        pass
    _need(bool(np.all(tri[:, 0] == 1.0)), f"{name}: a cohort's month 0 is not 1: {tri[:, 0]!r}")
    ok = ~np.isnan(tri)
    _need(bool(np.isfinite(tri[ok]).all()) and bool((tri[ok] >= 0).all()), f"{name}: a value outside [0, ∞)")
    if basis == "logo":
        _need(bool((tri[ok] <= 1.0).all()), f"{name}: a logo retention above 1")
    # NaN only where documented: the months a cohort has not reached yet (lower-right triangle)
    months = (df["cohort"].dt.year * 12 + df["cohort"].dt.month).to_numpy()
    try:
        limited = opt_number(arg(raw, 2), None) is not None
    except Err:
        limited = True
    k = np.arange(tri.shape[1])[None, :]
    if not limited:  # the triangle is as wide as the data: the first cohort reaches the last month
        last = months[0] + tri.shape[1] - 1
        reached = months[:, None] + k <= last
        _need(bool((ok == reached).all()), f"{name}: blanks where the month was reached, or values where it was not")
    else:  # blanks form a tail in each row, longer for later cohorts
        counts = ok.sum(axis=1)
        _need(bool((ok == (k < counts[:, None])).all()), f"{name}: a blank inside a cohort's row")
        _need(bool((np.diff(counts) <= 0).all()), f"{name}: a later cohort reaches further than an earlier one")


def _survival(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_SURVIVAL_CURVE"
    cols = TABLE_COLUMNS[name] + (["lower", "upper"] if df.shape[1] == 6 else [])
    _need(list(df.columns) == cols, f"{name}: columns {list(df.columns)}")
    _finite_frame(df, cols, name)
    s = df["survival"].to_numpy(float)
    if df.shape[1] == 6:
        lo, hi = df["lower"].to_numpy(float), df["upper"].to_numpy(float)
        _need(bool(((0 <= lo) & (lo <= s + 1e-15) & (s <= hi + 1e-15) & (hi <= 1)).all()),
              f"{name}: a band not around the survival within [0, 1]")
    _need(bool(((s >= 0) & (s <= 1)).all()), f"{name}: survival outside [0, 1]")
    _need(bool((np.diff(s) <= 1e-15).all()), f"{name}: survival rises")
    _need(df["time"].is_monotonic_increasing and df["time"].is_unique, f"{name}: times not increasing")
    _need(bool((np.diff(df["at risk"].to_numpy()) < 0).all()), f"{name}: at-risk does not fall")


def _median_lifetime(df: pd.DataFrame, raw: list[Any]) -> None:
    med, lo, hi = df["value"].to_numpy(float)
    _need(0 <= lo <= med and (math.isnan(hi) or med <= hi), f"KPI_MEDIAN_LIFETIME: {lo!r} ≤ {med!r} ≤ {hi!r} fails")


def _sbg(df: pd.DataFrame, raw: list[Any]) -> None:
    v = df["value"].to_numpy(float)
    _need(bool((v[:2] > 0).all()), f"KPI_SBG_FIT: alpha/beta not positive: {v!r}")
    _need(v[2] <= 1e-9, f"KPI_SBG_FIT: a log-likelihood above 0: {v[2]!r}")


def _bgnbd(df: pd.DataFrame, raw: list[Any]) -> None:
    v = df["value"].to_numpy(float)
    _need(bool((v[:4] > 0).all()), f"KPI_BGNBD_FIT: a parameter not positive: {v!r}")
    # the log-likelihood holds densities of recency (continuous time): it may be above 0


def _gamma_gamma(df: pd.DataFrame, raw: list[Any]) -> None:
    p, q, g, mean, _ = df["value"].to_numpy(float)
    _need(p > 0 and q > 1 and g > 0, f"KPI_GAMMA_GAMMA_FIT: p {p!r}, q {q!r}, gamma {g!r}")
    _need(math.isclose(mean, p * g / (q - 1), rel_tol=1e-12), f"KPI_GAMMA_GAMMA_FIT: mean spend {mean!r}")


def _breakdown(df: pd.DataFrame, raw: list[Any]) -> None:
    v = df["value"].to_numpy(float)
    p, m, d, ps, ms, ds, n, nps, moe = v
    _need(all(float(x).is_integer() and x >= 0 for x in (p, m, d, n)) and p + m + d == n and n >= 1,
          f"KPI_NPS_BREAKDOWN: counts {v[:3]!r} of {n!r}")
    _need(abs(ps + ms + ds - 1) < 1e-12 and min(ps, ms, ds) >= 0, "KPI_NPS_BREAKDOWN: shares do not add to 1")
    _need(-100 <= nps <= 100 and abs(nps - 100 * (ps - ds)) < 1e-9, f"KPI_NPS_BREAKDOWN: NPS {nps!r}")
    _need(moe >= 0, f"KPI_NPS_BREAKDOWN: margin of error {moe!r}")


def _forecast(s: Any, raw: list[Any]) -> None:
    name = "KPI_RETENTION_FORECAST"
    v = np.asarray(s, dtype=float)
    _need(bool(np.isfinite(v).all()), f"{name}: {v!r}")
    _need(bool((v >= 0).all()) and bool((np.diff(v) <= 1e-9 * max(v[0], 1)).all()), f"{name}: survivors rise or < 0")
    periods = opt_number(arg(raw, 1), None, min=1, integer=True)
    _need(v.size == int(periods), f"{name}: {v.size} values for {periods} periods")
    first = next(x for x in numeric_cells(arg(raw, 0)) if x is not None)
    _need(math.isclose(v[0], first, rel_tol=1e-9), f"{name}: period 0 is {v[0]!r}, the cohort is {first!r}")


def _sbg_cohorts(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_SBG_COHORTS"
    cols = list(df.columns)
    head = ["cohort", "size", "alpha", "beta", "log-likelihood", "periods"]
    _need(cols[:6] == head and cols[-1] == "note", f"{name}: columns {cols}")
    _need(cols[6:-1] == [f"month {t}" for t in range(len(cols) - 7)] and len(cols) >= 8, f"{name}: columns {cols}")
    try:
        periods = opt_number(arg(raw, 1), None)
    except Err:
        periods = None
    if periods is not None:
        _need(len(cols) - 7 == int(periods), f"{name}: {len(cols) - 7} months for periods {periods!r}")
    _need(len(df) >= 1 and len(df) <= len(shape_of(arg(raw, 0))[0]), f"{name}: {len(df)} rows")
    _need(df["size"].dtype.kind in "iu" and bool((df["size"] >= 0).all()), f"{name}: sizes {df['size'].tolist()}")
    _need(df["periods"].dtype.kind in "iu" and bool((df["periods"] >= 0).all()), f"{name}: periods")
    fit = df["note"].to_numpy() == ""
    nums = df[cols[2:5]].to_numpy(float)
    proj = df[cols[6:-1]].to_numpy(float)
    # a cohort is fitted (finite, positive parameters, a projection from 1 down within [0, 1]) or blank with a note
    _need(bool(np.isnan(nums[~fit]).all() and np.isnan(proj[~fit]).all()), f"{name}: numbers beside a note")
    _need(bool(np.isfinite(nums[fit]).all() and (nums[fit, :2] > 0).all() and (nums[fit, 2] <= 1e-9).all()),
          f"{name}: a fit that is not finite, positive, with LL ≤ 0: {nums[fit]!r}")
    _need(bool((df["periods"].to_numpy()[fit] >= 2).all()), f"{name}: a fit from fewer than 2 periods")
    p = proj[fit]
    _need(bool((p[:, 0] == 1.0).all() and (p >= 0).all() and (p <= 1).all() and (np.diff(p, axis=1) <= 1e-15).all()),
          f"{name}: a projection not falling from 1 within [0, 1]")


def _clv_bgnbd(s: Any, raw: list[Any], name: str = "KPI_CLV_BGNBD", top: float = math.inf, aligned: int = 3) -> None:
    v = np.asarray(s, dtype=float)
    rows = len(numeric_cells(arg(raw, 0)))
    _need(v.size == rows, f"{name}: {v.size} values for {rows} rows")
    # NaN only on rows left entirely blank (documented) in the first ``aligned`` arguments; every other value
    # finite and ≥ 0
    blank_rows = [all(is_blank(c) for c in cells)
                  for cells in zip(*(shape_of(arg(raw, i))[0] for i in range(aligned)))]
    for i, (x, b) in enumerate(zip(v, blank_rows)):
        if b:
            _need(math.isnan(x), f"{name}: row {i + 1} is blank but has the value {x!r}")
        else:
            _need(math.isfinite(x) and 0 <= x <= top, f"{name}: row {i + 1} has the value {x!r}")


def _rfm_summary(df: pd.DataFrame, raw: list[Any]) -> None:
    name = "KPI_RFM_SUMMARY"
    cols = list(df.columns)
    _need(cols[:4] == ["customer", "frequency", "recency", "T"], f"{name}: columns {cols}")
    _need(df["customer"].is_unique and len(df) >= 1, f"{name}: customers repeat or none: {df['customer'].tolist()}")
    f, rec, age = (df[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    _need(bool(np.isfinite(np.r_[f, rec, age]).all()), f"{name}: a value is not finite")
    _need(bool((f >= 0).all() and (f == np.floor(f)).all()), f"{name}: frequency {f!r}")
    _need(bool(((rec >= 0) & (rec <= age + 1e-12)).all()), f"{name}: recency outside [0, T]")
    _need(bool((rec[f == 0] == 0).all()), f"{name}: recency without a repeat purchase")
    # every customer's purchase days come from distinct rows of the log
    rows = sum(not is_blank(v) for v in shape_of(arg(raw, 0))[0])
    _need(int(f.sum()) + len(df) <= rows, f"{name}: {int(f.sum())} repeats of {len(df)} customers from {rows} rows")
    if "monetary" in cols:
        m = df["monetary"].to_numpy(float)
        _need(bool(np.isfinite(m).all() and (m[f == 0] == 0).all()), f"{name}: monetary {m!r}")
    if "frequency_holdout" in cols:
        h, d = df["frequency_holdout"].to_numpy(float), df["duration_holdout"].to_numpy(float)
        _need(bool((h >= 0).all() and (d > 0).all() and (d == d[0]).all()), f"{name}: holdout {h!r} {d!r}")


def _health(s: Any, raw: list[Any]) -> None:
    v = np.asarray(s, dtype=float)
    _need(not np.isinf(v).any(), f"KPI_HEALTH_SCORE: an infinite score {v!r}")


def _rate_ci(df: pd.DataFrame, raw: list[Any]) -> None:
    rate, lo, hi = df["value"].to_numpy(float)
    _need(0.0 <= lo <= hi <= 1.0, f"KPI_RATE_CI: bounds {lo!r}, {hi!r} not within [0, 1] in order")
    _need(0.0 <= rate <= 1.0, f"KPI_RATE_CI: a rate {rate!r} outside [0, 1]")


def _rate_change(df: pd.DataFrame, raw: list[Any]) -> None:
    a, b, d, lo, hi, p = df["value"].to_numpy(float)
    _need(abs(d - (b - a)) <= 1e-12, f"KPI_RATE_CHANGE: difference {d!r} is not b − a = {b - a!r}")
    _need(-1.0 <= lo <= d + 1e-12 and d - 1e-12 <= hi <= 1.0, f"KPI_RATE_CHANGE: interval {lo!r}, {hi!r} of {d!r}")
    _need(0.0 <= p <= 1.0, f"KPI_RATE_CHANGE: a p-value {p!r} outside [0, 1]")
    _need(str(df["label"].iloc[-1]).startswith("p-value ("), f"KPI_RATE_CHANGE: last label {df['label'].iloc[-1]!r}")


TABLE_CHECKS: dict[str, Callable[[Any, list[Any]], None]] = {
    "KPI_MRR_MOVEMENTS": _movements,
    "KPI_MRR_SCHEDULE": _schedule,
    "KPI_COHORT_RETENTION": _cohorts,
    "KPI_SURVIVAL_CURVE": _survival,
    "KPI_MEDIAN_LIFETIME": _median_lifetime,
    "KPI_SBG_FIT": _sbg,
    "KPI_BGNBD_FIT": _bgnbd,
    "KPI_NPS_BREAKDOWN": _breakdown,
    "KPI_RETENTION_FORECAST": _forecast,
    "KPI_SBG_COHORTS": _sbg_cohorts,
    "KPI_CLV_BGNBD": _clv_bgnbd,
    # one value per customer row, NaN on blank rows only: a probability, and a number of purchases ≥ 0
    "KPI_PROB_ALIVE": lambda s, raw: _clv_bgnbd(s, raw, "KPI_PROB_ALIVE", 1.0),
    "KPI_EXPECTED_PURCHASES": lambda s, raw: _clv_bgnbd(s, raw, "KPI_EXPECTED_PURCHASES"),
    "KPI_GAMMA_GAMMA_FIT": _gamma_gamma,
    # one expected spend per customer row (frequency, monetary), NaN on rows blank in both
    "KPI_EXPECTED_SPEND": lambda s, raw: _clv_bgnbd(s, raw, "KPI_EXPECTED_SPEND", aligned=2),
    "KPI_HEALTH_SCORE": _health,
    "KPI_RFM_SUMMARY": _rfm_summary,
    "KPI_RATE_CI": _rate_ci,
    "KPI_RATE_CHANGE": _rate_change,
}


def check_error(spec: Any, err: BaseException) -> None:
    """A clean KPIError whose message names the function."""
    _need(isinstance(err, k.KPIError), f"{spec.excel_name}: raised {type(err).__name__}: {err}")
    msg = str(err)
    _need(msg.startswith(spec.excel_name + ":"), f"{spec.excel_name}: message does not name the function: {msg!r}")
    _need(len(msg) < 2000 and "Traceback" not in msg, f"{spec.excel_name}: an unreadable message: {msg[:200]!r}")
    _need(err.excel_error in EXCEL_ERRORS, f"{spec.excel_name}: unknown Excel error {err.excel_error!r}")
