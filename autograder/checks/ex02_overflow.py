"""Checks for ex02_overflow: ``log_product``, ``stable_sigmoid``, ``softplus``, ``clipped_bce``.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex02_overflow.toml``, read by :mod:`autograder.checks.declarations`; this module
builds the cases each group names.

Tolerances, all against 60-digit mpmath oracles (:mod:`autograder.judge.oracle`):

* ``log_product``: Σ log pᵢ has terms of one sign, so it is well conditioned; each log carries a
  relative error of about u and the summation at most (n - 1)·u relative. A product of a few
  ordinary probabilities followed by one log is equally accurate (its relative error n·u becomes
  an absolute error n·u in the log). Tolerance: |error| ≤ 4·u·(n + 2)·(1 + |result|).
* ``stable_sigmoid`` and ``softplus``: the inputs are exact, so the only errors are those of
  ``exp``, ``log1p`` and two or three rounded operations: 8 ULPs of the input's dtype wherever the
  true result is a normal number. For ``stable_sigmoid`` the bound also follows the conditioning:
  σ's relative condition number is κ(x) = |x|·(1 - σ(x)) (about |x| for x ≪ 0), so a
  backward-stable evaluation such as exp(-softplus(-x)), whose intermediate softplus carries a
  relative error u that exp turns into κ·u, is judged within 8 + 2·κ(x) ULPs; unstable forms
  (1 - σ(-x) for x ≪ 0, a float16 or float32 intermediate) are off by far more. Where the
  result is subnormal (x < -708.4 in float64, x < -87.3 in float32) the contract asks for no
  relative accuracy: anything between 0 and the smallest normal number passes, so graceful
  underflow and a flush to 0 (as PyTorch does) are both accepted. The contract promises relative
  accuracy for large positive x too: x + e⁻ˣ differs from x by more than 8 ULPs for 20 < x < 31 in
  float64 (and is not x to the last bit up to 33.3), so PyTorch's threshold (softplus returns x
  itself above x = 20) fails the ``positive`` group on purpose. Python floats go in as float64.
* ``clipped_bce``: every term -log q or -log(1 - q) is O(1) to 16 and is computed with an
  absolute error of a few u (log(1 - q) and log1p(-q) are both fine after clipping); the mean
  adds n·u relative. Tolerance: |error| ≤ 8·u·(n + 4)·(1 + |result|), absolute, so that the tiny
  loss of a confident right answer (≈ 1e-7) may carry the absolute error of log(1 - q).

The numerically hard groups of ``stable_sigmoid`` and ``softplus`` run with overflow trapped
(``np.errstate(over="raise")``): ``np.where(x >= 0, 1/(1 + exp(-x)), exp(x)/(1 + exp(x)))``
evaluates both branches and overflows even though it returns the right numbers.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.common import case, expect_close, expect_raises, label
from autograder.checks.declarations import declared_checks
from autograder.judge import oracle
from autograder.judge.compare import unit_roundoff
from autograder.judge.spec import Check

ELEMENT_ULPS = 8


# ---------------------------------------------------------------- log_product


def product_case(probs: np.ndarray, shown: str | None = None):
    probs = np.asarray(probs, dtype=np.float64)
    expected = oracle.log_product(probs.ravel().tolist())
    atol = 4 * unit_roundoff(np.float64) * (probs.size + 2) * (1 + abs(expected))
    if not np.isfinite(expected):
        atol = 0.0
    verdict = expect_close(expected, dtype=np.float64, atol=atol, note="4·u·(n + 2)·(1 + |result|)")
    return case(shown or label(probs=probs), [probs], verdict)


def product_basic():
    rng = np.random.default_rng(211)
    return [
        product_case(np.array([0.5, 0.25, 0.125])),
        product_case(np.array([0.9])),
        product_case(rng.uniform(0.05, 1.0, size=10)),
        product_case(rng.uniform(0.5, 1.0, size=(3, 4))),
        product_case(np.array([1.0, 1.0, 1.0])),
    ]


def product_underflow():
    rng = np.random.default_rng(212)
    many = rng.uniform(1e-6, 1e-4, size=10_000)
    return [
        product_case(np.full(200, 0.01), "probs = [0.01] * 200 (product 1e-400)"),
        product_case(many, "probs = 10 000 values uniform in (1e-6, 1e-4)"),
        product_case(np.array([1e-200, 1e-200, 0.5])),
        product_case(np.array([5e-324, 0.9])),
        product_case(rng.uniform(1e-3, 1e-2, size=400), "probs = 400 values in (0.001, 0.01)"),
    ]


def product_zero():
    return [
        product_case(np.array([0.5, 0.0, 0.3])),
        product_case(np.array([0.0])),
        product_case(np.concatenate([np.full(300, 1e-3), [0.0]]), "probs = [1e-3] * 300 + [0.0]"),
    ]


def product_bad():
    raises = expect_raises("ValueError")
    inputs = (
        np.array([0.5, 1.5]),
        np.array([-0.1, 0.5]),
        np.array([0.2, np.nan, 0.3]),
        np.array([1.0 + 2**-52]),
        np.array([0.5, -0.0, -1e-300]),
    )
    return [case(label(probs=p), [p], raises) for p in inputs]


# ---------------------------------------------------------------- sigmoid and softplus


def sigmoid_condition(x: np.ndarray) -> np.ndarray:
    """σ's relative condition number |x·σ'(x)/σ(x)| = |x|·(1 - σ(x)) = |x|·σ(-x); 0 at ±inf."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    safe = np.where(finite, x, 0.0)
    kappa = np.abs(safe) * np.vectorize(oracle.sigmoid, otypes=[float])(-safe)
    return np.where(finite, kappa, 0.0)


def elementwise_case(x: np.ndarray, reference, condition=None):
    """Compare f(x) with the oracle elementwise: 8 ULPs where normal, [0, tiny] where subnormal.

    With ``condition`` (the relative condition number as a function of x), the bound is
    8 + 2·κ(x) ULPs, which every backward-stable evaluation meets.
    """
    x = np.asarray(x)
    expected = np.vectorize(reference, otypes=[float])(x.astype(np.float64))
    tiny = float(np.finfo(x.dtype).tiny)
    atol = np.where(np.abs(expected) < tiny, tiny, 0.0)
    ulps, note = ELEMENT_ULPS, f"{ELEMENT_ULPS} ULPs where the result is a normal number"
    if condition is not None:
        # Only where the result is normal: below that no relative accuracy is asked for.
        ulps = ELEMENT_ULPS + 2 * np.where(np.abs(expected) >= tiny, condition(x), 0.0)
        note = f"{ELEMENT_ULPS} + 2·κ(x) ULPs, κ(x) = |x|·(1 - σ(x)), where the result is normal"
    verdict = expect_close(expected, dtype=x.dtype, ulps=ulps, atol=atol, note=note)
    return case(label(x=x), [x], verdict)


def sigmoid_case(x: np.ndarray):
    """``stable_sigmoid`` elementwise, within 8 + 2·κ(x) ULPs."""
    return elementwise_case(x, oracle.sigmoid, sigmoid_condition)


def python_float_case(x: float, reference, condition=None):
    """A Python float in, a float64 number out (a Python float, NumPy scalar or 0-d array)."""
    expected = reference(float(x))
    ulps, note = ELEMENT_ULPS, f"{ELEMENT_ULPS} ULPs of float64"
    if condition is not None:
        ulps = ELEMENT_ULPS + 2 * float(condition(np.array(x)))
        note = f"{ELEMENT_ULPS} + 2·κ(x) ULPs of float64, κ(x) = |x|·(1 - σ(x))"
    verdict = expect_close(expected, dtype=np.float64, ulps=ulps, note=note)
    return case(f"x = {x!r} (a Python float)", [x], verdict)


def sigmoid_basic():
    rng = np.random.default_rng(221)
    return [
        python_float_case(2.0, oracle.sigmoid, sigmoid_condition),
        python_float_case(-3.5, oracle.sigmoid, sigmoid_condition),
        sigmoid_case(np.array([0.0, 1.0, -1.0, 2.5, -2.5])),
        sigmoid_case(rng.uniform(-10.0, 10.0, size=20)),
        sigmoid_case(rng.normal(0.0, 3.0, size=(3, 4))),
    ]


def sigmoid_large():
    return [
        sigmoid_case(np.array([1000.0, -1000.0])),
        sigmoid_case(np.array([1e308, -1e308, 710.0, -710.0])),
        sigmoid_case(np.array([-30.0, -100.0, -700.0, -708.0, -745.0])),
        sigmoid_case(np.array([30.0, 40.0, 100.0, 709.0, 745.0])),
    ]


def sigmoid_special():
    inf, nan = np.inf, np.nan
    return [
        sigmoid_case(np.array([inf, -inf, 0.0, -0.0])),
        sigmoid_case(np.array([nan, 1.0, nan])),
    ]


def sigmoid_float32():
    rng = np.random.default_rng(222)
    f32 = np.float32
    return [
        sigmoid_case(np.array([100.0, -100.0, 0.0], dtype=f32)),
        sigmoid_case(np.array([50.0, -50.0, 88.0, -88.0, -87.0], dtype=f32)),
        sigmoid_case(rng.uniform(-8.0, 8.0, size=10).astype(f32)),
    ]


def softplus_basic():
    rng = np.random.default_rng(231)
    return [
        python_float_case(2.0, oracle.softplus),
        python_float_case(0.5, oracle.softplus),
        elementwise_case(np.array([0.0, 1.0, -1.0, 2.5, 10.0]), oracle.softplus),
        elementwise_case(rng.uniform(-1.0, 15.0, size=20), oracle.softplus),
        elementwise_case(rng.uniform(-1.0, 5.0, size=(3, 4)), oracle.softplus),
    ]


def softplus_negative():
    return [
        elementwise_case(np.array([-20.0, -40.0, -100.0]), oracle.softplus),
        elementwise_case(np.array([-300.0, -700.0, -708.0]), oracle.softplus),
        elementwise_case(np.array([-745.0, -1000.0, -1e308]), oracle.softplus),
    ]


def softplus_positive():
    return [
        # x + e^-x is not x to the last bit up to x ≈ 33.3 and differs by more than 8 ULPs up to
        # x ≈ 31 (1e5 ULPs at x = 21): returning x itself above a threshold of 20, as
        # torch.nn.functional.softplus does, or of 30, loses those digits.
        elementwise_case(np.arange(20.5, 37.0, 0.5), oracle.softplus),
        elementwise_case(np.array([40.0, 100.0, 700.0]), oracle.softplus),
        elementwise_case(np.array([710.0, 1000.0, 1e308]), oracle.softplus),
    ]


def softplus_special():
    inf, nan = np.inf, np.nan
    return [
        elementwise_case(np.array([inf, -inf, 0.0]), oracle.softplus),
        elementwise_case(np.array([nan, -1.0, nan]), oracle.softplus),
    ]


def softplus_float32():
    rng = np.random.default_rng(232)
    f32 = np.float32
    return [
        elementwise_case(np.array([100.0, -100.0, 0.0], dtype=f32), oracle.softplus),
        elementwise_case(np.array([89.0, 1000.0, -50.0, -20.0], dtype=f32), oracle.softplus),
        elementwise_case(rng.uniform(-3.0, 8.0, size=10).astype(f32), oracle.softplus),
    ]


# ---------------------------------------------------------------- clipped_bce


def bce_case(y: np.ndarray, p: np.ndarray, eps: float | None = None):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    expected = oracle.clipped_bce(y, p, 1e-7 if eps is None else eps)
    atol = 8 * unit_roundoff(np.float64) * (y.size + 4) * (1 + abs(expected))
    verdict = expect_close(expected, dtype=np.float64, atol=atol, note="8·u·(n + 4)·(1 + |loss|)")
    kwargs = {} if eps is None else {"eps": eps}
    shown = label(y_true=y, p=p, **kwargs)
    return case(shown, [y, p], verdict, kwargs=kwargs)


def bce_basic():
    rng = np.random.default_rng(241)
    y = rng.integers(0, 2, size=30).astype(np.float64)
    return [
        bce_case(np.array([1.0, 0.0]), np.array([0.8, 0.3])),
        bce_case(y, rng.uniform(0.05, 0.95, size=30)),
        bce_case(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.6, 0.1], [0.45, 0.99]])),
    ]


def bce_extreme():
    return [
        bce_case(np.array([1.0, 0.0]), np.array([0.0, 1.0])),
        bce_case(np.array([1.0, 0.0]), np.array([1.0, 0.0])),
        bce_case(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0, 1e-12, 1.0 - 1e-12])),
        bce_case(np.array([0.0]), np.array([0.0])),
        bce_case(np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.0, 0.0])),
    ]


def bce_eps():
    return [
        bce_case(np.array([1.0, 0.0]), np.array([0.0, 1.0]), eps=1e-3),
        bce_case(np.array([1.0, 0.0, 1.0]), np.array([0.9995, 0.2, 0.0005]), eps=1e-3),
        bce_case(np.array([1.0, 0.0]), np.array([0.0, 1.0]), eps=1e-12),
        # eps far below 1e-12: the lower clip is exact, -log(1e-50) = 115.13 (not PyTorch's
        # clamp of each log at -100); 1 - eps rounds to 1 there, so only p < 1 is tested.
        bce_case(np.array([1.0]), np.array([0.0]), eps=1e-50),
        bce_case(np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 0.7]), eps=1e-300),
    ]


def bce_bad():
    raises = expect_raises("ValueError")
    pairs = (
        (np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.5])),
        (np.array([[1.0], [0.0], [1.0]]), np.array([0.2, 0.7, 0.9])),
        (np.array([1.0]), np.array([0.2, 0.7, 0.9])),
        (np.array([[1.0, 0.0]]), np.array([[0.5], [0.5]])),
    )
    return [case(label(y_true=y, p=p), [y, p], raises) for y, p in pairs]


# The graded names, their groups, points, descriptions and hints are declared in
# ex02_overflow.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
