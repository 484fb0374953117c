// KPI add-in: replaces xlwings-server's ribbon.js. The add-in's only ribbon
// button opens the task pane (a ShowTaskpane action), so no ribbon functions
// are registered here.
