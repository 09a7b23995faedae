"""A fork server inside the grading sandbox: one pre-imported interpreter, a fresh child per run.

Started by :mod:`autograder.grader.sandbox.forkserver` as ``python -I zygote.py`` inside a
bubblewrap sandbox (the same read-only view of the system as a worker's, with the host's
``/proc`` bound instead of a masked one, and no seccomp filter, so that it may create
namespaces). It never runs student code. It reads its configuration, a JSON object, from
standard input::

    {"socket_fd": int, "uid": int or null, "limits": {...}, "tmp_bytes": int,
     "under_tmp": [folder, ...], "seccomp": hex string, "preload": [module, ...]}

drops to ``uid`` (when started as root), imports the ``preload`` modules once, makes itself
non-dumpable (nothing can read its memory through ``/proc``), says ``U`` on the socket and then
serves one request at a time: a message ``F`` + a channel number (a native ``int``) carrying
three file descriptors (the run's standard input, its standard output and its channel, which the
worker finds at that number) makes it fork the run's outer process (:func:`start_child`), which
sets up everything a fresh sandbox has before any byte of the student's job is read:

1. new user, mount, PID, network, IPC, UTS and cgroup namespaces; the outer process forks the
   run's PID 1 (:func:`run_init`), and when PID 1 ends the kernel kills everything left in its
   PID namespace;
2. PID 1 makes the mounts private, mounts a fresh size-limited tmpfs on ``/tmp`` (the working
   directory; the Python installation's folders under ``/tmp``, if any, bound into it read-only
   again, as bubblewrap does) and a fresh ``proc`` on ``/proc`` that shows only the run's own
   processes;
3. it enters another user and mount namespace, so those mounts are locked (``MNT_LOCKED``: they
   cannot be unmounted to uncover what is beneath);
4. it starts a session of its own (a process group that ``killpg(0)`` could reach is the
   fork server's otherwise, across the PID namespace); closes every descriptor but the run's
   three; sets the resource limits; drops every
   capability; sets ``PR_SET_NO_NEW_PRIVS`` and loads the grader's seccomp program
   (:mod:`autograder.grader.sandbox.seccomp`);
5. it forks the worker (PID 2 in a session of its own, as under bubblewrap's init) and from
   then on only reaps processes; the worker takes fresh seeds for Python's ``random``, NumPy's
   global generator, PyTorch's default generator and ``multiprocessing``'s key (a forked image
   would otherwise repeat its parent's) and runs :func:`autograder.harness.worker.main`, exactly
   as a freshly started worker would.

Messages to the grader are sent on a ``SOCK_SEQPACKET`` socket whose grader end has
``SO_PASSCRED``, so the kernel attaches each sender's process id translated into the grader's PID
namespace: ``A`` (the run's outer process, the root of its process tree), ``R`` (the run's PID 1,
ready: set-up done, the socket closed next), ``X`` + the outer process's exit code (sent by the
fork server when the run is over, every process of it gone), ``E`` + text (the fork server could
not start).
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib
import json
import os
import random
import signal
import socket
import struct
import sys
import traceback
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP = 0x04000000, 0x08000000, 0x02000000
NAMESPACES = (
    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP
)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 4, 22, 24
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
CAP_LAST = 63
SETUP_FAILED = 125  # the child's exit code when its set-up failed (it printed why)
BASE_MODULES = ("numpy", "IPython.core.interactiveshell", "traitlets.config")
HARNESS_MODULES = (
    "autograder.harness.wire",
    "autograder.harness.calls",
    "autograder.harness.worker",
)

libc = ctypes.CDLL(None, use_errno=True)


class SetupError(OSError):
    """A system call of the child's set-up failed."""


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise SetupError(number, f"{what}: {os.strerror(number)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


def new_user_namespace(flags: int, uid: int, gid: int) -> None:
    """``unshare(CLONE_NEWUSER | flags)`` and map ``uid``/``gid`` to themselves (only them)."""
    _check(libc.unshare(CLONE_NEWUSER | flags), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def mount_private(tmp_bytes: int, under_tmp: list[str]) -> None:
    """Private mounts, a fresh tmpfs of ``tmp_bytes`` on ``/tmp`` (with the folders
    ``under_tmp``, e.g. a Python installed under ``/tmp``, bound read-only into it again) and a
    fresh ``/proc``."""
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in under_tmp]
    options = f"size={tmp_bytes},mode=1777".encode()
    _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options), "mount /tmp")
    for path, descriptor in kept:
        os.makedirs(path, mode=0o755)
        source, target = f"/proc/self/fd/{descriptor}".encode(), path.encode()
        _check(libc.mount(source, target, None, MS_BIND | MS_REC, None), f"bind {path}")
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
        _check(libc.mount(None, target, None, flags, None), f"read-only {path}")
        os.close(descriptor)
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    _check(libc.mount(b"proc", b"/proc", b"proc", flags, None), "mount /proc")
    os.chdir("/tmp")


def keep_descriptors(keep: dict[int, int], carry: int) -> int:
    """Make descriptor ``target`` a copy of ``source`` for each item of ``keep`` (``target`` and
    ``source`` may coincide), keep a copy of ``carry`` at a number above every target (returned:
    ``carry``'s own number may be a target) and close every other descriptor."""
    above = max(*keep, *keep.values(), carry) + 1  # copies above every number involved
    copies = {target: fcntl.fcntl(source, fcntl.F_DUPFD, above) for target, source in keep.items()}
    carried = fcntl.fcntl(carry, fcntl.F_DUPFD, above)
    for target, copy in copies.items():
        os.dup2(copy, target, inheritable=target < 3)
    for descriptor in map(int, os.listdir("/proc/self/fd")):
        if descriptor not in keep and descriptor != carried:
            try:
                os.close(descriptor)
            except OSError:  # the listing's own descriptor, closed already
                pass
    return carried


def drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable capability sets (ambient ones
    go with the permitted set)."""
    for capability in range(CAP_LAST + 1):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and capability < 41:
            _check(-1, f"dropping capability {capability}")
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = ctypes.create_string_buffer(24)  # two all-zero {effective, permitted, inheritable}
    _check(libc.capset(ctypes.c_char_p(header), data), "capset")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_seccomp(program: bytes) -> None:
    """Install the BPF ``program`` (``struct sock_filter`` array) as this process's filter."""
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def reseed() -> None:
    """Fresh, independent seeds for every random generator the image may have imported, and a
    fresh ``multiprocessing`` authentication key."""
    random.seed(os.urandom(32))
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # from the operating system's entropy
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        multiprocessing.current_process().authkey = os.urandom(32)


def set_limits(limits: dict) -> None:
    from autograder.harness.worker import apply_limits

    apply_limits(limits, None)


def exit_code(status: int) -> int:
    """A wait status as an exit code, ``128 + n`` for signal ``n`` (as bubblewrap reports)."""
    return (
        128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
    )


def start_child(config: dict, control: socket.socket, fds: list[int], channel: int) -> None:
    """The run's outer process: new namespaces, then it forks the run's PID 1
    (:func:`run_init`) and exits with its exit code."""
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # to write its own uid_map
    uid, gid = os.getuid(), os.getgid()
    new_user_namespace(NAMESPACES, uid, gid)
    control.send(b"A")
    pid = os.fork()
    if pid == 0:
        try:
            run_init(config, control, fds, channel, uid, gid)
        finally:
            os._exit(SETUP_FAILED)
    control.close()
    for descriptor in fds:
        os.close(descriptor)
    os._exit(exit_code(os.waitpid(pid, 0)[1]))


def run_init(
    config: dict, control: socket.socket, fds: list[int], channel: int, uid: int, gid: int
) -> None:
    """PID 1 of the run: finish the isolation (it holds no more privilege than the worker),
    then fork the worker, whose standard input is ``fds[0]``, standard output and error
    ``fds[1]`` and channel ``fds[2]`` moved to number ``channel``. Like bubblewrap's init, it
    reaps orphans and exits with the worker's exit code when the worker ends, which ends every
    other process of the run."""
    output = fds[1]
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()  # out of the fork server's process group, which killpg(0) would reach
        if len(os.listdir("/proc/self/task")) != 1:
            raise SetupError(0, "the child has more than one thread")
        mount_private(config["tmp_bytes"], config["under_tmp"])
        new_user_namespace(CLONE_NEWNS, uid, gid)  # locks the mounts above
        targets = {0: fds[0], 1: fds[1], 2: fds[1], channel: fds[2]}
        control = socket.socket(fileno=keep_descriptors(targets, control.detach()))
        output = 1
        set_limits(config["limits"])
        drop_capabilities()
        load_seccomp(bytes.fromhex(config["seccomp"]))
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # PID 1: the worker cannot signal it
        control.send(b"R")
        control.close()
        worker = os.fork()
    except BaseException as error:
        os.write(output, f"the sandbox's set-up failed: {error}\n".encode())
        os._exit(SETUP_FAILED)
    if worker == 0:
        run_worker()
    for descriptor in (0, 1, 2, channel):
        os.close(descriptor)  # distinct and open: keep_descriptors made them so
    while True:
        pid, status = os.wait()
        if pid == worker:
            os._exit(exit_code(status))


def run_worker() -> None:
    """The run's worker (PID 2): fresh random seeds, then :func:`autograder.harness.worker.main`."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()  # a session of its own, as bubblewrap's --new-session gives a worker
        reseed()
        from autograder.harness import worker

        worker.main()
    except SystemExit as exit:  # as the interpreter would exit
        code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    except BaseException:
        traceback.print_exc()
    os._exit(code)


def serve(config: dict, control: socket.socket) -> None:
    """Fork one child per ``F`` request, one at a time; report each child's exit code."""
    while True:
        message, descriptors, _, _ = socket.recv_fds(control, 16, 3)
        if len(message) != 5 or message[:1] != b"F" or len(descriptors) != 3:
            return
        (channel,) = struct.unpack("i", message[1:])
        tasks = len(os.listdir("/proc/self/task"))
        pid = os.fork() if tasks == 1 else -1
        if pid == 0:
            try:
                start_child(config, control, descriptors, channel)
            except BaseException as error:
                os.write(descriptors[1], f"the sandbox's set-up failed: {error}\n".encode())
            os._exit(SETUP_FAILED)
        for descriptor in descriptors:
            os.close(descriptor)
        if pid < 0:
            control.send(f"Ethe fork server has {tasks} threads, it must have one".encode())
            return
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        control.send(b"X" + struct.pack("i", code))


def preload(modules: list[str]) -> None:
    """Import the harness, what the worker needs and ``modules`` (skipping any not installed:
    a student's import of it then fails as it would in a fresh worker). No imported module may
    keep a file descriptor open (:func:`main` checks): a child closes them all, and a library
    writing to a number that became the child's channel would look like tampering."""
    for name in (*BASE_MODULES, *HARNESS_MODULES, *modules):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder holding autograder/
    config = json.loads(sys.stdin.buffer.read())
    control = socket.socket(fileno=config["socket_fd"])
    try:
        if os.getuid() == 0 and config["uid"] is not None:
            os.setgroups([])
            os.setgid(config["uid"])
            os.setuid(config["uid"])
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        preload(config["preload"])
        held = set(map(int, os.listdir("/proc/self/fd"))) - {0, 1, 2, control.fileno()}
        if len(held) > 1:  # one is the listing's own
            raise SetupError(0, f"an imported module holds file descriptors {sorted(held)}")
    except BaseException as error:
        control.send(f"Ethe fork server did not start: {type(error).__name__}: {error}".encode())
        raise
    control.send(b"U")
    serve(config, control)


if __name__ == "__main__":
    main()
