"""Every assignment's checks: fair to every correct implementation, precise about mutants.

One suite for the seven assignments, driven by ``tests/mutants/<id>.py``: correct implementations
(``CORRECT``) and the reference in :mod:`solutions` get full marks, and each mutant (``MUTANTS``)
fails exactly the groups listed for it, with partial credit for the others and feedback that
names the group and the chapter to re-read. The wording of particular diagnoses, the oracles and
the drivers are tested per assignment in ``test_checks_<id>.py``.
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np
import pytest
import torch
from mutant_grading import correct_cases, define, grade_quietly, load_mutants, mutant_cases

import autograder
from autograder.checks import ASSIGNMENTS, checks_for
from autograder.harness.numerics import subnormals_flushed

# Assignments whose feedback only ever sends the student back to their own chapter (later ones
# also point at earlier chapters, e.g. ex04's masked log-softmax at chapter 3's edge cases).
OWN_CHAPTER_ONLY = ("ex01_floats", "ex02_overflow")


def graded_functions(assignment: str) -> list[str]:
    """The graded names that are functions or classes (not the multiple-choice answers)."""
    return [name for name in checks_for(assignment) if not name.startswith("q")]


def chapter(assignment: str) -> int:
    """The chapter an assignment belongs to (``ex03_logsumexp`` → 3)."""
    return int(assignment[2:4])


def reference_module(assignment: str):
    """The module of :mod:`solutions` that holds the assignment's reference (``solutions.logsumexp``
    for ``ex03_logsumexp``)."""
    return importlib.import_module(f"solutions.{assignment.split('_', 1)[1]}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_name_has_correct_variants_and_mutants(assignment):
    mutants = load_mutants(assignment)
    names = graded_functions(assignment)
    assert set(mutants.CORRECT) == set(names)
    for name in names:
        assert len(mutants.CORRECT[name]) >= 3, name
        assert len(mutants.MUTANTS[name]) >= 1, name
        assert len(checks_for(assignment)[name].groups) >= 2, name
    assert set(mutants.ANSWERS) == {name for name in checks_for(assignment) if name.startswith("q")}


@pytest.mark.parametrize(
    ("assignment", "name"),
    [
        pytest.param(assignment, name, id=f"{assignment}-{name}")
        for assignment in ASSIGNMENTS
        for name in graded_functions(assignment)
    ],
)
def test_reference_gets_full_marks(assignment, name, capsys, recwarn):
    reference = getattr(reference_module(assignment), name)
    report = grade_quietly(assignment, name, reference, capsys, recwarn)
    assert report.score == report.max_score, str(report)


@contextlib.contextmanager
def settings_a_notebook_left():
    """Process-wide settings a student's notebook may leave behind before its hidden tests
    run: NumPy trapping every floating-point error (left from hunting a NaN, chapter 8) and
    printing floats its own way, PyTorch without grad mode, inside inference mode, detecting
    anomalies, with float64 as the default dtype, the meta device as the default device and
    subnormals flushed to zero."""
    errors = np.seterr(all="raise")
    inference = torch.inference_mode()
    try:
        with np.printoptions(suppress=True, precision=2, formatter={"float": "{:.2f}".format}):
            torch.set_grad_enabled(False)
            torch.set_default_dtype(torch.float64)
            torch.set_default_device("meta")
            torch.set_flush_denormal(True)
            torch.autograd.set_detect_anomaly(True)
            inference.__enter__()
            yield
    finally:
        inference.__exit__(None, None, None)
        torch.autograd.set_detect_anomaly(False)
        torch.set_flush_denormal(False)
        torch.set_default_device(None)  # no default device, not a "cpu" function mode
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        np.seterr(**errors)


@pytest.mark.parametrize(
    ("assignment", "name", "source"),
    [
        pytest.param(assignment, name, None, id=f"{assignment}-{name}-reference")
        for assignment in ASSIGNMENTS
        for name in graded_functions(assignment)
    ]
    + correct_cases(ASSIGNMENTS),
)
def test_settings_a_notebook_left_cost_a_correct_answer_nothing(
    assignment, name, source, capsys, recwarn
):
    # check() runs in the student's kernel, after the notebook's own cells: the student's
    # function is graded, and the grader computes, in the libraries' default environment.
    if source is None:
        implementation = getattr(reference_module(assignment), name)
    else:
        implementation = define(name, source)
    with settings_a_notebook_left():
        report = grade_quietly(assignment, name, implementation, capsys, recwarn)
        # ... and the notebook gets its own settings back for its next cells.
        assert np.geterr()["under"] == "raise" and not torch.is_grad_enabled()
        assert torch.get_default_dtype() == torch.float64
        assert torch.get_default_device().type == "meta" and torch.is_inference_mode_enabled()
        assert torch.is_anomaly_enabled() and not torch.is_warn_always_enabled()
        assert subnormals_flushed()
    assert report.score == report.max_score, str(report)


@pytest.mark.parametrize(
    ("assignment", "name", "mutant", "shown"),
    [
        ("ex02_overflow", "log_product", 1, "5.e-324"),  # a subnormal input, not "0."
        ("ex04_softmax", "torch_cross_entropy", 0, "NaN gradient entries"),  # not anomaly mode's
    ],
)
def test_settings_a_notebook_left_do_not_change_the_feedback(
    assignment, name, mutant, shown, capsys, recwarn
):
    source, _ = load_mutants(assignment).MUTANTS[name][mutant]
    plain = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    with settings_a_notebook_left():
        left = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    assert plain.score < plain.max_score and shown in str(plain)
    assert str(left) == str(plain)


def test_a_warning_pytorch_gives_once_is_noted_every_time(capsys, recwarn):
    # "Converting a tensor with requires_grad=True to a scalar" is a once-per-process warning
    # of PyTorch's: each group whose run raises it notes it, however often it was raised before.
    assignment, name = "ex07_mixed_precision", "mixed_precision_train_step"
    source, _ = load_mutants(assignment).MUTANTS[name][1]
    first = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    again = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    assert str(again) == str(first)
    assert all("requires_grad=True to a scalar" in group.feedback for group in first.groups)


@pytest.mark.parametrize(
    ("assignment", "question", "answer"),
    [
        pytest.param(assignment, question, answer, id=f"{assignment}-{question}")
        for assignment in ASSIGNMENTS
        for question, answer in load_mutants(assignment).ANSWERS.items()
    ],
)
def test_multiple_choice_key_and_feedback_never_reveals_it(assignment, question, answer):
    autograder.check(assignment, question, answer, "answer")
    autograder.check(assignment, question, f" {answer.upper()} ", "answer")
    wrong = next(letter for letter in "abcd" if letter != answer)
    with pytest.raises(AssertionError) as failure:
        autograder.check(assignment, question, wrong, "answer")
    assert f"'{answer}'" not in str(failure.value)
    assert autograder.grade_function(assignment, question, wrong).score == 0
    with pytest.raises(AssertionError, match="must be one of"):
        autograder.check(assignment, question, "z", "answer")


@pytest.mark.parametrize(("assignment", "name", "source"), correct_cases(ASSIGNMENTS))
def test_correct_implementations_get_full_marks(assignment, name, source, capsys, recwarn):
    report = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    assert report.score == report.max_score, str(report)


@pytest.mark.parametrize(("assignment", "name", "source", "groups"), mutant_cases(ASSIGNMENTS))
def test_mutants_fail_exactly_the_expected_groups(
    assignment, name, source, groups, capsys, recwarn
):
    report = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    failed = {group.name for group in report.groups if not group.passed}
    assert failed == groups, str(report)
    all_groups = {group.name for group in report.groups}
    if groups and groups != all_groups:  # partial credit for the groups where it does not break
        assert 0 < report.score < report.max_score, str(report)
    for group in report.groups:
        assert group.passed or group.feedback, str(report)
        assert not group.passed or not group.feedback or group.feedback.startswith("Note:")
        if not group.passed:
            section = checks_for(assignment)[name].group(group.name).section
            assert f"group '{group.name}'" in group.feedback
            assert f"Re-read: Chapter {int(section[2:4])}, " in group.feedback
            if assignment in OWN_CHAPTER_ONLY:
                assert f"Re-read: Chapter {chapter(assignment)}" in group.feedback
