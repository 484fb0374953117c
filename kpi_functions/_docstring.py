"""Shared docstring parts: one text for what several functions document alike.

A docstring line that holds only ``{name}`` is replaced by the part ``name``,
every line of it indented like the placeholder. The result is an ordinary
docstring: ``help()``, doctests and the numpydoc sections read it as if it
had been written out in full.

>>> @shared(x="x : range\\n    The values.")
... def f(x):
...     '''Sum.
...
...     {x}
...     '''
>>> print(f.__doc__.splitlines()[2:4])
['    x : range', '        The values.']
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TypeVar

__all__ = ["fill", "shared"]

F = TypeVar("F", bound=Callable[..., object])
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def fill(doc: str, parts: dict[str, str]) -> str:
    """``doc`` with each line that is exactly ``{name}`` (after its indentation) replaced by ``parts[name]``."""
    out = []
    for line in doc.splitlines(keepends=True):
        key = line.strip()
        if key.startswith("{") and key.endswith("}") and key[1:-1] in parts:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(textwrap.indent(textwrap.dedent(parts[key[1:-1]]).strip("\n") + "\n", indent,
                                       lambda s: bool(s.strip())))
        else:
            out.append(line)
    return "".join(out)


def shared(**parts: str) -> Callable[[F], F]:
    """Decorator: fill the function's docstring with the shared ``parts`` (see :func:`fill`)."""

    def apply(func: F) -> F:
        if func.__doc__ is not None:
            func.__doc__ = fill(func.__doc__, parts)
            left = [ln.strip() for ln in func.__doc__.splitlines() if _PLACEHOLDER.fullmatch(ln.strip())]
            if left:
                raise ValueError(f"{getattr(func, '__name__', func)}: no shared part for {', '.join(left)}")
        return func

    return apply
