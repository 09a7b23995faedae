"""The trusted half of grading: outcomes to verdicts to feedback.

Never runs beside the student's code in the class grader (it judges the plain outcomes the
sandbox sent back); ``autograder.check`` runs it in the kernel for students' feedback.

* :mod:`~autograder.judge.spec`: checks as data (cases, groups, one check per graded name);
* :mod:`~autograder.judge.compare`: the verdict toolkit (diagnoses in the book's words);
* :mod:`~autograder.judge.oracle`: high-precision reference values (mpmath);
* :mod:`~autograder.judge.feedback`: feedback text and hints;
* :mod:`~autograder.judge.sections`: the book's sections feedback refers to;
* :mod:`~autograder.judge.grading`: run and judge groups (``check()``'s engine).
"""
