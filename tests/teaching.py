"""What a careful teacher checks in the assignments, shared by the tests and the notebook edits.

``HARD`` names, per graded function, the hidden-test groups with the numerically hard inputs (the
point of the course); every one of them must be worth at least as much as the function's ordinary
group (its first group). :func:`points_cell` renders the "Points" cell each notebook shows from
the hidden test cells' metadata. The graders' rubric of the written answer lives in the hidden
region of the last hidden test cell before it (nbgrader strips that region from the released
notebook, and both graders put the whole cell back in the notebook the formgrader shows).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.course.operations import COURSE_ROOT, released_notebooks

HARD = {
    "ex01_floats": {
        "float_format": {"extremes"},
        "ulp": {"subnormal", "nonfinite"},
        "ulps_between": {"zero", "large"},
        "kahan_sum": {"hard"},
    },
    "ex02_overflow": {
        "log_product": {"underflow"},
        "stable_sigmoid": {"large", "float32"},
        "softplus": {"negative", "positive", "float32"},
        "clipped_bce": {"extreme"},
    },
    "ex03_logsumexp": {
        "logsumexp": {"large", "float32"},
        "logaddexp": {"large"},
        "online_logsumexp": {"large"},
    },
    "ex04_softmax": {
        "softmax": {"large", "float32"},
        "log_softmax": {"large", "float32"},
        "cross_entropy": {"large"},
        "bce_with_logits": {"large"},
        "torch_cross_entropy": {"large"},
    },
    "ex05_clipping": {
        "clip_by_value": set(),  # clamping has no numerically hard input
        "clip_by_global_norm": {"hard"},
        "sgd_with_clipping": {"hard"},
    },
    "ex06_standardisation": {
        "fit_standardiser": {"offset"},
        "standardise": {"offset"},
        "welford": {"offset"},
        "fit_linear_regression_gd": {"scales"},
    },
    "ex07_mixed_precision": {
        "round_to_bfloat16": {"ties", "specials"},
        "DynamicLossScaler": {"float32"},
        "fp16_underflow_fraction": {"scaled", "edges"},
        "mixed_precision_train_step": {"scaler"},
    },
}

RUBRIC_START = "# --- Rubric for the written answer"
POINTS_ID = "cell_md_points"


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    path = COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def points_text(points: float) -> str:
    """``"1 point"``, ``"2 points"``, ``"1.5 points"``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def is_hidden_test(cell) -> bool:
    """A hidden test cell: an nbgrader test cell worth points (the visible tests are worth 0)."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") and not meta.get("solution") and meta.get("points"))


def hidden_groups(notebook) -> dict[str, list[tuple[str, float]]]:
    """Per graded name (questions included), its hidden test groups and their points, in order."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if is_hidden_test(cell):
            name, group = split_test_id(meta["grade_id"], cell.source)
            groups.setdefault(name, []).append((group, float(meta["points"])))
    return groups


def split_test_id(test_id: str, source: str) -> tuple[str, str]:
    """``(name, group)`` of the cell's ``autograder.check(assignment, name, variable, group)``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "check":
            return node.args[1].value, node.args[3].value
    raise AssertionError(f"hidden test cell {test_id} does not call autograder.check")


def points_cell(assignment: str, notebook=None) -> str:
    """The Markdown of the notebook's "Points" cell, computed from its grade cells' points."""
    notebook = notebook if notebook is not None else source_notebook(assignment)
    groups = hidden_groups(notebook)
    manual = sum(
        float(c.metadata["nbgrader"]["points"])
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")
    )
    functions = [name for name in groups if not re.fullmatch(r"q\d+", name)]
    questions = [name for name in groups if re.fullmatch(r"q\d+", name)]
    auto = sum(points for name in groups for _, points in groups[name])
    rows = []
    for name in functions:
        hard = HARD[assignment].get(name, set())
        parts = [
            f"{group}{' ★' if group in hard else ''} {points:g}" for group, points in groups[name]
        ]
        total = sum(points for _, points in groups[name])
        rows.append(f"| `{name}` | {', '.join(parts)} | {total:g} |")
    parts = [f"{q} {groups[q][0][1]:g}" for q in questions]
    total = sum(groups[q][0][1] for q in questions)
    rows.append(f"| multiple choice | {', '.join(parts)} | {total:g} |")
    rows.append(f"| written answer (`explain`) | graded by hand | {manual:g} |")
    intro = (
        f"The hidden tests give {auto:g} points and the written answer {manual:g}, graded by hand "
        f"({auto + manual:g} in all). Each group of hidden tests gives its points on its own, so a "
        "function that handles the ordinary inputs but not the hard ones still earns part of its "
        "points. The groups with the numerically hard inputs (★), the point of this course, are "
        "worth at least as much as the ordinary group of the same function."
    )
    lines = [
        "## Points",
        "",
        *textwrap.wrap(intro, width=100),
        "",
        "| answer | hidden test groups and their points | total |",
        "|---|---|---|",
        *rows,
    ]
    return "\n".join(lines)


def rubric_cell(notebook):
    """The hidden test cell that holds the rubric of the written answer (the last one before it)."""
    ids = [grade_id(cell) for cell in notebook.cells]
    before = notebook.cells[: ids.index("explain")]
    tests = [c for c in before if is_hidden_test(c) and c.cell_type == "code"]
    return tests[-1]


def rubric(notebook) -> str:
    """The rubric's text (comment markers removed), or "" when the cell has none."""
    source = rubric_cell(notebook).source
    if RUBRIC_START not in source:
        return ""
    text = source[source.index(RUBRIC_START) : source.index("### END HIDDEN TESTS")]
    return "\n".join(line.removeprefix("#").removeprefix(" ") for line in text.splitlines())


@pytest.fixture(scope="session")
def released(tmp_path_factory) -> dict[str, Path]:
    """The seven student notebooks, generated once per session with nbgrader."""
    folder = tmp_path_factory.mktemp("released")
    return {path.stem: path for path in released_notebooks(folder)}
