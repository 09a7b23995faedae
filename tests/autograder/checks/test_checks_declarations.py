"""The checks' TOML declarations: what a valid file builds, and a clear error for each mistake.

Every test writes its own file under ``tmp_path`` (the real ``autograder/checks/*.toml`` are
never edited); each error must name the file, the table and the key.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.declarations import DeclarationError, load_checks
from autograder.harness.calls import value
from autograder.judge.compare import ACCURACY, OVERFLOW, WRONG
from autograder.judge.spec import Case

VALID = """\
# a comment, as the real files have
[[f]]
name = "basic"
points = 2
description = "ordinary inputs"
cases = "basic_cases"
section = "ch03-shift-identity"
hints = { formula = ["wrong value", "accuracy"] }

[[f]]
name = "large"
points = 1.5
description = "large inputs, overflow trapped"
cases = "large_cases"
section = "ch03-shift-identity"
hints = { shift = ["overflow"], formula = ["nan"] }
trap_overflow = true
time_limit = 30

[q1]
answer = "b"
options = "abc"
section = "ch03-online"

[hints]
formula = "the formula"
shift = "shift by the maximum"
"""


def basic_cases():
    return [Case("x = 1", {"args": [1.0], "kwargs": {}}, lambda case, outcome: None)]


def large_cases():
    return [Case("x = 1e300", {"args": [1e300], "kwargs": {}}, lambda case, outcome: None)]


def needs_an_argument(x):
    return [x]


SECOND_GROUP = VALID.index("[[f]]", VALID.index("[[f]]") + 1)
BUILDERS = {f.__name__: f for f in (basic_cases, large_cases, needs_an_argument)}


def load(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "ex99_test.toml"
    path.write_text(text, encoding="utf-8")
    return load_checks(path, "ex99_test", BUILDERS)


def error(tmp_path: Path, text: str, *expected: str) -> str:
    """The DeclarationError's message, which must name the file and contain ``expected``."""
    with pytest.raises(DeclarationError) as raised:
        load(tmp_path, text)
    message = str(raised.value)
    assert str(tmp_path / "ex99_test.toml") in message
    for part in expected:
        assert part in message, message
    return message


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in VALID
    return VALID.replace(old, new, count)


# --- a valid file ---------------------------------------------------------------------------------


def test_a_valid_file_builds_the_checks_in_its_order(tmp_path):
    checks = load(tmp_path, VALID)
    assert list(checks) == ["f", "q1"]
    f = checks["f"]
    assert (f.assignment, f.name, [g.name for g in f.groups]) == (
        "ex99_test",
        "f",
        ["basic", "large"],
    )
    basic, large = f.groups
    assert (basic.points, basic.description, basic.section) == (
        2,
        "ordinary inputs",
        "ch03-shift-identity",
    )
    assert basic.make_cases is basic_cases and large.make_cases is large_cases
    assert dict(basic.hints) == {WRONG: "the formula", ACCURACY: "the formula"}
    assert dict(large.hints) == {OVERFLOW: "shift by the maximum", "nan": "the formula"}
    assert (basic.trap_overflow, basic.time_limit) == (False, 10.0)
    assert (large.trap_overflow, large.time_limit, large.points) == (True, 30, 1.5)
    assert f.max_score == 3.5


def test_a_question_table_is_a_one_point_multiple_choice_check(tmp_path):
    q1 = load(tmp_path, VALID)["q1"]
    (group,) = q1.groups
    assert (group.name, group.points, group.section) == ("answer", 1.0, "ch03-online")
    (case,) = group.cases
    assert case.harness is value
    assert case.verdict(case, {"status": "returned", "value": " B "}) is None
    assert case.verdict(case, {"status": "returned", "value": "a"}) == "'a' is not the best answer"
    wider = load(tmp_path, edit('options = "abc"', 'options = "abc"\npoints = 2'))
    assert wider["q1"].max_score == 2


def test_the_hints_table_may_stand_anywhere(tmp_path):
    hints = VALID[VALID.index("[hints]") :]
    moved = hints + "\n" + VALID[: VALID.index("[hints]")]
    assert list(load(tmp_path, moved)) == ["f", "q1"]


def test_every_real_declaration_file_is_read_by_its_module():
    folder = Path(importlib.import_module("autograder.checks").__file__).parent
    assert sorted(p.stem for p in folder.glob("*.toml")) == sorted(ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        data = tomllib.loads((folder / f"{assignment}.toml").read_text(encoding="utf-8"))
        declared = [name for name in data if name != "hints"]
        assert list(checks_for(assignment)) == declared


def test_a_module_resolves_cases_against_its_own_functions_only(tmp_path, monkeypatch):
    package = tmp_path / "declared_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ex98_demo.py").write_text(
        "from autograder.checks.common import label  # imported: not a case builder\n"
        "from autograder.checks.declarations import declared_checks\n"
        "from autograder.judge.spec import Case\n\n\n"
        "def ordinary():\n"
        "    return [Case(label(x=1.0), {'args': [1.0]}, lambda case, outcome: None)]\n\n\n"
        "CHECKS = declared_checks(__name__)\n"
    )
    group = VALID[:SECOND_GROUP].replace("basic_cases", "ordinary")
    toml = package / "ex98_demo.toml"
    toml.write_text(group + '\n[hints]\nformula = "the formula"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "declared_pkg", raising=False)
    module = importlib.import_module("declared_pkg.ex98_demo")
    (check,) = module.CHECKS.values()
    assert (check.assignment, check.name) == ("ex98_demo", "f")
    assert check.groups[0].make_cases is module.ordinary
    assert check.groups[0].cases[0].label == "x = 1"

    toml.write_text(toml.read_text().replace('"ordinary"', '"label"'))
    monkeypatch.delitem(sys.modules, "declared_pkg.ex98_demo")
    with pytest.raises(DeclarationError, match=r"'label' is not a function of ex98_demo\.py"):
        importlib.import_module("declared_pkg.ex98_demo")
    monkeypatch.delitem(sys.modules, "declared_pkg.ex98_demo", raising=False)


# --- the file and its tables ------------------------------------------------------------------


def test_a_file_that_is_not_toml_is_refused(tmp_path):
    error(tmp_path, VALID + "points = = 2\n", "not valid TOML")


@pytest.mark.parametrize(
    "addition",
    [
        '\n[q1]\nanswer = "a"\noptions = "ab"\nsection = "ch03-online"\n',  # a question twice
        '\n[f]\nanswer = "a"\noptions = "ab"\nsection = "ch03-online"\n',  # groups, then a question
    ],
)
def test_a_graded_name_declared_twice_is_refused(tmp_path, addition):
    message = error(tmp_path, VALID.replace("[hints]", addition + "\n[hints]"), "not valid TOML")
    assert "declared once" in message


def test_a_key_given_twice_in_a_group_is_refused_as_such(tmp_path):
    text = VALID.replace("[[f]]\n", "[[f]]\npoints = 3\n", 1)
    message = error(tmp_path, text, "not valid TOML", "a key is given twice in one table")
    assert "declared once" not in message


def test_a_graded_name_without_groups_is_refused(tmp_path):
    text = "f = []\n" + VALID.replace("[[f]]", "[[g]]")
    error(tmp_path, text, "[[f]]", "at least one group")


def test_a_graded_name_that_is_neither_groups_nor_a_question_is_refused(tmp_path):
    error(tmp_path, "f = 3\n" + VALID.replace("[[f]]", "[[g]]"), "f:", "[[name]] tables")


def test_a_graded_name_must_be_a_python_name(tmp_path):
    error(tmp_path, VALID.replace("[[f]]", '[["my f"]]'), "[my f]", "variable name")


def test_duplicate_group_names_within_a_graded_name_are_refused(tmp_path):
    error(tmp_path, edit('name = "large"', 'name = "basic"'), '[[f]] "basic"', "two groups")


def test_the_same_group_name_in_two_graded_names_is_fine(tmp_path):
    text = VALID.replace("[[f]]", "[[g]]", 1)
    assert [c.name for c in load(tmp_path, text).values()] == ["g", "f", "q1"]


# --- keys and values --------------------------------------------------------------------------


def test_an_unknown_key_is_refused(tmp_path):
    error(tmp_path, edit("points = 2\n", "points = 2\npoint = 3\n"), '[[f]] "basic"', "'point'")


@pytest.mark.parametrize("key", ["name", "points", "description", "cases", "section", "hints"])
def test_a_missing_key_is_refused(tmp_path, key):
    head, tail = VALID[:SECOND_GROUP], VALID[SECOND_GROUP:]
    line = next(line for line in head.splitlines(keepends=True) if line.startswith(f"{key} = "))
    table = "[[f]] #1" if key == "name" else '[[f]] "basic"'
    error(tmp_path, head.replace(line, "") + tail, table, f"missing key {key!r}")


@pytest.mark.parametrize("points", ["0", "-1", "nan", "inf", '"2"', "true", "[2]"])
def test_points_must_be_a_positive_number(tmp_path, points):
    error(tmp_path, edit("points = 2", f"points = {points}"), '[[f]] "basic" points', "positive")


@pytest.mark.parametrize("limit", ["0", "-5.0", '"30"'])
def test_a_time_limit_must_be_a_positive_number(tmp_path, limit):
    error(tmp_path, edit("time_limit = 30", f"time_limit = {limit}"), "time_limit", "positive")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('description = "ordinary inputs"', "description = 3", "description"),
        ('description = "ordinary inputs"', 'description = "  "', "description"),
        ("trap_overflow = true", 'trap_overflow = "yes"', "trap_overflow"),
        ('hints = { formula = ["wrong value", "accuracy"] }', 'hints = "formula"', "hints"),
        ('name = "basic"', "name = 1", "name"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(tmp_path, old, new, key):
    error(tmp_path, edit(old, new), "[[f]] ", f" {key}:", "must be")


def test_an_unknown_section_label_is_refused_with_the_closest_label(tmp_path):
    error(
        tmp_path,
        edit('section = "ch03-shift-identity"', 'section = "ch03-shift-identities"'),
        '[[f]] "basic" section',
        "'ch03-shift-identities' is not a section label",
        "did you mean 'ch03-shift-identity'",
    )


# --- cases --------------------------------------------------------------------------------------


def test_cases_naming_no_function_is_refused_with_the_closest_name(tmp_path):
    error(
        tmp_path,
        edit('cases = "basic_cases"', 'cases = "basic_case"'),
        '[[f]] "basic" cases',
        "'basic_case' is not a function of ex99_test.py",
        "did you mean 'basic_cases'",
    )


def test_cases_naming_a_function_that_needs_arguments_is_refused(tmp_path):
    error(
        tmp_path,
        edit('cases = "basic_cases"', 'cases = "needs_an_argument"'),
        '[[f]] "basic" cases',
        "without arguments",
    )


# --- hints --------------------------------------------------------------------------------------


def test_an_unknown_diagnosis_is_refused(tmp_path):
    error(
        tmp_path,
        edit('"wrong value", "accuracy"', '"wrong value", "acuracy"'),
        '[[f]] "basic" hints',
        "unknown diagnosis 'acuracy'",
        "'accuracy'",  # the valid ones are listed
    )


def test_a_hint_name_missing_from_the_hints_table_is_refused(tmp_path):
    error(
        tmp_path,
        edit("shift = [", "shifted = [").replace('shift = "', 'shifted_text = "'),
        '[[f]] "large" hints',
        "'shifted' is not a hint of [hints]",
    )


def test_a_hint_text_that_no_group_uses_is_refused(tmp_path):
    error(tmp_path, VALID + 'unused = "never shown"\n', "[hints] unused", "no group uses it")


def test_a_diagnosis_given_two_hints_is_refused(tmp_path):
    error(
        tmp_path,
        edit('formula = ["nan"]', 'formula = ["overflow"]'),
        '[[f]] "large" hints',
        "'overflow' is given two hints",
    )


@pytest.mark.parametrize("diagnoses", ["[]", '"overflow"'])
def test_a_hint_needs_a_list_of_diagnoses(tmp_path, diagnoses):
    error(tmp_path, edit('shift = ["overflow"]', f"shift = {diagnoses}"), "non-empty list")


def test_a_group_without_hints_is_refused(tmp_path):
    error(
        tmp_path,
        edit('hints = { shift = ["overflow"], formula = ["nan"] }', "hints = {}"),
        '[[f]] "large" hints',
        "at least one hint",
    )


@pytest.mark.parametrize("text", ['""', "3"])
def test_a_hint_text_must_be_a_non_empty_string(tmp_path, text):
    error(tmp_path, edit('shift = "shift by the maximum"', f"shift = {text}"), "[hints] shift")


# --- multiple-choice questions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('answer = "b"', 'answer = "d"', "must be one letter of 'abc'"),
        ('answer = "b"', 'answer = "ab"', "must be one letter"),
        ('options = "abc"', 'options = "aab"', "distinct letters"),
        ('options = "abc"', 'options = "a, b"', "distinct letters"),
        ('answer = "b"\n', 'answer = "b"\nhint = "x"\n', "unknown key 'hint'"),
        ('answer = "b"\n', "", "missing key 'answer'"),
        ('options = "abc"', 'options = "abc"\npoints = 0', "positive"),
    ],
)
def test_a_malformed_question_is_refused(tmp_path, old, new, expected):
    error(tmp_path, edit(old, new), "[q1]", expected)


def test_a_group_written_with_single_brackets_is_told_to_use_double(tmp_path):
    single = VALID.replace("[[f]]", "[[g]]", 1).replace("[[f]]", "[f]")
    error(tmp_path, single, "[f]", "written [[f]], with double brackets")
