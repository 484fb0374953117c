"""Maximum likelihood for the customer models: one robust maximiser, shared.

:func:`maximise` minimises a negative log-likelihood over log-parameters
with BFGS from several starts, falling back to Nelder–Mead, and turns a fit
the data cannot identify into a :class:`~kpi_functions.KPIModelError`. The
sBG model (:mod:`kpi_functions.survival`), BG/NBD and Gamma-Gamma
(:mod:`kpi_functions.bgnbd`) use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, special

from ._errors import KPIModelError

__all__ = ["log_scale_intervals", "maximise", "observed_information"]


def maximise(
    negll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: Sequence[Sequence[float] | np.ndarray],
    bounds: Sequence[tuple[float, float]],
    fn: str,
    model: str,
    *,
    credible: float = np.log(1e6),
    explain: Callable[[np.ndarray, float], str | None] | None = None,
    names: Sequence[str] | None = None,
) -> tuple[np.ndarray, float]:
    """Minimise a (scaled) negative log-likelihood over log-parameters.

    ``negll(theta)`` returns the value and its gradient. The starts are run
    in turn with BFGS (analytic gradient) until one converges (gradient ~0)
    to an interior point; if none does and the best end point is not at the
    edge, Nelder–Mead restarts from it and BFGS polishes the result. ``bounds`` are walls the search may not cross
    (beyond them the special functions lose precision). A fit that does not
    converge, or whose estimates leave ``exp(±credible)`` (a parameter
    running to 0 or to infinity: the data do not identify the model), raises
    KPIModelError. ``explain(theta, value)``, when given, may return a more
    specific message for that error; ``names`` name the parameters in it.

    BFGS rather than L-BFGS-B: scipy's L-BFGS-B calls into the threaded BLAS
    on every iteration, which costs milliseconds per step when the machine
    is busy; BFGS on four parameters does not.
    """
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])

    def safe(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(theta < lo) or np.any(theta > hi):
            return 1e300, np.zeros_like(theta)
        with np.errstate(all="ignore"):
            f, g = negll(theta)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(theta)
        return float(f), g

    def bfgs(x0: Sequence[float] | np.ndarray) -> optimize.OptimizeResult:
        return optimize.minimize(safe, np.asarray(x0, dtype=float), jac=True, method="BFGS",
                                 options={"maxiter": 1000, "gtol": 1e-9})

    def converged(res: optimize.OptimizeResult) -> bool:
        if not np.isfinite(res.fun) or res.fun >= 1e299:
            return False
        return bool(np.all(np.abs(safe(res.x)[1]) < 1e-5))

    best: optimize.OptimizeResult | None = None
    for x0 in starts:
        res = bfgs(x0)
        if best is None or res.fun < best.fun:
            best = res
        if converged(res) and np.all(np.abs(res.x) <= credible):
            return res.x, float(res.fun)  # an interior optimum: the other starts are fallbacks
    assert best is not None

    def fail(best: optimize.OptimizeResult, message: str) -> KPIModelError:
        better = explain(best.x, best.fun) if explain is not None else None
        return KPIModelError(fn, better or message)

    def edge(best: optimize.OptimizeResult) -> KPIModelError:
        labels = list(names) if names is not None else [f"parameter {i + 1}" for i in range(best.x.size)]
        out = [nm for nm, v in zip(labels, best.x) if abs(v) > credible]
        many = len(out) > 1
        return fail(best, f"the {model} estimate{'s' if many else ''} of {', '.join(out)} run{'' if many else 's'} "
                    "to 0 or to infinity, so the data cannot identify the model (too few customers, or "
                    "too little variation between them)")

    if np.any(np.abs(best.x) > credible):
        raise edge(best)  # every start ran off towards the same edge
    if not converged(best):
        nm = optimize.minimize(lambda t: safe(t)[0], best.x, method="Nelder-Mead", bounds=bounds,
                               options={"maxiter": 4000, "maxfev": 8000, "xatol": 1e-10, "fatol": 1e-14,
                                        "adaptive": True})
        polish = bfgs(nm.x)
        best = min((best, polish), key=lambda r: r.fun)
        if not converged(best):
            if np.any(np.abs(best.x) > credible):
                raise edge(best)
            raise fail(best, f"the {model} fit did not converge; the data may be too few or too regular to "
                       "identify the model")
    if np.any(np.abs(best.x) > credible):
        raise edge(best)
    return best.x, float(best.fun)


def observed_information(
    negll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    scale: float,
    fn: str,
    model: str,
    names: Sequence[str],
) -> np.ndarray:
    """Covariance of the log-parameters: the inverse observed information at ``theta``.

    ``negll`` is the scaled negative log-likelihood given to :func:`maximise`
    (total = ``scale`` × value). Its Hessian in the log-parameters is taken
    by central differences of the analytic gradient with the relative step
    ``ε^{1/3} max(1, |θᵢ|)`` and symmetrised. A Hessian that is not positive
    definite (or is numerically singular) means the data do not pin the
    estimates down: KPIModelError.
    """
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(theta))
    hess = np.empty((k, k))
    with np.errstate(all="ignore"):
        for i in range(k):  # k ≤ 4 parameters, not rows
            e = np.zeros(k)
            e[i] = h[i]
            hess[:, i] = (negll(theta + e)[1] - negll(theta - e)[1]) / (2.0 * h[i])
    hess = 0.5 * (hess + hess.T) * scale
    singular = KPIModelError(fn, f"the {model} fit's information matrix (the curvature of the log-likelihood "
                             "at the estimates) is singular, so the standard errors of "
                             f"{', '.join(names)} are not defined: the data hardly pin the estimates down")
    if not np.all(np.isfinite(hess)):
        raise singular
    w = np.linalg.eigvalsh(hess)
    if w[0] <= 1e-10 * max(abs(w[-1]), 1e-300):
        raise singular
    return np.linalg.inv(hess)


def log_scale_intervals(values: np.ndarray, cov_log: np.ndarray,
                        confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard errors and intervals of positive parameters from the covariance of their logs.

    ``se(θ) = θ · se(ln θ)`` (delta method); the interval is taken on the
    log scale, ``exp(ln θ ± z · se(ln θ))`` (``z`` the normal quantile of
    ``confidence``), so it stays positive and is not symmetric about θ.
    """
    values = np.asarray(values, dtype=float)
    se_log = np.sqrt(np.diag(cov_log))
    z = float(special.ndtri(0.5 + confidence / 2.0))
    return values * se_log, values * np.exp(-z * se_log), values * np.exp(z * se_log)
