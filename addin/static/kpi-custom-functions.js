// ---------------------------------------------------------------------------
// KPI add-in: per-function stubs and error messages.
// The backend answers a KPI error with the Excel error in `result` and
// {"error": {"code", "message"}}. We surface it as CustomFunctions.Error so
// Excel shows the message (Excel allows a custom message with #VALUE! and
// #N/A only; for #NUM! and #DIV/0! the message goes to the task pane's
// "Recent errors" list and the console).
// ---------------------------------------------------------------------------
// KPI_ERROR_CODES and KPI_MESSAGE_CODES, rendered from kpi_functions._errors.ERRORS (kpi_functions.excel.officejs_errors_js)
placeholder_kpi_error_codes
globalThis.kpiRecentErrors = globalThis.kpiRecentErrors || [];

function kpiHookRequests() {
  const req = globalThis.xwRequest;
  if (!req || req.kpiHooked) {
    return;
  }
  const post = req.post;
  globalThis.xwRequest = {
    ...req,
    kpiHooked: true,
    post: async (url, body, opts) => {
      const response = await post(url, body, opts);
      const data = response ? response.data : null;
      if (
        data && typeof data === "object" && data.error && typeof data.error === "object" &&
        String(url).endsWith("placeholder_kpi_call_path")
      ) {
        const kpiError = {
          code: String(data.error.code),
          message: String(data.error.message || ""),
          address: body && body.caller_address ? body.caller_address : null,
        };
        return { ...response, data: { ...data, result: { kpiError: kpiError } } };
      }
      return response;
    },
  };
}

function kpiRecordError(error) {
  const entry = { ...error, time: new Date().toISOString() };
  globalThis.kpiRecentErrors.unshift(entry);
  globalThis.kpiRecentErrors.length = Math.min(globalThis.kpiRecentErrors.length, 50);
  console.warn(`${error.address || ""} ${error.code} ${error.message}`);
  try {
    globalThis.dispatchEvent(new CustomEvent("kpi-error", { detail: entry }));
  } catch (e) {
    // no DOM events in this runtime
  }
}

function kpiResult(result) {
  if (!result || typeof result !== "object" || !result.kpiError) {
    return result;
  }
  const { code, message } = result.kpiError;
  kpiRecordError(result.kpiError);
  const supported =
    typeof CustomFunctions !== "undefined" &&
    typeof CustomFunctions.Error === "function" &&
    Office.context.requirements.isSetSupported("CustomFunctionsRuntime", "1.2");
  if (!supported) {
    return [[`${code} ${message}`]];
  }
  const name = KPI_ERROR_CODES[code];
  if (!name) {
    // Excel cannot return this error from a custom function (#REF!, #NAME?, ...)
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue, message);
  }
  if (KPI_MESSAGE_CODES.has(code)) {
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode[name], message);
  }
  throw new CustomFunctions.Error(CustomFunctions.ErrorCode[name]);
}
