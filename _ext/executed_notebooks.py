"""Sphinx extension for the book: ``_build/jupyter_execute`` holds the executed notebooks.

myst-nb 1.4.0, when a notebook's outputs come from the execution cache, shows them on the page but
writes the notebook it was given, without outputs, to ``_build/jupyter_execute/<doc>.ipynb`` (it
saves its input, not the notebook merged with the cache). Every build that reads a notebook
again without executing it (after any change to ``_config.yml``, for example) thus leaves an
unexecuted copy there, and the tests that read the executed chapters from it fail. After each
notebook is read, this writes the executed notebook from the cache in its place.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from sphinx.application import Sphinx


def executed_copy(output_folder: str, docname: str) -> Path:
    """Where myst-nb writes the executed notebook of ``docname`` (``chapters/01_x``)."""
    *folders, name = docname.split("/")
    return Path(output_folder).joinpath(*folders, f"{name}.ipynb")


def write_cached_outputs(app: Sphinx, doctree) -> None:
    """Replace the notebook myst-nb wrote for the document just read by the cached executed one.

    Nothing happens for a document that is not a notebook, outside the ``cache`` execution mode,
    or when the cache holds no execution of this notebook's code (then myst-nb has just executed
    it itself and its copy has the outputs, or execution is off for it).
    """
    config = app.env.mystnb_config
    source = Path(app.env.doc2path(app.env.docname))
    if config.execution_mode != "cache" or source.suffix != ".ipynb":
        return
    notebook = nbformat.read(source, as_version=4)
    try:
        _, executed = get_cache(config.execution_cache_path).merge_match_into_notebook(notebook)
    except KeyError:
        return
    target = executed_copy(config.output_folder, app.env.docname)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(executed), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("doctree-read", write_cached_outputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
