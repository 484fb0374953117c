"""Batch regeneration: plan tasks, run them on an executor, write each report atomically.

A task is ``(template, segment, period) -> output path``: a frozen, picklable
:class:`Task` handed to the pure function :func:`run_task`, which loads the
data (cached per process), builds the report and writes it through a
temporary file in the output folder that replaces the old report only when
complete (``os.replace``) — a crash or kill leaves the previous report intact.

:func:`run_tasks` accepts any :class:`concurrent.futures.Executor`: the
default is in-process (``--jobs 1``) or a process pool; a Dask cluster plugs
in through ``distributed.Client(...).get_executor()``.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import os
import re
import tempfile
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pandas as pd

from .build_steps import step
from .folder_cache import load_cached  # the data folders this process loaded (bounded, thread-safe)
from .periods import Period
from .settings import DEFAULT_SETTINGS, DataSettings

if TYPE_CHECKING:
    from .cluster_build import ClusterTables

__all__ = ["SAMPLE_DIR", "TEMPLATES_DIR", "InProcessExecutor", "PlanError", "Task", "TaskResult", "atomic_build",
           "check_split", "make_executor", "name_clashes", "output_name", "parse_periods", "parse_shard", "plan", "run_task",
           "run_tasks", "safe_component", "split_lines"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
SAMPLE_DIR = Path(__file__).parent / "sample_data"
_TMP_SUFFIX = ".kpi-tmp"
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$"} | \
    {f"{p}{i}" for p in ("COM", "LPT") for i in list("123456789") + ["¹", "²", "³"]}
MAX_COMPONENT = 60
_P = ParamSpec("_P")
_T = TypeVar("_T")


class PlanError(Exception):
    """The requested run cannot be planned (bad option, unknown template or column)."""


@dataclass(frozen=True)
class Task:
    template: str
    data_dir: str
    out_path: str
    segment: tuple[str, str | None] | None = None  #: (column, value); value None: the rows left blank
    period: str | None = None  #: "YYYY-MM", "YYYY-Qn", "YYYY", "FYYYYY[-Qn]" (:mod:`.periods`); None: the latest month
    flavour: str = "classic"
    namespace: str | None = None
    source: str = ""
    #: the other segment values whose file name would be the same file (case or Unicode form only);
    #: this task's name then ends with a hash of its value
    name_clash: tuple[str | None, ...] = ()
    settings: DataSettings = DEFAULT_SETTINGS  #: how the data folder is read
    fiscal_year_start: int = 1  #: the month (1-12) the fiscal year starts in: what a year or quarter means
    compare: str | None = None  #: the column of a comparison workbook (``--compare``; template "compare")
    layout: str = "auto"  #: auto | standard | large (``--layout``; :mod:`.build.large`)
    #: the MRR tables computed on a Dask cluster (:mod:`.cluster_build`); None: computed in the build
    cluster: ClusterTables | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        parts = [self.template]
        if self.compare:
            parts.append(f"by {self.compare}")
        if self.segment:
            parts.append(f"{self.segment[0]}={'(blank)' if self.segment[1] is None else self.segment[1]}")
        if self.period:
            parts.append(self.period)
        return " ".join(parts)


@dataclass
class TaskResult:
    task: Task
    ok: bool
    path: str | None = None
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  #: what the reader should know (a comparison's left-out KPIs)
    period: str | None = None  #: the period reported on (2026-05, 2026-Q2), also when the task asked for the latest
    finished: float = field(default_factory=time.time)  #: when the task ended (seconds since the epoch)


# --------------------------------------------------------------------------
# Names and options
# --------------------------------------------------------------------------
def safe_component(value: str, limit: int = MAX_COMPONENT) -> str:
    """A file-name part made from data: cannot traverse, is not a device name, has a bounded length.

    Letters, digits, ``-`` and ``_`` are kept (Unicode letters too); anything
    else becomes ``_``. When the result differs from the value (or was cut),
    a short hash of the value is appended, so two different values never
    share a file.
    """
    text = unicodedata.normalize("NFC", str(value))
    out = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in text)
    out = re.sub(r"_+", "_", out).strip("_-")
    # spaces read fine as "_" ("Paid search" -> "Paid_search"); any other change is marked with a hash
    changed = out != re.sub(r"_+", "_", text.replace(" ", "_")).strip("_-")
    if len(out) > limit:
        out = out[:limit].rstrip("_-")
        changed = True
    if not out:
        out = "blank"
        changed = True
    if out.split(".")[0].upper() in _RESERVED:
        out = "_" + out
        changed = True
    if changed:
        out += "-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return out


def output_name(template: str, segment: tuple[str, str | None] | None, period: str | None) -> str:
    name = template
    if segment is not None:
        value = "" if segment[1] is None else segment[1]  # blank: "blank-<hash>", never a real value's name
        name += f"__{safe_component(segment[0], 30)}-{safe_component(value)}"
    if period is not None:
        name += f"__{period}"
    return name + ".xlsx"


def compare_output_name(column: str, period: str | None) -> str:
    """``compare_region.xlsx``, ``compare_region__2026-06.xlsx``: a comparison workbook's file name."""
    return f"compare_{safe_component(column, 30)}" + (f"__{period}" if period is not None else "") + ".xlsx"


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` names an entry directly inside ``folder``. The entry itself is not
    resolved: a symbolic link already there fails only its own report, when it is written."""
    return path.name not in ("", ".", "..") and path.parent.resolve() == folder.resolve()


def check_out_dir(out_dir: Path) -> None:
    """Make sure ``--out`` is a folder reports can be written to — before any data is read.

    Creates it when missing, then writes and removes a probe file; every failure is a
    :class:`PlanError` naming the folder and the system's reason (not a traceback).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PlanError(f"--out {str(out_dir)!r} is a file, not a folder; choose a folder for the reports")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".kpi-probe.", suffix=_TMP_SUFFIX, dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise PlanError(f"--out {str(out_dir)!r} cannot be used for reports: {_reason(err)}") from None


def _reason(err: BaseException) -> str:
    """The system's words for a failed file operation (``No space left on device``), found
    also inside a library's wrapper (XlsxWriter's ``FileCreateError`` carries the OSError)."""
    seen: set[int] = set()
    stack: list[Any] = [err]
    while stack:
        e = stack.pop()
        if id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        stack.extend([e.__cause__, e.__context__, *e.args])
    return str(err)


def _os_error(err: BaseException) -> bool:
    """An error of the file system (a full disk, a read-only folder), possibly wrapped."""
    from xlsxwriter.exceptions import FileCreateError

    return isinstance(err, (OSError, FileCreateError))


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: the months a spreadsheet holds (1900-01 … 9999-12), as year * 12 + month - 1
_FIRST_SHEET_MONTH, _LAST_SHEET_MONTH = 1900 * 12, 9999 * 12 + 11
#: how far after the last month of data a report may look (subscriptions still running continue)
MONTHS_AFTER_DATA = 12


def _month_number(label: str) -> int:
    """"2026-03" -> 2026 * 12 + 2: calendar arithmetic on integers, exact in every year."""
    y, m = label.split("-")
    return int(y) * 12 + int(m) - 1


def _month_label(n: int) -> str:
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _check_month(v: str, p: str, bounds: tuple[int, int] | None) -> int:
    """The month number of ``p`` (from the ``--period`` value ``v``), or PlanError naming both."""
    if not _MONTH.match(p):
        raise PlanError(f"--period {v!r}: {p!r} is not a month like 2026-03")
    return _check_last(v, p, _month_number(p), bounds)


def _check_last(v: str, p: str, n: int, bounds: tuple[int, int] | None) -> int:
    """Month ``n`` (the last month of the period ``p`` of the ``--period`` value ``v``) inside the bounds."""
    what = repr(p) if _MONTH.match(p) else f"{p!r} (ending {_month_label(n)})"
    if not _FIRST_SHEET_MONTH <= n <= _LAST_SHEET_MONTH:
        raise PlanError(f"--period {v!r}: {what} is outside the months a spreadsheet can hold "
                        f"({_month_label(_FIRST_SHEET_MONTH)} to {_month_label(_LAST_SHEET_MONTH)})")
    if bounds is not None and not bounds[0] <= n <= bounds[1]:
        raise PlanError(f"--period {v!r}: {what} is outside the months this data can report on, "
                        f"{_month_label(bounds[0])} to {_month_label(bounds[1])} (from the first month of "
                        f"data to {MONTHS_AFTER_DATA} months after the last)")
    return n


_PERIOD_HELP = ("use a month like 2026-03, a quarter like 2026-Q2, a year like 2025 (FY2026 for a fiscal year), "
                "a range of one kind like 2026-01:2026-03 or 2025-Q1:2025-Q4, 'latest', 'latest-quarter', "
                "'latest-year' or 'all'")


def _period(v: str, p: str, fiscal_year_start: int, bounds: tuple[int, int] | None) -> Period:
    """The period named ``p`` (part of the ``--period`` value ``v``), checked, or PlanError naming both."""
    from .periods import parse_period

    if _MONTH.match(p):
        return Period("month", _check_month(v, p, bounds), fiscal_year_start)
    per = parse_period(p, fiscal_year_start)
    if per is None:
        raise PlanError(f"--period {v!r}: {p!r} is not a period; {_PERIOD_HELP}")
    _check_last(v, p, per.last, bounds)
    return per


def parse_periods(values: Iterable[str], available: list[pd.Timestamp],
                  fiscal_year_start: int = 1) -> list[str | None]:
    """``--period`` values -> period names (see :mod:`.periods`).

    ``latest`` (default: the latest month of data), ``YYYY-MM``, ``YYYY-Qn``, ``YYYY`` (a calendar year, or the
    fiscal year ending in YYYY when ``fiscal_year_start`` is not 1), ``FYYYYY``, ``FYYYYY-Qn``, ``A:B`` ranges of
    one kind, ``latest-quarter`` and ``latest-year`` (the latest quarter or year that the data covers to its last
    month: a quarter the data ends inside is not complete), ``all`` (every month of data).

    A period's last month (its report month) must be one a spreadsheet holds (1900-01 … 9999-12) and, when the
    data has dates, lie between the first month of data and :data:`MONTHS_AFTER_DATA` months after the last;
    anything else is a usage error naming the value (never a report for a period the data cannot speak for).
    A period that starts before the data or ends after it is built, and says so in the workbook.
    """
    from .periods import latest_complete

    if not (isinstance(fiscal_year_start, int) and 1 <= fiscal_year_start <= 12):
        raise PlanError(f"--fiscal-year-start {fiscal_year_start!r}: use the number of the month the fiscal year "
                        "starts in, 1 (January) to 12 (December)")
    values = [v for raw in values for v in str(raw).split(",") if v.strip()]
    if not values:
        return [None]
    bounds = None
    if available:
        lo, hi = (_month_number(m.strftime("%Y-%m")) for m in (available[0], available[-1]))
        bounds = (max(lo, _FIRST_SHEET_MONTH), min(hi + MONTHS_AFTER_DATA, _LAST_SHEET_MONTH))
    out: list[str] = []
    for v in (x.strip() for x in values):
        low = v.lower()
        if low == "latest":
            if not available:
                raise PlanError("the data has no dates, so there is no latest month")
            out.append(available[-1].strftime("%Y-%m"))
        elif low in ("latest-quarter", "latest-year"):
            if not available:
                raise PlanError(f"--period {v!r}: the data has no dates, so there is no latest period")
            grain = low.split("-")[1]
            hi_n = _month_number(available[-1].strftime("%Y-%m"))
            per = latest_complete(grain, hi_n, fiscal_year_start)
            # the period the data ends inside (what to name to report on a part of one)
            holding = latest_complete(grain, hi_n + Period(grain, 0).months - 1, fiscal_year_start)
            if bounds is not None and per.last < bounds[0]:
                raise PlanError(f"--period {v!r}: the data ({_month_label(bounds[0])} to {_month_label(hi_n)}) "
                                f"covers no {grain} to its end; name the {grain} to report on a part of one "
                                f"(e.g. --period {holding.name})")
            out.append(per.name)
        elif low == "all":
            out.extend(m.strftime("%Y-%m") for m in available)
        elif ":" in v or ".." in v:
            a, b = (p.strip() for p in (v.split(":", 1) if ":" in v else v.split("..", 1)))
            pa, pb = _period(v, a, fiscal_year_start, bounds), _period(v, b, fiscal_year_start, bounds)
            if pa.grain != pb.grain:
                raise PlanError(f"--period {v!r}: both ends of a range must be of one kind (a {pa.grain} and a "
                                f"{pb.grain} here)")
            if pb.last < pa.last:
                raise PlanError(f"--period {v!r}: the range ends before it starts")
            out.extend(pa.shifted(k).name for k in range((pb.last - pa.last) // pa.months + 1))
        else:
            out.append(_period(v, v, fiscal_year_start, bounds).name)
    return list(dict.fromkeys(out))


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise PlanError(f"--shard {text!r}: use K/N, e.g. 2/4 for the second of four machines")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise PlanError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------
def plan(templates: list[str], data_dir: Path, out_dir: Path, *, by: str | None = None,
         periods: Iterable[str] = (), flavour: str = "classic", namespace: str | None = None,
         shard: tuple[int, int] | None = None, source: str | None = None,
         settings: DataSettings = DEFAULT_SETTINGS, fiscal_year_start: int = 1,
         compare: str | None = None, layout: str = "auto") -> list[Task]:
    """The tasks of one run, in a stable order (so shards split the same list on every machine).

    With ``compare`` (a column), the run is one comparison workbook per period instead of reports
    (``templates`` must be empty and ``by`` None).
    """
    from .context import ScopeError, all_months, segment_values
    from .reports import get_report

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.resolve() == TEMPLATES_DIR.resolve():
        raise PlanError("refusing to write into the bundled templates folder; choose another --out")
    if compare is not None:
        if by:
            raise PlanError(f"--compare {compare!r} puts every segment in one workbook; --by {by!r} writes one "
                            "workbook per segment: use one of them")
        if templates:
            raise PlanError("--compare builds the comparison workbook of its own: give no template names and no "
                            "--all with it")
        from .compare import plan_tasks

        tasks = plan_tasks(compare, data_dir, out_dir, periods, flavour, namespace, source, settings)
        if shard is not None:
            k, n = shard
            tasks = [t for i, t in enumerate(tasks) if i % n == k - 1]
        return tasks
    specs = []
    for t in templates:
        try:
            specs.append(get_report(t))
        except KeyError as err:
            raise PlanError(err.args[0]) from None
    specs = list(dict.fromkeys(specs))  # keep order, drop repeats
    if by:
        check_split(specs, by.strip())  # a report that cannot be split: refused before any data is read
    for spec in specs:  # a formula naming no registered function: refuse the run before reading or writing
        bad = unknown_kpis(spec)
        if bad:
            raise PlanError(f"template {spec.key!r} uses {', '.join(bad)}, which is not a registered KPI "
                            "function (kpi functions lists them); nothing was built")
    tables = load_cached(str(data_dir), settings)[0]
    names = list(dict.fromkeys(n for s in specs for n in s.datasets))
    months = all_months(tables, [n for n in names if n in tables])
    period_list = parse_periods(periods, months, fiscal_year_start)
    segments: list[tuple[str, str | None] | None] = [None]
    if by:
        col = by.strip()
        try:
            values = segment_values(tables, col)
        except ScopeError as err:  # no data set has the column (anything else is a bug, not a usage error)
            raise PlanError(f"--by {by!r}: {err}") from None
        if not values:
            raise PlanError(f"--by {by!r}: the column holds no values")
        segments = [(col, v) for v in values]
    clashes = name_clashes(segments)
    tasks = []
    used: dict[str, Task] = {}
    for spec in specs:
        for seg in segments:
            for per in period_list:
                name = output_name(spec.key, seg, per)
                if seg is not None and _name_key(output_name("x", seg, None)) in clashes:
                    name = name[: -len(".xlsx")] + f"-{_digest(seg[1])}.xlsx"
                path = out_dir / name
                if not _inside(path, out_dir):  # defence in depth: safe_component already prevents it
                    raise PlanError(f"output name {name!r} would leave the output folder")
                if _name_key(name) in used:
                    raise PlanError(f"two reports would share the file {name}")
                task = Task(spec.key, str(data_dir), str(path), seg, per, flavour, namespace,
                            source or str(data_dir),
                            clashes.get(_name_key(output_name("x", seg, None)), ()) if seg else (), settings,
                            fiscal_year_start, layout=layout)
                used[_name_key(name)] = task
                tasks.append(task)
    if shard is not None:
        k, n = shard
        tasks = [t for i, t in enumerate(tasks) if i % n == k - 1]
    return tasks


def check_split(specs: list[Any], column: str) -> None:
    """One :class:`PlanError` naming every report that ``--by column`` cannot split, and why."""
    from .context import segment_meaning, split_plan
    from .schema import DATASETS

    if not any(column in ds.column_names for ds in DATASETS.values()):
        raise PlanError(f"--by {column!r}: no data set has a column {column!r}")
    cannot = []
    for spec in specs:
        bad = [sp.text for sp in split_plan(spec.datasets, column) if not sp.ok]
        if bad:
            cannot.append(f"  {spec.key}: " + "; ".join(bad))
    if not cannot:
        return
    can = [s.key for s in specs if all(sp.ok for sp in split_plan(s.datasets, column))]
    meaning = segment_meaning(column)
    raise PlanError(f"--by {column!r}{f' ({meaning})' if meaning else ''}: {len(cannot)} of the {len(specs)} "
                    f"report(s) cannot be split by it, so nothing was built:\n" + "\n".join(cannot)
                    + (f"\n  these can: {', '.join(can)} (build them on their own)" if can else ""))


def split_lines(templates: Iterable[str], column: str) -> list[str]:
    """For the command's output: which column of which data set splits each report."""
    from .context import split_plan
    from .reports import get_report

    out = []
    for t in dict.fromkeys(templates):
        spec = get_report(t)
        out.append(f"{spec.key} by {column}: " + "; ".join(sp.text for sp in split_plan(spec.datasets, column)))
    return out


def _name_key(name: str) -> str:
    """What a file name is to a file system that ignores case and Unicode form (Windows, macOS):
    two names with the same key are the same file there."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _digest(value: str | None) -> str:
    return hashlib.sha1(str(value).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def name_clashes(segments: list[tuple[str, str | None] | None]) -> dict[str, tuple[str | None, ...]]:
    """Segment values whose file names would be the same file somewhere: ``{name key: values}``.

    Values that read the same once made safe (``a b``, ``a_b``), that differ only in Unicode
    form (NFC ``Zürich``, NFD ``Zürich``) or only in case (``Europe``, ``EUROPE``: one file
    on Windows and macOS) each get a hash of their own value appended — the same suffix
    whatever the order of the rows, so a rerun writes the same names.
    """
    groups: dict[str, list[str | None]] = {}
    for seg in segments:
        if seg is not None:
            groups.setdefault(_name_key(output_name("x", seg, None)), []).append(seg[1])
    return {k: tuple(v) for k, v in groups.items() if len(v) > 1}


def unknown_kpis(spec: Any) -> list[str]:
    """The KPI function names used anywhere in a report spec that the registry does not have."""
    import kpi_functions as K

    from .formulas import Node

    found: dict[str, None] = {}

    def walk(obj: Any) -> None:
        if isinstance(obj, Node):
            found.update(dict.fromkeys(obj.kpis()))
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                walk(getattr(obj, f.name))
        elif isinstance(obj, (tuple, list)):
            for x in obj:
                walk(x)
        elif isinstance(obj, dict):
            for x in obj.values():
                walk(x)

    walk(spec)
    return [name for name in found if name not in K.REGISTRY]


# --------------------------------------------------------------------------
# Running one task
# --------------------------------------------------------------------------
def atomic_build(spec: Any, data: Any, out_path: Path, flavour: str = "classic",
                 namespace: str | None = None, _write: Callable[..., Any] | None = None,
                 layout: str = "auto", cluster: ClusterTables | None = None) -> Any:
    """Build into a temporary file next to ``out_path``, then move it into place in one step."""
    from .builder import Writer, evaluate

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    b = evaluate(spec, data, flavour, namespace, layout, cluster)  # fails before any file is touched
    fd, tmp = tempfile.mkstemp(prefix="." + out_path.stem + ".", suffix=_TMP_SUFFIX, dir=out_path.parent)
    os.close(fd)
    try:
        result = (_write or (lambda bb, p: Writer(bb, p).write()))(b, Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, out_path)
        result.path = out_path
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable
        dfd = os.open(out_path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return result


def _read_umask() -> int | None:
    """The process umask as the kernel reports it (Linux 4.7+), read without changing it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _import_umask() -> int:
    """The umask when this module is imported. Where the kernel does not report it, it is set
    and restored, once, here — never around a write (a threaded worker building reports must
    never find the process umask at 0)."""
    mask = _read_umask()
    if mask is None:
        mask = os.umask(0)
        os.umask(mask)
    return mask


_IMPORT_UMASK = _import_umask()


def _umask() -> int:
    """The umask for a report's mode: the current one where the kernel reports it, else the
    one read when this module was imported. The process umask is never changed here."""
    mask = _read_umask()
    return _IMPORT_UMASK if mask is None else mask


def clean_stale_temp(out_dir: Path, older_than: float = 3600.0) -> list[Path]:
    """Remove temporary files a killed run left behind (older than an hour)."""
    removed = []
    now = time.time()
    for p in Path(out_dir).glob("." + "*" + _TMP_SUFFIX):
        try:
            if now - p.stat().st_mtime > older_than:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def _check_target(out_path: Path) -> None:
    """A report replaces a regular file only: never a symbolic link (which may point anywhere)
    or a folder that happens to carry the report's name."""
    if out_path.is_symlink():
        raise PlanError(f"{out_path.name} in the output folder is a symbolic link (to {os.readlink(out_path)!r}); "
                        "refusing to replace it: remove the link or choose another --out")
    if out_path.is_dir():
        raise PlanError(f"{out_path.name} in the output folder is a folder; refusing to replace it")


def run_task(task: Task) -> TaskResult:
    """Build one report. Never raises: failures come back as ``ok=False`` with a message."""
    from .build.evaluation import OutsideTableRead
    from .builder import BuildError, ReportInputError
    from .cluster_build import task_data, task_month
    from .compare import CompareError
    from .context import ScopeError
    from .data import DataError

    t0 = time.perf_counter()
    try:
        step("reading the data")  # a cache hit when the plan read this folder in this process
        tables, errors = load_cached(task.data_dir, task.settings)
        notes: list[str] = []
        period, month = task_month(task)
        if task.compare is not None:
            if period is not None and period.months != 1:
                raise PlanError(f"--compare builds one month at a time; {task.period!r} is a {period.grain}")
            from .compare import build_comparison_spec

            spec, data, notes = build_comparison_spec(tables, errors, task.compare, month, task.source)
        else:
            spec, data = task_data(task, tables, errors)
        _check_target(Path(task.out_path))
        try:
            result = atomic_build(spec, data, Path(task.out_path), task.flavour, task.namespace,
                                  layout=task.layout, cluster=task.cluster)
            if task.cluster is not None:
                notes.append(task.cluster.note)
        except OutsideTableRead as err:  # a formula the cluster's tables do not stand for: the full build
            result = atomic_build(spec, data, Path(task.out_path), task.flavour, task.namespace, layout=task.layout)
            notes.append(f"MRR tables from the cluster not used: {err}; computed in the build")
        head = {k: result.headline.get(k) for k in spec.headline}
        if result.large_data is not None:
            notes.append(f"large-data layout: {result.large_data}")
        return TaskResult(task, True, str(result.path), time.perf_counter() - t0, None,
                          list(dict.fromkeys(data.notices + result.warnings)), head, notes, data.the_period.name)
    except (ScopeError, DataError, ReportInputError, BuildError, PlanError, CompareError) as err:
        return TaskResult(task, False, None, time.perf_counter() - t0, str(err))
    except Exception as err:  # noqa: BLE001 - a bug: reported as unexpected, with its traceback; the run goes on
        if _os_error(err):  # the file system refused (full disk, read-only): one line, no traceback
            return TaskResult(task, False, None, time.perf_counter() - t0,
                              f"cannot write {task.out_path}: {_reason(err)}; the previous report, if any, "
                              "is unchanged")
        tb = traceback.format_exc(limit=4)
        return TaskResult(task, False, None, time.perf_counter() - t0,
                          f"unexpected {type(err).__name__}: {err}\n{tb}")


# --------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------
class InProcessExecutor(cf.Executor):
    """Runs each task in the calling process when submitted (``--jobs 1``)."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> cf.Future[_T]:
        f: cf.Future[_T] = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001 - handed to the caller through the future, as a pool does
            f.set_exception(err)  # (Ctrl-C and SystemExit are not: they stop the run here and now)
        return f


def make_executor(jobs: int) -> cf.Executor:
    if jobs <= 1:
        return InProcessExecutor()
    return cf.ProcessPoolExecutor(max_workers=jobs)


def run_tasks(tasks: list[Task], executor: cf.Executor,
              on_result: Callable[[TaskResult], None] | None = None) -> list[TaskResult]:
    """Run tasks on any ``concurrent.futures.Executor``; results in task order."""
    from .reports import REPORTS

    def cost(task: Task) -> int:  # ReportSpec.cost: the costliest first, so parallel workers finish together
        spec = REPORTS.get(task.template)
        return spec.cost if spec is not None else 0

    order = sorted(range(len(tasks)), key=lambda i: -cost(tasks[i]))
    results: list[TaskResult | None] = [None] * len(tasks)

    def deliver(i: int, fut: cf.Future[TaskResult]) -> None:
        try:
            r = fut.result()
        except Exception as err:  # noqa: BLE001 - the worker died (killed, out of memory) or the executor failed;
            # run_task itself never raises an Exception, and Ctrl-C or SystemExit stop the run
            r = TaskResult(tasks[i], False, None, 0.0, f"the worker process failed: {type(err).__name__}: {err}")
        results[i] = r
        if on_result is not None:
            on_result(r)

    futures = {}
    for i in order:
        fut = executor.submit(run_task, tasks[i])
        if isinstance(executor, InProcessExecutor):  # done already: reported now (a log line, the progress bar),
            deliver(i, fut)  # not after every other report of the run
        else:
            futures[fut] = i
    for fut in cf.as_completed(futures):
        deliver(futures[fut], fut)
    return [r for r in results if r is not None]

