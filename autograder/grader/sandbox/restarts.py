"""The restart policy: run a submission again when its process ends early, without what ended it.

When the process ends early (``os._exit``, a kill, a crash, memory or time exhausted), the run is
repeated without the cell that ended it or, during grading calls, without the rest of that group
(without the rest of that name once it has ended the process twice), at most :data:`MAX_RUNS`
times and within :attr:`~autograder.grader.sandbox.limits.Limits.total_seconds` in all; whatever
never ran gets a ``not_run`` outcome that says why. A process that writes to the channel out of
turn (:mod:`~autograder.grader.sandbox.channel`) is tampering: it is recorded, the graded names
it touched are not run again, and the run goes on without the cell that did it.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.grader.sandbox.limits import Limits
from autograder.grader.sandbox.processes import Attempt
from autograder.grader.sandbox.watchdog import Usage
from autograder.harness.outcome import NOT_RUN, Outcome

MAX_RUNS = 12
SIGNALS = {
    signal.SIGKILL: "was killed (SIGKILL)",
    signal.SIGXCPU: "used up its CPU-time limit",
    signal.SIGXFSZ: "wrote a file larger than the file-size limit",
    signal.SIGSEGV: "crashed (segmentation fault)",
    signal.SIGABRT: "aborted (often memory exhausted inside a library)",
}


@dataclass(frozen=True)
class Request:
    """One harness call: drive ``variable`` with a case's payload. ``group`` numbers the graded
    group the case belongs to (a process that dies during a case loses the rest of its group);
    ``position`` is the notebook cell number of its test cell (``None``: after the last cell)."""

    variable: str
    harness: str
    payload: dict[str, Any]
    trap_overflow: bool
    time_limit: float
    group: int
    position: int | None = None


@dataclass
class RunReport:
    """What came back from running one submission: an outcome per request, and per cell number
    the error it raised (``None`` when it ran cleanly).

    ``tampering`` lists what the notebook's process sent out of turn on the channel, and
    ``tampered_variables`` the graded variables that affects: the one whose request a forged
    message named and the one being called when it came, or every variable when the message
    named none (the run then stops). A cell that tampered is skipped in the next run, like one
    that ended the process.
    """

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cell_errors: dict[int, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    grader_failure: str | None = None
    tampering: list[str] = field(default_factory=list)
    tampered_variables: set[str] = field(default_factory=set)
    peak_memory: Usage = field(default_factory=Usage)


RunOnce = Callable[[list[tuple[int, str]], list[Request], set[int], float], Attempt]


def execute(
    run_once: RunOnce,
    cells: list[tuple[int, str]],
    requests: list[Request],
    labels: dict[int, str],
    limits: Limits,
) -> RunReport:
    """Run ``cells`` then every request with ``run_once(cells, requests, skip, seconds)``,
    again after each early end, until everything ran or the restarts are used up."""
    report = RunReport()
    skipped_cells: set[int] = set()
    lost: dict[int, str] = {}
    deaths: Counter[str] = Counter()
    reason = "the notebook's process ended before this case ran"
    deadline = time.monotonic() + limits.total_seconds
    for _ in range(MAX_RUNS):
        seconds = min(limits.run_seconds, deadline - time.monotonic())
        if seconds <= 0:
            report.problems.append("gave up restarting: the runs took too long in all")
            break
        remaining = [c for c in cells if c[0] not in skipped_cells]
        answered = set(report.outcomes) | set(lost)
        attempt = run_once(remaining, requests, answered, seconds)
        channel = attempt.channel
        if attempt.peak.total > report.peak_memory.total:
            report.peak_memory = attempt.peak
        report.outcomes.update(channel.outcomes)
        report.cell_errors.update(channel.cell_errors)
        if channel.violation is not None:
            if _tampered(channel, requests, report, lost, skipped_cells, labels):
                continue
            reason = "the notebook's process wrote to the grader's channel out of turn"
            break
        if channel.done or len(report.outcomes) + len(lost) == len(requests):
            break
        reason = ending(attempt, limits)
        if channel.current is None and not channel.any_event:
            report.grader_failure = f"the sandbox did not start: {reason}"
            if attempt.output.strip():
                report.grader_failure += f"; it printed: {attempt.output.strip()[-500:]}"
            break
        _ended_early(channel.current, reason, requests, labels, report, lost, skipped_cells, deaths)
    else:
        report.problems.append(f"gave up after {MAX_RUNS} runs that all ended early")
    for index in range(len(requests)):
        if index not in report.outcomes:
            message = lost.get(index, f"was never run: {reason}")
            report.outcomes[index] = {"status": NOT_RUN, "message": message}
    return report


def _ended_early(
    current: tuple[str, int] | None,
    reason: str,
    requests: list[Request],
    labels: dict[int, str],
    report: RunReport,
    lost: dict[int, str],
    skipped_cells: set[int],
    deaths: Counter[str],
) -> None:
    """Record that the process ended during step ``current`` (``None``: between steps): a cell
    is skipped in the next run; a request loses the rest of its group (of its name, the second
    time that name ended the process)."""
    kind, number = current or (None, None)
    if kind == "request":
        request = requests[number]
        deaths[request.variable] += 1
        for later in range(number, len(requests)):
            other = requests[later]
            same = other.group == request.group or (
                deaths[request.variable] > 1 and other.variable == request.variable
            )
            if same and later not in report.outcomes:
                lost[later] = f"the notebook's process ended during this case: {reason}"
        report.problems.append(
            f"calling `{request.variable}` ended the notebook's process ({reason}); "
            "its group was marked failed and the rest was graded in a fresh process"
        )
    elif kind == "cell":
        skipped_cells.add(number)
        report.cell_errors[number] = f"ended the notebook's process: {reason}"
        report.problems.append(
            f"{labels.get(number, f'cell {number}')} ended the notebook's process "
            f"({reason}); the notebook was run again without it"
        )
    else:
        report.problems.append(f"the notebook's process ended: {reason}")


def _tampered(channel, requests, report, lost, skipped_cells, labels) -> bool:
    """Record a channel violation; ``True`` when the run can go on without what it
    touched (it named a request), ``False`` when it affects every variable."""
    report.tampering.append(channel.violation)
    kind, number = channel.current or (None, None)
    touched = set()
    if channel.violation_request is not None:
        touched.add(requests[channel.violation_request].variable)
    if kind == "request":
        touched.add(requests[number].variable)
    if not touched:
        report.tampered_variables |= {request.variable for request in requests}
        return False
    report.tampered_variables |= touched
    for index, request in enumerate(requests):
        if request.variable in touched and index not in report.outcomes:
            lost[index] = "not run: the notebook's process wrote to the channel out of turn"
    if kind == "cell":
        skipped_cells.add(number)
        report.cell_errors[number] = "wrote to the grader's channel out of turn"
        where = labels.get(number, f"cell {number}")
        report.problems.append(f"{where} wrote to the grader's channel out of turn")
    return True


def ending(attempt: Attempt, limits: Limits) -> str:
    """How a run that ended early ended, in words for the report ("it used up its CPU-time
    limit", "it held 357 MB (...), more than its memory budget of 320 MB, and was stopped")."""
    if attempt.killed_for_time:
        if attempt.seconds < limits.run_seconds:
            return (
                f"its runs together took longer than {limits.total_seconds:g} s and it was stopped"
            )
        return f"it ran longer than {limits.run_seconds:g} s in all and was stopped"
    if attempt.over_budget is not None:
        return (
            f"it held {attempt.over_budget.describe()}, more than its memory budget of "
            f"{limits.budget_mb} MB, and was stopped"
        )
    code = attempt.returncode
    number = -code if code is not None and code < 0 else (code or 0) - 128
    for sig, words in SIGNALS.items():
        if number == sig:
            limit = f" (memory limit {limits.memory_mb} MB?)" if sig == 9 else ""
            return f"it {words}{limit}"
    if number > 0:
        return f"it was ended by signal {number}"
    return f"it exited with status {code} (sys.exit, os._exit or a crash)"
