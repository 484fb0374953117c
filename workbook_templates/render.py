"""Open reports in LibreOffice (headless): convert them, render their report pages to PDF and PNG.

Used by the tests (what a user without the add-in sees) and to refresh the
screenshots in ``docs/``: ``python -m workbook_templates.render [docs/]``.
Each call runs ``soffice`` with a private, throw-away profile so runs never
share state; ``recalc=True`` makes that profile recalculate every formula on
load ("Recalculation on file load: always") instead of the default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["CSV_ALL_SHEETS", "convert", "render_pdf", "render_png", "soffice"]

#: CSV export of every sheet, cell contents as shown (formatted), UTF-8
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(files: list[Path], target: str, out_dir: Path, *, recalc: bool = False, timeout: float = 600) -> None:
    """``soffice --headless --convert-to TARGET`` for several files in one run."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kpi-lo-profile-") as prof:
        if recalc:
            (Path(prof) / "user").mkdir(parents=True)
            (Path(prof) / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
        cmd = [exe, f"-env:UserInstallation={Path(prof).as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(out_dir), *map(str, files)]
        env = dict(os.environ, SAL_USE_VCLPLUGIN="svp")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"soffice failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")


def render_pdf(xlsx: Path, out_dir: Path, pages: str = "1") -> Path:
    """PDF of the first page(s) — the report sheet — of a workbook."""
    convert([xlsx], 'pdf:calc_pdf_Export:{"PageRange":{"type":"string","value":"' + pages + '"}}', out_dir)
    pdf = out_dir / (Path(xlsx).stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice wrote no PDF for {xlsx}")
    return pdf


def render_png(pdf: Path, out_png: Path, dpi: int = 110, page: int = 1) -> Path:
    """One page of a PDF as PNG (poppler's pdftoppm)."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("pdftoppm (poppler-utils) is not installed")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    stem = out_png.with_suffix("")
    subprocess.run([exe, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(stem)], check=True, capture_output=True, timeout=120)
    return out_png


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - docs tooling
    """Build the demo reports (and the regions side by side) and write docs/<report>.png screenshots of their
    first page."""
    from .batch import SAMPLE_DIR, plan, run_task
    from .make_templates import SOURCE_LABEL
    from .reports import REPORTS

    argv = sys.argv[1:] if argv is None else argv
    docs = Path(argv[0]) if argv else Path("docs")
    with tempfile.TemporaryDirectory() as tmp:
        for t in plan(list(REPORTS), SAMPLE_DIR, Path(tmp), source=SOURCE_LABEL):
            r = run_task(t)
            if not r.ok or r.path is None:
                raise SystemExit(r.error)
            pdf = render_pdf(Path(r.path), Path(tmp) / "pdf", pages="1-3")
            print(render_png(pdf, docs / f"report_{t.template}.png"))
            if t.template == "retention_cohorts":  # the cohort heat map is the second sheet, the sBG fit the third
                print(render_png(pdf, docs / "report_retention_cohorts_heatmap.png", page=2))
                print(render_png(pdf, docs / "report_retention_cohorts_projections.png", page=3))
        for t in plan([], SAMPLE_DIR, Path(tmp), source=SOURCE_LABEL, compare="region"):  # segments side by side
            r = run_task(t)
            if not r.ok or r.path is None:
                raise SystemExit(r.error)
            print(render_png(render_pdf(Path(r.path), Path(tmp) / "pdf"), docs / "report_compare_region.png"))


if __name__ == "__main__":  # pragma: no cover
    main()
