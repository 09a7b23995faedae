"""What the class grader decided about one student: plain data, serialisable as JSON.

:class:`StudentResult` (its status, reasons, and one :class:`CellResult` per hidden test cell) is
what :mod:`autograder.grader.student` produces, :mod:`autograder.grader.batch` saves in
``results/`` and the gradebook, the reports and the Dask workers read. Nothing here decides a
grade.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from autograder.judge.grading import GroupResult

GRADED, NOT_GRADED, ERROR, TAMPERED = "graded", "not_graded", "error", "tampered"


@dataclass(frozen=True)
class CellResult:
    """The result of one hidden test cell: the cell (``grade_id``), the graded ``name`` it
    checks, and the :class:`~autograder.judge.grading.GroupResult` of its group (``result``), the
    same result ``autograder.grade_function`` reports."""

    grade_id: str
    name: str
    result: GroupResult

    def to_json(self) -> dict[str, Any]:
        """The cell as one flat record (the saved results' format): grade_id, name, group,
        description, points, passed, feedback."""
        return {"grade_id": self.grade_id, "name": self.name, "group": self.result.name} | {
            key: value for key, value in asdict(self.result).items() if key != "name"
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellResult:
        """The inverse of :meth:`to_json`."""
        data = dict(data)
        grade_id, name, group = data.pop("grade_id"), data.pop("name"), data.pop("group")
        return cls(grade_id, name, GroupResult(name=group, **data))


@dataclass
class StudentResult:
    """Everything the grader decided about one student; serialisable with :meth:`to_json`.

    ``status`` is ``graded`` (the notebook was run and judged), ``tampered`` (judged, but its
    process wrote to the grader's channel out of turn: the names that touched get 0, and the
    instructor should look at it), ``not_graded`` (there was no readable notebook; the score is
    0) or ``error`` (the grader itself failed; see :mod:`autograder.grader.batch` for retries).
    ``cell_errors`` maps a notebook cell number to the error it raised, and ``cell_labels`` a
    cell number to how reasons name that cell (its grade id, or the answer it follows).
    """

    student_id: str
    status: str
    max_score: float
    reasons: list[str] = field(default_factory=list)
    cells: list[CellResult] = field(default_factory=list)
    cell_errors: dict[int, str] = field(default_factory=dict)
    cell_labels: dict[int, str] = field(default_factory=dict)
    manual: list[dict[str, Any]] = field(default_factory=list)
    origin: str = ""
    fingerprint: str = ""
    timestamp: str | None = None
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(cell.result.score for cell in self.cells)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cells"] = [cell.to_json() for cell in self.cells]
        data["cell_errors"] = {str(k): v for k, v in self.cell_errors.items()}
        data["cell_labels"] = {str(k): v for k, v in self.cell_labels.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudentResult:
        data = dict(data)
        data["cells"] = [CellResult.from_json(cell) for cell in data["cells"]]
        data["cell_errors"] = {int(k): v for k, v in data["cell_errors"].items()}
        data["cell_labels"] = {int(k): v for k, v in data.get("cell_labels", {}).items()}
        return cls(**data)

    def label(self, number: int) -> str:
        """How reasons name notebook cell ``number``."""
        return self.cell_labels.get(number, f"cell {number}")
