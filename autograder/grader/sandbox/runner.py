"""Run a student's notebook code in a limited, isolated process and bring back plain outcomes.

This is the trusted half of grading one submission. :class:`Sandbox` copies the harness folder
(and nothing else of the repository) to a private folder, runs :mod:`autograder.harness.worker`
in a child of a fork server (:mod:`~autograder.grader.sandbox.forkserver`) inside the bubblewrap
policy of :mod:`~autograder.grader.sandbox.policy` with the resource limits of
:class:`~autograder.grader.sandbox.limits.Limits`, feeds it the student's cells and the harness
requests, and reads the events it writes back
through :class:`autograder.grader.sandbox.channel.Channel`, which holds them to the run's plan
(anything out of turn is tampering: the process is ended and the report says what was seen).
Every outcome is checked and reduced to the fields the verdicts read
(:func:`autograder.grader.sandbox.channel.sanitize`); nothing the student's process produced is
ever unpickled or executed here.

Limits inside: address space (``--memory``), CPU seconds, number of processes, open files, file
size, no core dumps; a root grader drops to an unprivileged user id per concurrent run (per fork
server) so the process limit applies. The memory of all of a run's processes together plus its
``/tmp`` is held to :attr:`Limits.budget_mb` by
:class:`autograder.grader.sandbox.watchdog.MemoryWatchdog`. Each cell is interrupted after
``timeout`` seconds, the whole run is killed after
:attr:`Limits.run_seconds`, and a run that ends early is repeated without what ended it
(:mod:`~autograder.grader.sandbox.restarts`), all runs together within
:attr:`Limits.total_seconds`.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import queue
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.grader.sandbox import restarts
from autograder.grader.sandbox.channel import Channel, ChannelLimits
from autograder.grader.sandbox.forkserver import ForkServerError, ForkServers
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.policy import (
    BwrapPolicy,
    SandboxUnavailable,
    cannot_start,
    check_bwrap,
    environment,
    isolation_tools,
    python_roots,
    seccomp_pipe,
)
from autograder.grader.sandbox.processes import Attempt, Processes
from autograder.grader.sandbox.restarts import Request, RunReport
from autograder.harness import wire

__all__ = ["Limits", "Request", "RunReport", "Sandbox", "SandboxUnavailable"]

HARNESS = Path(__file__).resolve().parents[2] / "harness"  # copied whole into the sandbox
ZYGOTE = "autograder/harness/zygote.py"  # the fork server, in the copy
FIRST_UID = 61000
STUB_PACKAGE = '''"""The autograder as seen from inside the grading sandbox.

The checks run in the grader's own process, so check() and grade_function() do nothing here.
"""


def check(assignment, name, obj, group):
    return None


def grade_function(assignment, name, obj):
    return None
'''


class Sandbox(contextlib.AbstractContextManager):
    """Runs submissions' code; use as a context manager (the harness copy is removed on exit).

    Isolated, each run is a child of a fork server (:mod:`~autograder.grader.sandbox.forkserver`)
    that imported ``preload`` (module names: what the assignment's notebook and drivers import)
    once, in namespaces, mounts, limits and filter of its own; ``fork_server=False`` starts a
    fresh bubblewrap sandbox and interpreter for every run instead (slower; kept as the
    baseline of ``benchmarks/phases.py``). ``isolate=False`` runs the worker as a plain
    subprocess with the same limits and a cleaned environment but full view of the file system
    (``--no-sandbox``). ``hidden`` lists folders that must not be visible inside (the
    repository and the course root). Raises :class:`SandboxUnavailable` saying what to install
    or change when bubblewrap or the seccomp filter cannot be used.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        isolate: bool = True,
        hidden: tuple[Path, ...] = (),
        channel_limits: ChannelLimits | None = None,
        preload: tuple[str, ...] = (),
        fork_server: bool = True,
    ):
        self.limits = limits
        self.channel_limits = channel_limits or ChannelLimits()
        self.isolate = isolate
        self.forked = isolate and fork_server
        self.hidden = tuple(Path(p).resolve() for p in hidden)
        bwrap, self._seccomp = isolation_tools() if isolate else (None, b"")
        self.root = Path(tempfile.mkdtemp(prefix="autograder-harness-"))
        self._copy_harness()
        self.policy = BwrapPolicy(bwrap, limits.tmp_mb, self.root, self.hidden)
        self._uids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for uid in range(FIRST_UID, FIRST_UID + 256):
            self._uids.put(uid)
        if self.forked:
            self.processes = ForkServers(
                limits, self._fork_server_command(), self._fork_server_config(preload), self._uids
            )
        else:
            self.processes = Processes(limits, private_tmp=isolate)
        if isolate:
            try:
                self._check()
            except BaseException:
                self.close()
                raise

    def _fork_server_command(self) -> list[str]:
        return [*self.policy.command(None), sys.executable, "-I", f"/grader/{ZYGOTE}"]

    def _fork_server_config(self, preload: tuple[str, ...]) -> dict:
        """What every fork server reads (see :mod:`autograder.harness.zygote`)."""
        return {
            "limits": self.limits.rlimits(),
            "tmp_bytes": self.limits.tmp_mb * 2**20,
            "under_tmp": [str(p) for p in python_roots() if p.is_relative_to("/tmp")],
            "seccomp": self._seccomp.hex(),
            "preload": list(preload),
        }

    def _check(self) -> None:
        """Start one sandbox (a fork server, kept for the first run, or a fresh one importing
        NumPy); :class:`SandboxUnavailable` saying what to change when it cannot start."""
        if not self.forked:
            check_bwrap(self.policy, self._seccomp)
            return
        try:
            self.processes.start()
        except ForkServerError as error:
            raise SandboxUnavailable(cannot_start(str(error))) from None

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.processes.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_all(self) -> None:
        """Kill every running submission and start no more (used when grading is interrupted)."""
        self.processes.stop_all()

    def _copy_harness(self) -> None:
        package = self.root / "autograder"
        package.mkdir()
        (package / "__init__.py").write_text(STUB_PACKAGE)
        shutil.copytree(HARNESS, package / "harness", ignore=shutil.ignore_patterns("__pycache__"))
        # bytecode compiled once here, so no run recompiles the harness (the copy is read-only)
        compileall.compile_dir(package, quiet=1)
        for path in [self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _worker_command(self) -> list[str]:
        base = "/grader" if self.isolate else str(self.root)
        return [sys.executable, "-I", f"{base}/autograder/harness/worker.py"]

    def bwrap_command(self, seccomp_fd: int) -> list[str]:
        """The ``bwrap`` command line of this sandbox (see :meth:`BwrapPolicy.command`)."""
        return self.policy.command(seccomp_fd)

    def seccomp_fd(self) -> int:
        """A pipe's read end holding the seccomp program, for one ``bwrap --seccomp``."""
        return seccomp_pipe(self._seccomp)

    def execute(
        self,
        cells: list[tuple[int, str]],
        requests: list[Request],
        labels: dict[int, str] | None = None,
    ) -> RunReport:
        """Run ``cells`` (numbered notebook cells) then every request; restart after a crash
        (:func:`autograder.grader.sandbox.restarts.execute`).

        ``labels`` names cells in the problems reported (default: ``cell <number>``).
        """
        return restarts.execute(self._run_once, cells, requests, labels or {}, self.limits)

    def _run_once(self, cells, requests: list[Request], skip: set[int], seconds: float) -> Attempt:
        plan = wire.run_order([number for number, _ in cells], [r.position for r in requests], skip)
        attempt = Attempt(Channel(plan, self.channel_limits), seconds=seconds)
        uid = None if self.forked else self._uids.get()  # a fork server holds its own
        read_end, write_end = os.pipe()
        passed = [write_end]
        home = None
        command = env = cwd = None  # forked: the fork server has its own
        try:
            if self.isolate and not self.forked:
                rules = self.seccomp_fd()
                passed.append(rules)
                command = self.bwrap_command(rules) + self._worker_command()
            elif not self.isolate:
                home = tempfile.mkdtemp(prefix="autograder-student-")
                command, env, cwd = self._worker_command(), environment(home), home
            job = self._job(cells, requests, skip, uid, write_end)
            self.processes.run(attempt, command, env, cwd, wire.dumps(job), read_end, passed)
            return attempt
        finally:
            os.close(read_end)
            if uid is not None:
                self._uids.put(uid)
            if home:
                shutil.rmtree(home, ignore_errors=True)

    def _job(
        self, cells, requests: list[Request], skip: set[int], uid: int | None, channel_fd: int
    ) -> dict:
        """What the worker reads on its stdin (see :mod:`autograder.harness.worker`)."""
        return {
            "cells": [list(c) for c in cells],
            "requests": [
                {
                    "variable": r.variable,
                    "harness": r.harness,
                    "payload": wire.dumps(r.payload),
                    "trap_overflow": r.trap_overflow,
                    "time_limit": r.time_limit,
                    "position": r.position,
                }
                for r in requests
            ],
            "skip_requests": sorted(skip),
            "cell_timeout": self.limits.timeout,
            "limits": self.limits.rlimits(),
            "uid": uid if self.isolate else None,  # None: the user id is already the run's
            "channel_fd": channel_fd,
        }
