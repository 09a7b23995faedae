"""nbgrader's tools are found without an activated environment.

nbgrader runs ``alembic`` by name when it creates a gradebook. The book extension (a clean build
generates the student notebooks) and the class grader (its first run creates the gradebook) are
started here with a ``PATH`` that lacks the interpreter's ``bin`` directory, as from a Makefile,
a cron job or an IDE calling ``venv/bin/python``; both must still work.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest

from autograder.course.operations import COURSE_ROOT, copy_course
from autograder.grader.assignment import load_spec

pytestmark = pytest.mark.nbgrader

BARE_PATH = "/usr/bin:/bin"


def bare_environment() -> dict[str, str]:
    """This environment with ``PATH`` reduced to the system's directories."""
    if shutil.which("alembic", path=BARE_PATH):
        pytest.skip(f"alembic is installed system-wide ({BARE_PATH}), so nothing would be proven")
    return dict(os.environ, PATH=BARE_PATH)


def test_book_extension_generates_notebooks_without_the_environment_on_path(tmp_path):
    publish = (
        "import sys, types, autograder.course.book as book\n"
        "book.ASSIGNMENTS = ('ex03_logsumexp',)\n"
        "book.publish(types.SimpleNamespace(srcdir=sys.argv[1]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", publish, str(tmp_path)],
        env=bare_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    released = tmp_path / "_build" / "assignments" / "ex03_logsumexp.ipynb"
    assert "raise NotImplementedError()" in released.read_text(encoding="utf-8")


def test_first_grader_run_creates_the_gradebook_without_the_environment_on_path(tmp_path):
    course = copy_course(tmp_path / "course")
    student = tmp_path / "submissions" / "alice.ipynb"
    student.parent.mkdir()
    shutil.copyfile(COURSE_ROOT / "source/ex03_logsumexp/ex03_logsumexp.ipynb", student)
    out = tmp_path / "grades"
    command = [sys.executable, "-m", "autograder", "grade", "ex03_logsumexp", str(student.parent)]
    command += ["--course-root", str(course), "--out", str(out), "--jobs", "1", "--no-progress"]
    done = subprocess.run(
        command, env=bare_environment(), capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (course / "gradebook.db").is_file()
    with open(out / "grades.csv", newline="", encoding="utf-8") as table:
        (row,) = csv.DictReader(table)
    full = load_spec(course, "ex03_logsumexp").max_score  # the instructor's notebook: full marks
    assert (row["student_id"], row["status"], float(row["score"])) == ("alice", "graded", full)
