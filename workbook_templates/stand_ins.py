"""Data sets a report reads when the folder has them: without the file, an empty table stands in and the
report says what that means (``ReportSpec.optional``).

The SaaS dashboard sets its MRR against the one-off orders of the period (the recurring share of revenue);
a subscription business that keeps no orders file still gets its dashboard, with a notice that it counts no
one-off revenue. A file that is there but cannot be read is an error as before: only a missing file is
stood in for. (A data set that every report can do without is ``optional`` in its schema instead, and
:func:`.context.scope` stands in for it.)
"""

from __future__ import annotations

from collections.abc import Iterable

from .context import absent_table
from .data import Table, missing_file

__all__ = ["with_stand_ins"]


def with_stand_ins(tables: dict[str, Table], errors: dict[str, str],
                   optional: Iterable[tuple[str, str]]) -> tuple[dict[str, Table], dict[str, str], list[str]]:
    """``tables`` and ``errors`` with an empty table for each optional data set whose file is missing, and the
    notices that say so (``optional``: data set and what its absence means for the report). The inputs are
    not changed (they are shared between reports)."""
    tables, errors, notices = dict(tables), dict(errors), []
    for name, meaning in optional:
        if name in errors and missing_file(name, errors[name]):
            notices.append(f"{errors.pop(name)}: {meaning}")
            tables[name] = absent_table(name)
    return tables, errors, notices
