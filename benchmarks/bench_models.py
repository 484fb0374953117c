"""BG/NBD + Gamma-Gamma: ``bgnbd_fit`` then ``clv_bgnbd`` (what a CLV report runs).

On the CDNOW sample (2,357 customers, ``tests/data``) and on 100,000
synthetic customers drawn from the BG/NBD and Gamma-Gamma models with the
published CDNOW parameters. There is no baseline in the same run (the
reference implementation, ``lifetimes``, is not a dependency); the targets
are absolute: ≤ 1 s on CDNOW, ≤ 10 s on 100,000 customers. The synthetic
fit must land near the parameters the data were drawn from, which checks
that the timing is of a converged fit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import kpi_functions as k

from .harness import ROOT, Figure, time_interleaved

GROUP = "models"
CDNOW = ROOT / "tests" / "data" / "cdnow_customers_summary_with_transactions.csv"
#: Fader, Hardie & Lee (2005): BG/NBD on CDNOW; Gamma-Gamma (p, q, γ) on CDNOW.
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def make_rfm(n: int, seed: int = 0) -> pd.DataFrame:
    """RFM summaries of ``n`` customers simulated from BG/NBD + Gamma-Gamma.

    Each customer buys at a Poisson rate λ ~ Gamma(r, α) and drops out after
    any purchase with probability p ~ Beta(a, b); observation lasts T weeks,
    uniform between 39 and 78 (customers acquired over 39 weeks, observed to
    week 78, as in CDNOW). Spend per purchase is Gamma(p, ν), ν ~ Gamma(q, γ).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n)
    drop = rng.beta(BGNBD["a"], BGNBD["b"], n)
    T = np.round(rng.uniform(39.0, 78.0, n), 2)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    t = np.zeros(n)
    active = np.arange(n)
    while active.size:  # one step per purchase, vectorised over the customers still buying
        t[active] += rng.exponential(1.0, active.size) / np.maximum(lam[active], 1e-12)
        bought = t[active] <= T[active]
        buyers = active[bought]
        x[buyers] += 1
        tx[buyers] = t[buyers]
        stays = rng.random(buyers.size) >= drop[buyers]
        active = buyers[stays]
    tx = np.minimum(np.round(tx, 2), T)
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], n)
    repeat = x > 0
    zbar = np.zeros(n)
    zbar[repeat] = rng.gamma(GAMMA_GAMMA["p"] * x[repeat], 1 / (nu[repeat] * x[repeat]))
    return pd.DataFrame({"x": x.astype(float), "t_x": tx, "T": T, "zbar": np.round(zbar, 2)})


def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)[["x", "t_x", "T", "zbar"]]


def fit_and_value(d: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    fit = k.bgnbd_fit(d["x"], d["t_x"], d["T"])
    value = k.clv_bgnbd(d["x"], d["t_x"], d["T"], d["zbar"], 12)
    return fit, value


def run(n_synthetic: int = 100_000, runs: int = 5, log: Callable[[str], None] = print,
        cdnow_path: Path | None = None) -> list[Figure]:
    figures: list[Figure] = []
    sets = [("CDNOW", f"CDNOW, {2357:,} customers", cdnow(), 1.0),
            ("synthetic", f"{n_synthetic:,} synthetic customers", make_rfm(n_synthetic), 10.0)]
    for key, label, d, limit in sets:
        fit, value = fit_and_value(d)
        est = dict(zip(fit["label"], fit["value"]))
        if key == "CDNOW" and abs(est["r"] - 0.243) > 0.002:
            raise AssertionError(f"CDNOW fit r = {est['r']:.4f}, published 0.243")
        if len(value) != len(d) or not np.isfinite(value.to_numpy(dtype=float)).all():
            raise AssertionError(f"{label}: clv_bgnbd returned {len(value)} values, not all finite")
        t = time_interleaved({
            "both": lambda d=d: fit_and_value(d),
            "fit": lambda d=d: k.bgnbd_fit(d["x"], d["t_x"], d["T"]),
            "clv": lambda d=d: k.clv_bgnbd(d["x"], d["t_x"], d["T"], d["zbar"], 12),
        }, runs)
        both = t["both"].median
        figures.append(Figure(GROUP, "bgnbd_fit + clv_bgnbd", label, both, target=f"≤ {limit:g} s",
                              ok=both <= limit, runs=runs,
                              note=f"bgnbd_fit {t['fit'].median:.2f} s, clv_bgnbd {t['clv'].median:.2f} s; "
                                   f"fit r {est['r']:.3f}, α {est['alpha']:.2f}, a {est['a']:.3f}, b {est['b']:.3f}"))
        log(f"  {label}: fit + value {both:.2f} s (fit {t['fit'].median:.2f} s, value {t['clv'].median:.2f} s); "
            f"r {est['r']:.3f} alpha {est['alpha']:.2f} a {est['a']:.3f} b {est['b']:.3f}")
    return figures
