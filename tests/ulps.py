"""Tolerances that say what they mean, shared by the tests.

``pytest.approx(x, rel=r)`` keeps pytest's default ``abs=1e-12``: for an expected value such as
``exp(-40) ≈ 4e-18`` it accepts ``0.0``, so the very bug a test exists for (``log(1 + r)`` in
place of ``log1p(r)``) passes. Nothing here adds an absolute slack: a tiny expected value gets
a tiny tolerance.

- :func:`rel` — a purely relative ``pytest.approx`` (``abs=0``).
- :func:`assert_ulps` — ``got`` within ``n`` units in the last place of an exact (mpmath,
  fraction-free) value, with NaN and infinities required to match exactly.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

# Bits used to measure a distance: enough that the difference of any two float64 values (or of
# a float and a 60-digit mpmath value) is resolved far below one ulp.
_WORK_PREC = 2200


def rel(expected, tol: float):
    """``pytest.approx(expected, rel=tol, abs=0)``: relative only, so 0.0 never matches 1e-18."""
    return pytest.approx(expected, rel=tol, abs=0)


def ulp(x, dtype=np.float64) -> float:
    """The spacing of ``dtype`` at ``|x|`` (``x`` rounded to ``dtype`` first), as a float.

    At zero this is the smallest subnormal; at a power of two it is the spacing above it.
    """
    return float(np.spacing(np.abs(dtype(float(x)))))


def ulps_from(got, exact, dtype=np.float64) -> float:
    """``|got - exact|`` in units of ``ulp(exact)`` in ``dtype``; ``exact`` may be an mpmath value.

    The difference is taken at 2200 bits, so neither the rounding of ``exact`` nor a
    cancellation in the subtraction hides an error. Both values must be finite.
    """
    with mpmath.workprec(_WORK_PREC):
        e = mpmath.mpf(exact)
        diff = abs(mpmath.mpf(float(got)) - e)
        return float(diff / mpmath.mpf(ulp(e, dtype)))


def assert_ulps(got, exact, n: float, dtype=np.float64) -> None:
    """Assert that ``got`` is within ``n`` ulps (of ``dtype``, at ``exact``) of ``exact``.

    Parameters
    ----------
    got : float or NumPy scalar
        The computed value.
    exact : float, str or mpmath number
        The reference, ideally computed with mpmath at high precision; NaN, +inf and -inf
        must be matched exactly by ``got`` (a finite ``got`` never matches them, nor an
        infinity of the other sign).
    n : float
        The allowed distance in units in the last place. ``0`` demands the correctly rounded
        value; ``0.5`` allows nothing more than the final rounding.
    dtype : NumPy floating type
        The format whose ulp is the unit (``np.float32`` for single-precision results).
    """
    g = float(got)
    with mpmath.workprec(_WORK_PREC):
        e = mpmath.mpf(exact)
    if mpmath.isnan(e) or mpmath.isinf(e):
        want = float(e)
        same = (math.isnan(g) and math.isnan(want)) or g == want
        assert same, f"got {g!r}; expected exactly {want!r}"
        return
    assert math.isfinite(g), f"got {g!r}; expected the finite {mpmath.nstr(e, 20)}"
    d = ulps_from(g, e, dtype)
    assert d <= n, (
        f"got {g!r}, {d:.3g} ulps from the exact {mpmath.nstr(e, 20)}; at most {n} allowed"
    )
