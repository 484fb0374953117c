"""The vectorised helpers of the build against the cell-by-cell definitions they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbook_templates.formulas.values import keys_equal, lookup_key, lookup_keys, ranks_in_order


def _ranks_by_definition(s: np.ndarray, among: np.ndarray) -> np.ndarray:
    """SUMPRODUCT(among*(all<x)) + SUMPRODUCT(among[:i+1]*(s[:i+1]=x)), row by row (what the workbook computes)."""
    out = np.zeros(s.size)
    for i, x in enumerate(s):
        if among[i] and not np.isnan(x):
            out[i] = np.sum(among & (s < x)) + np.sum(among[: i + 1] & (s[: i + 1] == x))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_ranks_in_order_match_the_definition(seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 12, 300).astype(float)  # many ties
    s[rng.random(300) < 0.1] = np.nan
    s[:3] = [np.inf, -np.inf, np.inf]
    among = rng.random(300) < 0.7
    assert np.array_equal(ranks_in_order(s, among), _ranks_by_definition(s, among))
    every = np.ones(300, dtype=bool)
    assert np.array_equal(ranks_in_order(s), _ranks_by_definition(s, every))


def test_ranks_of_a_small_column_by_hand():
    s = np.array([3.0, 1.0, np.nan, 3.0, 2.0])
    assert ranks_in_order(s).tolist() == [3.0, 1.0, 0.0, 4.0, 2.0]
    assert ranks_in_order(s, np.array([True, False, True, True, True])).tolist() == [2.0, 0.0, 0.0, 3.0, 1.0]


@pytest.mark.parametrize("column", [
    pd.Series(pd.to_datetime(["2026-01-01", None, "2026-02-01", "2026-01-01"])),
    pd.Series([1.0, np.nan, 46023.0, 46054.0]),
    pd.Series([1, 2, 46023, 46023]),
    pd.Series(["a", None, "A", 46023.0], dtype=object),
])
@pytest.mark.parametrize("key", [pd.Timestamp("2026-01-01"), 46023.0, 1.0, None, "a", pd.Timestamp("2026-02-01")])
def test_keys_equal_is_lookup_keys_compared(column, key):
    k = lookup_key(key)
    assert keys_equal(column, k).tolist() == [x == k for x in lookup_keys(column)]


EQUALS_COLUMNS = [
    pd.Series(["Ads", None, "ads", "", "Partner", np.nan, 0.0, "ADS", True, pd.Timestamp("2026-01-01"), "0"],
              dtype=object),
    pd.Series([0.0, np.nan, 1.0, 46023.0, 0.0]),
    pd.Series(pd.to_datetime(["2026-01-01", None, "2026-01-01"])),
    pd.Series(["a", None, "b", "A"], dtype="string"),
]


@pytest.mark.parametrize("column", EQUALS_COLUMNS)
@pytest.mark.parametrize("key", ["ads", "Ads", "", None, 0.0, 0, 1.0, "partner", "nosuch", True, 46023.0,
                                 pd.Timestamp("2026-01-01"), "0"])
def test_an_equals_condition_is_excels_equality_cell_by_cell(column, key):
    """FILTER's ``(range=key)`` over a column, with its keys coded once and kept between calls, is the
    definition applied to each cell: text ignores case, a blank cell equals "" and 0."""
    from workbook_templates.formulas.segments import _key_codes, _mask_keys

    want = lookup_key("" if key is None else key)
    blank_ok = want in (("s", ""), ("n", 0.0))
    definition = [k == want or (k is None and blank_ok) for k in lookup_keys(column)]
    coded = _key_codes(column)
    assert _mask_keys(column, key, coded).tolist() == definition
    assert _mask_keys(column, key).tolist() == definition
