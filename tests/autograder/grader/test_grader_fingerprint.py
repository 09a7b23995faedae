"""The grader's fingerprint covers everything that decides a grade, the checks' TOML included."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from autograder.grader import assignment

NOTEBOOK = b'{"cells": []}'


@pytest.fixture
def checks_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of ``autograder/checks/`` that the fingerprint reads instead of the real one."""
    package = tmp_path / "autograder"
    checks = package / "checks"
    shutil.copytree(
        assignment.PACKAGE / "checks", checks, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(assignment, "PACKAGE", package)
    monkeypatch.setattr(assignment, "GRADING_CODE", (checks,))
    return checks


def test_the_same_files_give_the_same_fingerprint(checks_copy: Path):
    assert assignment.fingerprint(NOTEBOOK) == assignment.fingerprint(NOTEBOOK)
    assert assignment.fingerprint(NOTEBOOK) != assignment.fingerprint(NOTEBOOK + b" ")


def test_a_changed_points_value_in_the_checks_toml_changes_the_fingerprint(checks_copy: Path):
    before = assignment.fingerprint(NOTEBOOK)
    declarations = checks_copy / "ex04_softmax.toml"
    text = declarations.read_text(encoding="utf-8")
    changed, count = re.subn(r"^points = 2$", "points = 3", text, count=1, flags=re.M)
    assert count == 1
    declarations.write_text(changed, encoding="utf-8")
    assert assignment.fingerprint(NOTEBOOK) != before


def test_a_changed_case_builder_changes_the_fingerprint(checks_copy: Path):
    before = assignment.fingerprint(NOTEBOOK)
    module = checks_copy / "ex04_softmax.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert assignment.fingerprint(NOTEBOOK) != before


def test_compiled_files_do_not_change_the_fingerprint(checks_copy: Path):
    before = assignment.fingerprint(NOTEBOOK)
    (checks_copy / "__pycache__").mkdir()
    (checks_copy / "__pycache__" / "ex04_softmax.cpython-311.pyc").write_bytes(b"\x00")
    assert assignment.fingerprint(NOTEBOOK) == before
