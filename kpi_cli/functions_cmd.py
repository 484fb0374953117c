"""``kpi functions``: the catalog, or one function's help with a worked example (added by :mod:`kpi_cli.main`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["functions"]


def functions(
    name: Annotated[str | None, typer.Argument(help="A function (KPI_NPS or nps) to show in full.")] = None,
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only this category.")] = None,
) -> None:
    """List the KPI functions, or show one function's help with an example."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    import kpi_functions as k

    console = Console()
    if name:
        try:
            spec = k.get(name)
        except KeyError as err:
            from kpi_functions import terminal_safe

            # the user's own text: printed literally (no Rich markup), control characters escaped
            console.print(f"[red]error:[/red] {escape(terminal_safe(err.args[0]))}; run 'kpi functions' for the list")
            raise typer.Exit(2)
        console.print(f"[bold]{escape(spec.signature_text)}[/bold]  ({spec.category})")
        console.print(spec.summary)
        console.print(f"\n[bold]Formula[/bold]  {spec.formula}")
        for c in spec.cautions:  # where popular articles get this KPI wrong (kpi_functions._corrections)
            console.print(f"\n[bold yellow]Caution ({escape(c.topic)})[/bold yellow]  {escape(c.text)}")
            if c.example:
                console.print("\n" + escape(c.example_text))
        console.print("\n[bold]Arguments[/bold]")
        for a in spec.args:
            opt = " (optional" + (f", default {a.default!r})" if a.default is not None else ")") if a.optional else ""
            console.print(f"  {a.name}{escape(opt)}: {escape(a.help)}")
        console.print(f"\n[bold]Returns[/bold]  {spec.shape}, {k.UNITS[spec.unit]}")
        console.print(f"\n[bold]Example[/bold]  {escape(k.example_formula(spec))}")
        console.print(escape(k.example_result_text(spec)))
        console.print(f"\nPython: kpi_functions.{spec.name}   —   help(kpi_functions.{spec.name}) for the full docstring")
        return
    cats = [category] if category else list(k.CATEGORIES)
    for cat in cats:
        rows = list(k.specs(cat))
        if not rows:
            continue
        t = Table(title=cat, show_header=True, header_style="bold", title_justify="left")
        t.add_column("Excel function", no_wrap=True)
        t.add_column("What it returns")
        for s in rows:
            t.add_row(escape(s.signature_text), escape(s.summary))
        console.print(t)
    console.print(f"{len(k.REGISTRY)} functions. 'kpi functions NAME' shows one with an example.")
