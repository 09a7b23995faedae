"""Tests for solutions.softmax (ex04_softmax)."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulps import assert_ulps, rel

from solutions.softmax import (
    bce_with_logits,
    cross_entropy,
    log_softmax,
    softmax,
    torch_cross_entropy,
)

mpmath.mp.dps = 60
INF = math.inf


def _quiet(func, *args, **kwargs):
    """Call ``func`` with every warning an error and every FP exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return func(*args, **kwargs)


def _u(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def _mp_log_softmax_row(row) -> list[mpmath.mpf]:
    """Exact log-softmax of a row of floats; -inf entries stay -inf.

    The differences x_i - m are formed in mpmath before anything else, so the oracle keeps
    its precision however large the logits are (log Σ exp(x_j) of 1e46-sized logits would
    leave only 60 - 46 digits after the decimal point).
    """
    m = mpmath.mpf(float(max(v for v in row if v != -INF)))
    shifted = [None if v == -INF else mpmath.mpf(float(v)) - m for v in row]
    # log Σ exp(d) as log1p of the terms other than one maximum's exact 1: the log of the whole
    # sum would round 1 + e^-111 to 60 digits and leave the dominant class's -6.2e-49 with
    # an error larger than the bound the tests allow the function under test.
    others = [d for d in shifted if d is not None]
    others.remove(0)
    lse = mpmath.log1p(mpmath.fsum(mpmath.exp(d) for d in others))
    return [mpmath.mpf(-INF) if d is None else d - lse for d in shifted]


def _logits(dtype, max_abs: float, masks: bool = False):
    width = 64 if dtype == np.float64 else 32
    values = st.one_of(
        st.floats(-30, 30, width=width),
        st.floats(-max_abs, max_abs, width=width),
    )
    return st.one_of(values, st.just(-INF)) if masks else values


def _rows(dtype, max_abs: float, masks: bool = False):
    """2-D logits with at least one finite entry per row."""
    shape = st.tuples(st.integers(1, 4), st.integers(1, 10))
    arrays = hnp.arrays(dtype, shape, elements=_logits(dtype, max_abs, masks))
    return arrays.filter(lambda a: bool(np.all(np.any(np.isfinite(a), axis=1))))


# -------------------------------------------------------------------- softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_softmax_against_mpmath(dtype, data):
    x = data.draw(_rows(dtype, 1e4 if dtype == np.float32 else 1e300, masks=True))
    before = x.copy()
    p = _quiet(softmax, x)
    assert p.dtype == dtype and p.shape == x.shape
    u = _u(dtype)
    tiny = float(np.finfo(dtype).smallest_normal)
    for row, prow in zip(x, p, strict=True):
        exact = [mpmath.exp(v) for v in _mp_log_softmax_row(row)]
        m = float(np.max(row))
        for xi, pi, ei in zip(row, prow, exact, strict=True):
            if xi == -INF:
                assert pi == 0.0
                continue
            # exp(x_i - m) inherits the rounding of x_i - m (relative u·|x_i - m|); the
            # sum and the division add a few u.
            scale = 4 + abs(float(xi) - m) + len(row)
            assert abs(float(pi) - float(ei)) <= 2 * u * scale * max(float(ei), tiny)
    np.testing.assert_array_equal(x, before)


def test_softmax_examples_and_edges():
    p = _quiet(softmax, np.array([1000.0, 0.0, -np.inf]))
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
    p = _quiet(softmax, np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=4 * _u(np.float64))
    np.testing.assert_array_equal(p[1], [1 / 3, 1 / 3, 1 / 3])
    # Column-wise and over everything.
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(softmax(x, axis=0).sum(axis=0), [1.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(softmax(x, axis=None).sum(), 1.0, rtol=1e-15)
    # float32 stays float32; integers go to float64; empty stays empty.
    assert softmax(np.zeros(3, np.float32)).dtype == np.float32
    assert softmax([1, 2]).dtype == np.float64
    assert softmax(np.zeros((2, 0))).shape == (2, 0)
    # Opposite-sign extremes do not warn.
    np.testing.assert_array_equal(_quiet(softmax, np.array([-1.7e308, 1.7e308])), [0.0, 1.0])
    # Undefined rows are NaN (documented, not graded).
    assert np.all(np.isnan(_quiet(softmax, np.array([-np.inf, -np.inf]))))
    assert np.all(np.isnan(_quiet(softmax, np.array([np.inf, 0.0]))))


@pytest.mark.parametrize("func", [softmax, log_softmax])
def test_axis_none_normalises_over_all_elements_and_keeps_the_shape(func):
    x = np.array([[[0.0, 1.0], [2.0, -3.0]], [[0.5, -np.inf], [4.0, 1.5]]])
    got = _quiet(func, x, axis=None)
    assert got.shape == x.shape and got.dtype == x.dtype
    exact = _mp_log_softmax_row(x.ravel())
    if func is softmax:
        exact = [mpmath.exp(v) for v in exact]
    for g, e in zip(got.ravel(), exact, strict=True):
        assert_ulps(g, e, 4)
    # A 0-d logit is the one element of its distribution.
    assert _quiet(func, np.float32(7.0), axis=None) == (1.0 if func is softmax else 0.0)


def test_extremes_of_opposite_sign_never_warn():
    # x - max overflows to -inf for the smaller logit: its probability is exactly 0.
    x = np.array([-1.7e308, 1.7e308])
    np.testing.assert_array_equal(_quiet(log_softmax, x), [-INF, 0.0])
    assert _quiet(cross_entropy, x[None, :], np.array([1])) == 0.0
    assert _quiet(cross_entropy, x[None, :], np.array([0])) == INF


# ---------------------------------------------------------------- log_softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=120, deadline=None)
def test_log_softmax_against_mpmath(dtype, data):
    x = data.draw(_rows(dtype, 1e4 if dtype == np.float32 else 1e300, masks=True))
    before = x.copy()
    got = _quiet(log_softmax, x)
    assert got.dtype == dtype and got.shape == x.shape
    u = _u(dtype)
    tiny = float(np.finfo(dtype).smallest_subnormal)
    for row, grow in zip(x, got, strict=True):
        exact = _mp_log_softmax_row(row)
        finite = row[np.isfinite(row)]
        m = float(finite.max())
        # log1p(Σ' exp(x_j - m)) exactly; its computed value carries the relative errors of
        # the shifted logits (u·spread), of exp and of the sum. A bound proportional to it,
        # not to |m| + log n, is what tells log1p from log(1 + ·) when it is tiny.
        lp = -float(exact[int(np.argmax(row))])
        spread = min(m - float(finite.min()), 800.0)
        for xi, gi, ei in zip(row, grow, exact, strict=True):
            if xi == -INF:
                assert gi == -INF
                continue
            tail = (2 + math.log2(len(row)) + spread) * lp
            bound = 8 * u * (abs(float(xi) - m) + abs(float(ei)) + tail) + 2 * len(row) * tiny
            assert abs(float(gi) - float(ei)) <= bound
        assert np.all(np.isfinite(grow[np.isfinite(row)]))
    np.testing.assert_array_equal(x, before)


def test_log_softmax_of_a_dominant_class_against_the_reference():
    # The property test's reference must itself be exact where log_softmax is: Hypothesis
    # found [0, 111], whose top log-probability -6.2e-49 the reference once got 12 digits wrong.
    row = np.array([0.0, 111.0])
    with mpmath.workdps(200):
        top = -mpmath.log1p(mpmath.exp(-111))
    exact = _mp_log_softmax_row(row)
    assert abs(exact[1] - top) <= abs(top) * mpmath.mpf(10) ** -55
    got = _quiet(log_softmax, row[None, :])
    assert got[0, 1] == float(top) and got[0, 0] == float(-111 + top)


def test_log_softmax_examples():
    got = _quiet(log_softmax, np.array([0.0, -1000.0]))
    np.testing.assert_array_equal(got, [0.0, -1000.0])
    # The dominant class keeps its tiny log-probability: -log1p(e^-40).
    got = _quiet(log_softmax, np.array([0.0, -40.0]))
    assert_ulps(got[0], -mpmath.log1p(mpmath.exp(-40)), 1)
    got = _quiet(log_softmax, np.array([[-40.0], [0.0]]), axis=0)
    assert_ulps(got[1, 0], -mpmath.log1p(mpmath.exp(-40)), 1)
    got32 = _quiet(log_softmax, np.array([[0.0, -np.inf, 1.0]], dtype=np.float32))
    assert got32.dtype == np.float32 and got32[0, 1] == -np.inf
    np.testing.assert_allclose(got32[0, [0, 2]], [-1.3132616, -0.31326166], rtol=1e-6)
    np.testing.assert_allclose(
        log_softmax(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0),
        np.log(softmax(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)),
        rtol=0,
        atol=8 * _u(np.float64),
    )
    assert log_softmax(np.zeros((0, 3))).shape == (0, 3)
    assert np.all(np.isnan(_quiet(log_softmax, np.array([-np.inf, -np.inf]))))


def test_log_softmax_matches_torch():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 9)) * 1e3
    ref = F.log_softmax(torch.from_numpy(x), dim=1).numpy()
    got = log_softmax(x, axis=1)
    np.testing.assert_allclose(got, ref, rtol=0, atol=8 * _u(np.float64) * np.abs(x).max())


# -------------------------------------------------------------- cross_entropy


def _mp_cross_entropy(x: np.ndarray, t: np.ndarray) -> float:
    total = mpmath.fsum(-_mp_log_softmax_row(row)[k] for row, k in zip(x, t, strict=True))
    return float(total / len(t))


@given(data=st.data())
@settings(max_examples=120, deadline=None)
def test_cross_entropy_against_mpmath_and_torch(data):
    x = data.draw(_rows(np.float64, 1e4))
    n, c = x.shape
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    xb, tb = x.copy(), t.copy()
    got = _quiet(cross_entropy, x, t)
    assert type(got) is float and math.isfinite(got)
    # Every row's loss is (m - x_t) + log1p(rest), two non-negative terms, so the error is
    # relative to the exact loss: the shifted logits (u·spread), exp, the sums and the mean.
    exact = _mp_cross_entropy(x, t)
    spread = min(float(np.max(x.max(axis=1) - x.min(axis=1))), 800.0)
    tight = 4 * _u(np.float64) * (3 + math.log2(c) + spread + n) * exact
    assert abs(got - exact) <= tight + 4 * n * c * float(np.finfo(np.float64).smallest_subnormal)
    # PyTorch's log(Σ exp) is only accurate to u·max|x| absolutely.
    bound = 4 * _u(np.float64) * (2 * float(np.abs(x).max()) + math.log(c) + 1)
    ref = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).item()
    assert abs(got - ref) <= 2 * bound
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(t, tb)


def test_cross_entropy_examples():
    x = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]])
    t = np.array([1, 2])
    got = _quiet(cross_entropy, x, t)
    assert got == rel((2e4 + math.log(3.0)) / 2, 1e-15)
    # float32 and int32 inputs; the loss is computed in float64.
    x32 = np.array([[2.0, 1.0]], dtype=np.float32)
    got = _quiet(cross_entropy, x32, np.array([0], dtype=np.int32))
    assert got == rel(math.log1p(math.exp(-1.0)), 1e-15)
    # A target masked with -inf costs +inf.
    assert _quiet(cross_entropy, np.array([[0.0, -np.inf]]), np.array([1])) == INF
    # Confident and right: tiny loss with full relative accuracy.
    got = _quiet(cross_entropy, np.array([[0.0, -50.0]]), np.array([0]))
    assert_ulps(got, mpmath.log1p(mpmath.exp(-50)), 1)


@pytest.mark.parametrize(
    ("logits", "targets", "match"),
    [
        (np.zeros(3), np.array([0]), r"shape \(N, C\); got shape \(3,\)"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "empty batch"),
        (
            np.zeros((2, 3)),
            np.array([0.0, 1.0]),
            "integer array of class indices; got dtype float64",
        ),
        (np.zeros((2, 3)), np.array([True, False]), "got dtype bool"),
        (np.zeros((2, 3)), np.array([[0, 1]]), r"targets must be 1-D; got shape \(1, 2\)"),
        (
            np.zeros((2, 3)),
            np.array([0, 1, 2]),
            "N = 2 rows but targets have 3 entries; pass one target per row",
        ),
        (np.zeros((2, 5)), np.array([0, 7]), r"\[0, C\) = \[0, 5\); got 7 at index 1"),
        (np.zeros((2, 5)), np.array([0, 5]), r"\[0, C\) = \[0, 5\); got 5 at index 1"),
        (np.zeros((2, 5)), np.array([-1, 0]), r"got -1 at index 0"),
        (
            np.zeros((2, 3), dtype=complex),
            np.array([0, 1]),
            "logits must hold real numbers; got dtype complex128",
        ),
    ],
)
def test_cross_entropy_bad_input(logits, targets, match):
    # Every message starts with the function's name, then says what was wrong.
    with pytest.raises(ValueError, match="^cross_entropy: .*" + match):
        cross_entropy(logits, targets)


def test_cross_entropy_of_an_all_masked_row_is_nan_without_a_warning():
    got = _quiet(cross_entropy, np.array([[-INF, -INF], [0.0, 1.0]]), np.array([0, 1]))
    assert math.isnan(got)


@pytest.mark.parametrize(
    ("func", "args", "message"),
    [
        (softmax, [np.array([1j])], "softmax: x must hold real numbers; got dtype complex128"),
        (log_softmax, [np.array(["a"])], "log_softmax: x must hold real numbers; got dtype <U1"),
        (
            bce_with_logits,
            [np.zeros(2, complex), np.zeros(2)],
            "bce_with_logits: logits must hold real numbers; got dtype complex128",
        ),
        (
            bce_with_logits,
            [np.zeros(2), np.array([None, 0.5])],
            "bce_with_logits: targets must hold real numbers; got dtype object",
        ),
    ],
)
def test_non_real_input_is_refused_naming_the_function_and_argument(func, args, message):
    with pytest.raises(ValueError) as error:
        func(*args)
    assert str(error.value) == message


# ------------------------------------------------------------ bce_with_logits


def _mp_bce(x: np.ndarray, y: np.ndarray) -> float:
    terms = [
        mpmath.log1p(mpmath.exp(mpmath.mpf(float(xi)))) - mpmath.mpf(float(xi)) * float(yi)
        for xi, yi in zip(x.ravel(), y.ravel(), strict=True)
    ]
    return float(mpmath.fsum(terms) / len(terms))


@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=_logits(np.float64, 1e4)),
            hnp.arrays(
                np.float64, n, elements=st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0]))
            ),
        )
    )
)
@settings(max_examples=120, deadline=None)
def test_bce_with_logits_against_mpmath_and_torch(xy):
    x, y = xy
    xb, yb = x.copy(), y.copy()
    got = _quiet(bce_with_logits, x, y)
    assert type(got) is float and math.isfinite(got)
    exact = _mp_bce(x, y)
    u = _u(np.float64)
    # Non-negative terms, each with a relative error of a few u.
    assert abs(got - exact) <= (8 + len(x)) * u * exact + 1e-300
    ref = F.binary_cross_entropy_with_logits(torch.from_numpy(x), torch.from_numpy(y)).item()
    # PyTorch computes (1 - y)·x + max(-x, 0), which cancels: absolute error ~ u·max|x|.
    assert abs(got - ref) <= 8 * u * (float(np.abs(x).max()) + 1) + (8 + len(x)) * u * exact
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(y, yb)


def test_bce_with_logits_examples():
    x = np.array([1e4, -1e4, 0.0])
    y = np.array([1.0, 0.0, 1.0])
    assert _quiet(bce_with_logits, x, y) == rel(math.log(2.0) / 3, 1e-15)
    # Confident and wrong: the loss is |x| per element, finite.
    assert _quiet(bce_with_logits, np.array([1e4, -1e4]), np.array([0.0, 1.0])) == 1e4
    # Soft labels near 1 with a large logit: no cancellation in (1 - y)·x.
    got = _quiet(bce_with_logits, np.array([1e4]), np.array([1.0 - 2.0**-40]))
    assert got == rel(1e4 * 2.0**-40, 1e-14)
    # Infinite logits on the agreeing side cost 0; 2-D and float32 inputs work.
    assert _quiet(bce_with_logits, np.array([np.inf, -np.inf]), np.array([1.0, 0.0])) == 0.0
    assert _quiet(bce_with_logits, np.array([np.inf]), np.array([0.0])) == INF
    x32 = np.zeros((2, 2), dtype=np.float32)
    assert _quiet(bce_with_logits, x32, np.ones((2, 2), np.float32)) == rel(math.log(2.0), 1e-15)
    # Confident and right: the loss is log1p(e^-|x|), far below 1; log(1 + e^-40) gives 0.
    got = _quiet(bce_with_logits, np.array([40.0, -40.0]), np.array([1.0, 0.0]))
    assert got == rel(math.log1p(math.exp(-40.0)), 1e-15)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros(3), np.zeros(2), r"same shape; got \(3,\) and \(2,\)"),
        (np.zeros((2, 1)), np.zeros(2), "same shape"),
        (np.zeros(0), np.zeros(0), "empty"),
        (
            np.zeros(2),
            np.array([0.5, 1.5]),
            r"targets must lie in \[0, 1\]; got 1.5 at flat index 1",
        ),
        (np.zeros(2), np.array([np.nan, 0.5]), "got nan at flat index 0"),
        (np.zeros(2), np.array([-0.1, 0.5]), "got -0.1"),
        (np.zeros((2, 2)), np.array([[0.5, 0.2], [1.5, 0.0]]), "got 1.5 at flat index 2"),
    ],
)
def test_bce_with_logits_bad_input(x, y, match):
    with pytest.raises(ValueError, match="^bce_with_logits: .*" + match):
        bce_with_logits(x, y)


# -------------------------------------------------------- torch_cross_entropy


def _value_and_grad(loss_fn, x: np.ndarray, t: np.ndarray, dtype: torch.dtype):
    logits = torch.tensor(x, dtype=dtype, requires_grad=True)
    loss = loss_fn(logits, torch.from_numpy(t))
    loss.backward()
    return loss, logits.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_torch_cross_entropy_matches_functional(dtype, data):
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    x = data.draw(_rows(np_dtype, 1e4))
    n, c = x.shape
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    xb = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = _value_and_grad(torch_cross_entropy, x, t, dtype)
    ref, ref_grad = _value_and_grad(F.cross_entropy, x, t, dtype)
    assert loss.dtype == dtype and loss.shape == ()
    assert torch.isfinite(loss) and bool(torch.all(torch.isfinite(grad)))
    u = _u(np_dtype)
    scale = 2 * float(np.abs(x).max()) + math.log(c) + 1
    assert abs(loss.item() - ref.item()) <= 8 * u * scale
    assert abs(loss.item() - _mp_cross_entropy(x.astype(np.float64), t)) <= 8 * u * scale
    # Gradient (softmax - onehot)/N: both compute exp(x - m) the same way; they differ by
    # a few u relative in each probability and a few u absolute at the maximum.
    gap = np.abs(x - x.max(axis=1, keepdims=True))
    p = torch.softmax(torch.from_numpy(x.astype(np.float64)), dim=1).numpy()
    tol = 8 * u * ((1 + gap) * p + 1) / n
    assert np.all(np.abs(grad.numpy() - ref_grad.numpy()) <= tol)
    np.testing.assert_array_equal(x, xb)


def test_torch_cross_entropy_extreme_logits_where_naive_fails():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=np.float32)
    t = np.array([1, 2])

    def naive(logits, targets):
        probs = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
        return -torch.log(probs.gather(1, targets.unsqueeze(1))).mean()

    bad_loss, bad_grad = _value_and_grad(naive, x, t, torch.float32)
    assert not torch.isfinite(bad_loss) or not bool(torch.all(torch.isfinite(bad_grad)))
    loss, grad = _value_and_grad(torch_cross_entropy, x, t, torch.float32)
    ref, ref_grad = _value_and_grad(F.cross_entropy, x, t, torch.float32)
    assert loss.dtype == torch.float32
    assert loss.item() == rel((2e4 + (1e4 - 5.0)) / 2, 1e-6)
    assert loss.item() == rel(ref.item(), 1e-7)
    assert bool(torch.all(torch.isfinite(grad)))
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-7)


def test_torch_cross_entropy_is_not_the_library_call(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("library cross-entropy/log-softmax/logsumexp was called")

    monkeypatch.setattr(F, "cross_entropy", forbidden)
    monkeypatch.setattr(F, "log_softmax", forbidden)
    monkeypatch.setattr(torch, "logsumexp", forbidden)
    monkeypatch.setattr(torch, "log_softmax", forbidden)
    loss = torch_cross_entropy(torch.tensor([[0.0, 0.0]]), torch.tensor([0]))
    assert loss.item() == rel(math.log(2.0), 1e-7)


def test_torch_cross_entropy_ties_and_masks():
    # Tied maxima: the gradient is split evenly, as softmax says.
    x = np.array([[3.0, 3.0, -np.inf]])
    loss, grad = _value_and_grad(torch_cross_entropy, x, np.array([0]), torch.float64)
    assert loss.item() == rel(math.log(2.0), 1e-15)
    np.testing.assert_allclose(grad.numpy(), [[-0.5, 0.5, 0.0]], atol=1e-16)
    # NumPy inputs are accepted and the dtype follows the logits.
    out = torch_cross_entropy(np.array([[1.0, 2.0]], dtype=np.float32), np.array([1]))
    assert out.dtype == torch.float32
    # Targets of any integer dtype (gather itself wants int64).
    for dtype in (torch.int32, torch.uint8):
        targets = torch.tensor([2, 0], dtype=dtype)
        out = torch_cross_entropy(torch.zeros(2, 3, dtype=torch.float64), targets)
        assert out.item() == rel(math.log(3.0), 1e-15)


def test_torch_cross_entropy_moves_the_targets_to_the_logits_device(monkeypatch):
    # Without a GPU, the meta device (shapes, no values) stands in for a second device.
    gather, devices = torch.Tensor.gather, []

    def spy(self, dim, index, *args, **kwargs):
        devices.append((self.device.type, index.device.type))
        return gather(self, dim, index, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "gather", spy)
    loss = torch_cross_entropy(torch.zeros(2, 3, device="meta"), torch.tensor([0, 2]))
    assert loss.device.type == "meta" and loss.shape == ()
    assert devices and set(devices) == {("meta", "meta")}


@pytest.mark.parametrize(
    ("logits", "targets", "match"),
    [
        (torch.zeros(3), torch.tensor([0]), r"shape \(N, C\); got shape \(3,\)"),
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), "empty batch"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), "integer tensor of class indices"),
        (torch.zeros(2, 3), torch.tensor([True, False]), "integer tensor"),
        (torch.zeros(2, 3), torch.tensor([[0, 1]]), r"targets must be 1-D; got shape \(1, 2\)"),
        (torch.zeros(2, 3), torch.tensor([0, 1, 2]), "N = 2 rows but targets have 3"),
        (torch.zeros(2, 5), torch.tensor([0, 7]), r"\[0, C\) = \[0, 5\); got 7 at index 1"),
        (torch.zeros(2, 5), torch.tensor([5, 0]), r"\[0, C\) = \[0, 5\); got 5 at index 0"),
        (torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1]), "floating-point tensor"),
    ],
)
def test_torch_cross_entropy_bad_input(logits, targets, match):
    with pytest.raises(ValueError, match="^torch_cross_entropy: .*" + match):
        torch_cross_entropy(logits, targets)
