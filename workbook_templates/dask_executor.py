"""``kpi build --executor dask --scheduler ADDRESS``: the report tasks on a Dask cluster.

For runs larger than one machine. The planning, the progress bar, the summary
and the exit code stay in the ``kpi build`` process; each report task —
:func:`workbook_templates.batch.run_task`, which never raises and writes its
report atomically — runs on a worker of a ``dask.distributed`` cluster,
through the cluster's ``concurrent.futures`` executor, so everything that
holds for local runs holds here: one failed report does not stop the others,
and a crash or a killed worker leaves the previous report intact (Dask
re-runs a task whose worker died; after its retries it is reported as
failed).

What the cluster needs (checked before any task is sent, with a message
naming the worker that falls short):

* the same version of this package installed on every worker
  (``pip install "kpi-addin[dask]"``);
* the data folder and the output folder at the same paths on every worker
  (a shared file system), the output folder writable;
* preferably single-threaded workers (``dask worker ADDRESS --nthreads 1
  --nworkers N``): building a workbook is CPU-bound Python, and each worker
  process loads the data once and keeps it for its next tasks.

A large report with the MRR engine also takes its MRR tables from the cluster
(:mod:`.cluster_build`, through :func:`dask_client`): the ``kpi build`` process
computes them there before it sends the report tasks.

Needs the optional extra ``kpi-addin[dask]`` (``dask[distributed]``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DaskUnavailable", "dask_client", "dask_executor", "probe_worker"]


class DaskUnavailable(Exception):
    """The Dask run cannot start: extra missing, scheduler unreachable, or workers not fit for the run."""


def probe_worker(data_dir: str, out_dir: str) -> dict[str, Any]:
    """Run on each worker before the tasks: its package version and what it cannot reach."""
    from kpi_functions import __version__

    problems = []
    if not Path(data_dir).is_dir():
        problems.append(f"cannot see the data folder {data_dir}")
    out = Path(out_dir)
    if not out.is_dir():
        problems.append(f"cannot see the output folder {out_dir}")
    elif not os.access(out, os.W_OK):
        problems.append(f"cannot write to the output folder {out_dir}")
    return {"version": __version__, "problems": problems}


@contextlib.contextmanager
def dask_executor(scheduler: str, data_dir: Path, out_dir: Path, *, connect_timeout: float = 20.0,
                  worker_timeout: float = 60.0) -> Iterator[cf.Executor]:
    """Connect to the scheduler, check the workers, and yield a ``concurrent.futures`` executor on them.

    Raises :class:`DaskUnavailable` with a one-line reason when the run cannot start.
    """
    with dask_client(scheduler, data_dir, out_dir, connect_timeout=connect_timeout,
                     worker_timeout=worker_timeout) as client, client.get_executor(pure=False) as executor:
        yield executor


@contextlib.contextmanager
def dask_client(scheduler: str, data_dir: Path, out_dir: Path, *, connect_timeout: float = 20.0,
                worker_timeout: float = 60.0) -> Iterator[Any]:
    """Connect to the scheduler, check the workers, and yield the ``distributed.Client`` (closed after).

    Raises :class:`DaskUnavailable` with a one-line reason when the run cannot start.
    """
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable('--executor dask needs the dask extra: pip install "kpi-addin[dask]"') from None
    from kpi_functions import __version__

    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except (TimeoutError, OSError):
            raise DaskUnavailable(f"the Dask cluster at {scheduler} has no worker "
                                  f"(waited {worker_timeout:.0f} s)") from None
        answers = client.run(probe_worker, str(Path(data_dir).resolve()), str(Path(out_dir).resolve()))
        for worker, answer in sorted(answers.items()):
            if answer["version"] != __version__:
                raise DaskUnavailable(f"Dask worker {worker} has kpi-addin {answer['version']}, this command "
                                      f"{__version__}: install the same version on every worker")
            if answer["problems"]:
                raise DaskUnavailable(f"Dask worker {worker} {'; '.join(answer['problems'])} "
                                      "(data and output folders must be at the same paths on every worker)")
        yield client
    finally:
        client.close()
