"""Record grades where nbgrader expects them, so its own tools keep working.

Scores go into the course's ``gradebook.db`` exactly as ``nbgrader autograde`` would store them
(``auto_score`` per grade cell, ``needs_manual_grade`` for the written answer), so ``nbgrader
export``, ``nbgrader generate_feedback`` and the formgrader read them. The notebook formgrader
shows is written to ``autograded/<student>/<assignment>/<assignment>.ipynb``: the student's cells
with the instructor's test cells put back, each carrying its result as output. Recording the same
result twice leaves the gradebook unchanged, and a grade an instructor entered by hand is kept.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

from autograder.course.operations import nbgrader, put_tools_on_path
from autograder.grader.assignment import AssignmentSpec, cell_source, grade_id, nbgrader_metadata
from autograder.grader.files import atomic_write
from autograder.grader.inert import inert_markdown, plain_text
from autograder.grader.results import ERROR, StudentResult
from autograder.grader.submissions import read_regular
from autograder.judge.grading import GroupResult

# nbgrader writes a 32-character secret beside each submission; more is not a secret of its.
MAX_SECRET_BYTES = 1024


class GradebookWriter(contextlib.AbstractContextManager):
    """Writes results for one assignment into a course root's gradebook; a context manager.

    If the assignment is not in the gradebook yet, ``nbgrader generate_assignment`` is run once
    to register it (as the instructor does before releasing it).
    """

    def __init__(self, course_root: Path, spec: AssignmentSpec):
        from nbgrader.api import Gradebook, MissingEntry

        self.course_root = Path(course_root)
        self.spec = spec
        self.assignment = spec.assignment
        source = self.course_root / "source" / spec.assignment / f"{spec.assignment}.ipynb"
        self.source = json.loads(source.read_text(encoding="utf-8"))
        self.source_cells = self.source["cells"]
        put_tools_on_path()  # a new gradebook runs `alembic` by name
        self.gradebook = Gradebook(f"sqlite:///{self.course_root / 'gradebook.db'}")
        try:
            self.gradebook.find_assignment(self.assignment)
        except MissingEntry:
            self.gradebook.close()
            nbgrader(self.course_root, "generate_assignment", self.assignment, "--force")
            self.gradebook = Gradebook(f"sqlite:///{self.course_root / 'gradebook.db'}")

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.gradebook.close()

    def rollback(self) -> None:
        """Undo a half-recorded result (after :meth:`record` raised)."""
        self.gradebook.db.rollback()

    def record(
        self, result: StudentResult, notebook: dict[str, Any] | None, *, submitted: bool
    ) -> None:
        """Store ``result``; ``notebook`` is the submitted notebook (``None`` if unreadable).

        A student who ``submitted`` no file gets a student entry only; a grader error is not
        recorded (grading again retries it).
        """
        from nbgrader.api import MissingEntry
        from nbgrader.utils import parse_utc

        if result.status == ERROR:
            return
        gradebook = self.gradebook
        gradebook.update_or_create_student(result.student_id)
        if not submitted:
            return
        try:
            gradebook.find_submission(self.assignment, result.student_id)
        except MissingEntry:
            try:
                timestamp = parse_utc(result.timestamp) if result.timestamp else None
            except (ValueError, OverflowError):
                timestamp = None
            with warnings.catch_warnings():  # nbgrader's own add_submission warns in SQLAlchemy 2
                warnings.simplefilter("ignore")
                gradebook.add_submission(self.assignment, result.student_id, timestamp=timestamp)
        for cell in result.cells:
            grade = gradebook.find_grade(
                cell.grade_id, self.assignment, self.assignment, result.student_id
            )
            grade.auto_score = cell.result.score
            grade.needs_manual_grade = grade.manual_score is not None
        for manual in result.manual:
            grade = gradebook.find_grade(
                manual["grade_id"], self.assignment, self.assignment, result.student_id
            )
            grade.auto_score = None if manual["answered"] else 0.0
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        gradebook.db.commit()
        if notebook is not None:
            self._write_autograded(result, notebook)

    def _write_autograded(self, result: StudentResult, notebook: dict[str, Any]) -> None:
        """The notebook the formgrader shows. Only trusted content can run or carry grades
        there: the instructor's test cells (with their results) and notebook metadata; student
        cells keep their text but lose their outputs, attachments and any nbgrader metadata
        the source notebook does not give the same grade id; markdown and raw cells are made
        inert (:func:`autograder.grader.inert.inert_markdown`)."""
        graded = {cell.grade_id: cell.result for cell in result.cells}
        source_cells = {grade_id(cell): cell for cell in self.source_cells if grade_id(cell)}
        cells, seen, given = [], set(), set()
        given_ids = {source_cells[i].get("id") for i in graded if i in source_cells}
        for number, cell in enumerate(notebook["cells"], start=1):
            identifier = grade_id(cell)
            if identifier in graded and identifier in source_cells and identifier not in seen:
                seen.add(identifier)
                cells.append(_test_cell(source_cells[identifier], graded[identifier]))
            elif identifier in graded:
                continue  # a second copy of a test cell
            elif cell_source(cell) is not None and cell.get("cell_type") in CELL_TYPES:
                trusted = {} if identifier in given else source_cells.get(identifier, {})
                given.add(identifier)
                error = result.cell_errors.get(number)
                cells.append(_student_cell(cell, nbgrader_metadata(trusted), error, given_ids))
        for identifier, judged in graded.items():
            if identifier not in seen and identifier in source_cells:
                cells.append(_test_cell(source_cells[identifier], judged))
        autograded = {
            "cells": cells,
            "metadata": copy.deepcopy(self.source.get("metadata", {})),
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        folder = self.course_root / "autograded" / result.student_id / self.assignment
        atomic_write(folder / f"{self.assignment}.ipynb", json.dumps(autograded, indent=1))
        if result.timestamp:
            atomic_write(folder / "timestamp.txt", plain_text(result.timestamp))
        secret = Path(result.origin).parent / "submission_secret.txt"
        if not secret.is_symlink():  # nbgrader's release_feedback names the feedback by it
            try:
                raw = read_regular(secret, MAX_SECRET_BYTES)[:MAX_SECRET_BYTES]
            except OSError:
                raw = b""
            if raw:
                atomic_write(folder / secret.name, plain_text(raw.decode("utf-8", "replace")))


CELL_TYPES = ("code", "markdown", "raw")


def _test_cell(source_cell: dict, graded: GroupResult) -> dict:
    cell = copy.deepcopy(source_cell)
    cell["execution_count"] = None
    if graded.passed:
        text = f"passed: {graded.score:g} / {graded.points:g} points\n"
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]
    else:
        cell["outputs"] = [
            {
                "output_type": "error",
                "ename": "AssertionError",
                "evalue": graded.feedback,
                "traceback": graded.feedback.splitlines(),
            }
        ]
    return cell


CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _student_cell(cell: dict, trusted_nbgrader: dict, error: str | None, ids: set[str]) -> dict:
    """A student's cell as the formgrader may show it (see ``_write_autograded``); its ``id``
    is kept only when valid and not already in ``ids`` (nbformat refuses duplicates)."""
    kind = cell["cell_type"]
    source = cell_source(cell) or ""
    metadata = {"nbgrader": copy.deepcopy(trusted_nbgrader)} if trusted_nbgrader else {}
    cleaned: dict[str, Any] = {"cell_type": kind, "metadata": metadata}
    identifier = cell.get("id")
    if isinstance(identifier, str) and CELL_ID.fullmatch(identifier) and identifier not in ids:
        ids.add(identifier)
        cleaned["id"] = identifier
    if kind != "code":
        cleaned["source"] = inert_markdown(source)
        return cleaned
    cleaned |= {"execution_count": None, "source": source, "outputs": []}
    if error:
        error = plain_text(error)
        name, _, message = error.partition(": ")
        cleaned["outputs"] = [
            {"output_type": "error", "ename": name, "evalue": message, "traceback": [error]}
        ]
    return cleaned
