"""``kpi`` — one console script; each part of the project registers its commands.

Commands are imported lazily so ``kpi --help`` stays fast and the library
works without the server extras installed.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kpi",
    help="Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder."""


from . import functions_cmd  # noqa: E402,F401  (registers `kpi functions`)

try:  # the add-in commands (`kpi serve`, `kpi lite`)
    from addin import commands as _addin_commands  # noqa: F401
except ImportError:  # pragma: no cover - only while the add-in package is absent
    pass
try:  # the report commands (`kpi build`, `kpi demo`, `kpi templates`)
    from workbook_templates import commands as _template_commands  # noqa: F401
except ImportError:  # pragma: no cover
    pass


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
