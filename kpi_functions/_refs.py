"""References cited by several KPIs, written once: docstring parts for :func:`~._docstring.shared`.

A docstring line ``{skok_1}`` stands for the whole entry (its number included);
:data:`cite` fills them in. The pair functions' :data:`~._flows.pair_docs`
fills them too.
"""

from __future__ import annotations

from ._docstring import shared

__all__ = ["REFERENCES", "cite"]

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
#: decorator: fill a docstring's shared references
cite = shared(**REFERENCES)
