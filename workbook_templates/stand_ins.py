"""Data sets a report reads when the folder has them: without the file, an empty table stands in and the
report says what that means (``ReportSpec.optional``).

The SaaS dashboard sets its MRR against the one-off orders of the period (the recurring share of revenue);
a subscription business that keeps no orders file still gets its dashboard, with a notice that it counts no
one-off revenue. A file that is there but cannot be read is an error as before: only a missing file is
stood in for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from .data import Table, load_dataset, missing_file
from .schema import DATASETS

__all__ = ["empty_table", "with_stand_ins"]

_EMPTY: dict[str, Table] = {}


def empty_table(name: str) -> Table:
    """The data set ``name`` with its columns and no rows, typed as a file with only the header reads."""
    if name not in _EMPTY:
        ds = DATASETS[name]
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / f"{name}.csv"
            p.write_text(",".join(c.name for c in ds.columns) + "\n", encoding="utf-8")
            t = load_dataset(ds, p)
        t.file = f"(no {name} file)"
        t.notices = []
        _EMPTY[name] = t
    return _EMPTY[name]


def with_stand_ins(tables: dict[str, Table], errors: dict[str, str],
                   optional: Iterable[tuple[str, str]]) -> tuple[dict[str, Table], dict[str, str], list[str]]:
    """``tables`` and ``errors`` with an empty table for each optional data set whose file is missing, and the
    notices that say so (``optional``: data set and what its absence means for the report). The inputs are
    not changed (they are shared between reports)."""
    tables, errors, notices = dict(tables), dict(errors), []
    for name, meaning in optional:
        if name in errors and missing_file(name, errors[name]):
            notices.append(f"{errors.pop(name)}: {meaning}")
            tables[name] = empty_table(name)
    return tables, errors, notices
