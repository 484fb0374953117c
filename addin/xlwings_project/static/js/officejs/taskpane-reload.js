// KPI add-in: replaces xlwings-server's taskpane-reload.js (same path, loaded
// by its base.html right after office.js).
//
// xlwings-server reloads the page whenever Office.onReady() gives no host (up
// to `taskpaneReloadAttempts` times), then shows "The add-in didn't load
// properly". That helps inside Excel, where onReady can hang after Excel
// restores a task pane, but in a plain browser there is never a host: the
// page reloaded three times and then showed that error. Here:
//
// - outside Office (no host information from Excel anywhere: not in the URL,
//   the window name, the session or a native bridge), nothing reloads: the
//   pane shows #kpi-outside-excel (it runs inside Excel, how to sideload it,
//   the manifest link) as soon as onReady answers without a host, or after
//   TIMEOUT_MS when office.js never answers;
// - inside Office, the bounded reloads of xlwings-server stay (counted in
//   sessionStorage; none without it), then its manual Reload prompt.
(function () {
  "use strict";

  const TIMEOUT_MS = 3000;
  const COUNT_KEY = "xlwingsTaskpaneReloadCount";

  function budget() {
    try {
      const el = document.getElementById("config");
      return (el && JSON.parse(el.textContent).taskpaneReloadAttempts) || 0;
    } catch (e) {
      return 0;
    }
  }

  function session(action, key, value) {
    try {
      if (action === "get") return sessionStorage.getItem(key);
      if (action === "set") sessionStorage.setItem(key, value);
      if (action === "remove") sessionStorage.removeItem(key);
    } catch (e) {
      // storage unavailable (some WebViews): no automatic reloads then
    }
    return null;
  }

  // Where office.js looks for the host information Excel hands a task pane
  // (OSF._OfficeAppFactory): a native bridge, the _host_Info URL parameter,
  // the window name, or the session after a first load.
  function hostedByOffice() {
    try {
      if (typeof agaveHost !== "undefined") return true;
      if (window.external && typeof window.external.GetHostInfo === "function") return true;
    } catch (e) {
      // not readable: not a host bridge
    }
    if (/[?&#]_host_Info=/i.test(window.location.search + window.location.hash)) return true;
    try {
      const named = JSON.parse(window.name || "null");
      if (named && named.hostInfo) return true;
    } catch (e) {
      // a window name that is not JSON
    }
    return Boolean(session("get", "hostInfoValue"));
  }

  let settled = false;

  function whenDomReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn, { once: true });
    } else {
      fn();
    }
  }

  function showOutsideExcel(reason) {
    const notice = document.getElementById("kpi-outside-excel");
    if (notice) notice.hidden = false;
    document.documentElement.classList.add("kpi-outside-excel");
    console.log(`KPI task pane: not inside Excel (${reason}); showing how to sideload the add-in`);
  }

  function storageWorks() {
    session("set", "__kpi_probe__", "1");
    const works = session("get", "__kpi_probe__") === "1";
    session("remove", "__kpi_probe__");
    return works;
  }

  function reloadOrPrompt(reason) {
    const count = parseInt(session("get", COUNT_KEY) || "0", 10) || 0;
    if (storageWorks() && count < budget()) {
      session("set", COUNT_KEY, String(count + 1));
      console.log(`KPI task pane: Office did not answer (${reason}); reloading (${count + 1}/${budget()})`);
      window.location.reload();
      return;
    }
    const overlay = document.getElementById("xlwings-office-ready-error");
    if (overlay) overlay.classList.remove("d-none");
  }

  function noHost(reason) {
    if (settled) return;
    settled = true;
    // xlwings' custom-functions code reads Office.context.requirements in its
    // own onReady callback; outside Office there is none (a console error)
    try {
      if (typeof Office !== "undefined" && Office.context && !Office.context.requirements) {
        Office.context.requirements = { isSetSupported: () => false };
      }
    } catch (e) {
      // read-only: leave it
    }
    whenDomReady(() => (hostedByOffice() ? reloadOrPrompt(reason) : showOutsideExcel(reason)));
  }

  function ready() {
    if (settled) return;
    settled = true;
    session("remove", COUNT_KEY);
    whenDomReady(() => {
      const notice = document.getElementById("kpi-outside-excel");
      if (notice) notice.hidden = true;
    });
  }

  whenDomReady(() => {
    const reload = document.getElementById("xlwings-taskpane-reload-btn");
    if (reload) reload.addEventListener("click", () => window.location.reload());
    const cancel = document.getElementById("xlwings-taskpane-reload-cancel-btn");
    if (cancel) {
      cancel.addEventListener("click", () => {
        const overlay = document.getElementById("xlwings-office-ready-error");
        if (overlay) overlay.classList.add("d-none");
      });
    }
  });

  const timer = setTimeout(() => noHost("office.js did not answer within " + TIMEOUT_MS / 1000 + " s"), TIMEOUT_MS);
  if (typeof Office === "undefined" || typeof Office.onReady !== "function") {
    clearTimeout(timer);
    noHost("office.js did not load");
    return;
  }
  // the callback form: called before the callbacks registered later (xlwings' custom-functions code)
  const answered = Office.onReady((info) => {
    clearTimeout(timer);
    if (info && info.host) {
      ready();
    } else {
      noHost("Office.onReady() gave no host");
    }
  });
  if (answered && typeof answered.catch === "function") {
    answered.catch((err) => {
      clearTimeout(timer);
      noHost(`Office.onReady() failed: ${err}`);
    });
  }
})();
