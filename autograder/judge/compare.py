"""The verdict toolkit: turn a harness outcome and a reference into a diagnosis, or ``None``.

Every function here returns ``None`` when all is well and otherwise a short phrase in the book's
words ("returned inf where the true value is 1001.41 — overflow", "lost accuracy: 3.2e+04 ULPs
from the true value", "changed dtype float32 → float64", "mutated its input", "raised
ZeroDivisionError: ..."). :mod:`autograder.judge.feedback` wraps the phrase with the group, the
input, the likely cause and the section to re-read.

Tolerances are stated by the caller from the problem's conditioning: a relative bound in ULPs of
the result's dtype (``ulps``), an absolute bound (``atol``), or both (a value passes when it meets
either).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.judge.feedback import exact, fmt, shorten
from autograder.judge.spec import Outcome

# What a verdict diagnosed; each group may give a hint per diagnosis (``Group.hints``), and
# :data:`autograder.judge.feedback.NEUTRAL_HINTS` covers the rest.
NOT_ATTEMPTED = "not attempted"
EXCEPTION = "exception"
TIMEOUT = "timeout"
UNREADABLE = "unreadable return"
MUTATION = "mutation"
WRONG_TYPE = "wrong type"
DTYPE = "dtype"
SHAPE = "shape"
NAN = "nan"
MISSING_NAN = "missing nan"
OVERFLOW = "overflow"
INF = "inf"
UNDERFLOW = "underflow"
ACCURACY = "accuracy"
WRONG = "wrong value"
WRONG_INDEX = "wrong index"
WRONG_FACTOR = "wrong factor"
WRONG_QUANTITY = "wrong quantity"
NO_RAISE = "no raise"
WRONG_EXCEPTION = "wrong exception"
EMPTY_MESSAGE = "empty message"
DETACHED = "detached"
DIAGNOSES = (
    NOT_ATTEMPTED,
    EXCEPTION,
    TIMEOUT,
    UNREADABLE,
    MUTATION,
    WRONG_TYPE,
    DTYPE,
    SHAPE,
    NAN,
    MISSING_NAN,
    OVERFLOW,
    INF,
    UNDERFLOW,
    ACCURACY,
    WRONG,
    WRONG_INDEX,
    WRONG_FACTOR,
    WRONG_QUANTITY,
    NO_RAISE,
    WRONG_EXCEPTION,
    EMPTY_MESSAGE,
    DETACHED,
)


class Problem(str):
    """A verdict's finding: the phrase shown to the student, and ``kind``, what was diagnosed
    (one of :data:`DIAGNOSES`), which chooses the hint. A plain ``str`` verdict counts as
    :data:`WRONG`."""

    kind: str

    def __new__(cls, text: str, kind: str = WRONG) -> Problem:
        if kind not in DIAGNOSES:
            raise ValueError(f"unknown diagnosis {kind!r}; use one of {DIAGNOSES}")
        problem = super().__new__(cls, text)
        problem.kind = kind
        return problem


def kind_of(problem: str) -> str:
    """The diagnosis of a verdict's result (:data:`WRONG` for a plain string)."""
    return getattr(problem, "kind", WRONG)


def within(prefix: str, problem: str | None, suffix: str = "") -> Problem | None:
    """``"prefix: problem suffix"``, keeping the diagnosis; ``None`` stays ``None``."""
    if problem is None:
        return None
    return Problem(
        f"{prefix}: {problem}{suffix}" if prefix else f"{problem}{suffix}", kind_of(problem)
    )


def unit_roundoff(dtype: Any) -> float:
    """Unit roundoff u = eps / 2 of a floating dtype (2**-24 for float32, 2**-53 for float64)."""
    return float(np.finfo(dtype).eps) / 2


def ulp_of(expected: np.ndarray, dtype: Any) -> np.ndarray:
    """One ULP of ``dtype`` at each (float64) expected value, without rounding it to ``dtype``.

    Subnormal and zero values get the smallest subnormal spacing; infinities and NaN give NaN.
    """
    info = np.finfo(dtype)
    magnitude = np.abs(np.asarray(expected, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        _, exponent = np.frexp(magnitude)
        exponent = np.maximum(exponent.astype(np.int64) - 1, info.minexp)
        exponent = np.where(magnitude == 0, info.minexp, exponent)
        spacing = np.ldexp(1.0, exponent - info.nmant)
    return np.where(np.isfinite(magnitude), spacing, np.nan)


def status_problem(outcome: Outcome) -> Problem | None:
    """Describe an outcome that is not a normal return (an exception, overflow, time-out)."""
    status = outcome["status"]
    where = f" ({outcome['where']})" if outcome.get("where") else ""
    if status == "raised":
        if outcome["exc_type"] == "NotImplementedError":
            return Problem(
                "raised NotImplementedError — the answer cell has not been completed yet",
                NOT_ATTEMPTED,
            )
        message = f": {outcome['message']}" if outcome.get("message") else ""
        return Problem(f"raised {outcome['exc_type']}{message}{where}", EXCEPTION)
    if status == "overflow":
        silenced = (
            " Your np.errstate/np.seterr setting does not silence it here: in this group an "
            "overflow inside your code counts even when you ask NumPy to ignore it."
            if outcome.get("silenced")
            else ""
        )
        return Problem(
            f"overflowed in an intermediate step{where} — an inf appeared on the way "
            "(this group runs with floating-point overflow trapped), even if the final value "
            f"might have come out right.{silenced}",
            OVERFLOW,
        )
    if status == "timeout":
        return Problem(
            f"{outcome['message']} — an endless loop, or far too slow for this input", TIMEOUT
        )
    if status == "bad_return":
        what = f"a {outcome['type']} object" if outcome.get("type") else "a value"
        why = f" ({outcome['message']})" if outcome.get("message") else ""
        return Problem(f"returned {what}, which the grader cannot read{why}", UNREADABLE)
    if status == "not_run":
        return Problem(outcome["message"], EXCEPTION)
    return None


def returned(outcome: Outcome) -> Problem | None:
    """``None`` if the call returned normally without mutating its inputs."""
    problem = status_problem(outcome)
    if problem:
        return problem
    if outcome.get("mutated"):
        return Problem(
            "mutated its input (changed an argument in place); work on a copy instead", MUTATION
        )
    return None


def returned_items(outcome: Outcome, what: str, count: int) -> tuple[list | None, Problem | None]:
    """The returned value as a list of ``count`` items (a returned tuple arrives as a list), or
    ``None`` and the problem: the call's own (:func:`returned`) or a value that is not a
    sequence of ``count`` items, worded "returned … where {what} was expected" (``what``: "a
    pair (w, b)")."""
    problem = returned(outcome)
    if problem:
        return None, problem
    value = outcome["value"]
    if not isinstance(value, list) or len(value) != count:
        return None, Problem(f"returned {shorten(value)} where {what} was expected", WRONG_TYPE)
    return value, None


def raised(outcome: Outcome, expected: str | tuple[str, ...]) -> Problem | None:
    """``None`` if the call raised one of the ``expected`` exception types with a message."""
    names = (expected,) if isinstance(expected, str) else expected
    wanted = " or ".join(names)
    status = outcome["status"]
    if status == "returned":
        return Problem(
            f"returned {shorten(outcome.get('value'))} instead of raising {wanted}", NO_RAISE
        )
    if status == "raised" and outcome["exc_type"] in names:
        if not outcome.get("message", "").strip():
            return Problem(
                f"raised {outcome['exc_type']} with an empty message; say what was wrong",
                EMPTY_MESSAGE,
            )
        return None
    if status == "raised" and outcome["exc_type"] != "NotImplementedError":
        message = f" ({outcome['message']})" if outcome.get("message") else ""
        return Problem(
            f"raised {outcome['exc_type']}{message} instead of {wanted}", WRONG_EXCEPTION
        )
    return status_problem(outcome)


def float_array(
    outcome: Outcome,
    *,
    dtype: Any | None = None,
    shape: tuple[int, ...] | None = None,
) -> tuple[np.ndarray | None, Problem | None]:
    """The returned value as a floating array, checking its dtype and shape when given.

    Returns ``(array, None)`` or ``(None, problem)``. A Python float counts as float64 of shape
    ``()``, a Python int as int64 (so it fails a required floating ``dtype``); a 0-d array or
    NumPy scalar keeps its dtype. A bool (Python or NumPy) is never a number here. An array of
    the right type in the other byte order (``>f8`` for ``float64``) fails, the problem naming
    the byte order.
    """
    problem = returned(outcome)
    if problem:
        return None, problem
    value = outcome["value"]
    if isinstance(value, bool) or value is None or isinstance(value, str | dict | list):
        shown = f"{outcome['type']} {shorten(value)}"
        return None, Problem(f"returned {shown} where a number or array was expected", WRONG_TYPE)
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        return None, Problem(
            f"returned an array of dtype {array.dtype} where a floating array was expected",
            DTYPE,
        )
    if dtype is not None and array.dtype != np.dtype(dtype):
        wanted = np.dtype(dtype)
        if array.dtype.name != wanted.name:
            return None, Problem(f"changed dtype {wanted.name} → {array.dtype.name}", DTYPE)
        order = "big-endian" if array.dtype.str[0] == ">" else "little-endian"
        return None, Problem(
            f"returned {array.dtype.name} in {order} byte order ({array.dtype.str}) where "
            f"native {wanted.str} was expected",
            DTYPE,
        )
    if shape is not None and array.shape != tuple(shape):
        return None, Problem(
            f"returned shape {array.shape} where {tuple(shape)} was expected", SHAPE
        )
    return array, None


def close(
    got: Any,
    expected: Any,
    *,
    dtype: Any = np.float64,
    ulps: float | None = None,
    atol: float | np.ndarray | None = None,
    tolerance_note: str = "",
) -> Problem | None:
    """Compare ``got`` with the (high-precision, float64) ``expected`` values elementwise.

    Non-finite semantics are checked first: NaN where a number was expected, a missing NaN,
    inf where the true value is finite (overflow), 0 where it is nonzero (underflow), a wrong
    infinity. Then accuracy: an element passes when its error is within ``ulps`` ULPs of
    ``dtype`` at the true value or within ``atol`` (either suffices; give at least one). The
    first failing element (the worst one for accuracy) is described, with its index for arrays;
    the returned and true values are shown with enough digits to tell them apart.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return Problem(f"returned shape {got.shape} where {expected.shape} was expected", SHAPE)
    absolute = np.asarray(0.0 if atol is None else atol, dtype=np.float64)
    absolute = np.broadcast_to(absolute, expected.shape)
    problem = _non_finite(got, expected) or _underflow(got, expected, dtype, absolute)
    if problem:
        return problem
    allowed = absolute.copy()
    if ulps is not None:
        allowed = np.maximum(allowed, ulps * ulp_of(expected, dtype))
    index = _worst(got, expected, allowed)
    if index is None:
        return None
    with np.errstate(over="ignore"):
        error = abs(got[index] - expected[index])
        err_ulps = error / ulp_of(expected[index], dtype)
    note = f"; {tolerance_note}" if tolerance_note else ""
    shown = f"returned {exact(got[index], dtype)}"
    if ulps is not None and atol is None:
        return Problem(
            f"lost accuracy: {fmt(err_ulps, 2)} ULPs from the true value "
            f"{exact(expected[index])}{_at(index)} ({shown}; allowed {fmt(ulps, 2)} ULPs of "
            f"{np.dtype(dtype).name}{note})",
            ACCURACY,
        )
    return Problem(
        f"lost accuracy: off by {fmt(error, 2)} ({fmt(err_ulps, 2)} ULPs) from the true "
        f"value {exact(expected[index])}{_at(index)} ({shown}; allowed "
        f"{fmt(allowed[index], 2)}{note})",
        ACCURACY,
    )


def _at(index: tuple[int, ...]) -> str:
    """`` at index (i, j)`` for an element of an array, nothing for a 0-d value."""
    return f" at index {index}" if index else ""


def _non_finite(got: np.ndarray, expected: np.ndarray) -> Problem | None:
    """The first element whose NaN or infinity disagrees with the true value's: a NaN where a
    number was expected, a missing NaN, an infinity where the true value is finite (overflow),
    or a wrong (or missing) infinity."""
    got_nan, exp_nan = np.isnan(got), np.isnan(expected)
    for index in _where(got_nan & ~exp_nan):
        return Problem(
            f"returned nan{_at(index)} where the true value is {exact(expected[index])}", NAN
        )
    for index in _where(exp_nan & ~got_nan):
        return Problem(
            f"returned {exact(got[index])}{_at(index)} where the answer is nan (NaN must "
            "propagate)",
            MISSING_NAN,
        )
    exp_inf, got_inf = np.isinf(expected), np.isinf(got)
    for index in _where(got_inf & ~exp_inf):
        cause = "overflow" if got[index] > 0 else "overflow to -inf, or the log of an underflowed 0"
        return Problem(
            f"returned {fmt(got[index])}{_at(index)} where the true value is "
            f"{exact(expected[index])} — {cause}",
            INF,
        )
    for index in _where(exp_inf & (got != expected)):
        return Problem(
            f"returned {exact(got[index])}{_at(index)} where the answer is {fmt(expected[index])}",
            WRONG,
        )
    return None


def _underflow(
    got: np.ndarray, expected: np.ndarray, dtype: Any, absolute: np.ndarray
) -> Problem | None:
    """The first element returned as 0 whose true value ``dtype`` can represent (at least half
    its smallest subnormal) and that lies beyond the absolute tolerance."""
    # Halved in float64: in float32 itself half the smallest subnormal rounds to 0.
    representable = np.abs(expected) > float(np.finfo(dtype).smallest_subnormal) / 2
    finite = np.isfinite(expected)
    underflow = finite & (got == 0) & representable & (np.abs(expected) > absolute)
    for index in _where(underflow):
        return Problem(
            f"returned 0{_at(index)} where the true value is {exact(expected[index])} — "
            "underflow (or cancellation)",
            UNDERFLOW,
        )
    return None


def _worst(got: np.ndarray, expected: np.ndarray, allowed: np.ndarray) -> tuple[int, ...] | None:
    """The index of the finite element whose error exceeds its ``allowed`` error by the largest
    factor (an element allowed 0 and off by anything counts as infinitely far), or ``None``
    when every finite element is within its allowance. Non-finite true values were judged by
    :func:`_non_finite` and are skipped here."""
    finite = np.isfinite(expected)
    # inf - inf where both are the same infinity; 1.7e308 - -1.7e308 overflows to inf (fails).
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.where(finite, np.abs(got - expected), 0.0)
    allowed = np.where(finite, allowed, 0.0)
    if not np.any(error > allowed):
        return None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 1e300 / 1e-300 is inf
        excess = np.where(error > allowed, error / allowed, 0.0)
    worst = np.unravel_index(int(np.argmax(excess)), expected.shape)
    return tuple(int(i) for i in worst)


def _where(mask: np.ndarray) -> list[tuple[int, ...]]:
    """Indices where ``mask`` is true (``[()]`` for a true 0-d mask), first few only."""
    return [tuple(int(i) for i in index) for index in np.argwhere(mask)[:1]]


def equal(got: Any, expected: Any, what: str = "value", kind: str = WRONG) -> Problem | None:
    """Exact equality of plain values (ints, strings, booleans, integer arrays)."""
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        got_array, exp_array = np.asarray(got), np.asarray(expected)
        if got_array.shape == exp_array.shape and np.array_equal(got_array, exp_array):
            return None
    elif type(got) is type(expected) and got == expected:
        return None
    return Problem(f"returned {what} {shorten(got)} where {shorten(expected)} was expected", kind)
