"""The exact words and diagnosis of every verdict in autograder.judge.compare, and the edges of its
arithmetic that the wording depends on (which element is the worst, float64 rounding of both
sides, no floating-point warnings).

A student reads these phrases as their feedback, and ``kind`` chooses the hint beside them: a
verdict that loses its message, its index or its diagnosis is a bug a student would see.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from autograder.judge import compare
from autograder.judge.compare import Problem

INF, NAN = math.inf, math.nan


def returned(value, type_name="float", **extra) -> dict:
    return {"status": "returned", "value": value, "type": type_name, "mutated": False, **extra}


def same(problem, text: str, kind: str) -> bool:
    return isinstance(problem, Problem) and problem == text and problem.kind == kind


# ------------------------------------------------------------------ Problem, kind_of, within


def test_a_plain_string_is_a_wrong_value_and_a_problem_keeps_its_kind():
    assert compare.kind_of("plain") == compare.WRONG
    assert compare.kind_of(Problem("x", compare.NAN)) == compare.NAN
    assert Problem("x").kind == compare.WRONG
    with pytest.raises(ValueError, match="unknown diagnosis 'nope'; use one of"):
        Problem("x", "nope")


def test_within_prefixes_and_suffixes_keeping_the_kind():
    inner = Problem("returned nan", compare.NAN)
    assert same(compare.within("row 2", inner), "row 2: returned nan", compare.NAN)
    assert same(compare.within("row 2", inner, " (late)"), "row 2: returned nan (late)", "nan")
    assert same(compare.within("", inner), "returned nan", compare.NAN)
    assert same(compare.within("", "plain", "!"), "plain!", compare.WRONG)
    assert compare.within("row 2", None) is None


def test_unit_roundoff_is_half_of_epsilon():
    assert compare.unit_roundoff(np.float32) == 2.0**-24
    assert compare.unit_roundoff(np.float64) == 2.0**-53
    assert compare.unit_roundoff(np.float16) == 2.0**-11


def test_ulp_of_is_taken_at_the_float64_value():
    # 2 - 2**-60 is 2.0 in float64, whose ULP is 2**-51, not the 2**-52 of [1, 2)
    just_below_two = np.longdouble(2) - np.longdouble(2) ** -60
    assert compare.ulp_of(np.array([just_below_two]), np.float64)[0] == 2.0**-51
    assert compare.ulp_of(np.array([3]), np.float64)[0] == 2.0**-51


# ------------------------------------------------------------------ status_problem and returned


@pytest.mark.parametrize(
    ("outcome", "text", "kind"),
    [
        (
            {"status": "raised", "exc_type": "NotImplementedError", "message": "x", "where": "w"},
            "raised NotImplementedError — the answer cell has not been completed yet",
            compare.NOT_ATTEMPTED,
        ),
        (
            {"status": "raised", "exc_type": "KeyError", "message": "'a'", "where": "line 3"},
            "raised KeyError: 'a' (line 3)",
            compare.EXCEPTION,
        ),
        (
            {"status": "raised", "exc_type": "KeyError", "message": ""},
            "raised KeyError",
            "exception",
        ),
        ({"status": "raised", "exc_type": "KeyError"}, "raised KeyError", compare.EXCEPTION),
        (
            {"status": "overflow", "where": "line 4"},
            "overflowed in an intermediate step (line 4) — an inf appeared on the way (this "
            "group runs with floating-point overflow trapped), even if the final value might "
            "have come out right.",
            compare.OVERFLOW,
        ),
        (
            {"status": "overflow", "silenced": True},
            "overflowed in an intermediate step — an inf appeared on the way (this group runs "
            "with floating-point overflow trapped), even if the final value might have come out "
            "right. Your np.errstate/np.seterr setting does not silence it here: in this group "
            "an overflow inside your code counts even when you ask NumPy to ignore it.",
            compare.OVERFLOW,
        ),
        (
            {"status": "timeout", "message": "did not finish within 2 s"},
            "did not finish within 2 s — an endless loop, or far too slow for this input",
            compare.TIMEOUT,
        ),
        (
            {"status": "bad_return", "type": "Foo", "message": "a lambda"},
            "returned a Foo object, which the grader cannot read (a lambda)",
            compare.UNREADABLE,
        ),
        (
            {"status": "bad_return", "type": "", "message": ""},
            "returned a value, which the grader cannot read",
            compare.UNREADABLE,
        ),
        (
            {"status": "bad_return"},
            "returned a value, which the grader cannot read",
            "unreadable return",
        ),
        ({"status": "not_run", "message": "cell 3 died"}, "cell 3 died", compare.EXCEPTION),
    ],
)
def test_each_status_is_described_in_full(outcome, text, kind):
    assert same(compare.status_problem(outcome), text, kind)


def test_a_normal_return_is_no_problem_unless_it_mutated_its_input():
    assert compare.status_problem(returned(1.0)) is None
    assert compare.returned(returned(1.0)) is None
    assert same(
        compare.returned(returned(1.0, mutated=True)),
        "mutated its input (changed an argument in place); work on a copy instead",
        compare.MUTATION,
    )
    timeout = {"status": "timeout", "message": "slow", "mutated": True}
    assert compare.returned(timeout).kind == compare.TIMEOUT


# ------------------------------------------------------------------ raised


@pytest.mark.parametrize(
    ("outcome", "expected", "text", "kind"),
    [
        (
            returned(1.5),
            ("ValueError", "TypeError"),
            "returned 1.5 instead of raising ValueError or TypeError",
            compare.NO_RAISE,
        ),
        (
            {"status": "raised", "exc_type": "ValueError", "message": "  "},
            "ValueError",
            "raised ValueError with an empty message; say what was wrong",
            compare.EMPTY_MESSAGE,
        ),
        (
            {"status": "raised", "exc_type": "ValueError"},
            "ValueError",
            "raised ValueError with an empty message; say what was wrong",
            compare.EMPTY_MESSAGE,
        ),
        (
            {"status": "raised", "exc_type": "KeyError", "message": "'k'"},
            ("ValueError", "TypeError"),
            "raised KeyError ('k') instead of ValueError or TypeError",
            compare.WRONG_EXCEPTION,
        ),
        (
            {"status": "raised", "exc_type": "KeyError", "message": ""},
            "ValueError",
            "raised KeyError instead of ValueError",
            compare.WRONG_EXCEPTION,
        ),
        (
            {"status": "raised", "exc_type": "NotImplementedError", "message": ""},
            "ValueError",
            "raised NotImplementedError — the answer cell has not been completed yet",
            compare.NOT_ATTEMPTED,
        ),
    ],
)
def test_raised_names_what_happened_instead(outcome, expected, text, kind):
    assert same(compare.raised(outcome, expected), text, kind)


def test_the_expected_exception_with_a_message_is_no_problem():
    outcome = {"status": "raised", "exc_type": "TypeError", "message": "bad"}
    assert compare.raised(outcome, ("ValueError", "TypeError")) is None


# ------------------------------------------------------------------ float_array


def test_float_array_names_the_byte_order_either_way():
    _, big = compare.float_array(returned(np.ones(2, dtype=">f8")), dtype=np.float64)
    assert same(
        big,
        "returned float64 in big-endian byte order (>f8) where native <f8 was expected",
        compare.DTYPE,
    )
    _, little = compare.float_array(returned(np.ones(2, dtype="<f8")), dtype=">f8")
    assert same(
        little,
        "returned float64 in little-endian byte order (<f8) where native >f8 was expected",
        compare.DTYPE,
    )


def test_float_array_words_for_type_dtype_and_shape():
    _, problem = compare.float_array(returned(np.ones(2, dtype=np.float32)), dtype=np.float64)
    assert same(problem, "changed dtype float64 → float32", compare.DTYPE)
    _, problem = compare.float_array(returned(np.ones(2)), shape=(3,))
    assert same(problem, "returned shape (2,) where (3,) was expected", compare.SHAPE)
    _, problem = compare.float_array(returned(np.array([1 + 1j])))
    assert same(
        problem,
        "returned an array of dtype complex128 where a floating array was expected",
        compare.DTYPE,
    )
    _, problem = compare.float_array(returned("1.0", "str"))
    assert same(
        problem, "returned str '1.0' where a number or array was expected", compare.WRONG_TYPE
    )
    array, problem = compare.float_array(returned(np.arange(3, dtype=np.uint8)))
    assert problem is None and array.dtype == np.uint8


# ------------------------------------------------------------------ close


def test_close_describes_a_shape_mismatch():
    assert same(
        compare.close(np.ones(2), np.ones(3), ulps=1),
        "returned shape (2,) where (3,) was expected",
        compare.SHAPE,
    )


@pytest.mark.parametrize(
    ("got", "expected", "text", "kind"),
    [
        ([1.0, NAN], [1.0, 2.0], "returned nan at index (1,) where the true value is 2", "nan"),
        (
            [1.0, 3.0],
            [1.0, NAN],
            "returned 3 at index (1,) where the answer is nan (NaN must propagate)",
            compare.MISSING_NAN,
        ),
        (
            [INF, 1.0],
            [5.0, 1.0],
            "returned inf at index (0,) where the true value is 5 — overflow",
            compare.INF,
        ),
        (
            [-INF],
            [5.0],
            "returned -inf at index (0,) where the true value is 5 — overflow to -inf, or the "
            "log of an underflowed 0",
            compare.INF,
        ),
        (
            [2.0, 7.0],
            [2.0, -INF],
            "returned 7 at index (1,) where the answer is -inf",
            "wrong value",
        ),
        (
            [1.0, 0.0],
            [1.0, 1e-300],
            "returned 0 at index (1,) where the true value is 1e-300 — underflow (or cancellation)",
            compare.UNDERFLOW,
        ),
    ],
)
def test_close_names_the_index_of_a_non_finite_or_underflowed_element(got, expected, text, kind):
    assert same(compare.close(np.array(got), np.array(expected), ulps=4), text, kind)


def test_close_of_scalars_names_no_index():
    assert compare.close(NAN, 2.0, ulps=4) == "returned nan where the true value is 2"
    assert compare.close(0.0, 1e-300, ulps=4).kind == compare.UNDERFLOW
    assert "index" not in compare.close(3.0, 2.0, ulps=4)


def test_zero_is_not_an_underflow_when_the_true_value_is_within_atol():
    assert compare.close(0.0, 1e-3, atol=1e-3) is None
    assert compare.close(0.0, 1e-3, atol=1e-3 * (1 - 2**-52)).kind == compare.UNDERFLOW


def test_close_wording_with_ulps_only():
    problem = compare.close(np.array([1.0, 1.5]), np.array([1.0, 1.0]), ulps=2)
    assert same(
        problem,
        "lost accuracy: 2.3e+15 ULPs from the true value 1 at index (1,) (returned 1.5; "
        "allowed 2 ULPs of float64)",
        compare.ACCURACY,
    )
    problem = compare.close(1.0 + 2**-20, 1.0, ulps=1.25, dtype=np.float32, tolerance_note="why")
    assert problem == (
        "lost accuracy: 8 ULPs from the true value 1 (returned 1.000001; allowed 1.2 ULPs of "
        "float32; why)"
    )


def test_close_wording_with_atol_or_both():
    problem = compare.close(np.array([1.0, 1.25]), np.array([1.0, 1.0]), atol=0.125)
    assert same(
        problem,
        "lost accuracy: off by 0.25 (1.1e+15 ULPs) from the true value 1 at index (1,) "
        "(returned 1.25; allowed 0.12)",
        compare.ACCURACY,
    )
    problem = compare.close(1.0 + 2**-10, 1.0, ulps=1.0, atol=2**-12, tolerance_note="n")
    assert problem == (
        "lost accuracy: off by 0.00098 (4.4e+12 ULPs) from the true value 1 (returned "
        "1.0009765625; allowed 0.00024; n)"
    )


@pytest.mark.parametrize("ulps", [0, None])
def test_the_worst_element_is_the_one_furthest_outside_its_tolerance(ulps):
    atol = None if ulps is not None else 0.0
    # exact elements (error 0, allowed 0) are never the worst
    problem = compare.close(np.array([1.0, 1.5]), np.array([1.0, 1.0]), ulps=ulps, atol=atol)
    assert "at index (1,)" in problem


def test_the_worst_element_is_judged_relative_to_its_tolerance():
    # the same absolute error is far worse at 1.0 than at 1024.0 in ULPs
    got, expected = np.array([1.0 + 1e-6, 1024.0 + 1e-6]), np.array([1.0, 1024.0])
    assert "at index (0,)" in compare.close(got, expected, ulps=1)


def test_both_sides_are_rounded_to_float64_before_comparing():
    tiny = np.longdouble(2) ** -60  # lost when 1 + tiny is rounded to float64
    assert compare.close(np.array([np.longdouble(1) + tiny]), np.array([1.0]), ulps=0) is None
    assert compare.close(np.array([1.0]), np.array([np.longdouble(1) + tiny]), ulps=0) is None


def test_close_raises_no_floating_point_warning_on_extreme_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            assert compare.close(1.5, 1.0, atol=0.0).kind == compare.ACCURACY  # error / 0
            assert compare.close(1e300, 1e-300, ulps=1).kind == compare.ACCURACY  # ULPs overflow


# ------------------------------------------------------------------ equal


def test_equal_compares_plain_values_by_type_and_value():
    assert compare.equal(3, 3) is None and compare.equal("a", "a") is None
    assert same(compare.equal(1, True), "returned value 1 where True was expected", "wrong value")
    assert same(compare.equal(2, 3), "returned value 2 where 3 was expected", compare.WRONG)
    assert same(
        compare.equal(2, 3, what="index", kind=compare.WRONG_INDEX),
        "returned index 2 where 3 was expected",
        compare.WRONG_INDEX,
    )


def test_equal_compares_arrays_by_shape_and_elements():
    assert compare.equal(np.array([1, 2]), np.array([1, 2])) is None
    assert compare.equal([1, 2], np.array([1, 2])) is None
    assert compare.equal(np.array([1, 2]), [1, 2]) is None
    assert compare.equal(np.array([1, 2]), np.array([1, 3])) == (
        "returned value [1, 2] where [1, 3] was expected"
    )
    assert compare.equal(np.array([1, 1]), np.array([[1, 1]])) is not None
    assert compare.equal(np.array([1]), np.array([1, 1])) is not None
