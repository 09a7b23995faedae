"""Every oracle in autograder.judge.oracle against values known independently: closed forms, exact
rationals, or mpmath at 250 digits written the naive way (which is exact at that precision for
these inputs), including the edges each docstring states (NaN, infinities, empty inputs, tiny
results that a float64 formula would lose, shapes and axes).

The checks trust these numbers as "the true value", so each is pinned exactly (one rounding
to float64) wherever the docstring promises that.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from autograder.judge import oracle

INF, NAN = math.inf, math.nan
LOG2 = math.log(2)


def precise(function) -> float:
    """``function(mp)`` evaluated with 250 significant digits, rounded once to float64."""
    with mpmath.workdps(250):
        return float(function(mpmath.mp))


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


# ------------------------------------------------------------------ log-sum-exp family


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 0.0], LOG2),
        ([1000.0, 1000.0], 1000.0 + LOG2),
        ([-1000.0, -1000.0], -1000.0 + LOG2),
        ([5.0], 5.0),
        ([-INF, 3.0], 3.0),
        ([], -INF),
        ([-INF, -INF], -INF),
        ([INF, 1.0], INF),
        ([INF, -INF], INF),
    ],
)
def test_logsumexp_known_values(values, expected):
    assert oracle.logsumexp(values) == expected


def test_logsumexp_nan_wins_over_inf_and_tiny_results_keep_their_digits():
    assert is_nan(oracle.logsumexp([INF, NAN])) and is_nan(oracle.logsumexp([NAN]))
    assert oracle.logsumexp([0.0, -40.0]) == precise(lambda mp: mp.log(1 + mp.exp(-40)))
    # beyond the working precision: log(1 + e^-200) at 60 digits is 0, log1p keeps it
    assert oracle.logsumexp([0.0, -200.0]) == precise(lambda mp: mp.log1p(mp.exp(-200)))
    three = [2.0, -1.0, 0.5]
    assert oracle.logsumexp(three) == precise(lambda mp: mp.log(sum(mp.exp(v) for v in three)))
    assert oracle.logsumexp([-50.0, 0.0, -60.0]) == precise(
        lambda mp: mp.log(1 + mp.exp(-50) + mp.exp(-60))
    )


def test_logsumexp_axis_shapes_axes_and_keepdims():
    x = np.array([[0.0, 1.0, 2.0], [3.0, -INF, 5.0]])
    rows = np.array([oracle.logsumexp(row) for row in x])
    columns = np.array([oracle.logsumexp(column) for column in x.T])
    assert np.array_equal(oracle.logsumexp_axis(x, 1), rows)
    assert np.array_equal(oracle.logsumexp_axis(x, -1), rows)
    assert np.array_equal(oracle.logsumexp_axis(x, 0), columns)
    assert np.array_equal(oracle.logsumexp_axis(x, 1, keepdims=True), rows[:, None])
    assert np.array_equal(oracle.logsumexp_axis(x, 0, keepdims=True), columns[None, :])
    everything = oracle.logsumexp(x.ravel())
    assert oracle.logsumexp_axis(x, None) == everything
    assert oracle.logsumexp_axis(x, None).shape == ()
    assert oracle.logsumexp_axis(x, None, keepdims=True).shape == (1, 1)
    assert oracle.logsumexp_axis(x, None, keepdims=True)[0, 0] == everything
    assert oracle.logsumexp_axis([1, 2], 0).dtype == np.float64


def test_logsumexp_axis_of_empty_arrays_is_minus_inf():
    assert np.array_equal(oracle.logsumexp_axis(np.zeros((0, 3)), 0), np.full(3, -INF))
    assert oracle.logsumexp_axis(np.zeros((2, 0)), 1).tolist() == [-INF, -INF]
    assert oracle.logsumexp_axis(np.zeros((2, 0)), 1, keepdims=True).shape == (2, 1)
    assert oracle.logsumexp_axis(np.zeros((0, 3)), 1).shape == (0,)
    assert oracle.logsumexp_axis(np.zeros(0), None) == -INF
    assert oracle.logsumexp_axis(np.zeros((2, 0, 3)), 1).tolist() == [[-INF] * 3] * 2


def test_logsumexp_axis_of_three_dimensions():
    cube = np.arange(24.0).reshape(2, 3, 4) / 5
    expected = np.array([[oracle.logsumexp(cube[i, :, k]) for k in range(4)] for i in range(2)])
    assert np.array_equal(oracle.logsumexp_axis(cube, 1), expected)
    assert oracle.logsumexp_axis(cube, -1).shape == (2, 3)


def test_logaddexp_follows_numpy_conventions():
    assert oracle.logaddexp(0.0, 0.0) == LOG2
    assert oracle.logaddexp(-INF, -INF) == -INF
    assert oracle.logaddexp(INF, -INF) == INF
    assert oracle.logaddexp(-INF, 2.0) == 2.0
    assert is_nan(oracle.logaddexp(NAN, 1.0))
    assert oracle.logaddexp(1.0, -3.0) == precise(lambda mp: mp.log(mp.exp(1) + mp.exp(-3)))


# ------------------------------------------------------------------ sigmoid and softplus


def test_sigmoid_values_and_edges():
    assert oracle.sigmoid(0.0) == 0.5
    assert oracle.sigmoid(INF) == 1.0 and oracle.sigmoid(-INF) == 0.0
    assert is_nan(oracle.sigmoid(NAN))
    assert oracle.sigmoid(2.0) == precise(lambda mp: 1 / (1 + mp.exp(-2)))
    assert oracle.sigmoid(-40.0) == precise(lambda mp: 1 / (1 + mp.exp(40)))


def test_softplus_values_and_edges():
    assert oracle.softplus(0.0) == LOG2
    assert oracle.softplus(INF) == INF and oracle.softplus(-INF) == 0.0
    assert is_nan(oracle.softplus(NAN))
    assert oracle.softplus(-40.0) == precise(lambda mp: mp.log(1 + mp.exp(-40)))
    assert oracle.softplus(800.0) == 800.0
    assert oracle.softplus(1.5) == precise(lambda mp: mp.log(1 + mp.exp(1.5)))


# ------------------------------------------------------------------ softmax family


def test_softmax_and_log_softmax_of_one_row():
    row = [1.0, 2.0, 3.0]
    total = lambda mp: sum(mp.exp(v) for v in row)  # noqa: E731
    expected = [precise(lambda mp, v=v: mp.exp(v) / total(mp)) for v in row]
    assert oracle.softmax(row).tolist() == expected
    log_expected = [precise(lambda mp, v=v: v - mp.log(total(mp))) for v in row]
    assert oracle.log_softmax(row).tolist() == log_expected
    assert oracle.softmax([0.0, 0.0]).tolist() == [0.5, 0.5]
    assert oracle.log_softmax([0.0, 0.0]).tolist() == [-LOG2, -LOG2]


def test_minus_inf_logits_give_exactly_zero_probability():
    assert oracle.softmax([0.0, -INF]).tolist() == [1.0, 0.0]
    assert oracle.softmax([1000.0, 1000.0, -INF]).tolist() == [0.5, 0.5, 0.0]
    assert oracle.log_softmax([0.0, -INF]).tolist() == [0.0, -INF]
    assert oracle.log_softmax([1000.0, 0.0]).tolist() == [
        precise(lambda mp: -mp.log(1 + mp.exp(-1000))),
        precise(lambda mp: -1000 - mp.log(1 + mp.exp(-1000))),
    ]


def test_log_softmax_keeps_a_dominant_class_log_probability_near_zero():
    # log Σ exp of the whole row rounds 1 + e^-111 at the working precision: the dominant
    # class's -6.2e-49 came out about 18,000 ULPs off before log1p of the other terms
    assert oracle.log_softmax([111.0, 0.0]).tolist() == [
        precise(lambda mp: -mp.log1p(mp.exp(-111))),
        precise(lambda mp: -111 - mp.log1p(mp.exp(-111))),
    ]
    assert oracle.log_softmax([0.0, 40.0, -INF, 40.0])[1] == precise(
        lambda mp: -mp.log(2 + mp.exp(-40))
    )


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_the_axis_versions_apply_the_row_version_along_the_axis(function):
    row_version = getattr(oracle, function)
    axis_version = getattr(oracle, f"{function}_axis")
    x = np.array([[0.0, 1.0, 5.0], [2.0, 2.0, -1.0]])
    rows = np.array([row_version(row) for row in x])
    assert np.array_equal(axis_version(x), rows)
    assert np.array_equal(axis_version(x, axis=1), rows)
    columns = np.array([row_version(column) for column in x.T]).T
    assert np.array_equal(axis_version(x, axis=0), columns)
    cube = np.arange(24.0).reshape(2, 3, 4) / 7
    middle = np.moveaxis(
        np.array([[row_version(r) for r in m] for m in cube.transpose(0, 2, 1)]), 1, 2
    )
    assert np.array_equal(axis_version(cube, axis=1), middle)
    assert axis_version([[1, 2]]).dtype == np.float64


# ------------------------------------------------------------------ losses


def test_cross_entropy_is_the_mean_row_loss():
    assert oracle.cross_entropy([[0.0, 0.0]], [0]) == LOG2
    logits = [[0.0, 0.0], [5.0, 0.0]]
    assert oracle.cross_entropy(logits, [1, 0]) == precise(
        lambda mp: (mp.log(2) + mp.log(1 + mp.exp(-5))) / 2
    )
    assert oracle.cross_entropy(np.array(logits), np.array([1.0, 0.0])) == oracle.cross_entropy(
        logits, [1, 0]
    )
    with pytest.raises(ValueError):
        oracle.cross_entropy(logits, [0])


def test_cross_entropy_of_a_nearly_certain_row_keeps_its_relative_accuracy():
    # e^-200 is far below 60 digits of 200: only the split-off maximum keeps it
    assert oracle.cross_entropy([[200.0, 0.0]], [0]) == precise(lambda mp: mp.exp(-200))
    assert oracle.cross_entropy([[0.0, 200.0, 1.0]], [1]) == precise(
        lambda mp: mp.log(1 + mp.exp(-200) + mp.exp(-199))
    )


def test_cross_entropy_grad_is_softmax_minus_onehot_over_n():
    logits = np.array([[0.0, 0.0], [1.0, 3.0]])
    grad = oracle.cross_entropy_grad(logits, [0, 1])
    p = 1 / (1 + math.exp(-2))  # softmax of the 3 in the second row
    assert grad[0].tolist() == [-0.25, 0.25]
    assert grad[1].tolist() == [
        precise(lambda mp: (1 / (1 + mp.exp(2))) / 2),
        precise(lambda mp: -(1 / (1 + mp.exp(2))) / 2),
    ]
    assert abs(grad[1, 1] - (p - 1) / 2) < 1e-16
    # the target entry of a nearly certain row, p - 1, keeps its digits
    certain = oracle.cross_entropy_grad(np.array([[40.0, 0.0]]), [0])
    assert certain[0, 0] == precise(lambda mp: -mp.exp(-40) / (1 + mp.exp(-40)))


def test_bce_with_logits_values():
    assert oracle.bce_with_logits([0.0], [0.0]) == LOG2
    assert oracle.bce_with_logits([40.0], [1.0]) == precise(lambda mp: mp.log(1 + mp.exp(-40)))
    assert oracle.bce_with_logits([-40.0], [0.0]) == precise(lambda mp: mp.log(1 + mp.exp(-40)))
    assert oracle.bce_with_logits([3.0], [0.25]) == precise(
        lambda mp: mp.log(1 + mp.exp(3)) - 3 * mp.mpf(0.25)
    )
    assert oracle.bce_with_logits([[2.0, -1.0]], [[1.0, 0.0]]) == precise(
        lambda mp: (mp.log(1 + mp.exp(-2)) + mp.log(1 + mp.exp(-1))) / 2
    )
    with pytest.raises(ValueError):
        oracle.bce_with_logits([1.0, 2.0], [1.0])


def test_clipped_bce_clips_in_float64_then_takes_exact_logs():
    assert oracle.clipped_bce([1.0], [0.5]) == LOG2
    assert oracle.clipped_bce([1.0], [0.0]) == precise(lambda mp: -mp.log(mp.mpf(1e-7)))
    q = 1.0 - 1e-7  # the float64 an implementation computes
    assert oracle.clipped_bce([0.0], [1.0]) == precise(lambda mp: -mp.log(1 - mp.mpf(q)))
    assert oracle.clipped_bce([1.0], [0.0], eps=1e-3) == precise(lambda mp: -mp.log(mp.mpf(1e-3)))
    assert oracle.clipped_bce([0.0, 1.0], [0.25, 0.5]) == precise(
        lambda mp: (-mp.log(mp.mpf(0.75)) - mp.log(mp.mpf(0.5))) / 2
    )
    # float32 probabilities are clipped to the float64 bounds, not to float32(1 - eps)
    assert oracle.clipped_bce([0.0], np.array([1.0], dtype=np.float32)) == oracle.clipped_bce(
        [0.0], [1.0]
    )
    with pytest.raises(ValueError):
        oracle.clipped_bce([1.0, 0.0], [0.5])
    assert oracle.clipped_bce([0.5], [0.25]) == precise(
        lambda mp: -(mp.mpf(0.5) * mp.log(mp.mpf(0.25)) + mp.mpf(0.5) * mp.log(mp.mpf(0.75)))
    )


def test_log_product_sums_exact_logs():
    assert oracle.log_product([]) == 0.0
    assert oracle.log_product([0.5, 0.0]) == -INF
    assert oracle.log_product([0.5, 0.25]) == -3 * LOG2
    assert oracle.log_product([1.0, 0.5]) == -LOG2
    assert oracle.log_product([1e-300] * 3) == precise(lambda mp: 3 * mp.log(mp.mpf(1e-300)))


def test_exact_sum_rounds_once():
    assert oracle.exact_sum([1e16, 1.0, -1e16]) == 1.0
    assert oracle.exact_sum([0.1] * 10) == 1.0
    assert oracle.exact_sum([np.float32(0.1)]) == float(np.float32(0.1))
    assert oracle.exact_sum([]) == 0.0


# ------------------------------------------------------------------ formats and ULPs


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_format_exact_matches_numpy(dtype):
    info = np.finfo(dtype)
    values = oracle.float_format_exact(info.nexp, info.nmant)
    assert values == {
        "max": float(info.max),
        "min_normal": float(info.smallest_normal),
        "min_subnormal": float(info.smallest_subnormal),
        "eps": float(info.eps),
    }


def test_float_format_exact_of_bfloat16():
    assert oracle.float_format_exact(8, 7) == {
        "max": (2 - 2**-7) * 2.0**127,
        "min_normal": 2.0**-126,
        "min_subnormal": 2.0**-133,
        "eps": 2.0**-7,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1), 0),
        (Fraction(3), 1),
        (Fraction(4), 2),
        (Fraction(7, 8), -1),
        (Fraction(1, 4), -2),
        (Fraction(1, 3), -2),
        (Fraction(5, 4), 0),
        (Fraction(2**60 - 1), 59),
        (Fraction(1, 2**60 + 1), -61),
    ],
)
def test_floor_log2_is_exact(value, expected):
    assert oracle._floor_log2(value) == expected


@pytest.mark.parametrize(
    ("x", "dtype", "expected"),
    [
        (1.0, np.float32, 2.0**-23),
        (-2.0, np.float16, 2.0**-9),
        (3.0, np.float64, 2.0**-51),
        (0.0, np.float32, 2.0**-149),
        (-0.0, np.float64, 2.0**-1074),
        (1e-45, np.float32, 2.0**-149),
        (2.0**-126, np.float32, 2.0**-149),
        (np.nextafter(2.0, 0.0), np.float64, 2.0**-52),
        (2.0 - 2.0**-30, np.float32, 2.0**-22),  # rounds up to 2.0 in float32
        (65504.0, np.float16, 32.0),
    ],
)
def test_ulp_exact_at_the_rounded_value(x, dtype, expected):
    assert oracle.ulp_exact(x, dtype) == expected


def test_rounding_to_a_narrower_format_warns_of_no_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            assert is_nan(oracle.ulp_exact(1e39, np.float32))
            with pytest.raises(ValueError):
                oracle.ulps_between_exact(1.0, 1e39, np.float32)


def test_ulp_exact_of_what_is_not_finite_in_the_format_is_nan():
    assert is_nan(oracle.ulp_exact(INF, np.float64))
    assert is_nan(oracle.ulp_exact(NAN, np.float32))
    assert is_nan(oracle.ulp_exact(1e39, np.float32))  # rounds to inf in float32


@pytest.mark.parametrize(
    ("a", "b", "dtype", "expected"),
    [
        (1.0, np.nextafter(1.0, 2.0), np.float64, 1),
        (np.nextafter(1.0, 0.0), 1.0, np.float64, 1),
        (0.0, -0.0, np.float64, 0),
        (-(2.0**-1074), 2.0**-1074, np.float64, 2),
        (2.0**-1022 - 2.0**-1074, 2.0**-1022, np.float64, 1),
        (1.0, 2.0, np.float16, 1024),
        (2.0, 1.0, np.float16, 1024),
        (-1.0, 1.0, np.float16, 2 * 15 * 1024),
        (1.0, 1.0 + 2.0**-30, np.float32, 0),
        (0.0, 2.0**-126, np.float32, 2**23),
        (0.0, 65504.0, np.float16, 31 * 1024 - 1),
    ],
)
def test_ulps_between_exact_counts_grid_steps(a, b, dtype, expected):
    assert oracle.ulps_between_exact(a, b, dtype) == expected


def test_ulps_between_exact_refuses_what_is_not_finite():
    for a, b in ((INF, 1.0), (1.0, NAN), (1.0, 1e39)):
        with pytest.raises(ValueError, match="^ulps_between_exact: finite values only$"):
            oracle.ulps_between_exact(a, b, np.float32)


def test_grid_index_counts_from_zero():
    assert oracle._grid_index(0.0, np.float16) == 0
    assert oracle._grid_index(2.0**-24, np.float16) == 1
    assert oracle._grid_index(2.0**-14, np.float16) == 1024
    assert oracle._grid_index(1.0, np.float16) == 15 * 1024
    assert oracle._grid_index(-1.0, np.float16) == -15 * 1024
    with pytest.raises(AssertionError, match="^value is not on the grid$"):
        oracle._grid_index(1.0 + 2.0**-30, np.float16)


# ------------------------------------------------------------------ norms and clipping


def test_global_norm_values_and_edges():
    assert oracle.global_norm([np.array([3.0, 4.0])]) == 5.0
    assert oracle.global_norm([np.array([3.0]), np.array([[4.0]])]) == 5.0
    assert oracle.global_norm([]) == 0.0 and oracle.global_norm([np.zeros(3)]) == 0.0
    assert is_nan(oracle.global_norm([np.array([INF, NAN])]))
    assert oracle.global_norm([np.array([-INF, 1.0])]) == INF
    assert oracle.global_norm([np.array([1e200, 1e200])]) == precise(
        lambda mp: mp.sqrt(2) * mp.mpf(1e200)
    )
    assert oracle.global_norm([np.array([1e-200, 1e-200])]) == precise(
        lambda mp: mp.sqrt(2) * mp.mpf(1e-200)
    )
    big = float(np.finfo(np.float64).max)
    assert oracle.global_norm([np.array([big])]) == big  # at the edge of the range: kept
    assert oracle.global_norm([np.array([big, big])]) == INF  # beyond it
    assert oracle.global_norm([np.array([big, big * 1e-25])]) == INF  # beyond it by a hair


def test_clip_by_global_norm_scales_by_max_norm_over_norm_plus_eps():
    clipped, norm = oracle.clip_by_global_norm([np.array([3.0, 4.0])], 1.0, eps=0.0)
    assert norm == 5.0 and clipped[0].tolist() == [0.6, 0.8]
    clipped, norm = oracle.clip_by_global_norm([np.array([[3.0]]), np.array([4.0])], 1.0)
    assert [a.shape for a in clipped] == [(1, 1), (1,)] and norm == 5.0
    assert clipped[1][0] == precise(lambda mp: 4 / (5 + mp.mpf(1e-6)))
    assert clipped[0].dtype == np.float64
    unchanged, norm = oracle.clip_by_global_norm([np.array([3.0, 4.0])], 10.0)
    assert unchanged[0].tolist() == [3.0, 4.0] and norm == 5.0


# ------------------------------------------------------------------ standardisation


def test_mean_and_variance_exactly():
    assert oracle.mean_and_variance([1.0, 2.0, 3.0, 4.0]) == (2.5, 1.25)
    mean, variance = oracle.mean_and_variance([1e8 + 1, 1e8 + 2, 1e8 + 3])
    assert mean == 1e8 + 2 and variance == 2 / 3
    assert oracle.mean_and_variance([5.0]) == (5.0, 0.0)
    assert all(map(math.isnan, oracle.mean_and_variance([])))
    assert oracle._exact_mean_and_variance([1.0, 2.0]) == (Fraction(3, 2), Fraction(1, 4))
    assert oracle._exact_mean_and_variance([]) is None


def test_column_mean_and_std():
    means, stds = oracle.column_mean_and_std(np.array([[1.0, 2.0], [3.0, 6.0]]))
    assert means.tolist() == [2.0, 4.0] and stds.tolist() == [1.0, 2.0]
    means, stds = oracle.column_mean_and_std(np.array([[1.0], [2.0], [3.0]]))
    assert means.tolist() == [2.0] and stds.tolist() == [precise(lambda mp: mp.sqrt(mp.mpf(2) / 3))]


def test_standardise_rounds_once():
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert oracle.standardise(X, [2.0, 4.0], [1.0, 2.0]).tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    assert oracle.standardise(np.zeros((0, 2)), [0.0, 0.0], [1.0, 1.0]).shape == (0, 2)
    one = oracle.standardise(np.array([[0.3]]), [0.1], [3.0])
    assert one.shape == (1, 1)
    assert one[0, 0] == float((Fraction(0.3) - Fraction(0.1)) / 3)


def test_least_squares_recovers_exact_coefficients():
    X = np.array([[1.0], [2.0], [3.0], [5.0]])
    w, b = oracle.least_squares(X, 2 * X[:, 0] + 1)
    assert w.tolist() == [2.0] and b == 1.0
    X2 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [0.5, 3.0]])
    w, b = oracle.least_squares(X2, X2 @ np.array([3.0, -2.0]) + 0.5)
    assert np.allclose(w, [3.0, -2.0], rtol=0, atol=1e-14) and abs(b - 0.5) < 1e-14
    noisy = X2 @ np.array([3.0, -2.0]) + 0.5 + np.array([0.1, -0.2, 0.05, 0.0, 0.3])
    with pytest.raises(ValueError):
        oracle.least_squares(X2, noisy[:4])
    w, b = oracle.least_squares(X2, noisy)
    reference, *_ = np.linalg.lstsq(np.c_[X2, np.ones(5)], noisy, rcond=None)
    assert np.allclose(np.r_[w, b], reference, rtol=1e-12, atol=1e-12)
