"""Make text that came from a submission safe to show: in a terminal, a spreadsheet, a notebook.

Everything a student controls (ids, file names, exception messages, markdown) reaches the
instructor's terminal, ``summary.txt``, ``grades.csv`` and the formgrader. These functions make
that text inert without hiding it:

* :func:`plain_text` removes control characters (terminal escape sequences, carriage returns,
  bidirectional overrides) except newlines and tabs;
* :func:`spreadsheet_cell` starts a CSV cell that a spreadsheet would read as a formula or a
  signed number (``=``, ``+``, ``-``, ``@``, tab or carriage return first: ``-1+1``, ``+1``,
  ``-0``) with an apostrophe, the convention spreadsheets display as "text" (the grader writes
  no number through it: scores are written directly);
* :func:`inert_markdown` decodes HTML entities (so ``&#106;avascript:`` is seen as what a browser
  would see), turns every link or image destination whose scheme is not ``http``, ``https`` or
  ``mailto`` into a relative path, escapes HTML (``<script>``, ``onerror=`` attributes become
  visible text) and breaks ``javascript:``/``vbscript:``/``data:`` anywhere else, so a rendered
  cell runs nothing;
* :func:`capped` cuts a text to a size, saying so.
"""

from __future__ import annotations

import html
import re
import unicodedata

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SCRIPT_SCHEME = re.compile(
    r"(?i)\b(javascript|vbscript|livescript|data(?=[\s\\]*:\s*[\w.+-]+/))[\s\\]*:"
)
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Where a markdown link, image or reference definition's destination starts, then a scheme as a
# browser reads it: it drops tabs, newlines and leading spaces or control characters in a URL,
# and markdown drops the backslash of an escaped punctuation character (``javascript\:``).
LINK_SCHEME = re.compile(
    r"(?P<lead>\]\s*\(\s*<?|\]:\s*<?)(?P<scheme>[A-Za-z](?:[\s\\]*[A-Za-z0-9+.-])*)[\s\\]*:"
)
MAX_ENTITY_PASSES = 8


def plain_text(text: str, keep: str = "\n\t") -> str:
    """``text`` without control or format characters (Unicode categories Cc and Cf), except
    those in ``keep``."""
    return "".join(
        c for c in text if c in keep or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
    )


def one_line(text: str) -> str:
    """:func:`plain_text` with newlines and tabs turned into spaces (for a terminal line)."""
    return plain_text(text.replace("\n", " ").replace("\t", " "), keep="")


def spreadsheet_cell(text: str) -> str:
    """A CSV cell that no spreadsheet evaluates: an apostrophe before a formula-like or signed
    start. Unsigned numbers (``00123``, ``1e308``) are left as written, for scripts that read
    the file; a spreadsheet shows them as numbers unless the column is imported as text."""
    text = plain_text(text, keep="\n")
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def decoded_entities(text: str) -> str:
    """``text`` with HTML entities (numeric or named, with or without ``;``) decoded until none is
    left, so that no renderer decoding again finds one; after :data:`MAX_ENTITY_PASSES` passes an
    ``&`` still left is replaced by a full-width ``＆`` (U+FF06), which starts no entity."""
    for _ in range(MAX_ENTITY_PASSES):
        decoded = html.unescape(text)
        if decoded == text:
            return text
        text = decoded
    return text.replace("&", "\uff06")


def _relative_link(match: re.Match) -> str:
    scheme = re.sub(r"[\s\\]", "", match["scheme"]).lower()
    if scheme in SAFE_SCHEMES:
        return match[0]
    return match["lead"] + "./" + match[0][len(match["lead"]) :]


def inert_markdown(text: str) -> str:
    """Markdown that renders as the same readable text but runs nothing (see module).

    Entities are decoded first (``&amp;lt;`` shows as ``<``, not ``&lt;``); a destination such as
    ``[a](javascript:x)`` becomes the harmless relative ``[a](./javascript:x)``."""
    text = plain_text(decoded_entities(plain_text(text)))
    text = LINK_SCHEME.sub(_relative_link, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return SCRIPT_SCHEME.sub(r"\1 :", text)


def capped(text: str, limit: int) -> str:
    """``text`` cut to at most about ``limit`` characters, with a note when it was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f" … [{len(text) - limit} more characters not shown]"
