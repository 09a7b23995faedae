"""The assignments as a careful teacher leaves them: points, rubrics, rules, keys and model answers.

Points: the numerically hard groups are worth at least as much as the ordinary ones, each notebook
states how its points are split (computed from the grade cells), and no student-visible header says
"(1 points)". Rubrics: every written answer has one, with points per element that add up to the
answer's points and the common wrong answers, in a hidden region students never see. Rules: the
contract sentences the notebooks state hold for the reference. Keys: every number a keyed answer or
a model answer states is computed here.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import warnings

import matplotlib
import nbformat
import numpy as np
import pytest
import torch
from teaching import (
    HARD,
    POINTS_ID,
    RUBRIC_START,
    grade_id,
    is_hidden_test,
    points_cell,
    points_text,
    released,  # noqa: F401 (the session fixture)
    rubric,
    rubric_cell,
    source_notebook,
    split_test_id,
)

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.course.operations import COURSE_ROOT, copy_course
from autograder.grader.assignment import load_spec
from autograder.grader.gradebook import GradebookWriter
from autograder.grader.results import CellResult, StudentResult
from solutions.clipping import clip_by_global_norm, clip_by_value, sgd_with_clipping
from solutions.floats import ulp
from solutions.mixed_precision import round_to_bfloat16
from solutions.standardisation import fit_linear_regression_gd, welford


def cell(notebook, wanted: str):
    (found,) = [c for c in notebook.cells if grade_id(c) == wanted]
    return found


def option(assignment: str, question: str, letter: str) -> str:
    """The text of one option of a multiple-choice question in the source notebook."""
    text = cell(source_notebook(assignment), f"{question}_question").source
    (line,) = [row for row in text.splitlines() if row.startswith(f"- **({letter})**")]
    return line


def model_answer(assignment: str) -> str:
    return cell(source_notebook(assignment), "explain").source


def squash(text: str) -> str:
    return " ".join(text.split())


# --- points --------------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hard_groups_are_worth_at_least_the_ordinary_group(assignment):
    checks = checks_for(assignment)
    assert set(HARD[assignment]) == {name for name in checks if not re.fullmatch(r"q\d+", name)}
    for name, hard in HARD[assignment].items():
        groups = {group.name: group.points for group in checks[name].groups}
        ordinary = checks[name].groups[0].points
        assert hard <= set(groups), f"{name}: no groups {hard - set(groups)}"
        for group in hard:
            assert groups[group] >= ordinary, f"{name}/{group}: {groups[group]} < {ordinary}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_states_how_its_points_are_split(assignment):
    notebook = source_notebook(assignment)
    assert cell(notebook, POINTS_ID).source == points_cell(assignment, notebook)
    load_spec(COURSE_ROOT, assignment)  # the test cells' points agree with the checks


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_visible_headers_state_points_in_good_english(released, assignment):  # noqa: F811
    notebook = nbformat.read(released[assignment], as_version=4)
    assert "(1 points)" not in nbformat.writes(notebook)
    for test_cell in notebook.cells:
        meta = test_cell.metadata.get("nbgrader", {})
        if is_hidden_test(test_cell):
            header = test_cell.source.splitlines()[0]
            assert f"({points_text(meta['points'])})" in header, header
            # the group's name, as the Points table lists it (questions have one group)
            if not meta["grade_id"].startswith("test_q"):
                group = hidden_group_of(assignment, meta["grade_id"])
                assert f" ({group}): " in header, header


def hidden_group_of(assignment: str, test_id: str) -> str:
    """The check group a hidden test cell grades, read from the source notebook's call."""
    source = cell(source_notebook(assignment), test_id).source
    return split_test_id(test_id, source)[1]


# --- rubrics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_written_answer_has_a_rubric_that_adds_up(assignment):
    notebook = source_notebook(assignment)
    text = rubric(notebook)
    assert text, f"{assignment}: no rubric before the written answer"
    element_points = re.findall(r"^(\d+(?:\.\d+)?) points?\b", text, flags=re.MULTILINE)
    explain_points = cell(notebook, "explain").metadata["nbgrader"]["points"]
    assert len(element_points) >= 2
    assert sum(float(p) for p in element_points) == explain_points
    assert "Common wrong answers" in text and text.count("\n- ") >= 2
    # a hidden region of a hidden test cell: nbgrader autograde and the course's grader both put
    # the whole cell back in the notebook the formgrader shows
    meta = rubric_cell(notebook).metadata["nbgrader"]
    assert meta["grade"] and not meta["solution"]
    assert rubric_cell(notebook).source.index(RUBRIC_START) > rubric_cell(notebook).source.index(
        "### BEGIN HIDDEN TESTS"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_students_see_neither_rubric_nor_model_answer(released, assignment):  # noqa: F811
    text = nbformat.writes(nbformat.read(released[assignment], as_version=4))
    assert RUBRIC_START not in text and "Common wrong answers" not in text
    first_line = model_answer(assignment).splitlines()[1]
    assert first_line not in text


# --- rules stated in the notebooks ---------------------------------------------------------------


def test_ulp_equals_math_ulp_for_finite_float64_and_is_nan_for_inf_and_nan():
    values = [0.0, -0.0, 5e-324, 2.2e-308, 1.0, -1.5, 1e300, np.finfo(np.float64).max]
    for x in values + list(np.random.default_rng(17).normal(0, 1e10, 200)):
        assert ulp(float(x), np.float64) == math.ulp(float(x))
    for x in (math.inf, -math.inf, math.nan):
        assert math.isnan(ulp(x, np.float64))
    assert math.ulp(math.inf) == math.inf  # where the notebook says ulp differs from math.ulp
    text = cell(source_notebook("ex01_floats"), "cell_md_4").source
    assert "for every finite float64 `x` it equals `math.ulp(x)`" in text
    assert "for inf, NaN, or an `x` that rounds to inf in `dtype`, return `nan`" in text


def test_welford_and_regression_return_float64_as_ex06_rules_say():
    x = np.arange(10, dtype=np.float32)
    _, mean, var = welford(iter([x[:4], x[4:]]))
    assert np.asarray(mean).dtype == np.float64 and np.asarray(var).dtype == np.float64
    features = np.random.default_rng(6).normal(0, 1, (50, 2)).astype(np.float32)
    w, b = fit_linear_regression_gd(features, features @ np.float32([1, 2]), n_steps=50)
    assert np.asarray(w).dtype == np.float64 and np.asarray(b).dtype == np.float64
    rules = squash(source_notebook("ex06_standardisation").cells[0].source)
    assert "`welford` returns float64 statistics whatever the input dtype" in rules
    assert "`fit_linear_regression_gd` returns float64 weights" in rules


def test_torch_logsumexp_is_allowed_in_ex04_and_used_by_its_solution():
    rules = squash(source_notebook("ex04_softmax").cells[0].source)
    assert "in `torch_cross_entropy` also `torch.logsumexp`" in rules
    assert "torch.logsumexp" in cell(source_notebook("ex04_softmax"), "torch_cross_entropy").source
    assert "`torch.logsumexp`" in source_notebook("ex03_logsumexp").cells[0].source  # banned there


def test_sgd_with_clipping_raises_on_nonfinite_gradients_only_with_max_norm():
    text = squash(cell(source_notebook("ex05_clipping"), "cell_md_5").source)
    assert "With `max_norm` given, a gradient containing inf or NaN cannot be clipped" in text

    def exploding(theta, step):
        return np.array([np.inf, 1.0]) if step == 2 else theta.copy()

    with pytest.raises(FloatingPointError, match="step 2"):
        sgd_with_clipping(exploding, np.ones(2), 0.1, 4, max_norm=1.0)
    with np.errstate(invalid="ignore"):
        run = sgd_with_clipping(exploding, np.ones(2), 0.1, 4)
    assert math.isinf(run["grad_norms"][2])
    namespace, _ = _instructor_namespace("ex05_clipping", "sgd_with_clipping")
    with pytest.raises(FloatingPointError, match="step 2"):
        namespace["sgd_with_clipping"](exploding, np.ones(2), 0.1, 4, max_norm=1.0)


def _instructor_namespace(assignment: str, up_to: str) -> tuple[dict, str]:
    """Run the instructor notebook's code cells up to ``up_to`` (a grade id or a source marker),
    skipping hidden test cells; return the namespace and what the last cell printed."""
    matplotlib.use("Agg")
    namespace: dict = {}
    for code in source_notebook(assignment).cells:
        if code.cell_type != "code":
            continue
        meta = code.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code.source, namespace)
        if grade_id(code) == up_to or up_to in code.source:
            return namespace, printed.getvalue()
    raise AssertionError(f"no cell {up_to!r}")


# --- model answers match what the notebooks print and measure ------------------------------------


def test_ex05_model_answer_quotes_what_the_plot_cell_prints():
    _, output = _instructor_namespace("ex05_clipping", "spike_steps = {")
    quotes = re.findall(r"`([^`]+)`", model_answer("ex05_clipping"))
    assert len(quotes) >= 4
    for quote in quotes:
        assert squash(quote) in squash(output), quote


def test_ex07_unit_roundoff_of_bfloat16_is_2_to_the_minus_8_as_measured():
    x = np.random.default_rng(7).uniform(1, 2, 200_000).astype(np.float32)
    x = np.concatenate([x, np.float32([1 + 2**-8 + 2**-23])])  # just above a tie
    relative = np.abs(round_to_bfloat16(x).astype(np.float64) - x) / x
    assert 2**-9 < relative.max() <= 2**-8  # u = 2^-8 ≈ 0.39%, not 2^-9
    assert f"{2**-8:.2%}" == "0.39%"
    answer = model_answer("ex07_mixed_precision")
    assert "u = 2^-8 ≈ 0.39%" in answer and "2^-9 ≈ 0.2%" not in answer
    # Q3 and the chapter's check question name the same bound, u = 2^-8
    assert "2^{-8}|w|" in option("ex07_mixed_precision", "q3", "a")
    bf16 = torch.bfloat16
    assert float(torch.tensor(1.0 + 0.99 * 2**-8).to(bf16)) == 1.0  # lost at w = 1
    assert float(torch.tensor(1.0 + 1.01 * 2**-8).to(bf16)) > 1.0  # kept at w = 1
    w = 1.9921875  # the largest bfloat16 below 2: half the spacing is about 2^-9 |w|
    assert float(torch.tensor(w + 0.99 * 2**-8).to(bf16)) == w


# --- the numbers the keyed answers state ---------------------------------------------------------


def test_ex01_keys():
    assert np.float32(2**24) + np.float32(1) == np.float32(2**24)
    assert np.spacing(np.float32(2**24)) == 2
    assert "16 777 216 again" in option("ex01_floats", "q3", "a")
    # the written answer's numbers: 3e-8 is below half the ULP of 1.0, the plain loop stays at 1
    assert 3e-8 < np.spacing(np.float32(1)) / 2
    total = np.float32(1)
    for _ in range(19_999):
        total += np.float32(3e-8)
    assert total == 1
    exact = 1 + 19_999 * float(np.float32(3e-8))
    assert round(exact, 4) == 1.0006 and 4_900 < (exact - 1) / 2**-23 < 5_100


def test_ex02_keys():
    with np.errstate(under="ignore"):
        assert np.prod(np.full(300, 0.01)) == 0.0
    assert f"{300 * math.log(0.01):.1f}" == "-1381.6"
    assert "-1381.6" in option("ex02_overflow", "q2", "a")
    x = np.array([-1000.0, 1000.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    assert np.array_equal(value, [0.0, 1.0])
    messages = " ".join(str(w.message) for w in caught)
    assert "overflow" in messages and "invalid value" in messages


def test_ex03_keys():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 30, 7), rng.normal(0, 30, 5)
    state = [(x.max(), np.sum(np.exp(x - x.max()))) for x in (a, b)]
    m = max(state[0][0], state[1][0])
    s = state[0][1] * np.exp(state[0][0] - m) + state[1][1] * np.exp(state[1][0] - m)
    both = np.concatenate([a, b])
    assert m == both.max() and math.isclose(s, np.sum(np.exp(both - m)), rel_tol=1e-13)
    assert math.log(1 + math.exp(-40)) == 0.0
    assert math.isclose(math.log1p(math.exp(-40)), 4.248e-18, rel_tol=1e-3)


def test_ex04_keys():
    x = np.array([0.0, -1000.0])
    with np.errstate(divide="ignore", under="ignore"):
        naive = np.log(np.exp(x - x.max()) / np.sum(np.exp(x - x.max())))
    assert naive[1] == -np.inf
    assert np.allclose(x - (x.max() + np.log(np.sum(np.exp(x - x.max())))), [0.0, -1000.0])
    # the written answer's thresholds: exp underflows to 0 below about -104 (float32), -745
    with np.errstate(under="ignore"):
        assert np.exp(np.float32(-104)) == 0 and np.exp(np.float32(-103)) > 0
        assert np.exp(-746.0) == 0 and np.exp(-745.0) > 0
    assert "below about $-104$ in float32 ($-745$ in float64)" in model_answer("ex04_softmax")


def test_ex04_q3_shifted_softmax_is_more_accurate_for_large_logits():
    mpmath = pytest.importorskip("mpmath")
    x = 1e4 + np.random.default_rng(4).normal(0, 1, 200)
    m = x.max()
    divided = np.exp(x - m) / np.sum(np.exp(x - m))  # option (a)
    via_lse = np.exp(x - (m + np.log(np.sum(np.exp(x - m)))))  # option (b)
    with mpmath.workdps(50):
        exact = [mpmath.exp(mpmath.mpf(float(v)) - float(m)) for v in x]
        total = mpmath.fsum(exact)
        reference = np.array([float(e / total) for e in exact])
    error_a = np.max(np.abs(divided - reference) / reference)
    error_b = np.max(np.abs(via_lse - reference) / reference)
    assert error_a < 1e-15 < 1e-13 < error_b  # x - logsumexp(x) loses digits at 1e4


def test_ex05_keys():
    (by_value,) = clip_by_value([np.array([30.0, 40.0])], 5.0)
    (by_norm,), norm = clip_by_global_norm([np.array([30.0, 40.0])], 5.0)
    assert np.array_equal(by_value, [5.0, 5.0]) and norm == 50.0
    assert np.allclose(by_norm, [3.0, 4.0], rtol=1e-6)
    g = np.full(4, 1e20, dtype=np.float32)
    with np.errstate(over="ignore"):
        naive = np.sqrt(np.sum(g**2))
    assert naive == np.inf and 1.0 / naive == 0.0  # max_norm / inf zeroes the gradient
    assert 1e40 > float(np.finfo(np.float32).max) > 3.4e38


def test_ex06_keys():
    x = 1e9 + np.random.default_rng(0).normal(0, 1, 1000)
    assert np.spacing(np.mean(x**2)) == 128  # one rounding error at 1e18 is about 1e2
    negative = 0
    for seed in range(20):
        x = 1e9 + np.random.default_rng(seed).normal(0, 1, 1000)
        negative += np.mean(x**2) - np.mean(x) ** 2 < 0
    assert negative > 0  # "can even be negative"
    rng = np.random.default_rng(6)
    n = 1000
    X = np.column_stack(
        [np.ones(n), rng.normal(5e4, 1.2e4, n), rng.uniform(20, 65, n), rng.normal(1e-3, 2e-4, n)]
    )
    largest = np.linalg.eigvalsh(2 * X.T @ X / n).max()
    assert 4e9 < largest < 6.5e9 and 3e-10 < 2 / largest < 5e-10
    assert r"\approx 5\times10^{9}" in option("ex06_standardisation", "q2", "a")
    assert r"\approx 4\times10^{-10}" in option("ex06_standardisation", "q2", "a")


def test_ex07_keys():
    big = np.float32([1e5])
    assert abs(float(round_to_bfloat16(big)[0]) - 1e5) / 1e5 <= 2**-8
    with np.errstate(over="ignore"):
        assert np.isinf(big.astype(np.float16)[0]) and np.finfo(np.float16).max == 65504
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2000)
    for step in range(3):
        optimizer.zero_grad()
        scaler.scale(model(torch.ones(1, 2)).sum()).backward()
        if step == 2:
            model.weight.grad[0, 0] = float("inf")
        before = model.weight.detach().clone()
        scaler.step(optimizer)
        scaler.update()
    assert torch.equal(before, model.weight.detach())  # the step was skipped
    assert scaler.get_scale() == 512.0 and scaler._get_growth_tracker() == 0


def test_the_formgrader_notebook_of_the_course_grader_shows_the_rubric(released, tmp_path):  # noqa: F811
    """What ``python -m autograder grade`` writes for the formgrader holds the rubric before the
    student's written answer (``nbgrader autograde`` restores the same cell from its gradebook)."""
    assignment = "ex03_logsumexp"
    course = copy_course(tmp_path / "course")
    spec = load_spec(course, assignment)
    cells = [CellResult(t.grade_id, t.name, t.group, "", t.points, True) for t in spec.test_cells]
    result = StudentResult("student", "graded", spec.max_score, cells=cells)
    notebook = json.loads(released[assignment].read_text(encoding="utf-8"))
    with GradebookWriter(course, spec) as writer:
        writer._write_autograded(result, notebook)
    shown = nbformat.read(course / "autograded" / "student" / assignment / f"{assignment}.ipynb", 4)
    ids = [grade_id(c) for c in shown.cells]
    before_answer = shown.cells[: ids.index("explain")]
    holder = [c for c in before_answer if RUBRIC_START in c.source]
    first_element = rubric(source_notebook(assignment)).splitlines()[2]
    assert first_element.startswith("1 point")
    assert holder and first_element in holder[0].source
