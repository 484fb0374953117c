"""addin.server.bridge: everything the backend patches or uses of xlwings, xlwings-server
and uvicorn still exists in the installed versions (an upgrade that drops one fails here,
instead of the backend silently running without a patch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xlwings_server")

ROOT = Path(__file__).resolve().parents[2]

# a fresh process: xlwings and xlwings-server must be configured before their first import
CHECK = """
import json, sys
from addin.server import ServerConfig, bridge

bridge.configure(ServerConfig())
bridge.load_adapters()
xs = bridge.XlwingsServer.load()
extra = [tuple(x) for x in json.loads(sys.argv[1])]
bridge.UPSTREAM = bridge.UPSTREAM + tuple(extra)
js = bridge.custom_functions_js(["KPI_NPS"], xs.app_path + "/xlwings/custom-functions-call")
print(json.dumps({"problems": bridge.upstream_problems(), "js": js,
                  "patched": [bridge.sys.modules["xlwings.pro._xlofficejs"]._is_jsnull(None),
                              bridge.sys.modules["xlwings.pro.udfs_officejs"].js_to_none(None)],
                  "custom_functions": sys.modules["custom_functions"].__name__}))
"""


#: names that do not exist, added to the check: it must report exactly these
MISSING = [("xlwings", "no_such_name"), ("xlwings_server.config", "settings.no_such_setting"),
           ("no_such_module_kpi", "x")]


@pytest.fixture(scope="module")
def checked() -> dict:
    from addin_helpers import server_env

    env = server_env()  # (this checkout first on PYTHONPATH)
    run = subprocess.run([sys.executable, "-c", CHECK, json.dumps(MISSING)], check=False, capture_output=True, text=True,
                         env=env, cwd=str(ROOT), timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_every_patched_or_used_upstream_name_exists_and_a_missing_one_is_reported(checked):
    # only the names added by this test are missing: everything the backend relies on exists
    assert checked["problems"] == ["xlwings.no_such_name: no longer exists",
                                   "xlwings_server.config.settings.no_such_setting: no longer exists",
                                   "no_such_module_kpi: cannot be imported (No module named 'no_such_module_kpi')"]
    assert checked["patched"] == [False, None]  # the Pyodide probes are replaced
    assert checked["custom_functions"] == "addin.adapters"


def test_the_javascript_is_filled_in(checked):
    from addin.server import bridge

    js = checked["js"]
    for placeholder in (*bridge.JS_PLACEHOLDERS, "placeholder_kpi_call_path", "placeholder_kpi_error_codes",
                        "placeholder_function_name"):
        assert placeholder not in js
    assert "const KPI_ERROR_CODES = {" in js and "const KPI_MESSAGE_CODES = new Set([" in js
    assert 'CustomFunctions.associate("KPI_NPS", KPI_NPS);' in js
    assert js.count("async function KPI_NPS()") == 1


# xlwings' own reading of the range arguments the backend reads itself (addin.server.calls):
# the same values, at the same positions, for every kind of cell Office.js sends
READING = """
import asyncio, json, sys
from addin.server import ServerConfig, bridge
from addin.server.requests import blanks_as_none
from addin.server.calls import RANGE_STAND_IN

bridge.configure(ServerConfig())
adapters = bridge.load_adapters()
xs = bridge.XlwingsServer.load()
seen = []

class One:
    pass

def reading(name, args):
    adapter = adapters.ADAPTERS[name]
    async def capture(*a):
        seen.append(list(a))
        return 0
    capture.__xlfunc__ = adapter.__xlfunc__
    module = One()
    setattr(module, name, capture)
    data = {"func_name": name, "args": args, "client": "Office.js", "version": xs.xlwings_version, "runtime": "1.4",
            "date_format": "yyyy-mm-dd", "culture_info_name": None, "caller_address": None}
    asyncio.run(xs.custom_functions_call(data, module))
    return seen.pop()

matrices = json.loads(sys.argv[1])
out = []
for m in matrices:
    got = reading("KPI_NPS", [m])[0]
    out.append({"xlwings": got, "ours": blanks_as_none(m)})
stand_in = reading("KPI_RATE_CI", [RANGE_STAND_IN, [[5]], [[0.9]]])
print(json.dumps({"cases": out, "stand_in": stand_in}))
"""

MATRICES = [[[10], [""], [3]], [["", ""], ["a", 1.5]], [[7]], [[""]], [["x", True, None, "#N/A", 0, -2.5]],
            [[None], [False]]]


def test_the_backends_reading_of_a_range_argument_is_xlwings_own():
    from addin_helpers import server_env

    run = subprocess.run([sys.executable, "-c", READING, json.dumps(MATRICES)], check=False, capture_output=True,
                         text=True, env=server_env(), cwd=str(ROOT), timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    for case in got["cases"]:
        assert case["ours"] == case["xlwings"]
    assert got["cases"][0]["xlwings"] == [[10], [None], [3]]
    # the stand-in is read as a one-cell range, the other arguments in their own positions
    assert got["stand_in"] == [[[0]], [[5]], 0.9]  # (successes, trials: ranges; confidence: a number)
