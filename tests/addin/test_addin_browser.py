"""The task pane where Microsoft's runtime cannot take it: headless Chromium (Debian's
`chromium`, driven by Playwright — never `playwright install`) against a running
`kpi serve`.

The custom functions, the error codes and the task pane inside Excel run
through Microsoft's own Office.js runtime in `test_addin_officejs.py`; what is
left here is the two starts it cannot produce with a host:

1. Outside Excel (the office.js xlwings-server vendors, no host at all): the pane
   says that it runs inside Excel and how to sideload it, and never reloads.
2. Inside Excel (host information in the URL) but with an `Office.onReady` that
   gives no host, as Excel for Windows does when it restores a pane: a small
   stand-in for office.js (Microsoft's runtime resolves either as Excel or not
   at all), and the pane keeps xlwings-server's bounded reloads.
"""

from __future__ import annotations

import pytest
from addin_helpers import launched_browser, serving

import kpi_functions as k


@pytest.fixture(scope="module")
def server():
    yield from serving()

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def browser():
    yield from launched_browser()


NO_HOST_OFFICE_JS = """
// Stand-in for office.js in Excel's restore glitch: onReady resolves without a host.
window.Office = {
  onReady: (cb) => { const info = { host: null, platform: null }; if (cb) cb(info); return Promise.resolve(info); },
  context: { requirements: { isSetSupported: () => true } },
  actions: { associate: () => {} },
  HostType: { Excel: "Excel" },
};
window.CustomFunctions = { associate: () => {}, Error: class extends Error {}, ErrorCode: {} };
window.Excel = { run: async () => { throw new Error("no workbook"); } };
"""


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
    pg.route("**/static/vendor/office-js/**/office.js",
             lambda route: route.fulfill(status=200, content_type="text/javascript", body=NO_HOST_OFFICE_JS))
    loads = _main_frame_loads(pg)
    url = server.base + "/taskpane.html?_host_Info=Excel$Win32$16.01$en-US$$$$0"
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("#xlwings-office-ready-error:not(.d-none)", state="visible", timeout=30_000)
    budget = pg.evaluate("JSON.parse(document.getElementById('config').textContent).taskpaneReloadAttempts")
    assert budget == 3  # xlwings-server's default
    assert loads == [url] * (1 + budget)
    assert pg.locator("#kpi-outside-excel").is_hidden()
    context.close()
