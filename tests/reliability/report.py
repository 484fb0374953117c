"""Run the reliability suite and publish its figures.

    python tests/reliability/report.py                 # run (CI profile), print the figures
    python tests/reliability/report.py --write         # … and write them into docs/reliability.md
                                                       #     and the README's reliability section
    KPI_FUZZ_PROFILE=deep python tests/reliability/report.py   # the larger local profile
    python tests/reliability/report.py --from figures.json --write   # render an earlier run
    KPI_FUZZ_PROFILE=deep python tests/reliability/report.py --block deep-figures --write --paths
        tests/reliability/test_fuzz_library.py tests/reliability/test_fuzz_http.py   # the deep fuzz alone

The figures come from counters the tests keep while they run (see
``reliability_figures.py``) and from the test server's own access log; nothing
is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
README = ROOT / "README.md"


def run_suite(extra: list[str], paths: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figures.json"
        env = dict(os.environ, KPI_RELIABILITY_FIGURES=str(path))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, *extra],
                              cwd=ROOT, env=env, check=False)
        wall = time.perf_counter() - t0
        if not path.exists():
            sys.exit(f"the suite wrote no figures (pytest exit {proc.returncode})")
        data = json.loads(path.read_text(encoding="utf-8"))
    data["wall_seconds"] = round(wall, 1)
    data["machine"] = f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} " \
                      f"{platform.machine()}, {os.cpu_count()} CPU"
    return data


def _n(x: float) -> str:
    return f"{x:,}".replace(",", " ") if isinstance(x, int) else f"{x:,.1f}"


def render(d: dict) -> str:
    f = d["figures"]
    det = d.get("details", {})
    out = d.get("outcomes", {})
    load = det.get("load", {})
    by_status = det.get("shared server answers by status", {})
    attack = det.get("requests sent (attack)", {})
    faults = det.get("faults injected", {})
    failures = d["tests_failed"] + f.get("load 5xx", 0) + f.get("load wrong answers", 0) \
        + f.get("5xx answers in the server log", 0)
    def row(what: str, figure: str) -> str:
        return f"| {what} | {figure} |"

    lib = (f"{_n(f.get('library cases', 0))} — {_n(f.get('library results', 0))} results checked against the "
           f"invariants, {_n(f.get('library errors', 0))} clean KPI errors; "
           f"{_n(f.get('library cases compared with a reference', 0))} also compared with a reference formula")
    http = (f"{_n(f.get('HTTP fuzz requests', 0))} — {_n(f.get('HTTP fuzz values checked', 0))} values equal to the "
            f"library's, {_n(f.get('HTTP fuzz Excel errors', 0))} Excel errors as the SPEC orders, "
            f"{_n(f.get('HTTP fuzz 4xx answers', 0))} clean 4xx for malformed ranges")
    att = f"{_n(f.get('requests sent (attack)', 0))}: " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(attack.items()))
    ld = (f"{_n(f.get('load calls', 0))} calls ({_n(load.get('calls', 0))} timed at {load.get('clients', '?')} "
          f"concurrent clients: {_n(load.get('calls per second', 0))} calls/s, median {load.get('median ms', '?')} ms, "
          f"p99 {load.get('p99 ms', '?')} ms); server RSS {load.get('rss before MB', '?')} → "
          f"{load.get('rss after MB', '?')} → {load.get('rss after second round MB', '?')} MB; "
          f"{_n(f.get('load resends after a closed keep-alive connection', 0))} resent after the server closed an "
          "idle keep-alive connection as the request went out")
    log = (f"{_n(f.get('requests answered by the shared server', 0))}: "
           + ", ".join(f"{k}: {_n(v)}" for k, v in sorted(by_status.items())))
    flt = f"{_n(f.get('faults injected', 0))}: " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(faults.items()))
    bad = (f"{_n(f.get('load 5xx', 0) + f.get('5xx answers in the server log', 0))} · "
           f"{_n(f.get('load wrong answers', 0))} · 0")
    tests = f"{_n(out.get('passed', 0))} passed, {_n(out.get('failed', 0))} failed"
    if out.get("xfailed"):
        tests += f", {_n(out['xfailed'])} expected failures (known open issues, marked xfail)"
    head = (f"Run of {d['finished']} ({d['machine']}), profile `{d['profile']}`, "
            f"{_n(d.get('wall_seconds', 0))} s in all.")
    rows = [
        ("library cases", f"Library calls fuzzed (every registry function: {len(det.get('library cases', {}))})", lib),
        ("HTTP fuzz requests", "HTTP fuzz requests (the same strategies as Office.js payloads)", http),
        ("requests sent (attack)", "Attack requests (malformed, oversize, tokens, origins, traversal …)", att),
        ("load calls", "Load test", ld),
        ("slow clients held", "Slow clients held open while others were served", _n(f.get("slow clients held", 0))),
        ("requests answered by the shared server", "Requests answered by the test server (its own access log)", log),
        ("faults injected", "Faults injected into `kpi build`", flt),
    ]
    lines = [head, "", row("What", "Figure"), "|---|---|"]
    lines += [row(what, figure) for key, what, figure in rows if f.get(key)]
    if f.get("requests answered by the shared server") or f.get("load calls"):
        lines.append(row("5xx answers · wrong answers · tracebacks in answers", bad))
    lines += [row("Tests", tests), row("**Failures**", f"**{failures}**")]
    return "\n".join(lines)


def summary(d: dict) -> str:
    f = d["figures"]
    failures = d["tests_failed"] + f.get("load 5xx", 0) + f.get("load wrong answers", 0)
    return (f"Last run: {_n(f.get('library cases', 0))} fuzzed library calls, "
            f"{_n(f.get('HTTP fuzz requests', 0) + f.get('requests sent (attack)', 0) + f.get('load calls', 0))} "
            f"requests against `kpi serve` ({_n(f.get('load calls', 0))} of them under load), "
            f"{_n(f.get('faults injected', 0))} faults injected into `kpi build` — failures: {failures}.")


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"markers {begin} … {end} not found")
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text, count=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write the figures into docs/reliability.md and README.md")
    ap.add_argument("--from", dest="source", type=Path, help="render the figures of an earlier run (JSON)")
    ap.add_argument("--save", type=Path, help="also save the run's figures (JSON) here")
    ap.add_argument("--paths", nargs="+", default=["tests/reliability"], help="what to run (default: the suite)")
    ap.add_argument("--block", default="figures",
                    help="the marked block of docs/reliability.md to write (figures, deep-figures)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = ap.parse_args()
    data = json.loads(args.source.read_text(encoding="utf-8")) if args.source else run_suite(args.pytest_args,
                                                                                              args.paths)
    if args.save:
        args.save.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    table = render(data)
    print(table)
    print()
    print(summary(data))
    if args.write:
        DOC.write_text(replace_between(DOC.read_text(encoding="utf-8"), f"<!-- BEGIN {args.block} -->",
                                       f"<!-- END {args.block} -->", table), encoding="utf-8")
        print(f"wrote the {args.block} of {DOC.relative_to(ROOT)}")
        if args.block == "figures":
            readme = README.read_text(encoding="utf-8")
            README.write_text(replace_between(readme, "<!-- BEGIN reliability-figures -->",
                                              "<!-- END reliability-figures -->", summary(data)), encoding="utf-8")
            print("wrote the README's reliability figures")


if __name__ == "__main__":
    main()
