"""The trust boundary is the folder ``autograder/harness/``: what runs beside the student's code.

It is copied whole into the sandbox (with a stub ``autograder/__init__.py`` and nothing else of
the project), so every module in it must import only the standard library, NumPy (PyTorch inside
functions) and other modules of ``autograder.harness`` — never the judge, the checks, the class
grader, the course or :mod:`solutions`. The imports are read from the source (``ast``), inside
functions too, so an import that only runs on one path is seen as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import autograder.harness
from autograder.grader.sandbox import Limits, Sandbox

HARNESS = Path(autograder.harness.__file__).resolve().parent
PROJECT = ("autograder", "solutions")


def imported_modules(source: str, package: str) -> set[str]:
    """Every name an ``import`` or ``from ... import`` in ``source`` imports, absolute:
    ``import a.b`` gives ``a.b``, ``from a import b`` gives ``a.b`` (``from autograder import
    wire`` is ``autograder.wire``); relative imports are resolved against ``package``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def outside_the_harness(modules: set[str]) -> set[str]:
    """The names in ``modules`` that belong to the project but not to ``autograder.harness``."""
    return {
        name
        for name in modules
        if name.split(".")[0] in PROJECT
        and name != "autograder.harness"
        and not name.startswith("autograder.harness.")
    }


def harness_modules() -> list[Path]:
    return sorted(HARNESS.rglob("*.py"))


def test_the_harness_folder_holds_every_module_that_runs_beside_student_code():
    names = {path.relative_to(HARNESS).as_posix() for path in harness_modules()}
    assert {"calls.py", "outcome.py", "wire.py", "worker.py", "drivers/ex05_clipping.py"} <= names


@pytest.mark.parametrize("path", harness_modules(), ids=lambda p: p.relative_to(HARNESS).as_posix())
def test_a_harness_module_imports_nothing_of_the_project_outside_the_harness(path):
    package = ".".join(("autograder", "harness", *path.relative_to(HARNESS).parent.parts))
    imported = imported_modules(path.read_text(encoding="utf-8"), package)
    assert outside_the_harness(imported) == set()


@pytest.mark.parametrize(
    "source",
    [
        "from autograder.judge.spec import Outcome",
        "import solutions.logsumexp",
        "from autograder import checks",
        "def f():\n    from autograder.grader import batch",
        "from ...judge import compare",
        "import autograder",
        "from autograder.course.operations import REPOSITORY",
    ],
)
def test_the_import_reader_sees_every_way_of_reaching_outside(source):
    imported = imported_modules(source, "autograder.harness.drivers")
    assert outside_the_harness(imported) != set()


@pytest.mark.parametrize(
    "source",
    [
        "from autograder.harness import wire",
        "from autograder.harness.calls import run_protected",
        "from ..outcome import Outcome",
        "import numpy as np",
    ],
)
def test_the_import_reader_lets_the_harness_import_itself(source):
    assert outside_the_harness(imported_modules(source, "autograder.harness.drivers")) == set()


def test_the_sandbox_receives_the_harness_folder_whole_and_nothing_else():
    with Sandbox(Limits(), isolate=False) as sandbox:
        copied = sandbox.root / "autograder"
        files = {p.relative_to(copied).as_posix() for p in copied.rglob("*.py")}
    expected = {"harness/" + p.relative_to(HARNESS).as_posix() for p in harness_modules()}
    assert files == expected | {"__init__.py"}
