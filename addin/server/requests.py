"""Request parsing: a custom-functions call body validated *before* anything runs.

Pure functions (standard library, numpy and :mod:`kpi_functions` only, no xlwings):
:func:`parse_call` turns the JSON an Office.js custom function posts into
xlwings' call data, or raises :class:`BadRequest` with the HTTP status and a
message naming the function, the argument and the cell.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import numpy as np

from kpi_functions import EXCEL_ERRORS, show_big_int
from kpi_functions.excel import officejs_error_types

from .jsonio import fast_loads

__all__ = ["ERROR_TYPES", "BadRequest", "blanks_as_none", "parse_call", "short"]

#: Office.js error cell types (``Excel.ErrorCellValue.errorType``) -> error value.
ERROR_TYPES = officejs_error_types()



class BadRequest(Exception):
    """A request the backend refuses, with its HTTP status and a clear message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reject_constant(name: str) -> Any:
    raise BadRequest(400, f"malformed JSON: {name} is not a valid JSON number")


def short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean_cell(v: Any, fn: str, arg: str, r: int, c: int) -> Any:
    """One cell of an Office.js argument as a plain Python value."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        if abs(v) <= 2**53:
            return v
        try:
            return float(v)  # huge JSON integers: Excel only has doubles
        except OverflowError:
            # Excel cannot hold it (its numbers are doubles), so no real workbook sends it
            raise BadRequest(
                400,
                f"{fn}: argument '{arg}', row {r}, column {c}: number out of range: {show_big_int(v)} "
                "is beyond what Excel holds (about ±1.8e308)",
            ) from None
    if isinstance(v, float):
        return v
    if isinstance(v, dict):
        kind = v.get("type")
        if kind == "Error":
            basic = v.get("basicValue")
            if isinstance(basic, str) and basic in EXCEL_ERRORS:
                return basic
            err_type = v.get("errorType")
            if isinstance(err_type, str) and err_type in ERROR_TYPES:
                return ERROR_TYPES[err_type]
            raise BadRequest(400, f"{fn}: argument '{arg}', row {r}, column {c}: unknown Excel error value {short(v)}")
        if "basicValue" in v:  # FormattedNumber, Double, String, Boolean cell values
            basic = v["basicValue"]
            if basic is None or isinstance(basic, (str, bool, int, float)):
                return _clean_cell(basic, fn, arg, r, c)
        raise BadRequest(
            400, f"{fn}: argument '{arg}', row {r}, column {c}: unsupported cell value of type {short(kind)}"
        )
    raise BadRequest(400, f"{fn}: argument '{arg}', row {r}, column {c}: unsupported value {short(v)}")


_PLAIN_CELLS = frozenset({str, bool, float, int, type(None)})
_NUMBER_CELLS = frozenset({float, int})


def _plain_cells(value: list, width: int) -> list | None:
    """The cells of a matrix, row by row, when every row has ``width`` cells and every
    cell is what :func:`_clean_cell` returns unchanged (text, booleans, null, floats,
    integers within ±2**53); else None.

    The common case — a range of numbers or text — is checked with C-level passes
    instead of a Python call per cell (a 10,000-cell range: ~0.5 ms instead of ~10 ms);
    anything else takes the cell-by-cell path, which names the offending cell.
    """
    if set(map(len, value)) != {width}:
        return None
    cells = list(itertools.chain.from_iterable(value))
    kinds = set(map(type, cells))
    if not kinds <= _PLAIN_CELLS:
        return None
    if int in kinds and not all(-(2**53) <= v <= 2**53 for v in cells if type(v) is int):
        return None
    return cells


def _number_matrix(value: list, width: int) -> np.ndarray | None:
    """A matrix of numbers only (JSON numbers: no text, blank, boolean or error cell) as a
    read-only 2-D float64 array; None for anything else.

    One C-level pass over the cells instead of handing the library a list of
    lists it would take apart again: a 1,000,000-cell range of scores costs
    ~0.1 s as lists (in the library, and again in the search for error cells) and
    ~0.05 s as this array. The values are the cells' own: an integer is the double
    Excel holds (integers beyond ±2**53 are rounded to it, as :func:`_clean_cell`
    does), and one beyond a double raises OverflowError in ``np.array`` and
    returns None, leaving :func:`_clean_cell` to name it.
    """
    if set(map(len, value)) != {width}:
        return None
    cells = list(itertools.chain.from_iterable(value))
    if not set(map(type, cells)) <= _NUMBER_CELLS:
        return None
    try:
        arr = np.array(cells, dtype=np.float64)
    except OverflowError:
        return None
    arr = arr.reshape(len(value), width)
    arr.flags.writeable = False
    return arr


def _clean_arg(value: Any, fn: str, arg: str, numbers: bool = False) -> Any:
    """One Office.js argument: ``null`` (omitted) or a 2-D matrix of cells.

    ``numbers``: the argument is a range of numbers (a ``range`` argument of the
    registry); a matrix of two or more cells that holds numbers only is returned as
    a 2-D float array (:func:`_number_matrix`), which the library reads as it
    reads the same cells as lists.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        # a bare scalar is one cell (lenient: Office.js always sends a matrix)
        return [[_clean_cell(value, fn, arg, 1, 1)]]
    if len(value) == 0 or not all(isinstance(row, list) for row in value):
        raise BadRequest(400, f"{fn}: argument '{arg}' must be a 2-D array (a list of rows of cells)")
    width = len(value[0])
    if width == 0:
        raise BadRequest(400, f"{fn}: argument '{arg}' must be a 2-D array with at least one cell")
    if numbers and (len(value) > 1 or width > 1):
        arr = _number_matrix(value, width)
        if arr is not None:
            return arr
    if _plain_cells(value, width) is not None:
        return value  # nothing to clean: every cell is already a plain value
    out = []
    for i, row in enumerate(value):
        if len(row) != width:
            raise BadRequest(
                400, f"{fn}: argument '{arg}': rows differ in length ({width} cells in row 1, {len(row)} in row {i + 1})"
            )
        out.append([_clean_cell(v, fn, arg, i + 1, j + 1) for j, v in enumerate(row)])
    return out


def blanks_as_none(matrix: Any) -> Any:
    """A 2-D range argument as xlwings' Office.js reading (``ndim=2``) hands it to the
    adapter: blank cells (``""``) as ``None``, everything else unchanged (a float array
    from :func:`_clean_arg` holds no blank). ``tests/addin/test_addin_bridge.py``
    checks this against xlwings' own conversion."""
    if not isinstance(matrix, list) or "" not in itertools.chain.from_iterable(matrix):
        return matrix
    return [[None if c == "" else c for c in row] for row in matrix]


def _optional_text(data: dict, key: str, limit: int = 200) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > limit:
        raise BadRequest(400, f"'{key}' must be a string of at most {limit} characters or null")
    return v


_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(data: dict) -> None:
    """A lone UTF-16 surrogate (``"\\ud800"``) is not a character: it cannot be
    encoded, compared or written back, so it is refused with where it is (400)."""

    def bad(where: str, text: str) -> BadRequest:
        found = _LONE_SURROGATE.search(text)
        c = found.group() if found else "?"  # (only called on a text that holds one)
        return BadRequest(400, f"{where}: text {short(text)} holds a lone UTF-16 surrogate (U+{ord(c):04X}), "
                               "which is not a character")

    name = data.get("func_name")
    for key, value in data.items():
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise bad(f"'{key}'", value)
        if isinstance(key, str) and _LONE_SURROGATE.search(key):
            raise bad("a field name", key)
    args = data.get("args")
    if not isinstance(args, list):
        return
    fn = name if isinstance(name, str) and not _LONE_SURROGATE.search(name) else "the call"
    for i, arg in enumerate(args):
        rows = arg if isinstance(arg, list) else [[arg]]
        for r, row in enumerate(rows):
            for c, cell in enumerate(row if isinstance(row, list) else [row]):
                texts = [cell] if isinstance(cell, str) else [
                    v for v in (cell.values() if isinstance(cell, dict) else []) if isinstance(v, str)]
                for t in texts:
                    if _LONE_SURROGATE.search(t):
                        raise bad(f"{fn}: argument {i + 1}, row {r + 1}, column {c + 1}", t)


def _std_loads(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed request: the body is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except BadRequest:
        raise
    except (ValueError, RecursionError) as err:  # JSONDecodeError, or an integer of >4300 digits
        raise BadRequest(400, f"malformed JSON: {err}") from None


def parse_call(body: bytes, functions: dict[str, Any], xlwings_version: str | None = None) -> tuple[str, dict[str, Any]]:
    """Validate a custom-functions call; return the adapter name and clean xlwings data.

    ``functions`` maps adapter names (``KPI_NPS``) to the adapters;
    ``xlwings_version`` goes into the call data (default: the installed
    xlwings'). Raises :class:`BadRequest` with the status and a message for
    anything malformed.
    """
    parsed, data = fast_loads(body)
    if not parsed:  # no orjson, or a body it refuses: the standard library decides (and words the refusal)
        data = _std_loads(body)
    if not isinstance(data, dict):
        raise BadRequest(400, "the request body must be a JSON object with 'func_name' and 'args'")
    if _MAYBE_SURROGATE.search(body):  # a \uD800-\uDFFF escape: only then look for a lone one
        _refuse_lone_surrogates(data)
    name = data.get("func_name")
    if not isinstance(name, str) or not name:
        raise BadRequest(400, "'func_name' must be the name of a KPI function, e.g. \"KPI_NPS\"")
    key = name.strip().upper()
    if "." in key:  # a namespaced name, NS.KPI_NPS
        key = key.rsplit(".", 1)[1]
    adapter = functions.get(key)
    if adapter is None:
        raise BadRequest(404, f"unknown function {short(name)}: there is no KPI function of that name")
    spec = adapter.kpi_spec
    args = data.get("args")
    if not isinstance(args, list):
        raise BadRequest(400, f"{spec.excel_name}: 'args' must be a JSON array with one entry per argument")
    n_all, n_req = len(spec.args), len(spec.required)
    if not (n_req <= len(args) <= n_all):
        names = ", ".join(a.name for a in spec.args)
        want = f"{n_all}" if n_all == n_req else f"{n_req} to {n_all}"
        raise BadRequest(
            400, f"{spec.excel_name} takes {want} argument(s) ({names}); the request has {len(args)}"
        )
    clean = [_clean_arg(v, spec.excel_name, a.name, a.kind == "range") for v, a in zip(args, spec.args)]
    runtime = data.get("runtime", "1.1")
    if isinstance(runtime, bool) or not isinstance(runtime, (str, int, float)):
        raise BadRequest(400, "'runtime' must be the custom-functions runtime version, e.g. \"1.4\"")
    runtime = str(runtime)
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", runtime):
        raise BadRequest(400, "'runtime' must be the custom-functions runtime version, e.g. \"1.4\"")
    # the workbook's short-date pattern; without one (ExcelApi < 1.12) dates would
    # spill as bare serial numbers, so fall back to ISO dates
    date_format = _optional_text(data, "date_format", 64) or "yyyy-mm-dd"
    culture = _optional_text(data, "culture_info_name", 64)
    caller = _optional_text(data, "caller_address", 1000)
    if xlwings_version is None:
        from .bridge import xlwings_version as installed

        xlwings_version = installed()
    clean_data = {
        "func_name": key,
        "args": clean,
        "client": "Office.js",
        "version": xlwings_version,
        "runtime": runtime,
        "date_format": date_format,
        "culture_info_name": culture,
        "caller_address": caller,
    }
    return key, clean_data


