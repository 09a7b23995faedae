"""The book: a strict build passes, every chapter executes and meets the chapter standard.

The build runs once per test session (the ``book_build`` fixture of ``conftest.py``), reusing the
execution cache in ``_build/.jupyter_cache``: chapters are executed by the build only, never a
second time by the tests, which read the executed notebooks the build leaves in
``_build/jupyter_execute`` (kept complete by the book's ``_ext/executed_notebooks.py``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD = REPOSITORY / "_build"


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPOSITORY / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


CHAPTERS = [name for name in toc_files() if name.startswith("chapters/")]
NOTEBOOKS = [name for name in toc_files() if (REPOSITORY / f"{name}.ipynb").exists()]


def executed(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as the build executed it."""
    return nbformat.read(BUILD / "jupyter_execute" / f"{name}.ipynb", as_version=4)


def markdown(name: str) -> str:
    notebook = nbformat.read(REPOSITORY / f"{name}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


@pytest.mark.book
def test_strict_build_passes(book_build):
    assert book_build.returncode == 0, book_build.stdout[-4000:] + book_build.stderr[-4000:]
    for name in toc_files():
        assert (BUILD / "html" / f"{name}.html").exists(), f"{name} was not built"


@pytest.mark.book
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_without_errors(book_build, name):
    notebook = executed(name)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{name} did not run to the end"


@pytest.mark.book
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_at_least_two_figures(book_build, name):
    figures = [
        output
        for cell in executed(name).cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(figures) >= 2, f"{name} shows {len(figures)} figure(s)"


@pytest.mark.book
def test_exercises_page_offers_every_released_notebook(book_build):
    downloads = {path.name for path in (BUILD / "html" / "_downloads").rglob("*.ipynb")}
    from autograder.checks import ASSIGNMENTS

    assert {f"{assignment}.ipynb" for assignment in ASSIGNMENTS} <= downloads


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_meets_the_chapter_standard(name):
    text = markdown(name)
    assert "Learning objectives" in text
    assert "## Check your understanding" in text and "{dropdown}" in text
    assert "## Summary" in text and "|---" in text.replace(" ", "").replace(":", "")
    assert "assignment-ex" in text or "Lab" in text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name):
    notebook = nbformat.read(REPOSITORY / f"{name}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name} has outputs"
