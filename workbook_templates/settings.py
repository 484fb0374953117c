"""How to read a data folder: the settings a user gives on the command line (``kpi build`` flags).

One frozen, hashable record travels with every batch task (to worker processes and Dask workers) and
is part of the key under which a loaded folder is cached: the same folder read with other settings is
another load. ``None`` means "not given": detect it from the files, or take it from the folder's
mapping file. Explicit settings win over both and are checked against the files.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SETTINGS", "DataSettings"]


@dataclass(frozen=True)
class DataSettings:
    """Reading settings for every data file of a folder (flags of ``kpi build``)."""

    map_file: str | None = None  #: ``--map FILE``; None: the folder's ``kpi.toml`` when there is one
    encoding: str | None = None  #: ``--encoding``: a CSV file's encoding
    separator: str | None = None  #: ``--separator``: ``,`` ``;`` TAB or ``|``
    decimal: str | None = None  #: ``--decimal``: ``.`` or ``,``
    thousands: str | None = None  #: ``--thousands``: the thousands separator numbers are written with
    dates: str | None = None  #: ``--dates``: a date format such as ``dd.mm.yyyy``
    billing: str | None = None  #: ``invoices`` or ``subscriptions``: which data set the MRR comes from
    currency: str | None = None  #: ``--currency``: the reporting currency (ISO 4217)
    fx_constant: str | None = None  #: ``--fx-constant YYYY-MM``: convert at that month's rates throughout


DEFAULT_SETTINGS = DataSettings()
