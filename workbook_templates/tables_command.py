"""``kpi tables``: the MRR tables of a subscription data set too large for one machine, on a Dask cluster.

Writes the tables :func:`workbook_templates.distributed.mrr_tables` computes — movements, logo and
revenue cohorts and, with ``--start``/``--end``, the per-customer MRR at two month ends — as CSV files,
identical to what the library gives on the whole data on one machine (money to rounding).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

__all__ = ["app", "tables"]

app = typer.Typer(add_completion=False)


def _fail(message: str) -> NoReturn:
    from kpi_functions import terminal_safe

    typer.echo(f"Error: {terminal_safe(message)}", err=True)
    raise typer.Exit(1)


def probe_paths(paths: list[str]) -> dict[str, Any]:
    """Run on each worker: its package version and the data paths it cannot see."""
    from kpi_functions import __version__

    return {"version": __version__, "missing": [p for p in paths if "://" not in p and not Path(p).exists()]}


def _check_workers(client: Any, paths: list[str], scheduler: str) -> None:
    from kpi_functions import __version__

    for worker, answer in sorted(client.run(probe_paths, paths).items()):
        if answer["version"] != __version__:
            _fail(f"Dask worker {worker} has kpi-addin {answer['version']}, this command {__version__}: "
                  "install the same version on every worker")
        if answer["missing"]:
            _fail(f"Dask worker {worker} cannot see {answer['missing'][0]} (the data must be at the same path "
                  f"on every worker of {scheduler})")


@app.command("tables")
def tables(
    subscriptions: Annotated[list[Path], typer.Argument(
        help="Subscription files, all CSV or all Parquet (or a folder of them), with the columns "
             "customer_id, start_date, end_date, amount, billing_months and optionally discount.",
        show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for movements.csv, cohorts.csv, "
                                      "revenue_cohorts.csv (and customers.csv).")] = Path("tables"),
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (every worker needs this "
        "package and the data at the same path). Default: a cluster of --workers processes on this machine.",
        show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes of the local cluster "
                                         "(without --scheduler).")] = 2,
    period: Annotated[str, typer.Option("--period", help="Movements by month, quarter or year.")] = "month",
    fiscal_year_start: Annotated[int, typer.Option("--fiscal-year-start", min=1, max=12,
                                                   help="First month of the year (quarters, years).")] = 1,
    through: Annotated[str | None, typer.Option(
        "--through", help="Last month of the schedule (default: the month of the latest date).",
        show_default=False)] = None,
    max_months: Annotated[int | None, typer.Option("--max-months", min=1, help="Most month columns of the "
                                                   "cohort tables (default: all).", show_default=False)] = None,
    start: Annotated[str | None, typer.Option("--start", help="With --end: customers.csv, every customer's "
                                              "MRR at the end of these two months.", show_default=False)] = None,
    end: Annotated[str | None, typer.Option("--end", help="See --start.", show_default=False)] = None,
    partitions: Annotated[int | None, typer.Option(
        "--partitions", min=1, help="Partitions of the shuffle by customer (default: those of the input; a few "
        "hundred thousand subscriptions each).", show_default=False)] = None,
) -> None:
    """MRR movements, cohorts and per-customer MRR of data too large for one machine, on a Dask cluster."""
    from kpi_functions import KPIError

    if period not in ("month", "quarter", "year"):
        _fail(f"--period must be month, quarter or year, got {period!r}")
    if (start is None) != (end is None):
        _fail("--start and --end go together")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        _fail('kpi tables needs the dask extra: pip install "kpi-addin[dask]"')
    from .distributed import mrr_tables

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # a line per shuffle: not for the user

    paths = [str(p.resolve()) if "://" not in str(p) else str(p) for p in subscriptions]
    for p in paths:
        if "://" not in p and not Path(p).exists():
            _fail(f"no such file: {p}")
    t0 = time.perf_counter()
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", host="127.0.0.1")
        try:
            client = Client(cluster if cluster is not None else scheduler, timeout=20, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            _fail(f"cannot reach the Dask scheduler at {scheduler}: {err}")
        with client:
            if scheduler is not None:
                _check_workers(client, paths, scheduler)
            try:
                got = mrr_tables(paths, client, period=period, fiscal_year_start=fiscal_year_start,
                                 through=through, max_months=max_months,
                                 snapshot=(start, end) if start is not None and end is not None else None,
                                 partitions=partitions)
            except (KPIError, ValueError) as err:
                _fail(str(err))
    finally:
        if cluster is not None:
            cluster.close()
    out.mkdir(parents=True, exist_ok=True)
    written = {"movements.csv": got.movements, "cohorts.csv": got.cohorts,
               "revenue_cohorts.csv": got.revenue_cohorts}
    if got.customers is not None:
        written["customers.csv"] = got.customers
    for name, df in written.items():
        df.to_csv(out / name, index=False, date_format="%Y-%m-%d")
    lo, hi = (m.strftime("%Y-%m") for m in got.months)
    typer.echo(f"{got.mrr_rows:,} customer-months from {lo} to {hi} in {got.partitions} partitions, "
               f"{time.perf_counter() - t0:.1f} s: wrote {', '.join(str(out / n) for n in written)}")
