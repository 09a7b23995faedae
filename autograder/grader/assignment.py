"""What an assignment grades, read from the instructor's source notebook, and how a submitted
notebook is read.

The graded cells come from ``<course root>/source/<id>/<id>.ipynb``, never from a submission: a
student who edits or deletes a test cell changes nothing about what is graded. Each hidden test
cell calls ``autograder.check("<id>", "<name>", <variable>, "<group>")``; :func:`load_spec` parses
those calls (without running them) and checks them against :mod:`autograder.checks`.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.checks import get_check
from autograder.grader.sandbox import Request
from autograder.harness.calls import harness_name

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_CELLS = 1000
# Parsing allocates an object per JSON value (an empty ``{}`` costs ~70 bytes of memory for its
# 3 bytes of text), so the number of values is bounded before parsing, not only the size.
MAX_JSON_CONTAINERS = 100_000  # objects and arrays
MAX_JSON_VALUES = 1_000_000  # containers, keys and items
# A JSON string, or an unterminated one running to the end: every ``"`` outside a string starts
# a match, so the scan never restarts inside a string (linear time whatever the bytes).
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
MAX_ID_CHARS = 60  # of a grade id quoted in feedback
ANSWER_STUB = "YOUR ANSWER HERE"
PACKAGE = Path(__file__).resolve().parents[1]  # autograder/
# The code a grade depends on, by folder: what runs beside the student's code, the verdicts, the
# checks, the class grader (its sandbox and its reading of outcomes decide grades too) and the
# reference solutions. Left out: course/ (nbgrader operations, the book) and the package's entry
# points, which cannot change a grade.
GRADING_CODE = (
    PACKAGE / "harness",
    PACKAGE / "judge",
    PACKAGE / "checks",
    PACKAGE / "grader",
    PACKAGE.parent / "solutions",
)
# The files of those folders that decide grades: code, and the checks' declarations (points,
# hints, sections, in ``checks/<assignment>.toml``).
GRADING_FILES = ("*.py", "*.toml")


class SpecError(ValueError):
    """The source notebook does not describe a gradable assignment (an instructor's error)."""


class NotebookError(ValueError):
    """A submitted file is not a readable notebook; the message says what is wrong."""


@dataclass(frozen=True)
class TestCell:
    """A hidden test cell: ``points`` for group ``group`` of graded name ``name``, which the
    notebook defines as ``variable``."""

    grade_id: str
    points: float
    name: str
    variable: str
    group: str


@dataclass(frozen=True)
class ManualCell:
    """A cell graded by hand (the written answer)."""

    grade_id: str
    points: float


@dataclass(frozen=True)
class AssignmentSpec:
    """The graded cells of one assignment and a fingerprint of everything that decides grades.

    ``imports`` names the modules the source notebook's code and the assignment's drivers import
    (:func:`imported_modules`): what the sandbox's fork servers import once for every student.
    """

    assignment: str
    test_cells: tuple[TestCell, ...]
    manual_cells: tuple[ManualCell, ...]
    fingerprint: str
    imports: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        """The automatically graded points (the hand-graded ones are not included)."""
        return sum(cell.points for cell in self.test_cells)

    def requests(
        self, notebook: dict[str, Any] | None = None
    ) -> tuple[list[Request], list[list[int]]]:
        """Every case of every test cell as a harness request, and per test cell the indices of
        its requests (in case order). Each request runs where the ``notebook`` holds its test
        cell (found by grade id; after the last cell when it is missing)."""
        positions = test_positions(notebook) if notebook is not None else {}
        requests: list[Request] = []
        indices: list[list[int]] = []
        for number, cell in enumerate(self.test_cells):
            group = get_check(self.assignment, cell.name).group(cell.group)
            indices.append([])
            for case in group.cases:
                indices[-1].append(len(requests))
                requests.append(
                    Request(
                        cell.variable,
                        harness_name(case.harness),
                        case.payload,
                        group.trap_overflow,
                        group.time_limit,
                        number,
                        positions.get(cell.grade_id),
                    )
                )
        return requests, indices


def nbgrader_metadata(cell: dict) -> dict:
    """A cell's ``nbgrader`` metadata, or ``{}`` when missing or malformed."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def grade_id(cell: dict) -> str | None:
    """A cell's nbgrader ``grade_id`` when it is a string; ``None`` otherwise (missing, or a
    submission's malformed value such as a list, which is treated as absent)."""
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) else None


def cell_source(cell: dict) -> str | None:
    """A cell's source as one string (``None`` when it is neither a string nor a list of them)."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def is_test_cell(cell: dict) -> bool:
    """Whether nbgrader treats the cell as an autograder test (graded, not an answer)."""
    metadata = nbgrader_metadata(cell)
    return bool(metadata.get("grade")) and not metadata.get("solution")


def _parse_check_call(source: str, assignment: str, grade_id: str) -> tuple[str, str, str]:
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "check"
    ]
    if len(calls) != 1:
        raise SpecError(f"test cell {grade_id!r} must call autograder.check exactly once")
    args = calls[0].args
    shapes = [ast.Constant, ast.Constant, ast.Name, ast.Constant]
    if len(args) != 4 or not all(isinstance(a, s) for a, s in zip(args, shapes, strict=True)):
        raise SpecError(
            f'test cell {grade_id!r}: write autograder.check("{assignment}", "name", '
            'variable, "group") with literal strings'
        )
    if args[0].value != assignment:
        raise SpecError(f"test cell {grade_id!r} checks assignment {args[0].value!r}")
    return args[1].value, args[2].id, args[3].value


def load_spec(course_root: Path, assignment: str) -> AssignmentSpec:
    """Read the graded cells of ``assignment`` from the course's source notebook.

    Raises :class:`SpecError` when the notebook is missing, a test cell is not a single literal
    ``autograder.check`` call, or its points differ from the group's points in the checks.
    """
    path = Path(course_root) / "source" / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise SpecError(f"no source notebook {path}; is --course-root the nbgrader course folder?")
    data = path.read_bytes()
    notebook = json.loads(data)
    tests, manual = [], []
    for cell in notebook["cells"]:
        metadata = nbgrader_metadata(cell)
        if not metadata.get("grade") or metadata.get("points") == 0:
            continue  # not graded, or a visible test (worth nothing; `nbgrader validate` runs it)
        grade_id, points = metadata["grade_id"], float(metadata["points"])
        if metadata.get("solution"):
            manual.append(ManualCell(grade_id, points))
            continue
        name, variable, group_name = _parse_check_call(cell_source(cell), assignment, grade_id)
        try:
            group = get_check(assignment, name).group(group_name)
        except ValueError as error:
            raise SpecError(f"test cell {grade_id!r}: {error}") from None
        if group.points != points:
            raise SpecError(
                f"test cell {grade_id!r} of {path} is worth {points:g} point(s) but group "
                f"{group_name!r} of {name} is worth {group.points:g} in "
                f"autograder/checks/{assignment}.toml; make them agree (the cell's nbgrader "
                "points and the notebook's Points table, or the group's points)"
            )
        tests.append(TestCell(grade_id, points, name, variable, group_name))
    if not tests:
        raise SpecError(f"{path} has no autograded test cells")
    spec = AssignmentSpec(assignment, tuple(tests), tuple(manual), fingerprint(data))
    sources = [source for _, source in student_cells(notebook, spec)]
    harnesses = [request.harness for request in spec.requests()[0]]
    return dataclasses.replace(spec, imports=imported_modules(sources, harnesses))


def imported_modules(sources: list[str], harnesses: list[str] = ()) -> tuple[str, ...]:
    """The modules that the code ``sources`` imports (``import a.b`` and ``from a.b import c``
    give ``a.b``; relative imports and the ``autograder`` stub are left out) and those of the
    harness modules named in ``harnesses`` (``autograder.harness.<module>:<function>``, e.g. an
    assignment's driver), in order of first appearance. A source that is not Python (a cell
    magic) is read line by line, keeping the lines that parse."""
    found: dict[str, None] = {}
    for source in sources:
        try:
            trees = [ast.parse(source)]
        except SyntaxError:
            trees = []
            for line in source.splitlines():
                try:
                    trees.append(ast.parse(line.strip()))
                except SyntaxError:
                    continue
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found[node.module] = None
    for harness in harnesses:
        found[harness.partition(":")[0]] = None
    harness_modules = "autograder.harness."
    return tuple(
        name
        for name in found
        if name.split(".")[0] != "autograder" or name.startswith(harness_modules)
    )


def fingerprint(source_notebook: bytes) -> str:
    """A hash of the source notebook and of the code and data that decide grades (every file
    matching :data:`GRADING_FILES` under the folders of :data:`GRADING_CODE`, by path and
    content)."""
    digest = hashlib.sha256(source_notebook)
    for folder in GRADING_CODE:
        for path in sorted(path for pattern in GRADING_FILES for path in folder.rglob(pattern)):
            digest.update(path.relative_to(PACKAGE.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def read_notebook(data: bytes) -> dict[str, Any]:
    """Parse a submitted notebook's bytes; :class:`NotebookError` saying what is wrong."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(
            f"the notebook is {len(data) / 2**20:.0f} MB, more than the "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MB allowed (clear large outputs and resubmit)"
        )
    _check_json_counts(data)
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise NotebookError(
            f"the file is not a valid notebook (not valid JSON: {str(error)[:120]}); it was "
            "probably edited outside Jupyter or truncated"
        ) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise NotebookError("the file is JSON but not a Jupyter notebook (no list of cells)")
    if len(cells) > MAX_CELLS:
        raise NotebookError(f"the notebook has {len(cells)} cells, more than {MAX_CELLS}")
    return notebook


def _check_json_counts(data: bytes) -> None:
    """:class:`NotebookError` if ``data`` holds more JSON containers or values than
    :data:`MAX_JSON_CONTAINERS` / :data:`MAX_JSON_VALUES`, counted on the bytes with strings
    removed (``{`` and ``[`` for containers; those, ``,`` and ``:`` for values). Text that is not
    JSON is counted the same way and left for the parser to refuse. The strings are removed only
    when counting with them gives too many (the usual notebook is counted without a copy)."""
    containers, values = _json_counts(data)
    if containers > MAX_JSON_CONTAINERS or values > MAX_JSON_VALUES:
        containers, values = _json_counts(JSON_STRING.sub(b"", data))
    if containers > MAX_JSON_CONTAINERS or values > MAX_JSON_VALUES:
        raise NotebookError(
            f"the notebook's JSON holds {containers} objects and lists and {values} values, more "
            f"than the {MAX_JSON_CONTAINERS} and {MAX_JSON_VALUES} allowed (a notebook saved by "
            "Jupyter has far fewer; clear large outputs or metadata and resubmit)"
        )


def _json_counts(structure: bytes) -> tuple[int, int]:
    containers = structure.count(b"{") + structure.count(b"[")
    return containers, containers + structure.count(b",") + structure.count(b":")


def student_cells(notebook: dict[str, Any], spec: AssignmentSpec) -> list[tuple[int, str]]:
    """The code cells to run in the sandbox, numbered from 1 in notebook order.

    Test cells (those nbgrader marks as tests, and any cell carrying a test cell's id) are left
    out: the grader judges the student's objects itself. Cells whose source is malformed are
    left out too.
    """
    test_ids = {cell.grade_id for cell in spec.test_cells}
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        if grade_id(cell) in test_ids:
            continue
        source = cell_source(cell)
        if source is not None:
            cells.append((number, source))
    return cells


def malformed_cells(notebook: dict[str, Any]) -> list[tuple[int, str]]:
    """``(number, why)`` for each cell (numbered from 1) that is neither run nor shown because
    it is malformed: a ``cell_type`` other than ``code``, ``markdown`` or ``raw`` (nbformat 3's
    ``heading`` included), or a source that is neither a string nor a list of strings."""
    found = []
    for number, cell in enumerate(notebook["cells"], start=1):
        kind = cell.get("cell_type")
        if not isinstance(kind, str):
            found.append((number, "its cell_type is missing or not text"))
        elif kind not in ("code", "markdown", "raw"):
            found.append(
                (number, f"its cell_type {kind[:MAX_ID_CHARS]!r} is not code, markdown or raw")
            )
        elif cell_source(cell) is None:
            found.append((number, "its source is not text (a string or a list of strings)"))
    return found


def test_positions(notebook: dict[str, Any]) -> dict[str, int]:
    """The cell number (from 1) of each test cell's first occurrence, by grade id."""
    positions: dict[str, int] = {}
    for number, cell in enumerate(notebook["cells"], start=1):
        if (identifier := grade_id(cell)) is not None:
            positions.setdefault(identifier, number)
    return positions


def cell_labels(notebook: dict[str, Any]) -> dict[int, str]:
    """How feedback names each code cell (numbered from 1 over all cells), never by position:
    ``cell "logsumexp"`` for a cell with a grade id, ``the cell after "logsumexp"`` (``the 2nd
    cell after ...``) for one the student added after it, ``the cell before "x"`` (...) for one
    above the first graded cell, and ``code cell 3`` (counting code cells only) when the notebook
    has no grade ids left."""
    cells = notebook["cells"]
    identifiers = [grade_id(cell) for cell in cells]
    first = next((i for i in identifiers if i is not None), None)
    labels: dict[int, str] = {}
    anchor, count, code_number = None, 0, 0
    for number, (cell, identifier) in enumerate(zip(cells, identifiers, strict=True), start=1):
        if identifier is not None:
            anchor, count = identifier, 0
        if cell.get("cell_type") != "code":
            continue
        code_number += 1
        if identifier is not None:
            labels[number] = f'cell "{identifier[:MAX_ID_CHARS]}"'
            continue
        count += 1
        nth = "" if count == 1 else f"{_ordinal(count)} "
        if anchor is not None:
            labels[number] = f'the {nth}cell after "{anchor[:MAX_ID_CHARS]}"'
        elif first is not None:
            labels[number] = f'the {nth}cell before "{first[:MAX_ID_CHARS]}"'
        else:
            labels[number] = f"code cell {code_number}"
    return labels


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def answered(notebook: dict[str, Any] | None, cell: ManualCell) -> bool:
    """Whether the student wrote something in a hand-graded cell (not the empty stub)."""
    if notebook is None:
        return False
    for candidate in notebook["cells"]:
        if grade_id(candidate) == cell.grade_id:
            text = (cell_source(candidate) or "").strip()
            return text not in ("", ANSWER_STUB)
    return False
