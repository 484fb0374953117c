"""Text from data made safe to print on a terminal or into a log.

A segment name, a file name or a cell quoted in a message is the user's data: printed
as is, an ESC sequence in it recolours or clears the terminal, a U+202E reverses the
rest of the line, a NUL or a line separator cuts a log line in two. :func:`terminal_safe`
writes such characters as Python escapes (``\\x1b``, ``\\u202e``), visible and
unambiguous, and leaves every other character — accents, CJK, emoji — as it is.

It lives in the library, the bottom layer, so the command line (``kpi_cli``) and the
report builder (``workbook_templates``) share it without importing each other.
"""

from __future__ import annotations

import unicodedata

__all__ = ["UNSAFE_CATEGORIES", "terminal_safe"]

#: control (Cc: ESC, NUL, CR, BEL …), format (Cf: the bidi embeddings, overrides and isolates
#: U+202A–U+202E, U+2066–U+2069, zero-width characters), lone surrogates (Cs, which cannot be
#: encoded at all), line and paragraph separators (Zl, Zp)
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_safe(value: object, *, keep_newlines: bool = False) -> str:
    """``str(value)`` with control, format (bidi) and separator characters written as escapes.

    ``keep_newlines=True`` keeps ``\\n`` (for a message of several lines the program wrote
    itself); a tab, a carriage return and everything else in :data:`UNSAFE_CATEGORIES` are
    always escaped.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # fast path: isprintable() is False for every unsafe character
        return text
    keep = "\n" if keep_newlines else ""
    return "".join(_escape(ch) if ch not in keep and unicodedata.category(ch) in UNSAFE_CATEGORIES else ch
                   for ch in text)
