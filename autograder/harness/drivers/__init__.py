"""Harnesses for graded names whose arguments are callables, classes, models or tensors.

Each module drives the student's object from plain-data payloads and returns plain data only;
none of them imports :mod:`solutions` (they are the half that may run beside untrusted code).
"""
