"""Tests of the Kaplan–Meier confidence band (survival_curve with band) and median_lifetime.

Sources of truth: the 6-customer example worked from Greenwood's formula by
hand (the sums are exact fractions), a slow loop-by-loop reference below, and
lifelines' KaplanMeierFitter where it is installed (its default band is the
same exponential-Greenwood interval; its median conventions are those of
``median_survival_time_`` and ``median_survival_times(confidence_interval_)``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIInputError, KPIUndefinedError

Z95 = 1.959963984540054  # Φ⁻¹(0.975)
D6 = [1, 2, 2, 3, 4, 5]
C6 = [1, 1, 0, 1, 0, 1]


def _bounds(s: float, v: float, z: float) -> tuple[float, float]:
    """S^exp(±z √V / −ln S), the exponential-Greenwood bounds from S and the Greenwood sum V."""
    if s == 1.0:
        return 1.0, 1.0
    if s == 0.0:
        return 0.0, 0.0
    sig = math.sqrt(v) / -math.log(s)
    return s ** math.exp(z * sig), s ** math.exp(-z * sig)


def band_reference(durations, churned, z):
    """Slow reference: one loop over the distinct times, one over the customers at each."""
    rows, s, v = [], 1.0, 0.0
    for t in sorted(set(durations)):
        n = sum(1 for d in durations if d >= t)
        dead = sum(1 for d, c in zip(durations, churned) if d == t and c)
        s *= 1 - dead / n
        if n > dead:
            v += dead / (n * (n - dead))
        lo, hi = _bounds(s, v, z)
        rows.append((float(t), n, dead, s, lo, hi))
    return pd.DataFrame(rows, columns=["time", "at risk", "churned", "survival", "lower", "upper"])


def median_reference(ref: pd.DataFrame) -> list[float]:
    out = []
    for col in ("survival", "lower", "upper"):
        hit = [t for t, s in zip(ref["time"], ref[col]) if s <= 0.5]
        out.append(hit[0] if hit else math.nan)
    return out


def _random(seed: int, n: int = 60) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.integers(0, 25, n)], [int(x) for x in rng.random(n) < 0.7]


class TestBand:
    def test_six_customers_worked_by_hand(self):
        # Greenwood sums Σ d/(n(n−d)): t=1: 1/(6·5) = 1/30; t=2: + 1/(5·4) = 1/12; t=3: + 1/(3·2) = 1/4;
        # t=4: no churn, 1/4; t=5: n = d = 1, S = 0, both bounds 0.
        got = k.survival_curve(D6, C6, True)
        assert list(got.columns) == ["time", "at risk", "churned", "survival", "lower", "upper"]
        want = [_bounds(5 / 6, 1 / 30, Z95), _bounds(2 / 3, 1 / 12, Z95), _bounds(4 / 9, 1 / 4, Z95),
                _bounds(4 / 9, 1 / 4, Z95), (0.0, 0.0)]
        np.testing.assert_allclose(got["lower"], [w[0] for w in want], rtol=1e-12)
        np.testing.assert_allclose(got["upper"], [w[1] for w in want], rtol=1e-12)
        # t=1 by hand: σ = √(1/30) / ln(6/5) = 1.001385, lower = (5/6)^exp(1.96 σ) = (5/6)^7.116 ≈ 0.2731
        assert got["lower"][0] == pytest.approx(0.2731, abs=5e-4)
        assert got["upper"][0] == pytest.approx(0.9747, abs=5e-4)

    def test_without_band_the_four_columns_are_unchanged(self):
        plain = k.survival_curve(D6, C6)
        assert list(plain.columns) == ["time", "at risk", "churned", "survival"]
        pd.testing.assert_frame_equal(plain, k.survival_curve(D6, C6, True).iloc[:, :4])

    def test_confidence_changes_the_width(self):
        z90 = 1.6448536269514722
        got = k.survival_curve(D6, C6, True, 0.9)
        lo, hi = _bounds(2 / 3, 1 / 12, z90)
        assert got["lower"][1] == pytest.approx(lo, rel=1e-12) and got["upper"][1] == pytest.approx(hi, rel=1e-12)
        wide = k.survival_curve(D6, C6, True, 0.99)
        assert wide["lower"][1] < lo and wide["upper"][1] > hi

    def test_before_the_first_churn_the_band_is_one(self):
        got = k.survival_curve([1, 2, 3, 3], [0, 1, 0, 1], True)
        assert got["survival"][0] == 1.0 and got["lower"][0] == 1.0 and got["upper"][0] == 1.0

    @pytest.mark.parametrize("seed", range(5))
    def test_matches_slow_reference_on_random_data(self, seed):
        d, c = _random(seed)
        got = k.survival_curve(d, c, True)
        ref = band_reference(d, c, Z95)
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-12)
        s = got["survival"]
        assert ((got["lower"] <= s + 1e-15) & (s <= got["upper"] + 1e-15)).all()
        assert ((got["lower"] >= 0) & (got["upper"] <= 1)).all()

    @pytest.mark.parametrize("bad", [0, 1, 1.5, -0.2])
    def test_confidence_outside_0_1_is_out_of_domain(self, bad):
        with pytest.raises(KPIDomainError, match="confidence"):
            k.survival_curve(D6, C6, True, bad)

    def test_confidence_as_text_is_an_input_error(self):
        with pytest.raises(KPIInputError, match="confidence"):
            k.survival_curve(D6, C6, True, "high")


class TestMedianLifetime:
    def test_six_customers_worked_by_hand(self):
        # S = 5/6, 2/3, 4/9 (t = 3: first ≤ 0.5); lower band 0.273 at t = 1; upper band 0.975, 0.904,
        # 0.785, 0.785, then 0 at t = 5.
        got = k.median_lifetime(D6, C6)
        assert list(got["label"]) == ["median", "lower", "upper"]
        assert list(got["value"]) == [3.0, 1.0, 5.0]

    def test_survival_of_exactly_one_half_is_the_median(self):
        got = k.median_lifetime([1, 2], [1, 0])
        assert got["value"][0] == 1.0

    def test_upper_end_not_reached_is_blank(self):
        # 10 customers, churns at 1 … 5, 5 still active at 6: S(5) = 0.5, Greenwood sum
        # Σ_{n=6}^{10} 1/(n(n−1)) = 1/5 − 1/10 = 0.1, upper = 0.5^exp(−1.96 √0.1 / ln 2) ≈ 0.753 > 0.5
        d = [1, 2, 3, 4, 5, 6, 6, 6, 6, 6]
        c = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        got = k.median_lifetime(d, c)
        assert got["value"][0] == 5.0
        assert math.isnan(got["value"][2])
        assert k.survival_curve(d, c, True)["upper"][4] == pytest.approx(0.5 ** math.exp(-Z95 * math.sqrt(0.1)
                                                                                         / math.log(2)))

    @pytest.mark.parametrize("seed", range(5))
    def test_matches_slow_reference_on_random_data(self, seed):
        d, c = _random(seed)
        got = k.median_lifetime(d, c, 0.9)
        want = median_reference(band_reference(d, c, 1.6448536269514722))
        np.testing.assert_array_equal(got["value"].to_numpy(), np.array(want))

    def test_survival_above_one_half_is_undefined_with_a_message(self):
        with pytest.raises(KPIUndefinedError, match=r"never falls to 50 %.*75\.0%.*4"):
            k.median_lifetime([1, 2, 3, 4], [1, 0, 0, 0])

    def test_no_durations_is_undefined(self):
        with pytest.raises(KPIUndefinedError, match="no durations"):
            k.median_lifetime([None, None], [None, None])

    def test_confidence_outside_0_1_is_out_of_domain(self):
        with pytest.raises(KPIDomainError, match="confidence"):
            k.median_lifetime(D6, C6, 1)


class TestAgainstLifelines:
    @pytest.mark.parametrize("seed", range(4))
    def test_band_and_median_match_lifelines(self, seed):
        lifelines = pytest.importorskip("lifelines")
        from lifelines.utils import median_survival_times

        d, c = _random(seed, 200)
        kmf = lifelines.KaplanMeierFitter().fit(d, c, alpha=0.05)
        got = k.survival_curve(d, c, True)
        ci = kmf.confidence_interval_.loc[got["time"]].to_numpy()
        np.testing.assert_allclose(got[["lower", "upper"]].to_numpy(), ci, rtol=1e-9, atol=1e-14)
        med = k.median_lifetime(d, c)["value"].to_numpy()
        lo, hi = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        want = [kmf.median_survival_time_, lo, hi]
        np.testing.assert_array_equal(med, [math.nan if math.isinf(w) else w for w in want])
