"""Checks for ex02_overflow: ``log_product``, ``stable_sigmoid``, ``softplus``, ``clipped_bce``.

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

from autograder.checks.common import (
    case,
    checks_dict,
    expect_close,
    expect_raises,
    label,
    multiple_choice,
    on,
)
from autograder.judge import oracle
from autograder.judge.compare import (
    ACCURACY,
    INF,
    MISSING_NAN,
    NAN,
    NO_RAISE,
    OVERFLOW,
    UNDERFLOW,
    WRONG,
    WRONG_EXCEPTION,
    unit_roundoff,
)
from autograder.judge.spec import Check, Group

ASSIGNMENT = "ex02_overflow"
OVERFLOW_SECTION = "ch02-overflow"
LOG_DOMAIN = "ch02-log-domain"
NAN_SECTION = "ch02-nan"
GUARD = "ch02-epsilon-guard"
SIGMOID = "ch02-stable-sigmoid"

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


# ---------------------------------------------------------------- the checks

_SIGMOID_ACCURACY_HINT = (
    "the value is off for large |x|: clipping x to a range (such as ±500) changes σ there, since "
    "σ(-1000) underflows to 0 while σ(-500) ≈ 7e-218 is representable; let exp(-|x|) underflow "
    "on its own instead of clipping. A difference of nearly equal numbers, such as 1 - σ(-x) or "
    "1 + tanh(x/2), cancels for x ≪ 0."
)
_SIGMOID_HINT = (
    "1/(1 + exp(-x)) overflows in exp(-x) for x below about -709.78 (float64) or -88.72 "
    "(float32); branch on the sign and only ever exponentiate -|x|: z = exp(-|x|), then 1/(1 + z) "
    "for x ≥ 0 and z/(1 + z) for x < 0. np.where evaluates both branches, so compute z first "
    "(or index with a mask) instead of putting exp(x) inside np.where."
)

CHECKS: dict[str, Check] = checks_dict(
    Check(
        ASSIGNMENT,
        "log_product",
        (
            Group(
                name="basic",
                points=2,
                description="a few ordinary probabilities",
                make_cases=product_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint="the log of a product is the sum of the logs: np.sum(np.log(probs)).",
                ),
                section=LOG_DOMAIN,
            ),
            Group(
                name="underflow",
                points=2,
                description="long products of small probabilities (the product underflows to 0)",
                make_cases=product_underflow,
                hints=on(
                    INF,
                    UNDERFLOW,
                    ACCURACY,
                    hint=(
                        "multiplying many probabilities underflows to 0 long before the log is "
                        "taken (0.01 multiplied 200 times is 1e-400, below the smallest subnormal),"
                        " and log(0) = -inf; add the logs instead of multiplying the probabilities."
                    ),
                ),
                section=LOG_DOMAIN,
            ),
            Group(
                name="zero",
                points=1,
                description="a factor of exactly 0 gives -inf",
                make_cases=product_zero,
                hints=on(
                    WRONG,
                    hint=(
                        "a product with a zero factor is 0 and its log is -inf: return -inf, do not"
                        " add an ε or clip (that turns the exact answer into a finite one)."
                    ),
                ),
                section=LOG_DOMAIN,
            ),
            Group(
                name="bad_input",
                points=1,
                description="values outside [0, 1] or NaN raise ValueError",
                make_cases=product_bad,
                hints=on(
                    NO_RAISE,
                    WRONG_EXCEPTION,
                    hint=(
                        "check the inputs first: a value outside [0, 1] or NaN is not a probability"
                        " (NaN fails every comparison, so test ~((p >= 0) & (p <= 1))) and must "
                        "raise ValueError with a message naming the bad value."
                    ),
                ),
                section=NAN_SECTION,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "stable_sigmoid",
        (
            Group(
                name="basic",
                points=2,
                description="ordinary float64 inputs",
                make_cases=sigmoid_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint="sigmoid(x) = 1/(1 + e^(-x)), elementwise on the whole array.",
                ),
                section=SIGMOID,
            ),
            Group(
                name="large",
                points=3,
                description="inputs of large magnitude (±1000, ±1e308), overflow trapped",
                make_cases=sigmoid_large,
                hints=on(OVERFLOW, INF, NAN, hint=_SIGMOID_HINT)
                | on(ACCURACY, hint=_SIGMOID_ACCURACY_HINT),
                section=SIGMOID,
                trap_overflow=True,
            ),
            Group(
                name="special",
                points=1,
                description="±inf, NaN and -0.0",
                make_cases=sigmoid_special,
                hints=on(
                    NAN,
                    MISSING_NAN,
                    WRONG,
                    hint=(
                        "sigmoid(+inf) = 1 and sigmoid(-inf) = 0 are exact limits, and NaN must "
                        "stay NaN; avoid expressions such as inf/inf or inf - inf that produce NaN."
                    ),
                )
                | on(ACCURACY, hint=_SIGMOID_ACCURACY_HINT),
                section=NAN_SECTION,
            ),
            Group(
                name="float32",
                points=2,
                description="float32 inputs up to ±100 give float32 results, overflow trapped",
                make_cases=sigmoid_float32,
                hints=on(
                    OVERFLOW,
                    INF,
                    hint="float32's exp overflows already above about 88.72, so exp(100) is inf; "
                    "exponentiate only -|x|, and keep the input's dtype (no float64 constants or "
                    "arrays leaking in).",
                ),
                section=SIGMOID,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "softplus",
        (
            Group(
                name="basic",
                points=2,
                description="ordinary float64 inputs",
                make_cases=softplus_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint="softplus(x) = log(1 + e^x), elementwise on the whole array.",
                ),
                section=SIGMOID,
            ),
            Group(
                name="negative",
                points=2,
                description=(
                    "very negative inputs: the result ≈ e^x must keep its relative accuracy"
                ),
                make_cases=softplus_negative,
                hints=on(
                    ACCURACY,
                    UNDERFLOW,
                    hint=(
                        "for x ≪ 0, 1 + e^x rounds to 1 and log(1) = 0 (catastrophic cancellation):"
                        " the digits of e^x are gone before the log sees them. Use log1p(e^x), or "
                        "max(x, 0) + log1p(exp(-|x|))."
                    ),
                ),
                section=SIGMOID,
                trap_overflow=True,
            ),
            Group(
                name="positive",
                points=2,
                description="large positive inputs (≈ x), overflow trapped",
                make_cases=softplus_positive,
                hints=on(
                    OVERFLOW,
                    INF,
                    hint="e^x overflows for x above about 709.78 (float64); write softplus as "
                    "max(x, 0) + log1p(exp(-|x|)), which only ever exponentiates -|x|.",
                )
                | on(
                    ACCURACY,
                    hint="softplus(x) = x + log1p(e^-x) differs from x by more than 8 ULPs up to "
                    "x ≈ 31 and is not x to the last bit until x ≈ 33.3 in float64 (≈ 14.6 in "
                    "float32): a threshold that returns x itself must be at least that high "
                    "(PyTorch's 20 is too low), or use max(x, 0) + log1p(exp(-|x|)) everywhere.",
                ),
                section=OVERFLOW_SECTION,
                trap_overflow=True,
            ),
            Group(
                name="special",
                points=1,
                description="±inf and NaN",
                make_cases=softplus_special,
                hints=on(
                    NAN,
                    MISSING_NAN,
                    WRONG,
                    hint=(
                        "softplus(+inf) = inf, softplus(-inf) = 0 and NaN stays NaN; inf - inf "
                        "inside a formula gives NaN."
                    ),
                ),
                section=NAN_SECTION,
            ),
            Group(
                name="float32",
                points=2,
                description="float32 inputs give float32 results, overflow trapped",
                make_cases=softplus_float32,
                hints=on(
                    OVERFLOW,
                    INF,
                    hint=(
                        "float32's exp overflows above about 88.72; exponentiate only -|x| and keep"
                        " the input's dtype."
                    ),
                ),
                section=SIGMOID,
                trap_overflow=True,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "clipped_bce",
        (
            Group(
                name="basic",
                points=2,
                description="ordinary probabilities",
                make_cases=bce_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint="the loss is mean(-(y·log p + (1 - y)·log(1 - p))) with p clipped to "
                    "[eps, 1 - eps] first.",
                ),
                section=GUARD,
            ),
            Group(
                name="extreme",
                points=2,
                description="predictions of exactly 0 and 1 (and beyond the clipping bounds)",
                make_cases=bce_extreme,
                hints=on(
                    NAN,
                    INF,
                    hint=(
                        "log(0) = -inf and 0·log(0) = 0·(-inf) = nan: clip p into [eps, 1 - eps] "
                        "with np.clip before taking any log (the epsilon guard), so each term is at"
                        " most -log(eps)."
                    ),
                ),
                section=GUARD,
            ),
            Group(
                name="eps",
                points=1,
                description="a custom eps",
                make_cases=bce_eps,
                hints=on(
                    WRONG,
                    ACCURACY,
                    INF,
                    hint=(
                        "clip with the eps argument the caller passes, not a constant, and do not "
                        "clamp the logs yourself: with eps = 1e-50, y = 1 and p = 0 the loss is "
                        "-log(1e-50) = 115.13 (PyTorch's binary_cross_entropy clamps it at 100)."
                    ),
                ),
                section=GUARD,
            ),
            Group(
                name="bad_input",
                points=1,
                description="y_true and p of different shapes raise ValueError",
                make_cases=bce_bad,
                hints=on(
                    NO_RAISE,
                    WRONG_EXCEPTION,
                    hint=(
                        "NumPy broadcasting silently pairs arrays of shapes (3, 1) and (3,) into a "
                        "3 × 3 grid; compare y_true.shape with p.shape and raise ValueError when "
                        "they differ."
                    ),
                ),
                section=GUARD,
            ),
        ),
    ),
    multiple_choice(ASSIGNMENT, "q1", "c", "abcd", NAN_SECTION),
    multiple_choice(ASSIGNMENT, "q2", "a", "abcd", LOG_DOMAIN),
)
