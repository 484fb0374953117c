"""``kpi build``, ``kpi demo``, ``kpi map`` and ``kpi templates``: the report commands.

They are registered on this part's own Typer :data:`app`; the ``kpi`` console script
(:mod:`kpi_cli.main`) adds them to its commands. Nothing here imports ``kpi_cli``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import time
import unicodedata
from pathlib import Path
from typing import Annotated

import typer

from kpi_functions import terminal_safe
from kpi_functions.excel import FORMULA_FLAVOURS as _FLAVOURS

__all__ = ["app", "build", "clash_notes", "demo", "map_cmd", "templates_cmd"]

#: the report commands; ``kpi`` adds them (``app.add_typer(commands.app)``: no group of their own)
app = typer.Typer(add_completion=False)

_DEFAULT_OUT = Path("reports")


# --------------------------------------------------------------------------
# Output: every text from data or the file system is printed literally (no Rich markup or
# emoji codes) with control and bidi characters escaped; a log gets plain lines
# --------------------------------------------------------------------------
def _console(stderr: bool = False):
    """A Rich console for data: markup only where the program passes a style, no emoji codes
    (``:smile:`` in a segment name stays text), no highlighting. Not on a terminal (cron,
    ``> log``): no colours, no progress bar, and lines are not cut at 80 columns."""
    import os

    from rich.console import Console

    c = Console(stderr=stderr, emoji=False, highlight=False)
    if not c.is_terminal and not os.environ.get("COLUMNS"):
        c = Console(stderr=stderr, emoji=False, highlight=False, width=200)
    return c


def _text(*parts):
    """A line of literal text: ``str`` parts are data (escaped), ``(text, style)`` parts styled."""
    from rich.text import Text

    return Text.assemble(*((terminal_safe(p[0], keep_newlines=True), p[1]) if isinstance(p, tuple)
                           else terminal_safe(p, keep_newlines=True) for p in parts))


def _say(console, *parts) -> None:
    """Print one message (never wrapped by Rich: a log keeps one line per message)."""
    console.print(_text(*parts), soft_wrap=True)


def _error(console, message: str) -> None:
    _say(console, ("error:", "red"), " ", message)


def _fmt_value(v, unit: str | None) -> str:
    """A headline value as the summary shows it: in its unit's summary format (the registry's
    :class:`~kpi_functions.Unit`), an error as its code."""
    import kpi_functions as K
    from kpi_functions.excel import ExcelError

    if v is None:
        return ""
    if isinstance(v, ExcelError):
        return v.code
    if isinstance(v, str):
        return v
    if unit == _TWO_DECIMALS:
        import dataclasses

        return dataclasses.replace(K.UNIT_RECORDS["fraction"], summary_format="{:.2%}").summary_text(v)
    record = K.UNIT_RECORDS.get(unit) if unit is not None else None
    return record.summary_text(v) if record is not None else f"{v:,.4g}"


def _unit_of(template: str, item: str) -> str | None:
    """Registry unit of a report item (for the summary)."""
    import kpi_functions as K

    from .formulas import KPI
    from .reports import REPORTS
    from .spec import ItemList

    spec = REPORTS.get(template)
    if spec is None:
        return None
    for b in spec.blocks:
        if isinstance(b, ItemList):
            for it in b.items:
                if it.name == item and isinstance(it.expr, KPI):
                    s = K.REGISTRY.get(it.expr.name)
                    if s is not None and s.unit == "fraction" and it.fmt == "0.00%":
                        return _TWO_DECIMALS  # shown with two decimals in the workbook (churn, retention)
                    return s.unit if s else None
    return None


#: a fraction the workbook shows with two decimals: the summary shows the same digits
_TWO_DECIMALS = "fraction (two decimals)"


def _labels(template: str) -> dict[str, str]:
    from .reports import REPORTS
    from .spec import ItemList

    out = {}
    for b in REPORTS[template].blocks:
        if isinstance(b, ItemList):
            for it in b.items:
                out[it.name] = it.label
    return out


def _run(tasks, jobs: int, console, show_progress: bool = True, executor=None, on_result=None, steps=None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .batch import make_executor, run_tasks
    from .build_steps import bar_listener, listening

    results = []
    with (executor if executor is not None else make_executor(min(jobs, max(1, len(tasks))))) as ex:
        if on_result is not None:  # a log: each report's line as it finishes (and its steps, if asked)
            with listening(steps) if steps is not None else contextlib.nullcontext():
                results = run_tasks(tasks, ex, on_result)
        elif show_progress and tasks and console.is_terminal:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=False) as prog:
                bar = prog.add_task("building reports", total=len(tasks))
                finished = [0]

                def one_done(r) -> None:
                    finished[0] += 1
                    prog.update(bar, completed=finished[0])

                with listening(bar_listener(prog, bar, finished)):  # --jobs 1: the bar moves within each report
                    results = run_tasks(tasks, ex, one_done)
                prog.update(bar, description="building reports")
        else:
            results = run_tasks(tasks, ex)
    return results


def clash_notes(results) -> list[str]:
    """One line per group of segment values whose file names had to be told apart."""
    seen: dict[tuple, None] = {}
    for r in results:
        t = r.task
        if t.segment is not None and t.name_clash:
            seen.setdefault((t.segment[0], t.name_clash), None)
    out = []
    for column, values in seen:
        shown = ", ".join("(blank)" if v is None else repr(v) + ("" if unicodedata.is_normalized("NFC", v) else " (NFD)")
                          for v in sorted(values, key=lambda v: (v is None, str(v))))
        out.append(f"the {column} values {shown} would get the same file name (Windows and macOS ignore case and "
                   "Unicode form in file names), so each of their files ends with a hash of its value")
    return out


def _summary(results, console, out_dir: Path, wall: float) -> int:
    from rich.table import Table
    from rich.text import Text

    t = Table(title="Reports", title_justify="left", show_lines=False)
    t.add_column("report")
    t.add_column("segment")
    t.add_column("month")
    t.add_column("status")
    t.add_column("file")
    t.add_column("s", justify="right")
    t.add_column("headline")
    failed = 0
    for r in results:
        task = r.task
        seg = "" if task.segment is None else \
            f"{task.segment[0]}={'(blank)' if task.segment[1] is None else task.segment[1]}"
        if r.ok:
            head = _headline(r)
            status = _text(("ok", "green"), (f" ({len(r.warnings)} warning(s))", "yellow") if r.warnings else "")
            name = Path(r.path).name if r.path else ""
        else:
            failed += 1
            head, status, name = "", _text(("FAILED", "red")), Path(task.out_path).name
        t.add_row(*(Text(terminal_safe(x)) for x in (task.template, seg, r.period or task.period or "latest")), status,
                  *(Text(terminal_safe(x)) for x in (name, f"{r.seconds:.1f}", head)))
    console.print(t)
    for r in results:
        if r.ok and r.task.compare is not None:
            _comparison(r, console)
        elif r.ok:  # e.g. the large-data layout, and why
            for note in r.notes:
                _say(console, ("note", "cyan"), " ", terminal_safe(r.task.label), ": ", note)
    for r in results:
        if not r.ok:
            from .run_log import kept_text

            _say(console, ("FAILED", "red"), " ", terminal_safe(r.task.label), ": ", r.error or "",
                 f" ({kept_text(r.task.out_path)})")
        for w in r.warnings:
            _say(console, ("warning", "yellow"), " ", terminal_safe(r.task.label), ": ", w)
    for note in clash_notes(results):
        _say(console, ("note", "cyan"), " ", note)
    ok = len(results) - failed
    _say(console, f"{ok} report(s) written to ", terminal_safe(out_dir), (f", {failed} failed", "red") if failed else "",
         f" ({wall:.1f} s)")
    return failed


def _headline(r) -> str:
    """A built report's headline KPIs as one text: ``MRR 265,093, Customer churn 4.8%``."""
    task = r.task
    if task.compare is not None:
        return "segments side by side (below)"
    labels = _labels(task.template)
    # a quarter's or year's report: the labels without the month's qualifier ("Customer churn, monthly")
    short = (lambda x: x.split(", ")[0]) if task.period and not _is_month(task.period) else (lambda x: x)
    return ", ".join(f"{short(labels.get(k, k).split(' (')[0])} {_fmt_value(v, _unit_of(task.template, k))}"
                     for k, v in r.headline.items())


class _Log:
    """``kpi build``'s lines for a scheduler or a machine (:mod:`.run_log`): each report as it finishes."""

    def __init__(self, console, fmt: str) -> None:
        self.console, self.fmt = console, fmt

    def message(self, kind: str, text: str) -> None:
        """A line that is not a report's (how a file was read, a split, a note)."""
        from .run_log import json_line, now

        if self.fmt == "json":
            _say(self.console, json_line({"event": kind, "time": now(), "message": terminal_safe(text)}))
        else:
            _say(self.console, (kind, "cyan"), " ", text)

    def report(self, r) -> None:
        from .run_log import error_lines, json_line, record, text_line

        rec = record(r, _headline(r) if r.ok else "", r.headline if r.ok else {})
        if self.fmt == "json":
            _say(self.console, json_line(rec))
            return
        _say(self.console, text_line(rec))
        for line in error_lines(r.error or "")[1] if not r.ok else ():  # a bug's traceback
            _say(self.console, line)
        if r.ok and r.task.compare is None:  # e.g. the large-data layout, and why
            for note in r.notes:
                _say(self.console, ("note", "cyan"), " ", terminal_safe(r.task.label), ": ", note)
        for w in r.warnings:
            _say(self.console, ("warning", "yellow"), " ", terminal_safe(r.task.label), ": ", w)

    def finish(self, results, out_dir: Path, wall: float) -> int:
        from .run_log import json_line, text_line, totals

        for r in results:
            if r.ok and r.task.compare is not None:
                if self.fmt == "text":
                    _comparison(r, self.console)  # the segments side by side (and its notes)
                else:
                    for note in r.notes:
                        self.message("note", note)
        for note in clash_notes(results):
            self.message("note", note)
        rec = totals(results, wall, out_dir)
        _say(self.console, json_line(rec) if self.fmt == "json" else text_line(rec))
        return int(rec["failed"])


def _comparison(r, console) -> None:
    """The segments × KPIs table of a comparison workbook, and what it leaves out."""
    from rich.table import Table
    from rich.text import Text

    from .compare import summary_table

    headers, rows, units = summary_table(r.headline)
    t = Table(title=f"Compared by {terminal_safe(r.task.compare)}, {r.task.period or 'latest month'}",
              title_justify="left")
    for j, h in enumerate(headers):
        t.add_column(terminal_safe(h), justify="left" if j == 0 else "right")
    for row in rows:
        t.add_row(*(Text(terminal_safe(str(v)) if j == 0 else _fmt_value(v, units[j])) for j, v in enumerate(row)))
    console.print(t)
    for note in r.notes:
        _say(console, ("note", "cyan"), " ", note)


def _data_settings(err, map_file: Path | None, **dialect: str | None):
    """The reading settings the flags give; a bad value exits 2 saying what is allowed."""
    from .mapping import check_setting
    from .settings import DataSettings

    given = {}
    for key, value in dialect.items():
        if value is None:
            continue
        try:
            check_setting(key, value)
        except ValueError as e:
            _error(err, f"--{key}: {e}")
            raise typer.Exit(2)
        given[key] = value
    if map_file is not None and not map_file.is_file():
        _error(err, f"--map: mapping file {map_file} does not exist")
        raise typer.Exit(2)
    return DataSettings(map_file=str(map_file.resolve()) if map_file is not None else None, **given)


def _dialect_lines(data_dir: Path, settings) -> list[str]:
    """How each CSV file not plain comma-separated UTF-8 was read (the folder as planning loaded it)."""
    from .folder_cache import load_cached

    tables = load_cached(str(data_dir), settings)[0]
    # once per file: the tables derived from invoices share the invoice file's reading
    return list(dict.fromkeys(t.dialect.describe() for t in tables.values()
                              if t.dialect is not None and not t.dialect.is_default))


def _is_month(period: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}", period) is not None


@app.command("build")
def build(
    templates: Annotated[list[str] | None, typer.Argument(
        help="Report templates to build (see 'kpi templates').")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Build every template.")] = False,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Folder with the data files (CSV, XLSX or Parquet, one per data set). Default: the bundled "
                       "sample data.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = _DEFAULT_OUT,
    by: Annotated[str | None, typer.Option(
        "--by", help="One workbook per value of this column (e.g. region, plan_tier, channel: the customers' "
                     "acquisition channel). Every report named must be splittable by it (checked first).")] = None,
    compare: Annotated[str | None, typer.Option(
        "--compare", help="One workbook with the headline KPIs of every value of this column side by side "
                          "(e.g. region), and the total; instead of templates and --by.")] = None,
    period: Annotated[list[str] | None, typer.Option(
        "--period", help="Report period(s): a month 2026-03, a quarter 2026-Q2, a year 2025 (or FY2026), a range "
                         "of one kind 2026-01:2026-03 or 2025-Q1:2025-Q4, latest (the latest month; default), "
                         "latest-quarter or latest-year (the latest quarter or year the data covers to its end), "
                         "or all (every month); repeatable.")] = None,
    fiscal_year_start: Annotated[int, typer.Option(
        "--fiscal-year-start",
        help="Month (1-12) the fiscal year starts in; years and quarters of --period count from it. A fiscal "
             "year is named by the calendar year it ends in: with 4, 2026 (or FY2026) is April 2025 to "
             "March 2026 and 2026-Q1 is April to June 2025. Default 1: calendar years.")] = 1,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, help="Reports built in parallel (local processes).")] = 1,
    executor: Annotated[str, typer.Option(
        "--executor", help="local (processes on this machine, --jobs) or dask (the workers of a Dask cluster, "
                           "--scheduler; a report with the MRR engine built in the large-data layout — --layout "
                           "large, or auto when its MRR table would not fit a worksheet — also takes its MRR "
                           "tables from the cluster, see docs/distributed.md).")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786 (data and output "
                            "folders must be at the same paths on every worker).")] = None,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="K/N: build only this machine's share of the run.")] = None,
    formulas: Annotated[str, typer.Option("--formulas", help="classic | officejs | values")] = "classic",
    layout: Annotated[str, typer.Option(
        "--layout", help="auto: the large-data layout when a table would not fit a worksheet, else the standard "
                         "one; standard: refuse such a report; large: tables too large for a worksheet are left "
                         "out (an input table gives way to a summary) and the cells that read them hold stored "
                         "values, every other formula stays live (the Notes sheet lists which).")] = "auto",
    namespace: Annotated[str | None, typer.Option(
        "--namespace", help="Office.js function namespace (as for 'kpi serve --namespace').")] = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress",
        help="Show a progress bar (on a terminal, the default). Not on a terminal, --progress writes a 'step' "
             "line as each report's build reaches a step (reading, laying out, evaluating, writing, saving; "
             "with --jobs 1).")] = None,
    log_format: Annotated[str, typer.Option(
        "--log-format", help="auto: on a terminal a table, else (cron, systemd, a file) one line per report "
                             "as it finishes and a line of totals; table, text (those lines) or json (one JSON "
                             "object per line, the same fields) whatever stdout is.")] = "auto",
    billing: Annotated[str | None, typer.Option(
        "--billing", help="invoices or subscriptions: where the MRR comes from when the data folder has both "
                          "files (default: the one it has).")] = None,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="Reporting currency (ISO 4217, e.g. NOK): amounts in other currencies (a currency "
                           "column) are converted with the data folder's fx_rates file; money cells show it.")] = None,
    fx_constant: Annotated[str | None, typer.Option(
        "--fx-constant", help="YYYY-MM: convert every amount at that month's rates (constant-currency "
                              "reporting). Default: subscriptions at the rate of each billing period's month, "
                              "other money at its own month's.")] = None,
    map_file: Annotated[Path | None, typer.Option(
        "--map", help="Mapping file (TOML) saying which file and column is which, and how the files are written. "
                      "Default: kpi.toml in the data folder, when there is one.")] = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="Encoding of every CSV file: utf-8, utf-8-sig, utf-16, utf-16-le, utf-16-be, "
                           "windows-1252 or latin-1. Default: detected.")] = None,
    separator: Annotated[str | None, typer.Option(
        "--separator", help="Field separator of every CSV file: , ; tab or |. Default: detected.")] = None,
    decimal: Annotated[str | None, typer.Option(
        "--decimal", help="Decimal mark of the numbers in CSV files: . or ,  Default: detected per column.")] = None,
    thousands: Annotated[str | None, typer.Option(
        "--thousands", help="Thousands separator of the numbers in CSV files: none . , space nbsp nnbsp or '. "
                            "Default: detected per column.")] = None,
    dates: Annotated[str | None, typer.Option(
        "--dates", help="Date format of CSV files: yyyy-mm-dd dd.mm.yyyy dd-mm-yyyy dd/mm/yyyy or mm/dd/yyyy "
                        "(a time hh:mm[:ss] may follow). Default: detected per column.")] = None,
) -> None:
    """Regenerate reports from data files, in batch."""
    from .batch import SAMPLE_DIR, PlanError, check_out_dir, clean_stale_temp, parse_shard, plan
    from .data import DataError
    from .reports import REPORTS
    from .run_log import LOG_FORMATS

    t0 = time.perf_counter()
    console = _console()
    err = _console(stderr=True)
    if log_format not in LOG_FORMATS:
        _error(err, f"--log-format {log_format!r}: use one of {', '.join(LOG_FORMATS)}")
        raise typer.Exit(2)
    mode = log_format if log_format != "auto" else ("table" if console.is_terminal else "text")
    log = None if mode == "table" else _Log(console, mode)
    say = (lambda kind, line: log.message(kind, line)) if log is not None else \
        (lambda kind, line: _say(console, (kind, "cyan"), " ", line))
    if formulas not in _FLAVOURS:
        _error(err, f"--formulas must be one of {', '.join(_FLAVOURS)}")
        raise typer.Exit(2)
    from .build.large import LAYOUTS

    if layout not in LAYOUTS:
        _error(err, f"--layout {layout!r}: use one of {', '.join(LAYOUTS)}")
        raise typer.Exit(2)
    if executor not in ("local", "dask"):
        _error(err, "--executor must be local or dask")
        raise typer.Exit(2)
    if (executor == "dask") != bool(scheduler):
        _error(err, "--executor dask needs --scheduler ADDRESS" if executor == "dask"
               else "--scheduler only applies to --executor dask")
        raise typer.Exit(2)
    if namespace and formulas != "officejs":
        _error(err, "--namespace only applies to --formulas officejs")
        raise typer.Exit(2)
    if billing is not None and billing not in ("invoices", "subscriptions"):
        _error(err, "--billing must be invoices or subscriptions")
        raise typer.Exit(2)
    if not 1 <= fiscal_year_start <= 12:
        _error(err, f"--fiscal-year-start {fiscal_year_start}: use the number of the month the fiscal year starts "
                    "in, 1 (January) to 12 (December)")
        raise typer.Exit(2)
    if all_ and templates:
        _error(err, "give template names or --all, not both")
        raise typer.Exit(2)
    if compare is not None and by is not None:
        _error(err, f"--compare {compare!r} puts every segment in one workbook, --by {by!r} writes one workbook per "
                    "segment: use one of them")
        raise typer.Exit(2)
    if compare is not None and (all_ or templates):
        _error(err, "--compare builds the comparison workbook of its own: give no template names and no --all")
        raise typer.Exit(2)
    names = list(REPORTS) if all_ else list(templates or [])
    if not names and compare is None:
        _error(err, "name a template (kpi templates lists them) or use --all")
        raise typer.Exit(2)
    data_dir = data if data is not None else SAMPLE_DIR
    settings = _data_settings(err, map_file, encoding=encoding, separator=separator, decimal=decimal,
                              thousands=thousands, dates=dates)
    if billing is not None:
        settings = dataclasses.replace(settings, billing=billing)
    try:
        from .fx import check_code, check_month

        settings = dataclasses.replace(settings, currency=None if currency is None else check_code(currency),
                                       fx_constant=None if fx_constant is None else check_month(fx_constant))
        check_out_dir(out)  # a folder that cannot take reports is refused before any data is read
        if namespace:
            from kpi_functions.excel import validate_namespace

            validate_namespace(namespace)
        read_dir = data_dir.resolve() if executor == "dask" else data_dir  # paths the workers can use
        if progress and log is not None:
            log.message("step", f"reading the data in {data_dir}")
        reading = console.status("reading the data") if progress is not False and log is None \
            and console.is_terminal else contextlib.nullcontext()
        with reading:  # the plan reads every table once (a terminal shows it is not stuck)
            tasks = plan(names, read_dir,
                         out.resolve() if executor == "dask" else out, by=by, periods=period or (),
                         flavour=formulas, namespace=namespace, shard=parse_shard(shard), source=str(data_dir),
                         settings=settings, fiscal_year_start=fiscal_year_start, compare=compare, layout=layout)
    except (PlanError, DataError, ValueError) as e:
        _error(err, str(e))
        raise typer.Exit(2)
    read_as = _dialect_lines(read_dir, settings)
    if by:
        from .batch import split_lines

        for line in split_lines(dict.fromkeys(t.template for t in tasks), by.strip()):
            say("split", line)
    if not tasks:
        say("note", "nothing to build for this shard")
        return
    if log is not None:  # a log says how the files were read before the reports
        for line in read_as:
            say("read", line)
    on_result = log.report if log is not None else None
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temp(out)
    if executor == "dask":
        from .cluster_build import attach_cluster_tables
        from .dask_executor import DaskUnavailable, dask_client

        assert scheduler is not None  # --executor dask without --scheduler was refused above
        try:  # the MRR tables of large reports on the cluster first (.cluster_build), then the report tasks
            with dask_client(scheduler, data_dir, out) as client, client.get_executor(pure=False) as ex, \
                    attach_cluster_tables(tasks, client, out.resolve(), say) as tasks:
                results = _run(tasks, jobs, console, progress is not False, executor=ex, on_result=on_result)
        except DaskUnavailable as e:
            _error(err, str(e))
            raise typer.Exit(2)
    else:
        from .build_steps import log_listener

        steps = log_listener(log) if progress and log is not None and jobs <= 1 else None
        results = _run(tasks, jobs, console, progress is not False, on_result=on_result, steps=steps)
    if log is not None:
        failed = log.finish(results, out, time.perf_counter() - t0)
    else:
        for line in read_as:
            say("read", line)
        failed = _summary(results, console, out, time.perf_counter() - t0)
    if failed:
        raise typer.Exit(1)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = _DEFAULT_OUT,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Reports built in parallel.")] = 2,
    formulas: Annotated[str, typer.Option("--formulas", help="classic | officejs | values")] = "classic",
) -> None:
    """Build every report from the bundled sample data and print a short KPI summary."""
    from rich.table import Table
    from rich.text import Text

    from .batch import SAMPLE_DIR, PlanError, check_out_dir, plan
    from .reports import REPORTS

    console = _console()
    err = _console(stderr=True)
    if formulas not in _FLAVOURS:
        _error(err, f"--formulas must be one of {', '.join(_FLAVOURS)}")
        raise typer.Exit(2)
    try:
        check_out_dir(out)  # a folder that cannot take reports is refused before any report is built
    except PlanError as e:
        _error(err, str(e))
        raise typer.Exit(2)
    t0 = time.perf_counter()
    from .make_templates import SOURCE_LABEL

    tasks = plan(list(REPORTS), SAMPLE_DIR, out, flavour=formulas, source=SOURCE_LABEL)
    out.mkdir(parents=True, exist_ok=True)
    results = _run(tasks, jobs, console)
    failed = [r for r in results if not r.ok]
    for r in failed:
        _say(console, ("FAILED", "red"), " ", terminal_safe(r.task.label), ": ", r.error or "")
    heads: dict[str, tuple[str, str, str]] = {}
    for r in results:
        if r.ok:
            labels = _labels(r.task.template)
            for k, v in r.headline.items():
                heads.setdefault(labels.get(k, k), (_fmt_value(v, _unit_of(r.task.template, k)), r.task.template,
                                                    r.period or ""))
    # the month each report reported on (the latest month of its data), named: one title, or a column
    months = list(dict.fromkeys(m for _, _, m in heads.values()))
    t = Table(title="Sample company, reported on " + (f"{months[0]} (the latest month of its data)"
                                                       if len(months) == 1 else "the months below"),
              title_justify="left")
    t.add_column("KPI")
    t.add_column("value", justify="right")
    t.add_column("report")
    if len(months) > 1:
        t.add_column("month")
    for label, (v, tpl, m) in heads.items():
        t.add_row(*(Text(terminal_safe(x)) for x in (label, v, tpl, *([m] if len(months) > 1 else []))))
    console.print(t)
    for r in results:
        if r.ok:
            _say(console, "  ", terminal_safe(r.path or ""))
    _say(console, f"{len(results) - len(failed)} report(s)", f" on {months[0]}" if len(months) == 1 else "", " in ",
         terminal_safe(out),
         f" ({time.perf_counter() - t0:.1f} s). Open them in Excel or LibreOffice.")
    if failed:
        raise typer.Exit(1)


@app.command("templates")
def templates_cmd(
    copy_to: Annotated[Path | None, typer.Option(
        "--copy", help="Copy the template workbooks into this folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --copy: overwrite existing files.")] = False,
) -> None:
    """List the report templates (and copy them out)."""
    from rich.table import Table
    from rich.text import Text

    from .batch import TEMPLATES_DIR
    from .reports import REPORTS
    from .schema import DATASETS

    console = _console()
    t = Table(title="Report templates", title_justify="left")
    t.add_column("template", no_wrap=True)
    t.add_column("what it shows")
    t.add_column("data sets")
    for key, spec in REPORTS.items():
        t.add_row(*(Text(terminal_safe(x)) for x in (key, spec.description,
                                                     ", ".join(DATASETS[d].name for d in spec.datasets))))
    console.print(t)
    from .origin import template_origin

    _say(console, "Template workbooks: ", terminal_safe(TEMPLATES_DIR))
    _say(console, "They come from ", terminal_safe(template_origin(TEMPLATES_DIR.parent)), ".")
    _say(console, "Build one from your data: kpi build saas_dashboard --data DIR --out reports")
    if copy_to is not None:
        copy_to.mkdir(parents=True, exist_ok=True)
        n = 0
        for key in REPORTS:
            src = TEMPLATES_DIR / f"{key}.xlsx"
            dst = copy_to / src.name
            if not src.exists():
                _error(console, f"missing template {terminal_safe(src)}")
                raise typer.Exit(1)
            if dst.exists() and not force:
                _say(console, ("skipped", "yellow"), " ", terminal_safe(dst), " exists (use --force)")
                continue
            shutil.copyfile(src, dst)
            n += 1
        _say(console, f"{n} template(s) copied to ", terminal_safe(copy_to))


@app.command("map")
def map_cmd(
    data: Annotated[Path, typer.Option("--data", help="Folder with your data files (CSV, XLSX or Parquet).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the mapping file. Default: kpi.toml in the data folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mapping file.")] = False,
) -> None:
    """Propose a mapping file (kpi.toml) from the headers of your data files, for you to review."""
    from .propose import data_files, propose, render, summary_lines

    console = _console()
    err = _console(stderr=True)
    target = out if out is not None else data / "kpi.toml"
    if not data.is_dir():
        _error(err, f"data folder {terminal_safe(data)} does not exist")
        raise typer.Exit(2)
    if target.exists() and not force:
        _error(err, f"{terminal_safe(target)} exists; review or remove it, or use --force to overwrite it")
        raise typer.Exit(2)
    if not data_files(data):
        _error(err, f"no data files (.csv, .xlsx, .parquet) in {terminal_safe(data)}")
        raise typer.Exit(2)
    proposal = propose(data)
    text = render(proposal)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
    except OSError as e:
        _error(err, f"cannot write {terminal_safe(target)}: {e}")
        raise typer.Exit(2)
    for line in summary_lines(proposal):
        _say(console, line)
    _say(console, "wrote ", terminal_safe(target), ": review it, then build with: kpi build --all --data ",
         terminal_safe(data) + ("" if out is None else f" --map {out}"))
