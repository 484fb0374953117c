"""Render the registry as documentation: example formulas and the function reference.

Pure string building; the CLI and the docs generator decide where it goes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._corrections import CORRECTIONS
from ._registry import CATEGORIES, UNIT_RECORDS, UNITS, KPISpec, specs
from .excel import literal

__all__ = ["example_formula", "example_result", "example_result_text", "excel_literal", "render_markdown"]


def _scalar_literal(v: Any) -> str:
    """One example value as an Excel constant (:func:`kpi_functions.excel.literal`); a blank as ``""``."""
    return '""' if v is None else literal(v)


def excel_literal(v: Any) -> str:
    """A Python example argument as an Excel constant (array constants for ranges)."""
    if isinstance(v, pd.DataFrame):
        v = v.values.tolist()
    if isinstance(v, (pd.Series, np.ndarray)):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and not isinstance(v[0], (list, tuple)):
            return _scalar_literal(v[0])
        if v and isinstance(v[0], (list, tuple)):
            return "{" + ";".join(",".join(_scalar_literal(x) for x in row) for row in v) + "}"
        return "{" + ";".join(_scalar_literal(x) for x in v) + "}"
    return _scalar_literal(v)


def example_formula(spec: KPISpec, namespace: str = "") -> str:
    """The registry example as a formula a user can type: ``=KPI_NPS({10;9;3})``."""
    args = list(spec.example)
    while args and args[-1] is None:
        args.pop()
    name = f"{namespace}.{spec.excel_name}" if namespace else spec.excel_name
    return f"={name}(" + ", ".join("" if a is None else excel_literal(a) for a in args) + ")"


def example_result(spec: KPISpec) -> Any:
    """Run the registry example through the library."""
    return spec.func(*spec.example)


def _fmt(v: Any, unit: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        return UNIT_RECORDS[unit].precise_text(v)
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)


def example_result_text(spec: KPISpec) -> str:
    """The example's result as text (a table for spilled results)."""
    res = example_result(spec)
    if isinstance(res, pd.DataFrame):
        return res.to_string(index=False)
    if isinstance(res, pd.Series):
        return res.to_frame().to_string(index=False)
    if isinstance(res, np.ndarray):
        return "\n".join(_fmt(x, spec.unit) for x in res)
    return "→ " + _fmt(res, spec.unit)


def _md_result(spec: KPISpec) -> str:
    res = example_result(spec)
    if isinstance(res, pd.Series):
        res = res.to_frame()
    if isinstance(res, np.ndarray):
        res = pd.DataFrame({"value": res})
    if isinstance(res, pd.DataFrame):
        cols = [str(c) for c in res.columns]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in res.itertuples(index=False):
            lines.append("| " + " | ".join(_fmt(v, "number") for v in row) + " |")
        return "\n".join(lines)
    return "Result: `" + _fmt(res, spec.unit) + "`"


def render_markdown() -> str:
    """The function reference (``docs/functions.md``), generated from the registry."""
    out = [
        "# Function reference",
        "",
        "<!-- Generated from the registry by `python -m kpi_functions._docs`; a test keeps it in sync. -->",
        "",
        ("Every function is an Excel formula (`=KPI_NAME(...)`) and a Python function "
        "(`kpi_functions.name`). Rates are fractions (format the cell as %), NPS is in points (−100…100), "
        "money is in the input's unit. Ranges are summed before a ratio is taken; blanks are ignored; "
        "text is never a number. Errors: `#VALUE!` wrong kind of input, `#NUM!` out of domain, "
        "`#DIV/0!` undefined (empty population or zero denominator); error cells in the input propagate."),
        "",
    ]
    for cat in CATEGORIES:
        out.append(f"- [{cat}](#{cat.lower().replace(' ', '-')})")
    out += ["", "## Where popular articles go wrong", "",
            ("Each function below that some articles get wrong carries a **Caution** saying what is right; "
            "the same text is in the function's help in Excel, `kpi functions NAME`, the task pane and the "
            "Notes sheet of every report that uses it."), "",
            "| topic | what is right | functions |", "|---|---|---|"]
    for c in CORRECTIONS.values():
        out.append(f"| {c.topic} | {c.right} | {', '.join(f'`{n}`' for n in c.functions)} |")
    out.append("")
    for cat in CATEGORIES:
        out += [f"## {cat}", ""]
        for s in specs(cat):
            out += [f"### `{s.signature_text}`", "", s.summary, "", f"**Formula:** {s.formula}", ""]
            if s.aliases:
                out += [f"Also known as: {', '.join(s.aliases)}.", ""]
            for c in s.cautions:  # a quoted block: the caution, then its worked example
                out.append(f"> **Caution ({c.topic}):** {c.text}")
                if c.example:
                    out += [">", f"> {c.example[0]}", ">", *(f"> - {step}" for step in c.example[1:])]
                out.append("")
            out += ["| argument | help |", "|---|---|"]
            for a in s.args:
                name = f"`{a.name}`" + (" (optional" + (f", default `{a.default}`" if a.default is not None else "") + ")" if a.optional else "")
                out.append(f"| {name} | {a.help} |")
            out += ["", f"**Returns:** {s.shape}; {UNITS[s.unit]}. Python: `kpi_functions.{s.name}`.", ""]
            out += ["**Example:**", "", "```", example_formula(s), "```", "", _md_result(s), ""]
    return "\n".join(out)


def write_reference(path: str) -> None:
    """Render the reference and replace ``path`` atomically (a failed render leaves it intact)."""
    import os
    import tempfile

    text = render_markdown()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".functions-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":  # python -m kpi_functions._docs [docs/functions.md]
    import sys

    write_reference(sys.argv[1] if len(sys.argv) > 1 else "docs/functions.md")
