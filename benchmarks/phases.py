"""Where one submission's grading time goes, phase by phase, and what a cluster would take.

Used by ``benchmarks/grading.py``. :func:`phase_breakdown` grades one notebook piece by piece
with the grader's own parts (the sandbox, the verdicts, the gradebook writer) and times each
piece; :func:`projection` turns a per-submission cost into the wall time of a large class on a
Dask cluster.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from autograder.assignment import load_spec, read_notebook, student_cells
from autograder.batch import course_sandbox
from autograder.checks import get_check
from autograder.gradebook import GradebookWriter, atomic_write
from autograder.grading import judge_group
from autograder.results import grade_submission
from autograder.sandbox import Limits
from autograder.submissions import Submission

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
        bwrap = sandbox._bwrap_command()
        python = [sys.executable, "-I", "-c"]

        def run(*command: str) -> float:
            return _median(lambda: subprocess.run([*bwrap, *command], check=True), repeats)

        def cpu(imports: str) -> float:
            """CPU seconds the sandboxed interpreter itself spent (``os.times`` at its exit):
            unlike wall time, hardly disturbed by other jobs on the machine."""
            code = f"{imports}\nimport os\nt = os.times()\nprint(t.user + t.system)"
            return statistics.median(
                float(
                    subprocess.run(
                        [*bwrap, *python, code], capture_output=True, text=True, check=True
                    ).stdout
                )
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


PR_SET_CHILD_SUBREAPER = 36


def fresh_and_forked(
    course: Path, assignment: str, notebook: Path, runs: int = 5
) -> dict[str, dict[str, float]]:
    """Per-run cost of a fresh sandbox (:class:`~autograder.sandbox.Sandbox`: bubblewrap, a new
    interpreter, its imports) and of a child forked from a fork server that imported what the
    assignment needs once (:class:`~autograder.forkserver.ForkingSandbox`), side by side.

    For each kind and each workload (``start-up only``: no cells; ``submission``: grading the
    submission ``notebook`` of ``assignment``), ``wall`` is the median wall time of ``runs``
    runs, and ``cpu`` the CPU seconds per run of the grader and of every process it started
    (sandboxes, fork servers, children): each measurement runs in a process of its own that
    adopts every orphan (``PR_SET_CHILD_SUBREAPER``) and waits for all of them, so nothing a
    sandbox started escapes the count; the difference between ``runs`` runs and none, divided
    by ``runs``, leaves out what is paid once per sandbox (reported as ``once cpu``: the
    bubblewrap check, or a fork server's start and imports).
    """
    found: dict[str, dict[str, float]] = {}
    for kind in ("fresh sandbox", "forked child"):
        once = _measure(course, assignment, notebook, kind, "start-up only", 0)["cpu"]
        for workload in ("start-up only", "submission"):
            measured = _measure(course, assignment, notebook, kind, workload, runs)
            found[f"{kind}, {workload}"] = {
                "wall": statistics.median(measured["walls"]),
                "cpu": (measured["cpu"] - once) / runs,
                "once cpu": once,
            }
    return found


def _measure(course, assignment, notebook, kind: str, workload: str, runs: int) -> dict:
    command = [sys.executable, __file__, str(course), assignment, str(notebook), kind, workload]
    done = subprocess.run(
        [*command, str(runs)], capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind}, {workload}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _measure_here(course, assignment, notebook, kind: str, workload: str, runs: int) -> dict:
    """One measurement of :func:`fresh_and_forked`, in this (fresh) process."""
    import ctypes
    import os
    import resource

    from autograder.forkserver import ForkingSandbox
    from autograder.sandbox import Sandbox

    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    spec = load_spec(course, assignment)
    parsed = read_notebook(Path(notebook).read_bytes())
    cells = student_cells(parsed, spec)
    requests, _ = spec.requests(parsed)
    limits = Limits()
    if kind == "fresh sandbox":
        sandbox = Sandbox(limits)
    else:
        preload = imported_modules([s for _, s in cells], [r.harness for r in requests])
        sandbox = ForkingSandbox(limits, preload=preload)
    if workload == "start-up only":
        cells, requests = [], []
    walls = []
    with sandbox:
        for _ in range(runs):
            start = time.perf_counter()
            report = sandbox.execute(cells, requests)
            walls.append(time.perf_counter() - start)
            if report.grader_failure or report.problems:
                raise RuntimeError(report.grader_failure or report.problems)
    while True:  # adopted orphans too, so that their CPU time is counted
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return {"walls": walls, "cpu": sum(u.ru_utime + u.ru_stime for u in usage)}


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


if __name__ == "__main__":  # one measurement of fresh_and_forked
    course, assignment, notebook, kind, workload, runs = sys.argv[1:]
    print(json.dumps(_measure_here(Path(course), assignment, notebook, kind, workload, int(runs))))
