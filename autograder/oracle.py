"""High-precision oracles (mpmath at 60 significant digits) for the checks' expected values.

Each function takes exactly representable float inputs and returns the true result rounded once
to float64, so it is within half a float64 ULP of the exact answer — far inside any tolerance the
checks use. Non-finite inputs follow the IEEE conventions stated per function.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import mpmath
import numpy as np

PRECISION_DIGITS = 60


def _mp():
    context = mpmath.mp.clone()
    context.dps = PRECISION_DIGITS
    return context


def logsumexp(values: Iterable[float]) -> float:
    """log Σ exp(vᵢ): NaN → nan; any +inf → inf; no finite terms (empty, all -inf) → -inf."""
    values = [float(v) for v in values]
    if any(math.isnan(v) for v in values):
        return math.nan
    if any(v == math.inf for v in values):
        return math.inf
    finite = [v for v in values if v != -math.inf]
    if not finite:
        return -math.inf
    mp = _mp()
    return float(mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in finite)))


def logsumexp_axis(x: np.ndarray, axis: int | None, keepdims: bool = False) -> np.ndarray:
    """:func:`logsumexp` along ``axis`` of ``x`` (all elements for ``None``), as float64."""
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        result = np.array(logsumexp(x.ravel()))
        return result.reshape((1,) * x.ndim) if keepdims else result
    moved = np.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1]) if moved.size else np.empty((0, 0))
    if moved.size:
        out = np.array([logsumexp(row) for row in flat]).reshape(moved.shape[:-1])
    else:
        out = np.full(moved.shape[:-1], -np.inf)
    return np.expand_dims(out, axis) if keepdims else out


def logaddexp(a: float, b: float) -> float:
    """log(eᵃ + eᵇ) with NumPy's conventions for infinities and NaN."""
    return logsumexp([a, b])


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x); ±inf → 1/0, NaN → nan."""
    if math.isnan(x):
        return math.nan
    mp = _mp()
    return float(1 / (1 + mp.exp(-mp.mpf(x))))


def softplus(x: float) -> float:
    """log(1 + eˣ); +inf → inf, -inf → 0, NaN → nan."""
    if math.isnan(x) or x == math.inf:
        return x
    mp = _mp()
    return float(mp.log1p(mp.exp(mp.mpf(x))))


def log_softmax(row: Iterable[float]) -> np.ndarray:
    """xᵢ - log Σ exp(xⱼ) for one row of finite or -inf logits (−inf stays −inf)."""
    row = [float(v) for v in row]
    mp = _mp()
    finite = [mp.mpf(v) for v in row if v != -math.inf]
    total = mp.log(mp.fsum(mp.exp(v) for v in finite))
    return np.array([-math.inf if v == -math.inf else float(mp.mpf(v) - total) for v in row])


def softmax(row: Iterable[float]) -> np.ndarray:
    """exp(xᵢ) / Σ exp(xⱼ) for one row of finite or -inf logits (−inf gives exactly 0)."""
    row = [float(v) for v in row]
    mp = _mp()
    finite = [mp.mpf(v) for v in row if v != -math.inf]
    shift = max(finite)
    total = mp.fsum(mp.exp(v - shift) for v in finite)
    return np.array(
        [0.0 if v == -math.inf else float(mp.exp(mp.mpf(v) - shift) / total) for v in row]
    )


def softmax_axis(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """:func:`softmax` of every 1-D slice of ``x`` along ``axis``, as float64."""
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, axis, -1)
    rows = [softmax(row) for row in moved.reshape(-1, moved.shape[-1])]
    return np.moveaxis(np.array(rows).reshape(moved.shape), -1, axis)


def log_softmax_axis(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """:func:`log_softmax` of every 1-D slice of ``x`` along ``axis``, as float64."""
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, axis, -1)
    rows = [log_softmax(row) for row in moved.reshape(-1, moved.shape[-1])]
    return np.moveaxis(np.array(rows).reshape(moved.shape), -1, axis)


def cross_entropy(logits: np.ndarray, targets: Iterable[int]) -> float:
    """Mean over rows of -log softmax(logitsₙ)[targetₙ] for finite (N, C) logits, N ≥ 1.

    Each row's log-sum-exp is formed with the largest term split off (``log1p`` of the rest), so
    a nearly certain row whose loss is far below 1 still gets full relative accuracy.
    """
    mp = _mp()
    logits = np.asarray(logits, dtype=np.float64)
    losses = []
    for row, target in zip(logits, targets, strict=True):
        values = sorted((mp.mpf(float(v)) for v in row), reverse=True)
        top = values[0]
        lse = top + mp.log1p(mp.fsum(mp.exp(v - top) for v in values[1:]))
        losses.append(lse - mp.mpf(float(row[int(target)])))
    return float(mp.fsum(losses) / len(losses))


def cross_entropy_grad(logits: np.ndarray, targets: Iterable[int]) -> np.ndarray:
    """Gradient of :func:`cross_entropy` w.r.t. the logits: (softmax(row) - onehot) / N."""
    logits = np.asarray(logits, dtype=np.float64)
    grad = softmax_axis(logits, axis=-1)
    mp = _mp()
    for n, target in enumerate(targets):
        row = [mp.mpf(float(v)) for v in logits[n]]
        shift = max(row)
        total = mp.fsum(mp.exp(v - shift) for v in row)
        # p - 1 = -(sum of the other terms) / total, without cancellation.
        others = mp.fsum(mp.exp(v - shift) for j, v in enumerate(row) if j != int(target))
        grad[n, int(target)] = float(-others / total)
    return grad / len(logits)


def bce_with_logits(logits: Iterable[float], targets: Iterable[float]) -> float:
    """Mean of max(x, 0) - x·y + log1p(e^-|x|) over finite logits x and targets y (same shape).

    This is log(1 + eˣ) - x·y written without cancellation, so it is exact to 60 digits even when
    the loss is many orders of magnitude below |x|.
    """
    mp = _mp()
    xs = [mp.mpf(float(v)) for v in np.ravel(np.asarray(logits, dtype=np.float64))]
    ys = [mp.mpf(float(v)) for v in np.ravel(np.asarray(targets, dtype=np.float64))]
    terms = [max(x, 0) - x * y + mp.log1p(mp.exp(-abs(x))) for x, y in zip(xs, ys, strict=True)]
    return float(mp.fsum(terms) / len(terms))
