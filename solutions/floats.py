"""Reference solutions for ``ex01_floats``: the anatomy of binary floating-point formats.

Graded names: :func:`float_format`, :func:`ulp`, :func:`ulps_between`, :func:`kahan_sum`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["float_format", "ulp", "ulps_between", "kahan_sum"]

_SUPPORTED = {np.dtype(np.float16): np.uint16, np.dtype(np.float32): np.uint32}
_SUPPORTED[np.dtype(np.float64)] = np.uint64


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) in ``[low, high]``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"float_format: {name} must be an int in [{low}, {high}]; "
            f"got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"float_format: {name} must lie in [{low}, {high}]; got {value}")
    return value


def float_format(exponent_bits: int, mantissa_bits: int) -> dict[str, float]:
    """Extreme values of an IEEE-754-style binary format with the given field widths.

    The format has a sign bit, ``exponent_bits`` exponent bits with bias ``2**(e-1) - 1``
    (the all-ones exponent is reserved for inf/NaN, the all-zeros one for zero and the
    subnormals) and ``mantissa_bits`` stored fraction bits (the leading 1 is implicit).

    Parameters
    ----------
    exponent_bits : int
        Width e of the exponent field, 2 <= e <= 11.
    mantissa_bits : int
        Width m of the stored fraction, 1 <= m <= 52.

    Returns
    -------
    dict[str, float]
        ``max`` = (2 - 2^-m)·2^bias (largest finite value), ``min_normal`` = 2^(1-bias),
        ``min_subnormal`` = 2^(1-bias-m) and ``eps`` = 2^-m (the gap between 1 and the next
        larger number). Every value is exactly representable as a Python float.

    Raises
    ------
    ValueError
        If either width is not an int (bools are rejected) or lies outside its range.

    Examples
    --------
    >>> float_format(5, 10)["max"]
    65504.0
    """
    e = _check_int("exponent_bits", exponent_bits, 2, 11)
    m = _check_int("mantissa_bits", mantissa_bits, 1, 52)
    bias = 2 ** (e - 1) - 1
    return {
        "max": math.ldexp(2.0 - math.ldexp(1.0, -m), bias),
        "min_normal": math.ldexp(1.0, 1 - bias),
        "min_subnormal": math.ldexp(1.0, 1 - bias - m),
        "eps": math.ldexp(1.0, -m),
    }


def _float_dtype(dtype: DTypeLike, func: str) -> np.dtype:
    """Normalise ``dtype`` to one of float16/32/64 or raise ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(
            f"{func}: dtype must be np.float16, np.float32 or np.float64; got {dtype!r}"
        ) from exc
    if dt not in _SUPPORTED:
        raise ValueError(
            f"{func}: dtype must be np.float16, np.float32 or np.float64; got {dt.name}"
        )
    return dt


def _round_scalar(x: Any, dt: np.dtype, func: str, name: str = "x") -> np.floating:
    """Round the real scalar ``x`` to ``dt`` (overflow gives ±inf silently)."""
    if np.ndim(x) != 0:
        raise ValueError(f"{func}: {name} must be a real scalar; got shape {np.shape(x)}")
    if isinstance(x, complex | np.complexfloating):
        raise ValueError(f"{func}: {name} must be real; got {x!r}")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # Round from float64 (exact for every Python float); the second rounding to a
        # narrower format cannot go wrong because float64 carries > 2p + 1 bits.
        return dt.type(np.float64(x))


def ulp(x: float, dtype: DTypeLike = np.float64) -> float:
    """One unit in the last place of ``x`` after rounding it to ``dtype``.

    Parameters
    ----------
    x : float
        A real scalar. It is first rounded to ``dtype`` (values beyond the format's range
        round to ±inf).
    dtype : np.float16, np.float32 or np.float64 (type or dtype object)
        The binary format.

    Returns
    -------
    float
        ``2**(max(E, E_min) - m)`` where E is the exponent of the rounded |x|, E_min the
        smallest normal exponent and m the number of stored fraction bits. For ±0 and the
        subnormals this is the smallest subnormal; at the largest finite value it is finite
        (2^971 for float64); for ±inf and NaN it is ``nan``. For float64 it equals
        :func:`math.ulp` on every finite input.

    Raises
    ------
    ValueError
        If ``dtype`` is not one of the three supported formats or ``x`` is not a scalar.
    """
    dt = _float_dtype(dtype, "ulp")
    xr = _round_scalar(x, dt, "ulp")
    if not np.isfinite(xr):
        return math.nan
    info = np.finfo(dt)
    exponent = int(info.minexp)  # zero and the subnormals share the smallest spacing
    if xr != 0:
        # frexp(|x|) = f·2^k with f in [0.5, 1), so the exponent of |x| is k - 1.
        _, k = math.frexp(abs(float(xr)))
        exponent = max(k - 1, exponent)
    return math.ldexp(1.0, exponent - int(info.nmant))


def _ordered_key(x: np.floating, dt: np.dtype) -> int:
    """Map a non-NaN float to an integer so that consecutive floats get consecutive keys."""
    uint = _SUPPORTED[dt]
    bits = int(np.array(x, dtype=dt).view(uint))
    sign_mask = 1 << (8 * dt.itemsize - 1)
    magnitude = bits & (sign_mask - 1)
    # -0 and +0 both map to 0; +inf is one step above the largest finite value.
    return -magnitude if bits & sign_mask else magnitude


def ulps_between(a: float, b: float, dtype: DTypeLike = np.float64) -> int:
    """Number of steps between ``a`` and ``b`` on the grid of ``dtype`` numbers.

    Parameters
    ----------
    a, b : float
        Real scalars, each first rounded to ``dtype`` (values beyond the range become ±inf).
    dtype : np.float16, np.float32 or np.float64 (type or dtype object)

    Returns
    -------
    int
        0 when the rounded values are equal (including +0 versus -0), 1 for neighbours;
        symmetric in a and b. Across zero, +0 and -0 count as a single point. Infinities
        are allowed: +inf is one step above the largest finite value.

    Raises
    ------
    ValueError
        If either value is NaN, or ``dtype`` is not supported.
    """
    dt = _float_dtype(dtype, "ulps_between")
    ar = _round_scalar(a, dt, "ulps_between", "a")
    br = _round_scalar(b, dt, "ulps_between", "b")
    for name, value in (("a", ar), ("b", br)):
        if np.isnan(value):
            raise ValueError(
                f"ulps_between: {name} is NaN; NaN has no place on the number line, "
                "pass finite or infinite values only"
            )
    return abs(_ordered_key(ar, dt) - _ordered_key(br, dt))


def kahan_sum(values: ArrayLike) -> np.float32:
    """Compensated sum of a 1-D array in float32 arithmetic, with a bounded compensation term.

    Parameters
    ----------
    values : array_like, 1-D
        Values to add; they are cast to float32 first, silently (beyond float32's range they
        become +-inf, below it subnormals or +-0). The input is not modified.

    Returns
    -------
    np.float32
        The compensated sum, within about one float32 ULP of the exactly rounded sum even
        where a naive float32 loop is off by thousands of ULPs, including long sums whose
        rounding errors all have the same sign (hundreds of thousands of copies of one
        value). An empty input gives ``np.float32(0)``. If the running sum becomes inf or NaN
        (an infinite or NaN value, or overflow) the result is the plain float32 sum of the
        values, which keeps the inf/NaN semantics of ordinary summation instead of a NaN made
        by inf - inf in the compensation term.

    Raises
    ------
    ValueError
        If ``values`` is not one-dimensional.

    Notes
    -----
    Neumaier's variant of Kahan's algorithm recovers the rounding error of every addition
    ``t = s + x`` exactly, as ``(s - t) + x`` when |s| >= |x| (else ``(x - t) + s``), which
    also handles terms larger than the running sum. Accumulating those errors in a float32
    ``c`` that is only added at the end lets ``c`` grow like n·u·|s| on a long sum whose errors
    share one sign, and ``c``'s own rounding then costs tens of ULPs. Here the error is added
    to ``c`` and ``(t, c)`` is renormalised at once with the same exact two-sum, so ``c`` stays
    below one ULP of ``s`` and the pair (s, c) carries about twice float32's precision.
    """
    v = np.asarray(values)
    if v.ndim != 1:
        raise ValueError(f"kahan_sum: values must be a 1-D array; got shape {v.shape}")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        v32 = v.astype(np.float32, copy=False)
    s = np.float32(0.0)
    c = np.float32(0.0)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for x in v32:
            t, error = _two_sum(s, x)
            s, c = _two_sum(t, c + error)
        # Once s is inf or NaN it stays so; the compensation is then meaningless.
        if not np.isfinite(s):
            return np.float32(np.add.reduce(v32, dtype=np.float32))
        return np.float32(s + c)


def _two_sum(a: np.float32, b: np.float32) -> tuple[np.float32, np.float32]:
    """``(a + b rounded, its exact rounding error)`` in float32 (Neumaier's branch on size)."""
    total = a + b
    if abs(a) >= abs(b):
        return total, (a - total) + b
    return total, (b - total) + a
