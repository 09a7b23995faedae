"""The ex05_clipping checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from mutant_grading import (
    define,
    load_mutants,
)

import autograder
import solutions.clipping as reference
from autograder.checks import get_check
from autograder.harness.drivers.ex05_clipping import fresh_arrays, objective_gradient, sgd_run
from autograder.judge import oracle

ASSIGNMENT = "ex05_clipping"


MUTANTS = load_mutants(ASSIGNMENT)


def _feedback(name: str, index: int, group: str) -> str:
    source = MUTANTS.MUTANTS[name][index][0]
    report = autograder.grade_function(ASSIGNMENT, name, define(name, source))
    (result,) = [g for g in report.groups if g.name == group]
    assert not result.passed
    return result.feedback


def test_naive_norm_feedback_says_overflow_and_where_to_read():
    feedback = _feedback("clip_by_global_norm", 0, "hard")
    assert "returned inf" in feedback and "overflow" in feedback
    assert "Computing a norm without overflow or underflow" in feedback


def test_naive_sgd_feedback_points_at_the_overflowing_norm():
    feedback = _feedback("sgd_with_clipping", 0, "hard")
    assert "grad_norms" in feedback and "overflow" in feedback and "index (3,)" in feedback


def test_underflowing_norm_is_called_underflow():
    naive = define("clip_by_global_norm", MUTANTS.MUTANTS["clip_by_global_norm"][0][0])
    check = get_check(ASSIGNMENT, "clip_by_global_norm")
    group = check.group("hard")
    (tiny,) = [c for c in group.cases if "1.e-200" in c.label and "3.e-200" in c.label]
    from autograder.judge.grading import run_harness

    problem = tiny.verdict(tiny, run_harness(tiny, group, naive))
    assert problem is not None and "underflow" in problem


def test_dtype_and_aliasing_feedback():
    assert "changed dtype float32 → float64" in _feedback("clip_by_value", 0, "dtype")
    assert "shares memory" in _feedback("clip_by_value", 2, "copies")
    assert "mutated its input" in _feedback("clip_by_value", 1, "basic")


def test_steps_feedback_names_the_indexing_mistake():
    feedback = _feedback("sgd_with_clipping", 1, "plain")
    assert "called grad_fn with steps [1, 2, 3" in feedback


def test_global_norm_oracle():
    assert oracle.global_norm([np.array([3.0]), np.array([[4.0]])]) == 5.0
    assert oracle.global_norm([np.array([3e200, 4e200])]) == pytest.approx(5e200, rel=1e-15)
    assert oracle.global_norm([np.array([3e-200, -4e-200])]) == pytest.approx(5e-200, rel=1e-15)
    assert oracle.global_norm([np.full(4, 1e308)]) == np.inf
    assert np.isnan(oracle.global_norm([np.array([1.0, np.nan])]))
    assert oracle.global_norm([]) == 0.0


def test_clip_oracle_matches_the_torch_rule():
    clipped, norm = oracle.clip_by_global_norm([np.array([3.0, 4.0])], 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(clipped[0], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    clipped, _ = oracle.clip_by_global_norm([np.array([2e-6])], 1e-6)
    assert clipped[0][0] == pytest.approx(2e-6 * 1e-6 / 3e-6, rel=1e-15)  # eps matters here
    clipped, _ = oracle.clip_by_global_norm([np.array([0.3, 0.4])], 1.0)
    np.testing.assert_array_equal(clipped[0], [0.3, 0.4])


def test_fresh_arrays_driver_records_aliasing_and_mutation():
    payload = {"grads": [np.array([0.5, 2.0])], "args": [1.0]}
    same = fresh_arrays(lambda g, c: g, payload, trap_overflow=False, time_limit=5)
    assert same["aliased"] and not same["mutated"]

    def in_place(grads, c):
        np.clip(grads[0], -c, c, out=grads[0])
        return grads

    changed = fresh_arrays(in_place, payload, trap_overflow=False, time_limit=5)
    assert changed["mutated"] and changed["aliased"]
    good = fresh_arrays(reference.clip_by_value, payload, trap_overflow=False, time_limit=5)
    assert good["status"] == "returned" and not good["aliased"] and not good["mutated"]
    np.testing.assert_array_equal(good["value"][0], [0.5, 1.0])


def test_sgd_driver_logs_calls_and_builds_the_objective():
    problem = {
        "A": np.diag([1.0, 2.0]),
        "center": np.array([1.0, -1.0]),
        "lam": 0.0,
        "spikes": [[1, np.array([10.0, 0.0])]],
    }
    np.testing.assert_array_equal(objective_gradient(problem, np.zeros(2), 0), [-1.0, 2.0])
    np.testing.assert_array_equal(objective_gradient(problem, np.zeros(2), 1), [9.0, 2.0])
    payload = {"problem": problem, "theta0": np.zeros(2), "lr": 0.1, "n_steps": 3, "max_norm": 1.0}
    outcome = sgd_run(reference.sgd_with_clipping, payload, trap_overflow=False, time_limit=5)
    assert outcome["status"] == "returned" and not outcome["mutated"]
    assert outcome["steps_seen"] == [0, 1, 2]
    np.testing.assert_array_equal(outcome["thetas_seen"], outcome["value"]["path"][:-1])
    assert outcome["value"]["clipped"] == [0, 1, 2]
    crashing = sgd_run(lambda *a, **k: 1 / 0, payload, trap_overflow=False, time_limit=5)
    assert crashing["status"] == "raised" and crashing["exc_type"] == "ZeroDivisionError"


def test_a_wrongly_placed_eps_is_told_about_the_factor_not_per_array_clipping():
    feedback = _feedback("clip_by_global_norm", -4, "global")
    assert "every entry is scaled by the same factor" in feedback
    assert "eps is added to the norm" in feedback
    assert "its own norm" not in feedback


def test_the_norm_after_clipping_is_named_as_such():
    feedback = _feedback("clip_by_global_norm", -2, "global")
    assert "which is the norm after clipping" in feedback
    assert "measured before clipping" in feedback


def test_per_array_clipping_is_told_about_the_global_norm():
    feedback = _feedback("clip_by_global_norm", 3, "global")
    assert "scaled by different factors" in feedback and "its own norm" in feedback


def test_a_norm_raising_on_its_own_overflow_is_told_to_rescale():
    feedback = _feedback("clip_by_global_norm", -1, "hard")
    assert "raised FloatingPointError" in feedback and "overflowed" in feedback
    assert "Scale by the largest magnitude" in feedback


def test_non_finite_gradients_in_sgd_feedback():
    no_raise = _feedback("sgd_with_clipping", -3, "hard")
    assert "instead of raising FloatingPointError" in no_raise and "step 7" in no_raise
    unnamed = _feedback("sgd_with_clipping", -2, "hard")
    assert "without naming the step, 7" in unnamed
    skipped = _feedback("sgd_with_clipping", -1, "plain")
    assert "never skipped silently" in skipped
