"""Runs forked from a pre-imported fork server are as isolated as fresh sandboxes.

Every test runs hostile code inside a run of :class:`autograder.grader.sandbox.Sandbox` (a child
of one of its fork servers) and looks, from inside, at what a fresh sandbox guarantees: its own
empty, size-capped ``/tmp``; a PID namespace that shows only the run's own init and processes;
no network; the seccomp filter, no capabilities, no way to uncover the host's ``/proc``; the
configured limits; random generators of its own; no trace of an earlier child (memory, modules,
System V objects); and, from outside, the time and memory limits reported as for a fresh
sandbox, and no process left behind. Only the processes this test started are looked at.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from autograder.grader.sandbox import Limits, Request, Sandbox
from autograder.grader.sandbox.watchdog import descendants, parent_pids
from autograder.harness.calls import call, harness_name, value

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is needed")

MB = 2**20
VALUE, CALL = harness_name(value), harness_name(call)
LIMITS = Limits(timeout=20, tmp_mb=32, processes=48, open_files=512, file_mb=16)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(LIMITS, preload=("torch",)) as sandbox:
        yield sandbox


def values(sandbox, source: str, *names: str) -> dict:
    """Run ``source`` as one cell in a fresh child, then return the values of ``names``."""
    requests = [Request(name, VALUE, {}, False, 10.0, i) for i, name in enumerate(names)]
    report = sandbox.execute([(1, source)], requests)
    assert report.cell_errors == {1: None}, report
    assert report.grader_failure is None and report.problems == [], report
    found = {}
    for index, name in enumerate(names):
        outcome = report.outcomes[index]
        assert outcome["status"] == "returned", (name, outcome)
        found[name] = outcome["value"]
    return found


def my_processes() -> set[int]:
    """Every process below this test process."""
    return set(descendants(os.getpid(), parent_pids())) - {os.getpid()}


def test_tmp_is_empty_private_and_capped(sandbox):
    first = values(
        sandbox,
        "import os\n"
        "open('/tmp/secret', 'w').write('from the first student')\n"
        "stat = os.statvfs('/tmp')\n"
        "size = stat.f_blocks * stat.f_frsize\n"
        "try:\n"
        "    open('/tmp/big', 'wb').write(b'x' * 40 * 2**20)\n"
        "    full = 'no'\n"
        "except OSError as error:\n"
        "    full = type(error).__name__\n"
        "cwd = os.getcwd()",
        "size",
        "full",
        "cwd",
    )
    assert first == {"size": LIMITS.tmp_mb * MB, "full": "OSError", "cwd": "/tmp"}
    second = values(sandbox, "import os\nseen = sorted(os.listdir('/tmp'))", "seen")
    assert second["seen"] == [".ipython"]  # IPython's own folder (IPYTHONDIR), nothing else


def test_worker_sees_only_its_own_init_and_processes(sandbox):
    """As under bubblewrap: PID 1 is the run's init (no more privileged than the worker), the
    worker PID 2, and nothing else of the machine, the fork server or another run is visible."""
    found = values(
        sandbox,
        "import os, subprocess\n"
        "me = os.getpid()\n"
        "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "with_child = subprocess.run(['ls', '/proc'], capture_output=True, text=True).stdout\n"
        "with_child = sorted(int(p) for p in with_child.split() if p.isdigit())\n"
        "init = dict(line.split(':\\t') for line in open('/proc/1/status').read().splitlines())\n"
        "init = [init[key].strip() for key in ('Seccomp', 'NoNewPrivs', 'CapEff', 'CapBnd')]\n"
        "descriptors = []\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        descriptors.append(os.readlink(f'/proc/self/fd/{fd}'))\n"
        "    except OSError:  # the listing's own\n"
        "        pass",
        "me",
        "pids",
        "with_child",
        "init",
        "descriptors",
    )
    assert found["me"] == 2
    assert found["pids"] == [1, 2]
    assert len(found["with_child"]) == 3 and found["with_child"][:2] == [1, 2]
    assert found["init"] == ["2", "1", "0" * 16, "0" * 16]
    # /dev/null (standard input and the worker's own), the output pipe and the channel: no
    # socket to the fork server, nothing of another run
    pipes = {link for link in found["descriptors"] if link.startswith("pipe:")}
    others = {link for link in found["descriptors"] if not link.startswith("pipe:")}
    assert len(pipes) == 2 and others == {"/dev/null"}, found["descriptors"]


def test_child_has_no_network(sandbox):
    found = values(
        sandbox,
        "import socket\n"
        "lines = open('/proc/net/dev').read().splitlines()[2:]\n"
        "interfaces = [line.split(':')[0].strip() for line in lines]\n"
        "addresses = open('/proc/net/if_inet6').read() + open('/proc/net/route').read()\n"
        "addresses = addresses.splitlines()[1:]\n"
        "try:\n"
        "    socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "    refused = 'no'\n"
        "except OSError as error:\n"
        "    refused = type(error).__name__",
        "interfaces",
        "addresses",
        "refused",
    )
    assert found == {"interfaces": ["lo"], "addresses": [], "refused": "PermissionError"}


SYSTEM_CALLS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

def errno_of(result):
    return os.strerror(ctypes.get_errno()) if result != 0 else 'allowed'

unshare = errno_of(libc.unshare(0x10000000))
mount = errno_of(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))
ptrace = errno_of(libc.ptrace(0, 0, None, None))
umount = errno_of(libc.umount2(b'/proc', 2))
pids = sorted(p for p in os.listdir('/proc') if p.isdigit())
status = dict(line.split(':\\t') for line in open('/proc/self/status').read().splitlines())
status = {key: status[key].strip() for key in ('Seccomp', 'NoNewPrivs', 'CapEff', 'CapPrm',
                                               'CapBnd', 'CapAmb')}
"""


def test_seccomp_no_capabilities_and_proc_stays_covered(sandbox):
    found = values(sandbox, SYSTEM_CALLS, "unshare", "mount", "ptrace", "umount", "pids", "status")
    refused = "Operation not permitted"
    assert found["unshare"] == found["mount"] == found["ptrace"] == refused
    assert found["umount"] == refused
    assert found["pids"] == ["1", "2"]  # the host's /proc was never uncovered
    assert found["status"] == {
        "Seccomp": "2",
        "NoNewPrivs": "1",
        "CapEff": "0" * 16,
        "CapPrm": "0" * 16,
        "CapBnd": "0" * 16,
        "CapAmb": "0" * 16,
    }


def test_mounts_stay_locked_without_the_seccomp_filter():
    """With a filter that allows everything, the capabilities and the locked mounts alone still
    refuse a new namespace's unmounting of ``/proc``."""
    import tempfile

    import pyseccomp

    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    with tempfile.TemporaryFile() as file:
        rules.export_bpf(file)
        file.seek(0)
        allow_all = file.read()
    with Sandbox(LIMITS) as sandbox:
        sandbox.processes.config = {**sandbox.processes.config, "seccomp": allow_all.hex()}
        for server in list(sandbox.processes._servers):
            sandbox.processes._retire(server)  # the next one gets the allow-all program
        found = values(sandbox, SYSTEM_CALLS, "umount", "mount", "pids", "status")
    assert found["status"]["Seccomp"] == "2"
    assert found["umount"] == found["mount"] == "Operation not permitted"
    assert found["pids"] == ["1", "2"]


def test_rlimits_are_the_configured_ones(sandbox):
    found = values(
        sandbox,
        "import resource\n"
        "names = ['AS', 'CPU', 'NPROC', 'NOFILE', 'FSIZE', 'CORE']\n"
        "limits = [list(resource.getrlimit(getattr(resource, 'RLIMIT_' + n))) for n in names]",
        "limits",
    )
    expected = [[value, value] for value in LIMITS.rlimits().values()]
    assert found["limits"] == expected


RANDOM = (
    "import random, numpy, torch\n"
    "draws = [random.random(), float(numpy.random.random()), float(torch.rand(1)[0])]"
)


def test_each_child_has_its_own_random_streams(sandbox):
    first = values(sandbox, RANDOM, "draws")["draws"]
    second = values(sandbox, RANDOM, "draws")["draws"]
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)


def test_a_child_leaves_nothing_to_the_next(sandbox):
    values(
        sandbox,
        "import builtins, numpy, sys\n"
        "builtins.leak = 'from an earlier student'\n"
        "numpy.exp = lambda x: 0\n"
        "sys.modules['autograder.harness.calls'].MAX_CAPTURED_CHARS = 0\n"
        "done = True",
        "done",
    )
    found = values(
        sandbox,
        "import builtins, numpy, sys\n"
        "leak = hasattr(builtins, 'leak')\n"
        "exp = float(numpy.exp(0.0))\n"
        "chars = sys.modules['autograder.harness.calls'].MAX_CAPTURED_CHARS",
        "leak",
        "exp",
        "chars",
    )
    assert found == {"leak": False, "exp": 1.0, "chars": 2000}


def test_system_v_objects_die_with_their_run(sandbox):
    """Each run has its own IPC namespace: a semaphore set (not refused by the seccomp filter)
    left by one student is not there for the next."""
    source = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "made = libc.semget(4242, 1, {flags})\n"
        "made = made if made >= 0 else os.strerror(ctypes.get_errno())"
    )
    first = values(sandbox, source.format(flags="0o1600"), "made")  # IPC_CREAT | 0600
    second = values(sandbox, source.format(flags="0"), "made")
    assert isinstance(first["made"], int) and first["made"] >= 0, first
    assert second["made"] == "No such file or directory"


def test_signals_reach_nothing_outside_the_run(sandbox):
    """Process groups span PID namespaces: ``killpg(0)`` from a run must not reach the fork
    server's group. Every way to signal outward ends at most the run itself."""
    servers = {server.process.pid for server in sandbox.processes._servers}
    attack = (
        "import os, signal\n"
        "for send in (lambda: os.killpg(0, 9), lambda: os.kill(-1, 9), lambda: os.kill(1, 9),\n"
        "             lambda: os.kill(os.getppid(), 9), lambda: os.killpg(os.getpgid(1), 9)):\n"
        "    try:\n"
        "        send()\n"
        "    except OSError:\n"
        "        pass"
    )
    report = sandbox.execute([(1, attack), (2, "x = 1")], [Request("x", VALUE, {}, False, 5, 0)])
    assert report.outcomes[0]["value"] == 1
    assert report.cell_errors[1].startswith("ended the notebook's process: it was killed")
    assert {server.process.pid for server in sandbox.processes._servers} == servers
    assert all(server.alive for server in sandbox.processes._servers)


def test_concurrent_children_have_their_own_user_ids_and_namespaces(sandbox):
    source = "import os, time\ntime.sleep(2)\nuid = os.getuid()\npids = os.listdir('/proc')"
    found = []
    threads = [
        threading.Thread(target=lambda: found.append(values(sandbox, source, "uid", "pids")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 2
    if os.getuid() == 0:
        assert found[0]["uid"] != found[1]["uid"]
        assert min(found[0]["uid"], found[1]["uid"]) >= 61000
    assert all(sorted(p for p in run["pids"] if p.isdigit()) == ["1", "2"] for run in found)


def test_time_limit_kills_the_whole_run_and_says_so(monkeypatch):
    limits = Limits(timeout=1)
    monkeypatch.setattr(Limits, "run_seconds", property(lambda self: 4.0))
    cells = [
        (
            1,
            "import signal, subprocess\n"
            "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "subprocess.Popen(['sleep', '600'])\n"
            "while True:\n    pass",
        ),
        (2, "def f(x):\n    return x + 1"),
    ]
    requests = [Request("f", CALL, {"args": [1]}, False, 5.0, 0)]
    before = my_processes()
    with Sandbox(limits) as sandbox:
        servers = my_processes() - before
        start = time.monotonic()
        report = sandbox.execute(cells, requests)
        elapsed = time.monotonic() - start
        after_run = my_processes() - before
    assert report.cell_errors[1] == (
        "ended the notebook's process: it ran longer than 4 s in all and was stopped"
    )
    assert report.outcomes[0]["status"] == "returned" and report.outcomes[0]["value"] == 2
    assert elapsed < 60
    assert after_run == servers  # the sleeping grandchild went with its run
    assert my_processes() - before == set()


def test_memory_budget_counts_the_run_not_the_fork_server():
    limits = Limits(timeout=30, memory_mb=256, tmp_mb=64)
    hog = (
        "import os, time, numpy as np\n"
        "children = []\n"
        "for _ in range(6):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        hog = np.ones(100 * 2**20 // 8)\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n"
        "    os.waitpid(pid, 0)"
    )
    cells = [(1, hog), (2, "def f(x):\n    return x + 1")]
    requests = [Request("f", CALL, {"args": [1]}, False, 5.0, 0)]
    with Sandbox(limits) as sandbox:
        report = sandbox.execute(cells, requests)
        calm = sandbox.execute([(1, "def f(x):\n    return x + 1")], requests)
    assert "more than its memory budget of 320 MB" in report.cell_errors[1], report.cell_errors
    assert report.outcomes[0]["value"] == 2
    # a run that holds little is measured small: the fork server's image is not its own
    assert calm.problems == [] and calm.peak_memory.total < 200 * MB, calm.peak_memory


def test_a_dead_fork_server_is_replaced(sandbox):
    import signal

    first = values(sandbox, "x = 1", "x")
    for server in list(sandbox.processes._servers):
        os.killpg(server.process.pid, signal.SIGKILL)
    second = values(sandbox, "x = 2", "x")
    assert (first, second) == ({"x": 1}, {"x": 2})


def test_a_fork_server_dying_during_a_run_is_the_graders_error_not_the_students(sandbox):
    import signal

    from autograder.grader.sandbox.forkserver import ForkServerError

    def kill_servers():
        for server in list(sandbox.processes._servers):
            os.killpg(server.process.pid, signal.SIGKILL)

    timer = threading.Timer(3.0, kill_servers)
    timer.start()
    try:
        with pytest.raises(ForkServerError, match="the fork server ended"):
            sandbox.execute([(1, "import time\ntime.sleep(60)")], [])
    finally:
        timer.cancel()
    assert values(sandbox, "x = 3", "x") == {"x": 3}


def test_the_channel_may_have_any_descriptor_number(sandbox):
    """Whatever number the grader's channel has, including the one the fork server's own socket
    has (a collision once made every run of a Dask worker fail), the run gets it."""
    import json

    server = sandbox.processes._server()
    try:
        for number in range(3, 48):
            job_read, job_write = os.pipe()
            out_read, out_write = os.pipe()
            channel_read, channel_write = os.pipe()
            child = server.fork(job_read, out_write, channel_write, number)
            for descriptor in (job_read, out_write, channel_write):
                os.close(descriptor)
            job = {
                "cells": [[1, "x = 1"]],
                "requests": [],
                "skip_requests": [],
                "cell_timeout": 10,
                "limits": LIMITS.rlimits(),
                "uid": None,
                "channel_fd": number,
            }
            with os.fdopen(job_write, "wb") as stdin:
                stdin.write(json.dumps(job).encode())
            with os.fdopen(channel_read, "rb") as channel, os.fdopen(out_read, "rb") as output:
                events = channel.read()
                printed = output.read()
            assert not isinstance(child, int), (number, printed)
            assert child.wait(60) == 0, (number, printed)
            assert events.endswith(b'{"event":"done"}\n'), (number, events, printed)
    finally:
        sandbox.processes._idle.put(server)


def test_nothing_is_left_behind_after_close():
    before = my_processes()
    with Sandbox(Limits(timeout=10)) as sandbox:
        values(sandbox, "import subprocess\np = subprocess.Popen(['sleep', '600']).pid", "p")
    assert my_processes() - before == set()


def test_a_python_installed_under_tmp_stays_visible_under_the_fresh_tmp(tmp_path):
    """A virtual environment under /tmp (as on CI) is bound into each child's new /tmp again."""
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    cell = "import os, sys\nseen = [os.path.isdir(sys.prefix), sorted(os.listdir('/tmp'))]"
    script = (
        "from autograder.grader.sandbox import Limits, Request, Sandbox\n"
        "with Sandbox(Limits(timeout=10)) as sandbox:\n"
        f"    report = sandbox.execute([(1, {cell!r})],\n"
        f"                             [Request('seen', {VALUE!r}, {{}}, False, 5.0, 0)])\n"
        "print(report.outcomes[0]['value'])\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=300
    )
    top = venv.parts[2]  # /tmp/<top>/...
    assert done.stdout.strip() == str([True, sorted([".ipython", top])]), done.stderr[-2000:]


@pytest.mark.skipif(not os.path.isdir("/usr/share/doc"), reason="needs a folder under /usr")
def test_hidden_folders_are_empty_and_read_only():
    """A hidden folder is covered by an empty tmpfs that no run can write to (under a non-root
    grader bubblewrap made it writable by the student: memory no budget counted, kept from one
    run to the next by a fork server)."""
    from pathlib import Path

    source = (
        "import os\n"
        "try:\n"
        "    open('/usr/share/doc/x', 'w').write('x')\n"
        "    written = 'yes'\n"
        "except OSError as error:\n"
        "    written = error.strerror\n"
        "seen = os.listdir('/usr/share/doc')"
    )
    with Sandbox(Limits(timeout=10), hidden=(Path("/usr/share/doc"),)) as sandbox:
        found = values(sandbox, source, "written", "seen")
    assert found == {"written": "Read-only file system", "seen": []}


def test_what_a_fork_server_imports_is_read_from_the_notebooks_code():
    from autograder.course.operations import COURSE_ROOT
    from autograder.grader.assignment import imported_modules, load_spec

    sources = [
        "import numpy as np, math\nfrom scipy.special import logsumexp\nfrom . import local",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nimport autograder",
        "def f(:\n    import json",  # not Python: the lines that parse are read
    ]
    drivers = ["autograder.harness.drivers.ex04_softmax:torch_cross_entropy", VALUE]
    assert imported_modules(sources, drivers) == (
        "numpy",
        "math",
        "scipy.special",
        "matplotlib.pyplot",
        "json",
        "autograder.harness.drivers.ex04_softmax",
        "autograder.harness.calls",
    )
    imports = load_spec(COURSE_ROOT, "ex04_softmax").imports
    assert {"numpy", "torch", "autograder.harness.drivers.ex04_softmax"} <= set(imports)
    assert "torch" not in load_spec(COURSE_ROOT, "ex01_floats").imports
