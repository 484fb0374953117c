"""The Excel calling convention: how a KPI is called from a cell, once for every caller.

The add-in (:mod:`addin.adapters`, on every xlwings path) and the report
builder (:mod:`workbook_templates.builder`, which computes the cached value of
every ``=KPI_…`` formula it writes) both go through this module, so a report
shows what the add-in would show. Numpy and pandas only (no xlwings).

A call, step by step (:func:`call`):

1. :func:`prepare_args` — Excel-side normalisation: a 1×1 range of a
   non-table argument is the single value it holds (in Excel a one-cell
   reference is a scalar).
2. :func:`first_error_value` — the first Excel error value in the inputs, in
   argument order and then row by row, is the answer, unchanged, as Excel's
   own functions do.
3. The library function runs; a typed library error becomes its Excel error
   through :data:`ERROR_MAP` (:func:`error_code`, :func:`excel_error`).
4. :func:`to_cells` — the result as cells: scalars as numbers, tables with
   their header row, ``NaN``/``NaT`` as blanks, Timestamps as ``datetime``,
   infinity as ``#NUM!`` (Excel has none).

Also here: the one :class:`ExcelError` value, the Excel error table
(:data:`ERRORS`, defined in :mod:`kpi_functions._errors`), a Python value as
an Excel formula constant (:func:`literal`) and function names per add-in path
as users type them and as a saved file stores them (:func:`typed_name`,
:func:`formula_name`).

Function names: what the user types
-----------------------------------
- classic Windows add-in (xlwings COM UDFs, imported as VBA stubs into the
  workbook): ``=KPI_NPS(...)``. VBA function names cannot contain a dot, so
  this path has no namespace.
- Office.js add-in (``kpi serve``): ``=KPI_NPS(...)`` with no namespace (the
  default), or ``=NS.KPI_NPS(...)`` with ``kpi serve --namespace NS``.
- xlwings Lite: ``=KPI_NPS(...)`` (xlwings Lite registers custom functions
  under their own names, e.g. its sample ``=HELLO("World")``).

Function names: what Excel stores in the .xlsx
----------------------------------------------
- classic: the plain name, ``KPI_NPS(B2:B900)``. The VBA stubs written by
  xlwings' "Import Functions" live in the workbook itself (which must then be
  saved as .xlsm), so no add-in path or ``[1]!`` external prefix is stored.
- Office.js (and xlwings Lite, which is an Office.js add-in): custom functions
  are stored with the ``_xldudf_`` prefix and the namespace separator ``.``
  replaced by ``_``: ``=NS.KPI_NPS(A1)`` is saved as ``_xldudf_NS_KPI_NPS(A1)``
  and an un-namespaced ``=KPI_NPS(A1)`` as ``_xldudf_KPI_NPS(A1)``. When the
  add-in is loaded Excel maps the stored name back to the registered function;
  until then the formula bar shows the ``_xldudf_`` form.
  Sources: OfficeDev/office-js issues #2568 (the unzipped sheet XML holds
  ``_xldudf_XXXX``), #3558 (Microsoft: the ``_xldudf`` name shows until the
  add-in's manifest is parsed, then is mapped to the real name) and #877
  (a dot in a custom-function name is replaced by an underscore); published
  workbooks seen in public code hold e.g. ``_xldudf_CX_GET(...)`` for
  ``=CX.GET(...)``.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import re
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from ._errors import (
    ERRORS,
    EXCEL_ERRORS,
    ErrorCode,
    KPIDomainError,
    KPIError,
    KPIErrorValue,
    KPIInputError,
    KPIModelError,
    KPIUndefinedError,
    Location,
)
from ._registry import KPISpec

__all__ = [
    "ADDIN_PATHS",
    "ERRORS",
    "ERROR_MAP",
    "EXCEL_ERRORS",
    "FLAVOURS",
    "FORMULA_FLAVOURS",
    "OFFICEJS_FILE_PREFIX",
    "ErrorCode",
    "ExcelError",
    "call",
    "cell",
    "error_code",
    "excel_error",
    "first_error_value",
    "formula_name",
    "frame_rows",
    "literal",
    "officejs_error_types",
    "officejs_errors_js",
    "prepare_args",
    "result_error",
    "to_cells",
    "typed_name",
    "validate_namespace",
]


# --------------------------------------------------------------------------
# Error values
# --------------------------------------------------------------------------
class ExcelError(str):
    """An Excel error value with the message that explains it.

    It *is* the error string (``"#VALUE!"``: equal to it, JSON-encoded as it),
    so xlwings writes a real error cell on the Office.js path (runtime ≥ 1.4)
    and xlwings Lite; the backend also sends :attr:`message` along so the
    custom-functions JavaScript can show it. The report builder's formula
    model uses the same class for the errors its formulas evaluate to.
    """

    message: str

    def __new__(cls, code: str, message: str = "") -> Self:
        obj = super().__new__(cls, code)
        obj.message = message
        return obj

    @property
    def code(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"ExcelError({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExcelError, (self.code, self.message))


#: The one error-mapping table (SPEC §3): the first matching class wins, so the
#: more specific classes come first. ``None`` means "the error value found in
#: the input, unchanged".
ERROR_MAP: tuple[tuple[type[KPIError], str | None], ...] = (
    (KPIErrorValue, None),
    (KPIDomainError, "#NUM!"),
    (KPIModelError, "#NUM!"),
    (KPIUndefinedError, "#DIV/0!"),
    (KPIInputError, "#VALUE!"),
    (KPIError, "#VALUE!"),
)


def error_code(err: KPIError) -> str:
    """The Excel error value a library error stands for (:data:`ERROR_MAP`)."""
    for cls, code in ERROR_MAP:
        if isinstance(err, cls):
            if code is None:
                found = getattr(err, "excel_error", None)
                return found if found in EXCEL_ERRORS else "#VALUE!"
            return code
    raise TypeError(f"not a KPI error: {err!r}")  # pragma: no cover - ERROR_MAP ends with KPIError


def excel_error(err: KPIError) -> ExcelError:
    """A library error as the Excel error value it stands for, its text as the message."""
    return ExcelError(error_code(err), str(err))


def officejs_error_types() -> dict[str, str]:
    """Office.js ``Excel.ErrorCellValue.errorType`` -> Excel error value (``"Div0"`` -> ``"#DIV/0!"``)."""
    return {e.error_type: e.code for e in ERRORS}


def officejs_errors_js() -> str:
    """The custom-functions JavaScript constants rendered from :data:`ERRORS`.

    ``KPI_ERROR_CODES`` maps an error value to its ``CustomFunctions.ErrorCode``
    member (errors a custom function cannot return are absent);
    ``KPI_MESSAGE_CODES`` holds those Excel shows a custom message with.
    """
    codes = [e for e in ERRORS if e.custom_function]
    lines = ["const KPI_ERROR_CODES = {"]
    lines += [f"  {json.dumps(e.code)}: {json.dumps(e.custom_function)}," for e in codes]
    lines.append("};")
    lines.append(f"const KPI_MESSAGE_CODES = new Set({json.dumps([e.code for e in codes if e.message])});")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------
def _is_seq(v: Any) -> bool:
    return isinstance(v, (list, tuple))


def _prepare(value: Any, is_range: bool, is_table: bool) -> Any:
    """Excel-side normalisation of one argument (no KPI logic).

    A 1×1 range of a non-table argument is the single value it holds: in Excel a
    one-cell reference is a scalar (``=KPI_ARPU(B2, B3)``), and the library
    treats a scalar and a one-cell range alike except where a single number
    selects a form (``KPI_STICKINESS(dau, mau)``).
    """
    if value is None:
        return None
    if is_range and not is_table and _is_seq(value) and len(value) == 1:
        row = value[0]
        if _is_seq(row) and len(row) == 1:
            return row[0]
    return value


def prepare_args(spec: KPISpec, values: Sequence[Any]) -> list[Any]:
    """Every argument normalised as Excel hands it over (:func:`_prepare`)."""
    return [_prepare(v, a.is_range, a.kind == "table") for v, a in zip(values, spec.args)]


def _ragged_pos(rows: Any, i: int) -> tuple[int, int]:
    for r, row in enumerate(rows):
        if i < len(row):
            return r, i
        i -= len(row)
    return len(rows) - 1, 0  # pragma: no cover


def _error_hits(flat: Any) -> np.ndarray | None:
    """Which of the cells are Excel error values (``None``: unhashable cells, the library reports them)."""
    try:
        return np.asarray(pd.Series(flat, dtype=object).isin(EXCEL_ERRORS).to_numpy(), dtype=bool)
    except TypeError:
        return None


def _cannot_hold_text(dtype: Any) -> bool:
    """Numbers, booleans and dates: a column of them holds no error value."""
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))


def _frame_error(function: str, name: str, df: pd.DataFrame) -> KPIErrorValue | None:
    """The first error value of a table, row by row (only text/object columns can hold one)."""
    best: tuple[int, int] | None = None
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if _cannot_hold_text(col.dtype):
            continue
        hits = _error_hits(col.to_numpy(dtype=object))
        if hits is not None and hits.any():
            i = int(np.flatnonzero(hits)[0])
            if best is None or i < best[0]:
                best = (i, j)
    if best is None:
        return None
    r, c = best
    return KPIErrorValue(function, str(df.iat[r, c]), argument=name, location=Location(r + 1, c + 1))


def first_error_value(function: str, arg_names: Sequence[str], values: Sequence[Any]) -> KPIErrorValue | None:
    """The first Excel error value in the inputs, in argument order, then row by row.

    Values are as Excel hands them over (scalars, 1-D or 2-D lists) or as the
    report builder evaluates them (``pd.Series``, ``pd.DataFrame``). Returns a
    :class:`KPIErrorValue` naming the function, the argument and the position,
    or ``None`` when the inputs hold no error value.
    """
    for name, v in zip(arg_names, values):
        if isinstance(v, str):
            if v in EXCEL_ERRORS:
                return KPIErrorValue(function, str.__str__(v), argument=name)
            continue
        if isinstance(v, pd.DataFrame):
            found = _frame_error(function, name, v)
            if found is not None:
                return found
            continue
        if isinstance(v, pd.Series):
            if _cannot_hold_text(v.dtype) or len(v) == 0:
                continue  # numbers, dates, booleans: no error value among them
            flat = v.to_numpy(dtype=object)
            two_d = False
        elif not _is_seq(v) or len(v) == 0:
            continue
        else:
            two_d = _is_seq(v[0])
            if two_d:
                if not all(_is_seq(r) for r in v):
                    continue  # malformed: the library reports it
                flat = list(itertools.chain.from_iterable(v))
            else:
                flat = list(v)
        if len(flat) == 0:
            continue
        hits = _error_hits(flat)  # unhashable cells (a 3-D input): the library reports them
        if hits is not None and hits.any():
            i = int(np.flatnonzero(hits)[0])
            if two_d:
                r, c = divmod(i, len(v[0])) if all(len(row) == len(v[0]) for row in v) else _ragged_pos(v, i)
                location = Location(r + 1, c + 1)
            else:
                location = Location(i + 1)
            return KPIErrorValue(function, str(flat[i]), argument=name, location=location)
    return None


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
def cell(v: Any) -> Any:
    """One result value as an Excel cell value: ``None`` for a blank, ``#NUM!`` for infinity."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        return f if math.isfinite(f) else "#NUM!"  # Excel has no infinity
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, (_dt.datetime, _dt.date, str)):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def _column_cells(s: pd.Series) -> np.ndarray:
    """A column of results as an object array of Excel cell values (vectorised)."""
    missing = np.asarray(pd.isna(s), dtype=bool)
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        out = np.asarray(s.dt.to_pydatetime(), dtype=object)
    elif pd.api.types.is_bool_dtype(dtype):
        out = np.array([bool(x) for x in s.to_numpy(dtype=object, na_value=False)], dtype=object)
    elif pd.api.types.is_integer_dtype(dtype):
        out = s.to_numpy(dtype="int64", na_value=0).astype(object)
    elif pd.api.types.is_float_dtype(dtype):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        out = values.astype(object)
        infinite = np.isinf(values)
        if infinite.any():  # Excel has no infinity
            out[infinite] = "#NUM!"
    else:  # object / string columns: labels, mixed values
        out = np.array([cell(x) for x in s.to_numpy(dtype=object)], dtype=object)
    if missing.any():
        out = out.copy()
        out[missing] = None
    return out


def frame_rows(df: pd.DataFrame) -> list[list[Any]]:
    """A table as it spills: the header row, then one list of cell values per row."""
    header: list[Any] = [str(c) for c in df.columns]
    if df.shape[0] == 0:
        return [header]
    body = np.empty((df.shape[0], df.shape[1]), dtype=object)
    for j in range(df.shape[1]):
        body[:, j] = _column_cells(df.iloc[:, j])
    return [header] + body.tolist()


def to_cells(spec: KPISpec, result: Any) -> Any:
    """Turn a library result into what Excel shows (no KPI arithmetic).

    Scalars stay numbers; DataFrames spill with their header row; a Series
    spills as one column headed by its name; NaN/NaT become blanks; Timestamps
    become ``datetime``. (No registry function returns a bare ndarray.)
    """
    if isinstance(result, pd.DataFrame):
        return frame_rows(result)
    if isinstance(result, pd.Series):
        name = result.name if result.name is not None else spec.name.replace("_", " ")
        return frame_rows(result.to_frame(name=str(name)).reset_index(drop=True))
    return cell(result)


def result_error(spec: KPISpec, result: Any) -> ExcelError | None:
    """The error a scalar result stands for in Excel (an infinite number is ``#NUM!``), else ``None``."""
    if isinstance(result, (float, np.floating)) and math.isinf(result):
        return ExcelError("#NUM!", f"{spec.excel_name}: the result ({float(result)}) is too large for Excel")
    return None


def call(spec: KPISpec, values: Sequence[Any]) -> Any:
    """Run one KPI for Excel: the cells it shows, or the :class:`ExcelError` it is.

    Input error values first (the first wins), then the library, then the
    error mapping; a typed library error becomes its Excel error with the
    error's text as the message.
    """
    prepared = prepare_args(spec, values)
    found = first_error_value(spec.excel_name, [a.name for a in spec.args], prepared)
    if found is not None:
        return ExcelError(found.excel_error, str(found))
    try:
        result = spec.func(*prepared)
    except KPIError as err:
        return excel_error(err)
    bad = result_error(spec, result)
    return bad if bad is not None else to_cells(spec, result)


# --------------------------------------------------------------------------
# Python value -> Excel formula constant
# --------------------------------------------------------------------------
def literal(v: Any) -> str:
    """A Python value as an Excel formula constant.

    ``TRUE``/``FALSE``, a number (integers without a decimal point), text in
    double quotes (quotes doubled), a date as its ISO text (the library reads
    it as a date), an error value as itself (``#N/A`` as ``NA()``, which every
    spreadsheet reads).

    >>> literal(True), literal(3.0), literal(0.25), literal("a"), literal(ExcelError("#N/A"))
    ('TRUE', '3', '0.25', '"a"', 'NA()')
    """
    if isinstance(v, ExcelError):
        return "NA()" if v.code == "#N/A" else v.code
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v)) if not float(v).is_integer() else str(int(v))
    if isinstance(v, (_dt.datetime, _dt.date, pd.Timestamp)):
        return f'"{pd.Timestamp(v).date().isoformat()}"'
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    raise TypeError(f"cannot write {v!r} in a formula")


# --------------------------------------------------------------------------
# Formula names per flavour
# --------------------------------------------------------------------------
#: Every way a KPI formula can be written: the three add-in paths and
#: ``values`` (a workbook of values only, no formulas).
FLAVOURS = ("classic", "officejs", "lite", "values")
#: The add-in paths a formula name can be written for (:func:`formula_name`).
ADDIN_PATHS = ("classic", "officejs", "lite")
#: What the report builder writes (``kpi build --formulas``): ``lite`` stores
#: the same names as ``officejs`` without a namespace, so it has no flavour of its own.
FORMULA_FLAVOURS = ("classic", "officejs", "values")
#: The prefix Excel writes before an Office.js custom function in a saved file.
OFFICEJS_FILE_PREFIX = "_xldudf_"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Office.js namespaces: letters, digits and "_" (we allow no dots: one level),
# at most 32 characters (manifest <Namespace> ShortString limit).
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def validate_namespace(namespace: str | None) -> str | None:
    """Return the namespace in upper case (``None`` for no namespace).

    Raises :class:`ValueError` for a namespace Excel would not accept.
    """
    if namespace is None or namespace == "":
        return None
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ValueError(
            f"invalid function namespace {namespace!r}: use 1 to 32 letters, digits or '_', starting with a letter"
        )
    return namespace.upper()


def _check_name(excel_name: str) -> str:
    if not isinstance(excel_name, str) or not _NAME.match(excel_name):
        raise ValueError(f"invalid Excel function name {excel_name!r}")
    return excel_name.upper()


def _check_flavour(flavour: str) -> str:
    if flavour not in ADDIN_PATHS:
        raise ValueError(f"unknown add-in flavour {flavour!r}; expected one of {', '.join(ADDIN_PATHS)}")
    return flavour


def typed_name(excel_name: str, flavour: str = "classic", namespace: str | None = None) -> str:
    """The name as a user types it in a cell: ``KPI_NPS`` or ``NS.KPI_NPS``.

    The namespace applies to the Office.js path only (classic VBA UDFs and
    xlwings Lite functions have none), so it is ignored for the others.

    >>> typed_name("KPI_NPS", "officejs", "ns")
    'NS.KPI_NPS'
    >>> typed_name("KPI_NPS", "classic", "ns")
    'KPI_NPS'
    """
    name = _check_name(excel_name)
    _check_flavour(flavour)
    ns = validate_namespace(namespace)
    if flavour == "officejs" and ns:
        return f"{ns}.{name}"
    return name


def formula_name(excel_name: str, flavour: str = "classic", namespace: str | None = None) -> str:
    """The function name as it must be written in a saved .xlsx formula.

    ``excel_name`` is the registry's Excel name (``KPI_NPS``). ``flavour`` is
    ``"classic"`` (plain name), ``"officejs"`` (``_xldudf_`` prefix, the
    namespace joined with ``_``) or ``"lite"`` (an Office.js add-in without a
    namespace). The namespace is only meaningful for ``"officejs"``; the
    classic path and xlwings Lite have none, so it is ignored there.

    >>> formula_name("KPI_NPS")
    'KPI_NPS'
    >>> formula_name("KPI_NPS", "officejs")
    '_xldudf_KPI_NPS'
    >>> formula_name("KPI_NPS", "officejs", "ns")
    '_xldudf_NS_KPI_NPS'
    >>> formula_name("KPI_NPS", "lite")
    '_xldudf_KPI_NPS'
    """
    name = _check_name(excel_name)
    flavour = _check_flavour(flavour)
    if flavour == "classic":
        return name
    ns = validate_namespace(namespace) if flavour == "officejs" else None
    return OFFICEJS_FILE_PREFIX + (f"{ns}_{name}" if ns else name)
