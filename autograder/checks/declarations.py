"""The graded names of an assignment, declared as data in ``<assignment>.toml`` beside its module.

Points, descriptions, hints (in the chapters' words) and section labels are course data: they
live in ``autograder/checks/<assignment>.toml``. The module ``<assignment>.py`` keeps what is
code — the functions that build each group's cases, with their verdicts and tolerances — and
ends with ``CHECKS = declared_checks(__name__)``.

The file, in grading order (graded names, and groups within each name)::

    [[softmax]]                 # one table per graded group of the graded name `softmax`
    name = "large"
    points = 2
    description = "logits of large magnitude (±1000, 1e4), overflow trapped"
    cases = "softmax_large"     # the function of the module that builds the cases
    section = "ch04-shift-invariance"
    hints = { shift = ["overflow", "inf", "nan"], subnormal = ["accuracy"] }
    trap_overflow = true        # optional, default false
    time_limit = 60.0           # optional, seconds per case, default 10.0

    [q1]                        # a multiple-choice question: one group "answer"
    answer = "b"                # the right letter among `options`
    options = "abcd"
    section = "ch04-log-softmax"
    points = 1.0                # optional, default 1.0

    [hints]                     # the hint texts the groups name, by a short name
    shift = "exp of a large logit overflows to inf …"

A group's ``hints`` maps hint names to the diagnoses they answer (the strings of
:data:`autograder.judge.compare.DIAGNOSES`); a diagnosis without a hint gets
:data:`autograder.judge.feedback.NEUTRAL_HINTS`' hint. The name ``hints`` is reserved for the
table of texts.

Everything is validated when the module is imported, and a mistake raises
:class:`DeclarationError` naming the file, the table and the key: a missing or unknown key, a
value of the wrong type, points or a time limit that are not a positive number, an unknown
diagnosis or section label, a diagnosis given two hints, a hint name missing from ``[hints]``
or a ``[hints]`` entry no group uses, ``cases`` naming no function of the module (that can be
called without arguments), duplicate group names within a graded name, or a graded name
without groups. TOML itself refuses a graded name declared twice.
"""

from __future__ import annotations

import difflib
import inspect
import math
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from autograder.checks.common import multiple_choice
from autograder.judge import sections
from autograder.judge.compare import DIAGNOSES
from autograder.judge.spec import Case, Check, Group

HINTS = "hints"  # the table of hint texts, never a graded name
# The keys of a group's table and of a question's, with the type of their values (``float``: a
# positive number, integer or not).
GROUP_KEYS = {
    "name": str,
    "points": float,
    "description": str,
    "cases": str,
    "section": str,
    "hints": dict,
}
OPTIONAL_GROUP_KEYS = {"trap_overflow": bool, "time_limit": float}
QUESTION_KEYS = {"answer": str, "options": str, "section": str}
OPTIONAL_QUESTION_KEYS = {"points": float}
TYPE_NAMES = {str: "a string", bool: "true or false", dict: "a table"}


class DeclarationError(ValueError):
    """An assignment's TOML declarations are malformed; the message names file, table and key."""


def declared_checks(module_name: str) -> dict[str, Check]:
    """The checks of the assignment module ``module_name``, from the TOML file beside it.

    Called as ``CHECKS = declared_checks(__name__)`` at the end of the module, once its case
    builders are defined: ``cases`` names are resolved against the module's own functions
    (those defined in it, not imported). The assignment id is the module's last name
    component, and the file ``<that id>.toml`` in the module's folder.
    """
    module = sys.modules[module_name]
    builders = {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module_name
    }
    path = Path(module.__file__).with_suffix(".toml")
    return load_checks(path, module_name.rpartition(".")[2], builders)


def load_checks(
    path: Path, assignment: str, builders: Mapping[str, Callable[[], Sequence[Case]]]
) -> dict[str, Check]:
    """``{graded name: Check}`` of ``assignment`` declared in the TOML file ``path``, in the
    file's order; ``cases`` names are looked up in ``builders``.

    Raises :class:`DeclarationError` for any malformed declaration (see the module's
    docstring), before any case is built.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        if str(error).startswith("Cannot declare"):  # tomllib: "Cannot declare ('q1',) twice"
            advice = (
                "; a graded name is declared once, as [[name]] groups or as one [name] question"
            )
        elif str(error).startswith("Cannot overwrite"):  # a key given twice in one table
            advice = "; a key is given twice in one table: keep one"
        else:
            advice = ""
        raise DeclarationError(f"{path}: not valid TOML: {error}{advice}") from None
    reader = _Reader(Path(path), assignment, builders, data.pop(HINTS, {}))
    checks = {name: reader.check(name, value) for name, value in data.items()}
    unused = [name for name in reader.texts if name not in reader.used]
    if unused:
        it = "it" if len(unused) == 1 else "them"
        raise DeclarationError(
            f"{path}: [hints] {', '.join(unused)}: no group uses {it}; name {it} in a group's "
            f"hints or remove {it}"
        )
    return checks


class _Reader:
    """Reads one file's tables into checks, remembering which hint texts were used."""

    def __init__(
        self, path: Path, assignment: str, builders: Mapping[str, Callable], texts: Any
    ) -> None:
        self.path, self.assignment, self.builders = path, assignment, builders
        if not isinstance(texts, dict):
            self.fail("[hints]", "must be a table of hint texts")
        for name, text in texts.items():
            if not isinstance(text, str) or not text.strip():
                self.fail(f"[hints] {name}", "must be a non-empty string")
        self.texts: dict[str, str] = texts
        self.used: set[str] = set()

    def fail(self, where: str, what: str) -> NoReturn:
        raise DeclarationError(f"{self.path}: {where}: {what}")

    def check(self, name: str, value: Any) -> Check:
        if not name.isidentifier():
            self.fail(f"[{name}]", "a graded name must be a Python variable name")
        if isinstance(value, dict):
            return self.question(name, value)
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            self.fail(
                name,
                "must be [[name]] tables (graded groups) or a [name] table (a multiple-choice "
                "question)",
            )
        if not value:
            self.fail(f"[[{name}]]", "a graded name needs at least one group")
        groups = [self.group(name, number, table) for number, table in enumerate(value, 1)]
        seen: set[str] = set()
        for group in groups:
            if group.name in seen:
                self.fail(f'[[{name}]] "{group.name}"', "two groups have this name")
            seen.add(group.name)
        return Check(self.assignment, name, tuple(groups))

    def question(self, name: str, table: dict) -> Check:
        where = f"[{name}]"
        if set(table) & (set(GROUP_KEYS) - set(QUESTION_KEYS | OPTIONAL_QUESTION_KEYS)):
            self.fail(where, f"a graded group is written [[{name}]], with double brackets")
        self.keys(where, table, QUESTION_KEYS, OPTIONAL_QUESTION_KEYS)
        answer, options = table["answer"], table["options"]
        if not options.isalpha() or len(set(options)) != len(options):
            self.fail(
                f"{where} options", f"must be distinct letters such as 'abcd', not {options!r}"
            )
        if len(answer) != 1 or answer not in options:
            self.fail(f"{where} answer", f"must be one letter of {options!r}, not {answer!r}")
        self.section(where, table["section"])
        extra = {"points": table["points"]} if "points" in table else {}
        return multiple_choice(self.assignment, name, answer, options, table["section"], **extra)

    def group(self, check: str, number: int, table: dict) -> Group:
        given = table.get("name")
        where = f'[[{check}]] "{given}"' if isinstance(given, str) else f"[[{check}]] #{number}"
        self.keys(where, table, GROUP_KEYS, OPTIONAL_GROUP_KEYS)
        self.section(where, table["section"])
        return Group(
            name=table["name"],
            points=table["points"],
            description=table["description"],
            make_cases=self.builder(where, table["cases"]),
            hints=self.hints(where, table["hints"]),
            section=table["section"],
            **{key: table[key] for key in OPTIONAL_GROUP_KEYS if key in table},
        )

    def keys(self, where: str, table: dict, required: dict, optional: dict) -> None:
        """Refuse unknown or missing keys and values of the wrong type."""
        known = required | optional
        unknown = [key for key in table if key not in known]
        if unknown:
            self.fail(where, f"unknown key {unknown[0]!r}; the keys are {', '.join(known)}")
        missing = [key for key in required if key not in table]
        if missing:
            self.fail(where, f"missing key {missing[0]!r}")
        for key, value in table.items():
            kind = known[key]
            if kind is float:
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if not (number and math.isfinite(value) and value > 0):
                    self.fail(f"{where} {key}", f"must be a positive number, not {value!r}")
            elif not isinstance(value, kind) or (kind is str and not value.strip()):
                self.fail(f"{where} {key}", f"must be {TYPE_NAMES[kind]}, not {value!r}")

    def section(self, where: str, label: str) -> None:
        if label not in sections.TITLES:
            close = difflib.get_close_matches(label, sections.TITLES, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(
                f"{where} section",
                f"{label!r} is not a section label of autograder.judge.sections.TITLES"
                + suggestion,
            )

    def builder(self, where: str, name: str) -> Callable[[], Sequence[Case]]:
        function = self.builders.get(name)
        if function is None:
            close = difflib.get_close_matches(name, self.builders, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(
                f"{where} cases",
                f"{name!r} is not a function of {self.path.with_suffix('.py').name}{suggestion}",
            )
        try:
            inspect.signature(function).bind()
        except TypeError:
            self.fail(f"{where} cases", f"{name}() must build the cases without arguments")
        return function

    def hints(self, where: str, table: dict) -> dict[str, str]:
        """``{diagnosis: text}`` from ``{hint name: [diagnoses]}``."""
        if not table:
            self.fail(f"{where} hints", "name at least one hint: { name = [diagnoses] }")
        result: dict[str, str] = {}
        for name, diagnoses in table.items():
            if name not in self.texts:
                self.fail(f"{where} hints", f"{name!r} is not a hint of [hints]")
            self.used.add(name)
            if not isinstance(diagnoses, list) or not diagnoses:
                self.fail(f"{where} hints", f"{name} must be a non-empty list of diagnoses")
            for diagnosis in diagnoses:
                if diagnosis not in DIAGNOSES:
                    self.fail(
                        f"{where} hints",
                        f"unknown diagnosis {diagnosis!r}; the diagnoses are "
                        + ", ".join(repr(d) for d in DIAGNOSES),
                    )
                if diagnosis in result:
                    self.fail(f"{where} hints", f"diagnosis {diagnosis!r} is given two hints")
                result[diagnosis] = self.texts[name]
        return result
