"""Run a check's groups against a student's object and report scores and feedback."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from autograder.harness.calls import drive, quiet
from autograder.harness.numerics import library_defaults
from autograder.judge import sections
from autograder.judge.compare import Problem, kind_of
from autograder.judge.feedback import conduct_note, failure_message, hint_for
from autograder.judge.spec import Case, Check, Group, Outcome


@dataclass(frozen=True)
class GroupResult:
    """The result of one graded group: its points, whether it passed, and the feedback."""

    name: str
    description: str
    points: float
    passed: bool
    feedback: str = ""

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


@dataclass(frozen=True)
class Report:
    """The result of grading one graded name: ``score`` out of ``max_score``, per group."""

    assignment: str
    name: str
    groups: list[GroupResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(group.score for group in self.groups)

    @property
    def max_score(self) -> float:
        return sum(group.points for group in self.groups)

    def __str__(self) -> str:
        lines = [f"{self.assignment}.{self.name}: {self.score:g} / {self.max_score:g}"]
        for group in self.groups:
            lines += result_lines(group.name, group.points, group.passed, group.feedback)
        return "\n".join(lines)


def result_lines(title: str, points: float, passed: bool, feedback: str) -> list[str]:
    """How a graded group's result is listed in text: ``  [pass] large (3/3)`` (``FAIL`` and
    ``0/3`` when it failed), then the feedback's lines indented under it."""
    mark, score = ("pass", points) if passed else ("FAIL", 0.0)
    return [f"  [{mark}] {title} ({score:g}/{points:g})"] + [
        "      " + line for line in feedback.splitlines()
    ]


def run_harness(case: Case, group: Group, obj: Any) -> Outcome:
    """Run the case's harness on the student's object (the untrusted half)."""
    limits = {"trap_overflow": group.trap_overflow, "time_limit": group.time_limit}
    return drive(case.harness, obj, case.payload, **limits)


# quiet() swaps the process's sys.stdout, sys.stderr and warning filters: two verdicts judged
# at once on the class grader's threads would restore each other's capture, and the grader's
# own output would vanish into a buffer. Verdicts take milliseconds; they are judged one at a
# time.
_JUDGING = threading.Lock()


def judge(case: Case, outcome: Outcome) -> str | None:
    """Apply the case's verdict (the trusted half); a verdict that cannot read the data fails it.

    The verdict runs in the libraries' default numerical environment with NumPy's
    floating-point errors ignored, whatever the notebook set (``check()`` runs in the student's
    kernel; see :mod:`autograder.harness.numerics`): the grader's own arithmetic at the format's
    limits never raises or warns, so a correct answer never fails because of it. Warnings are
    dropped either way; the verdicts handle infinities and NaN explicitly.
    """
    try:
        with _JUDGING, quiet(), library_defaults(errors="ignore"):
            return case.verdict(case, outcome)
    except Exception as error:  # the student's data confused the comparison
        return Problem(
            f"returned data the grader could not compare ({type(error).__name__}: {error})",
            "unreadable return",
        )


def conduct(group: Group, outcomes: list[Outcome]) -> str:
    """The note on the first case whose code warned or printed (``""`` when none did).

    Warnings and printed output never cost points (the contract's "Warnings" rule); the note
    names the warning, the input that raised it and the fix.
    """
    for case, outcome in zip(group.cases, outcomes, strict=True):
        warned = [w for w in outcome.get("warnings") or [] if isinstance(w, str)]
        printed = outcome.get("stdout") or ""
        if warned or (isinstance(printed, str) and printed.strip()):
            return conduct_note(case.label, warned, printed if isinstance(printed, str) else "")
    return ""


def judge_group(check: Check, group: Group, outcomes: list[Outcome]) -> GroupResult:
    """Judge the outcomes of all of a group's cases (in case order).

    A failing group's feedback says what went wrong on its first failing case, the hint for
    that diagnosis and the section to re-read; a passing group's feedback is empty unless the
    code warned or printed, which is noted (see :func:`conduct`) without costing points.
    """
    problems = [
        (case, problem)
        for case, outcome in zip(group.cases, outcomes, strict=True)
        if (problem := judge(case, outcome)) is not None
    ]
    note = conduct(group, outcomes)
    if not problems:
        return GroupResult(group.name, group.description, group.points, True, note)
    case, problem = problems[0]
    feedback = failure_message(
        check.name,
        group.name,
        group.description,
        case.label,
        problem,
        hint_for(kind_of(problem), dict(group.hints)),
        sections.render(group.section),
        len(problems),
        len(group.cases),
    )
    feedback = f"{feedback}\n{note}" if note else feedback
    return GroupResult(group.name, group.description, group.points, False, feedback)


def run_group(check: Check, group: Group, obj: Any) -> GroupResult:
    """Run and judge one group in this process."""
    outcomes = [run_harness(case, group, obj) for case in group.cases]
    return judge_group(check, group, outcomes)


def grade(check: Check, obj: Any) -> Report:
    """Run and judge every group of ``check`` against ``obj``."""
    return Report(check.assignment, check.name, [run_group(check, g, obj) for g in check.groups])
