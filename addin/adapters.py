"""xlwings adapters: every registry function as an Excel formula ``=KPI_<NAME>(...)``.

One module serves all three add-in paths unchanged; the decorators come from
``xlwings`` and are whatever the running environment makes of them:

- the classic Windows add-in (COM UDFs; ``UDF Modules = addin.adapters``):
  blanks arrive as ``None``, dates as ``datetime``, ranges as 2-D lists;
- the Office.js custom functions of xlwings' server mode (``kpi serve``,
  ``XLWINGS_ON_SERVER=true``): blanks arrive as ``""``/``null`` (xlwings turns
  them into ``None``), dates as serial numbers, error cells as error values;
- xlwings Lite (Python in WebAssembly inside Excel, ``kpi lite``): the same
  decorator API as server mode.

Outside those environments the decorators are no-ops and the adapters are
plain Python functions (which is how the tests call them on the classic path).

Each adapter is generated from its :class:`~kpi_functions.KPISpec` — same
argument names, same defaults — with a one-line docstring (Excel shows the
whole docstring as the function's description) and ``doc=`` help for every
argument. Range and table arguments are read as 2-D ranges (``ndim=2``),
option arguments as single values; every argument reads error cells as their
text (``err_to_str=True``) so an error in the input is never mistaken for a
blank.

The adapter does no KPI arithmetic. It (1) returns the first Excel error value
found in the inputs (argument order) unchanged, as Excel's own functions do,
(2) calls the library, (3) maps a typed library error to its Excel error
through :data:`ERROR_MAP`, and (4) turns the result into what Excel spills:
scalars as numbers, tables/columns/labelled results as a 2-D list with a
header row, ``NaN``/``NaT`` as blank cells (``None``) and Timestamps as
``datetime`` (shown as dates on every path).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import keyword
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw

from kpi_functions import (
    EXCEL_ERRORS,
    REGISTRY,
    KPIDomainError,
    KPIError,
    KPIErrorValue,
    KPIInputError,
    KPIModelError,
    KPISpec,
    KPIUndefinedError,
)

__all__ = [
    "ADAPTERS",
    "ERROR_MAP",
    "PATH",
    "ExcelError",
    "KPIFormulaError",
    "build_adapter",
    "call_spec",
    "excel_error_for",
    "first_error_value",
    "render_error",
    "to_excel",
]

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


def _detect_path() -> str:
    """Which add-in path this process serves: ``lite``, ``server``, ``classic`` or ``python``."""
    if sys.platform == "emscripten":
        return "lite"  # xlwings Lite: Pyodide inside Excel
    if os.environ.get("XLWINGS_ON_SERVER") == "true":
        return "server"  # the Office.js backend (kpi serve)
    if sys.platform.startswith("win"):
        try:
            import pythoncom  # noqa: F401  (pywin32: the COM UDF server)
        except ImportError:
            return "python"
        return "classic"
    return "python"


#: ``classic`` (Windows COM UDFs), ``server`` (Office.js backend), ``lite``
#: (xlwings Lite) or ``python`` (decorators are no-ops: plain calls, e.g. tests).
PATH = _detect_path()


class KPIFormulaError(ValueError):
    """Raised on xlwings Lite for ``#VALUE!``: Lite shows a raised error as
    ``#VALUE!`` with the exception text as the message Excel displays."""


class ExcelError(str):
    """An Excel error value with the message that explains it.

    It *is* the error string (``"#VALUE!"``), so xlwings writes a real error cell
    on the Office.js path (runtime ≥ 1.4) and xlwings Lite; the backend also
    sends :attr:`message` along so the custom-functions JavaScript can show it.
    """

    message: str

    def __new__(cls, code: str, message: str) -> ExcelError:
        obj = super().__new__(cls, code)
        obj.message = message
        return obj

    @property
    def code(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"ExcelError({self.code!r}, {self.message!r})"

    def __reduce__(self):
        return (ExcelError, (self.code, self.message))


def excel_error_for(err: KPIError) -> str:
    """The Excel error value a library error stands for (:data:`ERROR_MAP`)."""
    for cls, code in ERROR_MAP:
        if isinstance(err, cls):
            if code is None:
                found = getattr(err, "excel_error", None)
                return found if found in EXCEL_ERRORS else "#VALUE!"
            return code
    raise TypeError(f"not a KPI error: {err!r}")  # pragma: no cover - ERROR_MAP ends with KPIError


def render_error(code: str, message: str, path: str | None = None) -> Any:
    """What the adapter returns (or raises) for an error on the given path.

    - ``classic``: the COM path cannot return a real error cell through
      xlwings, so the error shows as text, message included
      (``#VALUE! KPI_NPS: argument …``).
    - ``lite``: ``#VALUE!`` is raised as :class:`KPIFormulaError`, which xlwings
      Lite shows as ``#VALUE!`` with the message; other errors are returned as
      the error value (Excel allows no message on ``#NUM!``/``#DIV/0!``).
    - ``server`` and ``python``: an :class:`ExcelError` — the error string, which
      xlwings turns into a real error cell — carrying the message, which the
      backend sends along for the custom-functions JavaScript to show.
    """
    path = path or PATH
    if path == "classic":
        return f"{code} {message}"
    if path == "lite" and code == "#VALUE!":
        raise KPIFormulaError(message)
    return ExcelError(code, message)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------
def _is_seq(v: Any) -> bool:
    return isinstance(v, (list, tuple))


def first_error_value(function: str, arg_names: list[str], values: list[Any]) -> KPIErrorValue | None:
    """The first Excel error value in the inputs, in argument order, then row by row.

    Returns a :class:`KPIErrorValue` naming the function, the argument and the
    position, or ``None`` when the inputs hold no error value.
    """
    for name, v in zip(arg_names, values):
        if isinstance(v, str):
            if v in EXCEL_ERRORS:
                return KPIErrorValue(function, v, argument=name)
            continue
        if not _is_seq(v) or len(v) == 0:
            continue
        two_d = _is_seq(v[0])
        if two_d:
            if not all(_is_seq(r) for r in v):
                continue  # malformed: the library reports it
            flat = list(itertools.chain.from_iterable(v))
        else:
            flat = list(v)
        if not flat:
            continue
        try:
            hits = pd.Series(flat, dtype=object).isin(EXCEL_ERRORS).to_numpy()
        except TypeError:  # unhashable cells (a 3-D input): the library reports it
            continue
        if hits.any():
            i = int(np.flatnonzero(hits)[0])
            if two_d:
                r, c = divmod(i, len(v[0])) if all(len(row) == len(v[0]) for row in v) else _ragged_pos(v, i)
                position = f"row {r + 1}, column {c + 1}"
            else:
                position = f"item {i + 1}"
            return KPIErrorValue(function, flat[i], argument=name, position=position)
    return None


def _ragged_pos(rows: Any, i: int) -> tuple[int, int]:
    for r, row in enumerate(rows):
        if i < len(row):
            return r, i
        i -= len(row)
    return len(rows) - 1, 0  # pragma: no cover


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


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
def _cell(v: Any) -> Any:
    """One result value as an Excel cell value."""
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
        out = np.array([_cell(x) for x in s.to_numpy(dtype=object)], dtype=object)
    if missing.any():
        out = out.copy()
        out[missing] = None
    return out


def _frame_rows(df: pd.DataFrame) -> list[list[Any]]:
    header = [str(c) for c in df.columns]
    if df.shape[0] == 0:
        return [header]
    cols = [_column_cells(df.iloc[:, j]) for j in range(df.shape[1])]
    body = np.empty((df.shape[0], df.shape[1]), dtype=object)
    for j, col in enumerate(cols):
        body[:, j] = col
    return [header] + body.tolist()


def to_excel(spec: KPISpec, result: Any) -> Any:
    """Turn a library result into what Excel shows (no KPI arithmetic).

    Scalars stay numbers; DataFrames spill with their header row; a Series or a
    1-D array spills as one column headed by its name; NaN/NaT become blanks;
    Timestamps become ``datetime``.
    """
    if isinstance(result, pd.DataFrame):
        return _frame_rows(result)
    if isinstance(result, pd.Series):
        name = result.name if result.name is not None else spec.name.replace("_", " ")
        return _frame_rows(result.to_frame(name=str(name)).reset_index(drop=True))
    if isinstance(result, np.ndarray):
        if result.ndim == 1:
            return _frame_rows(pd.DataFrame({spec.name.replace("_", " "): result}))
        return [[_cell(x) for x in row] for row in result.tolist()]
    return _cell(result)


# --------------------------------------------------------------------------
# The adapters
# --------------------------------------------------------------------------
def call_spec(spec: KPISpec, values: list[Any], path: str | None = None) -> Any:
    """Run one KPI for Excel: input errors first, then the library, then the mapping."""
    prepared = [_prepare(v, a.is_range, a.kind == "table") for v, a in zip(values, spec.args)]
    names = [a.name for a in spec.args]
    found = first_error_value(spec.excel_name, names, prepared)
    if found is not None:
        return render_error(found.excel_error, str(found), path)
    try:
        result = spec.func(*prepared)
    except KPIError as err:
        return render_error(excel_error_for(err), str(err), path)
    if isinstance(result, (float, np.floating)) and math.isinf(result):
        return render_error("#NUM!", f"{spec.excel_name}: the result ({float(result)}) is too large for Excel", path)
    return to_excel(spec, result)


def _check_identifier(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} cannot be an adapter argument name")
    return name


def build_adapter(
    spec: KPISpec,
    func: Callable[..., Any] | None = None,
    arg: Callable[..., Any] | None = None,
    ret: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """Generate the adapter of one spec and decorate it.

    The adapter is a real Python function named like the Excel function
    (``KPI_NPS``) with the library's argument names and defaults, so every
    xlwings path sees the right signature (optional arguments are optional).
    ``func``/``arg``/``ret`` default to ``xw.func``/``xw.arg``/``xw.ret``.
    """
    func = func or xw.func
    arg = arg or xw.arg
    ret = ret or xw.ret
    params, names, defaults = [], [], {}
    for i, a in enumerate(spec.args):
        name = _check_identifier(a.name)
        names.append(name)
        if a.optional:
            defaults[f"_d{i}"] = a.default
            params.append(f"{name}=_d{i}")
        else:
            params.append(name)
    fname = _check_identifier(spec.excel_name)
    source = (
        f"def {fname}({', '.join(params)}):\n"
        f"    return _call(_spec, [{', '.join(names)}{',' if len(names) == 1 else ''}])\n"
    )
    namespace: dict[str, Any] = {"_call": call_spec, "_spec": spec, **defaults}
    exec(compile(source, f"<adapter {fname}>", "exec"), namespace)  # noqa: S102  (registry names only)
    adapter = namespace[fname]
    adapter.__module__ = __name__
    adapter.__qualname__ = fname
    adapter.__doc__ = spec.summary
    adapter.kpi_spec = spec
    for a in reversed(spec.args):
        if a.is_range:
            adapter = arg(a.name, ndim=2, err_to_str=True, doc=a.help)(adapter)
        else:
            adapter = arg(a.name, err_to_str=True, doc=a.help)(adapter)
    # tables, columns and labelled results are returned as 2-D lists that already
    # carry their header row; the options say so for any converter that looks
    adapter = ret(index=False, header=True)(adapter)
    # func last (outermost): xlwings' arg/ret re-run func's option handling with
    # no options, which would reset the category
    adapter = func(category=f"KPI: {spec.category}")(adapter)
    return adapter


def _build_all() -> dict[str, Callable[..., Any]]:
    out = {}
    for spec in REGISTRY.values():
        out[spec.excel_name] = build_adapter(spec)
    return out


#: Excel name -> adapter, in catalog order (generated from the registry).
ADAPTERS: dict[str, Callable[..., Any]] = _build_all()
globals().update(ADAPTERS)
__all__ += list(ADAPTERS)
