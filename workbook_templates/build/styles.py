"""Number formats (by the registry's unit of a KPI, by the type of a data column) and the cell styles."""

from __future__ import annotations

from typing import Any, ClassVar

import kpi_functions as K

from .. import formulas as F

__all__ = ["DATETIME_FMT", "DATE_FMT", "MONEY", "MONEY_CENTS", "MONTH_FMT", "UNIT_FORMATS", "Formats", "MoneyFormat",
           "currency_format", "date_cell_fmt", "unit_format"]

#: number format of a scalar KPI cell, by the registry's ``unit`` (the units' Excel formats)
UNIT_FORMATS = {name: u.excel_format for name, u in K.UNIT_RECORDS.items()}
DATE_FMT = "yyyy-mm-dd"
DATETIME_FMT = "yyyy-mm-dd hh:mm"
MONTH_FMT = "mmm yyyy"


class MoneyFormat(str):
    """The number format of a money cell: the text is the format without a currency (``#,##0``), so a report
    with no reporting currency is formatted as before; with one, :func:`currency_format` puts the currency in
    front (``[$NOK] #,##0``)."""

    __slots__ = ()


MONEY = MoneyFormat("#,##0")
MONEY_CENTS = MoneyFormat("#,##0.00")


def currency_format(num: str | None, currency: str | None) -> str | None:
    """The Excel number format to write: a money format with the reporting currency as its symbol
    (``[$NOK] #,##0``, the bracketed currency Excel writes for a symbol of no particular locale); any other
    format, or any format when there is no reporting currency, as it is."""
    if currency and isinstance(num, MoneyFormat):
        return f"[${currency}] {num}"
    return None if num is None else str(num)


def unit_format(spec: K.KPISpec, node: F.KPI | None = None) -> str:
    """Number format of a scalar KPI result from its registry unit (a duration's in the unit it asks for)."""
    u = K.unit(spec.unit)
    if u.excel_formats and node is not None:
        names = [a.name for a in spec.args]
        variant = "hours"
        if "unit" in names:
            i = names.index("unit")
            if i < len(node.args):
                arg = node.args[i]
                if isinstance(arg, F.Const) and isinstance(arg.value, str):
                    variant = arg.value.lower()
        return u.excel_format_for(variant)
    return MoneyFormat(u.excel_format) if spec.unit == "money" else u.excel_format


def date_cell_fmt(col_type: str) -> str:
    """Number format of a date-like data column (``date``, ``datetime``, ``month``)."""
    return {"date": DATE_FMT, "datetime": DATETIME_FMT, "month": MONTH_FMT}[col_type]


class Formats:
    """The workbook's cell formats by style name and number format, each made once."""

    PALETTE: ClassVar[dict[str, str]] = {
        "ink": "#1F2937", "muted": "#6B7280", "accent": "#1D4ED8", "band": "#E8EEF9", "line": "#C7D2E5",
        "input": "#FFF7D6", "good": "#DCFCE7", "good_ink": "#166534", "bad": "#FEE2E2", "bad_ink": "#991B1B",
        "warn": "#FEF3C7", "warn_ink": "#92400E"}

    def __init__(self, wb: Any, currency: str | None = None) -> None:
        self.wb = wb
        self.currency = currency  #: the reporting currency money formats carry (None: none)
        self._cache: dict[tuple[str, str | None], Any] = {}

    def number(self, num: str | None) -> str | None:
        """The number format written for ``num`` (a money format carries the reporting currency)."""
        return currency_format(num, self.currency)

    def get(self, style: str = "value", num: str | None = None) -> Any:
        num = self.number(num)
        key = (style, num)
        f = self._cache.get(key)
        if f is not None:
            return f
        p = self.PALETTE
        props: dict[str, Any] = {"font_name": "Calibri", "font_size": 10, "valign": "vcenter"}
        wrap = style.endswith("_wrap")
        style = style.removesuffix("_wrap")
        if style == "title":
            props.update(bold=True, font_size=16, font_color=p["ink"])
        elif style == "subtitle":
            props.update(font_size=10, font_color=p["muted"])
        elif style == "banner":
            props.update(italic=True, font_size=9, font_color=p["muted"])
        elif style == "section":
            props.update(bold=True, font_size=11, font_color=p["accent"], bottom=2, bottom_color=p["accent"])
        elif style == "header":
            props.update(bold=True, font_color=p["ink"], bg_color=p["band"], bottom=1, bottom_color=p["line"],
                         text_wrap=True)
        elif style in ("label", "cell"):
            props.update(font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "label_wrap":  # a label longer than its column: on two or more lines
            props.update(font_color=p["ink"], bottom=1, bottom_color="#EEF2F7", text_wrap=True)
        elif style == "label_top":  # the label of a row of wrapped text: beside its first line
            props.update(font_color=p["ink"], bottom=1, bottom_color="#EEF2F7", valign="top")
        elif style == "note":
            props.update(font_size=9, font_color=p["muted"], bottom=1, bottom_color="#EEF2F7")
        elif style in ("kpi", "key"):
            props.update(bold=True, font_color=p["ink"], bottom=1, bottom_color="#EEF2F7")
        elif style == "stored":  # large-data layout: a value kpi build stored where its formula's input is not in
            # the workbook (it does not recalculate)
            props.update(italic=True, font_color="#5B21B6", bg_color="#EDE9FE", bottom=1, bottom_color="#DDD6FE")
        elif style == "input":
            props.update(bg_color=p["input"], border=1, border_color="#E5C96B", font_color=p["ink"])
        elif style == "wrap":
            props.update(text_wrap=True, valign="top", font_color=p["ink"])
        if wrap:  # a paragraph in the style before the suffix, wrapped, from the top
            props.update(text_wrap=True, valign="top")
        if num:
            props["num_format"] = num
        f = self.wb.add_format(props)
        self._cache[key] = f
        return f

    def tone(self, tone: str) -> Any:
        """A new conditional-format colouring for a status text: ``good``, ``bad`` or ``warn``."""
        p = self.PALETTE
        return self.wb.add_format({"bg_color": p[tone], "font_color": p[f"{tone}_ink"], "bold": True})
