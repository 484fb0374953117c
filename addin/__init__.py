"""The Excel add-in: xlwings adapters for every registry function, the Office.js
backend (``kpi serve``), the xlwings Lite export (``kpi lite``) and the task pane.

Importing this package imports nothing heavy; see :mod:`addin.adapters`,
:mod:`addin.server`; formula names and the Excel calling convention are in
:mod:`kpi_functions.excel`.
"""
