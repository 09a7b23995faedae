"""Correct and mutant implementations of the graded names, per assignment."""
