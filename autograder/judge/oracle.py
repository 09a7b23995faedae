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
    # Split off the maximum so tiny results (log(1 + x) ≈ x) survive the working precision.
    finite.remove(top := max(finite))
    return float(top + mp.log1p(mp.fsum(mp.exp(mp.mpf(v) - top) for v in finite)))


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


# ---------------------------------------------------------------- ex01_floats / ex02_overflow


def float_format_exact(exponent_bits: int, mantissa_bits: int) -> dict[str, float]:
    """Extreme values of the IEEE-style format (e, m), computed in exact rational arithmetic.

    ``max`` = (2 - 2⁻ᵐ)·2ᵇ, ``min_normal`` = 2¹⁻ᵇ, ``min_subnormal`` = 2¹⁻ᵇ⁻ᵐ and ``eps`` = 2⁻ᵐ
    with bias b = 2ᵉ⁻¹ - 1. Every value is a float64 number for 2 ≤ e ≤ 11 and 1 ≤ m ≤ 52, so
    the conversion at the end is exact; outside that range the result is not meaningful.
    """
    from fractions import Fraction

    bias = 2 ** (exponent_bits - 1) - 1
    two = Fraction(2)
    values = {
        "max": (2 - two**-mantissa_bits) * two**bias,
        "min_normal": two ** (1 - bias),
        "min_subnormal": two ** (1 - bias - mantissa_bits),
        "eps": two**-mantissa_bits,
    }
    return {key: float(value) for key, value in values.items()}


def _format_of(dtype) -> tuple[int, int]:
    """(E_min, m): smallest normal exponent and stored fraction bits of a NumPy float dtype."""
    info = np.finfo(dtype)
    return int(info.minexp), int(info.nmant)


def _floor_log2(value) -> int:
    """⌊log₂ value⌋ of a positive Fraction, exactly."""
    from fractions import Fraction

    exponent = value.numerator.bit_length() - value.denominator.bit_length()
    # Now 2^(exponent-1) < value < 2^(exponent+1); settle which side of 2^exponent it is on.
    return exponent if value >= Fraction(2) ** exponent else exponent - 1


def ulp_exact(x: float, dtype) -> float:
    """One ULP of ``x`` rounded to ``dtype`` (NumPy's correctly rounded cast), exactly.

    2^(max(⌊log₂|x̂|⌋, E_min) - m) with x̂ the rounded value; ±0 and subnormals give the smallest
    subnormal; inf and NaN (including values that round to ±inf) give nan.
    """
    from fractions import Fraction

    with np.errstate(over="ignore"):
        rounded = float(np.dtype(dtype).type(x))
    if not math.isfinite(rounded):
        return math.nan
    e_min, m = _format_of(dtype)
    exponent = e_min if rounded == 0 else max(_floor_log2(abs(Fraction(rounded))), e_min)
    return float(Fraction(2) ** (exponent - m))


def _grid_index(value: float, dtype) -> int:
    """Signed position of a finite ``dtype`` number on the grid of that format (0 for ±0).

    Counted, not read from bits: the non-negative numbers below 2^E_min are the 2^m subnormals
    (0 included) and each binade [2^E, 2^(E+1)) holds 2^m more, evenly spaced.
    """
    from fractions import Fraction

    e_min, m = _format_of(dtype)
    magnitude = abs(Fraction(value))
    if magnitude < Fraction(2) ** e_min:
        index = magnitude / Fraction(2) ** (e_min - m)
    else:
        exponent = _floor_log2(magnitude)
        index = (exponent - e_min + 1) * 2**m + (magnitude / Fraction(2) ** exponent - 1) * 2**m
    assert index.denominator == 1, "value is not on the grid"
    return int(index) if value >= 0 else -int(index)


def ulps_between_exact(a: float, b: float, dtype) -> int:
    """Steps between ``a`` and ``b`` rounded to ``dtype``, counted on the format's grid.

    ±0 are one point; symmetric; finite values only (infinities and NaN raise ``ValueError``).
    """
    with np.errstate(over="ignore"):
        a_r, b_r = (float(np.dtype(dtype).type(v)) for v in (a, b))
    if not (math.isfinite(a_r) and math.isfinite(b_r)):
        raise ValueError("ulps_between_exact: finite values only")
    return abs(_grid_index(a_r, dtype) - _grid_index(b_r, dtype))


def exact_sum(values: Iterable[float]) -> float:
    """The exact sum of the values rounded once to float64 (``math.fsum``).

    Used as the reference of float32 summation: its distance from the exactly rounded float32
    sum is at most half a float64 ULP plus half a float32 ULP.
    """
    return math.fsum(float(v) for v in values)


def log_product(probs: Iterable[float]) -> float:
    """Σ log pᵢ in 60-digit arithmetic; a zero factor gives -inf, no factors give 0."""
    probs = [float(p) for p in probs]
    if any(p == 0 for p in probs):
        return -math.inf
    mp = _mp()
    return float(mp.fsum(mp.log(mp.mpf(p)) for p in probs))


def clipped_bce(y_true: Iterable[float], p: Iterable[float], eps: float = 1e-7) -> float:
    """Mean of -(y log q + (1 - y) log(1 - q)), q = p clipped to [eps, fl(1 - eps)] in float64.

    The clipping bounds are the float64 numbers an implementation computes (``1 - eps`` rounded),
    then the logs and the mean are evaluated in 60-digit arithmetic.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    q = np.clip(np.asarray(p, dtype=np.float64).ravel(), eps, 1.0 - eps)
    mp = _mp()
    terms = [
        -(mp.mpf(yi) * mp.log(mp.mpf(qi)) + (1 - mp.mpf(yi)) * mp.log(1 - mp.mpf(qi)))
        for yi, qi in zip(y.tolist(), q.tolist(), strict=True)
    ]
    return float(mp.fsum(terms) / len(terms))


# ------------------------------------------------------ ex05_clipping / ex06_standardisation


def global_norm(arrays: Iterable[np.ndarray]) -> float:
    """√(Σ over all arrays of Σ xᵢ²) in 60-digit arithmetic, rounded once to float64.

    Squares of 1e200 or 1e-200 are no problem at this precision (mpmath's exponent is unbounded).
    Any NaN entry gives nan, any infinite entry inf; a true norm beyond the float64 range gives
    inf; no entries (or all zero) give 0.0.
    """
    values = [float(v) for a in arrays for v in np.ravel(np.asarray(a, dtype=np.float64))]
    if any(math.isnan(v) for v in values):
        return math.nan
    if any(math.isinf(v) for v in values):
        return math.inf
    mp = _mp()
    root = mp.sqrt(mp.fsum(mp.mpf(v) ** 2 for v in values))
    return math.inf if root > mp.mpf(np.finfo(np.float64).max) else float(root)


def clip_by_global_norm(
    arrays: Iterable[np.ndarray], max_norm: float, eps: float = 1e-6
) -> tuple[list[np.ndarray], float]:
    """Every entry times min(1, max_norm / (‖g‖ + eps)), with ‖g‖ and the product in 60 digits.

    Returns the clipped arrays as float64 (each entry rounded once from the exact product) and
    the global norm (see :func:`global_norm`). Finite entries and a finite norm only.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    mp = _mp()
    values = [mp.mpf(float(v)) for a in arrays for v in a.ravel()]
    norm = mp.sqrt(mp.fsum(v**2 for v in values))
    coef = min(mp.mpf(1), mp.mpf(float(max_norm)) / (norm + mp.mpf(float(eps))))
    clipped = [
        np.array([float(mp.mpf(float(v)) * coef) for v in a.ravel()], dtype=np.float64).reshape(
            a.shape
        )
        for a in arrays
    ]
    return clipped, float(norm)


def _exact_mean_and_variance(values: Iterable[float]):
    """Exact mean and population variance as ``Fraction`` objects (``None`` for no values)."""
    from fractions import Fraction

    exact = [Fraction(float(v)) for v in values]
    if not exact:
        return None
    mean = sum(exact, Fraction(0)) / len(exact)
    return mean, sum(((v - mean) ** 2 for v in exact), Fraction(0)) / len(exact)


def mean_and_variance(values: Iterable[float]) -> tuple[float, float]:
    """Mean and population variance (ddof=0) of the values, exactly (``fractions``), then
    rounded once to float64. No values give (nan, nan); entries must be finite.
    """
    stats = _exact_mean_and_variance(values)
    if stats is None:
        return math.nan, math.nan
    return float(stats[0]), float(stats[1])


def column_mean_and_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column exact mean and population standard deviation (ddof=0) of a finite 2-D array
    with at least one row.

    The variance is exact (``fractions``); its square root is taken in 60-digit arithmetic and
    rounded once to float64.
    """
    X = np.asarray(X, dtype=np.float64)
    mp = _mp()
    means, stds = [], []
    for column in X.T:
        mean, variance = _exact_mean_and_variance(column)
        means.append(float(mean))
        stds.append(float(mp.sqrt(mp.mpf(variance.numerator) / mp.mpf(variance.denominator))))
    return np.array(means), np.array(stds)


def standardise(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(X - mean) / scale per column, exactly (``fractions``), rounded once to float64."""
    from fractions import Fraction

    X = np.asarray(X, dtype=np.float64)
    mean = [Fraction(float(m)) for m in np.asarray(mean, dtype=np.float64)]
    scale = [Fraction(float(s)) for s in np.asarray(scale, dtype=np.float64)]
    rows = [
        [float((Fraction(float(v)) - mean[j]) / scale[j]) for j, v in enumerate(row)] for row in X
    ]
    return np.array(rows, dtype=np.float64).reshape(X.shape)


def least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares ``(w, b)`` minimising Σ (xₙ·w + b - yₙ)², in 60-digit arithmetic.

    Solves the normal equations of the centred problem (the intercept decouples after
    centring) with mpmath's LU solver; at 60 digits this is accurate to float64 for condition
    numbers far beyond any in the checks. ``X`` is (n, d) with linearly independent centred
    columns.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mp = _mp()
    n, d = X.shape
    cols = [[mp.mpf(float(v)) for v in X[:, j]] for j in range(d)]
    ys = [mp.mpf(float(v)) for v in y]
    x_mean = [mp.fsum(c) / n for c in cols]
    y_mean = mp.fsum(ys) / n
    centred = [[v - x_mean[j] for v in cols[j]] for j in range(d)]
    yc = [v - y_mean for v in ys]
    gram = mp.matrix(d, d)
    rhs = mp.matrix(d, 1)
    for i in range(d):
        rhs[i] = mp.fsum(a * b for a, b in zip(centred[i], yc, strict=True))
        for j in range(d):
            gram[i, j] = mp.fsum(a * b for a, b in zip(centred[i], centred[j], strict=True))
    w = mp.lu_solve(gram, rhs)
    b = y_mean - mp.fsum(w[j] * x_mean[j] for j in range(d))
    return np.array([float(w[j]) for j in range(d)]), float(b)
