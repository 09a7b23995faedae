"""``python -m autograder``: see :mod:`autograder.grader.cli`."""

from autograder.grader.cli import main

raise SystemExit(main())
