"""The seven assignments end to end through real nbgrader, in temporary copies of the course root.

For each assignment: ``nbgrader generate_assignment``; then ``nbgrader autograde`` of four kinds
of submission — the instructor notebook (full marks), the released notebook untouched (0, and it
runs to the end), a mutant (each answer cell replaced by a naive or subtly wrong implementation
from ``tests/mutants``: it loses exactly the groups the mutant breaks) and, for ex02, a correct
answer that emits a RuntimeWarning (full marks) — and ``nbgrader validate`` of the instructor
notebook. Each notebook is executed once per test run; the tests share the results.
"""

from __future__ import annotations

import importlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.course.operations import (
    COURSE_ROOT,
    copy_course,
    generate,
    gradebook_scores,
    nbgrader,
)

pytestmark = pytest.mark.nbgrader

# A correct log_product that lets NumPy warn about log(0): nbgrader must not penalise it.
WARNING_LOG_PRODUCT = """
import numpy as np

def log_product(probs):
    probs = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(probs)) or np.any((probs < 0) | (probs > 1)):
        raise ValueError("log_product: probabilities must lie in [0, 1] and not be NaN")
    return float(np.sum(np.log(probs)))  # warns "divide by zero" for a zero probability
"""


def mutants(assignment: str):
    return importlib.import_module(f"mutants.{assignment}")


def with_answers(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose answer cells (by grade_id) hold the given sources."""
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def submit(course: Path, assignment: str, student: str, notebook: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")


def grade_assignment(course: Path, assignment: str) -> dict:
    """Generate, submit the four kinds of notebook, autograde and validate one assignment."""
    copy_course(course)
    (released_path,) = generate(course, (assignment,))
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(released_path, as_version=4)
    module = mutants(assignment)
    mutant_answers = {name: cases[0][0] for name, cases in module.MUTANTS.items()}
    mutant_answers |= {q: f'answer_{q} = "{letter}"' for q, letter in module.ANSWERS.items()}

    submit(course, assignment, "instructor", source)
    submit(course, assignment, "untouched", released)
    submit(course, assignment, "mutant", with_answers(released, mutant_answers))
    if assignment == "ex02_overflow":
        submit(
            course,
            assignment,
            "warning",
            with_answers(source, {"log_product": WARNING_LOG_PRODUCT}),
        )
    nbgrader(course, "autograde", assignment, "--force")
    executed = {}
    for student_dir in (course / "autograded").iterdir():
        notebook = nbformat.read(student_dir / assignment / f"{assignment}.ipynb", as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        executed[student_dir.name] = all(cell.execution_count for cell in code)
    validation = nbgrader(course, "validate", f"source/{assignment}/{assignment}.ipynb")
    return {
        "scores": gradebook_scores(course, assignment),
        "executed": executed,
        "validate": validation,
    }


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[str, dict]:
    """Every assignment graded once (two at a time); an assignment that fails holds its error."""
    root = tmp_path_factory.mktemp("courses")

    def attempt(assignment: str):
        try:
            return grade_assignment(root / assignment, assignment)
        except Exception as error:  # reported by each test of that assignment
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(ASSIGNMENTS, pool.map(attempt, ASSIGNMENTS), strict=True))
    yield results
    shutil.rmtree(root, ignore_errors=True)


def result_for(graded: dict, assignment: str) -> dict:
    result = graded[assignment]
    if isinstance(result, Exception):
        pytest.fail(f"{assignment} could not be graded end to end: {result}")
    return result


def auto_graded(scores: dict[str, tuple]) -> dict[str, tuple]:
    """The autograded cells (the hand-graded written answer has no auto score)."""
    return {grade_id: score for grade_id, score in scores.items() if grade_id != "explain"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_instructor_notebook_gets_full_marks(graded, assignment):
    scores = auto_graded(result_for(graded, assignment)["scores"]["instructor"])
    lost = {cell: score for cell, score in scores.items() if score[0] != score[1]}
    assert scores and not lost, f"instructor notebook lost points: {lost}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_runs_to_the_end_and_gets_zero(graded, assignment):
    result = result_for(graded, assignment)
    assert result["executed"]["untouched"], "the released notebook did not run to the end"
    scores = auto_graded(result["scores"]["untouched"])
    assert sum(score for score, _ in scores.values()) == 0, scores


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_mutants_lose_exactly_the_groups_they_break(graded, assignment):
    scores = result_for(graded, assignment)["scores"]["mutant"]
    module = mutants(assignment)
    expected_failures = {
        f"test_{name}_{group}" for name, cases in module.MUTANTS.items() for group in cases[0][1]
    }
    for cell, (score, max_score) in auto_graded(scores).items():
        if cell in expected_failures:
            assert score == 0, f"mutant kept the points of {cell}"
        else:
            assert score == max_score, f"mutant lost the points of {cell}, which it should keep"
    assert expected_failures <= set(scores), expected_failures - set(scores)


def test_correct_answer_that_warns_keeps_full_marks(graded):
    scores = auto_graded(result_for(graded, "ex02_overflow")["scores"]["warning"])
    assert all(score == max_score for score, max_score in scores.values()), scores


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_instructor_notebook_validates(graded, assignment):
    assert "Success!" in result_for(graded, assignment)["validate"]


# --- the notebooks' structure against the contract (no execution) ------------------------------

GRADED_NAMES = {
    "ex01_floats": ["float_format", "ulp", "ulps_between", "kahan_sum"],
    "ex02_overflow": ["log_product", "stable_sigmoid", "softplus", "clipped_bce"],
    "ex03_logsumexp": ["logsumexp", "logaddexp", "online_logsumexp"],
    "ex04_softmax": [
        "softmax",
        "log_softmax",
        "cross_entropy",
        "bce_with_logits",
        "torch_cross_entropy",
    ],
    "ex05_clipping": ["clip_by_value", "clip_by_global_norm", "sgd_with_clipping"],
    "ex06_standardisation": [
        "fit_standardiser",
        "standardise",
        "welford",
        "fit_linear_regression_gd",
    ],
    "ex07_mixed_precision": [
        "round_to_bfloat16",
        "DynamicLossScaler",
        "fp16_underflow_fraction",
        "mixed_precision_train_step",
    ],
}


def nbgrader_cells(assignment: str) -> dict[str, nbformat.NotebookNode]:
    path = COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in notebook.cells
        if "nbgrader" in cell.metadata
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_matches_the_contract_and_the_checks(assignment):
    cells = nbgrader_cells(assignment)
    checks = checks_for(assignment)
    graded = GRADED_NAMES[assignment]
    questions = [name for name in checks if name.startswith("q")]
    assert [name for name in checks if not name.startswith("q")] == graded
    assert 2 <= len(questions) <= 3
    for name in graded + questions:
        assert cells[name].metadata["nbgrader"]["solution"], f"{name} is not an answer cell"
        groups = checks[name].groups
        assert name in questions or len(groups) >= 2, f"{name} needs at least two groups"
        for group in groups:
            test_cell = cells.get(f"test_{name}_{group.name}")
            assert test_cell is not None, f"no hidden test cell for {name}/{group.name}"
            assert test_cell.metadata["nbgrader"]["points"] == group.points
            assert "### BEGIN HIDDEN TESTS" in test_cell.source
            assert f'"{name}"' in test_cell.source and f'"{group.name}"' in test_cell.source
    explain = cells["explain"].metadata["nbgrader"]
    assert explain["grade"] and explain["solution"] and explain["points"] > 0
    hidden = [cell for cell in cells if cell.startswith("test_")]
    expected = {f"test_{n}_{g.name}" for n in graded + questions for g in checks[n].groups}
    assert set(hidden) == expected, "hidden test cells and checks disagree"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_multiple_choice_keys_agree(assignment):
    for question, letter in mutants(assignment).ANSWERS.items():
        report = checks_for(assignment)[question]
        assert (
            report.groups[0].cases[0].verdict(report.groups[0].cases[0], {"value": letter}) is None
        )
