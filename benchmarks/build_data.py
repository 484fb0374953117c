"""The data set of the batch benchmark: 1,000,000 subscription rows in 200 regions.

    python -m benchmarks.build_data OUT_DIR [--subscriptions 1000000] [--segments 200] [--format parquet]

Made from the bundled sample company (:func:`workbook_templates.sample_data.generate`)
by replicating it: replica ``r`` gets its own customer and subscription ids
(``C00001-0007``) and the region ``Region NNN`` (``r`` modulo the number of
segments), until the subscriptions reach the requested count. Marketing and
costs rows are copied per region from one of the sample's regions. The files
are the four data sets of the SaaS dashboard (subscriptions, customers,
marketing, costs) — with ``--all-datasets`` also every other data set of the
sample (orders, NPS, CSAT, tickets, leads, activity: replicated as the
customers are, so ``kpi build --all`` builds every report) — and pass the report loader's checks, so that

    kpi build saas_dashboard --data OUT_DIR --by region --out reports --jobs 2

builds one workbook per region.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = ("subscriptions", "customers", "marketing", "costs")


def region_name(i: int) -> str:
    return f"Region {i + 1:03d}"


def make(n_subscriptions: int = 1_000_000, segments: int = 200, seed: int = 2026,
         every: bool = False) -> dict[str, pd.DataFrame]:
    from workbook_templates.sample_data import generate

    base = generate(seed)
    subs, cust = base["subscriptions"], base["customers"]
    replicas = max(segments, math.ceil(n_subscriptions / len(subs)))
    reps = np.arange(replicas)
    suffix = pd.Series([f"-{r:04d}" for r in reps], dtype="str")
    original_regions = list(dict.fromkeys(cust["region"]))

    # customers: every replica's copy, its ids suffixed, in its region
    c = cust.loc[np.tile(np.arange(len(cust)), replicas)].reset_index(drop=True)
    rep_c = np.repeat(reps, len(cust))
    c["customer_id"] = c["customer_id"] + suffix.to_numpy()[rep_c]
    c["region"] = pd.Series([region_name(r % segments) for r in rep_c], dtype="str")

    s = subs.loc[np.tile(np.arange(len(subs)), replicas)].reset_index(drop=True)
    rep_s = np.repeat(reps, len(subs))
    s["customer_id"] = s["customer_id"] + suffix.to_numpy()[rep_s]
    s["subscription_id"] = s["subscription_id"] + suffix.to_numpy()[rep_s]
    s = s.iloc[:n_subscriptions]
    c = c[c["customer_id"].isin(set(s["customer_id"])) | (rep_c < replicas - 1)].reset_index(drop=True)

    # marketing and costs: per new region, the rows of one of the sample's regions
    out = {"subscriptions": s, "customers": c}
    for name in ("marketing", "costs"):
        df = base[name]
        parts = []
        for i in range(segments):
            part = df[df["region"] == original_regions[i % len(original_regions)]].copy()
            part["region"] = region_name(i)
            parts.append(part)
        out[name] = pd.concat(parts, ignore_index=True)
    if every:  # the other data sets (kpi build --all): each replica's rows, ids suffixed, of the customers kept
        kept = set(c["customer_id"])
        for name, df in base.items():
            if name in out:
                continue
            d = df.loc[np.tile(np.arange(len(df)), replicas)].reset_index(drop=True)
            rep_d = np.repeat(reps, len(df))
            for col in (col for col in d.columns if col.endswith("_id")):
                d[col] = d[col] + suffix.to_numpy()[rep_d]  # a blank id (a lead not converted) stays blank
            if "region" in d.columns:
                d["region"] = pd.Series([region_name(r % segments) for r in rep_d], dtype="str")
            out[name] = d[d["customer_id"].isna() & (rep_d < replicas - 1) | d["customer_id"].isin(kept)] \
                .reset_index(drop=True)
    return out


def write(out_dir: Path, n_subscriptions: int = 1_000_000, segments: int = 200, fmt: str = "parquet",
          every: bool = False) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in make(n_subscriptions, segments, every=every).items():
        path = out_dir / f"{name}.{fmt}"
        for other in ("csv", "parquet", "xlsx"):
            stale = out_dir / f"{name}.{other}"
            if other != fmt and stale.exists():
                stale.unlink()
        if fmt == "parquet":
            df.to_parquet(path, index=False)
        elif fmt == "csv":
            df.to_csv(path, index=False, date_format="%Y-%m-%d")
        else:
            raise ValueError(f"unknown format {fmt!r}")
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--subscriptions", type=int, default=1_000_000)
    p.add_argument("--segments", type=int, default=200)
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--all-datasets", action="store_true",
                   help="also orders, NPS, CSAT, tickets, leads and activity (for kpi build --all)")
    a = p.parse_args(argv)
    for path in write(a.out_dir, a.subscriptions, a.segments, a.format, every=a.all_datasets).values():
        print(f"{path}")


if __name__ == "__main__":
    main()
