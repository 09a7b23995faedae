"""The program that runs a student's notebook code inside the sandbox (the untrusted side).

Started by :mod:`autograder.grader.sandbox` as ``python -I autograder/harness/worker.py`` in a
copy of the harness folder (never the checks, the solutions or the course files). It reads one
job, a JSON object, from standard input::

    {"cells": [[cell_number, source], ...], "requests": [...], "skip_requests": [...],
     "cell_timeout": seconds, "limits": {...}, "uid": int or null, "channel_fd": int}

then limits itself (:func:`apply_limits`) and runs the cells in one IPython shell as a kernel
would. Each harness request ``{"variable", "harness", "payload", "trap_overflow", "time_limit",
"position"}`` drives the student's object where its test cell stands in the notebook: before the
first cell numbered above ``position`` (at the end when ``position`` is null), so a later cell that
rebinds the name does not change what is graded, as in nbgrader. The order is
:func:`autograder.harness.wire.run_order`, which the grader also knows: it accepts only the events
of that plan, in that order. Every event is written as one line of :mod:`autograder.harness.wire`
JSON to the channel (file descriptor ``channel_fd``):

``{"event": "cell", "cell": n}`` / ``{"event": "cell_done", "cell": n, "error": ...}``
    before and after each cell (``error`` is ``None`` or ``"NameError: ..."``);
``{"event": "call", "request": k}`` / ``{"event": "outcome", "request": k, "outcome": {...}}``
    before and after each harness request;
``{"event": "done"}``
    when everything ran.

The student's code runs in this process and can change anything in it, this module included; the
grader therefore treats every line as untrusted data and judges it in its own process.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
from pathlib import Path

CHANNEL_FD = 3  # replaced by the job's ``channel_fd``


def send(message: dict) -> None:
    """Write one event to the channel (unbuffered, so a crash loses nothing already sent)."""
    from autograder.harness import wire

    data = (wire.dumps(message) + "\n").encode("utf-8")
    while data:
        data = data[os.write(CHANNEL_FD, data) :]


def apply_limits(limits: dict, uid: int | None) -> None:
    """Set the resource limits (soft = hard, so the student cannot raise them) and, when running as
    root, become ``uid`` so that the process-count limit applies and no capability is left."""
    names = {
        "address_space": resource.RLIMIT_AS,
        "cpu_seconds": resource.RLIMIT_CPU,
        "processes": resource.RLIMIT_NPROC,
        "open_files": resource.RLIMIT_NOFILE,
        "file_size": resource.RLIMIT_FSIZE,
        "core": resource.RLIMIT_CORE,
    }
    for name, value in limits.items():
        resource.setrlimit(names[name], (value, value))
    if os.getuid() == 0 and uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid programs, no privilege regained


def make_shell():
    """An IPython shell that runs cells as a kernel would (magics included), without history."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    return InteractiveShell.instance(config=config)


def run_cell(shell, number: int, source: str, cell_timeout: float) -> None:
    """Run one student cell with a time limit and report how it went."""
    from autograder.harness.calls import CallTimeout, time_limit

    send({"event": "cell", "cell": number})
    error = None
    try:
        with time_limit(cell_timeout):
            result = shell.run_cell(source, silent=True)
        failure = result.error_before_exec or result.error_in_exec
    except BaseException as raised:  # raised outside the cell's own code
        failure = raised
    if isinstance(failure, CallTimeout):
        error = f"TimeoutError: the cell ran longer than {cell_timeout:g} s and was interrupted"
    elif failure is not None:
        error = f"{type(failure).__name__}: {failure}"[:500]
    send({"event": "cell_done", "cell": number, "error": error})


def run_request(namespace: dict, index: int, request: dict) -> None:
    """Drive the student's object with one harness request and send the outcome."""
    from autograder.harness import wire
    from autograder.harness.calls import drive, resolve
    from autograder.harness.outcome import raised

    send({"event": "call", "request": index})
    variable = request["variable"]
    if variable not in namespace:
        outcome = raised("NameError", f"name {variable!r} is not defined")
    else:
        try:
            outcome = drive(
                resolve(request["harness"]),
                namespace[variable],
                wire.loads(request["payload"]),
                trap_overflow=request["trap_overflow"],
                time_limit=request["time_limit"],
            )
        except BaseException as failure:  # the harness itself was broken by the student
            outcome = raised(type(failure).__name__, str(failure)[:500])
    try:
        send({"event": "outcome", "request": index, "outcome": outcome})
    except (ValueError, TypeError) as failure:
        send({"event": "unsendable", "request": index, "reason": str(failure)[:200]})


def main() -> None:
    global CHANNEL_FD
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder holding autograder/
    job = json.loads(sys.stdin.buffer.read())
    CHANNEL_FD = job["channel_fd"]
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    apply_limits(job["limits"], job["uid"])
    shell = make_shell()
    sys.stdout = sys.stderr = open(os.devnull, "w")  # printing costs nothing and goes nowhere
    from autograder.harness.wire import run_order

    cells = dict(job["cells"])
    positions = [request["position"] for request in job["requests"]]
    for kind, number in run_order(list(cells), positions, set(job["skip_requests"])):
        if kind == "cell":
            run_cell(shell, number, cells[number], job["cell_timeout"])
        else:
            run_request(shell.user_ns, number, job["requests"][number])
    send({"event": "done"})
    os._exit(0)


if __name__ == "__main__":
    main()
