"""The course's autograder: judge a student's implementation against the reference.

Public API (the assignment contract: ``contract.md``, the book page "The graded contract"):

``check(assignment, name, obj, group)``
    Run one group of cases; return ``None`` when it passes, raise ``AssertionError`` whose message
    is the feedback when it fails. Used by the assignments' hidden test cells.
``grade_function(assignment, name, obj)``
    Run every group; return a :class:`~autograder.judge.grading.Report` with ``score``,
    ``max_score`` and per-group results (``name``, ``points``, ``passed``, ``feedback``).

Neither lets a warning, printed output or the student's exception reach stderr (nbgrader gives 0
to a test cell that writes to stderr). A warning or print does not cost points: the group's
feedback notes it (the warning, the input that raised it and the fix), and ``check`` prints that
note to stdout when the group passes. An unknown assignment, name or group raises
``ValueError`` naming the valid choices.
"""

from __future__ import annotations

from typing import Any

from autograder.checks import get_check
from autograder.judge.grading import GroupResult, Report, grade, run_group

__all__ = ["GroupResult", "Report", "check", "grade_function"]


def check(assignment: str, name: str, obj: Any, group: str) -> None:
    """Raise ``AssertionError`` with feedback if ``obj`` fails group ``group`` of ``name``.

    When the group passes but the code warned or printed, the note saying so (and how to avoid
    it) is printed to stdout, which nbgrader shows in the test cell's output without failing it.
    """
    graded = get_check(assignment, name)
    result = run_group(graded, graded.group(group), obj)
    if not result.passed:
        raise AssertionError(result.feedback)
    if result.feedback:
        print(result.feedback)


def grade_function(assignment: str, name: str, obj: Any) -> Report:
    """Grade ``obj`` on every group of ``name`` in ``assignment``."""
    return grade(get_check(assignment, name), obj)
