"""The class grader (``python -m autograder grade``): never imported by ``autograder.check``.

* :mod:`~autograder.grader.cli`: the command line;
* :mod:`~autograder.grader.assignment`: what an assignment grades (read from the source
  notebook) and how a submitted notebook is read;
* :mod:`~autograder.grader.submissions`: finding the submissions;
* :mod:`~autograder.grader.student`: grading one submission (run in the sandbox, judge here);
* :mod:`~autograder.grader.results`: what was decided about a student (data only);
* :mod:`~autograder.grader.batch` / :mod:`~autograder.grader.distributed`: a whole class, on this
  machine or on a Dask cluster;
* :mod:`~autograder.grader.gradebook`, :mod:`~autograder.grader.reports`,
  :mod:`~autograder.grader.files`, :mod:`~autograder.grader.inert`: where results are written
  and how student text is made safe to show;
* :mod:`~autograder.grader.sandbox`: running a student's notebook in isolation.
"""
