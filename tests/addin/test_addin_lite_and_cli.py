"""`kpi lite` (files for xlwings Lite) and the add-in commands' command-line behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from addin_helpers import kpi_command, server_env
from typer.testing import CliRunner

import kpi_functions as k
from addin import lite
from kpi_cli.main import app

runner = CliRunner()

# What xlwings Lite does with main.py, in a fresh interpreter: server-mode
# decorators (the same API as Lite), the project NOT importable except from the
# archive embedded in main.py, then the custom-functions metadata and a call.
CHECK = textwrap.dedent(
    r'''
    import asyncio, json, runpy, sys, types
    sys.path = [p for p in sys.path if p not in ("", ".")]
    for name in list(sys.modules):
        if name.split(".")[0] in ("addin", "kpi_functions"):
            del sys.modules[name]

    class Block:  # the project's own copy must not be used, nor anything Pyodide lacks
        blocked = ("kpi_cli", "workbook_templates", "openpyxl", "xlsxwriter", "typer", "rich", "fastapi",
                   "uvicorn", "xlwings_server", "duckdb", "pyarrow")
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ImportError(f"{name} is not available in xlwings Lite")
            return None
    sys.meta_path.insert(0, Block())

    ns = runpy.run_path("main.py", run_name="main")
    main = types.ModuleType("main")
    main.__dict__.update(ns)
    sys.modules["main"] = main
    import kpi_functions, addin.adapters as adapters
    import xlwings.server as server

    meta = server.custom_functions_meta(main)
    call = {"func_name": "KPI_ARPU", "args": [[[100], [""], [200]], [[3]]], "version": "x",
            "client": "Office.js", "runtime": "1.4"}
    result = asyncio.run(server.custom_functions_call(call, main))
    bad = dict(call, args=[[["abc"]], [[3]]])
    error = asyncio.run(server.custom_functions_call(bad, main))
    print(json.dumps({
        "library_file": kpi_functions.__file__,
        "path": adapters.PATH,
        "functions": sorted(f["name"] for f in meta["functions"]),
        "descriptions": {f["name"]: f["description"] for f in meta["functions"]},
        "result": result,
        "error": error,
        "module_of_adapter": main.KPI_ARPU.__module__,
    }))
    '''
)


def test_generated_main_py_imports_in_server_mode_and_exposes_every_function(tmp_path):
    result = runner.invoke(app, ["lite", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "main.py").exists() and (tmp_path / "requirements.txt").exists()
    env = server_env({"XLWINGS_ON_SERVER": "true", "PYTHONPATH": ""})
    run = subprocess.run([sys.executable, "-c", CHECK], check=False, cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(run.stdout.strip().splitlines()[-1])
    assert ".zip" in data["library_file"], "kpi_functions must come from the archive embedded in main.py"
    assert data["path"] == "server"
    assert data["functions"] == sorted(k.REGISTRY)
    assert data["descriptions"] == {s.excel_name: s.description for s in k.REGISTRY.values()}
    assert data["result"] == [[100.0]]
    assert data["error"] == [[{"type": "Error", "errorType": "Value"}]]
    assert data["module_of_adapter"] == "main"


def test_archive_holds_the_library_and_the_adapters_only():
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(lite.build_archive())).namelist()
    root = Path(k.__file__).parent
    lib = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    assert sorted(n.split("/", 1)[1] for n in names if n.startswith("kpi_functions/")) == lib
    assert sorted(n for n in names if n.startswith("addin/")) == ["addin/__init__.py", "addin/adapters.py"]
    assert lite.build_archive() == lite.build_archive()  # deterministic


def test_requirements_are_pyodide_packages_and_xlwings():
    lines = [ln for ln in lite.render_requirements().splitlines() if ln and not ln.startswith("#")]
    assert lines == ["xlwings", "numpy", "pandas", "scipy"]


def test_kpi_lite_refuses_to_overwrite_without_force(tmp_path):
    assert runner.invoke(app, ["lite", "-o", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["lite", "-o", str(tmp_path)])
    assert again.exit_code == 2 and "already exist" in again.output
    assert runner.invoke(app, ["lite", "-o", str(tmp_path), "--force"]).exit_code == 0


def test_every_addin_command_has_help():
    for cmd in ("serve", "lite"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and r.output.strip()
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    for flag in ("--host", "--port", "--certfile", "--keyfile", "--allowed-origins", "--token",
                 "--max-request-bytes", "--namespace", "--workers", "KPI_TOKEN"):
        assert flag in serve_help


def _serve(args, env):
    return subprocess.run([*kpi_command(), "serve", *args], check=False, capture_output=True, text=True, env=env, timeout=120)


def test_serve_without_a_licence_key_explains_the_xlwings_licence():
    env = {k_: v for k_, v in os.environ.items() if not k_.startswith(("KPI_", "XLWINGS_"))}
    run = _serve(["--port", "1"], env)
    assert run.returncode == 2
    assert "XLWINGS_LICENSE_KEY=noncommercial" in run.stderr and "PolyForm Noncommercial" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "args, text",
    [
        (["--namespace", "no.dots"], "invalid function namespace"),
        (["--certfile", "missing.pem", "--keyfile", "missing.key"], "TLS certificate file not found"),
        (["--allowed-origins", "https://ok.example/path"], "must look like https://host[:port]"),
        (["--port", "70000"], "not between 1 and 65535"),
        (["--workers", "0"], "workers must be at least 1"),
    ],
)
def test_serve_rejects_bad_settings_with_one_clear_line(args, text):
    run = _serve(args, server_env())
    assert run.returncode == 2, run.stderr
    assert text in run.stderr and "Traceback" not in run.stderr
