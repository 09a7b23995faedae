"""The submissions reader and the notebook parser, in-process: hostile files are refused with a
reason and never block, crash or read outside the folder; hypothesis corrupts a valid notebook
and a valid zip (bytes and structure) and nothing raises out of the per-submission boundary; a
student the grader keeps failing on is recorded and not retried forever."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.course.operations import COURSE_ROOT
from autograder.grader.assignment import (
    MAX_JSON_CONTAINERS,
    MAX_JSON_VALUES,
    NotebookError,
    answered,
    cell_labels,
    load_spec,
    read_notebook,
    student_cells,
)
from autograder.grader.assignment import test_positions as positions_of
from autograder.grader.results import ERROR, GRADED, NOT_GRADED
from autograder.grader.sandbox import RunReport
from autograder.grader.student import grade_one
from autograder.grader.submissions import MAX_ZIP_MEMBERS, Submission, find_submissions

A = "ex03_logsumexp"
SPEC = load_spec(COURSE_ROOT, A)
SOURCE = (COURSE_ROOT / "source" / A / f"{A}.ipynb").read_bytes()
NOTEBOOK = json.loads(SOURCE)


class FakeSandbox:
    """Stands in for the sandbox: every request comes back ``not_run`` (or ``execute`` raises)."""

    def __init__(self, raises: BaseException | None = None):
        self.raises = raises

    def execute(self, cells, requests, labels=None):
        if self.raises is not None:
            raise self.raises
        outcomes = {i: {"status": "not_run", "message": "fake"} for i in range(len(requests))}
        return RunReport(outcomes=outcomes)


def zipped(data: bytes, method=zipfile.ZIP_DEFLATED, name=f"{A}.ipynb") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_hostile_entries_are_refused_with_reasons_and_nothing_blocks(tmp_path):
    folder = tmp_path / "submitted"
    folder.mkdir()
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "fifo_in_folder").mkdir()
    os.mkfifo(folder / "fifo_in_folder" / f"{A}.ipynb")
    (folder / "zero.ipynb").symlink_to("/dev/zero")
    (folder / "outside.ipynb").symlink_to(COURSE_ROOT / "source" / A / f"{A}.ipynb")
    (folder / "outside_folder").symlink_to(COURSE_ROOT / "source" / A)
    (folder / "broken.ipynb").symlink_to(tmp_path / "nowhere")
    (folder / "inside.ipynb").symlink_to(folder / "fifo_in_folder")  # a folder, inside
    (folder / "ok.ipynb").write_bytes(SOURCE)
    (folder / "=cmd").mkdir()
    stamped = folder / "stamped" / A
    stamped.mkdir(parents=True)
    (stamped / f"{A}.ipynb").write_bytes(SOURCE)
    (stamped / "timestamp.txt").write_bytes(b"\xff2026-01-01\x1b[2J 10:00")
    found = {s.student_id: s for s in find_submissions(folder, A)}
    assert "not a regular file" in found["fifo"].problem
    assert "not a regular file" in found["fifo_in_folder"].problem
    for name in ("zero", "outside", "outside_folder"):
        assert "outside the submissions folder" in found[name].problem
    assert found["broken"].problem is not None
    assert "not a usable student id" in found["=cmd"].problem
    assert found["ok"].read() == SOURCE
    assert found["stamped"].timestamp == "\ufffd2026-01-01[2J 10:00"
    for submission in found.values():
        if submission.problem:
            with pytest.raises(NotebookError):
                submission.read()


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_corrupt_zip_streams_become_a_reason(tmp_path, method):
    data = bytearray(zipped(SOURCE, method))
    data[100:3000] = os.urandom(2900)
    (tmp_path / "student.zip").write_bytes(bytes(data))
    (submission,) = find_submissions(tmp_path, A)
    result = grade_one(SPEC, submission, FakeSandbox())
    assert result.status == NOT_GRADED
    assert "could not read" in result.reason or "not a readable zip" in result.reason


def test_zips_with_too_many_members_or_escapes_in_names(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"f{n}", b"")
    (tmp_path / "many.zip").write_bytes(buffer.getvalue())
    (tmp_path / "escape.zip").write_bytes(zipped(SOURCE, name="\x1b[2Jhw\x07.ipynb"))
    found = {s.student_id: s for s in find_submissions(tmp_path, A)}
    assert f"more than {MAX_ZIP_MEMBERS} files" in found["many"].problem
    assert found["escape"].read() == SOURCE
    assert "\x1b" not in found["escape"].note and "[2Jhw.ipynb" in found["escape"].note


def test_the_number_of_json_values_is_bounded_before_parsing():
    # 18 MB of ``{},`` parsed to millions of dicts took the grader from 166 MB to 674 MB.
    def with_extra(items: bytes) -> bytes:
        return SOURCE.rstrip()[:-1] + b', "x": [' + items + b"]}"

    for items, what in [
        (b",".join([b"{}"] * (MAX_JSON_CONTAINERS + 1)), "objects and lists"),
        (b",".join([b"[]"] * (MAX_JSON_CONTAINERS + 1)), "objects and lists"),
        (b",".join([b"0"] * MAX_JSON_VALUES), "values"),
        (b",".join([b'"a"'] * MAX_JSON_VALUES), "values"),
    ]:
        with pytest.raises(NotebookError, match=f"{what}.*clear large outputs or metadata"):
            read_notebook(with_extra(items))
    # braces, commas and colons inside strings (escaped quotes included) are not counted
    text = json.dumps(['{[,:\\"' * 10] * MAX_JSON_CONTAINERS).encode()
    assert read_notebook(with_extra(text))["cells"]
    # an unterminated string of escaped quotes is scanned once, not once per quote
    with pytest.raises(NotebookError, match="not valid JSON"):
        read_notebook(b'{"cells": [], "x": "' + b'\\",' * MAX_JSON_VALUES)
    assert read_notebook(with_extra(b",".join([b"{}"] * 1000)))["x"] == [{}] * 1000


def test_a_grade_id_that_is_not_a_string_is_treated_as_absent():
    notebook = json.loads(SOURCE)
    for value in (["a", "list"], {"a": 1}, 3, None):
        notebook["cells"].insert(
            1,
            {"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": value}}, "source": ""},
        )
    data = json.dumps(notebook).encode()
    result = grade_one(SPEC, Submission("s", "s", path=Path("unused")), FakeSandbox(), data)
    assert result.status == GRADED


def test_cells_are_named_by_grade_id_or_the_answer_they_follow():
    notebook = read_notebook(SOURCE)
    cells = notebook["cells"]
    extra = {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}
    logsumexp = next(
        i for i, c in enumerate(cells) if c["metadata"]["nbgrader"]["grade_id"] == A[5:]
    )
    cells[logsumexp + 1 : logsumexp + 1] = [extra, extra]
    cells.insert(0, extra)
    labels = cell_labels(notebook)
    assert labels[1] == 'the cell before "cell_md_1"'
    assert labels[logsumexp + 2] == 'cell "logsumexp"'
    assert labels[logsumexp + 3] == 'the cell after "logsumexp"'
    assert labels[logsumexp + 4] == 'the 2nd cell after "logsumexp"'
    long_id = {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "x" * 10**4}}}
    assert cell_labels({"cells": [long_id]}) == {1: 'cell "' + "x" * 60 + '"'}
    bare = {"cells": [extra, {"cell_type": "markdown", "source": ""}, extra]}
    assert cell_labels(bare) == {1: "code cell 1", 3: "code cell 2"}


def test_cells_that_are_not_run_because_malformed_are_named_in_the_reason():
    notebook = json.loads(SOURCE)
    notebook["cells"][1:1] = [
        {"cell_type": "code", "metadata": {}, "source": {"not": "text"}, "outputs": []},
        {"cell_type": "heading", "metadata": {}, "source": "import os", "level": 1},
        {"cell_type": ["code"], "metadata": {}, "source": ""},
    ]
    data = json.dumps(notebook).encode()
    result = grade_one(SPEC, Submission("s", "s", path=Path("x")), FakeSandbox(), data)
    assert result.status == GRADED
    assert "cells not run, being malformed: " in result.reason
    assert "(its source is not text (a string or a list of strings))" in result.reason
    assert "cell 3 (its cell_type 'heading' is not code, markdown or raw)" in result.reason
    assert "cell 4 (its cell_type is missing or not text)" in result.reason
    assert (
        "cells not run" not in grade_one(SPEC, Submission("s", "s"), FakeSandbox(), SOURCE).reason
    )


def test_the_boundary_turns_grader_failures_into_error_rows():
    for failure in (MemoryError(), RecursionError("deep"), KeyError("x"), OSError("disk")):
        result = grade_one(SPEC, Submission("s", "s", path=Path("x")), FakeSandbox(failure), SOURCE)
        assert result.status == ERROR and type(failure).__name__ in result.reason
        assert result.fingerprint == SPEC.fingerprint and len(result.cells) == len(SPEC.test_cells)


def parse_everything(data: bytes) -> None:
    """What the grader does with a submission's bytes before and after the sandbox."""
    result = grade_one(SPEC, Submission("s", "s", path=Path("x")), FakeSandbox(), data)
    assert result.status in (GRADED, NOT_GRADED), result.reason
    try:
        notebook = read_notebook(data)
    except NotebookError:
        return
    SPEC.requests(notebook)
    student_cells(notebook, SPEC)
    cell_labels(notebook)
    positions_of(notebook)
    for manual in SPEC.manual_cells:
        answered(notebook, manual)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(["cells", "metadata", "nbgrader", "grade_id", "source", "cell_type", "id"])


def corrupt(value, path: list, replacement):
    """``value`` with the item reached by following ``path`` (wrapped around) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    step, *rest = path
    if isinstance(value, list):
        index = step % len(value)
        return [corrupt(v, rest, replacement) if i == index else v for i, v in enumerate(value)]
    key = sorted(value)[step % len(value)]
    return {**value, key: corrupt(value[key], rest, replacement)}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 10**6), max_size=6), JSON, KEYS, st.booleans())
def test_fuzz_structural_corruptions_never_escape_the_boundary(path, replacement, key, rename):
    notebook = json.loads(SOURCE)
    if rename:
        cells = notebook["cells"]
        cells[(path[0] if path else 0) % len(cells)][key] = copy.deepcopy(replacement)
    notebook = corrupt(notebook, path, copy.deepcopy(replacement))
    parse_everything(json.dumps(notebook).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SOURCE)), st.binary(max_size=64), st.integers(0, 64))
def test_fuzz_byte_corruptions_never_escape_the_boundary(position, inserted, removed):
    data = SOURCE[:position] + inserted + SOURCE[position + removed :]
    parse_everything(data)


ZIPS = {method: zipped(SOURCE, method) for method in (0, 8, 12, 14)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(ZIPS)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_fuzz_corrupted_zips_never_escape_the_boundary(tmp_path_factory, method, flips, cut):
    data = bytearray(ZIPS[method])
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: max(22, cut % (len(data) + 1))])
    folder = tmp_path_factory.mktemp("zip")
    (folder / "student.zip").write_bytes(data)
    (submission,) = find_submissions(folder, A)
    result = grade_one(SPEC, submission, FakeSandbox())
    assert result.status in (GRADED, NOT_GRADED), result.reason


def test_a_student_the_grader_keeps_failing_on_is_recorded_not_retried_forever(
    tmp_path, monkeypatch
):
    import autograder.grader.batch as batch
    from autograder.course.operations import copy_course
    from autograder.grader.gradebook import GradebookWriter
    from autograder.grader.student import error_result

    course = copy_course(tmp_path / "course")
    folder = tmp_path / "submitted"
    for student in ("alice", "bob", "carol", "dave"):
        (folder / student).mkdir(parents=True)
        (folder / student / f"{A}.ipynb").write_bytes(SOURCE)
    out = tmp_path / "out"
    results = out / "results"
    results.mkdir(parents=True)
    digest = batch.notebook_digest(SOURCE)
    # a run died twice while grading bob (killed for memory, say)
    (results / "bob.try").write_text(json.dumps({"notebook_sha256": digest, "tries": 2}))
    calls = []

    def fake_grade_one(spec, submission, sandbox, data=None):
        calls.append(submission.student_id)
        if submission.student_id == "alice":
            return error_result(spec, submission, "RecursionError: a grader bug")
        if submission.student_id == "dave":
            raise MemoryError  # a failure outside grade_one's own boundary
        return grade_one(spec, submission, FakeSandbox(), data)

    real_record = GradebookWriter.record

    def record(self, result, notebook, *, submitted):
        if result.student_id == "carol":
            raise ValueError("the gradebook refused it")
        return real_record(self, result, notebook, submitted=submitted)

    monkeypatch.setattr(batch, "grade_one", fake_grade_one)
    monkeypatch.setattr(GradebookWriter, "record", record)
    options = batch.BatchOptions(course, out, jobs=1, isolate=False, progress=False)
    statuses = []
    for _ in range(3):
        done = batch.grade_batch(A, folder, options)
        statuses.append({r.student_id: (r.status, r.reason) for r in done.results})
    assert calls.count("alice") == 2 and "bob" not in calls  # retried once, then kept
    assert calls.count("carol") == 2 and calls.count("dave") == 2
    final = statuses[-1]
    assert {s: status for s, (status, _) in final.items()} == dict.fromkeys(final, ERROR)
    assert "RecursionError: a grader bug" in final["alice"][1]
    assert "the grader stopped 2 times while grading this submission" in final["bob"][1]
    assert "recording the result failed: ValueError" in final["carol"][1]
    assert "MemoryError" in final["dave"][1]
    assert not list(results.glob("*.try")) or (results / "bob.try").exists()


def corrupted_class(folder: Path) -> dict[str, float | None]:
    """Seeded corruptions of the instructor's notebook (which earns full marks) beside two
    controls; the expected score per student (``None``: any, as long as it has a row)."""
    import random

    rng = random.Random(20261201)
    blank = json.loads(SOURCE)
    for cell in blank["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "pass"
    students: dict[str, tuple[bytes, float | None]] = {
        "control_full": (SOURCE, SPEC.max_score),
        "control_blank": (json.dumps(blank).encode(), 0.0),
    }
    for n in range(4):
        notebook = json.loads(SOURCE)
        for _ in range(3):
            path = [rng.randrange(10**6) for _ in range(rng.randrange(1, 5))]
            junk = rng.choice([[], {}, None, 7, "x", [{"grade_id": []}], {"nbgrader": 1}])
            notebook = corrupt(notebook, path, junk)
        students[f"structure_{n}"] = (json.dumps(notebook).encode(), None)
        data = bytearray(SOURCE)
        for _ in range(4):
            data[rng.randrange(len(data))] = rng.randrange(256)
        students[f"bytes_{n}"] = (bytes(data), None)
    for student, (data, _) in students.items():
        (folder / student).mkdir(parents=True)
        (folder / student / f"{A}.ipynb").write_bytes(data)
    return {student: score for student, (_, score) in students.items()}


@pytest.mark.grader
@pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap is not installed")
def test_a_sandboxed_batch_of_corrupted_submissions_keeps_its_controls_exact(tmp_path):
    from autograder.course.operations import copy_course
    from autograder.grader.batch import BatchOptions, grade_batch
    from autograder.grader.sandbox import Limits

    folder = tmp_path / "submitted"
    expected = corrupted_class(folder)
    options = BatchOptions(
        copy_course(tmp_path / "course"),
        tmp_path / "out",
        jobs=2,
        limits=Limits(timeout=10),
        progress=False,
    )
    done = grade_batch(A, folder, options)
    results = {r.student_id: r for r in done.results}
    assert sorted(results) == sorted(expected)
    for student, score in expected.items():
        assert results[student].status in (GRADED, NOT_GRADED), results[student].reason
        if score is not None:
            assert results[student].score == score and results[student].status == GRADED
