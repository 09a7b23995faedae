"""The sandbox's copy of the harness carries compiled bytecode, and runs use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from autograder.sandbox import Limits, Sandbox

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def test_sandboxed_runs_load_the_harness_from_precompiled_bytecode():
    with Sandbox(Limits(), hidden=()) as sandbox:
        package = sandbox.root / "autograder"
        modules = {p.stem for p in package.glob("*.py")} | {
            "drivers/" + p.stem for p in (package / "drivers").glob("*.py")
        }
        cached = {p.name.split(".")[0] for p in (package / "__pycache__").glob("*.pyc")}
        cached |= {
            "drivers/" + p.name.split(".")[0]
            for p in (package / "drivers" / "__pycache__").glob("*.pyc")
        }
        assert modules <= cached
        code = (
            "import sys; sys.path.insert(0, '/grader'); import autograder.harness, autograder.wire"
        )
        rules = sandbox._seccomp_fd()  # bwrap reads the seccomp program from this descriptor
        try:
            done = subprocess.run(
                [*sandbox._bwrap_command(rules), sys.executable, "-I", "-v", "-c", code],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                pass_fds=(rules,),
            )
        finally:
            os.close(rules)
    for module in ("harness", "wire", "spec"):
        assert f"code object from '/grader/autograder/__pycache__/{module}." in done.stderr
