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
from autograder.grader.sandbox import Limits, Sandbox
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
    ``run start-up`` (a run of no cells: a child forked from the fork server, its namespaces,
    mounts, limits and filter, the worker's IPython shell, the job and the channel),
    ``notebook cells`` (running the student's cells, less that start-up; the notebook's own
    imports, e.g. ``import torch``, are already done by the fork server), ``harness calls``
    (adding every test's requests), ``verdicts`` (judging the outcomes here), ``writes``
    (gradebook entry, autograded notebook and the saved result). Once per batch: ``once: load
    spec``, ``once: sandbox set-up`` (harness copy, and a fork server started and its imports
    done), ``once: open gradebook``. ``course`` must be a course copy with ``assignment``
    generated (its gradebook is written).
    """
    phases: dict[str, float] = {}
    phases["once: load spec"] = _median(lambda: load_spec(course, assignment), repeats)
    spec = load_spec(course, assignment)
    notebook = read_notebook(data)
    cells = student_cells(notebook, spec)
    requests, indices = spec.requests(notebook)
    limits = Limits()

    def sandbox():
        return course_sandbox(limits, True, course, spec.imports)

    phases["once: sandbox set-up"] = _median(lambda: sandbox().close(), repeats)
    with sandbox() as grading:
        startup = _median(lambda: grading.execute([], []), repeats)
        with_cells = _median(lambda: grading.execute(cells, []), repeats)
        everything = _median(lambda: grading.execute(cells, requests), repeats)
        report = grading.execute(cells, requests)
    phases["run start-up"] = startup
    phases["notebook cells"] = with_cells - startup
    phases["harness calls"] = everything - with_cells

    def verdicts() -> None:
        for cell, cases in zip(spec.test_cells, indices, strict=True):
            check = get_check(spec.assignment, cell.name)
            judge_group(check, check.group(cell.group), [report.outcomes[i] for i in cases])

    phases["verdicts"] = _median(verdicts, repeats)
    start = time.perf_counter()
    writer = GradebookWriter(course, spec)
    phases["once: open gradebook"] = time.perf_counter() - start
    with writer, sandbox() as grading:
        result = grade_submission(spec, Submission("phase", "phase"), grading, data)
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
    """Per-run cost of a fresh sandbox (``Sandbox(fork_server=False)``: bubblewrap, a new
    interpreter, its imports) and of a child forked from a fork server that imported what the
    assignment needs once (the default :class:`~autograder.grader.sandbox.Sandbox`), side by side.

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
    import resource

    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    spec = load_spec(course, assignment)
    parsed = read_notebook(Path(notebook).read_bytes())
    cells = student_cells(parsed, spec)
    requests, _ = spec.requests(parsed)
    limits = Limits()
    if kind == "fresh sandbox":
        sandbox = Sandbox(limits, fork_server=False)
    else:
        sandbox = Sandbox(limits, preload=spec.imports)
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
