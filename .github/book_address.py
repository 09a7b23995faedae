"""Check that the book's address in ``_config.yml`` is the repository it is published from.

The repository URL, branch and published base URL are set once, in ``_config.yml``
(``repository.url``, ``repository.branch``, ``html.baseurl``); the launch, repository and issues
buttons are derived from them. A fork that forgets to change them publishes a book whose buttons
open the original repository. The publishing workflow runs this first::

    python .github/book_address.py --repository OWNER/REPO

and stops with a message naming the keys to change. Without ``--repository`` it prints the
address and checks only that the three values agree with each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

CONFIG = Path(__file__).resolve().parent.parent / "_config.yml"


def pages_url(slug: str) -> str:
    """GitHub Pages' address for ``OWNER/REPO``: ``https://owner.github.io/REPO/`` (a repository
    named ``OWNER.github.io`` is published at the root, ``https://owner.github.io/``)."""
    owner, name = slug.split("/")
    host = f"{owner.lower()}.github.io"
    return f"https://{host}/" if name.lower() == host else f"https://{host}/{name}/"


def problems(config: dict, slug: str | None = None) -> list[str]:
    """What is wrong with the book's address in ``config`` (empty: nothing).

    ``slug`` (``OWNER/REPO``) is the repository the book is published from; without it, only the
    agreement of the three values is checked. A ``html.baseurl`` outside ``github.io`` (a custom
    domain) is accepted as it is, as long as it is an https URL ending in ``/``.
    """
    repository = config.get("repository") or {}
    url = str(repository.get("url", "")).rstrip("/").removesuffix(".git")
    baseurl = str((config.get("html") or {}).get("baseurl", ""))
    found = []
    parts = urlsplit(url)
    configured = "/".join(parts.path.strip("/").split("/")[:2])
    if parts.scheme != "https" or parts.netloc != "github.com" or configured.count("/") != 1:
        found.append(f"repository.url is {url!r}: set it to https://github.com/OWNER/REPO")
        return found
    if not repository.get("branch"):
        found.append("repository.branch is not set: set it to the branch the book is built from")
    if slug is not None and configured.lower() != slug.lower():
        found.append(
            f"repository.url names {configured}, but the book is published from {slug}: "
            f"set repository.url to https://github.com/{slug} and html.baseurl to {pages_url(slug)}"
        )
    expected = pages_url(slug or configured)
    on_pages = urlsplit(baseurl).netloc.endswith(".github.io")
    if not baseurl.startswith("https://") or not baseurl.endswith("/"):
        found.append(f"html.baseurl is {baseurl!r}: set it to {expected} (https, ending in /)")
    elif on_pages and baseurl.lower() != expected.lower():
        found.append(f"html.baseurl is {baseurl}, but GitHub Pages publishes it at {expected}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", metavar="OWNER/REPO", help="where the book is published")
    parser.add_argument("--config", type=Path, default=CONFIG, help="default: the book's")
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    found = problems(config, args.repository)
    for problem in found:
        print(f"{args.config.name}: {problem}", file=sys.stderr)
    if not found:
        repository = config["repository"]
        print(
            f"repository {repository['url']} (branch {repository['branch']}), "
            f"published at {config['html']['baseurl']}"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
