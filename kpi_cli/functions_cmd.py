"""``kpi functions``: the catalog, or one function's help with a worked example (added by :mod:`kpi_cli.main`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["functions"]


def functions(
    name: Annotated[str | None, typer.Argument(
        help="A function (KPI_NPS or nps) to show in full, or a word (churn) to find in the names and "
             "summaries.")] = None,
    category: Annotated[str | None, typer.Option(
        "--category", "-c", help="Only this category (any case; the first word is enough: marketing, churn).")] = None,
) -> None:
    """List the KPI functions, or show one function's help with an example."""
    from rich.console import Console
    from rich.markup import escape

    import kpi_functions as k
    from kpi_functions import terminal_safe

    from .catalog import find_category, search, suggestions

    console = Console(highlight=False, emoji=False)
    err = Console(stderr=True, highlight=False, emoji=False)
    cat = None
    if category is not None:
        cat = find_category(category)
        if cat is None:
            err.print(f"[red]error:[/red] --category {escape(terminal_safe(repr(category)))} is not a category; "
                      f"use one of: {escape(', '.join(k.CATEGORIES))}", soft_wrap=True)
            raise typer.Exit(2)
    if name:
        try:
            spec = k.get(name)
        except KeyError as e:
            found = search(name, cat)
            if found:
                where = f" in {cat}" if cat else ""
                _catalog(console, found, f"{_count(len(found))}{where} mention{'s' if len(found) == 1 else ''} "
                                         f"{name.strip()!r}; 'kpi functions NAME' shows one in full.")
                return
            close = suggestions(name)
            hint = (f"; did you mean {' or '.join(close)}?" if close else ".") + " Run 'kpi functions' for the list."
            # the user's own text: printed literally (no Rich markup), control characters escaped
            err.print(f"[red]error:[/red] {escape(terminal_safe(e.args[0]))}, and no function's name or summary "
                      f"mentions it{escape(hint)}", soft_wrap=True)
            raise typer.Exit(2)
        _one(console, spec)
        return
    rows = list(k.specs(cat))
    what = f"{_count(len(rows))} in {cat}" if cat else f"{_count(len(rows))} in {len(k.CATEGORIES)} categories"
    _catalog(console, rows, what + "; 'kpi functions NAME' shows one in full.")


def _count(n: int) -> str:
    return f"{n} function{'' if n == 1 else 's'}"


def _catalog(console, rows, footer: str) -> None:
    """One table per category: the Excel name and what it returns (fits 80 columns: the signature is
    in the function's own help)."""
    from rich.markup import escape
    from rich.table import Table

    import kpi_functions as k

    width = max((len(s.excel_name) for s in rows), default=0)  # one name column for every category
    for cat in k.CATEGORIES:
        mine = [s for s in rows if s.category == cat]
        if not mine:
            continue
        t = Table(title=cat, show_header=True, header_style="bold", title_justify="left")
        t.add_column("Excel function", no_wrap=True, min_width=width)
        t.add_column("What it returns")
        for s in mine:
            t.add_row(escape(s.excel_name), escape(s.summary))
        console.print(t)
    console.print(footer, soft_wrap=True)


def _one(console, spec) -> None:
    from rich.markup import escape

    import kpi_functions as k

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
