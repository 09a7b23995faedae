"""Checks for ex03_logsumexp: ``logsumexp``, ``logaddexp``, ``online_logsumexp``, q1, q2.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex03_logsumexp.toml``, read by :mod:`autograder.checks.declarations`; this module
builds the cases each group names.

Tolerances. log Σ exp(xᵢ) has relative condition number about max|xᵢ| / |result|, so the result
can be near 0 while the inputs are large; accuracy is judged in absolute terms,
|error| ≤ 16·u·(max|xᵢ| + log n + 1) with u the unit roundoff of the input's dtype. Any
backward-stable evaluation (the shifted formula with ``log`` or ``log1p``, SciPy, PyTorch, a
one-pass loop) meets it; an evaluation that overflows, underflows or cancels does not.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.checks.common import case, expect_close, label
from autograder.checks.declarations import declared_checks
from autograder.judge import oracle
from autograder.judge.compare import unit_roundoff
from autograder.judge.spec import Check


def lse_tolerance(x: np.ndarray, n_terms: int) -> float:
    """Absolute tolerance 16·u·(max|xᵢ| + log n + 1) over the finite entries of ``x``."""
    finite = np.abs(x[np.isfinite(x)])
    scale = float(finite.max()) if finite.size else 0.0
    return 16 * unit_roundoff(x.dtype) * (scale + math.log(max(n_terms, 1)) + 1)


def lse_case(x: np.ndarray, axis: int | None = None, keepdims: bool = False):
    """A case for ``logsumexp(x, axis, keepdims)`` judged against the mpmath oracle."""
    expected = oracle.logsumexp_axis(x, axis, keepdims)
    n_terms = x.size if axis is None else x.shape[axis]
    kwargs = {} if axis is None and not keepdims else {"axis": axis, "keepdims": keepdims}
    shown = label(x=x, **kwargs)
    verdict = expect_close(
        expected,
        dtype=x.dtype,
        atol=lse_tolerance(x, n_terms),
        note="16·u·(max|xᵢ| + log n + 1)",
    )
    return case(shown, [x], verdict, kwargs=kwargs)


def lse_basic():
    rng = np.random.default_rng(301)
    return [lse_case(rng.normal(0.0, 3.0, size=n)) for n in (1, 2, 5, 17, 100)]


def lse_large():
    rng = np.random.default_rng(302)
    return [
        lse_case(np.array([1000.0, 1001.0, 999.0])),
        lse_case(np.array([710.0, 0.0, -710.0])),
        lse_case(1e4 + rng.normal(0.0, 1.0, size=50)),
        lse_case(np.array([1e300, 1e300])),
        lse_case(np.array([-1000.0, -1001.0, -999.0])),
        lse_case(-800.0 + rng.normal(0.0, 2.0, size=30)),
        lse_case(np.array([-1e300, -1e300 * (1 - 2**-52)])),
        # Every exp(xᵢ) is subnormal: a naive sum keeps a few significant digits, no exception.
        lse_case(np.array([-740.0, -741.0])),
        lse_case(np.array([-720.0, -735.5, -744.0])),
    ]


def lse_axis():
    rng = np.random.default_rng(303)
    x = rng.normal(0.0, 50.0, size=(4, 6))
    return [
        lse_case(x, axis=0),
        lse_case(x, axis=1),
        lse_case(x, axis=-1, keepdims=True),
        lse_case(x, axis=0, keepdims=True),
        lse_case(x, axis=None, keepdims=True),
        # Rows on very different scales, square so that a maximum without keepdims broadcasts
        # silently along the wrong axis, and a single global maximum underflows the last rows.
        lse_case(
            np.array([[400.0, 401.0, 399.0], [-400.0, -401.0, -399.5], [1.0, 2.0, 3.0]]), axis=1
        ),
    ]


def lse_edges():
    inf, nan = np.inf, np.nan
    return [
        lse_case(np.array([0.0, -inf, 1.0])),
        lse_case(np.array([-inf, -inf])),
        lse_case(np.array([1.0, inf, 2.0])),
        lse_case(np.array([1.0, nan, 2.0])),
        lse_case(np.array([], dtype=np.float64)),
        lse_case(np.array([[0.0, -inf], [-inf, -inf]]), axis=1),
        lse_case(np.array([-inf, inf])),
    ]


def lse_float32():
    rng = np.random.default_rng(304)
    return [
        lse_case(rng.normal(0.0, 3.0, size=20).astype(np.float32)),
        lse_case(np.array([100.0, 101.0, 99.0], dtype=np.float32)),
        lse_case(np.array([-120.0, -121.0], dtype=np.float32)),
        # exp(xᵢ) subnormal in float32 (below 2⁻¹²⁶ ≈ e⁻⁸⁷·³): a naive sum loses digits silently.
        lse_case(np.array([-100.0, -101.0, -99.5], dtype=np.float32)),
        lse_case(rng.normal(0.0, 40.0, size=(3, 5)).astype(np.float32), axis=1),
    ]


def laddexp_case(a, b, shown: str | None = None):
    """``logaddexp(a, b)`` against the oracle; Python floats are passed as they are and, as in
    NumPy, take the other argument's floating dtype (float64 when both are Python floats)."""
    dtype = np.result_type(a, b)
    arrays = np.asarray(a), np.asarray(b)
    shape = np.broadcast_shapes(arrays[0].shape, arrays[1].shape)
    pairs = np.broadcast_arrays(arrays[0].astype(np.float64), arrays[1].astype(np.float64))
    expected = np.vectorize(oracle.logaddexp, otypes=[float])(*pairs).reshape(shape)
    scale = np.maximum(
        np.where(np.isfinite(pairs[0]), np.abs(pairs[0]), 0.0),
        np.where(np.isfinite(pairs[1]), np.abs(pairs[1]), 0.0),
    )
    atol = 16 * unit_roundoff(dtype) * (scale + 1.0)
    verdict = expect_close(expected, dtype=dtype, atol=atol, note="16·u·(max(|a|, |b|) + 1)")
    return case(shown or label(a=a, b=b), [a, b], verdict)


def laddexp_basic():
    rng = np.random.default_rng(311)
    return [
        laddexp_case(np.array(0.5), np.array(-1.25)),
        laddexp_case(rng.normal(0, 5, 8), rng.normal(0, 5, 8)),
        laddexp_case(np.array([-np.log(2.0)]), np.array([-np.log(2.0)])),
        laddexp_case(2.0, 3.0, "a = 2.0, b = 3.0 (Python floats)"),
    ]


def laddexp_large():
    return [
        laddexp_case(np.array([1000.0, -1000.0, 800.0]), np.array([1000.0, -1001.0, 0.0])),
        laddexp_case(np.array([1e300]), np.array([-1e300])),
        laddexp_case(np.array([-745.0, 709.0]), np.array([-746.0, 710.0])),
    ]


def laddexp_infinities():
    inf, nan = np.inf, np.nan
    a = np.array([-inf, inf, inf, -inf, 3.0, nan, 0.0])
    b = np.array([-inf, inf, -inf, 2.0, -inf, 1.0, nan])
    return [laddexp_case(a, b)]


def laddexp_broadcast():
    rng = np.random.default_rng(312)
    return [
        laddexp_case(rng.normal(0, 3, (3, 1)), rng.normal(0, 3, 4)),
        laddexp_case(rng.normal(0, 30, 5).astype(np.float32), np.float32(90.0)),
    ]


def online_case(chunks: list[np.ndarray]):
    joined = np.concatenate(chunks) if chunks else np.array([])
    expected = oracle.logsumexp(joined)
    atol = lse_tolerance(joined.astype(np.float64), joined.size)
    verdict = expect_close(expected, dtype=np.float64, atol=atol, note="16·u·(max|xᵢ| + log n + 1)")
    return case(label(chunks=chunks), [chunks], verdict, iterate=[0])


def online_basic():
    rng = np.random.default_rng(321)
    return [
        online_case([rng.normal(0, 2, 5) for _ in range(3)]),
        online_case([rng.normal(0, 2, 40)]),
        online_case([np.array([1.0]), np.array([2.0, 3.0]), np.array([0.5])]),
    ]


def online_large():
    rng = np.random.default_rng(322)
    return [
        online_case([np.array([1000.0]), np.array([1001.0, 999.0])]),
        online_case([rng.normal(0, 1, 10) + 10.0 * k**3 for k in range(1, 6)]),
        online_case([np.array([2000.0, 1.0]), np.array([-5.0, 1999.0])]),
        online_case([np.array([-1000.0, -1002.0]), np.array([-1001.0])]),
        online_case([np.array([-740.0]), np.array([-741.0, -739.5])]),
    ]


def online_edges():
    inf, nan = np.inf, np.nan
    return [
        online_case([]),
        online_case([np.array([]), np.array([])]),
        online_case([np.array([]), np.array([1.0, 2.0]), np.array([])]),
        online_case([np.array([-inf]), np.array([-inf, -inf])]),
        online_case([np.array([-inf]), np.array([3.0])]),
        online_case([np.array([1.0]), np.array([inf])]),
        online_case([np.array([nan]), np.array([1.0])]),
    ]


# The graded names, their groups, points, descriptions and hints are declared in
# ex03_logsumexp.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
