"""The one touch of Typer's internals: help without type tags like ``<bool>`` or ``<str>``.

Recent Typer versions print the Python type of every parameter in ``--help`` (``--all <bool>``,
``--out <path>``, ``templates... <list[str]>``), which reads like a stack trace to a new user and
takes a column of an 80-column terminal. Here, once, when :mod:`kpi_cli.main` is imported:

- a flag (``--all``, ``--progress/--no-progress``) shows no type: it takes no value;
- an argument shows none: its name already says what it is (``templates...``);
- an option with a value shows the value's kind as Click always did: ``PATH``, ``TEXT``, ``INTEGER``,
  ``FLOAT`` (an option's own ``metavar`` and a list of choices stay as they are).

Typer versions without ``display_type`` (before the tags) are left alone: they print Click's
names already. ``tests/test_cli_help.py`` fails when the internal moves (the tags come back).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PLAIN_NAMES", "install", "plain_type"]

#: Typer's type tag -> the name Click prints
PLAIN_NAMES = {"str": "TEXT", "path": "PATH", "file": "FILE", "directory": "DIRECTORY", "int": "INTEGER",
               "float": "FLOAT", "bool": "BOOLEAN", "datetime": "DATETIME", "uuid": "UUID"}

_installed = False


def plain_type(tag: str | None) -> str | None:
    """``<list[str]>`` -> ``TEXT``, ``<path>`` -> ``PATH``, ``<int range>`` -> ``INTEGER RANGE``; a choice
    list (``<a|b>``) -> ``a|b``."""
    if tag is None:
        return None
    inner = tag[1:-1] if tag.startswith("<") and tag.endswith(">") else tag
    m = re.fullmatch(r"list\[(.*)\]", inner)
    if m:
        inner = m.group(1)
    ranged = re.fullmatch(r"(\w+) range", inner)  # <int range>: a number with bounds (shown beside it)
    if ranged:
        return PLAIN_NAMES.get(ranged.group(1).lower(), ranged.group(1).upper()) + " RANGE"
    return PLAIN_NAMES.get(inner.lower(), inner)


def install() -> bool:
    """Patch Typer's help (idempotent). False when this Typer has no type tags to remove."""
    global _installed
    from typer import core

    option = getattr(core, "TyperOption", None)
    argument = getattr(core, "TyperArgument", None)
    if option is None or argument is None or not hasattr(option, "display_type"):
        return False
    if _installed:
        return True
    original = option.display_type

    def option_type(self: Any, ctx: Any) -> str | None:
        if getattr(self, "metavar", None) is not None:
            return str(self.metavar)
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        return plain_type(original(self, ctx))

    def argument_type(self: Any, ctx: Any) -> str | None:
        return None

    option.display_type_rich = option_type
    argument.display_type_rich = argument_type
    _installed = True
    return True
