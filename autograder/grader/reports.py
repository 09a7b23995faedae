"""What the instructor and the students read: grades.csv, feedback pages, summary, histogram.

Every function takes the results it reports on and writes or returns text; nothing here decides
a grade.
"""

from __future__ import annotations

import csv
import html
import io
import statistics
from collections import Counter
from pathlib import Path

from autograder.grader.assignment import AssignmentSpec
from autograder.grader.files import atomic_write
from autograder.grader.inert import capped, one_line, plain_text, spreadsheet_cell
from autograder.grader.results import ERROR, GRADED, NOT_GRADED, TAMPERED, StudentResult
from autograder.judge.grading import result_lines

CSV_COLUMNS = ("student_id", "score", "max_score", "status", "reason")
MAX_REASON_CHARS = 2000  # per CSV row and per summary line
MAX_FEEDBACK_CHARS = 4000  # per group's feedback on a page or in the terminal
MAX_LISTED_ERRORS = 50  # cell errors listed on a page or in the terminal


def grades_csv(spec: AssignmentSpec, results: list[StudentResult]) -> str:
    """One row per student: the columns of :data:`CSV_COLUMNS`, then the score of each test
    cell (by grade id). ``score`` counts the automatically graded points only. Text cells are
    made safe for spreadsheets (:func:`autograder.grader.inert.spreadsheet_cell`: a leading ``=``,
    ``+``, ``-`` or ``@`` gets an apostrophe) and the reason is cut to
    :data:`MAX_REASON_CHARS` characters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(cell.grade_id for cell in spec.test_cells)])
    for result in sorted(results, key=lambda r: r.student_id):
        scores = {cell.grade_id: cell.result.score for cell in result.cells}
        writer.writerow(
            [
                spreadsheet_cell(result.student_id),
                f"{result.score:g}",
                f"{result.max_score:g}",
                result.status,
                spreadsheet_cell(capped(one_line(result.reason), MAX_REASON_CHARS)),
                *(f"{scores.get(cell.grade_id, 0):g}" for cell in spec.test_cells),
            ]
        )
    return buffer.getvalue()


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1d2330; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #d5d9e0; padding: .35rem .5rem; text-align: left;
          vertical-align: top; }}
.pass {{ color: #176b2c; font-weight: 600; }} .fail {{ color: #a11d1d; font-weight: 600; }}
pre {{ white-space: pre-wrap; background: #f5f6f8; padding: .6rem; border-radius: 4px;
       margin: .3rem 0 0; font-size: .9em; }}
.score {{ font-size: 1.4rem; }} .note {{ background: #fff6dd; padding: .5rem .8rem; }}
</style></head><body>
{body}
</body></html>
"""


def feedback_html(spec: AssignmentSpec, result: StudentResult) -> str:
    """A self-contained page (no scripts, no network) with every group's result and feedback.

    Every text is escaped and stripped of control characters; each feedback is cut to
    :data:`MAX_FEEDBACK_CHARS` characters and at most :data:`MAX_LISTED_ERRORS` cell errors
    are listed, so the page stays small whatever the notebook did."""

    def e(text: str, limit: int = MAX_FEEDBACK_CHARS) -> str:
        return html.escape(capped(plain_text(text), limit))

    parts = [
        f"<h1>{e(spec.assignment)}: feedback for {e(result.student_id)}</h1>",
        f'<p class="score">Autograded score: <b>{result.score:g} / {result.max_score:g}</b></p>',
    ]
    manual_points = sum(m["points"] for m in result.manual)
    if manual_points:
        parts.append(
            f"<p>A further {manual_points:g} points for the written answer are graded by hand.</p>"
        )
    if result.status == TAMPERED:
        parts.append(f'<p class="note"><b>Under review:</b> {e(result.reason)}</p>')
    elif result.status != GRADED:
        parts.append(f'<p class="note"><b>Not graded:</b> {e(result.reason)}</p>')
    elif result.reasons:
        items = "".join(f"<li>{e(reason)}</li>" for reason in result.reasons)
        parts.append(f'<div class="note"><b>Notes</b><ul>{items}</ul></div>')
    rows = []
    for cell in result.cells:
        judged = cell.result
        mark = (
            '<span class="pass">passed</span>'
            if judged.passed
            else '<span class="fail">failed</span>'
        )
        detail = f"<pre>{e(judged.feedback)}</pre>" if judged.feedback else ""
        rows.append(
            f"<tr><td><code>{e(cell.name)}</code><br>{e(judged.name)}</td>"
            f"<td>{e(judged.description)}{detail}</td><td>{mark}</td>"
            f"<td>{judged.score:g}&nbsp;/&nbsp;{judged.points:g}</td></tr>"
        )
    parts.append(
        "<table><thead><tr><th>Function, group</th><th>What is checked</th><th>Result</th>"
        f"<th>Points</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if result.cell_errors:
        listed = list(result.cell_errors.items())[:MAX_LISTED_ERRORS]
        items = "".join(
            f"<li>{e(result.label(number))}: <code>{e(error, 500)}</code></li>"
            for number, error in listed
        )
        more = len(result.cell_errors) - len(listed)
        items += f"<li>… and {more} more</li>" if more > 0 else ""
        parts.append(f"<h2>Errors while running your notebook</h2><ul>{items}</ul>")
    title = f"{spec.assignment} feedback: {result.student_id}"
    return PAGE.format(title=e(title), body="\n".join(parts))


def terminal_report(spec: AssignmentSpec, result: StudentResult) -> str:
    """The report ``python -m autograder check`` prints (control characters removed, long
    texts cut)."""
    lines = [
        f"{spec.assignment}: {result.score:g} / {result.max_score:g} autograded points "
        f"({result.status})"
    ]
    lines += [f"  note: {one_line(capped(reason, MAX_REASON_CHARS))}" for reason in result.reasons]
    for cell in result.cells:
        judged = cell.result
        feedback = capped(judged.feedback, MAX_FEEDBACK_CHARS)
        title = f"{cell.name} / {judged.name}"
        lines += map(one_line, result_lines(title, judged.points, judged.passed, feedback))
    for number, error in list(result.cell_errors.items())[:MAX_LISTED_ERRORS]:
        lines.append(f"  {one_line(result.label(number))} raised {one_line(capped(error, 500))}")
    for manual in result.manual:
        state = "answered" if manual["answered"] else "not answered"
        lines.append(
            f"  {manual['grade_id']} ({manual['points']:g} points): {state}, graded by hand"
        )
    return "\n".join(lines)


def summary(spec: AssignmentSpec, results: list[StudentResult], histogram: Path | None) -> str:
    """The end-of-run summary: counts, mean and median, failures per group, submissions to
    review (tampered), ungraded students. Student-controlled text is one line, without control
    characters, cut to :data:`MAX_REASON_CHARS`."""
    graded = [r for r in results if r.status == GRADED]
    scores = [r.score for r in graded]
    lines = [f"{spec.assignment}: {len(results)} students found, {len(graded)} graded"]

    def listed(result: StudentResult) -> str:
        reason = one_line(capped(result.reason, MAX_REASON_CHARS))
        return f"  {one_line(result.student_id)}: {reason}"

    if scores:
        lines.append(
            f"score (of {spec.max_score:g}): mean {statistics.mean(scores):.2f}, "
            f"median {statistics.median(scores):g}, min {min(scores):g}, max {max(scores):g}"
        )
    failures = Counter(c.grade_id for r in graded for c in r.cells if not c.result.passed)
    if failures:
        lines.append("failures per group (graded students):")
        width = max(len(cell.grade_id) for cell in spec.test_cells)
        for cell in spec.test_cells:
            lines.append(f"  {cell.grade_id:<{width}}  {failures[cell.grade_id]:>4}")
    tampered = [r for r in results if r.status == TAMPERED]
    if tampered:
        lines.append(f"tampered, to review ({len(tampered)}; scores recorded as shown):")
        lines += [listed(r) for r in tampered]
    ungraded = [r for r in results if r.status in (NOT_GRADED, ERROR)]
    if ungraded:
        lines.append(f"could not be graded ({len(ungraded)}):")
        lines += [listed(r) for r in ungraded]
    if histogram is not None:
        lines.append(f"histogram: {histogram}")
    return "\n".join(lines)


def save_histogram(path: Path, spec: AssignmentSpec, results: list[StudentResult]) -> Path:
    """Save a histogram of the graded students' scores as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    scores = [r.score for r in results if r.status == GRADED]
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.add_subplot()
    top = spec.max_score
    bins = min(20, max(1, int(top))) if top > 0 else 1
    axes.hist(scores, bins=bins, range=(0, top or 1), color="#3b6ea8", edgecolor="white")
    axes.set_xlabel(f"autograded score (of {top:g})")
    axes.set_ylabel("students")
    axes.set_title(f"{spec.assignment}: {len(scores)} graded")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def write_outputs(
    out: Path, spec: AssignmentSpec, results: list[StudentResult]
) -> tuple[Path, Path, str]:
    """Write grades.csv, the feedback pages, the histogram and summary.txt into ``out``;
    return the CSV's path, the histogram's path and the summary."""
    csv_path = out / "grades.csv"
    atomic_write(csv_path, grades_csv(spec, results))
    for result in results:
        try:
            page = feedback_html(spec, result)
        except Exception as error:  # one student's page must not stop the others
            page = PAGE.format(title="feedback", body=html.escape(f"no feedback page: {error!r}"))
        atomic_write(out / "feedback" / f"{result.student_id}.html", page)
    histogram = save_histogram(out / "histogram.png", spec, results)
    text = summary(spec, results, histogram)
    atomic_write(out / "summary.txt", text + "\n")
    return csv_path, histogram, text
