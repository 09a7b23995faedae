"""Find the students' submitted notebooks in the layouts instructors actually receive.

A SUBMISSIONS folder may hold, in any mix:

* one folder per student id with ``<assignment>.ipynb`` inside (``alice/ex03_logsumexp.ipynb``);
* nbgrader's ``submitted/`` layout (``alice/ex03_logsumexp/ex03_logsumexp.ipynb``, with the
  optional ``timestamp.txt`` beside it);
* notebooks or zip files named by student id (``alice.ipynb``, ``bob.zip``).

A student folder or zip with a single, differently named notebook is graded with a note; one with
none or several is reported and not graded. Nothing is extracted to disk: a zip member is read
with a size cap.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import MAX_NOTEBOOK_BYTES, NotebookError

STUDENT_ID = re.compile(r"[\w.@+-]+")
IGNORED = ("__MACOSX", ".ipynb_checkpoints")


@dataclass(frozen=True)
class Submission:
    """One student's submission: where the notebook is, or why there is none to read.

    ``path`` is the notebook or zip file; ``member`` the notebook's name inside a zip. ``problem``
    is set when nothing can be graded; ``note`` tells the instructor something worth knowing
    (a misnamed notebook, a duplicate that was ignored).
    """

    student_id: str
    origin: str
    path: Path | None = None
    member: str | None = None
    problem: str | None = None
    note: str | None = None
    timestamp: str | None = None

    def read(self) -> bytes:
        """The notebook's bytes; :class:`NotebookError` when it cannot be read."""
        if self.problem or self.path is None:
            raise NotebookError(self.problem or "no notebook")
        try:
            if self.member is None:
                if self.path.stat().st_size > MAX_NOTEBOOK_BYTES:
                    raise NotebookError(f"{self.origin} is larger than the allowed size")
                return self.path.read_bytes()
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as member:
                data = member.read(MAX_NOTEBOOK_BYTES + 1)
            if len(data) > MAX_NOTEBOOK_BYTES:
                raise NotebookError(f"{self.origin} is larger than the allowed size")
            return data
        except (OSError, zipfile.BadZipFile, RuntimeError, EOFError) as error:
            raise NotebookError(f"could not read {self.origin}: {error}") from None


def find_submissions(folder: Path, assignment: str) -> list[Submission]:
    """Every student found in ``folder`` (sorted by id), readable or not.

    Raises ``FileNotFoundError`` when ``folder`` is not a directory. Files that are neither
    notebooks nor zips, and hidden entries, are ignored.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"the submissions folder {folder} does not exist")
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        if entry.is_dir():
            submission = _from_folder(entry, assignment)
        elif entry.suffix == ".ipynb":
            submission = Submission(entry.stem, str(entry), path=entry)
        elif entry.suffix == ".zip":
            submission = _from_zip(entry, assignment)
        else:
            continue
        if not STUDENT_ID.fullmatch(submission.student_id):
            submission = Submission(
                submission.student_id,
                submission.origin,
                problem=(
                    f"{submission.student_id!r} is not a usable student id (use letters, digits "
                    "and . _ @ + - only); rename it and grade again"
                ),
            )
        earlier = found.get(submission.student_id)
        if earlier is None:
            found[submission.student_id] = submission
        else:
            note = f"{submission.origin} was ignored (another submission for the same student)"
            combined = f"{earlier.note}; {note}" if earlier.note else note
            found[submission.student_id] = _with_note(earlier, combined)
    return [found[key] for key in sorted(found)]


def _with_note(submission: Submission, note: str) -> Submission:
    return Submission(
        submission.student_id,
        submission.origin,
        submission.path,
        submission.member,
        submission.problem,
        note,
        submission.timestamp,
    )


def _from_folder(folder: Path, assignment: str) -> Submission:
    student = folder.name
    expected = f"{assignment}.ipynb"
    for path in (folder / expected, folder / assignment / expected):
        if path.is_file():
            timestamp = path.parent / "timestamp.txt"
            stamp = timestamp.read_text().strip()[:64] if timestamp.is_file() else None
            return Submission(student, str(path), path=path, timestamp=stamp)
    notebooks = sorted(
        p for p in folder.rglob("*.ipynb") if not any(part in IGNORED for part in p.parts)
    )
    if len(notebooks) == 1:
        path = notebooks[0]
        note = f"graded {path.relative_to(folder)}, which should have been named {expected}"
        return Submission(student, str(path), path=path, note=note)
    return Submission(student, str(folder), problem=_no_notebook(expected, folder, notebooks))


def _from_zip(path: Path, assignment: str) -> Submission:
    student = path.stem
    expected = f"{assignment}.ipynb"
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                name
                for name in archive.namelist()
                if name.endswith(".ipynb") and not any(part in name for part in IGNORED)
            ]
    except (OSError, zipfile.BadZipFile) as error:
        return Submission(
            student, str(path), problem=f"{path.name} is not a readable zip ({error})"
        )
    exact = [name for name in names if name.rsplit("/", 1)[-1] == expected]
    if exact:
        return Submission(student, f"{path}:{exact[0]}", path=path, member=exact[0])
    if len(names) == 1:
        note = f"graded {names[0]}, which should have been named {expected}"
        return Submission(student, f"{path}:{names[0]}", path=path, member=names[0], note=note)
    return Submission(student, str(path), problem=_no_notebook(expected, path, names))


def _no_notebook(expected: str, where: Path, found: list) -> str:
    if not found:
        return f"no {expected} in {where.name}"
    shown = ", ".join(str(Path(p).name) for p in found[:5])
    return f"no {expected} in {where.name}, and several other notebooks ({shown}): rename one"
