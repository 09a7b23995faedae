"""Read what a student's sandbox sends back, strictly, in bounded memory.

The worker (:mod:`autograder.harness.worker`) runs a fixed plan,
:func:`autograder.harness.wire.run_order`, and writes one line of :mod:`autograder.harness.wire`
JSON per step. The grader knows that plan too, so :class:`Channel` knows the exact next event it
may accept:

* ``{"event": "cell", "cell": n}`` then ``{"event": "cell_done", "cell": n, "error": str|None}``
  for each planned cell ``n``;
* ``{"event": "call", "request": k}`` then ``{"event": "outcome", "request": k, "outcome": {...}}``
  or ``{"event": "unsendable", "request": k, "reason": str}`` for each planned request ``k``;
* ``{"event": "done"}`` once, last.

Anything else is a *violation*: a line longer than :attr:`ChannelLimits.line_bytes`, more than
:attr:`ChannelLimits.total_bytes` in all, a line with more than :attr:`ChannelLimits.line_items`
JSON values, a line that is not valid wire JSON, an event that is not the next one of the plan
(an ``outcome`` before its ``call``, a cell number not planned, a second ``call``), or any byte
after ``done``. Only the harness, calling in turn, can produce the plan's events; a student's code
writing to the channel out of turn is therefore seen. After a violation nothing more is decoded
(:meth:`Channel.feed` returns ``False`` and the caller ends the process). A partial last line (the
process died while writing) is not a violation: it is dropped.

Memory: at most one line is buffered, lines are parsed one at a time, and only the plan's outcomes
are kept, so what one run can make the grader hold is bounded by ``total_bytes`` (plus the decoded
form of at most ``line_items`` values per line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograder.harness import wire
from autograder.harness.outcome import BAD_RETURN, NOT_RUN, STATUSES, Outcome

TEXT_FIELDS = ("message", "where", "type", "stdout")
EVENT_KEYS = {
    "cell": {"event", "cell"},
    "cell_done": {"event", "cell", "error"},
    "call": {"event", "request"},
    "outcome": {"event", "request", "outcome"},
    "unsendable": {"event", "request", "reason"},
    "done": {"event"},
}
STRUCTURE = tuple(b"[{,:")


@dataclass(frozen=True)
class ChannelLimits:
    """Caps on what one run may send (a legitimate run sends far less: its outcomes are small
    arrays encoded as base64 text)."""

    line_bytes: int = 8 * 2**20
    total_bytes: int = 32 * 2**20
    line_items: int = 50_000


def sanitize(raw: Any) -> Outcome:
    """The outcome the verdicts may read, built field by field from what the sandbox sent.

    Anything malformed becomes a ``not_run`` outcome saying so; the common fields get their
    expected types (strings cut to 2000 characters); ``value`` and any field a driver added are
    kept as decoded plain data, which the verdicts check for shape and type.
    """
    if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
        return {"status": NOT_RUN, "message": "the notebook's process sent a malformed result"}

    def text(key: str) -> str:
        value = raw.get(key, "")
        return value[:2000] if isinstance(value, str) else ""

    outcome: Outcome = dict(raw)  # drivers add their own fields; all of it is decoded plain data
    outcome.update({key: text(key) for key in TEXT_FIELDS})
    outcome["exc_type"] = text("exc_type") or "Exception"
    outcome["mutated"] = raw.get("mutated") is True
    warnings = raw.get("warnings")
    warnings = warnings if isinstance(warnings, list) else []
    outcome["warnings"] = [w[:200] for w in warnings[:20] if isinstance(w, str)]
    seconds = raw.get("seconds")
    outcome["seconds"] = float(seconds) if type(seconds) in (int, float) else 0.0
    return outcome


def expected_events(plan: list[tuple[str, int]]) -> list[tuple[str, int | None]]:
    """The events a run of ``plan`` sends, in order: ``("cell", n)``, ``("cell_done", n)``,
    ``("call", k)``, ``("answer", k)`` (``outcome`` or ``unsendable``), ``("done", None)``."""
    events: list[tuple[str, int | None]] = []
    for kind, number in plan:
        events += [("cell", number), ("cell_done", number)] if kind == "cell" else []
        events += [("call", number), ("answer", number)] if kind == "request" else []
    return [*events, ("done", None)]


@dataclass
class Channel:
    """Decodes one run's channel against its plan (see the module docstring).

    ``outcomes`` and ``cell_errors`` hold what was accepted; ``current`` is the step under way
    (``("cell", n)`` or ``("request", k)``, ``None`` between steps) so the caller knows where a
    process that ended early was; ``violation`` says what broke the protocol (``None`` if nothing
    did) and ``violation_request`` the request it named, if any.
    """

    plan: list[tuple[str, int]]
    limits: ChannelLimits = field(default_factory=ChannelLimits)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cell_errors: dict[int, str | None] = field(default_factory=dict)
    current: tuple[str, int] | None = None
    done: bool = False
    received: int = 0
    violation: str | None = None
    violation_request: int | None = None

    def __post_init__(self) -> None:
        self._expected = expected_events(self.plan)
        self._next = 0
        self._pending = bytearray()

    @property
    def any_event(self) -> bool:
        """Whether at least one event was accepted."""
        return self._next > 0

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes read from the channel; ``False`` once a violation was seen."""
        if self.violation is not None:
            return False
        self.received += len(chunk)
        if self.received > self.limits.total_bytes:
            return self._violate(f"more than {_size(self.limits.total_bytes)} in all")
        if self.done and chunk:
            return self._violate("data after the `done` event")
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._pending += chunk[start:end]
            start = end + 1
            line, self._pending = bytes(self._pending), bytearray()
            if not self._line(line):
                return False
            if self.done and start < len(chunk):
                return self._violate("data after the `done` event")
        self._pending += chunk[start:]
        if len(self._pending) > self.limits.line_bytes:
            return self._violate(f"a message longer than {_size(self.limits.line_bytes)}")
        return True

    def _line(self, line: bytes) -> bool:
        if len(line) > self.limits.line_bytes:
            return self._violate(f"a message longer than {_size(self.limits.line_bytes)}")
        if sum(line.count(byte) for byte in STRUCTURE) > self.limits.line_items:
            return self._violate(f"a message of more than {self.limits.line_items} values")
        try:
            event = wire.loads(line)
        except (wire.WireError, UnicodeDecodeError, OverflowError, MemoryError):
            return self._violate("a message that is not valid JSON")
        kind = event.get("event") if isinstance(event, dict) else None
        if not isinstance(kind, str) or EVENT_KEYS.get(kind) != set(event):
            return self._violate("a message that is not one of the protocol's events")
        number = event.get("cell", event.get("request"))
        if number is not None and type(number) is not int:
            return self._violate(f"a `{kind}` event with a number that is not an integer")
        want_kind, want_number = self._expected[self._next]
        answer = kind in ("outcome", "unsendable")
        if (want_kind != ("answer" if answer else kind)) or number != want_number:
            return self._violate(f"{self._describe(kind, number)} {self._when()}", kind, number)
        self._next += 1
        if kind == "cell":
            self.current = ("cell", number)
        elif kind == "cell_done":
            error = event["error"]
            if error is not None and not isinstance(error, str):
                return self._violate("a `cell_done` event whose error is not text")
            self.cell_errors[number] = error[:500] if error else None
            self.current = None
        elif kind == "call":
            self.current = ("request", number)
        elif kind == "outcome":
            self.outcomes[number] = sanitize(event["outcome"])
            self.current = None
        elif kind == "unsendable":
            unsent = {"status": BAD_RETURN, "type": "", "message": event["reason"]}
            self.outcomes[number] = sanitize(unsent)
            self.current = None
        else:
            self.done = True
        return True

    def _describe(self, kind: str, number: int | None) -> str:
        what = f"{'an' if kind[0] in 'aeiou' else 'a'} `{kind}` event"
        if kind in ("cell", "cell_done"):
            return f"{what} for cell {number}"
        return f"{what} for request {number}" if number is not None else what

    def _when(self) -> str:
        if self.done:
            return "after `done`"
        if self.current is None:
            return "between steps" if self._next else "before anything ran"
        kind, number = self.current
        return f"while cell {number} ran" if kind == "cell" else f"during request {number}"

    def _violate(self, what: str, kind: str | None = None, number: int | None = None) -> bool:
        self.violation = f"the channel carried {what}"
        planned = {k for step, k in self.plan if step == "request"}
        if kind in ("call", "outcome", "unsendable") and number in planned:
            self.violation_request = number
        self._pending = bytearray()
        return False


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count} bytes"
