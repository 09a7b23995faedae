"""Grade a whole class: many submissions in parallel, resumable, recorded in the gradebook.

Each finished student is saved at once as ``OUT/results/<student>.json`` (written atomically,
after the gradebook), so an interrupted run (Ctrl-C, ``kill -9``) loses at most the students that
were being graded, and the next run grades only what is missing or changed: a saved result is
reused when the notebook's bytes and the grader's fingerprint (source notebook, checks,
reference) are unchanged. Re-running is therefore idempotent, and grades are never counted twice
because every write replaces the student's previous entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import NotebookError, load_spec, read_notebook
from autograder.course import REPOSITORY
from autograder.gradebook import GradebookWriter, atomic_write
from autograder.reports import write_outputs
from autograder.results import ERROR, StudentResult, error_result, grade_submission
from autograder.sandbox import Limits, Sandbox
from autograder.submissions import Submission, find_submissions


@dataclass(frozen=True)
class BatchOptions:
    """How to grade: parallel jobs, limits, isolation, where the course and the outputs are."""

    course_root: Path
    out: Path
    jobs: int = os.cpu_count() or 1
    limits: Limits = Limits()
    isolate: bool = True
    progress: bool = True


@dataclass(frozen=True)
class BatchResult:
    """The results of every student found, and where the reports went."""

    results: list[StudentResult]
    graded_now: int
    reused: int
    csv: Path
    histogram: Path
    summary: str


@dataclass(frozen=True)
class _Graded:
    result: StudentResult
    notebook: dict | None
    digest: str
    reused: bool
    submitted: bool


class _Stopped(Exception):
    """Grading was interrupted before this submission finished."""


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else ""


def _load_saved(path: Path, fingerprint: str, digest: str) -> StudentResult | None:
    """A saved result still valid for this notebook and grader, or ``None``."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        result = StudentResult.from_json(saved["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if saved.get("notebook_sha256") != digest or result.fingerprint != fingerprint:
        return None
    return None if result.status == ERROR else result


def grade_batch(assignment: str, submissions: Path, options: BatchOptions) -> BatchResult:
    """Grade every submission of ``assignment`` found in ``submissions``.

    Raises :class:`~autograder.assignment.SpecError`, ``FileNotFoundError`` or
    :class:`~autograder.sandbox.SandboxUnavailable` before grading anyone when the course, the
    folder or the sandbox is unusable; ``KeyboardInterrupt`` after stopping every running
    submission (what finished is saved).
    """
    spec = load_spec(options.course_root, assignment)
    found = find_submissions(submissions, assignment)
    results_dir = options.out / "results"
    stop = threading.Event()

    def run(submission: Submission, sandbox: Sandbox) -> _Graded:
        if stop.is_set():
            raise _Stopped
        try:
            data = submission.read()
        except NotebookError:
            data = None
        digest = _digest(data)
        saved = _load_saved(results_dir / f"{submission.student_id}.json", spec.fingerprint, digest)
        if saved is None:
            try:
                result = grade_submission(spec, submission, sandbox, data)
            except Exception as error:  # a grader bug must not stop the batch
                result = error_result(spec, submission, f"{type(error).__name__}: {error}")
        if stop.is_set() and saved is None:
            raise _Stopped
        try:
            notebook = read_notebook(data) if data is not None else None
        except NotebookError:
            notebook = None
        return _Graded(saved or result, notebook, digest, saved is not None, data is not None)

    results: dict[str, StudentResult] = {}
    reused = 0
    with (
        course_sandbox(options.limits, options.isolate, options.course_root) as sandbox,
        GradebookWriter(options.course_root, spec) as writer,
    ):
        progress = _progress(len(found), options.progress)
        pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
        pending = {pool.submit(run, submission, sandbox) for submission in found}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    graded = future.result()
                    result = graded.result
                    writer.record(result, graded.notebook, submitted=graded.submitted)
                    if not graded.reused and result.status != ERROR:
                        saved = {"notebook_sha256": graded.digest, "result": result.to_json()}
                        atomic_write(results_dir / f"{result.student_id}.json", json.dumps(saved))
                    reused += graded.reused
                    results[result.student_id] = result
                    progress.update(1)
        except BaseException:
            stop.set()
            for future in pending:
                future.cancel()
            sandbox.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            progress.close()
        pool.shutdown(wait=True)
    ordered = [results[key] for key in sorted(results)]
    csv_path, histogram, text = write_outputs(options.out, spec, ordered)
    return BatchResult(ordered, len(ordered) - reused, reused, csv_path, histogram, text)


def course_sandbox(limits: Limits, isolate: bool, course_root: Path) -> Sandbox:
    """A sandbox that hides the repository (solutions, checks) and the course root."""
    return Sandbox(limits, isolate=isolate, hidden=(REPOSITORY, Path(course_root).resolve()))


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="student",
        desc="grading",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )
