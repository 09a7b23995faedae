"""The ex04_softmax checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mutant_grading import (
    grade_quietly,
    mutant_feedback,
)

from autograder.harness.drivers.ex04_softmax import torch_cross_entropy as drive
from autograder.judge import oracle

ASSIGNMENT = "ex04_softmax"


_grade_quietly = partial(grade_quietly, ASSIGNMENT)


_feedback = partial(mutant_feedback, ASSIGNMENT)


def test_naive_softmax_feedback_names_overflow(capsys, recwarn):
    feedback = _feedback("softmax", 0, "large", capsys, recwarn)
    assert "overflowed in an intermediate step" in feedback
    assert "subtract the row's maximum" in feedback
    assert "Chapter 4" in feedback


def test_log_of_softmax_feedback_names_the_log_of_zero(capsys, recwarn):
    feedback = _feedback("log_softmax", 0, "large", capsys, recwarn)
    assert "returned -inf" in feedback
    assert "log of an underflowed 0" in feedback
    assert "x - logsumexp(x)" in feedback


def test_mutating_softmax_is_told_it_mutated_its_input(capsys, recwarn):
    feedback = _feedback("softmax", 5, "basic", capsys, recwarn)
    assert "mutated its input" in feedback


def test_cross_entropy_without_range_check_feedback(capsys, recwarn):
    feedback = _feedback("cross_entropy", 1, "errors", capsys, recwarn)
    assert "raised IndexError" in feedback and "instead of ValueError" in feedback
    assert "index -1" in feedback


def test_torch_mutants_feedback_names_nan_gradients_and_the_graph(capsys, recwarn):
    naive = _feedback("torch_cross_entropy", 0, "large", capsys, recwarn)
    assert "inf" in naive or "nan" in naive
    assert "NaN gradients" in naive and "NaN gradient entries" in naive
    detached = _feedback("torch_cross_entropy", 1, "gradient", capsys, recwarn)
    assert "not connected to the autograd graph" in detached
    double = _feedback("torch_cross_entropy", 2, "gradient", capsys, recwarn)
    assert "changed dtype float32 → float64" in double


def test_f_cross_entropy_itself_gets_full_marks(capsys, recwarn):
    report = _grade_quietly("torch_cross_entropy", F.cross_entropy, capsys, recwarn)
    assert report.score == report.max_score, str(report)


def test_fused_torch_losses_get_full_marks_on_the_numpy_names(capsys, recwarn):
    def ce(logits, targets):
        logits, targets = np.asarray(logits), np.asarray(targets)
        if len(targets) != len(logits) or targets.min() < 0 or targets.max() >= logits.shape[1]:
            raise ValueError("bad targets")
        return F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)).item()

    report = _grade_quietly("cross_entropy", ce, capsys, recwarn)
    assert report.score == report.max_score, str(report)


def test_driver_records_value_gradient_and_graph():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    targets = np.array([2, 0])
    payload = {"logits": logits, "targets": targets, "dtype": "float32"}
    outcome = drive(F.cross_entropy, payload, trap_overflow=False, time_limit=10.0)
    assert outcome["status"] == "returned" and outcome["is_tensor"] and outcome["attached"]
    assert outcome["dtype"] == "float32" and outcome["shape"] == []
    assert outcome["backward"] == "ok" and not outcome["mutated"]
    expected_grad = oracle.cross_entropy_grad(logits, targets)
    np.testing.assert_allclose(outcome["grad"], expected_grad, atol=1e-7)
    assert float(outcome["value"]) == pytest.approx(oracle.cross_entropy(logits, targets), 1e-6)
    for value in outcome.values():  # plain data only
        assert value is None or isinstance(value, bool | int | float | str | list | np.ndarray)


def test_driver_records_a_float_return_and_an_exception():
    payload = {"logits": np.zeros((1, 2)), "targets": np.array([0]), "dtype": "float64"}
    as_float = drive(lambda x, t: 0.5, payload, trap_overflow=False, time_limit=10.0)
    assert as_float["status"] == "returned" and not as_float["is_tensor"]
    assert as_float["value"] == 0.5 and as_float["grad"] is None

    def broken(x, t):
        raise RuntimeError("nope")

    raised = drive(broken, payload, trap_overflow=False, time_limit=10.0)
    assert raised["status"] == "raised" and raised["exc_type"] == "RuntimeError"


def test_driver_notices_in_place_changes():
    def shifts_in_place(logits, targets):
        with torch.no_grad():
            logits -= logits.max()
        return F.cross_entropy(logits, targets)

    payload = {"logits": np.array([[1.0, 2.0]]), "targets": np.array([1]), "dtype": "float64"}
    outcome = drive(shifts_in_place, payload, trap_overflow=False, time_limit=10.0)
    assert outcome["mutated"]


def test_loss_oracles_against_torch_and_closed_forms():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    assert oracle.cross_entropy(logits, [0, 0]) == pytest.approx(500.0, rel=1e-15)
    x = np.array([[0.3, -2.0, 1.5], [4.0, 0.0, -0.5]])
    t = np.array([2, 1])
    torch_value = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).item()
    assert oracle.cross_entropy(x, t) == pytest.approx(torch_value, rel=1e-14)
    grad = oracle.cross_entropy_grad(x, t)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-16)
    # A nearly certain row: p - 1 without cancellation is about -2e-9, not 0.
    sharp = oracle.cross_entropy_grad(np.array([[20.0, 0.0]]), [0])
    assert sharp[0, 0] == pytest.approx(-math.exp(-20.0) / (1 + math.exp(-20.0)), rel=1e-14)
    assert oracle.bce_with_logits([1e4], [1.0]) == 0.0
    assert oracle.bce_with_logits([-1e4], [1.0]) == 1e4
    assert oracle.bce_with_logits([0.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2.0), 1e-15)
    assert oracle.bce_with_logits([40.0], [0.0]) == pytest.approx(40.0 + math.exp(-40.0), 1e-15)


def test_axis_oracles_move_the_axis():
    x = np.array([[0.0, 1.0], [-1000.0, 2.0]])
    np.testing.assert_allclose(oracle.softmax_axis(x, 0).sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(oracle.log_softmax_axis(x, 0)[:, 0], [0.0, -1000.0], atol=1e-12)
    np.testing.assert_allclose(oracle.log_softmax_axis(x.T, -1), oracle.log_softmax_axis(x, 0).T)


def test_plain_formula_with_fallback_is_told_about_subnormal_exponentials(capsys, recwarn):
    for name in ("softmax", "log_softmax"):
        feedback = _feedback(name, -1, "large", capsys, recwarn)
        assert "x = [-740. , -741. , -739.5]" in feedback and "subnormal" in feedback, name
    feedback = _feedback("cross_entropy", -2, "large", capsys, recwarn)
    assert "subnormal" in feedback


def test_cross_entropy_of_an_empty_batch_is_nan(capsys, recwarn):
    feedback = _feedback("cross_entropy", -1, "errors", capsys, recwarn)
    assert "(N = 0)" in feedback and "the mean of no losses is nan" in feedback
    assert "max(N, 1) gives 0.0" in feedback


def test_log_of_softmax_is_not_told_to_shift(capsys, recwarn):
    feedback = _feedback("log_softmax", 0, "large", capsys, recwarn)
    assert "subtract the row's maximum" not in feedback


def test_torch_cross_entropy_in_float32_is_told_about_the_dtype(capsys, recwarn):
    feedback = _feedback("torch_cross_entropy", -1, "value", capsys, recwarn)
    assert "came back as a float32 tensor for float64 logits" in feedback
    assert "logits' own dtype" in feedback and "gather" not in feedback
