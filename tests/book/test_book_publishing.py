"""Publishing and launching the book: the address, the Pages workflow, a deploy, Binder.

What cannot run here (GitHub Actions, GitHub Pages, mybinder.org) is checked as far as it can be:
the workflow parses and uses real actions with inputs they accept; ``ghp-import`` writes the built
book to a ``gh-pages`` branch of a temporary clone without pushing; Binder's requirements install
exactly what the chapters import, and the chapters import nothing from this repository.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPOSITORY / "_config.yml").read_text())
WORKFLOW = REPOSITORY / ".github" / "workflows" / "book.yml"
BINDER = REPOSITORY / "binder"


def toc_notebooks() -> list[str]:
    toc = yaml.safe_load((REPOSITORY / "_toc.yml").read_text())
    names = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [name for name in names if (REPOSITORY / f"{name}.ipynb").exists()]


NOTEBOOKS = toc_notebooks()


def load_address_checker():
    spec = importlib.util.spec_from_file_location(
        "book_address", REPOSITORY / ".github" / "book_address.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book_address = load_address_checker()


# ----------------------------------------------------------------------------------------------
# The book's address


def test_the_configured_address_is_consistent():
    assert book_address.problems(CONFIG) == []
    assert CONFIG["html"]["baseurl"] == book_address.pages_url(
        CONFIG["repository"]["url"].removeprefix("https://github.com/")
    )


def test_a_fork_that_kept_the_address_is_told_what_to_change():
    found = book_address.problems(CONFIG, "someone/fork")
    assert any(
        "set repository.url to https://github.com/someone/fork" in problem
        and "html.baseurl to https://someone.github.io/fork/" in problem
        for problem in found
    ), found


@pytest.mark.parametrize(
    ("url", "baseurl", "expected"),
    [
        ("https://github.com/Org/book", "https://org.github.io/book/", []),
        ("https://github.com/org/org.github.io", "https://org.github.io/", []),
        ("https://github.com/org/book", "https://book.example.edu/", []),  # a custom domain
        ("https://github.com/org/book", "https://org.github.io/other/", ["GitHub Pages publishes"]),
        ("https://github.com/org/book", "https://org.github.io/book", ["ending in /"]),
        (
            "https://gitlab.com/org/book",
            "https://org.github.io/book/",
            ["https://github.com/OWNER"],
        ),
    ],
)
def test_address_problems(url, baseurl, expected):
    config = {"repository": {"url": url, "branch": "main"}, "html": {"baseurl": baseurl}}
    found = book_address.problems(config)
    assert len(found) == len(expected), found
    for problem, words in zip(found, expected, strict=True):
        assert words in problem


def test_address_checker_command_exits_non_zero_with_a_message():
    command = [sys.executable, ".github/book_address.py", "--repository", "someone/fork"]
    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "_config.yml: repository.url names" in result.stderr


# ----------------------------------------------------------------------------------------------
# The GitHub Pages workflow

# The actions the workflow may use, at the major version it pins, with the inputs each accepts
# (read from each action's action.yml at that tag: actions/checkout v7.0.1, setup-python v7.0.0,
# cache v5.0.5, upload-pages-artifact v5.0.0, deploy-pages v5.0.0) and those it requires.
ACTIONS = {
    "actions/checkout@v7": (
        {"repository", "ref", "token", "ssh-key", "persist-credentials", "path", "clean",
         "filter", "sparse-checkout", "fetch-depth", "fetch-tags", "lfs", "submodules"},
        set(),
    ),
    "actions/setup-python@v7": (
        {"python-version", "python-version-file", "cache", "cache-dependency-path",
         "architecture", "check-latest", "update-environment", "allow-prereleases"},
        set(),
    ),
    "actions/cache@v5": (
        {"path", "key", "restore-keys", "upload-chunk-size", "enableCrossOsArchive",
         "fail-on-cache-miss", "lookup-only"},
        {"path", "key"},
    ),
    "actions/upload-pages-artifact@v5": (
        {"name", "path", "retention-days", "include-hidden-files"},
        {"path"},
    ),
    "actions/deploy-pages@v5": (
        {"token", "timeout", "error_count", "reporting_interval", "artifact_name", "preview"},
        set(),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_workflow_triggers_and_permissions(workflow):
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == [CONFIG["repository"]["branch"]]
    assert "pull_request" in triggers and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_workflow_steps_use_real_actions_with_accepted_inputs(workflow):
    for name, job in workflow["jobs"].items():
        assert job["runs-on"].startswith("ubuntu-"), name
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(workflow["jobs"]), name
        for step in job["steps"]:
            assert step.get("name"), f"{name}: a step without a name: {step}"
            assert ("uses" in step) != ("run" in step), f"{name}: {step['name']}"
            if "uses" in step:
                assert step["uses"] in ACTIONS, f"unknown action {step['uses']}"
                accepted, required = ACTIONS[step["uses"]]
                given = set(step.get("with", {}))
                assert given <= accepted, f"{step['uses']} has no input {given - accepted}"
                assert required <= given, f"{step['uses']} needs {required - given}"


def test_workflow_builds_strictly_with_the_cache_restored_first(workflow):
    build = steps(workflow, "build")
    runs = [step.get("run", "") for step in build]
    uses = [step.get("uses", "") for step in build]
    built = runs.index("jupyter-book build . -W --keep-going")  # the README's command
    cached = uses.index("actions/cache@v5")
    assert cached < built
    assert build[cached]["with"]["path"] == "_build/.jupyter_cache"
    assert "hashFiles('chapters/*.ipynb'" in build[cached]["with"]["key"]
    installed = next(i for i, run in enumerate(runs) if "-r requirements.txt" in run)
    assert installed < built and "whl/cpu" in runs[installed]
    checked = next(i for i, run in enumerate(runs) if ".github/book_address.py" in run)
    assert installed < checked < built  # the checker needs PyYAML
    uploaded = uses.index("actions/upload-pages-artifact@v5")
    assert built < uploaded and build[uploaded]["with"]["path"] == "_build/html"


def test_workflow_deploys_the_uploaded_book(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [step["uses"] for step in deploy["steps"]] == ["actions/deploy-pages@v5"]
    assert "pull_request" in deploy["if"]


# ----------------------------------------------------------------------------------------------
# A manual deploy, dry run


@pytest.mark.book
def test_ghp_import_writes_the_book_to_a_local_gh_pages_branch(book_build, tmp_path):
    """The README's ``ghp-import -n -p -f _build/html`` without ``-p``: nothing is pushed."""
    assert book_build.returncode == 0
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"

    def git(*args, cwd=clone):
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
        return done.stdout

    git("clone", "-q", "--bare", "--depth", "1", f"file://{REPOSITORY}", str(origin), cwd=tmp_path)
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    git("config", "user.email", "book@example.invalid")
    git("config", "user.name", "Book test")
    html = REPOSITORY / "_build" / "html"
    command = [sys.executable, "-m", "ghp_import", "-n", "-f", "-m", "Publish the book", str(html)]
    subprocess.run(command, cwd=clone, capture_output=True, text=True, check=True)

    published = set(git("ls-tree", "-r", "--name-only", "gh-pages").split())
    built = {path.relative_to(html).as_posix() for path in html.rglob("*") if path.is_file()}
    assert published == built | {".nojekyll"}
    assert "_static/mathjax/tex-chtml-full.js" in published
    assert git("ls-remote", "--heads", str(origin), "gh-pages") == ""  # not pushed


# ----------------------------------------------------------------------------------------------
# Launching: Binder's requirements and what the chapters import

# Modules the Jupyter environment itself provides (Binder's, Colab's, a local JupyterLab's).
JUPYTER_PROVIDES = {"IPython", "ipykernel", "matplotlib_inline"}


def imported_modules(notebook: str) -> set[str]:
    """The top-level modules a notebook's code cells import (magics and shell lines skipped)."""
    found = set()
    for cell in nbformat.read(REPOSITORY / f"{notebook}.ipynb", as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def course_packages() -> set[str]:
    """This repository's own importable packages (``autograder``, ``solutions``, ...)."""
    return {path.parent.name for path in REPOSITORY.glob("*/__init__.py")}


def pins(requirements: Path) -> dict[str, str]:
    """``name: version`` for each ``name==version`` line (names normalised, extras dropped)."""
    found = {}
    for line in requirements.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?==(\S+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[3]
    return found


def distributions(modules: set[str]) -> dict[str, set[str]]:
    """The installed distribution behind each third-party module (stdlib and Jupyter left out)."""
    installed = packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - JUPYTER_PROVIDES
    return {
        re.sub(r"[-_.]+", "-", installed[module][0]).lower(): {module} for module in third_party
    }


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_chapter_imports_nothing_from_the_repository(notebook):
    own = imported_modules(notebook) & course_packages()
    assert not own, f"{notebook} imports {sorted(own)}: Binder and Colab do not install them"


def test_binder_installs_exactly_what_the_chapters_import():
    imported = set().union(*(imported_modules(notebook) for notebook in NOTEBOOKS))
    needed = distributions(imported)
    binder = pins(BINDER / "requirements.txt")
    missing = sorted(set(needed) - set(binder))
    extra = sorted(set(binder) - set(needed))
    assert not missing, f"chapters import {missing}; add them, pinned, to binder/requirements.txt"
    assert not extra, f"no chapter imports {extra}; remove them from binder/requirements.txt"
    course = pins(REPOSITORY / "requirements.txt")
    assert {name: course[name] for name in binder} == binder, "pins differ from requirements.txt"


def test_binder_uses_python_311_and_the_cpu_build_of_torch():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert not (BINDER / "environment.yml").exists() and not (BINDER / "setup.py").exists()


# ----------------------------------------------------------------------------------------------
# The book's own Sphinx extension


def book_extension(name: str):
    """A module of the book's ``_ext/`` folder (Jupyter Book's ``local_extensions``)."""
    spec = importlib.util.spec_from_file_location(name, REPOSITORY / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_repeated_inline_scripts_are_dropped_once_each():
    from sphinx.builders.html._assets import _JavaScript

    unique_scripts = book_extension("book_assets").unique_scripts
    thebe = 'const THEBE_JS_URL = "x"'
    scripts = [
        _JavaScript("_static/doctools.js", priority=200),
        _JavaScript(None, body=thebe),  # as sphinx-thebe registers it
        _JavaScript("_static/sphinx-thebe.js", **{"async": "async"}),
        _JavaScript("", body=thebe),  # the builder's second copy
        _JavaScript("", body="let other = 1;"),
        _JavaScript("", body=thebe, priority=800),  # another priority: a different script
    ]
    kept = unique_scripts(scripts)
    assert [script.attributes.get("body") for script in kept] == [
        None, thebe, None, "let other = 1;", thebe
    ]  # fmt: skip
    assert kept[1] is scripts[1]


def test_a_notebook_read_from_the_cache_is_written_with_its_outputs(tmp_path):
    """What myst-nb 1.4.0 gets wrong on a cache hit: the written copy must have the outputs."""
    from types import SimpleNamespace

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    extension = book_extension("executed_notebooks")
    source = tmp_path / "book" / "chapters" / "01_x.ipynb"
    source.parent.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, source)
    executed = nbformat.reads(nbformat.writes(notebook), as_version=4)
    executed.cells[0].execution_count = 1
    executed.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    cache = tmp_path / ".jupyter_cache"
    get_cache(str(cache)).cache_notebook_bundle(
        CacheBundleIn(executed, str(source)), check_validity=False
    )
    output = tmp_path / "jupyter_execute"
    written = extension.executed_copy(str(output), "chapters/01_x")
    assert written == output / "chapters" / "01_x.ipynb"
    written.parent.mkdir(parents=True)
    nbformat.write(notebook, written)  # what myst-nb leaves

    def read(docname: str, mode: str = "cache") -> None:
        config = SimpleNamespace(
            execution_mode=mode, execution_cache_path=str(cache), output_folder=str(output)
        )
        env = SimpleNamespace(
            mystnb_config=config,
            docname=docname,
            doc2path=lambda name: tmp_path / "book" / f"{name}.ipynb",
        )
        extension.write_cached_outputs(SimpleNamespace(env=env), None)

    read("chapters/01_x", mode="off")  # no cache in use: myst-nb's copy stands
    assert nbformat.read(written, as_version=4).cells[0].outputs == []
    read("chapters/01_x")
    cell = nbformat.read(written, as_version=4).cells[0]
    assert cell.execution_count == 1 and cell.outputs[0].text == "2\n"
