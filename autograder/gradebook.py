"""Record grades where nbgrader expects them, so its own tools keep working.

Scores go into the course's ``gradebook.db`` exactly as ``nbgrader autograde`` would store them
(``auto_score`` per grade cell, ``needs_manual_grade`` for the written answer), so ``nbgrader
export``, ``nbgrader generate_feedback`` and the formgrader read them. The notebook formgrader
shows is written to ``autograded/<student>/<assignment>/<assignment>.ipynb``: the student's cells
with the instructor's test cells put back, each carrying its result as output. Recording the same
result twice leaves the gradebook unchanged, and a grade an instructor entered by hand is kept.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any

from autograder.assignment import AssignmentSpec, cell_source, nbgrader_metadata
from autograder.course import nbgrader, put_tools_on_path
from autograder.results import ERROR, StudentResult


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class GradebookWriter:
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
        self.source_cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        put_tools_on_path()  # a new gradebook runs `alembic` by name
        self.gradebook = Gradebook(f"sqlite:///{self.course_root / 'gradebook.db'}")
        try:
            self.gradebook.find_assignment(self.assignment)
        except MissingEntry:
            self.gradebook.close()
            nbgrader(self.course_root, "generate_assignment", self.assignment, "--force")
            self.gradebook = Gradebook(f"sqlite:///{self.course_root / 'gradebook.db'}")

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.gradebook.close()

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
            grade.auto_score = cell.score
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
        graded = {cell.grade_id: cell for cell in result.cells}
        source_tests = {
            nbgrader_metadata(cell).get("grade_id"): cell
            for cell in self.source_cells
            if nbgrader_metadata(cell).get("grade_id") in graded
        }
        cells, seen = [], set()
        for number, cell in enumerate(notebook["cells"], start=1):
            grade_id = nbgrader_metadata(cell).get("grade_id")
            if grade_id in source_tests and grade_id not in seen:
                seen.add(grade_id)
                cells.append(_test_cell(source_tests[grade_id], graded[grade_id]))
            elif cell.get("cell_type") == "code":
                cells.append(_student_code_cell(cell, result.cell_errors.get(number)))
            elif cell_source(cell) is not None:
                cells.append(cell)
        for grade_id, source in source_tests.items():
            if grade_id not in seen:
                cells.append(_test_cell(source, graded[grade_id]))
        autograded = dict(notebook, cells=cells)
        autograded.setdefault("nbformat", 4)
        autograded.setdefault("nbformat_minor", 5)
        autograded.setdefault("metadata", {})
        folder = self.course_root / "autograded" / result.student_id / self.assignment
        atomic_write(folder / f"{self.assignment}.ipynb", json.dumps(autograded, indent=1))
        if result.timestamp:
            atomic_write(folder / "timestamp.txt", result.timestamp)
        secret = Path(result.origin).parent / "submission_secret.txt"
        if secret.is_file():  # nbgrader's release_feedback names the student's feedback by it
            atomic_write(folder / secret.name, secret.read_text(encoding="utf-8")[:1024])


def _test_cell(source_cell: dict, graded) -> dict:
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


def _student_code_cell(cell: dict, error: str | None) -> dict:
    cleaned = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {},
        "source": cell_source(cell) or "",
        "outputs": [],
    }
    if "id" in cell and isinstance(cell["id"], str):
        cleaned["id"] = cell["id"]
    if error:
        name, _, message = error.partition(": ")
        cleaned["outputs"] = [
            {"output_type": "error", "ename": name, "evalue": message, "traceback": [error]}
        ]
    return cleaned
