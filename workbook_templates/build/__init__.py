"""The report builder, one module per job (the entry points are in :mod:`workbook_templates.builder`).

- :mod:`.model` — what a build works with and produces: cell, spill and row-table definitions, the
  manifest, the errors, the names of the add-in probe and the values sheet.
- :mod:`.styles` — number formats (by registry unit and column type) and the cell styles.
- :mod:`.layout` — placing a spec's items, spilled tables and row tables on their sheets; Excel's grid.
- :mod:`.evaluation` — the values: the formula context's value side (cells, spills, tables, KPI calls).
- :mod:`.rendering` — formula text: addresses and ranges as seen from the sheet a formula is written on
  (the sheet is passed explicitly, one :class:`~.rendering.SheetContext` per sheet).
- :mod:`.writer` — writing the evaluated report into a workbook, cell by cell.
- :mod:`.charts` — the charts; :mod:`.notes` — the Notes sheet's prose.
"""
