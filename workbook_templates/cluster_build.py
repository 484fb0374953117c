"""``kpi build --executor dask`` on large data: the MRR tables of a report computed on the cluster.

The reports with the MRR engine (:func:`~workbook_templates.report_parts._mrr_engine`) spend most of a large
build on the MRR schedule — about eight customer-months per subscription — and on what reads it. With the Dask
executor, the ``kpi build`` process (which holds the ``distributed.Client``) hands that part to the cluster:

1. **The same rows.** For each (data folder, segment, report period) it scopes the data as the report does
   (:func:`task_data`: the data settings, the mapping file, the dialects, the currency, the segment) and writes
   the subscription columns ``KPI_MRR_SCHEDULE`` reads, in their order, as Parquet parts into a temporary
   folder inside the output folder (which every worker sees). The engine reads those parts in partitions —
   so the rows the cluster works on are exactly the rows the report reads, parsed once, by the same code.
2. **The tables.** :func:`~workbook_templates.distributed.mrr_tables` gives the movements by the report's
   period (and fiscal start), the logo and revenue cohorts and each customer's MRR at the months the
   *Customer MRR* table reads, ``through`` the report month.
3. **Into the task.** The movements and cohorts are small and travel in the :class:`~.batch.Task`
   (:class:`ClusterTables`); the per-customer table goes into a Parquet file in the output folder whose path
   the task carries.
4. **In the build** (:func:`~workbook_templates.builder.evaluate`), the MRR table is a table computed outside
   the build (:attr:`~.build.evaluation.Report.outside`: its rows, no values), which the large-data layout leaves
   out; the movements and cohort tables are looked up in :attr:`~.build.evaluation.Report.precomputed` by
   their KPI call and scalar arguments; the *Customer MRR* cells are filled from the per-customer table and
   stored. A formula that reads the MRR table any other way stops the build
   (:class:`~.build.evaluation.OutsideTableRead`), which then runs again in full on the worker — never a
   value from a table that is not there. The reports are checked for such formulas before anything is sent
   (:func:`unsupported`).

When: with ``--executor dask``, for a report with the MRR engine, when ``--layout large`` is asked for, or
with ``--layout auto`` when the report's MRR table has more rows than a worksheet holds (the large-data layout
would be chosen for it anyway). ``--layout standard`` and a comparison workbook never use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .formulas import KPI, ByGrain, Col, Cols, Node, RowRef, SpillAll, SpillCol, SumInPeriod, SumWhere
from .formulas.inline import SpillRows
from .formulas.nodes import SpillCell
from .formulas.segments import FilterWhere, InSegment
from .formulas.values import ExcelError, lookup_key, lookup_keys
from .spec import RowTable, Spill

if TYPE_CHECKING:
    from .batch import Task
    from .build.evaluation import Report
    from .context import ReportData

__all__ = ["ENGINE_SPILL", "ClusterTables", "attach_cluster_tables", "table_key", "task_data", "task_month",
           "unsupported"]

ENGINE_SPILL = "mrr"  #: the spilled MRR schedule of the MRR engine
_SCHEDULE = "KPI_MRR_SCHEDULE"
_TABLE_KPIS = ("KPI_MRR_MOVEMENTS", "KPI_COHORT_RETENTION")
_PARTS_ROWS = 250_000  #: subscriptions per Parquet part (a partition of the engine)
_SUFFIX = ".kpi-tmp"  #: (as the reports' temporary files: a killed run's leftovers are cleaned up)


@dataclass(frozen=True)
class ClusterTables:
    """The MRR tables of one report computed on the cluster, as a task carries them to its worker."""

    spill: str  #: the spilled table they stand for (the MRR schedule)
    columns: tuple[str, ...]  #: its columns
    rows: int  #: its rows (customer-months with MRR above 0)
    partitions: int
    #: (:func:`table_key`, table) of the KPI calls over it (None: the table has no row for it)
    tables: tuple[tuple[tuple[Any, ...], pd.DataFrame | None], ...]
    customers_path: str  #: Parquet: ``customer`` and each customer's MRR at months (``YYYY-MM`` columns)

    @property
    def note(self) -> str:
        return f"MRR tables from the cluster: {self.partitions} partitions, {self.rows:,} MRR rows"

    def attach(self, b: Report) -> None:
        """Before the report is placed: its MRR table computed outside, and the tables over it."""
        b.outside[self.spill] = (self.rows, self.columns)
        b.precomputed.update(dict(self.tables))
        b.outside_call = self.lookup

    def lookup(self, b: Report, node: Node, ctx: Any = None) -> Any:
        """A KPI call over the MRR table (or over a segment's rows of it) as the cluster computed it, or the
        MRR of a period's months; None: not one of those (it is evaluated in the build, and stops it if it reads
        the MRR table). ``ctx``: the context the node is evaluated in (a row's, in a row table), else the report's."""
        ctx = b.ctx if ctx is None else ctx
        if isinstance(node, SumInPeriod):
            return self._period_mrr(b, node, ctx) if _period_mrr_of(node, self.spill) else None
        if not isinstance(node, KPI) or not node.args or node.name not in _TABLE_KPIS:
            return None
        src = node.args[0]
        if isinstance(src, SpillAll) and src.spill == self.spill:
            part: tuple[Any, ...] = (self.spill,)
        else:
            seg = _segment_of(src, self.spill)
            if seg is None:
                return None
            k = seg[1].evaluate(ctx)
            if isinstance(k, ExcelError):
                return None
            part = (self.spill, *seg[0], _group_key(k))
        args = [a.chosen(ctx) if isinstance(a, ByGrain) else a for a in node.args[1:]]
        if any(_reads(a, self.spill, None) for a in args if a is not None):
            return None
        vals = [None if a is None else a.evaluate(ctx) for a in args]
        key = table_key(node.name, part, vals)
        if key not in b.precomputed:
            return None
        v = b.precomputed[key]
        if v is None:  # no MRR row: the library's own answer to the empty table, as FILTER hands it over
            return b.call_kpi(node, [_empty_mrr(), *vals])
        return v.copy()

    def _period_mrr(self, b: Report, node: SumInPeriod, ctx: Any) -> Any:
        """``SUMPRODUCT((mrr[month]>=EDATE(m,1−n))*(mrr[month]<EDATE(m,1))*mrr[MRR])``: the ending MRR of the
        monthly movements, added over the period's months (latest first, as the build adds its monthly sums)."""
        monthly = b.precomputed.get(table_key("KPI_MRR_MOVEMENTS", (self.spill,), []))
        m = node.month.evaluate(ctx)
        if monthly is None or not isinstance(m, pd.Timestamp):
            return None
        ending = dict(zip(pd.to_datetime(monthly["month"]), monthly["ending MRR"].to_numpy(dtype=float)))
        total = 0.0
        for k in range(node.months or b.period_months()):
            total += float(ending.get(m - pd.DateOffset(months=k), 0.0))
        return total

    def fill(self, b: Report) -> None:
        """After the report is placed: the cells of the per-customer row tables from the cluster's table."""
        at: pd.DataFrame | None = None
        for blk in b.spec.blocks:
            if not isinstance(blk, RowTable):
                continue
            keys = [c.key for c in blk.columns if isinstance(c.expr, str) and c.expr == "KEY"]
            for col in blk.columns:
                month = _month_of(col.expr, self.spill, keys)
                if month is None:
                    continue
                m = month.evaluate(b.ctx)
                if at is None:
                    at = pd.read_parquet(self.customers_path)
                label = f"{m:%Y-%m}" if isinstance(m, pd.Timestamp) else None
                if label not in at.columns:  # a month the cluster did not compute: the build stops on it
                    continue
                index: dict[Any, float] = {}  # as SUMPRODUCT matches: text without regard to case
                for k, v in zip(lookup_keys(at["customer"]), at[label].tolist()):
                    index[k] = index.get(k, 0.0) + v
                bd = b.blocks[blk.name]
                b.values.update(zip(bd.cells[col.key], [float(index.get(lookup_key(k), 0.0)) for k in bd.keys]))


def _month_of(expr: Any, spill: str, keys: list[str]) -> Node | None:
    """The month node of a per-customer MRR column, ``SUMPRODUCT((mrr[customer]=key)*(mrr[month]=M)*mrr[MRR])``,
    or None for any other column."""
    if not (isinstance(expr, SumWhere) and isinstance(expr.values, SpillCol) and len(expr.conds) == 2):
        return None
    (r1, k1), (r2, k2) = expr.conds
    ok = (expr.values.spill == spill and expr.values.col == "MRR" and isinstance(r1, SpillCol)
          and r1.spill == spill and r1.col == "customer" and isinstance(k1, RowRef) and k1.key in keys
          and isinstance(r2, SpillCol) and r2.spill == spill and r2.col == "month" and not _reads(k2, spill, None))
    return k2 if ok else None


def table_key(kpi: str, table: tuple[Any, ...], args: list[Any]) -> tuple[Any, ...]:
    """The key of :attr:`Report.precomputed`: the KPI, the table it reads (the spilled table, and for a segment's
    rows the customers table's columns and the segment's key) and its other arguments as evaluated (trailing
    blanks left out, whole numbers as ints, text in lower case)."""
    vals = list(args)
    while vals and vals[-1] is None:
        vals.pop()
    norm = [int(v) if isinstance(v, float) and v.is_integer() else v.lower() if isinstance(v, str) else v
            for v in vals]
    return (kpi, table, *norm)


def _group_key(v: Any) -> Any:
    """A segment's key as :class:`~.formulas.segments.InSegment` compares it (a blank equals "" and 0)."""
    want = lookup_key("" if v is None else v)
    return ("s", "") if want == ("n", 0.0) else want


def _segment_of(src: Any, spill: str) -> tuple[tuple[str, str, str], Node] | None:
    """``FILTER(mrr, ISNUMBER(XMATCH(mrr[customer], FILTER(T[members], T[group]=key))))``: ((T, members, group),
    key), or None for any other table."""
    if not (isinstance(src, FilterWhere) and isinstance(src.source, SpillRows) and src.source.spill == spill
            and len(src.conds) == 1 and isinstance(src.conds[0], InSegment)):
        return None
    c = src.conds[0]
    if not (isinstance(c.ids, SpillCol) and c.ids.spill == spill and c.ids.col == "customer"
            and isinstance(c.members, Col) and isinstance(c.group, Col) and c.members.dataset == c.group.dataset
            and not _reads(c.key, spill, None)):
        return None
    return (c.members.dataset, c.members.column, c.group.column), c.key


def _period_mrr_of(node: SumInPeriod, spill: str) -> bool:
    """Whether a period sum is the MRR of the table's months (no other condition)."""
    v, d = node.values, node.dates
    return (isinstance(v, SpillCol) and v.spill == spill and v.col == "MRR" and isinstance(d, SpillCol)
            and d.spill == spill and d.col == "month" and not node.conds and not _reads(node.month, spill, None))


def _empty_mrr() -> pd.DataFrame:
    return pd.DataFrame({"customer": pd.Series(dtype=object), "month": pd.Series(dtype="datetime64[ms]"),
                         "MRR": pd.Series(dtype=float)})


def _reads(node: Any, spill: str, monthly: bool | None, calls: list[KPI] | None = None) -> bool:
    """Whether a node reads the spilled table ``spill`` (in a monthly report, a quarter or a year; None: either)
    other than through a KPI call the cluster computes, which is added to ``calls`` (when given)."""
    if calls is not None and isinstance(node, KPI) and node.name in _TABLE_KPIS and node.args \
            and (isinstance(node.args[0], SpillAll) and node.args[0].spill == spill
                 or node.name == "KPI_MRR_MOVEMENTS" and _segment_of(node.args[0], spill) is not None) \
            and not any(_reads(a, spill, monthly) for a in node.args[1:] if a is not None):
        calls.append(node)
        return False
    if isinstance(node, SumInPeriod) and _period_mrr_of(node, spill):  # from the monthly movements
        return False
    if isinstance(node, (SpillCol, SpillAll, SpillRows, SpillCell)) and node.spill == spill:
        return True
    if getattr(node, "spill", None) == spill:  # any other node that names the table
        return True
    if isinstance(node, ByGrain) and monthly is not None:
        chosen = node.month if monthly else node.period
        return chosen is not None and _reads(chosen, spill, monthly, calls)
    return isinstance(node, Node) and _any_of([_reads(c, spill, monthly, calls) for c in node.children()])


def _any_of(found: list[bool]) -> bool:
    """``any`` of a list built in full (every node walked, so that every call over the table is collected)."""
    return True in found


def _nodes(obj: Any) -> Iterator[Node]:
    """The formula nodes anywhere in a block or chart of a spec (not inside other nodes)."""
    if isinstance(obj, Node):
        yield obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _nodes(getattr(obj, f.name))
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            yield from _nodes(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _nodes(x)


def engine_spill(spec: Any) -> Spill | None:
    """The report's spilled MRR schedule (the MRR engine), or None."""
    for blk in spec.blocks:
        if isinstance(blk, Spill) and blk.name == ENGINE_SPILL and isinstance(blk.expr, KPI) \
                and blk.expr.name == _SCHEDULE:
            return blk
    return None


def unsupported(spec: Any, monthly: bool) -> tuple[list[str], list[KPI]]:
    """What in a report reads the MRR table other than the cluster's tables stand for (empty: nothing), and
    the KPI calls over it that the cluster computes (movements and cohorts, movements of a segment)."""
    why: list[str] = []
    calls: list[KPI] = []
    for blk in spec.blocks:
        if isinstance(blk, Spill) and blk.name == ENGINE_SPILL:
            continue
        if isinstance(blk, RowTable):
            keys = [c.key for c in blk.columns if isinstance(c.expr, str) and c.expr == "KEY"]
            if any(_reads(n, ENGINE_SPILL, monthly, calls) for n in _nodes(blk.keys)):
                why.append(f"the rows of table {blk.name} are the customers of the MRR table")
            for col in blk.columns:
                if _month_of(col.expr, ENGINE_SPILL, keys) is None and \
                        _any_of([_reads(n, ENGINE_SPILL, monthly, calls) for n in _nodes(col.expr)]):
                    why.append(f"table {blk.name}, column {col.header!r} reads the MRR table")
            continue
        if _any_of([_reads(n, ENGINE_SPILL, monthly, calls) for n in _nodes(blk)]):
            name = getattr(blk, "name", "") or getattr(blk, "title", "") or type(blk).__name__
            why.append(f"{type(blk).__name__} {name} reads the MRR table")
    for ch in spec.charts:
        if _any_of([_reads(n, ENGINE_SPILL, monthly, calls) for n in _nodes(ch)]):
            why.append(f"chart {getattr(ch, 'title', '')!r} draws the MRR table")
    return list(dict.fromkeys(why)), calls


# --------------------------------------------------------------------------
# A task's data (the build's own reading), in the kpi build process and on the worker alike
# --------------------------------------------------------------------------
def task_month(task: Task) -> tuple[Any, pd.Timestamp | None]:
    """The task's period (None: the latest month) and its report month (first day; None: the latest)."""
    from .batch import PlanError
    from .periods import parse_period

    if not task.period:
        return None, None
    period = parse_period(task.period, task.fiscal_year_start)
    if period is None:
        raise PlanError(f"period {task.period!r} is not a month, quarter or year")
    # numpy's month numbers, not a parsed string: exact for every month to 9999-12
    return period, pd.Timestamp(np.datetime64(period.last - 1970 * 12, "M").astype("datetime64[ms]"))


def task_data(task: Task, tables: dict[str, Any], errors: dict[str, str]) -> tuple[Any, ReportData]:
    """The report spec of a (non-comparison) task and its data, scoped to its segment and period."""
    from .context import ScopeError, scope
    from .reports import get_report
    from .stand_ins import with_stand_ins

    period, month = task_month(task)
    spec = get_report(task.template)
    tables, errors, stood_in = with_stand_ins(tables, errors, spec.optional)
    bad = [errors[n] for n in spec.datasets if n in errors]
    if bad:
        raise ScopeError("; ".join(bad))
    data = scope(tables, spec.datasets, task.segment, month, task.source, period)
    data.notices[:0] = stood_in
    return spec, data


# --------------------------------------------------------------------------
# In the kpi build process: the tables of every task that uses them
# --------------------------------------------------------------------------
def _mrr_bound(subs: pd.DataFrame, through: pd.Timestamp) -> int:
    """More rows than the MRR table can have: each subscription's months from its start to its end (or the
    report month), added up."""
    if subs.empty:
        return 0
    start = pd.to_datetime(subs.iloc[:, 1], errors="coerce").dt.to_period("M")
    end = pd.to_datetime(subs.iloc[:, 2], errors="coerce").fillna(through).clip(upper=through).dt.to_period("M")
    n = (end.astype("int64") - start.astype("int64") + 1).clip(lower=0).fillna(0)
    return int(n.sum())


@contextlib.contextmanager
def attach_cluster_tables(tasks: list[Task], client: Any, out_dir: Path,
                          say: Callable[[str, str], None]) -> Iterator[list[Task]]:
    """The tasks, those that use the cluster's MRR tables carrying them (:class:`ClusterTables`); the temporary
    files in the output folder are removed when the block ends."""
    from . import builder
    from .build.periodise import for_period
    from .context import ScopeError
    from .data import DataError
    from .distributed import SubscriptionError, mrr_tables
    from .folder_cache import load_cached

    work = Path(tempfile.mkdtemp(prefix=".kpi-cluster.", suffix=_SUFFIX, dir=out_dir))
    done: dict[Any, ClusterTables | str | None] = {}
    out: list[Task] = []
    try:
        for task in tasks:
            if task.compare is not None or task.layout == "standard" or engine_spill(
                    _spec(task.template)) is None:
                out.append(task)
                continue
            try:
                tables, errors = load_cached(task.data_dir, task.settings)
                spec, data = task_data(task, tables, errors)
            except (ScopeError, DataError, ValueError):  # the report task says what is wrong
                out.append(task)
                continue
            spec = for_period(spec, data)
            grain = data.period.grain if data.period is not None else "month"
            why, calls = unsupported(spec, grain == "month")
            if why:
                say("note", f"{task.label}: the MRR table is computed in the build, not on the cluster: {why[0]}"
                            + (f" (and {len(why) - 1} more)" if len(why) > 1 else ""))
                out.append(task)
                continue
            needs = _needs(calls)
            key = (task.data_dir, task.settings, task.segment, task.period, task.fiscal_year_start, task.layout,
                   needs)
            if key not in done:
                t0 = time.perf_counter()
                made = _compute(task, spec, data, needs, client, work, builder.MAX_ROWS, mrr_tables,
                                SubscriptionError)
                done[key] = made
                if isinstance(made, ClusterTables):
                    say("step", f"{task.label}: MRR tables computed on the cluster in "
                                f"{time.perf_counter() - t0:.1f} s ({made.rows:,} MRR rows)")
            got = done[key]
            if isinstance(got, str):
                say("note", f"{task.label}: the MRR table is computed in the build, not on the cluster: {got}")
            out.append(dataclasses.replace(task, cluster=got) if isinstance(got, ClusterTables) else task)
        yield out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _spec(template: str) -> Any:
    from .reports import REPORTS

    return REPORTS.get(template)


def _needs(calls: list[KPI]) -> tuple[tuple[tuple[str, str, str], ...], tuple[Any, ...]]:
    """What the cluster computes for these calls: the segment columns of the movements by segment, and the
    lengths (``max_months``) of the cohort tables."""
    segments = {seg[0] for c in calls if (seg := _segment_of(c.args[0], ENGINE_SPILL)) is not None}
    lengths = {getattr(c.args[2], "value", None) if len(c.args) > 2 and c.args[2] is not None else None
               for c in calls if c.name == "KPI_COHORT_RETENTION"}
    return tuple(sorted(segments)), tuple(sorted(lengths, key=repr))


def _compute(task: Task, spec: Any, data: ReportData, needs: tuple[Any, ...], client: Any, work: Path,
             max_rows: int, mrr_tables: Callable[..., Any], subscription_error: type[Exception]
             ) -> ClusterTables | str | None:
    """The cluster's tables of one task (None: not needed, the report's MRR table fits a worksheet; a text:
    why they cannot be had)."""
    import kpi_functions as K

    sched = engine_spill(spec)
    assert sched is not None and isinstance(sched.expr, KPI)
    cols_node = sched.expr.args[0]
    if not (isinstance(cols_node, Cols) and cols_node.dataset == "subscriptions"):
        return "its MRR schedule does not read adjacent columns of the subscriptions"
    df = data.tables["subscriptions"].df
    pos = list(df.columns)
    subs = df[pos[pos.index(cols_node.first):pos.index(cols_node.last) + 1]]
    through = data.report_month
    if task.layout == "auto" and sched.row + 1 + _mrr_bound(subs, through) <= max_rows:
        return None  # the MRR table fits a worksheet: the standard build, as without a cluster
    segments, lengths = needs
    if len(lengths) > 1:
        return "its cohort tables have different lengths"
    months = data.period.months if data.period is not None else 1
    grain = data.period.grain if data.period is not None else "month"
    fiscal = through.month % 12 + 1 if grain != "month" else 1  # (a quarter's or year's: after the report month)
    digest = hashlib.sha1(repr((task.data_dir, task.segment, task.period, task.template)).encode()).hexdigest()[:12]
    n_parts = 0

    def run(rows: pd.DataFrame, name: str, period: str, **kw: Any) -> Any:
        nonlocal n_parts
        folder = work / f"{name}-{digest}"
        folder.mkdir()
        try:
            n = max(2, -(-len(rows) // _PARTS_ROWS))
            for i, chunk in enumerate(np.array_split(np.arange(len(rows)), n)):
                rows.iloc[chunk].reset_index(drop=True).to_parquet(folder / f"part-{i:05d}.parquet", index=False)
            t = mrr_tables(str(folder), client, columns=list(rows.columns), through=through, period=period,
                           fiscal_year_start=fiscal if period != "month" else 1, partitions=n, **kw)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        n_parts = max(n_parts, t.partitions)
        return t

    tables: list[tuple[tuple[Any, ...], Any]] = []

    def movements(part: tuple[Any, ...], t: Any, monthly: Any) -> None:
        for args in ([], ["month"], ["month", 1]):
            tables.append((table_key("KPI_MRR_MOVEMENTS", part, args), monthly))
        if grain != "month":
            tables.append((table_key("KPI_MRR_MOVEMENTS", part, [grain, fiscal]), t.movements))

    try:
        at = sorted({through - pd.DateOffset(months=k) for k in (0, 1, months, 12)})
        t = run(subs, "subscriptions", grain, max_months=lengths[0] if lengths else None, at=at)
        if task.layout == "auto" and sched.row + 1 + t.mrr_rows <= max_rows:
            return None
        whole = (ENGINE_SPILL,)
        movements(whole, t, t.movements if grain == "month" else run(subs, "monthly", "month").movements)
        for length in lengths:
            for basis, table in (("logo", t.cohorts), ("revenue", t.revenue_cohorts)):
                tables.append((table_key("KPI_COHORT_RETENTION", whole, [basis, length]), table))
                if basis == "logo":
                    tables.append((table_key("KPI_COHORT_RETENTION", whole, [None, length]), table))
        ids = lookup_keys(subs.iloc[:, 0].astype(object))
        for ds, members, group in segments:
            for g, who in _groups(data.tables[ds].df, members, group).items():
                mask = np.fromiter((k in who for k in ids), dtype=bool, count=len(ids))
                part = (ENGINE_SPILL, ds, members, group, g)
                try:
                    tg = run(subs.loc[mask], "segment", grain)
                    mg = tg.movements if grain == "month" else run(subs.loc[mask], "segment", "month").movements
                except K.KPIUndefinedError:  # no MRR row in the segment: the build asks the library
                    for args in ([], ["month"], ["month", 1], [grain, fiscal]):
                        tables.append((table_key("KPI_MRR_MOVEMENTS", part, args), None))
                    continue
                movements(part, tg, mg)
    except (subscription_error, K.KPIError, ValueError, OSError) as err:  # the in-process build says it again
        return str(err)
    path = work / f"customers-{digest}.parquet"
    assert t.at is not None
    t.at.to_parquet(path, index=False)
    return ClusterTables(ENGINE_SPILL, ("customer", "month", "MRR"), t.mrr_rows, n_parts, tuple(tables), str(path))


def _groups(df: pd.DataFrame, members: str, group: str) -> dict[Any, set[Any]]:
    """The customers of every segment, as :class:`~.formulas.segments.InSegment` finds them."""
    groups: dict[Any, set[Any]] = {}
    for m, g in zip(lookup_keys(df[members]), lookup_keys(df[group]), strict=True):
        if m is not None:
            groups.setdefault(("s", "") if g is None else g, set()).add(m)
    return groups
