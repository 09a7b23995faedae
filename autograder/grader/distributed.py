"""Grade a class on a Dask cluster: one task per submission, the coordinator the only writer.

``python -m autograder grade ASSIGNMENT SUBMISSIONS --scheduler tcp://HOST:PORT`` (a running
``dask scheduler``) or ``--scheduler local:N`` (a ``LocalCluster`` of N single-thread worker
processes on this machine) sends every submission that needs grading to Dask as one task.

The task (:func:`grade_task`) carries everything it needs as plain data: the notebook's bytes,
the assignment's graded-cell spec, the limits and the grader's version. A worker needs the
course's Python environment (``autograder`` and ``solutions`` installed) and bubblewrap, not the
course folder or a file system shared with the coordinator. On the worker the submission is run
in that worker's own sandbox *and* judged there (workers are the instructor's trusted machines;
only the sandbox is untrusted), and the task returns the plain-data :class:`StudentResult`
(``to_json``). A worker without bubblewrap refuses, unless the command said ``--no-sandbox``;
a worker whose grading code differs from the coordinator's refuses too; either stops the batch
with the worker's message.

The coordinator reads the submissions, skips those already graded (the same ``results/`` files
and fingerprint as :mod:`autograder.grader.batch`), keeps a bounded number of tasks in flight, and
records each result in the gradebook and ``results/`` the moment it arrives, so Ctrl-C, a
restarted coordinator or a lost worker loses nothing and counts nothing twice. A task whose
worker dies is run again elsewhere by the scheduler; after the scheduler's
``distributed.scheduler.allowed-failures`` deaths (3 by default) Dask gives up on it
(``KilledWorker``) and the student is recorded as not graded, with the reason.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import socket
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.operations import REPOSITORY
from autograder.grader.assignment import (
    AssignmentSpec,
    NotebookError,
    fingerprint,
    load_spec,
)
from autograder.grader.batch import (
    BatchOptions,
    BatchResult,
    Graded,
    Tally,
    course_sandbox,
    load_saved,
    notebook_digest,
    parsed,
    progress_bar,
)
from autograder.grader.gradebook import GradebookWriter
from autograder.grader.results import ERROR, StudentResult
from autograder.grader.sandbox import Limits, Sandbox, SandboxUnavailable
from autograder.grader.student import error_result, grade_one, not_graded_result
from autograder.grader.submissions import Submission, find_submissions

LOCAL = "local:"
CONNECT_SECONDS = 30
NO_WORKERS_SECONDS = 300  # a cluster without workers this long stops the batch
REFILL_EVERY = 32  # results between two looks at the cluster's size (workers may join later)


class DistributedError(RuntimeError):
    """The cluster cannot grade (unreachable scheduler, a worker that refuses); says why."""


@dataclass(frozen=True)
class Task:
    """Everything one submission's grading needs, as plain picklable data."""

    spec: AssignmentSpec
    student_id: str
    origin: str
    note: str | None
    timestamp: str | None
    data: bytes | None  # None: there is no readable notebook (``problem`` says why)
    problem: str | None
    limits: Limits
    isolate: bool
    grader_version: str


@functools.cache
def grader_version() -> str:
    """A hash of the code that decides grades (checks, harness, sandbox, reference solutions),
    as it was on disk when this process first asked (about when it imported that code)."""
    return fingerprint(b"")


# --------------------------------------------------------------------------- the worker side

_sandboxes: dict[tuple[Limits, bool, tuple[str, ...]], Sandbox] = {}
_sandbox_lock = threading.Lock()


def _worker_sandbox(limits: Limits, isolate: bool, preload: tuple[str, ...]) -> Sandbox:
    """This worker process's sandbox for ``limits`` whose fork servers import ``preload`` (made
    once; removed when the process exits).

    Raises :class:`SandboxUnavailable` when ``isolate`` and bubblewrap cannot be used here.
    """
    key = (limits, isolate, preload)
    with _sandbox_lock:
        sandbox = _sandboxes.get(key)
        if sandbox is None:
            sandbox = course_sandbox(limits, isolate, REPOSITORY, preload)
            atexit.register(sandbox.close)
            _sandboxes[key] = sandbox
        return sandbox


def grade_task(task: Task) -> dict[str, Any]:
    """Grade one submission on a worker: sandboxed run and verdicts; a ``StudentResult`` as JSON.

    A pure function of the task (and the worker's grading code, which must be the version the
    task names). Never raises for anything the student did; raises :class:`DistributedError`
    when this worker's grader differs from the coordinator's and :class:`SandboxUnavailable`
    when it cannot isolate student code.
    """
    mine = grader_version()
    if mine != task.grader_version:
        raise DistributedError(
            f"this worker's grading code (version {mine[:12]}) differs from the coordinator's "
            f"({task.grader_version[:12]}); install the same autograder and solutions on every "
            "worker"
        )
    submission = Submission(
        task.student_id,
        task.origin,
        problem=task.problem if task.data is None else None,
        note=task.note,
        timestamp=task.timestamp,
    )
    if task.data is None:  # nothing to run: the reading error becomes the reason
        sandbox = None
    else:
        sandbox = _worker_sandbox(task.limits, task.isolate, task.spec.imports)
    try:
        result = grade_one(task.spec, submission, sandbox, task.data)
    except Exception as error:  # grade_one's own boundary failed (e.g. no memory left)
        result = error_result(task.spec, submission, f"{type(error).__name__}: {error}"[:300])
    return result.to_json()


# ---------------------------------------------------------------------- the coordinator side


def connect(scheduler: str):
    """A Dask client for ``tcp://HOST:PORT`` or ``local:N`` (a LocalCluster of N workers).

    Raises :class:`DistributedError` for an unusable address or an unreachable scheduler.
    """
    from distributed import Client, LocalCluster

    if scheduler.startswith(LOCAL):
        count = scheduler[len(LOCAL) :]
        if not count.isdigit() or int(count) < 1:
            raise DistributedError(
                f"--scheduler {scheduler}: write local:N with N >= 1 worker processes"
            )
        cluster = LocalCluster(
            n_workers=int(count),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
            silence_logs=logging.CRITICAL,  # workers' shutdown chatter is not the user's concern
        )
        client = Client(cluster)
        client._autograder_cluster = cluster  # closed with the client
        return client
    if "://" not in scheduler:
        raise DistributedError(
            f"--scheduler {scheduler!r}: give the scheduler's address as tcp://HOST:PORT (what "
            "`dask scheduler` prints) or local:N for N worker processes on this machine"
        )
    try:
        _refused(scheduler)  # at once, where Dask would retry for CONNECT_SECONDS
        return Client(scheduler, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise DistributedError(
            f"could not reach the Dask scheduler at {scheduler} ({error}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
        ) from None


def _refused(scheduler: str) -> None:
    """Raise ``ConnectionRefusedError`` when nothing listens at a ``tcp://HOST:PORT`` address
    (a mistyped port, a scheduler not started), :class:`DistributedError` when the port is not
    a number. Other schemes, and hosts that do not answer at once, are left to Dask's own
    connection attempts."""
    address = urllib.parse.urlsplit(scheduler)
    try:
        port = address.port
    except ValueError:
        raise DistributedError(
            f"--scheduler {scheduler!r}: the port is not a number; give the address `dask "
            "scheduler` prints, such as tcp://10.0.0.5:8786"
        ) from None
    if address.scheme != "tcp" or not address.hostname or port is None:
        return
    try:
        with socket.create_connection((address.hostname, port), timeout=5):
            pass
    except ConnectionRefusedError:
        raise
    except OSError:  # unresolvable or silent: Dask says why after its own attempts
        return


def _close(client) -> None:
    cluster = getattr(client, "_autograder_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _in_flight(client) -> int:
    """How many tasks to keep submitted: twice the cluster's threads, at least 4."""
    threads = sum(client.nthreads().values())
    return max(4, 2 * threads)


@dataclass
class _Item:
    submission: Submission
    data: bytes | None
    digest: str
    problem: str | None


def _read(submission: Submission) -> _Item:
    try:
        data, problem = submission.read(), None
    except NotebookError as error:
        data, problem = None, str(error)
    return _Item(submission, data, notebook_digest(data), problem)


def _task(spec: AssignmentSpec, item: _Item, options: BatchOptions, version: str) -> Task:
    """The task that grades ``item`` on a worker."""
    submission = item.submission
    return Task(
        spec,
        submission.student_id,
        submission.origin,
        submission.note,
        submission.timestamp,
        item.data,
        item.problem,
        options.limits,
        options.isolate,
        version,
    )


def grade_batch_distributed(
    assignment: str,
    submissions: Path,
    options: BatchOptions,
    scheduler: str,
    task_function=grade_task,
) -> BatchResult:
    """Grade every submission of ``assignment`` on the Dask cluster at ``scheduler``.

    The same outputs, resume rules and summary as :func:`autograder.grader.batch.grade_batch`
    (``options.jobs`` is not used: the cluster's workers decide the parallelism).
    ``task_function`` replaces :func:`grade_task` in tests. Raises what ``grade_batch`` raises,
    :class:`DistributedError` when the cluster cannot be used or a worker refuses to grade
    (after saving everything that finished), and ``KeyboardInterrupt`` after cancelling every
    task (what finished is saved).
    """
    spec = load_spec(options.course_root, assignment)
    found = find_submissions(submissions, assignment)
    results_dir = options.out / "results"
    client = connect(scheduler)
    try:
        with GradebookWriter(options.course_root, spec) as writer:
            tally = Tally(writer, results_dir, progress_bar(len(found), options.progress))
            try:
                failed: dict[str, int] = {}  # failed tries so far, per student (errors are retried)
                queue = _reuse_saved(found, spec, tally, failed)
                task = functools.partial(_task, spec, options=options, version=grader_version())
                _Dispatch(client, task, task_function, tally, failed).run(spec, queue)
            finally:
                tally.progress.close()
    finally:
        _close(client)
    return tally.summary(options.out, spec)


def _reuse_saved(
    found: list[Submission], spec: AssignmentSpec, tally: Tally, failed: dict[str, int]
) -> list[Submission]:
    """Record the students whose saved result is still valid; return the others, to be graded
    (only their ids are held: each is read again when it is sent). ``failed`` receives every
    student's failed tries so far."""
    queue = []
    for submission in found:
        item = _read(submission)
        path = tally.results_dir / f"{submission.student_id}.json"
        saved, failed[submission.student_id] = load_saved(path, spec.fingerprint, item.digest)
        if saved is None:
            queue.append(submission)
        else:
            tally.add(Graded(saved, parsed(item.data), item.digest, True, item.data is not None))
    return queue


class _Dispatch:
    """Keeps a bounded number of grading tasks in flight on the cluster and records each result
    the moment it arrives; on any exception the tasks in flight are cancelled."""

    def __init__(self, client, task, task_function, tally: Tally, failed: dict[str, int]):
        from distributed import as_completed

        self.client = client
        self.task = task  # _Item -> Task
        self.task_function = task_function
        self.tally = tally
        self.failed = failed
        self.items: dict[str, tuple[Any, _Item]] = {}  # future key -> (future, item)
        self.running = as_completed()

    def run(self, spec: AssignmentSpec, queue: list[Submission]) -> None:
        from distributed import KilledWorker

        waiting = iter(queue)
        self._top_up(waiting)
        try:
            for done, future in enumerate(_arrivals(self.client, self.running), start=1):
                _, item = self.items.pop(future.key)
                self._save(item, _outcome(future, spec, item, KilledWorker))
                future.release()
                if done % REFILL_EVERY == 0 or len(self.items) < 2:
                    self._top_up(waiting)
                else:  # one out, one in
                    following = next(waiting, None)
                    if following is not None:
                        self._submit(following)
        except BaseException:
            self.client.cancel([future for future, _ in self.items.values()])
            raise

    def _top_up(self, waiting) -> None:
        """Keep as many tasks in flight as the cluster (which may grow) can use."""
        room = _in_flight(self.client) - len(self.items)
        for following in itertools.islice(waiting, max(room, 0)):
            self._submit(following)

    def _submit(self, submission: Submission) -> None:
        item = _read(submission)
        task = self.task(item)
        key = f"grade-{task.spec.assignment}-{submission.student_id}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(self.task_function, task, key=key, pure=False)
        self.items[future.key] = (future, item)
        self.running.add(future)

    def _save(self, item: _Item, result: StudentResult) -> None:
        tries = self.failed.get(result.student_id, 0)
        tries = tries + 1 if result.status == ERROR else 0
        submitted = item.data is not None
        self.tally.add(Graded(result, parsed(item.data), item.digest, False, submitted, tries))


def _arrivals(client, running):
    """The futures of ``running`` as they finish; :class:`DistributedError` when the cluster has
    had no worker for ``NO_WORKERS_SECONDS`` while tasks wait (instead of waiting forever)."""
    last_seen = time.monotonic()
    next_look = 0.0
    while not running.is_empty():
        if running.has_ready():
            yield next(running)
            continue
        now = time.monotonic()
        if now >= next_look:
            next_look = now + 1.0
            if client.nthreads():
                last_seen = now
            elif now - last_seen > NO_WORKERS_SECONDS:
                raise DistributedError(
                    f"the Dask cluster has had no workers for {NO_WORKERS_SECONDS:g} s; start "
                    "workers (`dask worker ADDRESS --nthreads 1`) or read their logs, then run "
                    "the same command again (what finished is saved)"
                )
        time.sleep(0.05)


def _outcome(future, spec: AssignmentSpec, item: _Item, killed: type) -> StudentResult:
    """The result a finished task brought back, or what to record when it failed.

    A worker that refused (no sandbox, other grader version) stops the batch.
    """
    try:
        return StudentResult.from_json(future.result())
    except killed as error:
        return not_graded_result(
            spec,
            item.submission,
            "grading this notebook ended the Dask worker process every time it was tried "
            f"({error}); it was not graded: run `python -m autograder check` on it to see why",
        )
    except (DistributedError, SandboxUnavailable) as error:
        raise DistributedError(f"a worker refused to grade: {error}") from None
    except Exception as error:  # the task itself failed (e.g. could not be unpickled)
        return error_result(spec, item.submission, f"{type(error).__name__}: {error}")
