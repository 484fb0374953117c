"""Docstring parts several KPIs share, written once (see :func:`~._docstring.shared`).

References cited alike (a line ``{skok_1}`` stands for the whole entry, its
number included), the opening of a Raises section for number arguments
(``{number_raises}``) and the sections of the per-customer MRR pair
functions (``{pair_parameters}``, ``{pair_start}``, ``{pair_raises}``).
The registry's :func:`~._registry.kpi` decorator fills them into every KPI's
docstring (:data:`shared_parts`), so help() and the docs read them in full.
"""

from __future__ import annotations

from ._docstring import shared

__all__ = ["PARTS", "REFERENCES", "shared_parts"]

#: part name -> one numbered entry of a References section
REFERENCES = {
    "skok_1": """
        .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
           What Matters", forEntrepreneurs, https://www.forentrepreneurs.com/saas-metrics-2/
    """,
    "skok_churn_1": """
        .. [1] D. Skok, "SaaS Metrics 2.0 – A Guide to Measuring and Improving
           What Matters", forEntrepreneurs (customer churn),
           https://www.forentrepreneurs.com/saas-metrics-2/
    """,
    "chartmogul_expansion_1": """
        .. [1] ChartMogul, "Data Table and MRR Movements" (expansion MRR),
           https://help.chartmogul.com/hc/en-us/articles/203299912-Data-Table-and-MRR-Movements-
    """,
    "gupta_lehmann_2": """
        .. [2] S. Gupta and D. R. Lehmann, "Customers as assets", *Journal of
           Interactive Marketing* 17(1), 2003, 9–24.
    """,
    "reichheld_1": """
        .. [1] F. F. Reichheld, "The One Number You Need to Grow", *Harvard
           Business Review* 81(12), December 2003, 46–54.
    """,
    "fader_hardie_1": """
        .. [1] P. S. Fader and B. G. S. Hardie, "How to Project Customer
           Retention", Journal of Interactive Marketing 21(1), 76–90, 2007.
    """,
}
#: all the parts, by name
PARTS = {
    **REFERENCES,
    # what reading a summed or single number argument raises first (``_coerce.total``, ``option_number``)
    "number_raises": """
        Raises
        ------
        KPIInputError
            Text or a boolean where a number is needed.
    """,
    # the (start, end) pair functions (kpi_functions._flows.pair_kpi)
    "pair_parameters": """
        Parameters
        ----------
        start : range
            MRR of each customer at the start of the period (blank = 0), or one
            two-column range with start and end.
        end : range, optional
            MRR of the same customers at the end, aligned row by row (blank = 0).
    """,
    "pair_start": """
        start : range
            MRR of each customer at the start of the period (blank = 0), or one
            two-column range with start in the first column and end in the second.
    """,
    "pair_raises": """
        Raises
        ------
        KPIInputError
            Text or a boolean in the MRR, or ranges of different sizes.
        KPIDomainError
            A negative MRR.
    """,
}
#: decorator: fill a docstring's shared parts
shared_parts = shared(**PARTS)
