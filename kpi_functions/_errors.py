"""Typed errors of the KPI library.

Every error is a :class:`ValueError` subclass that knows which Excel error it
stands for (``excel_error``) and carries the function, argument, position and
value it is about, so the add-in can show ``#VALUE!`` / ``#NUM!`` /
``#DIV/0!`` with a message a spreadsheet user can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import numpy as np

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
    "Location",
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


@dataclass(frozen=True)
class Location:
    """Where in an argument an error is: 1-based, relative to the range that was passed.

    ``col`` is None for a 1-D argument (``item 3``); a 2-D one names the row
    and the column (``row 4, column 2``). ``name`` is a table column's name,
    shown after the position (``row 4, column 2 (user_id)``).
    """

    row: int
    col: int | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        """The position as the error message shows it: ``item 3``, ``row 4, column 2``."""
        where = f"item {self.row}" if self.col is None else f"row {self.row}, column {self.col}"
        return where if self.name is None else f"{where} ({self.name})"

    def __str__(self) -> str:
        return self.text


class _Keep:
    """The type of :data:`KEEP`."""


#: ``relocated()``'s default: the error keeps its location.
KEEP = _Keep()


class KPIError(ValueError):
    """Base class of every KPI error.

    Attributes
    ----------
    function : str
        Excel name of the function (``KPI_NPS``).
    argument : str or None
        Name of the offending argument.
    location : Location or None
        Where in the argument, relative to the range that was passed, 1-based.
    position : str or None
        Where, as the message shows it (``item 3`` or ``row 4, column 2``):
        the text of ``location`` unless a caller gave the text (``position=``;
        the library does so only for a whole row, ``row 4``, which has no
        cell ``location``).
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
        position: str | Location | None = None,
        location: Location | None = None,
        value: Any = None,
        has_value: bool = False,
    ) -> None:
        if isinstance(position, Location):
            location, position = position, None
        self.function = function
        self.argument = argument
        self.location = location
        self.position = location.text if location is not None and position is None else position
        self.value = value
        self.has_value = has_value
        self.reason = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.argument is not None:
            where.append(f"argument '{self.argument}'")
        if self.position is not None:
            where.append(self.position)
        head = f"{self.function}: " + (", ".join(where) + ": " if where else "")
        if self.has_value:
            head += f"{_show(self.value)} "
        return head + self.reason

    @property
    def message(self) -> str:
        return str(self)

    def relocated(
        self,
        location: Location | None | _Keep = KEEP,
        *,
        function: str | None = None,
        argument: str | None = None,
        reason: str | None = None,
    ) -> Self:
        """A copy of this error (same class, value and Excel error) at ``location``.

        ``function``, ``argument`` and ``reason`` replace the original's when
        given; without ``location`` the error stays where it is.
        """
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        if not isinstance(location, _Keep):
            new.location = location
            new.position = None if location is None else location.text
        if function is not None:
            new.function = function
        if argument is not None:
            new.argument = argument
        if reason is not None:
            new.reason = reason
        new.args = (new._compose(),)
        return new

    def reanchored(self, rows: Sequence[int] | np.ndarray, col: int | None = None, *,
                   name: str | None = None, **changes: Any) -> Self:
        """This error re-anchored onto a table's rows.

        The error's row ``r`` (1-based, within the part of the table that was
        checked) becomes ``rows[r - 1]``; the column becomes ``col`` (None: an
        item of a 1-D range). Without a location, the error is anchored on the
        first row. ``changes`` are passed on to :meth:`relocated`.
        """
        r = self.location.row if self.location is not None else 1
        return self.relocated(Location(int(rows[r - 1]), col, name), **changes)


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
