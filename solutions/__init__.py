"""Reference implementations of every graded function of the course.

One module per assignment (the assignment contract: ``contract.md``, the book page "The graded
contract"): ``floats``, ``overflow``, ``logsumexp``, ``softmax``, ``clipping``,
``standardisation`` and ``mixed_precision``.
The autograder judges students' code against these functions, so each one is the most
accurate implementation we know of, with its edge cases stated in its docstring.
"""
