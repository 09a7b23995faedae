"""Run a student's notebook code in a limited, isolated process; bring back plain outcomes.

:class:`Sandbox` (:mod:`~autograder.grader.sandbox.runner`) is the entry point. Its mechanisms,
one module each: :mod:`~autograder.grader.sandbox.limits` (the resource limits),
:mod:`~autograder.grader.sandbox.policy` (what bubblewrap lets a worker see) and
:mod:`~autograder.grader.sandbox.seccomp` (the system calls it refuses),
:mod:`~autograder.grader.sandbox.forkserver` (a child of a pre-imported fork server per run,
the default) or :mod:`~autograder.grader.sandbox.processes` (a fresh process per run: starting,
feeding, reading and ending the worker),
:mod:`~autograder.grader.sandbox.channel` (the events it may send, held to the run's plan),
:mod:`~autograder.grader.sandbox.watchdog` (the memory budget) and
:mod:`~autograder.grader.sandbox.restarts` (running again without what ended a run).
"""

from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.policy import SandboxUnavailable
from autograder.grader.sandbox.restarts import Request, RunReport
from autograder.grader.sandbox.runner import Sandbox

__all__ = ["Limits", "Request", "RunReport", "Sandbox", "SandboxUnavailable"]
