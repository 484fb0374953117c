"""Finding functions in the catalog for ``kpi functions``: categories in any case, a word in the
names and summaries, close matches for a typo."""

from __future__ import annotations

import difflib
import re

import kpi_functions as k

__all__ = ["find_category", "search", "suggestions"]


def find_category(text: str) -> str | None:
    """The category ``text`` names: its name in any case, or the start of exactly one
    (``marketing``, ``churn``, ``customer``); None when it names none."""
    want = " ".join(text.split()).casefold()
    if not want:
        return None
    for cat in k.CATEGORIES:
        if cat.casefold() == want:
            return cat
    starts = [c for c in k.CATEGORIES if c.casefold().startswith(want)]
    return starts[0] if len(starts) == 1 else None


def search(word: str, category: str | None = None) -> list[k.KPISpec]:
    """The functions (of ``category``, or all) whose Excel or Python name, alias or summary contains
    ``word`` (any case; ``churn`` finds KPI_CHURN_RATE and "Gross MRR churn…"), in catalog order."""
    want = " ".join(word.split()).casefold()
    if not want:
        return []
    pattern = re.compile(re.escape(want))
    out = []
    for s in k.specs(category):
        text = " ".join((s.excel_name, s.name, *s.aliases, s.summary)).casefold()
        if pattern.search(text) or pattern.search(text.replace("_", " ")):
            out.append(s)
    return out


def suggestions(name: str, n: int = 3) -> list[str]:
    """Excel names close to a mistyped ``name`` (``NPSS`` -> ``KPI_NPS``), best first (difflib)."""
    key = name.strip().lstrip("=").upper().rsplit(".", 1)[-1]
    bare = key.removeprefix("KPI_")
    names = {s.excel_name[4:]: s.excel_name for s in k.REGISTRY.values()}
    names.update({a.upper(): s.excel_name for s in k.REGISTRY.values() for a in s.aliases})
    close = difflib.get_close_matches(bare, list(names), n=n, cutoff=0.6)
    return list(dict.fromkeys(names[c] for c in close))
