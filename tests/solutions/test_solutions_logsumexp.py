"""Tests for solutions.logsumexp (ex03_logsumexp)."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulps import assert_ulps, rel

from solutions.logsumexp import logaddexp, logsumexp, online_logsumexp

mpmath.mp.dps = 60
INF = math.inf
NAN = math.nan


def _quiet(func, *args, **kwargs):
    """Call ``func`` with every warning an error and every FP exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return func(*args, **kwargs)


def _u(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def _scipy(*args, **kwargs):
    with np.errstate(all="ignore"):
        return scipy.special.logsumexp(*args, **kwargs)


def _mp_lse(values) -> float:
    """Exact log-sum-exp of the given floats (rounded once to float64 at the end)."""
    vals = [float(v) for v in np.ravel(values)]
    if any(math.isnan(v) for v in vals):
        return NAN
    if any(v == INF for v in vals):
        return INF
    finite = [v for v in vals if v != -INF]
    if not finite:
        return -INF
    # Split off the maximum so tiny results (log(1 + x) ≈ x) survive the working precision.
    finite.remove(top := max(finite))
    rest = mpmath.fsum(mpmath.exp(mpmath.mpf(v) - top) for v in finite)
    return float(top + mpmath.log1p(rest))


def _bound(values, dtype, c: float = 4.0) -> float:
    """c·u·(max|x_i| + log n) over the finite entries: the problem's absolute error scale."""
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    scale = (float(np.max(np.abs(finite))) if finite.size else 0.0) + math.log(max(v.size, 1))
    return c * _u(dtype) * scale


def _tight_bound(values, exact: float, dtype, c: float = 4.0) -> float:
    """The error of ``m + log1p(rest)`` computed in ``dtype``, for a finite ``exact`` result.

    ``c·u·(|m| + |exact| + (2 + log2 n + spread)·(exact - m))`` plus one smallest subnormal per
    term: the rounding of ``m`` and of the final sum, and the relative errors of the shifted
    differences (at most ``spread`` = max - min of the contributing entries, capped where exp
    underflows), of exp and of the pairwise sum, each felt through ``log1p(rest) = exact - m``.
    Unlike :func:`_bound` this shrinks with the result: ``[0, -40]`` (result 4e-18) gets a
    tolerance near 1e-31, so ``log(1 + rest)`` — which returns 0 there — fails it.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    m = float(finite.max())
    spread = min(m - float(finite.min()), 800.0)
    tail = (2 + math.log2(v.size) + spread) * (exact - m)
    tiny = float(np.finfo(dtype).smallest_subnormal)
    return c * _u(dtype) * (abs(m) + abs(exact) + tail) + 2 * v.size * tiny


def _same_special(got: float, exact: float) -> bool:
    return (math.isnan(got) and math.isnan(exact)) or got == exact


def _finite_or_mask(dtype=np.float64):
    """Moderate, large and huge finite values plus -inf masks, representable in ``dtype``."""
    huge = 1e300 if dtype == np.float64 else 2.0**100
    width = 64 if dtype == np.float64 else 32
    return st.one_of(
        st.floats(-60, 60, width=width),
        st.floats(-1e5, 1e5, width=width),
        st.floats(-huge, huge, width=width),
        st.just(-INF),
    )


# ------------------------------------------------------------------ logsumexp


def test_logsumexp_examples():
    assert _quiet(logsumexp, [1.0, 2.0, 3.0]) == rel(
        math.log(math.e + math.e**2 + math.e**3), 1e-15
    )
    assert _quiet(logsumexp, [1000.0, 1000.0]) == rel(1000.0 + math.log(2.0), 1e-16)
    assert _quiet(logsumexp, [-1000.0, -1000.0]) == rel(-1000.0 + math.log(2.0), 1e-16)
    # The maximum dominates: log1p keeps the tiny excess exactly (log(1 + r) would give 0).
    assert_ulps(_quiet(logsumexp, [0.0, -40.0]), mpmath.log1p(mpmath.exp(-40)), 1)
    assert_ulps(_quiet(logsumexp, [[0.0, -40.0]], axis=1)[0], mpmath.log1p(mpmath.exp(-40)), 1)
    assert_ulps(_quiet(logsumexp, [-40.0, 0.0]), mpmath.log1p(mpmath.exp(-40)), 1)
    # Opposite-sign inputs near the limits: x - max overflows to -inf harmlessly.
    assert _quiet(logsumexp, [-1.7e308, 1.7e308]) == 1.7e308
    assert _quiet(logsumexp, [[-1.7e308, 1.7e308]], axis=-1)[0] == 1.7e308  # per-axis path
    assert _quiet(logsumexp, [5.0]) == 5.0


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([-INF, -INF], -INF),
        ([-INF, 0.0], 0.0),
        ([INF, 1.0], INF),
        ([INF, -INF], INF),
        ([INF, INF], INF),
        ([1.0, NAN], NAN),
        ([NAN, INF], NAN),
        ([INF, NAN], NAN),
        ([], -INF),
    ],
)
def test_logsumexp_special_values(x, expected):
    got = _quiet(logsumexp, np.array(x, dtype=np.float64))
    assert isinstance(got, np.float64)
    assert _same_special(float(got), expected)
    assert _same_special(float(got), float(_scipy(np.array(x, dtype=np.float64))))
    got32 = _quiet(logsumexp, np.array(x, dtype=np.float32))
    assert isinstance(got32, np.float32)
    assert _same_special(float(got32), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_logsumexp_against_mpmath(dtype, data):
    x = data.draw(hnp.arrays(dtype, st.integers(1, 60), elements=_finite_or_mask(dtype)))
    before = x.copy()
    got = _quiet(logsumexp, x)
    assert isinstance(got, dtype)
    exact = _mp_lse(x)
    if math.isinf(exact):
        assert float(got) == exact
    else:
        assert abs(float(got) - exact) <= _tight_bound(x, exact, dtype)
    np.testing.assert_array_equal(x, before)


@given(st.lists(st.floats(-30, 30), min_size=2, max_size=50), st.floats(-1e6, 1e6))
@settings(max_examples=150, deadline=None)
def test_logsumexp_dominated_offsets(offsets, shift):
    """Large common offsets: result near the shift, error scales with |shift| as allowed."""
    x = np.array(offsets) + shift
    exact = _mp_lse(x)
    assert abs(float(_quiet(logsumexp, x)) - exact) <= _tight_bound(x, exact, np.float64)


def test_logsumexp_large_float32_array():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(100_000) * 30.0).astype(np.float32)
    got = _quiet(logsumexp, x)
    assert got.dtype == np.float32
    x64 = x.astype(np.float64)
    m = float(x64.max())
    exact = m + math.log(math.fsum(np.exp(x64 - m)))  # float64 oracle for a float32 result
    assert abs(float(got) - exact) <= _bound(x, np.float32)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
        elements=st.one_of(st.floats(-1e3, 1e3), st.sampled_from([-INF, INF, NAN])),
    ),
    st.data(),
)
@settings(max_examples=150, deadline=None)
def test_logsumexp_matches_scipy_axes(x, data):
    ndim = x.ndim
    axis = data.draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        )
    )
    keepdims = data.draw(st.booleans())
    got = _quiet(logsumexp, x, axis=axis, keepdims=keepdims)
    if x.size == 0 and ndim > 1 and not isinstance(axis, int):
        # SciPy 1.17 raises IndexError here; the answer is -inf over the kept shape.
        assert np.all(np.isneginf(got)) and np.asarray(got).dtype == np.float64
        return
    ref = _scipy(x, axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(ref)
    assert np.asarray(got).dtype == np.float64
    # Both are accurate: they agree within the conditioning-based bound of each slice.
    np.testing.assert_allclose(got, ref, rtol=0, atol=2 * _bound(x, np.float64) + 1e-300)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.array_equal(np.isposinf(got), np.isposinf(ref))
    assert np.array_equal(np.isneginf(got), np.isneginf(ref))


def test_logsumexp_shapes_and_dtypes():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert logsumexp(x, axis=1).shape == (2, 4) and logsumexp(x, axis=1).dtype == np.float32
    assert logsumexp(x, axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert logsumexp(x, keepdims=True).shape == (1, 1, 1)
    assert isinstance(logsumexp(np.float32(2.0)), np.float32)
    assert logsumexp(np.float32(2.0)) == np.float32(2.0)
    assert isinstance(logsumexp([1, 2, 3]), np.float64)
    assert isinstance(logsumexp([True, False]), np.float64)
    # Empty slices give -inf, empty outer axes give empty results.
    np.testing.assert_array_equal(logsumexp(np.zeros((0, 3)), axis=0), [-INF, -INF, -INF])
    assert logsumexp(np.zeros((0, 3)), axis=1).shape == (0,)
    assert logsumexp(np.zeros((2, 0)), keepdims=True).shape == (1, 1)
    # A non-contiguous view is read, not copied into or changed.
    big = np.arange(12.0).reshape(3, 4)
    view = big[:, ::2]
    before = big.copy()
    np.testing.assert_allclose(logsumexp(view, axis=0), _scipy(view, axis=0), rtol=1e-15)
    np.testing.assert_array_equal(big, before)


def test_logsumexp_several_axes_group_the_right_elements():
    x = np.arange(120.0).reshape(2, 3, 4, 5) / 7.0  # distinct values: any regrouping shows
    for axis in [(0, 2), (1, 3), (0, 1, 3), (3, 0)]:
        for keepdims in (False, True):
            got = _quiet(logsumexp, x, axis=axis, keepdims=keepdims)
            np.testing.assert_allclose(got, _scipy(x, axis=axis, keepdims=keepdims), rtol=1e-15)


def test_logsumexp_bad_input():
    with pytest.raises(ValueError, match="^logsumexp: expected real values; got complex dtype"):
        logsumexp(np.array([1 + 1j]))
    with pytest.raises(ValueError, match="^logsumexp: expected real numbers; got dtype <U1"):
        logsumexp(np.array(["a"]))
    with pytest.raises(ValueError, match="repeated axis"):
        logsumexp(np.zeros((2, 2)), axis=(0, 0))
    with pytest.raises(np.exceptions.AxisError):
        logsumexp(np.zeros((2, 2)), axis=2)


# ------------------------------------------------------------------ logaddexp


@given(
    st.one_of(st.floats(), st.sampled_from([INF, -INF, NAN, 0.0, -0.0])),
    st.one_of(st.floats(), st.sampled_from([INF, -INF, NAN, 0.0, -0.0])),
)
@settings(max_examples=200, deadline=None)
def test_logaddexp_matches_numpy_and_mpmath(a, b):
    got = _quiet(logaddexp, a, b)
    assert isinstance(got, np.float64)
    with np.errstate(all="ignore"):
        ref = float(np.logaddexp(a, b))
    got = float(got)
    if not math.isfinite(ref):
        assert _same_special(got, ref)
        return
    exact = _mp_lse([a, b])
    # Well conditioned except through the rounding of the larger input: a few u relative.
    assert abs(got - exact) <= 2 * _u(np.float64) * abs(exact) + 1e-300 or abs(got - exact) <= (
        2 * _u(np.float64) * math.log(2.0)
    )
    assert abs(got - ref) <= 2 * math.ulp(ref) + 2 * _u(np.float64) * math.log(2.0)


@given(
    hnp.arrays(np.float32, st.integers(1, 30), elements=st.floats(width=32)),
    hnp.arrays(np.float32, st.integers(1, 30), elements=st.floats(width=32)),
)
@settings(max_examples=150, deadline=None)
def test_logaddexp_float32_broadcast(a, b):
    a2 = a[:, None]
    a_before, b_before = a.copy(), b.copy()
    got = _quiet(logaddexp, a2, b)
    assert got.dtype == np.float32 and got.shape == (a.size, b.size)
    with np.errstate(all="ignore"):
        ref = np.logaddexp(a2, b)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.array_equal(got[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)])
    with np.errstate(over="ignore"):  # the spacing above the largest float32 is inf
        spacing = np.spacing(np.abs(ref[finite])).astype(np.float64)
    diff = np.abs(got[finite].astype(np.float64) - ref[finite].astype(np.float64))
    assert np.all(diff <= 2 * spacing + 2 * _u(np.float32) * math.log(2.0))
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


def test_logaddexp_special_values_and_dtypes():
    v = np.array([-INF, INF, NAN, 0.0, 1e308, -1e308, -1000.0, 5.0, 1.7e308])
    a, b = np.meshgrid(v, v)
    got = _quiet(logaddexp, a, b)
    with np.errstate(all="ignore"):
        ref = np.logaddexp(a, b)
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(got[~finite], ref[~finite])
    np.testing.assert_allclose(got[finite], ref[finite], rtol=4 * _u(np.float64), atol=0)
    assert _quiet(logaddexp, -INF, -INF) == -INF
    assert _quiet(logaddexp, INF, INF) == INF
    assert _quiet(logaddexp, 0.0, 0.0) == math.log(2.0)
    assert _quiet(logaddexp, 1.7e308, -1.7e308) == 1.7e308
    assert isinstance(logaddexp(np.float32(1.0), 2.0), np.float32)
    assert isinstance(logaddexp(1, 2), np.float64)
    # Integers are computed in float64: int8 arithmetic would wrap -128 - 127 to 1.
    assert logaddexp(np.int8(-128), np.int8(127)) == 127.0
    assert logaddexp(True, False) == rel(math.log1p(math.e), 1e-15)
    assert logaddexp(np.ones(3, np.float32), np.float64(2.0)).dtype == np.float64
    assert logaddexp(np.ones(3, np.float16), np.ones(3, np.float16)).dtype == np.float16


def test_logaddexp_does_not_call_numpy_logaddexp(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("np.logaddexp was called")

    monkeypatch.setattr(np, "logaddexp", forbidden)
    assert logaddexp(1.0, 2.0) == rel(math.log(math.e + math.e**2), 1e-15)


def test_logaddexp_bad_input():
    with pytest.raises(ValueError, match="a must hold real numbers; got dtype complex128"):
        logaddexp(np.array([1j]), 1.0)
    with pytest.raises(ValueError, match="logaddexp: b must hold real numbers"):
        logaddexp(1.0, np.array([1j]))
    with pytest.raises(ValueError, match="broadcast"):
        logaddexp(np.ones(2), np.ones(3))


# ----------------------------------------------------------- online_logsumexp

chunk_lists = st.lists(
    hnp.arrays(np.float64, st.integers(0, 12), elements=_finite_or_mask()), max_size=8
)


@given(chunk_lists)
@settings(max_examples=150, deadline=None)
def test_online_logsumexp_equals_batch(chunks):
    before = [c.copy() for c in chunks]
    got = _quiet(online_logsumexp, iter(c for c in chunks))  # a one-shot generator
    assert type(got) is float
    whole = np.concatenate(chunks) if chunks else np.array([])
    exact = _mp_lse(whole)
    if math.isinf(exact):
        assert got == exact
    else:
        assert abs(got - exact) <= _tight_bound(whole, exact, np.float64)
        assert abs(got - float(logsumexp(whole))) <= 2 * _tight_bound(whole, exact, np.float64)
    for c, b in zip(chunks, before, strict=True):
        np.testing.assert_array_equal(c, b)


@given(
    st.lists(
        hnp.arrays(
            np.float64,
            st.integers(0, 6),
            elements=st.one_of(st.floats(-50, 50), st.sampled_from([-INF, INF, NAN])),
        ),
        max_size=6,
    )
)
@settings(max_examples=150, deadline=None)
def test_online_logsumexp_special_values(chunks):
    got = _quiet(online_logsumexp, (c for c in chunks))
    whole = np.concatenate(chunks) if chunks else np.array([])
    ref = float(_scipy(whole)) if whole.size else -INF
    if math.isfinite(ref):
        assert abs(got - ref) <= 2 * _bound(whole, np.float64)
    else:
        assert _same_special(got, ref)


def test_online_logsumexp_examples():
    assert _quiet(online_logsumexp, []) == -INF
    assert _quiet(online_logsumexp, [np.array([]), np.array([])]) == -INF
    assert _quiet(online_logsumexp, [np.array([-INF]), np.array([-INF, -INF])]) == -INF
    # The maximum grows over the stream: 1, then 1000, then 2000; rescaling never overflows.
    chunks = [np.array([1.0]), np.array([1000.0, 3.0]), np.array([]), np.array([2000.0, 0.0])]
    assert _quiet(online_logsumexp, iter(chunks)) == rel(
        2000.0 + math.log1p(math.exp(-1000.0)), 1e-16
    )
    tiny = mpmath.log1p(mpmath.exp(-40))
    assert_ulps(_quiet(online_logsumexp, [np.array([0.0]), np.array([-40.0])]), tiny, 1)
    assert_ulps(_quiet(online_logsumexp, [np.array([-40.0]), np.array([0.0])]), tiny, 1)
    # NaN anywhere wins, +inf otherwise wins, even after many chunks.
    assert math.isnan(_quiet(online_logsumexp, [np.array([INF]), np.array([NAN])]))
    assert _quiet(online_logsumexp, [np.array([INF]), np.array([1.0])]) == INF
    assert _quiet(online_logsumexp, [np.array([-1.7e308]), np.array([1.7e308])]) == 1.7e308
    # float32 and list chunks.
    got = online_logsumexp([np.array([1.0, 2.0], np.float32), [3.0]])
    assert type(got) is float
    assert got == rel(math.log(math.e + math.e**2 + math.e**3), 1e-15)


def test_online_logsumexp_consumes_generator_once():
    consumed = []

    def gen():
        for i in range(5):
            consumed.append(i)
            yield np.array([float(i)])

    g = gen()
    got = online_logsumexp(g)
    assert consumed == [0, 1, 2, 3, 4]
    assert got == rel(math.log(sum(math.exp(i) for i in range(5))), 1e-15)
    assert next(g, None) is None


def test_online_logsumexp_bad_chunk():
    with pytest.raises(ValueError, match=r"chunk 1 must be a 1-D array; got shape \(2, 2\)"):
        online_logsumexp([np.zeros(3), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="chunk 0 must be a 1-D array; got shape \\(\\)"):
        online_logsumexp([np.float64(1.0)])
    with pytest.raises(ValueError, match="online_logsumexp: expected real values; got complex"):
        online_logsumexp([np.array([1.0]), np.array([1j])])
    # Every chunk is read and checked, also after a NaN has decided the result.
    with pytest.raises(ValueError, match="chunk 2 must be a 1-D array"):
        online_logsumexp([np.array([NAN]), np.array([1.0]), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="chunk 2 must be a 1-D array"):
        online_logsumexp([np.array([INF]), np.array([1.0]), np.zeros((2, 2))])


def test_online_logsumexp_extremes_within_and_across_chunks():
    # x - max overflows to -inf inside one chunk and against the running maximum: no warning.
    assert _quiet(online_logsumexp, [np.array([-1.7e308, 1.7e308])]) == 1.7e308
    assert _quiet(online_logsumexp, [np.array([1.7e308]), np.array([-1.7e308])]) == 1.7e308
    # An all -inf chunk is skipped, not the end of the stream.
    assert _quiet(online_logsumexp, [np.array([-INF]), np.array([1.0])]) == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_reduction_path_equals_the_axis_path(dtype):
    # axis=None takes the flat path; one row reduced along axis 1 takes the general path
    rng = np.random.default_rng(4)
    for x in (
        rng.normal(0, 10, 10_007).astype(dtype),
        rng.normal(0, 10, (3, 5, 7)).astype(dtype),
        np.array([-INF, -INF], dtype),
        np.array([1.0, NAN, INF], dtype),
        np.array([INF, 2.0], dtype),
        np.array([7.5], dtype),
    ):
        full = _quiet(logsumexp, x)
        general = _quiet(logsumexp, x.reshape(1, -1), axis=1)[0]
        assert full.dtype == dtype
        assert _same_special(float(full), float(general))
        kept = _quiet(logsumexp, x, keepdims=True)
        assert kept.shape == (1,) * x.ndim and _same_special(float(kept.ravel()[0]), float(full))
