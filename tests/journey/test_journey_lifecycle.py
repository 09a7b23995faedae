"""A course's whole lifecycle on one machine, through nbgrader's exchange in a local folder.

Exactly the README's instructor guide: the instructor releases ``ex03_logsumexp``; two students,
each with their own home directory and ``~/.jupyter/nbgrader_config.py``, fetch it, complete it
(alice with the model answers, bob with a ``logsumexp`` that overflows) and submit; the
instructor collects, grades with ``python -m autograder grade`` on ``submitted/``, generates and
releases the feedback; each student fetches their feedback and finds their own score in it.
"""

from __future__ import annotations

import csv
import html
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from journey_notebooks import OVERFLOWING_LOGSUMEXP, completed

from autograder.course.operations import copy_course, gradebook_scores, nbgrader, tools_environment
from autograder.grader.assignment import load_spec

pytestmark = pytest.mark.nbgrader

ASSIGNMENT = "ex03_logsumexp"
COURSE_ID = "numerical-stability"


def student_nbgrader(home: Path, *args: str) -> str:
    """``nbgrader ARGS`` as the student whose home directory is ``home`` (run there)."""
    environment = dict(tools_environment(), HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "[ERROR]" not in output, output
    return output


def score_in(feedback_html: str) -> str:
    """The total score line of nbgrader's feedback page, e.g. ``24.0 / 27.0``."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", feedback_html)).split())
    match = re.search(r"Score: ([0-9.]+ / [0-9.]+)", text)
    assert match, f"no score in the feedback page: {text[:300]}"
    return match.group(1)


def test_release_fetch_submit_collect_grade_feedback(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    course = copy_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"c.Exchange.root = {str(exchange)!r}\n")
    homes = {}
    for student in ("alice", "bob"):
        home = homes[student] = tmp_path / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n",
            encoding="utf-8",
        )

    # the instructor releases
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    nbgrader(course, "release_assignment", ASSIGNMENT)

    # the students fetch, complete and submit
    answers = {"alice": {}, "bob": {"logsumexp": OVERFLOWING_LOGSUMEXP}}
    for student, home in homes.items():
        student_nbgrader(home, "fetch_assignment", ASSIGNMENT)
        fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nbformat.write(completed(course, ASSIGNMENT, fetched, **answers[student]), fetched)
        student_nbgrader(home, "submit", ASSIGNMENT, f"--student={student}")

    # the instructor collects, grades, and returns the feedback
    nbgrader(course, "collect", ASSIGNMENT)
    out = tmp_path / "grades"
    grade = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(course / "submitted")]
    grade += ["--course-root", str(course), "--out", str(out), "--no-progress"]
    done = subprocess.run(grade, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "release_feedback", ASSIGNMENT)

    with open(out / "grades.csv", newline="", encoding="utf-8") as table:
        rows = {row["student_id"]: row for row in csv.DictReader(table)}
    max_score = load_spec(course, ASSIGNMENT).max_score
    assert float(rows["alice"]["score"]) == max_score
    assert 0 < float(rows["bob"]["score"]) < max_score
    assert float(rows["bob"]["test_logsumexp_large"]) == 0  # the overflow group
    gradebook = gradebook_scores(course, ASSIGNMENT)
    for student, row in rows.items():
        automatic = sum(score for score, _ in gradebook[student].values() if score is not None)
        assert automatic == float(row["score"]), student

    # each student fetches their feedback and sees their own score (the written answer is
    # not graded yet, so it counts 0 of its points)
    total = max_score + sum(cell.points for cell in load_spec(course, ASSIGNMENT).manual_cells)
    for student, home in homes.items():
        student_nbgrader(home, "fetch_feedback", ASSIGNMENT, f"--student={student}")
        (page,) = (home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
        feedback = page.read_text(encoding="utf-8")
        score = float(rows[student]["score"])
        assert score_in(feedback) == f"{score:.1f} / {total:.1f}"
    bob = html.unescape(next((homes["bob"] / ASSIGNMENT / "feedback").glob("*/*.html")).read_text())
    assert "logsumexp, group 'large'" in bob  # what failed, on which input, why
    assert "Likely cause:" in bob and "Re-read: Chapter 3" in bob
