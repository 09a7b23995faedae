"""The channel decoder (:mod:`autograder.grader.sandbox.channel`) in-process: it accepts exactly
the worker's protocol, names every violation, keeps its memory bounded under a flood, and never
raises, whatever bytes arrive (hypothesis fuzz of the byte stream, its chunking and its events)."""

from __future__ import annotations

import json
import resource
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.grader.sandbox.channel import Channel, ChannelLimits, expected_events
from autograder.harness import wire
from autograder.judge.compare import UNREADABLE, status_problem

PLAN = [("cell", 1), ("request", 0), ("cell", 3), ("request", 1)]
OUTCOME = {"status": "returned", "value": np.arange(3.0), "type": "ndarray"}


def line(event: dict) -> bytes:
    return (wire.dumps(event) + "\n").encode()


def honest_stream(plan=PLAN) -> list[bytes]:
    """The lines the worker sends for ``plan``."""
    lines = []
    for kind, number in expected_events(plan):
        if kind in ("cell", "call"):
            key = "cell" if kind == "cell" else "request"
            lines.append(line({"event": kind, key: number}))
        elif kind == "cell_done":
            lines.append(line({"event": "cell_done", "cell": number, "error": None}))
        elif kind == "answer":
            lines.append(line({"event": "outcome", "request": number, "outcome": OUTCOME}))
        else:
            lines.append(line({"event": "done"}))
    return lines


def feed_all(data: bytes, chunk: int = 1 << 20, limits=None) -> Channel:
    channel = Channel(PLAN, limits or ChannelLimits())
    for start in range(0, len(data), chunk):
        channel.feed(data[start : start + chunk])
    return channel


def test_the_honest_stream_is_accepted_in_any_chunking():
    data = b"".join(honest_stream())
    for chunk in (1, 7, 64, len(data)):
        channel = feed_all(data, chunk)
        assert channel.violation is None and channel.done
        assert sorted(channel.outcomes) == [0, 1]
        assert np.array_equal(channel.outcomes[1]["value"], np.arange(3.0))
        assert channel.cell_errors == {1: None, 3: None}


def test_a_partial_last_line_is_where_the_process_died_not_a_violation():
    lines = honest_stream()
    channel = feed_all(b"".join(lines[:3]) + lines[3][:10])
    assert channel.violation is None and not channel.done
    assert channel.current == ("request", 0) and channel.outcomes == {}


def test_the_unsendable_event_is_a_bad_return():
    lines = honest_stream()
    lines[3] = line({"event": "unsendable", "request": 0, "reason": "a lambda"})
    channel = feed_all(b"".join(lines))
    assert channel.violation is None and channel.outcomes[0]["status"] == "bad_return"


FORGED = line({"event": "outcome", "request": 1, "outcome": {"status": "returned", "value": 1}})


@pytest.mark.parametrize(
    ("stream", "seen", "named"),
    [
        # an outcome while a cell runs: the "speaking out of turn" attack
        (
            lambda s: s[:1] + [FORGED] + s[1:],
            "an `outcome` event for request 1 while cell 1 ran",
            1,
        ),
        # a call announced twice
        (lambda s: s[:3] + [s[2]] + s[3:], "`call` event for request 0 during request 0", 0),
        # a cell that is not in the plan (the 100k fake cell_done attack)
        (
            lambda s: s[:2] + [line({"event": "cell_done", "cell": 99, "error": None})] * 5,
            "`cell_done` event for cell 99 between steps",
            None,
        ),
        # anything after done, in the same chunk or later
        (lambda s: s + [FORGED], "data after the `done` event", None),
        # not JSON, not an event, extra keys, a bool where a number goes
        (lambda s: s[:1] + [b"not json\n"], "a message that is not valid JSON", None),
        (lambda s: s[:1] + [b"[1, 2]\n"], "not one of the protocol's events", None),
        (lambda s: s[:1] + [line({"event": "cell", "cell": 1, "x": 1})], "not one of", None),
        (lambda s: [line({"event": "cell", "cell": True})], "number that is not an integer", None),
        # a pickle written to every descriptor
        (lambda s: s[:1] + [b"\x80\x04\x95\x00\n"], "not valid JSON", None),
    ],
)
def test_each_violation_is_named_with_what_was_seen(stream, seen, named):
    channel = feed_all(b"".join(stream(honest_stream())))
    assert channel.violation is not None and seen in channel.violation
    assert channel.violation_request == named
    assert all(type(o.get("value")) is not int for o in channel.outcomes.values())  # no forgery
    assert channel.feed(b"more") is False  # and nothing more is decoded


def test_caps_on_line_length_items_and_total_bytes():
    limits = ChannelLimits(line_bytes=1000, total_bytes=5000, line_items=50)
    long_line = b'"' + b"x" * 2000
    assert "longer than 1000 bytes" in feed_all(long_line, 100, limits).violation
    many = line({"event": "outcome", "request": 0, "outcome": {"value": list(range(60))}})
    assert "more than 50 values" in feed_all(honest_stream()[0] + many, limits=limits).violation
    small_total = ChannelLimits(total_bytes=300)
    assert (
        "more than 300 bytes in all"
        in feed_all(b"".join(honest_stream()), 50, small_total).violation
    )


def repeated(unit: bytes, total: int):
    """``unit`` repeated to about ``total`` bytes, in 1 MB chunks made on the fly."""
    block = unit * max(1, 2**20 // len(unit))
    for _ in range(max(1, total // len(block))):
        yield block


def flood(prefix: bytes, unit: bytes, total: int, suffix: bytes = b"\n"):
    yield prefix
    yield from repeated(unit, total)
    yield suffix


def test_a_flood_leaves_the_grader_memory_bounded():
    """Tens of MB of valid JSON of many shapes, fed as it comes: what the decoder allocates
    (traced) stays a small multiple of the line cap, and the process's peak RSS grows by far
    less than the 200 MB the issue allows."""
    limits = ChannelLimits()
    start = b"".join(honest_stream()[:3])
    outcome = b'{"event":"outcome","request":0,"outcome":{"status":"returned","value":"'
    floods = {
        "numbers": flood(b"[", b"0,", 40 * 2**20, b"0]\n"),
        "nested": flood(b"", b"[", 2**20, b"]" * 2**20 + b"\n"),
        "events": repeated(line({"event": "cell_done", "cell": 1, "error": "e" * 100}), 40 * 2**20),
        "in_turn_string": flood(start + outcome, b"y", 9 * 2**20, b'"}}\n'),
        "many_in_turn": (
            line({"event": "call", "request": k})
            + line({"event": "outcome", "request": k, "outcome": {"v": "y" * 7 * 2**20}})
            for k in range(10)
        ),
    }
    many_requests = [("request", k) for k in range(10)]
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        for name, chunks in floods.items():
            channel = Channel(many_requests if name == "many_in_turn" else PLAN, limits)
            for chunk in chunks:
                if not channel.feed(chunk):
                    break
            assert channel.violation is not None, name
            del channel
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
    assert peak < 5 * limits.line_bytes, peak / 2**20
    assert grown < 200, grown


EVENTS = st.sampled_from(
    [
        {"event": "cell", "cell": 1},
        {"event": "cell_done", "cell": 1, "error": "ValueError: x"},
        {"event": "call", "request": 0},
        {"event": "outcome", "request": 0, "outcome": {"status": "returned", "value": 1.0}},
        {"event": "unsendable", "request": 1, "reason": "x"},
        {"event": "done"},
        {"event": "outcome", "request": -1, "outcome": "junk"},
        {"event": "cell", "cell": 10**30},
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, 2000),
    insert=st.binary(max_size=200),
    flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=5),
    chunk=st.integers(1, 300),
)
def test_fuzz_corrupted_streams_never_raise_and_never_accept_forgeries(cut, insert, flips, chunk):
    data = bytearray(b"".join(honest_stream()))
    for position, value in flips:
        if position < len(data):
            data[position] = value
    position = cut % (len(data) + 1)
    data[position:position] = insert
    channel = feed_all(bytes(data), chunk)
    assert set(channel.outcomes) <= {0, 1}
    if channel.violation is None and channel.done:
        assert set(channel.outcomes) == {0, 1}


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=12), st.integers(1, 64))
def test_fuzz_event_sequences_are_accepted_only_in_protocol_order(events, chunk):
    data = b"".join(line(event) for event in events)
    channel = feed_all(data, chunk)

    def step(event: dict) -> tuple:
        kind = "answer" if event["event"] in ("outcome", "unsendable") else event["event"]
        return kind, event.get("cell", event.get("request"))

    honest = [step(json.loads(raw)) for raw in honest_stream()]
    plain = [step(event) for event in events]
    accepted = 0
    while accepted < len(plain) and accepted < len(honest) and plain[accepted] == honest[accepted]:
        accepted += 1
    if accepted < len(plain):
        assert channel.violation is not None
    else:
        assert channel.violation is None


def worker_lines(returned) -> list[bytes]:
    """The lines the worker writes for one ``call`` request whose function returns ``returned``."""
    import os

    from autograder.harness import worker

    read_end, write_end = os.pipe()
    old_fd, worker.CHANNEL_FD = worker.CHANNEL_FD, write_end
    try:
        request = {
            "variable": "f",
            "harness": "autograder.harness.calls:call",
            "payload": wire.dumps({"args": []}),
            "trap_overflow": False,
            "time_limit": 10.0,
        }
        worker.run_request({"f": lambda: returned}, 0, request)
    finally:
        worker.CHANNEL_FD = old_fd
        os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        return stream.read().splitlines(keepends=True)


@pytest.mark.parametrize("ndim", [32, 33, 64])
def test_an_array_of_many_dimensions_is_a_wrong_answer_not_tampering(ndim):
    lines = honest_stream()
    assert json.loads(lines[2]) == {"event": "call", "request": 0}
    lines[2:4] = worker_lines(np.zeros((1,) * ndim))
    channel = feed_all(b"".join(lines))
    assert channel.violation is None and channel.done
    outcome = channel.outcomes[0]
    if ndim <= wire.MAX_DEPTH:
        assert outcome["status"] == "returned" and outcome["value"].shape == (1,) * ndim
    else:
        assert outcome["status"] == "bad_return"
        assert f"{ndim} dimensions" in outcome["message"]
        problem = status_problem(outcome)
        assert problem.kind == UNREADABLE and problem.startswith(
            "returned a value, which the grader"
        )
