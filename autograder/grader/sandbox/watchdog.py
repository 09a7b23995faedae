"""Hold every sandbox to one memory budget for all of its processes and its ``/tmp`` together.

``RLIMIT_AS`` limits each process on its own, and a notebook may start several (up to
:attr:`~autograder.grader.sandbox.Limits.processes`); memory in a tmpfs belongs to no process at
all. So one thread in the trusted grader, :class:`MemoryWatchdog`, measures every running sandbox
several times a second: the proportional set size (PSS, from ``/proc/PID/smaps_rollup``: shared
pages are split between the processes that share them, so forked copies are not counted twice) of
every process descended from the sandbox's first process, plus the space used in the sandbox's
``/tmp``. When the sum passes the budget, the sandbox is ended through the callback given to
:meth:`MemoryWatchdog.watch`, with a reason.

It measures after the fact: between two looks (0.1 s, 0.03 s once a sandbox is past half its
budget) a notebook can allocate more, within each process's own address-space limit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

SLOW, FAST = 0.1, 0.03
MB = 2**20


@dataclass
class Usage:
    """What a sandbox holds: resident bytes (PSS) of its processes, bytes in its ``/tmp``."""

    resident: int = 0
    tmp: int = 0
    processes: int = 0

    @property
    def total(self) -> int:
        return self.resident + self.tmp

    def describe(self) -> str:
        return (
            f"{self.total / MB:.0f} MB ({self.resident / MB:.0f} MB resident in "
            f"{self.processes} process(es), {self.tmp / MB:.0f} MB in /tmp)"
        )


def parent_pids() -> dict[int, int]:
    """Every visible process's parent, from ``/proc/PID/stat``."""
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                text = stat.read()
            parents[int(entry.name)] = int(text[text.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += children.get(pid, [])
    return found


PAGE = os.sysconf("SC_PAGE_SIZE")
INODE_BYTES = 1024  # what the kernel holds per file in a tmpfs (inode and dentry), roughly


def resident_bytes(pid: int) -> int:
    """The PSS of one process in bytes; its RSS from ``statm`` (readable for any process) when
    ``smaps_rollup`` cannot be read (a process that made itself non-dumpable hides it from a
    non-root grader); 0 if it ended."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tmp_bytes(pid: int, size: int) -> int:
    """Bytes held by the ``/tmp`` that process ``pid`` sees, if it is the sandbox's own tmpfs of
    ``size`` bytes (0 if it cannot be read, or while the sandbox is still being set up and the
    process sees the host's ``/tmp``): the blocks in use plus :data:`INODE_BYTES` per file, since
    millions of empty files hold kernel memory that no block count shows."""
    try:
        stat = os.statvfs(f"/proc/{pid}/root/tmp")
    except OSError:
        return 0
    if stat.f_blocks * stat.f_frsize > size:
        return 0
    files = (stat.f_files - stat.f_ffree) * INODE_BYTES
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize + files


def measure(root: int, parents: dict[int, int], tmp_size: int) -> Usage:
    """The memory held by the sandbox whose first process is ``root``; its ``/tmp`` counts when
    it is a private tmpfs of ``tmp_size`` bytes (0: none), seen through a process inside it."""
    pids = descendants(root, parents)
    usage = Usage(sum(map(resident_bytes, pids)), 0, len(pids))
    if tmp_size and len(pids) > 1:
        usage.tmp = max(tmp_bytes(pid, tmp_size) for pid in pids[1:4])
    return usage


@dataclass
class _Watched:
    budget: int
    tmp_size: int
    exceeded: Callable[[Usage], None]
    peak: Usage
    ended: bool = False


class MemoryWatchdog:
    """One thread measuring every watched sandbox; use :meth:`watch` / :meth:`unwatch`."""

    def __init__(self) -> None:
        self._watched: dict[int, _Watched] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="memory-watchdog", daemon=True)
        self._thread.start()

    def watch(
        self, root: int, budget: int, exceeded: Callable[[Usage], None], *, tmp_size: int
    ) -> None:
        """Measure the process tree under ``root`` (and its private ``/tmp`` of ``tmp_size``
        bytes, 0 if none); call ``exceeded(usage)`` once when it holds more than ``budget``
        bytes."""
        with self._lock:
            self._watched[root] = _Watched(budget, tmp_size, exceeded, Usage())
        self._wake.set()

    def unwatch(self, root: int) -> Usage:
        """Stop measuring ``root``; return the most it was seen to hold."""
        with self._lock:
            watched = self._watched.pop(root, None)
        return watched.peak if watched else Usage()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                watched = dict(self._watched)
            if not watched:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                interval = self._look(watched)
            except Exception:  # never let one bad look end the watching
                interval = FAST
            self._wake.wait(interval)
            self._wake.clear()

    @staticmethod
    def _look(watched: dict[int, _Watched]) -> float:
        """Measure every watched sandbox once; return how long to wait before the next look."""
        parents = parent_pids()
        interval = SLOW
        for root, entry in watched.items():
            usage = measure(root, parents, entry.tmp_size)
            if usage.total > entry.peak.total:
                entry.peak = usage
            if usage.total > entry.budget and not entry.ended:
                entry.ended = True
                entry.exceeded(usage)
            if usage.total > entry.budget // 2:
                interval = FAST
        return interval
