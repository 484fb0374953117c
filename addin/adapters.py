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
whole docstring as the function's description: :attr:`KPISpec.description`, the
summary and, where the source articles go wrong, a short pointer to what is
right) and ``doc=`` help for every argument. Range and table arguments are read as 2-D ranges (``ndim=2``),
option arguments as single values; every argument reads error cells as their
text (``err_to_str=True``) so an error in the input is never mistaken for a
blank.

The adapter does no KPI arithmetic and holds no calling convention of its
own: :func:`kpi_functions.excel.call` (shared with the report builder) returns
the first Excel error value found in the inputs (argument order) unchanged,
calls the library, maps a typed library error to its Excel error through
:data:`~kpi_functions.excel.ERROR_MAP`, and turns the result into what Excel
spills. This module adds the xlwings decorators and renders an error the way
the running path can show it (:func:`render_error`).
"""

from __future__ import annotations

import inspect
import keyword
import os
import sys
from collections.abc import Callable
from typing import Any

import xlwings as xw

from kpi_functions import REGISTRY, KPISpec
from kpi_functions import excel as X
from kpi_functions.excel import ERROR_MAP, ExcelError, first_error_value

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

#: The library error -> Excel error mapping (defined in :mod:`kpi_functions.excel`).
excel_error_for = X.error_code
#: A library result as Excel cells (defined in :mod:`kpi_functions.excel`).
to_excel = X.to_cells


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


def call_spec(spec: KPISpec, values: list[Any], path: str | None = None) -> Any:
    """Run one KPI for Excel (:func:`kpi_functions.excel.call`); an error is rendered for the path."""
    out = X.call(spec, values)
    if isinstance(out, ExcelError):
        return render_error(out.code, out.message, path)
    return out


# --------------------------------------------------------------------------
# The adapters
# --------------------------------------------------------------------------
def _check_identifier(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} cannot be an adapter argument name")
    return name


def _signature(spec: KPISpec) -> inspect.Signature:
    """The library's argument names and defaults, every one positional-or-keyword."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([
        inspect.Parameter(_check_identifier(a.name), kind,
                          default=a.default if a.optional else inspect.Parameter.empty)
        for a in spec.args
    ])


def build_adapter(
    spec: KPISpec,
    func: Callable[..., Any] | None = None,
    arg: Callable[..., Any] | None = None,
    ret: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """Generate the adapter of one spec and decorate it.

    The adapter is a Python function named like the Excel function
    (``KPI_NPS``) whose ``__signature__`` carries the library's argument names
    and defaults, so every xlwings path sees the right signature (optional
    arguments are optional). That is enough for xlwings: the classic UDF
    decorators (``xlwings.udfs.func_sig``), the Office.js ones
    (``xlwings.pro.udfs_officejs.func_sig``) and the argument injection read the
    parameters through :func:`inspect.signature`, which honours
    ``__signature__``, and call the function positionally; they read no
    ``__code__`` (only ``co_filename``, for a function without a docstring).
    ``func``/``arg``/``ret`` default to ``xw.func``/``xw.arg``/``xw.ret``.
    """
    func = func or xw.func
    arg = arg or xw.arg
    ret = ret or xw.ret
    fname = _check_identifier(spec.excel_name)
    sig = _signature(spec)

    def adapter(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)  # a TypeError for a wrong call, as a plain function raises
        bound.apply_defaults()
        return call_spec(spec, list(bound.arguments.values()))

    adapter.__signature__ = sig  # type: ignore[attr-defined]
    adapter.__name__ = fname
    adapter.__qualname__ = fname
    adapter.__module__ = __name__
    adapter.__doc__ = spec.description  # the summary, with a caution's pointer where it fits Excel's 255 characters
    adapter.kpi_spec = spec  # type: ignore[attr-defined]
    decorated: Callable[..., Any] = adapter
    for a in reversed(spec.args):
        if a.is_range:
            decorated = arg(a.name, ndim=2, err_to_str=True, doc=a.help)(decorated)
        else:
            decorated = arg(a.name, err_to_str=True, doc=a.help)(decorated)
    # tables, columns and labelled results are returned as 2-D lists that already
    # carry their header row; the options say so for any converter that looks
    decorated = ret(index=False, header=True)(decorated)
    # func last (outermost): xlwings' arg/ret re-run func's option handling with
    # no options, which would reset the category
    decorated = func(category=f"KPI: {spec.category}")(decorated)
    return decorated


def _build_all() -> dict[str, Callable[..., Any]]:
    out = {}
    for spec in REGISTRY.values():
        out[spec.excel_name] = build_adapter(spec)
    return out


#: Excel name -> adapter, in registration order (generated from the registry; ``specs()`` gives the catalog order).
ADAPTERS: dict[str, Callable[..., Any]] = _build_all()
globals().update(ADAPTERS)
__all__ += list(ADAPTERS)
