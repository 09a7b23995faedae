"""nbgrader configuration for the course root (run nbgrader commands from this folder)."""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# The folder holding this file, as an absolute path (a relative root makes nbgrader warn on every
# command), so the course works from a copy anywhere.
ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "numerical-stability"
c.CourseDirectory.root = str(ROOT)
# The gradebook lives beside the course root's generated folders (never committed).
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"

# Per-cell time limit while autograding; a cell that runs longer is interrupted and scores 0.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# What students see in place of the instructor's solutions.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
