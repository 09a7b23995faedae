"""Sphinx extension for the book: publish the released assignment notebooks for download.

The student notebooks are produced by ``nbgrader generate_assignment`` (never edited by hand) in a
scratch copy of the course, and placed in ``_build/assignments/<id>.ipynb`` where the Exercises
page's ``{download}`` links point. They are regenerated only when an instructor notebook is newer
than its released copy, so a rebuild with nothing changed costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from autograder.checks import ASSIGNMENTS
from autograder.course.operations import COURSE_ROOT, NbgraderError, released_notebooks

logger = logging.getLogger(__name__)
OUTPUT = Path("_build") / "assignments"


def stale(output: Path) -> tuple[str, ...]:
    """The assignments whose released notebook is missing or older than its source (an
    assignment without an instructor notebook yet is skipped; its download link then warns)."""
    result = []
    for assignment in ASSIGNMENTS:
        source = COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
        released = output / f"{assignment}.ipynb"
        if not source.exists():
            continue
        if not released.exists() or released.stat().st_mtime < source.stat().st_mtime:
            result.append(assignment)
    return tuple(result)


def publish(app: Sphinx) -> None:
    output = Path(app.srcdir) / OUTPUT
    todo = stale(output)
    if not todo:
        return
    logger.info("releasing student notebooks with nbgrader: %s", ", ".join(todo))
    try:
        released_notebooks(output, todo)
    except NbgraderError as error:
        raise ExtensionError(f"could not generate the student notebooks: {error}") from error


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("builder-inited", publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
