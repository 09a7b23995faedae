"""The ex01_floats checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from mutant_grading import (
    mutant_feedback,
)

from autograder.checks.ex01_floats import hard_inputs
from autograder.judge import oracle

ASSIGNMENT = "ex01_floats"


_feedback = partial(mutant_feedback, ASSIGNMENT)


def test_naive_kahan_feedback_names_lost_ulps(capsys, recwarn):
    feedback = _feedback("kahan_sum", 0, "hard", capsys, recwarn)
    assert "lost accuracy" in feedback and "ULPs from the true value" in feedback
    assert "allowed 32 ULPs of float32" in feedback
    assert "Rounding error accumulates" in feedback


def test_float64_kahan_feedback_names_the_type(capsys, recwarn):
    feedback = _feedback("kahan_sum", 1, "dtype", capsys, recwarn)
    assert "the sum must be a np.float32" in feedback
    assert "float64" in feedback


def test_float_format_overflow_mutant_is_told_about_the_overflow(capsys, recwarn):
    feedback = _feedback("float_format", 1, "extremes", capsys, recwarn)
    assert "raised OverflowError" in feedback
    assert "2^1024 overflows" in feedback


def test_ulp_feedback_shows_powers_of_two(capsys, recwarn):
    feedback = _feedback("ulp", 1, "subnormal", capsys, recwarn)
    assert "where the ULP is" in feedback and "(2^-" in feedback
    assert "max(E, E_min)" in feedback


def test_ulps_between_feedback_gives_both_counts(capsys, recwarn):
    feedback = _feedback("ulps_between", 0, "zero", capsys, recwarn)
    assert "where the number of steps is" in feedback
    assert "-0 and +0 both map to 0" in feedback


def test_naive_loop_is_off_by_thousands_of_ulps_on_every_hard_input():
    for values, shown in hard_inputs():
        assert values.dtype == np.float32 and values.size <= 400_000
        s = np.float32(0.0)
        for x in values:
            s = s + x
        exact = oracle.exact_sum(values.tolist())
        ulps = abs(float(s) - exact) / float(np.spacing(np.float32(abs(exact))))
        assert ulps > 1_000, (shown, ulps)


def test_float_format_oracle_matches_finfo():
    for e, m, dtype in ((5, 10, np.float16), (8, 23, np.float32), (11, 52, np.float64)):
        info = np.finfo(dtype)
        expected = {
            "max": float(info.max),
            "min_normal": float(info.tiny),
            "min_subnormal": float(info.smallest_subnormal),
            "eps": float(info.eps),
        }
        assert oracle.float_format_exact(e, m) == expected
    assert oracle.float_format_exact(5, 2)["max"] == 57344.0
    assert oracle.float_format_exact(8, 7)["max"] == float.fromhex("0x1.fep127")


def test_ulp_oracle_against_math_ulp_and_spacing():
    rng = np.random.default_rng(0)
    for x in [0.0, 5e-324, 1e-310, 1.0, -3.5, 1e300, *rng.normal(0, 1e5, 20).tolist()]:
        assert oracle.ulp_exact(x, np.float64) == math.ulp(x)
    for dtype in (np.float16, np.float32):
        for x in rng.lognormal(0, 3, 20):
            rounded = dtype(x)
            assert oracle.ulp_exact(float(x), dtype) == float(np.spacing(rounded))
    assert oracle.ulp_exact(float(np.finfo(np.float16).max), np.float16) == 32.0
    assert math.isnan(oracle.ulp_exact(70000.0, np.float16))
    assert math.isnan(oracle.ulp_exact(math.nan, np.float32))


def test_ulps_between_oracle_counts_nextafter_steps():
    rng = np.random.default_rng(1)
    for dtype in (np.float16, np.float32, np.float64):
        for start in rng.normal(0, 1, 5):
            a = dtype(start)
            b = a
            for steps in range(1, 40):
                b = np.nextafter(b, dtype(np.inf))
                assert oracle.ulps_between_exact(float(a), float(b), dtype) == steps
    assert oracle.ulps_between_exact(-0.0, 0.0, np.float64) == 0
    assert oracle.ulps_between_exact(-5e-324, 5e-324, np.float64) == 2
    with pytest.raises(ValueError):
        oracle.ulps_between_exact(1.0, math.inf, np.float64)
