"""Reference solutions for ``ex04_softmax``: softmax, log-softmax and cross-entropy losses.

Graded names: :func:`softmax`, :func:`log_softmax`, :func:`cross_entropy`,
:func:`bce_with_logits`, :func:`torch_cross_entropy`.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["softmax", "log_softmax", "cross_entropy", "bce_with_logits", "torch_cross_entropy"]


def _as_float_array(x: ArrayLike, func: str, name: str = "x") -> np.ndarray:
    """``x`` as an array of its own floating dtype; integers and bools become float64."""
    a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{func}: {name} must hold real numbers; got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def _shifted_exp(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (x - max, exp(x - max), index of the max) along ``axis`` of a non-empty array.

    ``x - max`` is <= 0 wherever the maximum is finite, so the exponential never overflows.
    """
    idx = np.argmax(a, axis=axis, keepdims=True)
    amax = np.take_along_axis(a, idx, axis=axis)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # Opposite-sign values near the format's limits make x - max overflow to -inf,
        # whose exponential, 0, is the correctly rounded probability.
        shifted = np.subtract(a, amax)
        e = np.exp(shifted)
    return shifted, e, idx


def softmax(x: ArrayLike, axis: int | None = -1) -> np.ndarray:
    """Softmax exp(x_i) / Σ_j exp(x_j) along ``axis``, stable for any finite logits.

    Parameters
    ----------
    x : array_like
        Logits; a floating dtype is kept (float32 in, float32 out), integers and bools are
        computed in float64. A 0-d input needs ``axis=None``.
    axis : int or None, default -1
        Axis along which the probabilities sum to 1; None normalises over all elements.

    Returns
    -------
    ndarray
        Probabilities of the same shape and dtype, each with a relative error of a few
        units of roundoff. ``-inf`` logits (masks) give exactly 0. Slices that are entirely
        ``-inf``, or contain ``+inf`` or NaN, give NaN throughout (no meaningful
        distribution exists). An empty input gives an empty array. Never warns.

    Notes
    -----
    The maximum of the slice is subtracted before exponentiating (so every term is at
    most 1 and the sum is at least 1), then the terms are divided by their sum; dividing
    keeps the relative accuracy of small probabilities, which ``exp(x - logsumexp(x))``
    loses for large logits.
    """
    a = _as_float_array(x, "softmax")
    if a.size == 0:
        return np.empty_like(a)
    if axis is None:
        return softmax(a.reshape(-1), axis=-1).reshape(a.shape)
    amax = np.max(a, axis=axis, keepdims=True)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.subtract(a, amax)  # <= 0 where the max is finite; overflow only to -inf
        np.exp(e, out=e)  # one temporary, exponentiated in place
        total = np.sum(e, axis=axis, keepdims=True)
        e /= total
    return e


def log_softmax(x: ArrayLike, axis: int | None = -1) -> np.ndarray:
    """Log-softmax x_i - log Σ_j exp(x_j) along ``axis``, finite for any finite logits.

    Parameters
    ----------
    x : array_like
        Logits; a floating dtype is kept, integers and bools are computed in float64.
    axis : int or None, default -1
        Axis to normalise over; None normalises over all elements.

    Returns
    -------
    ndarray
        Log-probabilities of the same shape and dtype, with an absolute error of a few
        units of roundoff times the magnitude of the shifted logits. ``log_softmax([0,
        -1000])`` is ``[0, -1000]`` (finite; the naive ``log(softmax)`` gives -inf).
        ``-inf`` logits give ``-inf``. Slices that are entirely ``-inf`` or contain ``+inf``
        or NaN give NaN. An empty input gives an empty array. Never warns.

    Notes
    -----
    ``(x - m) - log1p(Σ' exp(x_j - m))`` where ``m`` is the maximum and Σ' leaves out one
    occurrence of it: the term it would contribute is exactly 1, and log1p of the rest
    keeps the log-probability of the dominant class accurate even when it is close to 0.
    """
    a = _as_float_array(x, "log_softmax")
    if a.size == 0:
        return np.empty_like(a)
    if axis is None:
        return log_softmax(a.reshape(-1), axis=-1).reshape(a.shape)
    shifted, e, idx = _shifted_exp(a, axis)
    np.put_along_axis(e, idx, 0.0, axis=axis)
    # No flag can rise here: e holds values in [0, 1] or NaN, so the sum is finite or NaN,
    # its log1p is >= 0 or NaN, and subtracting it from -inf or NaN is quiet.
    rest = np.sum(e, axis=axis, keepdims=True)
    np.log1p(rest, out=rest)
    shifted -= rest
    return shifted


def _validate_targets(targets: ArrayLike, n: int, c: int, func: str) -> np.ndarray:
    """Check class targets: 1-D integer array of length n with values in [0, c)."""
    t = np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise ValueError(
            f"{func}: targets must be an integer array of class indices; got dtype {t.dtype}"
        )
    if t.ndim != 1:
        raise ValueError(f"{func}: targets must be 1-D; got shape {t.shape}")
    if t.shape[0] != n:
        raise ValueError(
            f"{func}: logits have N = {n} rows but targets have {t.shape[0]} entries; "
            "pass one target per row"
        )
    bad = (t < 0) | (t >= c)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{func}: targets must be integers in [0, C) = [0, {c}); got {int(t[i])} at index {i}"
        )
    return t


def _validate_logits_shape(shape: tuple[int, ...], func: str) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"{func}: logits must have shape (N, C); got shape {tuple(shape)}")
    n, c = int(shape[0]), int(shape[1])
    if n == 0:
        raise ValueError(f"{func}: empty batch (N = 0); the mean loss of no samples is undefined")
    return n, c


def cross_entropy(logits: ArrayLike, targets: ArrayLike) -> float:
    """Mean negative log-likelihood of integer class targets under softmax(logits).

    Parameters
    ----------
    logits : array_like, shape (N, C)
        Real logits (computed in float64 whatever their dtype). ``-inf`` masks are allowed;
        a target whose logit is ``-inf`` gives an infinite loss; NaN logits, and a row whose
        logits are all ``-inf``, give NaN (without a warning).
    targets : array_like of int, shape (N,)
        Class indices in [0, C).

    Returns
    -------
    float
        ``mean_i(logsumexp(logits_i) - logits_i[t_i])``, equal to
        ``torch.nn.functional.cross_entropy`` (no weights, no smoothing) and finite for any
        finite logits (±1e4 included).

    Raises
    ------
    ValueError
        If logits are not 2-D, the batch is empty, targets are not a 1-D integer array
        (floats and bools are rejected), their length differs from N, or a target lies
        outside [0, C).

    Notes
    -----
    Per row: ``(m - x_t) + log1p(Σ' exp(x_j - m))`` with ``m`` the row maximum and Σ'
    leaving one occurrence of it out; ``m - x_t >= 0`` and the log1p term is >= 0, so the
    per-row loss is a sum of two non-negative numbers with no cancellation.
    """
    a = _as_float_array(logits, "cross_entropy", "logits").astype(np.float64, copy=False)
    n, c = _validate_logits_shape(a.shape, "cross_entropy")
    t = _validate_targets(targets, n, c, "cross_entropy")
    idx = np.argmax(a, axis=1, keepdims=True)
    amax = np.take_along_axis(a, idx, axis=1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.subtract(a, amax)
        np.exp(e, out=e)
        np.put_along_axis(e, idx, 0.0, axis=1)
        rest = np.log1p(np.sum(e, axis=1))
        gap = amax[:, 0] - a[np.arange(n), t]
        return float(np.mean(gap + rest))


def bce_with_logits(logits: ArrayLike, targets: ArrayLike) -> float:
    """Mean binary cross-entropy between sigmoid(logits) and targets, from the logits.

    Parameters
    ----------
    logits : array_like
        Real logits of any shape (computed in float64).
    targets : array_like
        Targets in [0, 1] (soft labels allowed), the same shape as ``logits``.

    Returns
    -------
    float
        ``mean(max(x, 0) - x·y + log1p(exp(-|x|)))``, equal to
        ``torch.nn.functional.binary_cross_entropy_with_logits`` and finite for any finite
        logits (|x| up to 1e4 and beyond). The linear part is evaluated as
        ``max(x, 0)·(1 - y) + max(-x, 0)·y`` (no cancellation when y is near 1); an infinite
        logit on the side its target agrees with costs 0, on the other side +inf; NaN logits
        give NaN.

    Raises
    ------
    ValueError
        If the shapes differ, the input is empty, or a target is NaN or outside [0, 1].
    """
    x = _as_float_array(logits, "bce_with_logits", "logits").astype(np.float64, copy=False)
    y = _as_float_array(targets, "bce_with_logits", "targets").astype(np.float64, copy=False)
    if x.shape != y.shape:
        raise ValueError(
            "bce_with_logits: logits and targets must have the same shape; "
            f"got {x.shape} and {y.shape}"
        )
    if x.size == 0:
        raise ValueError("bce_with_logits: inputs are empty; the mean loss is undefined")
    bad = ~((y >= 0.0) & (y <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"bce_with_logits: targets must lie in [0, 1]; got {float(y.reshape(-1)[i])!r} "
            f"at flat index {i}"
        )
    with np.errstate(under="ignore", invalid="ignore"):
        pos = np.maximum(x, 0.0)
        neg = np.maximum(-x, 0.0)
        # 0·inf would be NaN; a zero weight means that side of the loss is absent.
        linear = np.where(y == 1.0, 0.0, pos * (1.0 - y))
        linear += np.where(y == 0.0, 0.0, neg * y)
        soft = np.abs(x)
        np.negative(soft, out=soft)
        np.exp(soft, out=soft)
        np.log1p(soft, out=soft)
        linear += soft
        return float(np.mean(linear))


def torch_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy written with PyTorch tensor operations, differentiable in ``logits``.

    Parameters
    ----------
    logits : torch.Tensor, shape (N, C)
        Floating-point logits (a NumPy array is converted); the loss has their dtype and
        gradients flow back to them.
    targets : torch.Tensor of int, shape (N,)
        Class indices in [0, C) (a NumPy integer array is converted).

    Returns
    -------
    torch.Tensor
        0-d tensor: the mean negative log-likelihood, equal in value and in its gradient
        (softmax - one-hot) / N to ``torch.nn.functional.cross_entropy``; both stay finite
        for any finite logits (±1e4 included, where ``log(softmax(x))`` gives -inf and a
        NaN gradient).

    Raises
    ------
    ValueError
        If logits are not a 2-D floating tensor, the batch is empty, targets are not a 1-D
        integer tensor (floats and bools are rejected), their length differs from N, or a
        target lies outside [0, C).

    Notes
    -----
    ``m`` is the row maximum (kept in the graph), ``s = exp(x - m)`` with one occurrence
    of the maximum replaced by 0, and the loss per row is ``(m - x_t) + log1p(Σ s)``.
    Every exponent is <= 0; the gradient reaches the maximum through ``m`` and equals
    its softmax probability, so value and gradient match the library function.
    """
    func = "torch_cross_entropy"
    if not isinstance(logits, torch.Tensor):
        logits = torch.as_tensor(np.asarray(logits))
    if not isinstance(targets, torch.Tensor):
        targets = torch.as_tensor(np.asarray(targets))
    if not logits.is_floating_point():
        raise ValueError(f"{func}: logits must be a floating-point tensor; got {logits.dtype}")
    n, c = _validate_logits_shape(tuple(logits.shape), func)
    if targets.dtype == torch.bool or targets.is_floating_point() or targets.is_complex():
        raise ValueError(
            f"{func}: targets must be an integer tensor of class indices; got {targets.dtype}"
        )
    _validate_targets(targets.detach().cpu().numpy(), n, c, func)
    t = targets.to(device=logits.device, dtype=torch.long).unsqueeze(1)

    row_max, arg_max = logits.max(dim=1, keepdim=True)
    terms = torch.exp(logits - row_max)
    terms = terms.scatter(1, arg_max, 0.0)  # leave one occurrence of the maximum out
    rest = torch.log1p(terms.sum(dim=1))
    gap = row_max.squeeze(1) - logits.gather(1, t).squeeze(1)
    return (gap + rest).mean()
