"""The benchmark suite: what users wait for, timed beside the alternatives they would use.

Run from the project root::

    python -m benchmarks                  # every group, full sizes (a few minutes)
    python -m benchmarks --quick          # tiny sizes: checks that everything runs
    python -m benchmarks --only scalars tables
    python -m benchmarks --list           # the groups and what they time

Every figure is measured in the same run as its baseline (runs interleaved,
median of several), printed as a table and written to ``docs/benchmarks.md``
with the machine, the library versions and the ratio to the baseline. The
baselines compute the same numbers as the project (checked before timing), so
a ratio compares like with like.

Groups: ``scalars`` (NPS, CSAT, MRR churn, NRR on 1,000,000 values),
``tables`` (MRR movements and cohort retention on 1,000,000 rows, MRR schedule
of 100,000 subscriptions, against DuckDB and naive pandas), ``models``
(BG/NBD + Gamma-Gamma fits), ``server`` (custom-function calls over HTTP to
``kpi serve``, latency and throughput), ``reports`` (``kpi demo`` against bare
XlsxWriter) and ``build`` (``kpi build --by segment``: 200 workbooks, local
processes and Dask).
"""
