"""What the grader writes for the instructor, in-process: student-controlled text is inert in a
terminal, a spreadsheet and a browser, and no per-student output grows with what a student
sends."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from autograder.course.operations import COURSE_ROOT
from autograder.grader.assignment import load_spec
from autograder.grader.inert import inert_markdown, plain_text, spreadsheet_cell
from autograder.grader.reports import feedback_html, grades_csv, summary, terminal_report
from autograder.grader.results import TAMPERED, CellResult, StudentResult

SPEC = load_spec(COURSE_ROOT, "ex03_logsumexp")
ESCAPES = "\x1b]0;title\x07\x1b[2J\r\u202e\x00"


def hostile_result(student: str = "-1+1") -> StudentResult:
    cells = [
        CellResult(c.grade_id, c.name, c.group, "what", c.points, False, ESCAPES + "f" * 10**5)
        for c in SPEC.test_cells
    ]
    return StudentResult(
        student,
        TAMPERED,
        SPEC.max_score,
        reasons=['=HYPERLINK("http://x")' + ESCAPES + "r" * 10**5],
        cells=cells,
        cell_errors={n: ESCAPES + "e" * 1000 for n in range(1, 300)},
        cell_labels={1: 'cell "<script>"'},
    )


def test_spreadsheet_cells_never_start_a_formula():
    for text in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "+1", "-0", "-1.5"):
        assert spreadsheet_cell(text) == "'" + text.lstrip("\r\t")
    assert spreadsheet_cell("alice") == "alice" and spreadsheet_cell("1e308") == "1e308"
    rows = list(csv.reader(io.StringIO(grades_csv(SPEC, [hostile_result()]))))
    assert rows[1][0] == "'-1+1" and rows[1][4].startswith("'=HYPERLINK")
    assert len(rows[1][4]) < 2100 and not any(c in rows[1][4] for c in "\x1b\x07\r\u202e")


def test_terminal_and_summary_text_has_no_control_characters_and_is_capped():
    for text in (terminal_report(SPEC, hostile_result()), summary(SPEC, [hostile_result()], None)):
        assert not any(c in text for c in "\x1b\x07\r\u202e\x00")
        assert len(text) < 120_000
    assert "tampered, to review (1" in summary(SPEC, [hostile_result()], None)


def test_the_feedback_page_is_escaped_and_capped():
    page = feedback_html(SPEC, hostile_result("<b>x</b>"))
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>x</b>" not in page
    assert not any(c in page for c in "\x1b\x07\u202e\x00")
    assert len(page.encode()) < 100_000 and "and 249 more" in page


def test_markdown_keeps_its_text_but_runs_nothing():
    text = inert_markdown('<img src=x onerror="alert(1)">[a](JavaScript:alert(2)) data: fine')
    assert "<" not in text and "javascript:" not in text.lower()
    assert "&lt;img src=x onerror=" in text and "data: fine" in text
    assert plain_text("a\x1b[31mb\tc\nd") == "a[31mb\tc\nd"


LINK_VARIANTS = [
    "[c3](&#106;avascript:alert(10))",
    "[a](&#x6A;avascript:x)",
    "[a](&#106avascript:x)",
    "[a](&amp;#106;avascript:x)",
    "[a](&amp;amp;#106;avascript:x)",
    "[a](javascript&colon;x)",
    "[a](java&#09;script:x)",
    "[a](java&Tab;script:x)",
    "[a](&NewLine;javascript:x)",
    "[a](java\tscript:alert(1))",
    "[a](<java\tscript:alert(1)>)",
    "[a](  JaVaScRiPt:x)",
    "[a](\njavascript:x)",
    "[a](vbscript:x)",
    "[a](file:///etc/passwd)",
    "![i](data:text/html,x)",
    "![i](&#100;ata:image/svg+xml,x)",
    "[r]: javascript:x\n\n[q][r]",
    "> [r]: &#106;avascript:x\n>\n> [q][r]",
    "[a](javascript\\:x)",
    "[a](javascript&#92;:x)",
    "[a](java\\-script\\:x)",
    "[a]: javascript\\:x\n\n[a]",
    "[a](ja&shy;vascript:x)",
    "[a](jav\u200bascript:x)",
    "<javascript:alert(1)>",
    "<a href='javascript:x'>a</a>",
]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value or "" for name, value in attrs if name in ("href", "src")]


def rendered_urls(markdown_cells):
    """Every href/src that nbconvert's HTML export of these markdown cells holds, as a browser
    reads it (entities decoded, tabs and newlines dropped, leading spaces and controls stripped)."""
    import nbformat
    from nbconvert import HTMLExporter

    cells = [nbformat.v4.new_markdown_cell(text) for text in markdown_cells]
    body, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=cells))
    parser = _Links()
    parser.feed(body.split("<body", 1)[1])
    return [
        "".join(c for c in url if c not in "\t\n\r").lstrip("".join(map(chr, range(33))))
        for url in parser.urls
    ]


def test_no_rendered_link_has_a_dangerous_scheme():
    urls = rendered_urls([inert_markdown(v) for v in LINK_VARIANTS])
    schemes = [m[1].lower() for u in urls if (m := re.match(r"([a-zA-Z][\w+.-]*):", u))]
    assert all(s in ("http", "https", "mailto") for s in schemes), urls
    safe = ("[a](https://x.org/a?b=1&c=2)", "[m](mailto:a@b)", "[r](b.md)")
    kept = rendered_urls([inert_markdown(text) for text in safe])
    assert kept == ["https://x.org/a?b=1&c=2", "mailto:a@b", "b.md"]
    assert inert_markdown("[a](&#106;avascript:x)") == "[a](./javascript :x)"
