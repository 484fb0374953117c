"""Function names as Excel shows them and as Excel stores them in a saved file.

Dependency-free (standard library only) so the template builder can import it
without xlwings, numpy or a server installed.

What the user types
-------------------
- classic Windows add-in (xlwings COM UDFs, imported as VBA stubs into the
  workbook): ``=KPI_NPS(...)``. VBA function names cannot contain a dot, so
  this path has no namespace.
- Office.js add-in (``kpi serve``): ``=KPI_NPS(...)`` with no namespace (the
  default), or ``=NS.KPI_NPS(...)`` with ``kpi serve --namespace NS``.
- xlwings Lite: ``=KPI_NPS(...)`` (xlwings Lite registers custom functions
  under their own names, e.g. its sample ``=HELLO("World")``).

What Excel stores in the .xlsx
------------------------------
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

import re

__all__ = [
    "FLAVOURS",
    "OFFICEJS_FILE_PREFIX",
    "formula_name",
    "typed_name",
    "validate_namespace",
]

#: The add-in paths a formula can be written for.
FLAVOURS = ("classic", "officejs", "lite")
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
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown add-in flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")
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
