"""The mapping file: how a data folder's own files map onto our data sets (``kpi.toml``, or ``--map FILE``).

Per data set it says which file holds it (``file``), which of the file's columns is which of ours
(``[name.columns]``: our column = the file's header), values for columns the file does not have
(``[name.constants]``), factors that scale a number column after reading (``[name.scale]``: amounts
in cents ``= 0.01``), the file's texts that stand for our values (``[name.values.column]``), and how
the file is written (``encoding``, ``separator``, ``decimal``, ``thousands``, ``dates`` for the file,
``[name.formats]`` for one column; ``[defaults]`` for every file). ``[build]`` holds run settings
(``billing``, ``currency``, ``fx_constant``).

Everything is checked when the file is read: an unknown table, key or column, a bad setting, a file
that does not exist is a :class:`~workbook_templates.data_errors.DataError` naming the mapping file
and the line of the offending key. ``tomllib`` gives no positions, so the lines are found by scanning
the text for table headers and keys (:func:`key_lines`).

Settings resolve in one order: ``kpi build`` flags win over the file's ``[build]``, per-column
``formats``, per-table and ``[defaults]`` settings (in that order), which win over detection.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data_errors import DataError
from .dialect import (
    DATE_SETTINGS,
    ENCODING_ALIASES,
    ENCODINGS,
    MONTH_SETTINGS,
    SEPARATOR_SETTINGS,
    THOUSANDS_SETTINGS,
    Forced,
)
from .schema import DATASETS, Dataset
from .settings import DataSettings

__all__ = ["MAP_FILE", "Mapping", "TableMap", "check_setting", "key_lines", "read_mapping"]

MAP_FILE = "kpi.toml"  #: the mapping file a data folder may hold
DIALECT_KEYS = ("encoding", "separator", "decimal", "thousands", "dates")
BUILD_KEYS = ("billing", "currency", "fx_constant")
_TABLE_KEYS = ("file", *DIALECT_KEYS)
_SUBTABLES = ("columns", "constants", "scale", "values", "formats")
_SUFFIXES = (".csv", ".xlsx", ".parquet")
_BILLING = ("invoices", "subscriptions")
#: a mapping value as TOML gives it (text, number, boolean, date)
Scalar = str | int | float | bool | _dt.date | _dt.datetime


@dataclass
class TableMap:
    """What the mapping file says about one data set (empty when it says nothing)."""

    dataset: str
    file: Path | None = None  #: the data set's file, when not found by its standard name
    file_line: int = 0
    columns: dict[str, str] = field(default_factory=dict)  #: our column -> the file's header
    constants: dict[str, Scalar] = field(default_factory=dict)  #: our column -> its value in every row
    scale: dict[str, float] = field(default_factory=dict)  #: our number column -> factor
    values: dict[str, dict[str, Scalar]] = field(default_factory=dict)  #: column -> {file text (folded): value}
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)  #: ("columns", col) etc. -> line
    forced: Forced = field(default_factory=Forced)  #: the dialect settings that read its file
    csv_line: int = 0  #: line of the first dialect setting of this table (only CSV files have a dialect)

    def line(self, *key: str) -> int:
        return self.lines.get(key, 0)

    def where(self, *key: str) -> str:
        """ "kpi.toml line 7": where a key of this table is (the mapping file alone when unknown)."""
        n = self.line(*key)
        return f"{self.forced.map_name} line {n}" if n else self.forced.map_name


@dataclass
class Mapping:
    """A data folder's mapping file as read and checked, with the settings it resolves to."""

    path: Path | None  #: None: the folder has no mapping file and no --map was given
    name: str  #: as messages show it ("kpi.toml")
    settings: DataSettings  #: flags over the file's [build]: what the later loading steps read
    tables: dict[str, TableMap] = field(default_factory=dict)
    default_forced: Forced = field(default_factory=Forced)  #: flags over [defaults], for the other data sets

    def table(self, name: str) -> TableMap:
        return self.tables.get(name) or TableMap(name, forced=self.default_forced)

    def where(self, line: int) -> str:
        """ "kpi.toml line 7" (or the file alone when the line is unknown)."""
        return f"{self.name} line {line}" if line else self.name


# --------------------------------------------------------------------------
# Settings: one check for the mapping file and the flags
# --------------------------------------------------------------------------
def _clock_free(v: str) -> str:
    return re.sub(r"\s+hh:mm(:ss)?$", "", v.strip().lower())


def check_setting(key: str, value: object, kind: str | None = None) -> str:
    """A dialect or build setting in its one spelling (``thousands = "nbsp"`` -> U+00A0); ValueError
    saying what is allowed. ``kind`` is the column type for a per-column ``dates``."""
    if key in ("encoding", "separator", "decimal", "thousands", "dates", "billing", "currency", "fx_constant") \
            and not isinstance(value, str):
        raise ValueError(f"{key} must be text (in quotes), not {value!r}")
    assert isinstance(value, str)
    v = value if key in ("separator", "thousands") else value.strip()
    if key == "encoding":
        low = v.lower().replace("_", "-")
        low = ENCODING_ALIASES.get(low, low)
        if low not in ENCODINGS:
            raise ValueError(f"encoding {value!r} is not one of {', '.join(ENCODINGS)}")
        return low
    if key == "separator":
        sep = SEPARATOR_SETTINGS.get(v) or SEPARATOR_SETTINGS.get(v.strip().lower())
        if sep is None:
            raise ValueError(f'separator {value!r} is not one of ",", ";", "\\t" (or tab), "|"')
        return sep
    if key == "decimal":
        if v not in (".", ","):
            raise ValueError(f'decimal {value!r} is not "." or ","')
        return v
    if key == "thousands":
        th = THOUSANDS_SETTINGS.get(v)
        if th is None:
            th = THOUSANDS_SETTINGS.get(v.strip().lower())
        if th is None:
            raise ValueError(f'thousands {value!r} is not one of "none", ".", ",", "space", "nbsp" (no-break space), '
                             "\"nnbsp\" (narrow no-break space), \"'\"")
        return th
    if key == "dates":
        f = _clock_free(v)
        allowed = DATE_SETTINGS + (MONTH_SETTINGS if kind == "month" else ())
        if f not in allowed:
            raise ValueError(f"dates {value!r} is not one of {', '.join(allowed)} (a time of day hh:mm[:ss] may "
                             "follow the date in any of them)")
        return f
    if key == "billing":
        if v not in _BILLING:
            raise ValueError(f"billing {value!r} is not invoices or subscriptions")
        return v
    if key == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", v):
            raise ValueError(f"currency {value!r} is not a three-letter ISO 4217 code such as NOK")
        return v.upper()
    if key == "fx_constant":
        m = re.fullmatch(r"(\d{4})-(\d{2})", v)
        if not m or not 1 <= int(m[2]) <= 12:
            raise ValueError(f"fx_constant {value!r} is not a month such as 2026-06")
        return v
    raise ValueError(f"unknown setting {key}")


# --------------------------------------------------------------------------
# Lines: tomllib gives no positions; find each table header and key in the text
# --------------------------------------------------------------------------
def _path_of(text: str) -> tuple[str, ...] | None:
    """The key path of a TOML key (``a."b c".d``), decoded by tomllib itself."""
    try:
        d: Any = tomllib.loads(text + " = 0")
    except tomllib.TOMLDecodeError:
        return None
    out: list[str] = []
    while isinstance(d, dict) and len(d) == 1:
        k, d = next(iter(d.items()))
        out.append(k)
    return tuple(out)


def _split_key(line: str) -> tuple[str, str] | None:
    """(key part, value part) of ``key = value`` (the ``=`` outside quotes), else None."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "=":
            return line[:i], line[i + 1:]
        elif c == "#":
            return None
        i += 1
    return None


def _nested_paths(d: dict, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out = []
    for k, v in d.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out.extend(_nested_paths(v, (*prefix, k)))
    return out


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line (from 1) of every table header and key of a TOML text, by full key path.

    Keys of an inline table (``amount = {decimal = ","}``) are on its line; lines inside multi-line
    strings and arrays are skipped.
    """
    found: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    closing = ""  # the delimiter that ends the multi-line string or array being skipped
    depth = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if closing:
            if closing == "]":
                depth += line.count("[") - line.count("]")
                if depth <= 0:
                    closing = ""
            elif closing in line:
                closing = ""
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            m = re.match(r"^\[\[?\s*(.*?)\s*\]\]?\s*(#.*)?$", line)
            path = _path_of(m[1]) if m else None
            if path is not None:
                current = path
                found.setdefault(path, n)
            continue
        kv = _split_key(line)
        if kv is None:
            continue
        path = _path_of(kv[0].strip())
        if path is None:
            continue
        full = (*current, *path)
        found.setdefault(full, n)
        value = kv[1].strip()
        for delim in ('"""', "'''"):
            if value.startswith(delim) and value.count(delim) == 1:
                closing = delim
        if value.startswith("["):
            depth = value.count("[") - value.count("]")
            if depth > 0:
                closing = "]"
        if value.startswith("{"):
            try:
                inner = tomllib.loads("x = " + value)["x"]
            except tomllib.TOMLDecodeError:
                inner = {}
            for p in _nested_paths(inner, full):
                found.setdefault(p, n)
    return found


# --------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------
class _Reader:
    def __init__(self, path: Path, data_dir: Path, text: str) -> None:
        self.path, self.data_dir, self.name = path, data_dir, path.name
        self.lines = key_lines(text)

    def line(self, *path: str) -> int:
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return 0

    def fail(self, path: tuple[str, ...], message: str) -> DataError:
        n = self.line(*path)
        return DataError(f"{self.name} line {n}: {message}" if n else f"{self.name}: {message}")

    def table_of(self, value: object, path: tuple[str, ...], what: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"{'.'.join(path)} must be a table ({what}), not {value!r}")
        return value

    def dialect(self, d: dict, path: tuple[str, ...]) -> dict[str, tuple[str, str]]:
        """The dialect keys of a table, checked: key -> (setting, where it is set)."""
        out = {}
        for key in DIALECT_KEYS:
            if key in d:
                try:
                    v = check_setting(key, d[key])
                except ValueError as err:
                    raise self.fail((*path, key), f"[{'.'.join(path)}] {err}") from None
                out[key] = (v, f"{self.name} line {self.line(*path, key)}")
        if "decimal" in out and out.get("thousands", ("",))[0] == out["decimal"][0]:
            raise self.fail((*path, "thousands"), f"[{'.'.join(path)}] thousands and decimal are both "
                                                  f"{out['decimal'][0]!r}")
        return out


def _scalar(r: _Reader, v: object, path: tuple[str, ...]) -> Scalar:
    if isinstance(v, (dict, list)):
        raise r.fail(path, f"{'.'.join(path)} must be one value (text, number, true/false or a date), not {v!r}")
    if isinstance(v, _dt.datetime) and v.tzinfo is not None:
        raise r.fail(path, f"{'.'.join(path)} = {v.isoformat()} has a time zone; give the local date and time")
    if isinstance(v, _dt.time):
        raise r.fail(path, f"{'.'.join(path)} = {v} is a time of day without a date")
    assert isinstance(v, (str, int, float, bool, _dt.date))
    return v


def _fold(text: str) -> str:
    """A file's text as value maps match it: case and surrounding space ignored."""
    return text.strip().casefold()


def _table(r: _Reader, ds: Dataset, d: dict, base: dict[str, tuple[str, str]],
           flags: dict[str, tuple[str, str]], used_files: dict[Path, str]) -> TableMap:
    name = ds.name
    for key in d:
        if key not in _TABLE_KEYS and key not in _SUBTABLES:
            raise r.fail((name, key), f"[{name}] has no setting {key!r}; it takes {', '.join(_TABLE_KEYS)} and the "
                                      f"tables {', '.join(f'[{name}.{s}]' for s in _SUBTABLES)}")
    tm = TableMap(name)
    cols = {c.name: c for c in ds.columns}

    def our_column(sub: str, col: str, numbers_only: bool = False) -> None:
        if col not in cols:
            raise r.fail((name, sub, col), f"[{name}.{sub}] {col!r} is not a column of {name}; its columns are "
                                           f"{', '.join(cols)}")
        if numbers_only and cols[col].type not in ("number", "integer"):
            raise r.fail((name, sub, col), f"[{name}.{sub}] {col} is a {cols[col].type} column; only number "
                                           "columns can be scaled")
        tm.lines[(sub, col)] = r.line(name, sub, col)

    if "file" in d:
        f = d["file"]
        if not isinstance(f, str) or not f.strip():
            raise r.fail((name, "file"), f"[{name}] file must be a file name (in quotes), not {f!r}")
        p = r.data_dir / f.strip()
        if p.suffix.lower() not in _SUFFIXES:
            raise r.fail((name, "file"), f"[{name}] file {f!r} is not a .csv, .xlsx or .parquet file")
        if not p.is_file():
            raise r.fail((name, "file"), f"[{name}] file {f!r} does not exist in {r.data_dir}")
        key = p.resolve()
        if key in used_files:
            raise r.fail((name, "file"), f"[{name}] file {f!r} is the file of [{used_files[key]}] too; each data "
                                         "set has a file of its own")
        used_files[key] = name
        tm.file, tm.file_line = p, r.line(name, "file")
    own = r.dialect(d, (name,))
    if own:
        tm.csv_line = min(r.line(name, k) for k in own)
    for col, header in r.table_of(d.get("columns", {}), (name, "columns"), "our column = the file's header").items():
        our_column("columns", col)
        if not isinstance(header, str) or not header.strip():
            raise r.fail((name, "columns", col), f"[{name}.columns] {col} must name a column of the file (in "
                                                 f"quotes), not {header!r}")
        tm.columns[col] = header
    for col, v in r.table_of(d.get("constants", {}), (name, "constants"), "our column = its value").items():
        our_column("constants", col)
        if col in tm.columns:
            raise r.fail((name, "constants", col), f"[{name}.constants] {col} is also a column of the file "
                                                   f"([{name}.columns] {col} = {tm.columns[col]!r}); give one or "
                                                   "the other")
        tm.constants[col] = _scalar(r, v, (name, "constants", col))
    for col, v in r.table_of(d.get("scale", {}), (name, "scale"), "our column = a factor").items():
        our_column("scale", col, numbers_only=True)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v == 0:
            raise r.fail((name, "scale", col), f"[{name}.scale] {col} = {v!r} is not a number other than 0 (such "
                                               "as 0.01 for amounts in cents)")
        if col in tm.constants:
            raise r.fail((name, "scale", col), f"[{name}.scale] {col} has a constant ([{name}.constants]); scale "
                                               "applies to the file's values")
        tm.scale[col] = float(v)
    for col, m in r.table_of(d.get("values", {}), (name, "values"), "one table per column").items():
        our_column("values", col)
        if col in tm.constants:
            raise r.fail((name, "values", col), f"[{name}.values.{col}] {col} has a constant "
                                                f"([{name}.constants]); value maps apply to the file's values")
        m = r.table_of(m, (name, "values", col), "the file's text = our value")
        folded: dict[str, Scalar] = {}
        seen: dict[str, str] = {}
        for text, v in m.items():
            k = _fold(text)
            if k in seen:
                raise r.fail((name, "values", col, text), f"[{name}.values.{col}] {text!r} and {seen[k]!r} are the "
                                                          "same text (case and surrounding space are ignored)")
            seen[k] = text
            folded[k] = _scalar(r, v, (name, "values", col, text))
            tm.lines[("values", col, k)] = r.line(name, "values", col, text)
        tm.values[col] = folded
    col_forced: dict[str, Forced] = {}
    for col, v in r.table_of(d.get("formats", {}), (name, "formats"), "our column = its format").items():
        our_column("formats", col)
        c = cols[col]
        where = f"{r.name} line {r.line(name, 'formats', col)}"
        if c.type in ("date", "datetime", "month"):
            try:
                fmt = check_setting("dates", v, c.type)
            except ValueError as err:
                raise r.fail((name, "formats", col), f"[{name}.formats] {col}: {err}") from None
            if "dates" not in flags:
                col_forced[col] = Forced(dates=fmt, origin={"dates": where})
        elif c.type in ("number", "integer"):
            if not isinstance(v, dict):
                raise r.fail((name, "formats", col), f"[{name}.formats] {col} is a number column: give "
                                                     f'{col} = {{decimal = ",", thousands = "nbsp"}} (either key '
                                                     f"may be left out), not {v!r}")
            for k in v:
                if k not in ("decimal", "thousands"):
                    raise r.fail((name, "formats", col, k), f"[{name}.formats] {col}: {k!r} is not decimal or "
                                                            "thousands")
            sub = r.dialect(v, (name, "formats", col))
            kept = {k: s for k, s in sub.items() if k not in flags}
            if kept:
                col_forced[col] = Forced(decimal=kept.get("decimal", (None,))[0],
                                         thousands=kept.get("thousands", (None,))[0],
                                         origin={k: s[1] for k, s in kept.items()})
        else:
            raise r.fail((name, "formats", col), f"[{name}.formats] {col} is a {c.type} column; only number and date "
                                                 "columns have a format")
        tm.csv_line = tm.csv_line or r.line(name, "formats", col)
    tm.forced = _forced({**base, **own, **flags}, r.name, col_forced)
    return tm


def _forced(merged: dict[str, tuple[str, str]], map_name: str, columns: dict[str, Forced] | None = None) -> Forced:
    return Forced(**{k: merged[k][0] for k in DIALECT_KEYS if k in merged}, columns=columns or {},
                  origin={k: merged[k][1] for k in merged}, map_name=map_name)


def _flags(settings: DataSettings) -> dict[str, tuple[str, str]]:
    out = {}
    for key in DIALECT_KEYS:
        v = getattr(settings, key)
        if v is not None:
            try:
                out[key] = (check_setting(key, v), f"--{key}")
            except ValueError as err:
                raise DataError(f"--{key}: {err}") from None
    return out


def read_mapping(data_dir: Path, settings: DataSettings) -> Mapping:
    """The folder's mapping file (``settings.map_file``, else ``kpi.toml`` in the folder when there is one),
    read, checked, and resolved with the flags in ``settings``."""
    data_dir = Path(data_dir)
    flags = _flags(settings)
    if settings.map_file:
        path = Path(settings.map_file)
        if not path.is_file():
            raise DataError(f"mapping file {path} does not exist")
    else:
        path = data_dir / MAP_FILE
        if not path.is_file():
            return Mapping(None, MAP_FILE, settings, {}, _forced(flags, MAP_FILE))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path.name}: is not UTF-8 text, as a TOML file must be ({err})") from err
    except OSError as err:
        raise DataError(f"{path.name}: cannot be read ({err})") from err
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{path.name}: is not a valid TOML file: {err}") from err
    r = _Reader(path, data_dir, text)
    known = ("build", "defaults", *DATASETS)
    for key, v in data.items():
        if key not in known:
            raise r.fail((key,), f"[{key}] is not a data set, [build] or [defaults]; the data sets are "
                                 f"{', '.join(DATASETS)}")
        r.table_of(v, (key,), "a [table] of settings")
    build = data.get("build", {})
    resolved: dict[str, str] = {}
    for key, v in build.items():
        if key not in BUILD_KEYS:
            raise r.fail(("build", key), f"[build] has no setting {key!r}; it takes {', '.join(BUILD_KEYS)}")
        try:
            resolved[key] = check_setting(key, v)
        except ValueError as err:
            raise r.fail(("build", key), f"[build] {err}") from None
    defaults = data.get("defaults", {})
    for key in defaults:
        if key not in DIALECT_KEYS:
            raise r.fail(("defaults", key), f"[defaults] has no setting {key!r}; it takes {', '.join(DIALECT_KEYS)}")
    base = r.dialect(defaults, ("defaults",))
    used: dict[Path, str] = {}
    tables = {name: _table(r, DATASETS[name], d, base, flags, used) for name, d in data.items()
              if name in DATASETS}
    given = {k: getattr(settings, k) for k in BUILD_KEYS if getattr(settings, k) is not None}
    final = dataclasses.replace(settings, **{**resolved, **given})
    return Mapping(path, path.name, final, tables, _forced({**base, **flags}, path.name))
