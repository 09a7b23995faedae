"""What a student sees from Validate: ``nbgrader validate`` on released notebooks.

The visible tests are nbgrader test cells worth 0 points, so validation runs them: a notebook
whose answers are not written yet, or whose ``logsumexp`` overflows, fails and names the cell and
the reason (input, what came back, likely cause, section to re-read); a complete notebook passes,
also when a correct answer warns. The visible tests do not need the course package. The
sandboxed class grader still grades exactly the hidden test cells.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from journey_notebooks import OVERFLOWING_LOGSUMEXP, completed

from autograder.checks import ASSIGNMENTS
from autograder.course.operations import COURSE_ROOT, copy_course, generate, nbgrader
from autograder.grader.assignment import load_spec, nbgrader_metadata

pytestmark = pytest.mark.nbgrader

# A correct log_product that lets NumPy warn about log(0) and also prints to stderr.
WARNING_LOG_PRODUCT = """
import sys

def log_product(probs):
    probs = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(probs)) or np.any((probs < 0) | (probs > 1)):
        raise ValueError("log_product: probabilities must lie in [0, 1] and not be NaN")
    print("computing a log product", file=sys.stderr)
    return float(np.sum(np.log(probs)))
"""


def validate(course: Path, notebook: nbformat.NotebookNode, name: str) -> str:
    """``nbgrader validate`` of ``notebook`` saved as ``name``; its output, whitespace joined."""
    path = course / "student" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, path)
    return " ".join(nbgrader(course, "validate", str(path)).split())


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = copy_course(tmp_path_factory.mktemp("validate") / "course")
    generate(root, ("ex02_overflow", "ex03_logsumexp"))
    return root


def test_untouched_release_fails_and_says_what_is_missing(course):
    released = nbformat.read(course / "release/ex03_logsumexp/ex03_logsumexp.ipynb", as_version=4)
    output = validate(course, released, "untouched.ipynb")
    assert "Success!" not in output
    # three functions, the multiple-choice answers and the written answer
    assert "VALIDATION FAILED ON 5 CELL(S)!" in output
    for name in ("logsumexp", "logaddexp", "online_logsumexp"):
        assert f"{name} is not written yet: replace `raise NotImplementedError()`" in output
    assert "answer_q1 is not set" in output
    assert "You did not provide a response." in output


def test_overflowing_logsumexp_fails_with_input_result_cause_and_section(course):
    notebook = completed(course, "ex03_logsumexp", logsumexp=OVERFLOWING_LOGSUMEXP)
    output = validate(course, notebook, "overflow.ipynb")
    assert "VALIDATION FAILED ON 1 CELL(S)!" in output
    assert "Visible tests for logsumexp" in output  # the failing cell is shown
    assert (
        "logsumexp: logsumexp([1000, 1001, 999]) returned inf: subtract the maximum first "
        "Re-read: Chapter 3, The log-sum-exp trick § The shift identity." in output
    )


def test_complete_notebook_validates(course):
    output = validate(course, completed(course, "ex03_logsumexp"), "complete.ipynb")
    assert "Success! Your notebook passes all the tests." in output


def test_correct_answer_that_warns_and_writes_to_stderr_validates(course):
    notebook = completed(course, "ex02_overflow", log_product=WARNING_LOG_PRODUCT)
    output = validate(course, notebook, "warns.ipynb")
    assert "Success! Your notebook passes all the tests." in output


# The released notebook's code cells run in order by plain ``exec`` with the course's packages
# made unimportable, as in a Colab or a bare Jupyter; prints the visible tests' outcome.
BARE_RUNNER = """
import json, sys
sys.modules["autograder"] = sys.modules["solutions"] = None  # not installed
namespace = {}
for cell in json.load(open(sys.argv[1]))["cells"]:
    if cell["cell_type"] == "code":
        try:
            exec("".join(cell["source"]), namespace)
        except AssertionError as error:
            print("AssertionError:", error)
"""


def run_bare(course: Path, notebook: nbformat.NotebookNode, name: str) -> str:
    path = course / "student" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, path)
    done = subprocess.run(
        [sys.executable, "-c", BARE_RUNNER, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return " ".join(done.stdout.split())


def test_visible_tests_run_without_the_course_package(course):
    passing = run_bare(course, completed(course, "ex03_logsumexp"), "bare.ipynb")
    for name in ("logsumexp", "logaddexp", "online_logsumexp"):
        assert f"{name}: visible tests passed" in passing
    assert "AssertionError" not in passing
    failing = run_bare(
        course,
        completed(course, "ex03_logsumexp", logsumexp=OVERFLOWING_LOGSUMEXP),
        "bare-overflow.ipynb",
    )
    assert "AssertionError: logsumexp: logsumexp([1000, 1001, 999]) returned inf" in failing
    assert "logaddexp: visible tests passed" in failing


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_tests_are_worthless_test_cells_and_the_grader_ignores_them(assignment):
    path = COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    metadata = [nbgrader_metadata(cell) for cell in cells]
    visible = [m for m in metadata if m.get("grade_id", "").startswith("visible_")]
    tests = [m for m in visible if m["grade_id"] != "visible_helper"]
    assert tests and all(m["grade"] and m["points"] == 0 and m["locked"] for m in tests)
    hidden = {m["grade_id"] for m in metadata if m.get("grade_id", "").startswith("test_")}
    spec = load_spec(COURSE_ROOT, assignment)
    assert {cell.grade_id for cell in spec.test_cells} == hidden
    assert [cell.grade_id for cell in spec.manual_cells] == ["explain"]
