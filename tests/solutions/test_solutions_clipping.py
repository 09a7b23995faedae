"""Tests of solutions.clipping against exact arithmetic and torch.nn.utils.clip_grad_norm_."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulps import rel

from solutions.clipping import clip_by_global_norm, clip_by_value, sgd_with_clipping

mpmath.mp.dps = 60


def strict(fn, *args, **kwargs):
    """Call fn with every warning an error and every floating-point exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn(*args, **kwargs)


def exact_norm(arrays) -> mpmath.mpf:
    """Global L2 norm from exact rational squares, rounded once by mpmath at 60 digits."""
    total = sum(
        (Fraction(float(v)) ** 2 for a in arrays for v in np.asarray(a, np.float64).ravel()),
        Fraction(0),
    )
    return mpmath.sqrt(mpmath.mpf(total.numerator) / total.denominator)


def float_arrays(dtype, min_value, max_value, max_side=6):
    return hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=max_side),
        elements=st.floats(min_value, max_value, width=np.dtype(dtype).itemsize * 8),
    )


# ----------------------------------------------------------------------------- clip_by_value


def test_clip_by_value_examples():
    g = [np.array([-3.0, -0.5, 0.0, 0.5, 3.0]), np.array([[np.inf, -np.inf], [np.nan, 1.0]])]
    out = strict(clip_by_value, g, 1.0)
    np.testing.assert_array_equal(out[0], [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(out[1], [[1.0, -1.0], [np.nan, 1.0]])
    assert out[0] is not g[0] and out[1] is not g[1]
    assert strict(clip_by_value, [], 2.0) == []
    empty = strict(clip_by_value, (np.zeros((0, 3), np.float32),), 2.0)
    assert empty[0].shape == (0, 3) and empty[0].dtype == np.float32


def test_clip_by_value_dtypes_and_no_mutation():
    g32 = np.array([5.0, -5.0, 0.25], np.float32)
    g16 = np.array([6e4, -1.0], np.float16)
    gint = np.array([3, -7, 1])
    before = [g32.copy(), g16.copy(), gint.copy()]
    out = strict(clip_by_value, [g32, g16, gint], 2.0)
    assert [o.dtype for o in out] == [np.float32, np.float16, np.float64]
    np.testing.assert_array_equal(out[0], np.array([2.0, -2.0, 0.25], np.float32))
    np.testing.assert_array_equal(out[2], [2.0, -2.0, 1.0])
    # a bound beyond float16's range leaves float16 arrays unchanged (and warns about nothing)
    np.testing.assert_array_equal(strict(clip_by_value, [g16], 1e6)[0], g16)
    for a, b in zip([g32, g16, gint], before, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=150, deadline=None)
@given(
    g=float_arrays(np.float64, -1e300, 1e300),
    c=st.floats(1e-300, 1e300),
)
def test_clip_by_value_matches_definition(g, c):
    out = strict(clip_by_value, [g], c)[0]
    assert out.shape == g.shape and out.dtype == g.dtype
    expected = np.where(g > c, c, np.where(g < -c, -c, g))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, "1", None, True])
def test_clip_by_value_rejects_bad_bound(bad):
    with pytest.raises(ValueError, match="clip_value"):
        clip_by_value([np.ones(2)], bad)


def test_clip_by_value_rejects_non_list():
    with pytest.raises(ValueError, match="list or tuple of arrays"):
        clip_by_value(np.ones(3), 1.0)
    with pytest.raises(ValueError, match=r"grads\[1\].*complex"):
        clip_by_value([np.ones(2), np.ones(2, complex)], 1.0)


# ----------------------------------------------------------------------- clip_by_global_norm


@pytest.mark.parametrize(
    ("arrays", "dtype"),
    [
        ([np.full(5, 1e200), np.array([3e200, -4e200])], np.float64),
        ([np.full(7, 1e-200), np.array([3e-200, -4e-200])], np.float64),
        ([np.array([1e-320, 3e-320])], np.float64),  # subnormal entries
        ([np.array([1.2e308, 1.2e308]), np.array([1e-300])], np.float64),
        ([np.full(10, 1e20, np.float32)], np.float32),
        ([np.full(10, 1e-30, np.float32), np.array([1e-44], np.float32)], np.float32),
    ],
)
def test_global_norm_without_overflow_or_underflow(arrays, dtype):
    clipped, norm = strict(clip_by_global_norm, arrays, 1.0)
    true = exact_norm(arrays)
    # a few u relative, or half the smallest subnormal when the norm itself is subnormal
    assert abs(mpmath.mpf(norm) - true) <= 4 * 2.0**-53 * true + mpmath.mpf(2) ** -1075
    assert [c.dtype for c in clipped] == [dtype] * len(arrays)
    coef = min(mpmath.mpf(1), 1 / (true + mpmath.mpf(1e-6)))
    for c, a in zip(clipped, arrays, strict=True):
        for cv, av in zip(c.ravel(), a.ravel(), strict=True):
            want = mpmath.mpf(float(av)) * coef
            u = np.finfo(dtype).eps / 2
            tiny = np.finfo(dtype).smallest_subnormal
            assert abs(mpmath.mpf(float(cv)) - want) <= 3 * u * abs(want) + tiny


def test_norm_overflowing_float64_raises():
    with pytest.raises(FloatingPointError, match="float64 range"):
        clip_by_global_norm([np.full(4, 1.7e308)], 1.0)


@settings(max_examples=150, deadline=None)
@given(
    arrays=st.lists(float_arrays(np.float64, -1e30, 1e30), min_size=1, max_size=4),
    exponent=st.integers(-250, 250),
    max_norm=st.floats(1e-3, 1e3),
)
def test_global_norm_against_exact_arithmetic(arrays, exponent, max_norm):
    # shift the whole problem by 2**exponent so that naive squaring over- or underflows
    arrays = [np.ldexp(a, exponent) for a in arrays]
    _, norm = strict(clip_by_global_norm, arrays, max_norm)
    true = exact_norm(arrays)
    n = sum(a.size for a in arrays)
    # summing n squares in float64 and one sqrt: relative error <= (n/2 + 2) u
    bound = (n / 2 + 2) * 2.0**-53 * true + mpmath.mpf(2.0**-1074)
    assert abs(mpmath.mpf(norm) - true) <= bound


@settings(max_examples=100, deadline=None)
@given(
    shapes=st.lists(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), min_size=1, max_size=5),
    max_norm=st.floats(1e-2, 1e2),
    scale=st.sampled_from([1e-3, 1.0, 10.0, 1e4]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_torch_clip_grad_norm(shapes, max_norm, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    grads = [(scale * rng.standard_normal(s)).astype(dtype) for s in shapes]
    before = [g.copy() for g in grads]
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype))
        p.grad = torch.from_numpy(g.copy())
        params.append(p)
    torch_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    clipped, norm = strict(clip_by_global_norm, grads, max_norm)
    u = np.finfo(dtype).eps / 2
    n = sum(g.size for g in grads)
    # torch accumulates in the gradients' dtype, so its own error is a few u times log n
    assert norm == rel(torch_norm, (4 + np.log2(n)) * u)
    for c, p, g, b in zip(clipped, params, grads, before, strict=True):
        assert c.dtype == dtype and c.shape == g.shape
        ulp = np.spacing(np.abs(p.grad.numpy()).astype(dtype))
        assert np.all(np.abs(c - p.grad.numpy()) <= 4 * ulp)
        np.testing.assert_array_equal(g, b)  # input untouched


def test_no_clipping_below_threshold_and_zero_norm():
    g = [np.array([0.3, 0.4], np.float32)]
    clipped, norm = strict(clip_by_global_norm, g, 1.0)
    assert norm == rel(0.5, 1e-7)
    np.testing.assert_array_equal(clipped[0], g[0])
    assert clipped[0] is not g[0]
    clipped, norm = strict(clip_by_global_norm, [np.zeros(3), np.zeros((0, 2))], 1.0)
    assert norm == 0.0 and isinstance(norm, float)
    np.testing.assert_array_equal(clipped[0], np.zeros(3))
    assert clipped[1].shape == (0, 2)
    assert strict(clip_by_global_norm, [], 1.0) == ([], 0.0)


def test_exact_rule_example():
    # norm 5 and max_norm 1: every entry multiplied by 1 / (5 + 1e-6)
    clipped, norm = strict(clip_by_global_norm, [np.array([3.0]), np.array([[4.0]])], 1.0)
    assert norm == 5.0
    assert clipped[0][0] == 3.0 * (1.0 / (5.0 + 1e-6))
    assert clipped[1][0, 0] == 4.0 * (1.0 / (5.0 + 1e-6))


@pytest.mark.parametrize(("bad", "kind"), [(np.inf, "inf"), (-np.inf, "inf"), (np.nan, "NaN")])
def test_non_finite_gradients_raise_naming_the_array(bad, kind):
    g = [np.ones(3), np.array([1.0, bad]), np.ones(2)]
    with pytest.raises(FloatingPointError, match=rf"grads\[1\] contains {kind}"):
        strict(clip_by_global_norm, g, 1.0)


@pytest.mark.parametrize("bad", [0.0, -2.0, np.inf, np.nan, None])
def test_bad_max_norm(bad):
    with pytest.raises(ValueError, match="max_norm must be"):
        clip_by_global_norm([np.ones(2)], bad)


def test_bad_eps_and_grads():
    with pytest.raises(ValueError, match="eps must be finite and >= 0"):
        clip_by_global_norm([np.ones(2)], 1.0, eps=-1e-6)
    with pytest.raises(ValueError, match="list or tuple"):
        clip_by_global_norm(np.ones(2), 1.0)


# ------------------------------------------------------------------------ sgd_with_clipping


def test_sgd_without_clipping_is_plain_gradient_descent():
    # f(theta) = 0.5 * ||theta||^2, so theta_k = (1 - lr)^k theta_0
    theta0 = np.array([3.0, -4.0])
    res = strict(sgd_with_clipping, lambda t, s: t, theta0, 0.25, 5)
    assert res["path"].shape == (6, 2)
    np.testing.assert_array_equal(res["path"][0], theta0)
    expected = theta0 * 0.75 ** np.arange(6)[:, None]
    np.testing.assert_allclose(res["path"], expected, rtol=1e-15)
    np.testing.assert_array_equal(res["theta"], res["path"][-1])
    np.testing.assert_allclose(res["grad_norms"], 5.0 * 0.75 ** np.arange(5), rtol=1e-15)
    assert res["clipped"] == []
    np.testing.assert_array_equal(theta0, [3.0, -4.0])


def test_sgd_with_clipping_records_clipped_steps():
    # gradient of 0.5 * ||theta||^2 from norm 50: clipped to norm ~1 while ||theta|| > 1
    res = strict(sgd_with_clipping, lambda t, s: t, np.array([30.0, 40.0]), 1.0, 60, 1.0)
    norms = res["grad_norms"]
    clipped = res["clipped"]
    assert clipped == [k for k in range(60) if 1.0 / (norms[k] + 1e-6) < 1.0]
    # while clipped, each step shortens theta by 1/(1 + 1e-6/norm) in norm
    assert norms[0] == 50.0
    assert norms[1] == rel(50.0 - 50.0 / (50.0 + 1e-6), 1e-14)
    assert clipped[:49] == list(range(49))
    assert np.linalg.norm(res["theta"]) < 1e-6


def test_sgd_clipping_tames_exploding_gradient():
    # f(x) = x^4 from x = 10 with lr 0.1: plain GD overflows to inf, clipped GD converges
    def grad(t, s):
        with np.errstate(over="ignore", invalid="ignore"):
            return 4 * t**3

    plain = strict(sgd_with_clipping, grad, np.array([10.0]), 0.1, 20)
    assert not np.isfinite(plain["theta"]).all()
    assert np.isinf(plain["grad_norms"]).any() or np.isnan(plain["grad_norms"]).any()
    safe = strict(sgd_with_clipping, grad, np.array([10.0]), 0.1, 200, max_norm=1.0)
    assert abs(safe["theta"][0]) < 0.5
    assert safe["clipped"][0] == 0


def test_sgd_callback_gets_a_copy_and_step_index():
    seen = []

    def grad(t, step):
        seen.append(step)
        t[...] = 1e9  # must not change the optimiser's iterate
        return np.ones_like(t)

    res = strict(sgd_with_clipping, grad, np.zeros((2, 2)), 0.5, 3)
    assert seen == [0, 1, 2]
    np.testing.assert_array_equal(res["theta"], np.full((2, 2), -1.5))
    assert res["path"].shape == (4, 2, 2)


def test_sgd_zero_steps_and_int_input():
    res = strict(sgd_with_clipping, lambda t, s: t, [1, 2], 0.1, 0)
    assert res["path"].shape == (1, 2) and res["path"].dtype == np.float64
    assert res["grad_norms"].shape == (0,) and res["clipped"] == []


def test_sgd_non_finite_gradient_with_clipping_names_step():
    grad = lambda t, s: np.array([np.inf if s == 2 else 1.0])  # noqa: E731
    with pytest.raises(FloatingPointError, match="step 2"):
        strict(sgd_with_clipping, grad, np.zeros(1), 0.1, 5, max_norm=1.0)
    res = strict(sgd_with_clipping, grad, np.zeros(1), 0.1, 4)
    assert np.isinf(res["grad_norms"][2]) and np.isinf(res["theta"][0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr must be finite and > 0"),
        ({"lr": np.nan}, "lr must be finite and > 0"),
        ({"n_steps": -1}, "n_steps must be a non-negative integer"),
        ({"n_steps": 2.5}, "n_steps must be a non-negative integer"),
        ({"max_norm": -1.0}, "max_norm must be finite and > 0"),
    ],
)
def test_sgd_bad_arguments(kwargs, match):
    args = {"grad_fn": lambda t, s: t, "theta0": np.ones(2), "lr": 0.1, "n_steps": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sgd_with_clipping(**args)


def test_sgd_wrong_gradient_shape():
    with pytest.raises(ValueError, match=r"shape \(3,\) at step 0.*\(2,\)"):
        sgd_with_clipping(lambda t, s: np.ones(3), np.ones(2), 0.1, 3)


# ------------------------------------------------- fast unscaled norm and its scaled fallback


@pytest.mark.parametrize(
    "arrays",
    [
        [np.full(3, 1e200)],  # squares overflow
        [np.full(3, 1e-200), np.zeros(2)],  # squares underflow
        [np.zeros(4), np.zeros((0, 2))],  # all zero
        [np.array([1.0, np.inf])],  # not finite
        [np.array([np.nan])],
    ],
)
def test_fast_norm_declines_and_the_scaled_norm_decides(arrays):
    from solutions import clipping

    assert strict(clipping._fast_global_norm, arrays) is None
    norm, _ = clipping._global_norm(arrays)
    if np.isfinite(norm):
        assert abs(mpmath.mpf(norm) - exact_norm(arrays)) <= 4 * 2.0**-53 * exact_norm(arrays)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_fast_norm_on_large_blocked_arrays_is_exact_to_a_few_ulps(dtype):
    from solutions import clipping

    rng = np.random.default_rng(5)
    # sizes crossing the widening block and the row length, one non-contiguous view
    wide = rng.normal(0, 3, (clipping._BLOCK + 1000, 3)).astype(dtype)
    arrays = [rng.normal(0, 1, 2 * clipping._BLOCK + 77).astype(dtype), wide[:, 1], wide.T]
    fast = strict(clipping._fast_global_norm, arrays)
    assert fast is not None
    # squares of float16/32/64 values summed exactly (fsum), then one correctly rounded sqrt
    exact = math.sqrt(math.fsum(float(v) ** 2 for a in arrays for v in a.ravel()))
    assert abs(fast - exact) <= 8 * 2.0**-53 * exact
    clipped, norm = strict(clip_by_global_norm, arrays, 1.0)
    assert norm == fast
    coef = 1.0 / (exact + 1e-6)
    for c, a in zip(clipped, arrays, strict=True):
        assert c.dtype == dtype and c.shape == a.shape
        want = a.astype(np.float64) * coef
        assert np.all(np.abs(c - want) <= np.spacing(np.abs(want).astype(dtype)))
