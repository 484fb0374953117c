"""The package structure, read from the code: who may import whom, and how long a module may grow.

The four parts stand on each other one way:

- ``kpi_functions`` (the library) imports none of the other parts;
- ``addin`` and ``workbook_templates`` import ``kpi_functions`` only, never each other;
- ``kpi_cli`` composes them.

Imports are read with :mod:`ast`: ``import x``, ``from x import y``, relative imports, and
module names given as string constants (``importlib.import_module("x")``,
``importlib.util.find_spec("x")``), so a late or lazy import counts as much as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("kpi_functions", "addin", "workbook_templates", "kpi_cli")
#: which other parts each part may import
ALLOWED = {
    "kpi_functions": set(),
    "addin": {"kpi_functions"},
    "workbook_templates": {"kpi_functions"},
    "kpi_cli": {"kpi_functions", "addin", "workbook_templates"},
}
#: a source module longer than this holds more than one job
MAX_LINES = 700


def _modules(part: str) -> list[Path]:
    return sorted(p for p in (ROOT / part).rglob("*.py") if ".venv" not in p.parts)


def _string_imports(node: ast.Call) -> list[str]:
    """Module names passed as strings to importlib's import functions."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in {"import_module", "find_spec", "__import__"}:
        return []
    return [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def imported_parts(path: Path, part: str) -> dict[str, int]:
    """The other parts a module imports, each with the first line that does."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, int] = {}

    def note(module: str, line: int) -> None:
        top = module.split(".")[0]
        if top in PARTS and top != part:
            found.setdefault(top, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                note(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            note(node.module, node.lineno)
        elif isinstance(node, ast.Call):
            for module in _string_imports(node):
                note(module, node.lineno)
    return found


def _graph() -> dict[str, dict[str, str]]:
    """part -> {imported part: 'file:line' of the first import}."""
    graph: dict[str, dict[str, str]] = {p: {} for p in PARTS}
    for part in PARTS:
        for path in _modules(part):
            for other, line in imported_parts(path, part).items():
                graph[part].setdefault(other, f"{path.relative_to(ROOT)}:{line}")
    return graph


@pytest.mark.parametrize("part", PARTS)
def test_parts_depend_one_way(part: str) -> None:
    wrong = {other: where for other, where in _graph()[part].items() if other not in ALLOWED[part]}
    assert not wrong, f"{part} must not import {sorted(wrong)}: first at {wrong}"


def test_no_circles() -> None:
    graph = {p: set(d) for p, d in _graph().items()}

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    circles = [p for p in PARTS if reaches(p, p)]
    assert not circles, f"import circles through {circles}: {graph}"


def test_the_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The check above can fail: each way of importing another part is seen."""
    src = tmp_path / "m.py"
    src.write_text(
        "import addin.adapters\n"
        "from workbook_templates import builder\n"
        "from . import sibling\n"
        "def late():\n"
        "    import kpi_cli.main\n"
        "    importlib.util.find_spec('workbook_templates')\n"
        "    importlib.import_module('addin.server')\n",
        encoding="utf-8",
    )
    assert imported_parts(src, "kpi_functions") == {"addin": 1, "workbook_templates": 2, "kpi_cli": 5}


def test_modules_have_one_job() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for part in PARTS
        for p in _modules(part)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
