"""Tests of solutions.standardisation against exact rational arithmetic."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ulps import rel

from solutions.standardisation import (
    fit_linear_regression_gd,
    fit_standardiser,
    standardise,
    welford,
)

mpmath.mp.dps = 60
U64 = 2.0**-53


def strict(fn, *args, **kwargs):
    """Call fn with every warning an error and every floating-point exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn(*args, **kwargs)


def exact_mean_var(values) -> tuple[Fraction, Fraction]:
    fr = [Fraction(float(v)) for v in values]
    m = sum(fr, Fraction(0)) / len(fr)
    return m, sum(((v - m) ** 2 for v in fr), Fraction(0)) / len(fr)


def fsqrt(q: Fraction) -> mpmath.mpf:
    return mpmath.sqrt(mpmath.mpf(q.numerator) / q.denominator)


def offset_data(min_rows=1, max_rows=40):
    """Float64 columns offset + small values, where naive E[x^2] - E[x]^2 cancels."""
    return st.tuples(
        st.sampled_from([0.0, 1e9, -3e9, 1e12, 7.5e15]),
        st.lists(st.floats(-1e3, 1e3), min_size=min_rows, max_size=max_rows),
    ).map(lambda t: t[0] + np.array(t[1]))


# -------------------------------------------------------------------------- fit_standardiser


def test_fit_standardiser_example_and_constant_column():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    before = X.copy()
    mean, scale = strict(fit_standardiser, X)
    np.testing.assert_allclose(mean, [3.0, 5.0, 5.0], rtol=1e-15)
    np.testing.assert_allclose(scale, [math.sqrt(8 / 3), 1.0, math.sqrt(26 / 3)], rtol=1e-15)
    assert scale[1] == 1.0
    np.testing.assert_array_equal(X, before)
    mean, scale = strict(fit_standardiser, [[2, 7]])  # one row: every column constant
    assert mean.dtype == np.float64
    np.testing.assert_array_equal(mean, [2.0, 7.0])
    np.testing.assert_array_equal(scale, [1.0, 1.0])


def test_fit_standardiser_large_offset_beats_naive_formula():
    rng = np.random.default_rng(1)
    x = 1e9 + rng.standard_normal(5000)
    m, v = exact_mean_var(x)
    true_sd = fsqrt(v)
    _, scale = strict(fit_standardiser, x[:, None])
    assert abs(mpmath.mpf(float(scale[0])) - true_sd) <= 30 * U64 * true_sd
    naive = math.sqrt(abs(np.mean(x * x) - np.mean(x) ** 2))
    assert abs(naive - float(true_sd)) > 1e-3  # the test above can tell the difference


def test_fit_standardiser_float32_and_extreme_magnitudes():
    X = np.array([[1e9, 1.0], [1e9 + 128, 3.0], [1e9 + 256, 5.0]], np.float32)
    mean, scale = strict(fit_standardiser, X)
    assert mean.dtype == np.float32 and scale.dtype == np.float32
    for j in range(2):
        m, v = exact_mean_var(X[:, j])
        assert mean[j] == np.float32(float(m))
        assert scale[j] == np.float32(float(fsqrt(v)))
    # squares of these overflow or underflow float64; the statistics do not
    for col in ([1e300, -1e300, 5e299], [1e-300, 3e-300, 0.0], [1e-320, 0.0, 2e-320]):
        m, v = exact_mean_var(col)
        mean, scale = strict(fit_standardiser, np.array(col)[:, None])
        assert abs(mpmath.mpf(float(mean[0])) - m) <= 2 * U64 * abs(m) + 5e-324
        sd = fsqrt(v)
        assert abs(mpmath.mpf(float(scale[0])) - sd) <= 8 * U64 * sd + 5e-324


@settings(max_examples=150, deadline=None)
@given(
    cols=st.lists(offset_data(min_rows=5, max_rows=5), min_size=1, max_size=4),
    dtype=st.sampled_from([np.float64, np.float32]),
)
# Found in CI: a mean of subnormals (4.45e-314) is not representable; it rounds to a neighbour.
@example(cols=[np.array([0.0, 0.0, 0.0, 0.0, 2.2250738585e-313])], dtype=np.float64)
def test_fit_standardiser_against_exact(cols, dtype):
    X = np.column_stack(cols).astype(dtype)
    mean, scale = strict(fit_standardiser, X)
    assert mean.dtype == dtype and scale.dtype == dtype and mean.shape == (X.shape[1],)
    u = np.finfo(dtype).eps / 2
    n = X.shape[0]
    for j in range(X.shape[1]):
        m, v = exact_mean_var(X[:, j])
        spread = max(abs(Fraction(float(x)) - m) for x in X[:, j])
        # mean and scale: rounding of the result (at least one subnormal step) plus pairwise
        # summation error of the deviations
        err_m = abs(mpmath.mpf(float(mean[j])) - m)
        tiny = Fraction(float(np.finfo(dtype).smallest_subnormal))
        bound = u * abs(m) + 4 * math.log2(n + 1) * U64 * (abs(m) * U64 + spread) + tiny
        assert err_m <= bound
        if v == 0:
            assert scale[j] == 1.0
        else:
            sd = fsqrt(v)
            err_s = abs(mpmath.mpf(float(scale[j])) - sd)
            assert err_s <= (u + 8 * math.log2(n + 1) * U64) * sd + tiny


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.ones(3), "must be 2-D"),
        (np.ones((2, 2, 2)), "must be 2-D"),
        (np.ones((0, 3)), "no rows"),
        (np.array([[1.0, 2.0], [3.0, np.nan]]), "column 1 of X contains NaN"),
        (np.array([[np.inf, 2.0], [3.0, 1.0]]), "column 0 of X contains inf"),
        (np.array([["a", "b"]]), "real numbers"),
    ],
)
def test_fit_standardiser_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        fit_standardiser(X)


# ------------------------------------------------------------------------------ standardise


def test_standardise_round_trip_and_dtype():
    rng = np.random.default_rng(2)
    X = np.column_stack([1e9 + rng.standard_normal(200), rng.uniform(0, 1e-3, 200)])
    mean, scale = fit_standardiser(X)
    Z = strict(standardise, X, mean, scale)
    assert Z.shape == X.shape and Z.dtype == np.float64
    # the fitted mean is rounded to float64 (ulp(1e9) / 2 ~ 6e-8), which shifts Z's mean a little
    assert abs(Z[:, 0].mean()) <= np.spacing(1e9) / scale[0]
    assert abs(Z[:, 1].mean()) <= 1e-12
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    X32 = X.astype(np.float32)
    Z32 = strict(standardise, X32, *fit_standardiser(X32))
    assert Z32.dtype == np.float32
    assert strict(standardise, np.zeros((0, 2)), mean, scale).shape == (0, 2)


@settings(max_examples=150, deadline=None)
@given(
    x=offset_data(min_rows=1, max_rows=8),
    m=st.floats(-1e10, 1e10),
    s=st.floats(1e-5, 1e5),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_standardise_against_exact(x, m, s, dtype):
    X = x[:, None].astype(dtype)
    mean = np.array([m], dtype)
    scale = np.array([s], dtype)
    before = X.copy()
    Z = strict(standardise, X, mean, scale)
    assert Z.dtype == dtype
    np.testing.assert_array_equal(X, before)
    u = np.finfo(dtype).eps / 2
    for xv, zv in zip(X[:, 0], Z[:, 0], strict=True):
        exact = (Fraction(float(xv)) - Fraction(float(mean[0]))) / Fraction(float(scale[0]))
        tol = (u + 2 * U64) * abs(exact) + Fraction(float(np.finfo(dtype).smallest_subnormal))
        assert abs(Fraction(float(zv)) - exact) <= tol


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.ones(3), np.zeros(3), np.ones(3)), "must be 2-D"),
        ((np.ones((2, 3)), np.zeros(2), np.ones(3)), r"mean must have shape \(3,\)"),
        ((np.ones((2, 3)), np.zeros(3), np.ones((1, 3))), r"scale must have shape \(3,\)"),
        ((np.ones((2, 2)), np.zeros(2), np.array([1.0, 0.0])), "scale must be finite and > 0"),
        ((np.ones((2, 2)), np.array([np.nan, 0.0]), np.ones(2)), "mean must be finite"),
    ],
)
def test_standardise_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        standardise(*args)


# ---------------------------------------------------------------------------------- welford


def test_welford_examples_and_edge_cases():
    assert strict(welford, []) == (
        0,
        pytest.approx(math.nan, nan_ok=True),
        pytest.approx(math.nan, nan_ok=True),
    )
    n, m, v = strict(welford, [np.array([]), np.array([])])
    assert n == 0 and math.isnan(m) and math.isnan(v)
    assert strict(welford, [np.array([2.0])]) == (1, 2.0, 0.0)
    n, m, v = strict(welford, [np.array([1.0, 2.0]), np.array([]), np.array([3.0, 4.0])])
    assert (n, m, v) == (4, 2.5, 1.25)
    assert isinstance(n, int) and isinstance(m, float) and isinstance(v, float)
    n, m, v = strict(welford, [np.array([1.0, np.nan]), np.array([2.0])])
    assert n == 3 and math.isnan(m) and math.isnan(v)
    n, m, v = strict(welford, [np.array([1.0]), np.array([np.inf])])
    assert m == math.inf and math.isnan(v)
    # float32 and integer batches are accumulated in float64
    assert strict(welford, [np.array([1, 2], np.int64), np.array([3.0], np.float32)]) == (
        3,
        2.0,
        rel(2 / 3, 1e-15),
    )


def test_welford_consumes_a_generator_once():
    rng = np.random.default_rng(3)
    chunks = [1e9 + rng.standard_normal(k) for k in (1, 50, 0, 300, 7)]

    class OnceOnly:
        def __init__(self):
            self.used = False

        def __iter__(self):
            assert not self.used, "iterated twice"
            self.used = True
            return iter(chunks)

    n, m, v = strict(welford, OnceOnly())
    n2, m2, v2 = strict(welford, (c for c in chunks))
    assert (n, m, v) == (n2, m2, v2)
    em, ev = exact_mean_var(np.concatenate(chunks))
    assert n == 358
    assert abs(mpmath.mpf(m) - em) <= 2 * U64 * abs(em)
    assert abs(mpmath.mpf(v) - ev) <= 20 * U64 * ev


def test_welford_large_offset_beats_one_value_at_a_time_naive():
    rng = np.random.default_rng(4)
    x = 1e9 + rng.standard_normal(2000)
    em, ev = exact_mean_var(x)
    _, m, v = strict(welford, np.array_split(x, 37))
    assert abs(mpmath.mpf(v) - ev) <= 30 * U64 * ev
    naive = float(np.mean(x * x) - np.mean(x) ** 2)  # textbook formula: garbage here
    assert abs(naive - float(ev)) > 1e-2


@settings(max_examples=150, deadline=None)
@given(
    offset=st.sampled_from([0.0, 1e9, -2e12, 3e15]),
    batches=st.lists(st.lists(st.floats(-1e3, 1e3), max_size=12), min_size=1, max_size=8),
)
def test_welford_against_exact(offset, batches):
    arrays = [offset + np.array(b, dtype=np.float64) for b in batches]
    n, m, v = strict(welford, iter(arrays))
    allv = np.concatenate(arrays)
    assert n == allv.size
    if n == 0:
        assert math.isnan(m) and math.isnan(v)
        return
    em, ev = exact_mean_var(allv)
    spread = max(abs(Fraction(float(x)) - em) for x in allv)
    k = len(batches)
    # backward-stable mean: a few u of the mean plus a few u of the spread around it
    # (+ one subnormal step: a mean of subnormals need not be representable at all)
    tol_m = 2 * U64 * abs(em) + (4 * math.log2(n + 1) + 4 * k) * U64 * spread + 2.0**-1074
    assert abs(mpmath.mpf(m) - em) <= tol_m
    # each merge and each batch's two-pass sum contributes a few u of the variance
    tol = (8 * k + 4 * math.log2(n + 1)) * U64 * ev + (U64 * spread) ** 2 + 2.0**-1074
    assert abs(mpmath.mpf(v) - ev) <= tol


def test_welford_without_overflow():
    # variance 9e302 is representable, but n * variance (the usual M2) overflows for n = 1e6
    x = np.tile([3e151, -3e151], 500_000)
    n, m, v = strict(welford, np.array_split(x, 3))
    exact = Fraction(3e151) ** 2
    assert n == 1_000_000 and m == 0.0
    assert abs(Fraction(v) - exact) <= 8 * U64 * exact
    # a variance beyond float64's range is inf, silently
    n, m, v = strict(welford, [np.array([1.5e308, -1.5e308]), np.array([1e308])])
    assert v == math.inf and math.isfinite(m)


def test_welford_bad_batch():
    with pytest.raises(ValueError, match=r"batch 1 must be 1-D; got shape \(2, 2\)"):
        welford([np.ones(3), np.ones((2, 2))])
    with pytest.raises(ValueError, match="batch 0 must hold real numbers"):
        welford([np.array(["x"])])


# ----------------------------------------------------------------- fit_linear_regression_gd


def _salary_data(n=400, seed=5):
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.normal(6e4, 2e4, n),  # salary
            rng.normal(40, 10, n),  # age
            rng.normal(2e-3, 1e-3, n),  # a rate
            np.full(n, 3.0),  # constant column
        ]
    )
    y = X[:, :3] @ np.array([2e-4, -0.5, 800.0]) + 30.0 + rng.standard_normal(n)
    return X, y


def test_fit_linear_regression_gd_matches_least_squares():
    X, y = _salary_data()
    Xc, yc = X.copy(), y.copy()
    w, b = strict(fit_linear_regression_gd, X, y)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(y, yc)
    coef, *_ = np.linalg.lstsq(np.column_stack([X[:, :3], np.ones(len(y))]), y, rcond=None)
    np.testing.assert_allclose(w[:3], coef[:3], rtol=1e-8)
    assert w[3] == 0.0  # constant column: no weight (its effect lives in the intercept)
    assert b == rel(coef[3], 1e-8)
    np.testing.assert_allclose(X @ w + b, X[:, :3] @ coef[:3] + coef[3], rtol=1e-10)


def test_gradient_descent_on_raw_features_diverges():
    X, y = _salary_data()
    n = len(y)
    w, b = np.zeros(X.shape[1]), 0.0
    with np.errstate(all="ignore"):
        for _ in range(1000):
            r = X @ w + b - y
            w = w - 0.1 * (2 / n) * (X.T @ r)
            b = b - 0.1 * 2 * r.mean()
    assert not np.isfinite(w).all()


def test_fit_linear_regression_gd_float32_and_zero_steps():
    X, y = _salary_data(n=100)
    w, b = strict(fit_linear_regression_gd, X.astype(np.float32), y.astype(np.float32))
    assert w.dtype == np.float64 and isinstance(b, float)  # float64 whatever the input dtype
    w0, b0 = strict(fit_linear_regression_gd, X, y, n_steps=0)
    np.testing.assert_array_equal(w0, np.zeros(4))
    assert b0 == 0.0


def test_fit_linear_regression_gd_exact_line():
    X = np.arange(10.0)[:, None] * 1e5
    y = 3e-5 * X[:, 0] - 2.0
    w, b = strict(fit_linear_regression_gd, X, y, lr=0.2, n_steps=400)
    assert w[0] == rel(3e-5, 1e-12)
    assert b == rel(-2.0, 1e-12)


@pytest.mark.parametrize(
    ("X", "y", "kw", "match"),
    [
        (np.ones(3), np.ones(3), {}, "X must be 2-D"),
        (np.ones((3, 2)), np.ones(4), {}, r"y must have shape \(3,\)"),
        (np.ones((3, 2)), np.ones((3, 1)), {}, r"y must have shape \(3,\)"),
        (np.ones((3, 2)), np.array([1.0, np.nan, 2.0]), {}, "y contains NaN"),
        (np.array([[1.0], [np.nan]]), np.ones(2), {}, "column 0 of X contains NaN"),
        (np.ones((3, 2)), np.ones(3), {"lr": -0.1}, "lr must be finite and > 0"),
        (np.ones((3, 2)), np.ones(3), {"n_steps": -5}, "n_steps must be a non-negative"),
    ],
)
def test_fit_linear_regression_gd_bad_input(X, y, kw, match):
    with pytest.raises(ValueError, match=match):
        fit_linear_regression_gd(X, y, **kw)


def test_welford_mean_of_subnormals_rounds_to_a_neighbour():
    # Found by hypothesis in CI: the exact mean 2**-1075 lies halfway between 0 and 2**-1074.
    n, m, v = strict(welford, iter([np.array([0.0, 5e-324])]))
    assert n == 2 and m in (0.0, 5e-324) and v == 0.0


# ---------------------------------------- welford's unscaled batch statistics and the fallback


@pytest.mark.parametrize(
    "batch",
    [
        np.array([1e-310, 3e-310, 2e-310]),  # scale below the unscaled range
        np.zeros(5),
        np.tile([1e154, -1e154], 3),  # the sum of squares overflows
        np.array([1.7e308, 1.7e308]),  # the sum overflows
        np.array([1.0, np.nan]),
        np.array([1.0, -np.inf]),
    ],
)
def test_fast_batch_stats_declines_and_the_rescaled_stats_decide(batch):
    from solutions import standardisation

    assert strict(standardisation._fast_batch_stats, batch) is None
    n, m, v = strict(welford, [batch])
    if np.isfinite(batch).all():
        em, ev = exact_mean_var(batch)
        assert abs(Fraction(m) - em) <= 4 * U64 * abs(em) + Fraction(2.0**-1074)
        assert abs(Fraction(v) - ev) <= 8 * U64 * ev + Fraction(2.0**-1074)
    else:
        assert not math.isfinite(m) or math.isnan(v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_welford_fast_path_on_large_offset_batches_matches_exact(dtype):
    from solutions import standardisation

    rng = np.random.default_rng(9)
    offset = 1e4 if dtype == np.float32 else 1e9
    x = (offset + rng.standard_normal(300_001)).astype(dtype)
    batches = np.array_split(x, 7)
    assert all(standardisation._fast_batch_stats(b) is not None for b in batches)
    n, m, v = strict(welford, iter(batches))
    # exact mean and variance of the float values, from float64 sums with fsum (exact sums)
    xs = x.astype(np.float64)
    em = Fraction(math.fsum(xs)) / n
    ev = (
        sum((Fraction(float(d)) ** 2 for d in (xs - float(em))), Fraction(0)) / n
        - (Fraction(math.fsum(xs - float(em))) / n) ** 2
    )
    assert n == x.size
    assert abs(Fraction(m) - em) <= 4 * U64 * abs(em)
    assert abs(Fraction(v) - ev) <= 64 * U64 * ev
