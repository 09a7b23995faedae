"""The book's content standard, checked on every chapter and the cheat sheet.

Prose cannot drift from its outputs: every number the Markdown cites is glued from the chapter's
own code (``{glue:text}`key```), so every glue key the Markdown uses must be glued by the
executed notebook. Figures are numbered and captioned (the code cell's ``mystnb.figure``
metadata), their plotting code is folded, and code and printed output fit the content column.
Each chapter has the one learning-objectives style, a Colab/Binder note in its first cell,
cross-references as links, and a "Further reading" section with a footnote bibliography.

The tests read the notebooks the strict build executed (the ``book_build`` fixture) from its
execution cache, and the HTML it wrote; nothing is executed a second time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from test_book import executed

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD = REPOSITORY / "_build"
CONTENT_WIDTH = 88  # characters of code or output that fit the content column


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPOSITORY / "_toc.yml").read_text())
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


CHAPTERS = [name for name in toc_files() if name.startswith("chapters/")]
PAGES = [name for name in toc_files() if (REPOSITORY / f"{name}.ipynb").exists()]

GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"```\{glue(?::\w+)?\}\s+(\S+)")
ROLE = re.compile(r"\{\w+(?::\w+)*\}`[^`]*`")
PROJECT_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:solutions|autograder)\b", re.MULTILINE)
BUILD_PATH = re.compile(r"/tmp/ipykernel|/work/|site-packages|\.pyenv")


def source(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPOSITORY / f"{name}.ipynb", as_version=4)


def markdown(name: str) -> str:
    return "\n".join(cell.source for cell in source(name).cells if cell.cell_type == "markdown")


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def image_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        cell
        for cell in code_cells(notebook)
        if any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
    ]


def glued(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Every key the executed notebook glued, with its text/plain value."""
    values = {}
    for cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrapbook:
                key = scrapbook.get("mime_prefix", "") + "text/plain"
                values[scrapbook["name"]] = output.get("data", {}).get(key, "")
    return values


def glued_number(name: str, key: str) -> float:
    return float(ast.literal_eval(glued(executed(name))[key]))


def printed_lines(cell: nbformat.NotebookNode) -> list[str]:
    lines = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.output_type == "stream":
            lines += output.text.splitlines()
        elif output.output_type == "error":
            lines += [f"{output.ename}: {output.evalue}"]
        elif "text/plain" in data and not {"text/html", "image/png"} & set(data):
            lines += data["text/plain"].splitlines()
    return lines


# ----------------------------------------------------------------- figures


@pytest.mark.book
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_two_numbered_captioned_figures(book_build, name):
    figures = image_cells(executed(name))
    assert len(figures) >= 2, f"{name} shows {len(figures)} figure(s)"
    prefix = f"fig-ch{Path(name).name[:2]}-"  # chapters/01_... names its figures fig-ch01-...
    for cell in figures:
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        start = cell.source.splitlines()[0]
        assert len(figure.get("caption", "")) > 20, f"{name}: figure without caption: {start}"
        assert figure.get("name", "").startswith(prefix), f"{name}: figure name {figure}"
        assert "hide-input" in cell.metadata.get("tags", []), f"{name}: plot code shown: {start}"
    html = (BUILD / "html" / f"{name}.html").read_text()
    numbered = re.findall(r'<span class="caption-number">Fig\. [\d.]+ </span>', html)
    assert len(numbered) >= len(figures), f"{name}: {len(numbered)} numbered figure(s) in HTML"


# ----------------------------------------------------------------- glued numbers


@pytest.mark.book
@pytest.mark.parametrize("name", PAGES)
def test_every_glue_key_the_prose_uses_is_glued_by_the_page(book_build, name):
    text = markdown(name)
    used = {key.rsplit(":", 1)[0] if ":" in key else key for key in GLUE_ROLE.findall(text)}
    used |= set(GLUE_DIRECTIVE.findall(text))
    missing = used - set(glued(executed(name)))
    assert not missing, f"{name} uses glue keys its code never glues: {sorted(missing)}"


@pytest.mark.book
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_prose_cites_glued_numbers(book_build, name):
    keys = glued(executed(name))
    assert len(keys) >= 5, f"{name} glues only {len(keys)} value(s) for its prose"
    prefix = f"ch{Path(name).name[:2]}-"
    assert all(key.startswith(prefix) for key in keys), f"{name}: keys without {prefix}"


# ----------------------------------------------------------------- layout


@pytest.mark.book
@pytest.mark.parametrize("name", PAGES)
def test_code_and_output_fit_the_content_column(book_build, name):
    too_wide = []
    for index, cell in enumerate(code_cells(executed(name))):
        for line in cell.source.splitlines() + printed_lines(cell):
            if len(line) > CONTENT_WIDTH:
                too_wide.append(f"cell {index}, {len(line)} characters: {line[:60]}...")
    assert not too_wide, f"{name}: lines wider than {CONTENT_WIDTH}:\n" + "\n".join(too_wide)


@pytest.mark.book
@pytest.mark.parametrize("name", PAGES)
def test_outputs_show_no_paths_of_the_build_machine(book_build, name):
    leaks = [
        line
        for cell in code_cells(executed(name))
        for line in printed_lines(cell)
        if BUILD_PATH.search(line)
    ]
    assert not leaks, f"{name} prints build-machine paths: {leaks[:3]}"


# ----------------------------------------------------------------- chapter structure


@pytest.mark.parametrize("name", CHAPTERS)
def test_learning_objectives_use_the_one_admonition_style(name):
    pattern = (
        r":::\{admonition\} Learning objectives\n:class: tip\n"
        r"After this chapter you can\n\n1\. .+?\n2\. .+?\n:::"
    )
    assert re.search(pattern, markdown(name), re.DOTALL), f"{name}: objectives style differs"


@pytest.mark.parametrize("name", PAGES)
def test_first_cell_tells_colab_and_binder_readers_what_to_install(name):
    first = source(name).cells[0].source
    assert "Colab" in first and "pip install" in first, f"{name}: no Colab/Binder note"
    code = "\n".join(cell.source for cell in source(name).cells if cell.cell_type == "code")
    if re.search(r"^\s*(?:from|import) myst_nb\b", code, re.MULTILINE):  # Colab lacks myst-nb
        assert "pip install myst-nb" in first, f"{name}: the note must say to install myst-nb"


@pytest.mark.parametrize("name", PAGES)
def test_further_reading_ends_the_page_with_a_footnote_bibliography(name):
    text = markdown(name)
    assert "## Further reading" in text, f"{name} has no Further reading section"
    after = text.split("## Further reading", 1)[1]
    assert "{footbibliography}" in after, f"{name}: Further reading without footbibliography"
    assert "{footcite:" in text, f"{name} cites no source in its text"
    keys = set(re.findall(r"\{footcite:[pt]\}`([^`]+)`", text))
    bibliography = (REPOSITORY / "references.bib").read_text()
    for key in keys:
        assert f"{{{key}," in bibliography, f"{name} cites {key}, missing from references.bib"


@pytest.mark.parametrize("name", PAGES)
def test_mentions_of_other_chapters_are_links(name):
    prose = ROLE.sub("", markdown(name))  # {ref}`chapter 3 <ch03-...>` is a link
    plain = re.findall(r"\b[Cc]hapters? \d[^\n]{0,30}", prose)
    plain = [m for m in plain if "–" not in m[:12]]  # ranges such as "Chapters 1–7"
    assert not plain, f"{name} mentions chapters as plain text: {plain[:5]}"


@pytest.mark.parametrize("name", PAGES)
def test_pages_do_not_import_the_project_packages(name):
    imports = [
        cell.source for cell in code_cells(source(name)) if PROJECT_IMPORT.search(cell.source)
    ]
    assert not imports, f"{name} imports solutions/autograder: {imports[0][:80]}"


# ----------------------------------------------------------------- corrected statements


@pytest.mark.book
def test_chapter_4_says_the_loss_is_finite_while_the_gradient_is_nan(book_build):
    name = "chapters/04_softmax_cross_entropy"
    grad_bad = glued_number(name, "ch04-grad-bad-from")
    loss_inf = glued_number(name, "ch04-loss-inf-from")
    assert 88 < grad_bad < 90 < 100 < loss_inf < 110  # 1/p_y overflows before p_y underflows
    assert "loss can be finite while its gradient is already NaN" in markdown(name)
    # the fused gradient is sigma(-delta) - 1 = -sigma(delta), from -sigma(1) to -1
    assert glued_number(name, "ch04-fused-grad-max") == pytest.approx(-0.7311, abs=1e-3)
    assert r"\sigma(\Delta) - 1" not in markdown(name)


@pytest.mark.book
def test_chapter_1_explains_square_root_growth_of_the_naive_sum(book_build):
    name = "chapters/01_floating_point"
    assert 0.35 < glued_number(name, "ch01-slope-random") < 0.7
    assert 0.8 < glued_number(name, "ch01-slope-equal") < 1.2
    assert glued_number(name, "ch01-gap-last") > 100 * glued_number(name, "ch01-gap-first")
    assert "parallel to the $n u$ line" not in markdown(name)


@pytest.mark.book
def test_chapter_2_float32_and_bfloat16_differ_in_underflow(book_build):
    name = "chapters/02_overflow_underflow"
    f32_max, bf16_max = (
        glued_number(name, "ch02-f32-ln-max"),
        glued_number(name, "ch02-bf16-ln-max"),
    )
    assert bf16_max == pytest.approx(f32_max, abs=0.005)  # both print as 88.72
    assert glued_number(name, "ch02-bf16-ln-sub") > glued_number(name, "ch02-f32-ln-sub") + 10
    assert "share one row" not in markdown(name)
    # half the smallest subnormal and more rounds up: nonzero one halving past 2^-m
    assert glued_number(name, "ch02-f16-lowest-nonzero") == pytest.approx(-11, abs=0.01)


def test_cheat_sheet_states_the_loss_of_log_zero_as_plus_infinity():
    text = markdown("cheat_sheet")
    assert "`-inf` loss" not in text
    assert "`chapter 8 <ch08-lab>` with an optional lab" in text


# ----------------------------------------------------------------- the softmax playground


@pytest.mark.book
def test_softmax_playground_runs_offline_in_the_page(book_build, browser):
    page_path = BUILD / "html" / "chapters" / "04_softmax_cross_entropy.html"
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(page_path.as_uri())
        scripts = [url for url in requested if "softmax_playground" in url]
        assert scripts and all(url.startswith("file:") for url in scripts), scripts
        requested.clear()  # from here on the widget must not request anything at all
        widget = page.locator(".softmax-playground")
        assert widget.count() == 1
        field = widget.locator("input")
        field.fill("1000, 1000")
        naive = widget.locator("td.softmax-naive").all_inner_texts()
        stable = widget.locator("td.softmax-stable").all_inner_texts()
        assert naive == ["NaN", "NaN"] and stable == ["0.5", "0.5"]
        field.fill("88, 89")  # exp(89) overflows float32, exp(88) does not
        assert widget.locator("td.softmax-naive").all_inner_texts() == ["0", "NaN"]
        field.fill("1, two")
        assert "not a number" in widget.locator(".softmax-playground-message").inner_text()
    finally:
        page.close()
    assert not requested, f"the widget requested {requested[:3]}"
