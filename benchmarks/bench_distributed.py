"""The MRR tables of 10 k … 10 M subscriptions on a Dask LocalCluster: time and peak memory per worker.

    python -m benchmarks.bench_distributed DATA_DIR [--sizes 10000 100000 1000000 10000000] [--workers 2]
        [--memory-limit 4GiB] [--output docs/benchmarks-dask.md]

For each size, a synthetic Parquet data set (the bundled sample company replicated, each replica with
its own customer ids, as :mod:`benchmarks.build_data` does, written in files of at most 250,000
subscriptions) is made in ``DATA_DIR/SIZE`` unless it is there already; then a fresh LocalCluster of
``--workers`` single-threaded worker processes, each limited to ``--memory-limit``, computes
:func:`workbook_templates.distributed.mrr_tables` (reading, shuffle by customer, schedule, monthly
movements, logo and revenue cohorts). Measured: the wall time of that call, and each worker's peak
resident memory (the kernel's high-water mark of the worker process, which starts fresh for every
size). The results are written as a Markdown table with a log-log plot (SVG) beside it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS_PER_FILE = 250_000
COLS = ["customer_id", "start_date", "end_date", "amount", "billing_months"]


def make_data(folder: Path, n: int) -> list[Path]:
    """``n`` subscriptions in Parquet files of at most :data:`ROWS_PER_FILE` rows (made once, then reused)."""
    from workbook_templates.sample_data import generate

    folder.mkdir(parents=True, exist_ok=True)
    files = max(2, math.ceil(n / ROWS_PER_FILE))
    per_file = math.ceil(n / files)
    paths = [folder / f"part{i:04d}.parquet" for i in range(files)]
    if all(p.exists() for p in paths):
        return paths
    base = generate(2026)["subscriptions"][COLS].reset_index(drop=True)
    done = 0
    for i, path in enumerate(paths):
        rows = min(per_file, n - done)
        idx = np.arange(done, done + rows)
        rep, pos = np.divmod(idx, len(base))
        part = base.iloc[pos].reset_index(drop=True)
        part["customer_id"] = part["customer_id"].to_numpy(dtype=object) + pd.Series(
            [f"-{r:05d}" for r in range(int(rep[0]), int(rep[-1]) + 1)], dtype=object).to_numpy()[rep - rep[0]]
        part.to_parquet(path, index=False)
        done += rows
    return paths


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def measure(paths: list[Path], workers: int, memory_limit: str) -> dict[str, float]:
    from distributed import Client, LocalCluster

    from workbook_templates.distributed import mrr_tables

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                      dashboard_address=":0", host="127.0.0.1") as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        got = mrr_tables([str(p) for p in paths], client)
        seconds = time.perf_counter() - t0
        peaks = client.run(_peak_rss_mb)
    return {"seconds": seconds, "peak_mb": max(peaks.values()), "mrr_rows": got.mrr_rows,
            "partitions": got.partitions, "months": len(got.movements)}


def svg_plot(rows: list[dict[str, float]]) -> str:
    """A log-log plot of time and peak memory per worker against subscriptions, with a line of slope 1."""
    w, h, left, right, top, bottom = 680, 420, 60, 60, 50, 50
    xs = [r["subscriptions"] for r in rows]
    x0, x1 = math.log10(min(xs)) - 0.2, math.log10(max(xs)) + 0.2
    big = rows[-1]
    linear = [big["seconds"] * x / big["subscriptions"] for x in xs]  # time proportional to size

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (w - left - right)

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
           'font-size="12">'), f'<rect width="{w}" height="{h}" fill="white"/>']
    series = (("seconds", "wall time (s)", "#1f77b4", left - 6, "end", 5, "start"),
              ("peak_mb", "peak memory per worker (MB)", "#d62728", w - right + 6, "start", w - 5, "end"))
    for key, label, colour, tx, anchor, lx, lanchor in series:
        values = [r[key] for r in rows] + (linear if key == "seconds" else [])
        lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        hi = max(hi, lo + 1)

        def py(v: float, lo: float = lo, hi: float = hi) -> float:
            return top + (hi - math.log10(v)) / (hi - lo) * (h - top - bottom)

        for e in range(int(lo), int(hi) + 1):
            out.append(f'<text x="{tx}" y="{py(10 ** e) + 4:.1f}" fill="{colour}" text-anchor="{anchor}">'
                       f'{10 ** e:g}</text>')
        if key == "seconds":
            pts = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, linear, strict=True))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-dasharray="4 4"/>')
        pts = " ".join(f"{px(r['subscriptions']):.1f},{py(r[key]):.1f}" for r in rows)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [f'<circle cx="{px(r["subscriptions"]):.1f}" cy="{py(r[key]):.1f}" r="3" fill="{colour}"/>'
                for r in rows]
        out.append(f'<text x="{lx}" y="{top - 20}" fill="{colour}" text-anchor="{lanchor}">{label}</text>')
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 18}" text-anchor="middle">{x:,.0f}</text>')
    out.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>')
    out.append(f'<text x="{w / 2}" y="{h - 10}" text-anchor="middle">subscriptions (log scale); dashed: '
               'time proportional to size, through the largest run</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown(rows: list[dict[str, float]], workers: int, memory_limit: str, load: tuple[float, float],
             plot_name: str, command: str) -> str:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Benchmark: the MRR tables on a Dask cluster", "",
           f"Generated by `{command}` on {now}. Do not edit by hand: run the command again.", "",
           (__doc__ or "").split("\n\n", 2)[2].strip(), "",
           (f"Cluster: a LocalCluster of {workers} worker processes, one thread each, memory limit {memory_limit} "
           f"per worker, on this machine ({os.cpu_count()} cores). The machine is shared with other people's "
           f"work: load average {load[0]:.2f} at the start and {load[1]:.2f} at the end of the run, so the times "
           "are pessimistic."), "",
           ("| Subscriptions | MRR rows | Partitions | Months | Wall time | Peak memory per worker | "
           "Time per million subscriptions |"),
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['subscriptions']:,.0f} | {r['mrr_rows']:,.0f} | {r['partitions']:.0f} | {r['months']:.0f} "
                   f"| {r['seconds']:.1f} s | {r['peak_mb']:,.0f} MB | "
                   f"{r['seconds'] / r['subscriptions'] * 1e6:.1f} s |")
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        slope = math.log(b["seconds"] / a["seconds"]) / math.log(b["subscriptions"] / a["subscriptions"])
        out += ["", (f"Slope of log time against log size between the two largest sizes: {slope:.2f} "
                    "(1 = linear cost).")]
    out += ["", f"![time and peak memory per worker against subscriptions, log-log]({plot_name})", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="4GiB")
    p.add_argument("--output", type=Path, default=None, help="Markdown file to write (the plot beside it)")
    a = p.parse_args(argv)
    load0 = os.getloadavg()[0]
    rows = []
    for n in sorted(a.sizes):
        paths = make_data(a.data_dir / str(n), n)
        r = {"subscriptions": float(n), **measure(paths, a.workers, a.memory_limit)}
        rows.append(r)
        print(f"{n:>11,} subscriptions: {r['seconds']:8.1f} s, peak {r['peak_mb']:7,.0f} MB per worker, "
              f"{r['mrr_rows']:,} MRR rows in {r['partitions']} partitions", flush=True)
    if a.output is not None:
        plot = a.output.with_suffix(".svg")
        plot.write_text(svg_plot(rows), encoding="utf-8")
        args = " ".join(argv if argv is not None else __import__("sys").argv[1:])
        a.output.write_text(markdown(rows, a.workers, a.memory_limit, (load0, os.getloadavg()[0]), plot.name,
                                     f"python -m benchmarks.bench_distributed {args}"), encoding="utf-8")
        print(f"wrote {a.output} and {plot}")


if __name__ == "__main__":
    main()
