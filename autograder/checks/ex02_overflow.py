"""Checks for ex02_overflow: ``log_product``, ``stable_sigmoid``, ``softplus``, ``clipped_bce``.

Tolerances, all against 60-digit mpmath oracles (:mod:`autograder.oracle`):

* ``log_product``: Σ log pᵢ has terms of one sign, so it is well conditioned; each log carries a
  relative error of about u and the summation at most (n - 1)·u relative. A product of a few
  ordinary probabilities followed by one log is equally accurate (its relative error n·u becomes
  an absolute error n·u in the log). Tolerance: |error| ≤ 4·u·(n + 2)·(1 + |result|).
* ``stable_sigmoid`` and ``softplus``: the inputs are exact, so the only errors are those of
  ``exp``, ``log1p`` and two or three rounded operations: 8 ULPs of the input's dtype wherever the
  true result is a normal number. Where it is subnormal (x < -708.4 in float64, x < -87.3 in
  float32) the contract asks for no relative accuracy: anything between 0 and the smallest normal
  number passes, so graceful underflow and a flush to 0 (as PyTorch does) are both accepted.
  PyTorch's ``softplus`` returns x itself above x = 20; in float64 that differs from x + e⁻ˣ by
  more than 8 ULPs for 20 < x < 37, so the cases avoid that window: positive inputs are either
  ≤ 15 or ≥ 40, where "≈ x" is exact to the last bit.
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

from autograder import oracle
from autograder.checks.common import (
    case,
    checks_dict,
    expect_close,
    expect_raises,
    label,
    multiple_choice,
)
from autograder.compare import unit_roundoff
from autograder.spec import Check, Group

ASSIGNMENT = "ex02_overflow"
CHAPTER = "Chapter 2, Overflow, underflow and NaN"
OVERFLOW = f"{CHAPTER} § Overflow"
UNDERFLOW = f"{CHAPTER} § Underflow and gradual underflow"
LOG_DOMAIN = f"{CHAPTER} § Long products of probabilities: work in the log domain"
NAN = f"{CHAPTER} § NaN: where it comes from and how it spreads"
GUARD = f"{CHAPTER} § Division by zero and log(0): the epsilon guard"
SIGMOID = f"{CHAPTER} § Stable sigmoid and softplus"
SUMMARY = f"{CHAPTER} § Summary"

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


def elementwise_case(x: np.ndarray, reference):
    """Compare f(x) with the oracle elementwise: 8 ULPs where normal, [0, tiny] where subnormal."""
    x = np.asarray(x)
    expected = np.vectorize(reference, otypes=[float])(x.astype(np.float64))
    tiny = float(np.finfo(x.dtype).tiny)
    atol = np.where(np.abs(expected) < tiny, tiny, 0.0)
    verdict = expect_close(
        expected,
        dtype=x.dtype,
        ulps=ELEMENT_ULPS,
        atol=atol,
        note=f"{ELEMENT_ULPS} ULPs where the result is a normal number",
    )
    return case(label(x=x), [x], verdict)


def sigmoid_basic():
    rng = np.random.default_rng(221)
    return [
        elementwise_case(np.array([0.0, 1.0, -1.0, 2.5, -2.5]), oracle.sigmoid),
        elementwise_case(rng.uniform(-10.0, 10.0, size=20), oracle.sigmoid),
        elementwise_case(rng.normal(0.0, 3.0, size=(3, 4)), oracle.sigmoid),
    ]


def sigmoid_large():
    return [
        elementwise_case(np.array([1000.0, -1000.0]), oracle.sigmoid),
        elementwise_case(np.array([1e308, -1e308, 710.0, -710.0]), oracle.sigmoid),
        elementwise_case(np.array([-30.0, -100.0, -700.0, -708.0, -745.0]), oracle.sigmoid),
        elementwise_case(np.array([30.0, 40.0, 100.0, 709.0, 745.0]), oracle.sigmoid),
    ]


def sigmoid_special():
    inf, nan = np.inf, np.nan
    return [
        elementwise_case(np.array([inf, -inf, 0.0, -0.0]), oracle.sigmoid),
        elementwise_case(np.array([nan, 1.0, nan]), oracle.sigmoid),
    ]


def sigmoid_float32():
    rng = np.random.default_rng(222)
    f32 = np.float32
    return [
        elementwise_case(np.array([100.0, -100.0, 0.0], dtype=f32), oracle.sigmoid),
        elementwise_case(np.array([50.0, -50.0, 88.0, -88.0, -87.0], dtype=f32), oracle.sigmoid),
        elementwise_case(rng.uniform(-8.0, 8.0, size=10).astype(f32), oracle.sigmoid),
    ]


def softplus_basic():
    rng = np.random.default_rng(231)
    return [
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


# ---------------------------------------------------------------- the checks

_SIGMOID_HINT = (
    "1/(1 + exp(-x)) overflows in exp(-x) for x below about -709.78 (float64) or -88.72 "
    "(float32); branch on the sign and only ever exponentiate -|x|: z = exp(-|x|), then 1/(1 + z) "
    "for x ≥ 0 and z/(1 + z) for x < 0. np.where evaluates both branches, so compute z first "
    "(or index with a mask) instead of putting exp(x) inside np.where. Keep relative accuracy "
    "too: exponentiating a computed quantity such as -softplus(-x) multiplies its rounding error "
    "by |x|."
)

CHECKS: dict[str, Check] = checks_dict(
    Check(
        ASSIGNMENT,
        "log_product",
        (
            Group(
                "basic",
                2,
                "a few ordinary probabilities",
                product_basic,
                "the log of a product is the sum of the logs: np.sum(np.log(probs)).",
                LOG_DOMAIN,
            ),
            Group(
                "underflow",
                2,
                "long products of small probabilities (the product underflows to 0)",
                product_underflow,
                "multiplying many probabilities underflows to 0 long before the log is taken "
                "(0.01 multiplied 200 times is 1e-400, below the smallest subnormal), and "
                "log(0) = -inf; add the logs instead of multiplying the probabilities.",
                LOG_DOMAIN,
            ),
            Group(
                "zero",
                1,
                "a factor of exactly 0 gives -inf",
                product_zero,
                "a product with a zero factor is 0 and its log is -inf: return -inf, do not "
                "add an ε or clip (that turns the exact answer into a finite one).",
                LOG_DOMAIN,
            ),
            Group(
                "bad_input",
                1,
                "values outside [0, 1] or NaN raise ValueError",
                product_bad,
                "check the inputs first: a value outside [0, 1] or NaN is not a probability "
                "(NaN fails every comparison, so test ~((p >= 0) & (p <= 1))) and must raise "
                "ValueError with a message naming the bad value.",
                NAN,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "stable_sigmoid",
        (
            Group(
                "basic",
                2,
                "ordinary float64 inputs",
                sigmoid_basic,
                "sigmoid(x) = 1/(1 + e^(-x)), elementwise on the whole array.",
                SIGMOID,
            ),
            Group(
                "large",
                3,
                "inputs of large magnitude (±1000, ±1e308), overflow trapped",
                sigmoid_large,
                _SIGMOID_HINT,
                SIGMOID,
                trap_overflow=True,
            ),
            Group(
                "special",
                1,
                "±inf, NaN and -0.0",
                sigmoid_special,
                "sigmoid(+inf) = 1 and sigmoid(-inf) = 0 are exact limits, and NaN must stay "
                "NaN; avoid expressions such as inf/inf or inf - inf that produce NaN.",
                NAN,
            ),
            Group(
                "float32",
                2,
                "float32 inputs up to ±100 give float32 results, overflow trapped",
                sigmoid_float32,
                "float32's exp overflows already above about 88.72, so exp(100) is inf; "
                "exponentiate only -|x|, and keep the input's dtype (no float64 constants or "
                "arrays leaking in).",
                SIGMOID,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "softplus",
        (
            Group(
                "basic",
                2,
                "ordinary float64 inputs",
                softplus_basic,
                "softplus(x) = log(1 + e^x), elementwise on the whole array.",
                SIGMOID,
            ),
            Group(
                "negative",
                2,
                "very negative inputs: the result ≈ e^x must keep its relative accuracy",
                softplus_negative,
                "for x ≪ 0, 1 + e^x rounds to 1 and log(1) = 0 (catastrophic cancellation): "
                "the digits of e^x are gone before the log sees them. Use log1p(e^x), or "
                "max(x, 0) + log1p(exp(-|x|)).",
                SIGMOID,
                trap_overflow=True,
            ),
            Group(
                "positive",
                2,
                "large positive inputs (≈ x), overflow trapped",
                softplus_positive,
                "e^x overflows for x above about 709.78 (float64); write softplus as "
                "max(x, 0) + log1p(exp(-|x|)), which only ever exponentiates -|x|.",
                OVERFLOW,
                trap_overflow=True,
            ),
            Group(
                "special",
                1,
                "±inf and NaN",
                softplus_special,
                "softplus(+inf) = inf, softplus(-inf) = 0 and NaN stays NaN; inf - inf inside "
                "a formula gives NaN.",
                NAN,
            ),
            Group(
                "float32",
                2,
                "float32 inputs give float32 results, overflow trapped",
                softplus_float32,
                "float32's exp overflows above about 88.72; exponentiate only -|x| and keep "
                "the input's dtype.",
                SIGMOID,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "clipped_bce",
        (
            Group(
                "basic",
                2,
                "ordinary probabilities",
                bce_basic,
                "the loss is mean(-(y·log p + (1 - y)·log(1 - p))) with p clipped to "
                "[eps, 1 - eps] first.",
                GUARD,
            ),
            Group(
                "extreme",
                2,
                "predictions of exactly 0 and 1 (and beyond the clipping bounds)",
                bce_extreme,
                "log(0) = -inf and 0·log(0) = 0·(-inf) = nan: clip p into [eps, 1 - eps] with "
                "np.clip before taking any log (the epsilon guard), so each term is at most "
                "-log(eps).",
                GUARD,
            ),
            Group(
                "eps",
                1,
                "a custom eps",
                bce_eps,
                "clip with the eps argument the caller passes, not a constant.",
                GUARD,
            ),
            Group(
                "bad_input",
                1,
                "y_true and p of different shapes raise ValueError",
                bce_bad,
                "NumPy broadcasting silently pairs arrays of shapes (3, 1) and (3,) into a "
                "3 × 3 grid; compare y_true.shape with p.shape and raise ValueError when they "
                "differ.",
                GUARD,
            ),
        ),
    ),
    multiple_choice(ASSIGNMENT, "q1", "c", "abcd", NAN),
    multiple_choice(ASSIGNMENT, "q2", "a", "abcd", LOG_DOMAIN),
)
