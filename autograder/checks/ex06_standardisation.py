"""Checks for ex06_standardisation: ``fit_standardiser``, ``standardise``, ``welford``,
``fit_linear_regression_gd``, q1, q2.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex06_standardisation.toml``, read by :mod:`autograder.checks.declarations`; this
module builds the cases each group names.

Tolerances (u is the unit roundoff of the data's dtype, n the number of values, μ and σ the
exact mean and population standard deviation, all from exact rational arithmetic).

* Mean: any recursive or pairwise sum has error at most n·u·max|xᵢ|, so |error| ≤ 2·n·u·max|xᵢ|.
* Standard deviation: the two-pass algorithm has relative error about n·u, and Welford's update
  adds about u·|μ| per step through the rounded running mean, so
  |error| ≤ 8·u·(n·σ + |μ|) (the variance, twice that times σ). The textbook E[x²] - E[x]² has
  error about u·μ²/σ, which for μ = 1e9 and σ = 1 is hundreds of times σ itself (or a negative
  variance and a NaN), and fails by orders of magnitude.
* ``standardise``: (x - μ)/s or (x - μ)·(1/s) is two roundings per entry, so the error is at most
  4·u·(1 + |z|) for a standardised value z (standardised values are O(1), so the absolute term
  is in their natural unit). x/s - μ/s cancels and is off by about u·(|x| + |μ|)/s, which is
  inside that bound for ordinary data and about u·1e9 for an offset of 1e9.
* ``fit_linear_regression_gd`` is compared with the 60-digit least-squares solution. The cases
  have standardised features with correlation eigenvalues λ ≥ 0.3 (asserted), so gradient
  descent with step 0.1 contracts by at least 1 - 0.1·λ per step even if the loss is taken as
  ½·MSE instead of MSE, and 1000 steps reach the least-squares point to about 1e-13: weights
  are judged in standardised units, |Δwⱼ|·sⱼ ≤ 1e-7·(‖w_s‖ + σ_y), and the intercept with the
  same bound carried through b = b_s - μ·w. A run on raw features of wildly different scales
  diverges to inf/NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks.common import case, expect_raises, label
from autograder.checks.declarations import declared_checks
from autograder.judge import compare, oracle
from autograder.judge.compare import WRONG, Problem, unit_roundoff
from autograder.judge.feedback import exact, shorten
from autograder.judge.spec import Case, Check, Outcome

GD_TOL = 1e-7


def _std_tolerance(n: int, mean: float, std: float, dtype: Any) -> float:
    return 8 * unit_roundoff(dtype) * (n * std + abs(mean))


def _mean_tolerance(n: int, values: np.ndarray, dtype: Any) -> float:
    biggest = float(np.max(np.abs(values))) if values.size else 0.0
    return 2 * n * unit_roundoff(dtype) * biggest


def _float_part(value: Any, dtype: Any, shape: tuple[int, ...], what: str):
    """One part of a returned pair as a floating array of ``dtype`` and ``shape``."""
    outcome = {"status": "returned", "value": value, "type": type(value).__name__}
    array, problem = compare.float_array(outcome, dtype=dtype, shape=shape)
    return array, compare.within(what, problem)


def _float_parts(outcome: Outcome, what: str, *parts: tuple[Any, tuple[int, ...], str]):
    """The items of a returned tuple (``what``: "a pair (w, b)") as floating arrays, one
    ``(dtype, shape, name)`` per item: ``(arrays, None)``, or ``(None, problem)`` at the first
    item that is not one."""
    value, problem = compare.returned_items(outcome, what, len(parts))
    if problem:
        return None, problem
    arrays = []
    for item, (dtype, shape, name) in zip(value, parts, strict=True):
        array, problem = _float_part(item, dtype, shape, name)
        if problem:
            return None, problem
        arrays.append(array)
    return arrays, None


# ----------------------------------------------------------------------------- fit_standardiser


def fit_case(X: np.ndarray) -> Case:
    """A case for ``fit_standardiser(X)`` against the exact column means and deviations."""
    mean, std = oracle.column_mean_and_std(X)
    constant = (X == X[0]).all(axis=0)
    scale = np.where(constant, 1.0, std)
    n = X.shape[0]
    atol_mean = np.array([_mean_tolerance(n, c, X.dtype) for c in X.T.astype(np.float64)])
    pairs = zip(mean, std, strict=True)
    atol_scale = np.array([_std_tolerance(n, m, s, X.dtype) for m, s in pairs])
    d = X.shape[1]

    def verdict(case: Case, outcome: Outcome) -> str | None:
        parts = (X.dtype, (d,), "mean"), (X.dtype, (d,), "scale")
        arrays, problem = _float_parts(outcome, "a pair (mean, scale)", *parts)
        if problem:
            return problem
        got_mean, got_scale = arrays
        problem = compare.close(
            got_mean, mean, dtype=X.dtype, atol=atol_mean, tolerance_note="2·n·u·max|xᵢ|"
        )
        if problem:
            return compare.within("mean", problem)
        for j in np.flatnonzero(constant):
            if got_scale[j] != 1.0:
                return Problem(
                    f"scale: returned {exact(got_scale[j], X.dtype)} at index {j}, a constant "
                    "column, where 1.0 was expected",
                    WRONG,
                )
        problem = compare.close(
            got_scale, scale, dtype=X.dtype, atol=atol_scale, tolerance_note="8·u·(n·σ + |μ|)"
        )
        return compare.within("scale (the standard deviation, ddof=0)", problem)

    return case(label(X=X), [X], verdict)


def fit_basic():
    rng = np.random.default_rng(601)
    return [
        fit_case(rng.normal([5.0, -2.0, 0.0], [1.0, 3.0, 0.1], size=(30, 3))),
        fit_case(rng.uniform(-10, 10, size=(7, 2))),
        fit_case(np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])),
        fit_case(rng.normal([1.0, 4.0], [2.0, 0.5], size=(20, 2)).astype(np.float32)),
    ]


def fit_offset():
    rng = np.random.default_rng(602)
    return [
        fit_case(1e9 + rng.normal(0.0, 1.0, size=(200, 1))),
        fit_case(
            np.column_stack(
                [
                    1e9 + rng.normal(0.0, 1.0, 100),
                    1e6 + rng.uniform(0.0, 1e-3, 100),
                    -1e8 + rng.normal(0.0, 0.5, 100),
                ]
            )
        ),
        fit_case(np.column_stack([3e4 + rng.normal(0, 1e-4, 50), rng.normal(0, 1, 50)])),
    ]


def fit_constant():
    rng = np.random.default_rng(603)
    return [
        fit_case(np.column_stack([np.full(8, 3.0), rng.normal(0, 1, 8), np.full(8, -2.5)])),
        fit_case(np.column_stack([np.full(8, 1e9 + 0.5), rng.normal(0, 1, 8)])),
        fit_case(np.array([[4.0, -1.0, 2.5]])),
        fit_case(np.zeros((5, 2))),
        # A repeated decimal: the computed mean is not exactly 0.1, so np.std of the column is
        # about 1e-17 (float64) or 7e-9 (float32), not 0; only an exact test finds it constant.
        fit_case(np.column_stack([np.full(7, 0.1), rng.normal(0, 1, 7)])),
        fit_case(np.column_stack([rng.normal(0, 1, 7), np.full(7, 0.1)]).astype(np.float32)),
        # Nearly but not exactly constant (σ ≈ 2e-10 and 3e-8): the real deviation is kept; a
        # tolerance test such as std < 1e-6 replaces it by 1.0.
        fit_case(
            np.column_stack([1.0 + 1e-10 * np.arange(7.0), 5.0 + 1e-7 * rng.uniform(0, 1, 7)])
        ),
    ]


def fit_errors():
    rng = np.random.default_rng(604)
    with_nan = rng.normal(0, 1, (6, 3))
    with_nan[2, 1] = np.nan
    raises = expect_raises("ValueError")
    return [
        case(label(X=with_nan), [with_nan], raises),
        case(label(X=np.arange(5.0)), [np.arange(5.0)], raises),
        case(label(X=np.ones((2, 2, 2))), [np.ones((2, 2, 2))], raises),
    ]


# ----------------------------------------------------------------------------- standardise


def std_case(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> Case:
    """A case for ``standardise(X, mean, scale)`` against the exact (X - mean) / scale."""
    expected = oracle.standardise(X, mean, scale)
    shown = label(X=X, mean=mean, scale=scale)
    verdict_ = _standardise_verdict(expected, X.dtype)
    return case(shown, [X, mean, scale], verdict_)


def _standardise_verdict(expected: np.ndarray, dtype: Any):
    def verdict(case: Case, outcome: Outcome) -> str | None:
        got, problem = compare.float_array(outcome, dtype=dtype, shape=expected.shape)
        if problem:
            return problem
        atol = 4 * unit_roundoff(dtype) * (1.0 + np.abs(expected))
        return compare.close(got, expected, dtype=dtype, atol=atol, tolerance_note="4·u·(1 + |z|)")

    return verdict


def _fitted(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from solutions.standardisation import fit_standardiser

    return fit_standardiser(X)


def standardise_basic():
    rng = np.random.default_rng(611)
    train = rng.normal([0.5, -0.1, 2.0], [1.0, 0.2, 4.0], size=(25, 3))
    test = rng.normal([0.5, -0.1, 2.0], [1.0, 0.2, 4.0], size=(6, 3))
    mean, scale = _fitted(train)
    return [
        std_case(train, mean, scale),
        std_case(test, mean, scale),
        std_case(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2.0, 3.0]), np.array([1.0, 0.5])),
    ]


def standardise_offset():
    rng = np.random.default_rng(612)
    X = np.column_stack([1e9 + rng.normal(0, 1, 40), 5e5 + rng.normal(0, 1e-3, 40)])
    mean, scale = _fitted(X)
    return [std_case(X, mean, scale), std_case(X[:5] + 0.25, mean, scale)]


def standardise_dtype():
    rng = np.random.default_rng(613)
    X = rng.normal([0.5, -0.2], [2.0, 0.5], size=(12, 2)).astype(np.float32)
    mean, scale = _fitted(X)
    return [std_case(X, mean, scale)]


# ----------------------------------------------------------------------------- welford


def welford_case(batches: list[np.ndarray]) -> Case:
    """A case for ``welford(batches)`` (given as a one-shot generator) against exact statistics."""
    values = np.concatenate(batches) if batches else np.array([])
    n = int(values.size)
    mean, var = oracle.mean_and_variance(values)
    std = float(np.sqrt(var)) if n else np.nan
    atol_mean = _mean_tolerance(n, values, np.float64)
    atol_var = 2 * std * _std_tolerance(n, mean, std, np.float64) if n else 0.0

    def verdict(case: Case, outcome: Outcome) -> str | None:
        value, problem = compare.returned_items(outcome, "a triple (n, mean, var)", 3)
        if problem:
            return problem
        got_n = value[0]
        if isinstance(got_n, np.ndarray) and got_n.ndim == 0 and got_n.dtype.kind in "iu":
            got_n = int(got_n)
        if isinstance(got_n, bool) or not isinstance(got_n, int) or got_n != n:
            shown = shorten(got_n)
            return Problem(f"returned n = {shown} where the number of values is {n}", WRONG)
        for what, got, want, atol, note in (
            ("mean", value[1], mean, atol_mean, "2·n·u·max|xᵢ|"),
            ("var", value[2], var, atol_var, "16·u·σ·(n·σ + |μ|)"),
        ):
            array, problem = _float_part(got, np.float64, (), what)
            if problem:
                return problem
            problem = compare.close(array, want, atol=atol, tolerance_note=note)
            if problem:
                return compare.within(what, problem)
        return None

    return case(label(batches=batches), [batches], verdict, iterate=[0])


def welford_basic():
    rng = np.random.default_rng(621)
    return [
        welford_case([rng.normal(2.0, 3.0, 10), rng.normal(2.0, 3.0, 5), rng.normal(2.0, 3.0, 7)]),
        welford_case([rng.uniform(0, 1, 50)]),
        welford_case([np.array([1.0, 2.0]), np.array([3.0]), np.array([4.0, 5.0, 6.0])]),
        welford_case([rng.normal(-5, 1, 3) for _ in range(12)]),
        # float32 batches: the statistics are float64 whatever the input dtype
        welford_case([rng.normal(2.0, 3.0, 9).astype(np.float32), np.float32([0.5, 1.25])]),
    ]


def welford_offset():
    rng = np.random.default_rng(622)
    return [
        welford_case([1e9 + rng.normal(0, 1, size) for size in (100, 37, 250, 1)]),
        welford_case([1e9 + rng.normal(0, 1, 20), 1e9 + 10 + rng.normal(0, 1, 30)]),
        welford_case([-3e8 + rng.normal(0, 0.01, 64) for _ in range(5)]),
        welford_case([1e6 + rng.uniform(0, 1e-3, 80)]),
    ]


def welford_edges():
    return [
        welford_case([]),
        welford_case([np.array([]), np.array([])]),
        welford_case([np.array([]), np.array([2.0, 4.0]), np.array([]), np.array([6.0])]),
        welford_case([np.array([7.5])]),
        welford_case([np.array([1e9 + 0.5]), np.array([1e9 + 0.5, 1e9 + 0.5])]),
    ]


# ------------------------------------------------------------ fit_linear_regression_gd


def gd_case(X: np.ndarray, y: np.ndarray) -> Case:
    """A case for ``fit_linear_regression_gd(X, y)`` against the 60-digit least-squares fit."""
    w_star, b_star = oracle.least_squares(X, y)
    mean, std = oracle.column_mean_and_std(X)
    corr = np.corrcoef(X, rowvar=False).reshape(X.shape[1], X.shape[1])
    assert np.linalg.eigvalsh(corr).min() >= 0.3, "gradient descent would converge too slowly"
    w_std_units = w_star * std
    size = float(np.linalg.norm(w_std_units)) + float(np.std(y))
    atol_w = GD_TOL * size / std
    atol_b = GD_TOL * (abs(b_star) + size + float(np.sum(np.abs(mean) * size / std)))
    d = X.shape[1]
    note = f"{GD_TOL:g}·(‖w‖ + σ_y) in standardised units"

    def verdict(case: Case, outcome: Outcome) -> str | None:
        parts = (np.float64, (d,), "w"), (np.float64, (), "b")
        arrays, problem = _float_parts(outcome, "a pair (w, b)", *parts)
        if problem:
            return problem
        w, b = arrays
        problem = compare.close(w, w_star, atol=atol_w, tolerance_note=note)
        if problem:
            return compare.within("w (weights in the original units)", problem)
        problem = compare.close(b, b_star, atol=atol_b, tolerance_note=note)
        return compare.within("b (intercept in the original units)", problem)

    return case(label(X=X, y=y), [X, y], verdict)


def _standardised(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    raw = rng.normal(0.0, 1.0, size=(n, d))
    return (raw - raw.mean(axis=0)) / raw.std(axis=0)


def gd_basic():
    rng = np.random.default_rng(631)
    cases = []
    for n, w, b in ((60, [1.5, -2.0], 0.5), (80, [0.3, 2.0, -1.0], -3.0), (40, [4.0], 1.0)):
        X = _standardised(rng, n, len(w))
        y = X @ np.array(w) + b + rng.normal(0, 0.1, n)
        cases.append(gd_case(X, y))
    # float32 data: the weights are float64 whatever the input dtype
    X = _standardised(rng, 50, 2).astype(np.float32)
    y = (X.astype(np.float64) @ np.array([2.0, -1.0]) + 0.5 + rng.normal(0, 0.1, 50)).astype(
        np.float32
    )
    cases.append(gd_case(X, y))
    return cases


def gd_scales():
    rng = np.random.default_rng(632)
    n = 120
    salary = rng.normal(5e4, 1.5e4, n)
    age = rng.normal(40.0, 12.0, n)
    rate = rng.normal(1e-3, 3e-4, n)
    X1 = np.column_stack([salary, age, rate])
    y1 = 2e-3 * salary + 0.5 * age - 3e3 * rate + 7.0 + rng.normal(0, 1.0, n)
    revenue = rng.normal(1e6, 2e5, 90)
    margin = rng.normal(0.1, 0.02, 90)
    X2 = np.column_stack([revenue, margin])
    y2 = 1e-5 * revenue + 40.0 * margin + rng.normal(0, 0.5, 90)
    return [gd_case(X1, y1), gd_case(X2, y2)]


def gd_units():
    rng = np.random.default_rng(633)
    X = _standardised(rng, 70, 2) + np.array([12.0, -8.0])
    y = X @ np.array([1.0, 0.5]) + 2.0 + rng.normal(0, 0.2, 70)
    return [gd_case(X, y)]


# The graded names, their groups, points, descriptions and hints are declared in
# ex06_standardisation.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
