"""Checks for ex04_softmax: softmax, log_softmax, the fused losses, the autograd loss, q1–q3.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex04_softmax.toml``, read by :mod:`autograder.checks.declarations`; this module
builds the cases each group names.

Tolerances (u is the unit roundoff of the input's dtype, M = max |xᵢ| over the finite logits of
a row, n the row length).

* ``softmax``: relative, in ULPs. ∂ log pᵢ / ∂ xⱼ = δᵢⱼ - pⱼ, so a relative perturbation of size u
  in the logits moves log pᵢ by up to about 2·u·M: the problem's relative condition number is
  about 2M. The bound is 16·(M + log n + 1) ULPs of the dtype at the true value. Divide-by-sum
  (NumPy, ``scipy.special.softmax``, ``torch.softmax``) is within a few ULPs; exp(x - logsumexp(x))
  rounds x - logsumexp(x) to an absolute error of about u·M and so loses about M ULPs for large
  shifted inputs (chapter 4 measures this). It is still backward stable, so it passes: the bound
  follows the conditioning, not the best algorithm. A softmax that overflows, gives NaN (inf/inf,
  0/0) or flushes a representable probability to 0 fails.
* ``log_softmax``: absolute, 16·u·(M + log n + 1) per row: the result can be near 0 while the
  logits are large (chapter 3's conditioning argument for log-sum-exp).
* ``cross_entropy`` / ``bce_with_logits``: absolute, 16·u·(M + log C + 1) for the per-row losses
  plus 4·N·u·|loss| for averaging N of them.
* ``torch_cross_entropy``: the same bound for the value; the gradient (softmax - onehot)/N is
  judged entrywise with the absolute bound 16·u·(M + log C + 1)/N, which is what perturbing the
  logits by u relatively can do to it.

The numerically hard groups of the overflow-topic names run with overflow trapped. Rows that are
entirely -inf or contain +inf are not graded (EXERCISES.md).
"""

from __future__ import annotations

import math

import numpy as np

from autograder.checks.common import case, expect_close, expect_raises, label
from autograder.checks.declarations import declared_checks
from autograder.harness.drivers import ex04_softmax as drivers
from autograder.judge import compare, oracle
from autograder.judge.compare import (
    ACCURACY,
    DETACHED,
    DTYPE,
    EXCEPTION,
    MISSING_NAN,
    SHAPE,
    WRONG_TYPE,
    Problem,
    unit_roundoff,
)
from autograder.judge.feedback import shorten
from autograder.judge.spec import Case, Check, Outcome


def _row_scale(x: np.ndarray, axis: int) -> np.ndarray:
    """max |xᵢ| over the finite entries of each slice along ``axis`` (kept as a length-1 axis)."""
    finite = np.where(np.isfinite(x), np.abs(x.astype(np.float64)), 0.0)
    return finite.max(axis=axis, keepdims=True)


def softmax_case(x: np.ndarray, axis: int | None = None) -> Case:
    """A case for ``softmax(x[, axis])``, judged relatively against the mpmath oracle."""
    use_axis = -1 if axis is None else axis
    expected = oracle.softmax_axis(x, use_axis)
    n = x.shape[use_axis]
    bound = 16 * (_row_scale(x, use_axis) + math.log(n) + 1)
    ulps = float(bound.max())
    kwargs = {} if axis is None else {"axis": axis}
    verdict = expect_close(expected, dtype=x.dtype, ulps=ulps, note="16·(max|xᵢ| + log n + 1) ULPs")
    return case(label(x=x, **kwargs), [x], verdict, kwargs=kwargs)


def log_softmax_case(x: np.ndarray, axis: int | None = None) -> Case:
    """A case for ``log_softmax(x[, axis])``, judged absolutely, row by row."""
    use_axis = -1 if axis is None else axis
    expected = oracle.log_softmax_axis(x, use_axis)
    n = x.shape[use_axis]
    atol = 16 * unit_roundoff(x.dtype) * (_row_scale(x, use_axis) + math.log(n) + 1)
    atol = np.broadcast_to(atol, x.shape)
    kwargs = {} if axis is None else {"axis": axis}
    verdict = expect_close(expected, dtype=x.dtype, atol=atol, note="16·u·(max|xᵢ| + log n + 1)")
    return case(label(x=x, **kwargs), [x], verdict, kwargs=kwargs)


def _loss_atol(logits: np.ndarray, expected: float, n_items: int, n_classes: int) -> float:
    u = unit_roundoff(np.float64)
    scale = float(np.abs(logits).max()) if logits.size else 0.0
    return 16 * u * (scale + math.log(max(n_classes, 1)) + 1) + 4 * n_items * u * abs(expected)


def ce_case(logits: np.ndarray, targets: np.ndarray) -> Case:
    """A case for ``cross_entropy(logits, targets)`` against the mpmath oracle."""
    expected = oracle.cross_entropy(logits, targets)
    atol = _loss_atol(logits, expected, logits.shape[0], logits.shape[1])
    verdict = expect_close(
        expected, dtype=np.float64, atol=atol, note="16·u·(max|x| + log C + 1) + 4·N·u·|loss|"
    )
    return case(label(logits=logits, targets=targets), [logits, targets], verdict)


def bce_case(logits: np.ndarray, targets: np.ndarray) -> Case:
    """A case for ``bce_with_logits(logits, targets)`` against the mpmath oracle."""
    expected = oracle.bce_with_logits(logits, targets)
    atol = _loss_atol(logits, expected, logits.size, 2)
    verdict = expect_close(
        expected, dtype=np.float64, atol=atol, note="16·u·(max|x| + log 2 + 1) + 4·N·u·|loss|"
    )
    return case(label(logits=logits, targets=targets), [logits, targets], verdict)


def ordinary_logits(seed: int) -> list[np.ndarray]:
    """[1, 2, 3], ten logits drawn from N(0, 3²) and a 4 × 5 matrix drawn from N(0, 2²)."""
    rng = np.random.default_rng(seed)
    return [
        np.array([1.0, 2.0, 3.0]),
        rng.normal(0.0, 3.0, size=10),
        rng.normal(0.0, 2.0, size=(4, 5)),
    ]


# (shape, axis) of the random logits that test the axis argument.
AXES = (((4, 4), 0), ((3, 5), 0), ((2, 3, 4), 1), ((3, 4), -1))


def masked_logits() -> list[np.ndarray]:
    """Logits with -inf entries (masks) in some positions, never a whole row."""
    inf = np.inf
    return [
        np.array([0.0, -inf, 1.0]),
        np.array([[2.0, -inf, -inf], [-inf, 3.0, 1.0], [0.5, -inf, -2.0]]),
    ]


def logits_along_axes(seed: int, axes: tuple) -> list[tuple[np.ndarray, int]]:
    """``(logits, axis)`` for each ``(shape, axis)`` of ``axes``: logits drawn from N(0, 3²)."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.0, 3.0, size=shape), axis) for shape, axis in axes]


# ----------------------------------------------------------------------------- softmax


def softmax_basic():
    return [softmax_case(x) for x in [*ordinary_logits(401), np.array([0.5])]]


def softmax_large():
    rng = np.random.default_rng(402)
    return [
        softmax_case(np.array([1000.0, 1000.0])),
        softmax_case(np.array([1000.0, 1001.0, 999.0])),
        softmax_case(np.array([-1000.0, -1001.0, -999.0])),
        softmax_case(1e4 + rng.normal(0.0, 1.0, size=8)),
        softmax_case(
            np.array([[0.0, 1.0, 2.0], [-1000.0, -1001.0, -1000.5], [800.0, 0.0, -800.0]])
        ),
        softmax_case(np.array([1e4, -1e4, 0.0])),
        # Every exp(xᵢ) is subnormal: unshifted, the probabilities keep about three digits.
        softmax_case(np.array([-740.0, -741.0, -739.5])),
    ]


def softmax_masked():
    return [softmax_case(x) for x in masked_logits()]


def softmax_axis():
    return [softmax_case(x, axis=axis) for x, axis in logits_along_axes(403, AXES)]


def softmax_float32():
    rng = np.random.default_rng(404)
    return [
        softmax_case(rng.normal(0.0, 3.0, size=(3, 6)).astype(np.float32)),
        softmax_case(np.array([100.0, 101.0, 99.0], dtype=np.float32)),
        softmax_case(np.array([-120.0, -121.0, -119.5], dtype=np.float32)),
        softmax_case(np.array([-100.0, -101.0, -99.5], dtype=np.float32)),  # subnormal exp
    ]


# ----------------------------------------------------------------------------- log_softmax


def log_softmax_basic():
    return [log_softmax_case(x) for x in ordinary_logits(411)]


def log_softmax_large():
    rng = np.random.default_rng(412)
    return [
        log_softmax_case(np.array([0.0, -1000.0])),
        log_softmax_case(np.array([1000.0, 1000.0])),
        log_softmax_case(np.array([1000.0, 1001.0, 999.0])),
        log_softmax_case(1e4 * rng.normal(0.0, 1.0, size=6)),
        log_softmax_case(np.array([[0.0, 1.0], [-1000.0, -1e4], [800.0, -800.0]])),
        log_softmax_case(np.array([-740.0, -741.0, -739.5])),  # every exp(xᵢ) subnormal
    ]


def log_softmax_masked():
    return [log_softmax_case(x) for x in masked_logits()]


def log_softmax_axis():
    return [log_softmax_case(x, axis=axis) for x, axis in logits_along_axes(413, AXES[:3])]


def log_softmax_float32():
    rng = np.random.default_rng(414)
    return [
        log_softmax_case(rng.normal(0.0, 3.0, size=(3, 6)).astype(np.float32)),
        log_softmax_case(np.array([100.0, 101.0, 99.0], dtype=np.float32)),
        log_softmax_case(np.array([0.0, -200.0], dtype=np.float32)),
        log_softmax_case(np.array([-100.0, -101.0, -99.5], dtype=np.float32)),  # subnormal exp
    ]


# ----------------------------------------------------------------------------- cross_entropy


def ce_basic():
    rng = np.random.default_rng(421)
    return [
        ce_case(np.array([[1.0, 2.0, 3.0]]), np.array([2])),
        ce_case(rng.normal(0.0, 2.0, size=(6, 4)), rng.integers(0, 4, size=6)),
        ce_case(rng.normal(0.0, 1.0, size=(3, 10)), np.array([0, 9, 5])),
    ]


def ce_large():
    rng = np.random.default_rng(422)
    return [
        ce_case(np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), np.array([0, 0])),
        ce_case(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1])),
        ce_case(1e4 * rng.normal(0.0, 1.0, size=(4, 5)), np.array([0, 1, 2, 3])),
        ce_case(np.array([[-800.0, -801.0, -802.0]]), np.array([2])),
        ce_case(np.array([[-740.0, -741.0, -739.5]]), np.array([1])),  # every exp(xᵢ) subnormal
    ]


def empty_batch_verdict(case: Case, outcome: Outcome) -> str | None:
    """N = 0: nan, as ``F.cross_entropy`` returns (the mean of no losses), or a ValueError."""
    if outcome["status"] == "raised" and outcome["exc_type"] == "ValueError":
        return compare.raised(outcome, "ValueError")
    got, problem = compare.float_array(outcome, dtype=np.float64, shape=())
    if problem:
        return problem
    if not np.isnan(got):
        return Problem(
            f"returned {shorten(got.item())} for an empty batch (N = 0), where the mean of no "
            "losses is nan, as F.cross_entropy returns (raising ValueError is accepted too)",
            MISSING_NAN,
        )
    return None


def ce_errors():
    logits = np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]])
    raises = expect_raises("ValueError")
    empty_logits, empty_targets = np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    return [
        case(label(logits=logits, targets=np.array([0, 3])), [logits, np.array([0, 3])], raises),
        case(label(logits=logits, targets=np.array([-1, 0])), [logits, np.array([-1, 0])], raises),
        case(
            label(logits=logits, targets=np.array([0, 1, 2])), [logits, np.array([0, 1, 2])], raises
        ),
        case(
            label(logits=empty_logits, targets=empty_targets) + " (N = 0)",
            [empty_logits, empty_targets],
            empty_batch_verdict,
        ),
    ]


# ----------------------------------------------------------------------------- bce_with_logits


def bce_basic():
    rng = np.random.default_rng(431)
    return [
        bce_case(np.array([0.0, 2.0, -1.5]), np.array([1.0, 0.0, 1.0])),
        bce_case(rng.normal(0.0, 3.0, size=10), rng.integers(0, 2, size=10).astype(np.float64)),
        bce_case(rng.normal(0.0, 2.0, size=(3, 4)), rng.uniform(0.0, 1.0, size=(3, 4))),
    ]


def bce_large():
    return [
        bce_case(np.array([40.0, -40.0]), np.array([0.0, 1.0])),
        bce_case(np.array([1000.0, -1000.0, 800.0]), np.array([1.0, 0.0, 0.0])),
        bce_case(np.array([1e4, -1e4, 1e4, -1e4]), np.array([0.0, 1.0, 1.0, 0.0])),
        bce_case(np.array([[750.0, -750.0], [-30.0, 30.0]]), np.array([[0.25, 0.75], [0.5, 0.5]])),
    ]


def bce_errors():
    raises = expect_raises("ValueError")
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0])
    m, v = np.zeros((2, 3)), np.ones(3)
    return [
        case(label(logits=a, targets=b), [a, b], raises),
        case(label(logits=m, targets=v), [m, v], raises),
    ]


# ----------------------------------------------------------------------------- torch_cross_entropy


def _torch_case(logits: np.ndarray, targets: np.ndarray, dtype: str, parts: tuple[str, ...]):
    """A driver case: check the loss value and/or the gradient (``parts``) of one call."""
    exact = logits.astype(dtype).astype(np.float64)  # the logits as the tensor holds them
    n_rows, n_classes = exact.shape
    u = unit_roundoff(np.dtype(dtype))
    value = oracle.cross_entropy(exact, targets)
    scale = float(np.abs(exact).max()) + math.log(n_classes) + 1
    value_atol = 16 * u * scale + 4 * n_rows * u * abs(value)
    grad = oracle.cross_entropy_grad(exact, targets)
    grad_atol = 16 * u * scale / n_rows

    def verdict(case: Case, outcome: Outcome) -> str | None:
        gradient = "gradient" in parts
        return (
            compare.returned(outcome)
            or (_tensor_problem(outcome, dtype) if gradient else None)
            or _loss_problem(outcome, dtype, value, value_atol)
            or (_gradient_problem(outcome, grad, grad_atol) if gradient else None)
        )

    payload = {"logits": exact, "targets": np.asarray(targets, dtype=np.int64), "dtype": dtype}
    shown = f"{label(logits=exact, targets=targets)} as a {dtype} tensor"
    return Case(shown, payload, verdict, harness=drivers.torch_cross_entropy)


def _tensor_problem(outcome: Outcome, dtype: str) -> Problem | None:
    """What is wrong with the returned loss as a tensor autograd can differentiate: not a
    tensor, another dtype than the logits', not 0-d, cut from the graph, or a failed
    ``backward()``."""
    if not outcome["is_tensor"]:
        return Problem(
            f"returned a {outcome['type']} ({shorten(outcome.get('value'))}), not a "
            "torch.Tensor — the loss must stay a tensor so autograd can differentiate it",
            WRONG_TYPE,
        )
    if outcome["dtype"] != dtype:
        return Problem(f"changed dtype {dtype} → {outcome['dtype']}", DTYPE)
    if outcome["shape"]:
        return Problem(
            f"returned a tensor of shape {tuple(outcome['shape'])}, not a 0-d scalar", SHAPE
        )
    if not outcome["attached"]:
        return Problem(
            "returned a tensor that is not connected to the autograd graph (no grad_fn): "
            "a conversion to NumPy or a Python float, .detach() or torch.no_grad() cut it",
            DETACHED,
        )
    if outcome["backward"] != "ok":
        return Problem(f"loss.backward() failed: {outcome['backward']}", EXCEPTION)
    return None


def _loss_problem(outcome: Outcome, dtype: str, value: float, atol: float) -> Problem | None:
    """The returned loss against the true ``value``: one number within ``atol``. A failure says
    whether the log of an underflowed probability, NaN gradients or a changed dtype explain it."""
    got = outcome["value"]
    if isinstance(got, dict) or isinstance(got, list | str) or got is None:
        return Problem(f"returned {shorten(got)} where a number was expected", WRONG_TYPE)
    got = np.asarray(got, dtype=np.float64)
    if got.size != 1:
        return Problem(f"returned {got.size} numbers where one loss was expected", SHAPE)
    problem = compare.close(
        got.reshape(()),
        value,
        dtype=np.float64,
        atol=atol,
        tolerance_note="16·u·(max|x| + log C + 1) + 4·N·u·|loss|",
    )
    if not problem:
        return None
    suffix = ""
    if np.isinf(got).all() and math.isfinite(value):
        suffix += " (or the log of a probability that underflowed to 0)"
    grad_got = outcome.get("grad")
    if grad_got is not None and np.isnan(grad_got).any():
        suffix += f"; and loss.backward() gave {int(np.isnan(grad_got).sum())} NaN gradient entries"
    got_dtype = outcome.get("dtype") if outcome.get("is_tensor") else None
    if got_dtype and got_dtype != dtype and compare.kind_of(problem) == ACCURACY:
        return Problem(
            f"loss value: {problem}{suffix}; the loss came back as a {got_dtype} tensor "
            f"for {dtype} logits",
            DTYPE,
        )
    return compare.within("loss value", problem, suffix)


def _gradient_problem(outcome: Outcome, grad: np.ndarray, atol: float) -> Problem | None:
    """The logits' gradient after ``loss.backward()`` against the true ``grad``."""
    if outcome["grad"] is None:
        return Problem("after loss.backward() the logits have no gradient", DETACHED)
    problem = compare.close(
        outcome["grad"],
        grad,
        dtype=np.float64,
        atol=atol,
        tolerance_note="16·u·(max|x| + log C + 1)/N",
    )
    return compare.within("gradient w.r.t. the logits", problem)


def tce_value():
    rng = np.random.default_rng(441)
    return [
        _torch_case(np.array([[1.0, 2.0, 3.0]]), np.array([0]), "float32", ("value",)),
        _torch_case(rng.normal(0, 2, (5, 4)), rng.integers(0, 4, 5), "float32", ("value",)),
        _torch_case(rng.normal(0, 2, (3, 6)), np.array([5, 0, 2]), "float64", ("value",)),
    ]


def tce_gradient():
    rng = np.random.default_rng(442)
    parts = ("value", "gradient")
    return [
        _torch_case(np.array([[1.0, 2.0, 3.0]]), np.array([0]), "float32", parts),
        _torch_case(rng.normal(0, 2, (5, 4)), rng.integers(0, 4, 5), "float32", parts),
        _torch_case(rng.normal(0, 2, (3, 6)), np.array([5, 0, 2]), "float64", parts),
    ]


def tce_large():
    rng = np.random.default_rng(443)
    parts = ("value", "gradient")
    return [
        _torch_case(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]), "float32", parts),
        _torch_case(np.array([[1000.0, 0.0, -1000.0]]), np.array([2]), "float32", parts),
        _torch_case(1e4 * rng.normal(0, 1, (3, 4)), np.array([0, 1, 2]), "float32", parts),
        _torch_case(np.array([[-1e4, -1e4 + 1.0, -1e4 - 2.0]]), np.array([1]), "float32", parts),
    ]


# The graded names, their groups, points, descriptions and hints are declared in
# ex04_softmax.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
