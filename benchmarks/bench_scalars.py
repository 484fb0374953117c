"""Scalar KPIs on 1,000,000 values: NPS, CSAT, MRR churn, NRR.

Each library call is timed beside

* the floor — a plain numpy reduction over the same array that computes the
  same number and checks nothing (the least work any implementation must do);
* a straightforward pandas version an analyst would write (no validation).

The library is timed on the fast path (a float ndarray and a Series) and,
separately, on the Excel-shaped nested list the classic add-in hands over; the
nested list's baseline is numpy's own conversion of the list plus the floor,
so that figure shows what the conversion costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import kpi_functions as k

from .harness import Figure, time_interleaved

GROUP = "scalars"
TARGET = 3.0  # × the numpy floor


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def make_scores(n: int, low: int, high: int, seed: int = 0) -> np.ndarray:
    """Survey answers: whole numbers low…high as floats (a skewed, realistic mix)."""
    rng = np.random.default_rng(seed)
    levels = np.arange(low, high + 1)
    w = np.linspace(1.0, 3.0, levels.size) ** 2
    return rng.choice(levels, n, p=w / w.sum()).astype(float)


def make_start_end(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer MRR at the start and end of a month: 8 % new, 5 % churned,
    the rest flat, expanded or contracted."""
    rng = np.random.default_rng(seed)
    start = np.round(rng.choice([29.0, 49.0, 99.0, 299.0, 999.0], n), 2)
    u = rng.random(n)
    end = np.where(u < 0.05, 0.0, np.where(u < 0.15, start * 1.5, np.where(u < 0.20, start * 0.7, start)))
    new = rng.random(n) < 0.08
    start = np.where(new, 0.0, start)
    return start, end


# --------------------------------------------------------------------------
# Floors (numpy, no validation) and straightforward pandas versions
# --------------------------------------------------------------------------
def floor_nps(x: np.ndarray) -> float:
    return 100.0 * (np.count_nonzero(x >= 9) - np.count_nonzero(x <= 6)) / x.size


def floor_csat(x: np.ndarray) -> float:
    return np.count_nonzero(x >= 4) / x.size


def floor_churn_revenue(s: np.ndarray, e: np.ndarray) -> float:
    # churned + contraction = Σ max(s − e, 0): s when e = 0, s − e when 0 < e < s
    return float(np.maximum(s - e, 0.0).sum() / s.sum())


def floor_nrr(s: np.ndarray, e: np.ndarray) -> float:
    return float(np.where(s > 0, e, 0.0).sum() / s.sum())


def pandas_nps(x: np.ndarray) -> float:
    s = pd.Series(x).dropna()
    return 100.0 * ((s >= 9).mean() - (s <= 6).mean())


def pandas_csat(x: np.ndarray) -> float:
    s = pd.Series(x).dropna()
    return float((s >= 4).mean())


def pandas_churn_revenue(s: np.ndarray, e: np.ndarray) -> float:
    df = pd.DataFrame({"start": s, "end": e}).fillna(0)
    paying = df[df["start"] > 0]
    churned = paying.loc[paying["end"] == 0, "start"].sum()
    shrunk = paying[(paying["end"] > 0) & (paying["end"] < paying["start"])]
    contraction = (shrunk["start"] - shrunk["end"]).sum()
    return float((churned + contraction) / paying["start"].sum())


def pandas_nrr(s: np.ndarray, e: np.ndarray) -> float:
    df = pd.DataFrame({"start": s, "end": e}).fillna(0)
    paying = df[df["start"] > 0]
    return float(paying["end"].sum() / paying["start"].sum())


# --------------------------------------------------------------------------
# The group
# --------------------------------------------------------------------------
def _same(label: str, a: float, b: float) -> None:
    if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"{label}: the baseline computes {b!r}, the library {a!r}")


def run(n: int = 1_000_000, runs: int = 15, budget: float = 1.5, log: Callable[[str], None] = print) -> list[Figure]:
    scores = make_scores(n, 0, 10)
    ratings = make_scores(n, 1, 5, seed=1)
    start, end = make_start_end(n, seed=2)
    pair2d = np.column_stack([start, end])
    size = f"{n:,} values" if n != 1 else "1 value"
    pair_size = f"{n:,} customers (start, end)"
    cases: list[tuple[str, str, Callable, Callable, Callable, tuple, Any]] = [
        # name, size, library, floor, pandas, args (fast path), nested-list form
        ("nps", size, k.nps, floor_nps, pandas_nps, (scores,), (scores.reshape(-1, 1).tolist(),)),
        ("csat", size, k.csat, floor_csat, pandas_csat, (ratings,), (ratings.reshape(-1, 1).tolist(),)),
        ("churn_revenue", pair_size, k.churn_revenue, floor_churn_revenue, pandas_churn_revenue, (start, end),
         (pair2d.tolist(),)),
        ("nrr", pair_size, k.nrr, floor_nrr, pandas_nrr, (start, end), (pair2d.tolist(),)),
    ]
    figures: list[Figure] = []
    for name, sz, lib, floor, pdver, args, nested in cases:
        series = tuple(pd.Series(a) for a in args)
        expected = floor(*args)
        for label, value in (("pandas", pdver(*args)), ("ndarray", lib(*args)), ("Series", lib(*series)),
                             ("nested list", lib(*nested))):
            _same(f"{name} ({label})", value, expected)
        t = time_interleaved({
            "floor": lambda floor=floor, args=args: floor(*args),
            "pandas": lambda pdver=pdver, args=args: pdver(*args),
            "ndarray": lambda lib=lib, args=args: lib(*args),
            "Series": lambda lib=lib, series=series: lib(*series),
        }, runs, budget=budget)
        floor_s = t["floor"].median
        for case in ("ndarray", "Series"):
            r = t[case].median / floor_s
            figures.append(Figure(GROUP, name, f"{sz}, {case}", t[case].median, baseline="numpy floor",
                                  baseline_value=floor_s, target=f"≤ {TARGET:g}× floor", ok=r <= TARGET,
                                  runs=len(t[case].runs)))
        figures.append(Figure(GROUP, name, f"{sz}, ndarray", t["ndarray"].median, baseline="pandas version",
                              baseline_value=t["pandas"].median, runs=len(t["ndarray"].runs),
                              note="context: straightforward pandas, no validation"))
        # the Excel shape: the list has to become an array first, whoever computes
        convert = nested[0]
        if len(args) == 1:
            base_fn = (lambda floor=floor, convert=convert: floor(np.array(convert, dtype=float).reshape(-1)))
        else:
            base_fn = (lambda floor=floor, convert=convert: floor(*np.array(convert, dtype=float).T))
        tn = time_interleaved({"numpy conversion + floor": base_fn,
                               "nested": lambda lib=lib, nested=nested: lib(*nested)},
                              max(3, runs // 3), budget=budget)
        figures.append(Figure(GROUP, name, f"{sz}, nested list (Excel shape)", tn["nested"].median,
                              baseline="np.array(list) + floor", baseline_value=tn["numpy conversion + floor"].median,
                              runs=len(tn["nested"].runs), note="reported separately: mostly conversion"))
        log(f"  {name}: ndarray {t['ndarray'].median * 1e3:.2f} ms, floor {floor_s * 1e3:.2f} ms, "
            f"pandas {t['pandas'].median * 1e3:.2f} ms, nested {tn['nested'].median * 1e3:.0f} ms")
    return figures
