"""The bubblewrap policy: what a sandboxed worker sees, and the seccomp filter it runs under.

Isolation under bubblewrap: new PID, network, IPC and UTS namespaces (so no network and no view
of other processes); a read-only view of the system and the Python installation only, with the
repository and the course root hidden; a private, size-limited ``/tmp`` as working directory; a
read-only ``/dev``; a cleared environment (:func:`environment`); the seccomp filter of
:mod:`autograder.grader.sandbox.seccomp` (no namespaces, memfd, shared memory, sockets, mounts,
ptrace, ...), which bwrap reads from a pipe (:func:`seccomp_pipe`). The harness copy is mounted
read-only at ``/grader``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.grader.sandbox.seccomp import SeccompUnavailable, filter_program

NO_BWRAP = (
    "bubblewrap (the `bwrap` command) is not installed, so student code cannot be isolated. "
    "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`) and run again, or pass "
    "--no-sandbox to run student code with only resource limits: it could then read the "
    "solutions, the hidden tests and the gradebook, write to your files and use the network."
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be used on this machine; the message says why and what to do."""


def isolation_tools() -> tuple[str, bytes]:
    """The ``bwrap`` executable and the compiled seccomp program; :class:`SandboxUnavailable`
    saying what to install when either is missing."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(NO_BWRAP)
    try:
        return bwrap, filter_program()
    except SeccompUnavailable as error:
        raise SandboxUnavailable(str(error)) from None


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


def environment(home: str) -> dict[str, str]:
    """The whole environment of a sandboxed worker whose home (and ``TMPDIR``) is ``home``:
    no variable of the grader's passes, one thread per numerical library."""
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


@dataclass(frozen=True)
class BwrapPolicy:
    """What one grader's sandboxes see: ``bwrap`` the executable, ``tmp_mb`` the size of the
    private ``/tmp``, ``harness_root`` the folder mounted at ``/grader``, ``hidden`` the folders
    (the repository, the course root) replaced by empty ones when they would be visible."""

    bwrap: str | None  # None: no isolation (the policy is not used)
    tmp_mb: int
    harness_root: Path
    hidden: tuple[Path, ...] = ()

    def command(self, seccomp_fd: int | None) -> list[str]:
        """The ``bwrap`` command line (up to and including ``--``) whose seccomp program bwrap
        reads from descriptor ``seccomp_fd`` (see :func:`seccomp_pipe`).

        ``None``: a fork server's sandbox (:mod:`autograder.harness.zygote`), which must create
        namespaces for its children, so it has no seccomp filter (each child loads it itself),
        and which binds the host's ``/proc`` instead of mounting a masked one, so that each
        child may mount a ``proc`` of its own (the kernel refuses that where an existing
        ``proc`` is partly covered, as bubblewrap covers ``/proc/sys``). Only trusted code runs
        there before each child covers ``/proc``.
        """
        command = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-ipc"]
        if seccomp_fd is not None:
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
        proc = ["--proc", "/proc"] if seccomp_fd is not None else ["--bind", "/proc", "/proc"]
        command += [*proc, "--dev", "/dev", "--remount-ro", "/dev"]  # no tmpfs there
        # The private /tmp comes before the Python installation, which may itself be under /tmp.
        command += ["--perms", "1777", "--size", str(self.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        for root in python_roots():
            if not any(root.is_relative_to(m) for m in mounted):
                for parent in reversed(root.parents[:-1]):  # readable after dropping root
                    if parent != Path("/tmp"):
                        command += ["--perms", "0755", "--dir", str(parent)]
                command += ["--ro-bind", str(root), str(root)]
                mounted.append(root)
        command += ["--ro-bind", str(self.harness_root), "/grader"]
        for path in self.hidden:
            if any(path.is_relative_to(m) for m in mounted):
                command += ["--tmpfs", str(path), "--remount-ro", str(path)]
        command += ["--chdir", "/tmp", "--clearenv"]
        for key, value in environment("/tmp").items():
            command += ["--setenv", key, value]
        return command + ["--"]


def seccomp_pipe(program: bytes) -> int:
    """A pipe's read end holding the seccomp program, for ``bwrap --seccomp`` to read."""
    rules, writer = os.pipe()
    os.write(writer, program)
    os.close(writer)
    return rules


def check_bwrap(policy: BwrapPolicy, program: bytes) -> None:
    """Start one sandbox that imports NumPy; :class:`SandboxUnavailable` saying what to change
    when bubblewrap cannot start one on this machine."""
    rules = seccomp_pipe(program)
    try:
        done = subprocess.run(
            [*policy.command(rules), sys.executable, "-I", "-c", "import numpy"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            pass_fds=(rules,),
        )
    finally:
        os.close(rules)
    if done.returncode != 0:
        detail = f"exit status {done.returncode}: {(done.stderr or done.stdout).strip()[:500]}"
        raise SandboxUnavailable(cannot_start(detail))


def cannot_start(detail: str) -> str:
    """What to do when bubblewrap is installed but a sandbox did not start (``detail``: why)."""
    return (
        f"bubblewrap is installed but could not start a sandbox here ({detail}). "
        "It needs user or mount namespaces: run the grader as root, or allow "
        "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on "
        "Ubuntu 24.04 the AppArmor profile for bwrap). Or pass --no-sandbox, with the "
        "risks it brings."
    )
