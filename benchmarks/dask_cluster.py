"""A ``dask.distributed.LocalCluster`` for the batch benchmark (needs ``kpi-addin[dask]``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def local_cluster(workers: int = 2) -> Iterator[str]:
    """Start a cluster of ``workers`` single-threaded worker processes; yield the scheduler's address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        yield cluster.scheduler_address
