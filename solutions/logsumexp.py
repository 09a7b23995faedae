"""Reference solutions for ``ex03_logsumexp``: log-sum-exp in batch, pairwise and streaming form.

Graded names: :func:`logsumexp`, :func:`logaddexp`, :func:`online_logsumexp`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.lib.array_utils import normalize_axis_index
from numpy.typing import ArrayLike

__all__ = ["logsumexp", "logaddexp", "online_logsumexp"]


def _as_float_array(x: ArrayLike, func: str) -> np.ndarray:
    """``x`` as an array of its own floating dtype; integers and bools become float64."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise ValueError(f"{func}: expected real values; got complex dtype {a.dtype}")
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{func}: expected real numbers; got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def _logsumexp_last_axis(a: np.ndarray) -> np.ndarray:
    """log Σ exp along the last axis of a non-empty-axis array, keeping that axis (length 1)."""
    idx = np.argmax(a, axis=-1, keepdims=True)  # the first NaN wins, as in np.max
    amax = np.take_along_axis(a, idx, axis=-1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # x - max <= 0, so exp never overflows. The subtraction itself can only overflow for
        # finite inputs of opposite sign near the format's limit; the -inf it then gives
        # exponentiates to the correct 0. Non-finite maxima make NaN/-inf here, which the
        # final np.where below overrides.
        buf = np.subtract(a, amax)
        np.exp(buf, out=buf)
        # Exclude exactly one occurrence of the maximum (its term is exactly 1).
        np.put_along_axis(buf, idx, 0.0, axis=-1)
        rest = np.sum(buf, axis=-1, keepdims=True)
        out = np.log1p(rest, out=rest)
        out += amax
    # A non-finite maximum decides the result alone: NaN -> NaN, +inf -> +inf (a NaN
    # elsewhere would have been the maximum), -inf -> all terms are -inf -> -inf.
    return np.where(np.isfinite(amax), out, amax)


def _logsumexp_all(a: np.ndarray) -> np.floating:
    """log Σ exp over every element of a non-empty array, as a scalar of its dtype.

    The same arithmetic as :func:`_logsumexp_last_axis` on one slice, without the index arrays
    of the general form (the full reduction is the common case, and that bookkeeping cost about
    a fifth of it). NaN, +inf and all -inf give NaN, +inf and -inf.
    """
    flat = a.reshape(-1)
    idx = int(np.argmax(flat))  # the first NaN wins
    amax = flat[idx]
    if not np.isfinite(amax):
        return amax  # NaN -> NaN, +inf -> +inf, -inf -> every entry is -inf -> -inf
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        buf = np.subtract(flat, amax)
        np.exp(buf, out=buf)
        buf[idx] = 0.0
        return np.log1p(np.sum(buf)) + amax


def logsumexp(
    x: ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> np.ndarray | np.floating:
    """log(Σ exp(x)) over all elements or along an axis, free of overflow and underflow.

    Parameters
    ----------
    x : array_like
        Real input of any shape; a floating dtype is kept (float32 in, float32 out),
        integers and bools are computed in float64. A 0-d input is treated as 1-d.
    axis : int, tuple of ints or None, default None
        Axis (or axes) to reduce; None reduces over every element.
    keepdims : bool, default False
        Keep the reduced axes with length 1, as ``scipy.special.logsumexp`` does.

    Returns
    -------
    ndarray or NumPy scalar
        The same values as ``scipy.special.logsumexp(x, axis, keepdims=keepdims)`` (a NumPy
        scalar when the result is 0-d). Along each reduced slice: every element -inf gives
        -inf; any +inf gives +inf; any NaN gives NaN; an empty slice (or empty input) gives
        -inf. Accurate for entries of any magnitude: the absolute error is a few units of
        roundoff times (max|x_i| + log n). Never warns.

    Notes
    -----
    With ``m`` the maximum of a slice and exactly one occurrence of it left out of the sum,
    the result is ``m + log1p(Σ exp(x_i - m))``. Every exponent is <= 0, so nothing
    overflows; the left-out term is the exact 1 that ``log1p`` adds back, so a maximum that
    dominates the rest (log Σ exp ≈ m) keeps its full accuracy. One temporary of the size
    of ``x`` is made and exponentiated in place.
    """
    a = np.atleast_1d(_as_float_array(x, "logsumexp"))
    ndim = a.ndim
    if axis is None:
        axes = tuple(range(ndim))
    else:
        raw = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = tuple(sorted({normalize_axis_index(int(ax), ndim) for ax in raw}))
        if len(axes) != len(raw):
            raise ValueError(f"logsumexp: repeated axis in {axis!r}")
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(a.shape))
    others = tuple(d for d in range(ndim) if d not in axes)
    reduced = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))

    if reduced == 0:
        out = np.full(kept_shape, -np.inf, dtype=a.dtype)
    elif not others:
        out = np.full(kept_shape, _logsumexp_all(a), dtype=a.dtype)
    elif len(axes) == 1:
        # Reduce one axis in place of the last one: no copy of the data is made.
        moved = np.moveaxis(a, axes[0], -1)
        out = np.moveaxis(_logsumexp_last_axis(moved), -1, axes[0])
    else:
        # Several axes: gather them at the end and flatten them into one (may copy).
        moved = np.transpose(a, others + axes)
        flat = moved.reshape(tuple(a.shape[d] for d in others) + (reduced,))
        out = _logsumexp_last_axis(flat).reshape(kept_shape)

    if not keepdims:
        out = out.reshape(tuple(a.shape[d] for d in others))
    return out[()] if out.ndim == 0 else out


def logaddexp(a: ArrayLike, b: ArrayLike) -> np.ndarray | np.floating:
    """Elementwise log(e^a + e^b) with broadcasting, the same values as ``np.logaddexp``.

    Parameters
    ----------
    a, b : array_like
        Real inputs, broadcast against each other. The result dtype is
        ``np.result_type(a, b)`` (float32 with float32, or with a Python float, stays
        float32); integer and bool results are computed in float64.

    Returns
    -------
    ndarray or NumPy scalar
        ``max(a, b) + log1p(exp(-|a - b|))``. Infinities as in ``np.logaddexp``:
        (-inf, -inf) -> -inf, (+inf, +inf) -> +inf, (+inf, anything but NaN) -> +inf,
        (-inf, y) -> y; a NaN on either side gives NaN. A NumPy scalar when both inputs
        are scalars. Never warns.
    """
    for name, value in (("a", a), ("b", b)):
        if np.asarray(value).dtype.kind not in "fiub":
            raise ValueError(
                f"logaddexp: {name} must hold real numbers; got dtype {np.asarray(value).dtype}"
            )
    dtype = np.result_type(a, b)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    x = np.asarray(a, dtype=dtype)
    y = np.asarray(b, dtype=dtype)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        hi = np.maximum(x, y)
        # |a - b| overflows only for finite values near the limits of opposite sign; the
        # resulting exp(-inf) = 0 is then exact to the precision of the format.
        d = np.subtract(x, y, out=np.empty(np.broadcast_shapes(x.shape, y.shape), dtype))
        np.abs(d, out=d)
        np.negative(d, out=d)
        np.exp(d, out=d)
        np.log1p(d, out=d)
        out = np.add(hi, d, out=d)
        # Equal infinities give inf - inf = NaN above; their sum is the infinity itself.
        same_inf = (x == y) & np.isinf(x)
        if np.any(same_inf):
            out = np.where(same_inf, x, out)
    return out[()] if out.ndim == 0 else out


def online_logsumexp(chunks: Iterable[ArrayLike]) -> float:
    """log Σ exp over a stream of 1-D chunks in a single pass, with O(1) state.

    Parameters
    ----------
    chunks : iterable of 1-D array_like
        Consumed exactly once, so a generator works. Chunks may be empty. Each is computed
        in float64.

    Returns
    -------
    float
        The log-sum-exp of the concatenation of all chunks, with the same edge cases as
        :func:`logsumexp`: no values at all -> -inf; every value -inf -> -inf; any +inf ->
        +inf; any NaN -> NaN (the whole stream is still consumed).

    Raises
    ------
    ValueError
        If a chunk is not one-dimensional or does not hold real numbers.

    Notes
    -----
    The state is the running maximum ``m`` and ``rest`` = Σ exp(x_i - m) over every value
    seen except one occurrence of the maximum. When a chunk raises the maximum to ``m'``,
    the old total ``1 + rest`` is rescaled by ``exp(m - m') <= 1`` before the chunk's own
    terms are added, so no term ever exceeds 1. The result is ``m + log1p(rest)``.
    """
    m = -math.inf
    rest = 0.0
    seen_nan = False
    seen_posinf = False
    for i, chunk in enumerate(chunks):
        c = np.asarray(chunk)
        if c.ndim != 1:
            raise ValueError(
                f"online_logsumexp: chunk {i} must be a 1-D array; got shape {c.shape}"
            )
        c = _as_float_array(c, "online_logsumexp").astype(np.float64, copy=False)
        if c.size == 0 or seen_nan:
            continue
        j = int(np.argmax(c))  # first NaN if there is one
        cmax = float(c[j])
        if math.isnan(cmax):
            seen_nan = True
            continue
        if seen_posinf or cmax == -math.inf:
            continue
        if cmax == math.inf:
            seen_posinf = True
            continue
        with np.errstate(over="ignore", under="ignore"):
            if cmax > m:
                terms = np.exp(c - cmax)
                terms[j] = 0.0  # this occurrence becomes the new excluded maximum
                rest = (1.0 + rest) * math.exp(m - cmax) + float(np.sum(terms))
                m = cmax
            else:
                rest += float(np.sum(np.exp(c - m)))
    if seen_nan:
        return math.nan
    if seen_posinf:
        return math.inf
    if m == -math.inf:
        return -math.inf
    return m + math.log1p(rest)
