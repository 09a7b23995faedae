"""Checks as data: cases grouped into graded groups, one :class:`Check` per graded name.

A case has two halves that never need to share a process:

* the **harness** (:attr:`Case.harness`, a function of :mod:`autograder.harness`) drives the
  student's object with the case's plain-data :attr:`Case.payload` and returns an *outcome*: a dict
  of plain data (numbers, strings, arrays, lists and dicts of those);
* the **verdict** (:attr:`Case.verdict`) compares that outcome with the reference and returns
  ``None`` when the case passes, or a short description of what went wrong in the book's words.

Verdicts may import :mod:`solutions` and :mod:`mpmath`; harness code never does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograder.harness.calls import Harness, call
from autograder.harness.numerics import library_defaults
from autograder.harness.outcome import Outcome

Verdict = Callable[["Case", Outcome], str | None]


@dataclass(frozen=True)
class Case:
    """One input for a graded name.

    Parameters
    ----------
    label
        How the input is shown in feedback, e.g. ``"x = [1000.0, 1001.0, 999.0]"``.
    payload
        Plain data handed to the harness (for :func:`~autograder.harness.calls.call`: ``args``
        and ``kwargs``).
    verdict
        Judges the harness's outcome; returns ``None`` or the failure in the book's words.
    harness
        The function that drives the student's object:
        :func:`~autograder.harness.calls.call` (the default),
        :func:`~autograder.harness.calls.value` or a function of an assignment's module in
        :mod:`autograder.harness.drivers`.
    """

    label: str
    payload: dict[str, Any]
    verdict: Verdict
    harness: Harness = call


@dataclass(frozen=True, kw_only=True)
class Group:
    """A graded group of cases: all of them must pass for the group's points.

    An assignment's groups are declared as data in ``autograder/checks/<assignment>.toml``, one
    table per group, and built by :mod:`autograder.checks.declarations`; only the function that
    builds the cases is code, in the assignment's module beside the file:

    ``name``, ``points``, ``description``
        How the group is listed ("large", 3, "inputs of large magnitude, overflow trapped").
    ``make_cases``
        Builds the cases (the function the table's ``cases`` names); called once, lazily, so
        importing the checks stays cheap.
    ``hints``
        The likely cause of a failure, in the chapter's words, per diagnosis
        (:data:`autograder.judge.compare.DIAGNOSES`: ``"overflow"``, ``"accuracy"``,
        ``"dtype"``…); a diagnosis without an entry gets
        :data:`autograder.judge.feedback.NEUTRAL_HINTS`' hint.
    ``section``
        The MyST label of the section to re-read (``"ch02-stable-sigmoid"``), see
        :mod:`autograder.judge.sections`.
    ``trap_overflow``
        Run the student's code under ``np.errstate(over="raise")``, which the student's own
        ``np.errstate``/``np.seterr`` cannot relax (see :mod:`autograder.harness.calls`).
    ``time_limit``
        Seconds allowed per case.
    """

    name: str
    points: float
    description: str
    make_cases: Callable[[], Sequence[Case]]
    hints: Mapping[str, str] = field(default_factory=dict)
    section: str
    trap_overflow: bool = False
    time_limit: float = 10.0

    @functools.cached_property
    def cases(self) -> tuple[Case, ...]:
        """The cases, built on first use in the libraries' default numerical environment with
        NumPy's floating-point errors ignored: the reference values are the grader's
        arithmetic, which the notebook's settings (``check()`` runs in the student's kernel;
        see :mod:`autograder.harness.numerics`) must not change or turn into exceptions."""
        with library_defaults(errors="ignore"):
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
