"""The instructor's command line: ``python -m autograder grade`` and ``python -m autograder check``.

Exit status: 0 when the command ran (whatever the scores), 1 when the course, the submissions or
the sandbox cannot be used (the message says what to do), 2 for a wrong command line, 130 when
interrupted (what finished is kept; the same command finishes the rest).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.checks import checks_for
from autograder.grader.assignment import SpecError, load_spec
from autograder.grader.sandbox import Limits, SandboxUnavailable
from autograder.grader.submissions import Submission

NO_SANDBOX_WARNING = (
    "warning: --no-sandbox: student code runs with resource limits but without isolation; it "
    "can read the solutions, the hidden tests and the gradebook, change your files and use the "
    "network. Use it only for trusted notebooks."
)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


TIMEOUT_HELP = (
    "seconds each notebook cell may run (default %(default)g); each run of a submission is "
    "stopped after 2·S + 30 s, and its runs together (restarts after a crash included) after "
    "4·(2·S + 30) s"
)
MEMORY_HELP = (
    "memory budget of a submission in MiB (default %(default)d): all of its processes together "
    "(resident memory, measured several times a second; each process also has this "
    f"address-space limit), plus {Limits.tmp_mb} MiB for its private /tmp; a run that holds "
    "more is stopped and says so"
)


def _add_limit(
    parser: argparse.ArgumentParser, flag: str, field: str, metavar: str, text: str
) -> None:
    """An option that sets the :class:`Limits` field ``field``: a positive number of the
    field's type, by default the field's default."""
    default = getattr(Limits, field)
    kind = type(default)
    parser.add_argument(flag, type=_positive(kind), default=default, metavar=metavar, help=text)


def _add_limits(parser: argparse.ArgumentParser) -> None:
    _add_limit(parser, "--timeout", "timeout", "S", TIMEOUT_HELP)
    _add_limit(parser, "--memory", "memory_mb", "MB", MEMORY_HELP)
    parser.add_argument(
        "--course-root",
        type=Path,
        default=Path("exercises"),
        metavar="DIR",
        help="the nbgrader course folder holding source/ and gradebook.db (default %(default)s)",
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without bubblewrap isolation (only resource limits): unsafe",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Grade students' notebooks safely: their code runs in a sandbox, the checks "
        "run here.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    grade = commands.add_parser(
        "grade",
        help="grade every submission of an assignment",
        description="Grade every submission in SUBMISSIONS: one folder per student id holding "
        "ASSIGNMENT.ipynb, nbgrader's submitted/ layout, or notebooks / zip files named by "
        "student id. Scores go into the gradebook and OUT/grades.csv, feedback pages into "
        "OUT/feedback/. Interrupted runs resume where they stopped.",
    )
    grade.add_argument(
        "assignment", metavar="ASSIGNMENT", help="assignment id, e.g. ex03_logsumexp"
    )
    grade.add_argument(
        "submissions", metavar="SUBMISSIONS", type=Path, help="folder of submissions"
    )
    grade.add_argument(
        "--jobs",
        type=_positive(int),
        default=os.cpu_count() or 1,
        metavar="N",
        help="submissions graded at once (default: the number of cores, %(default)d)",
    )
    grade.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where grades.csv, feedback/, histogram.png and summary.txt go "
        "(default: COURSE_ROOT/grades/ASSIGNMENT)",
    )
    grade.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    grade.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster instead of --jobs: tcp://HOST:PORT of a running `dask "
        "scheduler`, or local:N for N worker processes on this machine (see README)",
    )
    _add_limits(grade)
    check = commands.add_parser(
        "check",
        help="grade one notebook and print the report",
        description="Grade one notebook exactly as `grade` would and print the report; nothing "
        "is written to the gradebook.",
    )
    check.add_argument(
        "assignment", metavar="ASSIGNMENT", help="assignment id, e.g. ex03_logsumexp"
    )
    check.add_argument("notebook", metavar="NOTEBOOK", type=Path, help="the notebook to grade")
    _add_limits(check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limits = Limits(timeout=args.timeout, memory_mb=args.memory)
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    try:
        checks_for(args.assignment)
        if args.command == "grade":
            return _grade(args, limits)
        return _check(args, limits)
    except (SpecError, SandboxUnavailable, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted: the students graded so far are saved; run the same command again "
            "to grade the rest",
            file=sys.stderr,
        )
        return 130


def _grade(args: argparse.Namespace, limits: Limits) -> int:
    from autograder.grader.batch import BatchOptions, grade_batch

    out = args.out or args.course_root / "grades" / args.assignment
    options = BatchOptions(
        course_root=args.course_root,
        out=out,
        jobs=args.jobs,
        limits=limits,
        isolate=not args.no_sandbox,
        progress=not args.no_progress,
    )
    if args.scheduler is not None:
        from autograder.grader.distributed import DistributedError, grade_batch_distributed

        try:
            batch = grade_batch_distributed(
                args.assignment, args.submissions, options, args.scheduler
            )
        except DistributedError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    else:
        batch = grade_batch(args.assignment, args.submissions, options)
    print(batch.summary)
    print(f"graded now: {batch.graded_now}, reused from an earlier run: {batch.reused}")
    print(f"grades: {batch.csv}\nfeedback: {out / 'feedback'}")
    return 0


def _check(args: argparse.Namespace, limits: Limits) -> int:
    from autograder.grader.batch import course_sandbox
    from autograder.grader.reports import terminal_report
    from autograder.grader.student import grade_one

    if not args.notebook.is_file():
        raise FileNotFoundError(f"no notebook {args.notebook}")
    spec = load_spec(args.course_root, args.assignment)
    submission = Submission(args.notebook.stem, str(args.notebook), path=args.notebook)
    with course_sandbox(limits, not args.no_sandbox, args.course_root, spec.imports) as sandbox:
        result = grade_one(spec, submission, sandbox)
    print(terminal_report(spec, result))
    return 0
