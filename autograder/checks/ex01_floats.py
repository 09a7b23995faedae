"""Checks for ex01_floats: ``float_format``, ``ulp``, ``ulps_between``, ``kahan_sum``, q1–q3.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex01_floats.toml``, read by :mod:`autograder.checks.declarations`; this module
builds the cases each group names.

Tolerances. ``float_format``, ``ulp`` and ``ulps_between`` have exact answers (powers of two,
sums of powers of two, integers), so they are compared exactly against oracles that work in
rational arithmetic (:mod:`fractions`) and count grid points instead of reading bit patterns:
any value off by even one ULP is a wrong formula, not rounding noise. The inputs are rounded to
the requested dtype by NumPy's correctly rounded cast, as the contract says.

``kahan_sum`` is judged against the exact sum (``math.fsum``) with a relative tolerance of 32
float32 ULPs at the true value. Compensated summation (Kahan's or Neumaier's variant) has error
at most 2u·|s| + O(n·u²)·Σ|xᵢ|; the hard cases keep n ≤ 20 000 and all terms of one sign
(Σ|xᵢ| = |s|), so the second term is below 10⁻⁹ relative and compensated sums land within a
couple of ULPs. A naive float32 loop is off by 1 700 to 5 000 ULPs there (measured in
``tests/autograder/checks/test_checks_ex01_floats.py``). NumPy's pairwise ``np.sum`` also passes:
it is accurate on these inputs, and the chapter presents it as the better summation order, not as
a mistake.

Float64 accumulation followed by one rounding to float32 (``np.sum(x, dtype=np.float64)``,
``math.fsum``) is accepted as correct. The contract describes the lesson (compensation in float32
arithmetic), but a grader that sees only results cannot and should not tell "accurate float32 sum
obtained by compensation" from "accurate float32 sum obtained by wider accumulation", which the
chapter itself recommends (§ Vectorisation: faster and more accurate). The only inputs on which
float64 accumulation fails while compensation succeeds (e.g. ``[1e30, 1, -1e30]``) are also inputs
on which Kahan's original variant fails, and the contract requires both variants to pass. What is
graded separately is the returned type: the result must be ``np.float32`` (group ``dtype``), and
accuracy groups accept any floating type so that a dtype slip costs exactly one group.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.checks.common import case, expect_raises, label
from autograder.checks.declarations import declared_checks
from autograder.judge import compare, oracle
from autograder.judge.compare import DTYPE, WRONG_TYPE, Problem
from autograder.judge.feedback import fmt, shorten
from autograder.judge.spec import Case, Check, Outcome

ULP = "ch01-epsilon-ulp"

DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
KEYS = ("max", "min_normal", "min_subnormal", "eps")


def power_of_two(value: float) -> str:
    """``"0.0009765625 (2^-10)"`` for a power of two, just the number otherwise."""
    if value > 0 and math.isfinite(value):
        mantissa, exponent = math.frexp(value)
        if mantissa == 0.5:
            return f"{fmt(value, 17)} (2^{exponent - 1})"
    return fmt(value, 17)


def scalar_number(outcome: Outcome) -> tuple[float | None, str | None]:
    """The returned real scalar as a Python float (any float or int type), or a problem."""
    problem = compare.returned(outcome)
    if problem:
        return None, problem
    value = outcome["value"]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        return float(value.item()), None
    return None, Problem(
        f"returned {outcome['type']} {shorten(value)} where one number was expected", WRONG_TYPE
    )


# ---------------------------------------------------------------- float_format


def format_case(e: int, m: int, name: str = ""):
    expected = oracle.float_format_exact(e, m)

    def verdict(case: Case, outcome: Outcome) -> str | None:
        problem = compare.returned(outcome)
        if problem:
            return problem
        value = outcome["value"]
        if not isinstance(value, dict):
            return Problem(
                f"returned {outcome['type']} {shorten(value)} where a dict was expected", WRONG_TYPE
            )
        missing = [key for key in KEYS if key not in value]
        if missing:
            return Problem(
                f"the dict has no key {missing[0]!r} (keys must be {', '.join(KEYS)})", WRONG_TYPE
            )
        for key in KEYS:
            got = value[key]
            if isinstance(got, np.ndarray) and got.ndim == 0:
                got = got.item()
            if isinstance(got, bool) or not isinstance(got, int | float):
                return Problem(f"{key!r} is {shorten(got)}, not a number", WRONG_TYPE)
            if float(got) != expected[key]:
                return (
                    f"{key!r} is {power_of_two(float(got))} where the format's value is "
                    f"{power_of_two(expected[key])}"
                )
        return None

    shown = f"exponent_bits = {e}, mantissa_bits = {m}" + (f" ({name})" if name else "")
    return case(shown, [e, m], verdict)


# The formats of the chapter's table: (exponent bits, mantissa bits).
STANDARD_FORMATS = {"float16": (5, 10), "bfloat16": (8, 7), "float32": (8, 23), "E5M2": (5, 2)}


def format_standard():
    return [format_case(e, m, name) for name, (e, m) in STANDARD_FORMATS.items()]


def format_extremes():
    return [
        format_case(11, 52, "float64"),
        format_case(11, 1),
        format_case(2, 1),
        format_case(2, 52),
        format_case(11, 30),
    ]


def format_odd():
    return [format_case(e, m) for e, m in ((3, 2), (4, 3), (6, 9), (7, 12), (10, 40))]


def format_bad():
    raises = expect_raises("ValueError")
    pairs = ((1, 10), (12, 10), (5, 0), (5, 53), (0, 0), (-3, 4))
    return [case(f"exponent_bits = {e}, mantissa_bits = {m}", [e, m], raises) for e, m in pairs]


# ---------------------------------------------------------------- ulp


def ulp_case(x: float, dtype_name: str):
    dtype = DTYPES[dtype_name]
    expected = oracle.ulp_exact(x, dtype)

    def verdict(case: Case, outcome: Outcome) -> str | None:
        got, problem = scalar_number(outcome)
        if problem:
            return problem
        if math.isnan(expected):
            if math.isnan(got):
                return None
            return f"returned {fmt(got)} where the answer is nan (x rounds to inf, or is inf/NaN)"
        if math.isnan(got):
            return f"returned nan where the ULP is {power_of_two(expected)}"
        if got != expected:
            return f"returned {power_of_two(got)} where the ULP is {power_of_two(expected)}"
        return None

    return case(f"x = {x!r}, dtype = np.{dtype_name}", [x, dtype], verdict)


def ulp_normal():
    rng = np.random.default_rng(111)
    cases = [ulp_case(x, "float64") for x in (1.0, 0.1, -3.5, 1e300, -1e-300, 2.0**-1000)]
    for x in (1.0, -2.0, 0.375, 1e5, -123.25, 65504.0 / 2):
        cases.append(ulp_case(float(np.float32(x)), "float32"))
    for x in (1.0, 0.5, -1000.0, 3.0e-3):
        cases.append(ulp_case(float(np.float16(x)), "float16"))
    for x in rng.lognormal(0.0, 20.0, size=4):
        cases.append(ulp_case(float(np.float32(x)), "float32"))
    return cases


def ulp_subnormal():
    return [
        ulp_case(0.0, "float64"),
        ulp_case(-0.0, "float32"),
        ulp_case(0.0, "float16"),
        ulp_case(5e-324, "float64"),
        ulp_case(1e-310, "float64"),
        ulp_case(float(np.float32(1e-40)), "float32"),
        ulp_case(float(np.float16(3e-6)), "float16"),
        ulp_case(float(np.finfo(np.float32).tiny), "float32"),
        ulp_case(-float(np.finfo(np.float64).tiny), "float64"),
    ]


def ulp_rounding():
    return [
        ulp_case(1.9999, "float16"),
        ulp_case(2047.9, "float16"),
        ulp_case(1.0 - 2.0**-30, "float32"),
        ulp_case(0.1, "float32"),
        ulp_case(0.1, "float16"),
        ulp_case(1e-8, "float16"),
        ulp_case(1e-46, "float32"),
    ]


def ulp_nonfinite():
    cases = [ulp_case(float(np.finfo(DTYPES[d]).max), d) for d in DTYPES]
    cases += [ulp_case(-float(np.finfo(np.float16).max), "float16")]
    cases += [
        ulp_case(math.inf, "float64"),
        ulp_case(-math.inf, "float32"),
        ulp_case(math.nan, "float16"),
        ulp_case(70000.0, "float16"),
        ulp_case(1e39, "float32"),
    ]
    return cases


# ---------------------------------------------------------------- ulps_between


def between_case(a: float, b: float, dtype_name: str):
    dtype = DTYPES[dtype_name]
    expected = oracle.ulps_between_exact(a, b, dtype)

    def verdict(case: Case, outcome: Outcome) -> str | None:
        problem = compare.returned(outcome)
        if problem:
            return problem
        value = outcome["value"]
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
            value = int(value.item())
        if isinstance(value, bool) or not isinstance(value, int):
            return Problem(
                f"returned {outcome['type']} {shorten(value)}; the count of steps must be an "
                "int (a float cannot hold every count exactly)",
                WRONG_TYPE,
            )
        if value != expected:
            return f"returned {value} where the number of steps is {expected}"
        return None

    return case(f"a = {a!r}, b = {b!r}, dtype = np.{dtype_name}", [a, b, dtype], verdict)


def between_basic():
    one = 1.0
    return [
        between_case(one, one, "float64"),
        between_case(one, math.nextafter(one, 2.0), "float64"),
        between_case(math.nextafter(one, 2.0), one, "float64"),
        between_case(one, math.nextafter(one, 0.0), "float64"),
        between_case(1.0, 2.0, "float64"),
        between_case(-3.0, -1.5, "float64"),
        between_case(-1.5, -3.0, "float64"),
        between_case(0.1, 0.3, "float64"),
        between_case(1e10, 1e10 + 0.5, "float64"),
    ]


def between_zero():
    tiny = 5e-324
    return [
        between_case(0.0, -0.0, "float64"),
        between_case(-0.0, tiny, "float64"),
        between_case(-tiny, tiny, "float64"),
        between_case(tiny, -tiny, "float64"),
        between_case(-1.0, 1.0, "float64"),
        between_case(-1.0, 1.0, "float16"),
        between_case(-(2.0**-140), 2.0**-140, "float32"),
        between_case(0.5, -0.25, "float32"),
    ]


def between_large():
    big = float(np.finfo(np.float64).max)
    return [
        between_case(0.0, big, "float64"),
        between_case(-big, big, "float64"),
        between_case(big, -big, "float64"),
        between_case(-1e300, 1e-300, "float64"),
        between_case(-3e38, 3e38, "float32"),
        between_case(-65504.0, 65504.0, "float16"),
    ]


def between_dtypes():
    return [
        between_case(1.0, 2.0, "float32"),
        between_case(1.0, 2.0, "float16"),
        between_case(0.1, 0.2, "float32"),
        between_case(0.1, 0.2, "float16"),
        between_case(1.0, 1.0 + 1e-10, "float32"),
        between_case(1.0, 1.0 + 2.0**-23, "float32"),
        between_case(100.0, 1000.0, "float16"),
        between_case(5e-8, 1e-7, "float16"),
        between_case(3.14159, 2.71828, "float32"),
    ]


# ---------------------------------------------------------------- kahan_sum

SUM_ULPS = 32


def sum_case(values: np.ndarray, shown: str, *, want_float32: bool = False):
    """A ``kahan_sum`` case: accuracy within 32 float32 ULPs, or (``want_float32``) the type."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    expected = oracle.exact_sum(values.tolist())

    def verdict(case: Case, outcome: Outcome) -> str | None:
        got, problem = compare.float_array(outcome, shape=())
        if problem:
            return problem
        if want_float32 and not (outcome["type"] == "numpy.float32" or got.dtype == np.float32):
            return Problem(
                f"returned {outcome['type']} of dtype {got.dtype.name}; the sum must be a "
                "np.float32 (cast the result, e.g. np.float32(s), and keep the accumulators "
                "float32)",
                DTYPE,
            )
        return compare.close(
            got,
            expected,
            dtype=np.float32,
            ulps=SUM_ULPS,
            tolerance_note="a compensated float32 sum is within a few ULPs of the exact sum",
        )

    return case(shown, [values], verdict)


def sum_basic():
    rng = np.random.default_rng(131)
    cases = [
        sum_case(np.array([1.0, 2.0, 3.0, 4.5]), "values = [1.0, 2.0, 3.0, 4.5]"),
        sum_case(np.array([0.5]), "values = [0.5] (one element)"),
        sum_case(np.array([-1.25, 2.5, -0.125, 8.0]), "values = [-1.25, 2.5, -0.125, 8.0]"),
    ]
    for n in (5, 10, 16):
        values = rng.uniform(0.0, 1.0, size=n).astype(np.float32)
        cases.append(sum_case(values, label(values=values)))
    return cases


def hard_inputs() -> list[tuple[np.ndarray, str]]:
    """Inputs on which a naive left-to-right float32 loop is off by 1 700 to 40 000 ULPs.

    All terms of one sign (Σ|xᵢ| = |s|), so Kahan's loop, Neumaier's with its compensation
    folded back, pairwise and wider accumulation are all within a few ULPs; the naive loop
    rounds the small terms away once the running sum is large.
    """
    rng = np.random.default_rng(132)
    return [
        (
            np.concatenate([[1.0], np.full(19_999, 3e-8)]).astype(np.float32),
            "values = [1.0, 3e-08, 3e-08, …] (1.0 then 19 999 copies of 3e-08)",
        ),
        (np.full(20_000, 0.1, dtype=np.float32), "values = [0.1, 0.1, …] (20 000 copies)"),
        (np.full(20_000, -0.01, dtype=np.float32), "values = [-0.01, -0.01, …] (20 000 copies)"),
        (np.full(20_000, 1 / 3, dtype=np.float32), "values = [1/3, 1/3, …] (20 000 copies)"),
        (
            np.concatenate([[1e8], rng.uniform(0.0, 4.0, size=19_999)]).astype(np.float32),
            "values = [1e8, then 19 999 values uniform in (0, 4)]",
        ),
        # Long sums whose rounding errors all have one sign: a compensation term that only
        # accumulates (Neumaier's c, added at the end) grows to n·u·|s| and loses 86 and 141
        # ULPs to its own rounding; Kahan's loop, a compensation folded back every step,
        # pairwise and wider accumulation stay within 2.
        (np.full(300_000, 0.1, dtype=np.float32), "values = [0.1, 0.1, …] (300 000 copies)"),
        (
            np.full(400_000, 0.001, dtype=np.float32),
            "values = [0.001, 0.001, …] (400 000 copies)",
        ),
    ]


def sum_hard():
    return [sum_case(values, shown) for values, shown in hard_inputs()]


def sum_dtype():
    rng = np.random.default_rng(133)
    values = rng.normal(0.0, 1.0, size=50).astype(np.float32)
    return [
        sum_case(np.array([1.0, 2.0, 3.0]), "values = [1.0, 2.0, 3.0]", want_float32=True),
        sum_case(values, label(values=values), want_float32=True),
        sum_case(np.array([0.1] * 7), "values = [0.1] * 7 (float32)", want_float32=True),
    ]


# The graded names, their groups, points, descriptions and hints are declared in
# ex01_floats.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
