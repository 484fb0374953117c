"""addin.server.calls: what each failure of a call is answered with (no server, no xlwings:
xlwings' part is a stand-in). A bug in the KPI library is a logged #VALUE! "unexpected error";
xlwings failing to convert, or a result JSON cannot hold, is a logged #VALUE! (a 200, never a 5xx); a bug of
the backend itself is not caught there (the call route answers it #VALUE! "internal error")."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any, Self

import pytest

pytest.importorskip("uvicorn")

import kpi_functions as k
from addin.server import calls

SPEC = k.REGISTRY["KPI_NPS"]
BODY = json.dumps({"func_name": "KPI_NPS", "args": [[[10], [9], [3]]]}).encode()


class FakeError(str):
    def __new__(cls, code: str, message: str) -> Self:
        obj = super().__new__(cls, code)
        obj.code, obj.message = code, message
        return obj


def adapter(result: Any = None, raises: BaseException | None = None):
    def run(*args: Any) -> Any:
        if raises is not None:
            raise raises
        return result

    run.kpi_spec = SPEC  # type: ignore[attr-defined]
    run.__xlfunc__ = {}  # type: ignore[attr-defined]
    return run


def xlwings(convert: Any = None) -> Any:
    """A stand-in for xlwings-server: calls the function on the request's arguments."""

    async def custom_functions_call(data: dict, module: Any) -> Any:
        if convert is not None:
            raise convert
        rv = await getattr(module, data["func_name"])(*data["args"])
        return rv if isinstance(rv, list) else [[rv]]

    return SimpleNamespace(custom_functions_call=custom_functions_call, xlwings_version="0.0")


def answer(fn: Any, xs: Any = None) -> tuple[int, dict]:
    status, content = calls.answer_call(BODY, {"KPI_NPS": fn}, xs or xlwings(), FakeError)
    return status, json.loads(content)


def test_a_result_and_a_kpi_error():
    assert answer(adapter(42.0)) == (200, {"result": [[42.0]]})
    status, got = answer(adapter(FakeError("#DIV/0!", "KPI_NPS: no responses")))
    assert status == 200 and got["error"] == {"code": "#DIV/0!", "message": "KPI_NPS: no responses"}


def test_a_library_bug_is_a_logged_value_error_with_its_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="kpi.addin"):
        status, got = answer(adapter(raises=ZeroDivisionError("bug")))
    assert status == 200
    assert got["error"] == {"code": "#VALUE!",
                            "message": "KPI_NPS: unexpected error in the KPI library; the server log has details"}
    assert "ZeroDivisionError: bug" in caplog.text


VALUE_CELL = [["#VALUE!"]]


def test_xlwings_failing_to_convert_is_a_logged_value_error_never_a_5xx(caplog):
    with caplog.at_level(logging.ERROR, logger="kpi.addin"):
        status, got = answer(adapter(1.0), xlwings(convert=KeyError("conversion")))
    assert status == 200 and got == {"result": VALUE_CELL, "error": {
        "code": "#VALUE!", "message": "KPI_NPS: the backend could not convert this call; the server log has details"}}
    assert "converting the call failed" in caplog.text


def test_a_result_json_cannot_hold_is_a_logged_value_error_never_a_5xx(caplog):
    with caplog.at_level(logging.ERROR, logger="kpi.addin"):
        status, got = answer(adapter(float("nan")))
    assert status == 200 and got["result"] == VALUE_CELL and got["error"]["code"] == "#VALUE!"
    assert "could not convert" in got["error"]["message"]
    assert "serialising the answer failed" in caplog.text


def test_a_bug_of_the_backend_itself_is_not_caught_here():
    # (the call route answers it: #VALUE! "internal error", logged; tests/addin/test_addin_http.py)
    class Broken(FakeError):
        @property
        def message(self) -> str:  # type: ignore[override]
            raise AttributeError("the backend's own bug")

        @message.setter
        def message(self, value: str) -> None:
            pass

    with pytest.raises(AttributeError, match="the backend's own bug"):
        calls.answer_call(BODY, {"KPI_NPS": adapter(Broken("#NUM!", "x"))}, xlwings(), Broken)


def test_a_malformed_call_is_its_4xx():
    status, content = calls.answer_call(b"{", {"KPI_NPS": adapter(1.0)}, xlwings(), FakeError)
    assert status == 400 and json.loads(content)["detail"].startswith("malformed JSON")


_BROKEN_BACKEND = """
import json
import addin.server.app as app_mod
from addin.server.config import ServerConfig
from starlette.testclient import TestClient

def broken(*a, **k):
    raise RuntimeError("the backend's own bug")

app_mod.answer_call = broken  # the call route's work fails with a bug of the backend itself
app = app_mod.create_app(ServerConfig.from_env())
r = TestClient(app).post("/xlwings/custom-functions-call",
                         json={"func_name": "KPI_NPS", "args": [[[10], [9], [3]]], "runtime": "1.4"})
print(json.dumps({"status": r.status_code, "body": r.json()}))
"""


def test_a_bug_of_the_backend_in_the_call_route_is_a_value_error_never_a_5xx(tmp_path):
    # in a process of its own: the app configures xlwings for the server (an environment variable set before
    # xlwings is first imported), which must not leak into the other tests
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", _BROKEN_BACKEND], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"status": 200, "body": {"result": [["#VALUE!"]], "error": {
        "code": "#VALUE!", "message": "the backend could not answer this call (internal error); the server log "
                                      "has details"}}}
    assert "RuntimeError: the backend's own bug" in out.stderr  # logged with its traceback
