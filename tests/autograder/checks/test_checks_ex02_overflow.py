"""The ex02_overflow checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from mutant_grading import (
    mutant_feedback,
)

from autograder.judge import oracle

ASSIGNMENT = "ex02_overflow"


_feedback = partial(mutant_feedback, ASSIGNMENT)


def test_naive_sigmoid_feedback_names_the_trapped_overflow(capsys, recwarn):
    feedback = _feedback("stable_sigmoid", 0, "large", capsys, recwarn)
    assert "overflowed in an intermediate step" in feedback
    assert "overflow trapped" in feedback
    assert "Stable sigmoid and softplus" in feedback


def test_where_sigmoid_is_told_that_np_where_evaluates_both_branches(capsys, recwarn):
    feedback = _feedback("stable_sigmoid", 1, "large", capsys, recwarn)
    assert "np.where evaluates both branches" in feedback


def test_naive_softplus_feedback_names_underflow_and_cancellation(capsys, recwarn):
    feedback = _feedback("softplus", 0, "negative", capsys, recwarn)
    assert "— underflow" in feedback
    assert "catastrophic cancellation" in feedback and "log1p" in feedback


def test_naive_product_feedback_names_the_log_of_an_underflowed_zero(capsys, recwarn):
    feedback = _feedback("log_product", 0, "underflow", capsys, recwarn)
    assert "the log of an underflowed 0" in feedback
    assert "work in the log domain" in feedback


def test_unclipped_bce_feedback_names_the_epsilon_guard(capsys, recwarn):
    feedback = _feedback("clipped_bce", 0, "extreme", capsys, recwarn)
    assert "returned inf" in feedback or "returned nan" in feedback
    assert "epsilon guard" in feedback


def test_broadcasting_bce_is_told_about_shapes(capsys, recwarn):
    feedback = _feedback("clipped_bce", 1, "bad_input", capsys, recwarn)
    assert "instead of raising ValueError" in feedback
    assert "(3, 1) and (3,)" in feedback


def test_log_product_oracle():
    assert oracle.log_product([0.5, 0.25]) == math.log(0.125)
    assert oracle.log_product([0.01] * 200) == pytest.approx(200 * math.log(0.01), rel=1e-15)
    assert oracle.log_product([0.3, 0.0]) == -math.inf
    assert oracle.log_product([]) == 0.0


def test_clipped_bce_oracle_uses_the_float64_clipping_bounds():
    eps = 1e-7
    assert oracle.clipped_bce([1.0], [0.0]) == pytest.approx(-math.log(eps), rel=1e-15)
    upper = 1.0 - eps  # rounded in float64, as an implementation computes it
    assert oracle.clipped_bce([0.0], [1.0]) == pytest.approx(-math.log(1.0 - upper), rel=1e-15)
    got = oracle.clipped_bce([1.0, 0.0], [0.8, 0.3])
    assert got == pytest.approx(-(math.log(0.8) + math.log1p(-0.3)) / 2, rel=1e-15)


def test_sigmoid_and_softplus_oracles_in_the_tails():
    assert oracle.sigmoid(-1000.0) == pytest.approx(math.exp(-1000.0 + 0.0), abs=0.0)
    assert oracle.sigmoid(-700.0) == pytest.approx(math.exp(-700.0), rel=1e-15)
    assert oracle.softplus(-40.0) == pytest.approx(math.exp(-40.0), rel=1e-15)
    assert oracle.softplus(1000.0) == 1000.0
    assert np.isnan(oracle.sigmoid(math.nan))


def test_a_low_softplus_threshold_is_told_how_high_it_must_be(capsys, recwarn):
    feedback = _feedback("softplus", -1, "positive", capsys, recwarn)
    assert "33.3 in float64" in feedback and "PyTorch's 20 is too low" in feedback


def test_a_clipped_sigmoid_is_told_about_clipping_not_overflow(capsys, recwarn):
    feedback = _feedback("stable_sigmoid", -1, "large", capsys, recwarn)
    assert "clipping x to a range" in feedback
    assert "overflows in exp(-x)" not in feedback


def test_sigmoid_tolerance_follows_the_conditioning():
    from autograder.checks.ex02_overflow import sigmoid_condition

    kappa = sigmoid_condition(np.array([-30.0, 0.0, 30.0, -np.inf, np.nan]))
    assert kappa[0] == pytest.approx(30.0, rel=1e-12)  # |x|·σ(30)
    assert kappa[1] == 0.0 and kappa[2] < 1e-11 and kappa[3] == 0.0
