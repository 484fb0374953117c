"""The comparison workbook (``kpi build --compare COLUMN``): the headline KPIs of every segment side by side.

One row per value of the column (a sortable Excel table, with colour scales and data bars) and a Total row,
each cell a live formula over the rows of the whole input tables that belong to its segment — the same
KPI functions the per-segment reports (``kpi build REPORT --by COLUMN``) call, on the same rows:

- a data set with the column is split by it directly: ``SUMPRODUCT((Marketing[region]=A12)*…)``;
- a data set of customer rows without it is split through its customer's value in the customers table:
  subscriptions through a per-customer MRR table that looks up each customer's segment
  (``INDEX(Customers[region],MATCH(…))``; ``FILTER(… , segment=A12)``), responses through
  ``ISNUMBER(XMATCH(customer_id, FILTER(Customers[customer_id], Customers[region]=A12)))``;
- any other data set cannot be split by the column, and the KPIs that read it are left out of the
  comparison — named, with the reason, in the workbook (under the table and on the Notes sheet) and in the
  output of ``kpi build``.

A segment too small to define a KPI (no paying customer at the start of the month: no churn rate; no
response: no NPS) shows the KPI's Excel error (``#DIV/0!``), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .build.styles import MONEY_CENTS
from .formulas import (
    KPI,
    BlockCol,
    Col,
    Const,
    EDate,
    Equals,
    Filter,
    FilterWhere,
    If,
    InMonth,
    InSegment,
    Node,
    Op,
    RowRef,
    SpillCol,
    SumWhere,
    TextLookup,
)
from .reports import (
    AMBER,
    BLUE,
    COUNT,
    MONEY,
    MONTH,
    PCT,
    PREV,
    RED,
    RM,
    TEAL,
    _calc_sheet,
    _head,
    _input_sheets,
    _mrr_engine,
    mov_at,
)
from .schema import DATASETS

if TYPE_CHECKING:
    from .batch import Task
    from .settings import DataSettings
from .spec import (
    Chart,
    Distinct,
    Fixed,
    Item,
    ItemList,
    Param,
    ReportSpec,
    RowColumn,
    RowTable,
    Series,
    SheetSpec,
    Text,
)

__all__ = ["KEY", "CompareError", "CompareKPI", "Comparison", "compare_kpis", "plan_comparison", "plan_tasks", "summary_table"]

KEY = "compare"  #: the template key of comparison tasks
SHEET = "Compare"
TABLE_NAME = "Comparison"  #: the Excel table of the segment rows

PREV_COL = BlockCol("cust", "prev")
NOW_COL = BlockCol("cust", "now")
SEG_COL = BlockCol("cust", "segment")


class CompareError(Exception):
    """``--compare COLUMN`` cannot be built (a usage error: the message names the column and the data sets)."""


@dataclass(frozen=True)
class CompareKPI:
    """One KPI column of the comparison: which report it comes from, what it reads and how each data set must
    be split (``direct``: by its own column; ``customers``: through the customer's value in Customers)."""

    key: str  #: the item name in the report it comes from (so a test can compare the two)
    header: str
    report: str
    needs: tuple[tuple[str, str], ...]  #: (data set, how it must be split)
    fmt: str
    unit: str | None = None  #: registry unit, for the summary's formatting
    scale: str = ""  #: "high" (high is good), "low" (low is good), "bars", "" (none)


#: the KPIs compared, in column order (each as its report computes it)
COMPARE_KPIS: tuple[CompareKPI, ...] = (
    CompareKPI("mrr", "MRR", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct")), MONEY,
               "money", "bars"),
    CompareKPI("arr", "ARR", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct")), MONEY,
               "money"),
    CompareKPI("cust_end", "Paying customers", "saas_dashboard",
               (("subscriptions", "customers"), ("customers", "direct")), COUNT, "count", "bars"),
    CompareKPI("cust_new", "New customers", "saas_dashboard",
               (("subscriptions", "customers"), ("customers", "direct")), COUNT, "count"),
    CompareKPI("logo_churn", "Customer churn", "saas_dashboard",
               (("subscriptions", "customers"), ("customers", "direct")), PCT, "fraction", "low"),
    CompareKPI("revenue_churn", "Gross MRR churn", "saas_dashboard",
               (("subscriptions", "customers"), ("customers", "direct")), PCT, "fraction", "low"),
    CompareKPI("nrr", "NRR", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct")), PCT,
               "fraction", "high"),
    CompareKPI("grr", "GRR", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct")), PCT,
               "fraction", "high"),
    CompareKPI("arpa", "ARPA", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct")),
               MONEY_CENTS, "money"),
    CompareKPI("cac", "CAC", "saas_dashboard", (("subscriptions", "customers"), ("customers", "direct"),
                                               ("marketing", "direct"), ("costs", "direct|allocated")), MONEY, "money",
               "low"),
    CompareKPI("nps", "NPS", "customer_experience", (("nps_responses", "customers"), ("customers", "direct")),
               "0.0", "points", "high"),
    CompareKPI("csat", "CSAT", "customer_experience", (("csat_responses", "customers"), ("customers", "direct")),
               PCT, "fraction", "high"),
    CompareKPI("roas", "ROAS", "marketing_funnel", (("marketing", "direct"),), '0.00"×"', "ratio", "high"),
)


def compare_kpis() -> tuple[CompareKPI, ...]:
    return COMPARE_KPIS


def split_mode(dataset: str, column: str) -> str:
    """How ``--by column`` splits a data set (:func:`.context.split_plan`, the per-segment reports' rule):
    ``direct``, ``customers`` (through customer_id), ``allocated`` (costs) or ``none``."""
    from .context import split_plan

    return split_plan([dataset], column)[0].how


def _why_not(dataset: str, modes: str, column: str, present: set[str]) -> str | None:
    """Why ``dataset`` cannot be read the way a KPI needs (``modes``: the split modes it can use, ``|``-separated;
    None: it can)."""
    from .context import split_plan

    if dataset not in present:
        return f"the data folder has no {dataset} data set"
    sp = split_plan([dataset], column)[0]
    if sp.how in modes.split("|"):
        return None
    if sp.how == "none":
        return sp.text
    return f"{sp.text}, which the comparison's formulas do not do"


@dataclass(frozen=True)
class Comparison:
    """What one ``--compare COLUMN`` workbook holds: the KPIs it compares and the ones it leaves out (why)."""

    column: str
    kpis: tuple[CompareKPI, ...]
    left_out: tuple[tuple[CompareKPI, str], ...]
    key_dataset: str  #: where the segment values (row keys) come from
    datasets: tuple[str, ...]

    def left_out_text(self) -> str:
        """One sentence naming every KPI left out and why ('' when none is)."""
        if not self.left_out:
            return ""
        by_reason: dict[str, list[str]] = {}
        for k, why in self.left_out:
            by_reason.setdefault(why, []).append(k.header)
        parts = [f"{', '.join(names)} ({why})" for why, names in by_reason.items()]
        return f"Left out: {'; '.join(parts)}: these KPIs cannot be split by {self.column!r}."

    def split_text(self) -> str:
        """How the rows of each data set are given to a segment."""
        from .context import split_plan

        return "Each row reads the rows of its segment — " + "; ".join(
            sp.text for sp in split_plan(self.datasets, self.column)) + "."


def plan_comparison(column: str, present: set[str]) -> Comparison:
    """The KPIs ``--compare column`` can show for the data sets ``present``; :class:`CompareError` when the
    column is unknown or no KPI can be split by it."""
    column = column.strip()
    having = [d for d, ds in DATASETS.items() if column in ds.column_names]
    if not having:
        known = sorted({c for ds in DATASETS.values() for c in ds.column_names})
        raise CompareError(f"--compare {column!r}: no data set has a column {column!r} (columns of the data sets: "
                           f"{', '.join(known)})")
    having_present = [d for d in having if d in present]
    if not having_present:
        raise CompareError(f"--compare {column!r}: only {', '.join(having)} has that column, and the data folder "
                           "has no such file")
    kpis, left = [], []
    for k in COMPARE_KPIS:
        reasons = [r for d, mode in k.needs if (r := _why_not(d, mode, column, present)) is not None]
        if reasons:
            left.append((k, "; ".join(dict.fromkeys(reasons))))
        else:
            kpis.append(k)
    if not kpis:
        why = "; ".join(dict.fromkeys(r for _, r in left))
        raise CompareError(f"--compare {column!r}: no KPI of the comparison can be split by {column!r} "
                           f"(the data sets with that column: {', '.join(having)}; {why})")
    datasets = tuple(dict.fromkeys(d for k in kpis for d, _ in k.needs))
    key_ds = "customers" if "customers" in datasets and column in DATASETS["customers"].column_names else \
        next(d for d in datasets if column in DATASETS[d].column_names)
    return Comparison(column, tuple(kpis), tuple(left), key_ds, datasets)


# --------------------------------------------------------------------------
# The formulas
# --------------------------------------------------------------------------
def _seg_rows(rng: Node, seg: Node | None) -> Node:
    """The per-customer column ``rng`` (Customer MRR table) for the segment ``seg`` (None: every customer)."""
    return rng if seg is None else FilterWhere(rng, Equals(SEG_COL, seg))


def _response_scores(dataset: str, column: str, seg: Node | None) -> Node:
    """The scores of the report month's responses of ``dataset`` for the segment (None: all)."""
    month = InMonth(Col(dataset, "date"), RM)
    if seg is None:
        return Filter(Col(dataset, "score"), month)
    if split_mode(dataset, column) == "direct":
        return FilterWhere(Col(dataset, "score"), month, Equals(Col(dataset, column), seg))
    return FilterWhere(Col(dataset, "score"), month,
                       InSegment(Col(dataset, "customer_id"), Col("customers", "customer_id"),
                                 Col("customers", column), seg))


def _month_sum(dataset: str, value: str, column: str, seg: Node | None) -> SumWhere:
    conds: list[tuple[Node, Any]] = [(Col(dataset, "month"), RM)]
    if seg is not None:
        conds.append((Col(dataset, column), seg))
    return SumWhere(Col(dataset, value), *conds)


def _expr(k: CompareKPI, column: str, seg: Node | None) -> Node:
    """The formula of KPI ``k`` for the segment whose key is ``seg`` (None: the Total row, every row)."""
    prev, now = _seg_rows(PREV_COL, seg), _seg_rows(NOW_COL, seg)
    match k.key:
        case "mrr":
            return KPI("KPI_MRR", now)
        case "arr":
            return KPI("KPI_ARR", RowRef("mrr"))
        case "cust_end":
            return mov_at(RM, "customers at end") if seg is None else \
                SumWhere(BlockCol("cust", "paying"), (SEG_COL, seg))
        case "cust_new":
            return mov_at(RM, "new customers") if seg is None else SumWhere(BlockCol("cust", "new"), (SEG_COL, seg))
        case "logo_churn":
            return KPI("KPI_CHURN_CUSTOMERS", prev, now)
        case "revenue_churn":
            return KPI("KPI_CHURN_REVENUE", prev, now)
        case "nrr":
            return KPI("KPI_NRR", prev, now)
        case "grr":
            return KPI("KPI_GRR", prev, now)
        case "arpa":
            return KPI("KPI_ARPU", RowRef("mrr"), RowRef("cust_end"))
        case "cac":
            return KPI("KPI_CAC", _month_sum("marketing", "spend", column, seg) + _sales_cost(column, seg),
                       RowRef("cust_new"))
        case "nps":
            return KPI("KPI_NPS", _response_scores("nps_responses", column, seg))
        case "csat":
            return KPI("KPI_CSAT", _response_scores("csat_responses", column, seg))
        case "roas":
            return KPI("KPI_ROAS", _month_sum("marketing", "revenue", column, seg),
                       _month_sum("marketing", "spend", column, seg))
    raise ValueError(f"no formula for compared KPI {k.key!r}")


def _sales_cost(column: str, seg: Node | None) -> Node:
    """The report month's sales cost of the segment: by the costs' own column, or — costs without the column —
    allocated as the per-segment reports do (:data:`.context.ALLOCATION_RULE`): pro rata of the segment's new
    customers, or of its MRR in a month without new customers (no MRR at all: in no segment)."""
    if seg is None or split_mode("costs", column) == "direct":
        return _month_sum("costs", "sales_cost", column, seg)
    new_all, mrr_all = mov_at(RM, "new customers"), mov_at(RM, "ending MRR")
    share = If(Op(">", new_all, Const(0)), RowRef("cust_new") / new_all,
               If(Op(">", mrr_all, Const(0)), RowRef("mrr") / mrr_all, 0))
    return _month_sum("costs", "sales_cost", column, None) * share


def _customer_table(column: str) -> RowTable:
    """Per customer: their segment (looked up in Customers), MRR of the previous and the report month, months
    paying so far, and whether they pay now and for the first time."""
    mrr_at = lambda month: SumWhere(SpillCol("mrr", "MRR"), (SpillCol("mrr", "customer"), RowRef("customer")),
                                    (SpillCol("mrr", "month"), month))
    return RowTable("cust", "Customer MRR", 3, 0, "", Distinct(Col("customers", "customer_id")), (
        RowColumn("customer", "customer_id", "KEY"),
        RowColumn("segment", column, TextLookup(RowRef("customer"), Col("customers", "customer_id"),
                                                Col("customers", column))),
        RowColumn("prev", "MRR previous month", mrr_at(PREV), MONEY_CENTS),
        RowColumn("now", "MRR report month", mrr_at(RM), MONEY_CENTS),
        RowColumn("months", "Months paying", SumWhere(None, (SpillCol("mrr", "customer"), RowRef("customer"))),
                  COUNT),
        RowColumn("paying", "Paying now", If(Op(">", RowRef("now"), Const(0)), 1, 0), "0"),
        RowColumn("new", "New this month", If(Op("=", RowRef("months"), Const(1)), RowRef("paying"), 0), "0"),
    ))


def compare_spec(cmp: Comparison, n_segments: int) -> ReportSpec:
    """The comparison workbook of ``cmp`` with ``n_segments`` segment rows (the row keys' count, which places
    the Total row, the notes and the charts under the table)."""
    col = cmp.column
    S = SHEET
    blocks: list = _head(S, f"Segments side by side: {col}",
                         f"The headline KPIs of the report month for every {col}, and the total.")
    blocks.append(ItemList(S, 4, 0, "", (
        Item("report_month", "Report month", Param("report_month"), fmt=MONTH, input=True,
             note="change it to compare an earlier month"),
        Item("segment", "Compared by", f"{col} (values of the {cmp.key_dataset} table)"),
        Item("prev_month", "Previous month", EDate(RM, -1), fmt=MONTH),
    ), header=False))
    seg = RowRef("segment")
    cols = [RowColumn("segment", col, "KEY")]
    tot = [RowColumn("segment", col, "KEY")]
    for k in cmp.kpis:
        cols.append(RowColumn(k.key, k.header, _expr(k, col, seg), k.fmt))
        tot.append(RowColumn(k.key, k.header, _expr(k, col, None), k.fmt))
    keys = [k.key for k in cmp.kpis]
    first = 10  # title row 8, header row 9, the segments from row 10
    blocks.append(RowTable("cmp", S, 8, 0, f"By {col}: one row per segment (sort or filter with the header's "
                                            "buttons)", Distinct(Col(cmp.key_dataset, col)), tuple(cols),
                           heatmap_cols=tuple(k.key for k in cmp.kpis if k.scale == "high"),
                           heatmap_low_cols=tuple(k.key for k in cmp.kpis if k.scale == "low"),
                           bars_cols=tuple(k.key for k in cmp.kpis if k.scale == "bars"),
                           table_name=TABLE_NAME))
    total_row = first + max(n_segments, 1)
    blocks.append(RowTable("tot", S, total_row, 0, "", Fixed(("Total",)), tuple(tot), header=False))
    r = total_row + 2
    span = len(cols)  # the table's width
    blocks.append(Text(S, r, 0, cmp.split_text() + " The Total row reads every row, as the report without "
                                                   "--by does.", "small", span=span))
    blocks.append(Text(S, r + 1, 0, "A KPI a segment is too small to define (no paying customer at the start of "
                                    "the month, no response, no spend) shows #DIV/0!: undefined, not 0.", "small",
                       span=span))
    if cmp.left_out:
        blocks.append(Text(S, r + 2, 0, cmp.left_out_text(), "small", span=span))
    chart_row = r + 4
    charts = _charts(cmp, keys, chart_row)
    sheets = [SheetSpec(S, "report", widths=((0, 24),) + tuple((i, 12) for i in range(1, len(cols) + 1)),
                        fit_height=1, tab_color=BLUE)]
    blocks += _calc_blocks(cmp)
    sheets += _input_sheets(cmp.datasets)
    if "subscriptions" in cmp.datasets:
        sheets += [_calc_sheet("Customer MRR", "per-customer MRR and segment",
                               widths=((0, 16), (1, 18), (2, 18), (3, 18), (4, 14), (5, 11), (6, 14)), hidden=True),
                   _calc_sheet("MRR", "MRR schedule", hidden=True),
                   _calc_sheet("Movements", "MRR movements", widths=tuple((i, 13) for i in range(13)))]
    sheets.append(SheetSpec("Notes", "notes"))
    about = [("Segment", (f"Every value of {col} side by side (kpi build --compare {col}); the Total row is "
                          "the whole business.")),
             ("How segments are read", cmp.split_text())]
    if cmp.left_out:
        about.append(("Not compared", cmp.left_out_text()))
    headline = tuple(f"cmp.{k}.{i}" for i in range(n_segments) for k in ("segment", *keys)) + \
        tuple(f"tot.{k}.0" for k in ("segment", *keys))
    return ReportSpec(KEY, f"Segments side by side: {col}",
                      f"The headline KPIs of every {col} side by side, with the total: "
                      f"{', '.join(k.header for k in cmp.kpis)}.",
                      cmp.datasets, tuple(sheets), tuple(blocks), charts, headline=headline, cost=5,
                      about=tuple(about))


def _calc_blocks(cmp: Comparison) -> list:
    if "subscriptions" not in cmp.datasets:
        return []
    engine, _ = _mrr_engine(customers_table=False)
    return engine + [Text("Customer MRR", 0, 0, "MRR and segment per customer", "title"),
                     Text("Customer MRR", 1, 0, f"Each customer's {cmp.column} looked up in Customers, and their "
                                                "MRR (sums of the MRR table); the comparison filters these columns "
                                                "by segment.", "subtitle"),
                     _customer_table(cmp.column)]


def _charts(cmp: Comparison, keys: list[str], row: int) -> tuple[Chart, ...]:
    cats = BlockCol("cmp", "segment")
    anchor_left, anchor_right = f"A{row + 1}", f"H{row + 1}"
    out = []
    money = next((k for k in ("mrr", "roas") if k in keys), None)
    if money is not None:
        header = next(k.header for k in cmp.kpis if k.key == money)
        fmt = next(k.fmt for k in cmp.kpis if k.key == money)
        out.append(Chart(SHEET, anchor_left, "bar", f"{header} by {cmp.column}", (
            Series(header, BlockCol("cmp", money), cats, BLUE, labels=True),
        ), width=520, height=300, y_format=fmt, legend="none", reverse_categories=True))
    pair: list[str] = [k for k in ("logo_churn", "revenue_churn") if k in keys] or [k for k in ("nps",) if k in keys]
    if pair:
        heads = {k.key: k for k in cmp.kpis}
        colors = (RED, AMBER) if pair[0] == "logo_churn" else (TEAL,)
        title = " and ".join(heads[k].header for k in pair)
        out.append(Chart(SHEET, anchor_right if out else anchor_left, "bar", f"{title} by {cmp.column}", tuple(
            Series(heads[k].header, BlockCol("cmp", k), cats, c) for k, c in zip(pair, colors, strict=False)
        ), width=520, height=300, y_format="0%" if pair[0] != "nps" else "0", reverse_categories=True))
    return tuple(out)


def summary_table(headline: dict[str, Any], kpis: tuple[str, ...] = ("mrr", "logo_churn", "nrr", "nps")
                  ) -> tuple[list[str], list[list[Any]], list[str | None]]:
    """(headers, rows of values, units) of the comparison for ``kpi build``'s summary: one row per segment and
    the Total, a few KPIs (those of ``kpis`` the comparison has)."""
    by_key = {k.key: k for k in COMPARE_KPIS}
    present = [k for k in kpis if any(n.startswith(f"tot.{k}.") for n in headline)]
    n = 0
    while f"cmp.segment.{n}" in headline:
        n += 1
    rows = [[headline[f"cmp.segment.{i}"], *(headline.get(f"cmp.{k}.{i}") for k in present)] for i in range(n)]
    rows.append(["Total", *(headline.get(f"tot.{k}.0") for k in present)])
    return ["segment", *(by_key[k].header for k in present)], rows, [None, *(by_key[k].unit for k in present)]


def segment_keys(tables: dict[str, Any], cmp: Comparison) -> list[str]:
    """The segment values (the comparison's rows) in order of first appearance in the key table.

    :class:`CompareError` when there is none, or when two differ only in case: Excel's ``=`` (and so every
    formula of the comparison) does not tell them apart, while the per-segment reports do.
    """
    t = tables.get(cmp.key_dataset)
    if t is None:
        raise CompareError(f"--compare {cmp.column!r}: the data folder has no {cmp.key_dataset} data set")
    values = [str(v) for v in dict.fromkeys(t.df[cmp.column].dropna().tolist())]
    if not values:
        raise CompareError(f"--compare {cmp.column!r}: the column {cmp.column} of {t.file} holds no values")
    seen: dict[str, str] = {}
    for v in values:
        other = seen.setdefault(v.casefold(), v)
        if other != v:
            raise CompareError(f"--compare {cmp.column!r}: {t.file} has the values {other!r} and {v!r}, which differ "
                               "only in case; Excel's formulas compare text without regard to case, so they cannot "
                               "be told apart side by side (make them one value, or build them apart with --by)")
    return values


def build_comparison_spec(tables: dict[str, Any], errors: dict[str, str], column: str, month: Any,
                          source: str) -> tuple[ReportSpec, Any, list[str]]:
    """The spec and scoped data of one comparison workbook, and the notes for ``kpi build``'s output.

    Raises :class:`CompareError` (bad column) or :class:`.context.ScopeError` (bad data)."""
    from .context import ScopeError, scope

    cmp = plan_comparison(column, set(tables))
    bad = [errors[n] for n in cmp.datasets if n in errors]
    if bad:
        raise ScopeError("; ".join(bad))
    data = scope(tables, cmp.datasets, None, month, source)
    keys = segment_keys(data.tables, cmp)
    kt = data.tables[cmp.key_dataset]
    blank = int(kt.df[cmp.column].isna().sum())
    if blank:  # those rows have no segment row: the Total counts them, no segment does
        data.notices.append(f"{blank} row(s) of {kt.file} have no {cmp.column}: they count in the Total row only "
                            "(kpi build --by gives them a workbook of their own)")
    notes = [cmp.split_text()]
    if cmp.left_out:
        notes.append(cmp.left_out_text())
    return compare_spec(cmp, len(keys)), data, notes


def plan_tasks(column: str, data_dir: Path, out_dir: Path, periods: Iterable[str], flavour: str,
                  namespace: str | None, source: str | None, settings: DataSettings) -> list[Task]:
    """The comparison tasks: one per period; the column is checked against the data sets first."""
    from .batch import _MONTH, PlanError, Task, _inside, compare_output_name, load_cached, parse_periods
    from .context import all_months

    col = column.strip()
    tables = load_cached(str(data_dir), settings)[0]
    try:
        cmp = plan_comparison(col, set(tables))
        segment_keys(tables, cmp)
    except CompareError as err:
        raise PlanError(str(err)) from None
    months = all_months(tables, [n for n in cmp.datasets if n in tables])
    tasks = []
    for per in parse_periods(periods, months):
        if per is not None and not _MONTH.match(per):  # the comparison is of one month's KPIs
            raise PlanError(f"--compare builds one month at a time; --period {per!r} is a quarter or a year: "
                            "give a month (e.g. 2026-06) or build the reports with --by instead")
        path = out_dir / compare_output_name(col, per)
        if not _inside(path, out_dir):  # defence in depth: safe_component already prevents it
            raise PlanError(f"output name {path.name!r} would leave the output folder")
        tasks.append(Task("compare", str(data_dir), str(path), None, per, flavour, namespace, source or str(data_dir),
                          (), settings, compare=col))
    return tasks
