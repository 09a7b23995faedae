"""Sphinx extension for the book's HTML: each page loads each script once; search shows math.

Jupyter Book 1 (Sphinx 7.4) emits the inline configuration scripts of sphinx-thebe and
sphinx-togglebutton twice on every page: once as registered by the extension (file name ``None``)
and once as the builder re-reads its registry (file name ``""``). Sphinx deduplicates scripts by
file name, so both survive, and the second ``const THEBE_JS_URL = ...`` is a SyntaxError in the
reader's console on every page. This extension removes, just before each page is rendered, every
script identical (same file, priority and attributes, inline body included) to an earlier one.

It also loads MathJax, configured as on every other page, on the search page (which has no
formula of its own, so Sphinx leaves MathJax out), where ``_static/search_math.js`` typesets the
formulas in the results' titles and excerpts.
"""

from __future__ import annotations

import json
from typing import Any

from sphinx.application import Sphinx


def script_key(script: Any) -> tuple:
    """What makes two scripts the same: file name (``None`` and ``""`` alike), priority and
    attributes (an inline script's body is one). A plain string (old-style entry) is its name."""
    attributes = getattr(script, "attributes", {})
    name = getattr(script, "filename", script) or ""
    return (str(name), getattr(script, "priority", 500), tuple(sorted(attributes.items())))


def unique_scripts(scripts: list) -> list:
    """``scripts`` without the repeats of earlier entries, in their order."""
    seen, kept = set(), []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    if "script_files" in context:
        context["script_files"][:] = unique_scripts(list(context["script_files"]))


def mathjax_on_search_page(app: Sphinx, pagename: str, templatename: str, context, doctree):
    """As ``sphinx.ext.mathjax`` does on a page with formulas, for the search page."""
    if pagename != "search" or app.builder.format != "html" or not app.config.mathjax_path:
        return
    if app.config.mathjax3_config:
        body = f"window.MathJax = {json.dumps(app.config.mathjax3_config)}"
        app.builder.add_js_file("", body=body)
    app.builder.add_js_file(app.config.mathjax_path, defer="defer")


def setup(app: Sphinx) -> dict[str, bool]:
    # Late, after every other extension has added its scripts for the page.
    app.connect("html-page-context", mathjax_on_search_page)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
