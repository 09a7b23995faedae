"""Checks for ex03_logsumexp: ``logsumexp``, ``logaddexp``, ``online_logsumexp``, q1, q2.

Tolerances. log Σ exp(xᵢ) has relative condition number about max|xᵢ| / |result|, so the result
can be near 0 while the inputs are large; accuracy is judged in absolute terms,
|error| ≤ 16·u·(max|xᵢ| + log n + 1) with u the unit roundoff of the input's dtype. Any
backward-stable evaluation (the shifted formula with ``log`` or ``log1p``, SciPy, PyTorch, a
one-pass loop) meets it; an evaluation that overflows, underflows or cancels does not.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.checks.common import (
    case,
    checks_dict,
    expect_close,
    label,
    multiple_choice,
    on,
)
from autograder.judge import oracle
from autograder.judge.compare import (
    ACCURACY,
    EXCEPTION,
    INF,
    MISSING_NAN,
    NAN,
    OVERFLOW,
    SHAPE,
    UNDERFLOW,
    WRONG,
    unit_roundoff,
)
from autograder.judge.spec import Check, Group

ASSIGNMENT = "ex03_logsumexp"
SHIFT = "ch03-shift-identity"
EDGES = "ch03-edge-cases"
ONLINE = "ch03-online"


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


_OVERFLOW_HINT = (
    "exponentiating large entries directly overflows to inf, and exponentiating very negative "
    "ones underflows to 0 so log(0) = -inf; subtract the maximum before exponentiating "
    "(log Σ eˣⁱ = m + log Σ eˣⁱ⁻ᵐ with m = max xᵢ)."
)

_SUBNORMAL_HINT = (
    "exp of an entry below about -708 (float64) or -87 (float32) is subnormal and keeps only a "
    "few significant digits, so the sum loses accuracy without any overflow or exception; always "
    "subtract the maximum before exponentiating, not only when the plain formula fails."
)

CHECKS: dict[str, Check] = checks_dict(
    Check(
        ASSIGNMENT,
        "logsumexp",
        (
            Group(
                name="basic",
                points=2,
                description="ordinary float64 vectors, all elements",
                make_cases=lse_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint="the formula log Σ exp(xᵢ) is not computed correctly for ordinary inputs.",
                ),
                section=SHIFT,
            ),
            Group(
                name="large",
                points=3,
                description="entries of large magnitude, overflow trapped",
                make_cases=lse_large,
                hints=on(OVERFLOW, INF, UNDERFLOW, hint=_OVERFLOW_HINT)
                | on(ACCURACY, hint=_SUBNORMAL_HINT),
                section=SHIFT,
                trap_overflow=True,
            ),
            Group(
                name="axis",
                points=1,
                description="2-D input reduced along an axis, with keepdims",
                make_cases=lse_axis,
                hints=on(
                    SHAPE,
                    WRONG,
                    hint=(
                        "reduce along the given axis (take the maximum along that axis, "
                        "keepdims=True so it broadcasts) and return the shape NumPy's reductions "
                        "return."
                    ),
                ),
                section=EDGES,
            ),
            Group(
                name="edge",
                points=2,
                description="-inf entries, all -inf, +inf, NaN and empty input",
                make_cases=lse_edges,
                hints=on(
                    NAN,
                    MISSING_NAN,
                    WRONG,
                    hint=(
                        "with m = max xᵢ infinite, xᵢ - m gives nan (-inf - -inf or inf - inf); "
                        "treat a row whose maximum is ±inf separately (all -inf → -inf; +inf → inf;"
                        " empty → -inf) and let NaN propagate."
                    ),
                ),
                section=EDGES,
            ),
            Group(
                name="float32",
                points=2,
                description="float32 inputs give float32 results",
                make_cases=lse_float32,
                hints=on(
                    OVERFLOW,
                    INF,
                    hint=(
                        "float32 overflows in exp already at about 88.7; shift by the maximum and "
                        "keep the input's dtype (no float64 constants or np.float64 scalars leaking"
                        " in)."
                    ),
                )
                | on(ACCURACY, hint=_SUBNORMAL_HINT),
                section=SHIFT,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "logaddexp",
        (
            Group(
                name="basic",
                points=2,
                description="ordinary pairs",
                make_cases=laddexp_basic,
                hints=on(WRONG, ACCURACY, hint="log(eᵃ + eᵇ) = max(a, b) + log1p(exp(-|a - b|))."),
                section=SHIFT,
            ),
            Group(
                name="large",
                points=2,
                description="arguments of large magnitude, overflow trapped",
                make_cases=laddexp_large,
                hints=on(OVERFLOW, INF, hint=_OVERFLOW_HINT),
                section=SHIFT,
                trap_overflow=True,
            ),
            Group(
                name="infinities",
                points=1,
                description="infinite and NaN arguments, as np.logaddexp",
                make_cases=laddexp_infinities,
                hints=on(
                    NAN,
                    MISSING_NAN,
                    WRONG,
                    hint="when a == b == ±inf, a - b is nan: return a itself there "
                    "(log(0 + 0) = -inf, log(inf + inf) = inf); NaN propagates.",
                ),
                section=EDGES,
            ),
            Group(
                name="broadcast",
                points=1,
                description="broadcasting shapes and float32",
                make_cases=laddexp_broadcast,
                hints=on(
                    SHAPE,
                    EXCEPTION,
                    hint=(
                        "use NumPy elementwise operations so that a and b broadcast, and keep "
                        "float32."
                    ),
                ),
                section=EDGES,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "online_logsumexp",
        (
            Group(
                name="basic",
                points=2,
                description="a few chunks of ordinary values, given as a one-shot iterator",
                make_cases=online_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "keep a running maximum m and a running sum s of exp(x - m) over one pass; "
                        "the iterable may be a generator, so do not iterate it twice."
                    ),
                ),
                section=ONLINE,
            ),
            Group(
                name="large",
                points=3,
                description="growing maxima and large magnitudes, overflow trapped",
                make_cases=online_large,
                hints=on(
                    OVERFLOW,
                    INF,
                    ACCURACY,
                    hint="when a chunk raises the maximum from m to m', rescale the running sum by "
                    "exp(m - m') before adding exp(x - m') of the new chunk; exponentiate only "
                    "shifted values (exp of an entry below about -708 is subnormal and inexact); "
                    "and read the chunks in one pass, since they may come from a generator.",
                ),
                section=ONLINE,
                trap_overflow=True,
            ),
            Group(
                name="edge",
                points=2,
                description="no chunks, empty chunks, -inf, +inf and NaN",
                make_cases=online_edges,
                hints=on(
                    NAN,
                    MISSING_NAN,
                    WRONG,
                    hint=(
                        "start from m = -inf and s = 0; skip empty chunks; handle a maximum of ±inf"
                        " without computing -inf - (-inf); the result for no values is -inf."
                    ),
                )
                | on(
                    ACCURACY,
                    hint="read the chunks in one pass (they may come from a generator, which a "
                    "second pass finds empty) and skip empty chunks without changing m or s.",
                ),
                section=EDGES,
            ),
        ),
    ),
    multiple_choice(ASSIGNMENT, "q1", "c", "abcd", SHIFT),
    multiple_choice(ASSIGNMENT, "q2", "b", "abcd", ONLINE),
)
