"""The seccomp filter every sandboxed process runs under: system calls a notebook never needs.

bubblewrap installs it (``bwrap --seccomp FD``) just before it starts the worker, so it holds for
the worker and every process it starts, and cannot be removed. It refuses, with ``EPERM``:

* creating or entering namespaces (``unshare``, ``setns``, and ``clone`` with any ``CLONE_NEW*``
  flag): a nested user + mount namespace would let a notebook mount a tmpfs no limit counts;
  ``clone3`` gets ``ENOSYS`` instead, because seccomp cannot read its flags (they are in memory),
  and on ``ENOSYS`` the C library falls back to ``clone``, whose flags the filter does read;
* memory that no process limit counts: ``memfd_create``, ``memfd_secret``, System V shared memory
  and message queues, POSIX message queues, and sockets (kernel buffers; the sandbox has no
  network anyway);
* mounting, tracing and kernel interfaces: ``mount`` and the new mount API, ``ptrace``,
  ``process_vm_readv``/``writev``, ``keyctl`` and the key calls, ``bpf``, ``userfaultfd``,
  ``perf_event_open``, ``io_uring``, ``kexec``, modules, ``open_by_handle_at``, ``reboot``, swap.

System calls of another architecture (e.g. 32-bit ``int 0x80`` on x86-64) kill the process,
libseccomp's default for a foreign architecture.
"""

from __future__ import annotations

import errno
import tempfile

REFUSED = (
    "unshare",
    "setns",
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "msgget",
    "mq_open",
    "socket",
    "socketpair",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
)
CLONE_NEW_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_NEWTIME": 0x00000080,
}
MISSING = (
    "the seccomp library is not available (pyseccomp needs libseccomp: Debian/Ubuntu "
    "`sudo apt-get install libseccomp2`, and `pip install pyseccomp==0.1.2`), so the sandbox "
    "could not stop nested namespaces or uncounted memory. Install it and run again, or pass "
    "--no-sandbox, with the risks it brings."
)


class SeccompUnavailable(RuntimeError):
    """The filter cannot be built on this machine; the message says what to install."""


def filter_program() -> bytes:
    """The compiled BPF program (the format ``bwrap --seccomp`` reads).

    Raises :class:`SeccompUnavailable` when libseccomp or pyseccomp is missing. System calls
    this kernel's architecture does not have are left out.
    """
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError):
        raise SeccompUnavailable(MISSING) from None
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for name in REFUSED:
        _add(rules, refuse, name)
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NEW_FLAGS.values():
        _add(rules, refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as file:
        rules.export_bpf(file)
        file.seek(0)
        return file.read()


def _add(rules, action: int, name: str, *conditions) -> None:
    try:
        rules.add_rule(action, name, *conditions)
    except (OSError, ValueError):  # not a system call on this architecture
        pass
