"""The process plumbing of a sandbox: start the worker, feed it, read it, end it.

:class:`Processes` starts each run's process (bubblewrap or, without isolation, the worker
itself) in a session of its own, writes the job to its stdin, reads the channel in one thread and
the process's own output (kept to ``output_kb``) in another, and ends the whole process group
when the run's time is up, when :class:`~autograder.grader.sandbox.watchdog.MemoryWatchdog` sees
it over its budget, at the first channel violation, or when grading stops (:meth:`stop_all`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from autograder.grader.sandbox.channel import Channel
from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.watchdog import MemoryWatchdog, Usage


@dataclass
class Attempt:
    """One run of the worker: its channel, the wall time it may take, and how it ended."""

    channel: Channel
    seconds: float = 0.0  # the wall time this run may take
    returncode: int | None = None
    killed_for_time: bool = False
    over_budget: Usage | None = None
    peak: Usage = field(default_factory=Usage)
    output: str = ""


class Processes:
    """The running processes of one sandbox, under one memory watchdog.

    ``private_tmp``: the processes have a private ``/tmp`` of ``limits.tmp_mb`` that counts
    against their memory budget (under bubblewrap).
    """

    def __init__(self, limits: Limits, *, private_tmp: bool):
        self.limits = limits
        self.private_tmp = private_tmp
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self.watchdog = MemoryWatchdog()

    def close(self) -> None:
        self.watchdog.close()

    def stop_all(self) -> None:
        """Kill every running submission and start no more (used when grading is interrupted)."""
        with self._lock:
            self._stopping = True
            for process in self._running:
                self.kill(process)

    def run(self, attempt: Attempt, command, env, cwd, job: str, read_end, passed) -> None:
        """Start ``command`` (``env``: its environment, ``cwd``: its folder; the descriptors
        ``passed`` are handed to it and closed here), write ``job`` to its stdin, read its
        channel from ``read_end`` and its output, and wait for it within ``attempt.seconds``
        under the memory watchdog; record in ``attempt`` how it ended."""
        process = self._start(command, env, cwd, passed)
        if process is None:
            attempt.returncode = -signal.SIGKILL
            return

        def over_budget(usage: Usage) -> None:
            attempt.over_budget = usage
            self.kill(process)

        budget = self.limits.budget_mb * 2**20
        tmp_size = self.limits.tmp_mb * 2**20 if self.private_tmp else 0
        self.watchdog.watch(process.pid, budget, over_budget, tmp_size=tmp_size)
        try:
            follow(
                attempt,
                self.limits,
                job,
                streams=(process.stdin, process.stdout, read_end),
                wait=process.wait,
                kill=lambda: self.kill(process),
                timed_out=subprocess.TimeoutExpired,
            )
        finally:
            attempt.peak = self.watchdog.unwatch(process.pid)
            with self._lock:
                self._running.discard(process)

    def _start(self, command, env, cwd, passed) -> subprocess.Popen | None:
        """The started process in a session of its own (``None`` once grading is stopping);
        the descriptors ``passed`` are closed here either way."""
        try:
            with self._lock:
                if self._stopping:
                    return None
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=tuple(passed),
                    start_new_session=True,
                    env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                    cwd=cwd,
                )
                self._running.add(process)
                return process
        finally:
            for descriptor in passed:
                os.close(descriptor)

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def drain(stream, attempt: Attempt, limits: Limits) -> None:
    """Keep the first ``output_kb`` KiB a run writes to its stdout/stderr in ``attempt``."""
    kept = bytearray()
    limit = limits.output_kb * 1024
    while chunk := stream.read1(65536):
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    attempt.output = kept.decode("utf-8", "replace")


def collect(read_end: int, attempt: Attempt, kill: Callable[[], None]) -> None:
    """Feed the channel to the attempt's :class:`Channel`; ``kill()`` the run at the first
    violation (and keep reading, without decoding, until the channel closes)."""
    ended = False
    while chunk := os.read(read_end, 1 << 20):
        if not attempt.channel.feed(chunk) and not ended:
            ended = True
            kill()


def follow(
    attempt: Attempt,
    limits: Limits,
    job: str,
    *,
    streams: tuple,
    wait: Callable[[float | None], int],
    kill: Callable[[], None],
    timed_out: type[BaseException],
) -> None:
    """Follow one started run to its end: write ``job`` to its stdin, read its output and its
    channel (``streams``: stdin, output, channel read end) in two threads, and wait for it
    within ``attempt.seconds``.

    ``wait(timeout)`` returns the exit status or raises ``timed_out``; ``kill()`` ends the run.
    A run past its time is killed and marked ``killed_for_time``; on any other exception
    (Ctrl-C in the grader, a broken fork server) it is killed and the exception propagates. A
    run that stops reading its stdin early is not an error. The readers are joined (10 s at
    most each) before this returns or raises.
    """
    stdin, output, read_end = streams
    readers = [
        threading.Thread(target=drain, args=(output, attempt, limits), daemon=True),
        threading.Thread(target=collect, args=(read_end, attempt, kill), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        try:
            stdin.write(job.encode("utf-8"))
            stdin.close()
        except OSError:  # BrokenPipeError included: the run ended or closed its stdin
            pass
        try:
            attempt.returncode = wait(attempt.seconds)
        except timed_out:
            attempt.killed_for_time = True
            kill()
            attempt.returncode = wait(None)
        except BaseException:
            kill()
            raise
    finally:
        for reader in readers:
            reader.join(timeout=10)
