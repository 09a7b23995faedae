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


# ------------------------------------------- edge semantics pinned down by mutation testing

# A signalling NaN (quiet bit clear): arithmetic on it raises the "invalid" flag.
SIGNALLING_NAN = float(np.array([0x7FF0000000000001], dtype=np.uint64).view(np.float64)[0])
C = np.ones((2, 2), complex)


@pytest.mark.parametrize(
    ("func", "args", "message"),
    [
        (
            fit_standardiser,
            (C,),
            "fit_standardiser: X must hold real numbers; got dtype complex128",
        ),
        (
            fit_standardiser,
            (np.ones(3),),
            "fit_standardiser: X must be 2-D (n_samples, n_features); got shape (3,) "
            "(use X.reshape(-1, 1) for a single feature)",
        ),
        (
            fit_standardiser,
            (np.ones((0, 2)),),
            "fit_standardiser: X has no rows; need at least one sample",
        ),
        (
            fit_standardiser,
            (np.array([[1.0, 2.0], [3.0, np.nan]]),),
            "fit_standardiser: column 1 of X contains NaN; impute or drop missing values before "
            "standardising",
        ),
        (
            standardise,
            (C, np.zeros(2), np.ones(2)),
            "standardise: X must hold real numbers; got dtype complex128",
        ),
        (
            standardise,
            (np.ones((2, 2)), C[0], np.ones(2)),
            "standardise: mean must hold real numbers; got dtype complex128",
        ),
        (
            standardise,
            (np.ones((2, 2)), np.zeros(2), C[0]),
            "standardise: scale must hold real numbers; got dtype complex128",
        ),
        (
            standardise,
            (np.ones((2, 2)), np.array([0.0, np.inf]), np.ones(2)),
            "standardise: mean must be finite",
        ),
        (
            standardise,
            (np.ones((2, 2)), np.zeros(2), np.array([1.0, -1.0])),
            "standardise: scale must be finite and > 0 in every column (fit_standardiser gives "
            "1.0 to constant columns)",
        ),
        (
            fit_linear_regression_gd,
            (C, np.ones(2)),
            "fit_linear_regression_gd: X must hold real numbers; got dtype complex128",
        ),
        (
            fit_linear_regression_gd,
            (np.ones((2, 2)), C[0]),
            "fit_linear_regression_gd: y must hold real numbers; got dtype complex128",
        ),
        (
            fit_linear_regression_gd,
            (np.ones(3), np.ones(3)),
            "fit_linear_regression_gd: X must be 2-D (n_samples, n_features) with at least one "
            "row; got shape (3,)",
        ),
        (
            fit_linear_regression_gd,
            (np.ones((0, 2)), np.ones(0)),
            "fit_linear_regression_gd: X must be 2-D (n_samples, n_features) with at least one "
            "row; got shape (0, 2)",
        ),
    ],
)
def test_error_messages_name_the_function_and_the_argument(func, args, message):
    with pytest.raises(ValueError) as info:
        func(*args)
    assert str(info.value) == message


def test_welford_messages_name_the_batch():
    with pytest.raises(ValueError) as info:
        welford([np.ones(3), np.ones((2, 2))])
    assert str(info.value) == (
        "welford: batch 1 must be 1-D; got shape (2, 2) (pass b.ravel() to treat every entry "
        "as one value)"
    )


@pytest.mark.parametrize("bad", [0.0, True, "0.1", None, np.inf])
def test_fit_linear_regression_gd_rejects_bad_lr(bad):
    with pytest.raises(ValueError, match=r"^fit_linear_regression_gd: lr must be finite and > 0"):
        fit_linear_regression_gd(np.ones((3, 1)), np.ones(3), lr=bad)


@pytest.mark.parametrize("bad", [2.5, True, "3", -1])
def test_fit_linear_regression_gd_rejects_bad_n_steps(bad):
    with pytest.raises(
        ValueError, match=r"^fit_linear_regression_gd: n_steps must be a non-negative integer"
    ):
        fit_linear_regression_gd(np.ones((3, 1)), np.ones(3), n_steps=bad)


def test_fit_linear_regression_gd_takes_the_documented_steps():
    # one and two steps of full-batch descent on mean((Z w + b - y)^2) from w = 0, b = 0
    X = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0], [7.0, 60.0]])
    y = np.array([1.0, -2.0, 0.5, 3.0])
    mean, scale = fit_standardiser(X)
    Z = (X - mean) / scale
    w, b = np.zeros(2), 0.0
    for steps in (1, 2):
        r = Z @ w + b - y
        w, b = w - 0.3 * (2.0 / 4) * (Z.T @ r), b - 0.3 * 2.0 * r.mean()
        got_w, got_b = strict(fit_linear_regression_gd, X, y, lr=0.3, n_steps=steps)
        np.testing.assert_allclose(got_w, w / scale, rtol=1e-14, atol=0)
        assert got_b == rel(b - mean @ (w / scale), 1e-14)


def test_fit_linear_regression_gd_defaults_are_lr_0_1_and_1000_steps():
    # nearly collinear features converge slowly: step 1000 and step 1001 still differ
    t = np.linspace(0.0, 1.0, 50)
    X = np.column_stack([t, t + 1e-3 * np.sin(40 * t)])
    y = 2.0 * t + 0.1 * np.cos(7 * t)
    w, b = strict(fit_linear_regression_gd, X, y)
    w1000, b1000 = fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000)
    w1001, _ = fit_linear_regression_gd(X, y, lr=0.1, n_steps=1001)
    np.testing.assert_array_equal(w, w1000)
    assert b == b1000
    assert not np.array_equal(w, w1001)


def test_fit_linear_regression_gd_one_row_and_no_columns():
    # one row: every column is constant, so the weights are 0 and b descends towards y
    w, b = strict(fit_linear_regression_gd, np.array([[3.0, 4.0]]), np.array([5.0]), n_steps=2)
    np.testing.assert_array_equal(w, [0.0, 0.0])
    assert b == rel(5.0 * (1 - 0.8**2), 1e-15)
    w, b = strict(fit_linear_regression_gd, np.ones((3, 0)), np.array([1.0, 2.0, 6.0]))
    assert w.shape == (0,) and b == rel(3.0, 1e-12)


def test_fit_linear_regression_gd_is_silent_when_it_diverges_or_underflows():
    X, y = _salary_data(n=50)
    w, b = strict(fit_linear_regression_gd, X, y, lr=5.0, n_steps=3000)
    assert not (np.isfinite(w).all() and math.isfinite(b))
    # targets of 1e-307: the products in each step underflow to subnormals
    t = np.arange(4.0)
    w, b = strict(fit_linear_regression_gd, t[:, None], 1e-307 * (1.0 + t), n_steps=50)
    assert w[0] > 0 and b > 0


def test_fit_standardiser_narrow_dtype_results_round_silently():
    # float32 subnormal data: the float64 mean and scale underflow when rounded to float32
    X = np.array([[1e-45], [0.0], [0.0]], np.float32)
    mean, scale = strict(fit_standardiser, X)
    assert mean.dtype == scale.dtype == np.float32
    assert mean[0] in (0.0, np.float32(1e-45)) and scale[0] in (0.0, np.float32(1e-45))


def test_standardise_is_silent_on_overflow_and_signalling_nan():
    Z = strict(standardise, np.array([[1e308], [SIGNALLING_NAN]]), [-1e308], [1.0])
    assert Z[0, 0] == np.inf and np.isnan(Z[1, 0])
    Z32 = strict(standardise, np.array([[3e38]], np.float32), [-3e38], [1e-3])
    assert Z32.dtype == np.float32 and Z32[0, 0] == np.inf


def test_standardise_is_silent_on_underflow():
    # Subnormal results, in the float64 division and in the rounding to float32.
    Z = strict(standardise, np.array([[1e-300]]), [0.0], [1e10])
    assert Z[0, 0] == 1e-310
    Z32 = strict(standardise, np.array([[1e-30]], np.float32), [0.0], [1e10])
    assert Z32.dtype == np.float32 and Z32[0, 0] == np.float32(1e-40)


def test_welford_rescaled_statistics_with_inf_and_huge_values_are_silent():
    # the rescaled path sums 3 * 8.5e307 (overflow) next to an inf: mean inf, variance NaN
    n, m, v = strict(welford, [np.array([1.7e308, 1.7e308, 1.7e308, np.inf])])
    assert n == 4 and m == math.inf and math.isnan(v)


def test_welford_merge_whose_variance_underflows_is_silent():
    # the merged variance, about 7e-322, is subnormal: the merge's products underflow on the
    # way there, which must neither raise under a raising error state nor lose the value
    arrays = [np.array([0.0]), np.array([0.0, 5.77e-161])]
    n, m, v = strict(welford, arrays)
    em, ev = exact_mean_var(np.concatenate(arrays))
    assert n == 3
    assert abs(mpmath.mpf(m) - em) <= 4 * U64 * abs(em)
    assert abs(mpmath.mpf(v) - ev) <= 8 * 2.0**-1074 and v > 0


def test_welford_merges_opposite_infinities_and_overflowing_means_silently():
    n, m, v = strict(welford, [np.array([np.inf]), np.array([-np.inf])])
    assert n == 2 and math.isnan(m) and math.isnan(v)
    # the difference of the two means overflows: the mean is still right, the variance inf
    n, m, v = strict(welford, [np.array([-1.5e308]), np.array([1.5e308])])
    assert n == 2 and m == 0.0 and v == math.inf


def test_welford_takes_the_unscaled_batch_statistics_when_they_can_be_trusted():
    # here the unscaled and the rescaled variances round differently: welford gives the first
    from solutions import standardisation

    b = 1e3 + np.random.default_rng(3).standard_normal(1000)
    fast = standardisation._fast_batch_stats(b)
    hi, lo, var_s, e = standardisation._column_stats(b.reshape(-1, 1))
    assert fast[2] != float(np.ldexp(var_s[0], 2 * int(e[0])))
    assert strict(welford, [b])[2] == fast[2]


def test_welford_mean_is_the_rounded_sum_of_its_two_parts():
    # the exact mean 1 + 2**-53 lies halfway between 1.0 and its neighbour above: the running
    # mean is the pair (1.0, 2**-53), and hi + lo rounds (to even) to 1.0 -- not to the float
    # below 1.0 that hi - lo would give
    n, m, v = strict(welford, [np.array([1.0, 1.0 + 2.0**-52])])
    assert n == 2 and m == 1.0 and v == rel(2.0**-106, 1e-15)


def test_welford_merge_of_means_whose_difference_overflows_keeps_the_correction():
    # the second batch's mean carries a correction term; its difference from the first mean
    # overflows, so the means are combined directly, correction included
    u = float(np.spacing(1.5e308))
    a = np.array([-1.7e308])
    b = np.array([1.5e308, 1.5e308, 1.5e308 + 3 * u, 1.3e308 + 21 * u])
    n, m, v = strict(welford, [a, b])
    exact = sum((Fraction(float(x)) for x in np.concatenate([a, b])), Fraction(0)) / 5
    assert n == 5 and m == float(exact) and v == math.inf
