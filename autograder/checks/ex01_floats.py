"""Checks for ex01_floats: ``float_format``, ``ulp``, ``ulps_between``, ``kahan_sum``, q1–q3.

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

from autograder.checks.common import (
    case,
    checks_dict,
    expect_raises,
    label,
    multiple_choice,
    on,
)
from autograder.judge import compare, oracle
from autograder.judge.compare import (
    ACCURACY,
    DTYPE,
    EXCEPTION,
    INF,
    MISSING_NAN,
    NO_RAISE,
    WRONG,
    WRONG_EXCEPTION,
    WRONG_TYPE,
    Problem,
)
from autograder.judge.feedback import fmt, shorten
from autograder.judge.spec import Case, Check, Group, Outcome

ASSIGNMENT = "ex01_floats"
ANATOMY = "ch01-ieee-anatomy"
FORMATS = "ch01-formats"
ULP = "ch01-epsilon-ulp"
ACCUMULATES = "ch01-accumulation"
VECTORISE = "ch01-vectorisation"

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


def format_standard():
    return [
        format_case(5, 10, "float16"),
        format_case(8, 7, "bfloat16"),
        format_case(8, 23, "float32"),
        format_case(5, 2, "E5M2"),
    ]


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


# ---------------------------------------------------------------- the checks

_BAD_FORMAT_HINT = (
    "the contract allows 2 ≤ exponent_bits ≤ 11 and 1 ≤ mantissa_bits ≤ 52 (beyond those the "
    "values no longer fit a float64); check both ranges first and raise ValueError with a "
    "message that says which width is out of range."
)


CHECKS: dict[str, Check] = checks_dict(
    Check(
        ASSIGNMENT,
        "float_format",
        (
            Group(
                name="standard",
                points=2,
                description="float16, bfloat16, float32 and E5M2",
                make_cases=format_standard,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "with bias b = 2^(e-1) - 1 the largest finite value is (2 - 2^-m)·2^b (the "
                        "top exponent field is reserved for inf/NaN), the smallest normal 2^(1-b), "
                        "the smallest subnormal 2^(1-b-m) and eps = 2^-m."
                    ),
                ),
                section=FORMATS,
            ),
            Group(
                name="extremes",
                points=2,
                description="the widest and narrowest formats (float64, e = 11 or e = 2)",
                make_cases=format_extremes,
                hints=on(
                    EXCEPTION,
                    INF,
                    hint=(
                        "for e = 11 an intermediate such as 2^(b+1) = 2^1024 overflows a float64 "
                        "(Python raises OverflowError): build the largest value as (2 - 2^-m)·2^b, "
                        "or with math.ldexp, so no intermediate leaves the float64 range."
                    ),
                ),
                section=FORMATS,
            ),
            Group(
                name="odd",
                points=1,
                description="formats no library provides, such as (3, 2) or (6, 9)",
                make_cases=format_odd,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "compute the values from the field widths with the formulas of the chapter,"
                        " not from a table of known formats (np.finfo covers only a few of them)."
                    ),
                ),
                section=ANATOMY,
            ),
            Group(
                name="bad_input",
                points=1,
                description="field widths outside 2 ≤ e ≤ 11, 1 ≤ m ≤ 52",
                make_cases=format_bad,
                hints=on(NO_RAISE, WRONG_EXCEPTION, hint=_BAD_FORMAT_HINT),
                section=FORMATS,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "ulp",
        (
            Group(
                name="normal",
                points=2,
                description="normal numbers of float16, float32 and float64, both signs",
                make_cases=ulp_normal,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "for a normal x the ULP is 2^(E - m) with E = ⌊log₂|x|⌋ the exponent of |x|"
                        " and m the stored fraction bits of the dtype (23 for float32, 10 for "
                        "float16); it is positive for negative x too."
                    ),
                ),
                section=ULP,
            ),
            Group(
                name="subnormal",
                points=2,
                description="zero and subnormal numbers",
                make_cases=ulp_subnormal,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "below the smallest normal 2^E_min the gap stops shrinking: for ±0 and "
                        "every subnormal the ULP is the smallest subnormal 2^(E_min - m), so use "
                        "max(E, E_min)."
                    ),
                ),
                section=ULP,
            ),
            Group(
                name="rounding",
                points=1,
                description="x not representable in dtype: round it first",
                make_cases=ulp_rounding,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "x must first be rounded to the dtype (e.g. np.float16(x)); rounding can "
                        "carry it up to the next power of two, where the ULP doubles."
                    ),
                ),
                section=ULP,
            ),
            Group(
                name="nonfinite",
                points=2,
                description=(
                    "the largest finite values, inf, NaN and values that overflow the dtype"
                ),
                make_cases=ulp_nonfinite,
                hints=on(
                    WRONG,
                    MISSING_NAN,
                    INF,
                    hint=(
                        "at the largest finite value the ULP is 2^(E_max - m), finite (np.spacing "
                        "gives inf there, the gap to the next number *up*); for inf, NaN, and x "
                        "that rounds to inf in the dtype, return nan."
                    ),
                ),
                section=ULP,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "ulps_between",
        (
            Group(
                name="basic",
                points=2,
                description="float64 values of one sign: equal, neighbours, binades apart",
                make_cases=between_basic,
                hints=on(
                    WRONG,
                    hint=(
                        "consecutive floats of one sign have consecutive bit patterns: view the "
                        "values as unsigned integers of the same width and take the absolute "
                        "difference."
                    ),
                ),
                section=ANATOMY,
            ),
            Group(
                name="zero",
                points=2,
                description="pairs across zero, +0 and -0",
                make_cases=between_zero,
                hints=on(
                    WRONG,
                    hint=(
                        "the sign bit makes the bit patterns of negative numbers jump: map a "
                        "negative value to minus the bit pattern of its magnitude, so -0 and +0 "
                        "both map to 0 (counted once) and the count across zero is the sum of the "
                        "two sides."
                    ),
                ),
                section=ANATOMY,
            ),
            Group(
                name="large",
                points=2,
                description="distances of up to 2^64 steps (from -max to +max)",
                make_cases=between_large,
                hints=on(
                    WRONG,
                    hint=(
                        "the count from -max to +max does not fit a signed 64-bit integer: NumPy "
                        "int64 arithmetic wraps around silently; convert the bit patterns to Python"
                        " ints (int(...)) before subtracting."
                    ),
                ),
                section=ANATOMY,
            ),
            Group(
                name="dtypes",
                points=1,
                description="float32 and float16 grids, values rounded to the dtype first",
                make_cases=between_dtypes,
                hints=on(
                    WRONG,
                    hint=(
                        "round a and b to the dtype first, then view them as the unsigned integer "
                        "of the same width (uint16 for float16, uint32 for float32); float64 bits "
                        "count a much finer grid."
                    ),
                ),
                section=ANATOMY,
            ),
        ),
    ),
    Check(
        ASSIGNMENT,
        "kahan_sum",
        (
            Group(
                name="basic",
                points=1,
                description="a few float32 values",
                make_cases=sum_basic,
                hints=on(
                    WRONG,
                    ACCURACY,
                    hint=(
                        "add the values in order, keeping a compensation term c for the low-order "
                        "bits each addition rounds away."
                    ),
                ),
                section=ACCUMULATES,
            ),
            Group(
                name="hard",
                points=3,
                description=(
                    "up to 400 000 float32 values where a naive float32 loop loses thousands of "
                    "ULPs"
                ),
                make_cases=sum_hard,
                hints=on(
                    ACCURACY,
                    hint=(
                        "a plain running sum in float32 rounds away the small terms once the sum is"
                        " large (the error grows like n·u); feed the rounding error of each "
                        "addition back in (Kahan: y = x - c, t = s + y, c = (t - s) - y, s = t). "
                        "A compensation that only accumulates the errors and is added at the end "
                        "(Neumaier's c) is itself a long float32 sum: on hundreds of thousands of "
                        "same-sign errors it loses tens of ULPs, so fold it back into the sum at "
                        "every step (t = s + c; c = c - (t - s); s = t)."
                    ),
                ),
                section=ACCUMULATES,
                time_limit=20.0,
            ),
            Group(
                name="dtype",
                points=1,
                description="the result is a np.float32",
                make_cases=sum_dtype,
                hints=on(
                    DTYPE,
                    WRONG_TYPE,
                    hint=(
                        "keep s and c as np.float32 and return np.float32(s + c) (a Python float or"
                        " float64 result is not float32 arithmetic)."
                    ),
                ),
                section=ACCUMULATES,
            ),
        ),
    ),
    multiple_choice(ASSIGNMENT, "q1", "b", "abcd", "ch01-summary"),
    multiple_choice(ASSIGNMENT, "q2", "d", "abcd", VECTORISE),
    multiple_choice(ASSIGNMENT, "q3", "a", "abcd", ULP),
)
