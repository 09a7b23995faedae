"""Feature standardisation, streaming variance, and gradient descent on standardised features.

Reference implementations for the ``ex06_standardisation`` assignment.

Two numerical ideas carry the module:

* The textbook ``E[x^2] - E[x]^2`` cancels catastrophically when the data have a large offset
  (1e9 + N(0, 1) has E[x^2] ~ 1e18, so the variance drowns in rounding error). We use the
  two-pass algorithm with the correction term of Chan, Golub and LeVeque: subtract the first-pass
  mean, then correct both mean and variance with the mean of the deviations.
* Batches are merged with the parallel formulas of Chan et al.: for counts n_a, n_b, means m_a,
  m_b and population variances v_a, v_b, with delta = m_b - m_a and n = n_a + n_b,
  mean = m_a + delta * n_b / n and v = (n_a v_a + n_b v_b) / n + delta^2 n_a n_b / n^2.

All statistics are accumulated in float64 on data scaled by an exact power of two, so neither the
sums nor the squares overflow or underflow for any finite input. ``welford`` first tries each
batch without the scaling (four passes over one float64 copy) and scales only when a sum
overflowed or the data are so small that squares could underflow; both give the same result up
to the order of summation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np

from solutions._sums import sum_of_squares

__all__ = ["fit_standardiser", "standardise", "welford", "fit_linear_regression_gd"]


def _float_array(a: Any, where: str) -> np.ndarray:
    """``a`` as an array of its floating dtype (ints and bools become float64)."""
    arr = np.asarray(a)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{where} must hold real numbers; got dtype {arr.dtype}")
    return arr


def _column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean as an unevaluated sum ``hi + lo``, and variance as ``var_s * 4**e``.

    ``x`` is 2-D with at least one row. Each column is scaled by the power of two just above its
    largest magnitude (exact), the corrected two-pass algorithm runs on values in (-1, 1), and
    the results are scaled back. ``hi`` is the first-pass mean and ``lo`` the correction term, so
    ``hi + lo`` carries the mean to about twice the working precision (what the batch merge in
    :func:`welford` needs). The variance is returned unscaled (``var_s`` with its exponent
    ``e``) so that the standard deviation ``ldexp(sqrt(var_s), e)`` never overflows. Non-finite
    entries give NaN/inf statistics.
    """
    x = x.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        biggest = np.max(np.abs(x), axis=0)
        _, e = np.frexp(np.where(np.isfinite(biggest) & (biggest > 0), biggest, 1.0))
        xs = np.ldexp(x, -e)
        first = np.mean(xs, axis=0)
        dev = xs - first
        correction = np.mean(dev, axis=0)
        var_s = np.maximum(np.mean(dev * dev, axis=0) - correction * correction, 0.0)
        return np.ldexp(first, e), np.ldexp(correction, e), var_s, e


# The unscaled batch statistics are trusted when the data's scale (the larger of |mean| and the
# root-mean-square deviation) is at least this: squares that underflow are then at most
# 2**-1074 each against a sum of squares of at least 2**-600, negligible.
_SMALLEST_UNSCALED = 2.0**-300


def _batch_stats(b: np.ndarray) -> tuple[float, float, float]:
    """Mean as ``hi + lo`` and population variance of a non-empty 1-D batch (see ``welford``).

    Tries :func:`_fast_batch_stats`; falls back to the rescaled :func:`_column_stats`.
    """
    fast = _fast_batch_stats(b)
    if fast is not None:
        return fast
    hi, lo, var_s, e = _column_stats(b.reshape(-1, 1))
    with np.errstate(over="ignore", under="ignore"):
        var = float(np.ldexp(var_s[0], 2 * int(e[0])))
    return float(hi[0]), float(lo[0]), var


def _fast_batch_stats(b: np.ndarray) -> tuple[float, float, float] | None:
    """The corrected two-pass statistics of a 1-D batch without rescaling, or None.

    Four passes over one float64 copy (sum, subtract in place, sum, sum of squares). This is
    what :func:`_column_stats` computes, up to the order of summation, whenever nothing
    overflows and the data are not so small that squares underflow; None (use the rescaled
    computation) when a result is not finite (an inf or NaN entry, or an overflow) or the
    data's scale is below ``_SMALLEST_UNSCALED`` (which includes an all-zero batch).
    """
    n = b.shape[0]
    with np.errstate(all="ignore"):
        dev = b.astype(np.float64)  # a copy even for float64: it is overwritten below
        first = float(np.sum(dev)) / n
        np.subtract(dev, first, out=dev)
        correction = float(np.sum(dev)) / n
        mean_square = sum_of_squares(dev) / n
    if not (math.isfinite(first) and math.isfinite(mean_square)):
        return None
    if max(abs(first), math.sqrt(mean_square)) < _SMALLEST_UNSCALED:
        return None
    return first, correction, max(mean_square - correction * correction, 0.0)


def _two_sum(a: float, b: float) -> tuple[float, float]:
    """Knuth's TwoSum: ``s + err == a + b`` exactly, with ``s = fl(a + b)``."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def fit_standardiser(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and population standard deviation (ddof=0) of a data matrix.

    Accurate when columns carry a large offset (1e9 + small values): the corrected two-pass
    algorithm in float64 on exactly rescaled data, never ``E[x^2] - E[x]^2``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        At least one row; every entry finite. Integer/bool data are treated as float64.

    Returns
    -------
    mean, scale : ndarray, shape (n_features,)
        In X's floating dtype. ``scale`` is the population standard deviation, except that an
        exactly constant column (including every column of a one-row matrix) gets 1.0, so that
        standardising it gives zeros rather than 0/0. A matrix with zero columns gives two empty
        arrays.

    Raises
    ------
    ValueError
        If X is not 2-D, has no rows, is not real, or contains NaN or inf (the message names the
        first offending column).
    """
    x = _float_array(X, "fit_standardiser: X")
    if x.ndim != 2:
        raise ValueError(
            f"fit_standardiser: X must be 2-D (n_samples, n_features); got shape {x.shape} "
            "(use X.reshape(-1, 1) for a single feature)"
        )
    if x.shape[0] == 0:
        raise ValueError("fit_standardiser: X has no rows; need at least one sample")
    finite = np.isfinite(x).all(axis=0)
    if not finite.all():
        col = int(np.argmin(finite))
        kind = "NaN" if np.isnan(x[:, col]).any() else "inf"
        raise ValueError(
            f"fit_standardiser: column {col} of X contains {kind}; impute or drop missing "
            "values before standardising"
        )
    hi, lo, var_s, e = _column_stats(x)
    mean = hi + lo
    constant = (x == x[0]).all(axis=0)
    with np.errstate(under="ignore"):
        scale = np.where(constant, 1.0, np.ldexp(np.sqrt(var_s), e))
    with np.errstate(over="ignore", under="ignore"):
        return mean.astype(x.dtype), scale.astype(x.dtype)


def standardise(X: Any, mean: Any, scale: Any) -> np.ndarray:
    """Return ``(X - mean) / scale`` column by column.

    The arithmetic is done in float64 and rounded once to X's floating dtype.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Data; NaN propagates to the result, inf gives +-inf.
    mean, scale : array_like, shape (n_features,)
        As returned by :func:`fit_standardiser`; ``mean`` finite, ``scale`` finite and > 0.

    Returns
    -------
    ndarray
        New array of X's shape and floating dtype (float64 for integer X). Zero rows give an
        empty array.

    Raises
    ------
    ValueError
        If X is not 2-D, ``mean``/``scale`` are not 1-D of length ``n_features``, ``mean`` is not
        finite, or ``scale`` is not finite and strictly positive.
    """
    x = _float_array(X, "standardise: X")
    mu = _float_array(mean, "standardise: mean")
    sd = _float_array(scale, "standardise: scale")
    if x.ndim != 2:
        raise ValueError(f"standardise: X must be 2-D (n_samples, n_features); got {x.shape}")
    d = x.shape[1]
    for name, v in (("mean", mu), ("scale", sd)):
        if v.shape != (d,):
            raise ValueError(
                f"standardise: {name} must have shape ({d},) to match X's {d} columns; "
                f"got {v.shape}"
            )
    if not np.isfinite(mu).all():
        raise ValueError("standardise: mean must be finite")
    if not (np.isfinite(sd).all() and (sd > 0).all()):
        raise ValueError(
            "standardise: scale must be finite and > 0 in every column (fit_standardiser "
            "gives 1.0 to constant columns)"
        )
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        z = (x.astype(np.float64) - mu.astype(np.float64)) / sd.astype(np.float64)
        return z.astype(x.dtype)


def welford(batches: Iterable[Any]) -> tuple[int, float, float]:
    """Streaming count, mean and population variance over batches, merged stably.

    Each batch's statistics are computed with the corrected two-pass algorithm (float64, with
    exact power-of-two rescaling when the batch needs it) and merged into the running ones with
    Chan et al.'s parallel formulas, so the result is accurate with large offsets
    (1e9 + N(0, 1)) and the iterable is consumed exactly once (generators work).

    Parameters
    ----------
    batches : iterable of array_like
        1-D arrays of real numbers; empty batches are skipped.

    Returns
    -------
    n : int
        Total number of values.
    mean : float
        Their mean; ``nan`` when there are no values.
    var : float
        Their population variance (ddof=0); ``nan`` when there are no values, 0.0 for a single
        value. A NaN anywhere makes mean and var NaN; an inf makes the mean +-inf (or NaN for
        both signs) and the variance NaN; a variance beyond the float64 range is inf.
        Never warns, whatever NumPy's error state: tiny values underflow silently.

    Raises
    ------
    ValueError
        If a batch is not 1-D or not real (the message gives the batch's position).
    """
    n = 0
    hi, lo = math.nan, 0.0  # running mean as the unevaluated sum hi + lo
    var = math.nan
    for i, batch in enumerate(batches):
        b = _float_array(batch, f"welford: batch {i}")
        if b.ndim != 1:
            raise ValueError(
                f"welford: batch {i} must be 1-D; got shape {b.shape} (pass b.ravel() to treat "
                "every entry as one value)"
            )
        nb = b.shape[0]
        if nb == 0:
            continue
        b_hi, b_lo, b_var = _batch_stats(b)
        if n == 0:
            n, var = nb, b_var
            hi, lo = _two_sum(b_hi, b_lo) if math.isfinite(b_hi) else (b_hi, 0.0)
            continue
        total = n + nb
        wa, wb = n / total, nb / total
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            finite = math.isfinite(hi) and math.isfinite(b_hi)
            # the difference of the leading parts is exact when the means are close
            d_hi = float(np.float64(b_hi) - np.float64(hi)) if finite else math.nan
            if finite and math.isfinite(d_hi):
                delta = d_hi + (b_lo - lo)
                h, low = _two_sum(hi, delta * wb)
                hi, lo = _two_sum(h, low + lo)
                spread = math.sqrt(wa * wb) * delta
                var = float(wa * np.float64(var) + wb * np.float64(b_var) + spread * spread)
            else:
                # a NaN or inf among the data (mean +-inf or NaN, variance NaN), or two finite
                # means whose difference overflows (then the variance overflows as well)
                a_mean = hi + lo if math.isfinite(hi) else hi
                b_mean = b_hi + b_lo if math.isfinite(b_hi) else b_hi
                hi = float(wa * np.float64(a_mean) + wb * np.float64(b_mean))
                lo = 0.0
                var = math.inf if finite and math.isfinite(hi) else math.nan
        n = total
    mean = hi + lo if math.isfinite(hi) else hi
    return n, float(mean), float(var)


def fit_linear_regression_gd(
    X: Any, y: Any, lr: float = 0.1, n_steps: int = 1000
) -> tuple[np.ndarray, float]:
    """Least-squares linear regression by gradient descent on standardised features.

    The features are standardised with :func:`fit_standardiser`; full-batch gradient descent on
    the mean squared error ``mean((Z w_s + b_s - y)^2)`` starts from ``w_s = 0, b_s = 0``; the
    weights are then mapped back to the original units, ``w = w_s / scale`` and
    ``b = b_s - mean @ w``, so that ``X @ w + b`` predicts y. Standardising makes every feature
    O(1), so one learning rate suits all of them: on raw features of very different scales
    (salary ~1e5, age ~40, a rate ~1e-3) the same learning rate diverges to inf/NaN.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        At least one row, finite entries. A constant column gets weight 0.
    y : array_like, shape (n_samples,)
        Finite targets.
    lr : float, default 0.1
        Finite, positive step size for the standardised problem.
    n_steps : int, default 1000
        Number of gradient steps, >= 0 (0 returns ``w = 0``, ``b = 0``).

    Returns
    -------
    w : ndarray, shape (n_features,)
        Weights in the original units, float64 whatever X's dtype (an exception to the rule
        that a result keeps its input's dtype: the descent runs in float64).
    b : float
        Intercept in the original units.
        If ``lr`` is too large even for standardised features the iteration diverges and w, b
        are inf/NaN (silently; no warning is emitted).

    Raises
    ------
    ValueError
        For non-2-D or empty X, a y whose shape is not ``(n_samples,)``, NaN/inf in X or y, or a
        bad ``lr``/``n_steps``.
    """
    func = "fit_linear_regression_gd"
    x = _float_array(X, f"{func}: X")
    t = _float_array(y, f"{func}: y")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"{func}: X must be 2-D (n_samples, n_features) with at least one row; "
            f"got shape {x.shape}"
        )
    if t.shape != (x.shape[0],):
        raise ValueError(
            f"{func}: y must have shape ({x.shape[0]},) to match X's rows; got {t.shape}"
        )
    if not np.isfinite(t).all():
        raise ValueError(f"{func}: y contains NaN or inf")
    if (
        isinstance(lr, bool)
        or not isinstance(lr, Real)
        or not (math.isfinite(float(lr)) and float(lr) > 0)
    ):
        raise ValueError(f"{func}: lr must be finite and > 0; got {lr!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 0:
        raise ValueError(f"{func}: n_steps must be a non-negative integer; got {n_steps!r}")

    x64 = x.astype(np.float64)
    mean, scale = fit_standardiser(x64)  # raises on NaN/inf in X, naming the column
    z = standardise(x64, mean, scale)
    t64 = t.astype(np.float64)
    n = z.shape[0]
    w_s = np.zeros(z.shape[1])
    b_s = 0.0
    rate = float(lr)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for _ in range(int(n_steps)):
            residual = z @ w_s + b_s - t64
            w_s = w_s - rate * (2.0 / n) * (z.T @ residual)
            b_s = b_s - rate * 2.0 * float(np.mean(residual))
        w = w_s / scale
        b = b_s - float(mean @ w)
        return w, float(b)
