"""What a harness records about one call of the student's code: an *outcome*.

An outcome is a dict of plain data (:mod:`autograder.harness.wire` can send it) with a
``status`` key, one of :data:`STATUSES`:

``"returned"``
    ``value`` (plain data, see :func:`autograder.harness.calls.to_plain`) and ``type`` (the
    returned object's type name).
``"raised"``
    ``exc_type``, ``message`` and ``where`` (the student's line that raised).
``"overflow"``
    a floating-point overflow trapped under ``np.errstate(over="raise")``; ``message``,
    ``where`` and ``silenced`` (the student's code had asked NumPy to ignore or merely warn
    about overflow, see :func:`autograder.harness.calls.overflow_trap`).
``"timeout"``
    the call ran longer than its time limit.
``"bad_return"``
    the returned object cannot be turned into plain data; ``type`` names it.
``"not_run"``
    the call never happened (the grader writes it; ``message`` says why).

Every outcome a harness returns also has ``mutated`` (an input was changed in place),
``warnings`` (the warning messages emitted), ``stdout`` (the first characters printed) and
``seconds``; drivers add fields of their own.
"""

from __future__ import annotations

from typing import Any

Outcome = dict[str, Any]
RETURNED, RAISED, OVERFLOW, TIMEOUT = "returned", "raised", "overflow", "timeout"
BAD_RETURN, NOT_RUN = "bad_return", "not_run"
STATUSES = (RETURNED, RAISED, OVERFLOW, TIMEOUT, BAD_RETURN, NOT_RUN)


def raised(exc_type: str, message: str, where: str = "") -> Outcome:
    """A ``raised`` outcome for a call that failed before or around the student's code (no
    output, no warnings, nothing mutated, no time counted), e.g. a graded name that is not
    a function or not defined."""
    return {
        "status": RAISED,
        "exc_type": exc_type,
        "message": message,
        "where": where,
        "mutated": False,
        "warnings": [],
        "stdout": "",
        "seconds": 0.0,
    }
