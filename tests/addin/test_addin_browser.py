"""End to end in a real browser: headless Chromium (Debian's `chromium`, driven
by Playwright — never `playwright install`) against a running `kpi serve`.

1. A page on the backend's own origin stubs the Office/Excel/CustomFunctions
   globals (there is no Excel here), loads xlwings' browser helpers and the
   served custom-functions JavaScript, and calls the registered functions the
   way Excel would: a scalar, a spilled table, input errors (#VALUE! with its
   message, #N/A passed through, #DIV/0!), with the access token from the
   task pane's storage — and without it.
2. The task pane: every registry function is listed, the search filters, and
   "Insert" writes the example formula into the selected cell through Excel.run.
3. The task pane outside Excel (Microsoft's real office.js, no host): it says
   that it runs inside Excel and how to sideload it, and never reloads; inside
   Excel a host-less start keeps xlwings-server's bounded reloads.
"""

from __future__ import annotations

import json

import pytest
from addin_helpers import (
    TOKEN,
    assert_matches,
    expected_cells,
    need_playwright,
    need_program,
    officejs_arg,
    serving,
)

import kpi_functions as k
from kpi_functions import CATEGORIES, example_formula


@pytest.fixture(scope="module")
def server():
    yield from serving()

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

E2E_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>custom functions e2e</title>
<script id="config" type="application/json">
  {"customFunctionsMaxRetries": 1, "customFunctionsRetryCodes": [502, 503, 504], "requestTimeout": 30,
   "onWasm": false, "authProviders": [], "environment": "prod"}
</script>
<script>
  // Stand-ins for what Excel provides to an Office.js add-in.
  window.__registered = {};
  class CFError extends Error {
    constructor(code, message) { super(message === undefined ? code : message); this.code = code; this.cfMessage = message; }
  }
  window.CustomFunctions = {
    associate: (name, fn) => { window.__registered[name] = fn; },
    Error: CFError,
    ErrorCode: { invalidValue: "#VALUE!", notAvailable: "#N/A", divisionByZero: "#DIV/0!",
                 invalidNumber: "#NUM!", nullReference: "#NULL!" },
  };
  window.Office = {
    onReady: (cb) => { const info = { host: "Excel", platform: "PC" }; if (cb) cb(info); return Promise.resolve(info); },
    context: { requirements: { isSetSupported: (name, version) => parseFloat(version || "1.1") <= 1.4 } },
  };
  window.Excel = { RequestContext: function () { this.workbook = { name: "Book1.xlsx", load() {} }; this.sync = async () => {}; } };
  window.xlwings = { getCultureInfoName: async () => "en-US", getDateFormat: async () => "yyyy-mm-dd" };
  globalThis.config = JSON.parse(document.getElementById("config").textContent);
  localStorage.setItem("kpiToken", "__TOKEN__");
  window.__call = async (name, args) => {
    try {
      const result = await window.__registered[name](...args, { address: "Sheet1!B2" });
      return { ok: true, result };
    } catch (e) {
      return { ok: false, code: e.code, message: e.cfMessage === undefined ? null : e.cfMessage,
               isCustomFunctionsError: e instanceof CustomFunctions.Error };
    }
  };
</script>
<script type="module" src="/static/js/utils.js"></script>
<script src="/static/js/auth.js"></script>
<script src="/xlwings/custom-functions-code.js" defer></script>
</head><body>e2e</body></html>
"""


@pytest.fixture(scope="module")
def browser():
    chromium = need_program("chromium")
    sync_playwright = need_playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    url = server.base + "/__kpi_e2e__.html"
    pg.route(url, lambda route: route.fulfill(status=200, content_type="text/html",
                                              body=E2E_PAGE.replace("__TOKEN__", TOKEN)))
    pg.goto(url)
    n = len(k.REGISTRY)
    pg.wait_for_function(f"Object.keys(window.__registered).length >= {n}", timeout=30_000)
    pg.wait_for_function("globalThis.xwRequest !== undefined", timeout=30_000)
    yield pg
    assert errors == [], errors
    context.close()


def call(pg, name, *args):
    return pg.evaluate("([name, args]) => window.__call(name, args)", [name, list(args)])


def test_custom_functions_are_registered_for_every_registry_function(page):
    assert sorted(page.evaluate("Object.keys(window.__registered)")) == sorted(k.REGISTRY)


def test_scalar(page):
    out = call(page, "KPI_ARPU", [[100], [200], [""], [300]], [[3]])
    assert out == {"ok": True, "result": [[200]]}


def test_spilled_table_with_header_and_dates(page):
    spec = k.get("KPI_MRR_MOVEMENTS")
    out = call(page, "KPI_MRR_MOVEMENTS", officejs_arg(spec.example[0]))
    assert out["ok"], out
    assert_matches(out["result"], expected_cells(spec.func(*spec.example)), "KPI_MRR_MOVEMENTS", officejs=True)
    assert out["result"][0][0] == "month"
    assert out["result"][1][0]["numberFormat"] == "yyyy-mm-dd"


def test_optional_argument_omitted_is_null(page):
    out = call(page, "KPI_CLV", [[100]], [[0.05]], None)
    assert out == {"ok": True, "result": [[2000]]}


def test_input_error_is_value_with_its_message(page):
    out = call(page, "KPI_ARPU", [[100], ["abc"]], [[3]])
    assert out["ok"] is False and out["isCustomFunctionsError"]
    assert out["code"] == "#VALUE!"
    assert out["message"] == (
        "KPI_ARPU: argument 'revenue', row 2, column 1: 'abc' is text; a number is needed "
        "(numbers stored as text are text)"
    )
    recent = page.evaluate("globalThis.kpiRecentErrors[0]")
    assert recent["code"] == "#VALUE!" and recent["address"] == "[Book1.xlsx]Sheet1!B2"


def test_error_cell_in_the_input_passes_through_as_na(page):
    na = {"type": "Error", "basicType": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}
    out = call(page, "KPI_NPS", [[10], [na], [3]])
    assert out["ok"] is False and out["code"] == "#N/A"
    assert out["message"] == "KPI_NPS: argument 'scores', row 2, column 1: the input holds the error #N/A"


def test_div0_and_num_errors_have_no_message_in_excel_but_are_recorded(page):
    out = call(page, "KPI_ARPU", [[100]], [[0]])
    assert out == {"ok": False, "code": "#DIV/0!", "message": None, "isCustomFunctionsError": True}
    out = call(page, "KPI_NPS", [[10], [11]])
    assert out["code"] == "#NUM!" and out["message"] is None
    recent = page.evaluate("globalThis.kpiRecentErrors.slice(0, 2).map(e => e.code + ' ' + e.message)")
    assert recent[0].startswith("#NUM! KPI_NPS: argument 'scores', row 2, column 1: 11")
    assert recent[1].startswith("#DIV/0! KPI_ARPU: argument 'users'")


def test_without_the_token_the_call_is_refused_with_a_readable_error(page):
    page.evaluate("localStorage.setItem('kpiToken', 'wrong-token')")
    out = call(page, "KPI_ARR", [[1]])
    assert out["ok"] is False and out["code"] == "#VALUE!" and out["message"] == "invalid bearer token"
    page.evaluate(f"localStorage.setItem('kpiToken', {json.dumps(TOKEN)})")
    assert call(page, "KPI_ARR", [[1]]) == {"ok": True, "result": [[12]]}


OFFICE_JS_STUB = """
// Stand-in for Microsoft's office.js: the pane behaves as if hosted in Excel.
window.Office = {
  onReady: (cb) => { const info = { host: "Excel", platform: "PC" }; if (cb) cb(info); return Promise.resolve(info); },
  context: { requirements: { isSetSupported: () => true } },
  actions: { associate: () => {} },
  HostType: { Excel: "Excel" },
};
window.CustomFunctions = { associate: () => {}, Error: class extends Error {}, ErrorCode: {} };
window.Excel = { run: async () => { throw new Error("no workbook"); } };
"""


def test_task_pane_lists_every_function_searches_and_inserts(browser, server):
    context = browser.new_context()
    pg = context.new_page()
    pg.route("**/static/vendor/office-js/**/office.js",
             lambda route: route.fulfill(status=200, content_type="text/javascript", body=OFFICE_JS_STUB))
    pg.goto(server.base + "/taskpane.html", wait_until="domcontentloaded")
    pg.wait_for_selector("#kpi-catalog li.kpi-fn")
    pg.wait_for_function("window.kpiTaskpane !== undefined")
    assert pg.locator("#kpi-outside-excel").is_hidden()  # Excel is the host: no "runs inside Excel" notice
    names = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn", "els => els.map(e => e.dataset.name)")
    assert names == [spec.excel_name for spec in k.specs()]  # grouped by category, catalog order
    headings = pg.eval_on_selector_all("#kpi-catalog .kpi-category h2", "els => els.map(e => e.textContent)")
    assert headings == [c for c in CATEGORIES if list(k.specs(c))]
    for spec in k.REGISTRY.values():
        li = pg.locator(f'#kpi-catalog li[data-name="{spec.excel_name}"]')
        assert li.locator(".kpi-summary").text_content() == spec.summary
        assert li.locator(".kpi-example").text_content() == example_formula(spec)

    pg.wait_for_function("window.kpiTaskpane !== undefined")
    pg.fill("#kpi-search", "nps")
    pg.dispatch_event("#kpi-search", "input")
    visible = pg.eval_on_selector_all("#kpi-catalog li.kpi-fn", "els => els.filter(e => !e.hidden).map(e => e.dataset.name)")
    assert visible and all("NPS" in n for n in visible)
    assert set(visible) == {n for n in k.REGISTRY if "NPS" in n}
    assert pg.inner_text("#kpi-count") == f"{len(visible)} function{'s' if len(visible) != 1 else ''}"
    shown = pg.eval_on_selector_all("#kpi-catalog .kpi-category", "els => els.filter(e => !e.hidden).map(e => e.dataset.category)")
    assert shown == ["Satisfaction"]

    # "Insert" writes the example formula into the selected cell through Excel.run
    pg.evaluate("""() => {
        window.__written = null;
        const cell = { address: "Sheet1!C3", load() {}, set formulas(v) { window.__written = v; } };
        window.Excel = { run: async (cb) => cb({ workbook: { getSelectedRange: () => ({ getCell: () => cell }) },
                                                  sync: async () => {} }) };
    }""")
    spec = k.get("KPI_NPS")
    li = pg.locator('#kpi-catalog li[data-name="KPI_NPS"]')
    li.locator("summary").click()
    li.locator(".kpi-insert").click()
    pg.wait_for_function("window.__written !== null")
    assert pg.evaluate("window.__written") == [[example_formula(spec)]]
    assert "Inserted" in pg.inner_text("#kpi-status")

    links = pg.eval_on_selector_all("#kpi-templates a", "els => els.map(e => e.getAttribute('href'))")
    assert links == ["/templates/customer_experience.xlsx", "/templates/saas_dashboard.xlsx"]
    assert pg.locator("#kpi-token").count() == 1  # this server needs a token
    context.close()


def test_task_pane_shows_the_cautions_of_the_source_articles(browser, server):
    """An entry the articles get wrong is marked in the list; opened, it says what is right."""
    context = browser.new_context(viewport={"width": 420, "height": 900})
    pg = context.new_page()
    pg.route("**/static/vendor/office-js/**/office.js",
             lambda route: route.fulfill(status=200, content_type="text/javascript", body=OFFICE_JS_STUB))
    pg.goto(server.base + "/taskpane.html", wait_until="domcontentloaded")
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
    context.close()


def _main_frame_loads(pg):
    loads = []
    pg.on("framenavigated", lambda f: loads.append(f.url) if f == pg.main_frame else None)
    return loads


def test_task_pane_in_a_plain_browser_says_it_runs_inside_excel_and_never_reloads(browser, server):
    """Microsoft's real office.js, outside Office: onReady gives no host. The pane says what it is, how to
    sideload it and links the manifest; it neither reloads nor shows xlwings' "didn't load properly"."""
    context = browser.new_context(viewport={"width": 420, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    loads = _main_frame_loads(pg)
    pg.goto(server.base + "/taskpane.html", wait_until="domcontentloaded")
    pg.wait_for_selector("#kpi-outside-excel", state="visible", timeout=15_000)
    text = " ".join(pg.inner_text("#kpi-outside-excel").split())
    assert text.startswith("This task pane runs inside Excel")
    assert "Upload My Add-in" in text and "Trusted Add-in Catalogs" in text and "Documents/wef/" in text
    link = pg.locator("#kpi-outside-excel a.kpi-manifest-link")
    assert link.get_attribute("href") == "/manifest/download"
    # past the pane's 3 s fallback timer: still the one page load, the notice and no xlwings prompt
    pg.wait_for_timeout(3500)
    assert loads == [server.base + "/taskpane.html"]
    assert pg.locator("#kpi-outside-excel").is_visible()
    assert pg.locator("#xlwings-office-ready-error").is_hidden()
    assert pg.evaluate("sessionStorage.getItem('xlwingsTaskpaneReloadCount')") is None
    assert pg.locator("#kpi-catalog li.kpi-fn").count() == len(k.REGISTRY)  # the catalog can still be read
    assert errors == []  # xlwings' onReady code found an Office.context.requirements
    context.close()


def test_task_pane_inside_excel_keeps_the_bounded_reload_when_office_gives_no_host(browser, server):
    """Inside Excel (host information in the URL) a host-less onReady is Excel's restore glitch: the page
    reloads as many times as xlwings-server's budget allows, then offers its Reload button; no outside notice."""
    context = browser.new_context()
    pg = context.new_page()
    no_host = OFFICE_JS_STUB.replace('{ host: "Excel", platform: "PC" }', "{ host: null, platform: null }")
    pg.route("**/static/vendor/office-js/**/office.js",
             lambda route: route.fulfill(status=200, content_type="text/javascript", body=no_host))
    loads = _main_frame_loads(pg)
    url = server.base + "/taskpane.html?_host_Info=Excel$Win32$16.01$en-US$$$$0"
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("#xlwings-office-ready-error:not(.d-none)", state="visible", timeout=30_000)
    budget = pg.evaluate("JSON.parse(document.getElementById('config').textContent).taskpaneReloadAttempts")
    assert budget == 3  # xlwings-server's default
    assert loads == [url] * (1 + budget)
    assert pg.locator("#kpi-outside-excel").is_hidden()
    context.close()
