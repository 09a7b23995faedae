"""The sandbox's copy of the harness carries compiled bytecode, and runs use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grader.sandbox import Limits, Sandbox

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def test_sandboxed_runs_load_the_harness_from_precompiled_bytecode():
    with Sandbox(Limits(), hidden=()) as sandbox:
        package = sandbox.root / "autograder"
        modules = {p.relative_to(package).with_suffix("") for p in package.rglob("*.py")}
        cached = {
            (p.parent.parent / p.name.split(".")[0]).relative_to(package)
            for p in package.rglob("__pycache__/*.pyc")
        }
        assert {Path("harness/calls"), Path("harness/drivers/ex05_clipping")} <= modules
        assert modules <= cached
        code = (
            "import sys; sys.path.insert(0, '/grader'); "
            "import autograder.harness.calls, autograder.harness.wire"
        )
        rules = sandbox.seccomp_fd()  # bwrap reads the seccomp program from this descriptor
        try:
            done = subprocess.run(
                [*sandbox.bwrap_command(rules), sys.executable, "-I", "-v", "-c", code],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                pass_fds=(rules,),
            )
        finally:
            os.close(rules)
    for module in ("calls", "wire", "outcome"):
        assert f"code object from '/grader/autograder/harness/__pycache__/{module}." in done.stderr
