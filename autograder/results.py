"""Grade one submitted notebook: run it in the sandbox and judge every test cell here.

:func:`grade_submission` never raises for anything a student did: an unreadable notebook, a
crash or a trick all end in a :class:`StudentResult` whose ``reasons`` say what happened. The
verdicts run in this (trusted) process on the sanitized plain outcomes the sandbox sent back,
with exactly the checks that ``autograder.check`` uses.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from autograder.assignment import (
    AssignmentSpec,
    NotebookError,
    answered,
    read_notebook,
    student_cells,
)
from autograder.checks import get_check
from autograder.grading import judge_group
from autograder.sandbox import Sandbox
from autograder.submissions import Submission

GRADED, NOT_GRADED, ERROR = "graded", "not_graded", "error"


@dataclass(frozen=True)
class CellResult:
    """The result of one hidden test cell (one graded group of one name)."""

    grade_id: str
    name: str
    group: str
    description: str
    points: float
    passed: bool
    feedback: str = ""

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


@dataclass
class StudentResult:
    """Everything the grader decided about one student; serialisable with :meth:`to_json`.

    ``status`` is ``graded`` (the notebook was run and judged), ``not_graded`` (there was no
    readable notebook; the score is 0) or ``error`` (the grader itself failed; grading again
    retries it). ``cell_errors`` maps a notebook cell number to the error it raised.
    """

    student_id: str
    status: str
    max_score: float
    reasons: list[str] = field(default_factory=list)
    cells: list[CellResult] = field(default_factory=list)
    cell_errors: dict[int, str] = field(default_factory=dict)
    manual: list[dict[str, Any]] = field(default_factory=list)
    origin: str = ""
    fingerprint: str = ""
    timestamp: str | None = None
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(cell.score for cell in self.cells)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cell_errors"] = {str(k): v for k, v in self.cell_errors.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudentResult:
        data = dict(data)
        data["cells"] = [CellResult(**cell) for cell in data["cells"]]
        data["cell_errors"] = {int(k): v for k, v in data["cell_errors"].items()}
        return cls(**data)


def grade_submission(
    spec: AssignmentSpec, submission: Submission, sandbox: Sandbox, data: bytes | None = None
) -> StudentResult:
    """Read, run and judge one submission (``data``: its bytes, when already read)."""
    start = time.perf_counter()
    result = StudentResult(
        submission.student_id,
        GRADED,
        spec.max_score,
        origin=submission.origin,
        fingerprint=spec.fingerprint,
        timestamp=submission.timestamp,
    )
    if submission.note:
        result.reasons.append(submission.note)
    try:
        notebook = read_notebook(submission.read() if data is None else data)
    except NotebookError as error:
        return _not_graded(spec, result, str(error), start)
    requests, indices = spec.requests(notebook)
    report = sandbox.execute(student_cells(notebook, spec), requests)
    if report.grader_failure:
        result.status = ERROR
        result.reasons.append(f"grader error: {report.grader_failure}")
    result.cell_errors = {n: e for n, e in sorted(report.cell_errors.items()) if e}
    if result.cell_errors:
        listed = ", ".join(str(n) for n in result.cell_errors)
        result.reasons.append(f"cells that raised errors: {listed}")
    result.reasons.extend(report.problems)
    for cell, cases in zip(spec.test_cells, indices, strict=True):
        check = get_check(spec.assignment, cell.name)
        group = check.group(cell.group)
        judged = judge_group(check, group, [report.outcomes[i] for i in cases])
        result.cells.append(
            CellResult(
                cell.grade_id,
                cell.name,
                cell.group,
                group.description,
                cell.points,
                judged.passed,
                judged.feedback,
            )
        )
    result.manual = [
        {"grade_id": m.grade_id, "points": m.points, "answered": answered(notebook, m)}
        for m in spec.manual_cells
    ]
    result.seconds = time.perf_counter() - start
    return result


def error_result(spec: AssignmentSpec, submission: Submission, message: str) -> StudentResult:
    """The result for a submission the grader itself failed on (it is retried next run)."""
    result = StudentResult(submission.student_id, ERROR, spec.max_score, origin=submission.origin)
    problem = f"grader error ({message}); grade again, and report it if it persists"
    return _not_graded(spec, result, problem, time.perf_counter(), status=ERROR)


def _not_graded(
    spec: AssignmentSpec, result: StudentResult, problem: str, start: float, status=NOT_GRADED
) -> StudentResult:
    result.status = status
    result.reasons.insert(0, problem)
    for cell in spec.test_cells:
        description = get_check(spec.assignment, cell.name).group(cell.group).description
        feedback = f"{cell.name}, group '{cell.group}': not graded, {problem}."
        result.cells.append(
            CellResult(
                cell.grade_id, cell.name, cell.group, description, cell.points, False, feedback
            )
        )
    result.manual = [
        {"grade_id": m.grade_id, "points": m.points, "answered": False} for m in spec.manual_cells
    ]
    result.seconds = time.perf_counter() - start
    return result


def not_graded_result(spec: AssignmentSpec, submission: Submission, problem: str) -> StudentResult:
    """The result for a submission that cannot be graded (``problem`` says why; score 0)."""
    result = StudentResult(
        submission.student_id,
        NOT_GRADED,
        spec.max_score,
        origin=submission.origin,
        fingerprint=spec.fingerprint,
        timestamp=submission.timestamp,
    )
    return _not_graded(spec, result, problem, time.perf_counter())
