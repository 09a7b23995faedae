"""Run a student's notebook code in a limited, isolated process and bring back plain outcomes.

This is the trusted half of grading one submission. :class:`Sandbox` copies the harness code (and
nothing else of the repository) to a private folder, starts :mod:`autograder.worker` under
bubblewrap with resource limits, feeds it the student's cells and the harness requests, and reads
the events it writes back through :mod:`autograder.wire`. Every outcome is checked and reduced to
the fields the verdicts read (:func:`sanitize`); nothing the student's process produced is ever
unpickled or executed here.

Isolation under bubblewrap: new PID, network, IPC and UTS namespaces (so no network and no view
of other processes); a read-only view of the system and the Python installation only, with the
repository and the course root hidden; a private, size-limited ``/tmp`` as working directory; a
cleared environment. Limits inside: address space (``--memory``), CPU seconds, number of
processes, open files, file size, no core dumps; a root grader drops to an unprivileged user id
per concurrent run so the process limit applies. Each cell is interrupted after ``timeout``
seconds and the whole run is killed after :attr:`Limits.run_seconds`.

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
from autograder.spec import Outcome

PACKAGE = Path(__file__).resolve().parent
HARNESS_FILES = ("harness.py", "spec.py", "wire.py", "worker.py", "drivers")
MAX_RUNS = 12
MAX_MESSAGE_BYTES = 64 * 2**20
MAX_CHANNEL_BYTES = 512 * 2**20
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
STATUSES = ("returned", "raised", "overflow", "timeout", "bad_return", "not_run")
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
    the error it raised (``None`` when it ran cleanly)."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cell_errors: dict[int, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    grader_failure: str | None = None


@dataclass
class _Attempt:
    events: list[dict] = field(default_factory=list)
    returncode: int | None = None
    killed_for_time: bool = False
    output: str = ""
    malformed: int = 0


def sanitize(raw: Any) -> Outcome:
    """The outcome the verdicts may read, built field by field from what the sandbox sent.

    Anything malformed becomes a ``not_run`` outcome saying so; the common fields get their
    expected types (strings cut to 2000 characters); ``value`` and any field a driver added are
    kept as decoded plain data, which the verdicts check for shape and type.
    """
    if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
        return {"status": "not_run", "message": "the notebook's process sent a malformed result"}

    def text(key: str) -> str:
        value = raw.get(key, "")
        return value[:2000] if isinstance(value, str) else ""

    outcome: Outcome = dict(raw)  # drivers add their own fields; all of it is decoded plain data
    outcome.update(message=text("message"), where=text("where"), type=text("type"))
    outcome.update(exc_type=text("exc_type") or "Exception", stdout=text("stdout"))
    outcome["mutated"] = raw.get("mutated") is True
    warnings = raw.get("warnings")
    warnings = warnings if isinstance(warnings, list) else []
    outcome["warnings"] = [w[:200] for w in warnings[:20] if isinstance(w, str)]
    seconds = raw.get("seconds")
    outcome["seconds"] = float(seconds) if type(seconds) in (int, float) else 0.0
    return outcome


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

    def __init__(self, limits: Limits, *, isolate: bool = True, hidden: tuple[Path, ...] = ()):
        self.limits = limits
        self.isolate = isolate
        self.hidden = tuple(Path(p).resolve() for p in hidden)
        self.bwrap = shutil.which("bwrap")
        if isolate and self.bwrap is None:
            raise SandboxUnavailable(NO_BWRAP)
        self.root = Path(tempfile.mkdtemp(prefix="autograder-harness-"))
        self._copy_harness()
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._uids: queue.SimpleQueue[int] = queue.SimpleQueue()
        for uid in range(FIRST_UID, FIRST_UID + 256):
            self._uids.put(uid)
        if isolate:
            self._check_bwrap()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
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

    def _bwrap_command(self) -> list[str]:
        command = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-ipc"]
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
        command += ["--proc", "/proc", "--dev", "/dev"]
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
                command += ["--tmpfs", str(path)]
        command += ["--chdir", "/tmp", "--clearenv"]
        for key, value in self._environment("/tmp").items():
            command += ["--setenv", key, value]
        return command + ["--"]

    def _check_bwrap(self) -> None:
        done = subprocess.run(
            [*self._bwrap_command(), sys.executable, "-I", "-c", "import numpy"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise SandboxUnavailable(
                "bubblewrap is installed but could not start a sandbox here "
                f"(exit status {done.returncode}: {(done.stderr or done.stdout).strip()[:500]}). "
                "It needs user or mount namespaces: run the grader as root, or allow "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on "
                "Ubuntu 24.04 the AppArmor profile for bwrap). Or pass --no-sandbox, with the "
                "risks it brings."
            )

    def execute(self, cells: list[tuple[int, str]], requests: list[Request]) -> RunReport:
        """Run ``cells`` (numbered notebook cells) then every request; restart after a crash."""
        report = RunReport()
        skipped_cells: set[int] = set()
        lost: dict[int, str] = {}
        deaths: Counter[str] = Counter()
        reason = "the notebook's process ended before this case ran"
        deadline = time.monotonic() + 4 * self.limits.run_seconds
        for _ in range(MAX_RUNS):
            if time.monotonic() > deadline:
                report.problems.append("gave up restarting: the runs took too long in all")
                break
            remaining = [c for c in cells if c[0] not in skipped_cells]
            attempt = self._run_once(remaining, requests, set(report.outcomes) | set(lost))
            state = self._read_events(attempt, report, len(requests))
            if state["done"] or len(report.outcomes) + len(lost) == len(requests):
                break
            reason = self._ending(attempt)
            if state["cell"] is None and state["request"] is None and not state["any"]:
                report.grader_failure = f"the sandbox did not start: {reason}"
                if attempt.output.strip():
                    report.grader_failure += f"; it printed: {attempt.output.strip()[-500:]}"
                break
            if state["request"] is not None:
                request = requests[state["request"]]
                deaths[request.variable] += 1
                for later in range(state["request"], len(requests)):
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
            elif state["cell"] is not None:
                number = state["cell"]
                skipped_cells.add(number)
                report.cell_errors[number] = f"ended the notebook's process: {reason}"
                report.problems.append(
                    f"cell {number} ended the notebook's process ({reason}); "
                    "the notebook was run again without it"
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

    def _read_events(self, attempt: _Attempt, report: RunReport, n_requests: int) -> dict:
        """Fold an attempt's events into ``report``; return where the process was when it ended.

        Events are untrusted: request indices outside ``range(n_requests)`` are ignored.
        """
        state: dict[str, Any] = {"done": False, "cell": None, "request": None, "any": False}
        for event in attempt.events:
            state["any"] = True
            kind = event.get("event")
            number = event.get("cell")
            index = event.get("request")
            if index is not None and not (type(index) is int and 0 <= index < n_requests):
                continue
            if kind == "cell" and type(number) is int:
                state["cell"], state["request"] = number, None
            elif kind == "cell_done" and type(number) is int:
                error = event.get("error")
                report.cell_errors[number] = error[:500] if isinstance(error, str) else None
                state["cell"] = None
            elif kind == "call" and type(index) is int:
                state["cell"], state["request"] = None, index
            elif kind == "outcome" and type(index) is int and index not in report.outcomes:
                report.outcomes[index] = sanitize(event.get("outcome"))
                state["request"] = None
            elif kind == "unsendable" and type(index) is int and index not in report.outcomes:
                report.outcomes[index] = {
                    "status": "bad_return",
                    "type": "an object that is not plain data",
                    "message": "",
                }
                state["request"] = None
            elif kind == "done":
                state["done"] = True
        if attempt.malformed:
            report.problems.append(
                f"{attempt.malformed} message(s) from the notebook's process were not valid "
                "and were ignored"
            )
        return state

    def _ending(self, attempt: _Attempt) -> str:
        if attempt.killed_for_time:
            return f"it ran longer than {self.limits.run_seconds:g} s in all and was stopped"
        code = attempt.returncode
        number = -code if code is not None and code < 0 else (code or 0) - 128
        for sig, words in SIGNALS.items():
            if number == sig:
                limit = f" (memory limit {self.limits.memory_mb} MB?)" if sig == 9 else ""
                return f"it {words}{limit}"
        if number > 0:
            return f"it was ended by signal {number}"
        return f"it exited with status {code} (sys.exit, os._exit or a crash)"

    def _run_once(self, cells, requests: list[Request], skip: set[int]) -> _Attempt:
        uid = self._uids.get()
        read_end, write_end = os.pipe()
        home = None
        try:
            if self.isolate:
                command = self._bwrap_command() + self._worker_command()
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
            return self._communicate(command, env, cwd, wire.dumps(job), read_end, write_end)
        finally:
            os.close(read_end)
            self._uids.put(uid)
            if home:
                shutil.rmtree(home, ignore_errors=True)

    def _communicate(self, command, env, cwd, job: str, read_end: int, write_end: int) -> _Attempt:
        attempt = _Attempt()
        try:
            with self._lock:
                if self._stopping:
                    attempt.returncode = -signal.SIGKILL
                    return attempt
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_end,),
                    start_new_session=True,
                    env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                    cwd=cwd,
                )
                self._running.add(process)
        finally:
            os.close(write_end)
        readers = [
            threading.Thread(target=self._drain, args=(process.stdout, attempt), daemon=True),
            threading.Thread(target=self._collect, args=(read_end, attempt), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            process.stdin.write(job.encode("utf-8"))
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            attempt.returncode = process.wait(timeout=self.limits.run_seconds)
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
            with self._lock:
                self._running.discard(process)
        return attempt

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

    def _collect(self, read_end: int, attempt: _Attempt) -> None:
        """Read the channel's lines into events; drop oversized or invalid ones."""
        pending = bytearray()
        total = 0
        oversized = False
        while chunk := os.read(read_end, 1 << 20):
            total += len(chunk)
            if total > MAX_CHANNEL_BYTES:
                continue
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                if oversized:
                    attempt.malformed += 1
                    oversized = False
                else:
                    pending += chunk[start:end]
                    self._parse(bytes(pending), attempt)
                pending.clear()
                start = end + 1
            if not oversized:
                pending += chunk[start:]
                if len(pending) > MAX_MESSAGE_BYTES:
                    pending.clear()
                    oversized = True

    @staticmethod
    def _parse(line: bytes, attempt: _Attempt) -> None:
        try:
            event = wire.loads(line)
        except (wire.WireError, UnicodeDecodeError):
            attempt.malformed += 1
            return
        if isinstance(event, dict):
            attempt.events.append(event)
        else:
            attempt.malformed += 1
