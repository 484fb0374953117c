"""Hypothesis profiles of the reliability suite and the figures it counts.

Profiles (applied only to this suite's tests, never loaded globally):

- ``ci`` (default): deterministic (derandomised) and sized so the whole
  reliability suite stays within a few minutes on a CI runner;
- ``deep``: random, ten times the examples — for local runs:
  ``KPI_FUZZ_PROFILE=deep python -m pytest tests/reliability``.

Every test adds what it did to :data:`FIGURES` (cases fuzzed, requests sent,
faults injected, failures). ``conftest.py`` writes them to the JSON file named
by ``KPI_RELIABILITY_FIGURES`` at the end of the session; ``report.py`` turns
that file into the figures table of docs/reliability.md.
"""

from __future__ import annotations

import collections
import os
import threading

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("KPI_FUZZ_PROFILE", "ci").strip().lower() or "ci"
if PROFILE not in ("ci", "deep"):
    raise RuntimeError(f"KPI_FUZZ_PROFILE must be 'ci' or 'deep', not {PROFILE!r}")

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "reliability-ci", max_examples=120, deadline=None, derandomize=True, database=None,
    suppress_health_check=_QUIET, print_blob=True,
)
settings.register_profile(
    "reliability-deep", max_examples=1500, deadline=None, derandomize=False,
    suppress_health_check=_QUIET, print_blob=True,
)

#: Examples per function in the Python fuzz, and per function over HTTP.
LIBRARY_EXAMPLES = {"ci": 120, "deep": 1500}[PROFILE]
HTTP_EXAMPLES = {"ci": 25, "deep": 300}[PROFILE]
#: Model fits (maximum likelihood) are slower; they get a fraction of the examples.
SLOW_FUNCTIONS = {"KPI_BGNBD_FIT": 0.4, "KPI_CLV_BGNBD": 0.4, "KPI_SBG_FIT": 0.6, "KPI_RETENTION_FORECAST": 0.6,
                  "KPI_SBG_COHORTS": 0.4,
                  "KPI_PROB_ALIVE": 0.4, "KPI_EXPECTED_PURCHASES": 0.4}


def fuzz_settings(examples: int) -> settings:
    return settings(settings.get_profile(f"reliability-{PROFILE}"), max_examples=max(examples, 1))


def examples_for(excel_name: str, base: int) -> int:
    return max(int(base * SLOW_FUNCTIONS.get(excel_name, 1.0)), 5)


_LOCK = threading.Lock()
FIGURES: collections.Counter = collections.Counter()
DETAILS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def count(key: str, n: int = 1, detail: str | None = None) -> None:
    """Add ``n`` to the figure ``key`` (and to ``DETAILS[key][detail]``)."""
    with _LOCK:
        FIGURES[key] += n
        if detail is not None:
            DETAILS[key][detail] += n
