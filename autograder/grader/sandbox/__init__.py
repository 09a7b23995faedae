"""Run a student's notebook code in a limited, isolated process; bring back plain outcomes.

:class:`Sandbox` is the entry point (see :mod:`~autograder.grader.sandbox.runner`).
"""

from autograder.grader.sandbox.runner import (
    Limits,
    Request,
    RunReport,
    Sandbox,
    SandboxUnavailable,
)

__all__ = ["Limits", "Request", "RunReport", "Sandbox", "SandboxUnavailable"]
