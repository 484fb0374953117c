"""What a user would run instead of the MRR table functions: DuckDB SQL and naive pandas.

Every baseline computes the same table as the library (the suite checks that
before timing, and ``tests/test_benchmarks_smoke.py`` checks it on small
data), on the same input: a DataFrame with the columns customer, month, MRR
(or customer, start, end, amount, billing months for the schedule).

* ``duckdb_*`` — one SQL query over the DataFrame (DuckDB scans it in place),
  returning a DataFrame with the library's columns and order.
* ``naive_*`` — the pandas a first attempt looks like: ``groupby(...).apply``
  with a Python function per customer, or a loop over the rows.

Months are handled as integers (months since year 0: ``year * 12 + month −
1``) in SQL, which is both the fastest and the clearest way to step a month.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

MOVEMENT_COLUMNS = [
    "month", "starting MRR", "new", "expansion", "reactivation", "contraction", "churned", "ending MRR",
    "customers at start", "new customers", "reactivated", "churned customers", "customers at end",
]


_CONNECTION: Any = None


def _connect() -> Any:
    """One DuckDB connection for the whole run (a user's session; connecting is not timed twice)."""
    global _CONNECTION
    if _CONNECTION is None:
        import duckdb

        _CONNECTION = duckdb.connect()
    return _CONNECTION


def _columns(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The DataFrame with positional column names the SQL can rely on (no copy of the data)."""
    return df.set_axis(names, axis=1)


#: How a DuckDB user turns each kind of month column into a DATE: a datetime64
#: column is a TIMESTAMP already, ISO text ("2026-03-15") is cast, and Excel
#: serial numbers are days after 1899-12-30 (whole numbers in these tables).
MONTH_SQL = {
    "datetime64": "month",
    "ISO text": "CAST(month AS DATE)",
    "serial": "DATE '1899-12-30' + CAST(month AS INTEGER)",
}


@contextmanager
def _table_t(df: pd.DataFrame, names: list[str], con: Any = None, months: str = "datetime64") -> Iterator[Any]:
    """The connection with ``df`` (columns renamed to ``names``) registered as table ``t`` while inside.

    With ``months`` other than datetime64, ``t`` is a view over the DataFrame
    that converts the month column with :data:`MONTH_SQL` (DuckDB inlines the
    view into each query, so the conversion is part of every timed query).
    """
    con = con or _connect()
    if months == "datetime64":
        con.register("t", _columns(df, names))
    else:
        con.register("t_in", _columns(df, names))
        cols = ", ".join(f"{MONTH_SQL[months]} AS month" if n == "month" else n for n in names)
        con.execute(f"CREATE OR REPLACE TEMP VIEW t AS SELECT {cols} FROM t_in")
    try:
        yield con
    finally:
        if months == "datetime64":
            con.unregister("t")
        else:
            con.execute("DROP VIEW t")
            con.unregister("t_in")


# --------------------------------------------------------------------------
# MRR movements
# --------------------------------------------------------------------------
MOVEMENTS_SQL = """
WITH cells AS (               -- a customer's MRR in a month: the sum of its rows
    SELECT customer, year(month) * 12 + month(month) - 1 AS mi, sum(mrr) AS mrr
    FROM t GROUP BY ALL
),
bounds AS (SELECT min(mi) AS first_m, max(mi) AS last_m FROM cells),
paying AS (
    SELECT customer, mi, mrr,
           lag(mi)  OVER w AS prev_mi,
           lag(mrr) OVER w AS prev_mrr,
           lead(mi) OVER w AS next_mi
    FROM cells WHERE mrr > 0
    WINDOW w AS (PARTITION BY customer ORDER BY mi)
),
flows AS (
    SELECT mi,
           sum(mrr) AS ending,
           count(*) AS at_end,
           sum(mrr) FILTER (WHERE prev_mi IS NULL) AS new,
           count(*) FILTER (WHERE prev_mi IS NULL) AS new_customers,
           sum(mrr - prev_mrr) FILTER (WHERE prev_mi = mi - 1 AND mrr > prev_mrr) AS expansion,
           sum(prev_mrr - mrr) FILTER (WHERE prev_mi = mi - 1 AND mrr < prev_mrr) AS contraction,
           sum(mrr) FILTER (WHERE prev_mi < mi - 1) AS reactivation,
           count(*) FILTER (WHERE prev_mi < mi - 1) AS reactivated
    FROM paying GROUP BY mi
),
churn AS (                    -- paying in m, not in m + 1: churns in m + 1
    SELECT mi + 1 AS mi, sum(mrr) AS churned, count(*) AS churned_customers
    FROM paying, bounds
    WHERE (next_mi IS NULL OR next_mi > mi + 1) AND mi < last_m
    GROUP BY 1
),
months AS (SELECT unnest(range(first_m, last_m + 1)) AS mi FROM bounds)
SELECT make_date(CAST(months.mi // 12 AS INTEGER), CAST(months.mi % 12 + 1 AS INTEGER), 1) AS "month",
       coalesce(lag(f.ending) OVER o, 0)::DOUBLE AS "starting MRR",
       coalesce(f.new, 0)::DOUBLE AS "new",
       coalesce(f.expansion, 0)::DOUBLE AS "expansion",
       coalesce(f.reactivation, 0)::DOUBLE AS "reactivation",
       coalesce(f.contraction, 0)::DOUBLE AS "contraction",
       coalesce(c.churned, 0)::DOUBLE AS "churned",
       coalesce(f.ending, 0)::DOUBLE AS "ending MRR",
       coalesce(lag(f.at_end) OVER o, 0) AS "customers at start",
       coalesce(f.new_customers, 0) AS "new customers",
       coalesce(f.reactivated, 0) AS "reactivated",
       coalesce(c.churned_customers, 0) AS "churned customers",
       coalesce(f.at_end, 0) AS "customers at end"
FROM months LEFT JOIN flows f USING (mi) LEFT JOIN churn c USING (mi)
WINDOW o AS (ORDER BY months.mi)
ORDER BY months.mi
"""


def duckdb_movements(df: pd.DataFrame, con: Any = None, months: str = "datetime64") -> pd.DataFrame:
    """MRR movements in DuckDB SQL over the DataFrame (customer, month, MRR; months of :data:`MONTH_SQL`)."""
    with _table_t(df, ["customer", "month", "mrr"], con, months) as db:
        return db.execute(MOVEMENTS_SQL).df()


def naive_movements(df: pd.DataFrame) -> pd.DataFrame:
    """MRR movements with ``groupby("customer").apply`` and a Python loop over each customer's months.

    Each customer's months are walked in order; the function returns the
    customer's contribution to every month (a small array), and the
    contributions are added up.
    """
    d = _columns(df, ["customer", "month", "mrr"]).copy()
    d["month"] = d["month"].dt.to_period("M")
    cells = d.groupby(["customer", "month"])["mrr"].sum().reset_index()
    months = pd.period_range(cells["month"].min(), cells["month"].max(), freq="M")
    position = {m: i for i, m in enumerate(months)}
    n = len(months)

    def one_customer(g: pd.DataFrame) -> np.ndarray:
        x = [0.0] * n
        for m, v in zip(g["month"], g["mrr"]):
            x[position[m]] = v
        out = np.zeros((n, 12))  # the columns of MOVEMENT_COLUMNS after "month"
        prev, paid_before = 0.0, False
        for i, cur in enumerate(x):
            row = out[i]
            if prev > 0:
                row[0], row[7] = prev, 1  # starting MRR, customers at start
            if cur > 0:
                row[6], row[11] = cur, 1  # ending MRR, customers at end
                if prev > 0:
                    row[2] = max(cur - prev, 0.0)  # expansion
                    row[4] = max(prev - cur, 0.0)  # contraction
                elif paid_before:
                    row[3], row[9] = cur, 1  # reactivation, reactivated
                else:
                    row[1], row[8] = cur, 1  # new, new customers
                paid_before = True
            elif prev > 0:
                row[5], row[10] = prev, 1  # churned, churned customers
            prev = cur
        return out

    parts = cells.groupby("customer", sort=False)[["month", "mrr"]].apply(one_customer)
    total = np.sum(np.stack(parts.to_list()), axis=0)
    out = pd.DataFrame(total, columns=MOVEMENT_COLUMNS[1:])
    out.insert(0, "month", months.to_timestamp())
    for col in MOVEMENT_COLUMNS[8:]:
        out[col] = out[col].astype(np.int64)
    return out


# --------------------------------------------------------------------------
# Cohort retention
# --------------------------------------------------------------------------
def _cohort_sql(width: int, basis: str) -> str:
    measure = "n" if basis == "logo" else "rev"
    denominator = "size" if basis == "logo" else "rev0"
    cols = ",\n       ".join(
        f"CASE WHEN cohort + {j} <= (SELECT last_m FROM bounds) "
        f"THEN coalesce(sum({measure}) FILTER (WHERE k = {j}), 0) / any_value({denominator}) END AS \"month {j}\""
        for j in range(width)
    )
    return f"""
WITH cells AS (
    SELECT customer, year(month) * 12 + month(month) - 1 AS mi, sum(mrr) AS mrr
    FROM t GROUP BY ALL
),
bounds AS (SELECT max(mi) AS last_m FROM cells),
paying AS (SELECT customer, mi, mrr, min(mi) OVER (PARTITION BY customer) AS cohort FROM cells WHERE mrr > 0),
counts AS (
    SELECT cohort, mi - cohort AS k, count(*) AS n, sum(mrr) AS rev FROM paying GROUP BY ALL
),
sizes AS (SELECT cohort, n AS size, rev AS rev0 FROM counts WHERE k = 0)
SELECT make_date(CAST(cohort // 12 AS INTEGER), CAST(cohort % 12 + 1 AS INTEGER), 1) AS cohort,
       any_value(size) AS size,
       {cols}
FROM counts JOIN sizes USING (cohort)
GROUP BY cohort ORDER BY cohort
"""


def duckdb_cohort_retention(df: pd.DataFrame, basis: str = "logo", con: Any = None,
                            months: str = "datetime64") -> pd.DataFrame:
    """The cohort triangle in DuckDB SQL: one query for the month range, one for the triangle."""
    with _table_t(df, ["customer", "month", "mrr"], con, months) as db:
        # the triangle's width (months from the first cohort to the last month) names its columns
        width = db.execute(
            "SELECT max(mi) - min(mi) FILTER (WHERE s > 0) + 1 FROM "
            "(SELECT year(month) * 12 + month(month) - 1 AS mi, sum(mrr) AS s FROM t GROUP BY customer, mi)"
        ).fetchone()[0]
        return db.execute(_cohort_sql(int(width), basis)).df()


def naive_cohort_retention(df: pd.DataFrame, basis: str = "logo") -> pd.DataFrame:
    """The cohort triangle with ``groupby("customer").apply`` (each customer's months since its first)."""
    d = _columns(df, ["customer", "month", "mrr"]).copy()
    d["month"] = d["month"].dt.to_period("M")
    cells = d.groupby(["customer", "month"])["mrr"].sum().reset_index()
    last = cells["month"].max()
    paying = cells[cells["mrr"] > 0]

    def one_customer(g: pd.DataFrame) -> tuple:
        cells = sorted(zip(g["month"], g["mrr"]))
        first = cells[0][0]
        return first, [(m - first).n for m, _ in cells], [v for _, v in cells]

    per_customer = paying.groupby("customer", sort=False)[["month", "mrr"]].apply(one_customer)
    long = pd.DataFrame([(first, k, v) for first, ks, vs in per_customer for k, v in zip(ks, vs)],
                        columns=["cohort", "k", "mrr"])
    if basis == "logo":
        tri = long.pivot_table(index="cohort", columns="k", values="mrr", aggfunc="count", fill_value=0)
        size = tri[0]
        ret = tri.div(size, axis=0).astype(float)
    else:
        tri = long.pivot_table(index="cohort", columns="k", values="mrr", aggfunc="sum", fill_value=0.0)
        size = long[long["k"] == 0].groupby("cohort").size()
        ret = tri.div(tri[0], axis=0)
    width = (last - tri.index.min()).n + 1
    ret = ret.reindex(columns=range(width), fill_value=0.0)
    for cohort in ret.index:  # not yet observed: blank
        ret.loc[cohort, [k for k in ret.columns if (cohort + k) > last]] = np.nan
    ret.columns = [f"month {k}" for k in ret.columns]
    out = pd.DataFrame({"cohort": ret.index.to_timestamp(), "size": size.reindex(ret.index).to_numpy()})
    return pd.concat([out, ret.reset_index(drop=True)], axis=1)


# --------------------------------------------------------------------------
# MRR schedule
# --------------------------------------------------------------------------
SCHEDULE_SQL = """
WITH s AS (
    SELECT customer,
           year(start) * 12 + month(start) - 1 AS first_m,
           year("end") * 12 + month("end") - 2 AS last_m,   -- NULL when open
           amount / billing AS monthly,
           row_number() OVER () AS row_no
    FROM t
),
through AS (SELECT greatest(max(first_m), coalesce(max(last_m) + 1, max(first_m))) AS m FROM s),
spread AS (
    SELECT customer, row_no, unnest(range(first_m, least(coalesce(last_m, through.m), through.m) + 1)) AS mi, monthly
    FROM s, through WHERE monthly > 0
),
firsts AS (SELECT customer, min(row_no) AS first_row FROM s GROUP BY customer)
SELECT customer, make_date(CAST(mi // 12 AS INTEGER), CAST(mi % 12 + 1 AS INTEGER), 1) AS "month",
       sum(monthly) AS "MRR"
FROM spread JOIN firsts USING (customer)
GROUP BY customer, mi, first_row
HAVING sum(monthly) > 0
ORDER BY first_row, mi
"""


def duckdb_schedule(df: pd.DataFrame, con: Any = None) -> pd.DataFrame:
    """The long MRR table of subscriptions in DuckDB SQL (customers in first-row order, then months)."""
    with _table_t(df, ["customer", "start", "end", "amount", "billing"], con) as db:
        return db.execute(SCHEDULE_SQL).df()


def naive_schedule(df: pd.DataFrame) -> pd.DataFrame:
    """The long MRR table by expanding each subscription row into its months in a Python loop."""
    d = _columns(df, ["customer", "start", "end", "amount", "billing"])
    start_m = (d["start"].dt.year * 12 + d["start"].dt.month - 1).tolist()
    end_m = (d["end"].dt.year * 12 + d["end"].dt.month - 1).tolist()  # NaN when open
    known = [m for m in end_m if not math.isnan(m)]
    through = int(max(max(start_m), max(known))) if known else int(max(start_m))
    customers, months, values = [], [], []
    for cust, first, end, amount, billing in zip(d["customer"], start_m, end_m, d["amount"], d["billing"]):
        if amount <= 0:
            continue
        last = through if math.isnan(end) else min(int(end) - 1, through)
        for m in range(int(first), last + 1):  # one row per month the subscription runs at month end
            customers.append(cust)
            months.append(m)
            values.append(amount / billing)
    long = pd.DataFrame({"customer": customers, "mi": months, "MRR": values})
    out = long.groupby(["customer", "mi"], sort=False)["MRR"].sum().reset_index()
    out = out[out["MRR"] > 0]
    order = {c: i for i, c in enumerate(pd.unique(d["customer"]))}
    out = out.assign(_o=out["customer"].map(order)).sort_values(["_o", "mi"])
    month = pd.to_datetime({"year": out["mi"] // 12, "month": out["mi"] % 12 + 1, "day": 1})
    return pd.DataFrame({"customer": out["customer"].to_numpy(), "month": month.to_numpy(),
                         "MRR": out["MRR"].to_numpy()})


# --------------------------------------------------------------------------
# Comparing results
# --------------------------------------------------------------------------
def assert_same_table(ours: pd.DataFrame, theirs: pd.DataFrame, label: str, rtol: float = 1e-9) -> None:
    """Raise AssertionError unless the two tables hold the same values (columns by position)."""
    if ours.shape != theirs.shape:
        raise AssertionError(f"{label}: shape {theirs.shape}, the library's {ours.shape}")
    for j in range(ours.shape[1]):
        a, b = ours.iloc[:, j], theirs.iloc[:, j]
        name = ours.columns[j]
        if pd.api.types.is_datetime64_any_dtype(a.dtype) or pd.api.types.is_datetime64_any_dtype(b.dtype):
            same = (pd.to_datetime(a).to_numpy(dtype="datetime64[D]") == pd.to_datetime(b).to_numpy(dtype="datetime64[D]"))
        elif pd.api.types.is_numeric_dtype(a.dtype):
            x = a.to_numpy(dtype=float)
            y = pd.to_numeric(b).to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=rtol, atol=1e-6) | (np.isnan(x) & np.isnan(y))
        else:
            same = a.astype(str).to_numpy() == b.astype(str).to_numpy()
        if not np.all(same):
            i = int(np.flatnonzero(~np.asarray(same))[0])
            raise AssertionError(f"{label}: column {name!r}, row {i + 1}: baseline {b.iloc[i]!r}, library {a.iloc[i]!r}")
