"""``python -m autograder`` end to end: an adversarial class of ex03 submissions built from the
released notebook, graded in temporary course copies through the real command line.

Every attack is paired with what the same notebook earns honestly: attacks on blank answers must
earn 0, attacks beside correct answers must not cost the correct answers anything (or only the
name whose call ended the process, or the names a message forged on the channel touched),
honest students in the same batch get their exact scores, and the batch always completes. The
same batch holds what the reader must refuse (corrupt zip streams, FIFOs, links to devices and
to the instructor's files), escapes from the limits (memfd, nested namespaces, /dev/shm),
floods and forgeries on the channel (status `tampered`), and student content that must reach
the instructor inert (HTML/JS, nbgrader metadata, terminal escapes, spreadsheet formulae); it
also measures the grader's own memory while it grades them. Also: ``--jobs 2`` equals
``--jobs 1``, an interrupted run (SIGINT, then ``kill -9``) resumes without losing or
double-counting, ``check`` prints the same judgement, and the grader refuses to run unsandboxed
unless told to.
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

from autograder.checks import get_check
from autograder.course.operations import (
    COURSE_ROOT,
    REPOSITORY,
    copy_course,
    gradebook_scores,
    nbgrader,
    released_notebooks,
)
from autograder.grader.assignment import load_spec

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
sys.modules["autograder.judge.compare"] = fake
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
import autograder.harness.calls as h

def fake(obj, payload, **kwargs):
    return {"status": "returned", "value": 0.0, "type": "float", "mutated": False,
            "warnings": [], "stdout": "", "seconds": 0.0}

h.call = fake
h.value = lambda obj, payload, **kwargs: dict(fake(obj, payload), value="z")
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
    # 1 GB arrays, never touched: the second passes the address-space limit at once
    "memory_hog": "import numpy as np\nhog = [np.empty(2**27) for _ in range(64)]",
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

# Routes around the memory limit and out of the sandbox's namespaces: each is refused by the
# seccomp filter or a read-only /dev (the cell raises), so the correct answers keep all points.
ESCAPES_BESIDE_CORRECT = {
    "memfd": "import os\nfd = os.memfd_create('hog')\nos.ftruncate(fd, 2**32)",
    "nested_namespace": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    raise PermissionError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
""",
    "unshare_command": """
import subprocess
done = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none /mnt"],
                      capture_output=True, text=True)
if done.returncode:
    raise PermissionError(done.stderr)
""",
    "dev_shm": "open('/dev/shm/hog', 'wb').write(b'x' * 2**20)",
}

# Speaking out of turn on the channel: the job (every request's payload) and the channel's file
# descriptor are in the student's own process, so a cell can write outcomes before the harness
# calls. The forged events are seen, the submission is marked `tampered` and the names they
# touch get 0.
FORGE_OUTCOMES = """
import gc, os
import numpy as np
from autograder.harness import wire

job = next(o for o in gc.get_objects() if type(o) is dict and "channel_fd" in o)
lines = []
for index, request in enumerate(job["requests"]):
    if request["variable"] != "logsumexp":
        continue
    x = np.asarray(wire.loads(request["payload"])["args"][0], dtype=float)
    value = float(np.log(np.sum(np.exp(x - x.max()))) + x.max()) if x.size else float("-inf")
    outcome = {"status": "returned", "value": value, "type": "float", "mutated": False,
               "warnings": [], "stdout": "", "seconds": 0.0}
    lines.append(wire.dumps({"event": "call", "request": index}))
    lines.append(wire.dumps({"event": "outcome", "request": index, "outcome": outcome}))
os.write(job["channel_fd"], ("\\n".join(lines) + "\\n").encode())

def logsumexp(x, axis=None, keepdims=False):
    raise NotImplementedError
"""
FLOODS_BESIDE_CORRECT = {
    "flood_valid_json": """
import os
event = b'{"event":"cell_done","cell":1,"error":"' + b"x" * 1000 + b'"}\\n'
for fd in range(3, 20):
    try:
        for _ in range(40_000):  # 40 MB of valid JSON
            os.write(fd, event)
    except OSError:
        pass
""",
    "fake_cell_done": """
import os
lines = b"".join(b'{"event":"cell_done","cell":%d,"error":"E"}\\n' % n for n in range(100_000))
for fd in range(3, 20):
    try:
        os.write(fd, lines)
    except OSError:
        pass
""",
    "giant_outcome": """
import autograder.harness.calls as h
h.call = lambda obj, payload, **kwargs: {"status": "returned", "value": "x" * 2**25}
""",
}
HOSTILE_MARKDOWN = [
    {
        "cell_type": "markdown",
        "id": "dup",
        "metadata": {"nbgrader": {"grade_id": ["not", "a", "string"], "grade": False}},
        "source": '<script>alert("md")</script><img src=x onerror="alert(1)"> '
        "[click](javascript:alert(2))",
    },
    {
        "cell_type": "raw",
        "id": "dup",
        "metadata": {"raw_mimetype": "text/html", "format": "text/html"},
        "source": "<script>alert('raw')</script>",
    },
    {
        "cell_type": "code",
        "id": "not a valid id!",
        "metadata": {"nbgrader": {"grade_id": {"a": 1}, "solution": True}},
        "outputs": [{"output_type": "display_data", "data": {"text/html": "<script>x</script>"}}],
        "source": "bonus = 1",
    },
    {
        "cell_type": "code",
        "metadata": {
            "nbgrader": {"grade": True, "solution": False, "points": 1000, "grade_id": "bonus"}
        },
        "outputs": [],
        "source": "assert True",
    },
]
ESCAPE_TEXT = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


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
        cell = source if isinstance(source, dict) else None
        cell = cell or {"cell_type": "code", "metadata": {}, "source": source, "outputs": []}
        cells.insert(first_code + offset, cell)
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


def own_tmpdir(folder: Path) -> dict:
    """An environment whose TMPDIR is ``folder``: the grader's sandboxes then carry that path on
    their command lines, so a test finds the processes it started and no other grader's."""
    folder.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, TMPDIR=str(folder))


def interruptible() -> None:
    """In a child before it starts: SIGINT back to its default action. A shell runs background
    jobs with SIGINT ignored, Python then keeps it ignored, and a Ctrl-C test started from
    such a job (a CI script run with ``&``) could not interrupt the grader."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def leftover_processes(folder: Path) -> str:
    """Command lines of running processes that mention ``folder`` (this test's sandboxes)."""
    found = subprocess.run(["pgrep", "-af", str(folder)], capture_output=True, text=True)
    return found.stdout.strip()


def resident_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    values = [int(line.split()[1]) for line in status.splitlines() if line.startswith(field)]
    return values[0] / 1024 if values else 0.0


def grade_measuring_memory(command: list[str], results: Path, env: dict):
    """Run the grader; return its result, its resident memory when it started grading (the
    first ``.try`` marker) and its peak resident memory (sampled every 50 ms)."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    baseline, peak = None, 0.0
    sampler_done = threading.Event()

    def sample():
        nonlocal baseline, peak
        while not sampler_done.wait(0.05):
            if baseline is None and results.is_dir() and any(results.glob("*.try")):
                baseline = resident_mb(process.pid)
            peak = max(peak, resident_mb(process.pid, "VmHWM"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate(timeout=1200)
    sampler_done.set()
    sampler.join()
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return done, baseline, peak


def read_csv(path: Path) -> dict[str, dict]:
    """Rows by student id (an id that could start a formula is written with an apostrophe)."""
    rows = csv.DictReader(io.StringIO(path.read_text()))
    return {row["student_id"].removeprefix("'"): row for row in rows}


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

    # The reader: corrupt zip streams, files that are not regular files, links out of the
    # folder (to a device, to the instructor's source notebook and folder), odd metadata.
    for method, name in [
        (zipfile.ZIP_DEFLATED, "corrupt_deflate"),
        (zipfile.ZIP_LZMA, "corrupt_lzma"),
        (zipfile.ZIP_BZIP2, "corrupt_bzip2"),
    ]:
        path = submissions / f"{name}.zip"
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            archive.writestr(f"{A}.ipynb", correct_bytes)
        data = bytearray(path.read_bytes())
        data[200:4000] = bytes(range(256)) * 14 + bytes(range(256))[:216]
        path.write_bytes(bytes(data))
        expected[name] = 0
    os.mkfifo(submissions / "fifo_top.ipynb")
    (submissions / "fifo_folder").mkdir()
    os.mkfifo(submissions / "fifo_folder" / f"{A}.ipynb")
    (submissions / "zero_top.ipynb").symlink_to("/dev/zero")
    (submissions / "zero_folder").mkdir()
    (submissions / "zero_folder" / f"{A}.ipynb").symlink_to("/dev/zero")
    source = course / "source" / A
    (submissions / "source_link.ipynb").symlink_to(source / f"{A}.ipynb")
    (submissions / "source_folder").symlink_to(source)
    (submissions / "outside_folder").mkdir()
    (submissions / "outside_folder" / f"{A}.ipynb").symlink_to(source / f"{A}.ipynb")
    refused = ["fifo_top", "fifo_folder", "zero_top", "zero_folder", "source_link"]
    refused += ["source_folder", "outside_folder"]
    expected |= dict.fromkeys(refused, 0)
    stamped = submissions / "bad_timestamp" / A
    stamped.mkdir(parents=True)
    (stamped / f"{A}.ipynb").write_bytes(correct_bytes)
    (stamped / "timestamp.txt").write_bytes(b"\xff\xfe2026-12-01 \x1b[31m12:00:00\xc3")
    with zipfile.ZipFile(submissions / "escape_name.zip", "w") as archive:
        archive.writestr(f"{ESCAPE_TEXT}homework.ipynb", correct_bytes)
    expected |= {"bad_timestamp": FULL, "escape_name": FULL}
    # Limits escaped inside the sandbox: refused by seccomp.
    for student, attack in ESCAPES_BESIDE_CORRECT.items():
        write_submission(submissions, student, build(released, CORRECT, [attack]))
        expected[student] = FULL
    # Speaking out of turn and flooding the grader.
    forger = build(released, dict(CORRECT, logsumexp=FORGE_OUTCOMES))
    write_submission(submissions, "forge_outcomes", forger)
    expected["forge_outcomes"] = FULL - points("logsumexp")
    for student, attack in FLOODS_BESIDE_CORRECT.items():
        write_submission(submissions, student, build(released, CORRECT, [attack]))
        expected[student] = 0
    # the patched harness floods each call of a function; the written answers keep their points
    expected["giant_outcome"] = points("q1") + points("q2")
    # Student content reaching the instructor: HTML/JS, nbgrader metadata, escapes, formulae.
    hostile = build(released, CORRECT, HOSTILE_MARKDOWN)
    write_submission(submissions, "hostile_cells", hostile)
    escape = f"raise ValueError({ESCAPE_TEXT!r})"
    write_submission(submissions, "escape_error", build(released, CORRECT, [escape]))
    write_submission(submissions, "-1+1", build(released, CORRECT))
    write_submission(submissions, "@SUM", build(released, {}))
    expected |= {"hostile_cells": FULL, "escape_error": FULL, "-1+1": FULL, "@SUM": 0}

    command = [sys.executable, "-m", "autograder", "grade", A, str(submissions), "--jobs", "2"]
    command += ["--timeout", "4", "--course-root", str(course), "--out", str(out)]
    command += ["--no-progress"]
    start = time.perf_counter()
    env = own_tmpdir(root / "tmp")
    done, baseline, peak = grade_measuring_memory(command, out / "results", env)
    seconds = time.perf_counter() - start
    yield {
        "done": done,
        "course": course,
        "out": out,
        "expected": expected,
        "listener": listener,
        "seconds": seconds,
        "memory": (baseline, peak),
        "tmp": root / "tmp",
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
    unread = NOT_GRADED - {"invalid_json", "truncated"}  # no file was read: no submission
    expected = {s: v for s, v in adversarial["expected"].items() if s not in unread}
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


NOT_GRADED = {"invalid_json", "truncated", "missing", "corrupt_deflate", "corrupt_lzma"}
NOT_GRADED |= {"corrupt_bzip2", "fifo_top", "fifo_folder", "zero_top", "zero_folder"}
NOT_GRADED |= {"source_link", "source_folder", "outside_folder"}
TAMPERED = {"fake_scores", "pickle_attack", "forge_outcomes", *FLOODS_BESIDE_CORRECT}


def test_statuses_and_reasons_say_what_happened(adversarial):
    rows = read_csv(adversarial["out"] / "grades.csv")
    statuses = {s: r["status"] for s, r in rows.items() if r["status"] != "graded"}
    assert statuses == dict.fromkeys(NOT_GRADED, "not_graded") | dict.fromkeys(TAMPERED, "tampered")
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
    assert any("MemoryError" in e for e in hog["cell_errors"].values()), hog["cell_errors"]
    deleted = json.loads((results / "deleted_cell.json").read_text())["result"]
    feedback = " ".join(c["feedback"] for c in deleted["cells"] if c["name"] == "logsumexp")
    assert "name 'logsumexp' is not defined" in feedback


def test_the_reader_refuses_what_is_not_a_submission_and_reads_the_rest(adversarial):
    rows = read_csv(adversarial["out"] / "grades.csv")
    for name in ("corrupt_deflate", "corrupt_lzma", "corrupt_bzip2"):
        assert "could not read" in rows[name]["reason"], rows[name]["reason"]
    for name in ("fifo_top", "fifo_folder"):
        assert "not a regular file" in rows[name]["reason"]
    for name in ("zero_top", "zero_folder", "source_link", "source_folder", "outside_folder"):
        assert "outside the submissions folder" in rows[name]["reason"]
    autograded = adversarial["course"] / "autograded"
    assert not (autograded / "source_link").exists() and not (autograded / "source_folder").exists()
    stamp = (autograded / "bad_timestamp" / A / "timestamp.txt").read_text()
    assert stamp.startswith("\ufffd\ufffd2026-12-01 [31m12:00:00") and "\x1b" not in stamp
    assert "should have been named" in rows["escape_name"]["reason"]


def test_speaking_out_of_turn_is_tampering_and_costs_the_names_it_touched(adversarial):
    rows = read_csv(adversarial["out"] / "grades.csv")
    forged = rows["forge_outcomes"]
    assert "tampering: the channel carried a `call` event for request 0 while" in forged["reason"]
    assert "0 points for logsumexp" in forged["reason"]
    logaddexp = [c for c in SPEC.test_cells if c.name == "logaddexp"]
    assert all(float(forged[cell.grade_id]) == cell.points for cell in logaddexp)
    assert "a message that is not valid JSON" in rows["pickle_attack"]["reason"]
    assert "`cell_done` event for cell 1 while cell" in rows["flood_valid_json"]["reason"]
    assert "a message longer than 8 MB" in rows["giant_outcome"]["reason"]
    summary = (adversarial["out"] / "summary.txt").read_text()
    assert f"tampered, to review ({len(TAMPERED)}" in summary
    for name in TAMPERED:
        assert f"  {name}: tampering: the channel carried" in summary


def test_no_output_grows_with_what_a_submission_sends(adversarial):
    out = adversarial["out"]
    assert max(p.stat().st_size for p in (out / "feedback").iterdir()) < 64 * 1024
    assert max(p.stat().st_size for p in (out / "results").glob("*.json")) < 64 * 1024
    assert (out / "grades.csv").stat().st_size < 64 * 1024
    baseline, peak = adversarial["memory"]
    print(
        f"grader memory: {baseline:.0f} MB when grading began, peak {peak:.0f} MB; batch "
        f"{adversarial['seconds']:.0f} s for {len(adversarial['expected'])} students"
    )
    assert baseline is not None and peak - baseline < 200


def test_outputs_are_inert(adversarial):
    out, course = adversarial["out"], adversarial["course"]
    texts = [(out / "summary.txt").read_text(), (out / "grades.csv").read_text()]
    texts += [p.read_text() for p in (out / "feedback").iterdir()]
    assert not any(c in text for text in texts for c in "\x1b\x07\r")
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    ids = [row[0] for row in rows[1:]]
    assert "'-1+1" in ids and "'@SUM" in ids
    assert not any(cell[:1] in "=+-@" for row in rows[1:] for cell in row if cell[:1] != "")
    page = (out / "feedback" / "escape_error.html").read_text()
    assert "ValueError: ]0;pwned" in page
    reason = read_csv(out / "grades.csv")["escape_error"]["reason"]
    assert 'cells that raised errors: the cell after "cell_code_2"' in reason
    notebook = (course / "autograded" / "hostile_cells" / A / f"{A}.ipynb").read_text()
    assert "<script" not in notebook and "<img" not in notebook and "javascript:" not in notebook
    assert "&lt;script&gt;alert" in notebook  # the text stays readable
    cells = json.loads(notebook)["cells"]
    metadata = [c["metadata"].get("nbgrader", {}) for c in cells]
    assert not any(m.get("points") == 1000 or m.get("grade_id") == "bonus" for m in metadata)
    assert all(isinstance(m.get("grade_id", ""), str) for m in metadata)
    assert all(
        c.get("outputs", []) == [] or c["outputs"][0]["output_type"] in ("stream", "error")
        for c in cells
    )
    assert not any("attachments" in c for c in cells)
    nbgrader(course, "generate_feedback", A, "--student", "hostile_cells", "--force")
    assert (course / "feedback" / "hostile_cells" / A / f"{A}.html").is_file()


def test_attacks_left_no_trace_outside_the_sandbox(adversarial):
    assert adversarial["listener"].connections == 0
    assert not MARKER.exists()
    rows = read_csv(adversarial["out"] / "grades.csv")
    assert "writer" in rows and float(rows["writer"]["score"]) == 0
    assert leftover_processes(adversarial["tmp"]) == ""


def test_feedback_pages_histogram_and_summary(adversarial):
    out = adversarial["out"]
    page = (out / "feedback" / "honest_naive.html").read_text()
    assert "failed" in page and "logsumexp" in page and "<script" not in page
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "summary.txt").read_text()
    assert f"could not be graded ({len(NOT_GRADED)})" in summary and "median" in summary


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
    env = own_tmpdir(tmp_path / "tmp")
    for how in (signal.SIGINT, signal.SIGKILL):
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            preexec_fn=interruptible,
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
    assert leftover_processes(tmp_path / "tmp") == ""
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
    import autograder.grader.sandbox
    from autograder.grader.cli import main

    folder = tmp_path / "submitted"
    write_submission(folder, "honest_full", build(released, CORRECT))
    course = copy_course(tmp_path / "course")
    real_which = shutil.which
    monkeypatch.setattr(
        autograder.grader.sandbox.policy.shutil,
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
