"""Run a check's groups against a student's object and report scores and feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograder.feedback import failure_message
from autograder.harness import quiet, resolve
from autograder.spec import Case, Check, Group, Outcome


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
            mark = "pass" if group.passed else "FAIL"
            lines.append(f"  [{mark}] {group.name} ({group.score:g}/{group.points:g})")
            if group.feedback:
                lines.extend("      " + line for line in group.feedback.splitlines())
        return "\n".join(lines)


def run_harness(case: Case, group: Group, obj: Any) -> Outcome:
    """Run the case's harness on the student's object (the untrusted half)."""
    return resolve(case.harness)(
        obj, case.payload, trap_overflow=group.trap_overflow, time_limit=group.time_limit
    )


def judge(case: Case, outcome: Outcome) -> str | None:
    """Apply the case's verdict (the trusted half); a verdict that cannot read the data fails it."""
    try:
        with quiet():
            return case.verdict(case, outcome)
    except Exception as error:  # the student's data confused the comparison
        return f"returned data the grader could not compare ({type(error).__name__}: {error})"


def judge_group(check: Check, group: Group, outcomes: list[Outcome]) -> GroupResult:
    """Judge the outcomes of all of a group's cases (in case order)."""
    problems = [
        (case, problem)
        for case, outcome in zip(group.cases, outcomes, strict=True)
        if (problem := judge(case, outcome)) is not None
    ]
    if not problems:
        return GroupResult(group.name, group.description, group.points, True)
    case, problem = problems[0]
    feedback = failure_message(
        check.name,
        group.name,
        group.description,
        case.label,
        problem,
        group.hint,
        group.section,
        len(problems),
        len(group.cases),
    )
    return GroupResult(group.name, group.description, group.points, False, feedback)


def run_group(check: Check, group: Group, obj: Any) -> GroupResult:
    """Run and judge one group in this process."""
    outcomes = [run_harness(case, group, obj) for case in group.cases]
    return judge_group(check, group, outcomes)


def grade(check: Check, obj: Any) -> Report:
    """Run and judge every group of ``check`` against ``obj``."""
    return Report(check.assignment, check.name, [run_group(check, g, obj) for g in check.groups])
