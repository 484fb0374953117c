"""``python -m benchmarks``: run the groups, print the table, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import ROOT, Figure, figures_json, fmt_ratio, fmt_value, load_average, machine

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Group:
    name: str
    module: str
    title: str
    full: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)


GROUPS: tuple[Group, ...] = (
    Group("scalars", "benchmarks.bench_scalars", "Scalar KPIs on 1,000,000 values",
          {"n": 1_000_000}, {"n": 2_000, "runs": 3, "budget": 0.05}),
    Group("tables", "benchmarks.bench_mrr", "MRR tables against DuckDB and naive pandas",
          {}, {"n_customers": 200, "n_months": 8, "n_subs": 300, "sched_months": 12, "runs": 1}),
    Group("models", "benchmarks.bench_models", "BG/NBD + Gamma-Gamma fits",
          {}, {"n_synthetic": 2_000, "runs": 1}),
    Group("server", "benchmarks.bench_server", "Custom-function calls over HTTP (kpi serve)",
          {}, {"cells": 500, "calls": 5, "seconds": 0.5, "clients": 4, "large_cells": 20_000, "large_rows": 2_000,
               "large_calls_n": 1}),
    Group("reports", "benchmarks.bench_reports", "kpi demo against bare XlsxWriter",
          {}, {"runs": 1}),
    Group("build", "benchmarks.bench_build", "kpi build --by region: segment workbooks, local processes and Dask",
          {}, {"segments": 4, "subscriptions": 12_000, "full_segments": 4, "bare_sample": 1}),
    Group("build-large", "benchmarks.bench_large_build", "kpi build of one large company (large-data layout)",
          {"subscriptions": 200_000}, {"subscriptions": 5_000}),
)
GROUP_NAMES = tuple(g.name for g in GROUPS)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time the KPI library, the add-in backend and the report builder beside their baselines; "
                    "print a table and write docs/benchmarks.md.",
    )
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and single runs: checks that every benchmark runs (figures mean nothing); "
                        "writes no file unless --output is given")
    p.add_argument("--only", nargs="+", choices=GROUP_NAMES, metavar="GROUP",
                   help=f"run only these groups ({', '.join(GROUP_NAMES)})")
    p.add_argument("--skip", nargs="+", choices=GROUP_NAMES, metavar="GROUP", default=[],
                   help="leave these groups out")
    p.add_argument("--full-build", action="store_true",
                   help="build group: the full 200 workbooks from 1,000,000 rows (about 45 minutes on 2 cores) "
                        "instead of 20 workbooks of the same size projected to 200")
    p.add_argument("--output", type=Path, default=None,
                   help="Markdown file to write (default: docs/benchmarks.md after a full run of every group)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--list", action="store_true", help="list the groups and exit")
    return p.parse_args(argv)


def _doc(module: Any) -> str:
    return (module.__doc__ or "").strip()


def run_groups(groups: list[Group], quick: bool, log=print,
               overrides: dict[str, dict[str, Any]] | None = None) -> tuple[list[Figure], dict[str, str], dict[str, float]]:
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    durations: dict[str, float] = {}
    for g in groups:
        log(f"\n== {g.name}: {g.title}")
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(g.module)
            kwargs = dict(g.quick if quick else g.full)
            kwargs.update((overrides or {}).get(g.name, {}))
            figures += module.run(log=lambda s: log(s), **kwargs)
        except Exception as err:  # noqa: BLE001 - a failing group is reported (with its traceback), the others run
            failures[g.name] = f"{type(err).__name__}: {err}"
            log(traceback.format_exc())
            figures.append(Figure(g.name, g.title, "the group failed", float("nan"), note=failures[g.name][:300]))
        durations[g.name] = time.perf_counter() - t0
    return figures, failures, durations


def rich_table(figures: list[Figure]) -> Any:
    from rich.table import Table

    table = Table(title="KPI add-in benchmarks (medians; ratio = ours ÷ baseline)", show_lines=False)
    for col, kw in (("Group", {}), ("Work", {}), ("Case", {"overflow": "fold"}), ("Ours", {"justify": "right"}),
                    ("Baseline", {"overflow": "fold"}), ("Baseline figure", {"justify": "right"}),
                    ("Ratio", {"justify": "right"}), ("Target", {}), ("Status", {})):
        table.add_column(col, **kw)
    for f in figures:
        style = {"met": "green", "MISSED": "bold red"}.get(f.status, "")
        table.add_row(f.group, f.work, f.case, fmt_value(f.value, f.unit), f.baseline,
                      fmt_value(f.baseline_value, f.unit), fmt_ratio(f.ratio), f.target,
                      f"[{style}]{f.status}[/]" if style else f.status)
    return table


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(figures: list[Figure], info: dict[str, Any], groups: list[Group], quick: bool,
             durations: dict[str, float], load_end: float | None, failures: dict[str, str],
             command: str = "python -m benchmarks") -> str:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Benchmarks", ""]
    out.append(f"Generated by `{command}` on {now} "
               f"({sum(durations.values()):.0f} s). Do not edit by hand: run the command again.")
    if quick:
        out += ["", "**Quick run: tiny sizes, single runs. These figures only show that the suite runs.**"]
    out += ["", ("Every figure of the project is paired with a baseline measured in the same run, on the same "
                 "input, runs interleaved; times are medians of wall-clock time. *Ratio* is the project's figure ÷ "
                 "the baseline's (for times: below 1× the project is faster; 0.1× = ten times faster). "
                 "*Status* says whether the target of the performance issue is met; rows without a target are "
                 "context."), ""]
    try:
        busy = float(info["load average at start"]) > 0.5 * info["cores"]
    except (TypeError, ValueError):
        busy = False
    if busy:
        out += [(f"**The machine was busy when the run started (load average {info['load average at start']} on "
                 f"{info['cores']} cores): other processes shared the cores, so times are pessimistic — the "
                 "ratios, measured with runs interleaved, suffer less.**"), ""]
    out += ["## Machine", "", "| | |", "|---|---|"]
    for key in ("cores", "memory", "cpu", "os", "load average at start"):
        out.append(f"| {key} | {info[key]} |")
    out.append(f"| load average at end | {load_end:.2f} |" if load_end is not None else "| load average at end | n/a |")
    out.append("| versions | " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + " |")
    out += ["", "## Summary: the targets", "",
            "| Work | Case | Project | Baseline | Baseline figure | Ratio | Target | Status |",
            "|---|---|---:|---|---:|---:|---|---|"]
    for f in figures:
        if f.ok is None and f.value == f.value:
            continue
        out.append("| " + " | ".join(_md_escape(x) for x in (
            f.work, f.case, fmt_value(f.value, f.unit), f.baseline, fmt_value(f.baseline_value, f.unit),
            fmt_ratio(f.ratio), f.target, f"**{f.status}**" if f.status == "MISSED" else (f.status or "failed"))) + " |")
    missed = [f for f in figures if f.ok is False]
    out += ["", f"{sum(1 for f in figures if f.ok)} targets met, {len(missed)} missed"
            + (f", {len(failures)} group(s) failed to run" if failures else "") + "."]
    for g in groups:
        rows = [f for f in figures if f.group == g.name]
        if not rows:
            continue
        module = importlib.import_module(g.module)
        out += ["", f"## {g.title} (`{g.name}`, {durations.get(g.name, 0):.0f} s)", "", _doc(module), "",
                "| Work | Case | Project | Baseline | Baseline figure | Ratio | Target | Status | Runs | Notes |",
                "|---|---|---:|---|---:|---:|---|---|---:|---|"]
        for f in rows:
            out.append("| " + " | ".join(_md_escape(x) for x in (
                f.work, f.case, fmt_value(f.value, f.unit), f.baseline, fmt_value(f.baseline_value, f.unit),
                fmt_ratio(f.ratio), f.target, f.status, str(f.runs or ""), f.note)) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    a = _parse(argv)
    if a.list:
        for g in GROUPS:
            module = importlib.import_module(g.module)
            print(f"{g.name:10} {g.title}\n{'':10} {_doc(module).splitlines()[0]}")
        return 0
    chosen = [g for g in GROUPS if (a.only is None or g.name in a.only) and g.name not in a.skip]
    if not chosen:
        print("no group to run", file=sys.stderr)
        return 2
    info = machine()
    print(f"{info['cores']} cores, {info['memory']}, {info['cpu']}; load average {info['load average at start']}")
    overrides = {"build": {"segments": 200, "subscriptions": 1_000_000}} if a.full_build and not a.quick else {}
    figures, failures, durations = run_groups(chosen, a.quick, overrides=overrides)
    load_end = load_average()
    from rich.console import Console

    Console(width=200).print(rich_table(figures))
    complete = len(chosen) == len(GROUPS)
    output = a.output if a.output is not None else (DEFAULT_OUTPUT if complete and not a.quick else None)
    if a.no_write:
        output = None
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        shown = [x for x in (argv if argv is not None else sys.argv[1:]) if x not in ("--output", str(a.output))]
        command = " ".join(["python -m benchmarks", *shown])
        tmp.write_text(markdown(figures, info, chosen, a.quick, durations, load_end, failures, command),
                       encoding="utf-8")
        tmp.replace(output)
        print(f"wrote {output}")
    elif not a.no_write:
        print("(not written: docs/benchmarks.md is written by a full run of every group; use --output to write "
              "a partial or quick run elsewhere)")
    if a.json is not None:
        a.json.write_text(json.dumps({"machine": info, "figures": figures_json(figures)}, indent=1, default=str),
                          encoding="utf-8")
    missed = [f for f in figures if f.ok is False]
    print(f"{sum(1 for f in figures if f.ok)} targets met, {len(missed)} missed"
          + (f"; failed groups: {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0
