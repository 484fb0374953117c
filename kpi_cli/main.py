"""``kpi`` — one console script that composes the parts' commands.

The parts never import ``kpi_cli``: each part's ``commands`` module offers its own Typer
``app`` (no callback), and this module adds its commands here, at the top level (``kpi
build``, not ``kpi workbook_templates build``). A part that is not installed is skipped.
The command modules import their heavy dependencies inside the commands, so ``kpi --help``
stays fast and the library works without the server extras installed.
"""

from __future__ import annotations

import importlib

import typer

from .functions_cmd import functions

app = typer.Typer(
    name="kpi",
    help="Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: the parts whose commands ``kpi`` offers, in the order ``kpi --help`` lists them:
#: (command module, the package that may be absent)
PARTS = (
    ("addin.commands", "addin"),  # `kpi serve`, `kpi lite`
    ("workbook_templates.commands", "workbook_templates"),  # `kpi build`, `kpi demo`, `kpi templates`
)


@app.callback()
def _root() -> None:
    """Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder."""


app.command("functions")(functions)


def _add_part(module: str, package: str) -> None:
    """Add a part's commands; only a part that is not installed is skipped."""
    try:
        part = importlib.import_module(module)
    except ModuleNotFoundError as err:  # the part itself is absent: its commands are not offered
        if err.name != package:
            raise
        return
    sub = getattr(part, "app", None)
    if isinstance(sub, typer.Typer) and sub is not app:  # (a part that still registers on `app` itself adds nothing)
        app.add_typer(sub)


for _module, _package in PARTS:
    _add_part(_module, _package)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
