"""The memory budget holds: one sandbox, a small budget, and a notebook that tries to hold several
times that budget by every route we know (many processes, anonymous and shared mmap, the private
/tmp, memfd, a nested namespace with its own tmpfs, System V shared memory, /dev/shm).

Only this test's sandbox is measured (the processes below this test process, and their /tmp),
never the whole machine, which other jobs share. Each attempt is kept small (under 2 GB)."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from autograder.grader.sandbox import Limits, Request, Sandbox
from autograder.grader.sandbox.watchdog import measure, parent_pids
from autograder.harness.calls import call, harness_name

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is needed")

CALL = harness_name(call)  # how a request names the generic harness
MB = 2**20
LIMITS = Limits(timeout=40, memory_mb=256, tmp_mb=64)  # time for 300 000 files on a busy machine
BUDGET = LIMITS.budget_mb  # 320 MB: 256 MB resident for all processes, 64 MB of /tmp

HOLD = "import time\ntime.sleep(60)\n"
FORK_EACH = """
import os, numpy as np
children = []
for _ in range({n}):
    pid = os.fork()
    if pid == 0:
        try:
            {allocate}
            import time
            time.sleep(60)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""
ATTACKS = {
    # 16 processes x 100 MB of touched anonymous memory: 1.6 GB, 5x the budget
    "processes": FORK_EACH.format(n=16, allocate="hog = np.ones(100 * 2**20 // 8)"),
    # the same from processes that made themselves non-dumpable (smaps_rollup hidden)
    "hidden_processes": FORK_EACH.format(
        n=16,
        allocate="import ctypes; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); "
        "hog = np.ones(100 * 2**20 // 8)",
    ),
    # 16 processes x 100 MB of shared anonymous mmap, written through
    "shared_mmap": FORK_EACH.format(
        n=16,
        allocate="import mmap; m = mmap.mmap(-1, 100 * 2**20); "
        "[m.write(b'x' * 2**20) for _ in range(100)]",
    ),
    # fill the private /tmp (capped by its size), then add memory in 4 processes
    "tmp_then_memory": """
try:
    with open('/tmp/fill', 'wb') as f:
        for _ in range(200):
            f.write(b'x' * 2**20)
except OSError:
    pass
"""
    + FORK_EACH.format(n=4, allocate="hog = np.ones(100 * 2**20 // 8)"),
    # 300 000 empty files: no block used, but kernel memory for each inode
    "many_files": "import os\nos.mkdir('/tmp/d')\nfor n in range(300_000):\n"
    "    os.close(os.open(f'/tmp/d/{n}', os.O_CREAT | os.O_WRONLY))",
    "memfd": "import os\nfd = os.memfd_create('hog')\nos.write(fd, b'x' * 100 * 2**20)",
    "nested_tmpfs": """
import subprocess
done = subprocess.run(
    ["unshare", "-Urm", "sh", "-c",
     "mount -t tmpfs -o size=1g none /mnt && head -c 800M /dev/zero > /mnt/hog && sleep 60"],
    capture_output=True, text=True)
raise PermissionError(done.stderr)
""",
    "sysv_shm": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0, 800 * 2**20, 0o1600) < 0:  # IPC_PRIVATE, IPC_CREAT | 0600
    raise PermissionError(os.strerror(ctypes.get_errno()))
""",
    "dev_shm": "open('/dev/shm/hog', 'wb').write(b'x' * 800 * 2**20)",
}


class Sampler:
    """Measures every process below this test process (the sandbox's) and their /tmp, every
    20 ms, with the watchdog's own measure: PSS of each process plus the private tmpfs."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = os.getpid()
        while not self._stop.wait(0.02):
            parents = parent_pids()
            roots = [pid for pid, parent in parents.items() if parent == me]
            total = sum(measure(root, parents, LIMITS.tmp_mb * MB).total for root in roots)
            self.peak = max(self.peak, total)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_no_route_holds_more_than_the_budget_for_long():
    cells = [(number, source) for number, source in enumerate(ATTACKS.values(), start=1)]
    cells.append((len(cells) + 1, "def f(x):\n    return x + 1"))
    requests = [Request("f", CALL, {"args": [1]}, False, 5.0, 0)]
    with Sandbox(LIMITS) as sandbox, Sampler() as sampler:
        report = sandbox.execute(cells, requests)
    errors = dict(zip(ATTACKS, (report.cell_errors.get(n) or "" for n, _ in cells), strict=False))
    print(
        f"budget {BUDGET} MB; peak measured by the test {sampler.peak / MB:.0f} MB, by the "
        f"watchdog {report.peak_memory.total / MB:.0f} MB; attempts of up to 1600 MB"
    )
    over = f"more than its memory budget of {BUDGET} MB"
    for name in ("processes", "hidden_processes", "shared_mmap", "tmp_then_memory", "many_files"):
        assert over in errors[name], (name, errors[name])
    for name in ("memfd", "nested_tmpfs", "sysv_shm"):
        assert "PermissionError" in errors[name] or "not permitted" in errors[name], errors[name]
    assert "Read-only file system" in errors["dev_shm"], errors["dev_shm"]
    assert report.outcomes[0]["status"] == "returned" and report.outcomes[0]["value"] == 2
    # The watchdog looks every 30 ms once past half the budget: what it lets through before it
    # ends the run is bounded, far below the 1.6 GB the attacks reach for.
    assert sampler.peak < 3 * BUDGET * MB, sampler.peak / MB
