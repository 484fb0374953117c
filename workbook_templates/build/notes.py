"""The Notes sheet: what the report is, how its KPI cells work, each KPI's definition (and where popular
articles get it wrong) and each input table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import kpi_functions as K

from ..schema import DATASETS
from .printing import LINE_POINTS, text_lines
from .styles import Formats

if TYPE_CHECKING:
    from .evaluation import Report

__all__ = ["write_notes"]

_FORMULAS = {"classic": "KPI formulas for the classic Excel add-in (=KPI_…).",
             "officejs": "KPI formulas for the Office.js add-in (kpi serve).",
             "values": "Values only: this copy holds no formulas."}


#: the Notes columns' widths (characters of the default font)
_WIDTHS = (30, 62, 46, 26)


def row_points(texts: dict[int, str]) -> float | None:
    """The height (points) a Notes row needs for its wrapped texts (column -> text); None: one line is enough."""
    lines = max(text_lines(t, _WIDTHS[c]) for c, t in texts.items())
    return LINE_POINTS * lines + 2 if lines > 1 else None


def _fit(ws: Any, r: int, texts: dict[int, str]) -> None:
    """Make row ``r`` tall enough for its wrapped texts (column -> text). A row XlsxWriter writes keeps its
    default height of one line: LibreOffice then draws the further lines of a long text under the next row,
    and Excel only grows a row when it recalculates its height itself."""
    height = row_points(texts)
    if height is not None:
        ws.set_row(r, height)


def _section(ws: Any, f: Formats, r: int, title: str) -> None:
    ws.write_string(r, 0, title, f.get("section"))
    for j in range(1, 4):
        ws.write_blank(r, j, None, f.get("section"))


def _rates(ws: Any, f: Formats, r: int, fx: Any) -> int:
    """The exchange rates the report's amounts were converted with: currency, month, rate."""
    _section(ws, f, r, f"Exchange rates used (units of {fx.currency} per 1 unit)")
    r += 1
    for j, h in enumerate(("Currency", "Month", "Rate")):
        ws.write_string(r, j, h, f.get("header"))
    r += 1
    for cur, month, rate in fx.rates:
        ws.write_string(r, 0, cur, f.get("cell"))
        ws.write_string(r, 1, month, f.get("cell"))
        ws.write_number(r, 2, rate, f.get("cell", "General"))
        r += 1
    return r + 1


def _period_notes(d: Any) -> list[tuple[str, str]]:
    """The Notes sheet's lines on a report period of a quarter or a year (none for a month)."""
    if d.period_months == 1:
        return []
    p = d.the_period
    fiscal = (f" The fiscal year starts in {p.span.split()[0] if p.grain == 'year' else ''}".rstrip()
              if p.fiscal else "")
    lines = [("Report period", f"{p.title}: {p.span}, the {p.months} months ending in the report month."
              + (f" The period is {d.partial}." if d.partial else "")
              + (f" Fiscal years are named by the calendar year they end in.{fiscal}" if p.fiscal else ""))]
    lines.append(("KPIs over the period", PERIOD_DEFINITIONS))
    return lines


#: how each KPI is defined over a quarter or a year (the Notes sheet of such a report; docs/reports.md)
PERIOD_DEFINITIONS = (
    "Customer churn = customers paying at the start (the month-end snapshot before the period) who are not "
    "paying at its end ÷ customers paying at the start. Retention = 1 − churn = (E − N) ÷ S, with S and E the "
    "paying customers at the start and end and N those new or reactivated during the period and paying at its "
    "end. MRR movements (new, expansion, reactivation, contraction, churned) are the sums of the monthly "
    "movements. NRR and GRR compare each customer's MRR at the end of the period with the start (customers "
    "paying at the start only). MRR, ARR and ARPA are snapshots at the end of the period. Funnel counts, spend, "
    "CAC, ROAS, NPS, CSAT and service times aggregate the period's rows, then divide. Gross margin sets the "
    "period's cost of revenue against the MRR of its months. CLV divides the monthly ARPA by the monthly "
    "equivalent of the trend's average churn per period, 1 − (1 − churn)^(1/months). Stickiness is the "
    "report month's. Trend tables show the last 8 quarters or 5 years.")


def _cautions(ws: Any, f: Formats, r: int, names: list[str]) -> int:
    """Where popular articles get the report's KPIs wrong: one row per correction (the functions of this report
    it concerns, what is right, what the articles print), and its worked example under it. Nothing when no KPI of
    the report has a caution."""
    concerns: dict[str, list[str]] = {}  # correction key -> the report's functions it concerns, in catalog order
    records = {}
    for name in names:
        for c in K.REGISTRY[name].cautions:
            concerns.setdefault(c.key, []).append(name)
            records[c.key] = c
    if not concerns:
        return r
    _section(ws, f, r, "Cautions: where popular articles go wrong")
    r += 1
    for j, h in enumerate(("Topic and functions", "What is right", "What some articles print")):
        ws.write_string(r, j, h, f.get("header"))
    r += 1
    for key, functions in concerns.items():
        c = records[key]
        who = f"{c.topic}: {', '.join(functions)}"
        ws.write_string(r, 0, who, f.get("wrap"))
        ws.write_string(r, 1, c.right, f.get("wrap"))
        ws.write_string(r, 2, c.wrong, f.get("wrap"))
        _fit(ws, r, {0: who, 1: c.right, 2: c.wrong})
        r += 1
        if c.example:  # its heading, then one "• step" a line
            heading, steps = c.example[0], "\n".join(f"• {step}" for step in c.example[1:])
            ws.write_string(r, 0, heading, f.get("wrap"))
            ws.write_string(r, 1, steps, f.get("wrap"))
            _fit(ws, r, {0: heading, 1: steps})
            r += 1
    return r + 1


#: the columns of the cost allocation table (:func:`.context.allocate_costs`) and their formats
_ALLOCATION_COLUMNS = (("month", "Month", "mmm yyyy"), ("new customers (segment)", "New customers, segment", "#,##0"),
                       ("new customers (all)", "New customers, all", "#,##0"),
                       ("sales cost share", "Sales cost share", "0.00%"),
                       ("sales cost (all)", "Sales cost, all", "#,##0.00"),
                       ("sales cost (allocated)", "Sales cost, allocated", "#,##0.00"),
                       ("MRR (segment)", "MRR, segment", "#,##0.00"), ("MRR (all)", "MRR, all", "#,##0.00"),
                       ("cogs share", "Cost of revenue share", "0.00%"), ("cogs (all)", "Cost of revenue, all", "#,##0.00"),
                       ("cogs (allocated)", "Cost of revenue, allocated", "#,##0.00"))


def _allocation(ws: Any, f: Formats, r: int, a: Any, segment: str) -> int:
    """The costs allocated to the segment, month by month: bases, shares, totals and allocated amounts."""
    from ..context import ALLOCATION_RULE

    _section(ws, f, r, f"Cost allocation to {segment}")
    r += 1
    text = (f"costs.csv has no column for this segment: {ALLOCATION_RULE}. The Costs table holds the allocated "
            "amounts (each row's amount times its month's share); over all the segments the shares of a month add "
            "up to 100 %, so the allocated amounts add up to the costs.")
    ws.write_string(r, 0, "Rule", f.get("label_top"))
    ws.write_string(r, 1, text, f.get("wrap"))
    _fit(ws, r, {1: text})
    r += 1
    for j, (_, h, _fmt) in enumerate(_ALLOCATION_COLUMNS):
        ws.write_string(r, j, h, f.get("header"))
    r += 1
    for row in a.itertuples(index=False):
        vals = dict(zip(a.columns, row))
        for j, (key, _, fmt) in enumerate(_ALLOCATION_COLUMNS):
            v = vals[key]
            if key == "month":
                ws.write_datetime(r, j, v.to_pydatetime(), f.get("cell", fmt))
            elif isinstance(v, float) and math.isnan(v):  # NaN: no share (no customer paying at the month's end)
                ws.write_string(r, j, "—", f.get("cell"))
            else:
                ws.write_number(r, j, float(v), f.get("cell", fmt))
        r += 1
    return r + 1


def write_notes(ws: Any, f: Formats, b: Report, kpi_cells: dict[str, list[str]]) -> int:
    """Write the Notes sheet ``ws``; ``kpi_cells`` lists the cells that use each KPI function. Returns the
    next free row."""
    for j, width in enumerate(_WIDTHS):
        ws.set_column(j, j, width)
    r = 0
    ws.write_string(r, 0, f"Notes — {b.spec.title}", f.get("title"))
    r += 1
    ws.write_string(r, 0, b.spec.description, f.get("subtitle"))
    r += 2
    _section(ws, f, r, "About this report")
    r += 1
    d = b.data
    about = [
        ("Report month", d.report_month.strftime("%B %Y")
         + (" — the business as known at the end of that month: rows dated later are not part of it, and "
            "later end, response and resolution times are left blank (still running or open then).")),
        *_period_notes(d),
        ("Segment", d.segment_label + "".join(f"\n• {sp.text}" for sp in d.splits)),
        ("Data", d.source or "—"),
        ("Formulas", _FORMULAS[b.flavour]),
        ("Without the add-in", ("Each KPI cell reads =IF(AddinMissing, <stored value>, KPI_…(…)). "
                                "AddinMissing (the hidden _values sheet) is TRUE when the KPI functions are not "
                                "available, so the cell shows the value computed when the report was built instead "
                                "of #NAME?.")),
        ("Input tables", ("Paste or link your data into the tables on the input sheets; the KPI formulas read "
                          "whole table columns. Re-run `kpi build` to re-lay the monthly and per-customer tables.")),
        ("Hidden sheets", ("The input sheets (yellow tabs) and the calculation sheets (grey tabs) are hidden, so "
                           "that printing the workbook or saving it as PDF gives the report pages only; the formulas "
                           "read them all the same. To see or edit one: right-click a sheet tab > Unhide (Excel), "
                           "or Sheet > Show Sheet (LibreOffice).")),
    ]
    if b.large is not None:
        about.append(("Large-data layout", ("Tables too large for a worksheet are not in this workbook; the cells "
                                            "that read them hold stored values (shaded). See “Large-data layout: "
                                            "live and stored cells” below.")))
    extra = dict(b.spec.about)
    about = [(k, extra.pop(k, v)) for k, v in about] + list(extra.items())
    fx = d.fx
    if fx is not None:
        about.append(("Currency", fx.rule + f" Money cells are formatted [${fx.currency}] #,##0."))
    for k, v in about:
        ws.write_string(r, 0, k, f.get("label_top"))
        ws.write_string(r, 1, v, f.get("wrap"))
        _fit(ws, r, {1: v})
        r += 1
    r += 1
    if fx is not None and fx.rates:
        r = _rates(ws, f, r, fx)
    if d.allocation is not None:
        r = _allocation(ws, f, r, d.allocation, d.segment_label)
    _section(ws, f, r, "KPI definitions")
    r += 1
    for j, h in enumerate(("Function", "Definition", "Formula", "Cells")):
        ws.write_string(r, j, h, f.get("header"))
    r += 1
    order = list(K.REGISTRY)
    for name in sorted(kpi_cells, key=lambda n: order.index(n) if n in K.REGISTRY else 999):
        spec = K.REGISTRY[name]
        ws.write_string(r, 0, spec.signature_text, f.get("wrap"))
        ws.write_string(r, 1, spec.summary, f.get("wrap"))
        ws.write_string(r, 2, spec.formula, f.get("wrap"))
        cells = kpi_cells[name]
        shown = ", ".join(cells[:6]) + (f" and {len(cells) - 6} more" if len(cells) > 6 else "")
        ws.write_string(r, 3, shown, f.get("wrap"))
        _fit(ws, r, {0: spec.signature_text, 1: spec.summary, 2: spec.formula, 3: shown})
        r += 1
    r += 1
    r = _cautions(ws, f, r, [n for n in sorted(kpi_cells, key=lambda n: order.index(n) if n in K.REGISTRY else 999)
                             if n in K.REGISTRY])
    _section(ws, f, r, "Input tables")
    r += 1
    for ds_name in b.spec.datasets:
        ds = DATASETS[ds_name]
        t = d.tables[ds_name]
        ws.write_string(r, 0, f"{ds.sheet} (table {ds.table})", f.get("key"))
        # how the file was written, only when it is not the plain comma/UTF-8/ISO one (so reports built from
        # such files, the bundled sample among them, stay as they were)
        read_as = (f" Read as {t.dialect.describe().partition(': ')[2]}."
                   if t.dialect is not None and not t.dialect.is_default else "")
        derived = f" {t.derived}." if t.derived else ""
        converted = (f" Amounts converted to {t.fx.currency} from {', '.join(t.fx.currencies)} (see Currency above); "
                     "the currency column keeps each row's own currency."
                     if t.fx is not None and t.fx.currencies else "")
        about_table = f"{ds.description} Source: {t.file}, {len(t.df)} rows in this report.{derived}{read_as}{converted}"
        ws.write_string(r, 1, about_table, f.get("wrap"))
        _fit(ws, r, {1: about_table})
        r += 1
        for j, h in enumerate(("Column", "Description", "Type", "Unit")):
            ws.write_string(r, j, h, f.get("header"))
        r += 1
        for c in ds.columns:
            ws.write_string(r, 0, c.name, f.get("cell"))
            described = c.description + ("" if c.required else " (may be blank)")
            ws.write_string(r, 1, described, f.get("wrap"))
            _fit(ws, r, {1: described})
            ws.write_string(r, 2, c.type, f.get("cell"))
            ws.write_string(r, 3, c.unit or "—", f.get("cell"))
            r += 1
        r += 1
    if b.warnings or d.notices:
        ws.write_string(r, 0, "Warnings", f.get("section"))
        r += 1
        for w in list(dict.fromkeys(d.notices + b.warnings)):
            ws.write_string(r, 0, "•", f.get("cell"))
            ws.write_string(r, 1, w, f.get("wrap"))
            _fit(ws, r, {1: w})
            r += 1
        r += 1
    return r
