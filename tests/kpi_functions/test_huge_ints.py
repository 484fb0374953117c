"""Python integers beyond a double (10**400) are numbers outside every domain: #NUM!.

float(10**400) raises OverflowError, which is not a ValueError: it escaped as an
unexpected error instead of a KPIDomainError naming the user's value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k

H = 10**400


@pytest.mark.parametrize("call, arg", [
    (lambda v: k.nps([v]), "scores"),
    (lambda v: k.mrr([v]), "mrr_or_arpu"),
    (lambda v: k.mrr([[1], [v]]), "mrr_or_arpu"),
    (lambda v: k.mrr(np.array([1, v], dtype=object)), "mrr_or_arpu"),
    (lambda v: k.mrr(pd.Series([1, v], dtype=object)), "mrr_or_arpu"),  # pandas 2.1 cannot infer it
    (lambda v: k.nps([None, v]), "scores"),
    (lambda v: k.csat([4, 5], v), "satisfied_min"),
    (lambda v: k.stickiness([100, 120], v), "dates"),
    (lambda v: k.nps_moe([1, 2], v), "confidence"),
], ids=["nps", "mrr", "mrr-2d", "mrr-object-array", "mrr-series", "nps-blank", "csat", "stickiness", "nps_moe"])
@pytest.mark.parametrize("value, shown", [
    (H, "10000…000 (401 digits)"),
    (-H, "-10000…000 (401 digits)"),
    (2**1024, "17976…216 (309 digits)"),
    (10**5000, "10000…000 (5,001 digits)"),  # past Python's 4,300-digit str() limit
], ids=["1e400", "-1e400", "2**1024", "1e5000"])
def test_a_huge_int_is_a_num_error_naming_the_value(call, arg, value, shown):
    with pytest.raises(k.KPIDomainError) as info:
        call(value)
    msg = str(info.value)
    assert info.value.excel_error == "#NUM!"
    assert f"argument '{arg}'" in msg and shown in msg, msg
    assert "inf" not in msg.replace("beyond", "")


def test_a_huge_int_as_a_date_serial_names_the_value():
    with pytest.raises(k.KPIDomainError, match=r"10000…000 \(401 digits\) is not a valid Excel date serial"):
        k.stickiness(["u1", "u2"], [46000, H])


def test_ints_below_the_limit_still_compute():
    big = 2**1023  # a double holds it exactly
    assert k.mrr([big, big // 2]) == float(big) + float(big // 2)
