"""The ex06_standardisation checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from mutant_grading import (
    define,
    load_mutants,
)

import autograder
from autograder.judge import oracle

ASSIGNMENT = "ex06_standardisation"


MUTANTS = load_mutants(ASSIGNMENT)


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


def test_threshold_and_empty_welford_feedback():
    constant = _feedback("fit_standardiser", -1, "constant")
    assert "2.000000165480742e-10" in constant and "std < 1e-6" in constant
    empty = _feedback("welford", -1, "edges")
    assert "(0, nan, nan), not 0.0" in empty and "NaN in the input" not in empty
