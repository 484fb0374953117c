"""KPI_SBG_COHORTS: the sBG model fitted to every cohort of a retention triangle.

Sources of truth: the survivors of Fader & Hardie (2007), "How to Project
Customer Retention", Journal of Interactive Marketing 21(1), whose printed fits
are regular α 0.704, β 1.182 and high-end α 0.668, β 3.806; KPI_SBG_FIT on
each cohort alone; the survival S(t) = B(α, β + t) / B(α, β) written out with
scipy's log-beta (not the recursion the library uses); and cohorts counted by
hand from a small MRR table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

import kpi_functions as k

FN = "KPI_SBG_COHORTS"
# Fader & Hardie (2007), Table 1: active customers of 1,000 at the start of years 0-7
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def _survival(alpha: float, beta: float, periods: int) -> np.ndarray:
    """S(t) = B(α, β + t) / B(α, β), t = 0 … periods − 1, from the beta function itself."""
    t = np.arange(periods)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def _month(i: int) -> str:
    return f"2026-{i:02d}"


class TestPublishedCohorts:
    def fit(self, periods=13):
        return k.sbg_cohorts([["regular"] + REGULAR, ["high end"] + HIGH_END], periods, "counts")

    def test_matches_published_fader_hardie_2007_estimates(self):
        out = self.fit()
        assert list(out["cohort"]) == ["regular", "high end"]
        assert out["alpha"].round(3).tolist() == [0.704, 0.668]
        assert out["beta"].round(3).tolist() == [1.182, 3.806]
        assert out["size"].tolist() == [1000, 1000]
        assert out["periods"].tolist() == [7, 7]
        assert out["note"].tolist() == ["", ""]

    def test_each_row_is_sbg_fit_of_that_cohort(self):
        out = self.fit()
        for i, counts in enumerate((REGULAR, HIGH_END)):
            one = k.sbg_fit(counts).set_index("label")["value"]
            for col in ("alpha", "beta", "log-likelihood"):
                assert out.loc[i, col] == pytest.approx(one[col], rel=1e-9, abs=0)

    def test_projection_is_the_sbg_survival_of_the_fit(self):
        out = self.fit(13)
        months = [f"month {t}" for t in range(13)]
        assert list(out.columns) == (["cohort", "size", "alpha", "beta", "log-likelihood", "periods"] + months
                                     + ["note"])
        for i in range(2):
            expect = _survival(out.loc[i, "alpha"], out.loc[i, "beta"], 13)
            np.testing.assert_allclose(out.loc[i, months].to_numpy(float), expect, rtol=1e-12)
        # the forecast years 8-12 of the regular segment with the printed parameters (by hand, 3 decimals)
        by_hand = _survival(0.704, 1.182, 13)[8:]
        np.testing.assert_allclose(out.loc[0, months[8:]].to_numpy(float), by_hand, atol=2e-4)

    def test_projection_matches_retention_forecast(self):
        out = self.fit(10)
        fc = k.retention_forecast(REGULAR, 10).to_numpy() / 1000
        np.testing.assert_allclose(out.loc[0, "month 0":"month 9"].to_numpy(float), fc, rtol=1e-9)

    def test_shares_times_size_are_the_counts(self):
        shares = [["regular", 1000] + [n / 1000 for n in REGULAR], ["high end", 1000] + [n / 1000 for n in HIGH_END]]
        a = k.sbg_cohorts(shares, 13)
        b = self.fit(13)
        pd.testing.assert_frame_equal(a, b)

    def test_default_periods_are_the_triangle_months(self):
        out = k.sbg_cohorts([["regular"] + REGULAR], None, "counts")
        assert [c for c in out.columns if c.startswith("month")] == [f"month {t}" for t in range(8)]

    def test_a_header_row_is_skipped(self):
        head = ["cohort"] + [f"month {t}" for t in range(8)]
        a = k.sbg_cohorts([head, ["regular"] + REGULAR], 4, "counts")
        b = k.sbg_cohorts([["regular"] + REGULAR], 4, "counts")
        pd.testing.assert_frame_equal(a, b)


# A hand-made MRR table: customer -> the months (1 = January 2026) it pays 100 in. The table ends in April.
#   January cohort, 10 customers: paying 10, 7, 5, 4 in months 0-3
#   February cohort, 8 customers: 8, 6, 5 in months 0-2
#   March cohort, 5 customers: 5, 4 (one period after month 0: too few)
#   April cohort, 3 customers: 3 (none)
PAYS = {
    **{f"j{i}": range(1, 5) for i in range(4)},           # Jan-Apr: 4 stay to month 3
    "j4": range(1, 4),                                       # Jan-Mar
    "j5": range(1, 3), "j6": range(1, 3),                  # Jan-Feb
    "j7": [1], "j8": [1], "j9": [1],                        # January only
    **{f"f{i}": range(2, 5) for i in range(5)},           # Feb-Apr: 5 to month 2
    "f5": range(2, 4),                                       # Feb-Mar
    "f6": [2], "f7": [2],
    **{f"m{i}": range(3, 5) for i in range(4)}, "m4": [3],  # March: 5, then 4
    "a0": [4], "a1": [4], "a2": [4],
}
COUNTS = {1: [10, 7, 5, 4], 2: [8, 6, 5], 3: [5, 4], 4: [3]}


def _mrr_table(pays=PAYS):
    rows = [["customer", "month", "MRR"]]
    for cust, months in pays.items():
        rows += [[cust, _month(m), 100] for m in months]
    rows.append(["a0", "2026-04", 100])  # duplicates are summed: still one paying customer
    return rows


class TestFromCohortRetention:
    def test_fits_each_cohort_of_the_logo_triangle(self):
        tri = k.cohort_retention(_mrr_table())
        out = k.sbg_cohorts(tri, 6)
        assert out["cohort"].tolist() == [pd.Timestamp(_month(m) + "-01") for m in (1, 2, 3, 4)]
        assert out["size"].tolist() == [10, 8, 5, 3]
        assert out["periods"].tolist() == [3, 2, 1, 0]
        for i, m in enumerate((1, 2)):
            one = k.sbg_fit(COUNTS[m]).set_index("label")["value"]
            assert out.loc[i, "alpha"] == pytest.approx(one["alpha"], rel=1e-9)
            assert out.loc[i, "beta"] == pytest.approx(one["beta"], rel=1e-9)
            assert out.loc[i, "log-likelihood"] == pytest.approx(one["log-likelihood"], rel=1e-9)
            np.testing.assert_allclose(out.loc[i, "month 0":"month 5"].to_numpy(float),
                                       _survival(one["alpha"], one["beta"], 6), rtol=1e-12)
        assert out.loc[:1, "note"].tolist() == ["", ""]

    def test_cohorts_with_too_few_periods_get_a_note_and_no_numbers(self):
        out = k.sbg_cohorts(k.cohort_retention(_mrr_table()), 6)
        young = out.iloc[2:]
        assert young[["alpha", "beta", "log-likelihood"]].isna().all().all()
        assert young.loc[:, "month 0":"month 5"].isna().all().all()
        assert young["note"].tolist() == ["1 period observed after month 0; the fit needs 2",
                                          "0 periods observed after month 0; the fit needs 2"]

    def test_the_spilled_cells_as_excel_hands_them_over(self):
        """Header row, cohort months as serial numbers, blanks as None: the same fits."""
        tri = k.cohort_retention(_mrr_table())
        serial = ((tri["cohort"] - pd.Timestamp("1899-12-30")).dt.days).tolist()
        rows = [list(tri.columns)]
        for i in range(len(tri)):
            cells = tri.iloc[i, 1:].tolist()
            rows.append([serial[i]] + [None if isinstance(v, float) and np.isnan(v) else v for v in cells])
        a = k.sbg_cohorts(rows, 6)
        b = k.sbg_cohorts(tri, 6)
        assert a["cohort"].tolist() == serial
        pd.testing.assert_frame_equal(a.drop(columns="cohort"), b.drop(columns="cohort"))

    def test_customers_who_come_back_are_not_survivors(self):
        pays = dict(PAYS)
        pays.update(j7=[1, 3], j8=[1, 3], j9=[1, 3])  # gone in February, back in March: January's 7 become 8
        out = k.sbg_cohorts(k.cohort_retention(_mrr_table(pays)), 4)
        assert np.isnan(out.loc[0, "alpha"]) and out.loc[0, "month 0":"month 3"].isna().all()
        assert out.loc[0, "note"] == "survivors rise from 7 to 8 in month 2 (customers came back)"
        assert out.loc[1, "note"] == "" and np.isfinite(out.loc[1, "alpha"])

    def test_a_cohort_that_never_churns_gets_the_models_reason(self):
        out = k.sbg_cohorts([["steady", 5, 5, 5], ["regular"] + REGULAR[:3]], 3, "counts")
        assert out.loc[0, "note"] == "no customer churned: nothing to fit"
        assert np.isnan(out.loc[0, "beta"])
        assert out.loc[1, "alpha"] == pytest.approx(k.sbg_fit(REGULAR[:3]).loc[0, "value"], rel=1e-9)

    def test_churn_that_does_not_fall_is_not_identified(self):
        """Half of the cohort churns every period (1000, 500, 250, 125): one rate of 50 % fits exactly, so the
        sBG estimates run to infinity; KPI_SBG_FIT refuses it, the cohort gets the rate in its note."""
        with pytest.raises(k.KPIModelError):
            k.sbg_fit([1000, 500, 250, 125])
        out = k.sbg_cohorts([["halves", 1000, 500, 250, 125], ["everyone", 10, 0, 0, 0]], 4, "counts")
        assert out["note"].tolist() == ["churn does not fall over time: one rate of 50.0% a period fits as well",
                                        "every customer churned in month 1: nothing to fit"]
        assert out[["alpha", "beta", "log-likelihood", "month 0"]].isna().all().all()

    def test_revenue_triangle_is_refused(self):
        table = _mrr_table() + [["j0", "2026-02", 500]]  # j0 expands in February: the cohort's MRR 1,200 of 1,000
        tri = k.cohort_retention(table, "revenue")
        with pytest.raises(k.KPIDomainError) as info:
            k.sbg_cohorts(tri)
        msg = str(info.value)
        assert info.value.function == FN and info.value.argument == "triangle"
        assert "revenue-basis triangle" in msg and "above 100 %" in msg
        # DataFrames are read by position without a header: January's month 1 is row 1, column 4
        assert info.value.position == "row 1, column 4" and "1.2" in msg

    def test_revenue_shares_that_are_not_whole_customers_are_refused(self):
        with pytest.raises(k.KPIDomainError) as info:
            k.sbg_cohorts([["cohort", "size", "month 0", "month 1", "month 2"], ["2026-01", 3, 1.0, 0.5, 0.4]])
        msg = str(info.value)
        assert "row 2, column 4" in msg and "0.5" in msg and "1.5 customers, not a whole number" in msg


class TestBadInput:
    def err(self, cls, *args):
        with pytest.raises(cls) as info:
            k.sbg_cohorts(*args)
        assert info.value.function == FN
        return info.value

    def test_text_in_a_size_names_the_cell_and_value(self):
        e = self.err(k.KPIInputError, [["cohort", "size", "month 0", "month 1"], ["a", 10, 1, 0.5],
                                       ["b", "ten", 1, 0.5]])
        assert e.argument == "triangle" and e.position == "row 3, column 2"
        assert str(e).startswith("KPI_SBG_COHORTS: argument 'triangle', row 3, column 2: 'ten' ")

    def test_a_negative_count(self):
        e = self.err(k.KPIDomainError, [["a", 10, -2, 1]], None, "counts")
        assert e.position == "row 1, column 3" and "-2" in str(e)

    def test_a_fractional_count(self):
        e = self.err(k.KPIDomainError, [["a", 10, 7.5, 6]], None, "counts")
        assert e.position == "row 1, column 3" and "7.5" in str(e) and "whole number" in str(e)

    def test_month_zero_must_be_the_whole_cohort(self):
        e = self.err(k.KPIDomainError, [["a", 10, 0.9, 0.5, 0.4]])
        assert e.position == "row 1, column 3" and "0.9" in str(e) and "100 %" in str(e)

    def test_a_blank_between_observed_months(self):
        e = self.err(k.KPIInputError, [["a", 10, 1, None, 0.5], ["b", 10, 1, 0.6, None]])
        assert e.position == "row 1, column 4" and "blank between observed months" in str(e)

    def test_a_blank_size(self):
        e = self.err(k.KPIInputError, [["a", None, 1, 0.5, 0.4]])
        assert e.position == "row 1, column 2" and "size" in str(e)

    def test_a_boolean_label(self):
        e = self.err(k.KPIInputError, [["a", 10, 1, 0.5, 0.4], [True, 10, 1, 0.5, 0.4]])
        assert e.position == "row 2, column 1" and "True" in str(e)

    def test_one_column_is_not_a_triangle(self):
        e = self.err(k.KPIInputError, REGULAR)
        assert "one row per cohort" in str(e)

    def test_empty_and_blank_blocks_are_undefined(self):
        self.err(k.KPIUndefinedError, [])
        self.err(k.KPIUndefinedError, [["cohort", "size", "month 0"], [None, None, None]])

    @pytest.mark.parametrize("bad", [0, 2.5, 20_000])
    def test_periods_out_of_range(self, bad):
        e = self.err(k.KPIDomainError, [["a"] + REGULAR], bad, "counts")
        assert e.argument == "periods" and str(bad) in str(e)

    def test_unknown_basis(self):
        e = self.err(k.KPIInputError, [["a"] + REGULAR], None, "revenue")
        assert e.argument == "basis" and "'revenue'" in str(e) and "'counts'" in str(e)
