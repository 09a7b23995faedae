"""Tests for solutions.overflow (ex02_overflow)."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulps import assert_ulps, rel

from solutions.overflow import clipped_bce, log_product, softplus, stable_sigmoid

mpmath.mp.dps = 60

WIDTH = {np.float16: 16, np.float32: 32, np.float64: 64}


def _quiet(func, *args, **kwargs):
    """Call ``func`` with every warning an error and every FP exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return func(*args, **kwargs)


def _u(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def _assert_relative(got: np.ndarray, exact: list, dtype, c: float) -> None:
    """|got - exact| <= c·u·max(|exact|, smallest normal): relative while normal."""
    u = _u(dtype)
    tiny = float(np.finfo(dtype).smallest_normal)
    for g, e in zip(np.ravel(got), exact, strict=True):
        e = float(e)
        if math.isinf(e) or e > float(np.finfo(dtype).max):
            assert np.isinf(g) and g > 0
            continue
        assert abs(float(g) - e) <= c * u * max(abs(e), tiny), (float(g), e)


def _floats(dtype, **kw):
    return st.floats(allow_nan=False, allow_infinity=False, width=WIDTH[dtype], **kw)


# --------------------------------------------------------------- log_product


def test_log_product_examples():
    assert _quiet(log_product, [0.5, 0.5, 0.5]) == rel(3 * math.log(0.5), 1e-15)
    assert _quiet(log_product, []) == 0.0
    assert _quiet(log_product, [1.0, 1.0]) == 0.0
    assert _quiet(log_product, np.array([0.3, 0.0, 0.9])) == -math.inf
    got = _quiet(log_product, np.full(10_000, 1e-5))
    assert type(got) is float
    assert math.isfinite(got)
    assert abs(got - 10_000 * math.log(1e-5)) <= 1e-9 * abs(got)
    # The naive product underflows to 0 on the same input.
    with np.errstate(under="ignore"):
        assert np.prod(np.full(10_000, 1e-5)) == 0.0


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 200),
        elements=st.floats(0.0, 1.0, exclude_min=True),
    )
)
@settings(max_examples=150, deadline=None)
def test_log_product_against_mpmath(p):
    before = p.copy()
    got = _quiet(log_product, p)
    exact = mpmath.fsum(mpmath.log(mpmath.mpf(float(x))) for x in p)
    # All terms have the same sign: the sum is perfectly conditioned; each log costs ~u
    # and recursive summation at most (n - 1)·u relative.
    u = _u(np.float64)
    assert abs(got - float(exact)) <= (2 + len(p)) * u * abs(float(exact)) + 1e-300
    np.testing.assert_array_equal(p, before)


def test_log_product_float32_and_2d():
    p32 = np.array([[0.25, 0.5], [0.125, 1.0]], dtype=np.float32)
    assert log_product(p32) == rel(math.log(0.25 * 0.5 * 0.125), 1e-15)


@pytest.mark.parametrize(
    ("probs", "match"),
    [
        ([0.5, 1.5, -1.0], r"got 1\.5 at index 1"),
        ([0.5, -0.25], r"got -0\.25 at index 1"),
        ([0.1, math.nan], r"got nan at index 1"),
        ([[0.1, 0.2], [0.3, math.inf]], r"got inf at index \(1, 1\)"),
    ],
)
def test_log_product_bad_values(probs, match):
    with pytest.raises(ValueError, match=r"log_product: probabilities must lie in \[0, 1\]"):
        log_product(probs)
    with pytest.raises(ValueError, match=match):
        log_product(probs)


# ------------------------------------------------------------ stable_sigmoid


def _mp_sigmoid(x: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


def _mp_softplus(x: float) -> mpmath.mpf:
    return mpmath.log1p(mpmath.exp(mpmath.mpf(x)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=120, deadline=None)
def test_stable_sigmoid_against_mpmath(dtype, data):
    x = data.draw(hnp.arrays(dtype, st.integers(1, 20), elements=_floats(dtype)))
    before = x.copy()
    got = _quiet(stable_sigmoid, x)
    assert got.dtype == dtype and got.shape == x.shape
    _assert_relative(got, [_mp_sigmoid(float(v)) for v in x], dtype, 4)
    np.testing.assert_array_equal(x, before)


@given(_floats(np.float64, min_value=-745.0, max_value=40.0))
@settings(max_examples=150, deadline=None)
def test_stable_sigmoid_hard_range(x):
    """Deep negative tail (relative accuracy down to the subnormals) and the upper knee."""
    got = _quiet(stable_sigmoid, x)
    assert isinstance(got, np.float64)
    _assert_relative(np.array([got]), [_mp_sigmoid(x)], np.float64, 4)


def test_stable_sigmoid_edge_cases():
    x = np.array([-np.inf, -1e308, -800.0, 0.0, -0.0, 800.0, 1e308, np.inf, np.nan])
    got = _quiet(stable_sigmoid, x)
    np.testing.assert_array_equal(got[:8], [0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0])
    assert np.isnan(got[8])
    x32 = np.array([-100.0, 100.0, 88.8], dtype=np.float32)
    got32 = _quiet(stable_sigmoid, x32)
    assert got32.dtype == np.float32
    # e^-100 is a float32 subnormal: within one step of the subnormal grid.
    assert abs(float(got32[0]) - math.exp(-100.0)) <= 2.0**-149
    assert got32[1] == 1.0
    s = _quiet(stable_sigmoid, 2)
    assert isinstance(s, np.float64) and s == rel(1 / (1 + math.exp(-2)), 1e-15)
    assert isinstance(_quiet(stable_sigmoid, np.float32(1.0)), np.float32)
    assert _quiet(stable_sigmoid, np.array([True, False])).dtype == np.float64


# ------------------------------------------------------------------ softplus


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=120, deadline=None)
def test_softplus_against_mpmath(dtype, data):
    x = data.draw(hnp.arrays(dtype, st.integers(1, 20), elements=_floats(dtype)))
    before = x.copy()
    got = _quiet(softplus, x)
    assert got.dtype == dtype and got.shape == x.shape
    _assert_relative(got, [_mp_softplus(float(v)) for v in x], dtype, 4)
    np.testing.assert_array_equal(x, before)


@given(_floats(np.float64, min_value=-745.0, max_value=40.0))
@settings(max_examples=150, deadline=None)
def test_softplus_hard_range(x):
    got = _quiet(softplus, x)
    _assert_relative(np.array([got]), [_mp_softplus(x)], np.float64, 4)


def test_softplus_edge_cases():
    x = np.array([-np.inf, -800.0, 0.0, 800.0, 1e308, np.inf, np.nan])
    got = _quiet(softplus, x)
    np.testing.assert_array_equal(got[:6], [0.0, 0.0, math.log(2.0), 800.0, 1e308, np.inf])
    assert np.isnan(got[6])
    # Very negative: softplus(x) = e^x to full relative accuracy.
    assert_ulps(_quiet(softplus, -700.0), mpmath.log1p(mpmath.exp(-700)), 1)
    got32 = _quiet(softplus, np.float32(-80.0))
    assert isinstance(got32, np.float32)
    assert abs(float(got32) - math.exp(-80.0)) <= 4 * _u(np.float32) * math.exp(-80.0)
    assert _quiet(softplus, np.array([1000.0], dtype=np.float32)).dtype == np.float32
    assert isinstance(_quiet(softplus, 3), np.float64)


# --------------------------------------------------------------- clipped_bce


def _mp_clipped_bce(y: np.ndarray, p: np.ndarray, eps: float) -> mpmath.mpf:
    lo = mpmath.mpf(eps)
    hi = mpmath.mpf(1.0 - eps)  # the upper clip bound as float64 rounds it
    terms = []
    for yi, pi in zip(y.ravel(), p.ravel(), strict=True):
        q = min(max(mpmath.mpf(float(pi)), lo), hi)
        yy = mpmath.mpf(float(yi))
        terms.append(-(yy * mpmath.log(q) + (1 - yy) * mpmath.log(1 - q)))
    return mpmath.fsum(terms) / len(terms)


@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=st.floats(0.0, 1.0)),
            hnp.arrays(np.float64, n, elements=st.floats(0.0, 1.0)),
        )
    ),
    st.sampled_from([1e-7, 1e-12, 0.25]),
)
@settings(max_examples=150, deadline=None)
def test_clipped_bce_against_mpmath(yp, eps):
    y, p = yp
    yb, pb = y.copy(), p.copy()
    got = _quiet(clipped_bce, y, p, eps)
    assert type(got) is float
    exact = float(_mp_clipped_bce(y, p, eps))
    # Non-negative terms, each with a relative error of a few u (log of a clipped value is
    # well conditioned only away from q = 1; there log1p(-q) is used) plus summation.
    assert abs(got - exact) <= (8 + len(y)) * _u(np.float64) * exact + 1e-300
    assert got <= -math.log(eps) + 1e-12
    np.testing.assert_array_equal(y, yb)
    np.testing.assert_array_equal(p, pb)


def test_clipped_bce_examples():
    y = np.array([1.0, 1.0, 0.0, 0.0])
    p = np.array([1.0, 0.0, 0.0, 1.0])
    got = _quiet(clipped_bce, y, p)
    # Perfect predictions cost -log(1 - eps) (y=1, p=1) and -log1p(-eps) (y=0, p=0); the
    # wrong ones -log(eps) (y=1, p=0) and -log1p(-(1 - eps)) (y=0, p=1), with 1 - eps
    # rounded to float64 as the clip bound is.
    hi = 1.0 - 1e-7
    expected = (-math.log(hi) - math.log(1e-7) - math.log1p(-1e-7) - math.log1p(-hi)) / 4
    assert got == rel(expected, 1e-14)
    assert _quiet(clipped_bce, [1.0], [0.5]) == rel(math.log(2.0), 1e-15)
    # float32 inputs are computed in float64 and return a Python float.
    f32 = _quiet(clipped_bce, np.array([1.0], np.float32), np.array([0.9], np.float32))
    assert type(f32) is float
    assert f32 == rel(-math.log(float(np.float32(0.9))), 1e-15)
    assert math.isnan(clipped_bce([1.0], [math.nan]))
    # float32 soft labels are read in float64: 1 - 2**-30 is exact there, not in float32.
    y = np.array([2.0**-30], np.float32)
    exact = -(
        mpmath.mpf(2) ** -30 * mpmath.log(0.25) + (1 - mpmath.mpf(2) ** -30) * mpmath.log(0.75)
    )
    assert_ulps(_quiet(clipped_bce, y, np.array([0.25])), exact, 4)


@pytest.mark.parametrize(
    ("y", "p", "kwargs", "match"),
    [
        ([1.0, 0.0], [0.5], {}, r"same shape; got \(2,\) and \(1,\)"),
        ([], [], {}, "^clipped_bce: inputs are empty; the mean loss of no samples"),
        ([1.0], [0.5], {"eps": 0.0}, r"eps must be a real number in \(0, 0.5\); got 0.0"),
        ([1.0], [0.5], {"eps": 0.5}, "eps must be"),
        ([1.0], [0.5], {"eps": -1e-7}, "eps must be"),
        ([1.0], [0.5], {"eps": True}, "eps must be"),
        ([1.0], [0.5], {"eps": "1e-7"}, "eps must be"),
        ([0.0, 1.5], [0.5, 0.5], {}, r"targets must lie in \[0, 1\]; got 1.5 at index 1"),
        ([math.nan, 1.0], [0.5, 0.5], {}, r"got nan at index 0"),
    ],
)
def test_clipped_bce_bad_input(y, p, kwargs, match):
    with pytest.raises(ValueError, match=match):
        clipped_bce(y, p, **kwargs)


@pytest.mark.parametrize("func", [stable_sigmoid, softplus])
def test_complex_input_is_rejected(func):
    with pytest.raises(ValueError, match=r"^expected real values; got complex dtype complex128$"):
        func(np.array([1.0 + 1j]))
