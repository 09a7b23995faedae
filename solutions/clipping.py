"""Gradient clipping: by value, by global norm, and inside a plain SGD loop.

Reference implementations for the ``ex05_clipping`` assignment.

The global L2 norm is the one place where care is needed: squaring an entry of 1e200 overflows
float64 and squaring 1e-200 underflows to zero, so the naive ``sqrt(sum(g**2))`` returns inf or 0
for gradients whose norm is a perfectly ordinary number. We scale every entry by a power of two
close to the largest magnitude (an exact operation), sum the squares of numbers in [0, 1), and
scale the square root back -- the idea behind LAPACK's ``dnrm2``. That costs a pass for the
maximum and a scaled copy, so the squares are first summed without scaling in one fused pass
(float32 and float16 data are widened to float64 in cache-sized blocks); only when that sum
overflowed, came out non-finite or is so small that underflowed squares could matter does the
scaled computation run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from solutions._sums import sum_of_squares

__all__ = ["clip_by_value", "clip_by_global_norm", "sgd_with_clipping"]


def _as_float_array(a: Any, where: str) -> np.ndarray:
    """Return ``a`` as a floating array without copying float inputs (ints/bools -> float64)."""
    arr = np.asarray(a)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(
            f"{where} must hold real numbers (a float, int or bool array); got dtype {arr.dtype}"
        )
    return arr


def _as_grad_list(grads: Any, func: str) -> list[np.ndarray]:
    """Validate ``grads`` as a list or tuple of real arrays and return them as arrays."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise ValueError(
            f"{func}: grads must be a list or tuple of arrays; got {type(grads).__name__} "
            "(wrap a single array as [g])"
        )
    return [_as_float_array(g, f"{func}: grads[{i}]") for i, g in enumerate(grads)]


def _check_positive_finite(value: Any, name: str, func: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{func}: {name} must be a real number; got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{func}: {name} must be finite and > 0; got {value!r}")
    return value


# Widening float32/float16 data to float64 in blocks of this many entries keeps the buffer in
# the CPU cache (a full-size float64 copy would cost more than the arithmetic).
_BLOCK = 1 << 16
# Below this sum of squares, squares that underflowed to zero or to subnormals could change the
# result (each is off by at most 2**-1074; 2**-1074 * n is negligible next to 2**-900 for any
# array that fits in memory).
_SMALLEST_UNSCALED = 2.0**-900


def _sum_of_squares(a: np.ndarray) -> float:
    """Sum of the squares of ``a``'s entries in float64, unscaled (may overflow or underflow).

    Squares of float32/float16 entries are exact in float64; the summation error is about that
    of ``np.sum`` (see :func:`solutions._sums.sum_of_squares`).
    """
    flat = a.reshape(-1)
    if flat.dtype == np.float64:
        return sum_of_squares(flat)
    total = 0.0
    buffer = np.empty(min(flat.size, _BLOCK), dtype=np.float64)
    for start in range(0, flat.size, _BLOCK):
        chunk = flat[start : start + _BLOCK]
        block = buffer[: chunk.size]
        np.copyto(block, chunk)  # exact widening
        total += sum_of_squares(block)
    return total


def _fast_global_norm(arrays: Sequence[np.ndarray]) -> float | None:
    """The global L2 norm from unscaled float64 squares, or None when it cannot be trusted.

    None means the sum overflowed or is not finite (an inf or NaN entry, or a norm near the top
    of the float64 range) or is below ``_SMALLEST_UNSCALED`` (squares may have underflowed,
    including an all-zero input); :func:`_global_norm` then decides.
    """
    with np.errstate(all="ignore"):
        total = sum(_sum_of_squares(a) for a in arrays if a.size)
    if math.isfinite(total) and total >= _SMALLEST_UNSCALED:
        return math.sqrt(total)
    return None


def _global_norm(arrays: Sequence[np.ndarray]) -> tuple[float, int | None]:
    """Overflow- and underflow-free L2 norm of all entries of ``arrays``.

    Returns ``(norm, bad)`` where ``bad`` is the index of the first array holding an inf or NaN
    (then ``norm`` is NaN if any array holds a NaN, else inf) and ``None`` when all are finite.
    The norm is computed in float64 whatever the arrays' dtype; it is ``inf`` only when the true
    norm exceeds the float64 range. Tries :func:`_fast_global_norm` first.
    """
    fast = _fast_global_norm(arrays)
    if fast is not None:
        return fast, None
    maxima = [float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays]
    bad = next((i for i, m in enumerate(maxima) if not math.isfinite(m)), None)
    if bad is not None:
        has_nan = any(math.isnan(m) for m in maxima)
        return (math.nan if has_nan else math.inf), bad
    biggest = max(maxima, default=0.0)
    if biggest == 0.0:
        return 0.0, None
    # biggest = f * 2**e with 0.5 <= f < 1, so every entry times 2**-e lies in (-1, 1).
    # ldexp is exact (apart from harmless underflow of entries far below the largest one).
    _, e = math.frexp(biggest)
    total = 0.0
    with np.errstate(under="ignore"):
        for a in arrays:
            if a.size:
                scaled = np.ldexp(a.astype(np.float64, copy=False).ravel(), -e)
                total += float(np.sum(scaled * scaled))
    root = math.sqrt(total)
    try:
        return math.ldexp(root, e), None
    except OverflowError:
        return math.inf, None


def clip_by_value(grads: Sequence[Any], clip_value: float) -> list[np.ndarray]:
    """Clamp every component of every gradient array to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    grads : list or tuple of array_like
        Gradient arrays of any shapes. Integer and bool arrays are treated as float64.
    clip_value : float
        Finite, strictly positive bound.

    Returns
    -------
    list of ndarray
        New arrays (the inputs are never modified), each with the shape and floating dtype of
        its input. ``+inf``/``-inf`` become ``+clip_value``/``-clip_value``; NaN stays NaN; an
        empty list gives an empty list and an empty array an empty array.

    Raises
    ------
    ValueError
        If ``grads`` is not a list/tuple of real arrays, or ``clip_value`` is not finite and > 0.
    """
    arrays = _as_grad_list(grads, "clip_by_value")
    bound = _check_positive_finite(clip_value, "clip_value", "clip_by_value")
    out = []
    for a in arrays:
        # the bound rounded to the array's dtype (inf for a float16 array and a bound > 65504,
        # which makes the clamp a no-op, as it should be)
        with np.errstate(over="ignore"):
            hi = np.asarray(bound, dtype=a.dtype)
        out.append(np.clip(a, -hi, hi))
    return out


def clip_by_global_norm(
    grads: Sequence[Any], max_norm: float, eps: float = 1e-6
) -> tuple[list[np.ndarray], float]:
    """Rescale gradients so that their global L2 norm is at most about ``max_norm``.

    The global norm is ``sqrt(sum over arrays of sum(g**2))``, computed in float64 without
    overflow or underflow (entries of 1e200, 1e-200 or float32 1e20 give the right norm). Every
    array is then multiplied by ``min(1, max_norm / (norm + eps))``, exactly the rule of
    ``torch.nn.utils.clip_grad_norm_`` (whose default eps is 1e-6).

    Parameters
    ----------
    grads : list or tuple of array_like
        Gradient arrays of any shapes. Integer and bool arrays are treated as float64.
    max_norm : float
        Finite, strictly positive target norm.
    eps : float, default 1e-6
        Finite, non-negative constant added to the norm before dividing.

    Returns
    -------
    clipped : list of ndarray
        New arrays with the shapes and floating dtypes of the inputs (inputs are not modified).
        The product ``g * coefficient`` is formed in float64 and rounded once to the dtype.
    norm : float
        The global norm before clipping. An empty list, empty arrays or all-zero arrays give
        0.0 and unchanged copies.

    Raises
    ------
    FloatingPointError
        If an entry is inf or NaN (the message names the first such array), or the norm
        exceeds the float64 range.
    ValueError
        If ``grads`` is not a list/tuple of real arrays, ``max_norm`` is not finite and > 0, or
        ``eps`` is not finite and >= 0.
    """
    arrays = _as_grad_list(grads, "clip_by_global_norm")
    limit = _check_positive_finite(max_norm, "max_norm", "clip_by_global_norm")
    if (
        isinstance(eps, bool)
        or not isinstance(eps, Real)
        or not (math.isfinite(float(eps)) and float(eps) >= 0.0)
    ):
        raise ValueError(f"clip_by_global_norm: eps must be finite and >= 0; got {eps!r}")
    norm, bad = _global_norm(arrays)
    if bad is not None:
        kind = "NaN" if np.isnan(arrays[bad]).any() else "inf"
        raise FloatingPointError(
            f"clip_by_global_norm: the global norm is {norm} because grads[{bad}] contains "
            f"{kind}; find where the gradient blew up (or skip this step) before clipping"
        )
    if not math.isfinite(norm):
        raise FloatingPointError(
            "clip_by_global_norm: the global norm of finite gradients exceeds the float64 "
            "range; the gradients themselves are unusable"
        )
    coef = min(1.0, limit / (norm + float(eps)))
    return _scale_arrays(arrays, coef), norm


def _scale_arrays(arrays: Sequence[np.ndarray], coef: float) -> list[np.ndarray]:
    """Return new arrays ``a * coef`` rounded once to each array's dtype."""
    if coef == 1.0:
        return [a.copy() for a in arrays]
    with np.errstate(under="ignore"):
        # one pass: the ufunc widens each buffer-full to float64, multiplies and rounds back
        return [
            np.multiply(a, coef, out=np.empty_like(a), dtype=np.float64, casting="same_kind")
            for a in arrays
        ]


def sgd_with_clipping(
    grad_fn: Callable[[np.ndarray, int], Any],
    theta0: Any,
    lr: float,
    n_steps: int,
    max_norm: float | None = None,
) -> dict[str, Any]:
    """Plain gradient descent ``theta <- theta - lr * g``, optionally clipping by global norm.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta, step)`` returns the gradient at ``theta`` (an array of theta's shape).
        It receives a copy of the iterate, so it cannot alter the optimiser's state.
    theta0 : array_like
        Starting point; the iteration runs on a float64 copy.
    lr : float
        Finite, strictly positive learning rate.
    n_steps : int
        Number of steps, >= 0.
    max_norm : float or None, default None
        When given (finite, > 0), every gradient is clipped with :func:`clip_by_global_norm`
        (eps = 1e-6) before the update.

    Returns
    -------
    dict
        ``theta``: final iterate (float64 array of theta0's shape);
        ``path``: float64 array of shape ``(n_steps + 1, *theta0.shape)``, theta0 first;
        ``grad_norms``: float64 array of the ``n_steps`` global norms before clipping;
        ``clipped``: list of the step indices where the clipping coefficient was < 1.
        With ``n_steps == 0`` the path holds theta0 only and the norms are empty.

    Raises
    ------
    ValueError
        For a non-positive or non-finite ``lr`` or ``max_norm``, a negative or non-integer
        ``n_steps``, a non-real ``theta0``, or a gradient whose shape differs from theta's.
    FloatingPointError
        With ``max_norm`` given, when a gradient contains inf or NaN (the message names the
        step). Without ``max_norm`` a non-finite gradient simply propagates: its norm (inf or
        NaN) is recorded and theta becomes non-finite.
    """
    func = "sgd_with_clipping"
    theta = np.array(_as_float_array(theta0, f"{func}: theta0"), dtype=np.float64)
    rate = _check_positive_finite(lr, "lr", func)
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 0:
        raise ValueError(f"{func}: n_steps must be a non-negative integer; got {n_steps!r}")
    n_steps = int(n_steps)
    limit = None if max_norm is None else _check_positive_finite(max_norm, "max_norm", func)

    path = np.empty((n_steps + 1,) + theta.shape, dtype=np.float64)
    path[0] = theta
    grad_norms = np.empty(n_steps, dtype=np.float64)
    clipped: list[int] = []
    for step in range(n_steps):
        g = np.array(
            _as_float_array(grad_fn(theta.copy(), step), f"{func}: gradient"), dtype=np.float64
        )
        if g.shape != theta.shape:
            raise ValueError(
                f"{func}: grad_fn returned shape {g.shape} at step {step}, but theta has shape "
                f"{theta.shape}; the gradient must have the parameters' shape"
            )
        norm, bad = _global_norm([g])
        grad_norms[step] = norm
        if limit is not None:
            if bad is not None or not math.isfinite(norm):
                raise FloatingPointError(
                    f"{func}: the gradient at step {step} is not finite (norm {norm}); clipping "
                    "cannot rescue inf/NaN gradients -- lower the learning rate or fix grad_fn"
                )
            coef = min(1.0, limit / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                g = _scale_arrays([g], coef)[0]
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            theta -= rate * g
        path[step + 1] = theta
    return {"theta": theta.copy(), "path": path, "grad_norms": grad_norms, "clipped": clipped}
