"""Grade one submitted notebook: run it in the sandbox and judge every test cell here.

:func:`grade_one` is the boundary around one submission: it reads, parses, runs and judges it
and never raises for anything the submission holds or does (an unreadable file, a crash, a
trick, a grader bug it triggers, memory exhausted while reading it); every failure ends in a
:class:`~autograder.grader.results.StudentResult` whose ``status`` and ``reasons`` say what
happened. It is a function of the submission's bytes, the assignment's spec, the limits and the
grader's code only, and its result is plain data
(:meth:`~autograder.grader.results.StudentResult.to_json`), so it can run on another machine.
The verdicts run in the trusted process on the sanitized plain outcomes the sandbox sent back,
with exactly the checks that ``autograder.check`` uses.
"""

from __future__ import annotations

import time

from autograder.checks import get_check
from autograder.grader.assignment import (
    AssignmentSpec,
    NotebookError,
    answered,
    cell_labels,
    malformed_cells,
    read_notebook,
    student_cells,
)
from autograder.grader.results import (
    ERROR,
    GRADED,
    NOT_GRADED,
    TAMPERED,
    CellResult,
    StudentResult,
)
from autograder.grader.sandbox import RunReport, Sandbox
from autograder.grader.submissions import Submission
from autograder.judge.grading import judge_group

MAX_CELL_ERRORS = 100  # kept per student (each at most 500 characters)
MAX_LISTED = 10  # cells named in the reason


def grade_one(
    spec: AssignmentSpec, submission: Submission, sandbox: Sandbox, data: bytes | None = None
) -> StudentResult:
    """Grade one submission inside the per-submission boundary; never raises an ``Exception``.

    ``data`` is the notebook's bytes when already read (else ``submission.read()`` is called
    here). Whatever fails on the grader's side, ``MemoryError`` and ``RecursionError``
    included, becomes an ``error`` result saying what failed.
    """
    try:
        return grade_submission(spec, submission, sandbox, data)
    except Exception as error:  # the boundary: nothing about one submission stops the batch
        return error_result(spec, submission, f"{type(error).__name__}: {str(error)[:300]}")


def new_result(spec: AssignmentSpec, submission: Submission, status: str) -> StudentResult:
    """An empty result of ``submission`` with ``status``, before any cell is recorded."""
    return StudentResult(
        submission.student_id,
        status,
        spec.max_score,
        origin=submission.origin,
        fingerprint=spec.fingerprint,
        timestamp=submission.timestamp,
    )


def grade_submission(
    spec: AssignmentSpec, submission: Submission, sandbox: Sandbox, data: bytes | None = None
) -> StudentResult:
    """Read, run and judge one submission (``data``: its bytes, when already read)."""
    start = time.perf_counter()
    result = new_result(spec, submission, GRADED)
    if submission.note:
        result.reasons.append(submission.note)
    try:
        notebook = read_notebook(submission.read() if data is None else data)
    except NotebookError as error:
        return _not_graded(spec, result, str(error), start)
    requests, indices = spec.requests(notebook)
    labels = cell_labels(notebook)
    malformed = malformed_cells(notebook)
    if malformed:
        listed = _listed([f"{labels.get(n, f'cell {n}')} ({why})" for n, why in malformed])
        result.reasons.append(f"cells not run, being malformed: {listed}")
    report = sandbox.execute(student_cells(notebook, spec), requests, labels)
    tampered = _record_run(spec, result, report, labels)
    for cell, cases in zip(spec.test_cells, indices, strict=True):
        check = get_check(spec.assignment, cell.name)
        group = check.group(cell.group)
        if cell.name in tampered:
            passed, feedback = False, f"{cell.name}: not graded, {TAMPERING_FEEDBACK}."
        else:
            judged = judge_group(check, group, [report.outcomes[i] for i in cases])
            passed, feedback = judged.passed, judged.feedback
        result.cells.append(
            CellResult(
                cell.grade_id,
                cell.name,
                cell.group,
                group.description,
                cell.points,
                passed,
                feedback,
            )
        )
    result.manual = [
        {"grade_id": m.grade_id, "points": m.points, "answered": answered(notebook, m)}
        for m in spec.manual_cells
    ]
    result.seconds = time.perf_counter() - start
    return result


def _listed(names: list[str]) -> str:
    """The first :data:`MAX_LISTED` names, then how many more there are."""
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return ", ".join(names[:MAX_LISTED]) + more


def _record_run(
    spec: AssignmentSpec, result: StudentResult, report: RunReport, labels: dict[int, str]
) -> set[str]:
    """Record in ``result`` how the sandboxed run went (a grader failure, the cells that raised,
    the problems, tampering); return the graded names that tampering costs their points."""
    if report.grader_failure:
        result.status = ERROR
        result.reasons.append(f"grader error: {report.grader_failure}")
    errors = [(n, e) for n, e in sorted(report.cell_errors.items()) if e]
    result.cell_errors = dict(errors[:MAX_CELL_ERRORS])
    result.cell_labels = {n: labels[n] for n in result.cell_errors if n in labels}
    if errors:
        result.reasons.append(
            f"cells that raised errors: {_listed([result.label(n) for n, _ in errors])}"
        )
    result.reasons.extend(report.problems)
    tampered = {c.name for c in spec.test_cells if c.variable in report.tampered_variables}
    if report.tampering:
        result.status = TAMPERED
        result.reasons.insert(
            0,
            f"tampering: {'; '.join(report.tampering)}; 0 points for "
            f"{', '.join(sorted(tampered))} (review this submission)",
        )
    return tampered


TAMPERING_FEEDBACK = (
    "the notebook's process wrote to the grader's channel out of turn (messages only the "
    "grading harness may send); your instructor will review it"
)


def error_result(spec: AssignmentSpec, submission: Submission, message: str) -> StudentResult:
    """The result for a submission the grader itself failed on (:mod:`autograder.grader.batch`
    retries it once on the next run)."""
    result = new_result(spec, submission, ERROR)
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
    result = new_result(spec, submission, NOT_GRADED)
    return _not_graded(spec, result, problem, time.perf_counter())
