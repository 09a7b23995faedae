"""Reference solutions for ``ex02_overflow``: products, sigmoids and losses without overflow.

Graded names: :func:`log_product`, :func:`stable_sigmoid`, :func:`softplus`,
:func:`clipped_bce`.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["log_product", "stable_sigmoid", "softplus", "clipped_bce"]


def _as_float_array(x: ArrayLike) -> np.ndarray:
    """``x`` as an array of its own floating dtype; integers and bools become float64."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise ValueError(f"expected real values; got complex dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def _first_bad(values: np.ndarray, bad: np.ndarray) -> tuple[float, tuple[int, ...] | int]:
    """Value and index (flat int for 1-D, tuple otherwise) of the first True in ``bad``."""
    flat = int(np.flatnonzero(bad)[0])
    index = flat if values.ndim <= 1 else tuple(int(i) for i in np.unravel_index(flat, bad.shape))
    return float(values.reshape(-1)[flat]), index


def log_product(probs: ArrayLike) -> float:
    """Logarithm of the product of probabilities, computed as a sum of logs.

    Parameters
    ----------
    probs : array_like
        Probabilities in [0, 1], any shape. The input is not modified.

    Returns
    -------
    float
        ``sum(log(p_i))``: finite however small the product is (10 000 factors of 1e-5
        give -115129.25..., where the product itself underflows to 0). A zero factor gives
        ``-inf`` (no warning); an empty input gives 0.0 (the empty product is 1).

    Raises
    ------
    ValueError
        If a value is NaN or lies outside [0, 1]; the message names the first such value
        and its index.
    """
    p = np.asarray(probs, dtype=np.float64)
    bad = ~((p >= 0.0) & (p <= 1.0))  # NaN fails both comparisons
    if bad.any():
        value, index = _first_bad(p, bad)
        raise ValueError(
            f"log_product: probabilities must lie in [0, 1]; got {value!r} at index {index}"
        )
    if p.size == 0:
        return 0.0
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for a zero factor
        return float(np.sum(np.log(p)))


def stable_sigmoid(x: ArrayLike) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + e^-x) without an overflowing intermediate.

    Parameters
    ----------
    x : array_like
        Real input; a floating dtype is kept (float32 in, float32 out), integers and bools
        are computed in float64. A Python scalar gives a NumPy scalar.

    Returns
    -------
    ndarray or NumPy scalar
        sigmoid(x) with a relative error of a few units of roundoff wherever the result is
        a normal number. ``+inf`` gives 1, ``-inf`` gives 0, NaN gives NaN; for very negative
        x the result underflows gracefully through the subnormals to 0 (no warning).

    Notes
    -----
    Only ``e^-|x|`` (at most 1) is ever computed: for x >= 0 the result is ``1 / (1 + z)``,
    for x < 0 it is ``z / (1 + z)`` with ``z = e^-|x|``, both free of cancellation.
    """
    a = _as_float_array(x)
    with np.errstate(under="ignore"):
        z = np.abs(a, out=np.empty_like(a))  # out= keeps 0-d inputs as arrays
        np.negative(z, out=z)
        np.exp(z, out=z)  # z = e^{-|x|} in (0, 1]; NaN stays NaN
        denom = z + 1.0
        numer = np.where(a >= 0, np.ones_like(z), z)
        out = np.divide(numer, denom, out=numer)
    return out[()] if out.ndim == 0 else out


def softplus(x: ArrayLike) -> np.ndarray:
    """softplus(x) = log(1 + e^x), accurate for inputs of any size.

    Parameters
    ----------
    x : array_like
        Real input; a floating dtype is kept, integers and bools become float64. A Python
        scalar gives a NumPy scalar.

    Returns
    -------
    ndarray or NumPy scalar
        ``max(x, 0) + log1p(e^-|x|)``: for large positive x this is x (no overflow); for
        very negative x it is e^x with full relative accuracy while that is a normal number,
        then it underflows gracefully to 0. ``+inf`` gives inf, ``-inf`` gives 0, NaN gives
        NaN. Never warns.
    """
    a = _as_float_array(x)
    with np.errstate(under="ignore"):
        t = np.abs(a, out=np.empty_like(a))  # out= keeps 0-d inputs as arrays
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        out = np.maximum(a, 0, out=np.empty_like(a))
        out += t
    return out[()] if out.ndim == 0 else out


def clipped_bce(y_true: ArrayLike, p: ArrayLike, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy of predicted probabilities clipped to [eps, 1 - eps].

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] (soft labels allowed), any shape.
    p : array_like
        Predicted probabilities, same shape as ``y_true``. Values are clipped to
        ``[eps, 1 - eps]`` first, so exact 0 and 1 (and values slightly outside [0, 1])
        give a finite loss; a NaN prediction propagates to a NaN loss.
    eps : float, default 1e-7
        Clipping margin, 0 < eps < 0.5.

    Returns
    -------
    float
        ``mean(-(y·log p + (1 - y)·log1p(-p)))`` computed in float64; at most
        ``-log(eps)`` per element for ``y = 1`` and ``-log1p(-fl(1 - eps))`` for ``y = 0``,
        where ``fl(1 - eps)`` is the clip bound rounded to float64 (for ``eps = 1e-7`` that
        is 16.1180956515, 5e-10 above ``-log(eps)``).

    Raises
    ------
    ValueError
        If the shapes differ, the input is empty, ``eps`` is not a real number in
        (0, 0.5), or a target is NaN or outside [0, 1].
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 < eps < 0.5:
        raise ValueError(f"clipped_bce: eps must be a real number in (0, 0.5); got {eps!r}")
    y = np.asarray(y_true, dtype=np.float64)
    q = np.asarray(p, dtype=np.float64)
    if y.shape != q.shape:
        raise ValueError(
            f"clipped_bce: y_true and p must have the same shape; got {y.shape} and {q.shape}"
        )
    if y.size == 0:
        raise ValueError("clipped_bce: inputs are empty; the mean loss of no samples is undefined")
    bad = ~((y >= 0.0) & (y <= 1.0))
    if bad.any():
        value, index = _first_bad(y, bad)
        raise ValueError(f"clipped_bce: targets must lie in [0, 1]; got {value!r} at index {index}")
    q = np.clip(q, eps, 1.0 - eps)
    with np.errstate(under="ignore"):  # tiny soft labels times a log may underflow to 0
        loss = y * np.log(q)
        loss += (1.0 - y) * np.log1p(-q)
        return float(-np.mean(loss))
