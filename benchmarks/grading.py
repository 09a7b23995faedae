"""Benchmark the sandboxed parallel grader against plain ``nbgrader autograde`` on one class.

Run ``python benchmarks/grading.py`` (20 students of ``ex04_softmax``), or ``--quick`` for 4
students; ``--assignment``, ``--students`` and ``--jobs`` change the set-up, ``--json PATH``
also writes every number as JSON. It takes a few minutes on two cores.

What is measured
----------------
A class of submissions is built in a temporary folder from the released student notebook: the
instructor's source notebook (full marks), the released notebook untouched (0), one notebook
with a correct answer in every cell, and then students whose every graded function is, at
random but reproducibly, one of the correct implementations, one of the mutants of
``tests/mutants/<assignment>.py`` (naive or subtly wrong code that must lose known groups) or
left unanswered; their multiple-choice answers are right or wrong and the written answer is
filled in or not. Each student therefore has an expected score per test cell.

(a) ``nbgrader autograde ASSIGNMENT`` once, in a fresh copy of the course (the assignment is
    generated before the clock starts): nbgrader executes the submissions one after another.
(b) ``python -m autograder grade ASSIGNMENT SUBMISSIONS --jobs N`` (sandbox included) as a
    subprocess, in a second fresh copy with a fresh ``--out`` so no saved result is reused;
    then once more with ``--jobs 1`` in a third copy.
(c) One submission notebook (the all-correct student's, i.e. exactly what a student hands in)
    executed with nbclient in a fresh kernel, the cost of running the notebook at all.

(d) The same command with ``--scheduler tcp://…`` instead of ``--jobs``: a real ``dask
    scheduler`` and two ``dask worker`` processes with one thread each, started on free
    localhost ports before the clock starts (skip with ``--no-dask``).
(p) The per-phase breakdown of grading the all-correct student once
    (:func:`phases.phase_breakdown`): run start-up, cells, harness calls, verdicts, writes, and
    what is paid once per batch.
(f) The same student's run in a fresh sandbox (bubblewrap, a new interpreter, its imports: the
    grader before fork servers) and in a child forked from a fork server, side by side, as wall
    time and as CPU time of every process involved (:func:`phases.fresh_and_forked`).

Both wall times are of whole commands, interpreter start-up and gradebook writes included. The
grader's cost per submission is its ``--jobs 1`` wall time divided by the number of students,
and its overhead is that divided by the nbclient time per notebook (1 would mean grading costs
nothing beyond executing the notebook once). The targets: a speedup (a)/(b) of at least 6 with
``--jobs 2`` on two cores, and (d) at most 10 % slower than (b). Last comes a projection (not a
measurement) of the wall time of 100,000 submissions on 10, 100 and 1000 single-core Dask
workers from the measured per-submission cost (:func:`phases.projection`).

The script also checks that (a) and (b) give every student the same autograded total (the
hand-graded written answer is left out; nbgrader gives a test cell full or no points) and, cell
by cell, compares both with the expected scores. A disagreement between (a) and (b) is printed
and the script exits with status 1; nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbclient
import nbformat
from phases import DASK_SECONDS_PER_TASK, fresh_and_forked, phase_breakdown, projection

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.course.operations import (
    NbgraderError,
    copy_course,
    generate,
    gradebook_scores,
    nbgrader,
    released_notebooks,
)

REPOSITORY = Path(__file__).resolve().parent.parent
MANUAL_CELL = "explain"  # the written answer, graded by hand
WRITTEN_ANSWER = (
    "Computing softmax and then taking its log loses the small probabilities to underflow; "
    "working with log-probabilities (x minus logsumexp) keeps them finite and accurate."
)


def dask_cluster(folder: Path):
    """A ``dask scheduler`` and two single-thread ``dask worker`` processes on free localhost
    ports (the test suite's :class:`test_grader_dask.Cluster`); call ``stop()`` when done."""
    _test_helpers()
    return importlib.import_module("test_grader_dask").Cluster(folder)


def _test_helpers() -> tuple[ModuleType, ModuleType]:
    """``tests/assignments/test_assignments_e2e.py`` (how the end-to-end test builds
    submissions) and the package ``tests/mutants``; both live outside the installed packages
    (``tests/autograder/grader`` holds the Dask test's cluster)."""
    for folder in ("tests", "tests/assignments", "tests/autograder/grader"):
        path = str(REPOSITORY / folder)
        if path not in sys.path:
            sys.path.insert(0, path)
    return importlib.import_module("test_assignments_e2e"), importlib.import_module("mutants")


@dataclass
class Student:
    """One submission of the class and what it should score, cell by cell."""

    student_id: str
    plan: str  # a short description of what each answer cell holds
    notebook: nbformat.NotebookNode
    expected: dict[str, float] = field(default_factory=dict)  # test cell -> expected points


def test_cell_points(assignment: str) -> dict[str, dict[str, float]]:
    """Per graded name, the points of each of its hidden test cells (``test_<name>_<group>``)."""
    return {
        name: {f"test_{name}_{group.name}": group.points for group in check.groups}
        for name, check in checks_for(assignment).items()
    }


def all_correct_answers(assignment: str) -> dict[str, str]:
    """Answer-cell sources (by grade id) that earn full marks: the first correct variant of
    every graded function, the right multiple-choice letters and a written answer."""
    e2e, _ = _test_helpers()
    module = e2e.mutants(assignment)
    answers = {name: variants[0] for name, variants in module.CORRECT.items()}
    answers |= {q: _choice(q, letter) for q, letter in module.ANSWERS.items()}
    answers[MANUAL_CELL] = WRITTEN_ANSWER
    return answers


def _choice(question: str, letter: str) -> str:
    return f'answer_{question} = "{letter}"'


def build_class(
    assignment: str, source: nbformat.NotebookNode, released: nbformat.NotebookNode, count: int
) -> list[Student]:
    """``count`` submissions with ids ``s01``, ``s02``, …: the instructor's notebook, the
    untouched release, an all-correct student, then reproducible random mixes of correct, mutant
    and missing answers (seeded by assignment and position, so every run builds the same class).

    Raises ``ValueError`` when ``count`` < 1; with fewer than three students only the first kinds
    in that order are built.
    """
    if count < 1:
        raise ValueError(f"need at least one student, got {count}")
    e2e, _ = _test_helpers()
    module = e2e.mutants(assignment)
    cells = test_cell_points(assignment)
    functions = [name for name in cells if not name.startswith("q")]
    questions = [name for name in cells if name.startswith("q")]
    full = {cell: points for groups in cells.values() for cell, points in groups.items()}
    kinds = [
        ("instructor's source notebook", source, dict(full)),
        ("released notebook, nothing answered", released, dict.fromkeys(full, 0.0)),
        (
            "first correct variant everywhere",
            e2e.with_answers(released, all_correct_answers(assignment)),
            dict(full),
        ),
    ]
    for index in range(len(kinds), count):
        rng = random.Random(f"{assignment}/{index}")
        answers: dict[str, str] = {}
        expected = dict(full)
        plan = []
        for name in functions:
            draw = rng.random()
            if draw < 0.5:
                variant = rng.randrange(len(module.CORRECT[name]))
                answers[name] = module.CORRECT[name][variant]
                plan.append(f"C{variant}")
            elif draw < 0.9:
                variant = rng.randrange(len(module.MUTANTS[name]))
                answers[name], broken = module.MUTANTS[name][variant]
                expected |= {f"test_{name}_{group}": 0.0 for group in broken}
                plan.append(f"M{variant}")
            else:  # the stub that raises NotImplementedError stays
                expected |= dict.fromkeys(cells[name], 0.0)
                plan.append("-")
        marks = []
        for question in questions:
            key = module.ANSWERS[question]
            if rng.random() < 0.7:
                answers[question] = _choice(question, key)
                marks.append("+")
            else:
                answers[question] = _choice(question, rng.choice([c for c in "abcd" if c != key]))
                expected |= dict.fromkeys(cells[question], 0.0)
                marks.append("x")
        if rng.random() < 0.7:
            answers[MANUAL_CELL] = WRITTEN_ANSWER
        plan_text = f"{' '.join(plan)}, questions {''.join(marks)}"
        kinds.append((plan_text, e2e.with_answers(released, answers), expected))
    return [
        Student(f"s{number:02d}", plan, notebook, expected)
        for number, (plan, notebook, expected) in enumerate(kinds[:count], start=1)
    ]


def prepared_course(folder: Path, assignment: str, students: list[Student]) -> Path:
    """A fresh copy of the course with ``assignment`` generated and every student submitted."""
    e2e, _ = _test_helpers()
    course = copy_course(folder)
    generate(course, (assignment,))
    for student in students:
        e2e.submit(course, assignment, student.student_id, student.notebook)
    return course


def autograded_totals(
    scores: dict[str, dict[str, tuple]], assignment: str
) -> dict[str, dict[str, float]]:
    """Per student, per graded test cell, the points in a gradebook (the hand-graded cell and
    the visible tests, worth nothing, which nbgrader records as 0 and the grader skips, are left
    out)."""
    graded = {cell for cells in test_cell_points(assignment).values() for cell in cells}
    return {
        student: {
            cell: float(auto)
            for cell, (auto, _) in cells.items()
            if cell in graded and auto is not None
        }
        for student, cells in scores.items()
    }


def time_nbgrader(course: Path, assignment: str) -> tuple[float, dict[str, dict[str, float]]]:
    """Wall seconds of one ``nbgrader autograde`` call and the per-cell scores it stored."""
    start = time.perf_counter()
    nbgrader(course, "autograde", assignment)
    seconds = time.perf_counter() - start
    return seconds, autograded_totals(gradebook_scores(course, assignment), assignment)


@dataclass
class GraderRun:
    """One ``python -m autograder grade`` run: its wall time and what it reported."""

    seconds: float
    cells: dict[str, dict[str, float]]  # grades.csv: student -> test cell -> points
    totals: dict[str, float]  # grades.csv's ``score`` column
    status: dict[str, str]
    gradebook: dict[str, dict[str, float]]  # the same run's scores read back from gradebook.db


def time_grader(
    course: Path, assignment: str, out: Path, jobs: int, sandbox: bool, scheduler: str = ""
) -> GraderRun:
    """Run the grader on ``course/submitted`` as a subprocess; exit the script if it fails.

    With ``scheduler`` the run goes to that Dask scheduler instead of ``--jobs``."""
    parallel = ["--scheduler", scheduler] if scheduler else ["--jobs", str(jobs)]
    command = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        assignment,
        str(course / "submitted"),
        *parallel,
        "--course-root",
        str(course),
        "--out",
        str(out),
        "--no-progress",
    ]
    if not sandbox:
        command.append("--no-sandbox")
    start = time.perf_counter()
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        sys.exit(1)
    cells: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    status: dict[str, str] = {}
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            student = row.pop("student_id")
            totals[student] = float(row.pop("score"))
            status[student] = row.pop("status")
            for column in ("max_score", "reason"):
                row.pop(column)
            cells[student] = {cell: float(points) for cell, points in row.items()}
    gradebook = autograded_totals(gradebook_scores(course, assignment), assignment)
    return GraderRun(seconds, cells, totals, status, gradebook)


def time_nbclient(notebook: nbformat.NotebookNode, repeats: int) -> list[float]:
    """Seconds to execute ``notebook`` with nbclient, each time in a fresh kernel."""
    times = []
    for _ in range(repeats):
        copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
        with tempfile.TemporaryDirectory(prefix="nbclient-") as folder:
            client = nbclient.NotebookClient(
                copy,
                timeout=120,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": folder}},
            )
            start = time.perf_counter()
            client.execute()
            times.append(time.perf_counter() - start)
    return times


def compare(
    students: list[Student],
    nbgrader_cells: dict[str, dict[str, float]],
    runs: dict[str, GraderRun],
) -> tuple[list[str], list[str], list[str]]:
    """Rows of the per-student table, disagreements between nbgrader and the grader (fatal),
    and departures of either from the expected scores (reported only)."""
    rows = [
        "| student | answers | expected | (a) nbgrader | "
        + " | ".join(f"(b) {label}" for label in runs)
        + " | status |",
        "|---|---|---:|---:|" + "---:|" * len(runs) + "---|",
    ]
    disagreements: list[str] = []
    surprises: list[str] = []
    for student in students:
        sid = student.student_id
        expected = sum(student.expected.values())
        ours = nbgrader_cells.get(sid)
        ours_total = sum(ours.values()) if ours is not None else float("nan")
        if ours is None:
            disagreements.append(f"{sid}: nbgrader recorded no submission")
        elif ours != student.expected:
            lost = _cell_differences(student.expected, ours)
            surprises.append(f"{sid}: nbgrader differs from the expected scores: {lost}")
        totals = []
        for label, run in runs.items():
            cells = run.cells.get(sid)
            if cells is None:
                disagreements.append(f"{sid}: grader ({label}) has no row in grades.csv")
                totals.append("missing")
                continue
            totals.append(f"{run.totals[sid]:g}")
            if ours is not None and run.totals[sid] != ours_total:
                disagreements.append(
                    f"{sid}: nbgrader {ours_total:g} but grader ({label}) {run.totals[sid]:g}; "
                    f"cells (nbgrader -> grader): {_cell_differences(ours, cells)}"
                )
            elif ours is not None and cells != ours:
                disagreements.append(
                    f"{sid}: same total but different cells (nbgrader -> grader {label}): "
                    f"{_cell_differences(ours, cells)}"
                )
            if run.gradebook.get(sid) != cells:
                disagreements.append(
                    f"{sid}: grader ({label}) wrote different scores to grades.csv and to the "
                    f"gradebook: {_cell_differences(cells, run.gradebook.get(sid, {}))}"
                )
        status = ", ".join(sorted({run.status.get(sid, "?") for run in runs.values()}))
        rows.append(
            f"| {sid} | {student.plan} | {expected:g} | {ours_total:g} | "
            + " | ".join(totals)
            + f" | {status} |"
        )
    return rows, disagreements, surprises


def _cell_differences(first: dict[str, float], second: dict[str, float]) -> str:
    changed = {
        cell: (first.get(cell), second.get(cell))
        for cell in sorted(set(first) | set(second))
        if first.get(cell) != second.get(cell)
    }
    return (
        ", ".join(
            f"{cell} {a:g} -> {b:g}" if None not in (a, b) else f"{cell} {a} -> {b}"
            for cell, (a, b) in changed.items()
        )
        or "none"
    )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="ex04_softmax", choices=ASSIGNMENTS)
    parser.add_argument("--students", type=int, default=None, help="class size (default 20)")
    parser.add_argument("--quick", action="store_true", help="4 students, one nbclient run")
    parser.add_argument("--jobs", type=int, default=2, help="grader jobs for (b) (default 2)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write numbers")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="pass --no-sandbox to the grader (for machines without bubblewrap; not the target)",
    )
    parser.add_argument("--no-dask", action="store_true", help="skip (d), the Dask cluster run")
    args = parser.parse_args()
    args.count = args.students or (4 if args.quick else 20)
    args.repeats = 1 if args.quick else 3
    if args.count < 1 or args.jobs < 1:
        parser.error("--students and --jobs must be positive")
    return args


@dataclass
class Measured:
    """Everything one benchmark run measured."""

    students: list[Student]
    nbgrader_seconds: float
    nbgrader_cells: dict
    runs: dict[str, GraderRun]
    nbclient_times: list[float]
    phases: dict[str, float]
    forking: dict[str, dict[str, float]]  # (f): fresh sandbox against forked child


def measure(args: argparse.Namespace) -> Measured:
    """Build the class and time (a), (b), (d), (c), (p) and (f) on it, each in a fresh course copy;
    ``NbgraderError`` when nbgrader itself fails."""
    count, repeats, assignment = args.count, args.repeats, args.assignment
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        root = Path(scratch)
        print(f"building {count} submissions of {assignment} ...", file=sys.stderr)
        (released_path,) = released_notebooks(root / "released", (assignment,))
        released = nbformat.read(released_path, as_version=4)
        source_path = REPOSITORY / "exercises" / "source" / assignment / f"{assignment}.ipynb"
        source = nbformat.read(source_path, as_version=4)
        students = build_class(assignment, source, released, count)

        print("(a) nbgrader autograde ...", file=sys.stderr)
        course_a = prepared_course(root / "course_a", assignment, students)
        nbgrader_seconds, nbgrader_cells = time_nbgrader(course_a, assignment)

        runs: dict[str, GraderRun] = {}
        for jobs in dict.fromkeys((args.jobs, 1)):
            print(f"(b) python -m autograder grade --jobs {jobs} ...", file=sys.stderr)
            course = prepared_course(root / f"course_b{jobs}", assignment, students)
            runs[f"jobs {jobs}"] = time_grader(
                course, assignment, root / f"out_b{jobs}", jobs, not args.no_sandbox
            )

        if not args.no_dask:
            print("(d) python -m autograder grade --scheduler (2 workers) ...", file=sys.stderr)
            course = prepared_course(root / "course_d", assignment, students)
            cluster = dask_cluster(root)
            try:
                runs["dask 2 workers"] = time_grader(
                    course, assignment, root / "out_d", 0, not args.no_sandbox, cluster.address
                )
            finally:
                cluster.stop()

        print("(c) nbclient, one notebook ...", file=sys.stderr)
        e2e, _ = _test_helpers()
        reference = e2e.with_answers(released, all_correct_answers(assignment))
        nbclient_times = time_nbclient(reference, repeats)

        print("(p) per-phase breakdown of one submission ...", file=sys.stderr)
        course_p = prepared_course(root / "course_p", assignment, [])
        phases = phase_breakdown(course_p, assignment, json.dumps(reference).encode(), repeats)
        print("(f) fresh sandbox against forked child ...", file=sys.stderr)
        reference_path = root / "reference.ipynb"
        nbformat.write(reference, reference_path)
        forking = fresh_and_forked(course_p, assignment, reference_path, 2 * repeats - 1)

    return Measured(
        students, nbgrader_seconds, nbgrader_cells, runs, nbclient_times, phases, forking
    )


def summary_numbers(args: argparse.Namespace, measured: Measured, disagreements, surprises) -> dict:
    """The numbers ``--json`` writes (and the tables print)."""
    count, runs = args.count, measured.runs
    nbgrader_seconds, nbgrader_cells = measured.nbgrader_seconds, measured.nbgrader_cells
    parallel = runs[f"jobs {args.jobs}"]
    serial = runs["jobs 1"]
    nbclient_seconds = statistics.median(measured.nbclient_times)
    per_submission = serial.seconds / count
    speedup = nbgrader_seconds / parallel.seconds
    numbers = {
        "assignment": args.assignment,
        "students": count,
        "jobs": args.jobs,
        "sandbox": not args.no_sandbox,
        "cpu_count": os.cpu_count(),
        "nbgrader_autograde_s": nbgrader_seconds,
        "grader_parallel_s": parallel.seconds,
        "grader_jobs1_s": serial.seconds,
        "speedup_nbgrader_over_grader": speedup,
        "target_speedup": 6.0,
        "target_met": speedup >= 6.0,
        "phases_s": measured.phases,
        "nbgrader_s_per_submission": nbgrader_seconds / count,
        "grader_jobs1_s_per_submission": per_submission,
        "grader_parallel_s_per_submission": parallel.seconds / count,
        "nbclient_s_per_notebook": nbclient_seconds,
        "nbclient_runs_s": measured.nbclient_times,
        "nbclient_notebook": "released notebook, first correct variant everywhere",
        "overhead_ratio": per_submission / nbclient_seconds,
        "overhead_s": per_submission - nbclient_seconds,
        "nbgrader_overhead_ratio": nbgrader_seconds / count / nbclient_seconds,
        "scores": {
            s.student_id: {
                "plan": s.plan,
                "expected": sum(s.expected.values()),
                "nbgrader": sum(nbgrader_cells.get(s.student_id, {}).values()),
                **{f"grader {label}": run.totals.get(s.student_id) for label, run in runs.items()},
            }
            for s in measured.students
        },
        "disagreements": disagreements,
        "unexpected_scores": surprises,
    }

    return numbers


def print_timings(args: argparse.Namespace, measured: Measured, numbers: dict) -> None:
    """The tables of (a), (b), (c), the ratios, the target and (d); adds (d)'s numbers."""
    count, runs, nbclient_times = args.count, measured.runs, measured.nbclient_times
    nbgrader_seconds = measured.nbgrader_seconds
    parallel, serial = runs[f"jobs {args.jobs}"], runs["jobs 1"]
    nbclient_seconds = numbers["nbclient_s_per_notebook"]
    per_submission = numbers["grader_jobs1_s_per_submission"]
    speedup = numbers["speedup_nbgrader_over_grader"]
    assignment = args.assignment
    print(f"\n## Grading {count} submissions of {assignment} ({os.cpu_count()} cores)\n")
    print("| measurement | seconds | per submission (s) |")
    print("|---|---:|---:|")
    print(
        f"| (a) nbgrader autograde, one by one | {nbgrader_seconds:.1f} | "
        f"{nbgrader_seconds / count:.2f} |"
    )
    sandbox = "sandbox" if not args.no_sandbox else "NO sandbox"
    print(
        f"| (b) autograder grade --jobs {args.jobs} ({sandbox}) | {parallel.seconds:.1f} | "
        f"{parallel.seconds / count:.2f} |"
    )
    if args.jobs != 1:
        print(
            f"| (b) autograder grade --jobs 1 ({sandbox}) | {serial.seconds:.1f} | "
            f"{per_submission:.2f} |"
        )
    runs_text = ", ".join(f"{t:.2f}" for t in nbclient_times)
    print(
        f"| (c) nbclient, one notebook (median of {runs_text}) | {nbclient_seconds:.2f} | "
        f"{nbclient_seconds:.2f} |"
    )
    print()
    print("| ratio | value |")
    print("|---|---:|")
    print(f"| speedup (a) / (b) --jobs {args.jobs} | {speedup:.2f}x |")
    print(
        f"| grader overhead: (b) --jobs 1 per submission / nbclient per notebook | "
        f"{numbers['overhead_ratio']:.2f}x ({numbers['overhead_s']:+.2f} s) |"
    )
    print(
        f"| nbgrader overhead: (a) per submission / nbclient per notebook | "
        f"{numbers['nbgrader_overhead_ratio']:.2f}x |"
    )
    verdict = "MET" if numbers["target_met"] else "NOT MET"
    print(
        f"\nTarget (b) at least 6x faster than (a) with --jobs {args.jobs}: {verdict} "
        f"({speedup:.2f}x)"
    )
    if "dask 2 workers" in runs:
        dask_seconds = runs["dask 2 workers"].seconds
        overhead = dask_seconds / parallel.seconds - 1
        numbers |= {"grader_dask_s": dask_seconds, "dask_overhead_fraction": overhead}
        numbers["dask_overhead_s_per_submission"] = (dask_seconds - parallel.seconds) / count
        print(
            f"\n(d) --scheduler, 2 single-thread workers: {dask_seconds:.1f} s, "
            f"{overhead:+.1%} against --jobs {args.jobs} "
            f"({numbers['dask_overhead_s_per_submission']:+.3f} s per submission; target <= 10 %)"
        )


def print_phases_and_projection(measured: Measured, numbers: dict) -> None:
    """The per-phase table and the projection to 100,000 submissions; adds the projection."""
    phases = measured.phases
    per_submission = numbers["grader_jobs1_s_per_submission"]
    print("\n## Where one submission's time goes (wall seconds on one core, median)\n")
    print("| phase | seconds |\n|---|---:|")
    for phase, seconds in phases.items():
        print(f"| {phase} | {seconds:.3f} |")
    forking = measured.forking
    numbers["fresh_and_forked"] = forking
    print("\n## A fresh sandbox per run against a child of a fork server (per run)\n")
    print(
        "| run | fresh: wall (s) | forked: wall (s) | fresh: CPU (s) | forked: CPU (s) | "
        "CPU ratio |\n|---|---:|---:|---:|---:|---:|"
    )
    for workload in ("start-up only", "submission"):
        fresh, forked = forking[f"fresh sandbox, {workload}"], forking[f"forked child, {workload}"]
        print(
            f"| {workload} | {fresh['wall']:.3f} | {forked['wall']:.3f} | {fresh['cpu']:.3f} | "
            f"{forked['cpu']:.3f} | {fresh['cpu'] / forked['cpu']:.1f}x |"
        )
    print(
        f"\nOnce per sandbox (CPU s): fresh {forking['fresh sandbox, submission']['once cpu']:.2f} "
        f"(bubblewrap check), forked {forking['forked child, submission']['once cpu']:.2f} "
        "(a fork server started, its imports done)."
    )
    coordinator = phases["writes"]
    rows_p = projection(per_submission, coordinator)
    numbers["projection_100k"] = {str(w): {"seconds": t, "bound": b} for w, t, b in rows_p}
    print(
        f"\n## Projection (not a measurement): 100,000 submissions on single-core Dask workers"
        f"\n\nFrom {per_submission:.2f} s per submission on one core (--jobs 1 above), "
        f"{coordinator * 1e3:.0f} ms of coordinator writes per result and Dask's documented "
        f"~{DASK_SECONDS_PER_TASK * 1e3:g} ms of scheduler overhead per task.\n"
    )
    print("| workers | projected wall time | limited by |\n|---:|---:|---|")
    for workers, seconds, bound in rows_p:
        print(f"| {workers} | {seconds / 3600:.2f} h ({seconds:,.0f} s) | {bound} |")


def print_scores(assignment: str, rows: list[str], surprises: list[str]) -> None:
    print("\n## Scores (autograded points; the written answer is graded by hand)\n")
    functions = [name for name in test_cell_points(assignment) if not name.startswith("q")]
    print(
        f"answers: one entry per function ({', '.join(functions)}): Ck = CORRECT[name][k], "
        f"Mk = MUTANTS[name][k] of tests/mutants/{assignment}.py, - = left unanswered; "
        "questions: + right, x wrong.\n"
    )
    print("\n".join(rows))
    if surprises:
        print(
            "\nScores that differ from what the mutants predict (not an nbgrader/grader "
            "disagreement):"
        )
        print("\n".join(f"  {line}" for line in surprises))


def main() -> int:
    args = parse_arguments()
    try:
        measured = measure(args)
    except NbgraderError as error:
        print(error)
        return 1
    rows, disagreements, surprises = compare(
        measured.students, measured.nbgrader_cells, measured.runs
    )
    numbers = summary_numbers(args, measured, disagreements, surprises)
    print_timings(args, measured, numbers)
    print_phases_and_projection(measured, numbers)
    print_scores(args.assignment, rows, surprises)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    if disagreements:
        print("\n" + "!" * 78)
        print("DISAGREEMENT between nbgrader autograde and python -m autograder grade:")
        print("\n".join(f"  {line}" for line in disagreements))
        print("!" * 78)
        return 1
    print(
        f"\nnbgrader and the grader agree on all {args.count} students' autograded totals "
        "and cells."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
