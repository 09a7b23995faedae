"""Operations on the nbgrader course root, through nbgrader's own command line and gradebook.

Used by the book build (to publish the released notebooks), by the test suite and by the
instructor's tools. Every function takes the course root explicitly, so it can work on a
temporary copy without touching the instructor's gradebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.checks import ASSIGNMENTS

REPOSITORY = Path(__file__).resolve().parents[2]
COURSE_ROOT = REPOSITORY / "exercises"
GENERATED = (
    "release",
    "source_with_tests",
    "submitted",
    "autograded",
    "feedback",
    "grades",
    "gradebook.db",
)


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


def tools_environment() -> dict[str, str]:
    """A copy of this process's environment whose ``PATH`` starts with the running
    interpreter's ``bin`` directory (unless already on it).

    nbgrader runs tools such as ``alembic`` by name; with this environment a child finds the
    ones installed beside the interpreter even when the environment was never activated (a
    Makefile, a cron job or an IDE calling ``venv/bin/python``). An unset ``PATH`` becomes
    just that directory.
    """
    environment = dict(os.environ)
    tools = str(Path(sys.executable).parent)
    entries = [entry for entry in environment.get("PATH", "").split(os.pathsep) if entry]
    if tools not in entries:
        entries.insert(0, tools)
    environment["PATH"] = os.pathsep.join(entries)
    return environment


def put_tools_on_path() -> None:
    """Put the running interpreter's ``bin`` directory on this process's own ``PATH``, for the
    tools nbgrader starts from inside this process (``Gradebook`` runs ``alembic`` when it
    creates a gradebook)."""
    os.environ["PATH"] = tools_environment()["PATH"]


def nbgrader(course_root: Path, *args: str, timeout: float = 1800) -> str:
    """Run ``nbgrader ARGS`` in ``course_root`` (with :func:`tools_environment`); return its
    output, ``NbgraderError`` on failure."""
    command = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(
        command,
        cwd=course_root,
        env=tools_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 or "[ERROR]" in output:
        raise NbgraderError(f"`nbgrader {' '.join(args)}` failed in {course_root}:\n{output}")
    return output


def copy_course(destination: Path, course_root: Path = COURSE_ROOT) -> Path:
    """Copy the course's sources and configuration (nothing generated) to ``destination``."""
    ignore = shutil.ignore_patterns(*GENERATED, "*.log", "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(course_root, destination, ignore=ignore, dirs_exist_ok=True)
    return destination


def generate(course_root: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> list[Path]:
    """``nbgrader generate_assignment`` for each assignment; return the released notebooks."""
    released = []
    for assignment in assignments:
        nbgrader(course_root, "generate_assignment", assignment, "--force")
        released.append(course_root / "release" / assignment / f"{assignment}.ipynb")
    return released


def released_notebooks(destination: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> list[Path]:
    """Generate the student notebooks in a scratch copy of the course and copy them to
    ``destination/<id>.ipynb``; the instructor's gradebook is never touched."""
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        course = copy_course(Path(scratch) / "course")
        copies = []
        for notebook in generate(course, assignments):
            target = destination / notebook.name
            shutil.copyfile(notebook, target)
            copies.append(target)
    return copies


def gradebook_scores(course_root: Path, assignment: str) -> dict[str, dict[str, tuple]]:
    """Per student, per graded cell id: ``(auto_score, max_score)`` from the course's gradebook.

    ``auto_score`` is ``None`` for cells graded by hand (the written ``explain`` answer).
    """
    from nbgrader.api import Gradebook

    put_tools_on_path()
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gradebook:
        scores = {}
        for submission in gradebook.assignment_submissions(assignment):
            notebook = gradebook.find_submission_notebook(
                assignment, assignment, submission.student_id
            )
            scores[submission.student_id] = {
                grade.name: (grade.auto_score, grade.max_score) for grade in notebook.grades
            }
    return scores
