"""Where the running report code and its templates come from, in words (``kpi templates``).

A ``pip install .`` copies the package into site-packages; a later ``pip install -e .`` (or a
``PYTHONPATH`` pointing at a clone) makes the same command read the templates of a source
checkout, where a regenerated or edited template changes every report. ``kpi templates`` says
which it is, so that nothing points into a checkout unannounced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["DISTRIBUTION", "template_origin"]

#: the distribution that installs this package (pyproject.toml)
DISTRIBUTION = "kpi-addin"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _distribution() -> Any:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        return distribution(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def template_origin(package_dir: Path, dist: Any = "installed") -> str:
    """How the package at ``package_dir`` got there: an installed copy, an editable install of
    a checkout, or a source tree found on the Python path instead of the installed package.

    ``dist`` is the :mod:`importlib.metadata` distribution (default: the installed one; None:
    not installed) — a parameter so that each case can be tested."""
    if dist == "installed":
        dist = _distribution()
    if dist is None:
        return (f"a source tree ({package_dir.parent}), not an installed package: {DISTRIBUTION} is not "
                "installed in this Python")
    version = dist.version
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except (ValueError, OSError):
        direct = {}
    editable = bool(direct.get("dir_info", {}).get("editable"))
    url = str(direct.get("url", ""))
    source = Path(url[len("file://"):]) if url.startswith("file://") else None
    if editable and source is not None:
        if _inside(package_dir, source):
            return (f"the source checkout {source} ({DISTRIBUTION} {version} is an editable install: "
                    "templates changed there change every report)")
        return (f"a source tree ({package_dir.parent}) found first on the Python path, not the editable "
                f"install of {DISTRIBUTION} {version} from {source}")
    site = Path(str(dist.locate_file("")))
    if _inside(package_dir, site):
        return f"the installed package {DISTRIBUTION} {version} ({site})"
    return (f"a source tree ({package_dir.parent}) found first on the Python path, not the installed "
            f"{DISTRIBUTION} {version} in {site}")
