"""Excel date serial numbers (the 1900 date system), exact for every date a sheet holds."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

__all__ = ["EPOCH", "excel_serial", "to_serial_array"]

EPOCH = pd.Timestamp("1899-12-30")

#: milliseconds, never nanoseconds: datetime64[ns] ends at 2262-04-11 and its
#: casts wrap later dates round silently; serials run to 9999-12-31 (2958465)
_EPOCH_MS = np.datetime64("1899-12-30", "ms")


def excel_serial(ts: pd.Timestamp | _dt.datetime | _dt.date) -> float:
    """Excel serial number of a date (1900 date system, dates from 1900-03-01)."""
    if isinstance(ts, pd.Timestamp):
        v = ts.to_datetime64()
    elif isinstance(ts, _dt.datetime):
        v = np.datetime64(ts.replace(tzinfo=None), "ms")
    else:
        v = np.datetime64(ts, "D")
    return float((v.astype("datetime64[ms]") - _EPOCH_MS) / np.timedelta64(1, "D"))


def to_serial_array(s: pd.Series) -> np.ndarray:
    """Vectorised :func:`excel_serial`; NaT -> NaN."""
    v = s.to_numpy(dtype="datetime64[ms]")
    out = (v - _EPOCH_MS) / np.timedelta64(1, "D")
    return out.astype(float)
