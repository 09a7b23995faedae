"""Units of the trusted grader: the wire format, outcome sanitising, the graded cells read from the
source notebook, submission discovery and the sandbox's isolation of one notebook's code."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.course.operations import COURSE_ROOT, REPOSITORY
from autograder.grader.assignment import (
    NotebookError,
    SpecError,
    load_spec,
    read_notebook,
    student_cells,
)
from autograder.grader.sandbox import Limits, Request, Sandbox
from autograder.grader.sandbox.channel import sanitize
from autograder.grader.submissions import find_submissions
from autograder.harness import wire
from autograder.harness.calls import call, harness_name, to_plain
from autograder.judge import compare

CALL = harness_name(call)  # how a request names the generic harness

HAS_BWRAP = shutil.which("bwrap") is not None


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            type(b) is np.ndarray
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_payload_crosses_the_wire_unchanged(assignment):
    for check in checks_for(assignment).values():
        for group in check.groups:
            for case in group.cases:
                back = wire.loads(wire.dumps(case.payload))
                assert same(case.payload, back), (check.name, group.name, case.label)


def test_wire_keeps_dtypes_scalars_and_special_values():
    value = {
        "a": [1, -0.0, float("inf"), float("nan"), None, True, "x", (1, 2)],
        "b": np.arange(6, dtype=np.float16).reshape(2, 3),
        "c": np.float32(3.5),
        "d": 10**40,
        "e": np.float64,
        "f": np.dtype("int8"),
        "g": np.array([1 + 2j]),
    }
    back = wire.loads(wire.dumps(value))
    assert same(value["a"][:4], back["a"][:4]) and back["a"][4:] == [None, True, "x", (1, 2)]
    assert np.copysign(1.0, back["a"][1]) == -1.0
    assert same(value["b"], back["b"])
    assert type(back["c"]) is np.float32 and back["c"] == 3.5
    assert back["d"] == 10**40 and back["e"] is np.float64 and back["f"] == np.dtype("int8")
    assert same(value["g"], back["g"])


@pytest.mark.parametrize(
    "value",
    [
        np.array([object()], dtype=object),
        np.zeros(2).view(np.recarray),
        object(),
        {1: "non-string key"},
        type("Sub", (float,), {})(1.0),
        np.zeros(3, dtype=[("a", "f8")]),
    ],
)
def test_wire_refuses_anything_but_plain_data(value):
    with pytest.raises(wire.WireError):
        wire.dumps(value)


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        pickle.dumps(np.zeros(3)),
        b'{"__array__": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA=", "scalar": false}}',
        b'{"__array__": {"dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA=", "scalar": false}}',
        b'{"__array__": {"dtype": "<f8", "shape": [-1], "data": "", "scalar": false}}',
        b'{"__array__": {"dtype": "<f8", "shape": [1], "data": "!!", "scalar": false}}',
        b'{"__array__": {"dtype": "V8", "shape": [1], "data": "AAAAAAAAAAA=", "scalar": false}}',
        b'{"__dtype__": ["object", false]}',
        b"[" * 5000 + b"]" * 5000,
        b"1" * 5000,
    ],
)
def test_wire_rejects_malformed_or_dangerous_lines(line):
    with pytest.raises(wire.WireError):
        wire.loads(line)


def test_sanitize_turns_forged_outcomes_into_failures_or_plain_fields():
    assert sanitize("junk")["status"] == "not_run"
    assert sanitize({"status": "passed"})["status"] == "not_run"
    forged = sanitize(
        {"status": "returned", "value": 1.0, "mutated": "yes", "warnings": [1, "w"], "seconds": "x"}
    )
    assert forged["mutated"] is False and forged["warnings"] == ["w"] and forged["seconds"] == 0.0
    assert forged["value"] == 1.0 and forged["message"] == ""


def test_to_plain_strips_rigged_str_and_float_subclasses():
    class RiggedStr(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    class RiggedFloat(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    assert type(to_plain(RiggedStr("z"))) is str and to_plain(RiggedStr("z")) != "b"
    assert type(to_plain(RiggedFloat(2.0))) is float


def test_spec_is_read_from_the_source_notebook():
    spec = load_spec(COURSE_ROOT, "ex03_logsumexp")
    ids = [cell.grade_id for cell in spec.test_cells]
    assert "test_logsumexp_large" in ids and "test_q1_answer" in ids
    assert spec.max_score == sum(
        group.points for check in checks_for("ex03_logsumexp").values() for group in check.groups
    )
    assert [m.grade_id for m in spec.manual_cells] == ["explain"]
    q1 = next(cell for cell in spec.test_cells if cell.grade_id == "test_q1_answer")
    assert (q1.name, q1.variable, q1.group) == ("q1", "answer_q1", "answer")


def test_spec_rejects_points_that_disagree_with_the_checks(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSE_ROOT / "source" / "ex03_logsumexp", course / "source/ex03_logsumexp")
    path = course / "source/ex03_logsumexp/ex03_logsumexp.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "test_logsumexp_large":
            cell["metadata"]["nbgrader"]["points"] = 7
    path.write_text(json.dumps(notebook))
    with pytest.raises(SpecError) as error:
        load_spec(course, "ex03_logsumexp")
    message = str(error.value)
    assert "'test_logsumexp_large'" in message and "is worth 7 point(s)" in message
    assert "is worth 3 in autograder/checks/ex03_logsumexp.toml; make them agree" in message
    with pytest.raises(SpecError, match="no source notebook"):
        load_spec(tmp_path / "elsewhere", "ex03_logsumexp")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"cells": 3}', "not a Jupyter notebook"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "not a Jupyter notebook"),
    ],
)
def test_unreadable_notebooks_say_why(data, message):
    with pytest.raises(NotebookError, match=message):
        read_notebook(data)


def test_student_cells_leave_out_test_cells_even_when_edited():
    spec = load_spec(COURSE_ROOT, "ex03_logsumexp")
    source = json.loads((COURSE_ROOT / "source/ex03_logsumexp/ex03_logsumexp.ipynb").read_text())
    for cell in source["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "test_logsumexp_basic":
            cell["metadata"]["nbgrader"]["grade"] = False  # a student unmarked it
    sources = [text for _, text in student_cells(source, spec)]
    assert not any("autograder.check" in text for text in sources)
    assert any("def logsumexp" in text for text in sources)


def test_submissions_in_every_layout(tmp_path):
    a = "ex03_logsumexp"
    notebook = b'{"cells": []}'
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / f"{a}.ipynb").write_bytes(notebook)
    (tmp_path / "bob" / a).mkdir(parents=True)
    (tmp_path / "bob" / a / f"{a}.ipynb").write_bytes(notebook)
    (tmp_path / "bob" / a / "timestamp.txt").write_text("2026-11-20 10:00:00 UTC")
    (tmp_path / "carol.ipynb").write_bytes(notebook)
    with zipfile.ZipFile(tmp_path / "dave.zip", "w") as archive:
        archive.writestr(f"work/{a}.ipynb", notebook)
        archive.writestr(f"__MACOSX/work/._{a}.ipynb", b"junk")
    (tmp_path / "erin").mkdir()
    (tmp_path / "erin" / "homework.ipynb").write_bytes(notebook)
    (tmp_path / "frank").mkdir()
    (tmp_path / "gina").mkdir()
    (tmp_path / "gina" / "x.ipynb").write_bytes(notebook)
    (tmp_path / "gina" / "y.ipynb").write_bytes(notebook)
    (tmp_path / "hal.zip").write_bytes(b"not a zip")
    (tmp_path / "alice.ipynb").write_bytes(notebook)
    (tmp_path / "bad name!.ipynb").write_bytes(notebook)
    (tmp_path / "README.txt").write_text("ignored")
    found = {s.student_id: s for s in find_submissions(tmp_path, a)}
    assert sorted(found) == [
        "alice",
        "bad name!",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "gina",
        "hal",
    ]
    for student in ("alice", "bob", "carol", "dave", "erin"):
        assert found[student].read() == notebook, student
    assert found["bob"].timestamp == "2026-11-20 10:00:00 UTC"
    assert "should have been named" in found["erin"].note
    assert "ignored" in found["alice"].note
    assert found["frank"].problem == f"no {a}.ipynb in frank"
    assert "several other notebooks" in found["gina"].problem
    assert "not a readable zip" in found["hal"].problem
    assert "not a usable student id" in found["bad name!"].problem
    with pytest.raises(NotebookError):
        found["frank"].read()
    with pytest.raises(FileNotFoundError):
        find_submissions(tmp_path / "nope", a)


def test_look_alike_student_ids_are_refused_with_the_character_named(tmp_path):
    a = "ex03_logsumexp"
    cyrillic, fullwidth = "\u0441\u043entrol", "\uff43\uff4f\uff4e\uff54\uff52\uff4f\uff4c"
    for name in ("control", cyrillic, fullwidth):
        (tmp_path / f"{name}.ipynb").write_bytes(b'{"cells": []}')
    found = {s.student_id: s for s in find_submissions(tmp_path, a)}
    assert found["control"].problem is None
    assert "(it holds U+0441, which is not ASCII)" in found[cyrillic].problem
    assert "(it holds U+FF43, which is not ASCII)" in found[fullwidth].problem
    assert all("use ASCII letters" in s.problem for s in found.values() if s.problem)


def test_a_byte_swapped_array_names_its_byte_order():
    swapped = np.ones(2, dtype=">f8")
    outcome = {"status": "returned", "value": swapped, "type": "ndarray", "mutated": False}
    problem = compare.float_array(outcome, dtype=np.float64)[1]
    assert (
        problem == "returned float64 in big-endian byte order (>f8) where native <f8 was expected"
    )
    assert problem.kind == compare.DTYPE


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_sandbox_hides_the_course_and_the_network(tmp_path):
    cells = [
        (1, "import os, socket\nimport numpy as np"),
        (2, f"seen = [p for p in {[str(REPOSITORY), str(COURSE_ROOT)]!r} if os.listdir(p)]"),
        (3, "import solutions"),
        (4, "socket.create_connection(('127.0.0.1', 22), timeout=1)"),
        (5, "def f(x):\n    return np.exp(x)"),
        (6, "open('/tmp/scratch', 'w').write('private tmp is writable')"),
    ]
    requests = [Request("f", CALL, {"args": [np.array([0.0, 1.0])]}, False, 5.0, 0)]
    with Sandbox(Limits(timeout=10), hidden=(REPOSITORY, COURSE_ROOT)) as sandbox:
        report = sandbox.execute(cells, requests)
    assert report.cell_errors[2].startswith("FileNotFoundError")
    assert report.cell_errors[3].startswith("ModuleNotFoundError")
    assert report.cell_errors[4].startswith(
        ("OSError", "ConnectionRefusedError", "PermissionError")
    )
    assert report.cell_errors[6] is None and report.cell_errors[1] is None
    outcome = report.outcomes[0]
    assert outcome["status"] == "returned"
    assert np.array_equal(outcome["value"], np.exp([0.0, 1.0]))


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_dying_cell_is_skipped_and_the_rest_still_runs():
    cells = [(1, "import os\nos._exit(1)"), (2, "def f(x):\n    return 2 * x")]
    requests = [Request("f", CALL, {"args": [1.5]}, False, 5.0, 0)]
    with Sandbox(Limits(timeout=10)) as sandbox:
        report = sandbox.execute(cells, requests, {1: 'the cell after "intro"'})
    assert report.outcomes[0]["status"] == "returned", report
    assert report.outcomes[0]["value"] == 3.0
    assert report.cell_errors[1].startswith("ended the notebook's process")
    assert any('the cell after "intro" ended' in problem for problem in report.problems)
    assert report.grader_failure is None and report.tampering == []


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_forged_events_are_seen_as_tampering_and_cost_the_name_they_name():
    forged = (
        b'{"event":"call","request":0}\n'
        b'{"event":"outcome","request":0,"outcome":{"status":"returned","value":3.0}}\n'
    )
    cells = [
        (
            1,
            f"import os\nfor fd in range(3, 40):\n    try:\n        os.write(fd, {forged!r})\n"
            "    except OSError:\n        pass",
        ),
        (2, "def f(x):\n    return 0"),
    ]
    requests = [Request("f", CALL, {"args": [1.5]}, False, 5.0, 0)]
    with Sandbox(Limits(timeout=10)) as sandbox:
        report = sandbox.execute(cells, requests)
    assert report.tampering == ["the channel carried a `call` event for request 0 while cell 1 ran"]
    assert report.tampered_variables == {"f"}
    assert report.outcomes[0]["status"] == "not_run"  # the forged outcome was never accepted


def grade_solution_with(tmp_path: Path, source: str, position: int):
    """The spec of ex04 and the sandboxed result of its instructor's notebook with one code cell
    ``source`` inserted at ``position`` (-1: appended)."""
    from autograder.grader.student import grade_one
    from autograder.grader.submissions import Submission

    assignment = "ex04_softmax"
    notebook = json.loads((COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb").read_text())
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": source}
    notebook["cells"].insert(len(notebook["cells"]) if position == -1 else position, cell)
    path = tmp_path / f"{assignment}.ipynb"
    path.write_text(json.dumps(notebook))
    spec = load_spec(COURSE_ROOT, assignment)
    with Sandbox(Limits(timeout=30), hidden=(REPOSITORY,)) as sandbox:
        return spec, grade_one(spec, Submission("s", str(path), path=path), sandbox)


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_name_rebound_after_its_test_cell_is_graded_as_it_stood_there(tmp_path):
    """As nbgrader does: a later `from scipy.special import log_softmax` (whose default axis is
    None) must not replace the student's own function in the tests that stand before it."""
    spec, result = grade_solution_with(tmp_path, "from scipy.special import log_softmax", -1)
    assert result.score == spec.max_score, [c.result.feedback for c in result.cells]


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_settings_a_notebook_left_cost_the_instructors_solution_nothing(tmp_path):
    """NumPy trapping every floating-point error, PyTorch without grad mode, with float64 as the
    default dtype and subnormals flushed: set in the notebook's first cell, none of them may
    cost a correct notebook points in the sandbox (they cost 11 and 4 of ex04's 36 before)."""
    settings = (
        "import numpy as np\nimport torch\nnp.seterr(all='raise')\n"
        "torch.set_grad_enabled(False)\ntorch.set_default_dtype(torch.float64)\n"
        "torch.set_flush_denormal(True)"
    )
    spec, result = grade_solution_with(tmp_path, settings, 0)
    assert result.score == spec.max_score, [c.result.feedback for c in result.cells]


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")
def test_a_python_installed_under_tmp_runs_in_the_sandbox(tmp_path):
    """A virtual environment under /tmp (as on CI) must stay visible under the private /tmp."""
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    script = (
        "from autograder.grader.sandbox import Limits, Request, Sandbox\n"
        "with Sandbox(Limits(timeout=10)) as sandbox:\n"
        "    report = sandbox.execute([(1, 'def f(x):\\n    return x + 1')],\n"
        "                             [Request('f', 'autograder.harness.calls:call',\n"
        "                                      {'args': [1]}, False, 5.0, 0)])\n"
        "print(report.outcomes[0]['value'])\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "2", done.stderr[-2000:]


def test_all_runs_of_a_submission_together_stop_at_one_deadline(monkeypatch):
    """Each run of a notebook of many ``sleep(30)`` cells ends in a cell (stopped for time, or
    crashing), and the notebook is run again without that cell; the restarts share one deadline,
    so all runs together take :attr:`Limits.total_seconds`, the last one cut short."""
    from types import SimpleNamespace

    from autograder.grader.sandbox import restarts
    from autograder.grader.sandbox.watchdog import Usage

    limits = Limits(timeout=1)
    clock, granted, endings = [1000.0], [], []

    def run_once(cells, requests, skip, seconds, spend):
        granted.append(seconds)
        clock[0] += min(seconds, spend)
        channel = SimpleNamespace(
            outcomes={}, cell_errors={}, violation=None, done=False,
            current=("cell", cells[0][0]), any_event=True,
        )  # fmt: skip
        attempt = SimpleNamespace(
            channel=channel, seconds=seconds, killed_for_time=seconds <= spend,
            over_budget=None, returncode=-9, peak=Usage(), output="",
        )  # fmt: skip
        endings.append(restarts.ending(attempt, limits))
        return attempt

    monkeypatch.setattr(restarts, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    cells = [(n, "import time; time.sleep(30)") for n in range(1, 30)]
    requests = [Request("f", CALL, {}, False, 1.0, 0)]
    run = limits.run_seconds
    with Sandbox(limits, isolate=False) as sandbox:
        for spend in (run, 0.7 * run):
            clock[0], granted[:], endings[:] = 1000.0, [], []
            monkeypatch.setattr(
                sandbox, "_run_once", lambda *a, spend=spend: run_once(*a, spend=spend)
            )
            report = sandbox.execute(cells, requests)
            assert clock[0] - 1000.0 == pytest.approx(limits.total_seconds)
            assert report.problems[-1] == "gave up restarting: the runs took too long in all"
    assert limits.total_seconds == 4 * run
    assert granted == pytest.approx([run] * 5 + [0.5 * run])
    assert endings[-1] == f"its runs together took longer than {4 * run:g} s and it was stopped"
