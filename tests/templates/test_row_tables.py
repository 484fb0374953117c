"""Row tables are kept by column (their column templates, one list of values per column), not as one cell
object per row: every cell's value and formula text must be what the template substituted for that row
gives — the definition, :meth:`Node.substitute`, evaluated and rendered as each row's own formula."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from workbook_templates import formulas as F
from workbook_templates.build.rendering import RowContext, column_texts
from workbook_templates.builder import evaluate
from workbook_templates.context import scope
from workbook_templates.reports import REPORTS


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, F.ExcelError) or isinstance(b, F.ExcelError):
        return isinstance(a, F.ExcelError) and isinstance(b, F.ExcelError) and a.code == b.code
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=0.0) or a == b
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("key", sorted(REPORTS))
def test_every_row_cell_is_its_substituted_template(sample_tables, key):
    spec = REPORTS[key]
    b = evaluate(spec, scope(sample_tables, spec.datasets, None, None, "test"))
    checked = 0
    for bd in b.blocks.values():
        sheet_ctx = b.on_sheet(bd.spec.sheet)
        for j, col in enumerate(bd.spec.columns):
            texts = column_texts(col.expr, sheet_ctx, bd) if isinstance(col.expr, F.Node) else None
            for i, name in enumerate(bd.cells[col.key]):
                ref = b.cells[name]  # made from its name: the template substituted for row i
                assert (ref.sheet, ref.row, ref.col) == (bd.spec.sheet, bd.first_row + i, bd.spec.col + j)
                got = b.value(name)
                if ref.node is None:
                    want = ref.const
                    want = float(want) if isinstance(want, int) and not isinstance(want, bool) else want
                else:
                    want = b._cell_result(name, ref.node, ref.node.evaluate(b.ctx))
                    text = ref.node.render(sheet_ctx)
                    if isinstance(col.expr, F.Node):
                        assert col.expr.render(RowContext(sheet_ctx, bd, i)) == text, name
                        if texts is not None:
                            assert texts[i] == text, name
                assert _same(got, want), (name, got, want)
                checked += 1
    assert checked == sum(len(bd.keys) * len(bd.spec.columns) for bd in b.blocks.values())


def test_cells_are_found_by_name_and_not_kept(sample_tables):
    spec = REPORTS["retention_cohorts"]
    b = evaluate(spec, scope(sample_tables, spec.datasets, None, None, "test"))
    bd = b.blocks["health"]
    n = len(bd.keys)
    assert n > 10
    assert not any(name.startswith("health.") for name in b.cells.placed)  # no object per row-table cell
    assert "health.mrr.0" in b.cells and f"health.mrr.{n - 1}" in b.cells
    assert f"health.mrr.{n}" not in b.cells and "health.nosuch.0" not in b.cells and "nosuch.mrr.0" not in b.cells
    with pytest.raises(KeyError):
        b.cells[f"health.mrr.{n}"]
    assert len(b.cells) == len(b.cells.placed) + sum(len(x.keys) * len(x.spec.columns) for x in b.blocks.values())
    assert list(bd.cells["mrr"])[:2] == ["health.mrr.0", "health.mrr.1"] and bd.cells["mrr"][-1] == f"health.mrr.{n - 1}"
    # a value set from outside the build (the cluster's per-customer MRR) is what the cell holds
    b.values["health.mrr.1"] = 123.0
    assert b.value("health.mrr.1") == 123.0 and b.values.get("health.mrr.1") == 123.0
    col = b.block_value("health", "customer")
    assert list(col) == [b.value(f"health.customer.{i}") for i in range(n)]
    assert isinstance(col, pd.Series)


@pytest.mark.parametrize("layout", ["standard", "large", "left out"])
@pytest.mark.parametrize("key", sorted(REPORTS))
def test_row_columns_written_as_blocks_are_the_cells_written_one_by_one(sample_tables, tmp_path, monkeypatch,
                                                                         key, layout):
    """The block writer's file is the per-cell writer's, part for part and byte for byte, and its manifest lists
    the same cells — live formulas, and (``left out``: a grid of 1,000 rows leaves the MRR table out) the stored
    values of the columns that read a left-out table."""
    import zipfile

    from workbook_templates import builder
    from workbook_templates.build import writer as W

    if layout == "left out":
        monkeypatch.setattr(builder, "MAX_ROWS", 1000)
        layout = "large"

    spec = REPORTS[key]
    data = scope(sample_tables, spec.datasets, None, None, "test")
    fast = W.Writer(evaluate(spec, data, layout=layout), tmp_path / "blocks.xlsx").write()
    monkeypatch.setattr(W, "write_formula_columns", lambda w, bd: set())
    slow = W.Writer(evaluate(spec, data, layout=layout), tmp_path / "cells.xlsx").write()
    with zipfile.ZipFile(tmp_path / "blocks.xlsx") as a, zipfile.ZipFile(tmp_path / "cells.xlsx") as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    key_of = lambda c: (c.sheet, c.cell)
    assert sorted(map(key_of, fast.cells)) == sorted(map(key_of, slow.cells))
    want = {key_of(c): c for c in slow.cells}
    for c in fast.cells:
        w = want[key_of(c)]
        assert (c.kind, c.fmt, c.formula) == (w.kind, w.fmt, w.formula), c
        assert _same(c.value, w.value) or c.value == w.value, c
    assert sum(1 for _ in fast.cells) == len(fast.cells)
    if fast.large_data is not None and "mrr" in fast.large_data and key == "retention_cohorts":
        assert any(c.kind == "stored" for c in fast.cells)  # the per-customer columns over the MRR table
