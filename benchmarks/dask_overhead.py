"""The Dask backend's overhead per submission: ``--scheduler`` against ``--jobs 2``, interleaved.

Run ``python benchmarks/dask_overhead.py`` (10 ``ex04_softmax`` students, 2 rounds). A real
``dask scheduler`` and two single-thread ``dask worker`` processes are started on free localhost
ports and warmed up with one small untimed batch (each worker process imports the grader and
sets up its sandbox once; that start-up is reported separately). Then, in every round, the same
class is graded once with ``python -m autograder grade --jobs 2`` and once with ``--scheduler``,
each in a fresh course copy, alternating which goes first so that a change in the machine's load
affects both alike. Printed: every run's wall time, the ratio per round and its median, the
overhead per submission, and whether every run gave every student the same grades.csv row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from grading import build_class, dask_cluster, prepared_course, time_grader

from autograder.course.operations import released_notebooks

REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="ex04_softmax")
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    a = args.assignment
    with tempfile.TemporaryDirectory(prefix="dask-overhead-") as scratch:
        root = Path(scratch)
        (released_path,) = released_notebooks(root / "released", (a,))
        released = nbformat.read(released_path, as_version=4)
        source = nbformat.read(REPOSITORY / "exercises" / "source" / a / f"{a}.ipynb", 4)
        students = build_class(a, source, released, args.students)
        cluster = dask_cluster(root)
        try:
            start = time.perf_counter()
            warm = prepared_course(root / "warm", a, students[:2])
            time_grader(warm, a, root / "out_warm", 0, True, cluster.address)
            warm_up = time.perf_counter() - start
            times: dict[str, list[float]] = {"jobs 2": [], "dask": []}
            tables: set[str] = set()
            for number in range(args.rounds):
                order = ["jobs 2", "dask"] if number % 2 == 0 else ["dask", "jobs 2"]
                for kind in order:
                    print(f"round {number + 1}: {kind} ...", file=sys.stderr)
                    name = f"{kind.replace(' ', '')}_{number}"
                    course = prepared_course(root / name, a, students)
                    scheduler = cluster.address if kind == "dask" else ""
                    run = time_grader(course, a, root / f"out_{name}", 2, True, scheduler)
                    times[kind].append(run.seconds)
                    tables.add((root / f"out_{name}" / "grades.csv").read_text())
        finally:
            cluster.stop()
    ratios = [d / j for d, j in zip(times["dask"], times["jobs 2"], strict=True)]
    ratio = statistics.median(ratios)
    per_submission = (statistics.median(times["dask"]) - statistics.median(times["jobs 2"])) / (
        args.students
    )
    print(
        f"\n## --scheduler (2 single-thread workers) against --jobs 2, {args.students} students\n"
    )
    print("| round | --jobs 2 (s) | --scheduler (s) | ratio |\n|---:|---:|---:|---:|")
    for number, (j, d, r) in enumerate(zip(times["jobs 2"], times["dask"], ratios, strict=True)):
        print(f"| {number + 1} | {j:.1f} | {d:.1f} | {r:.3f} |")
    print(
        f"\nMedian ratio {ratio:.3f} ({ratio - 1:+.1%}; target <= +10 %), "
        f"{per_submission:+.3f} s per submission. Cluster warm-up (2 students, untimed above): "
        f"{warm_up:.1f} s. Identical grades.csv in every run: {len(tables) == 1}."
    )
    return 0 if len(tables) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
