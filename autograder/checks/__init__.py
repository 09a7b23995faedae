"""The checks of every assignment: per assignment id, a module and a TOML file of the same name.

``<id>.toml`` declares what is graded, as data: the graded names in order, each name's groups
(points, description, hints in the chapter's words, the section to re-read) and the
multiple-choice questions ``q1``, ``q2``, …. ``<id>.py`` builds the cases of each group (inputs,
verdicts, tolerances) and defines ``CHECKS``, a dict from graded name to
:class:`~autograder.judge.spec.Check`, by reading the TOML file with
:func:`autograder.checks.declarations.declared_checks`. Modules are imported on first use.
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
