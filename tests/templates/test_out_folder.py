"""`kpi build` and the output folder: links named like a report, folders that cannot take
reports, and writes the file system refuses (a full disk, a read-only folder)."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter.exceptions
from report_helpers import small_sample
from typer.testing import CliRunner

from kpi_cli.main import app
from workbook_templates import builder
from workbook_templates.batch import PlanError, check_out_dir

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The sample data cut to its first 30 customers (a report builds in about a second)."""
    return small_sample(tmp_path_factory.mktemp("small") / "data", 30)


def build(*args: str):
    return CliRunner().invoke(app, ["build", *args, "--no-progress"])


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_symlink_named_like_a_report_fails_that_report_only(small, tmp_path):
    """Regression: one symlink in --out named like a report aborted the whole run (exit 2,
    nothing built). Now only that report fails, with the reason; the link and its target stay."""
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("not a report")
    (out / "marketing_funnel.xlsx").symlink_to(target)
    r = build("marketing_funnel", "customer_experience", "--data", str(small), "--out", str(out))
    assert r.exit_code == 1, r.output
    assert "marketing_funnel.xlsx in the output folder is a symbolic link" in r.output
    assert "Traceback" not in r.output and "unexpected" not in r.output
    assert (out / "customer_experience.xlsx").is_file()
    assert (out / "marketing_funnel.xlsx").is_symlink() and target.read_text() == "not a report"
    assert " totals reports=2 ok=1 failed=1 " in r.output


def test_a_folder_named_like_a_report_fails_that_report_only(small, tmp_path):
    (tmp_path / "marketing_funnel.xlsx").mkdir()
    r = build("marketing_funnel", "customer_experience", "--data", str(small), "--out", str(tmp_path))
    assert r.exit_code == 1, r.output
    assert "marketing_funnel.xlsx in the output folder is a folder" in r.output
    assert (tmp_path / "customer_experience.xlsx").is_file()


@pytest.mark.parametrize("kind", ["file", "proc", "under a file"])
def test_an_unusable_out_folder_is_a_usage_error_before_any_work(small, tmp_path, kind, monkeypatch):
    """Regression: a file as --out, or /proc/nope, gave 'unexpected …' with a traceback after the
    data was read. Now: one line naming the folder and the reason, exit 2, no data read."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = {"file": a_file, "proc": Path("/proc/nope"), "under a file": a_file / "sub"}[kind]
    read = []
    monkeypatch.setattr("workbook_templates.batch.load_cached", lambda *a: read.append(a))
    r = build("marketing_funnel", "--data", str(small), "--out", str(out))
    assert r.exit_code == 2, r.output
    assert str(out) in r.output and "Traceback" not in r.output and "unexpected" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert not read


@pytest.mark.parametrize("kind", ["file", "proc", "under a file"])
def test_demo_refuses_an_unusable_out_folder_before_any_work(tmp_path, kind, monkeypatch):
    """Regression: `kpi demo --out /proc/nope` (or a file) printed a traceback and exited 1.
    Now, as for `kpi build`: one line naming the folder and the reason, exit 2, nothing read."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = {"file": a_file, "proc": Path("/proc/nope"), "under a file": a_file / "sub"}[kind]
    read = []
    monkeypatch.setattr("workbook_templates.batch.load_cached", lambda *a: read.append(a))
    r = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    reason = {"file": "is a file, not a folder", "proc": "No such file or directory",
              "under a file": "Not a directory"}[kind]
    assert lines[0] == f"error: --out {str(out)!r} " + (reason if kind == "file" else
                                                        f"cannot be used for reports: {reason}") + \
        ("; choose a folder for the reports" if kind == "file" else ""), r.output
    assert not read and a_file.read_text() == "x"


def test_check_out_dir_names_the_systems_reason(tmp_path):
    with pytest.raises(PlanError, match=r"'/proc/nope' cannot be used for reports: No such file or directory"):
        check_out_dir(Path("/proc/nope"))
    check_out_dir(tmp_path / "new" / "folder")  # created
    assert (tmp_path / "new" / "folder").is_dir() and not list((tmp_path / "new" / "folder").iterdir())


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
@pytest.mark.parametrize("wrapped", [False, True], ids=["OSError", "XlsxWriter FileCreateError"])
def test_a_write_the_file_system_refuses_fails_that_report_in_one_line(small, tmp_path, monkeypatch, code,
                                                                          wrapped):
    """Regression: a full disk (XlsxWriter's FileCreateError [Errno 28]) or a read-only folder
    ([Errno 30]) showed as 'unexpected …' with a traceback. Now one line naming the file and the
    system's reason, exit 1; the previous report is unchanged and no temporary file is left."""
    out = tmp_path / "out"
    assert build("marketing_funnel", "--data", str(small), "--out", str(out)).exit_code == 0
    before = _digest(out / "marketing_funnel.xlsx")

    def refuse(self):
        err = OSError(code, os.strerror(code), str(self.path))
        raise (xlsxwriter.exceptions.FileCreateError(err) if wrapped else err)

    monkeypatch.setattr(builder.Writer, "write", refuse)
    r = build("marketing_funnel", "--data", str(small), "--out", str(out))
    assert r.exit_code == 1, r.output
    reason = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}[code]
    line = next(x for x in r.output.splitlines() if " status=failed " in x)
    assert f"marketing_funnel.xlsx: {reason}" in line and 'kept="kept the previous report of ' in line
    assert "Traceback" not in r.output and "unexpected" not in r.output
    assert _digest(out / "marketing_funnel.xlsx") == before
    assert sorted(p.name for p in out.iterdir()) == ["marketing_funnel.xlsx"]


def _mount_tmpfs(where: Path, *options: str) -> bool:
    where.mkdir()
    opts = ",".join(("size=2m", *options))
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                          check=False, capture_output=True).returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


@pytest.mark.skipif(sys.platform != "linux", reason="tmpfs mounts")
def test_a_real_read_only_folder_is_refused_before_any_work(small, tmp_path):
    ro = tmp_path / "ro"
    if not _mount_tmpfs(ro, "ro"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        r = build("marketing_funnel", "--data", str(small), "--out", str(ro))
        assert r.exit_code == 2, r.output
        assert "cannot be used for reports: Read-only file system" in r.output and "Traceback" not in r.output
    finally:
        _umount(ro)


@pytest.mark.skipif(sys.platform != "linux", reason="tmpfs mounts")
def test_a_real_full_disk_fails_the_report_and_leaves_no_temporary_file(small, tmp_path):
    full = tmp_path / "full"
    if not _mount_tmpfs(full):
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        # fill the 2 MB file system but for a little room: the probe fits, a report does not
        (full / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - 16 * 1024))
        r = build("marketing_funnel", "--data", str(small), "--out", str(full))
        assert r.exit_code == 1, r.output
        assert "No space left on device" in r.output and "Traceback" not in r.output, r.output
        assert sorted(p.name for p in full.iterdir()) == ["filler"]
    finally:
        _umount(full)
