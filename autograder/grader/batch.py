"""Grade a whole class: many submissions in parallel, resumable, recorded in the gradebook.

Each finished student is saved at once as ``OUT/results/<student>.json`` (written atomically,
after the gradebook), so an interrupted run (Ctrl-C, ``kill -9``) loses at most the students that
were being graded, and the next run grades only what is missing or changed: a saved result is
reused when the notebook's bytes and the grader's fingerprint
(:func:`~autograder.grader.assignment.fingerprint`: the source notebook and the code that decides
grades) are unchanged. Re-running is therefore idempotent, and grades are never counted twice
because every write replaces the student's previous entry.

Failures are recorded too, so that no submission can stop every run: a student whose grading
ends in ``error`` is saved with the number of failed tries and retried once more on the next run,
then kept as it is (delete ``OUT/results/<student>.json`` to try again); a student during whose
grading the grader itself died (killed for memory, say) is marked in ``OUT/results/<student>.try``
before grading starts, and after :data:`MAX_TRIES` such deaths it is given an ``error`` row
instead of being graded again.
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

from autograder.course.operations import REPOSITORY
from autograder.grader.assignment import AssignmentSpec, NotebookError, load_spec, read_notebook
from autograder.grader.files import atomic_write
from autograder.grader.gradebook import GradebookWriter
from autograder.grader.reports import write_outputs
from autograder.grader.results import ERROR, StudentResult
from autograder.grader.sandbox import Limits, Sandbox
from autograder.grader.student import error_result, grade_one
from autograder.grader.submissions import Submission, find_submissions


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
class Graded:
    """One student's result and what recording it needs: the parsed notebook (for the
    formgrader's copy), the notebook's digest, whether the result was reused from an earlier
    run, whether a file was submitted, the failed tries so far and the ``.try`` marker to remove.
    """

    result: StudentResult
    notebook: dict | None
    digest: str
    reused: bool
    submitted: bool
    failed: int = 0
    marker: Path | None = None


class _Stopped(Exception):
    """Grading was interrupted before this submission finished."""


def notebook_digest(data: bytes | None) -> str:
    """The SHA-256 of a notebook's bytes (``""`` when there is no readable file)."""
    return hashlib.sha256(data).hexdigest() if data is not None else ""


MAX_TRIES = 2


def load_saved(path: Path, fingerprint: str, digest: str) -> tuple[StudentResult | None, int]:
    """A saved result still valid for this notebook and grader (``None`` if there is none or
    it should be retried), and how many tries have failed so far."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        result = StudentResult.from_json(saved["result"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, 0
    if saved.get("notebook_sha256") != digest or result.fingerprint != fingerprint:
        return None, 0
    failed = saved.get("failed_tries", 0) if result.status == ERROR else 0
    failed = failed if type(failed) is int else 0
    retry = result.status == ERROR and failed < MAX_TRIES
    return (None if retry else result), failed


def _tries(marker: Path, digest: str) -> int:
    """How many runs died while grading this notebook (its ``.try`` marker)."""
    try:
        saved = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return saved.get("tries", 0) if saved.get("notebook_sha256") == digest else 0


def grade_batch(assignment: str, submissions: Path, options: BatchOptions) -> BatchResult:
    """Grade every submission of ``assignment`` found in ``submissions``.

    Raises :class:`~autograder.grader.assignment.SpecError`, ``FileNotFoundError`` or
    :class:`~autograder.grader.sandbox.SandboxUnavailable` before grading anyone when the course,
    the folder or the sandbox is unusable; ``KeyboardInterrupt`` after stopping every running
    submission (what finished is saved).
    """
    spec = load_spec(options.course_root, assignment)
    found = find_submissions(submissions, assignment)
    results_dir = options.out / "results"
    sandbox = course_sandbox(options.limits, options.isolate, options.course_root, spec.imports)
    grading = _Grading(spec, results_dir, sandbox)
    with sandbox, GradebookWriter(options.course_root, spec) as writer:
        tally = Tally(writer, results_dir, progress_bar(len(found), options.progress))
        try:
            _in_threads(grading, found, max(1, options.jobs), tally)
        finally:
            tally.progress.close()
    return tally.summary(options.out, spec)


def _in_threads(grading: _Grading, found: list[Submission], jobs: int, tally: Tally) -> None:
    """Grade ``found`` on ``jobs`` threads and record each student as they finish. On any
    exception (Ctrl-C included) every running submission is stopped and no new one starts
    before it propagates."""
    pool = ThreadPoolExecutor(max_workers=jobs)
    pending = {pool.submit(grading.run, submission) for submission in found}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                tally.add(future.result())
    except BaseException:
        grading.stop()
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class Tally:
    """The students a batch has recorded so far (gradebook and ``results/``), with its
    progress bar; :meth:`summary` writes the class's outputs from them."""

    def __init__(self, writer: GradebookWriter, results_dir: Path, progress) -> None:
        self.writer = writer
        self.results_dir = results_dir
        self.progress = progress
        self.results: dict[str, StudentResult] = {}
        self.reused = 0

    def add(self, graded: Graded) -> None:
        """Record one student (see :func:`record`); a second result replaces the first."""
        result = record(self.writer, graded, self.results_dir)
        self.results[result.student_id] = result
        self.reused += graded.reused
        self.progress.update(1)

    def summary(self, out: Path, spec: AssignmentSpec) -> BatchResult:
        """Write ``grades.csv``, the histogram and the summary for the students recorded, in
        order of student id."""
        ordered = [self.results[key] for key in sorted(self.results)]
        csv_path, histogram, text = write_outputs(out, spec, ordered)
        graded_now = len(ordered) - self.reused
        return BatchResult(ordered, graded_now, self.reused, csv_path, histogram, text)


class _Grading:
    """Grades one submission of a local batch at a time, on any of its threads: reuses a saved
    result that is still valid, counts the grader's own deaths in ``.try`` markers, and turns
    any exception into the student's ``error`` result so that no submission stops the batch.
    After :meth:`stop`, a submission that was not finished raises :class:`_Stopped`."""

    def __init__(self, spec: AssignmentSpec, results_dir: Path, sandbox: Sandbox) -> None:
        self.spec = spec
        self.results_dir = results_dir
        self.sandbox = sandbox
        self.stopped = threading.Event()

    def stop(self) -> None:
        """Kill every running submission and start no more."""
        self.stopped.set()
        self.sandbox.stop_all()

    def run(self, submission: Submission) -> Graded:
        if self.stopped.is_set():
            raise _Stopped
        try:
            return self._grade_or_reuse(submission)
        except _Stopped:
            raise
        except Exception as error:  # the boundary: a grader bug must not stop the batch
            message = f"{type(error).__name__}: {str(error)[:300]}"
            return Graded(error_result(self.spec, submission, message), None, "", False, False, 1)

    def _grade_or_reuse(self, submission: Submission) -> Graded:
        try:
            data = submission.read()
        except NotebookError:
            data = None
        digest = notebook_digest(data)
        path = self.results_dir / f"{submission.student_id}.json"
        saved, failed = load_saved(path, self.spec.fingerprint, digest)
        if saved is not None:
            return Graded(saved, parsed(data), digest, True, data is not None, failed)
        marker = self.results_dir / f"{submission.student_id}.try"
        tries = _tries(marker, digest)
        if tries >= MAX_TRIES:
            message = (
                f"the grader stopped {tries} times while grading this submission, so it was not "
                f"tried again; delete {marker} to retry"
            )
            result = error_result(self.spec, submission, message)
            return Graded(result, None, digest, False, data is not None, MAX_TRIES)
        atomic_write(marker, json.dumps({"notebook_sha256": digest, "tries": tries + 1}))
        try:
            result = grade_one(self.spec, submission, self.sandbox, data)
        except Exception as error:  # grade_one's own boundary failed (e.g. no memory left)
            result = error_result(self.spec, submission, f"{type(error).__name__}: {error}"[:300])
        if self.stopped.is_set():
            marker.unlink(missing_ok=True)  # interrupted, not crashed: no try is counted
            raise _Stopped
        failed = failed + 1 if result.status == ERROR else 0
        return Graded(result, parsed(data), digest, False, data is not None, failed, marker)


def record(writer: GradebookWriter, graded: Graded, results_dir: Path) -> StudentResult:
    """Record one student in the gradebook and ``results/``; a failure to record becomes the
    student's ``error`` result (saved, so it is retried as errors are)."""
    result = graded.result
    try:
        writer.record(result, graded.notebook, submitted=graded.submitted)
    except Exception as error:
        try:
            writer.rollback()
        except Exception:  # the error below says what failed first
            pass
        message = f"recording the result failed: {type(error).__name__}: {str(error)[:300]}"
        result = StudentResult(
            result.student_id,
            ERROR,
            result.max_score,
            [f"grader error ({message}); grade again, and report it if it persists"],
            origin=result.origin,
            fingerprint=result.fingerprint,
        )
        graded = Graded(result, None, graded.digest, False, False, graded.failed + 1)
    if not graded.reused:
        saved = {"notebook_sha256": graded.digest, "result": result.to_json()}
        saved["failed_tries"] = graded.failed
        atomic_write(results_dir / f"{result.student_id}.json", json.dumps(saved))
    if graded.marker is not None:
        graded.marker.unlink(missing_ok=True)
    return result


def parsed(data: bytes | None) -> dict | None:
    """The notebook parsed from its bytes, or ``None`` when it is missing or unreadable."""
    try:
        return read_notebook(data) if data is not None else None
    except NotebookError:
        return None


def course_sandbox(
    limits: Limits, isolate: bool, course_root: Path, preload: tuple[str, ...] = ()
) -> Sandbox:
    """A sandbox that hides the repository (solutions, checks) and the course root, whose fork
    servers import ``preload`` (an assignment's
    :attr:`~autograder.grader.assignment.AssignmentSpec.imports`) once."""
    hidden = (REPOSITORY, Path(course_root).resolve())
    return Sandbox(limits, isolate=isolate, hidden=hidden, preload=preload)


def progress_bar(total: int, enabled: bool):
    """A progress bar over ``total`` students on stderr (a silent one unless ``enabled``)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="student",
        desc="grading",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )
