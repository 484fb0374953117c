"""The KPIs that aggregate, then divide (a ratio or a growth rate of summed
arguments, across the marketing, customer value and churn categories): the
error cases they share. A denominator that sums to 0 (or holds only 0 and
blanks) is undefined (#DIV/0!) and says so of its argument; a negative value
where none may be is out of the domain (#NUM!) and names the argument and
the value."""

from __future__ import annotations

import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIUndefinedError


@pytest.mark.parametrize(("f", "args", "argument"), [
    (k.conversion_rate, (0, 0), "visitors"),
    (k.cpa, (500, 0), "conversions"),
    (k.roi, (100, 0), "cost"),
    (k.roas, (100, 0), "ad_spend"),
    (k.cac, (1000, [0, None]), "new_customers"),
    (k.cac_pct, (100, 0), "sales_value"),
    (k.ltv_cac, (2000, 0), "cac"),
    (k.expansion_mrr_growth, (0, 500), "expansion_start"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_zero_denominator_is_undefined(f, args, argument):
    with pytest.raises(KPIUndefinedError) as info:
        f(*args)
    err = info.value
    assert err.argument == argument and err.excel_error == "#DIV/0!"
    assert str(err).startswith(f"KPI_{f.__name__.upper()}: argument '{argument}': is 0")


@pytest.mark.parametrize(("f", "args", "argument", "value"), [
    (k.cpa, (-500, 10), "cost", -500),
    (k.roi, (100, -1), "cost", -1),
    (k.clv_lifespan, (500, -1), "lifespan", -1),
    (k.expansion_mrr_growth, (100, -5), "expansion_end", -5),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_negative_is_out_of_domain(f, args, argument, value):
    with pytest.raises(KPIDomainError) as info:
        f(*args)
    assert (info.value.argument, info.value.value, info.value.excel_error) == (argument, value, "#NUM!")
