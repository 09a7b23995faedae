"""Drivers for ex05_clipping: gradient lists that must come back as fresh arrays, and SGD runs.

``fresh_arrays`` calls ``clip_by_value`` / ``clip_by_global_norm`` on copies of a list of
gradient arrays and records, besides the result, whether a returned array shares memory with an
argument (the contract asks for new arrays).

``sgd_run`` builds ``grad_fn(theta, step)`` from a plain-data description of an objective (a
quadratic bowl with a quartic rim, as in the chapter's spike study, plus gradient spikes injected
at given steps), runs the student's ``sgd_with_clipping`` with it and records the returned dict
as plain data together with the log of ``grad_fn`` calls. The verdict runs the same driver on
the reference implementation to get the expected data.

Neither imports :mod:`solutions`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from autograder.harness.calls import not_callable, record_return, run_protected, same
from autograder.harness.outcome import RETURNED, Outcome

MAX_LOGGED_CALLS = 10_000


def _arrays_in(value: Any, depth: int = 0) -> list[np.ndarray]:
    """Every ndarray inside a returned list/tuple structure (two levels deep)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, list | tuple) and depth < 2:
        return [a for item in value for a in _arrays_in(item, depth + 1)]
    return []


def fresh_arrays(
    obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Call ``obj(grads, *args, **kwargs)`` on copies; record the result and any aliasing.

    Payload keys: ``grads`` (a list of arrays), ``args`` (the other positional arguments),
    ``kwargs``. Outcome keys besides the harness's: ``value``/``type`` (the result as plain
    data), ``mutated`` (an argument changed in place) and ``aliased`` (a returned array shares
    memory with one of the gradient arrays passed in).
    """
    grads = [np.array(g, copy=True) for g in payload["grads"]]
    args = list(payload.get("args", []))
    kwargs = dict(payload.get("kwargs", {}))
    passed = [g.copy() for g in grads]
    call_args, call_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    if not callable(obj):
        return not_callable(obj)
    outcome, result = run_protected(
        lambda: obj(passed, *call_args, **call_kwargs),
        trap_overflow=trap_overflow,
        time_limit_s=time_limit,
    )
    outcome["mutated"] = not (
        same(grads, passed) and same(args, call_args) and same(kwargs, call_kwargs)
    )
    outcome["aliased"] = False
    if outcome["status"] == RETURNED:
        returned = _arrays_in(result)
        outcome["aliased"] = any(
            np.shares_memory(r, p) for r in returned for p in passed if r.size and p.size
        )
    return record_return(outcome, result)


def objective_gradient(problem: dict[str, Any], theta: np.ndarray, step: int) -> np.ndarray:
    """Gradient of ½(θ-c)ᵀA(θ-c) + (λ/4)‖θ-c‖⁴ at ``theta``, plus the spike of ``step``.

    ``problem`` holds ``A`` (d×d), ``center`` (d), ``lam`` and ``spikes`` (a list of
    ``[step, vector]`` pairs), optionally ``noise`` (an (n_steps, d) array added at each step,
    a deterministic stand-in for mini-batch noise).
    """
    # The grader's arithmetic, not the student's: inf, NaN and underflow are results here, so
    # the notebook's np.seterr (all="raise", say) must not turn them into exceptions.
    with np.errstate(all="ignore"):
        a = np.asarray(problem["A"], dtype=np.float64)
        d = np.asarray(theta, dtype=np.float64) - np.asarray(problem["center"], dtype=np.float64)
        grad = a @ d + problem["lam"] * float(d @ d) * d
        for spike_step, vector in problem.get("spikes", []):
            if spike_step == step:
                grad = grad + np.asarray(vector, dtype=np.float64)
        noise = problem.get("noise")
        if noise is not None and 0 <= step < len(noise):
            grad = grad + np.asarray(noise[step], dtype=np.float64)
    return grad


def sgd_run(
    obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Run ``obj(grad_fn, theta0, lr, n_steps[, max_norm=...])`` and log the calls to grad_fn.

    Payload keys: ``problem`` (see :func:`objective_gradient`), ``theta0``, ``lr``,
    ``n_steps`` and optionally ``max_norm`` (left out of the call when absent). Outcome keys
    besides the harness's: ``value`` (the returned dict as plain data), ``steps_seen`` (the
    ``step`` arguments of the calls, in order, as ints or their ``repr``), ``thetas_seen`` (the
    ``theta`` arguments as a float64 array, or ``None`` when one could not be read), and
    ``mutated`` (theta0 was changed in place).
    """
    problem = payload["problem"]
    theta0 = np.array(payload["theta0"], dtype=np.float64)
    passed_theta = theta0.copy()
    steps_seen: list[Any] = []
    thetas_seen: list[np.ndarray] = []
    readable = [True]

    def grad_fn(theta: Any, step: Any) -> np.ndarray:
        if len(steps_seen) < MAX_LOGGED_CALLS:
            is_int = isinstance(step, int | np.integer) and not isinstance(step, bool)
            steps_seen.append(int(step) if is_int else repr(step)[:40])
            try:
                thetas_seen.append(np.array(theta, dtype=np.float64).reshape(theta0.shape))
            except (TypeError, ValueError):
                readable[0] = False
        return objective_gradient(problem, np.asarray(theta, dtype=np.float64), step)

    kwargs = {"max_norm": payload["max_norm"]} if "max_norm" in payload else {}
    if not callable(obj):
        return not_callable(obj)
    outcome, result = run_protected(
        lambda: obj(grad_fn, passed_theta, payload["lr"], payload["n_steps"], **kwargs),
        trap_overflow=trap_overflow,
        time_limit_s=time_limit,
    )
    outcome["mutated"] = not np.array_equal(passed_theta, theta0)
    outcome["steps_seen"] = steps_seen
    outcome["thetas_seen"] = (
        np.array(thetas_seen).reshape((len(thetas_seen),) + theta0.shape) if readable[0] else None
    )
    return record_return(outcome, result)
