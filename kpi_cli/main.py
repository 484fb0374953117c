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


def _register(module: str, package: str) -> None:
    """Import a part's command module; only a part that is not installed is skipped."""
    import importlib

    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:  # the part itself is absent: its commands are not offered
        if err.name != package:
            raise


def _add_addin() -> None:
    """`kpi serve`, `kpi lite`; `kpi serve` offers the installed report templates (workbook_templates')."""
    import importlib.util
    from pathlib import Path

    try:
        from addin.commands import make_app
    except ModuleNotFoundError as err:  # the part itself is absent: its commands are not offered
        if err.name != "addin":
            raise
        return
    spec = importlib.util.find_spec("workbook_templates")  # found, not imported
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    part = make_app(Path(locations[0]) / "templates" if locations else None)
    app.registered_commands.extend(part.registered_commands)  # at the top level, before the later parts


_add_addin()
_register("workbook_templates.commands", "workbook_templates")  # `kpi build`, `kpi demo`, `kpi templates`


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
