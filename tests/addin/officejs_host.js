// The host side of Excel, emulated for Microsoft's own Office.js runtime
// (npm @microsoft/office-js 1.1.110): the only fake in the chain
//   runtime (office.js and excel-win32-16.01.js, whose custom-functions code is
//   that of custom-functions-runtime.js) -> xlwings' generated custom-functions
//   code -> kpi serve -> the library.
// Everything here follows the protocol the runtime itself speaks; the places
// are named after the functions of custom-functions-runtime.debug.js.
// Loaded before any of Microsoft's files: both the runtime and office.js look
// for these globals when they load.
(function () {
  "use strict";

  const host = {
    nextInvocationId: 1,
    pending: {},        // invocationId -> resolve(result row)
    results: {},        // invocationId -> [invocationId, ok, value, errorCode?, ...]
    requests: [],       // every ProcessQuery request body the runtime sent (parsed)
    methods: [],        // every method the runtime invoked on the host: [object path name, method name]
    written: [],        // every property the add-in set: [property name, value] (Excel.run: cell.formulas = ...)
    unexpected: [],     // messages from the runtime that are not requests (none expected)
    workbookName: "Book1.xlsx",
  };
  window.__host = host;

  // -- 1. window.external.GetContext(): the object Excel for Windows injects into
  // the add-in's web view; OSF.InitializationHelper.getAppContext (excel-win32-16.01)
  // reads the app type, version, locale, requirement matrix and settings from it.
  const requirements = {
    // API sets of a recent Excel for Windows (chosen here, not read from an Excel); the
    // runtime sends results with SetInvocationArrayResults from CustomFunctions 1.7 on
    // (_executeSetResultsTask), xlwings asks for ExcelApi 1.12 (culture, date format)
    ExcelApi: "1.17", CustomFunctionsRuntime: "1.4", CustomFunctions: "1.9", SharedRuntime: "1.1",
    RibbonApi: "1.1", DialogApi: "1.2", IdentityAPI: "1.3", AddinCommands: "1.1",
  };
  const settings = { Read(keys, values) {} };  // no saved add-in settings (ClientSettingsManager.read)
  const context = {
    GetAppType: () => 1,                    // OSF.AppName.Excel
    GetSolutionRef: () => "kpi-e2e",
    GetAppVersionMajor: () => 16,
    GetAppVersionMinor: () => 1,
    GetAppUILocale: () => "en-US",
    GetAppDataLocale: () => "en-US",
    GetDocUrl: () => "",
    GetAppCapabilities: () => 0,
    GetActivationMode: () => 0,
    GetControlIntegrationLevel: () => 0,
    GetSolutionToken: () => "",
    GetSupportedMatrix: () => JSON.stringify(requirements),
    GetHostFullVersion: () => "16.0.17928.20114",
    GetInitialDisplayMode: () => 0,
    GetSettings: () => settings,
  };
  window.external = window.external || {};
  window.external.GetContext = () => context;

  // -- 2. _richApiNativeBridge: HostBridge.init (custom-functions-runtime.debug.js)
  // attaches to it at load time: it sets bridge.onMessageFromHost(text) (host ->
  // runtime) and calls bridge.sendMessageToHost(text) (runtime -> host). Every
  // Excel.RequestContext / CustomFunctionRequestContext sync becomes a type-1
  // message {id, type: 1, flags, message: {url: ".../ProcessQuery?flags=..", body}}
  // that the host answers with {id, type: 2, message: {statusCode, headers, body}}.
  const bridge = {
    onMessageFromHost: null,
    sendMessageToHost(text) {
      const msg = JSON.parse(text);
      if (msg.type !== 1) { host.unexpected.push(msg); return; }  // the runtime sends only requests
      const body = typeof msg.message.body === "string" ? JSON.parse(msg.message.body) : msg.message.body;
      host.requests.push(body);
      const results = answer(body);
      // answered asynchronously, as a real host does
      setTimeout(() => bridge.onMessageFromHost(JSON.stringify({
        id: msg.id, type: 2, message: { statusCode: 200, headers: {}, body: { Results: results } },
      })), 0);
    },
  };
  window._richApiNativeBridge = bridge;

  // -- 3. ProcessQuery: the request's Actions (ActionType 1 Instantiate, 2 Query,
  // 3 Method, 4 SetProperty, ...) against its ObjectPaths (ObjectPathType 1 the
  // global object, 2 a service object, 3 a method's result, 4 a property, ...);
  // every action is answered with {ActionId, Value} (ClientRequest.processResponse,
  // ServiceApiQueue.processActionResults). Query values use the wire names the
  // objects' _handleResult read ("Name", not "name").
  // The workbook the add-in sees: for Excel.RequestContext the global object is the workbook.
  host.selectedAddress = "Sheet1!C3";
  const model = {
    "": { Name: host.workbookName },                                  // xlwings: the caller's workbook
    "application.cultureinfo": { Name: "en-US" },                      // xlwings: getCultureInfoName
    "application.cultureinfo.datetimeformat": { ShortDatePattern: "M/d/yyyy" },  // xlwings: getDateFormat
    "getselectedrange().getcell()": { Address: host.selectedAddress },  // the task pane's "Insert"
  };
  host.model = model;
  function pathKey(paths, id) {
    const p = paths[id];
    if (!p || p.ObjectPathType === 1 || p.ObjectPathType === 2) return "";
    const parent = pathKey(paths, p.ParentObjectPathId);
    const part = (p.ObjectPathType === 3 ? p.Name + "()" : p.Name).toLowerCase();  // wire names: "CultureInfo"
    return parent ? parent + "." + part : part;
  }
  function answer(body) {
    const paths = body.ObjectPaths || {};
    return (body.Actions || []).map((action) => {
      const path = paths[action.ObjectPathId] || {};
      const target = path.Name || "";
      let value = null;
      if (action.ActionType === 2) {
        value = model[pathKey(paths, action.ObjectPathId)] || {};
      } else if (action.ActionType === 4) {
        host.written.push([action.Name, action.ArgumentInfo.Arguments[0]]);
      } else if (action.ActionType === 3) {
        host.methods.push([target, action.Name]);
        if (action.Name === "SetInvocationArrayResults") {
          // rows [invocationId, ok, value, errorCode?, outboundData] (_convertCustomFunctionInvocationResultToArray)
          for (const row of action.ArgumentInfo.Arguments[0]) {
            const id = row[0];
            host.results[id] = row;
            if (host.pending[id]) { host.pending[id](row); delete host.pending[id]; }
          }
        } else if (action.Name === "_GetEnabledFeatures") {
          value = [];  // no optional runtime features (CustomFunctions.isFeatureEnabled)
        }
        // anything else (SendTelemetryEvent, NotifyActionHandlerReady, the ready signal) is acknowledged with null
      }
      return { ActionId: action.Id, Value: value };
    });
  }

  // -- 4. An invocation: a type-3 message whose entries are
  // [messageCategory 1, messageType 1000 (invoke), targetId, message, id] and whose
  // message is JSON [invocationId, functionName, parameterValues, address, flags,
  // parameterAddresses] (HostBridge's onMessageFromHost, CustomFunctionProxy.
  // _batchInvocationEntries). flags: 1 cancelable, 2 streaming, 4 allow error
  // values, 8 rich data. Our metadata asks for the caller's and the parameters'
  // addresses (requiresAddress, requiresParameterAddresses): each argument is given
  // a range of its own shape on Sheet2, one column block after the other.
  function column(n) {
    let s = "";
    for (n += 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
    return s;
  }
  function parameterAddresses(args) {
    let col = 0;
    return args.map((a) => {
      if (a === null || a === undefined) return "";
      const rows = Array.isArray(a) ? a.length : 1;
      const cols = Array.isArray(a) && Array.isArray(a[0]) ? a[0].length : 1;
      const first = column(col), last = column(col + cols - 1);
      col += cols;
      return rows === 1 && cols === 1 ? `Sheet2!${first}1` : `Sheet2!${first}1:${last}${rows}`;
    });
  }
  host.invoke = function (name, args, { address = "Sheet1!B2", flags = 0, timeoutMs = 30000 } = {}) {
    const invocationId = host.nextInvocationId++;
    const done = new Promise((resolve) => { host.pending[invocationId] = resolve; });
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs));
    const message = [invocationId, name, args, address, flags, parameterAddresses(args)];
    bridge.onMessageFromHost(JSON.stringify({
      type: 3, message: { entries: [[1, 1000, 0, JSON.stringify(message), invocationId]] },
    }));
    return Promise.race([done, timeout]).then((row) => {
      if (row === null) return { invocationId, timedOut: true };
      return { invocationId, ok: row[1], value: row[2], errorCode: row[1] ? null : row[3] };
    });
  };
})();
