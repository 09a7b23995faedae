"""Edge semantics of the verdict toolkit (autograder.judge.compare) and the oracles
(autograder.judge.oracle).

Each test pins one behaviour a plausible one-line change would break: an infinity of the wrong
sign, a time-out or overflow where an exception is expected, a bool or int where a float is
required, an oracle left at mpmath's default 15 digits, NaN together with inf.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from ulps import assert_ulps

from autograder.judge import compare, oracle

INF, NAN = math.inf, math.nan


def _returned(value, type_name: str) -> dict:
    return {"status": "returned", "value": value, "type": type_name, "mutated": False}


# ------------------------------------------------------------------ infinities and NaN


@pytest.mark.parametrize(("got", "expected"), [(-INF, INF), (INF, -INF)])
def test_close_rejects_an_infinity_of_the_wrong_sign(got, expected):
    problem = compare.close(np.array(got), np.array(expected), ulps=4)
    assert problem is not None and problem.kind == compare.WRONG
    assert f"where the answer is {'inf' if expected > 0 else '-inf'}" in problem


def test_close_accepts_the_right_infinity_and_names_the_sign_of_a_spurious_one():
    assert compare.close(np.array([INF, -INF]), np.array([INF, -INF]), ulps=0) is None
    plus = compare.close(np.array(INF), np.array(5.0), ulps=4)
    minus = compare.close(np.array(-INF), np.array(5.0), ulps=4)
    assert plus.kind == minus.kind == compare.INF
    assert plus.endswith("— overflow")
    assert "log of an underflowed 0" in minus and "log of" not in plus


@pytest.mark.parametrize(
    ("got", "expected", "kind"),
    [
        (INF, NAN, compare.MISSING_NAN),  # an inf is not a NaN
        (NAN, INF, compare.NAN),
        (NAN, -INF, compare.NAN),
        (-INF, NAN, compare.MISSING_NAN),
    ],
)
def test_close_nan_and_inf_are_not_interchangeable(got, expected, kind):
    problem = compare.close(np.array(got), np.array(expected), ulps=1e6, atol=1e300)
    assert problem is not None and problem.kind == kind


def test_close_never_warns(recwarn):
    """Matching infinities (inf - inf) and NaNs must not leak a RuntimeWarning into grading."""
    got = np.array([INF, -INF, NAN, 1.0, INF])
    expected = np.array([INF, -INF, NAN, 1.0, 2.0])
    with np.errstate(all="warn"):
        assert compare.close(got[:4], expected[:4], ulps=1) is None
        assert compare.close(got, expected, ulps=1).kind == compare.INF
    assert [str(w.message) for w in recwarn] == []


def test_close_is_silent_whatever_the_error_state():
    """An error too large for float64 and an exact element beside a failing one (0/0 when the
    error is compared with a zero allowance) fail or pass without a floating-point error."""
    with np.errstate(all="raise"):
        problem = compare.close(np.array([1.7e308]), np.array([-1.7e308]), ulps=4)
        assert problem.kind == compare.ACCURACY and "-1.7e+308" in problem
        problem = compare.close(np.array([1.0, 2.5]), np.array([1.0, 2.0]), atol=0.0)
        assert problem.kind == compare.ACCURACY and "at index (1,)" in problem


def test_close_nan_matches_nan_whatever_the_tolerance():
    assert compare.close(np.array([NAN, 1.0]), np.array([NAN, 1.0]), ulps=0) is None


@pytest.mark.parametrize("values", [[NAN, INF], [INF, NAN], [1.0, -INF, NAN], [NAN, -INF]])
def test_global_norm_oracle_nan_wins_over_inf(values):
    assert math.isnan(oracle.global_norm([np.array(values)]))
    assert math.isnan(oracle.global_norm([np.array(values[:1]), np.array(values[1:])]))


def test_global_norm_oracle_inf_and_overflow():
    assert oracle.global_norm([np.array([1.0, -INF])]) == INF
    assert oracle.global_norm([np.array([1.5e308, 1.5e308])]) == INF  # beyond float64's max
    assert oracle.global_norm([np.array([1e308, 1e308])]) < INF  # 1.41e308 is still finite
    with mpmath.workdps(50):
        root2 = mpmath.sqrt(2) * mpmath.mpf(1e200)
    assert_ulps(oracle.global_norm([np.array([1e200]), np.array([-1e200])]), root2, 0.5)
    assert oracle.global_norm([]) == 0.0


def test_close_underflow_is_diagnosed_only_for_representable_values():
    # 1e-300 underflowing to 0 is a mistake; 1e-330 is below float64's smallest subnormal / 2,
    # so 0 is its correct rounding.
    assert compare.close(np.array(0.0), np.array(1e-300), ulps=4).kind == compare.UNDERFLOW
    assert compare.close(np.array(0.0), np.array(2e-324), ulps=4) is None
    # float32: values below half its smallest subnormal (2**-150) round to 0, those above do
    # not. (Halving np.finfo(np.float32).smallest_subnormal in float32 gives 0, which once
    # made every tiny float32 result an "underflow".)
    half = 2.0**-150
    for below in (1e-46, half):
        assert compare.close(np.array(0.0), np.array(below), dtype=np.float32, ulps=4) is None
    for above in (np.nextafter(half, 1.0), 1e-44):
        problem = compare.close(np.array(0.0), np.array(above), dtype=np.float32, ulps=4)
        assert problem.kind == compare.UNDERFLOW
    # Within atol, 0 is not an underflow.
    assert compare.close(np.array(0.0), np.array(1e-13), atol=1e-12) is None


def test_close_ulps_are_of_the_requested_dtype():
    one32 = float(np.spacing(np.float32(1.0)))
    assert compare.close(np.array(1.0 + one32), np.array(1.0), dtype=np.float32, ulps=1) is None
    problem = compare.close(np.array(1.0 + 2 * one32), np.array(1.0), dtype=np.float32, ulps=1)
    assert problem.kind == compare.ACCURACY and "2 ULPs" in problem
    # The same error is millions of float64 ULPs.
    assert compare.close(np.array(1.0 + one32), np.array(1.0), ulps=1).kind == compare.ACCURACY


def test_close_passes_when_either_tolerance_is_met():
    # 3 ULPs from 1.0 is outside 1 ULP but inside atol = 1e-15; outside both fails.
    got = np.array(1.0 + 3 * 2.0**-52)
    assert compare.close(got, np.array(1.0), ulps=1, atol=1e-15) is None
    assert compare.close(got, np.array(1.0), ulps=1, atol=1e-16) is not None
    assert compare.close(got, np.array(1.0), ulps=3) is None


# ---------------------------------------------------------- outcomes where a raise is wanted


@pytest.mark.parametrize(
    ("outcome", "kind", "words"),
    [
        ({"status": "timeout", "message": "took longer than 10 s"}, compare.TIMEOUT, "10 s"),
        ({"status": "overflow", "where": "line 3"}, compare.OVERFLOW, "line 3"),
        (
            {"status": "raised", "exc_type": "NotImplementedError", "message": ""},
            compare.NOT_ATTEMPTED,
            "not been completed",
        ),
        ({"status": "bad_return", "type": "generator"}, compare.UNREADABLE, "generator"),
        ({"status": "not_run", "message": "defined no f"}, compare.EXCEPTION, "defined no f"),
    ],
)
def test_raised_does_not_accept_other_failures(outcome, kind, words):
    problem = compare.raised(outcome, ("ValueError", "TypeError"))
    assert problem is not None and problem.kind == kind and words in problem


def test_raised_accepts_any_of_the_named_types_and_wants_a_message():
    for name in ("ValueError", "TypeError"):
        ok = {"status": "raised", "exc_type": name, "message": "x must be finite"}
        assert compare.raised(ok, ("ValueError", "TypeError")) is None
    blank = {"status": "raised", "exc_type": "ValueError", "message": "   "}
    assert compare.raised(blank, "ValueError").kind == compare.EMPTY_MESSAGE
    # A subclass name is not the named type: the check compares names.
    sub = {"status": "raised", "exc_type": "ZeroDivisionError", "message": "division by zero"}
    problem = compare.raised(sub, "ArithmeticError")
    assert problem.kind == compare.WRONG_EXCEPTION and "(division by zero)" in problem


def test_returned_rejects_timeouts_and_mutation():
    assert compare.returned({"status": "timeout", "message": "t"}).kind == compare.TIMEOUT
    mutated = dict(_returned(1.0, "float"), mutated=True)
    assert compare.returned(mutated).kind == compare.MUTATION
    assert compare.returned(_returned(1.0, "float")) is None


def test_returned_items_reads_a_tuple_of_the_right_length():
    assert compare.returned_items(_returned([1.0, 2.0], "tuple"), "a pair (w, b)", 2) == (
        [1.0, 2.0],
        None,
    )
    value, problem = compare.returned_items(_returned([1, 2, 3], "tuple"), "a pair (w, b)", 2)
    assert value is None and problem == "returned [1, 2, 3] where a pair (w, b) was expected"
    assert problem.kind == compare.WRONG_TYPE
    value, problem = compare.returned_items(_returned(2.0, "float"), "a pair (w, b)", 2)
    assert value is None and problem.kind == compare.WRONG_TYPE and "returned 2" in problem
    raised = {"status": "raised", "exc_type": "ValueError", "message": "m", "where": ""}
    value, problem = compare.returned_items(raised, "a pair (w, b)", 2)
    assert value is None and problem.kind == compare.EXCEPTION


# ------------------------------------------------------------------ the type of a float result


@pytest.mark.parametrize("value", [True, False])
def test_float_array_rejects_a_python_bool(value):
    for kwargs in ({}, {"dtype": np.float64}, {"shape": ()}):
        array, problem = compare.float_array(_returned(value, "bool"), **kwargs)
        assert array is None and problem.kind == compare.WRONG_TYPE
        assert f"returned bool {value}" in problem


def test_float_array_rejects_a_numpy_bool():
    array, problem = compare.float_array(_returned(np.array([True, False]), "ndarray"))
    assert array is None and problem.kind == compare.DTYPE and "dtype bool" in problem


@pytest.mark.parametrize("value", [3, np.int64(3), np.array([1, 2])])
def test_float_array_rejects_an_int_where_a_float_dtype_is_required(value):
    array, problem = compare.float_array(_returned(value, type(value).__name__), dtype=np.float64)
    assert array is None and problem.kind == compare.DTYPE and "int64" in problem


def test_float_array_without_a_dtype_reads_ints_and_floats():
    array, problem = compare.float_array(_returned(3, "int"), shape=())
    assert problem is None and array == 3
    array, problem = compare.float_array(_returned(2.5, "float"), dtype=np.float64, shape=())
    assert problem is None and array.dtype == np.float64 and array == 2.5
    array, problem = compare.float_array(_returned(np.float32(2.5), "float32"), dtype=np.float32)
    assert problem is None and array.dtype == np.float32


@pytest.mark.parametrize(
    ("value", "type_name"), [(None, "NoneType"), ("1.0", "str"), ([1.0], "list")]
)
def test_float_array_rejects_non_numbers(value, type_name):
    array, problem = compare.float_array(_returned(value, type_name))
    assert array is None and problem.kind == compare.WRONG_TYPE and type_name in problem


def test_float_array_rejects_complex():
    array, problem = compare.float_array(_returned(np.array([1j]), "ndarray"))
    assert array is None and problem.kind == compare.DTYPE and "complex" in problem


# ------------------------------------------------------------------ oracle precision


def _at_default_precision(func, *args):
    """Call an oracle while the global mpmath context is at its default 15 digits.

    Other test modules set ``mpmath.mp.dps = 60`` globally; an oracle that relied on that
    instead of raising the precision itself would pass there and fail in a fresh process.
    """
    with mpmath.workdps(15):
        return func(*args)


def test_oracles_raise_mpmath_precision_themselves():
    with mpmath.workdps(100):
        tiny40 = mpmath.log1p(mpmath.exp(-40))
        tiny30 = mpmath.log1p(mpmath.exp(-30))
        lse = mpmath.log(mpmath.exp(1) + mpmath.exp(1 + mpmath.mpf(2) ** -40))
    # log(1 + 4e-18) is 0 at 15 digits: the log-softmax of the dominant class needs more.
    got = _at_default_precision(oracle.log_softmax, [0.0, -40.0])
    assert_ulps(got[0], -tiny40, 0.5)
    # lse - x_t cancels 30 + 9e-14 against 30: 15 digits leave about two correct.
    assert_ulps(_at_default_precision(oracle.cross_entropy, [[30.0, 0.0]], [0]), tiny30, 0.5)
    assert_ulps(
        _at_default_precision(oracle.softmax, [0.0, -40.0])[1],
        mpmath.exp(-40) / (1 + mpmath.exp(-40)),
        0.5,
    )
    assert_ulps(_at_default_precision(oracle.logsumexp, [1.0, 1.0 + 2.0**-40]), lse, 0.5)
    assert oracle.PRECISION_DIGITS >= 30


def test_oracle_does_not_change_the_global_precision():
    with mpmath.workdps(15):
        oracle.logsumexp([1.0, 2.0])
        assert mpmath.mp.dps == 15
