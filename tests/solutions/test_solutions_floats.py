"""Tests for solutions.floats (ex01_floats)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.floats import float_format, kahan_sum, ulp, ulps_between

FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def _quiet(func, *args, **kwargs):
    """Call ``func`` with every warning an error and every FP exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return func(*args, **kwargs)


# ---------------------------------------------------------------- float_format


@pytest.mark.parametrize(
    ("dtype", "e", "m"),
    [(np.float16, 5, 10), (np.float32, 8, 23), (np.float64, 11, 52)],
)
def test_float_format_matches_finfo(dtype, e, m):
    info = np.finfo(dtype)
    got = _quiet(float_format, e, m)
    assert set(got) == {"max", "min_normal", "min_subnormal", "eps"}
    assert all(type(v) is float for v in got.values())
    assert got["max"] == float(info.max)
    assert got["min_normal"] == float(info.smallest_normal)
    assert got["min_subnormal"] == float(info.smallest_subnormal)
    assert got["eps"] == float(info.eps)


def test_float_format_bfloat16_matches_torch():
    info = torch.finfo(torch.bfloat16)
    got = float_format(8, 7)
    assert got["max"] == info.max
    assert got["min_normal"] == info.smallest_normal
    assert got["eps"] == info.eps
    # torch.finfo has no subnormal entry: check that 2^-133 is the smallest positive bfloat16.
    tiny = torch.tensor(got["min_subnormal"], dtype=torch.float32).to(torch.bfloat16)
    assert tiny.item() == got["min_subnormal"] == 2.0**-133
    half = torch.tensor(got["min_subnormal"] / 2.0, dtype=torch.float64).to(torch.bfloat16)
    assert half.item() == 0.0


def test_float_format_e5m2():
    got = float_format(5, 2)
    assert got == {"max": 57344.0, "min_normal": 2.0**-14, "min_subnormal": 2.0**-16, "eps": 0.25}


@given(st.integers(2, 11), st.integers(1, 52))
@settings(max_examples=150, deadline=None)
def test_float_format_exact_rational(e, m):
    got = float_format(e, m)
    bias = 2 ** (e - 1) - 1
    two = Fraction(2)
    assert Fraction(got["max"]) == (2 - two**-m) * two**bias
    assert Fraction(got["min_normal"]) == two ** (1 - bias)
    assert Fraction(got["min_subnormal"]) == two ** (1 - bias - m)
    assert Fraction(got["eps"]) == two**-m
    # max is the largest number with m + 1 significant bits below 2^(bias+1).
    assert Fraction(got["max"]) < two ** (bias + 1)


@pytest.mark.parametrize(
    ("e", "m", "match"),
    [
        (1, 10, "exponent_bits must lie in"),
        (12, 10, "exponent_bits must lie in"),
        (5, 0, "mantissa_bits must lie in"),
        (5, 53, "mantissa_bits must lie in"),
        (5.0, 10, "exponent_bits must be an int"),
        (True, 10, "exponent_bits must be an int"),
        (5, "10", "mantissa_bits must be an int"),
    ],
)
def test_float_format_bad_input(e, m, match):
    with pytest.raises(ValueError, match=match):
        float_format(e, m)


def test_float_format_accepts_numpy_ints():
    assert float_format(np.int64(8), np.int32(23))["eps"] == 2.0**-23


# ------------------------------------------------------------------------ ulp


@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=200, deadline=None)
def test_ulp_equals_math_ulp_for_float64(x):
    assert _quiet(ulp, x, np.float64) == math.ulp(x)


@pytest.mark.parametrize("x", [0.0, -0.0, 5e-324, 1e-310, 2.2250738585072014e-308, 1.0, 1e308])
def test_ulp_float64_special_points(x):
    assert ulp(x, np.float64) == math.ulp(x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_ulp_examples(dtype):
    info = np.finfo(dtype)
    assert ulp(1.0, dtype) == float(info.eps)
    assert ulp(0.0, dtype) == float(info.smallest_subnormal)
    assert ulp(float(info.smallest_subnormal), dtype) == float(info.smallest_subnormal)
    # Largest finite value: finite spacing to its lower neighbour.
    top = info.max
    expected = float(top) - float(np.nextafter(top, dtype(0)))
    got = ulp(float(top), dtype)
    assert math.isfinite(got) and got == expected
    for bad in (math.inf, -math.inf, math.nan):
        assert math.isnan(ulp(bad, dtype))


def test_ulp_dtype_forms_and_rounding():
    assert ulp(1.0, np.dtype("float32")) == 2.0**-23
    assert ulp(65504.0, np.float16) == 32.0
    # 70000 rounds to inf in float16.
    assert math.isnan(_quiet(ulp, 70000.0, np.float16))
    # 0.1 rounds to float32 below 0.125: exponent -4, spacing 2^-27.
    assert ulp(0.1, np.float32) == 2.0**-27
    # 2 - 2^-30 rounds up to 2.0 in float32, whose ulp is 2^-22.
    assert ulp(2.0 - 2.0**-30, np.float32) == 2.0**-22


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_ulp_against_nextafter(dtype, data):
    width = 16 if dtype is np.float16 else 32
    x = data.draw(st.floats(allow_nan=False, allow_infinity=False, width=width))
    xr = dtype(x)
    a = abs(xr)
    if a == np.finfo(dtype).max:
        expected = float(a) - float(np.nextafter(a, dtype(0)))
    else:
        expected = float(np.nextafter(a, dtype(np.inf))) - float(a)
    assert ulp(x, dtype) == expected


@pytest.mark.parametrize("bad", [np.int32, np.longdouble, "c8", np.complex128, bool])
def test_ulp_bad_dtype(bad):
    with pytest.raises(ValueError, match="dtype must be np.float16, np.float32 or np.float64"):
        ulp(1.0, bad)


def test_ulp_bad_dtype_object():
    with pytest.raises(ValueError, match="dtype must be"):
        ulp(1.0, object())
    with pytest.raises(ValueError, match="must be a real scalar"):
        ulp(np.array([1.0, 2.0]), np.float64)


# --------------------------------------------------------------- ulps_between


def test_ulps_between_examples():
    assert ulps_between(1.0, 1.0, np.float64) == 0
    assert ulps_between(1.0, math.nextafter(1.0, 2.0), np.float64) == 1
    assert ulps_between(0.0, -0.0, np.float64) == 0
    assert ulps_between(-5e-324, 5e-324, np.float64) == 2
    assert ulps_between(1.0, 2.0, np.float32) == 2**23
    assert ulps_between(np.finfo(np.float32).max, np.inf, np.float32) == 1
    assert ulps_between(-np.inf, np.inf, np.float16) == 2 * 0x7C00
    assert type(ulps_between(1.0, 3.0, np.float16)) is int


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_ulps_between_small_distances_by_nextafter(dtype, data):
    width = {np.float16: 16, np.float32: 32, np.float64: 64}[dtype]
    a = dtype(data.draw(st.floats(allow_nan=False, width=width)))
    steps = data.draw(st.integers(0, 40))
    direction = dtype(data.draw(st.sampled_from([np.inf, -np.inf])))
    b = a
    taken = 0
    for _ in range(steps):
        if np.isinf(b) and np.sign(b) == np.sign(direction):
            break
        with np.errstate(over="ignore"):  # max -> inf is a legitimate step
            b = np.nextafter(b, direction)  # from ±0 straight to ±smallest subnormal
        taken += 1
    assert _quiet(ulps_between, float(a), float(b), dtype) == taken
    assert ulps_between(float(b), float(a), dtype) == taken


@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_ulps_between_float64_exact_count(a, b):
    """Count doubles in (min, max] exactly from the binade structure, with Fractions."""

    def count_nonneg(x: float) -> int:
        # number of doubles in (0, x] for x >= 0 (inf counts as the last point).
        if x == 0:
            return 0
        if math.isinf(x):
            return count_nonneg(1.7976931348623157e308) + 1
        if x < 2.2250738585072014e-308:
            return int(Fraction(x) / Fraction(2) ** -1074)
        _, k = math.frexp(x)  # x in [2^(k-1), 2^k)
        below = 2**52 * (k - 1 + 1022)  # subnormals + full binades from 2^-1022 to 2^(k-1)
        return below + int((Fraction(x) - Fraction(2) ** (k - 1)) / Fraction(2) ** (k - 53)) + 2**52

    def key(x: float) -> int:
        return count_nonneg(x) if x >= 0 else -count_nonneg(-x)

    assert ulps_between(a, b, np.float64) == abs(key(a) - key(b))


def test_ulps_between_big_distances():
    # Every float32 from +0 to +inf: 0x7F800000 steps.
    assert ulps_between(0.0, np.inf, np.float32) == 0x7F800000
    assert ulps_between(-1.0, 1.0, np.float32) == 2 * 0x3F800000
    # float64: 1 to 2^10 spans ten binades of 2^52 numbers each.
    assert ulps_between(1.0, 1024.0, np.float64) == 10 * 2**52


def test_ulps_between_nan_and_bad_dtype():
    with pytest.raises(ValueError, match="a is NaN"):
        ulps_between(math.nan, 1.0, np.float32)
    with pytest.raises(ValueError, match="b is NaN"):
        ulps_between(1.0, math.nan, np.float64)
    with pytest.raises(ValueError, match="dtype must be"):
        ulps_between(1.0, 2.0, np.int64)


# ------------------------------------------------------------------ kahan_sum


def _exact_float32_sum(v: np.ndarray) -> np.float32:
    return np.float32(math.fsum(v.astype(np.float64)))


def _naive_float32(v: np.ndarray) -> np.float32:
    s = np.float32(0.0)
    for x in v:
        s = s + x
    return s


def _ill_conditioned_cases() -> list[np.ndarray]:
    """Inputs whose naive float32 sum loses thousands of ULPs to systematic rounding."""
    rng = np.random.default_rng(12345)
    # 1e8 has float32 spacing 8, so each following ~1.0 is rounded away entirely.
    big_then_ones = np.concatenate([[1e8], 1.0 + rng.uniform(-1e-3, 1e-3, 100_000)])
    # Uniform [0, 1) terms after 3e7 (spacing 2) are rounded to 0 or 2, biased downwards.
    big_then_uniform = np.concatenate([[3e7], rng.uniform(0.0, 1.0, 100_000)])
    # A constant increment is rounded the same way over long stretches.
    constant = np.full(100_000, 0.1)
    return [a.astype(np.float32) for a in (big_then_ones, big_then_uniform, constant)]


@pytest.mark.parametrize("case", range(3))
def test_kahan_sum_ill_conditioned(case):
    v = _ill_conditioned_cases()[case]
    before = v.copy()
    exact = _exact_float32_sum(v)
    naive_err = ulps_between(_naive_float32(v), exact, np.float32)
    got = _quiet(kahan_sum, v)
    assert type(got) is np.float32
    assert naive_err > 1000, "the case must defeat a naive float32 loop"
    assert ulps_between(got, exact, np.float32) <= 32
    np.testing.assert_array_equal(v, before)


@pytest.mark.parametrize(("value", "n"), [(0.1, 300_000), (0.001, 400_000)])
def test_kahan_sum_long_same_sign_sums_stay_within_one_ulp(value, n):
    """Hundreds of thousands of copies of one value: every rounding error has the same sign, so
    a compensation term that only accumulates (plain Neumaier) drifts by 86 and 141 ULPs; the
    folded-back compensation keeps the sum within one ULP."""
    v = np.full(n, value, dtype=np.float32)
    assert ulps_between(_quiet(kahan_sum, v), _exact_float32_sum(v), np.float32) <= 1


@given(
    st.lists(
        st.floats(-1e30, 1e30, width=64, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=200,
    )
)
@settings(max_examples=150, deadline=None)
def test_kahan_sum_error_bound(values):
    """Neumaier's bound: |err| <= u|S| + (2u + O(n u^2)) sum|x_i|, with u the float32 roundoff."""
    v = np.array(values).astype(np.float32)
    got = Fraction(float(kahan_sum(v)))
    exact = sum((Fraction(float(x)) for x in v), Fraction(0))
    u = Fraction(2) ** -24
    n = len(v)
    total_abs = sum((abs(Fraction(float(x))) for x in v), Fraction(0))
    bound = u * abs(exact) + (2 * u + 4 * n * u * u) * total_abs + Fraction(2) ** -149
    assert abs(got - exact) <= bound


def test_kahan_sum_examples():
    assert kahan_sum(np.array([1e8, 1.0, -1e8], dtype=np.float32)) == np.float32(1.0)
    assert kahan_sum([]) == np.float32(0.0) and type(kahan_sum([])) is np.float32
    assert kahan_sum(np.array([0.1] * 10)) == np.float32(math.fsum([float(np.float32(0.1))] * 10))
    # float64 input is cast to float32 first.
    assert type(kahan_sum(np.array([1.0, 2.0]))) is np.float32


def test_kahan_sum_non_finite_semantics():
    assert _quiet(kahan_sum, np.array([1.0, np.inf, 2.0], dtype=np.float32)) == np.inf
    assert np.isnan(_quiet(kahan_sum, np.array([np.inf, -np.inf], dtype=np.float32)))
    assert np.isnan(_quiet(kahan_sum, np.array([1.0, np.nan], dtype=np.float32)))
    big = np.float32(3e38)
    assert _quiet(kahan_sum, np.array([big, big], dtype=np.float32)) == np.inf
    assert _quiet(kahan_sum, np.array([-big, -big], dtype=np.float32)) == -np.inf


def test_kahan_sum_bad_input():
    with pytest.raises(ValueError, match="1-D array; got shape \\(2, 2\\)"):
        kahan_sum(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="1-D array; got shape \\(\\)"):
        kahan_sum(np.float32(1.0))
