"""Every limit of the channel decoder (autograder.grader.sandbox.channel) at the limit and one
past it, with its real caps: bytes per line, bytes per run, values per line, and the sizes
``sanitize`` keeps of each text field; and the protocol's order, event by event.
"""

from __future__ import annotations

import pytest

from autograder.grader.sandbox.channel import Channel, ChannelLimits, expected_events, sanitize
from autograder.harness import wire

LIMITS = ChannelLimits()
MB = 2**20
# The documented caps, written out: the tests below build inputs from these, not from the
# code's own values, so a changed cap fails them.
LINE_BYTES, TOTAL_BYTES, LINE_ITEMS = 8 * MB, 32 * MB, 50_000


def line(event: dict) -> bytes:
    return (wire.dumps(event) + "\n").encode()


def outcome_line(request: int, stdout: str = "") -> bytes:
    outcome = {"status": "returned", "value": 1.5, "type": "float", "stdout": stdout}
    return line({"event": "outcome", "request": request, "outcome": outcome})


def stream(plan, outcomes: dict[int, bytes] | None = None) -> list[bytes]:
    """The worker's lines for ``plan``, with ``outcomes[k]`` as request k's answer line."""
    outcomes = outcomes or {}
    lines = []
    for kind, number in expected_events(plan):
        if kind == "cell":
            lines.append(line({"event": "cell", "cell": number}))
        elif kind == "cell_done":
            lines.append(line({"event": "cell_done", "cell": number, "error": None}))
        elif kind == "call":
            lines.append(line({"event": "call", "request": number}))
        elif kind == "answer":
            lines.append(outcomes.get(number) or outcome_line(number))
        else:
            lines.append(line({"event": "done"}))
    return lines


def padded(request: int, size: int) -> bytes:
    """Request ``request``'s outcome line, exactly ``size`` bytes long without its newline."""
    base = len(outcome_line(request)) - 1
    return outcome_line(request, "x" * (size - base))


def run(plan, lines: list[bytes], chunk: int = MB) -> Channel:
    channel = Channel(plan, LIMITS)
    data = b"".join(lines)
    for start in range(0, len(data), chunk):
        channel.feed(data[start : start + chunk])
    return channel


def test_the_caps_are_the_documented_values():
    assert (LINE_BYTES, TOTAL_BYTES, LINE_ITEMS) == (
        LINE_BYTES,
        TOTAL_BYTES,
        LINE_ITEMS,
    )


@pytest.mark.parametrize("chunk", [MB, 10 * MB])
def test_a_line_of_8_mb_is_accepted_and_one_byte_more_is_a_violation(chunk):
    plan = [("request", 0)]
    at_limit = padded(0, LINE_BYTES)
    assert len(at_limit) == LINE_BYTES + 1  # and its newline
    channel = run(plan, stream(plan, {0: at_limit}), chunk)
    assert channel.violation is None and channel.done
    assert channel.outcomes[0]["stdout"] == "x" * 2000  # kept cut to 2000 characters
    channel = run(plan, stream(plan, {0: padded(0, LINE_BYTES + 1)}), chunk)
    assert channel.violation == "the channel carried a message longer than 8 MB"
    assert channel.outcomes == {} and not channel.done


def test_an_unfinished_line_is_a_violation_as_soon_as_it_passes_8_mb():
    channel = Channel([("request", 0)], LIMITS)
    assert channel.feed(b'"' + b"x" * (LINE_BYTES - 1)) is True
    assert channel.violation is None
    assert channel.feed(b"x") is False
    assert channel.violation == "the channel carried a message longer than 8 MB"


def test_a_run_of_32_mb_is_accepted_and_one_byte_more_is_a_violation():
    plan = [("request", k) for k in range(5)]
    small = sum(map(len, stream(plan))) - sum(len(outcome_line(k)) for k in range(5))
    share = (TOTAL_BYTES - small) // 5  # each outcome line's share, newline included
    extra = TOTAL_BYTES - small - 5 * share
    sizes = {k: share - 1 + (extra if k == 0 else 0) for k in range(5)}
    lines = stream(plan, {k: padded(k, size) for k, size in sizes.items()})
    assert sum(map(len, lines)) == TOTAL_BYTES
    channel = run(plan, lines)
    assert channel.violation is None and channel.done and len(channel.outcomes) == 5
    sizes[4] += 1
    channel = run(plan, stream(plan, {k: padded(k, size) for k, size in sizes.items()}))
    assert channel.violation == "the channel carried more than 32 MB in all"
    assert not channel.done


def test_a_line_of_50000_values_is_accepted_and_one_more_is_a_violation():
    plan = [("request", 0)]
    # the decoder counts the bytes [ { , : anywhere in the line, as an upper bound on values
    base = sum(outcome_line(0).count(byte) for byte in b"[{,:")
    at_limit = outcome_line(0, "," * (LINE_ITEMS - base))
    assert sum(at_limit.count(byte) for byte in b"[{,:") == LINE_ITEMS
    channel = run(plan, stream(plan, {0: at_limit}))
    assert channel.violation is None and channel.done
    past = outcome_line(0, "," * (LINE_ITEMS - base + 1))
    channel = run(plan, stream(plan, {0: past}))
    assert channel.violation == "the channel carried a message of more than 50000 values"


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        (ChannelLimits(line_bytes=MB), "longer than 1 MB"),
        (ChannelLimits(line_bytes=MB - 1), "longer than 1048575 bytes"),
        (ChannelLimits(line_bytes=MB + MB // 2), "longer than 1.5 MB"),
    ],
)
def test_sizes_are_named_in_mb_from_one_mb_up(limits, named):
    channel = Channel([("request", 0)], limits)
    channel.feed(b"x" * (limits.line_bytes + 1))
    assert named in channel.violation


# ------------------------------------------------------------------ what sanitize keeps


def test_each_text_field_is_kept_to_2000_characters():
    raw = {"status": "raised", "exc_type": "E" * 2001}
    raw |= {key: key[0] * 2001 for key in ("message", "where", "type", "stdout")}
    outcome = sanitize(raw)
    for key in ("message", "where", "type", "stdout", "exc_type"):
        assert outcome[key] == raw[key][:2000] and len(outcome[key]) == 2000
    exact = sanitize({"status": "raised", "message": "m" * 2000})
    assert exact["message"] == "m" * 2000


def test_twenty_warnings_of_200_characters_are_kept():
    warnings = [f"{n:03}" + "w" * 197 for n in range(21)]
    kept = sanitize({"status": "returned", "warnings": warnings + ["x" * 201]})["warnings"]
    assert kept == warnings[:20]
    long = sanitize({"status": "returned", "warnings": ["w" * 201]})["warnings"]
    assert long == ["w" * 200]


def test_missing_or_odd_fields_get_their_defaults():
    outcome = sanitize({"status": "returned", "value": 2.0, "extra": [1]})
    assert outcome == {
        "status": "returned",
        "value": 2.0,
        "extra": [1],
        "message": "",
        "where": "",
        "type": "",
        "stdout": "",
        "exc_type": "Exception",
        "mutated": False,
        "warnings": [],
        "seconds": 0.0,
    }
    odd = sanitize(
        {"status": "raised", "message": 3, "mutated": 1, "warnings": "w", "seconds": True}
    )
    assert odd["message"] == "" and odd["mutated"] is False
    assert odd["warnings"] == [] and odd["seconds"] == 0.0
    kept = sanitize({"status": "raised", "mutated": True, "seconds": 2, "exc_type": "KeyError"})
    assert kept["mutated"] is True and kept["seconds"] == 2.0 and type(kept["seconds"]) is float
    assert kept["exc_type"] == "KeyError"
    assert sanitize({"status": "returned", "seconds": 0.25})["seconds"] == 0.25


@pytest.mark.parametrize(
    "status", ["returned", "raised", "overflow", "timeout", "bad_return", "not_run"]
)
def test_every_status_of_the_protocol_is_kept(status):
    assert sanitize({"status": status})["status"] == status


@pytest.mark.parametrize("raw", [None, [], "returned", {"status": "passed"}, {"value": 1}])
def test_anything_else_is_a_malformed_result(raw):
    assert sanitize(raw) == {
        "status": "not_run",
        "message": "the notebook's process sent a malformed result",
    }


def test_a_cell_error_is_kept_to_500_characters():
    plan = [("cell", 1), ("cell", 2)]
    lines = stream(plan)
    lines[1] = line({"event": "cell_done", "cell": 1, "error": "e" * 501})
    lines[3] = line({"event": "cell_done", "cell": 2, "error": ""})
    channel = run(plan, lines)
    assert channel.cell_errors == {1: "e" * 500, 2: None}
    lines[1] = line({"event": "cell_done", "cell": 1, "error": 7})
    assert (
        run(plan, lines).violation
        == "the channel carried a `cell_done` event whose error is not text"
    )


# ------------------------------------------------------------------ the protocol, step by step


def test_the_expected_events_of_a_plan():
    assert expected_events([("cell", 2), ("request", 0), ("request", 3)]) == [
        ("cell", 2),
        ("cell_done", 2),
        ("call", 0),
        ("answer", 0),
        ("call", 3),
        ("answer", 3),
        ("done", None),
    ]
    assert expected_events([]) == [("done", None)]


def test_current_step_follows_the_stream_event_by_event():
    plan = [("cell", 1), ("request", 0)]
    lines = stream(plan)
    channel = Channel(plan, LIMITS)
    seen = []
    for text in lines:
        assert channel.feed(text) is True
        seen.append((channel.current, channel.any_event, channel.done))
    assert seen == [
        (("cell", 1), True, False),
        (None, True, False),
        (("request", 0), True, False),
        (None, True, False),
        (None, True, True),
    ]
    assert Channel(plan, LIMITS).any_event is False
    assert channel.received == sum(map(len, lines))


@pytest.mark.parametrize(
    ("lines", "violation", "named"),
    [
        ([{"event": "done"}], "a `done` event before anything ran", None),
        ([{"event": "call", "request": 0}], "a `call` event for request 0 before anything ran", 0),
        (
            [{"event": "cell", "cell": 1}, {"event": "call", "request": 0}],
            "a `call` event for request 0 while cell 1 ran",
            0,
        ),
        (
            [{"event": "cell", "cell": 1}, {"event": "cell_done", "cell": 2, "error": None}],
            "a `cell_done` event for cell 2 while cell 1 ran",
            None,
        ),
        (
            [
                {"event": "cell", "cell": 1},
                {"event": "cell_done", "cell": 1, "error": None},
                {"event": "unsendable", "request": 0, "reason": "r"},
            ],
            "an `unsendable` event for request 0 between steps",
            0,
        ),
        (
            [
                {"event": "cell", "cell": 1},
                {"event": "cell_done", "cell": 1, "error": None},
                {"event": "call", "request": 0},
                {"event": "outcome", "request": 5, "outcome": {"status": "returned"}},
            ],
            "an `outcome` event for request 5 during request 0",
            None,  # request 5 is not in the plan: nothing to charge it to
        ),
        (
            [{"event": "cell", "cell": 1}, {"event": "done"}],
            "a `done` event while cell 1 ran",
            None,
        ),
    ],
)
def test_an_event_out_of_turn_is_named_with_when_it_came(lines, violation, named):
    plan = [("cell", 1), ("request", 0)]
    channel = run(plan, [line(event) for event in lines])
    assert channel.violation == f"the channel carried {violation}"
    assert channel.violation_request == named


def test_after_done_nothing_more_is_accepted():
    plan = [("request", 0)]
    data = b"".join(stream(plan))
    channel = Channel(plan, LIMITS)
    assert channel.feed(data) is True and channel.done
    assert channel.feed(b"") is True  # an empty read is the end of the stream, not data
    assert channel.feed(b"\n") is False
    assert channel.violation == "the channel carried data after the `done` event"
    same_chunk = Channel(plan, LIMITS)
    assert same_chunk.feed(data + b" ") is False
    assert same_chunk.violation == "the channel carried data after the `done` event"


def test_a_bad_line_stops_the_feed_and_is_named_exactly():
    plan = [("cell", 1)]
    channel = Channel(plan, LIMITS)
    assert channel.feed(b"not json\n") is False
    assert channel.violation == "the channel carried a message that is not valid JSON"
    channel = Channel(plan, LIMITS)
    assert channel.feed(line({"event": "cell", "cell": 1, "x": 1})) is False
    assert (
        channel.violation
        == "the channel carried a message that is not one of the protocol's events"
    )
    channel = Channel(plan, LIMITS)
    lines = [line({"event": "cell", "cell": 1}), line({"event": "cell", "cell": 1})]
    assert channel.feed(b"".join(lines)) is False
    assert channel.violation == "the channel carried a `cell` event for cell 1 while cell 1 ran"


def test_after_an_unsendable_answer_the_run_is_between_steps():
    plan = [("request", 0), ("cell", 1)]
    channel = Channel(plan, LIMITS)
    channel.feed(line({"event": "call", "request": 0}))
    assert channel.feed(line({"event": "unsendable", "request": 0, "reason": "a lambda"}))
    assert channel.current is None
    assert channel.outcomes[0]["status"] == "bad_return" and channel.outcomes[0]["type"] == ""
    assert channel.feed(line({"event": "cell_done", "cell": 1, "error": None})) is False
    assert channel.violation == "the channel carried a `cell_done` event for cell 1 between steps"
