"""Every provided cell of every released notebook runs for correct answers other than the key.

The released notebooks are generated with nbgrader (in a scratch copy of the course), each answer
cell is replaced by a correct implementation from ``tests/mutants`` that differs from the
instructor's, and the notebook is executed in one kernel, two notebooks at a time. Every cell that
is not an answer cell (imports, visible tests, plots, stripped hidden-test cells) must run without
an error. ex05 is also run with a ``sgd_with_clipping`` that reuses a ``clip_by_global_norm`` and
so raises ``FloatingPointError`` at the unclipped run's first non-finite gradient, which the rules
allow: the plot cell must still run and say where the run stopped.
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from teaching import released  # noqa: F401 (the session fixture)

from autograder.checks import ASSIGNMENTS

pytestmark = pytest.mark.nbgrader

# Allowed by ex05's rules: raises FloatingPointError at a non-finite gradient also without max_norm.
RAISING_SGD = """
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        (clipped_g,), norm = clip_by_global_norm([g], max_norm if max_norm else 1e300)
        norms.append(norm)
        if max_norm is not None and max_norm / (norm + 1e-6) < 1.0:
            clipped.append(step)
            g = clipped_g
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
"""


def answers(assignment: str) -> dict[str, str]:
    """A correct answer per graded name, other than the key where there is a choice."""
    module = importlib.import_module(f"mutants.{assignment}")
    chosen = {name: variants[-1] for name, variants in module.CORRECT.items()}
    return chosen | {q: f'answer_{q} = "{letter}"' for q, letter in module.ANSWERS.items()}


def with_answers(notebook: nbformat.NotebookNode, sources: dict[str, str]):
    notebook = nbformat.from_dict(nbformat.reads(nbformat.writes(notebook), as_version=4))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return notebook


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def failures(notebook: nbformat.NotebookNode, answer_ids: set[str]) -> list[str]:
    """``"<grade_id or cell number>: <error>"`` for every provided cell that raised."""
    found = []
    for number, cell in enumerate(notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or grade_id in answer_ids:
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{grade_id or f'cell {number}'}: {output.ename}: {output.evalue}")
    return found


def printed(notebook: nbformat.NotebookNode, marker: str) -> str:
    """The stdout of the code cell whose source contains ``marker``."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and marker in c.source]
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def executed(released, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:  # noqa: F811
    folder = tmp_path_factory.mktemp("executed")
    runs = {a: (a, answers(a)) for a in ASSIGNMENTS}
    runs["ex05_raising"] = (
        "ex05_clipping",
        answers("ex05_clipping") | {"sgd_with_clipping": RAISING_SGD},
    )

    def run(item):
        key, (assignment, sources) = item
        notebook = nbformat.read(released[assignment], as_version=4)
        return key, execute(with_answers(notebook, sources), folder)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, runs.items()))


@pytest.mark.parametrize("assignment", [*ASSIGNMENTS, "ex05_raising"])
def test_every_provided_cell_runs_for_correct_answers(executed, assignment):
    source = assignment if assignment in ASSIGNMENTS else "ex05_clipping"
    answer_ids = set(answers(source))
    assert not failures(executed[assignment], answer_ids)


def test_ex05_plot_cell_reports_where_a_raising_answer_stopped(executed):
    output = printed(executed["ex05_raising"], "spike_steps = {")
    assert "without clipping: FloatingPointError at step 16" in output
    assert "clipping fired at steps: [0, 1, 2, 3, 4, 8, 25, 41]" in output


def test_ex05_plot_cell_reports_the_unclipped_divergence(executed):
    output = printed(executed["ex05_clipping"], "spike_steps = {")
    assert "without clipping: the first gradient norm that is not finite: inf, step 16" in output
    assert "final theta without clipping: [nan nan]" in output
