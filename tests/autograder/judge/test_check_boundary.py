"""``autograder.check`` (what the notebooks' test cells call) never loads the class grader.

The class grader (``autograder.grader``: sandbox, gradebook, batch, Dask) and the course
operations (``autograder.course``: nbgrader, the book) are heavier and irrelevant in a student's
kernel; nothing on ``check()``'s path may import them. Checked in a fresh interpreter, on real
assignments, by reading ``sys.modules`` after every group of every graded function ran.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import autograder
import solutions.clipping, solutions.logsumexp
from autograder.checks import checks_for

ran = []
for assignment, module in (("ex03_logsumexp", solutions.logsumexp),
                           ("ex05_clipping", solutions.clipping)):
    for name, check in checks_for(assignment).items():
        if hasattr(module, name):
            for group in check.groups:
                autograder.check(assignment, name, getattr(module, name), group.name)
                ran.append(f"{name}/{group.name}")
print(json.dumps({"ran": ran, "modules": sorted(sys.modules)}))
"""


def test_check_imports_neither_the_class_grader_nor_the_course():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, check=True
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert {"logsumexp/large", "clip_by_global_norm/hard", "sgd_with_clipping/plain"} <= set(
        report["ran"]
    )
    loaded = set(report["modules"])
    assert {"autograder.judge.grading", "autograder.harness.drivers.ex05_clipping"} <= loaded
    assert not {m for m in loaded if m.startswith(("autograder.grader", "autograder.course"))}
