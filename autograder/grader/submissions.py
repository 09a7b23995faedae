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

import lzma
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.grader.assignment import MAX_NOTEBOOK_BYTES, NotebookError
from autograder.grader.inert import one_line

STUDENT_ID = re.compile(r"(?!\.)[A-Za-z0-9_.@+-]{1,100}")  # ASCII only: no look-alikes
IGNORED = ("__MACOSX", ".ipynb_checkpoints")
MAX_ZIP_BYTES = 4 * MAX_NOTEBOOK_BYTES
MAX_ZIP_MEMBERS = 1000
MAX_FOLDER_ENTRIES = 10_000
MAX_TIMESTAMP_BYTES = 1024
# What reading a broken or hostile zip can raise (bad headers, corrupt deflate/bzip2/LZMA
# streams, unsupported methods, encryption, truncation, names that are not valid UTF-8).
ZIP_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    UnicodeDecodeError,
    IndexError,
    KeyError,
    OverflowError,
)


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
        """The notebook's bytes; :class:`NotebookError` when it cannot be read.

        Only a regular file is read (a FIFO, device or socket is refused without blocking),
        never more than the size limit, and a zip member is decompressed with the same cap.
        """
        if self.problem or self.path is None:
            raise NotebookError(self.problem or "no notebook")
        try:
            if self.member is None:
                data = read_regular(self.path, MAX_NOTEBOOK_BYTES)
            else:
                with open_zip(self.path) as archive, archive.open(self.member) as member:
                    data = member.read(MAX_NOTEBOOK_BYTES + 1)
        except ZIP_ERRORS as error:
            raise NotebookError(f"could not read {self.origin}: {one_line(str(error))}") from None
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise NotebookError(
                f"{self.origin} is larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB allowed"
            )
        return data


def read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path``; ``OSError`` unless it is a regular file."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            return file.read(limit + 1)
    finally:
        os.close(descriptor)


def open_zip(path: Path) -> zipfile.ZipFile:
    """The zip at ``path`` if it is a regular file within the size and member limits."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{path.name} is not a regular file")
    if info.st_size > MAX_ZIP_BYTES:
        raise OSError(f"{path.name} is larger than {MAX_ZIP_BYTES // 2**20} MB")
    with open(path, "rb") as file:
        end = zipfile._EndRecData(file)  # the central directory's record, before reading it
    if end is None:
        raise zipfile.BadZipFile("not a zip file")
    if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_MEMBERS:
        raise OSError(f"{path.name} holds more than {MAX_ZIP_MEMBERS} files")
    return zipfile.ZipFile(path)


def find_submissions(folder: Path, assignment: str) -> list[Submission]:
    """Every student found in ``folder`` (sorted by id), readable or not.

    Raises ``FileNotFoundError`` when ``folder`` is not a directory. Files that are neither
    notebooks nor zips, and hidden entries, are ignored. A symbolic link that leads outside
    ``folder``, and anything that is not a regular file or folder, is refused with a reason;
    whatever goes wrong with one entry is that student's problem, never an exception.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"the submissions folder {folder} does not exist")
    root = folder.resolve()
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        try:
            submission = _from_entry(entry, root, assignment)
        except Exception as error:  # one odd entry must not stop the others
            problem = f"could not read {entry.name}: {type(error).__name__}: {error}"
            submission = Submission(_stem(entry), str(entry), problem=one_line(problem)[:500])
        if submission is None:
            continue
        if not STUDENT_ID.fullmatch(submission.student_id):
            submission = Submission(
                one_line(submission.student_id)[:100],
                one_line(submission.origin),
                problem=_bad_id(submission.student_id),
            )
        earlier = found.get(submission.student_id)
        if earlier is None:
            found[submission.student_id] = submission
        else:
            note = f"{submission.origin} was ignored (another submission for the same student)"
            combined = f"{earlier.note}; {note}" if earlier.note else note
            found[submission.student_id] = replace(earlier, note=combined)
    return [found[key] for key in sorted(found)]


def _bad_id(student_id: str) -> str:
    """Why ``student_id`` is refused, naming the first non-ASCII character if there is one (a
    Cyrillic ``о`` or a full-width ``ｃ`` would make a look-alike of another student's id)."""
    shown = one_line(student_id)[:100]
    foreign = next((c for c in student_id if not c.isascii()), None)
    why = f" (it holds U+{ord(foreign):04X}, which is not ASCII)" if foreign else ""
    return (
        f"{shown!r} is not a usable student id{why}: use ASCII letters, digits and . _ @ + - "
        "only, not starting with a dot; rename it and grade again"
    )


def _stem(entry: Path) -> str:
    return entry.name if entry.is_dir() else entry.stem


def _outside(path: Path, root: Path) -> bool:
    """Whether ``path`` (after following links) is not inside ``root``."""
    return not path.resolve().is_relative_to(root)


def _from_entry(entry: Path, root: Path, assignment: str) -> Submission | None:
    student = entry.name if entry.suffix not in (".ipynb", ".zip") else entry.stem
    if entry.is_symlink() and _outside(entry, root):
        return Submission(
            student,
            str(entry),
            problem=f"{entry.name} is a link to a place outside the submissions folder; "
            "copy the submission itself into the folder",
        )
    mode = entry.stat().st_mode
    if stat.S_ISDIR(mode):
        return _from_folder(entry, root, assignment)
    if entry.suffix not in (".ipynb", ".zip"):
        return None
    if not stat.S_ISREG(mode):
        return Submission(student, str(entry), problem=f"{entry.name} is not a regular file")
    if entry.suffix == ".ipynb":
        return Submission(student, str(entry), path=entry)
    return _from_zip(entry, assignment)


def _inside_files(folder: Path, root: Path, suffix: str) -> list[Path]:
    """Regular files named ``*suffix`` under ``folder`` (links not followed out of ``root``,
    at most :data:`MAX_FOLDER_ENTRIES` entries looked at)."""
    files, seen = [], 0
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in IGNORED)
        for name in sorted(names):
            seen += 1
            path = Path(parent) / name
            if seen > MAX_FOLDER_ENTRIES:
                return files
            if name.endswith(suffix) and not _outside(path, root) and path.is_file():
                files.append(path)
    return files


def _timestamp(path: Path, root: Path) -> str | None:
    """nbgrader's ``timestamp.txt``, decoded tolerantly (``None`` if absent or unusable)."""
    if not path.exists() or _outside(path, root):
        return None
    try:
        raw = read_regular(path, MAX_TIMESTAMP_BYTES)
    except OSError:
        return None
    return one_line(raw.decode("utf-8", "replace")).strip()[:64] or None


def _from_folder(folder: Path, root: Path, assignment: str) -> Submission:
    student = folder.name
    expected = f"{assignment}.ipynb"
    for path in (folder / expected, folder / assignment / expected):
        if not (path.exists() or path.is_symlink()):
            continue
        if _outside(path, root):
            problem = f"{expected} is a link to a place outside the submissions folder"
            return Submission(student, str(path), problem=problem)
        if not path.is_file():
            return Submission(student, str(path), problem=f"{expected} is not a regular file")
        stamp = _timestamp(path.parent / "timestamp.txt", root)
        return Submission(student, str(path), path=path, timestamp=stamp)
    notebooks = _inside_files(folder, root, ".ipynb")
    if len(notebooks) == 1:
        path = notebooks[0]
        relative = one_line(str(path.relative_to(folder)))
        note = f"graded {relative}, which should have been named {expected}"
        return Submission(student, str(path), path=path, note=note)
    return Submission(student, str(folder), problem=_no_notebook(expected, folder, notebooks))


def _from_zip(path: Path, assignment: str) -> Submission:
    student = path.stem
    expected = f"{assignment}.ipynb"
    try:
        with open_zip(path) as archive:
            names = [
                info.filename
                for info in archive.infolist()
                if info.filename.endswith(".ipynb")
                and not info.is_dir()
                and not any(part in info.filename for part in IGNORED)
            ]
    except ZIP_ERRORS as error:
        problem = f"{path.name} is not a readable zip ({one_line(str(error))[:200]})"
        return Submission(student, str(path), problem=problem)
    exact = [name for name in names if name.rsplit("/", 1)[-1] == expected]
    if exact:
        return Submission(student, f"{path}:{one_line(exact[0])}", path=path, member=exact[0])
    if len(names) == 1:
        shown = one_line(names[0])
        note = f"graded {shown}, which should have been named {expected}"
        return Submission(student, f"{path}:{shown}", path=path, member=names[0], note=note)
    return Submission(student, str(path), problem=_no_notebook(expected, path, names))


def _no_notebook(expected: str, where: Path, found: list) -> str:
    if not found:
        return f"no {expected} in {one_line(where.name)}"
    shown = ", ".join(one_line(str(Path(p).name)) for p in found[:5])
    where_name = one_line(where.name)
    return f"no {expected} in {where_name}, and several other notebooks ({shown}): rename one"
