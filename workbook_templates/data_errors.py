"""The two ways reading data goes wrong: a file that cannot be read at all, and a bad cell.

Kept apart from :mod:`workbook_templates.data` so the readers and the mapping file (which report
both) need not import the loader.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataError", "RowIssue", "show"]


class DataError(Exception):
    """A data file cannot be read at all (missing, unreadable, wrong columns, a bad mapping file)."""


@dataclass(frozen=True)
class RowIssue:
    """A bad cell (or row): the file, the spreadsheet row (header = 1), our column and the problem."""

    file: str
    row: int | None  #: spreadsheet row (header = 1); None when about the whole file
    column: str | None  #: our column name (as in the schema)
    message: str
    header: str | None = None  #: the file's own header of the column, when it is not our name

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.shown_column}"
        return f"{where}: {self.message}"

    @property
    def shown_column(self) -> str | None:
        """The user's header, with ours in brackets when they differ: ``Beløp (amount)``."""
        if not self.header or self.header == self.column:
            return self.column
        if self.column is None or _same_name(self.header, self.column):
            return self.header
        return f"{self.header} ({self.column})"


def _same_name(a: str, b: str) -> bool:
    return a.strip().lower().replace(" ", "_") == b.strip().lower().replace(" ", "_")


def show(v: object) -> str:
    """A cell's value for a message: its repr, cut at 40 characters."""
    t = repr(v)
    return t if len(t) <= 40 else t[:37] + "..."
