"""Fixtures shared across the suite: the one strict book build and a headless Chromium.

The book is built once per test session (``jupyter-book build . -W --keep-going`` in the
repository, exactly as the README says), reusing the execution cache in
``_build/.jupyter_cache``. Browser tests drive Debian's ``chromium`` (launched by path, offline)
through Playwright for Python; they are skipped with a clear reason where Chromium is missing.

Property tests (Hypothesis) draw the same examples on every run (profile ``repeatable``), so a
run passes or fails because of the code, never because of the draw; ``HYPOTHESIS_PROFILE=explore``
draws fresh examples each run to hunt for new counterexamples.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPOSITORY = Path(__file__).resolve().parent.parent
BUILD = REPOSITORY / "_build"

# The flags that keep a headless Chromium quiet on a machine without a network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The Chromium executable: ``$CHROMIUM`` if set, else Debian's ``chromium`` on PATH."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return os.environ.get("CHROMIUM") or found


@pytest.fixture(scope="session")
def book_build() -> subprocess.CompletedProcess:
    """The README's ``jupyter-book build . -W --keep-going``, run once with this interpreter."""
    cli = "from jupyter_book.cli.main import main; main()"
    command = [sys.executable, "-c", cli, "build", ".", "-W", "--keep-going"]
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Playwright), shared by the session's browser tests."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
