async function placeholder_function_name() {
  kpiHookRequests();
  return kpiResult(await base({ funcName: "placeholder_function_name", isStreaming: false, isCached: false, callerScoped: false }, ...arguments));
}
CustomFunctions.associate("placeholder_function_name", placeholder_function_name);
