"""The ex03_logsumexp checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from mutant_grading import (
    define,
    grade_quietly,
    load_mutants,
)

from autograder.judge import oracle

ASSIGNMENT = "ex03_logsumexp"


MUTANTS = load_mutants(ASSIGNMENT)
_grade_quietly = partial(grade_quietly, ASSIGNMENT)


def test_naive_logsumexp_feedback_names_overflow_and_the_section(capsys, recwarn):
    source, _ = MUTANTS.MUTANTS["logsumexp"][0]
    report = _grade_quietly("logsumexp", define("logsumexp", source), capsys, recwarn)
    large = next(g for g in report.groups if g.name == "large")
    assert "overflowed in an intermediate step" in large.feedback
    assert "subtract the maximum" in large.feedback
    assert "The shift identity" in large.feedback
    assert "group 'large'" in large.feedback


def test_dtype_mutant_feedback_says_changed_dtype(capsys, recwarn):
    source, _ = MUTANTS.MUTANTS["logsumexp"][2]
    report = _grade_quietly("logsumexp", define("logsumexp", source), capsys, recwarn)
    float32 = next(g for g in report.groups if g.name == "float32")
    assert "changed dtype float32 → float64" in float32.feedback


def test_logaddexp_infinity_mutant_feedback_says_nan(capsys, recwarn):
    source, _ = MUTANTS.MUTANTS["logaddexp"][1]
    report = _grade_quietly("logaddexp", define("logaddexp", source), capsys, recwarn)
    infinities = next(g for g in report.groups if g.name == "infinities")
    assert "returned nan" in infinities.feedback


def test_two_pass_online_mutant_is_told_about_the_one_shot_iterator(capsys, recwarn):
    source, _ = MUTANTS.MUTANTS["online_logsumexp"][1]
    report = _grade_quietly("online_logsumexp", define("online_logsumexp", source), capsys, recwarn)
    basic = next(g for g in report.groups if g.name == "basic")
    assert "do not iterate it twice" in basic.feedback


def test_logsumexp_oracle_against_closed_forms():
    assert oracle.logsumexp([1000.0, 1000.0]) == 1000.0 + math.log(2.0)
    assert oracle.logsumexp([0.0, -40.0]) == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-15)
    assert oracle.logsumexp([]) == -math.inf
    assert math.isnan(oracle.logsumexp([1.0, math.nan]))
    got = oracle.logsumexp_axis(np.array([[400.0, 401.0, 399.0], [1.0, 2.0, 3.0]]), axis=1)
    assert got[0] == pytest.approx(401.0 + math.log1p(math.exp(-1.0) + math.exp(-2.0)), rel=1e-15)


def test_axis_case_catches_a_global_shift():
    # The refined axis group holds rows 800 apart: one global maximum underflows the lower row.
    x = np.array([[400.0, 401.0, 399.0], [-400.0, -401.0, -399.5], [1.0, 2.0, 3.0]])
    with np.errstate(divide="ignore"):
        global_shift = x.max() + np.log(np.sum(np.exp(x - x.max()), axis=1))
    assert global_shift[1] == -np.inf
    assert np.isfinite(oracle.logsumexp_axis(x, axis=1)).all()


def test_plain_formula_with_fallback_loses_on_subnormal_exponentials(capsys, recwarn):
    source, groups = MUTANTS.MUTANTS["logsumexp"][-1]
    report = _grade_quietly("logsumexp", define("logsumexp", source), capsys, recwarn)
    large = next(g for g in report.groups if g.name == "large")
    assert "x = [-740., -741.]" in large.feedback and "subnormal" in large.feedback
    source, _ = MUTANTS.MUTANTS["online_logsumexp"][1]  # iterates the generator twice
    report = _grade_quietly("online_logsumexp", define("online_logsumexp", source), capsys, recwarn)
    edge = next(g for g in report.groups if g.name == "edge")
    assert "read the chunks in one pass" in edge.feedback
