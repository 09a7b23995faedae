"""Unit tests of the autograder's machinery: harness, comparison, feedback and the public API."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pytest

import autograder
from autograder.harness.calls import call, to_plain
from autograder.judge import compare
from autograder.judge.feedback import fmt, shorten


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


# --- warnings and printed output: noted, never penalised, never on stderr ----------------------

WARNING_LOG_PRODUCT = """
import numpy as np

def log_product(probs):
    p = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    return float(np.sum(np.log(p)))  # log(0) warns: divide by zero
"""


def _define(source: str, name: str):
    namespace: dict = {}
    exec(source, namespace)
    return namespace[name]


def test_a_warning_keeps_the_points_and_the_note_names_warning_input_and_fix(capfd):
    report = autograder.grade_function(
        "ex02_overflow", "log_product", _define(WARNING_LOG_PRODUCT, "log_product")
    )
    assert report.score == report.max_score, str(report)
    zero = next(g for g in report.groups if g.name == "zero")
    assert zero.passed
    assert "RuntimeWarning: divide by zero encountered in log" in zero.feedback
    assert "probs = [0.5, 0. , 0.3]" in zero.feedback or "probs = [0.5, 0., 0.3]" in zero.feedback
    assert 'np.errstate(divide="ignore")' in zero.feedback
    assert "costs no points" in zero.feedback
    basic = next(g for g in report.groups if g.name == "basic")
    assert basic.feedback == ""  # no warning there, no note
    assert capfd.readouterr().err == ""


def test_check_passes_and_prints_the_note_to_stdout_only(capfd):
    obj = _define(WARNING_LOG_PRODUCT, "log_product")
    assert autograder.check("ex02_overflow", "log_product", obj, "zero") is None
    captured = capfd.readouterr()
    assert "divide by zero" in captured.out and "np.errstate" in captured.out
    assert captured.err == ""


def test_printed_output_is_noted_without_costing_points(capfd):
    def softplus(x):
        print("computing softplus")
        x = np.asarray(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    report = autograder.grade_function("ex02_overflow", "softplus", softplus)
    assert report.score == report.max_score, str(report)
    assert all("printed 'computing softplus" in g.feedback for g in report.groups)
    assert capfd.readouterr().err == ""


def test_a_failing_group_keeps_the_note_after_the_diagnosis():
    def logsumexp(x, axis=None, keepdims=False):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))

    report = autograder.grade_function("ex03_logsumexp", "logsumexp", logsumexp)
    large = next(g for g in report.groups if g.name == "large")
    assert not large.passed
    lines = large.feedback.splitlines()
    assert lines[1].startswith("Likely cause:") and lines[2].startswith("Re-read:")
    assert lines[3].startswith("Note: on ") and "RuntimeWarning" in lines[3]


# --- overflow the student silences ------------------------------------------------------------


def test_a_students_errstate_cannot_silence_the_trap():
    def silenced(x):
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))

    @np.errstate(all="ignore")
    def decorated(x):
        return 1 / (1 + np.exp(-x))

    def with_seterr(x):
        old = np.seterr(all="ignore")
        try:
            return 1 / (1 + np.exp(-x))
        finally:
            np.seterr(**old)

    for function in (silenced, decorated, with_seterr):
        outcome = run(function, np.array([-1000.0]), trap=True)
        assert outcome["status"] == "overflow" and outcome["silenced"] is True, outcome
        # without the trap the same code runs quietly
        assert run(function, np.array([-1000.0]))["status"] == "returned"
    assert np.geterr()["over"] == "warn"  # the patch is gone afterwards


def test_the_silenced_overflow_feedback_says_so():
    def stable_sigmoid(x):
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-np.asarray(x)))

    report = autograder.grade_function("ex02_overflow", "stable_sigmoid", stable_sigmoid)
    assert {g.name for g in report.groups if not g.passed} == {"large", "float32"}
    large = next(g for g in report.groups if g.name == "large")
    assert "does not silence it here" in large.feedback


def test_library_code_keeps_its_own_error_state(tmp_path, monkeypatch):
    package = tmp_path / "site-packages"
    package.mkdir()
    (package / "quiet_lib.py").write_text(
        "import numpy as np\n"
        "def saturating_exp(x):\n"
        "    with np.errstate(over='ignore'):\n"
        "        return np.exp(x)\n"
    )
    monkeypatch.syspath_prepend(str(package))
    import quiet_lib

    outcome = run(quiet_lib.saturating_exp, np.array([1000.0]), trap=True)
    assert outcome["status"] == "returned" and np.isinf(outcome["value"][0])


# --- hints by diagnosis, numbers with enough digits, sections -------------------------------------


def test_every_diagnosis_has_a_neutral_hint():
    from autograder.judge.feedback import NEUTRAL_HINTS

    assert set(NEUTRAL_HINTS) == set(compare.DIAGNOSES)


def test_every_group_hint_is_keyed_by_a_known_diagnosis():
    from autograder.checks import ASSIGNMENTS, checks_for

    for assignment in ASSIGNMENTS:
        for check in checks_for(assignment).values():
            for group in check.groups:
                assert group.hints and set(group.hints) <= set(compare.DIAGNOSES), group.name


def test_an_in_place_standardise_is_told_about_mutation_not_about_the_mean():
    def standardise(X, mean, scale):
        X -= mean
        X /= scale
        return X

    report = autograder.grade_function("ex06_standardisation", "standardise", standardise)
    basic = next(g for g in report.groups if g.name == "basic")
    assert "mutated its input" in basic.feedback
    assert "changed in place" in basic.feedback.split("Likely cause:")[1]


def test_a_one_row_ddof1_scale_is_told_about_ddof_not_constant_columns():
    def fit_standardiser(X):
        X = np.asarray(X)
        if X.ndim != 2 or np.isnan(X).any():
            raise ValueError("X must be 2-D without NaN")
        std = X.std(axis=0, ddof=1)
        return X.mean(axis=0), np.where(std == 0, 1.0, std)

    report = autograder.grade_function("ex06_standardisation", "fit_standardiser", fit_standardiser)
    constant = next(g for g in report.groups if g.name == "constant")
    assert not constant.passed
    cause = constant.feedback.split("Likely cause:")[1]
    assert "ddof" in cause


def test_one_based_clip_indices_are_told_about_counting_from_zero():
    def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
        theta = np.array(theta0, dtype=np.float64)
        path, norms, clipped = [theta.copy()], [], []
        for step in range(n_steps):
            g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
            m = float(np.max(np.abs(g))) if g.size else 0.0
            norm = m * float(np.sqrt(np.sum((g / m) ** 2))) if m else 0.0
            norms.append(norm)
            if max_norm is not None and max_norm / (norm + 1e-6) < 1.0:
                clipped.append(step + 1)  # counts steps from 1
                g = g * (max_norm / (norm + 1e-6))
            theta = theta - lr * g
            path.append(theta.copy())
        return {
            "theta": theta,
            "path": np.array(path),
            "grad_norms": np.array(norms),
            "clipped": clipped,
        }

    report = autograder.grade_function("ex05_clipping", "sgd_with_clipping", sgd_with_clipping)
    failed = [g for g in report.groups if not g.passed]
    assert failed, str(report)
    for group in failed:
        cause = group.feedback.split("Likely cause:")[1]
        assert "counts from 0" in cause and "squares every entry" not in cause, group.feedback


def test_accuracy_feedback_shows_digits_that_tell_the_values_apart():
    problem = compare.close(np.nextafter(0.8, 1.0), 0.8, ulps=0.5)
    assert problem.kind == compare.ACCURACY
    assert "true value 0.8 " in problem and "returned 0.8000000000000002" in problem
    float32 = compare.close(np.float32(0.1) + np.float32(1e-7), 0.1, dtype=np.float32, ulps=0.5)
    assert "returned 0.1000001" in float32


def test_every_section_label_exists_in_its_chapter_under_its_title():
    from pathlib import Path

    from autograder.checks import ASSIGNMENTS, checks_for
    from autograder.judge import sections

    chapters = Path(__file__).resolve().parents[2] / "chapters"
    used = {
        group.section
        for assignment in ASSIGNMENTS
        for check in checks_for(assignment).values()
        for group in check.groups
    }
    for label in sorted(used):
        found = sections.scan_chapter(chapters / f"{sections.chapter_file(label)}.ipynb")
        assert label in found, f"{label} is not a label of its chapter; labels: {sorted(found)}"
        assert found[label] == sections.TITLES[label], (
            f"the heading under ({label})= is now {found[label]!r}: update "
            "autograder.judge.sections.TITLES"
        )


def test_section_links_use_the_books_base_url_when_configured(tmp_path, monkeypatch):
    from autograder.judge import sections

    monkeypatch.setattr(sections, "BOOK_ROOT", tmp_path)
    sections.base_url.cache_clear()
    try:
        assert sections.link("ch02-nan") == "chapters/02_overflow_underflow.html#ch02-nan"
        (tmp_path / "_config.yml").write_text("html:\n  baseurl: https://example.org/book/\n")
        sections.base_url.cache_clear()
        rendered = sections.render("ch02-nan")
        assert rendered == (
            "Chapter 2, Overflow, underflow and NaN § NaN: where it comes from and how it spreads "
            "(https://example.org/book/chapters/02_overflow_underflow.html#ch02-nan)"
        )
    finally:
        sections.base_url.cache_clear()
    with pytest.raises(ValueError, match="unknown section label"):
        sections.render("ch02-no-such-section")


def test_verdicts_judged_on_many_threads_leave_the_graders_output_alone():
    # The class grader judges students on several threads; each verdict captures stdout and
    # stderr while it runs. Overlapping captures once left sys.stdout pointing at a buffer, and
    # the batch's summary vanished.
    import sys
    import threading

    from autograder.checks import get_check
    from autograder.judge.grading import judge

    case = get_check("ex03_logsumexp", "logsumexp").groups[0].cases[0]
    outcome = {"status": "returned", "value": 0.0, "type": "float", "mutated": False}
    stdout, stderr = sys.stdout, sys.stderr

    def judge_many():
        for _ in range(200):
            judge(case, outcome)

    threads = [threading.Thread(target=judge_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sys.stdout is stdout and sys.stderr is stderr
