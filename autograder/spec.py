"""Checks as data: cases grouped into graded groups, one :class:`Check` per graded name.

A case has two halves that never need to share a process:

* the **harness** (named by :attr:`Case.harness`, looked up in :mod:`autograder.harness`) drives the
  student's object with the case's plain-data :attr:`Case.payload` and returns an *outcome*: a dict
  of plain data (numbers, strings, arrays, lists and dicts of those);
* the **verdict** (:attr:`Case.verdict`) compares that outcome with the reference and returns
  ``None`` when the case passes, or a short description of what went wrong in the book's words.

Verdicts may import :mod:`solutions` and :mod:`mpmath`; harness code never does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Outcome = dict[str, Any]
Verdict = Callable[["Case", Outcome], str | None]


@dataclass(frozen=True)
class Case:
    """One input for a graded name.

    Parameters
    ----------
    label
        How the input is shown in feedback, e.g. ``"x = [1000.0, 1001.0, 999.0]"``.
    payload
        Plain data handed to the harness (for the ``call`` harness: ``args`` and ``kwargs``).
    verdict
        Judges the harness's outcome; returns ``None`` or the failure in the book's words.
    harness
        Name of the harness in :data:`autograder.harness.HARNESSES`.
    """

    label: str
    payload: dict[str, Any]
    verdict: Verdict
    harness: str = "call"


@dataclass(frozen=True)
class Group:
    """A graded group of cases: all of them must pass for the group's points.

    ``make_cases`` is called once, lazily, so importing the checks stays cheap. ``hint`` is the
    likely cause of a failure in the chapter's words and ``section`` the part of the book to
    re-read. With ``trap_overflow`` the student's code runs under ``np.errstate(over="raise")``.
    """

    name: str
    points: float
    description: str
    make_cases: Callable[[], Sequence[Case]]
    hint: str
    section: str
    trap_overflow: bool = False
    time_limit: float = 10.0

    @functools.cached_property
    def cases(self) -> tuple[Case, ...]:
        cases = tuple(self.make_cases())
        if not cases:
            raise ValueError(f"group {self.name!r} has no cases")
        return cases


@dataclass(frozen=True)
class Check:
    """Everything the grader knows about one graded name of one assignment."""

    assignment: str
    name: str
    groups: tuple[Group, ...] = field(default_factory=tuple)

    @property
    def max_score(self) -> float:
        return sum(group.points for group in self.groups)

    def group(self, name: str) -> Group:
        """Return the group called ``name``; ``ValueError`` naming the valid groups otherwise."""
        for group in self.groups:
            if group.name == name:
                return group
        valid = ", ".join(repr(g.name) for g in self.groups)
        raise ValueError(
            f"autograder: {self.assignment}.{self.name} has no group {name!r}; "
            f"its groups are {valid}"
        )
