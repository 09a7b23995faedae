"""The nbgrader course and the book: operations on the course root
(:mod:`~autograder.course.operations`) and the book's Sphinx extension that publishes the
released notebooks (:mod:`~autograder.course.book`). Imports neither the grader nor the
harness's sandbox."""
