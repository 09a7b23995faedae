"""Checks for ex05_clipping: ``clip_by_value``, ``clip_by_global_norm``, ``sgd_with_clipping``,
q1, q2, q3.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex05_clipping.toml``, read by :mod:`autograder.checks.declarations`; this module
builds the cases each group names.

Tolerances.

* ``clip_by_value`` is an exact operation (a clamp moves no bits it keeps), so the result must
  equal the reference exactly, with the bound rounded to each array's dtype.
* ``clip_by_global_norm``: the norm √(Σ gᵢ²) of n entries computed by any recursive,
  pairwise or blocked summation in a dtype with unit roundoff u has relative error at most about
  (n/2 + 2)·u, i.e. at most n + 4 ULPs of that dtype; the clipped entries gᵢ·c inherit the
  coefficient's error plus one rounding. Both are judged against a 60-digit oracle within
  2n + 8 ULPs of the least precise dtype among the arrays — loose enough for a float32
  accumulation (the way ``torch.nn.utils.clip_grad_norm_`` works on float32 tensors), far too
  tight for a norm that overflowed to inf, underflowed to 0 or ignored ε (relative error
  ε/‖g‖, millions of ULPs at the norms used here).
* ``sgd_with_clipping`` is compared with the reference run on the same ``grad_fn`` (the verdict
  runs the same driver with :func:`solutions.clipping.sgd_with_clipping`). The objective is a
  contraction near its minimiser, so rounding differences between correct implementations stay
  at the level of a few ULPs of the iterates; the path, final θ and gradient norms must agree to
  a relative 1e-8 of their scale, and the list of clipped steps exactly (every case keeps the
  norms at least 0.1 % away from ``max_norm``, so no rounding can move a step across the
  threshold).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from autograder.checks.common import label
from autograder.checks.declarations import declared_checks
from autograder.harness.drivers import ex05_clipping as drivers
from autograder.judge import compare, oracle
from autograder.judge.compare import (
    ACCURACY,
    DTYPE,
    MUTATION,
    OVERFLOW,
    SHAPE,
    WRONG,
    WRONG_EXCEPTION,
    WRONG_FACTOR,
    WRONG_INDEX,
    WRONG_QUANTITY,
    WRONG_TYPE,
    Problem,
)
from autograder.judge.feedback import exact, shorten
from autograder.judge.spec import Case, Check, Outcome

PATH_RTOL = 1e-8


# ----------------------------------------------------------------------------- shared helpers


def _array_list(value: Any, n_arrays: int, what: str) -> tuple[list[np.ndarray] | None, str | None]:
    """The returned value as a list of ``n_arrays`` NumPy arrays, or a problem."""
    if not isinstance(value, list):
        return None, Problem(
            f"returned {shorten(value)} where {what} (a list of arrays) was expected", WRONG_TYPE
        )
    if len(value) != n_arrays:
        return None, Problem(f"returned {len(value)} arrays for {n_arrays} gradient arrays", SHAPE)
    arrays = []
    for i, item in enumerate(value):
        if not isinstance(item, np.ndarray) or item.dtype.kind != "f":
            return None, Problem(
                f"element {i} of {what} is {shorten(item)}, not a floating NumPy array", WRONG_TYPE
            )
        arrays.append(item)
    return arrays, None


def _compare_arrays(
    got: list[np.ndarray],
    grads: list[np.ndarray],
    expected: list[np.ndarray],
    unit: Any = None,
    **tolerance: Any,
) -> str | None:
    """Shape, dtype and values of each returned array against the expected float64 values.

    ULP tolerances are counted in ``unit`` (a dtype; each array's own dtype when ``None``).
    """
    for i, (g, original, want) in enumerate(zip(got, grads, expected, strict=True)):
        if g.shape != original.shape:
            return Problem(
                f"array {i} has shape {g.shape} where {original.shape} was expected", SHAPE
            )
        if g.dtype != original.dtype:
            return Problem(f"array {i} changed dtype {original.dtype.name} → {g.dtype.name}", DTYPE)
        problem = compare.close(g, want, dtype=unit or original.dtype, **tolerance)
        if problem:
            return compare.within(f"array {i}", problem)
    return None


# ----------------------------------------------------------------------------- clip_by_value


def value_case(grads: list[np.ndarray], clip_value: float, *, fresh: bool = False) -> Case:
    """A case for ``clip_by_value(grads, clip_value)``: exact clamp, dtype and shape kept.

    With ``fresh`` the verdict also requires new arrays (no memory shared with the inputs).
    """
    from solutions.clipping import clip_by_value

    expected = [e.astype(np.float64) for e in clip_by_value(grads, clip_value)]

    def verdict(case: Case, outcome: Outcome) -> str | None:
        problem = compare.returned(outcome)
        if problem:
            return problem
        got, problem = _array_list(outcome["value"], len(grads), "the clipped gradients")
        if problem:
            return problem
        problem = _compare_arrays(got, grads, expected, atol=0.0, tolerance_note="a clamp is exact")
        if problem:
            return problem
        if fresh and outcome.get("aliased"):
            return Problem(
                "returned an array that shares memory with an input gradient; return new "
                "arrays, so that changing the result cannot change the caller's gradients",
                MUTATION,
            )
        return None

    payload = {"grads": grads, "args": [clip_value]}
    return Case(
        label(grads=grads, clip_value=clip_value), payload, verdict, harness=drivers.fresh_arrays
    )


def value_basic():
    rng = np.random.default_rng(501)
    return [
        value_case([np.array([0.5, -3.0, 2.0, -0.25])], 1.0),
        value_case([rng.normal(0, 2, (3, 4)), rng.normal(0, 5, 7)], 1.5),
        value_case([np.array([1000.0, 1.0])], 1.0),
        value_case([rng.normal(0, 1, 6), rng.normal(0, 1, (2, 2)), np.array([0.3])], 0.1),
    ]


def value_edges():
    inf, nan = np.inf, np.nan
    return [
        value_case([np.array([inf, -inf, 0.5])], 2.0),
        value_case([np.array([nan, 3.0, -3.0])], 1.0),
        value_case([], 1.0),
        value_case([np.array([]), np.array([4.0])], 1.0),
        value_case([np.array(7.5)], 2.0),
    ]


def value_dtype():
    rng = np.random.default_rng(502)
    return [
        value_case([rng.normal(0, 3, 10).astype(np.float32)], 0.1),
        value_case([rng.normal(0, 3, (2, 3)).astype(np.float16)], 1.5),
        value_case([rng.normal(0, 3, 4).astype(np.float32), rng.normal(0, 3, 4)], 1.0),
    ]


def value_copies():
    rng = np.random.default_rng(503)
    return [
        value_case([np.array([0.1, -0.2, 0.3])], 1.0, fresh=True),
        value_case([rng.uniform(-0.5, 0.5, (2, 3)), np.array([5.0])], 1.0, fresh=True),
    ]


# ----------------------------------------------------------------------------- clip_by_global_norm


def norm_case(
    grads: list[np.ndarray],
    max_norm: float,
    eps: float | None = None,
    *,
    fresh: bool = False,
) -> Case:
    """A case for ``clip_by_global_norm(grads, max_norm[, eps=eps])`` against the oracle."""
    kwargs = {} if eps is None else {"eps": eps}
    shown = label(grads=grads, max_norm=max_norm, **kwargs)
    payload = {"grads": grads, "args": [max_norm], "kwargs": kwargs}
    if not np.isfinite(oracle.global_norm(grads)):
        return Case(shown, payload, _raises_floating_point_error, harness=drivers.fresh_arrays)

    expected, norm = oracle.clip_by_global_norm(grads, max_norm, 1e-6 if eps is None else eps)
    n_entries = sum(g.size for g in grads)
    dtypes = [g.dtype for g in grads] or [np.dtype(np.float64)]
    coarsest = max(dtypes, key=lambda d: np.finfo(d).eps)
    ulps = 2 * n_entries + 8
    note = f"{ulps:g} ULPs = 2n + 8 for n = {n_entries} entries"

    def verdict(case: Case, outcome: Outcome) -> str | None:
        if _raised_floating_point_error(outcome):
            return _overflowed_norm(outcome, f"the true norm, {exact(norm)}, is finite")
        what = "a pair (clipped arrays, norm before clipping)"
        value, problem = compare.returned_items(outcome, what, 2)
        if problem:
            return problem
        got_norm = value[1]
        if isinstance(got_norm, bool) or not isinstance(got_norm, int | float | np.ndarray):
            return Problem(f"returned the norm as {shorten(got_norm)}, not a number", WRONG_TYPE)
        if np.ndim(got_norm) != 0:
            return Problem(f"returned the norm as {shorten(got_norm)}, not a single number", SHAPE)
        problem = compare.close(got_norm, norm, dtype=coarsest, ulps=ulps, tolerance_note=note)
        if problem:
            return _norm_problem(problem, float(got_norm), norm, max_norm, eps)
        arrays, problem = _array_list(value[0], len(grads), "the clipped gradients")
        if problem:
            return problem
        problem = _compare_arrays(arrays, grads, expected, coarsest, ulps=ulps, tolerance_note=note)
        if problem:
            return _factor_problem(problem, arrays, grads, norm, max_norm, eps)
        if fresh and outcome.get("aliased"):
            return Problem(
                "returned an array that shares memory with an input gradient; return new "
                "arrays even when no clipping is needed",
                MUTATION,
            )
        return None

    return Case(shown, payload, verdict, harness=drivers.fresh_arrays)


def _clip_factor(norm: float, max_norm: float, eps: float | None) -> float:
    return min(1.0, max_norm / (norm + (1e-6 if eps is None else eps)))


def _norm_problem(
    problem: str, got: float, norm: float, max_norm: float, eps: float | None
) -> Problem:
    """A wrong norm; said so when it is the norm after clipping."""
    after = norm * _clip_factor(norm, max_norm, eps)
    if after != norm and np.isfinite(got) and abs(got - after) <= 1e-6 * after:
        return Problem(
            f"returned the norm {exact(got)}, which is the norm after clipping (the true norm "
            f"before clipping is {exact(norm)}); return the norm measured before clipping, as "
            "clip_grad_norm_ does",
            WRONG_QUANTITY,
        )
    return compare.within("the norm before clipping", problem)


def _factor_problem(
    problem: str,
    got: list[np.ndarray],
    grads: list[np.ndarray],
    norm: float,
    max_norm: float,
    eps: float | None,
) -> Problem:
    """Wrong clipped arrays: name a common factor that is not the contract's, or arrays scaled
    by different factors (clipping each by its own norm)."""
    kind = compare.kind_of(problem)
    same_shapes = all(g.shape == o.shape for g, o in zip(got, grads, strict=True))
    if kind not in (ACCURACY, WRONG) or not same_shapes:
        return Problem(problem, kind)
    factors = []
    for g, original in zip(got, grads, strict=True):
        nonzero = (original != 0) & np.isfinite(original) & np.isfinite(g)
        if nonzero.any():
            with np.errstate(all="ignore"):
                ratios = g[nonzero].astype(np.float64) / original[nonzero].astype(np.float64)
            factors.append((float(ratios.min()), float(ratios.max())))
    if not factors:
        return Problem(problem, kind)
    coarse = max(np.finfo(g.dtype).eps for g in grads)
    low, high = min(f[0] for f in factors), max(f[1] for f in factors)
    want = _clip_factor(norm, max_norm, eps)
    if high - low <= 16 * coarse * abs(high):
        return Problem(
            f"{problem}: every entry is scaled by the same factor {exact(high)}, where "
            f"min(1, max_norm / (norm + eps)) = {exact(want)}",
            WRONG_FACTOR,
        )
    uniform = all(h - lo <= 16 * coarse * abs(h) for lo, h in factors)
    if len(factors) > 1 and uniform:
        shown = ", ".join(exact(h) for _, h in factors)
        return Problem(
            f"{problem}: the arrays are scaled by different factors ({shown}), where one global "
            f"factor {exact(want)} applies to all",
            WRONG,
        )
    return Problem(problem, kind)


def _raised_floating_point_error(outcome: Outcome) -> bool:
    return outcome["status"] == "raised" and outcome["exc_type"] == "FloatingPointError"


def _overflowed_norm(outcome: Outcome, fact: str) -> Problem:
    """FloatingPointError where the norm is finite: the student's own norm overflowed."""
    message = shorten(outcome.get("message", ""), 80)
    return Problem(
        f"raised FloatingPointError ({message}) although {fact}: the norm overflowed (or "
        "underflowed) on the way, e.g. in squaring the entries",
        OVERFLOW,
    )


def _floating_point_error(outcome: Outcome, why: str) -> str | None:
    """The call must raise FloatingPointError; a call that returned is told ``why``."""
    problem = compare.raised(outcome, "FloatingPointError")
    if problem and outcome["status"] == "returned":
        return compare.within("", problem, f"; {why}")
    return problem


def _raises_floating_point_error(case: Case, outcome: Outcome) -> str | None:
    return _floating_point_error(
        outcome,
        "a gradient containing inf or NaN (or a norm beyond the float range) cannot be rescued "
        "by rescaling",
    )


def norm_basic():
    rng = np.random.default_rng(511)
    return [
        norm_case([np.array([3.0, 4.0])], 1.0),
        norm_case([np.array([0.3, -0.4])], 1.0),
        norm_case([rng.normal(0, 3, 20)], 2.5),
        norm_case([rng.normal(0, 1, (4, 5))], 100.0),
        norm_case([rng.normal(0, 10, (3, 3))], 0.5),
    ]


def norm_global():
    rng = np.random.default_rng(512)
    return [
        norm_case([np.array([3.0]), np.array([4.0])], 1.0),
        norm_case([rng.normal(0, 1, (3, 4)), rng.normal(0, 20, 5), rng.normal(0, 0.1, 2)], 5.0),
        norm_case([np.array([0.6, 0.0]), np.array([[0.8]])], 0.5),
        norm_case([rng.normal(0, 1, 8), np.zeros(3), rng.normal(0, 4, (2, 2))], 2.0),
    ]


def norm_eps():
    return [
        norm_case([np.array([2e-6])], 1e-6),
        norm_case([np.array([1.2e-6, -1.6e-6])], 1e-6),
        norm_case([np.array([0.9, 1.2])], 1.0, eps=0.5),
        norm_case([np.array([3.0, 4.0])], 1.0, eps=0.0),
        norm_case([np.zeros(3)], 1.0),
        # The boundary: a norm exactly max_norm is still scaled, by 5 / (5 + 1e-6) < 1.
        norm_case([np.array([3.0, 4.0])], 5.0),
        norm_case([np.array([6.0, -8.0], dtype=np.float32)], 10.0),
    ]


def norm_hard():
    rng = np.random.default_rng(513)
    return [
        norm_case([np.array([1e200, -2e200, 3e200])], 1.0),
        norm_case([np.array([1e-200, 3e-200]), np.array([-2e-200])], 1.0),
        norm_case([np.array([1e200]), np.array([1e-200, 1.0])], 10.0),
        norm_case([np.full(4, 1e154)], 5.0),
        norm_case([(1e20 * rng.normal(0, 1, 6)).astype(np.float32)], 1.0),
        norm_case([np.array([1e-25, -3e-30, 2e-25], dtype=np.float32)], 1.0),
    ]


def norm_nonfinite():
    return [
        norm_case([np.array([1.0, np.inf])], 1.0),
        norm_case([np.array([0.5]), np.array([np.nan, 2.0])], 1.0),
        norm_case([np.array([-np.inf, 3.0], dtype=np.float32)], 1.0),
        norm_case([np.full(4, 1e308)], 1.0),
    ]


def norm_dtype():
    rng = np.random.default_rng(514)
    return [
        norm_case([rng.normal(0, 3, 10).astype(np.float32)], 1.0, fresh=True),
        norm_case([rng.normal(0, 2, (2, 3)).astype(np.float16)], 1.0, fresh=True),
        norm_case([rng.normal(0, 1, 4).astype(np.float32), rng.normal(0, 1, 3)], 2.0, fresh=True),
        norm_case([np.array([0.1, -0.2]), np.array([[0.05]])], 10.0, fresh=True),
    ]


# ----------------------------------------------------------------------------- sgd_with_clipping


def bowl(
    center: list[float],
    curvature: list[float],
    lam: float = 0.0,
    spikes: list | None = None,
    noise: np.ndarray | None = None,
) -> dict[str, Any]:
    """A quadratic bowl (diagonal curvature) with an optional quartic rim, spikes and noise."""
    problem: dict[str, Any] = {
        "A": np.diag(np.asarray(curvature, dtype=np.float64)),
        "center": np.asarray(center, dtype=np.float64),
        "lam": float(lam),
        "spikes": [[step, np.asarray(vector, dtype=np.float64)] for step, vector in spikes or []],
    }
    if noise is not None:
        problem["noise"] = noise
    return problem


def sgd_case(
    problem: dict[str, Any],
    theta0: list[float],
    lr: float,
    n_steps: int,
    max_norm: float | None = None,
    *,
    boundary: bool = False,
    nonfinite_step: int | None = None,
) -> Case:
    """A case for ``sgd_with_clipping``; the verdict compares with the reference run.

    Norms within 0.1 % of ``max_norm`` are refused (where a tiny rounding difference could
    decide whether a step counts as clipped) unless ``boundary`` says the case is about exactly
    that: a norm equal to ``max_norm``, which the factor max_norm / (norm + 1e-6) < 1 clips.
    ``nonfinite_step`` is the step whose gradient the problem makes inf or NaN: with ``max_norm``
    the call must raise FloatingPointError naming that step; without it, either raising
    FloatingPointError or taking the step (its norm logged as inf or NaN, either) is accepted.
    """
    from solutions.clipping import sgd_with_clipping

    payload: dict[str, Any] = {
        "problem": problem,
        "theta0": np.asarray(theta0, dtype=np.float64),
        "lr": lr,
        "n_steps": n_steps,
    }
    if max_norm is not None:
        payload["max_norm"] = max_norm
    if nonfinite_step is not None and max_norm is not None:
        verdict = _raises_naming_step(nonfinite_step)
        return Case(
            _sgd_label(problem, theta0, lr, n_steps, max_norm),
            payload,
            verdict,
            harness=drivers.sgd_run,
        )
    reference = drivers.sgd_run(sgd_with_clipping, payload, trap_overflow=False, time_limit=60.0)
    assert reference["status"] == "returned", reference
    expected = reference["value"]
    if max_norm is not None and not boundary and nonfinite_step is None:
        margin = np.abs(expected["grad_norms"] - max_norm) / max_norm
        assert margin.size == 0 or margin.min() > 1e-3, "a norm too close to max_norm"

    def verdict(case: Case, outcome: Outcome) -> str | None:
        if nonfinite_step is None:
            return _sgd_verdict(payload, expected, outcome)
        return _plain_nonfinite_verdict(payload, expected, outcome, nonfinite_step)

    return Case(
        _sgd_label(problem, theta0, lr, n_steps, max_norm),
        payload,
        verdict,
        harness=drivers.sgd_run,
    )


def _sgd_label(problem, theta0, lr, n_steps, max_norm) -> str:
    parts = {"theta0": np.asarray(theta0, dtype=np.float64), "lr": lr, "n_steps": n_steps}
    if max_norm is not None:
        parts["max_norm"] = max_norm
    spikes = [(step, vector) for step, vector in problem["spikes"]]
    if not spikes:
        return label(**parts)
    shown = ", ".join(
        f"{step}" if np.isfinite(vector).all() else f"{step} ({shorten(vector)})"
        for step, vector in spikes
    )
    return label(**parts) + f", gradient spikes at steps {shown}"


def _raises_naming_step(step: int):
    """A verdict: FloatingPointError whose message names ``step`` (as a number of its own)."""
    named = re.compile(rf"(?<![\d.]){step}(?![\d])")

    def verdict(case: Case, outcome: Outcome) -> str | None:
        problem = _floating_point_error(
            outcome,
            f"the gradient at step {step} contains inf or NaN, which clipping cannot rescue",
        )
        if problem:
            return problem
        if not named.search(outcome.get("message", "")):
            return Problem(
                f"raised FloatingPointError ({shorten(outcome.get('message', ''), 80)}) without "
                f"naming the step, {step}, whose gradient was not finite",
                WRONG_EXCEPTION,
            )
        return None

    return verdict


def _plain_nonfinite_verdict(
    payload: dict[str, Any], expected: dict[str, Any], outcome: Outcome, step: int
) -> str | None:
    """Without max_norm, a non-finite gradient at ``step``: raise FloatingPointError, or take
    the step as plain gradient descent does and log its norm as inf or NaN (either)."""
    if outcome["status"] == "raised" and outcome["exc_type"] == "FloatingPointError":
        return compare.raised(outcome, "FloatingPointError")
    value = outcome.get("value")
    norms = _as_float(value.get("grad_norms")) if isinstance(value, dict) else None
    if norms is not None and norms.shape == (payload["n_steps"],):
        if np.isfinite(norms[step]):
            return Problem(
                f"logged grad_norms[{step}] = {shorten(norms[step])} for a gradient containing inf"
                " or NaN: its norm is inf or NaN",
                WRONG,
            )
        expected = {**expected, "grad_norms": np.array(expected["grad_norms"])}
        expected["grad_norms"][step] = norms[step]
    return _sgd_verdict(payload, expected, outcome)


def _clipped_kind(got: list[int], want: list[int]) -> str:
    """WRONG_INDEX when ``got`` is ``want`` counted from 1 (or otherwise shifted), else WRONG."""
    shifted = len(got) == len(want) and len({g - w for g, w in zip(got, want, strict=True)}) == 1
    return WRONG_INDEX if shifted and got else WRONG


def _sgd_verdict(payload: dict[str, Any], expected: dict[str, Any], outcome: Outcome) -> str | None:
    if _raised_floating_point_error(outcome):
        return _overflowed_norm(outcome, "every gradient here is finite, and so is its norm")
    return (
        compare.returned(outcome)
        or _calls_problem(outcome["steps_seen"], payload["n_steps"])
        or _record_problem(outcome["value"])
        or _trajectory_problem(payload, expected, outcome["value"])
        or _clipped_problem(outcome["value"]["clipped"], expected["clipped"])
    )


def _calls_problem(steps: list, n_steps: int) -> Problem | None:
    """grad_fn must be called once per step, with steps 0, 1, …, n_steps - 1 in order."""
    if steps == list(range(n_steps)):
        return None
    if len(steps) != n_steps:
        return Problem(f"called grad_fn {len(steps)} times for n_steps = {n_steps}", WRONG)
    return Problem(
        f"called grad_fn with steps {shorten(steps, 60)} where "
        f"{shorten(list(range(n_steps)), 60)} was expected",
        WRONG_INDEX,
    )


def _record_problem(value: Any) -> Problem | None:
    """The returned record must be a dict with the keys theta, path, grad_norms and clipped."""
    if not isinstance(value, dict):
        return Problem(f"returned {shorten(value)} where a dict was expected", WRONG_TYPE)
    for key in ("theta", "path", "grad_norms", "clipped"):
        if key not in value:
            return Problem(
                f"returned a dict without the key {key!r} (keys: {sorted(value)})", WRONG_TYPE
            )
    return None


def _trajectory_problem(
    payload: dict[str, Any], expected: dict[str, Any], value: dict[str, Any]
) -> Problem | None:
    """The path (theta0 first), the gradient norms and the final theta against the exact run,
    within a tolerance relative to the path's scale. The earliest departure is reported: the
    norms of the steps whose iterates still agree first (a wrong norm there is the cause),
    then the path, then the remaining norms, then theta."""
    n_steps, theta0 = payload["n_steps"], payload["theta0"]
    path_scale = np.nanmax(np.abs(np.where(np.isfinite(expected["path"]), expected["path"], 0)))
    atol = PATH_RTOL * (1.0 + path_scale)
    note = f"relative {PATH_RTOL:g} of the path's scale"
    path = _as_float(value["path"])
    want_shape = (n_steps + 1,) + theta0.shape
    if path is None or path.shape != want_shape:
        shape = None if path is None else path.shape
        return Problem(
            f"returned a path of shape {shape} where {want_shape} (n_steps + 1 iterates, "
            "theta0 first) was expected",
            SHAPE,
        )
    if not np.array_equal(path[0], theta0):
        return Problem(
            f"path[0] is {shorten(path[0])}, not theta0 = {shorten(theta0)}", WRONG_INDEX
        )
    norms = _as_float(value["grad_norms"])
    if norms is None or norms.shape != (n_steps,):
        shape = None if norms is None else norms.shape
        return Problem(
            f"returned grad_norms of shape {shape} where ({n_steps},) was expected", SHAPE
        )
    agree = min(_rows_agreeing(path, expected["path"], atol), n_steps)
    problem = _norms_problem(norms[:agree], expected["grad_norms"][:agree])
    if problem:
        return problem
    problem = compare.close(path, expected["path"], atol=atol, tolerance_note=note)
    if problem:
        return compare.within("path", problem)
    problem = _norms_problem(norms, expected["grad_norms"])
    if problem:
        return problem
    theta = _as_float(value["theta"])
    if theta is None or theta.shape != theta0.shape:
        return Problem(f"returned theta {shorten(value['theta'])} of the wrong shape", SHAPE)
    problem = compare.close(theta, expected["theta"], atol=atol, tolerance_note=note)
    return compare.within("final theta", problem)


def _clipped_problem(got: Any, want: list[int]) -> Problem | None:
    """The steps at which clipping changed the gradient, as a list of step indices."""
    clipped = _as_int_list(got)
    if clipped is None:
        return Problem(f"returned clipped = {shorten(got)}, not a list of step indices", WRONG_TYPE)
    if clipped != want:
        return Problem(
            f"returned clipped = {shorten(clipped, 60)} where the steps at which clipping changed "
            f"the gradient are {shorten(want, 60)}",
            _clipped_kind(clipped, want),
        )
    return None


def _norms_problem(got: np.ndarray, want: np.ndarray) -> str | None:
    problem = compare.close(
        got, want, atol=PATH_RTOL * np.abs(want), tolerance_note=f"relative {PATH_RTOL:g}"
    )
    return compare.within("grad_norms (the norms before clipping)", problem)


def _rows_agreeing(got: np.ndarray, want: np.ndarray, atol: float) -> int:
    """How many leading iterates of ``got`` agree with ``want`` (within ``atol``, or equal)."""
    with np.errstate(invalid="ignore"):
        same = (np.abs(got - want) <= atol) | (got == want) | (np.isnan(got) & np.isnan(want))
    bad = ~same.reshape(len(got), -1).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else len(got)


def _as_float(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def _as_int_list(value: Any) -> list[int] | None:
    if isinstance(value, np.ndarray):
        value = list(value.ravel()) if value.ndim else None
    if not isinstance(value, list):
        return None
    result = []
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
            item = int(item)
        if not isinstance(item, int | np.integer):
            return None
        result.append(int(item))
    return result


def sgd_plain():
    rng = np.random.default_rng(521)
    return [
        sgd_case(bowl([1.0, -2.0], [1.0, 3.0]), [0.0, 0.0], 0.1, 25),
        sgd_case(
            bowl([0.5, 0.5, -1.0], [2.0, 1.0, 0.5], noise=rng.normal(0, 0.3, (30, 3))),
            [2.0, -1.0, 0.0],
            0.2,
            30,
        ),
        sgd_case(bowl([1.0, 1.0], [1.0, 1.0], lam=0.1, spikes=[(4, [3.0, -3.0])]), [0, 0], 0.1, 12),
        sgd_case(bowl([1.0], [1.0]), [3.0], 0.5, 0),
        # A gradient with inf at the last step: take it (norm inf or NaN) or raise.
        sgd_case(
            bowl([1.0, -1.0], [1.0, 2.0], spikes=[(5, [np.inf, 0.0])]),
            [0.0, 0.0],
            0.1,
            6,
            nonfinite_step=5,
        ),
    ]


def sgd_clipping():
    rng = np.random.default_rng(522)
    spiky = bowl(
        [1.0, -2.0],
        [1.0, 4.0],
        lam=0.5,
        spikes=[(5, [180.0, -120.0]), (17, [-90.0, 250.0]), (30, [400.0, 10.0])],
        noise=rng.normal(0, 0.05, (40, 2)),
    )
    return [
        sgd_case(spiky, [0.0, 0.0], 0.05, 40, max_norm=5.0),
        sgd_case(spiky, [3.0, 1.0], 0.05, 40, max_norm=20.0),
        sgd_case(bowl([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]), [30.0, -40.0, 0.0], 0.1, 15, max_norm=2.0),
        sgd_case(
            bowl([1.0, 2.0], [1.0, 2.0], noise=rng.normal(0, 0.1, (10, 2))), [1, 2], 0.1, 10, 1.0
        ),
        # The first gradient, [3, 4], has norm exactly max_norm = 5: step 0 is clipped.
        sgd_case(bowl([0.0, 0.0], [1.0, 1.0]), [3.0, 4.0], 0.1, 4, max_norm=5.0, boundary=True),
    ]


def sgd_hard():
    return [
        sgd_case(
            bowl([1.0, -1.0], [1.0, 2.0], spikes=[(3, [1e200, -2e200])]),
            [0.0, 0.0],
            0.1,
            8,
            max_norm=1.0,
        ),
        sgd_case(bowl([0.0, 0.0], [1.0, 2.0]), [1e-200, -3e-200], 0.1, 5),
        sgd_case(bowl([0.0, 0.0], [1.0, 2.0]), [1e-200, -3e-200], 0.1, 5, max_norm=1.0),
        # inf and NaN gradients cannot be clipped: FloatingPointError naming the step.
        sgd_case(
            bowl([1.0, -1.0], [1.0, 2.0], spikes=[(7, [np.inf, 1.0])]),
            [0.0, 0.0],
            0.1,
            10,
            max_norm=5.0,
            nonfinite_step=7,
        ),
        sgd_case(
            bowl([1.0, -1.0], [1.0, 2.0], spikes=[(3, [0.5, np.nan])]),
            [0.0, 0.0],
            0.1,
            6,
            max_norm=5.0,
            nonfinite_step=3,
        ),
    ]


# The graded names, their groups, points, descriptions and hints are declared in
# ex05_clipping.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
