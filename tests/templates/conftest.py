"""Fixtures for the report tests: the demo reports built once per session, with their manifests."""

from __future__ import annotations

import pytest
from report_helpers import Built

from workbook_templates.batch import SAMPLE_DIR, atomic_build
from workbook_templates.context import scope
from workbook_templates.data import load_all
from workbook_templates.make_templates import SOURCE_LABEL
from workbook_templates.reports import REPORTS


@pytest.fixture(scope="session")
def sample_tables():
    tables, errors = load_all(SAMPLE_DIR)
    assert errors == {}
    return tables


@pytest.fixture(scope="session")
def demo(tmp_path_factory, sample_tables) -> dict[str, Built]:
    """Every report built from the bundled sample data (what `kpi demo` writes)."""
    out = tmp_path_factory.mktemp("demo")
    built = {}
    for key, spec in REPORTS.items():
        data = scope(sample_tables, spec.datasets, None, None, SOURCE_LABEL)
        res = atomic_build(spec, data, out / f"{key}.xlsx")
        built[key] = Built(key, out / f"{key}.xlsx", res)
    return built


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of two single-threaded worker processes on loopback (the distributed tests); its
    scheduler's address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as c:
        yield c.scheduler_address
