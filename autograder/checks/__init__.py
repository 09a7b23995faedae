"""The checks of every assignment, one module per assignment id.

Each module defines ``CHECKS``, a dict from graded name (including multiple-choice answers
``q1``, ``q2``, …) to :class:`~autograder.judge.spec.Check`. Modules are imported on first use.
"""

from __future__ import annotations

import importlib

from autograder.judge.spec import Check

ASSIGNMENTS = (
    "ex01_floats",
    "ex02_overflow",
    "ex03_logsumexp",
    "ex04_softmax",
    "ex05_clipping",
    "ex06_standardisation",
    "ex07_mixed_precision",
)


def checks_for(assignment: str) -> dict[str, Check]:
    """All checks of ``assignment``; ``ValueError`` naming the valid ids for an unknown one."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(
            f"autograder: unknown assignment {assignment!r}; valid ids are {', '.join(ASSIGNMENTS)}"
        )
    return importlib.import_module(f"autograder.checks.{assignment}").CHECKS


def get_check(assignment: str, name: str) -> Check:
    """The check of one graded name; ``ValueError`` naming the valid names for an unknown one."""
    checks = checks_for(assignment)
    if name not in checks:
        raise ValueError(
            f"autograder: {assignment} has no graded name {name!r}; "
            f"valid names are {', '.join(checks)}"
        )
    return checks[name]
