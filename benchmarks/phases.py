"""Where one submission's grading time goes, phase by phase, and what a cluster would take.

Used by ``benchmarks/grading.py``. :func:`phase_breakdown` grades one notebook piece by piece
with the grader's own parts (the sandbox, the verdicts, the gradebook writer) and times each
piece; :func:`projection` turns a per-submission cost into the wall time of a large class on a
Dask cluster.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from autograder.checks import get_check
from autograder.grader.assignment import load_spec, read_notebook, student_cells
from autograder.grader.batch import course_sandbox
from autograder.grader.gradebook import GradebookWriter, atomic_write
from autograder.grader.sandbox import Limits
from autograder.grader.student import grade_submission
from autograder.grader.submissions import Submission
from autograder.judge.grading import judge_group

# "Each task suffers about 1ms of overhead" -- https://distributed.dask.org/en/latest/ (the
# scheduler is one process, so this bounds its throughput near 1000 tasks per second).
DASK_SECONDS_PER_TASK = 1e-3


def _median(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def phase_breakdown(
    course: Path, assignment: str, data: bytes, repeats: int = 3
) -> dict[str, float]:
    """Median seconds of each phase of grading the notebook ``data`` once, on one core.

    Phases per submission (subtracting nested measurements, so they add up to the whole):
    ``sandbox start`` (bubblewrap running ``/bin/true``), ``interpreter start`` (``python -I``
    doing nothing, less the sandbox), ``worker imports`` (NumPy and IPython as the worker needs
    them, less the interpreter), ``worker start-up total`` (a full sandboxed run of no cells:
    all of the above plus the job and channel), ``notebook cells`` (running the student's cells,
    less that start-up; it includes the notebook's own imports, e.g. ``import torch``, reported
    alone as ``of which the notebook's import torch``), ``harness calls`` (adding every test's
    requests), ``verdicts`` (judging the outcomes here), ``writes`` (gradebook entry,
    autograded notebook and the saved result). ``cpu: ...`` rows are the CPU seconds a sandboxed
    interpreter spends starting, then also importing what the worker needs, then also importing
    PyTorch (cumulative; robust where the wall-time rows are disturbed by other jobs). Once per
    batch: ``once: load spec``,
    ``once: sandbox set-up`` (harness copy and bubblewrap check), ``once: open gradebook``.
    ``course`` must be a course copy with ``assignment`` generated (its gradebook is written).
    """
    phases: dict[str, float] = {}
    phases["once: load spec"] = _median(lambda: load_spec(course, assignment), repeats)
    spec = load_spec(course, assignment)
    notebook = read_notebook(data)
    cells = student_cells(notebook, spec)
    requests, indices = spec.requests(notebook)
    limits = Limits()
    phases["once: sandbox set-up"] = _median(
        lambda: course_sandbox(limits, True, course).close(), repeats
    )
    with course_sandbox(limits, True, course) as sandbox:
        python = [sys.executable, "-I", "-c"]

        def sandboxed(command: list[str], **options) -> subprocess.CompletedProcess:
            """Run ``command`` in this sandbox (bwrap reads a fresh seccomp pipe each time)."""
            rules = sandbox.seccomp_fd()
            try:
                bwrap = sandbox.bwrap_command(rules)
                return subprocess.run([*bwrap, *command], check=True, pass_fds=(rules,), **options)
            finally:
                os.close(rules)

        def run(*command: str) -> float:
            return _median(lambda: sandboxed(list(command)), repeats)

        def cpu(imports: str) -> float:
            """CPU seconds the sandboxed interpreter itself spent (``os.times`` at its exit):
            unlike wall time, hardly disturbed by other jobs on the machine."""
            code = f"{imports}\nimport os\nt = os.times()\nprint(t.user + t.system)"
            return statistics.median(
                float(sandboxed([*python, code], capture_output=True, text=True).stdout)
                for _ in range(repeats)
            )

        phases["cpu: interpreter start"] = cpu("")
        phases["cpu: + worker imports (NumPy, IPython)"] = cpu(
            "import numpy, IPython.core.interactiveshell"
        )
        phases["cpu: + the notebook's import torch"] = cpu(
            "import numpy, IPython.core.interactiveshell, torch"
        )
        bare = run("/bin/true")
        interpreter = run(*python, "pass")
        imports = run(*python, "import numpy, IPython.core.interactiveshell")
        torch = run(*python, "import numpy, IPython.core.interactiveshell, torch")
        startup = _median(lambda: sandbox.execute([], []), repeats)
        with_cells = _median(lambda: sandbox.execute(cells, []), repeats)
        everything = _median(lambda: sandbox.execute(cells, requests), repeats)
        report = sandbox.execute(cells, requests)
    phases["sandbox start"] = bare
    phases["interpreter start"] = interpreter - bare
    phases["worker imports"] = imports - interpreter
    phases["worker start-up total"] = startup
    phases["notebook cells"] = with_cells - startup
    phases["of which the notebook's import torch"] = torch - imports
    phases["harness calls"] = everything - with_cells

    def verdicts() -> None:
        for cell, cases in zip(spec.test_cells, indices, strict=True):
            check = get_check(spec.assignment, cell.name)
            judge_group(check, check.group(cell.group), [report.outcomes[i] for i in cases])

    phases["verdicts"] = _median(verdicts, repeats)
    start = time.perf_counter()
    writer = GradebookWriter(course, spec)
    phases["once: open gradebook"] = time.perf_counter() - start
    with writer, course_sandbox(limits, True, course) as sandbox:
        result = grade_submission(spec, Submission("phase", "phase"), sandbox, data)
        counter = iter(range(10**6))

        def write() -> None:
            entry = dataclasses.replace(result, student_id=f"phase{next(counter)}")
            writer.record(entry, notebook, submitted=True)
            saved = {"notebook_sha256": "-", "result": entry.to_json()}
            atomic_write(course / "phase-results" / f"{entry.student_id}.json", json.dumps(saved))

        phases["writes"] = _median(write, repeats)
    return phases


def projection(
    seconds_per_submission: float,
    coordinator_seconds: float,
    submissions: int = 100_000,
    workers: tuple[int, ...] = (10, 100, 1000),
) -> list[tuple[int, float, str]]:
    """Projected wall seconds for ``submissions`` on each number of single-core workers.

    Three limits, the slowest decides: the workers (``submissions * seconds_per_submission /
    workers``), the Dask scheduler (``submissions *`` :data:`DASK_SECONDS_PER_TASK`) and the
    coordinator, which records every result itself (``submissions * coordinator_seconds``).
    Returns ``(workers, seconds, bound)`` rows. A projection, not a measurement: it assumes
    every worker is as fast as the measured one and ignores start-up and stragglers.
    """
    rows = []
    for count in workers:
        limits = {
            "workers": submissions * seconds_per_submission / count,
            "scheduler": submissions * DASK_SECONDS_PER_TASK,
            "coordinator": submissions * coordinator_seconds,
        }
        bound = max(limits, key=limits.get)
        rows.append((count, limits[bound], bound))
    return rows
