"""The half of grading that runs beside the student's code: drive it, record plain data.

Everything in this folder may run inside the student's process (in the kernel for
``autograder.check``, in the sandbox for the class grader, which copies this folder whole to
``/grader/autograder/harness``), so it imports nothing else of the project: not the judge, the
checks, the grader or :mod:`solutions` (``tests/autograder/harness/test_boundary.py`` parses
every module's imports to hold it to that).

* :mod:`~autograder.harness.outcome`: what a harness records (the outcome's fields, statuses);
* :mod:`~autograder.harness.calls`: running a student's call protected (time limit, output and
  warnings captured, overflow trapped) and the generic harnesses ``call`` and ``value``;
* :mod:`~autograder.harness.drivers`: the harnesses of graded names that need more than a call;
* :mod:`~autograder.harness.wire`: the plain-data JSON lines the sandbox sends back;
* :mod:`~autograder.harness.worker`: the program the sandbox runs.
"""
