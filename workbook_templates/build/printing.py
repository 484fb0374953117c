"""How report pages print and read: row heights for wrapped text, headings of spilled tables, page setup.

XlsxWriter writes every row at its default height unless told otherwise. Excel grows a row with wrapped text
only when it recalculates the row's height itself, and LibreOffice draws the further lines of a long text over
the rows below, so a row of wrapped text gets its height here, estimated from the text's length and its
column's width.
"""

from __future__ import annotations

import math

__all__ = ["CHARS_PER_UNIT", "DEFAULT_ROW_POINTS", "DEFAULT_WIDTH", "HEADER_LINE_POINTS", "LINE_POINTS",
           "spill_headings", "text_lines"]

DEFAULT_WIDTH = 8.43  #: a column's width without set_column (characters of the default font)
DEFAULT_ROW_POINTS = 15.0  #: a row's height without set_row
LINE_POINTS = 13.5  #: one line of 10-pt text
HEADER_LINE_POINTS = 13.0  #: one line of a bold 10-pt header
#: characters of 10-pt prose that fit in one width unit (a unit is one '0' of the 11-pt default font): a little
#: under what Excel (Calibri) and LibreOffice (Carlito) fit, about 1.3, so that an estimate errs on the tall side
CHARS_PER_UNIT = 1.25


def text_lines(text: str, width: float) -> int:
    """Lines a wrapped text needs in a column ``width`` characters wide: each line of the text (split at
    newlines) takes its length over the characters per line, words being kept whole (a line breaks at a
    space, so a word that does not fit starts the next line)."""
    per_line = max(1, int(width * CHARS_PER_UNIT))
    total = 0
    for part in text.split("\n"):
        n, used = 1, 0
        for word in part.split(" "):
            w = len(word)
            if used and used + 1 + w > per_line:
                n += 1
                used = 0
            if w > per_line:  # a long word breaks inside itself
                n += math.ceil(w / per_line) - 1
                w = w % per_line or per_line
            used += w + (1 if used else 0)
        total += n
    return total


def spill_headings(formula: str, headings: list[str]) -> str:
    """A spilling formula whose first row (the function's column names) is replaced by ``headings``:
    ``IFERROR(VSTACK({"Measure","Value"}, DROP(formula, 1)), formula)``. VSTACK and DROP are Excel 365's (and
    2024's); Excel 2021 spills but has neither, and there the ``#NAME?`` falls back to the formula with the
    function's own column names — never an error where the values are fine."""
    row = ",".join('"' + h.replace('"', '""') + '"' for h in headings)
    return f"IFERROR(_xlfn.VSTACK({{{row}}},_xlfn.DROP({formula},1)),{formula})"
