"""``python -m autograder`` end to end: an adversarial class of ex03 submissions built from the
released notebook, graded in temporary course copies through the real command line.

Every attack is paired with what the same notebook earns honestly: attacks on blank answers must
earn 0, attacks beside correct answers must not cost the correct answers anything (or only the
name whose call ended the process), honest students in the same batch get their exact scores,
and the batch always completes. Also: ``--jobs 2`` equals ``--jobs 1``, an interrupted run
(SIGINT, then ``kill -9``) resumes without losing or double-counting, ``check`` prints the same
judgement, and the grader refuses to run unsandboxed unless told to.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from mutants import ex03_logsumexp as mutants

from autograder.assignment import load_spec
from autograder.checks import get_check
from autograder.course import (
    COURSE_ROOT,
    REPOSITORY,
    copy_course,
    gradebook_scores,
    released_notebooks,
)

pytestmark = [
    pytest.mark.grader,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

A = "ex03_logsumexp"
SPEC = load_spec(COURSE_ROOT, A)
FULL = SPEC.max_score
NAIVE, NAIVE_FAILS = mutants.MUTANTS["logsumexp"][0]
CORRECT = {name: sources[0] for name, sources in mutants.CORRECT.items()}
CORRECT |= {q: f'answer_{q} = "{letter}"' for q, letter in mutants.ANSWERS.items()}


def points(name: str, groups=None) -> float:
    check = get_check(A, name)
    return sum(g.points for g in check.groups if groups is None or g.name in groups)


MARKER = Path("/tmp/autograder-test-unpickled-marker")

ATTACKS_ON_BLANK = {
    "patch_numpy": """
import math, builtins
import numpy as np
import numpy.testing
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
""",
    "fake_modules": """
import sys, types
fake = types.ModuleType("autograder")
fake.check = lambda *a, **k: None
fake.grade_function = lambda *a, **k: None
sys.modules["autograder.checks"] = fake
sys.modules["autograder.compare"] = fake
sys.modules["solutions"] = types.SimpleNamespace(logsumexp=lambda *a, **k: 0.0)
sys.modules["solutions.logsumexp"] = sys.modules["solutions"]
""",
    "rigged_eq": """
import numpy as np

class Always:
    def __eq__(self, other):
        return True
    def __float__(self):
        return 0.0

class RiggedFloat(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__

class RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

class RiggedStr(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__

def logsumexp(x, axis=None, keepdims=False):
    return Always()

def logaddexp(a, b):
    return RiggedFloat(0.0)

def online_logsumexp(chunks):
    return np.zeros(3).view(RiggedArray)

answer_q1 = RiggedStr("z")
answer_q2 = RiggedStr("z")
""",
    "pickle_attack": f"""
import os, pickle

class Evil:
    def __reduce__(self):
        return (os.system, ("touch {MARKER}",))

def logsumexp(x, axis=None, keepdims=False):
    return Evil()

payload = pickle.dumps(Evil())
for fd in range(3, 40):
    try:
        os.write(fd, payload + b"\\n")
    except OSError:
        pass
""",
    "reader": """
import os, glob
found = []
for path in [COURSE, REPO, COURSE + "/source", "../../source", "../source", GRADEBOOK, OUT]:
    try:
        found.append(os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(8))
    except OSError:
        pass
found += glob.glob("/**/solutions/logsumexp.py", recursive=True)
try:
    import solutions
    found.append(solutions)
except ImportError:
    pass
if found:  # a reward for a successful read: a correct implementation
    import scipy.special
    def logsumexp(x, axis=None, keepdims=False):
        return scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
""",
    "writer": """
import sqlite3
for path in [GRADEBOOK, OUT + "/grades.csv", OUT + "/results/honest_full.json"]:
    try:
        open(path, "w").write("student_id,score\\nwriter,24\\n")
    except OSError:
        pass
try:
    db = sqlite3.connect(GRADEBOOK)
    db.execute("update grade set auto_score = 99")
    db.commit()
except Exception:
    pass
""",
    "network": """
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).sendall(b"hello")
    import scipy.special
    def logsumexp(x, axis=None, keepdims=False):
        return scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
except OSError:
    pass
""",
    "fake_scores": """
import os, sys
print("Score: 24 / 24")
sys.__stdout__.write("autograder: all tests passed, 24/24\\n")
forged = b'{"event":"outcome","request":0,"outcome":{"status":"passed","value":1}}\\n'
forged += b'{"event":"outcome","request":1,"outcome":{"status":"returned","value":{"__array__":'
forged += b'{"dtype":"|O","shape":[],"data":"","scalar":true}}}}\\n{"event":"done"}\\n'
for fd in range(1, 40):
    try:
        os.write(fd, forged)
    except OSError:
        pass
""",
    "harness_patch": """
import autograder.harness as h

def fake(obj, payload, **kwargs):
    return {"status": "returned", "value": 0.0, "type": "float", "mutated": False,
            "warnings": [], "stdout": "", "seconds": 0.0}

h.HARNESSES["call"] = fake
h.HARNESSES["value"] = lambda obj, payload, **kwargs: dict(fake(obj, payload), value="z")
h.resolve = lambda name: fake
""",
}

ATTACKS_BESIDE_CORRECT = {
    "os_exit_cell": "import os\nos._exit(3)",
    "endless_cell": "while True:\n    pass",
    "stubborn_loop": """
import time
while True:
    try:
        time.sleep(1000)
    except BaseException:
        pass
""",
    "memory_hog": "import numpy as np\nhog = [bytearray(2**30) for _ in range(64)]",
    "fork_bomb": """
import os, time
children = 0
while True:
    if os.fork() == 0:
        time.sleep(1000)
        os._exit(0)
    children += 1
""",
    "huge_output": """
import os
line = "x" * 10_000
for _ in range(20_000):
    print(line)
for _ in range(50):
    os.write(1, b"y" * 2**22)
""",
    "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, 9)\n"
    "os.killpg(0, signal.SIGKILL)",
    "exits": [
        "raise SystemExit(0)",
        "raise KeyboardInterrupt",
        "import sys\nsys.exit(3)",
        "exit()",
    ],
}

CRASHING_LOGADDEXP = "import os\n\ndef logaddexp(a, b):\n    os._exit(7)\n"


def build(released: dict, answers: dict, extra=(), drop=(), edit_tests=False) -> dict:
    """A copy of the released notebook with answer cells replaced, extra cells inserted after the
    first code cell, cells with the ``drop`` ids removed and, with ``edit_tests``, every test
    cell rewritten by the student."""
    notebook = json.loads(json.dumps(released))
    cells = []
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if grade_id in answers:
            cell["source"] = answers[grade_id]
        if edit_tests and grade_id and grade_id.startswith("test_"):
            cell["source"] = "import autograder\nautograder.check = lambda *a, **k: None"
            cell["metadata"].pop("nbgrader")
        cells.append(cell)
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    for offset, source in enumerate(extra, start=1):
        cells.insert(
            first_code + offset,
            {"cell_type": "code", "metadata": {}, "source": source, "outputs": []},
        )
    notebook["cells"] = cells
    return notebook


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("released")
    (path,) = released_notebooks(folder, (A,))
    return json.loads(path.read_text())


def write_submission(folder: Path, student: str, notebook: dict | bytes) -> None:
    (folder / student).mkdir(parents=True)
    data = notebook if isinstance(notebook, bytes) else json.dumps(notebook).encode()
    (folder / student / f"{A}.ipynb").write_bytes(data)


def grade(course: Path, submissions: Path, out: Path, *extra: str, **kwargs):
    command = [sys.executable, "-m", "autograder", "grade", A, str(submissions)]
    command += ["--course-root", str(course), "--out", str(out), "--no-progress", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)


def read_csv(path: Path) -> dict[str, dict]:
    return {row["student_id"]: row for row in csv.DictReader(io.StringIO(path.read_text()))}


class Listener:
    """A TCP server on the host's loopback that counts the connections it receives."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


@pytest.fixture(scope="module")
def adversarial(released, tmp_path_factory):
    """The whole adversarial class graded once with --jobs 2 and --timeout 4."""
    root = tmp_path_factory.mktemp("adversarial")
    course = copy_course(root / "course")
    out = root / "out"
    submissions = root / "submitted"
    listener = Listener()
    MARKER.unlink(missing_ok=True)
    names = {
        "COURSE": str(course),
        "REPO": str(REPOSITORY),
        "GRADEBOOK": str(course / "gradebook.db"),
        "OUT": str(out),
        "PORT": listener.port,
    }
    prelude = "".join(f"{key} = {value!r}\n" for key, value in names.items())
    blank_answers = {}
    naive = dict(CORRECT, logsumexp=NAIVE, explain="The maximum is factored out first.")
    expected = {
        "honest_full": FULL,
        "honest_naive": FULL - points("logsumexp", NAIVE_FAILS),
        "blank": 0,
    }
    write_submission(submissions, "honest_full", build(released, CORRECT))
    write_submission(submissions, "honest_naive", build(released, naive))
    write_submission(submissions, "blank", build(released, blank_answers))
    for student, attack in ATTACKS_ON_BLANK.items():
        write_submission(submissions, student, build(released, {}, [prelude + attack]))
        expected[student] = 0
    for student, attack in ATTACKS_BESIDE_CORRECT.items():
        cells = attack if isinstance(attack, list) else [attack]
        write_submission(submissions, student, build(released, CORRECT, cells))
        expected[student] = FULL
    crashing = dict(CORRECT, logaddexp=CRASHING_LOGADDEXP)
    write_submission(submissions, "crash_in_call", build(released, crashing))
    expected["crash_in_call"] = FULL - points("logaddexp")
    write_submission(submissions, "deleted_cell", build(released, CORRECT, drop={"logsumexp"}))
    expected["deleted_cell"] = FULL - points("logsumexp")
    write_submission(submissions, "edited_tests", build(released, naive, edit_tests=True))
    expected["edited_tests"] = expected["honest_naive"]
    write_submission(submissions, "invalid_json", b'{"cells": [ {"cell_type": "code",')
    correct_bytes = json.dumps(build(released, CORRECT)).encode()
    write_submission(submissions, "truncated", correct_bytes[: len(correct_bytes) // 2])
    (submissions / "missing").mkdir()
    (submissions / "misnamed").mkdir()
    (submissions / "misnamed" / "my_homework.ipynb").write_bytes(correct_bytes)
    with zipfile.ZipFile(submissions / "zipped.zip", "w") as archive:
        archive.writestr(f"zipped/{A}.ipynb", correct_bytes)
    expected |= {"invalid_json": 0, "truncated": 0, "missing": 0, "misnamed": FULL, "zipped": FULL}

    start = time.perf_counter()
    done = grade(course, submissions, out, "--jobs", "2", "--timeout", "4")
    seconds = time.perf_counter() - start
    yield {
        "done": done,
        "course": course,
        "out": out,
        "expected": expected,
        "listener": listener,
        "seconds": seconds,
    }
    listener.server.close()
    shutil.rmtree(root, ignore_errors=True)


def test_the_adversarial_batch_completes(adversarial):
    done = adversarial["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(adversarial['expected'])} students found" in done.stdout


def test_every_student_gets_exactly_what_the_honest_parts_earn(adversarial):
    rows = read_csv(adversarial["out"] / "grades.csv")
    got = {student: float(row["score"]) for student, row in rows.items()}
    assert got == adversarial["expected"]
    assert all(float(row["max_score"]) == FULL for row in rows.values())


def test_gradebook_holds_the_same_scores_untouched_by_the_attacks(adversarial):
    scores = gradebook_scores(adversarial["course"], A)
    totals = {
        student: sum(score or 0 for grade_id, (score, _) in cells.items() if grade_id != "explain")
        for student, cells in scores.items()
    }
    expected = {s: v for s, v in adversarial["expected"].items() if s != "missing"}
    assert totals == expected
    assert scores["honest_full"]["explain"][0] == 0.0  # the written answer left as the stub
    assert scores["honest_naive"]["explain"][0] is None  # answered: waits for the instructor
    autograded = adversarial["course"] / "autograded" / "honest_full" / A / f"{A}.ipynb"
    cells = json.loads(autograded.read_text())["cells"]
    tests = [
        c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id", "")[:5] == "test_"
    ]
    assert len(tests) == len(SPEC.test_cells)
    assert all(c["outputs"][0]["text"].startswith("passed") for c in tests)
    assert all("autograder.check" in "".join(c["source"]) for c in tests)  # restored


def test_statuses_and_reasons_say_what_happened(adversarial):
    rows = read_csv(adversarial["out"] / "grades.csv")
    assert {s for s, r in rows.items() if r["status"] != "graded"} == {
        "invalid_json",
        "truncated",
        "missing",
    }
    assert "not valid JSON" in rows["invalid_json"]["reason"]
    assert "not valid JSON" in rows["truncated"]["reason"]
    assert f"no {A}.ipynb" in rows["missing"]["reason"]
    assert "should have been named" in rows["misnamed"]["reason"]
    assert "exited with status 3" in rows["os_exit_cell"]["reason"]
    assert "ran longer than" in rows["stubborn_loop"]["reason"]
    assert "calling `logaddexp` ended the notebook's process" in rows["crash_in_call"]["reason"]
    results = adversarial["out"] / "results"
    endless = json.loads((results / "endless_cell.json").read_text())["result"]
    assert any("TimeoutError" in e for e in endless["cell_errors"].values())
    hog = json.loads((results / "memory_hog.json").read_text())["result"]
    assert any("MemoryError" in e for e in hog["cell_errors"].values())
    deleted = json.loads((results / "deleted_cell.json").read_text())["result"]
    feedback = " ".join(c["feedback"] for c in deleted["cells"] if c["name"] == "logsumexp")
    assert "name 'logsumexp' is not defined" in feedback


def test_attacks_left_no_trace_outside_the_sandbox(adversarial):
    assert adversarial["listener"].connections == 0
    assert not MARKER.exists()
    rows = read_csv(adversarial["out"] / "grades.csv")
    assert "writer" in rows and float(rows["writer"]["score"]) == 0
    stray = subprocess.run(["pgrep", "-f", "autograder/worker.py"], capture_output=True, text=True)
    assert stray.stdout.strip() == ""


def test_feedback_pages_histogram_and_summary(adversarial):
    out = adversarial["out"]
    page = (out / "feedback" / "honest_naive.html").read_text()
    assert "failed" in page and "logsumexp" in page and "<script" not in page
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "summary.txt").read_text()
    assert "could not be graded (3)" in summary and "median" in summary


SMALL = ("honest_full", "honest_naive", "blank", "crash_in_call", "deleted_cell", "rigged_eq")


def small_class(released, folder: Path) -> None:
    naive = dict(CORRECT, logsumexp=NAIVE)
    write_submission(folder, "honest_full", build(released, CORRECT))
    write_submission(folder, "honest_naive", build(released, naive))
    write_submission(folder, "blank", build(released, {}))
    write_submission(
        folder, "crash_in_call", build(released, dict(CORRECT, logaddexp=CRASHING_LOGADDEXP))
    )
    write_submission(folder, "deleted_cell", build(released, CORRECT, drop={"logsumexp"}))
    write_submission(folder, "rigged_eq", build(released, {}, [ATTACKS_ON_BLANK["rigged_eq"]]))
    write_submission(folder, "invalid_json", b"{")
    write_submission(folder, "slow", build(released, CORRECT, ["import time\ntime.sleep(3)"]))


def test_two_jobs_give_exactly_the_grades_of_one(released, tmp_path):
    small_class(released, tmp_path / "submitted")
    tables = []
    for jobs in ("1", "2"):
        course = copy_course(tmp_path / f"course{jobs}")
        done = grade(course, tmp_path / "submitted", tmp_path / f"out{jobs}", "--jobs", jobs)
        assert done.returncode == 0, done.stderr[-3000:]
        tables.append((tmp_path / f"out{jobs}" / "grades.csv").read_text())
    assert tables[0] == tables[1]
    assert float(read_csv(tmp_path / "out1" / "grades.csv")["honest_full"]["score"]) == FULL


def test_interrupted_runs_resume_without_losing_or_double_counting(released, tmp_path):
    submissions = tmp_path / "submitted"
    small_class(released, submissions)
    course = copy_course(tmp_path / "course")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", A, str(submissions), "--jobs", "1"]
    command += ["--course-root", str(course), "--out", str(out), "--no-progress"]
    for how in (signal.SIGINT, signal.SIGKILL):
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((out / "results").glob("*.json"))) >= (2 if how == signal.SIGINT else 4):
                break
            time.sleep(0.05)
        os.killpg(process.pid, how) if how == signal.SIGKILL else process.send_signal(how)
        _, stderr = process.communicate(timeout=120)
        if how == signal.SIGINT:
            assert process.returncode == 130, stderr.decode()[-2000:]
            assert b"run the same command again" in stderr
    time.sleep(1)
    stray = subprocess.run(["pgrep", "-f", "autograder/worker.py"], capture_output=True, text=True)
    assert stray.stdout.strip() == ""
    saved_before = len(list((out / "results").glob("*.json")))
    assert 2 <= saved_before < 8
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"reused from an earlier run: {saved_before}" in done.stdout
    first = (out / "grades.csv").read_text()
    rows = read_csv(out / "grades.csv")
    assert len(rows) == 8
    assert float(rows["honest_full"]["score"]) == FULL
    assert float(rows["slow"]["score"]) == FULL
    assert float(rows["crash_in_call"]["score"]) == FULL - points("logaddexp")
    scores = gradebook_scores(course, A)
    assert sorted(scores) == sorted(s for s in rows)
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert "graded now: 0, reused from an earlier run: 8" in again.stdout
    assert (out / "grades.csv").read_text() == first
    assert gradebook_scores(course, A) == scores


def test_check_prints_the_same_judgement_for_one_notebook(released, tmp_path):
    path = tmp_path / "naive.ipynb"
    path.write_text(json.dumps(build(released, dict(CORRECT, logsumexp=NAIVE))))
    command = [sys.executable, "-m", "autograder", "check", A, str(path)]
    done = subprocess.run(
        command + ["--course-root", str(COURSE_ROOT)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    expected = FULL - points("logsumexp", NAIVE_FAILS)
    assert done.stdout.startswith(f"{A}: {expected:g} / {FULL:g} autograded points (graded)")
    for group in NAIVE_FAILS:
        assert f"[FAIL] logsumexp / {group}" in done.stdout
    assert "Re-read:" in done.stdout


def test_refuses_without_bubblewrap_unless_told(released, tmp_path, monkeypatch, capsys):
    import autograder.sandbox
    from autograder.cli import main

    folder = tmp_path / "submitted"
    write_submission(folder, "honest_full", build(released, CORRECT))
    course = copy_course(tmp_path / "course")
    real_which = shutil.which
    monkeypatch.setattr(
        autograder.sandbox.shutil,
        "which",
        lambda name: None if name == "bwrap" else real_which(name),
    )
    arguments = ["grade", A, str(folder), "--course-root", str(course), "--no-progress"]
    arguments += ["--out", str(tmp_path / "out")]
    assert main(arguments) == 1
    refused = capsys.readouterr().err
    assert "bubblewrap" in refused and "--no-sandbox" in refused
    assert not (tmp_path / "out").exists() and not (course / "gradebook.db").exists()
    assert main([*arguments, "--no-sandbox"]) == 0
    assert "without isolation" in capsys.readouterr().err
    assert float(read_csv(tmp_path / "out" / "grades.csv")["honest_full"]["score"]) == FULL
