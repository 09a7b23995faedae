"""The ex06_standardisation checks: fair to every correct implementation, precise about mutants."""

from __future__ import annotations

from fractions import Fraction
from functools import partial

import numpy as np
import pytest
from mutant_grading import (
    correct_cases,
    define,
    grade_quietly,
    load_mutants,
    mutant_cases,
)

import autograder
import solutions.standardisation as reference
from autograder.checks import get_check
from autograder.judge import oracle

ASSIGNMENT = "ex06_standardisation"
NAMES = ("fit_standardiser", "standardise", "welford", "fit_linear_regression_gd")


MUTANTS = load_mutants(ASSIGNMENT)
_grade_quietly = partial(grade_quietly, ASSIGNMENT)


CORRECT_CASES = correct_cases(MUTANTS)
MUTANT_CASES = mutant_cases(MUTANTS)


def test_every_name_has_correct_variants_and_mutants():
    for name in NAMES:
        assert len(MUTANTS.CORRECT[name]) >= 3, name
        assert len(MUTANTS.MUTANTS[name]) >= 1, name
        assert len(get_check(ASSIGNMENT, name).groups) >= 2, name
    assert set(MUTANTS.ANSWERS) == {"q1", "q2"}


@pytest.mark.parametrize("name", NAMES)
def test_reference_gets_full_marks(name, capsys, recwarn):
    report = _grade_quietly(name, getattr(reference, name), capsys, recwarn)
    assert report.score == report.max_score, str(report)


@pytest.mark.parametrize(("name", "source"), CORRECT_CASES)
def test_correct_implementations_get_full_marks(name, source, capsys, recwarn):
    report = _grade_quietly(name, define(name, source), capsys, recwarn)
    assert report.score == report.max_score, str(report)


@pytest.mark.parametrize(("name", "source", "groups"), MUTANT_CASES)
def test_mutants_fail_exactly_the_expected_groups(name, source, groups, capsys, recwarn):
    report = _grade_quietly(name, define(name, source), capsys, recwarn)
    failed = {group.name for group in report.groups if not group.passed}
    assert failed == groups, str(report)
    if groups != {group.name for group in report.groups}:
        assert 0 < report.score < report.max_score, str(report)


def _feedback(name: str, index: int, group: str) -> str:
    source = MUTANTS.MUTANTS[name][index][0]
    report = autograder.grade_function(ASSIGNMENT, name, define(name, source))
    (result,) = [g for g in report.groups if g.name == group]
    assert not result.passed
    return result.feedback


def test_textbook_variance_feedback_names_the_cancellation():
    feedback = _feedback("fit_standardiser", 0, "offset")
    assert "scale" in feedback and "E[x²] - E[x]²" in feedback
    assert "catastrophic cancellation" in feedback
    assert "Computing the variance stably" in feedback


def test_raw_gradient_descent_feedback_is_the_nan_diagnosis():
    feedback = _feedback("fit_linear_regression_gd", 0, "scales")
    assert "returned nan" in feedback and "Standardise" in feedback


def test_other_feedback():
    assert "where 1.0 was expected" in _feedback("fit_standardiser", 1, "constant")
    assert "instead of raising ValueError" in _feedback("fit_standardiser", 3, "errors")
    assert "changed dtype float32 → float64" in _feedback("standardise", 1, "dtype")
    assert "mutated its input" in _feedback("standardise", 2, "basic")
    assert "where the answer is nan" in _feedback("welford", 2, "edges")


def test_exact_statistics_oracles():
    values = 1e9 + np.array([0.5, 1.5, -0.25, 2.0])
    mean, var = oracle.mean_and_variance(values)
    exact = [Fraction(float(v)) for v in values]
    centre = sum(exact) / 4
    assert mean == float(centre)
    assert var == float(sum((v - centre) ** 2 for v in exact) / 4)
    assert all(np.isnan(oracle.mean_and_variance([])))
    means, stds = oracle.column_mean_and_std(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_array_equal(means, [2.0, 5.0])
    np.testing.assert_array_equal(stds, [1.0, 0.0])
    z = oracle.standardise(np.array([[1e9 + 1.0]]), np.array([1e9]), np.array([3.0]))
    assert z[0, 0] == 1 / 3


def test_least_squares_oracle_recovers_an_exact_fit():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5e4, 1e4, 30), rng.normal(0, 1e-3, 30)])
    w_true = np.array([2e-3, 300.0])
    y = X @ w_true + 4.0
    w, b = oracle.least_squares(X, y)
    np.testing.assert_allclose(w, w_true, rtol=1e-12)
    assert b == pytest.approx(4.0, abs=1e-9)


def test_multiple_choice_key():
    for question, letter in MUTANTS.ANSWERS.items():
        assert autograder.grade_function(ASSIGNMENT, question, letter).score == 1
        wrong = next(o for o in "abcd" if o != letter)
        report = autograder.grade_function(ASSIGNMENT, question, wrong)
        assert report.score == 0 and f"'{letter}'" not in report.groups[0].feedback


def test_threshold_and_empty_welford_feedback():
    constant = _feedback("fit_standardiser", -1, "constant")
    assert "2.000000165480742e-10" in constant and "std < 1e-6" in constant
    empty = _feedback("welford", -1, "edges")
    assert "(0, nan, nan), not 0.0" in empty and "NaN in the input" not in empty
