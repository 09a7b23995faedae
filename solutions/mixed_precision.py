"""Mixed precision: bfloat16 rounding, dynamic loss scaling, fp16 underflow, an autocast step.

Reference implementations for the ``ex07_mixed_precision`` assignment.

bfloat16 keeps the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits), so
rounding to it is integer arithmetic on the bit pattern: add ``0x7FFF`` plus the lowest kept bit
(round half to even) and drop the low 16 bits. A carry out of the mantissa bumps the exponent,
which is exactly right (and turns the largest values into inf). NaN needs a special case: the
same addition can carry a NaN into inf or wrap it around to -0.

The loss scaler reproduces ``torch.amp.GradScaler`` step for step: the scale lives in float32,
backoff multiplies it (in double, then rounds to float32), growth happens after
``growth_interval`` consecutive clean steps and only if the grown scale is finite, and the
growth counter restarts on backoff and on growth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch

__all__ = [
    "round_to_bfloat16",
    "DynamicLossScaler",
    "fp16_underflow_fraction",
    "mixed_precision_train_step",
]

# The bfloat16 pattern PyTorch's vectorised x86 CPU conversion (AVX2/AVX-512, what
# torch.from_numpy(x).to(torch.bfloat16) uses for arrays) gives every NaN: all ones.
_BF16_NAN_BITS = np.uint32(0xFFFF0000)


def round_to_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), returned as float32.

    Parameters
    ----------
    x : ndarray of float32
        Any shape (0-d and empty included); not modified.

    Returns
    -------
    ndarray of float32
        Same shape. Finite values are rounded to 8 significant bits, ties to even; values at or
        above the rounding boundary of bfloat16's largest finite value (about 3.3961e38) become
        +-inf; +-0, +-inf keep their sign; float32 subnormals are rounded on the same bit
        pattern (bfloat16 has float32's exponent range, so they become bfloat16 subnormals or
        +-0). Every NaN (any sign or payload) becomes the NaN with bit pattern 0xFFFF0000, the
        one PyTorch's vectorised CPU conversion produces, so the result is bit-identical to
        ``torch.from_numpy(x).to(torch.bfloat16).float()`` on x86 CPUs. (PyTorch's scalar path
        -- 0-d tensors, some strided tensors, builds without AVX2 -- writes 0x7FC00000 instead;
        both are quiet NaNs.)

    Raises
    ------
    ValueError
        If ``x`` is not a NumPy array of dtype float32.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(
            f"round_to_bfloat16: x must be a float32 ndarray; got {got} "
            "(convert with np.asarray(x, dtype=np.float32))"
        )
    bits = x.view(np.uint32)  # a view of the input: only read from it
    is_nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    # Only a NaN pattern (above 0xFFFF7FFF) could carry out of 32 bits in the addition below, and
    # integer overflow of a NumPy scalar (what a 0-d array's arithmetic can become) warns: replace
    # the NaNs by 0 first, so that the sum never exceeds 0xFF807FFF, and put the NaN back after.
    bits = np.where(is_nan, np.uint32(0), bits)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    rounded = (bits + (np.uint32(0x7FFF) + lsb)) & np.uint32(0xFFFF0000)
    rounded = np.where(is_nan, _BF16_NAN_BITS, rounded).astype(np.uint32, copy=False)
    return rounded.view(np.float32).reshape(x.shape)


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"DynamicLossScaler: {name} must be a real number; got {value!r}")
    return float(value)


class DynamicLossScaler:
    """Dynamic loss scaling with exactly the scale sequence of ``torch.amp.GradScaler``.

    Parameters
    ----------
    init_scale : float, default 2.0**16
        Finite and > 0; stored rounded to float32 (it must stay finite and > 0 after rounding).
    growth_factor : float, default 2.0
        Finite and > 1; the scale is multiplied by it after ``growth_interval`` consecutive
        steps without inf/NaN, unless the product overflows float32 (then the scale stays).
    backoff_factor : float, default 0.5
        In (0, 1); the scale is multiplied by it after a step with inf/NaN gradients.
    growth_interval : int, default 2000
        Number of consecutive clean steps before growth, >= 1.

    Raises
    ------
    ValueError
        For any argument outside the ranges above.

    Notes
    -----
    Each update computes ``float32(float64(scale) * factor)`` as PyTorch's CPU kernel does.
    Repeated backoff can underflow the scale to 0.0, as it does in PyTorch. Before its first
    ``scale()`` call ``GradScaler.get_scale()`` reports the unrounded ``init_scale``; this class
    always reports the float32 value.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        init = _check_real(init_scale, "init_scale")
        growth = _check_real(growth_factor, "growth_factor")
        backoff = _check_real(backoff_factor, "backoff_factor")
        with np.errstate(over="ignore", under="ignore"):
            init32 = np.float32(init)
        if not (math.isfinite(init) and init > 0 and np.isfinite(init32) and init32 > 0):
            raise ValueError(
                f"DynamicLossScaler: init_scale must be finite and > 0 in float32; got {init!r}"
            )
        if not (math.isfinite(growth) and growth > 1.0):
            raise ValueError(
                f"DynamicLossScaler: growth_factor must be finite and > 1; got {growth!r}"
            )
        if not (0.0 < backoff < 1.0):
            raise ValueError(
                f"DynamicLossScaler: backoff_factor must lie in (0, 1); got {backoff!r}"
            )
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, Integral):
            raise ValueError(
                f"DynamicLossScaler: growth_interval must be an int; got {growth_interval!r}"
            )
        if growth_interval < 1:
            raise ValueError(
                f"DynamicLossScaler: growth_interval must be >= 1; got {growth_interval}"
            )
        self._scale = init32
        self._growth_factor = growth
        self._backoff_factor = backoff
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0

    def get_scale(self) -> float:
        """Return the current scale (a float32 value) as a Python float."""
        return float(self._scale)

    def scale_loss(self, loss: float) -> float:
        """Return ``loss * scale`` as a Python float (float64 product; inf/NaN propagate)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.float64(loss) * np.float64(self._scale))

    def unscale(self, grads: Sequence[Any]) -> tuple[list[np.ndarray], bool]:
        """Divide gradients by the scale the way ``GradScaler.unscale_`` does.

        Each array is multiplied by ``inv = float32(1 / float64(scale))``: float32 arrays in
        float32 arithmetic, float64 arrays in float64, float16 arrays in float32 then rounded
        back (integer/bool arrays are treated as float64). With ``inv == 1`` arrays are copied
        unchanged. A scale of 0 gives ``inv = inf``.

        Parameters
        ----------
        grads : list or tuple of array_like

        Returns
        -------
        grads : list of ndarray
            New arrays, dtype kept.
        found_inf : bool
            True when any input entry is inf or NaN (the unscaled arrays are still returned).

        Raises
        ------
        ValueError
            If ``grads`` is not a list/tuple of real arrays.
        """
        if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
            raise ValueError(
                "DynamicLossScaler.unscale: grads must be a list or tuple of arrays; "
                f"got {type(grads).__name__}"
            )
        with np.errstate(divide="ignore", over="ignore"):
            inv = np.float32(1.0 / np.float64(self._scale)) if self._scale else np.float32(np.inf)
        out: list[np.ndarray] = []
        found_inf = False
        for i, g in enumerate(grads):
            a = np.asarray(g)
            if a.dtype.kind in "biu":
                a = a.astype(np.float64)
            elif a.dtype.kind != "f":
                raise ValueError(
                    f"DynamicLossScaler.unscale: grads[{i}] must be real; got dtype {a.dtype}"
                )
            if not found_inf and a.size and not np.isfinite(a).all():
                found_inf = True
            if inv == 1.0:
                out.append(a.copy())
                continue
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                if a.dtype == np.float16:
                    out.append((a.astype(np.float32) * inv).astype(np.float16))
                else:
                    out.append(a * inv.astype(a.dtype))
        return out, found_inf

    def update(self, found_inf: bool) -> None:
        """Back off after an overflowing step; grow after ``growth_interval`` clean ones."""
        with np.errstate(over="ignore", under="ignore"):
            if found_inf:
                self._scale = np.float32(np.float64(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
                return
            successful = self._growth_tracker + 1
            if successful == self._growth_interval:
                grown = np.float32(np.float64(self._scale) * self._growth_factor)
                if np.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker = successful


def fp16_underflow_fraction(grads: Any, loss_scale: float = 1.0) -> float:
    """Fraction of the nonzero gradient entries that become zero in float16.

    Each array is converted to float32, multiplied by ``float32(loss_scale)`` in float32 and
    cast to float16 (round to nearest even; values below half the smallest float16 subnormal,
    about 2.98e-8, become 0).

    Parameters
    ----------
    grads : array_like or list/tuple of array_like
        One gradient array or several.
    loss_scale : float, default 1.0
        Finite and > 0.

    Returns
    -------
    float
        ``(# nonzero entries whose scaled float16 value is 0) / (# nonzero entries)``. Entries
        that overflow to inf do not count as underflow; NaN entries count as nonzero and never
        underflow; entries already zero are ignored. With no nonzero entries (empty input,
        all zeros) the fraction is 0.0.

    Raises
    ------
    ValueError
        If ``loss_scale`` is not finite and > 0 or an array is not real.
    """
    if isinstance(loss_scale, bool) or not isinstance(loss_scale, Real):
        raise ValueError(
            f"fp16_underflow_fraction: loss_scale must be a real number; got {loss_scale!r}"
        )
    if not (math.isfinite(float(loss_scale)) and float(loss_scale) > 0):
        raise ValueError(
            f"fp16_underflow_fraction: loss_scale must be finite and > 0; got {loss_scale!r}"
        )
    arrays = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    with np.errstate(over="ignore", under="ignore"):
        factor = np.float32(float(loss_scale))
    nonzero = 0
    lost = 0
    for i, g in enumerate(arrays):
        a = np.asarray(g)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"fp16_underflow_fraction: array {i} must be real; got {a.dtype}")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            a32 = a.astype(np.float32)
            half = (a32 * factor).astype(np.float16)
        mask = a32 != 0
        nonzero += int(np.count_nonzero(mask))
        lost += int(np.count_nonzero(mask & (half == 0)))
    return 0.0 if nonzero == 0 else lost / nonzero


def mixed_precision_train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    scaler: torch.amp.GradScaler | None = None,
    dtype: torch.dtype = torch.bfloat16,
) -> float:
    """One optimisation step with the forward pass and loss under ``torch.autocast``.

    The device is that of the model's first parameter (the CPU here; CUDA when the model lives
    there). Gradients are reset (``set_to_none``), the forward pass and loss run under
    ``torch.autocast(device_type, dtype)``, and the backward pass and step run outside it. With
    a ``scaler`` the loss is scaled before backward, ``scaler.step`` unscales the gradients and
    skips the optimiser step when any is inf/NaN, and ``scaler.update`` adjusts the scale.
    Parameters keep their dtype (float32 master weights).

    Parameters
    ----------
    model, optimizer
        A module with at least one parameter and an optimiser over its parameters.
    loss_fn : callable
        ``loss_fn(outputs, targets)`` returning a scalar tensor.
    inputs, targets : torch.Tensor
        Moved to the model's device.
    scaler : torch.amp.GradScaler, optional
    dtype : torch.dtype, default torch.bfloat16
        Autocast dtype (bfloat16 or float16).

    Returns
    -------
    float
        The (unscaled) loss computed under autocast, as a Python float; NaN/inf if the forward
        pass produced them.

    Raises
    ------
    ValueError
        If the model has no parameters or the loss is not a scalar tensor.
    """
    params = list(model.parameters())
    if not params:
        raise ValueError("mixed_precision_train_step: the model has no parameters to train")
    device = params[0].device
    inputs = inputs.to(device)
    targets = targets.to(device)
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=device.type, dtype=dtype):
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("mixed_precision_train_step: loss_fn must return a scalar tensor")
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return float(loss.detach().float().item())
