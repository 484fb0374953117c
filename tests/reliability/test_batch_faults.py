"""`kpi build` under faults: SIGKILL at random moments, hostile data files,
formula injection, hostile segment names, and a template with an unknown KPI.

The command runs as users run it (the `kpi` console script in a subprocess)
on copies of the bundled sample data. Afterwards the output folder is
inspected with openpyxl: every ``.xlsx`` there must open and be a complete
report (the same content as a complete build, old or new), nothing may be
written outside the output folder, and a re-run completes the job.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from reliability_figures import PROFILE, count
from reliability_server import kpi_command

from workbook_templates.batch import SAMPLE_DIR

#: kill seeds of the SIGKILL test (KPI_KILL_SEEDS to change)
KILL_SEEDS = int(os.environ.get("KPI_KILL_SEEDS", "4"))
INJECTION = ['=HYPERLINK("http://evil.example/x","click me")', "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3",
             "=1+1", "=cmd|'/c calc'!A1", "\t=1+1", "\r=1+1", "＝1+1", "-", "+", "=", "@"]


def build(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["COLUMNS"] = "250"  # the summary table wraps at the terminal width; keep messages on one line
    return subprocess.run([*kpi_command(), "build", *args, "--no-progress"], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def data_dir(tmp: Path, *datasets: str) -> Path:
    d = tmp / "data"
    d.mkdir()
    for name in datasets:
        shutil.copy(SAMPLE_DIR / f"{name}.csv", d / f"{name}.csv")
    return d


def rows_of(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def fingerprint(path: Path) -> str:
    """The content of a report (every sheet, every cell's value and formula), not its bytes."""
    h = hashlib.sha256()
    wb = openpyxl.load_workbook(path)  # raises on a truncated or corrupt file
    try:
        for ws in wb.worksheets:
            h.update(ws.title.encode())
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if v is not None:  # an array formula by its text (its repr names its memory address)
                        v = (v.ref, v.text) if isinstance(v, ArrayFormula) else v
                        h.update(f"{c.coordinate}={v!r};".encode())
    finally:
        wb.close()
    return h.hexdigest()


def reports_in(folder: Path) -> dict[str, str]:
    return {p.name: fingerprint(p) for p in sorted(folder.glob("*.xlsx"))}


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ------------------------------------------------------------------ SIGKILL
def test_a_run_killed_at_random_moments_never_leaves_a_corrupt_report(tmp_path):
    old_data = data_dir(tmp_path, "marketing")
    new_data = tmp_path / "data_new"
    new_data.mkdir()
    rows = rows_of(old_data / "marketing.csv")
    spend = rows[0].index("spend")
    for r in rows[1:]:
        r[spend] = f"{float(r[spend]) * 1.5:.2f}"  # the new reports differ from the old ones
    write_rows(new_data / "marketing.csv", rows)
    args = ["marketing_funnel", "--by", "region", "--period", "latest"]

    pristine = tmp_path / "old_reports"
    first = build(*args, "--data", str(old_data), "--out", str(pristine))
    assert first.returncode == 0, first.stdout + first.stderr
    old = reports_in(pristine)
    assert len(old) == 4
    ref = tmp_path / "reference"
    t0 = time.perf_counter()
    assert build(*args, "--data", str(new_data), "--out", str(ref)).returncode == 0
    duration = time.perf_counter() - t0
    new = reports_in(ref)
    assert set(new) == set(old) and all(new[n] != old[n] for n in new)

    outcomes = []
    out = tmp_path / "out"
    for seed in range(KILL_SEEDS):
        rng = random.Random(seed)
        jobs = "2" if seed % 2 else "1"
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(pristine, out)  # the previous run's reports are in place
        moment = duration * (seed + rng.random()) / KILL_SEEDS  # spread over the whole run
        proc = subprocess.Popen([*kpi_command(), "build", *args, "--data", str(new_data), "--out", str(out),
                                 "--jobs", jobs, "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(moment)
        with_workers = proc.poll() is None
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes: ours, by process group
        except ProcessLookupError:  # it had already finished
            pass
        proc.wait(timeout=30)
        count("faults injected", detail="SIGKILL during kpi build")
        got = reports_in(out)  # every .xlsx opens (openpyxl) …
        assert set(got) == set(old), f"seed {seed}: files {sorted(got)}"
        for name, fp in got.items():  # … and is a complete report, the old one or the new one
            assert fp in (old[name], new[name]), f"seed {seed}: {name} is neither the old nor the new report"
        stray = [p.name for p in out.iterdir() if p.name not in got]
        assert all(p.startswith(".") and p.endswith(".kpi-tmp") for p in stray), stray
        outcomes.append((seed, jobs, round(moment, 2), with_workers, sum(got[n] == new[n] for n in got), len(stray)))
    rerun = build(*args, "--data", str(new_data), "--out", str(out))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert reports_in(out) == new  # re-running completes the job
    print("seed, jobs, kill after s, still running, reports already new, temp files left:", outcomes)


def test_killing_mid_write_leaves_no_partial_file_under_the_report_name(tmp_path):
    """The write path itself: kill the process while it builds and writes the report, at
    moments spread over the write (a kill after the write finished leaves the same content:
    the same data, the same report)."""
    d = data_dir(tmp_path, "marketing")
    out = tmp_path / "out"
    assert build("marketing_funnel", "--data", str(d), "--out", str(out)).returncode == 0
    before = reports_in(out)
    code = (
        "import os, signal, sys, threading, time\n"
        "from pathlib import Path\n"
        "from workbook_templates import batch\n"
        "from workbook_templates.reports import get_report\n"
        "from workbook_templates.context import scope\n"
        "delay = float(sys.argv[3])\n"
        "tables, _ = batch.load_cached(sys.argv[1])\n"
        "spec = get_report('marketing_funnel')\n"
        "data = scope(tables, spec.datasets, None, None, sys.argv[1])  # the source label kpi build uses\n"
        "threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()\n"
        "batch.atomic_build(spec, data, Path(sys.argv[2]) / 'marketing_funnel.xlsx')\n"
        "time.sleep(60)\n"
    )
    for i in range(6):
        delay = 0.05 + i * 0.25
        proc = subprocess.run([sys.executable, "-c", code, str(d), str(out), str(delay)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        count("faults injected", detail="SIGKILL inside the report writer")
        assert reports_in(out) == before


# ------------------------------------------------------------------ hostile data files
def _one_cell(index: int, column: str, value: str) -> Callable[[Path], str]:
    """A fault in one cell: line `index` of nps_responses.csv (0 is the header) gets `value` in `column`;
    the message names it as the file's row index + 1."""

    def fault(d: Path) -> str:
        rows = rows_of(d / "nps_responses.csv")
        rows[index][rows[0].index(column)] = value
        write_rows(d / "nps_responses.csv", rows)
        return f"nps_responses.csv row {index + 1}, column {column}"

    return fault


def _missing_column(d: Path) -> str:
    rows = rows_of(d / "nps_responses.csv")
    i = rows[0].index("score")
    write_rows(d / "nps_responses.csv", [r[:i] + r[i + 1:] for r in rows])
    return "score"


def _empty(d: Path) -> str:
    (d / "nps_responses.csv").write_bytes(b"")
    return "nps_responses.csv"


def _header_only(d: Path) -> str:
    """Valid but empty: the report is built, the NPS cells show #DIV/0! and the summary says why."""
    rows = rows_of(d / "nps_responses.csv")
    write_rows(d / "nps_responses.csv", rows[:1])
    return "warning customer_experience: KPI_NPS: argument 'scores': has no scores"


def _binary(d: Path) -> str:
    (d / "nps_responses.csv").write_bytes(bytes(random.Random(3).randrange(256) for _ in range(20_000)))
    return "nps_responses.csv"


def _utf16(d: Path) -> str:  # with a byte-order mark UTF-16 is read (Excel's "Unicode text"); without, refused
    text = (d / "nps_responses.csv").read_text(encoding="utf-8")
    (d / "nps_responses.csv").write_bytes(text.encode("utf-16-le"))
    return "nps_responses.csv"


def _ragged(d: Path) -> str:
    text = (d / "nps_responses.csv").read_text(encoding="utf-8").splitlines()
    text[10] = text[10] + ",extra,cells"
    (d / "nps_responses.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    return "nps_responses.csv"


def _corrupt_xlsx(d: Path) -> str:
    (d / "nps_responses.csv").unlink()
    (d / "nps_responses.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook" * 100)
    return "nps_responses.xlsx"


def _truncated_xlsx(d: Path) -> str:
    import pandas as pd

    pd.read_csv(d / "nps_responses.csv", dtype=str).to_excel(d / "full.xlsx", index=False)
    data = (d / "full.xlsx").read_bytes()
    (d / "full.xlsx").unlink()
    (d / "nps_responses.csv").unlink()
    (d / "nps_responses.xlsx").write_bytes(data[: len(data) // 2])
    return "nps_responses.xlsx"


def _zip_bomb_like_xlsx(d: Path) -> str:
    """A valid zip whose sheet is not a worksheet at all."""
    (d / "nps_responses.csv").unlink()
    with zipfile.ZipFile(d / "nps_responses.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook>" + "<x/>" * 1000 + "</workbook>")
    return "nps_responses.xlsx"


def _corrupt_parquet(d: Path) -> str:
    (d / "nps_responses.csv").unlink()
    (d / "nps_responses.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 500 + b"PAR1")
    return "nps_responses.parquet"


def _wrong_types_parquet(d: Path) -> str:
    import pandas as pd

    df = pd.read_csv(d / "nps_responses.csv", dtype=str)
    df.loc[5, "score"] = "not a score"
    (d / "nps_responses.csv").unlink()
    df.to_parquet(d / "nps_responses.parquet")
    return "nps_responses.parquet row 7, column score"


def _too_many_rows(d: Path) -> str:
    rows = rows_of(d / "nps_responses.csv")
    line = ",".join(rows[1]) + "\n"
    with open(d / "nps_responses.csv", "w", encoding="utf-8") as fh:
        fh.write(",".join(rows[0]) + "\n")
        fh.writelines(line * 100_000 for _ in range(11))
    return "nps_responses.csv"


def _two_files(d: Path) -> str:
    shutil.copy(d / "nps_responses.csv", d / "NPS_Responses.CSV")
    return "nps_responses"


def _first_row_too_long(d: Path) -> str:
    """pandas took the first column as the index when the first data row had one field more,
    shifting every value one column left."""
    text = (d / "nps_responses.csv").read_text(encoding="utf-8").splitlines()
    text[1] = text[1] + ",7"
    (d / "nps_responses.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    return "nps_responses.csv row 2"


def _column_twice(d: Path) -> str:
    rows = rows_of(d / "nps_responses.csv")
    rows[0][-1] = rows[0][0]
    write_rows(d / "nps_responses.csv", rows)
    return "nps_responses.csv"


def _too_wide_header(d: Path) -> str:
    rows = rows_of(d / "nps_responses.csv")
    rows[0] += [f"extra{i}" for i in range(16_400)]
    write_rows(d / "nps_responses.csv", rows[:3])
    return "nps_responses.csv"


def _doctored_xlsx(d: Path, cell: str) -> None:
    """The data as an .xlsx with one more cell written into the sheet's XML at ``cell``."""
    import re

    import pandas as pd

    pd.read_csv(d / "nps_responses.csv", dtype=str).to_excel(d / "plain.xlsx", index=False)
    (d / "nps_responses.csv").unlink()
    row = re.sub(r"[A-Z]+", "", cell)
    with zipfile.ZipFile(d / "plain.xlsx") as src, zipfile.ZipFile(d / "nps_responses.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                extra = f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", extra.encode() + b"</sheetData>")
            dst.writestr(item, data)
    (d / "plain.xlsx").unlink()


def _xlsx_row_past_the_grid(d: Path) -> str:
    _doctored_xlsx(d, "A30000000")
    return "nps_responses.xlsx"


def _xlsx_cell_past_xfd(d: Path) -> str:
    _doctored_xlsx(d, "XFE2000")
    return "nps_responses.xlsx"


FAULTS = {
    "a text cell where a number is needed": _one_cell(41, "score", "eleven"),
    "an impossible date": _one_cell(7, "date", "2026-02-30"),
    "a score outside 0-10": _one_cell(3, "score", "11"),
    "a missing column": _missing_column,
    "an empty file": _empty,
    "a header and no rows": _header_only,
    "random bytes": _binary,
    "UTF-16 text without a byte-order mark": _utf16,
    "a row with extra cells": _ragged,
    "an .xlsx that is not a workbook": _corrupt_xlsx,
    "a truncated .xlsx": _truncated_xlsx,
    "a zip that is not a workbook": _zip_bomb_like_xlsx,
    "a corrupt .parquet": _corrupt_parquet,
    "text in a number column of a .parquet": _wrong_types_parquet,
    "a cell longer than Excel allows": _one_cell(2, "comment", "x" * 40_000),
    "more rows than a worksheet holds": _too_many_rows,
    "two files for one data set": _two_files,
    "a first data row with one field too many": _first_row_too_long,
    "a column named twice": _column_twice,
    "a header wider than a worksheet": _too_wide_header,
    "an .xlsx row past the last row of a worksheet": _xlsx_row_past_the_grid,
    "an .xlsx cell past column XFD": _xlsx_cell_past_xfd,
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_bad_input_files_get_a_clear_error_and_no_report(tmp_path, fault):
    d = data_dir(tmp_path, "nps_responses", "csat_responses", "tickets")
    where = FAULTS[fault](d)
    out = tmp_path / "out"
    r = build("customer_experience", "--data", str(d), "--out", str(out))
    count("faults injected", detail="hostile data files")
    text = " ".join((r.stdout + r.stderr).split())
    assert where in text, f"the message does not say {where!r}:\n{text[-2000:]}"
    assert "Traceback" not in text and "unexpected" not in text, text[-3000:]
    if where.startswith("warning"):  # valid but empty data: a report with #DIV/0! cells and the reason
        assert r.returncode == 0, text[-2000:]
        fingerprint(out / "customer_experience.xlsx")
        return
    assert r.returncode in (1, 2), text[-2000:]
    assert not list(out.glob("*.xlsx")) if out.exists() else True


# ------------------------------------------------------------------ data-file fuzz
#: cases of the data-file fuzz (KPI_BUILD_FUZZ_CASES to change; the deep fuzz profile runs 200)
BUILD_FUZZ_CASES = int(os.environ.get("KPI_BUILD_FUZZ_CASES", "200" if PROFILE == "deep" else "16"))
BUILD_DATASETS = {"customer_experience": ("nps_responses", "csat_responses", "tickets"),
                  "marketing_funnel": ("marketing",),
                  "saas_dashboard": ("subscriptions", "customers", "marketing", "costs")}
CELL_JUNK = ["", " ", "abc", "1e308", "-1e308", "5e-324", "inf", "-inf", "NaN", "N/A", "NULL", "#N/A", "#DIV/0!",
             "=1+1", "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3", "2026-02-30", "2026-13-01", "03/15/2026",
             "1,234.5", "-5", "0", "999999999999999999999", "1.5", "TRUE", "日本", "😀", "\u202e", "a\nb", '"',
             "2026-03", "2026", "1900-01-01", "9999-12-31", "2026-03-15T25:00", "-0", "1e-320", "  7  "]
PLAUSIBLE = {"number": ["0", "1e308", "1e300", "1e15", "999999999999999", "1e-300", "0.0001", "12"],
             "integer": ["0", "1", "999999999999999", "12"],
             "text": ["=1+1", "@SUM(1,2)", "日本", "😀", "a" * 5000, "-", "+", " "],
             "date": ["1900-03-01", "2099-12-31", "2026-03-01", "1970-01-01"],
             "datetime": ["1900-03-01T00:00", "2099-12-31T23:59", "2026-03-01T09:30"],
             "month": ["1900-03", "2099-12", "2026-03"], "id": ["x", "0", "1e308", "日本", " "]}


def test_fuzzed_data_files_build_a_report_or_fail_cleanly(tmp_path):
    """Random cells of the data files replaced by junk or by odd but valid values; each
    run builds its report in process. No case may end in an unexpected error: either the
    report is written (and opens, complete), or the run fails naming the file."""
    from workbook_templates.batch import Task, run_task
    from workbook_templates.schema import DATASETS

    outcomes = {"built": 0, "refused": 0}
    for case in range(BUILD_FUZZ_CASES):
        rng = random.Random(1000 + case)
        template = rng.choice(sorted(BUILD_DATASETS))
        d = tmp_path / f"case{case}"
        d.mkdir()
        for name in BUILD_DATASETS[template]:
            shutil.copy(SAMPLE_DIR / f"{name}.csv", d / f"{name}.csv")
        name = rng.choice(BUILD_DATASETS[template])
        rows = rows_of(d / f"{name}.csv")
        changes = []
        for _ in range(rng.randint(1, 4)):
            r = len(rows) - 1 - rng.randrange(min(60, len(rows) - 1)) if rng.random() < 0.6 \
                else rng.randrange(1, len(rows))  # mostly the latest rows: inside the report's window
            c = rng.randrange(len(rows[0]))
            kind = DATASETS[name].column(rows[0][c]).type
            rows[r][c] = rng.choice(PLAUSIBLE[kind] if rng.random() < 0.6 else CELL_JUNK)
            changes.append(f"{name}.csv row {r + 1} {rows[0][c]}={rows[r][c][:20]!r}")
        write_rows(d / f"{name}.csv", rows)
        out = d / "out" / f"{template}.xlsx"
        res = run_task(Task(template, str(d), str(out)))
        count("faults injected", detail="fuzzed data files")
        assert res.ok or not (res.error or "").startswith("unexpected"), f"{changes}: {res.error}"
        if res.ok:
            outcomes["built"] += 1
            fingerprint(out)
        else:
            outcomes["refused"] += 1
            assert ".csv" in res.error, f"{changes}: {res.error}"
            assert not out.exists()
        shutil.rmtree(d)
    print("data-file fuzz:", outcomes)


# ------------------------------------------------------------------ formula injection
def test_cell_text_that_looks_like_a_formula_is_stored_as_text(tmp_path):
    d = data_dir(tmp_path, "nps_responses", "csat_responses", "tickets", "marketing")
    rows = rows_of(d / "nps_responses.csv")
    comment = rows[0].index("comment")
    for i, text in enumerate(INJECTION):
        rows[-1 - i][comment] = text  # the latest responses: inside the report's window
    write_rows(d / "nps_responses.csv", rows)
    rows = rows_of(d / "marketing.csv")
    channel = rows[0].index("channel")
    for r in rows[1:]:
        if r[channel] == "Paid search":
            r[channel] = INJECTION[0]
        elif r[channel] == "Email":
            r[channel] = INJECTION[1]
    write_rows(d / "marketing.csv", rows)
    out = tmp_path / "out"
    for flavour in ("classic", "officejs", "values"):
        r = build("customer_experience", "marketing_funnel", "--data", str(d), "--out", str(out / flavour),
                  "--formulas", flavour)
        assert r.returncode == 0, r.stdout + r.stderr
        seen = set()
        for path in (out / flavour).glob("*.xlsx"):
            wb = openpyxl.load_workbook(path)
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        if isinstance(c.value, str) and c.value in INJECTION:
                            assert c.data_type == "s", f"{path.name}!{ws.title}!{c.coordinate} is {c.data_type}"
                            seen.add(c.value)
                        if c.data_type == "f":
                            assert "HYPERLINK" not in c.value and "cmd|" not in c.value and "SUM(1,2)" not in c.value, \
                                f"{path.name}!{ws.title}!{c.coordinate}: {c.value}"
            wb.close()
        assert {INJECTION[0], INJECTION[1]} <= seen, seen
        assert set(INJECTION[2:6]) <= seen, seen
        count("faults injected", len(INJECTION), detail="formula-like cell text")


# ------------------------------------------------------------------ hostile segment names
HOSTILE_SEGMENTS = ["../../x", "..", ".", "CON", "NUL.txt", "con.xlsx", "COM1", "LPT9", "a" * 300, "a/b", "a\\b",
                    "日本語の地域", "😀 region", " trailing ", "x:y", "<>|?*\"", "/etc/passwd", "C:\\Windows",
                    "~", "-rf", "=HYPERLINK(\"http://evil.example\")", "\u202ertl", "a\tb",
                    # one file on Windows / macOS (case, Unicode form)
                    "Europe", "EUROPE", "europe", "Z\u00fcrich", "Zu\u0308rich", "STRASSE", "stra\u00dfe"]


def test_segment_names_make_safe_file_names_inside_the_output_folder(tmp_path):
    d = data_dir(tmp_path, "marketing")
    rows = rows_of(d / "marketing.csv")
    region = rows[0].index("region")
    regions = sorted({r[region] for r in rows[1:]})
    mapping = {}
    for i, r in enumerate(rows[1:]):
        # every hostile name gets rows (cycled over the original regions' rows)
        mapping.setdefault(r[region], HOSTILE_SEGMENTS[len(mapping) % len(HOSTILE_SEGMENTS)])
        r[region] = HOSTILE_SEGMENTS[i % len(HOSTILE_SEGMENTS)]
    write_rows(d / "marketing.csv", rows)
    work = tmp_path / "work"
    out = work / "out"
    (work / "sibling").mkdir(parents=True)
    before = tree(tmp_path)
    r = build("marketing_funnel", "--by", "region", "--data", str(d), "--out", str(out))
    count("faults injected", len(HOSTILE_SEGMENTS), detail="hostile segment names")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    after = tree(tmp_path)
    new = after - before
    assert all(p.startswith(os.path.join("work", "out")) for p in new), sorted(new)
    files = sorted(out.iterdir())
    assert len(files) == len(set(HOSTILE_SEGMENTS)), [f.name for f in files]
    folded = {unicodedata.normalize("NFC", unicodedata.normalize("NFC", f.name).casefold()) for f in files}
    assert len(folded) == len(files), [f.name for f in files]  # distinct where case and Unicode form are ignored
    for f in files:
        name = f.name
        assert f.parent == out and f.is_file()
        assert name.endswith(".xlsx") and not name.startswith(".")
        assert len(name.encode("utf-8")) <= 255
        assert not any(ch in name for ch in '/\\:<>|?*"\t\n\r\u202e')
        stem = name.split(".")[0].split("__")[-1].upper()
        assert stem not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
        fingerprint(f)  # opens: a complete workbook
    assert regions  # the original data had regions to replace


# ------------------------------------------------------------------ templates
def test_a_template_with_an_unknown_kpi_is_refused_before_anything_is_written(tmp_path):
    """A report spec whose formulas name a function the registry does not have."""
    code = (
        "import dataclasses, sys\n"
        "from workbook_templates import reports\n"
        "from workbook_templates.formulas import KPI, Ref\n"
        "from workbook_templates.spec import Item, ItemList\n"
        "good = reports.REPORTS['marketing_funnel']\n"
        "blocks = list(good.blocks)\n"
        "i = next(i for i, b in enumerate(blocks) if isinstance(b, ItemList))\n"
        "lst = blocks[i]\n"
        "bad_item = Item('bogus', 'Bogus', KPI('KPI_NO_SUCH_FUNCTION', Ref(lst.items[0].name)))\n"
        "blocks[i] = dataclasses.replace(lst, items=lst.items + (bad_item,))\n"
        "reports.REPORTS['bad_report'] = dataclasses.replace(good, key='bad_report', blocks=tuple(blocks))\n"
        "from kpi_cli.main import app\n"
        "sys.argv = ['kpi', 'build', 'marketing_funnel', 'bad_report', '--data', sys.argv[1], '--out', sys.argv[2],\n"
        "            '--no-progress']\n"
        "app()\n"
    )
    d = data_dir(tmp_path, "marketing")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", code, str(d), str(out)], capture_output=True,
                       text=True, timeout=300, check=False)
    count("faults injected", detail="template with an unknown KPI")
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, text[-2000:]
    assert "KPI_NO_SUCH_FUNCTION" in text and "bad_report" in text, text[-2000:]
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
