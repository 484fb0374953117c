"""The Notes sheet of a built report says where popular articles get its KPIs wrong.

Read from the workbooks the demo builds (openpyxl), as a report owner would open them: every KPI of the report
that has a caution (kpi_functions._corrections) gets its row — the report's functions it concerns, what is
right, what the articles print — and the churn correction its worked example; a report without such a KPI
has no caution section.
"""

from __future__ import annotations

import re

import openpyxl
import pytest

import kpi_functions as k
from workbook_templates.reports import REPORTS

KEYS = list(REPORTS)
SECTION = "Cautions: where popular articles go wrong"


def _notes(path) -> list[list]:
    wb = openpyxl.load_workbook(path)
    return [[c.value for c in r] for r in wb["Notes"].iter_rows()]


def _kpis(rows: list[list]) -> list[str]:
    """The functions the KPI definitions section lists (its first column is each one's signature)."""
    start = next(i for i, r in enumerate(rows) if r[0] == "KPI definitions") + 2
    out = []
    for r in rows[start:]:
        if not r[0]:
            break
        out.append(re.match(r"(KPI_\w+)\(", r[0]).group(1))
    return out


@pytest.mark.parametrize("key", KEYS)
def test_notes_sheet_carries_the_cautions_of_the_reports_kpis(demo, key):
    rows = _notes(demo[key].path)
    used = _kpis(rows)
    assert used, key
    want: dict[str, list[str]] = {}
    for name in used:
        for c in k.get(name).cautions:
            want.setdefault(c.key, []).append(name)
    titles = [r[0] for r in rows]
    if not want:
        assert SECTION not in titles
        return
    at = titles.index(SECTION)
    end = titles.index("Input tables", at)  # the input tables' section (the About section has a row so named too)
    assert titles.index("KPI definitions") < at
    assert rows[at + 1][:3] == ["Topic and functions", "What is right", "What some articles print"]
    body = rows[at + 2: end]
    for key_, names in want.items():
        c = next(c for n in names for c in k.get(n).cautions if c.key == key_)
        row = next((r for r in body if r[0] == f"{c.topic}: {', '.join(names)}"), None)
        assert row is not None, (key, c.key, [r[0] for r in body])
        assert row[1] == c.right and row[2] == c.wrong
        if c.example:
            ex = body[body.index(row) + 1]
            assert ex[0] == c.example[0]
            assert ex[1].split("\n") == [f"• {step}" for step in c.example[1:]]


def test_every_correction_reaches_the_notes_of_some_report(demo):
    seen = set()
    for key in KEYS:
        text = "\n".join(str(v) for r in _notes(demo[key].path) for v in r if v is not None)
        for name in _kpis(_notes(demo[key].path)):
            for c in k.get(name).cautions:
                assert c.right in text and c.wrong in text
                seen.add(c.key)
    assert seen == {"roas", "roi", "mrr_churn", "nps_scale", "clv_cac"}
    # the SaaS dashboard's churn caution shows the article's 14.12 % next to the real 19.41 % and 15.88 %
    text = "\n".join(str(v) for r in _notes(demo["saas_dashboard"].path) for v in r if v is not None)
    for figure in ("17,000 → 14,600", "14.12 %", "19.41 %", "15.88 %", "=KPI_CHURN_REVENUE(B2:C7)"):
        assert figure in text
