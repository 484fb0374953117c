"""The ``kpi serve`` backend with two extra functions, for the latency baseline only.

    python -m benchmarks.identity_server --port 8123 [--workers N] [--log-level info]

Starts exactly what ``kpi serve`` starts — the same ASGI app
(:func:`addin.server.create_app`, same request validation, same xlwings
conversion, same adapters, same uvicorn settings) — with two functions added
to its adapters, so a KPI call and its baselines go through one server:

* ``KPI_BENCH_IDENTITY(values)`` returns its argument unchanged (a 10,000-cell
  range comes back as 10,000 cells);
* ``KPI_BENCH_CONSTANT(values)`` reads its argument like any KPI and returns
  0 (the transport and conversion of the request without any KPI work or a
  big answer).

Nothing here is reachable from ``kpi serve`` itself: the functions exist only
in a server started by this module. Configuration is ``kpi serve``'s, from the
``KPI_*`` environment variables (``XLWINGS_LICENSE_KEY`` is required, as for
``kpi serve``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from kpi_functions import Arg, KPISpec

IDENTITY = "KPI_BENCH_IDENTITY"
CONSTANT = "KPI_BENCH_CONSTANT"


def bench_identity(values: Any) -> Any:
    """Return the argument unchanged."""
    return values


def bench_constant(values: Any) -> float:
    """Return 0 whatever the argument."""
    return 0.0


def bench_specs() -> list[KPISpec]:
    arg = Arg("values", "Any range", "range", False)
    return [
        KPISpec(IDENTITY, bench_identity, "Benchmark baseline: returns its argument.", "values", (arg,),
                "Revenue", "table", "table"),
        KPISpec(CONSTANT, bench_constant, "Benchmark baseline: returns 0.", "0", (arg,), "Revenue", "scalar",
                "number"),
    ]


def app_from_env() -> Callable:
    """ASGI factory: ``addin.server.create_app`` with the benchmark functions added."""
    from addin import server
    from addin.server import bridge

    config = server.ServerConfig.from_env()
    bridge.configure(config)  # xlwings must be in server mode before the adapters load
    from addin import adapters

    for spec in bench_specs():
        adapters.ADAPTERS[spec.excel_name] = adapters.build_adapter(spec)
    return server.create_app(config)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8123)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="info")
    a = p.parse_args(argv)
    from addin.server import ServerConfig, bridge

    config = ServerConfig(host=a.host, port=a.port, workers=a.workers)
    os.environ.update(config.to_env())
    # the same uvicorn settings as `kpi serve`
    bridge.run_uvicorn("benchmarks.identity_server:app_from_env", config, a.log_level)


if __name__ == "__main__":
    main()
