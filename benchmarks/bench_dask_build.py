"""``kpi build REPORT --layout large`` in-process beside ``--executor dask`` (the MRR tables from the cluster).

    python -m benchmarks.bench_dask_build DATA_DIR [--report saas_dashboard] [--workers 2]
        [--memory-limit 4GiB] [--skip-local]

``DATA_DIR``: a folder of ``python -m benchmarks.build_data DATA_DIR --subscriptions N --segments 1 --format
parquet``. Each build runs as a user runs it, ``kpi build`` in a fresh process under ``/usr/bin/time -v``
(wall time, user CPU, peak resident memory of that process). For the Dask build a scheduler and
``dask worker --nworkers N --nthreads 1 --memory-limit LIMIT`` are started on this machine; each worker's peak
(its ``VmHWM``) is read after the build. Prints a Markdown table and the report's log lines; ``--skip-local``
leaves out the in-process build (at a million subscriptions it needs some 14 GB).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time_v(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, str]:
    """Run ``cmd`` under ``/usr/bin/time -v``; its figures and exit status."""
    with open(log, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=out, stderr=subprocess.PIPE, text=True, env=env,
                           check=False)
    fig = {}
    for key, pat in (("wall", r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)"),
                     ("user", r"User time \(seconds\): (\S+)"), ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)")):
        m = re.search(pat, p.stderr)
        fig[key] = m.group(1) if m else "?"
    fig["exit"] = str(p.returncode)
    return fig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker_peaks(address: str) -> dict[str, int]:
    from distributed import Client

    def hwm() -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))

    with Client(address, set_as_default=False) as c:
        return dict(c.run(hwm))


def _gb(kb: str | int) -> str:
    return f"{int(kb) / 1e6:.2f} GB" if str(kb).isdigit() else str(kb)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--report", default="saas_dashboard")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GiB")
    ap.add_argument("--skip-local", action="store_true")
    a = ap.parse_args(argv)
    bindir = Path(sys.executable).parent
    kpi, dask = str(bindir / "kpi"), str(bindir / "dask")
    env = dict(os.environ)
    out = Path(tempfile.mkdtemp(prefix="bench-dask-build-"))
    base = [kpi, "build", a.report, "--data", str(a.data.resolve()), "--layout", "large", "--log-format", "text",
            "--no-progress"]
    rows = []
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().split()[:3]}")
    if not a.skip_local:
        fig = _time_v([*base, "--out", str(out / "local")], env, out / "local.log")
        rows.append(("in-process", fig, {}))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    with open(out / "scheduler.log", "w") as slog, open(out / "workers.log", "w") as wlog:
        sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=slog, env=env)
        workers = None
        try:
            time.sleep(4)
            workers = subprocess.Popen([dask, "worker", address, "--nworkers", str(a.workers), "--nthreads", "1",
                                        "--memory-limit", a.memory_limit, "--no-dashboard"],
                                       stdout=subprocess.DEVNULL, stderr=wlog, env=env)
            time.sleep(8)
            fig = _time_v([*base, "--out", str(out / "dask"), "--executor", "dask", "--scheduler", address], env,
                          out / "dask.log")
            rows.append(("--executor dask", fig, _worker_peaks(address)))
        finally:
            for p in (workers, sched):
                if p is not None:
                    p.terminate()
                    p.wait(timeout=30)
    with open("/proc/loadavg") as fh:
        print(f"load average after: {fh.read().split()[:3]}")
    print("| build | wall | user CPU (kpi build) | peak (kpi build) | workers' peaks | exit |")
    print("|---|---:|---:|---:|---|---:|")
    for name, fig, peaks in rows:
        w = ", ".join(_gb(v) for v in peaks.values()) or "—"
        print(f"| {name} | {fig['wall']} | {fig['user']} s | {_gb(fig['rss_kb'])} | {w} | {fig['exit']} |")
    for name in ("local", "dask"):
        log = out / f"{name}.log"
        if log.exists():
            for line in log.read_text().splitlines():
                if line.startswith(("note", "step")) or " status=" in line:
                    print(f"{name}: {line[:300]}")
    print(f"workbooks and logs in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
