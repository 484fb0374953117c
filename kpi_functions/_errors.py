"""Typed errors of the KPI library.

Every error is a :class:`ValueError` subclass that knows which Excel error it
stands for (``excel_error``) and carries the function, argument, position and
value it is about, so the add-in can show ``#VALUE!`` / ``#NUM!`` /
``#DIV/0!`` with a message a spreadsheet user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ERRORS",
    "EXCEL_ERRORS",
    "ErrorCode",
    "KPIDomainError",
    "KPIError",
    "KPIErrorValue",
    "KPIInputError",
    "KPIModelError",
    "KPIUndefinedError",
]

@dataclass(frozen=True)
class ErrorCode:
    """One Excel error value and what Office.js calls it.

    ``error_type`` is the Office.js ``Excel.ErrorCellValue.errorType`` an error
    cell arrives as on the Office.js path; ``custom_function`` the
    ``CustomFunctions.ErrorCode`` member a custom function returns it with
    (``None``: a custom function cannot return it, the add-in shows
    ``#VALUE!``); ``message`` whether Excel shows a custom message with it.
    """

    code: str
    error_type: str
    custom_function: str | None = None
    message: bool = False


#: The one table of Excel's error values (every other error vocabulary derives from it).
ERRORS: tuple[ErrorCode, ...] = (
    ErrorCode("#DIV/0!", "Div0", "divisionByZero"),
    ErrorCode("#N/A", "NotAvailable", "notAvailable", message=True),
    ErrorCode("#VALUE!", "Value", "invalidValue", message=True),
    ErrorCode("#NUM!", "Num", "invalidNumber"),
    ErrorCode("#NAME?", "Name"),
    ErrorCode("#NULL!", "Null", "nullReference"),
    ErrorCode("#REF!", "Ref"),
    ErrorCode("#SPILL!", "Spill"),
    ErrorCode("#CALC!", "Calc"),
    ErrorCode("#FIELD!", "Field"),
    ErrorCode("#BUSY!", "Busy"),
    ErrorCode("#CONNECT!", "Connect"),
    ErrorCode("#BLOCKED!", "Blocked"),
    ErrorCode("#GETTING_DATA", "GettingData"),
    ErrorCode("#UNKNOWN!", "Unknown"),
)

#: Excel's error values, as they reach Python from either add-in path.
EXCEL_ERRORS = frozenset(e.code for e in ERRORS)

def _show(value: Any) -> str:
    """A short, unambiguous rendering of an offending value."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return _show_big_int(value)
    try:
        text = repr(value)
    except ValueError:  # e.g. a Fraction of an integer past Python's 4,300-digit str limit
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _show_big_int(value: int) -> str:
    """A huge integer as its first and last digits and its length: ``10000…000 (401 digits)``.

    Its full text would flood the message (and Python refuses ``str()`` of
    integers past 4,300 digits), and a double would print ``inf``.
    """
    sign, v = ("-" if value < 0 else ""), abs(value)
    try:
        digits = str(v)
    except ValueError:  # past the str limit: the length from the bit length, exactly
        n = int(v.bit_length() * 0.30102999566398120) + 1
        if v < 10 ** (n - 1):
            n -= 1
        return f"{sign}{v // 10 ** (n - 5)}…{v % 1000:03d} ({n:,} digits)"
    return f"{sign}{digits[:5]}…{digits[-3:]} ({len(digits):,} digits)"


class KPIError(ValueError):
    """Base class of every KPI error.

    Attributes
    ----------
    function : str
        Excel name of the function (``KPI_NPS``).
    argument : str or None
        Name of the offending argument.
    position : str or None
        Where in the argument (``item 3`` or ``row 4, column 2``), relative to
        the range that was passed, 1-based.
    value : object
        The offending value (``None`` when not about one value).
    excel_error : str
        The Excel error value this maps to.
    """

    excel_error = "#VALUE!"

    def __init__(
        self,
        function: str,
        message: str,
        *,
        argument: str | None = None,
        position: str | None = None,
        value: Any = None,
        has_value: bool = False,
    ) -> None:
        self.function = function
        self.argument = argument
        self.position = position
        self.value = value
        self.reason = message
        where = []
        if argument is not None:
            where.append(f"argument '{argument}'")
        if position is not None:
            where.append(position)
        head = f"{function}: " + (", ".join(where) + ": " if where else "")
        if has_value:
            head += f"{_show(value)} "
        super().__init__(head + message)

    @property
    def message(self) -> str:
        return str(self)


class KPIInputError(KPIError):
    """Input of the wrong kind: text or a boolean where a number is needed,
    ranges that must be aligned but are not, an unknown option (``#VALUE!``)."""

    excel_error = "#VALUE!"


class KPIDomainError(KPIInputError):
    """A number outside the function's domain: NPS 11, negative MRR, an end
    before its start, a rate outside [0, 1], infinity (``#NUM!``)."""

    excel_error = "#NUM!"


class KPIUndefinedError(KPIError, ZeroDivisionError):
    """The KPI is undefined for this input: an empty population or a zero
    denominator (``#DIV/0!``)."""

    excel_error = "#DIV/0!"


class KPIErrorValue(KPIInputError):
    """An Excel error value (``#N/A`` …) inside the input. It propagates
    unchanged, as Excel's own functions do."""

    def __init__(self, function: str, error: str, **kw: Any) -> None:
        super().__init__(function, f"the input holds the error {error}", **kw)
        self.excel_error = error


class KPIModelError(KPIError):
    """A model could not be fitted to the data (``#NUM!``)."""

    excel_error = "#NUM!"
