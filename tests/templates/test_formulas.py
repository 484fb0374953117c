"""The formula model's contract with the builder: :class:`formulas.Ctx` declares every method a node calls.

The builder's formula context is :class:`workbook_templates.build.rendering.SheetContext` (one per sheet
a formula is written on). ``_builder_is_a_ctx`` is the static check (``mypy tests/templates/test_formulas.py``
fails when it stops conforming); the tests below are the same check at
run time, plus a scan of the nodes' source so a new ``ctx.<method>`` call cannot
go undeclared.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import get_type_hints

from workbook_templates import formulas as F
from workbook_templates.build.rendering import SheetContext
from workbook_templates.formulas import Ctx

FORMULAS_DIR = Path(F.__file__).parent


def _builder_is_a_ctx(b: SheetContext) -> Ctx:
    return b  # mypy: the builder's context conforms to the Ctx protocol


def _ctx_methods() -> set[str]:
    return {n for n, v in vars(Ctx).items() if not n.startswith("_") and callable(v)}


def _ctx_calls() -> dict[str, set[str]]:
    """``ctx.<attribute>`` used anywhere in the formula package -> the modules using it."""
    found: dict[str, set[str]] = {}
    for path in sorted(FORMULAS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ctx":
                found.setdefault(node.attr, set()).add(path.name)
    return found


def test_every_ctx_call_in_the_nodes_is_declared_on_the_protocol():
    calls = _ctx_calls()
    assert calls, "the scan found no ctx.<method> calls"
    declared = _ctx_methods() | set(get_type_hints(Ctx))
    missing = {name: where for name, where in calls.items() if name not in declared}
    assert not missing, f"called on ctx but not declared on formulas.Ctx: {missing}"


def test_the_protocol_declares_the_methods_the_nodes_call_and_no_others():
    assert _ctx_methods() == set(_ctx_calls()) - set(get_type_hints(Ctx))


def test_the_builder_has_every_ctx_method_with_the_protocol_parameters():
    assert "sheet" in get_type_hints(Ctx)
    for name in sorted(_ctx_methods()):
        impl = getattr(SheetContext, name, None)
        assert callable(impl), f"SheetContext has no method {name}"
        want = list(inspect.signature(getattr(Ctx, name)).parameters)
        got = list(inspect.signature(impl).parameters)
        assert got == want, f"SheetContext.{name}{got} vs Ctx.{name}{want}"
