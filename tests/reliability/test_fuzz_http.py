"""The same fuzz through the HTTP route of a real `kpi serve` on loopback.

Every registry function is called through POST /xlwings/custom-functions-call
with Office.js-shaped payloads built from the library fuzz's cases (one matrix
per argument, "" for blanks, error cells as Office.js error objects or as
text, dates as serial numbers, null for omitted optionals, ±inf as the JSON
number 1e999). Every answer must be

- 200 with a ``result`` — the value the library computes for the same cells,
  or the Excel error the SPEC asks for (the first error value of the input, in
  argument order; else the library's error) with its message; or
- a clean 4xx with a ``detail`` message, for what is not a well-formed range
  (ragged rows, a cell that is a list, an empty matrix) and for a JSON integer
  beyond a double (no workbook can send it);

never a 5xx, never a traceback, and the server keeps serving.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from reliability_figures import HTTP_EXAMPLES, count, examples_for, fuzz_settings
from reliability_server import ERROR_TYPES, RETURNABLE, check_value, expected, officejs_arg, well_formed
from reliability_strategies import LONE_SURROGATE_TEXT, call_case

import kpi_functions as k

SPECS = list(k.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=120) as c:
        yield c


def _beyond_double(matrix) -> bool:
    """A JSON integer that no double holds (10**400): the server refuses the request (400)."""
    def big(c) -> bool:
        if isinstance(c, dict):
            c = c.get("basicValue")
        if type(c) is not int:
            return False
        try:
            float(c)
        except OverflowError:
            return True
        return False
    return matrix is not None and any(big(c) for row in matrix for c in row)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_fuzz_every_function_over_http(server, client, spec):
    @fuzz_settings(examples_for(spec.excel_name, HTTP_EXAMPLES))
    @given(case=call_case(spec), error_objects=st.booleans(), runtime=st.sampled_from(["1.4", "1.4", "1.3"]),
           omit_trailing=st.booleans(),
           surrogate=st.one_of(st.none(), st.none(), st.none(), st.tuples(LONE_SURROGATE_TEXT, st.booleans())))
    def fuzz(case, error_objects, runtime, omit_trailing, surrogate):
        matrices = [officejs_arg(v, error_objects) for v in case.raw]
        full = matrices + [None] * (len(spec.args) - len(matrices))
        sent = matrices if omit_trailing else full  # Excel sends null for omitted optionals; accept both
        payload = {"func_name": spec.excel_name, "args": sent, "runtime": runtime, "client": "Office.js",
                   "caller_address": "[Book1.xlsx]Sheet1!B2", "culture_info_name": "en-US",
                   "date_format": "yyyy-mm-dd", "version": "0.37.8"}
        if surrogate is not None:  # a lone surrogate in the first text cell, or in date_format
            text, in_cell = surrogate
            cells = [m for m in sent if isinstance(m, list) and m and isinstance(m[0], list) and m[0]]
            if in_cell and cells:
                cells[0][0][0] = text
            else:
                payload["date_format"] = text
        note(f"payload={payload!r}"[:3000])
        r = server.post(client, payload)
        count("HTTP fuzz requests", detail=spec.excel_name)
        assert r.status_code < 500, f"{spec.excel_name}: {r.status_code} {r.text[:500]}"
        assert "Traceback" not in r.text and 'File "' not in r.text
        body = r.json()
        if surrogate is not None:
            assert r.status_code == 400 and "lone UTF-16 surrogate" in body["detail"], r.text[:500]
            count("HTTP fuzz 4xx answers", detail="lone surrogates")
            return
        if not all(well_formed(m) for m in full):
            assert r.status_code == 400 and spec.excel_name in body["detail"], r.text[:500]
            count("HTTP fuzz 4xx answers")
            return
        if any(_beyond_double(m) for m in full):
            assert r.status_code == 400 and "beyond what Excel holds" in body["detail"], r.text[:500]
            count("HTTP fuzz 4xx answers", detail="integers beyond a double")
            return
        assert r.status_code == 200, r.text[:500]
        kind, *want = expected(spec, full)
        if kind == "error":
            code, message = want
            assert "error" in body, f"{spec.excel_name}: expected {code} ({message}), got {body!r}"[:800]
            assert body["error"]["code"] == code, f"{body['error']} but expected {code}: {message}"
            assert body["error"]["message"].startswith(spec.excel_name + ":")
            assert message in body["error"]["message"], (body["error"]["message"], message)
            # runtime ≥ 1.4 gets a real error cell for the seven errors a custom function can
            # return; the others come back as their text, and the add-in's JavaScript turns
            # every body["error"] into CustomFunctions.Error with the message
            cell = runtime == "1.4" and code in RETURNABLE
            want_cell = {"type": "Error", "errorType": ERROR_TYPES[code]} if cell else code
            assert body["result"] == [[want_cell]], body["result"]
            count("HTTP fuzz Excel errors")
        else:
            assert "error" not in body, f"{spec.excel_name}: expected a value, got {body!r}"[:800]
            check_value(spec, body["result"], want[0], runtime)
            count("HTTP fuzz values checked")

    fuzz()
    assert client.get(server.base + "/health").json()["status"] == "ok"
