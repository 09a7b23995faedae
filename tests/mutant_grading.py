"""Scaffolding shared by the checks' tests in ``tests/autograder/checks/``.

Each assignment's ``tests/mutants/<id>.py`` holds correct implementations (``CORRECT``) and
mutants with the exact groups they must fail (``MUTANTS``) as source strings. These helpers turn a
source into the object it defines, grade it with ``autograder.grade_function`` while asserting
that grading printed and warned nothing, and build the pytest parameters of both lists.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

import autograder
from autograder.judge.grading import Report


def load_mutants(assignment: str) -> ModuleType:
    """The module ``tests/mutants/<assignment>.py``."""
    return importlib.import_module(f"mutants.{assignment}")


def define(name: str, source: str) -> Any:
    """Execute ``source`` in a fresh namespace and return what it binds to ``name``."""
    namespace: dict = {}
    exec(source, namespace)
    return namespace[name]


def grade_quietly(assignment: str, name: str, obj: Any, capsys, recwarn) -> Report:
    """Grade ``obj``; fail the test if grading printed anything or let a warning escape."""
    report = autograder.grade_function(assignment, name, obj)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "grading printed something"
    assert len(recwarn) == 0, [str(w.message) for w in recwarn]
    return report


def mutant_feedback(assignment: str, name: str, index: int, group: str, capsys, recwarn) -> str:
    """The feedback of ``group`` when mutant ``index`` of ``name`` is graded."""
    source, _ = load_mutants(assignment).MUTANTS[name][index]
    report = grade_quietly(assignment, name, define(name, source), capsys, recwarn)
    return next(g for g in report.groups if g.name == group).feedback


def correct_cases(assignments: tuple[str, ...]) -> list:
    """``(assignment, name, source)`` parameters, one per correct implementation."""
    return [
        pytest.param(assignment, name, source, id=f"{assignment}-{name}-{i}")
        for assignment in assignments
        for name, sources in load_mutants(assignment).CORRECT.items()
        for i, source in enumerate(sources)
    ]


def mutant_cases(assignments: tuple[str, ...]) -> list:
    """``(assignment, name, source, groups)`` parameters, one per mutant."""
    return [
        pytest.param(assignment, name, source, groups, id=f"{assignment}-{name}-{i}")
        for assignment in assignments
        for name, cases in load_mutants(assignment).MUTANTS.items()
        for i, (source, groups) in enumerate(cases)
    ]
