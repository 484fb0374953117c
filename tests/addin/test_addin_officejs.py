"""The Office.js path end to end through Microsoft's own runtime, in headless Chromium.

The chain is real except for Excel itself:
  Microsoft's runtime (npm @microsoft/office-js 1.1.110: office.js and the Excel
  for Windows host file excel-win32-16.01.js, which carries the custom-functions
  runtime of custom-functions-runtime.js) -> xlwings' generated custom-functions
  code -> `kpi serve` -> the library.
The page is the add-in's shared runtime, the task pane (`taskpane.html`), loaded
the way Excel for Windows loads it (`?_host_Info=Excel$Win32$16.01$...`). The only
fake is the host side (`officejs_host.js`): `window.external.GetContext()` and the
`_richApiNativeBridge` over which the runtime receives invocations and sends back
its results, built from the runtime's own protocol (custom-functions-runtime.debug.js).
Every request leaving the backend's origin is blocked and recorded.

1. Every registry function is invoked with its catalog example, shaped as the
   metadata tells Excel to pass it (every parameter is a matrix: 2-D arrays,
   "" for blanks, null for omitted optionals), all at once, as Excel batches a
   recalculation. Each result row the runtime sends to the host is compared with
   the library: the value or the spilled table, or the error code and message.
2. Error codes as the host receives them: an input error is 7 (#VALUE!) with
   our message, #DIV/0! 5, #NUM! 6, #N/A 1; an error cell in any function's
   input comes back as its own code (#REF!, which a custom function cannot
   return, as 7 naming it); no invocation ends in 2 or 3 (an exception or a
   rejected promise in the JavaScript), none times out; a wrong token is a
   #VALUE! saying so.
3. The task pane under the same host: every function listed with its example,
   search, the cautions of the source articles, and "Insert" reaching Excel.run
   (the host receives the formula and answers the cell's address).
4. The runtime itself: the Excel host file's invocation code is
   custom-functions-runtime.js's; that file alone (Excel's JavaScript-only
   runtime) cannot run xlwings' code, hence the manifest's SharedRuntime.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from addin_helpers import (
    TOKEN,
    assert_matches,
    excel_code,
    expected_cells,
    first_cell_path,
    launched_browser,
    officejs_arg,
    serving,
)
from officejs_runtime import HOST_INFO, HOST_JS, SameOrigin, office_js_dist

import kpi_functions as k
from kpi_functions import CATEGORIES, KPIError, example_formula

pytestmark = pytest.mark.browser

#: the runtime's result codes (CustomFunctionProxy._getCustomFunctionResultErrorCodeFromErrorCode)
CODES = {"#N/A": 1, "#DIV/0!": 5, "#NUM!": 6, "#VALUE!": 7, "#NULL!": 8}
#: codes that mean our JavaScript failed: 2 an exception thrown, 3 a promise rejected with a non-CustomFunctions.Error
#: (CustomFunctionProxy._invokeFunctionAndSetResult); 0 an Error object returned, 4 a batch mismatch
JS_FAILURES = {0: "an Error returned", 2: "an exception thrown", 3: "a promise rejected", 4: "a batch mismatch"}
#: an error cell as Excel passes it to the runtime (CustomFunctionProxy._transferCustomFunctionError)
NA_INPUT = {"type": "CustomFunctionError", "code": "#N/A"}


@pytest.fixture(scope="module")
def server():
    yield from serving()


@pytest.fixture(scope="module")
def dist():
    return office_js_dist()


@pytest.fixture(scope="module")
def browser():
    yield from launched_browser()


class Excel:
    """The task pane loaded as Excel for Windows loads the add-in's shared runtime."""

    def __init__(self, browser, server, dist, token: str = TOKEN):
        self.context = browser.new_context()
        self.guard = SameOrigin(server.base, dist)
        self.context.route("**/*", self.guard)
        self.context.add_init_script(script=HOST_JS.read_text(encoding="utf-8"))
        self.context.add_init_script(script=f"localStorage.setItem('kpiToken', {json.dumps(token)});")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{server.base}/taskpane.html?_host_Info={HOST_INFO}", wait_until="domcontentloaded")
        # the runtime tells the host it is ready for invocations (CustomFunctions.initialize), and every
        # function of the served code is associated with it
        self.page.wait_for_function(
            "window.__host.methods.some(m => m[1] === '_SetOsfControlContainerReadyForCustomFunctions')",
            timeout=30_000)
        n = len(k.REGISTRY)
        self.page.wait_for_function(f"Object.keys(CustomFunctions._association.mappings).length >= {n}",
                                    timeout=30_000)
        self.page.wait_for_function("globalThis.xwRequest !== undefined", timeout=30_000)

    def invoke_all(self, calls: list[dict[str, Any]], timeout_ms: int = 60_000) -> list[dict[str, Any]]:
        """Invoke all `calls` ({name, args, flags?}) at once; the result rows the host received."""
        return self.page.evaluate(
            "([calls, timeoutMs]) => Promise.all(calls.map(c => window.__host.invoke(c.name, c.args, "
            "{flags: c.flags === undefined ? 0 : c.flags, timeoutMs})))", [calls, timeout_ms])

    def result_syncs(self) -> int:
        """How many ProcessQuery requests carrying results the runtime has sent."""
        return self.page.evaluate("window.__host.methods.filter(m => m[1] === 'SetInvocationArrayResults').length")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def excel(browser, server, dist):
    xl = Excel(browser, server, dist)
    yield xl
    assert xl.errors == [], xl.errors
    xl.close()


@pytest.fixture(scope="module")
def metadata(server):
    import httpx

    meta = httpx.get(server.base + "/xlwings/custom-functions-meta.json", timeout=30).json()
    return {f["name"]: f for f in meta["functions"]}


def excel_args(spec, values, meta, single_values_as_scalars: bool = False) -> list[Any]:
    """The arguments as Excel passes them from the metadata: one per declared parameter, a matrix
    parameter as a 2-D array ("" for blanks), a scalar one as its value, null when omitted. Every
    parameter of ours is declared a matrix; `single_values_as_scalars` passes a single value as a plain
    value all the same (as a host could for a typed constant)."""
    params = meta["parameters"]
    assert len(params) == len(spec.args), f"{spec.excel_name}: metadata and registry disagree on the arguments"
    out = []
    for i, p in enumerate(params):
        v = values[i] if i < len(values) else None
        if v is None:
            out.append(None)
        elif p.get("dimensionality") == "matrix" and not (single_values_as_scalars and not isinstance(v, list)):
            out.append(officejs_arg(v))
        else:
            assert not isinstance(v, list), f"{spec.excel_name}: a range given to the scalar parameter {p['name']}"
            out.append(v)
    return out


def no_js_failure(row: dict[str, Any], what: str) -> None:
    assert not row.get("timedOut"), f"{what}: no result reached the host within the time limit"
    if not row["ok"]:
        assert row["errorCode"] not in JS_FAILURES, (
            f"{what}: code {row['errorCode']} ({JS_FAILURES.get(row['errorCode'])}): {row['value']!r}")


def check_row(row: dict[str, Any], spec, args: tuple) -> None:
    """The host's result row for `spec(*args)` is what the library computes."""
    name = spec.excel_name
    no_js_failure(row, name)
    try:
        want = spec.func(*args)
    except KPIError as err:  # the example is an error case: the same error, with the message where Excel shows one
        code = excel_code(err)
        assert not row["ok"], f"{name}: {row['value']!r}, expected {code}"
        assert row["errorCode"] == CODES[code], f"{name}: code {row['errorCode']}, expected {CODES[code]} ({code})"
        assert row["value"] == (str(err) if code in ("#VALUE!", "#N/A") else ""), name
        return
    if isinstance(want, float) and math.isinf(want):
        assert not row["ok"] and row["errorCode"] == CODES["#NUM!"], f"{name}: {row!r}"
        return
    assert row["ok"], f"{name}: code {row['errorCode']} {row['value']!r}"
    assert_matches(row["value"], expected_cells(want), name, officejs=True)


@pytest.mark.parametrize("scalars", [False, True], ids=["as-declared", "single-values-as-scalars"])
def test_every_registry_function_through_microsofts_runtime(excel, metadata, scalars):
    specs = [k.get(n) for n in sorted(k.REGISTRY)]
    calls = [{"name": s.excel_name, "args": excel_args(s, s.example, metadata[s.excel_name], scalars)} for s in specs]
    if scalars:
        assert any(not isinstance(a, list) for c in calls for a in c["args"] if a is not None)
    syncs_before = excel.result_syncs()
    started = time.monotonic()
    rows = excel.invoke_all(calls)
    assert len(rows) == len(specs)
    for spec, row in zip(specs, rows):
        check_row(row, spec, spec.example)
    # months spill as dates in the short-date format the host reported for the workbook's culture
    movements = rows[specs.index(k.get("KPI_MRR_MOVEMENTS"))]["value"]
    assert movements[0][0] == "month" and movements[1][0]["numberFormat"] == "M/d/yyyy"
    # all answered within the sync spacing of the runtime, not one sync per call
    syncs = excel.result_syncs() - syncs_before
    assert syncs < len(specs), "the runtime sent one ProcessQuery per result: the invocations were serialised"
    print(f"{len(specs)} functions in {time.monotonic() - started:.1f} s, {syncs} result syncs")


#: error cells put into the inputs, and the code and message the host must receive: Excel's own errors come
#: back unchanged; one a custom function cannot return (#REF!) is #VALUE! saying which error the input held
INPUT_ERRORS = [("#N/A", 1, True), ("#DIV/0!", 5, False), ("#NUM!", 6, False), ("#VALUE!", 7, True), ("#REF!", 7, True)]


def test_an_error_cell_in_any_function_input_propagates(excel, metadata):
    """Every function, its first range cell replaced by an error value (passed as Excel passes error values,
    flag 4: the runtime hands the function CustomFunctions.Error objects), all invoked at once."""
    specs = [k.get(n) for n in sorted(k.REGISTRY)]
    calls, cases = [], []
    for n, spec in enumerate(specs):
        where = first_cell_path(spec)
        assert where is not None, f"{spec.excel_name} has no range argument in its example"
        i, r0, c0 = where
        args = excel_args(spec, spec.example, metadata[spec.excel_name])
        error, code, with_message = INPUT_ERRORS[n % len(INPUT_ERRORS)]
        args[i][r0][c0] = {"type": "CustomFunctionError", "code": error}
        calls.append({"name": spec.excel_name, "args": args, "flags": 4})
        cases.append((spec, spec.args[i].name, error, code, with_message))
    rows = excel.invoke_all(calls)
    for row, (spec, arg, error, code, with_message) in zip(rows, cases):
        name = spec.excel_name
        no_js_failure(row, f"{name} with {error} in '{arg}'")
        assert (row["ok"], row["errorCode"]) == (False, code), f"{name} with {error} in '{arg}': {row!r}"
        if with_message:
            msg = row["value"]
            assert msg.startswith(name + ": ") and f"'{arg}'" in msg and f"the input holds the error {error}" in msg, (
                f"{name}: {msg!r}")
        else:
            assert row["value"] == "", f"{name}: Excel takes no message with {error}: {row['value']!r}"


def test_error_codes_as_the_host_receives_them(excel, metadata):
    m = metadata
    arpu, nps, clv = k.get("KPI_ARPU"), k.get("KPI_NPS"), k.get("KPI_CLV")
    calls = [
        # an input error: #VALUE! (7) with our message
        {"name": "KPI_ARPU", "args": excel_args(arpu, [[100, "abc"], 3], m["KPI_ARPU"])},
        # #DIV/0! (5): users 0; #NUM! (6): a score outside 0-10
        {"name": "KPI_ARPU", "args": excel_args(arpu, [[100], 0], m["KPI_ARPU"])},
        {"name": "KPI_NPS", "args": excel_args(nps, [[10, 11]], m["KPI_NPS"])},
        # an #N/A cell in the input (passed as an error value: flag 4) comes back as #N/A (1) naming its cell
        {"name": "KPI_NPS", "args": [[[10], [NA_INPUT], [3]]], "flags": 4},
        # a scalar, and an omitted optional (null) meaning its default
        {"name": "KPI_ARPU", "args": excel_args(arpu, [[100, 200, None, 300], 3], m["KPI_ARPU"])},
        {"name": "KPI_CLV", "args": excel_args(clv, [100, 0.05], m["KPI_CLV"])},
    ]
    rows = excel.invoke_all(calls)
    for row in rows:
        no_js_failure(row, "an error-code call")
    value_err, div0, num, na, scalar, clv_row = rows
    assert value_err == {"invocationId": value_err["invocationId"], "ok": False, "errorCode": 7, "value": (
        "KPI_ARPU: argument 'revenue', row 2, column 1: 'abc' is text; a number is needed "
        "(numbers stored as text are text)")}
    assert (div0["ok"], div0["errorCode"], div0["value"]) == (False, 5, "")  # Excel takes no message with #DIV/0!
    assert (num["ok"], num["errorCode"], num["value"]) == (False, 6, "")
    assert (na["ok"], na["errorCode"]) == (False, 1)
    assert na["value"] == "KPI_NPS: argument 'scores', row 2, column 1: the input holds the error #N/A"
    assert (scalar["ok"], scalar["value"]) == (True, [[200]])
    assert (clv_row["ok"], clv_row["value"]) == (True, [[2000]])
    # the messages Excel cannot show are in the task pane's Recent errors, with the caller's address
    recent = excel.page.evaluate("globalThis.kpiRecentErrors.map(e => [e.code, e.address, e.message])")
    num_entry = next(e for e in recent if e[0] == "#NUM!")
    assert num_entry[1] == "[Book1.xlsx]Sheet1!B2"
    assert num_entry[2].startswith("KPI_NPS: argument 'scores', row 2, column 1: 11")
    assert any(e[0] == "#DIV/0!" and e[2].startswith("KPI_ARPU: argument 'users'") for e in recent)
    excel.page.wait_for_function(
        "[...document.querySelectorAll('#kpi-errors li')].some(li => li.textContent.includes('#NUM! KPI_NPS'))")


def test_without_the_right_token_the_cell_is_value_saying_so(browser, server, dist):
    xl = Excel(browser, server, dist, token="wrong-token")
    try:
        (row,) = xl.invoke_all([{"name": "KPI_ARR", "args": [[[1]]]}])
        no_js_failure(row, "KPI_ARR without the token")
        assert (row["ok"], row["errorCode"], row["value"]) == (False, 7, "invalid bearer token")
        # the user saves the right token in the pane: the next call is answered
        xl.page.fill("#kpi-token", TOKEN)
        xl.page.click("#kpi-token-save")
        (row,) = xl.invoke_all([{"name": "KPI_ARR", "args": [[[1]]]}])
        assert (row["ok"], row["value"]) == (True, [[12]])
        assert xl.errors == []
    finally:
        xl.close()


def test_nothing_leaves_the_origin_and_the_package_is_what_runs(excel):
    # Microsoft's files were served (not the vendored copy, not a stub) ...
    assert {"office.js", "excel-win32-16.01.js", "en-us/office_strings.js"} <= set(excel.guard.served)
    assert excel.page.evaluate("typeof OfficeExtension.HostBridge.instance") == "object"  # attached to the host
    assert excel.page.evaluate("window.__host.unexpected") == []
    # the runtime's telemetry goes to the host over the bridge (answered and dropped), not to the network
    methods = excel.page.evaluate("window.__host.methods")
    assert ["Microsoft.Telemetry.TelemetryService", "SendTelemetryEvent"] in methods
    # ... every request to another origin was blocked, and the page went on (a blocked load is not fatal:
    # the functions above were answered); the guard itself: Microsoft's CDN copy of office.js is refused
    cdn = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
    assert excel.page.evaluate("(u) => fetch(u).then(() => 'loaded', () => 'refused')", cdn) == "refused"
    assert cdn in excel.guard.blocked
    assert all(not u.startswith(excel.guard.origin + "/") for u in excel.guard.blocked)
    print("blocked:", excel.guard.blocked)


def test_task_pane_shows_the_cautions_of_the_source_articles(excel):
    """An entry the articles get wrong is marked in the list; opened, it says what is right."""
    pg = excel.page
    pg.set_viewport_size({"width": 420, "height": 900})
    pg.wait_for_function("window.kpiTaskpane !== undefined")
    marked = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn:has(.kpi-caution-mark)", "els => els.map(e => e.dataset.name)")
    assert marked == [s.excel_name for s in k.specs() if s.cautions]
    for spec in k.specs():
        if not spec.cautions:
            continue
        li = pg.locator(f'#kpi-catalog li[data-name="{spec.excel_name}"]')
        assert not li.locator(".kpi-caution").first.is_visible()  # inside the closed entry
        li.locator("summary").click()
        boxes = li.locator(".kpi-caution")
        assert boxes.count() == len(spec.cautions)
        for i, c in enumerate(spec.cautions):
            box = boxes.nth(i)
            assert box.is_visible()
            text = " ".join(box.inner_text().split())
            assert f"Caution ({c.topic}): {c.right} {c.wrong}" in text
            for step in c.example:
                assert " ".join(step.split()) in text
        li.locator("summary").click()
    # the caution's words find the function: ACoS is what ROAS is mistaken for
    pg.fill("#kpi-search", "acos")
    pg.dispatch_event("#kpi-search", "input")
    visible = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn", "els => els.filter(e => !e.hidden).map(e => e.dataset.name)")
    assert visible == ["KPI_ROAS"]
    pg.fill("#kpi-search", "")
    pg.dispatch_event("#kpi-search", "input")


def test_task_pane_under_the_emulated_host_lists_searches_and_inserts(excel):
    pg = excel.page
    pg.wait_for_selector("#kpi-catalog li.kpi-fn")
    pg.wait_for_function("window.kpiTaskpane !== undefined")
    assert pg.locator("#kpi-outside-excel").is_hidden()  # Office.onReady said Excel
    assert pg.evaluate("Office.onReady().then(i => [i.host, i.platform])") == ["Excel", "PC"]
    names = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn", "els => els.map(e => e.dataset.name)")
    assert names == [spec.excel_name for spec in k.specs()]  # grouped by category, catalog order
    headings = pg.eval_on_selector_all("#kpi-catalog .kpi-category h2", "els => els.map(e => e.textContent)")
    assert headings == [c for c in CATEGORIES if list(k.specs(c))]
    for spec in k.REGISTRY.values():
        li = pg.locator(f'#kpi-catalog li[data-name="{spec.excel_name}"]')
        assert li.locator(".kpi-example").text_content() == example_formula(spec)
    pg.fill("#kpi-search", "nps")
    pg.dispatch_event("#kpi-search", "input")
    visible = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn", "els => els.filter(e => !e.hidden).map(e => e.dataset.name)")
    assert set(visible) == {n for n in k.REGISTRY if "NPS" in n}
    pg.fill("#kpi-search", "")
    pg.dispatch_event("#kpi-search", "input")

    # "Insert" goes through Excel.run: the host receives the formula for the selected cell
    spec = k.get("KPI_NPS")
    li = pg.locator('#kpi-catalog li[data-name="KPI_NPS"]')
    li.locator("summary").click()
    li.locator(".kpi-insert").click()
    pg.wait_for_function("window.__host.written.length > 0")
    assert pg.evaluate("window.__host.written") == [["Formulas", [[example_formula(spec)]]]]
    pg.wait_for_function("document.getElementById('kpi-status').textContent.includes('Inserted')")
    assert pg.inner_text("#kpi-status") == f"Inserted {example_formula(spec)} into Sheet1!C3."
    li.locator("summary").click()

    links = pg.eval_on_selector_all("#kpi-templates a", "els => els.map(e => e.getAttribute('href'))")
    assert links == ["/templates/customer_experience.xlsx", "/templates/saas_dashboard.xlsx"]
    assert pg.locator("#kpi-token").count() == 1  # this server needs a token


def _proxy_source(path) -> str:
    """The custom-functions runtime's invocation code (class CustomFunctionProxy), whitespace normalised."""
    text = path.read_text(encoding="utf-8")
    start = text.index("function CustomFunctionProxy()")
    end = text.index("exports.CustomFunctionProxy = CustomFunctionProxy", start)
    return " ".join(text[start:end].split())


def test_the_excel_host_file_carries_the_runtime_of_custom_functions_runtime_js(dist):
    """In a shared runtime Excel loads office.js, whose Excel for Windows file runs the invocations; its
    CustomFunctionProxy (invoke, batch, map errors to codes, send results) is custom-functions-runtime.js's."""
    proxy = _proxy_source(dist / "custom-functions-runtime.debug.js")
    assert "SetInvocationArrayResults" in proxy or "setInvocationArrayResults" in proxy
    assert _proxy_source(dist / "excel-win32-16.01.debug.js") == proxy


JS_ONLY_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script id="config" type="application/json">{"customFunctionsMaxRetries": 1, "customFunctionsRetryCodes": [502],
 "requestTimeout": 30, "onWasm": false, "authProviders": [], "environment": "prod"}</script>
<script src="/static/vendor/office-js/npm/dist/custom-functions-runtime.js"></script>
<script>globalThis.config = JSON.parse(document.getElementById("config").textContent);</script>
<script type="module" src="/static/js/utils.js"></script>
<script src="/static/js/auth.js"></script>
<script src="/xlwings/custom-functions-code.js" defer></script>
</head><body></body></html>"""


def test_without_a_shared_runtime_xlwings_code_cannot_run(browser, server, dist):
    """custom-functions-runtime.js alone (Excel's JavaScript-only runtime, no office.js) invokes our functions,
    but xlwings' code needs Excel.RequestContext, which only the shared runtime has: the call is a rejected
    promise (code 3). Why the manifest declares SharedRuntime."""
    context = browser.new_context()
    guard = SameOrigin(server.base, dist, pages={"/__js_only__.html": JS_ONLY_PAGE})
    context.route("**/*", guard)
    context.add_init_script(script=HOST_JS.read_text(encoding="utf-8"))
    pg = context.new_page()
    try:
        pg.goto(f"{server.base}/__js_only__.html?_host_Info={HOST_INFO}")
        pg.wait_for_function("window.__host.methods.some(m => m[1] === '_SetOsfControlContainerReadyForCustomFunctions')",
                             timeout=30_000)
        pg.wait_for_function("typeof KPI_ARR === 'function'", timeout=30_000)
        assert pg.evaluate("typeof Excel") == "undefined"
        row = pg.evaluate("window.__host.invoke('KPI_ARR', [[[1]]], {flags: 0, timeoutMs: 30000})")
        assert (row["ok"], row["errorCode"]) == (False, 3)
        assert "custom-functions-runtime.js" in guard.served and "office.js" not in guard.served
    finally:
        context.close()
