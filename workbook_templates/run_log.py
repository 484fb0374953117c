"""``kpi build``'s log for a scheduler (cron, systemd): one line per report, then one line of totals.

Where stdout is not a terminal, a table squeezed to 80 columns helps no one: each report gets one
line as it finishes — the time stamp, report, segment, period, status, duration, the full path of
the file and the headline KPIs — in ``logfmt`` (``key=value``, a value with spaces in double
quotes), or, with ``--log-format json``, one JSON object per line with the same fields. A report
that failed leaves the previous file in place, and its line says so with that file's date
(``kept="the previous report of 2026-05-31"``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from kpi_functions import terminal_safe

__all__ = ["LOG_FORMATS", "error_lines", "json_line", "kept_text", "now", "record", "text_line", "totals"]

#: --log-format: auto (a table on a terminal, text lines otherwise), or one of them whatever stdout is
LOG_FORMATS = ("auto", "table", "text", "json")


def now(at: float | None = None) -> str:
    """The local time (now, or ``at`` seconds since the epoch) with its offset, to the second:
    ``2026-06-01T06:00:03+02:00``."""
    moment = datetime.now() if at is None else datetime.fromtimestamp(at)
    return moment.astimezone().isoformat(timespec="seconds")


def kept_text(out_path: str | Path) -> str:
    """What a failed report left at its file: the previous report (named by its date), or none."""
    p = Path(out_path)
    try:
        if p.is_file() and not p.is_symlink():
            day = datetime.fromtimestamp(p.stat().st_mtime).astimezone().strftime("%Y-%m-%d")
            return f"kept the previous report of {day}"
    except OSError:
        pass
    return "no previous report"


def _plain(v: Any) -> Any:
    """A headline value as JSON: numbers as numbers (NaN as null), an Excel error as its code."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):  # an ExcelError is its code ("#DIV/0!")
        return str(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else None


def record(result: Any, headline_text: str, headline_values: dict[str, Any], time: str | None = None) -> dict:
    """The fields of one report's line (the text and the JSON line alike)."""
    task = result.task
    seg = None if task.segment is None else {"column": task.segment[0], "value": task.segment[1]}
    path = result.path if result.ok and result.path else task.out_path
    rec: dict[str, Any] = {
        "time": time or now(getattr(result, "finished", None)),  # when the report was done
        "report": task.template if task.compare is None else f"compare by {task.compare}",
        "segment": seg,
        "period": result.period or task.period or "latest",
        "status": "ok" if result.ok else "failed",
        "seconds": round(result.seconds, 1),
        "file": os.path.abspath(path),
        "headline": headline_text,
        "values": {k: _plain(v) for k, v in headline_values.items()},
        "warnings": list(result.warnings),
    }
    if result.ok and task.compare is None and getattr(result, "notes", None):  # the large-data layout, and why
        rec["notes"] = list(result.notes)
    if not result.ok:
        rec["error"] = result.error or ""
        rec["kept"] = kept_text(task.out_path)
    return rec


def totals(results: list[Any], wall_seconds: float, out_dir: str | Path, time: str | None = None) -> dict:
    """The last line: how many reports, ok and failed, the warnings and the wall time of the run."""
    failed = sum(not r.ok for r in results)
    return {"time": time or now(), "event": "totals", "reports": len(results), "ok": len(results) - failed,
            "failed": failed, "warnings": sum(len(r.warnings) for r in results),
            "wall_seconds": round(wall_seconds, 1), "out": os.path.abspath(out_dir)}


_BARE = re.compile(r"[^\s\"=\\]+")


def _value(v: Any) -> str:
    """A logfmt value: bare when it has no space, quote, ``=`` or backslash, else in double quotes;
    control and bidi characters escaped (a log shows the data, never obeys it)."""
    text = terminal_safe("" if v is None else str(v))
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_line(rec: dict) -> str:
    """``2026-06-01T06:00:03+02:00 report=saas_dashboard segment=region=Europe period=2026-05 status=ok
    seconds=1.2 file=/srv/reports/saas_dashboard__region-Europe.xlsx headline="MRR 265,093, …"``"""
    if rec.get("event") == "totals":
        keys = ("reports", "ok", "failed", "warnings", "wall_seconds", "out")
        return f"{rec['time']} totals " + " ".join(f"{k}={_value(rec[k])}" for k in keys)
    seg = rec["segment"]
    seg_text = "-" if seg is None else f"{seg['column']}={'(blank)' if seg['value'] is None else seg['value']}"
    parts = [("report", rec["report"]), ("segment", seg_text), ("period", rec["period"]),
             ("status", rec["status"]), ("seconds", f"{rec['seconds']:.1f}"), ("file", rec["file"])]
    if rec["status"] == "ok":
        parts.append(("headline", rec["headline"]))
        if rec["warnings"]:
            parts.append(("warnings", len(rec["warnings"])))
    else:
        parts.append(("kept", rec["kept"]))
    line = f"{rec['time']} " + " ".join(f"{k}={_value(v)}" for k, v in parts)
    if rec["status"] != "ok":  # the reason last, as written (quotes and all), on the same line
        line += " error: " + terminal_safe(error_lines(rec["error"])[0])
    return line


def error_lines(error: str) -> tuple[str, list[str]]:
    """A failed report's reason as one line, and what follows it in a log: a data error's lines are
    joined (``1 bad cell(s) in x.csv: x.csv row 4, …``); a bug's traceback follows on lines of its own."""
    lines = [x.strip() for x in (error or "").splitlines() if x.strip()]
    if not lines:
        return "", []
    if lines[0].startswith("unexpected ") and len(lines) > 1:
        return lines[0], ["  " + x for x in (error or "").splitlines()[1:] if x.strip()]
    return " ".join(lines), []


def json_line(rec: dict) -> str:
    """One JSON object (ASCII: no byte of the data can steer a terminal), ``event`` first."""
    return json.dumps({"event": rec.get("event", "report"), **rec}, ensure_ascii=True)
