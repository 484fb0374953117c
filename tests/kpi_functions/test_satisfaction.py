"""Satisfaction KPIs: known values worked out by hand from the definitions
(SPEC §4), the source example (60 % promoters and 30 % detractors = NPS 30),
slow references, hypothesis properties, and the error cases."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, KPIUndefinedError

# 10 responses: promoters 10, 10, 9, 9, 10, 9 (6 = 60 %); passive 8 (1);
# detractors 0, 3, 6 (3 = 30 %)
SIX_THREE = [10, 10, 9, 9, 10, 9, 8, 0, 3, 6]


def reference_nps(scores):
    """One response at a time."""
    p = d = n = 0
    for s in scores:
        if s is None or s == "":
            continue
        n += 1
        if s >= 9:
            p += 1
        elif s <= 6:
            d += 1
    return 100 * (p - d) / n


class TestNps:
    def test_published_example_60_promoters_30_detractors_is_30(self):
        # 60 % - 30 % = 30 points
        assert k.nps(SIX_THREE) == pytest.approx(30.0)

    def test_category_boundaries(self):
        # 9, 10 promoters; 7, 8 passives; 0-6 detractors
        assert k.nps([9]) == 100.0 and k.nps([10]) == 100.0
        assert k.nps([7]) == 0.0 and k.nps([8]) == 0.0
        assert all(k.nps([s]) == -100.0 for s in range(7))

    def test_zero_is_a_valid_score(self):
        # 0 is on the scale (0-10, not 1-10): a detractor. 1 promoter, 1 detractor -> 0
        assert k.nps([0, 10]) == 0.0

    def test_blanks_are_ignored(self):
        # 2 promoters, 1 detractor over 3 responses: 100 × 1/3
        assert k.nps([10, None, 9, "", 2]) == pytest.approx(100 / 3)

    def test_whole_floats_are_scores(self):
        assert k.nps(np.array([10.0, 6.0, 8.0, 9.0])) == 25.0

    def test_excel_column_and_series(self):
        assert k.nps([[10], [None], [3]]) == 0.0
        assert k.nps(pd.Series([10, 9, 7, None])) == pytest.approx(200 / 3)

    def test_returns_float(self):
        assert type(k.nps([10, 9])) is float

    @pytest.mark.parametrize("bad, pos", [(11, "item 2"), (-1, "item 2"), (7.5, "item 2")])
    def test_off_scale_score_is_out_of_domain(self, bad, pos):
        with pytest.raises(KPIDomainError) as info:
            k.nps([10, bad, 3])
        err = info.value
        assert err.excel_error == "#NUM!"
        assert (err.function, err.argument, err.position, err.value) == ("KPI_NPS", "scores", pos, bad)
        assert "0 to 10" in str(err) and repr(bad) in str(err)

    def test_text_score(self):
        with pytest.raises(KPIInputError) as info:
            k.nps([10, "9"])
        err = info.value
        assert err.excel_error == "#VALUE!" and err.position == "item 2" and err.value == "9"

    def test_error_value(self):
        with pytest.raises(KPIErrorValue) as info:
            k.nps([[10], ["#N/A"]])
        assert info.value.excel_error == "#N/A" and info.value.position == "row 2, column 1"

    def test_no_scores(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.nps([None, ""])
        assert info.value.excel_error == "#DIV/0!" and "has no scores" in str(info.value)

    @pytest.mark.parametrize("seed", [5, 42])
    def test_matches_reference_on_random_surveys(self, seed):
        rng = np.random.default_rng(seed)
        scores = rng.integers(0, 11, 5000).tolist()
        for i in rng.choice(5000, 100, replace=False):
            scores[i] = None
        assert k.nps(scores) == pytest.approx(reference_nps(scores), rel=1e-12)


class TestNpsBreakdown:
    LABELS: ClassVar[list[Any]] = ["promoters", "passives", "detractors", "promoters %", "passives %",
                                   "detractors %", "responses", "NPS", "margin of error"]

    def test_rows_and_values(self):
        got = k.nps_breakdown(SIX_THREE)
        assert list(got.columns) == ["label", "value"]
        assert list(got["label"]) == self.LABELS
        v = dict(zip(got["label"], got["value"]))
        assert (v["promoters"], v["passives"], v["detractors"], v["responses"]) == (6, 1, 3, 10)
        assert v["promoters %"] == pytest.approx(0.6)
        assert v["passives %"] == pytest.approx(0.1)
        assert v["detractors %"] == pytest.approx(0.3)
        assert v["NPS"] == pytest.approx(30.0)
        # 95 %: z = 1.959964; √((0.6 + 0.3 - 0.3²) / 10) = √0.081 = 0.284605 -> 55.78 points
        assert v["margin of error"] == pytest.approx(norm.ppf(0.975) * math.sqrt(0.081) * 100)
        assert v["margin of error"] == pytest.approx(55.7816, abs=1e-4)

    def test_agrees_with_nps_and_nps_moe(self):
        scores = [10, 9, 10, 9, 10, 9, 8, 7, 6, 3, None, 0, 10]
        v = dict(zip(*k.nps_breakdown(scores).to_dict("list").values()))
        assert v["NPS"] == k.nps(scores)
        assert v["margin of error"] == k.nps_moe(scores)

    def test_errors_name_the_function(self):
        with pytest.raises(KPIDomainError) as info:
            k.nps_breakdown([12])
        assert str(info.value).startswith("KPI_NPS_BREAKDOWN: argument 'scores', item 1: 12 ")


class TestNpsMoe:
    def test_hand_value_at_95(self):
        # p = 0.6, d = 0.3, n = 10: 1.959964 × √(0.81 / 10) × 100 = 55.7816
        assert k.nps_moe(SIX_THREE) == pytest.approx(1.959963984540054 * math.sqrt(0.081) * 100)

    def test_hand_value_at_90(self):
        # z = Φ⁻¹(0.95) = 1.644854
        assert k.nps_moe(SIX_THREE, 0.9) == pytest.approx(1.6448536269514722 * math.sqrt(0.081) * 100)

    def test_equals_the_standard_error_of_coded_responses(self):
        # code promoters +1, passives 0, detractors -1: NPS = 100 × mean and the
        # margin is z × (population sd) / √n × 100
        rng = np.random.default_rng(8)
        scores = rng.integers(0, 11, 700)
        coded = np.where(scores >= 9, 1, np.where(scores <= 6, -1, 0))
        want = norm.ppf(0.975) * coded.std() / math.sqrt(coded.size) * 100
        assert k.nps_moe(scores.tolist()) == pytest.approx(want, rel=1e-10)
        assert k.nps(scores.tolist()) == pytest.approx(100 * coded.mean(), rel=1e-10)

    def test_one_group_only_has_no_margin(self):
        assert k.nps_moe([10, 9, 10]) == 0.0
        assert k.nps_moe([7, 8]) == 0.0

    def test_omitted_confidence_as_excel_sends_it(self):
        assert k.nps_moe(SIX_THREE, None) == k.nps_moe(SIX_THREE)

    @pytest.mark.parametrize("conf", [0, 1, 95, -0.1])
    def test_confidence_must_be_strictly_between_0_and_1(self, conf):
        with pytest.raises(KPIDomainError) as info:
            k.nps_moe(SIX_THREE, conf)
        err = info.value
        assert err.excel_error == "#NUM!" and err.argument == "confidence" and err.value == conf
        assert "strictly between 0 and 1" in str(err)

    def test_text_confidence(self):
        with pytest.raises(KPIInputError) as info:
            k.nps_moe(SIX_THREE, "95%")
        assert info.value.argument == "confidence"


class TestCsat:
    def test_top_two_boxes_of_five(self):
        # responses 5, 4, 3, 5, 2, 4 (blank ignored): satisfied 5, 4, 5, 4 -> 4/6
        assert k.csat([5, 4, 3, 5, 2, None, 4]) == pytest.approx(2 / 3)

    def test_other_scale(self):
        # 1-7 scale, satisfied from 6: 7, 6 of 7, 6, 5, 3 -> 2/4
        assert k.csat([7, 6, 5, 3], 6, 7) == 0.5
        assert k.csat([7, 6, 5, 3], satisfied_min=6, scale_max=7) == 0.5

    def test_satisfied_min_equal_to_scale_max(self):
        assert k.csat([5, 5, 4, 1], 5) == 0.5

    def test_omitted_options_as_excel_sends_them(self):
        assert k.csat([5, 4, 3, 1], None, None) == 0.5

    @pytest.mark.parametrize("bad", [6, 0, 4.5])
    def test_rating_off_the_scale(self, bad):
        with pytest.raises(KPIDomainError) as info:
            k.csat([5, bad])
        err = info.value
        assert (err.argument, err.position, err.value) == ("scores", "item 2", bad)
        assert "from 1 to 5" in str(err)

    def test_satisfied_min_above_scale_max(self):
        with pytest.raises(KPIDomainError) as info:
            k.csat([3], 4, 3)
        err = info.value
        assert err.argument == "satisfied_min" and err.value == 4 and "at most scale_max (3)" in str(err)

    @pytest.mark.parametrize("bad", [1, 5.5, -3])
    def test_bad_scale_max(self, bad):
        with pytest.raises(KPIDomainError) as info:
            k.csat([1], 1, bad)
        assert info.value.argument == "scale_max" and info.value.value == bad

    def test_satisfied_min_below_one(self):
        with pytest.raises(KPIDomainError) as info:
            k.csat([1], 0)
        assert info.value.argument == "satisfied_min"

    def test_no_responses(self):
        with pytest.raises(KPIUndefinedError):
            k.csat([None])


def reference_health(values, weights):
    out = []
    for row in values:
        if all(v is None for v in row):
            out.append(float("nan"))
        else:
            out.append(sum(w * (0 if v is None else v) for v, w in zip(row, weights)))
    return out


class TestHealthScore:
    VALUES: ClassVar[list[Any]] = [[3, 1, 0], [5, None, 2], [None, None, None], [-1, 10, 4]]
    WEIGHTS: ClassVar[list[Any]] = [0.5, 0.3, 0.2]

    def test_hand_values(self):
        # row 1: 3×0.5 + 1×0.3 + 0×0.2 = 1.8
        # row 2: 5×0.5 + blank + 2×0.2 = 2.9
        # row 3: all blank -> NaN
        # row 4: -1×0.5 + 10×0.3 + 4×0.2 = 3.3
        got = k.health_score(self.VALUES, self.WEIGHTS)
        assert isinstance(got, pd.Series) and got.name == "health score"
        np.testing.assert_allclose(got.to_numpy(), [1.8, 2.9, np.nan, 3.3], equal_nan=True)
        assert list(got.index) == [0, 1, 2, 3]

    def test_weights_as_row_column_or_array(self):
        want = k.health_score(self.VALUES, self.WEIGHTS)
        for w in ([[0.5, 0.3, 0.2]], [[0.5], [0.3], [0.2]], np.array(self.WEIGHTS), pd.Series(self.WEIGHTS)):
            pd.testing.assert_series_equal(k.health_score(self.VALUES, w), want)

    def test_dataframe_values(self):
        df = pd.DataFrame(self.VALUES, columns=["logins", "seats", "tickets"])
        np.testing.assert_allclose(k.health_score(df, self.WEIGHTS), [1.8, 2.9, np.nan, 3.3], equal_nan=True)

    def test_negative_weight_is_a_penalty(self):
        # 10 logins × 1 - 3 tickets × 2 = 4
        assert k.health_score([[10, 3]], [1, -2]).tolist() == [4.0]

    def test_single_action_column(self):
        # a 1-D range is one column: one customer per item
        assert k.health_score([1, 2, None], [10]).tolist()[:2] == [10.0, 20.0]

    def test_matches_reference_on_random_data(self):
        rng = np.random.default_rng(17)
        vals = rng.integers(0, 100, (400, 6)).astype(float)
        vals[rng.random(vals.shape) < 0.2] = np.nan
        vals[5] = np.nan
        w = rng.normal(size=6)
        as_lists = [[None if np.isnan(x) else float(x) for x in row] for row in vals]
        np.testing.assert_allclose(k.health_score(as_lists, w.tolist()), reference_health(as_lists, w),
                                   rtol=1e-12, equal_nan=True)

    def test_wrong_number_of_weights(self):
        with pytest.raises(KPIInputError) as info:
            k.health_score(self.VALUES, [0.5, 0.5])
        err = info.value
        assert err.excel_error == "#VALUE!" and err.argument == "weights"
        assert "has 2 weight(s) but 'values' has 3 column(s)" in str(err)

    def test_blank_weight(self):
        with pytest.raises(KPIInputError) as info:
            k.health_score(self.VALUES, [[0.5, None, 0.2]])
        err = info.value
        assert err.argument == "weights" and err.position == "row 1, column 2"

    def test_weights_must_be_one_row_or_column(self):
        with pytest.raises(KPIInputError) as info:
            k.health_score([[1, 2, 3, 4]], [[1, 2], [3, 4]])
        assert "single row or column" in str(info.value)

    def test_text_value(self):
        with pytest.raises(KPIInputError) as info:
            k.health_score([[1, 2, 3], [4, "x", 6]], self.WEIGHTS)
        err = info.value
        assert (err.argument, err.position, err.value) == ("values", "row 2, column 2", "x")

    def test_all_blank_is_undefined(self):
        with pytest.raises(KPIUndefinedError) as info:
            k.health_score([[None, None, None]], self.WEIGHTS)
        assert info.value.argument == "values"


# --------------------------------------------------------------- properties
_scores = st.lists(st.one_of(st.integers(0, 10), st.none()), min_size=1, max_size=80).filter(
    lambda xs: any(x is not None for x in xs))


@settings(max_examples=200, deadline=None)
@given(_scores)
def test_nps_is_between_minus_100_and_100(scores):
    v = k.nps(scores)
    assert -100.0 <= v <= 100.0
    assert v == pytest.approx(reference_nps(scores))


@settings(max_examples=200, deadline=None)
@given(_scores)
def test_breakdown_shares_sum_to_one_and_counts_to_responses(scores):
    v = dict(zip(*k.nps_breakdown(scores).to_dict("list").values()))
    assert v["promoters %"] + v["passives %"] + v["detractors %"] == pytest.approx(1.0)
    assert v["promoters"] + v["passives"] + v["detractors"] == v["responses"]
    assert v["NPS"] == pytest.approx(100 * (v["promoters %"] - v["detractors %"]))
    assert 0.0 <= v["margin of error"] <= 100 * norm.ppf(0.975) + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 5), st.none()), min_size=1, max_size=50).filter(
    lambda xs: any(x is not None for x in xs)), st.integers(1, 5))
def test_csat_is_a_share(scores, satisfied_min):
    v = k.csat(scores, satisfied_min)
    answered = [s for s in scores if s is not None]
    assert 0.0 <= v <= 1.0
    assert v == pytest.approx(sum(s >= satisfied_min for s in answered) / len(answered))
