"""Unit tests of the autograder's machinery: harness, comparison, feedback and the public API."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pytest

import autograder
from autograder import compare
from autograder.feedback import fmt, shorten
from autograder.harness import call, to_plain


def run(obj, *args, trap=False, limit=5.0, **payload):
    return call(obj, {"args": list(args), **payload}, trap_overflow=trap, time_limit=limit)


# --- harness -----------------------------------------------------------------------------------


def test_call_records_value_type_and_dtype():
    outcome = run(lambda x: x.sum(dtype=np.float32), np.ones(3, dtype=np.float32))
    assert outcome["status"] == "returned"
    assert outcome["type"] == "numpy.float32"
    assert outcome["value"].dtype == np.float32 and outcome["value"] == 3


def test_call_detects_mutation_of_an_input():
    def scale_in_place(x):
        x *= 2
        return x

    assert run(scale_in_place, np.ones(3))["mutated"] is True
    assert run(lambda x: x * 2, np.ones(3))["mutated"] is False


def test_call_records_exception_and_the_students_line():
    def broken(x):
        return 1 / 0

    outcome = run(broken, 1.0)
    assert outcome["status"] == "raised"
    assert outcome["exc_type"] == "ZeroDivisionError"
    assert "return 1 / 0" in outcome["where"]


def test_trapped_overflow_is_its_own_status():
    outcome = run(np.exp, np.array([1000.0]), trap=True)
    assert outcome["status"] == "overflow"
    untrapped = run(np.exp, np.array([1000.0]))
    assert untrapped["status"] == "returned" and np.isinf(untrapped["value"][0])
    assert any("overflow" in w for w in untrapped["warnings"])


def test_time_limit_interrupts_an_endless_loop():
    def forever(x):
        while True:
            pass

    start = time.perf_counter()
    outcome = run(forever, 1.0, limit=0.3)
    assert outcome["status"] == "timeout"
    assert time.perf_counter() - start < 3


def test_timeout_is_not_swallowed_by_except_exception():
    def stubborn(x):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass

    assert run(stubborn, 1.0, limit=0.2)["status"] == "timeout"


def test_system_exit_and_keyboard_interrupt_are_recorded_not_raised():
    def leave(x):
        sys.exit(3)

    def interrupt(x):
        raise KeyboardInterrupt

    assert run(leave, 1.0)["exc_type"] == "SystemExit"
    assert run(interrupt, 1.0)["exc_type"] == "KeyboardInterrupt"


def test_output_and_warnings_never_escape(capfd):
    def noisy(x):
        print("to stdout")
        print("to stderr", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning, stacklevel=1)
        return x

    outcome = run(noisy, 1.0)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "to stdout" in outcome["stdout"] and "to stderr" in outcome["stdout"]
    assert outcome["warnings"] == ["RuntimeWarning: careful"]


def test_one_shot_iteration_payload():
    outcome = run(lambda chunks: [len(c) for c in chunks], [np.ones(2), np.ones(3)], iterate=[0])
    assert outcome["value"] == [2, 3]
    twice = run(lambda chunks: (list(chunks), list(chunks))[1], [np.ones(2)], iterate=[0])
    assert twice["value"] == []


def test_to_plain_strips_subclasses_and_rigged_equality():
    class Liar(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    class Sub(np.ndarray):
        pass

    assert type(to_plain(Liar(2.5))) is float
    assert type(to_plain(np.arange(3.0).view(Sub))) is np.ndarray
    with pytest.raises(TypeError):
        to_plain(object())


def test_not_callable_is_reported():
    outcome = run(42, 1.0)
    assert outcome["status"] == "raised" and "expected a function" in outcome["message"]


# --- comparison ------------------------------------------------------------------------------


def test_ulp_of_matches_numpy_spacing():
    values = np.array([1.0, 3.5, 1e-310, 1e300, 0.0])
    assert np.array_equal(compare.ulp_of(values, np.float64), np.spacing(values))
    as32 = np.array([1.0, 100.0, 1e-40], dtype=np.float32)
    assert np.array_equal(compare.ulp_of(as32.astype(np.float64), np.float32), np.spacing(as32))


@pytest.mark.parametrize(
    ("got", "expected", "words"),
    [
        (np.inf, 1001.4076, "returned inf where the true value is 1001.4076 — overflow"),
        (-np.inf, -999.59, "log of an underflowed 0"),
        (0.0, 1e-300, "— underflow"),
        (np.nan, 2.0, "returned nan"),
        (2.0, np.nan, "NaN must propagate"),
        (1.0 + 2**-40, 1.0, "lost accuracy"),
    ],
)
def test_close_names_the_failure_mode(got, expected, words):
    problem = compare.close(np.array(got), np.array(expected), dtype=np.float64, ulps=4)
    assert problem is not None and words in problem


def test_close_accepts_within_tolerance_and_reports_worst_index():
    expected = np.array([1.0, 2.0, 3.0])
    got = expected + np.array([1, 3, 40]) * np.spacing(expected)
    assert compare.close(got[:2], expected[:2], dtype=np.float64, ulps=4) is None
    problem = compare.close(got, expected, dtype=np.float64, ulps=4)
    assert "at index (2,)" in problem and "40 ULPs" in problem


def test_close_absolute_tolerance_for_results_near_zero():
    assert compare.close(np.array(1e-13), np.array(0.0), dtype=np.float64, atol=1e-12) is None
    assert "off by" in compare.close(np.array(1e-11), np.array(0.0), dtype=np.float64, atol=1e-12)


def test_float_array_checks_dtype_and_shape():
    outcome = {"status": "returned", "value": np.ones(2), "type": "ndarray", "mutated": False}
    assert compare.float_array(outcome, dtype=np.float32)[1] == "changed dtype float32 → float64"
    assert "shape (2,)" in compare.float_array(outcome, shape=(3,))[1]


def test_raised_wants_the_named_exception_with_a_message():
    ok = {"status": "raised", "exc_type": "ValueError", "message": "bad shape"}
    empty = {"status": "raised", "exc_type": "ValueError", "message": ""}
    other = {"status": "raised", "exc_type": "TypeError", "message": "x"}
    returned = {"status": "returned", "value": 1.0}
    assert compare.raised(ok, "ValueError") is None
    assert "empty message" in compare.raised(empty, "ValueError")
    assert "instead of ValueError" in compare.raised(other, "ValueError")
    assert "instead of raising ValueError" in compare.raised(returned, "ValueError")


# --- feedback --------------------------------------------------------------------------------


def test_fmt_and_shorten():
    assert fmt(1001.40760596) == "1001.41"
    assert fmt(float("-inf")) == "-inf"
    assert shorten(np.arange(100.0)).startswith("[0., 1., 2., ...")
    assert "(float32)" in shorten(np.ones(2, dtype=np.float32))
    assert len(shorten("x" * 500)) <= 120


# --- public API ------------------------------------------------------------------------------


def test_check_raises_assertion_with_feedback_and_passes_silently(capfd):
    def naive(x, axis=None, keepdims=False):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))

    autograder.check("ex03_logsumexp", "logsumexp", naive, "basic")
    with pytest.raises(AssertionError) as failure:
        autograder.check("ex03_logsumexp", "logsumexp", naive, "large")
    message = str(failure.value)
    assert "group 'large'" in message and "overflow" in message and "Re-read:" in message
    assert capfd.readouterr().err == ""


def test_grade_function_reports_partial_credit():
    def naive(x, axis=None, keepdims=False):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))

    report = autograder.grade_function("ex03_logsumexp", "logsumexp", naive)
    failed = {group.name for group in report.groups if not group.passed}
    assert failed == {"large", "float32"}
    assert 0 < report.score < report.max_score
    assert "FAIL" in str(report)


def test_a_verdict_that_cannot_read_the_data_fails_the_group_without_crashing():
    report = autograder.grade_function(
        "ex03_logsumexp", "logsumexp", lambda x, axis=None, keepdims=False: {"not": "an array"}
    )
    assert report.score == 0
    assert all("where a number or array was expected" in g.feedback for g in report.groups)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("ex99", "logsumexp", None, "basic"), "unknown assignment 'ex99'"),
        (("ex03_logsumexp", "lse", None, "basic"), "no graded name 'lse'"),
        (("ex03_logsumexp", "logsumexp", None, "hard"), "no group 'hard'"),
    ],
)
def test_unknown_names_give_clear_errors(args, words):
    with pytest.raises(ValueError, match=words):
        autograder.check(*args)
