"""Build the template workbooks in ``workbook_templates/templates/`` from the report specs.

``python -m workbook_templates.make_templates`` rewrites them; a test checks
that the committed files hold exactly what the builder produces. A template
is the report built from the bundled sample data (latest month, classic
add-in formulas): a ready example whose input tables a report owner replaces
with their own data.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["SOURCE_LABEL", "build_templates"]

SOURCE_LABEL = "bundled sample data (synthetic SaaS company)"


def build_templates(out_dir: Path | None = None, keys: list[str] | None = None) -> dict[str, Path]:
    from .batch import SAMPLE_DIR, TEMPLATES_DIR, atomic_build
    from .context import scope
    from .data import load_all
    from .reports import REPORTS

    out_dir = Path(out_dir) if out_dir is not None else TEMPLATES_DIR
    tables, errors = load_all(SAMPLE_DIR)
    if errors:
        raise RuntimeError(f"the bundled sample data does not load: {errors}")
    out = {}
    for key in keys or list(REPORTS):
        spec = REPORTS[key]
        data = scope(tables, spec.datasets, None, None, SOURCE_LABEL)
        out[key] = atomic_build(spec, data, out_dir / f"{key}.xlsx", "classic").path
    return out


def main() -> None:  # pragma: no cover
    for p in build_templates(Path(sys.argv[1]) if len(sys.argv) > 1 else None).values():
        print(p)


if __name__ == "__main__":  # pragma: no cover
    main()
