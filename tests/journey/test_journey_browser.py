"""The student's and the instructor's journey in a real JupyterLab, driven by headless Chromium.

Each test starts JupyterLab (with nbgrader's extensions, as installed) on a free port in a
temporary folder, with its own home directory, and stops it and every process it started at
the end. Students: open a released notebook, run all cells, press nbgrader's *Validate* button
and read the dialog — a notebook whose ``logsumexp`` overflows fails and says why; a notebook
completed through the editor passes. Instructor: the Formgrader of a graded course shows a
submission's autograded score. Every step is screenshotted; a failure names the folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from journey_notebooks import OVERFLOWING_LOGSUMEXP, completed

from autograder.course.operations import copy_course, generate, tools_environment
from autograder.grader.assignment import load_spec

pytestmark = pytest.mark.nbgrader

ASSIGNMENT = "ex03_logsumexp"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
STARTUP_SECONDS = 180
VALIDATE_MS = 300_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path, log: Path) -> Iterator[str]:
    """A JupyterLab serving ``root`` (started there, so it reads an nbgrader_config.py there);
    yields the URL of ``/lab`` with its token. On exit it shuts the server down and makes sure
    that no process it started (kernels included) is left."""
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root"]
    command += [f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"]
    command += ["--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    command += [f"--ServerApp.root_dir={root}"]
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)  # no "get notified about Jupyter news?" toast
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    environment = dict(
        tools_environment(), HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter")
    )
    with open(log, "w", encoding="utf-8") as output:
        server = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    status = f"http://127.0.0.1:{port}/api/status?token={token}"
    started = psutil.Process(server.pid)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(status, timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; its log: {log}") from None
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/lab", token
    finally:
        family = {started, *started.children(recursive=True)} if server.poll() is None else set()
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        _, alive = psutil.wait_procs([p for p in family if p.pid != server.pid], timeout=30)
        for process in alive:
            process.kill()
        assert not alive, f"JupyterLab left processes behind: {alive}"


class Steps:
    """Screenshots of each step of a browser session, in ``folder``."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png")

    @contextlib.contextmanager
    def recorded(self) -> Iterator[Steps]:
        """Re-raise a failure with the screenshots' folder (after a last screenshot)."""
        try:
            yield self
        except Exception as error:
            with contextlib.suppress(Exception):
                self.shot("failure")
            raise AssertionError(f"{error}\nscreenshots of each step: {self.folder}") from error


def open_notebook(page, url: str, token: str, steps: Steps) -> None:
    page.goto(f"{url}/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    steps.shot("opened")


def run_all_cells(page, steps: Steps, last_output: str) -> None:
    """Run > Run All Cells, then wait until ``last_output`` appears and the kernel is idle."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.get_by_text(last_output).first.wait_for(timeout=VALIDATE_MS)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    steps.shot("ran-all-cells")


def validate(page, steps: Steps) -> str:
    """Press Validate (which saves the notebook first; saving it here as well races with that
    save), wait for the result; the dialog's text, whitespace joined."""
    page.locator("[title='Validate Assignment']").first.click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=VALIDATE_MS)
    steps.shot("validated")
    scroll_to_end = (
        "root => root.querySelectorAll('*').forEach(e => { e.scrollTop = e.scrollHeight })"
    )
    dialog.evaluate(scroll_to_end)  # the reasons come after each failing cell's source
    steps.shot("validated-scrolled")
    text = " ".join(dialog.inner_text().split())
    dialog.get_by_role("button", name="Ok").click()
    return text


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = copy_course(tmp_path_factory.mktemp("browser") / "course")
    generate(root, (ASSIGNMENT,))
    return root


def student_folder(tmp_path: Path, notebook: nbformat.NotebookNode) -> Path:
    folder = tmp_path / "student"
    folder.mkdir()
    nbformat.write(notebook, folder / NOTEBOOK)
    return folder


def test_validate_button_fails_an_overflowing_logsumexp(browser, course, tmp_path):
    notebook = completed(course, ASSIGNMENT, logsumexp=OVERFLOWING_LOGSUMEXP)
    folder = student_folder(tmp_path, notebook)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    steps = Steps(page, tmp_path / "screenshots")
    with jupyterlab(folder, tmp_path / "home", tmp_path / "lab.log") as (url, token):
        with steps.recorded():
            open_notebook(page, url, token, steps)
            run_all_cells(page, steps, "multiple-choice answers: each is one of its letters")
            assert page.get_by_text("logaddexp: visible tests passed").count() == 1
            text = validate(page, steps)
            assert "The following cell failed" in text
            assert "Visible tests for logsumexp" in text
            assert "logsumexp([1000, 1001, 999]) returned inf: subtract the maximum first" in text
            assert "Re-read: Chapter 3, The log-sum-exp trick § The shift identity." in text
            assert "Success" not in text
    page.close()


def test_answer_typed_in_the_editor_then_validate_passes(browser, course, tmp_path):
    released = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    (stub,) = [c.source for c in released.cells if c.metadata.nbgrader.get("grade_id") == "q1"]
    folder = student_folder(tmp_path, completed(course, ASSIGNMENT, q1=stub))
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    steps = Steps(page, tmp_path / "screenshots")
    with jupyterlab(folder, tmp_path / "home", tmp_path / "lab.log") as (url, token):
        with steps.recorded():
            open_notebook(page, url, token, steps)
            editor = page.locator(".jp-CodeCell", has_text="Set answer_q1").locator(".cm-content")
            editor.scroll_into_view_if_needed()
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text('answer_q1 = "c"')
            steps.shot("answered-q1")
            run_all_cells(page, steps, "multiple-choice answers: each is one of its letters")
            text = validate(page, steps)
            assert "Success! Your notebook passes all the tests." in text, text
    page.close()
    saved = nbformat.read(folder / NOTEBOOK, as_version=4)
    (answer,) = [c.source for c in saved.cells if c.metadata.nbgrader.get("grade_id") == "q1"]
    assert answer == 'answer_q1 = "c"'


@pytest.fixture(scope="module")
def graded_course(course, tmp_path_factory) -> Path:
    """The course with alice's complete notebook graded by ``python -m autograder grade``."""
    submitted = course / "submitted" / "alice" / ASSIGNMENT
    submitted.mkdir(parents=True)
    nbformat.write(completed(course, ASSIGNMENT), submitted / NOTEBOOK)
    out = tmp_path_factory.mktemp("grades")
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(course / "submitted")]
    command += ["--course-root", str(course), "--out", str(out), "--no-progress"]
    subprocess.run(command, check=True, capture_output=True, timeout=1200)
    return course


def test_formgrader_shows_the_autograded_score(browser, graded_course, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    steps = Steps(page, tmp_path / "screenshots")
    with jupyterlab(graded_course, tmp_path / "home", tmp_path / "lab.log") as (url, token):
        with steps.recorded():
            page.goto(f"{url}?token={token}")
            page.locator(".lm-MenuBar-item", has_text="Nbgrader").first.click()
            page.locator(".lm-Menu-item", has_text="Formgrader").first.click()
            frame = page.frame_locator("iframe").first
            frame.get_by_text(ASSIGNMENT).first.wait_for(timeout=120_000)
            steps.shot("formgrader")
            frame.get_by_role("link", name="Manual Grading").first.click()
            frame.get_by_role("link", name=ASSIGNMENT).first.click()
            frame.get_by_role("link", name=ASSIGNMENT).first.click()
            frame.get_by_role("button", name="Show All Names").click()
            row = frame.locator("tr", has_text="alice").first
            row.wait_for(timeout=60_000)
            steps.shot("submissions")
            # full marks for the code; the written answer awaits hand grading
            spec = load_spec(graded_course, ASSIGNMENT)
            code, written = spec.max_score, sum(cell.points for cell in spec.manual_cells)
            expected = f"{code:g} / {code + written:g} {code:g} / {code:g} 0 / {written:g}"
            assert expected in " ".join(row.inner_text().split())
    page.close()
