// KPI add-in: replaces xlwings-server's auth.js. Custom-function calls carry
// the access token saved in the task pane as "Authorization: Bearer <token>"
// (only needed when the backend was started with --token / KPI_TOKEN).
globalThis.getAuth = async function () {
  let token = "";
  try {
    token = localStorage.getItem("kpiToken") || "";
  } catch (e) {
    token = "";
  }
  return { token: token ? `Bearer ${token}` : "", provider: "" };
};
