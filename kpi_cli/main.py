"""``kpi`` — one console script that composes the parts' commands.

The parts never import ``kpi_cli`` nor each other: each part's ``commands`` module offers
its own Typer app (no callback; the add-in's from ``make_app``, told where the installed
report templates are), and this module adds its commands here, at the top level (``kpi
build``, not ``kpi workbook_templates build``). A part that is not installed is skipped.
The command modules import their heavy dependencies inside the commands, so ``kpi --help``
stays fast and the library works without the server extras installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from . import _typer_bridge
from .functions_cmd import functions

_typer_bridge.install()  # help without Typer's type tags (<bool>, <str>)

#: the distribution that installs the ``kpi`` command (pyproject.toml)
DISTRIBUTION = "kpi-addin"

app = typer.Typer(
    name="kpi",
    help="Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain Click help: every option on its line, its help beside it, readable in 80 columns (Rich's boxed
    # panels gave the help text a fifth of the width)
    rich_markup_mode=None,
)

def version_text() -> str:
    """``kpi 0.1.0``: the installed package's version (importlib.metadata), or why there is none."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"kpi {version(DISTRIBUTION)}"
    except PackageNotFoundError:
        return f"kpi (version unknown: the {DISTRIBUTION} package is not installed; run from a source tree)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Business-KPI formulas for Excel: the function catalog, the add-in backend and the report builder."""


app.command("functions")(functions)


def _installed_templates() -> Path | None:
    """The report templates of workbook_templates (found, not imported), or None."""
    spec = importlib.util.find_spec("workbook_templates")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) / "templates" if locations else None


def _addin_app(part: ModuleType) -> typer.Typer:
    """`kpi serve` offers the installed report templates by default (the add-in never imports them)."""
    sub: typer.Typer = part.make_app(_installed_templates())
    return sub


def _own_app(part: ModuleType) -> typer.Typer:
    sub: typer.Typer = part.app
    return sub


#: the parts whose commands ``kpi`` offers, in the order ``kpi --help`` lists them:
#: (command module, the package that may be absent, the part's Typer app from the module)
PARTS: tuple[tuple[str, str, Callable[[ModuleType], typer.Typer]], ...] = (
    ("addin.commands", "addin", _addin_app),  # `kpi serve`, `kpi lite`
    ("workbook_templates.commands", "workbook_templates", _own_app),  # `kpi build`, `kpi demo`, `kpi templates`
    ("workbook_templates.tables_command", "workbook_templates", _own_app),  # `kpi tables` (on a Dask cluster)
)


def _add_part(module: str, package: str, part_app: Callable[[ModuleType], typer.Typer]) -> None:
    """Add a part's commands; only a part that is not installed is skipped."""
    try:
        part = importlib.import_module(module)
    except ModuleNotFoundError as err:  # the part itself is absent: its commands are not offered
        if err.name != package:
            raise
        return
    app.add_typer(part_app(part))


for _part in PARTS:
    _add_part(*_part)


def _whole_short_help(typer_app: typer.Typer) -> None:
    """``kpi --help`` lists each command with the whole first paragraph of its help, wrapped (Click
    cuts a command's own text at the terminal's width with "...")."""
    import inspect

    for info in typer_app.registered_commands:
        doc = info.help or (inspect.getdoc(info.callback) if info.callback else None)
        if info.short_help is None and doc:
            info.short_help = " ".join(doc.split("\n\n")[0].split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _whole_short_help(group.typer_instance)


_whole_short_help(app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
