"""The worksheet class the writer adds its sheets with: XlsxWriter's, with a faster formula preparation.

XlsxWriter prepares every formula it stores by trying some thirty regular-expression substitutions, one
per dynamic-array function (``FILTER(`` becomes ``_xlfn._xlws.FILTER(``, ...); a table of 100,000 customers
has hundreds of thousands of formulas, none of which names such a function, and those substitutions were a
tenth of a large report's build. :class:`FormulaSheet` first asks one regular expression whether a formula
could name any of them and leaves the formula to XlsxWriter when it could, so what is stored is the same.
It overrides an internal method of XlsxWriter's ``Worksheet``: ``pyproject.toml`` bounds XlsxWriter below 4,
and a test checks the names below against the installed version's own list.
"""

from __future__ import annotations

import re
from typing import Any

from xlsxwriter.worksheet import Worksheet

__all__ = ["DYNAMIC_FUNCTIONS", "FormulaSheet"]

#: the functions XlsxWriter prefixes with ``_xlfn.`` even without ``use_future_functions`` (those of 3.3, and LET
#: and XMATCH, which 3.1 prefixes too)
DYNAMIC_FUNCTIONS = ("ANCHORARRAY", "BYCOL", "BYROW", "CHOOSECOLS", "CHOOSEROWS", "DROP", "EXPAND", "FILTER",
                     "HSTACK", "LAMBDA", "MAKEARRAY", "MAP", "RANDARRAY", "REDUCE", "SCAN", "SINGLE", "SEQUENCE",
                     "SORT", "SORTBY", "SWITCH", "TAKE", "TEXTSPLIT", "TOCOL", "TOROW", "UNIQUE", "VSTACK",
                     "WRAPCOLS", "WRAPROWS", "XLOOKUP", "XMATCH", "LET")

#: a formula that could name one of them (any word ending in one, and XlsxWriter's pattern for SINGLE, which
#: matches ``INGLE(`` after any character): these go through XlsxWriter's own preparation
_MAY_NAME = re.compile("INGLE\\(|(?:" + "|".join(DYNAMIC_FUNCTIONS) + ")\\(")


class FormulaSheet(Worksheet):
    """XlsxWriter's worksheet; a formula that names no dynamic-array function skips the substitutions."""

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> Any:
        if expand_future_functions:  # XlsxWriter 3.2 and later (3.1's method takes the formula only)
            return super()._prepare_formula(formula, True)
        if self.use_future_functions or _MAY_NAME.search(formula):
            return super()._prepare_formula(formula)
        # what XlsxWriter does to such a formula: the array braces and the leading = removed
        formula = formula.removeprefix("{")
        formula = formula.removeprefix("=")
        formula = formula.removesuffix("}")
        return formula
