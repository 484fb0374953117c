"""Where popular articles on these KPIs go wrong: one record per correction, written once.

Each :class:`Correction` names the functions it concerns. The registry attaches
it to their specs (:attr:`~._registry.KPISpec.cautions`) when they register, and
from there it is rendered wherever a user reads about a function: a Warnings
section of the docstring (``help()``), a short pointer in the description Excel
shows (when it fits Excel's 255 characters) and a note in the help of the
argument it concerns, ``docs/functions.md``, ``kpi functions NAME``, the task
pane and the Notes sheet of every report that uses the function. Nothing else
writes these texts.

The worked MRR churn example, per customer (the rows of
:data:`MRR_CHURN_EXAMPLE`), as the library computes it:

>>> import kpi_functions as k
>>> start = [s for _, s, _ in MRR_CHURN_EXAMPLE]
>>> end = [e for _, _, e in MRR_CHURN_EXAMPLE]
>>> sum(start), sum(end)
(17000, 14600)
>>> round(k.churn_revenue(start, end), 4), round(k.churn_revenue(start, end, net=True), 4)
(0.1941, 0.1588)
>>> round(k.churn_revenue(17000, 14600), 4)  # two totals: the article's net change, churn hidden
0.1412
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

__all__ = ["CORRECTIONS", "MRR_CHURN_EXAMPLE", "Correction", "arg_help", "corrections_for", "docstring_with_warnings",
           "excel_description"]

#: Excel's limit on a function's description and on each argument's help (the classic function wizard's)
EXCEL_HELP_LIMIT = 255


@dataclass(frozen=True)
class Correction:
    """One error popular articles make about a KPI, and what is right.

    ``right`` states the correct definition; ``wrong`` what some articles
    print and why it is wrong; ``pointer`` is the short form added to the
    description Excel shows; ``example`` a worked example (may be empty): a
    heading line, then one line per step;
    ``arg_notes`` maps a function's Excel name to {argument: note}, a note
    appended to that argument's help; ``functions`` lists the Excel names of
    the functions the correction concerns.
    """

    key: str
    topic: str
    right: str
    wrong: str
    pointer: str
    functions: tuple[str, ...]
    example: tuple[str, ...] = ()
    arg_notes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The caution in one paragraph: what is right, then what the articles print."""
        return f"{self.right} {self.wrong}"

    @property
    def example_text(self) -> str:
        """The worked example as plain text: its heading, then one ``• step`` a line ("" without one)."""
        return "\n".join([self.example[0], *(f"• {step}" for step in self.example[1:])]) if self.example else ""


#: The article's "revenue churn" example, one row per customer: (customer, MRR at the start, MRR at the end).
#: Starting MRR 17,000; churned 2,900 (A, B), contraction 400 (C), expansion 600 (D), new 300 (F); ending 14,600.
MRR_CHURN_EXAMPLE: tuple[tuple[str, int, int], ...] = (
    ("A", 2000, 0),
    ("B", 900, 0),
    ("C", 1500, 1100),
    ("D", 2400, 3000),
    ("E", 10200, 10200),
    ("F", 0, 300),
)

_PER_CUSTOMER = "; ".join(f"{c} {s:,} → {e:,}" for c, s, e in MRR_CHURN_EXAMPLE)

#: every correction, by key
CORRECTIONS: dict[str, Correction] = {
    c.key: c
    for c in (
        Correction(
            key="roas",
            topic="ROAS",
            right="ROAS = ad revenue ÷ ad spend: 4.0 means 4 of revenue for every 1 spent.",
            wrong=("Some articles print it upside down, as ad spend ÷ revenue: that ratio is the advertising "
                   "cost of sale (ACoS), the reciprocal of ROAS (a ROAS of 4 is an ACoS of 25 %)."),
            pointer="ROAS = revenue ÷ spend (not spend ÷ revenue, that is ACoS).",
            functions=("KPI_ROAS",),
            arg_notes={"KPI_ROAS": {"ad_revenue": "the numerator: ROAS = revenue ÷ spend"}},
        ),
        Correction(
            key="roi",
            topic="ROI",
            right=("ROI = (revenue − cost) ÷ cost = profit ÷ cost: the gain is the revenue the investment "
                   "brought, and the cost is taken off once."),
            wrong=("Some articles print ROI = profit − cost / cost: without the parentheses that reads "
                   "profit − (cost ÷ cost) = profit − 1, and subtracting the cost from a profit counts the cost "
                   "twice."),
            pointer="ROI = (revenue − cost) ÷ cost = profit ÷ cost, never (profit − cost) ÷ cost.",
            functions=("KPI_ROI", "KPI_ROI_CPA"),
            arg_notes={"KPI_ROI": {"gain": "revenue, not profit: a profit already has the cost taken off"},
                       "KPI_ROI_CPA": {"conversion_value": "revenue per conversion, not profit"}},
        ),
        Correction(
            key="mrr_churn",
            topic="MRR churn",
            right=("Gross MRR churn = (churned MRR + contraction MRR) ÷ starting MRR; net MRR churn also "
                   "subtracts expansion MRR; both over the customers paying at the start, so new customers "
                   "never enter them. KPI_CHURN_REVENUE needs each customer's MRR at the start and the end "
                   "(two columns): given only two totals it sees one customer whose MRR fell, so churn hidden "
                   "by new MRR stays hidden."),
            wrong=("Some articles call (MRR at start − MRR at end) ÷ MRR at start \"revenue churn\": that is "
                   "the net MRR change with its sign flipped, and the MRR of new customers and expansions "
                   "hides churned MRR in it."),
            pointer=("Give each customer's MRR, not two totals: (MRR start − MRR end) ÷ MRR start is the net "
                     "MRR change, not churn."),
            functions=("KPI_CHURN_REVENUE",),
            example=(
                "Worked example, the article's 17,000 → 14,600:",
                ("starting MRR 17,000; churned 2,900, contraction 400, expansion 600, new 300; ending MRR "
                "17,000 − 2,900 − 400 + 600 + 300 = 14,600"),
                ("the article's \"revenue churn\" (17,000 − 14,600) ÷ 17,000 = 14.12 % nets expansion and new "
                "MRR against the losses"),
                "gross MRR churn = (2,900 + 400) ÷ 17,000 = 19.41 %",
                "net MRR churn = (2,900 + 400 − 600) ÷ 17,000 = 15.88 %",
                (f"per customer, start and end MRR in B2:C7 ({_PER_CUSTOMER}): =KPI_CHURN_REVENUE(B2:C7) gives "
                "19.41 %, =KPI_CHURN_REVENUE(B2:C7, TRUE) 15.88 %"),
                "two totals: =KPI_CHURN_REVENUE(17000, 14600) gives 14.12 %, the churn hidden",
            ),
            arg_notes={"KPI_CHURN_REVENUE": {
                "start": "per customer, not a total: two totals hide churn behind new MRR",
            }},
        ),
        Correction(
            key="nps_scale",
            topic="NPS scale",
            right=("NPS is asked on a 0–10 scale: detractors answer 0–6, passives 7–8, promoters 9–10; "
                   "NPS = % promoters − % detractors, in points (−100…100)."),
            wrong=("Some articles print the scale as 1–10: a 0 is a valid answer (a detractor), and a survey "
                   "asked on 1–10 is not NPS."),
            pointer="Scores 0–10, not 1–10: 0–6 detractors, 7–8 passives, 9–10 promoters.",
            functions=("KPI_NPS", "KPI_NPS_BREAKDOWN", "KPI_NPS_MOE"),
            arg_notes={name: {"scores": "0 is a detractor; the scale is 0–10, not 1–10"}
                       for name in ("KPI_NPS", "KPI_NPS_BREAKDOWN", "KPI_NPS_MOE")},
        ),
        Correction(
            key="clv_cac",
            topic="CLV and CAC",
            right=("CLV (LTV) is the value a customer brings over its lifetime (e.g. ARPA × gross margin ÷ "
                   "churn rate); what it costs to win a customer is the customer acquisition cost, CAC "
                   "(KPI_CAC), and LTV:CAC compares the two."),
            wrong="Some articles describe CLV as the cost of acquiring a customer: that is CAC, not CLV.",
            pointer="CLV is the value a customer brings; the cost of winning one is CAC.",
            functions=("KPI_CLV", "KPI_CLV_LIFESPAN", "KPI_CLV_BGNBD", "KPI_CAC", "KPI_LTV_CAC"),
        ),
    )
}


def corrections_for(excel_name: str) -> tuple[Correction, ...]:
    """The corrections that concern one function, in table order."""
    return tuple(c for c in CORRECTIONS.values() if excel_name in c.functions)


def arg_help(excel_name: str, arg: str, help: str, corrections: tuple[Correction, ...]) -> str:
    """An argument's help with the notes the corrections add to it (``help — note``)."""
    notes = [c.arg_notes[excel_name][arg] for c in corrections if arg in c.arg_notes.get(excel_name, {})]
    return " — ".join([help, *notes])


def excel_description(summary: str, corrections: tuple[Correction, ...]) -> str:
    """The description Excel shows: the summary, then each correction's pointer that still fits the limit."""
    out = summary
    for c in corrections:
        longer = f"{out} {c.pointer}"
        if len(longer) <= EXCEL_HELP_LIMIT:
            out = longer
    return out


#: numpydoc sections that follow Warnings (it goes before the first of them present)
_AFTER_WARNINGS = ("See Also", "Notes", "References", "Examples")


def _header_at(lines: list[str], i: int) -> str | None:
    """The numpydoc section title whose header starts at line ``i``, else None."""
    if i + 1 >= len(lines):
        return None
    title, rule = lines[i].strip(), lines[i + 1].strip()
    return title if title in _AFTER_WARNINGS and rule == "-" * len(title) else None


def docstring_with_warnings(doc: str, corrections: tuple[Correction, ...]) -> str:
    """``doc`` with a numpydoc Warnings section holding the corrections' texts.

    The section goes before See Also, Notes, References or Examples (the first
    present), indented like that header; without any of them it is appended.
    """
    if not corrections:
        return doc
    lines = doc.split("\n")
    at = next((i for i in range(len(lines)) if _header_at(lines, i)), None)
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())] if at is not None else "    "
    body = ["Warnings", "--------"]
    width = 76 - len(indent)
    for c in corrections:
        if len(body) > 2:
            body.append("")
        body += textwrap.wrap(c.text, width, break_on_hyphens=False)
        if c.example:
            body += ["", *textwrap.wrap(c.example[0], width, break_on_hyphens=False), ""]
            for step in c.example[1:]:
                body += textwrap.wrap(step, width, initial_indent="- ", subsequent_indent="  ",
                                      break_on_hyphens=False)
    section = [indent + ln if ln else "" for ln in body] + [""]
    if at is None:
        return doc.rstrip() + "\n\n" + "\n".join(section) + indent
    return "\n".join(lines[:at] + section + lines[at:])
