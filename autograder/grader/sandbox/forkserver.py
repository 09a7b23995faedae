"""The grader's side of the fork servers: one pre-imported sandbox per job slot, a child per run.

Starting a sandboxed Python and importing NumPy, IPython and PyTorch costs each run more CPU
than most notebooks' own code. :class:`ForkServers` therefore keeps, per concurrent run, one
long-lived bubblewrap sandbox running :mod:`autograder.harness.zygote`, which imported all that
once and forks one child per run; the child creates its own user, mount, PID, network, IPC, UTS
and cgroup namespaces, a fresh ``/tmp`` and ``/proc``, takes the limits and the seccomp filter,
and only then reads the student's job (see :mod:`autograder.harness.zygote` for the order).
Everything else is :class:`autograder.grader.sandbox.Sandbox`'s: the job, the channel,
restarts, limits, the memory watchdog and the reports.

A fork server serves one run at a time and is replaced when anything about it looks wrong: it
died, it answered out of protocol, or a child's set-up failed. Its own user id (from the
sandbox's pool, when the grader runs as root) is the user id of every child it forks, which never
run at the same time: a child's PID namespace, and so every process a notebook started, is gone
before the fork server reports the run's end.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import threading
from concurrent.futures import Executor, ThreadPoolExecutor

from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.processes import Attempt, follow
from autograder.grader.sandbox.watchdog import MemoryWatchdog, Usage

START_SECONDS = 120  # for a fork server to import its modules, on a loaded machine
READY_SECONDS = 60  # for a child to set itself up
CLOSE_SECONDS = 5  # for a fork server to exit once its socket is closed
CREDENTIALS = struct.Struct("iII")  # struct ucred: pid, uid, gid


class ForkServerError(RuntimeError):
    """A fork server died or broke its protocol; the message says what it printed."""


class Child:
    """One run forked by a :class:`ForkServer`: ``root`` is its outer process (the root of its
    process tree, in the grader's PID namespace), ``pid`` its PID 1."""

    def __init__(self, server: ForkServer, root: int, pid: int):
        self.server = server
        self.root = root
        self.pid = pid
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it has ended already
            self._pidfd = None
        self.returncode: int | None = None

    def kill(self) -> None:
        """End the run: its PID 1 and so every process in its PID namespace."""
        if self._pidfd is not None and self.returncode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int:
        """The run's exit code (``128 + n`` when signal ``n`` ended it), once every process of
        it has ended. Raises ``TimeoutError`` after ``timeout`` seconds."""
        if self.returncode is None:
            message, _ = self.server.receive(timeout)
            if message[:1] != b"X" or len(message) != 5:
                raise self.server.broken(f"sent {message[:40]!r} instead of the run's end")
            (self.returncode,) = struct.unpack("i", message[1:])
            if self._pidfd is not None:
                os.close(self._pidfd)
        return self.returncode


class ForkServer:
    """One sandbox running :mod:`autograder.harness.zygote`; :meth:`fork` starts a run."""

    def __init__(self, command: list[str], config: dict, env: dict[str, str], launcher: Executor):
        """Start ``command`` from ``launcher``'s thread, which must outlive the fork server
        (bubblewrap's ``--die-with-parent`` follows the thread that started it), and wait until
        it has imported its modules; ``config`` as :mod:`autograder.harness.zygote` reads it."""
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        config = {**config, "socket_fd": theirs.fileno()}
        self.output = b""
        self.uid = config["uid"]
        start = functools.partial(
            subprocess.Popen,
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            env=env,
        )
        try:
            self.process = launcher.submit(start).result()
        finally:
            theirs.close()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        try:
            self.process.stdin.write(json.dumps(config).encode())
            self.process.stdin.close()
            message, _ = self.receive(START_SECONDS)
        except (OSError, TimeoutError, ForkServerError) as error:
            self.close()
            raise ForkServerError(f"the fork server did not start: {error}{self._said()}") from None
        if message != b"U":
            self.close()
            text = message[1:].decode("utf-8", "replace") if message[:1] == b"E" else message
            raise ForkServerError(f"the fork server did not start: {text}{self._said()}")

    def _drain(self) -> None:
        while chunk := self.process.stdout.read1(65536):
            self.output = (self.output + chunk)[-4000:]

    def _said(self) -> str:
        self._reader.join(timeout=1)
        text = self.output.decode("utf-8", "replace").strip()
        return f"; it printed: {text[-1000:]}" if text else ""

    def broken(self, what: str) -> ForkServerError:
        self.close()
        return ForkServerError(f"the fork server {what}{self._said()}")

    def receive(self, timeout: float | None) -> tuple[bytes, int]:
        """The next message and the process id of its sender (in this PID namespace)."""
        self._socket.settimeout(timeout)
        try:
            message, ancillary, _, _ = self._socket.recvmsg(256, socket.CMSG_SPACE(12))
        except TimeoutError:
            raise
        except OSError as error:
            raise self.broken(f"could not be read ({error})") from None
        if not message:
            raise self.broken("ended")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                return message, CREDENTIALS.unpack(data[: CREDENTIALS.size])[0]
        raise self.broken("sent a message without credentials")

    def fork(self, stdin: int, output: int, channel: int, channel_number: int) -> Child | int:
        """Start a run reading its job from ``stdin``, writing to ``output`` and to ``channel``
        (which it finds as descriptor ``channel_number``). Returns the :class:`Child`, or the
        exit code of a child whose set-up failed (it wrote why to ``output``)."""
        request = [b"F" + struct.pack("i", channel_number)]
        try:
            socket.send_fds(self._socket, request, [stdin, output, channel])
        except OSError as error:
            raise self.broken(f"could not be written to ({error})") from None
        message, root = self.receive(READY_SECONDS)
        if message == b"A":
            message, pid = self.receive(READY_SECONDS)
            if message == b"R":
                return Child(self, root, pid)
        if message[:1] == b"X" and len(message) == 5:
            code = struct.unpack("i", message[1:])[0]
            self.close()  # a set-up that failed once will fail again: start afresh
            return code
        raise self.broken(f"sent {message[:40]!r} while starting a run")

    @property
    def alive(self) -> bool:
        return self._socket.fileno() >= 0 and self.process.poll() is None

    def close(self) -> None:
        """End the fork server and everything it started (again: nothing). Closing its socket
        lets it exit by itself; it is killed if it has not within a few seconds."""
        self._socket.close()
        try:
            self.process.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


class ForkServers:
    """The process plumbing of a sandbox whose runs are children of fork servers: the
    counterpart of :class:`~autograder.grader.sandbox.processes.Processes`, with the same
    :meth:`run`, :meth:`stop_all` and :meth:`close`.

    ``command`` is a fork server's whole command line (bubblewrap, then ``python -I
    .../zygote.py``), ``config`` its configuration less ``uid``, which each fork server takes
    from ``uids`` (as root; one per concurrent run, held while the fork server lives).
    """

    def __init__(
        self, limits: Limits, command: list[str], config: dict, uids: queue.SimpleQueue[int]
    ):
        self.limits = limits
        self.command = command
        self.config = config
        self.uids = uids
        self.watchdog = MemoryWatchdog()
        self._idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._servers: set[ForkServer] = set()
        self._children: set[Child] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="fork-server-launcher")

    def start(self) -> None:
        """Start one fork server now (it is kept for the first run); :class:`ForkServerError`
        saying what it printed when it cannot start."""
        self._idle.put(self._start_server())

    def _start_server(self) -> ForkServer:
        uid = self.uids.get() if os.getuid() == 0 else None
        try:
            server = ForkServer(
                self.command, {**self.config, "uid": uid}, {"PATH": "/usr/bin:/bin"}, self._launcher
            )
        except BaseException:
            if uid is not None:
                self.uids.put(uid)
            raise
        with self._lock:
            self._servers.add(server)
        return server

    def _retire(self, server: ForkServer) -> None:
        server.close()
        with self._lock:
            self._servers.discard(server)
        if server.uid is not None:
            self.uids.put(server.uid)

    def _server(self) -> ForkServer:
        """An idle, live fork server (a new one when none is idle)."""
        while True:
            try:
                server = self._idle.get_nowait()
            except queue.Empty:
                return self._start_server()
            if server.alive:
                return server
            self._retire(server)

    def close(self) -> None:
        with self._lock:
            servers = list(self._servers)
        for server in servers:
            self._retire(server)
        self._launcher.shutdown()
        self.watchdog.close()

    def stop_all(self) -> None:
        """Kill every running submission and start no more (used when grading is interrupted)."""
        with self._lock:
            self._stopping = True
            children = list(self._children)
        for child in children:
            child.kill()

    def run(self, attempt: Attempt, command, env, cwd, job: str, read_end, passed) -> None:
        """Run ``job`` in a child of a fork server, as :meth:`Processes.run` runs it in a new
        process (``command``, ``env`` and ``cwd`` are not used; ``passed`` holds the channel's
        write end, handed to the child and closed here).

        A run that could not start is an attempt that ended before any event (the report says
        the sandbox did not start, and why); a fork server that breaks during a run raises
        :class:`ForkServerError`, so the grader's error, not the student's cell, is reported.
        """
        job_read, job_write = os.pipe()
        out_read, out_write = os.pipe()
        try:
            started = self._fork(attempt, job_read, out_write, passed[0])
        finally:
            for descriptor in (*passed, job_read, out_write):
                os.close(descriptor)
        with os.fdopen(job_write, "wb") as stdin, os.fdopen(out_read, "rb") as output:
            if started is None:
                if not attempt.output:
                    limit = self.limits.output_kb * 1024
                    attempt.output = output.read(limit).decode("utf-8", "replace")
                return
            server, child = started
            try:
                self._follow(attempt, child, job, stdin, output, read_end)
            except BaseException:  # Ctrl-C, or the fork server broke: not the student's doing
                self._retire(server)
                raise
            else:
                self._idle.put(server)

    def _fork(
        self, attempt: Attempt, job: int, output: int, channel: int
    ) -> tuple[ForkServer, Child] | None:
        """A new run on an idle fork server; ``None`` (and ``attempt`` says why) if none
        started."""
        with self._lock:
            if self._stopping:
                attempt.returncode = -signal.SIGKILL
                return None
        for fresh in (False, True):  # an idle server may have died meanwhile: then a new one
            server = None
            try:
                server = self._start_server() if fresh else self._server()
                started = server.fork(job, output, channel, channel)
                break
            except ForkServerError as error:
                attempt.returncode = 1
                attempt.output = str(error)
                if server is not None:
                    self._retire(server)
        else:
            return None
        if isinstance(started, int):  # the child's set-up failed: it wrote why to output
            attempt.returncode = started
            self._retire(server)
            return None
        with self._lock:
            self._children.add(started)
            if self._stopping:
                started.kill()
        return server, started

    def _follow(self, attempt: Attempt, child: Child, job: str, stdin, output, read_end) -> None:
        """Feed the job, watch the run's memory and time, collect its output and channel."""

        def over_budget(usage: Usage) -> None:
            attempt.over_budget = usage
            child.kill()

        budget = self.limits.budget_mb * 2**20
        self.watchdog.watch(child.root, budget, over_budget, tmp_size=self.limits.tmp_mb * 2**20)
        try:
            follow(
                attempt,
                self.limits,
                job,
                streams=(stdin, output, read_end),
                wait=child.wait,
                kill=child.kill,
                timed_out=TimeoutError,
            )
        finally:
            attempt.peak = self.watchdog.unwatch(child.root)
            with self._lock:
                self._children.discard(child)
