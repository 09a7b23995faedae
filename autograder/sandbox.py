"""Run a student's notebook code in a limited, isolated process and bring back plain outcomes.

This is the trusted half of grading one submission. :class:`Sandbox` copies the harness code (and
nothing else of the repository) to a private folder, starts :mod:`autograder.worker` under
bubblewrap with resource limits, feeds it the student's cells and the harness requests, and reads
the events it writes back through :class:`autograder.channel.Channel`, which holds them to the
run's plan (anything out of turn is tampering: the process is ended and the report says what was
seen). Every outcome is checked and reduced to the fields the verdicts read
(:func:`autograder.channel.sanitize`); nothing the student's process produced is ever unpickled
or executed here.

Isolation under bubblewrap: new PID, network, IPC and UTS namespaces (so no network and no view
of other processes); a read-only view of the system and the Python installation only, with the
repository and the course root hidden; a private, size-limited ``/tmp`` as working directory; a
read-only ``/dev``; a cleared environment; the seccomp filter of :mod:`autograder.syscalls` (no
namespaces, memfd, shared memory, sockets, mounts, ptrace, ...). Limits inside: address space
(``--memory``), CPU seconds, number of processes, open files, file size, no core dumps; a root
grader drops to an unprivileged user id per concurrent run so the process limit applies. The
memory of all of a run's processes together plus its ``/tmp`` is held to
:attr:`Limits.budget_mb` by :class:`autograder.watchdog.MemoryWatchdog`. Each cell is interrupted
after ``timeout`` seconds, the whole run is killed after :attr:`Limits.run_seconds`, and all of a
submission's runs together (restarts included) after :attr:`Limits.total_seconds`.

When the process ends early (``os._exit``, a kill, a crash, memory or time exhausted), the run is
repeated without the cell that ended it or, during grading calls, without the rest of that group
(without the rest of that name once it has ended the process twice), at most :data:`MAX_RUNS`
times; whatever never ran gets a ``not_run`` outcome that says why.
"""

from __future__ import annotations

import compileall
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import wire
from autograder.channel import Channel, ChannelLimits
from autograder.spec import Outcome
from autograder.syscalls import SeccompUnavailable, filter_program
from autograder.watchdog import MemoryWatchdog, Usage

PACKAGE = Path(__file__).resolve().parent
HARNESS_FILES = ("harness.py", "spec.py", "wire.py", "worker.py", "zygote.py", "drivers")
MAX_RUNS = 12
RESTART_BUDGET = 4  # a submission's runs together take at most this many run_seconds
FIRST_UID = 61000
STUB_PACKAGE = '''"""The autograder as seen from inside the grading sandbox.

The checks run in the grader's own process, so check() and grade_function() do nothing here.
"""


def check(assignment, name, obj, group):
    return None


def grade_function(assignment, name, obj):
    return None
'''
NO_BWRAP = (
    "bubblewrap (the `bwrap` command) is not installed, so student code cannot be isolated. "
    "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`) and run again, or pass "
    "--no-sandbox to run student code with only resource limits: it could then read the "
    "solutions, the hidden tests and the gradebook, write to your files and use the network."
)
SIGNALS = {
    signal.SIGKILL: "was killed (SIGKILL)",
    signal.SIGXCPU: "used up its CPU-time limit",
    signal.SIGXFSZ: "wrote a file larger than the file-size limit",
    signal.SIGSEGV: "crashed (segmentation fault)",
    signal.SIGABRT: "aborted (often memory exhausted inside a library)",
}


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be used on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's run.

    ``timeout`` is the wall time each notebook cell may take; the whole run is stopped after
    :attr:`run_seconds`, which is also its CPU-time limit.
    """

    timeout: float = 60.0
    memory_mb: int = 2048
    processes: int = 64
    open_files: int = 1024
    file_mb: int = 64
    tmp_mb: int = 256
    output_kb: int = 64

    @property
    def run_seconds(self) -> float:
        return 2 * self.timeout + 30

    @property
    def total_seconds(self) -> float:
        """The wall time of all of a submission's runs together, restarts after a crash
        included: a run that would pass it is stopped then."""
        return RESTART_BUDGET * self.run_seconds

    @property
    def budget_mb(self) -> int:
        """The memory budget of a whole run: resident memory of all its processes together
        plus what its ``/tmp`` holds."""
        return self.memory_mb + self.tmp_mb

    def rlimits(self) -> dict[str, int]:
        return {
            "address_space": self.memory_mb * 2**20,
            "cpu_seconds": int(self.run_seconds) + 1,
            "processes": self.processes,
            "open_files": self.open_files,
            "file_size": self.file_mb * 2**20,
            "core": 0,
        }


@dataclass(frozen=True)
class Request:
    """One harness call: drive ``variable`` with a case's payload. ``group`` numbers the graded
    group the case belongs to (a process that dies during a case loses the rest of its group);
    ``position`` is the notebook cell number of its test cell (``None``: after the last cell)."""

    variable: str
    harness: str
    payload: dict[str, Any]
    trap_overflow: bool
    time_limit: float
    group: int
    position: int | None = None


@dataclass
class RunReport:
    """What came back from running one submission: an outcome per request, and per cell number
    the error it raised (``None`` when it ran cleanly).

    ``tampering`` lists what the notebook's process sent out of turn on the channel, and
    ``tampered_variables`` the graded variables that affects: the one whose request a forged
    message named and the one being called when it came, or every variable when the message
    named none (the run then stops). A cell that tampered is skipped in the next run, like one
    that ended the process.
    """

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cell_errors: dict[int, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    grader_failure: str | None = None
    tampering: list[str] = field(default_factory=list)
    tampered_variables: set[str] = field(default_factory=set)
    peak_memory: Usage = field(default_factory=Usage)


@dataclass
class _Attempt:
    channel: Channel
    seconds: float = 0.0  # the wall time this run may take
    returncode: int | None = None
    killed_for_time: bool = False
    over_budget: Usage | None = None
    peak: Usage = field(default_factory=Usage)
    output: str = ""


def python_roots() -> list[Path]:
    """Folders holding the Python installation and its packages (mounted read-only)."""
    import site

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    roots: list[Path] = []
    for candidate in map(Path, candidates):
        candidate = candidate.resolve()
        if candidate.exists() and not any(candidate.is_relative_to(r) for r in roots):
            roots = [r for r in roots if not r.is_relative_to(candidate)] + [candidate]
    return roots


class Sandbox:
    """Runs submissions' code; use as a context manager (the harness copy is removed on exit).

    ``isolate=False`` runs the worker as a plain subprocess with the same limits and a cleaned
    environment but full view of the file system (``--no-sandbox``). ``hidden`` lists folders
    that must not be visible inside (the repository and the course root).
    """

    def __init__(
        self,
        limits: Limits,
        *,
        isolate: bool = True,
        hidden: tuple[Path, ...] = (),
        channel_limits: ChannelLimits | None = None,
    ):
        self.limits = limits
        self.channel_limits = channel_limits or ChannelLimits()
        self.isolate = isolate
        self.hidden = tuple(Path(p).resolve() for p in hidden)
        self.bwrap = shutil.which("bwrap")
        if isolate and self.bwrap is None:
            raise SandboxUnavailable(NO_BWRAP)
        try:
            self._seccomp = filter_program() if isolate else b""
        except SeccompUnavailable as error:
            raise SandboxUnavailable(str(error)) from None
        self.root = Path(tempfile.mkdtemp(prefix="autograder-harness-"))
        self._copy_harness()
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._uids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for uid in range(FIRST_UID, FIRST_UID + 256):
            self._uids.put(uid)
        self.watchdog = MemoryWatchdog()
        if isolate:
            try:
                self._check_bwrap()
            except BaseException:
                self.close()
                raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.watchdog.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_all(self) -> None:
        """Kill every running submission and start no more (used when grading is interrupted)."""
        with self._lock:
            self._stopping = True
            for process in self._running:
                self._kill(process)

    def _copy_harness(self) -> None:
        package = self.root / "autograder"
        package.mkdir()
        (package / "__init__.py").write_text(STUB_PACKAGE)
        for name in HARNESS_FILES:
            source = PACKAGE / name
            if source.is_dir():
                shutil.copytree(
                    source, package / name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copyfile(source, package / name)
        # bytecode compiled once here, so no run recompiles the harness (the copy is read-only)
        compileall.compile_dir(package, quiet=1)
        for path in [self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _worker_command(self) -> list[str]:
        base = "/grader" if self.isolate else str(self.root)
        return [sys.executable, "-I", f"{base}/autograder/worker.py"]

    def _environment(self, home: str) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "USER": "student",
            "LOGNAME": "student",
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.matplotlib",
            "IPYTHONDIR": f"{home}/.ipython",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }

    def _bwrap_command(self, seccomp_fd: int) -> list[str]:
        command = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-ipc"]
        command += ["--seccomp", str(seccomp_fd)]
        command += ["--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if os.getuid() != 0:
            command.append("--unshare-user")
        mounted = [Path("/usr"), Path("/etc")]
        command += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            path = Path(name)
            if path.is_symlink():
                command += ["--symlink", os.readlink(path), name]
            elif path.is_dir():
                command += ["--ro-bind", name, name]
                mounted.append(path)
        command += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]  # no tmpfs there
        # The private /tmp comes before the Python installation, which may itself be under /tmp.
        command += ["--perms", "1777", "--size", str(self.limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        for root in python_roots():
            if not any(root.is_relative_to(m) for m in mounted):
                for parent in reversed(root.parents[:-1]):  # readable after dropping root
                    if parent != Path("/tmp"):
                        command += ["--perms", "0755", "--dir", str(parent)]
                command += ["--ro-bind", str(root), str(root)]
                mounted.append(root)
        command += ["--ro-bind", str(self.root), "/grader"]
        for path in self.hidden:
            if any(path.is_relative_to(m) for m in mounted):
                command += ["--tmpfs", str(path), "--remount-ro", str(path)]
        command += ["--chdir", "/tmp", "--clearenv"]
        for key, value in self._environment("/tmp").items():
            command += ["--setenv", key, value]
        return command + ["--"]

    def _seccomp_fd(self) -> int:
        """A pipe's read end holding the seccomp program, for ``bwrap --seccomp`` to read."""
        rules, writer = os.pipe()
        os.write(writer, self._seccomp)
        os.close(writer)
        return rules

    def _check_bwrap(self) -> None:
        rules = self._seccomp_fd()
        try:
            done = subprocess.run(
                [*self._bwrap_command(rules), sys.executable, "-I", "-c", "import numpy"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                pass_fds=(rules,),
            )
        finally:
            os.close(rules)
        if done.returncode != 0:
            raise SandboxUnavailable(
                "bubblewrap is installed but could not start a sandbox here "
                f"(exit status {done.returncode}: {(done.stderr or done.stdout).strip()[:500]}). "
                "It needs user or mount namespaces: run the grader as root, or allow "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on "
                "Ubuntu 24.04 the AppArmor profile for bwrap). Or pass --no-sandbox, with the "
                "risks it brings."
            )

    def execute(
        self,
        cells: list[tuple[int, str]],
        requests: list[Request],
        labels: dict[int, str] | None = None,
    ) -> RunReport:
        """Run ``cells`` (numbered notebook cells) then every request; restart after a crash.

        ``labels`` names cells in the problems reported (default: ``cell <number>``).
        """
        labels = labels or {}
        report = RunReport()
        skipped_cells: set[int] = set()
        lost: dict[int, str] = {}
        deaths: Counter[str] = Counter()
        reason = "the notebook's process ended before this case ran"
        deadline = time.monotonic() + self.limits.total_seconds
        for _ in range(MAX_RUNS):
            seconds = min(self.limits.run_seconds, deadline - time.monotonic())
            if seconds <= 0:
                report.problems.append("gave up restarting: the runs took too long in all")
                break
            remaining = [c for c in cells if c[0] not in skipped_cells]
            answered = set(report.outcomes) | set(lost)
            attempt = self._run_once(remaining, requests, answered, seconds)
            channel = attempt.channel
            if attempt.peak.total > report.peak_memory.total:
                report.peak_memory = attempt.peak
            report.outcomes.update(channel.outcomes)
            report.cell_errors.update(channel.cell_errors)
            if channel.violation is not None:
                if self._tampered(channel, requests, report, lost, skipped_cells, labels):
                    continue
                reason = "the notebook's process wrote to the grader's channel out of turn"
                break
            if channel.done or len(report.outcomes) + len(lost) == len(requests):
                break
            reason = self._ending(attempt)
            if channel.current is None and not channel.any_event:
                report.grader_failure = f"the sandbox did not start: {reason}"
                if attempt.output.strip():
                    report.grader_failure += f"; it printed: {attempt.output.strip()[-500:]}"
                break
            kind, number = channel.current or (None, None)
            if kind == "request":
                request = requests[number]
                deaths[request.variable] += 1
                for later in range(number, len(requests)):
                    other = requests[later]
                    same = other.group == request.group or (
                        deaths[request.variable] > 1 and other.variable == request.variable
                    )
                    if same and later not in report.outcomes:
                        lost[later] = f"the notebook's process ended during this case: {reason}"
                report.problems.append(
                    f"calling `{request.variable}` ended the notebook's process ({reason}); "
                    "its group was marked failed and the rest was graded in a fresh process"
                )
            elif kind == "cell":
                skipped_cells.add(number)
                report.cell_errors[number] = f"ended the notebook's process: {reason}"
                report.problems.append(
                    f"{labels.get(number, f'cell {number}')} ended the notebook's process "
                    f"({reason}); the notebook was run again without it"
                )
            else:
                report.problems.append(f"the notebook's process ended: {reason}")
        else:
            report.problems.append(f"gave up after {MAX_RUNS} runs that all ended early")
        for index in range(len(requests)):
            if index not in report.outcomes:
                message = lost.get(index, f"was never run: {reason}")
                report.outcomes[index] = {"status": "not_run", "message": message}
        return report

    @staticmethod
    def _tampered(channel, requests, report, lost, skipped_cells, labels) -> bool:
        """Record a channel violation; ``True`` when the run can go on without what it
        touched (it named a request), ``False`` when it affects every variable."""
        report.tampering.append(channel.violation)
        kind, number = channel.current or (None, None)
        touched = set()
        if channel.violation_request is not None:
            touched.add(requests[channel.violation_request].variable)
        if kind == "request":
            touched.add(requests[number].variable)
        if not touched:
            report.tampered_variables |= {request.variable for request in requests}
            return False
        report.tampered_variables |= touched
        for index, request in enumerate(requests):
            if request.variable in touched and index not in report.outcomes:
                lost[index] = "not run: the notebook's process wrote to the channel out of turn"
        if kind == "cell":
            skipped_cells.add(number)
            report.cell_errors[number] = "wrote to the grader's channel out of turn"
            where = labels.get(number, f"cell {number}")
            report.problems.append(f"{where} wrote to the grader's channel out of turn")
        return True

    def _ending(self, attempt: _Attempt) -> str:
        if attempt.killed_for_time:
            if attempt.seconds < self.limits.run_seconds:
                return (
                    f"its runs together took longer than {self.limits.total_seconds:g} s and "
                    "it was stopped"
                )
            return f"it ran longer than {self.limits.run_seconds:g} s in all and was stopped"
        if attempt.over_budget is not None:
            return (
                f"it held {attempt.over_budget.describe()}, more than its memory budget of "
                f"{self.limits.budget_mb} MB, and was stopped"
            )
        code = attempt.returncode
        number = -code if code is not None and code < 0 else (code or 0) - 128
        for sig, words in SIGNALS.items():
            if number == sig:
                limit = f" (memory limit {self.limits.memory_mb} MB?)" if sig == 9 else ""
                return f"it {words}{limit}"
        if number > 0:
            return f"it was ended by signal {number}"
        return f"it exited with status {code} (sys.exit, os._exit or a crash)"

    def _run_once(self, cells, requests: list[Request], skip: set[int], seconds: float) -> _Attempt:
        plan = wire.run_order([number for number, _ in cells], [r.position for r in requests], skip)
        attempt = _Attempt(Channel(plan, self.channel_limits), seconds=seconds)
        uid = self._uids.get()
        read_end, write_end = os.pipe()
        passed = [write_end]
        home = None
        try:
            if self.isolate:
                rules = self._seccomp_fd()
                passed.append(rules)
                command = self._bwrap_command(rules) + self._worker_command()
                env = None
                cwd = None
            else:
                home = tempfile.mkdtemp(prefix="autograder-student-")
                command, env, cwd = self._worker_command(), self._environment(home), home
            job = {
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
                "uid": uid if self.isolate else None,
                "channel_fd": write_end,
            }
            self._communicate(attempt, command, env, cwd, wire.dumps(job), read_end, passed)
            return attempt
        finally:
            os.close(read_end)
            self._uids.put(uid)
            if home:
                shutil.rmtree(home, ignore_errors=True)

    def _communicate(self, attempt: _Attempt, command, env, cwd, job: str, read_end, passed):
        try:
            with self._lock:
                if self._stopping:
                    attempt.returncode = -signal.SIGKILL
                    return
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
        finally:
            for descriptor in passed:
                os.close(descriptor)

        def over_budget(usage: Usage) -> None:
            attempt.over_budget = usage
            self._kill(process)

        budget = self.limits.budget_mb * 2**20
        tmp_size = self.limits.tmp_mb * 2**20 if self.isolate else 0
        self.watchdog.watch(process.pid, budget, over_budget, tmp_size=tmp_size)
        readers = [
            threading.Thread(target=self._drain, args=(process.stdout, attempt), daemon=True),
            threading.Thread(target=self._collect, args=(read_end, attempt, process), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            process.stdin.write(job.encode("utf-8"))
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            attempt.returncode = process.wait(timeout=attempt.seconds)
        except subprocess.TimeoutExpired:
            attempt.killed_for_time = True
            self._kill(process)
            attempt.returncode = process.wait()
        except BaseException:  # Ctrl-C in the grader: leave nothing running
            self._kill(process)
            raise
        finally:
            for reader in readers:
                reader.join(timeout=10)
            attempt.peak = self.watchdog.unwatch(process.pid)
            with self._lock:
                self._running.discard(process)

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _drain(self, stream, attempt: _Attempt) -> None:
        """Keep the first ``output_kb`` KiB the process writes to its stdout/stderr."""
        kept = bytearray()
        limit = self.limits.output_kb * 1024
        while chunk := stream.read1(65536):
            if len(kept) < limit:
                kept += chunk[: limit - len(kept)]
        attempt.output = kept.decode("utf-8", "replace")

    def _collect(self, read_end: int, attempt: _Attempt, process: subprocess.Popen) -> None:
        """Feed the channel to the attempt's :class:`Channel`; end the process at the first
        violation (and keep reading, without decoding, until the channel closes)."""
        ended = False
        while chunk := os.read(read_end, 1 << 20):
            if not attempt.channel.feed(chunk) and not ended:
                ended = True
                self._kill(process)
