"""Invoices as the source of MRR: the ``subscriptions`` (and ``orders``) tables derived from invoice line items.

A billing system exports invoices, not subscription periods. Each line of ``invoices`` carries a
``line_type``:

- **subscription** lines pay for a service period ``[service_start, service_end)``. A line becomes one row of
  the derived ``subscriptions`` table, so the report's live formula (``KPI_MRR_SCHEDULE`` over the
  Subscriptions sheet) applies the same month-end snapshot rule: the line contributes
  ``(amount − discount) ÷ (months of its service period)`` to every month whose last day it serves
  (``service_start ≤ last day < end``, where ``end`` is ``service_end``, cut short by the line's
  ``cancelled_at`` and by the next line of the same ``subscription_id``, which supersedes it from its own
  ``service_start`` — an upgrade or downgrade proration carries the subscription's whole new price for its
  period, as billing systems' proration invoices do; extra seats billed on top of a subscription belong on a
  line of their own ``subscription_id``). A monthly line gives its amount, an annual one a twelfth; a line
  whose amount is all discount (a free trial, amount 0) is not paying. A subscription line with a negative
  amount is a credit for unused time: revenue, never MRR.
- **one_time** lines are revenue, never MRR. Where the data folder has no orders file they become the
  ``orders`` table (product = ``plan``, order date = ``invoice_date``, amount = amount − discount).
- **refund** lines reduce the revenue of the month of their ``invoice_date`` (by the amount, written positive
  or negative) and never MRR.

Months of a service period (:func:`service_months`), following ChartMogul's rule for MRR from invoice line
items with service periods ("How MRR is calculated from prorated invoices", ChartMogul developer docs: the
amount is normalised by the service period's length relative to a full plan period starting where the prorated
period starts): the whole calendar months from ``service_start`` (the same day of the month; the 31st falls on
a shorter month's last day), plus the remaining days ÷ the days of the next whole month from there. A period
from a month's last day to a later month's last day is whole months too (Jan 31 → Feb 28 → Mar 31). So
2026-01-15 → 2026-02-01 is 17/31 of a month (17 days of the month 2026-01-15 → 2026-02-15), and a line of
50 for it has an MRR of 50 × 31/17.

A derived row of a whole-month period keeps the line's amount and discount with ``billing_months`` = the
months; a row of a partial period holds the amount and discount per month (÷ its months) with
``billing_months`` = 1 — in both cases the sheet's formula gives (amount − discount) ÷ months. Every derived
row keeps the file and row of its invoice line (:attr:`Table.rows`), so errors and the Notes point at it; bad
lines are :class:`~.data.RowIssue` s of ``invoices.csv`` like any other data set's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from .data import RowIssue, Table
from .schema import DATASETS
from .settings import DataSettings

__all__ = ["BILLING_SOURCES", "billed_revenue", "derive_billing", "orders_from_invoices", "service_months",
           "subscriptions_from_invoices"]

#: the values of ``settings.billing`` (``kpi build --billing``, ``[build] billing``)
BILLING_SOURCES = ("invoices", "subscriptions")

#: longest billing period a subscriptions row holds (its billing_months maximum)
_MAX_MONTHS = int(DATASETS["subscriptions"].column("billing_months").max or 120)


# --------------------------------------------------------------------------
# Calendar months, vectorised on numpy's day and month numbers
# --------------------------------------------------------------------------
def _days(x: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(pd.Series(x).to_numpy(dtype="datetime64[ms]")).astype("datetime64[D]")


def _add_months(d: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``d`` plus ``k`` calendar months, the day of the month kept (clamped to the month's last day)."""
    m = d.astype("datetime64[M]")
    day = (d - m.astype("datetime64[D]")).astype(np.int64)  # 0-based
    target = m + k.astype(np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


def service_months(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months of the service periods ``[start, end)`` (days, ``end`` after ``start``): ``(months, whole)``.

    ``whole`` is True where the period is a whole number of calendar months (then ``months`` is that
    number exactly); otherwise ``months`` = whole months from ``start`` + remaining days ÷ days of the next
    whole month (see the module's docs).
    """
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    k = (end.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(np.int64)
    k = np.where(_add_months(start, k) > end, k - 1, k)
    k = np.maximum(k, 0)
    anchor = _add_months(start, k)
    whole = (anchor == end) | (_add_months(end, -k) == start)
    nxt = _add_months(start, k + 1)
    rest = (end - anchor).astype(np.int64) / (nxt - anchor).astype(np.int64)
    months = np.where(whole, k.astype(float), k + rest)
    return months, whole & (k > 0)


# --------------------------------------------------------------------------
# Checking the lines
# --------------------------------------------------------------------------
class _Checks:
    """Collects the issues of invoice lines (file, spreadsheet row, column, message)."""

    def __init__(self, t: Table) -> None:
        self.t = t
        self.bad = t.bad.copy()
        self.issues: list[RowIssue] = list(t.issues)

    def flag(self, mask: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        for i in np.flatnonzero(mask):
            self.bad[i] = True
            self.issues.append(self.t.issue(int(self.t.rows[i]), column, message(int(i))))

    def same_within(self, group: str, column: str, what: str) -> None:
        """Every line of one ``group`` (an invoice, a subscription) has the same ``column``."""
        df = self.t.df
        has = np.flatnonzero(df[group].notna().to_numpy() & df[column].notna().to_numpy())
        if not has.size:
            return
        first = _first_of(df[group].to_numpy(dtype=object)[has], has)
        values = df[column].to_numpy(dtype=object)
        differs = values[has] != values[first]
        firsts = dict(zip(has[differs].tolist(), first[differs].tolist(), strict=True))
        mask = np.zeros(len(df), dtype=bool)
        mask[has[differs]] = True
        rows = self.t.rows
        self.flag(mask, column, lambda i: f"{_show(values[i])} differs from the {column} {_show(values[firsts[i]])} "
                                          f"of row {int(rows[firsts[i]])} of the same {what}")


def _first_of(*keys_and_pos: np.ndarray) -> np.ndarray:
    """For each position (the last array), the first position with the same keys (the arrays before it)."""
    *keys, pos = keys_and_pos
    frame = pd.DataFrame({f"k{j}": k for j, k in enumerate(keys)} | {"pos": pos})
    return frame.groupby([f"k{j}" for j in range(len(keys))], sort=False)["pos"].transform("first").to_numpy()


def _show(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    t = repr(v)
    return t if len(t) <= 40 else t[:37] + "..."


def _check_lines(t: Table) -> _Checks:
    """The line-level rules the schema cannot say (the columns' own types and domains are checked on load)."""
    c = _Checks(t)
    df = t.df
    kind = df["line_type"]
    is_sub = (kind == "subscription").to_numpy()
    amount = df["amount"].to_numpy(dtype=float)
    discount = df["discount"].to_numpy(dtype=float)
    start, end, cancel = _days(df["service_start"]), _days(df["service_end"]), _days(df["cancelled_at"])
    c.flag(is_sub & np.isnat(start) & ~t.bad, "service_start",
           lambda i: "is blank; a subscription line needs the first day it pays for")
    c.flag(is_sub & np.isnat(end) & ~t.bad, "service_end",
           lambda i: "is blank; a subscription line needs the day after the last one it pays for")
    both = ~np.isnat(start) & ~np.isnat(end)
    c.flag(both & (end <= start) & ~c.bad, "service_end",
           lambda i: f"{end[i]} is not after service_start {start[i]}: the line serves no day")
    months, _ = service_months(np.where(both, start, np.datetime64("2000-01-01")),
                               np.where(both & (end > start), end, np.datetime64("2000-02-01")))
    c.flag(is_sub & both & (end > start) & (months > _MAX_MONTHS), "service_end",
           lambda i: f"the service period {start[i]} to {end[i]} is {months[i]:.4g} months; at most "
                     f"{_MAX_MONTHS} are allowed")
    c.flag(~np.isnat(cancel) & ~np.isnat(start) & (cancel < start), "cancelled_at",
           lambda i: f"{cancel[i]} is before service_start {start[i]}")
    over = ~np.isnan(discount) & ~np.isnan(amount) & (discount > np.abs(amount))
    c.flag(over & (kind != "refund").to_numpy(), "discount",
           lambda i: f"{discount[i]:g} is more than the amount {amount[i]:g}")
    c.flag((kind == "refund").to_numpy() & ~np.isnan(discount) & (discount > 0), "discount",
           lambda i: f"{discount[i]:g} on a refund line; give the amount paid back, after any discount, as amount")
    c.flag((kind == "one_time").to_numpy() & (amount < 0), "amount",
           lambda i: f"{amount[i]:g} is negative on a one-time line; money paid back is a refund line")
    c.same_within("invoice_id", "customer_id", "invoice")
    c.same_within("invoice_id", "invoice_date", "invoice")
    c.same_within("subscription_id", "customer_id", "subscription")
    # two lines of one subscription starting the same day: which one holds is not said
    sid = df["subscription_id"].to_numpy(dtype=object)
    keyed = np.flatnonzero(is_sub & ~(amount < 0) & pd.notna(sid) & ~np.isnat(start))  # credits supersede nothing
    if keyed.size:
        first = _first_of(sid[keyed], start[keyed], keyed)
        dup = first != keyed
        firsts = dict(zip(keyed[dup].tolist(), first[dup].tolist(), strict=True))
        mask = np.zeros(len(df), dtype=bool)
        mask[keyed[dup]] = True
        c.flag(mask & ~c.bad, "service_start",
               lambda i: f"{start[i]} is also the service_start of row {int(t.rows[firsts[i]])} of subscription "
                         f"{_show(sid[i])}; which of the two lines holds is not said")
    return c


def _line_numbers(df: pd.DataFrame) -> np.ndarray:
    """Each line's position within its invoice, counted from 1 in file order."""
    return df.groupby("invoice_id", sort=False).cumcount().to_numpy() + 1


def _line_ids(df: pd.DataFrame, which: np.ndarray) -> np.ndarray:
    inv = df["invoice_id"].to_numpy(dtype=object)[which]
    num = _line_numbers(df)[which]
    return np.array([f"{a}/{b}" for a, b in zip(inv.tolist(), num.tolist(), strict=True)], dtype=object)


def _issues_of(checks: _Checks, t: Table, which: np.ndarray) -> tuple[list[RowIssue], np.ndarray]:
    rows = set(t.rows[which].tolist())
    return [i for i in checks.issues if i.row is None or i.row in rows], checks.bad[which]


# --------------------------------------------------------------------------
# The derived tables
# --------------------------------------------------------------------------
def subscriptions_from_invoices(inv: Table, checks: _Checks | None = None) -> Table:
    """The ``subscriptions`` table of the subscription lines of ``inv`` (credits, amount < 0, left out)."""
    checks = checks or _check_lines(inv)
    df = inv.df
    amount_all = df["amount"].to_numpy(dtype=float)
    which = np.flatnonzero((df["line_type"] == "subscription").to_numpy() & ~(amount_all < 0))
    n = which.size
    start = _days(df["service_start"])[which]
    end = _days(df["service_end"])[which]
    cancel = _days(df["cancelled_at"])[which]
    amount = amount_all[which]
    discount = np.nan_to_num(df["discount"].to_numpy(dtype=float)[which], nan=0.0)
    sid = df["subscription_id"].to_numpy(dtype=object)[which]

    # a later line of the same subscription supersedes this one from its service_start
    nxt = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    keyed = np.flatnonzero(pd.notna(sid) & ~np.isnat(start))
    if keyed.size:
        order = keyed[np.lexsort((start[keyed], pd.factorize(sid[keyed])[0]))]
        same = sid[order][1:] == sid[order][:-1]
        later = start[order][1:]
        nxt[order[:-1][same]] = later[same]
    stop = end.copy()
    for cut in (cancel, nxt):
        earlier = ~np.isnat(cut) & (np.isnat(stop) | (cut < stop))
        stop[earlier] = cut[earlier]

    ok = ~np.isnat(start) & ~np.isnat(end) & (end > start)
    months, whole = service_months(np.where(ok, start, np.datetime64("2000-01-01")),
                                   np.where(ok, end, np.datetime64("2000-02-01")))
    per = np.where(whole, 1.0, months)
    billing = np.where(whole, months, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        amt = np.where(ok, amount / per, np.nan)
        disc = np.where(ok, discount / per, np.nan)
    billing = np.where(ok & (months <= _MAX_MONTHS), billing, np.nan)
    qty = df["quantity"].to_numpy(dtype=float)[which]
    qty = np.where(np.isnan(qty), 1.0, qty)
    ds = DATASETS["subscriptions"]
    out = pd.DataFrame({
        "customer_id": df["customer_id"].to_numpy(dtype=object)[which],
        "start_date": start.astype("datetime64[ms]"),
        "end_date": stop.astype("datetime64[ms]"),
        "amount": amt,
        "billing_months": billing,
        "discount": disc,
        "plan": df["plan"].to_numpy(dtype=object)[which],
        "subscription_id": _line_ids(df, which),
        "quantity": qty,
        "currency": df["currency"].to_numpy(dtype=object)[which],
    })[ds.column_names]
    issues, bad = _issues_of(checks, inv, which)
    return Table(ds, out, inv.rows[which], inv.file, issues, bad, list(inv.notices), dialect=inv.dialect,
                 headers=dict(inv.headers))


def orders_from_invoices(inv: Table, checks: _Checks | None = None) -> Table | None:
    """The ``orders`` table of the one-time lines of ``inv`` (None when it has none)."""
    checks = checks or _check_lines(inv)
    df = inv.df
    which = np.flatnonzero((df["line_type"] == "one_time").to_numpy())
    if not which.size:
        return None
    ds = DATASETS["orders"]
    product = df["plan"].to_numpy(dtype=object)[which]
    amount = df["amount"].to_numpy(dtype=float)[which] - np.nan_to_num(df["discount"].to_numpy(dtype=float)[which])
    out = pd.DataFrame({
        "customer_id": df["customer_id"].to_numpy(dtype=object)[which],
        "product": product,
        "order_date": df["invoice_date"].to_numpy(dtype="datetime64[ms]")[which],
        "amount": amount,
        "order_id": _line_ids(df, which),
        "currency": df["currency"].to_numpy(dtype=object)[which],
    })[ds.column_names]
    issues, bad = _issues_of(checks, inv, which)
    rows = inv.rows[which]
    missing = pd.isna(product) & ~bad
    for k in np.flatnonzero(missing):
        issues.append(inv.issue(int(rows[k]), "plan", "is blank; a one-time line needs the product (its plan) to "
                                                        "become an order"))
    bad = bad | missing
    issues.sort(key=lambda x: x.row or 0)
    return Table(ds, out, rows, inv.file, issues, bad, list(inv.notices), dialect=inv.dialect,
                 headers=dict(inv.headers))


def billed_revenue(inv: Table) -> pd.DataFrame:
    """Revenue billed per month of ``invoice_date``, excluding tax: columns ``month``, ``subscriptions``
    (amount − discount of subscription lines), ``one_time`` (the same of one-time lines), ``refunds`` (refund
    lines and credits for unused time, as negative amounts) and ``net`` (their sum). Bad lines are left out
    (they are issues of the table). Revenue, not MRR: an annual line counts in full in the month it is billed.
    """
    df = inv.df
    ok = ~inv.bad & df["invoice_date"].notna().to_numpy() & df["amount"].notna().to_numpy()
    kind = df["line_type"].to_numpy(dtype=object)
    amount = df["amount"].to_numpy(dtype=float)
    net = amount - np.nan_to_num(df["discount"].to_numpy(dtype=float))
    back = (kind == "refund") | ((kind == "subscription") & (amount < 0))
    month = df["invoice_date"].to_numpy(dtype="datetime64[ms]").astype("datetime64[M]").astype("datetime64[ms]")
    frame = pd.DataFrame({
        "month": month[ok],
        "subscriptions": np.where((kind == "subscription") & ~back, net, 0.0)[ok],
        "one_time": np.where(kind == "one_time", net, 0.0)[ok],
        "refunds": np.where(back, -np.abs(amount), 0.0)[ok],
    })
    out = frame.groupby("month", sort=True).sum().reset_index()
    out["net"] = out["subscriptions"] + out["one_time"] + out["refunds"]
    return out


def _checked_subscriptions(t: Table) -> Table:
    """A subscriptions file's own rows: a discount above its amount is bad (currency codes: the currency step)."""
    c = _Checks(t)
    amount = t.df["amount"].to_numpy(dtype=float)
    discount = pd.to_numeric(t.df["discount"], errors="coerce").to_numpy(dtype=float)
    c.flag(~np.isnan(discount) & ~np.isnan(amount) & (discount > amount), "discount",
           lambda i: f"{discount[i]:g} is more than the amount {amount[i]:g}")
    df = t.df
    if df["discount"].dtype == object:  # the column is not in the file: blanks, as numbers (what the KPI reads)
        df = df.assign(discount=discount)
    if df["quantity"].dtype == object:
        df = df.assign(quantity=pd.to_numeric(df["quantity"], errors="coerce").to_numpy(dtype=float))
    c.issues.sort(key=lambda x: x.row or 0)
    return Table(t.dataset, df.reset_index(drop=True), t.rows, t.file, c.issues, c.bad, list(t.notices),
                 dialect=t.dialect, headers=t.headers, fx=t.fx, derived=t.derived)


# --------------------------------------------------------------------------
# The load_all step
# --------------------------------------------------------------------------
def derive_billing(tables: dict[str, Table], errors: dict[str, str], files: Iterable[str],
                   settings: DataSettings) -> None:
    """Step 2 of :func:`.data.load_all`: choose where MRR comes from and derive the tables from invoices.

    ``files`` names the data sets the folder has a file for. With an invoices file (and no subscriptions file,
    or ``settings.billing == "invoices"``) the ``subscriptions`` table is derived from it, and the ``orders``
    table too when the folder has no orders file and the invoices have one-time lines. With both files and no
    ``settings.billing`` the subscriptions data set is an error (reports that need it fail, saying how to
    choose). Without an invoices file its absence is no error: invoices are an alternative.
    """
    files = set(files)
    billing = settings.billing
    wants_subs = "subscriptions" in tables or "subscriptions" in errors  # load_all was asked for it
    wants_orders = "orders" in errors and "orders" not in files

    def fail(message: str) -> None:
        if wants_subs:
            errors["subscriptions"] = message
            tables.pop("subscriptions", None)

    if billing is not None and billing not in BILLING_SOURCES:
        fail(f"billing {billing!r} is not one of {', '.join(BILLING_SOURCES)} (--billing or [build] billing in "
             "the mapping file)")
        return
    if "subscriptions" in tables:
        tables["subscriptions"] = _checked_subscriptions(tables["subscriptions"])
    if "invoices" not in files:
        errors.pop("invoices", None)
        if billing == "invoices":
            fail("billing = invoices, but the data folder has no invoices file "
                 f"(expected {' or '.join(DATASETS['invoices'].filenames)})")
        return
    if "subscriptions" in files and billing is None:
        fail("the data folder has both an invoices file and a subscriptions file; say which one the MRR comes "
             "from: kpi build --billing invoices (or subscriptions), or billing = \"invoices\" in the [build] "
             "table of the mapping file")
        return
    if billing == "subscriptions":
        return
    inv = tables.get("invoices")
    if inv is None:
        fail(errors.get("invoices", "the invoices file was not read"))
        return
    checks = _check_lines(inv)
    tables["invoices"] = Table(inv.dataset, inv.df, inv.rows, inv.file, sorted(checks.issues, key=lambda x: x.row or 0),
                               checks.bad, list(inv.notices), dialect=inv.dialect, headers=inv.headers)
    if wants_subs:
        subs = subscriptions_from_invoices(inv, checks)
        subs.derived = (f"MRR derived from {inv.file}: one row per subscription line (start_date and end_date: "
                        "the days it serves, cut short by a cancellation or by the next line of its subscription; "
                        "subscription_id: invoice_id/line number); partial periods as amount and discount per "
                        "month")
        tables["subscriptions"] = subs
        errors.pop("subscriptions", None)
    orders = orders_from_invoices(inv, checks) if wants_orders else None
    if wants_subs:  # a bad line no derived table holds (a refund, a credit, a one-time line beside an orders file)
        held = set(subs.rows.tolist()) | (set(orders.rows.tolist()) if orders is not None else set())
        for i in checks.issues:  # still fails the reports on these invoices: nothing bad is left out unseen
            if i.row is not None and i.row not in held:
                subs.issues.append(RowIssue(i.file, None, None, f"row {i.row}, column {i.shown_column}: "
                                                                f"{i.message}"))
    if orders is not None:
        orders.derived = (f"Derived from the one-time lines of {inv.file} (no orders file): product = plan, "
                          "order_date = invoice_date, amount = amount − discount, order_id = invoice_id/line number")
        tables["orders"] = orders
        errors.pop("orders", None)
