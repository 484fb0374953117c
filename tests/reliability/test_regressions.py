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
    assert k.mrr(cells) == float(sum(numbers))  # only blanks: no subscription pays, MRR 0
    if not numbers:
        with pytest.raises(k.KPIUndefinedError, match="KPI_NPS"):
            k.nps(cells)


def test_pd_na_in_per_customer_pairs_means_zero():
    assert k.net_upsell([[pd.NA, 5], [3, 4]]) == 1.0
    assert k.nps([[9, pd.NA], [pd.NA, 3]]) == 0.0
    assert k.nps(np.array([9, pd.NA, 3], dtype=object)) == 0.0


# ------------------------------------------------------------ overflow is #NUM!, never inf or NaN
@pytest.mark.parametrize("call", [
    lambda: k.arr([1e308, 1e308]),                       # the sum overflows
    lambda: k.mrr(1e308, 10),                            # ARPU × accounts overflows
    lambda: k.cac(1, 5e-324),                            # a subnormal denominator
    lambda: k.churn_rate([1e308, 1e308], [1e308, 1e308]),  # inf / inf was NaN
    lambda: k.clv_lifespan(1e308, 10),
    lambda: k.nrr([[1e308, 1e308], [1e308, 1e308]]),     # flows overflow: inf − inf was NaN
    lambda: k.net_upsell([[1e308, 1.7e308]] * 3),
    lambda: k.cmgr([5e-324, 1e308]),
    lambda: k.health_score([[1e308, 1e308]], [2, 2]),
    lambda: k.roi(-1e308, 1e308),
], ids=["arr", "mrr", "cac", "churn_rate", "clv_lifespan", "nrr", "net_upsell", "cmgr", "health_score", "roi"])
def test_a_result_beyond_the_range_of_a_double_is_a_num_error(call):
    """Finite inputs whose KPI overflows returned inf (or NaN from inf/inf), which the
    add-in showed as #NUM! at best and a blank cell at worst (NaN). Excel answers #NUM!."""
    with pytest.raises(k.KPIDomainError, match=r"^KPI_\w+: .*too large to compute") as info:
        call()
    assert info.value.excel_error == "#NUM!"


def test_cmgr_takes_the_root_in_logs_when_only_the_ratio_overflows():
    # 5e-324 is the smallest double, 2**-1074; 1e308 / 2**-1074 overflows, but the cube
    # root of the ratio, 10**((308 + 1074·log10 2) / 3) ≈ 2.7e210, is a finite answer
    got = k.cmgr([5e-324, None, None, 1e308])
    want = 10 ** ((308 + 1074 * 0.30102999566398120) / 3) - 1
    assert got == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------ numpy text arrays
def test_blanks_and_error_values_in_a_numpy_text_array():
    """np.array(["", "9"]) has dtype <U1: "" was read as text (#VALUE!) instead of a
    blank, and "#N/A" as text instead of an error value that propagates."""
    with pytest.raises(k.KPIUndefinedError):
        k.nps(np.array(["", ""]))
    with pytest.raises(k.KPIErrorValue) as info:
        k.nps(np.array(["", "#N/A"]))
    assert info.value.excel_error == "#N/A"
    with pytest.raises(k.KPIErrorValue):
        k.cross_sell_rate(np.array(["a", "b"]), np.array(["x", "#N/A"]))
    assert k.cross_sell_rate(np.array(["a", "a", ""]), np.array(["x", "y", ""])) == 1.0
    assert k.repeat_purchase_rate(np.array(["a", "", "a", "b"])) == 0.5


# ------------------------------------------------------------ same answer for every container
def test_an_empty_end_range_means_the_same_for_a_dataframe_as_for_rows():
    """With end=[] a list of rows was an alignment error but a DataFrame of the same
    rows was silently read as the two-column form."""
    rows = [[10, 0], [40, 30]]
    with pytest.raises(k.KPIInputError) as a:
        k.churn_revenue(rows, [])
    with pytest.raises(k.KPIInputError) as b:
        k.churn_revenue(pd.DataFrame(rows), [])
    assert str(a.value) == str(b.value)


# ------------------------------------------------------------ GRR/NRR without cancellation
def test_grr_and_nrr_never_fall_below_zero_by_rounding():
    """GRR was computed as starting − churned − contraction: three sums that cancel. With a
    customer contracted to almost nothing the result could come out slightly negative (the
    fuzzer found GRR = −1e-307, a share below 0). It is now Σ min(start, end) over the
    customers paying at the start (NRR: Σ end over them) — the same quantity, no cancellation."""
    assert k.grr([[100, 1e-15], [50, 0]]) == pytest.approx(1e-15 / 150, rel=1e-12)
    assert k.nrr([[100, 1e-15], [50, 0]]) == pytest.approx(1e-15 / 150, rel=1e-12)
    tiny = [[3e-300, 1e-310], [7e-300, 0.0], [5e-300, 5e-300]]
    assert 0.0 <= k.grr(tiny) <= 1.0 and k.nrr(tiny) >= 0.0
    # the catalog example (SPEC §4 definitions): starting 100, churned 10, contraction 10, expansion 10
    rows = [[10, 0], [40, 30], [30, 40], [20, 20], [0, 25]]
    assert k.grr(rows) == pytest.approx(0.8) and k.nrr(rows) == pytest.approx(0.9)


@pytest.mark.parametrize("fn", [k.grr, k.nrr, k.churn_revenue, k.expansion_rate, k.quick_ratio])
def test_an_overflowing_starting_mrr_is_a_num_error_not_a_silent_zero(fn):
    """Starting MRR 3e308 overflows to inf; a finite numerator over it was a silent 0.0."""
    rows = [[1e308, 1e300], [1e308, 0], [0, 1e308], [1e308, 1e308]]
    with pytest.raises(k.KPIDomainError, match="too large to compute"):
        fn(rows)


def test_count_based_rates_do_not_need_the_sums():
    rows = [[1e308, 1e300], [1e308, 0], [0, 1e308], [1e308, 1e308]]
    assert k.upsell_rate(rows) == 0.0 and k.new_customers(rows) == 1
    assert k.churn_customers(rows) == pytest.approx(1 / 3)


# ------------------------------------------------------------ identifiers beyond int64
def test_stickiness_with_user_ids_beyond_int64():
    """A user id of 1e308 (a whole number, so read as the integer it is) made the int64
    fast path raise OverflowError instead of answering."""
    assert k.stickiness(1e308, "2026-02-01") == pytest.approx(1 / 28)
    users = [1e308, 2**70, 5, 1e308]
    days = ["2026-02-01", "2026-02-01", "2026-02-02", "2026-02-03"]
    assert k.stickiness(users, days) == pytest.approx(4 / 28 / 3)  # 4 user-days, 28 days, 3 users


# ------------------------------------------------------------ integers beyond a double
@pytest.mark.parametrize("spec", list(k.REGISTRY.values()), ids=list(k.REGISTRY))
def test_a_huge_int_in_a_number_option_is_a_num_error(spec):
    """float(10**400) raised OverflowError (not a ValueError) out of every numeric
    option: csat(…, 10**400), nps_moe(…, 10**400), cohort_retention(…, 10**400)."""
    example = list(spec.example) + [None] * (len(spec.args) - len(spec.example))
    options = [i for i, a in enumerate(spec.args) if a.kind == "number"]
    if not options:
        pytest.skip("no number option")
    for i in options:
        args = list(example)
        args[i] = 10**400
        with pytest.raises(k.KPIDomainError) as info:
            spec.func(*args)
        assert f"argument '{spec.args[i].name}'" in str(info.value)
        assert "10000…000 (401 digits)" in str(info.value)
