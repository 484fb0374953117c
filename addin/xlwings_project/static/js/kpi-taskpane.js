// KPI add-in task pane: search the catalog, insert an example formula into the
// selected cell (Office.js), keep the access token, list recent errors.
(function () {
  "use strict";

  function status(text, isError) {
    const el = document.getElementById("kpi-status");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("text-danger", Boolean(isError));
  }

  function filterCatalog(query) {
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    document.querySelectorAll("#kpi-catalog .kpi-fn").forEach((li) => {
      const text = li.dataset.search || "";
      const match = terms.every((t) => text.includes(t));
      li.hidden = !match;
      if (match) shown += 1;
    });
    document.querySelectorAll("#kpi-catalog .kpi-category").forEach((section) => {
      section.hidden = !section.querySelector(".kpi-fn:not([hidden])");
    });
    const count = document.getElementById("kpi-count");
    if (count) count.textContent = `${shown} function${shown === 1 ? "" : "s"}`;
  }

  async function insertFormula(formula) {
    if (typeof Excel === "undefined" || typeof Excel.run !== "function") {
      status("Open this pane inside Excel to insert formulas.", true);
      return;
    }
    try {
      await Excel.run(async (context) => {
        const cell = context.workbook.getSelectedRange().getCell(0, 0);
        cell.formulas = [[formula]];
        cell.load("address");
        await context.sync();
        status(`Inserted ${formula} into ${cell.address}.`, false);
      });
    } catch (error) {
      status(`Could not insert the formula: ${error && error.message ? error.message : error}`, true);
    }
  }

  function renderErrors() {
    const list = document.getElementById("kpi-errors");
    if (!list) return;
    const errors = globalThis.kpiRecentErrors || [];
    list.replaceChildren(
      ...errors.slice(0, 20).map((e) => {
        const li = document.createElement("li");
        li.textContent = `${e.address ? e.address + ": " : ""}${e.code} ${e.message}`;
        return li;
      }),
    );
  }

  function setupToken() {
    const input = document.getElementById("kpi-token");
    const button = document.getElementById("kpi-token-save");
    if (!input || !button) return;
    try {
      input.value = localStorage.getItem("kpiToken") || "";
    } catch (e) {
      // storage unavailable
    }
    button.addEventListener("click", () => {
      try {
        localStorage.setItem("kpiToken", input.value.trim());
        status("Access token saved. Recalculate (Ctrl+Alt+F9) to use it.", false);
      } catch (e) {
        status("Could not save the token: local storage is unavailable.", true);
      }
    });
  }

  function setup() {
    const search = document.getElementById("kpi-search");
    if (search) {
      search.addEventListener("input", () => filterCatalog(search.value));
    }
    document.querySelectorAll(".kpi-insert").forEach((button) => {
      button.addEventListener("click", () => insertFormula(button.dataset.formula));
    });
    setupToken();
    renderErrors();
    globalThis.addEventListener("kpi-error", renderErrors);
  }

  globalThis.kpiTaskpane = { filterCatalog, insertFormula };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
