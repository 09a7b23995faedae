"""Mutation testing of one module with mutmut and the test subset that module needs.

Usage (needs ``pip install mutmut==3.8.1``; not a runtime or test dependency)::

    python tools/mutation.py solutions/logsumexp.py
    python tools/mutation.py solutions/softmax.py --max-children 2 --show-survivors

The module's package, ``tests/ulps.py`` and the module's test files (:data:`TESTS`) are copied
into a scratch directory with a generated ``[tool.mutmut]`` section, so the run never touches
the working tree and never sees another module's mutants. mutmut mutates every function of the
module one change at a time and runs only the tests that call the mutated function, stopping at
the first failure. The script prints the counts per outcome and the score

    killed / (all - equivalent)

where "killed" includes time-outs and ``equivalent`` counts the mutants listed for the module in
``tests/EQUIVALENT_MUTANTS.md`` (a line ``- `<mutant name>`: reason``, or several names
before one reason). Survivors that are not
listed there are printed, with their diff under ``--show-survivors``: kill each with a test, or
record there why no test can tell it from the original.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The test files each module needs: those that exercise it directly. Keep this in step with the
# README's "Development" section.
TESTS = {
    "solutions/floats.py": ["tests/solutions/test_solutions_floats.py"],
    "solutions/overflow.py": ["tests/solutions/test_solutions_overflow.py"],
    "solutions/logsumexp.py": ["tests/solutions/test_solutions_logsumexp.py"],
    "solutions/softmax.py": ["tests/solutions/test_solutions_softmax.py"],
    "solutions/clipping.py": ["tests/solutions/test_solutions_clipping.py"],
    "solutions/standardisation.py": ["tests/solutions/test_solutions_standardisation.py"],
    "solutions/mixed_precision.py": ["tests/solutions/test_solutions_mixed_precision.py"],
    "solutions/_sums.py": [
        "tests/solutions/test_solutions_clipping.py",
        "tests/solutions/test_solutions_standardisation.py",
    ],
    "autograder/judge/compare.py": [
        "tests/autograder/judge/test_verdict_edges.py",
        "tests/autograder/judge/test_verdict_wording.py",
        "tests/autograder/test_autograder_core.py",
    ],
    "autograder/judge/oracle.py": [
        "tests/autograder/judge/test_verdict_edges.py",
        "tests/autograder/judge/test_oracle_values.py",
    ],
    "autograder/harness/wire.py": [
        "tests/autograder/harness/test_limits_wire.py",
        "tests/autograder/grader/test_grader_channel.py",
    ],
    "autograder/grader/submissions.py": ["tests/autograder/grader/test_limits_submissions.py"],
    "autograder/grader/sandbox/channel.py": [
        "tests/autograder/grader/test_limits_channel.py",
        "tests/autograder/grader/test_grader_channel.py",
    ],
}
SUPPORT = ["tests/ulps.py"]
# What a package's code reads besides itself: the autograder imports the reference solutions,
# reads the instructor's source notebooks under ``exercises/`` and the chapters' section labels.
NEEDS = {
    "autograder": ["solutions", "exercises/source", "exercises/nbgrader_config.py", "chapters"]
}
EQUIVALENT = ROOT / "tests" / "EQUIVALENT_MUTANTS.md"
KILLED = {"killed", "timeout"}

CONFIG = """\
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider"
pythonpath = ["tests"]  # tests/ulps.py, for the test files in tests/<folder>/

[tool.mutmut]
source_paths = ["{package}"]
only_mutate = ["{module}"]
also_copy = {needs}
pytest_add_cli_args_test_selection = {tests}
"""


def equivalent_mutants(module: str) -> set[str]:
    """Mutant names recorded as equivalent for ``module`` in tests/EQUIVALENT_MUTANTS.md."""
    if not EQUIVALENT.exists():
        return set()
    prefix = module.removesuffix(".py").replace("/", ".") + "."
    listed = re.findall(r"^- (.*)$", EQUIVALENT.read_text(), flags=re.M)
    names = {name for line in listed for name in re.findall(r"`(\S+__mutmut_\d+)`", line)}
    return {name for name in names if name.startswith(prefix)}


def prepare(module: str, scratch: Path) -> None:
    """Copy what the run needs into ``scratch`` and write its configuration."""
    package = module.split("/")[0]
    shutil.copytree(ROOT / package, scratch / package, ignore=shutil.ignore_patterns("__pycache__"))
    tests = TESTS[module]
    needs = NEEDS.get(package, [])
    for name in tests + SUPPORT + needs:
        source, target = ROOT / name, scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    (scratch / "pyproject.toml").write_text(
        CONFIG.format(package=package, module=module, tests=_toml(tests), needs=_toml(needs))
    )


def _toml(names: list[str]) -> str:
    """A TOML array of strings."""
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"


def results(scratch: Path, env: dict) -> dict[str, str]:
    """``{mutant name: status}`` from ``mutmut results --all true``."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^\s*(\S+__mutmut_\d+): (.+?)\s*$", out, flags=re.M))


@functools.cache
def _functions(path: Path) -> dict[str, str]:
    """``{name: source}`` of every function in ``path`` (parsed once per run)."""
    lines = path.read_text().splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.walk(ast.parse("\n".join(lines)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def mutant_diff(mutated: Path, name: str) -> str:
    """The change mutant ``name`` makes, as a unified diff of its function against the original
    (what ``mutmut show`` prints, read straight from mutmut's generated module: one mutmut
    process per survivor would take seconds each)."""
    functions = _functions(mutated)
    mutant = name.rsplit(".", 1)[-1]
    original = functions.get(mutant.split("__mutmut_")[0] + "__mutmut_orig")
    changed = functions.get(mutant)
    if original is None or changed is None:
        return f"(no source found for {name})"
    changed = changed.replace(mutant, mutant.split("__mutmut_")[0] + "__mutmut_orig", 1)
    lines = difflib.unified_diff(
        original.splitlines(), changed.splitlines(), "original", name, n=1, lineterm=""
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", choices=sorted(TESTS), help="the module to mutate")
    parser.add_argument("--max-children", type=int, default=2, help="parallel test workers")
    parser.add_argument("--show-survivors", action="store_true", help="print survivors' diffs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="mutation-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # import the mutants only
    # mutmut forks one child per mutant from a process that has run the tests: a PyTorch (GNU
    # OpenMP) thread pool started there deadlocks in the child, which mutmut then reports as a
    # time-out. One thread per process keeps the children from hanging.
    env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.monotonic()
    try:
        prepare(args.module, scratch)
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n", file=sys.stderr)
            print(f"mutmut run failed (exit {run.returncode}); see above", file=sys.stderr)
            return 2
        status = results(scratch, env)
        listed = equivalent_mutants(args.module)
        equivalent = {name for name in listed if status.get(name) not in KILLED | {None}}
        stale = sorted(name for name in listed if status.get(name) in KILLED | {None})
        counts: dict[str, int] = {}
        for value in status.values():
            counts[value] = counts.get(value, 0) + 1
        killed = sum(1 for value in status.values() if value in KILLED)
        considered = len(status) - len(equivalent)
        score = killed / considered if considered else 1.0
        elapsed = time.monotonic() - start
        print(f"{args.module}: {len(status)} mutants in {elapsed:.0f} s")
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"  equivalent (tests/EQUIVALENT_MUTANTS.md): {len(equivalent)}")
        print(f"  score: {killed}/{considered} = {100 * score:.1f}%")
        for name in stale:  # renumbered after an edit, or now killed: review the list
            print(f"  listed as equivalent but {status.get(name, 'not generated')}: {name}")
        open_survivors = sorted(
            name for name, value in status.items() if value not in KILLED and name not in equivalent
        )
        for name in open_survivors:
            print(f"  not killed ({status[name]}): {name}")
            if args.show_survivors:
                diff = mutant_diff(scratch / "mutants" / args.module, name)
                print("    " + diff.strip().replace("\n", "\n    "))
        return 0
    finally:
        if args.keep:
            print(f"scratch directory kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
