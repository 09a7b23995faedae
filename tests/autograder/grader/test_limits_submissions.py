"""Every limit of the submissions reader (autograder.grader.submissions) and of the notebook parser
(autograder.grader.assignment) at the limit and one past it.

The student id pattern (each allowed character, every refused ASCII punctuation mark, control
and non-ASCII characters, the length), the size caps checked before anything is read (notebook,
zip file, zip member, members per zip, files looked at in a folder, ``timestamp.txt``), the junk
that is never a candidate inside a folder or zip, and the JSON value counts and cell count of a
notebook. Large files are sparse (or a compressible zip member), so each test stays cheap.
"""

from __future__ import annotations

import io
import json
import os
import string
import zipfile
from pathlib import Path

import pytest

from autograder.grader import assignment, submissions
from autograder.grader.assignment import NotebookError, read_notebook
from autograder.grader.submissions import Submission, find_submissions

A = "ex03_logsumexp"
NOTEBOOK = b'{"cells": []}'
MB = 2**20
CONTAINERS, VALUES = 100_000, 1_000_000  # the documented JSON caps, written out


def found_in(folder: Path) -> dict[str, Submission]:
    return {s.student_id: s for s in find_submissions(folder, A)}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sparse(path: Path, size: int, tail: bytes = b"") -> Path:
    """A file of exactly ``size`` bytes: a hole, then ``tail``."""
    with open(path, "wb") as file:
        file.truncate(size - len(tail))
        file.seek(size - len(tail))
        file.write(tail)
    assert path.stat().st_size == size
    return path


# ------------------------------------------------------------------ the student id


def test_the_caps_are_the_documented_values():
    assert submissions.MAX_NOTEBOOK_BYTES == assignment.MAX_NOTEBOOK_BYTES == 20 * MB
    assert submissions.MAX_ZIP_BYTES == 80 * MB
    assert submissions.MAX_ZIP_MEMBERS == 1000
    assert submissions.MAX_FOLDER_ENTRIES == 10_000
    assert submissions.MAX_TIMESTAMP_BYTES == 1024
    assert assignment.MAX_CELLS == 1000
    assert assignment.MAX_JSON_CONTAINERS == 100_000
    assert assignment.MAX_JSON_VALUES == 1_000_000


def test_an_id_of_100_characters_is_usable_and_101_is_not(tmp_path):
    at_limit, past = "a" * 100, "b" * 101
    for name in (at_limit, past):
        (tmp_path / f"{name}.ipynb").write_bytes(NOTEBOOK)
    found = found_in(tmp_path)
    assert found[at_limit].problem is None and found[at_limit].read() == NOTEBOOK
    refused = found["b" * 100]  # the refused id is shown cut to 100 characters
    assert refused.problem == (
        f"{'b' * 100!r} is not a usable student id: use ASCII letters, digits and . _ @ + - "
        "only, not starting with a dot; rename it and grade again"
    )
    assert refused.origin == str(tmp_path / f"{past}.ipynb") and refused.path is None


@pytest.mark.parametrize("name", ["A", "z", "0", "9", "_", "@", "+", "-", "a.b", "Az09_.@+-"])
def test_every_allowed_character_makes_a_usable_id(tmp_path, name):
    (tmp_path / f"{name}.ipynb").write_bytes(NOTEBOOK)
    (submission,) = find_submissions(tmp_path, A)
    assert submission.student_id == name and submission.problem is None


REFUSED_ASCII = sorted(set(string.punctuation) - set("_.@+-/")) + [" ", "\t", "\x1b", "\x7f"]


@pytest.mark.parametrize("character", REFUSED_ASCII)
def test_every_other_ascii_character_is_refused(tmp_path, character):
    (tmp_path / f"a{character}b.ipynb").write_bytes(NOTEBOOK)
    (submission,) = find_submissions(tmp_path, A)
    assert "is not a usable student id: use ASCII letters" in submission.problem
    assert "which is not ASCII" not in submission.problem
    with pytest.raises(NotebookError, match="not a usable student id"):
        submission.read()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("caf\u00e9", "U+00E9"),  # é, a letter outside ASCII
        ("\u0430lice", "U+0430"),  # Cyrillic а, looks like a
        ("al\u0456ce", "U+0456"),  # Cyrillic і, looks like i
        ("bob\u0663", "U+0663"),  # an Arabic-Indic digit (\d would match it)
        ("b\u200bob", "U+200B"),  # a zero-width space
        ("\uff41", "U+FF41"),  # full-width a
    ],
)
def test_non_ascii_look_alikes_are_refused_naming_the_character(tmp_path, name, code):
    (tmp_path / f"{name}.ipynb").write_bytes(NOTEBOOK)
    (submission,) = find_submissions(tmp_path, A)
    assert f"(it holds {code}, which is not ASCII)" in submission.problem


def test_an_id_may_not_start_with_a_dot_and_hidden_entries_are_skipped(tmp_path):
    assert submissions.STUDENT_ID.fullmatch(".alice") is None
    assert submissions.STUDENT_ID.fullmatch("a.lice.") is not None
    assert submissions.STUDENT_ID.fullmatch("") is None
    for name in (".alice.ipynb", ".bob.zip", ".carol", "__MACOSX", ".ipynb_checkpoints"):
        path = tmp_path / name
        path.mkdir() if "." not in name[1:] else path.write_bytes(NOTEBOOK)
    (tmp_path / "__MACOSX" / f"{A}.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "dave.ipynb").write_bytes(NOTEBOOK)
    assert list(found_in(tmp_path)) == ["dave"]


# ------------------------------------------------------------------ sizes checked before reading


@pytest.mark.parametrize("size", [20 * MB, 20 * MB + 1])
def test_a_notebook_file_of_20_mb_is_read_and_one_byte_more_is_refused(tmp_path, size):
    sparse(tmp_path / "alice.ipynb", size, b"}")
    (submission,) = find_submissions(tmp_path, A)
    if size <= 20 * MB:
        data = submission.read()
        assert len(data) == size and data.endswith(b"}")
    else:
        with pytest.raises(NotebookError, match=r"alice.ipynb is larger than the 20 MB allowed"):
            submission.read()


@pytest.mark.parametrize("size", [20 * MB, 20 * MB + 1])
def test_a_zip_member_of_20_mb_is_read_and_one_byte_more_is_refused(tmp_path, size):
    (tmp_path / "alice.zip").write_bytes(zip_bytes({f"{A}.ipynb": bytes(size - 1) + b"}"}))
    (submission,) = find_submissions(tmp_path, A)
    if size <= 20 * MB:
        data = submission.read()
        assert len(data) == size and data.endswith(b"}")
    else:
        with pytest.raises(NotebookError, match=rf"alice.zip:{A}.ipynb is larger than the 20 MB"):
            submission.read()


@pytest.mark.parametrize("size", [80 * MB, 80 * MB + 1])
def test_a_zip_file_of_80_mb_is_opened_and_one_byte_more_is_refused(tmp_path, size):
    # a zip after a hole (zipfile reads archives with data before them, like self-extractors)
    sparse(tmp_path / "alice.zip", size, zip_bytes({f"{A}.ipynb": NOTEBOOK}))
    (submission,) = find_submissions(tmp_path, A)
    if size <= 80 * MB:
        assert submission.problem is None and submission.read() == NOTEBOOK
    else:
        assert (
            submission.problem == "alice.zip is not a readable zip (alice.zip is larger than 80 MB)"
        )


def test_a_zip_of_1000_members_is_read_and_1001_is_refused(tmp_path):
    members = {f"junk/{n}.txt": b"" for n in range(999)}
    (tmp_path / "alice.zip").write_bytes(zip_bytes({**members, f"{A}.ipynb": NOTEBOOK}))
    members["junk/999.txt"] = b""
    (tmp_path / "bob.zip").write_bytes(zip_bytes({**members, f"{A}.ipynb": NOTEBOOK}))
    found = found_in(tmp_path)
    assert found["alice"].read() == NOTEBOOK
    assert (
        found["bob"].problem == "bob.zip is not a readable zip (bob.zip holds more than 1000 files)"
    )
    with pytest.raises(NotebookError):
        found["bob"].read()


def test_a_zip_swapped_for_a_bigger_one_after_listing_is_still_capped(tmp_path):
    (tmp_path / "alice.zip").write_bytes(zip_bytes({f"{A}.ipynb": NOTEBOOK}))
    (submission,) = find_submissions(tmp_path, A)
    sparse(tmp_path / "alice.zip", 80 * MB + 1, zip_bytes({f"{A}.ipynb": NOTEBOOK}))
    with pytest.raises(NotebookError, match="could not read .*alice.zip is larger than 80 MB"):
        submission.read()


def test_only_a_regular_zip_file_is_opened(tmp_path):
    (tmp_path / "alice.zip").mkdir()
    with pytest.raises(OSError, match="alice.zip is not a regular file"):
        submissions.open_zip(tmp_path / "alice.zip")
    with pytest.raises(zipfile.BadZipFile, match="^not a zip file$"):
        submissions.open_zip(sparse(tmp_path / "bob.zip", 100))


@pytest.mark.parametrize(("junk", "found"), [(9_999, True), (10_000, False)])
def test_a_folder_is_searched_through_its_first_10000_files(tmp_path, junk, found):
    folder = tmp_path / "alice"
    folder.mkdir()
    for n in range(junk):
        (folder / f"a{n:05}.txt").touch()
    (folder / "work.ipynb").write_bytes(NOTEBOOK)  # sorted after the junk: file junk + 1
    (submission,) = find_submissions(tmp_path, A)
    if found:
        assert submission.read() == NOTEBOOK and "graded work.ipynb" in submission.note
    else:
        assert submission.problem == f"no {A}.ipynb in alice"


@pytest.mark.parametrize(("padding", "expected"), [(1014, "2026-01-01"), (1015, "2026-01-0")])
def test_timestamp_txt_is_read_to_its_first_kilobyte(tmp_path, padding, expected):
    folder = tmp_path / "alice" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_bytes(NOTEBOOK)
    (folder / "timestamp.txt").write_bytes(b" " * padding + b"2026-01-01")
    (submission,) = find_submissions(tmp_path, A)
    assert submission.timestamp == expected


def test_a_timestamp_is_shown_to_64_characters_and_an_empty_or_odd_one_is_none(tmp_path):
    stamps = {"long": b"x" * 64 + b"y", "blank": b" \n\t ", "folder": None, "fifo": None}
    for student, stamp in stamps.items():
        folder = tmp_path / student / A
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_bytes(NOTEBOOK)
        if stamp is not None:
            (folder / "timestamp.txt").write_bytes(stamp)
    (tmp_path / "folder" / A / "timestamp.txt").mkdir()
    os.mkfifo(tmp_path / "fifo" / A / "timestamp.txt")
    found = found_in(tmp_path)
    assert found["long"].timestamp == "x" * 64
    assert found["blank"].timestamp is None
    assert found["folder"].timestamp is None and found["fifo"].timestamp is None


def test_several_notebooks_are_listed_five_at_most(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for n in range(6):
        (folder / f"n{n}.ipynb").write_bytes(NOTEBOOK)
    (submission,) = find_submissions(tmp_path, A)
    listed = ", ".join(f"n{n}.ipynb" for n in range(5))
    assert submission.problem == (
        f"no {A}.ipynb in alice, and several other notebooks ({listed}): rename one"
    )


# ------------------------------------------------------------------ junk is never a candidate


JUNK = [
    "__MACOSX/._work.ipynb",
    "__MACOSX/work.ipynb",
    "._work.ipynb",  # an AppleDouble file zipped without its __MACOSX folder
    ".~work.ipynb",
    ".git/objects/x.ipynb",
    ".ipynb_checkpoints/work-checkpoint.ipynb",
    "sub/.ipynb_checkpoints/work-checkpoint.ipynb",
    "sub/.hidden/work.ipynb",
]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_beside_a_misnamed_notebook_in_a_zip_is_ignored(tmp_path, junk):
    (tmp_path / "alice.zip").write_bytes(zip_bytes({junk: b"junk", "work.ipynb": NOTEBOOK}))
    (submission,) = find_submissions(tmp_path, A)
    assert submission.problem is None, submission.problem
    assert submission.member == "work.ipynb" and submission.read() == NOTEBOOK


@pytest.mark.parametrize("junk", JUNK)
def test_junk_beside_a_misnamed_notebook_in_a_folder_is_ignored(tmp_path, junk):
    folder = tmp_path / "alice"
    (folder / junk).parent.mkdir(parents=True, exist_ok=True)
    (folder / junk).write_bytes(b"junk")
    (folder / "work.ipynb").write_bytes(NOTEBOOK)
    (submission,) = find_submissions(tmp_path, A)
    assert submission.problem is None, submission.problem
    assert submission.read() == NOTEBOOK and "graded work.ipynb" in submission.note


@pytest.mark.parametrize("junk", [f"__MACOSX/{A}.ipynb", f".old/{A}.ipynb", f"._{A}.ipynb"])
def test_a_correctly_named_notebook_in_junk_is_not_graded(tmp_path, junk):
    (tmp_path / "alice.zip").write_bytes(zip_bytes({junk: b"stale", f"hw/{A}.ipynb": NOTEBOOK}))
    (tmp_path / "bob.zip").write_bytes(zip_bytes({junk: b"stale"}))
    found = found_in(tmp_path)
    assert found["alice"].member == f"hw/{A}.ipynb" and found["alice"].read() == NOTEBOOK
    assert found["bob"].problem == f"no {A}.ipynb in bob.zip"


@pytest.mark.parametrize("name", [f"./{A}.ipynb", f"../{A}.ipynb", f"my.folder/{A}.ipynb"])
def test_dots_that_do_not_hide_a_member_keep_it_a_candidate(tmp_path, name):
    (tmp_path / "alice.zip").write_bytes(zip_bytes({name: NOTEBOOK}))
    (submission,) = find_submissions(tmp_path, A)
    assert submission.member == name and submission.read() == NOTEBOOK


def test_a_folder_entry_in_a_zip_is_not_a_notebook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("folder.ipynb/"), b"")
        archive.writestr("work.ipynb", NOTEBOOK)
    (tmp_path / "alice.zip").write_bytes(buffer.getvalue())
    (submission,) = find_submissions(tmp_path, A)
    assert submission.member == "work.ipynb"


# ------------------------------------------------------------------ the notebook's JSON


def with_items(items: list[bytes]) -> bytes:
    """A notebook whose one extra key holds ``items``."""
    return b'{"cells": [], "x": [' + b",".join(items) + b"]}"


def counts(data: bytes) -> tuple[int, int]:
    return assignment._json_counts(assignment.JSON_STRING.sub(b"", data))


def test_a_notebook_of_exactly_the_container_limit_is_parsed_and_one_more_is_refused():
    base_containers, _ = counts(with_items([]))
    at_limit = [b"{}"] * (CONTAINERS - base_containers)
    assert counts(with_items(at_limit))[0] == CONTAINERS
    assert len(read_notebook(with_items(at_limit))["x"]) == len(at_limit)
    with pytest.raises(NotebookError, match=r"100001 objects and lists .* than the 100000"):
        read_notebook(with_items([*at_limit, b"{}"]))


def test_a_notebook_of_exactly_the_value_limit_is_parsed_and_one_more_is_refused():
    _, base_values = counts(with_items([b"0"]))
    at_limit = [b"0"] * (VALUES - base_values + 1)
    assert counts(with_items(at_limit))[1] == VALUES
    assert len(read_notebook(with_items(at_limit))["x"]) == len(at_limit)
    with pytest.raises(NotebookError, match=r"1000001 values, more than the 100000 and 1000000"):
        read_notebook(with_items([*at_limit, b"0"]))


def test_strings_are_not_counted_even_when_counting_them_would_exceed_the_limits():
    text = json.dumps("{[,:" * VALUES).encode()
    assert assignment._json_counts(text)[1] > VALUES
    assert len(read_notebook(with_items([text]))["x"][0]) == 4 * VALUES


def test_a_notebook_of_exactly_20_mb_is_parsed_and_one_byte_more_is_refused():
    data = NOTEBOOK + b" " * (20 * MB - len(NOTEBOOK))
    assert read_notebook(data) == {"cells": []}
    with pytest.raises(NotebookError, match="the notebook is 20 MB, more than the 20 MB allowed"):
        read_notebook(data + b" ")


def test_a_notebook_of_1000_cells_is_parsed_and_1001_is_refused():
    cell = {"cell_type": "code", "metadata": {}, "source": "", "outputs": []}
    assert len(read_notebook(json.dumps({"cells": [cell] * 1000}).encode())["cells"]) == 1000
    with pytest.raises(NotebookError, match="the notebook has 1001 cells, more than 1000"):
        read_notebook(json.dumps({"cells": [cell] * 1001}).encode())


# ------------------------------------------------------------------ every field of what is found


def test_each_layout_yields_exactly_its_submission(tmp_path):
    ex = f"{A}.ipynb"
    folder = tmp_path / "in"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / ex).write_bytes(NOTEBOOK)
    (folder / "bob" / A).mkdir(parents=True)
    (folder / "bob" / A / ex).write_bytes(NOTEBOOK)
    (folder / "bob" / A / "timestamp.txt").write_bytes(b"\xff2026-11-20 10:00")
    (folder / "carol.ipynb").write_bytes(NOTEBOOK)
    (folder / "dave.zip").write_bytes(zip_bytes({f"w/v/{ex}": NOTEBOOK, "w/hw.ipynb": b"x"}))
    (folder / "erin.zip").write_bytes(zip_bytes({"hw.ipynb": NOTEBOOK}))
    (folder / "fay.zip").write_bytes(zip_bytes({"notes.txt": b""}))
    (folder / "gus" / "sub").mkdir(parents=True)
    (folder / "gus" / "sub" / "hw.ipynb").write_bytes(NOTEBOOK)
    (folder / "hal").mkdir()
    (folder / "ida").mkdir()
    (folder / "ida" / ex).write_bytes(NOTEBOOK)
    (folder / "ida.ipynb").write_bytes(NOTEBOOK)
    (folder / "ida.zip").write_bytes(zip_bytes({ex: NOTEBOOK}))
    (folder / "jo.zip").write_bytes(b"not a zip")
    (folder / "kim.zip").write_bytes(zip_bytes({"a.ipynb": b"", "b.ipynb": b""}))
    (folder / "README.txt").write_text("not a submission")  # sorted before the students
    (folder / "q.r").mkdir()
    (folder / "q.r" / ex).write_bytes(NOTEBOOK)
    (folder / "x y.ipynb").write_bytes(NOTEBOOK)
    found = found_in(folder)
    a = folder / "alice" / ex
    b = folder / "bob" / A / ex
    d, e, f = folder / "dave.zip", folder / "erin.zip", folder / "fay.zip"
    g = folder / "gus" / "sub" / "hw.ipynb"
    ignored = "was ignored (another submission for the same student)"
    assert found == {
        "alice": Submission("alice", str(a), path=a),
        "bob": Submission("bob", str(b), path=b, timestamp="\ufffd2026-11-20 10:00"),
        "carol": Submission("carol", str(folder / "carol.ipynb"), path=folder / "carol.ipynb"),
        "dave": Submission("dave", f"{d}:w/v/{ex}", path=d, member=f"w/v/{ex}"),
        "erin": Submission(
            "erin",
            f"{e}:hw.ipynb",
            path=e,
            member="hw.ipynb",
            note=f"graded hw.ipynb, which should have been named {ex}",
        ),
        "fay": Submission("fay", str(f), problem=f"no {ex} in fay.zip"),
        "gus": Submission(
            "gus", str(g), path=g, note=f"graded sub/hw.ipynb, which should have been named {ex}"
        ),
        "hal": Submission("hal", str(folder / "hal"), problem=f"no {ex} in hal"),
        "ida": Submission(
            "ida",
            str(folder / "ida" / ex),
            path=folder / "ida" / ex,
            note=f"{folder / 'ida.ipynb'} {ignored}; {folder / 'ida.zip'}:{ex} {ignored}",
        ),
        "jo": Submission(
            "jo", str(folder / "jo.zip"), problem="jo.zip is not a readable zip (not a zip file)"
        ),
        "kim": Submission(
            "kim",
            str(folder / "kim.zip"),
            problem=f"no {ex} in kim.zip, and several other notebooks (a.ipynb, b.ipynb): "
            "rename one",
        ),
        "q.r": Submission("q.r", str(folder / "q.r" / ex), path=folder / "q.r" / ex),
        "x y": Submission(
            "x y",
            str(folder / "x y.ipynb"),
            problem="'x y' is not a usable student id: use ASCII letters, digits and . _ @ + - "
            "only, not starting with a dot; rename it and grade again",
        ),
    }
    with pytest.raises(FileNotFoundError, match=rf"^the submissions folder {folder / 'no'} does"):
        find_submissions(folder / "no", A)


def test_links_and_special_files_are_refused_with_their_reason(tmp_path):
    ex = f"{A}.ipynb"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ex).write_bytes(NOTEBOOK)
    (outside / "t.txt").write_bytes(b"2026-01-01")
    folder = tmp_path / "in"
    (folder / "inside").mkdir(parents=True)
    (folder / "inside" / ex).write_bytes(NOTEBOOK)
    (folder / "kim.ipynb").symlink_to(outside / ex)
    (folder / "rob.zip").symlink_to(outside / ex)
    (folder / "w.x").symlink_to(outside)  # a student folder that is a link: named in full
    (folder / "mo.ipynb").symlink_to(folder / "inside" / ex)  # a link inside: followed
    os.mkfifo(folder / "nat.ipynb")
    os.mkfifo(folder / "sam.zip")
    (folder / "oz").mkdir()
    (folder / "oz" / ex).symlink_to(outside / ex)
    (folder / "pat" / ex).mkdir(parents=True)
    (folder / "una" / A).mkdir(parents=True)
    (folder / "una" / A / ex).write_bytes(NOTEBOOK)
    (folder / "una" / A / "timestamp.txt").symlink_to(outside / "t.txt")
    (folder / "vic").mkdir()
    (folder / "vic" / "hw.ipynb").symlink_to(outside / ex)
    (folder / "vic" / "dir.ipynb").mkdir()
    found = found_in(folder)
    link = "is a link to a place outside the submissions folder"
    assert found["kim"] == Submission(
        "kim",
        str(folder / "kim.ipynb"),
        problem=f"kim.ipynb {link}; copy the submission itself into the folder",
    )
    assert found["rob"] == Submission(
        "rob",
        str(folder / "rob.zip"),
        problem=f"rob.zip {link}; copy the submission itself into the folder",
    )
    assert found["w.x"] == Submission(
        "w.x",
        str(folder / "w.x"),
        problem=f"w.x {link}; copy the submission itself into the folder",
    )
    assert found["mo"] == Submission("mo", str(folder / "mo.ipynb"), path=folder / "mo.ipynb")
    assert found["mo"].read() == NOTEBOOK
    for name in ("nat.ipynb", "sam.zip"):
        student = name.split(".")[0]
        assert found[student] == Submission(
            student, str(folder / name), problem=f"{name} is not a regular file"
        )
    assert found["oz"] == Submission("oz", str(folder / "oz" / ex), problem=f"{ex} {link}")
    assert found["pat"] == Submission(
        "pat", str(folder / "pat" / ex), problem=f"{ex} is not a regular file"
    )
    assert found["una"].timestamp is None and found["una"].read() == NOTEBOOK
    assert found["vic"] == Submission("vic", str(folder / "vic"), problem=f"no {ex} in vic")


def test_an_entry_that_cannot_be_read_is_a_problem_cut_to_500_characters(tmp_path, monkeypatch):
    folder = tmp_path / ("d" * 200) / ("e" * 200)
    folder.mkdir(parents=True)
    (folder / "tom.ipynb").symlink_to(folder / "missing")  # inside, but dangling
    (folder / "v.w").mkdir()
    found = found_in(folder)
    message = (
        f"could not read tom.ipynb: FileNotFoundError: [Errno 2] No such file or directory: "
        f"'{folder / 'tom.ipynb'}'"
    )
    assert len(message) > 500
    assert found["tom"] == Submission("tom", str(folder / "tom.ipynb"), problem=message[:500])

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(submissions, "_from_folder", broken)
    assert found_in(folder)["v.w"] == Submission(
        "v.w", str(folder / "v.w"), problem="could not read v.w: RuntimeError: boom"
    )


def test_a_zip_problem_names_the_error_cut_to_200_characters(tmp_path):
    name = "z" * 230 + ".zip"
    sparse(tmp_path / name, 80 * MB + 1, zip_bytes({f"{A}.ipynb": NOTEBOOK}))
    error = f"{name} is larger than 80 MB"
    problem = submissions._from_zip(tmp_path / name, A).problem
    assert problem == f"{name} is not a readable zip ({error[:200]})"


def test_a_zip_prefers_the_exactly_named_notebook_in_any_folder(tmp_path):
    members = {"hw.ipynb": b"other", f"a/b/{A}.ipynb": NOTEBOOK, "c.ipynb": b"other"}
    (tmp_path / "alice.zip").write_bytes(zip_bytes(members))
    (submission,) = find_submissions(tmp_path, A)
    assert submission.member == f"a/b/{A}.ipynb" and submission.note is None
    assert submission.read() == NOTEBOOK


def test_reading_is_bounded_and_refuses_what_is_not_a_notebook(tmp_path, monkeypatch):
    data = tmp_path / "ten.bin"
    data.write_bytes(b"0123456789")
    assert submissions.read_regular(data, 3) == b"0123"
    assert submissions.read_regular(data, 20) == b"0123456789"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="^fifo is not a regular file$"):
        submissions.read_regular(tmp_path / "fifo", 3)
    with pytest.raises(NotebookError, match="^no notebook$"):
        Submission("a", "a").read()
    with pytest.raises(NotebookError, match="^refused$"):
        Submission("a", "a", path=data, problem="refused").read()
    # a zip member is decompressed only to the cap plus one byte, never in full
    (tmp_path / "z.zip").write_bytes(zip_bytes({f"{A}.ipynb": NOTEBOOK}))
    asked = []
    real_read = zipfile.ZipExtFile.read

    def spy(self, n=-1):
        asked.append(n)
        return real_read(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    assert Submission("a", "a", path=tmp_path / "z.zip", member=f"{A}.ipynb").read() == NOTEBOOK
    assert asked[0] == 20 * MB + 1
