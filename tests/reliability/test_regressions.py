"""Regression tests for the bugs the fuzzers found, one minimal case each.

Each test names what the fuzzer generated and what went wrong before the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k


# ------------------------------------------------------------ pd.NA is a blank
@pytest.mark.parametrize("cells", [[pd.NA], [pd.NA, 5], [[pd.NA, 0.0]], [[5, pd.NA], [pd.NA, 3]]])
def test_pd_na_is_a_blank_not_a_crash(cells):
    """pd.NA (pandas' missing value) made _blank_mask raise TypeError ('boolean value
    of NA is ambiguous') and a list of numbers with pd.NA made the float conversion
    raise TypeError, instead of being read as a blank cell."""
    flat = [x for r in cells for x in r] if isinstance(cells[0], list) else cells
    numbers = [x for x in flat if x is not pd.NA]
    if numbers:
        assert k.mrr(cells) == float(sum(numbers))
    else:
        with pytest.raises(k.KPIUndefinedError, match="KPI_MRR"):
            k.mrr(cells)


def test_pd_na_in_per_customer_pairs_means_zero():
    assert k.net_upsell([[pd.NA, 5], [3, 4]]) == 1.0
    assert k.nps([[9, pd.NA], [pd.NA, 3]]) == 0.0
    assert k.nps(np.array([9, pd.NA, 3], dtype=object)) == 0.0
