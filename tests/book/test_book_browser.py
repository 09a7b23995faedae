"""The built book in a real browser with the network cut off.

Every page of ``_build/html`` (from the session's one strict build, the ``book_build`` fixture) is
served from a local HTTP server on a free port and opened in headless Chromium (the ``browser``
fixture). Every request that does not go to that server is blocked and reported as a failure, so
the tests show what a reader without a network sees: the book must load no remote asset at all.

Each page is visited once (lazily, then cached for the module) and the tests assert on what the
visit recorded: console errors, failed or blocked requests, formulas typeset by MathJax, images,
links and anchors, download links, the launch and repository buttons. When a page's test fails, a
full-page screenshot of it is written to ``_build/test-artefacts/browser/`` and named in the
failure message.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from autograder.checks import ASSIGNMENTS

REPOSITORY = Path(__file__).resolve().parents[2]
HTML = REPOSITORY / "_build" / "html"
ARTEFACTS = REPOSITORY / "_build" / "test-artefacts" / "browser"
CONFIG = yaml.safe_load((REPOSITORY / "_config.yml").read_text())

# Generous: the course machine has two cores shared with other jobs.
TIMEOUT_MS = 90_000


def toc_documents() -> list[str]:
    """The book's documents in table-of-contents order (``intro``, ``chapters/01_...``, ...)."""
    toc = yaml.safe_load((REPOSITORY / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


DOCUMENTS = toc_documents()
NOTEBOOKS = [name for name in DOCUMENTS if (REPOSITORY / f"{name}.ipynb").exists()]
PAGES = [f"{name}.html" for name in DOCUMENTS] + ["genindex.html", "search.html"]

# Text that only appears when MathJax did not typeset a formula (code blocks are not searched).
RAW_TEX = ("\\(", "\\)", "\\[", "\\]", "$$", "\\begin{")

# Waits until MathJax (on pages that load it) has typeset everything and the fonts are in.
SETTLE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    await document.fonts.ready;
}"""

# What a visit records from the rendered page.
COLLECT = """() => {
    const skip = "pre, code, script, style, textarea, mjx-container";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
        acceptNode: (node) => node.parentElement.closest(skip)
            ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    const text = [];
    while (walker.nextNode()) text.push(walker.currentNode.data);
    const math = Array.from(document.querySelectorAll(".math"));
    const containers = Array.from(document.querySelectorAll("mjx-container"));
    const short = (element) => element.textContent.trim().slice(0, 100);
    return {
        text: text.join(""),
        formulas: math.length,
        containers: containers.length,
        untypeset: math.filter((m) => !m.querySelector("mjx-container")).map(short),
        tex_errors: Array.from(document.querySelectorAll("mjx-merror")).map(
            (e) => e.getAttribute("data-mjx-error") || short(e)),
        raw_macros: containers.filter((c) => c.textContent.includes("\\\\")).map(short),
        images: document.images.length,
        broken_images: Array.from(document.images)
            .filter((i) => !(i.complete && i.naturalWidth > 0))
            .map((i) => i.getAttribute("src")),
        links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
        canonical: document.querySelector("link[rel=canonical]")?.href ?? null,
        launch: Array.from(document.querySelectorAll(".dropdown-launch-buttons a")).map(
            (a) => a.href),
        repository: Array.from(document.querySelectorAll(
            "a.btn-source-repository-button")).map((a) => a.href),
        issues: Array.from(document.querySelectorAll("a.btn-source-issues-button")).map(
            (a) => a.href),
        download: Array.from(document.querySelectorAll("a.btn-download-source-button")).map(
            (a) => a.href),
    };
}"""


# ----------------------------------------------------------------------------------------------
# The book's configured address (_config.yml), from which the buttons must be derived


@dataclass(frozen=True)
class Address:
    """The repository, branch and published base URL set in ``_config.yml``."""

    repository: str  # https://github.com/OWNER/REPO
    branch: str
    path_to_book: str
    baseurl: str  # https://OWNER.github.io/REPO/

    @classmethod
    def from_config(cls, config: dict) -> Address:
        repository = config["repository"]
        path = repository.get("path_to_book", "").strip("/")
        return cls(
            repository=repository["url"].rstrip("/").removesuffix(".git"),
            branch=repository.get("branch", "main"),
            path_to_book=f"{path}/" if path else "",
            baseurl=config["html"]["baseurl"],
        )

    @property
    def slug(self) -> str:
        """``OWNER/REPO``."""
        return "/".join(urlsplit(self.repository).path.strip("/").split("/")[:2])

    def binder(self, notebook: str) -> str:
        binderhub = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
        lab = CONFIG["launch_buttons"]["notebook_interface"] == "jupyterlab"
        where = f"{'lab/tree' if lab else 'tree'}/{self.path_to_book}{notebook}"
        return f"{binderhub}/v2/gh/{self.slug}/{self.branch}?urlpath={where}"

    def colab(self, notebook: str) -> str:
        colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
        return f"{colab}/github/{self.slug}/blob/{self.branch}/{self.path_to_book}{notebook}"


ADDRESS = Address.from_config(CONFIG)


# ----------------------------------------------------------------------------------------------
# Serving the book and visiting its pages offline


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``_build/html`` without logging every request to stderr."""

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@pytest.fixture(scope="module")
def site(book_build):
    """The base URL of ``_build/html`` served on a free local port."""
    if book_build.returncode != 0:
        pytest.fail("the strict book build failed (see test_book.py::test_strict_build_passes)")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shutil.rmtree(ARTEFACTS, ignore_errors=True)  # screenshots describe this run only
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class Visit:
    """What one page showed: the rendered facts, plus every problem the browser reported."""

    page: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def offline_page(context, origin: str, visit: Visit):
    """A new page that may load only from ``origin``; every problem it meets goes to ``visit``."""

    def only_local(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            visit.blocked_requests.append(route.request.url)
            route.abort("blockedbyclient")

    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.route("**/*", only_local)
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda r: visit.failed_requests.append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: r.status >= 400 and visit.failed_requests.append(f"{r.url} (HTTP {r.status})"),
    )
    return page


def open_offline(context, url: str, visit: Visit):
    """``url`` opened in an offline page (see ``offline_page``), its formulas typeset."""
    page = offline_page(context, "{0.scheme}://{0.netloc}/".format(urlsplit(url)), visit)
    page.goto(url, wait_until="load")
    page.evaluate(SETTLE)
    return page


class Book:
    """Visits pages of the served book on demand, once each, in one browser context."""

    def __init__(self, browser, site: str):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.visits: dict[str, Visit] = {}

    def visit(self, page_name: str) -> Visit:
        if page_name not in self.visits:
            visit = Visit(page_name)
            page = open_offline(self.context, self.site + page_name, visit)
            visit.facts = page.evaluate(COLLECT)
            page.close()
            self.visits[page_name] = visit
        return self.visits[page_name]

    def screenshot(self, page_name: str) -> Path:
        """A full-page PNG of ``page_name`` (query strings allowed) in the artefacts folder."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / (page_name.replace("/", "__").replace("?", "_") + ".png")
        page = open_offline(self.context, self.site + page_name, Visit(page_name))
        page.screenshot(path=str(path), full_page=True)
        page.close()
        return path


@pytest.fixture(scope="module")
def book(browser, site):
    opened = Book(browser, site)
    yield opened
    opened.context.close()


@contextmanager
def screenshot_on_failure(book: Book, page_name: str):
    """Re-raise a failed assertion about ``page_name`` naming a screenshot of the page."""
    try:
        yield
    except AssertionError as error:
        try:
            shown = f"screenshot: {book.screenshot(page_name)}"
        except Exception as problem:  # the screenshot must not hide the real failure
            shown = f"no screenshot ({problem})"
        raise AssertionError(f"{page_name}: {error}\n({shown})") from None


def local_target(site: str, url: str) -> tuple[Path, str] | None:
    """The file under ``_build/html`` and the fragment a local link points at (None: remote)."""
    if not url.startswith(site):
        return None
    parts = urlsplit(url)
    relative = unquote(parts.path)[len(urlsplit(site).path) :]
    target = HTML / relative
    if relative == "" or relative.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@functools.cache
def anchors(page: Path) -> frozenset[str]:
    """The ids (and ``<a name>``) defined in a built HTML file."""
    parser = _Ids()
    parser.feed(page.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


# ----------------------------------------------------------------------------------------------
# Every page


@pytest.mark.book
@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_offline_without_errors(book, page_name):
    visit = book.visit(page_name)
    with screenshot_on_failure(book, page_name):
        assert not visit.blocked_requests, f"requests leave the machine: {visit.blocked_requests}"
        assert not visit.failed_requests, f"failed requests: {visit.failed_requests}"
        assert not visit.console_errors, f"console errors: {visit.console_errors}"


@pytest.mark.book
@pytest.mark.parametrize("page_name", PAGES)
def test_every_formula_is_typeset(book, page_name):
    facts = book.visit(page_name).facts
    with screenshot_on_failure(book, page_name):
        raw = [token for token in RAW_TEX if token in facts["text"]]
        if raw:
            at = facts["text"].index(raw[0])
            context = facts["text"][max(0, at - 60) : at + 60]
            pytest.fail(f"raw TeX {raw} left in the rendered text, e.g. ...{context}...")
        assert not facts["untypeset"], f"formulas MathJax did not typeset: {facts['untypeset']}"
        assert not facts["tex_errors"], f"TeX errors: {facts['tex_errors']}"
        assert not facts["raw_macros"], f"undefined macros shown raw: {facts['raw_macros']}"
        if facts["formulas"]:
            assert facts["containers"] >= facts["formulas"], "MathJax output is missing"


@pytest.mark.book
@pytest.mark.parametrize("page_name", PAGES)
def test_every_image_loads(book, page_name):
    facts = book.visit(page_name).facts
    with screenshot_on_failure(book, page_name):
        assert not facts["broken_images"], f"images that did not load: {facts['broken_images']}"


@pytest.mark.book
@pytest.mark.parametrize("page_name", PAGES)
def test_every_internal_link_and_anchor_resolves(book, page_name):
    visit = book.visit(page_name)
    broken = []
    for url in sorted(set(visit.facts["links"])):
        target = local_target(book.site, url)
        if target is None:
            continue
        path, fragment = target
        if not path.is_file():
            broken.append(f"{url} (no file {path.relative_to(HTML)})")
        elif fragment and path.suffix == ".html" and fragment not in anchors(path):
            broken.append(f"{url} (no id {fragment!r} in {path.relative_to(HTML)})")
    with screenshot_on_failure(book, page_name):
        assert not broken, f"broken internal links: {broken}"


@pytest.mark.book
@pytest.mark.parametrize("page_name", PAGES)
def test_page_declares_the_published_address(book, page_name):
    canonical = book.visit(page_name).facts["canonical"]
    assert canonical == ADDRESS.baseurl + page_name


@pytest.mark.book
def test_index_redirects_to_the_first_page(book):
    visit = Visit("index.html")
    page = offline_page(book.context, book.site, visit)
    page.goto(book.site + "index.html")
    page.wait_for_url(f"**/{DOCUMENTS[0]}.html")
    page.close()
    assert not (visit.blocked_requests or visit.failed_requests or visit.console_errors), visit


# ----------------------------------------------------------------------------------------------
# Downloads, search, buttons


@pytest.mark.book
def test_every_assignment_notebook_downloads(book):
    links = [url for url in book.visit("exercises.html").facts["links"] if url.endswith(".ipynb")]
    by_name = {url.rsplit("/", 1)[-1]: url for url in links}
    with screenshot_on_failure(book, "exercises.html"):
        missing = [a for a in ASSIGNMENTS if f"{a}.ipynb" not in by_name]
        assert not missing, f"no download link for {missing}"
        for assignment in ASSIGNMENTS:
            notebook = nbformat.reads(fetch(by_name[f"{assignment}.ipynb"]).decode(), as_version=4)
            graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
            assert graded, f"{assignment}.ipynb downloads, but has no graded cell"


@pytest.mark.book
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_page_offers_its_notebook_for_download(book, name):
    page_name = f"{name}.html"
    downloads = book.visit(page_name).facts["download"]
    with screenshot_on_failure(book, page_name):
        notebooks = [url for url in downloads if url.endswith(".ipynb")]
        assert len(notebooks) == 1, f"download buttons: {downloads}"
        downloaded = nbformat.reads(fetch(notebooks[0]).decode(), as_version=4)
        source = nbformat.read(REPOSITORY / f"{name}.ipynb", as_version=4)
        assert [c.source for c in downloaded.cells] == [c.source for c in source.cells]


@pytest.mark.book
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_buttons_point_at_the_configured_repository(book, name):
    page_name = f"{name}.html"
    facts = book.visit(page_name).facts
    notebook = f"{name}.ipynb"
    with screenshot_on_failure(book, page_name):
        assert (REPOSITORY / ADDRESS.path_to_book / notebook).is_file()
        assert sorted(facts["launch"]) == sorted(
            [ADDRESS.binder(notebook), ADDRESS.colab(notebook)]
        )
        assert facts["repository"] == [ADDRESS.repository]
        assert len(facts["issues"]) == 1
        assert facts["issues"][0].startswith(f"{ADDRESS.repository}/issues/new?")


# Every result of the search shown with its excerpt.
EXCERPTS_SHOWN = """() => {
    const results = document.querySelectorAll("#search-results ul.search li");
    return results.length > 0
        && results.length === document.querySelectorAll("#search-results li p.context").length;
}"""


@pytest.mark.book
def test_search_finds_a_chapter_and_typesets_the_excerpts(book):
    query = (
        "search.html?q=subnormal"  # chapter 1's subject; excerpts from chapters 3, 5, 7 hold TeX
    )
    visit = Visit(query)
    page = open_offline(book.context, book.site + query, visit)
    page.wait_for_function(EXCERPTS_SHOWN)
    page.evaluate(SETTLE)
    results = page.eval_on_selector_all(
        "#search-results ul.search li > a", "a => a.map(a => a.href)"
    )
    facts = page.evaluate(COLLECT)
    page.close()
    with screenshot_on_failure(book, query):
        assert any(url.endswith("chapters/01_floating_point.html") for url in results), results
        assert not (visit.blocked_requests or visit.failed_requests or visit.console_errors), visit
        raw = [token for token in RAW_TEX if token in facts["text"]]
        assert not raw, f"raw TeX {raw} in the search results"
        assert facts["containers"] > 0 and not facts["tex_errors"] and not facts["raw_macros"]


# ----------------------------------------------------------------------------------------------
# A downloaded copy, and the checks themselves


@pytest.mark.book
def test_downloaded_copy_renders_from_disk(browser, book_build):
    """Opened as file:// (a copy of ``_build/html`` on a laptop), mathematics and its fonts load."""
    assert book_build.returncode == 0
    chapter = HTML / f"{NOTEBOOKS[0]}.html"  # chapter 1, with the IEEE cases block
    context = browser.new_context()
    visit = Visit(chapter.name)
    page = open_offline(context, chapter.as_uri(), visit)
    facts = page.evaluate(COLLECT)
    fonts = page.evaluate(
        "() => Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family)"
    )
    context.close()
    assert not (visit.blocked_requests or visit.failed_requests or visit.console_errors), visit
    assert facts["formulas"] and not facts["untypeset"], facts["untypeset"]
    assert "MJXTEX" in fonts, f"MathJax's fonts did not load from disk: {fonts}"


def test_the_checks_catch_a_page_that_needs_the_network(browser, tmp_path):
    """What the suite reports for a page like the book's before MathJax was vendored."""
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        f'<html><head><script defer src="{cdn}"></script></head><body>'
        '<h2>Salary and age: <span class="math">\\(\\kappa\\)</span></h2>'
        '<img src="missing.png"></body></html>'
    )
    context = browser.new_context()
    visit = Visit(page_file.name)
    page = open_offline(context, page_file.as_uri(), visit)
    facts = page.evaluate(COLLECT)
    context.close()
    assert visit.blocked_requests == [cdn]
    failed = [url.split(" ")[0].rsplit("/", 1)[-1] for url in visit.failed_requests]
    assert sorted(failed) == ["missing.png", "tex-mml-chtml.js"]
    assert facts["untypeset"] == ["\\(\\kappa\\)"]
    assert [token for token in RAW_TEX if token in facts["text"]] == ["\\(", "\\)"]
    assert facts["broken_images"] == ["missing.png"]
