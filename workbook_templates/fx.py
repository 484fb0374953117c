"""Several currencies: every money amount converted to the reporting currency with the ``fx_rates`` data set.

Step 3 of :func:`.data.load_all` (after mapping and invoices, before the customer check):
:func:`convert_currencies` rewrites the money columns (``unit="money"`` in :mod:`.schema`) of every table
whose ``currency`` column names another currency than the reporting one.

- **The reporting currency** is ``DataSettings.currency`` (``kpi build --currency NOK`` or ``currency`` under
  ``[build]`` in the mapping file). Amounts in a table without a currency column, or with the cell blank, are in
  the reporting currency; rows in the reporting currency need no rate. A table naming currencies while no
  reporting currency is given cannot be read (the error says how to give it).
- **Rates**: ``fx_rates`` has one row per month and currency; ``rate`` is units of the reporting currency per
  1 unit of the currency (``month=2026-03, currency=SEK, rate=0.95`` in a NOK report: 1 SEK = 0.95 NOK).
- **Subscriptions** are converted at the rate of the month in which each billing period starts: a row with
  ``billing_months`` k that starts on ``start_date`` has billing periods starting ``start_date + j·k`` months
  (a day past the month's end is its last day, as for any monthly renewal). The row is split at the period
  starts whose rate differs from the one before, so each derived row has one converted amount, and the derived
  rows cover the same days as the original (the MRR schedule's month-end snapshots are unchanged, only their
  amounts): FX moves show at renewals — every month for a monthly plan, once a year for an annual one. Periods
  are converted up to the last month of the data (the latest report month); a later period keeps the rate of
  the last one before it.
- **Other money** (orders, marketing, costs, and any other table with a currency column) converts at the rate of
  its own month (the month of the table's time column).
- **Constant currency** (``DataSettings.fx_constant``, ``kpi build --fx-constant 2026-06``): every amount at that
  one month's rates, so a change in the numbers is a change in the business, not in exchange rates.

A missing rate is a bad row (file, row, the currency and the month it needs); a bad ``fx_rates`` file makes
every table that needs it fail with its problems listed. Nothing is converted silently at another rate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import DataError, Table
from .schema import DATASETS
from .settings import DataSettings

__all__ = ["RATES", "ReportFx", "TableFx", "check_code", "check_month", "convert_currencies", "report_fx"]

RATES = "fx_rates"
_CODE = re.compile(r"[A-Z]{3}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
#: the data set whose amounts are converted per billing period (the others at their own month)
_RENEWING = "subscriptions"
_HOW = ("give the reporting currency with `kpi build --currency CODE` (for example --currency NOK) or "
        'currency = "CODE" under [build] in the data folder\'s kpi.toml')


def check_code(code: str, what: str = "--currency") -> str:
    """``code`` when it is an ISO 4217 code (three upper-case letters); else ValueError naming ``what``."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError(f"{what} {code!r} is not an ISO 4217 currency code (three upper-case letters such as "
                         "NOK, SEK, DKK or EUR)")
    return code


def check_month(text: str, what: str = "--fx-constant") -> str:
    """``text`` when it is a month ``YYYY-MM``; else ValueError naming ``what``."""
    m = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"{what} {text!r} is not a month such as 2026-06")
    return text.strip()


@dataclass(frozen=True)
class TableFx:
    """What conversion a table went through (``Table.fx``)."""

    currency: str  #: the reporting currency
    constant: str | None = None  #: ``YYYY-MM`` for constant-currency reporting; None: each amount's own month
    #: (currency, month ``YYYY-MM``, rate) of every rate the table's rows were converted with
    rates: tuple[tuple[str, str, float], ...] = ()
    currencies: tuple[str, ...] = ()  #: the other currencies its rows were in
    last_month: str | None = None  #: subscriptions: billing periods are converted up to this month
    rates_file: str = ""


@dataclass(frozen=True)
class ReportFx:
    """The conversion behind one report (``ReportData.fx``): what the Notes sheet says."""

    currency: str
    rule: str  #: one sentence: which rates were used for what
    rates: tuple[tuple[str, str, float], ...]  #: the rates used by the report's rows (currency, month, rate)
    converted: tuple[str, ...]  #: the data sets with rows converted


def _months(values: np.ndarray) -> np.ndarray:
    """Month numbers (months since 1970-01; -1 for NaT) of a datetime64 array."""
    m = np.asarray(values, dtype="datetime64[ms]").astype("datetime64[M]")
    out = m.astype(np.int64)
    out[np.isnat(m)] = -1
    return out


def _label(month: int) -> str:
    return str(np.datetime64(int(month), "M"))


def _issue_list(t: Table, limit: int = 10) -> str:
    shown = "; ".join(str(i) for i in t.issues[:limit])
    return shown + (f"; … and {len(t.issues) - limit} more" if len(t.issues) > limit else "")


class _Rates:
    """The ``fx_rates`` table as a lookup (currency, month number) -> rate, checked."""

    def __init__(self, t: Table, reporting: str) -> None:
        self.file = t.file
        df = t.df
        cur = df["currency"].to_numpy(dtype=object)
        month = _months(df["month"].to_numpy())
        rate = df["rate"].to_numpy(dtype=float)
        rows = t.rows
        for i in np.flatnonzero(pd.notna(df["currency"]).to_numpy()):
            if not _CODE.fullmatch(cur[i]):
                t.bad[i] = True
                t.issues.append(t.issue(int(rows[i]), "currency", f"{cur[i]!r} is not an ISO 4217 "
                                         "currency code (three upper-case letters such as SEK)"))
        for i in np.flatnonzero(rate <= 0):
            t.bad[i] = True
            t.issues.append(t.issue(int(rows[i]), "rate", f"{rate[i]:g} is not a rate; a rate is above 0"))
        own = np.flatnonzero((cur == reporting) & np.isfinite(rate) & (rate != 1))
        for i in own:
            t.bad[i] = True
            t.issues.append(t.issue(int(rows[i]), "rate", f"{rate[i]:g} for {reporting}, the reporting "
                                     f"currency: its rate is 1 (units of {reporting} per 1 {reporting})"))
        key = pd.DataFrame({"c": cur, "m": month})
        ok = pd.notna(key["c"]).to_numpy() & (month >= 0)
        dup = (key.duplicated(keep="first").to_numpy() & ok)
        if dup.any():
            first: dict[tuple[str, int], int] = {}
            for i in np.flatnonzero(ok):
                first.setdefault((cur[i], int(month[i])), int(rows[i]))
            for i in np.flatnonzero(dup):
                t.bad[i] = True
                t.issues.append(t.issue(int(rows[i]), "currency", f"{cur[i]} in {_label(month[i])} "
                                         f"repeats the rate of row {first[(cur[i], int(month[i]))]}; month and "
                                         "currency together are unique"))
        t.issues.sort(key=lambda x: (x.row or 0))
        good = ok & ~t.bad
        self.index = pd.MultiIndex.from_arrays([cur[good].astype(str), month[good]])
        self.rate = rate[good]

    def lookup(self, cur: np.ndarray, month: np.ndarray) -> np.ndarray:
        """The rate of each (currency, month number); NaN where fx_rates has none."""
        if not len(cur):
            return np.zeros(0)
        pos = self.index.get_indexer(pd.MultiIndex.from_arrays([cur.astype(str), month.astype(np.int64)]))
        out = np.full(len(cur), np.nan)
        found = pos >= 0
        out[found] = self.rate[pos[found]]
        return out


def _money_columns(t: Table) -> list[str]:
    return [c.name for c in t.dataset.columns if c.unit == "money"]


def _check_codes(t: Table, reporting: str) -> np.ndarray:
    """The rows whose amounts need converting (a currency other than the reporting one); bad codes are issues."""
    cur = t.df["currency"]
    given = cur.notna().to_numpy()
    vals = cur.to_numpy(dtype=object)
    wrong = np.array([bool(g) and not _CODE.fullmatch(str(v)) for g, v in zip(given, vals)], dtype=bool)
    for i in np.flatnonzero(wrong & ~t.bad):  # a row already bad (an earlier step checked it) is named once
        t.bad[i] = True
        t.issues.append(t.issue(int(t.rows[i]), "currency", f"{vals[i]!r} is not an ISO 4217 currency "
                                 "code (three upper-case letters such as NOK)"))
    return given & ~wrong & (vals != reporting) & ~t.bad


def _missing(t: Table, rows: Iterable[int], cur: np.ndarray, months: dict[int, list[int]], rates_file: str,
             reporting: str, why: str) -> None:
    for i in rows:
        ms = sorted(set(months[i]))
        shown = ", ".join(_label(m) for m in ms[:6]) + (f" and {len(ms) - 6} more" if len(ms) > 6 else "")
        t.bad[i] = True
        t.issues.append(t.issue(int(t.rows[i]), "currency", f"no {cur[i]} rate for {shown} in "
                                 f"{rates_file} ({why}; a rate is units of {reporting} per 1 {cur[i]})"))


def _used(cur: np.ndarray, month: np.ndarray, rate: np.ndarray) -> tuple[tuple[str, str, float], ...]:
    if not len(cur):
        return ()
    u = pd.DataFrame({"c": cur.astype(str), "m": month, "r": rate}).drop_duplicates().sort_values(["c", "m"])
    return tuple((c, _label(m), float(r)) for c, m, r in u.itertuples(index=False))


def _convert_at_own_month(t: Table, need: np.ndarray, rates: _Rates, reporting: str,
                          constant: int | None) -> tuple[tuple[str, str, float], ...]:
    """Orders, marketing, costs: each row at the rate of its month (or of the constant month)."""
    df = t.df.copy()
    idx = np.flatnonzero(need)
    cur = df["currency"].to_numpy(dtype=object)
    tc = t.dataset.time_column
    if constant is not None:
        month = np.full(len(df), constant, dtype=np.int64)
    elif tc is not None:
        month = _months(df[tc].to_numpy())
    else:  # pragma: no cover - every money data set has a time column (checked by the tests)
        raise DataError(f"{t.file}: no time column to choose the month of an exchange rate")
    r = rates.lookup(cur[idx], month[idx])
    lost = idx[np.isnan(r)]
    _missing(t, lost.tolist(), cur, {int(i): [int(month[i])] for i in lost}, rates.file, reporting,
             "the row's month" if constant is None else "--fx-constant")
    full = np.full(len(df), np.nan)
    full[idx] = r
    for col in _money_columns(t):
        v = df[col].to_numpy(dtype=float).copy()
        v[idx] = v[idx] * full[idx]
        v[t.bad] = np.nan  # a row that cannot be converted keeps no amount at all
        df[col] = v
    t.df = df
    ok = idx[~np.isnan(r)]
    return _used(cur[ok], month[ok], full[ok])


def _add_months(start: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``start`` plus ``k`` months (datetime64[D]); a day past the new month's end becomes its last day."""
    m0 = start.astype("datetime64[M]")
    day = (start - m0.astype("datetime64[D]")).astype(np.int64)
    m = m0 + k.astype(np.int64)
    length = ((m + 1).astype("datetime64[D]") - m.astype("datetime64[D]")).astype(np.int64)
    return m.astype("datetime64[D]") + np.minimum(day, length - 1)


def _convert_subscriptions(t: Table, need: np.ndarray, rates: _Rates, reporting: str, constant: int | None,
                           last: int) -> tuple[tuple[str, str, float], ...]:
    """Each billing period at the rate of the month it starts in; a row split where that rate changes."""
    df = t.df
    n = len(df)
    if constant is not None:  # one rate per currency: nothing to split
        return _convert_at_own_month(t, need, rates, reporting, constant)
    cur = df["currency"].to_numpy(dtype=object)
    start = df["start_date"].to_numpy(dtype="datetime64[ms]").astype("datetime64[D]")
    end = df["end_date"].to_numpy(dtype="datetime64[ms]").astype("datetime64[D]")
    k = np.nan_to_num(df["billing_months"].to_numpy(dtype=float), nan=1).astype(np.int64)
    idx = np.flatnonzero(need)
    # every billing period of the rows to convert (row i, period j), up to the last month of the data
    sm = _months(start[idx].astype("datetime64[ms]"))
    count = np.maximum((last - sm) // k[idx], 0) + 1
    pi = np.repeat(idx, count)
    pj = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    pstart = _add_months(start[pi], pj * k[pi])
    keep = (pj == 0) | np.isnat(end[pi]) | (pstart < end[pi])
    pi, pj, pstart = pi[keep], pj[keep], pstart[keep]
    pmonth = _months(pstart.astype("datetime64[ms]"))
    prate = rates.lookup(cur[pi], pmonth)
    lost = np.isnan(prate)
    if lost.any():
        months: dict[int, list[int]] = {}
        for i, m in zip(pi[lost].tolist(), pmonth[lost].tolist()):
            months.setdefault(i, []).append(m)
        _missing(t, months, cur, months, rates.file, reporting, "a billing period starts then")
        drop = np.isin(pi, np.array(list(months), dtype=np.int64))
        pi, pj, pstart, pmonth, prate = pi[~drop], pj[~drop], pstart[~drop], pmonth[~drop], prate[~drop]
    used = _used(cur[pi], pmonth, prate)
    # pieces: the first period of a row and every period whose rate differs from the one before
    first = pj == 0
    new = first.copy()
    new[1:] |= prate[1:] != prate[:-1]
    qi, qstart, qrate = pi[new], pstart[new], prate[new]
    # each piece ends where the next piece of its row starts; the last piece where the row ends
    qend = end[qi].copy()
    same_next = np.zeros(len(qi), dtype=bool)
    same_next[:-1] = qi[1:] == qi[:-1]
    qend[:-1][same_next[:-1]] = qstart[1:][same_next[:-1]]
    # the rows not converted (reporting currency, blank, bad): one piece each, as they are
    rest = np.setdiff1d(np.arange(n), qi)
    src = np.concatenate([qi, rest])
    order = np.argsort(src, kind="stable")  # rows in file order, a row's pieces in time order
    src = src[order]
    out = df.iloc[src].reset_index(drop=True)
    starts = np.concatenate([qstart, start[rest]])[order]
    ends = np.concatenate([qend, end[rest]])[order]
    factor = np.concatenate([qrate, np.ones(len(rest))])[order]
    out["start_date"] = starts.astype("datetime64[ms]")
    out["end_date"] = ends.astype("datetime64[ms]")
    bad = t.bad[src]
    for col in _money_columns(t):
        v = out[col].to_numpy(dtype=float) * factor
        v[bad] = np.nan
        out[col] = v
    t.df, t.rows, t.bad = out, t.rows[src], bad
    return used


def _latest_month(tables: dict[str, Table]) -> int:
    """The last month of the data: the latest month any data set's time column reaches (the default
    report month of the report that reads it)."""
    best = -1
    for name, t in tables.items():
        tc = t.dataset.time_column
        if name == RATES or tc is None or not len(t.df):
            continue
        m = _months(t.df[tc].to_numpy())
        if len(m):
            best = max(best, int(m.max()))
    return best


def convert_currencies(tables: dict[str, Table], errors: dict[str, str], settings: DataSettings,
                       data_dir: Path | str = "") -> None:
    """Convert every money column to the reporting currency, in place (see the module docs).

    A table that cannot be converted at all (no reporting currency given, no or a bad fx_rates file) moves
    from ``tables`` to ``errors``; a row that cannot (a bad code, a missing rate) is a bad row with its issue.
    Raises DataError for a malformed ``settings.currency`` or ``settings.fx_constant``.
    """
    reporting = settings.currency
    constant = None
    try:
        if reporting is not None:
            check_code(reporting)
        if settings.fx_constant is not None:
            label = check_month(settings.fx_constant)
            if reporting is None:
                raise ValueError(f"--fx-constant {label} converts to the reporting currency, but none is given: "
                                 + _HOW)
            constant = int(np.datetime64(label, "M").astype(np.int64))
    except ValueError as err:
        raise DataError(str(err)) from None
    with_currency = {name: t for name, t in tables.items()
                     if name != RATES and "currency" in t.df.columns and _money_columns(t)}
    rates_table = tables.get(RATES)
    if reporting is None:
        for name, t in with_currency.items():
            named = sorted(set(t.df["currency"].dropna().astype(str)))
            if named:
                del tables[name]
                errors[name] = (f"{t.file}: its currency column names {', '.join(named[:5])}"
                                f"{' …' if len(named) > 5 else ''}, but no reporting currency is given: {_HOW}")
        return
    last = _latest_month(tables)
    rates: _Rates | None = None
    if rates_table is not None:
        rates = _Rates(rates_table, reporting)
    for name, t in list(tables.items()):
        if name == RATES:
            continue
        fx = TableFx(reporting, settings.fx_constant)
        if name in with_currency:
            need = _check_codes(t, reporting)
            if need.any():
                others = tuple(sorted(set(t.df["currency"].to_numpy(dtype=object)[need].tolist())))
                problem = None
                if rates_table is None:
                    problem = (errors.get(RATES) or f"there is no {RATES} file in {data_dir or 'the data folder'} "
                               f"(expected {' or '.join(DATASETS[RATES].filenames)})")
                    problem = (f"{t.file}: amounts in {', '.join(others)} need exchange rates to {reporting}, but "
                               f"{problem}: columns month, currency, rate = units of {reporting} per 1 unit")
                elif rates_table.issues:
                    problem = (f"{t.file}: amounts in {', '.join(others)} need the exchange rates of "
                               f"{rates_table.file}, which has {len(rates_table.issues)} bad cell(s): "
                               f"{_issue_list(rates_table)}")
                if problem is not None:
                    del tables[name]
                    errors[name] = problem
                    continue
                assert rates is not None and rates_table is not None
                if name == _RENEWING:
                    used = _convert_subscriptions(t, need, rates, reporting, constant, last)
                else:
                    used = _convert_at_own_month(t, need, rates, reporting, constant)
                t.issues.sort(key=lambda x: (x.row or 0))
                fx = TableFx(reporting, settings.fx_constant, used, others,
                             _label(last) if name == _RENEWING and last >= 0 else None, rates_table.file)
        t.fx = fx


def report_fx(tables: Iterable[Table], report_month: pd.Timestamp) -> ReportFx | None:
    """What the Notes sheet says about currencies for a report built from ``tables`` (None: no reporting
    currency). Rates of months after the report month are not listed (no row of the report used them)."""
    ts = [t for t in tables if isinstance(t.fx, TableFx)]
    if not ts:
        return None
    fxs: list[TableFx] = [t.fx for t in ts]
    cur = fxs[0].currency
    converted = [t for t, fx in zip(ts, fxs) if fx.currencies]
    last = report_month.strftime("%Y-%m")
    rates = sorted({r for fx in fxs for r in fx.rates if fx.constant is not None or r[1] <= last})
    if not converted:
        rule = f"All amounts are in {cur}; no row names another currency."
        return ReportFx(cur, rule, (), ())
    others = sorted({c for fx in fxs for c in fx.currencies})
    source = converted[0].fx.rates_file
    names = ", ".join(t.file for t in converted)
    head = (f"Amounts are in {cur}. The rows of {names} in {', '.join(others)} were converted to {cur} with the "
            f"rates of {source} (units of {cur} per 1 unit); the input sheets hold the converted amounts, and "
            "their currency column keeps each row's own currency. ")
    constant = fxs[0].constant
    if constant is not None:
        rule = head + (f"Constant currency: every amount at the rates of {constant}, so changes from month to "
                       "month are changes in the business, not in exchange rates.")
    else:
        sub = next((fx for t, fx in zip(ts, fxs) if t.dataset.name == _RENEWING and fx.currencies), None)
        rule = head + ("Other money (orders, marketing, costs) at the rate of its own month.")
        if sub is not None:
            rule = head + (
                "A subscription's amount is converted at the rate of the month in which each billing period "
                "starts, so exchange-rate moves show at renewals (every month for a monthly plan, once a year for "
                "an annual one); a subscription row is split where that rate changes, so the Subscriptions sheet "
                f"can hold more rows than its file. Billing periods after {sub.last_month} (the last month of the "
                "data) keep the rate of the last one before. Other money (orders, marketing, costs) at the rate "
                "of its own month.")
    return ReportFx(cur, rule, tuple(rates), tuple(t.dataset.name for t in converted))
