"""``python -m autograder grade --scheduler``: the class graded on a real Dask cluster.

A ``dask scheduler`` and two ``dask worker`` processes (one thread each) are started by the test
on free localhost ports. A mixed class of ex03 submissions (honest, wrong, blank, crashing in a
call, adversarial, unreadable) must get exactly the grades, ``grades.csv`` rows and gradebook
scores of ``--jobs 1``; a worker killed while it grades does not change them; Ctrl-C of the
coordinator and a rerun lose and double-count nothing; a submission that kills workers every
time is recorded as not graded; a worker that cannot sandbox, or runs other grading code,
refuses. Every process the test started is gone afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import dask
import psutil
import pytest
from test_grader_batch import (
    ATTACKS_ON_BLANK,
    CORRECT,
    CRASHING_LOGADDEXP,
    FULL,
    NAIVE,
    NAIVE_FAILS,
    SPEC,
    A,
    build,
    grade,
    interruptible,
    points,
    read_csv,
    released,  # noqa: F401  (fixture)
    write_submission,
)

from autograder.course.operations import copy_course, gradebook_scores
from autograder.grader import distributed
from autograder.grader.batch import BatchOptions
from autograder.grader.sandbox import Limits, SandboxUnavailable

pytestmark = [
    pytest.mark.grader,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

EXPECTED = {
    "honest_full": FULL,
    "honest_naive": FULL - points("logsumexp", NAIVE_FAILS),
    "blank": 0.0,
    "crash_in_call": FULL - points("logaddexp"),
    "rigged_eq": 0.0,
    "invalid_json": 0.0,
}
REPOSITORY = Path(__file__).resolve().parents[3]


def mixed_class(notebook: dict, folder: Path) -> Path:
    write_submission(folder, "honest_full", build(notebook, CORRECT))
    write_submission(folder, "honest_naive", build(notebook, dict(CORRECT, logsumexp=NAIVE)))
    write_submission(folder, "blank", build(notebook, {}))
    crashing = dict(CORRECT, logaddexp=CRASHING_LOGADDEXP)
    write_submission(folder, "crash_in_call", build(notebook, crashing))
    write_submission(folder, "rigged_eq", build(notebook, {}, [ATTACKS_ON_BLANK["rigged_eq"]]))
    write_submission(folder, "invalid_json", b"{")
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    return env


class Cluster:
    """A scheduler and two single-thread workers (each under a nanny) on free localhost ports."""

    def __init__(self, folder: Path):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen] = []
        self.logs = folder
        port = self.address.rsplit(":", 1)[1]
        self._start("scheduler", "dask_scheduler", "--host", "127.0.0.1", "--port", port)
        for number in (1, 2):
            self._start(
                f"worker{number}",
                "dask_worker",
                self.address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            )
        self.wait_for_workers(2)

    def _start(self, name: str, module: str, *args: str) -> None:
        command = [sys.executable, "-m", f"distributed.cli.{module}", *args]
        if module == "dask_scheduler":
            command.append("--no-dashboard")
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
        self.processes.append(
            subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment(),
                start_new_session=True,
            )
        )

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=60)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=180)

    def everything(self) -> list[psutil.Process]:
        """Every process started for the cluster and all their descendants, alive now."""
        found = []
        for process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                found += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def stop(self) -> None:
        alive = self.everything()
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _, survivors = psutil.wait_procs(alive, timeout=30)
        for process in survivors:
            process.kill()
        for process in self.processes:
            process.wait(timeout=30)
        assert not survivors, f"processes survived SIGTERM: {survivors}"


@pytest.fixture
def cluster(tmp_path):
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.stop()
    time.sleep(1)
    assert not [p for p in started.everything() if p.is_running()]


@pytest.fixture(scope="module")
def reference(released, tmp_path_factory):  # noqa: F811
    """The mixed class graded locally with --jobs 1: grades.csv text and gradebook scores."""
    root = tmp_path_factory.mktemp("reference")
    submissions = mixed_class(released, root / "submitted")
    course = copy_course(root / "course")
    done = grade(course, submissions, root / "out", "--jobs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    table = (root / "out" / "grades.csv").read_text()
    rows = read_csv(root / "out" / "grades.csv")
    assert {s: float(r["score"]) for s, r in rows.items()} == EXPECTED
    return submissions, table, gradebook_scores(course, A)


def test_scheduler_gives_exactly_the_grades_of_jobs_1(reference, cluster, tmp_path):
    submissions, table, scores = reference
    course = copy_course(tmp_path / "course")
    done = grade(course, submissions, tmp_path / "out", "--scheduler", cluster.address)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "grades.csv").read_text() == table
    assert gradebook_scores(course, A) == scores
    assert "graded now: 6, reused from an earlier run: 0" in done.stdout
    assert "6 students found" in done.stdout  # the same summary as --jobs


def test_a_worker_killed_while_grading_changes_nothing(reference, cluster, tmp_path):
    submissions, table, scores = reference
    course = copy_course(tmp_path / "course")
    command = [sys.executable, "-m", "autograder", "grade", A, str(submissions)]
    command += ["--course-root", str(course), "--out", str(tmp_path / "out"), "--no-progress"]
    command += ["--scheduler", cluster.address]
    coordinator = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with cluster.client() as client:
        pids = client.run(os.getpid)
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            victim = busy[0] if busy else None
            time.sleep(0.05)
        assert victim is not None, "no task ever ran"
        worker = psutil.Process(pids[victim])
        time.sleep(0.5)  # let it get into the sandboxed run
        sandboxes = worker.children(recursive=True)
        worker.kill()
        stdout, stderr = coordinator.communicate(timeout=600)
        assert coordinator.returncode == 0, stderr.decode()[-3000:]
        _, alive = psutil.wait_procs(sandboxes, timeout=30)
        assert not alive, "the killed worker's sandbox outlived it"
        client.wait_for_workers(2, timeout=180)  # the nanny restarted it
    assert (tmp_path / "out" / "grades.csv").read_text() == table
    assert gradebook_scores(course, A) == scores
    assert b"graded now: 6" in stdout


def test_ctrl_c_and_rerun_lose_and_double_count_nothing(reference, released, cluster, tmp_path):  # noqa: F811
    # Two slow (correct) students keep the batch running, so the Ctrl-C always lands mid-run:
    # the rest of the class takes well under a second on two workers.
    reference_submissions, table, scores = reference
    submissions = tmp_path / "submitted"
    shutil.copytree(reference_submissions, submissions)
    slow = build(released, CORRECT, ["import time\ntime.sleep(8)"])
    for name in ("slow_1", "slow_2"):
        write_submission(submissions, name, slow)
    course = copy_course(tmp_path / "course")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", A, str(submissions)]
    command += ["--course-root", str(course), "--out", str(out), "--no-progress"]
    command += ["--scheduler", cluster.address]
    coordinator = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and coordinator.poll() is None:
        if len(list((out / "results").glob("*.json"))) >= 2:
            break
        time.sleep(0.02)
    coordinator.send_signal(signal.SIGINT)
    _, stderr = coordinator.communicate(timeout=120)
    assert coordinator.returncode == 130, stderr.decode()[-3000:]
    assert b"run the same command again" in stderr
    saved = len(list((out / "results").glob("*.json")))
    assert 2 <= saved < 8
    with cluster.client() as client:  # cancelled tasks leave the cluster
        deadline = time.monotonic() + 120
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(client.processing().values())
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"reused from an earlier run: {saved}" in again.stdout
    graded = (out / "grades.csv").read_text().splitlines(keepends=True)
    assert "".join(line for line in graded if not line.startswith("slow_")) == table
    rows = read_csv(out / "grades.csv")
    assert float(rows["slow_1"]["score"]) == float(rows["slow_2"]["score"]) == FULL
    assert {s: v for s, v in gradebook_scores(course, A).items() if s in scores} == scores
    third = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert "graded now: 0, reused from an earlier run: 8" in third.stdout
    assert (out / "grades.csv").read_text().splitlines(keepends=True) == graded


def test_a_submission_that_kills_every_worker_is_recorded_not_graded(released, tmp_path):  # noqa: F811
    submissions = tmp_path / "submitted"
    write_submission(submissions, "honest_full", build(released, CORRECT))
    write_submission(submissions, "boom", build(released, CORRECT))
    course = copy_course(tmp_path / "course")
    options = BatchOptions(course, tmp_path / "out", progress=False)

    def killer(task):  # stands in for a grader that dies on this notebook
        if task.student_id == "boom":
            os._exit(1)
        return distributed.grade_task(task)

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        batch = distributed.grade_batch_distributed(A, submissions, options, "local:2", killer)
    by_id = {r.student_id: r for r in batch.results}
    assert by_id["honest_full"].score == FULL and by_id["honest_full"].status == "graded"
    assert by_id["boom"].status == "not_graded" and by_id["boom"].score == 0
    assert "ended the Dask worker process every time" in by_id["boom"].reason
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert rows["boom"]["status"] == "not_graded"
    assert json.loads((tmp_path / "out" / "results" / "boom.json").read_text())


def test_a_worker_refuses_without_the_sandbox_or_with_other_grading_code(monkeypatch):
    task = distributed.Task(
        SPEC,
        "s1",
        "s1/ex03_logsumexp.ipynb",
        None,
        None,
        b"{}",
        None,
        Limits(),
        True,
        distributed.grader_version(),
    )
    with pytest.raises(distributed.DistributedError, match="differs from the coordinator"):
        distributed.grade_task(replace(task, grader_version="0" * 64))
    import autograder.grader.sandbox

    monkeypatch.setattr(distributed, "_sandboxes", {})
    monkeypatch.setattr(autograder.grader.sandbox.policy.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        distributed.grade_task(task)


def test_bad_scheduler_addresses_are_explained(released, tmp_path):  # noqa: F811
    submissions = mixed_class(released, tmp_path / "submitted")
    course = copy_course(tmp_path / "course")
    for address, words in (
        ("local:0", "local:N with N >= 1"),
        ("127.0.0.1:1", "tcp://HOST:PORT"),
        (f"tcp://127.0.0.1:{free_port()}", "could not reach the Dask scheduler"),
        ("tcp://127.0.0.1:86a", "the port is not a number"),
    ):
        done = grade(course, submissions, tmp_path / "out", "--scheduler", address)
        assert done.returncode == 1 and words in done.stderr, done.stderr[-2000:]


def test_a_cluster_without_workers_stops_the_batch_with_a_reason(released, tmp_path, monkeypatch):  # noqa: F811
    from distributed import LocalCluster

    submissions = tmp_path / "submitted"
    write_submission(submissions, "honest_full", build(released, CORRECT))
    course = copy_course(tmp_path / "course")
    options = BatchOptions(course, tmp_path / "out", progress=False)
    monkeypatch.setattr(distributed, "NO_WORKERS_SECONDS", 2)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        with pytest.raises(distributed.DistributedError, match="no workers for 2 s"):
            distributed.grade_batch_distributed(A, submissions, options, empty.scheduler_address)
    assert not (tmp_path / "out" / "grades.csv").exists()
