"""Builders shared by the assignments' checks: cases, standard verdicts, multiple choice.

The groups that use them are declared in each assignment's TOML file
(:mod:`autograder.checks.declarations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.harness import calls
from autograder.judge import compare
from autograder.judge.feedback import shorten
from autograder.judge.spec import Case, Check, Group, Outcome, Verdict


def case(label: str, args: Sequence[Any], verdict: Verdict, **payload: Any) -> Case:
    """A ``call`` case: the student's function is called with ``args`` (and ``kwargs=...``).

    Extra payload keys (``kwargs``, ``iterate``) are passed through to the harness.
    """
    return Case(label=label, payload={"args": list(args), **payload}, verdict=verdict)


def label(**arguments: Any) -> str:
    """``"x = [1.0, 2.0], axis = 0"`` for feedback."""
    return ", ".join(f"{key} = {shorten(value, 70)}" for key, value in arguments.items())


def expect_raises(*exception_names: str) -> Verdict:
    """A verdict that wants the call to raise one of ``exception_names`` with a message."""

    def verdict(case: Case, outcome: Outcome) -> str | None:
        return compare.raised(outcome, exception_names)

    return verdict


def expect_close(
    expected: Any,
    *,
    dtype: Any,
    ulps: float | None = None,
    atol: Any = None,
    note: str = "",
) -> Verdict:
    """A verdict for a floating result compared elementwise with high-precision ``expected``.

    The result must have ``expected``'s shape (``()`` for a single number: a Python float counts
    as float64, a NumPy scalar keeps its dtype) and the floating ``dtype``; ``ulps`` and ``atol``
    are the tolerances of :func:`autograder.judge.compare.close`, ``note`` says where they come
    from.
    """
    expected = np.asarray(expected, dtype=np.float64)

    def verdict(case: Case, outcome: Outcome) -> str | None:
        got, problem = compare.float_array(outcome, dtype=dtype, shape=expected.shape)
        if problem:
            return problem
        return compare.close(got, expected, dtype=dtype, ulps=ulps, atol=atol, tolerance_note=note)

    return verdict


def multiple_choice(
    assignment: str, name: str, answer: str, options: str, section: str, points: float = 1.0
) -> Check:
    """A multiple-choice question ``name`` whose right option (a letter) is ``answer``;
    ``section`` is the label of the section the question comes from.

    The student sets a variable to one letter of ``options`` (e.g. ``"abcd"``); case and
    surrounding spaces are ignored. Feedback never reveals the right answer.
    """
    valid = ", ".join(repr(o) for o in options)

    def verdict(case: Case, outcome: Outcome) -> str | None:
        value = outcome.get("value")
        if not isinstance(value, str) or value.strip().lower() not in options:
            return compare.Problem(
                f"the answer must be one of {valid}; got {shorten(value)}", compare.WRONG_TYPE
            )
        if value.strip().lower() != answer:
            return f"{value.strip().lower()!r} is not the best answer"
        return None

    group = Group(
        name="answer",
        points=points,
        description="multiple choice",
        make_cases=lambda: [Case("your answer", {}, verdict, harness=calls.value)],
        hints={
            compare.WRONG: "think about which option matches what the chapter measured and "
            "explained."
        },
        section=section,
    )
    return Check(assignment, name, (group,))
