"""The sample data set: a synthetic SaaS company, seeded and reproducible.

``python -m workbook_templates.sample_data OUT_DIR [--seed N]`` writes the
CSV files described in :mod:`workbook_templates.schema`. The bundled copy in
``workbook_templates/sample_data/`` was made with the defaults and is what
``kpi demo`` reports on.

The company sells three plan tiers (Starter, Growth, Enterprise) billed
monthly, quarterly or annually, in four regions. Customers arrive through
marketing channels at a growing rate, upgrade, downgrade, churn and come
back; they answer NPS surveys, open support tickets (some answered by a CSAT
survey), buy add-ons, and their users leave product activity. Every new
customer converted from a sales lead (the other sales-qualified leads of the
marketing table did not convert); a term contract (quarterly, annual) that
ends does so on its renewal day. Every random
draw comes from one ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FIRST_MONTH", "MONTHS", "SAMPLE_DIR", "generate", "write_csvs"]

SAMPLE_DIR = Path(__file__).parent / "sample_data"
FIRST_MONTH = pd.Timestamp("2024-01-01")
MONTHS = 30  # 2024-01 … 2026-06
ACTIVITY_MONTHS = 6  # product events are kept for the last six months

REGIONS = ("North America", "Europe", "Asia Pacific", "Latin America")
REGION_P = (0.42, 0.31, 0.17, 0.10)
TIERS = ("Starter", "Growth", "Enterprise")
TIER_P = (0.56, 0.34, 0.10)
#: list price per seat and month, and seats drawn per tier (low, high)
PRICE = {"Starter": 29.0, "Growth": 59.0, "Enterprise": 99.0}
SEATS = {"Starter": (1, 5), "Growth": (3, 15), "Enterprise": (10, 60)}
BILLING = (1, 3, 12)
BILLING_P = {"Starter": (0.75, 0.10, 0.15), "Growth": (0.55, 0.15, 0.30), "Enterprise": (0.25, 0.15, 0.60)}
DISCOUNT = {1: 0.0, 3: 0.05, 12: 0.15}
#: acquisition channels (and the marketing channels; Referral has no spend)
CHANNELS = ("Paid search", "Paid social", "Content", "Email", "Events", "Referral")
CHANNEL_P = (0.30, 0.18, 0.20, 0.12, 0.08, 0.12)
CHURN = {"Starter": 0.045, "Growth": 0.025, "Enterprise": 0.012}  # monthly, monthly-billed
ADDONS = {"Onboarding package": 900.0, "Training day": 1500.0, "Extra storage": 240.0, "API pack": 600.0,
          "Premium support": 1200.0}
COMMENTS_GOOD = ("Great product", "- fast onboarding, friendly team", "Love the dashboards",
                 "+1 for the API", "Support answers quickly", "Does what we need")
COMMENTS_BAD = ("Too expensive for what we use", "Reports are slow", "@support never called back",
                "=Missing exports to our BI tool", "Hard to set up permissions")


def _month(i: int) -> pd.Timestamp:
    return FIRST_MONTH + pd.DateOffset(months=i)


def _eom(i: int) -> pd.Timestamp:
    return _month(i + 1) - pd.Timedelta(days=1)


def _day_in_month(rng: np.random.Generator, i: int) -> pd.Timestamp:
    m = _month(i)
    return m + pd.Timedelta(days=int(rng.integers(0, m.days_in_month)))


def _name(rng: np.random.Generator, n: int) -> list[str]:
    a = ("Blue", "North", "Bright", "Silver", "Green", "Rapid", "Clear", "Prime", "Urban", "Solid", "Open", "Swift",
         "Red", "Atlas", "Nova", "Iron", "Cedar", "Harbor", "Summit", "Pixel")
    b = ("Labs", "Logistics", "Health", "Retail", "Analytics", "Foods", "Media", "Systems", "Studio", "Energy",
         "Capital", "Works", "Travel", "Robotics", "Learning", "Legal")
    c = ("Ltd", "Inc", "GmbH", "SA", "LLC", "BV", "Pty", "AB")
    return [f"{a[rng.integers(len(a))]} {b[rng.integers(len(b))]} {c[rng.integers(len(c))]}" for _ in range(n)]


ORDER_RATE = 0.15  #: the customers' mean number of add-on orders in a month they pay (Poisson)
ORDER_RATE_SHAPE = 0.5  #: shape of the gamma spread of the customers' order rates (smaller: more spread)
ORDER_DROPOUT_AB = (1.0, 5.0)  #: beta(a, b) of the chance to stop ordering after an order (mean a / (a + b))


def generate(seed: int = 2026, months: int = MONTHS) -> dict[str, pd.DataFrame]:
    """Generate every data set; returns name -> DataFrame in the schema's column order."""
    if months < 12:
        raise ValueError("the sample company needs at least 12 months")
    rng = np.random.default_rng(seed)

    # ---------------------------------------------------------------- customers
    # arrivals grow from ~11 to ~26 a month, with a seasonal dip in August/December
    arrivals = []
    for i in range(months):
        season = 0.8 if _month(i).month in (8, 12) else 1.0
        arrivals.append(int(rng.poisson((11 + 15 * i / (months - 1)) * season)))
    n = sum(arrivals)
    signup_month = np.repeat(np.arange(months), arrivals)
    cust = pd.DataFrame({
        "customer_id": [f"C{k + 1:05d}" for k in range(n)],
        "name": _name(rng, n),
        "region": rng.choice(REGIONS, size=n, p=REGION_P),
        "plan_tier": rng.choice(TIERS, size=n, p=TIER_P),
        "signup_date": [_day_in_month(rng, int(i)) for i in signup_month],
        "channel": rng.choice(CHANNELS, size=n, p=CHANNEL_P),
    })
    cust["signup_month"] = signup_month

    # ------------------------------------------------------------ subscriptions
    subs: list[dict] = []
    mrr_by_month = np.zeros((n, months))  # month-end MRR, for the other data sets
    tier_idx = {t: k for k, t in enumerate(TIERS)}
    for k, row in cust.iterrows():
        tier = row["plan_tier"]
        seats = int(rng.integers(SEATS[tier][0], SEATS[tier][1] + 1))
        billing = int(rng.choice(BILLING, p=BILLING_P[tier]))
        start = row["signup_date"]
        month = int(row["signup_month"])
        engaged = rng.uniform(0.6, 1.4)  # propensity to stay and grow

        def amount(t: str, s: int, b: int) -> float:
            return round(PRICE[t] * s * b * (1 - DISCOUNT[b]), 2)

        def open_row(t: str, s: int, b: int, d: pd.Timestamp, customer_id: str = row["customer_id"]) -> dict:
            r = {"customer_id": customer_id, "start_date": d, "end_date": pd.NaT,
                 "amount": amount(t, s, b), "billing_months": b, "plan": f"{t} ({s} seats)"}
            subs.append(r)
            return r

        cur = open_row(tier, seats, billing, start)
        active = True
        anchor = month  # month of the last billing anchor (renewals of longer plans)
        i = month
        while i < months:
            if active:
                mrr_by_month[k, i] = cur["amount"] / cur["billing_months"]
                if i + 1 >= months:
                    break
                renewal = (i + 1 - anchor) % cur["billing_months"] == 0
                p_churn = CHURN[tier] / engaged * (cur["billing_months"] if renewal else 0.0) \
                    if cur["billing_months"] > 1 else CHURN[tier] / engaged
                u = rng.uniform()
                day = _day_in_month(rng, i + 1)
                if u < p_churn:  # churn: the subscription ends during the next month
                    # a term contract ends with its term: the same day as it started, months later
                    if cur["billing_months"] > 1:
                        since = i + 1 - ((cur["start_date"].year - FIRST_MONTH.year) * 12
                                         + cur["start_date"].month - 1)
                        day = cur["start_date"] + pd.DateOffset(months=since)
                    cur["end_date"] = day
                    active = False
                elif u < p_churn + 0.022 * engaged:  # expansion: more seats or a higher tier
                    cur["end_date"] = day
                    if tier != "Enterprise" and rng.uniform() < 0.35:
                        tier = TIERS[tier_idx[tier] + 1]
                        seats = max(seats, SEATS[tier][0])
                    else:
                        seats += int(rng.integers(1, max(2, seats // 3) + 1))
                    cur = open_row(tier, seats, cur["billing_months"], day)
                elif u < p_churn + 0.022 * engaged + 0.009 and seats > 1:  # contraction
                    cur["end_date"] = day
                    if tier != "Starter" and rng.uniform() < 0.3:
                        tier = TIERS[tier_idx[tier] - 1]
                        seats = min(max(1, seats - 1), SEATS[tier][1])
                    else:
                        seats = max(1, seats - int(rng.integers(1, max(2, seats // 4) + 1)))
                    cur = open_row(tier, seats, cur["billing_months"], day)
                elif cur["billing_months"] == 1 and rng.uniform() < 0.006:  # switch to annual billing
                    cur["end_date"] = day
                    cur = open_row(tier, seats, 12, day)
                    anchor = i + 1
                i += 1
            else:
                # churned: come back with a small probability after at least one month away
                if i + 1 < months and rng.uniform() < 0.025:
                    day = _day_in_month(rng, i + 1)
                    seats = max(1, seats - 1)
                    cur = open_row(tier, seats, 1, day)
                    active = True
                    anchor = i + 1
                i += 1
    sub = pd.DataFrame(subs)
    sub["subscription_id"] = [f"S{k + 1:06d}" for k in range(len(sub))]

    active_mask = mrr_by_month > 0

    # ------------------------------------------------------------------ orders
    # each paying customer orders add-ons at a rate of its own, gamma-distributed around ORDER_RATE a month (a few
    # buy often, most rarely: the spread the BG/NBD model of the retention report estimates). The rates, products
    # and amounts come from a generator of their own; the main generator makes the draws it made when every
    # customer ordered at 4.5 %, so that the data sets drawn after the orders (surveys, activity, tickets) stay
    # as they were
    orders = []
    products = list(ADDONS)
    orng = np.random.default_rng([seed, 1])
    rate = ORDER_RATE * orng.gamma(ORDER_RATE_SHAPE, 1.0 / ORDER_RATE_SHAPE, size=n)
    drop = orng.beta(ORDER_DROPOUT_AB[0], ORDER_DROPOUT_AB[1], size=n)
    ordering = np.ones(n, dtype=bool)
    for i in range(months):
        idx = np.flatnonzero(active_mask[:, i])
        draws = rng.uniform(size=idx.size)
        for _ in range(int((draws < 0.045).sum())):  # the former orders' draws (product, day, amount)
            rng.integers(len(products)), _day_in_month(rng, i), rng.choice((0.8, 1.0, 1.0, 1.5))
        idx = idx[ordering[idx]]
        for k, count in zip(idx, orng.poisson(rate[idx])):
            order_days = sorted(_day_in_month(orng, i) for _ in range(count))
            for day in order_days:
                p = products[int(orng.integers(len(products)))]
                orders.append({"customer_id": cust.at[k, "customer_id"], "product": p, "order_date": day,
                               "amount": round(ADDONS[p] * orng.choice((0.8, 1.0, 1.0, 1.5)), 2)})
                # after each order a customer may stop ordering add-ons for good (still subscribed): BG/NBD's
                # dropout, with a chance of its own, beta-distributed
                if orng.uniform() < drop[k]:
                    ordering[k] = False
                    break
    order = pd.DataFrame(orders).sort_values("order_date", kind="stable").reset_index(drop=True)
    order["order_id"] = [f"O{k + 1:06d}" for k in range(len(order))]

    # ------------------------------------------------------------- NPS surveys
    nps = []
    tier_arr = cust["plan_tier"].to_numpy()
    for i in range(months):
        idx = np.flatnonzero(active_mask[:, i])
        resp = idx[rng.uniform(size=idx.size) < 0.18]
        drift = 0.6 * i / months  # the product gets a little better
        for k in resp:
            base = {"Starter": 7.4, "Growth": 7.9, "Enterprise": 8.3}[tier_arr[k]] + drift
            score = int(np.clip(np.rint(rng.normal(base, 2.0)), 0, 10))
            comment = ""
            if rng.uniform() < 0.18:
                pool = COMMENTS_GOOD if score >= 9 else COMMENTS_BAD if score <= 6 else COMMENTS_GOOD + COMMENTS_BAD
                comment = pool[int(rng.integers(len(pool)))]
            nps.append({"customer_id": cust.at[k, "customer_id"], "date": _day_in_month(rng, i),
                        "score": score, "comment": comment})
    nps_df = pd.DataFrame(nps).sort_values("date", kind="stable").reset_index(drop=True)
    nps_df.insert(0, "response_id", [f"N{k + 1:06d}" for k in range(len(nps_df))])

    # ------------------------------------------------------------------ tickets
    tickets = []
    end_all = _eom(months - 1) + pd.Timedelta(hours=23, minutes=59)
    for i in range(months):
        idx = np.flatnonzero(active_mask[:, i])
        counts = rng.poisson(0.42, size=idx.size)
        for k, c in zip(idx, counts):
            for _ in range(int(c)):
                day = _day_in_month(rng, i)
                # most tickets arrive in working hours
                hour = rng.normal(13.0, 3.2)
                created = day + pd.Timedelta(minutes=int(np.clip(hour, 0, 23.9) * 60))
                speed = {"urgent": 0.3, "high": 0.6, "normal": 1.0, "low": 1.6}
                prio = str(rng.choice(("low", "normal", "high", "urgent"), p=(0.25, 0.5, 0.2, 0.05)))
                improve = 1.0 - 0.35 * i / months
                first = created + pd.Timedelta(minutes=int(rng.lognormal(np.log(95), 0.9) * speed[prio] * improve))
                resolved = first + pd.Timedelta(minutes=int(rng.lognormal(np.log(900), 1.0) * speed[prio] * improve))
                tickets.append({"customer_id": cust.at[k, "customer_id"], "created_at": created,
                                "first_response_at": first if first <= end_all else pd.NaT,
                                "resolved_at": resolved if resolved <= end_all else pd.NaT,
                                "channel": str(rng.choice(("email", "chat", "phone"), p=(0.5, 0.35, 0.15))),
                                "priority": prio})
    tk = pd.DataFrame(tickets).sort_values("created_at", kind="stable").reset_index(drop=True)
    tk.insert(0, "ticket_id", [f"T{k + 1:06d}" for k in range(len(tk))])

    # ------------------------------------------------------------ CSAT surveys
    resolved = tk[tk["resolved_at"].notna()]
    pick = resolved[rng.uniform(size=len(resolved)) < 0.38]
    hours = (pick["resolved_at"] - pick["created_at"]).dt.total_seconds().to_numpy() / 3600
    mean = 4.5 - 0.6 * np.log1p(hours / 24)
    scores = np.clip(np.rint(rng.normal(mean, 0.8)), 1, 5).astype(int)
    csat = pd.DataFrame({"customer_id": pick["customer_id"].to_numpy(), "ticket_id": pick["ticket_id"].to_numpy(),
                         "date": pick["resolved_at"].dt.normalize().to_numpy(), "score": scores})
    csat = csat.sort_values("date", kind="stable").reset_index(drop=True)
    csat.insert(0, "response_id", [f"R{k + 1:06d}" for k in range(len(csat))])

    # --------------------------------------------------------------- marketing
    first_mrr: dict[str, float] = {}
    for r in sub.itertuples():
        first_mrr.setdefault(r.customer_id, r.amount / r.billing_months)
    cust["first_mrr"] = cust["customer_id"].map(first_mrr)
    conv = {  # visitor->lead, lead->MQL, MQL->SQL, SQL->customer (before noise)
        "Paid search": (0.045, 0.42, 0.38, 0.30), "Paid social": (0.028, 0.35, 0.30, 0.26),
        "Content": (0.035, 0.40, 0.33, 0.28), "Email": (0.060, 0.50, 0.42, 0.33),
        "Events": (0.110, 0.55, 0.48, 0.36), "Referral": (0.080, 0.60, 0.55, 0.45),
    }
    # referral rewards make Referral cost a little too
    cost_per_visitor = {"Paid search": 1.3, "Paid social": 0.9, "Content": 0.3, "Email": 0.15,
                        "Events": 3.2, "Referral": 0.6}
    audience = {"Paid social": 5200.0, "Email": 8800.0}
    mk = []
    grouped = cust.groupby(["signup_month", "channel", "region", "plan_tier"]).agg(
        customers=("customer_id", "size"), mrr=("first_mrr", "sum"))
    for i in range(months):
        for ch in CHANNELS:
            for reg, rp in zip(REGIONS, REGION_P):
                for tier, tp in zip(TIERS, TIER_P):
                    key = (i, ch, reg, tier)
                    c = int(grouped["customers"].get(key, 0))
                    mrr0 = float(grouped["mrr"].get(key, 0.0))
                    v2l, l2m, m2s, s2c = (x * rng.uniform(0.85, 1.15) for x in conv[ch])
                    sql = max(c, round((c + rng.uniform(0.5, 2.0)) / s2c))
                    mql = max(sql, round(sql / m2s))
                    leads = max(mql, round(mql / l2m))
                    visitors = max(leads, round(leads / v2l))
                    spend = round(visitors * cost_per_visitor[ch] * rng.uniform(0.9, 1.1)
                                  * {"Starter": 1.0, "Growth": 1.5, "Enterprise": 3.0}[tier], 2)
                    followers = None
                    if ch in audience:
                        audience_share = audience[ch] * rp * tp * (1.045 ** i) * rng.uniform(0.98, 1.02)
                        followers = round(audience_share)
                    mk.append({"month": _month(i), "channel": ch, "region": reg, "plan_tier": tier,
                               "spend": spend, "visitors": visitors, "leads": leads, "mql": mql, "sql": sql,
                               "customers": c, "revenue": round(mrr0 * 12, 2), "followers": followers})
    mk_df = pd.DataFrame(mk)
    mk_df["followers"] = mk_df["followers"].astype("Int64")

    # ------------------------------------------------------------------- costs
    seg_mrr = pd.DataFrame(mrr_by_month, columns=range(months))
    seg_mrr["region"] = cust["region"]
    seg_mrr["plan_tier"] = cust["plan_tier"]
    by_seg = seg_mrr.groupby(["region", "plan_tier"]).sum()
    costs = []
    for i in range(months):
        for reg in REGIONS:
            for tier in TIERS:
                rev = float(by_seg[i].get((reg, tier), 0.0))
                costs.append({"month": _month(i), "region": reg, "plan_tier": tier,
                              "cogs": round(rev * rng.uniform(0.17, 0.23) + 300, 2),
                              "sales_cost": round(rev * rng.uniform(0.08, 0.12) + 600, 2)})
    cost_df = pd.DataFrame(costs)

    # ---------------------------------------------------------------- activity
    first_day = _month(months - ACTIVITY_MONTHS)
    days = pd.date_range(first_day, _eom(months - 1), freq="D")
    weekday = days.day_of_week.to_numpy() < 5
    month_of_day = np.array([(d.year - FIRST_MONTH.year) * 12 + d.month - 1 for d in days])
    rows_u, rows_d, rows_c = [], [], []
    for k in range(n):
        if not active_mask[k, months - ACTIVITY_MONTHS:].any():
            continue
        users = 1 + (1 if tier_arr[k] == "Enterprise" or rng.uniform() < 0.15 else 0)
        for u in range(users):
            propensity = rng.beta(1.4, 7.0)  # of activity on a day
            on = active_mask[k, month_of_day] & (rng.uniform(size=days.size)
                                                 < np.where(weekday, propensity, propensity * 0.25))
            d = days[on]
            rows_u.append(np.full(d.size, f"U{k + 1:05d}-{u + 1}"))
            rows_d.append(d.to_numpy())
            rows_c.append(np.full(d.size, cust.at[k, "customer_id"]))
    act = pd.DataFrame({"user_id": np.concatenate(rows_u), "date": np.concatenate(rows_d),
                        "customer_id": np.concatenate(rows_c)})
    act = act.sort_values(["date", "user_id"], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------- leads
    # the sales-qualified leads of the marketing table: each new customer converted from one (created a
    # channel-typical number of days before the signup), the others have not converted
    median_days = {"Paid search": 12, "Paid social": 18, "Content": 25, "Email": 15, "Events": 40, "Referral": 10}
    by_group = cust.groupby(["signup_month", "channel", "region", "plan_tier"]).indices
    lead_rows: list[dict] = []
    for r in mk_df.itertuples(index=False):
        i = int((r.month.year - FIRST_MONTH.year) * 12 + r.month.month - 1)
        members = by_group.get((i, r.channel, r.region, r.plan_tier), ())
        for k in members:
            signup = cust.at[int(k), "signup_date"]
            days = int(np.rint(rng.lognormal(np.log(median_days[r.channel]), 0.6)))
            lead_rows.append({"created_date": signup - pd.Timedelta(days=days), "converted_date": signup,
                              "channel": r.channel, "region": r.region, "plan_tier": r.plan_tier,
                              "customer_id": cust.at[int(k), "customer_id"]})
        for _ in range(int(r.sql) - len(members)):
            lead_rows.append({"created_date": _day_in_month(rng, i), "converted_date": pd.NaT,
                              "channel": r.channel, "region": r.region, "plan_tier": r.plan_tier,
                              "customer_id": None})
    leads = pd.DataFrame(lead_rows).sort_values("created_date", kind="stable").reset_index(drop=True)
    leads.insert(0, "lead_id", [f"L{k + 1:06d}" for k in range(len(leads))])

    from .schema import DATASETS

    out = {
        "customers": cust, "subscriptions": sub, "orders": order, "nps_responses": nps_df,
        "csat_responses": csat, "tickets": tk, "marketing": mk_df, "leads": leads, "costs": cost_df,
        "activity": act,
    }
    # schema order; optional columns the sample company does not have (currency) are left out
    return {name: df[[c for c in DATASETS[name].column_names if c in df.columns]].reset_index(drop=True)
            for name, df in out.items()}


def _format(df: pd.DataFrame, name: str) -> pd.DataFrame:
    from .schema import DATASETS

    ds = DATASETS[name]
    out = df.copy()
    for c in ds.columns:
        if c.name not in out.columns:  # an optional column the sample does not have
            continue
        s = out[c.name]
        if c.type == "date":
            out[c.name] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif c.type == "datetime":
            out[c.name] = s.dt.strftime("%Y-%m-%dT%H:%M").fillna("")
        elif c.type == "month":
            out[c.name] = s.dt.strftime("%Y-%m")
    return out


def write_csvs(out_dir: Path | str, seed: int = 2026, months: int = MONTHS) -> dict[str, Path]:
    """Generate the data set and write one CSV per data set into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in generate(seed, months).items():
        p = out_dir / f"{name}.csv"
        _format(df, name).to_csv(p, index=False, lineterminator="\n")
        written[name] = p
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the synthetic SaaS sample data set as CSV files.")
    ap.add_argument("out", nargs="?", default=str(SAMPLE_DIR), help="output folder (default: the bundled copy)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--months", type=int, default=MONTHS)
    a = ap.parse_args(argv)
    for p in write_csvs(a.out, a.seed, a.months).values():
        with open(p, encoding="utf-8") as fh:
            print(f"{p}  {sum(1 for _ in fh) - 1} rows")


if __name__ == "__main__":  # pragma: no cover
    main()
