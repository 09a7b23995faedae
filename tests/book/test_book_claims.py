"""The qualitative claims of the chapters hold for the numbers their own code computes.

Every number the prose cites is glued from the executed chapter, so it cannot drift. What can
drift is the *shape* of a result the prose is written around: that an unclipped run really blows
up, that one set of units equals another, that a fix really helps. A new PyTorch release or a new
seed can turn such a result around while every glued number still renders. These tests read the
glued values that the strict build (the ``book_build`` fixture) leaves next to the executed
notebooks in ``_build/jupyter_execute`` and check each claim the prose makes about them.
"""

from __future__ import annotations

import json
import math
from ast import literal_eval
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
EXECUTED = REPOSITORY / "_build" / "jupyter_execute" / "chapters"


def glued(chapter: str) -> dict[str, object]:
    """The values a chapter glued, by key, as Python objects (``repr`` parsed back).

    myst-nb moves glued outputs out of the executed notebook into ``<chapter>.glue.json``.
    Values whose ``repr`` is not a literal (``nan``, ``inf``) are kept as their text.
    """
    records = json.loads((EXECUTED / f"{chapter}.glue.json").read_text())
    values = {}
    for key, output in records.items():
        text = output["data"]["text/plain"]
        try:
            values[key] = literal_eval(text)
        except (SyntaxError, ValueError):
            values[key] = text
    return values


@pytest.fixture(scope="module")
def ch01(book_build):
    return glued("01_floating_point")


@pytest.fixture(scope="module")
def ch02(book_build):
    return glued("02_overflow_underflow")


@pytest.fixture(scope="module")
def ch03(book_build):
    return glued("03_log_sum_exp")


@pytest.fixture(scope="module")
def ch04(book_build):
    return glued("04_softmax_cross_entropy")


@pytest.fixture(scope="module")
def ch05(book_build):
    return glued("05_gradient_clipping")


@pytest.fixture(scope="module")
def ch06(book_build):
    return glued("06_standardisation_conditioning")


@pytest.fixture(scope="module")
def ch07(book_build):
    return glued("07_mixed_precision")


@pytest.fixture(scope="module")
def ch08(book_build):
    return glued("08_debugging_nan")


@pytest.mark.book
def test_ch05_unclipped_rnn_blows_up_and_clipped_one_learns(ch05):
    # "Without clipping the loss stops being finite at step ..., full-data loss nan"
    assert isinstance(ch05["ch05-raw-stop"], int)
    assert not math.isfinite(float(ch05["ch05-raw-final"]))
    # "its loss ends at ..., far below the ... that a constant prediction of 0 would give"
    assert ch05["ch05-clip-final"] < 0.5 * ch05["ch05-target-var"]
    # "max_norm = 10 ... learns nothing: its final loss is worse than always predicting 0"
    assert ch05["ch05-clip10-final"] >= ch05["ch05-target-var"]
    # "fires more and more often"
    assert ch05["ch05-active-last-10"] > ch05["ch05-active-first-10"]
    assert ch05["ch05-active-1"] == 1.0


@pytest.mark.book
def test_ch05_stochastic_clipping_lands_between_median_and_mean(ch05):
    assert 1.0 < ch05["ch05-clip-root"] < ch05["ch05-sample-mean"]
    assert abs(ch05["ch05-sgd-clip"] - ch05["ch05-clip-root"]) < 0.01
    assert abs(ch05["ch05-sgd-raw"] - ch05["ch05-sample-mean"]) < 1e-6


@pytest.mark.book
def test_ch06_measured_iterations_within_the_whole_step_bound(ch06):
    assert ch06["ch06-rate-within"] == ch06["ch06-rate-total"]


@pytest.mark.book
def test_ch06_batchnorm_rounding_is_worst_for_the_small_spread_feature(ch06):
    # "The largest disagreement ... is in feature 1, not in the feature with the large offset"
    assert ch06["ch06-bn-worst-feature"] == 1
    assert ch06["ch06-bn-diff-0"] < ch06["ch06-bn-worst-diff"]
    # "The constant feature 2 comes out finite ... rather than exactly 0": tiny, finite, and
    # not claimed to be zero (its size depends on the machine's threads, so only its scale is)
    assert 0 <= ch06["ch06-bn-constant-out"] < 1e-3


@pytest.mark.book
def test_ch06_valley_and_rescue_claims(ch06):
    # "the step is ... times too large": the rate really exceeds the stability limit
    assert ch06["ch06-too-large"] > 1e6
    # standardised: contracts far faster than raw, per step and after 40 steps
    assert ch06["ch06-valley-rate-sta"] < ch06["ch06-valley-rate-raw"]
    assert ch06["ch06-valley-err40-sta"] < 1e-3 < ch06["ch06-valley-err40-raw"]
    # leakage hides part of the drift
    assert 0 < ch06["ch06-leaky-test"] < ch06["ch06-honest-test"]


@pytest.mark.book
def test_ch07_mixed_precision_claims(ch07):
    # bytes per parameter: both mixed recipes equal float32's; pure 16-bit is half
    assert ch07["ch07-bpp-classic"] == ch07["ch07-bpp-autocast"] == ch07["ch07-bpp-float32"] == 16
    assert ch07["ch07-bpp-pure"] == 8
    # "bfloat16 autocast reaches essentially the same test accuracy"
    assert abs(ch07["ch07-acc-bfloat16"] - ch07["ch07-acc-float32"]) < 0.01
    # clipping without unscale_ shrinks the step by orders of magnitude
    assert ch07["ch07-clip-shrink"] > 1000
    # a restored scaler skips fewer steps than a fresh one
    assert ch07["ch07-resume-skipped-True"] < ch07["ch07-resume-skipped-False"]
    # per-tensor scaling: small error at every magnitude, and it rescues the products
    assert ch07["ch07-fp8-worst-E4M3-True"] < 0.05
    assert ch07["ch07-fp8-worst-E5M2-True"] < 0.1
    assert ch07["ch07-fp8mm-forward-True"] < ch07["ch07-fp8mm-forward-False"]
    assert ch07["ch07-fp8mm-backward-True"] < 0.1 < ch07["ch07-fp8mm-backward-False"]
    # gradient checkpointing saves memory
    assert ch07["ch07-ckpt-best-mib"] < 0.5 * ch07["ch07-ckpt-none-mib"]


@pytest.mark.book
def test_ch08_lab_claims(ch08):
    # "The check fires ... one step before the first NaN loss"
    assert ch08["ch08-bad-step"] == ch08["ch08-first-nan"] - 1
    # NaN reaches only the units active on the offending example(s): the sets agree
    assert ch08["ch08-same-units"] is True
    assert 0 < ch08["ch08-nan-weights"] < ch08["ch08-all-weights"]
    # the fixes: log_softmax alone stays at the baseline, standardising learns
    assert ch08["ch08-acc-logsoftmax"] == pytest.approx(ch08["ch08-majority"], abs=0.01)
    assert ch08["ch08-acc-fixed"] > 0.9
    assert ch08["ch08-rms-ratio"] > 50


LN2 = math.log(2)


@pytest.mark.book
def test_ch01_log1p_and_expm1_near_u_and_almost_always_exact(ch01):
    u = 2.0**-53  # "within a couple of unit roundoffs"
    assert ch01["ch01-log1p-worst"] <= 2 * u and ch01["ch01-expm1-worst"] <= 2 * u
    points = ch01["ch01-cancel-points"]
    assert ch01["ch01-log1p-exact"] > 0.8 * points
    assert ch01["ch01-expm1-exact"] > 0.8 * points


@pytest.mark.book
def test_ch02_clip_limit_and_sigmoid_saturation_follow_the_formulas(ch02):
    # 1 - eps < 1 needs eps > eps_mach / 4; sigmoid(z) = 1 from e^-z <= 2^-24
    assert ch02["ch02-clip-min-float32"] == 2.0**-25
    assert ch02["ch02-clip-min-float16"] == 2.0**-12
    assert ch02["ch02-z-sat"] == pytest.approx(24 * LN2)


@pytest.mark.book
def test_ch03_dominant_factor_rescalings_and_float16_range(ch03):
    # "result about K e^-c" with K the sum of 199 terms e^-|g_i| in (0, 1]
    assert 50 < ch03["ch03-dominant-factor"] < 199
    # the first chunk has no old sum to rescale
    assert 0 < ch03["ch03-rescaled"] <= 29
    # "far below float16's smallest subnormal", and the result comes back as 0
    assert ch03["ch03-f16-far-true"] < ch03["ch03-f16-smallest-sub"] / 2
    assert ch03["ch03-f16-far-result"] == 0.0


@pytest.mark.book
def test_thresholds_agree_across_chapters(ch02, ch04, ch07, ch08, ch01):
    # sigmoid rounds to 1 at 24 ln 2; a probability rounds to 0 at 150 ln 2
    assert ch02["ch02-z-sat"] == ch04["ch04-bce-inf-from"] == ch08["ch08-sigmoid-one"]
    assert ch04["ch04-gap-underflow"] == pytest.approx(150 * LN2)
    assert ch08["ch08-p-zero"] == ch04["ch04-gap-underflow"]
    # bfloat16 carries 8 significant bits, about 2.4 decimal digits, in every chapter
    assert ch01["ch01-bf16-digits"] == pytest.approx(ch07["ch07-bf16-digits"])
    assert ch07["ch07-bf16-digits"] == pytest.approx(ch08["ch08-bf16-digits"])


@pytest.mark.book
def test_ch05_jacobian_products_and_the_unclipped_monitor(ch05):
    # gain 1.0 shrinks too; the gain-1.5 growth splits into the early and the rest
    assert ch05["ch05-ratio-1.0"] < 1 < ch05["ch05-ratio-1.5"]
    assert 5e3 < ch05["ch05-ratio-2.5"] < 1e4  # "nearly four orders of magnitude"
    early, rest = ch05["ch05-ratio-1.5-early"], ch05["ch05-ratio-1.5-rest"]
    assert early * rest == pytest.approx(ch05["ch05-ratio-1.5"])
    # steepest over the first steps: a larger factor per step than the rest
    per_step_early = math.log(early) / (ch05["ch05-early-steps"] - 1)
    assert per_step_early > math.log(rest) / ch05["ch05-rest-steps"]
    # the norm leaves the plot long before the loss becomes non-finite
    assert ch05["ch05-raw-first-out"] <= ch05["ch05-raw-leaves"]
    assert ch05["ch05-raw-leaves-gap"] > 50
    # "far from rare even at the start"
    assert ch05["ch05-active-first-10"] > 0.25


@pytest.mark.book
def test_ch06_two_pass_error_is_the_mean_error_squared(ch06):
    assert ch06["ch06-twopass-predicted"] == pytest.approx(ch06["ch06-twopass-max"], rel=0.1)
    assert ch06["ch06-twopass-exact-upto"] >= 1e6
    # the orange run falls fast, then stalls above the least-squares loss
    assert ch06["ch06-tiny-settled"] < 100
    assert ch06["ch06-tiny-final"] > 1.5 * ch06["ch06-ls-loss"]


@pytest.mark.book
def test_ch07_clip_shrink_and_checkpoint_optimum(ch07):
    # the step shrinks by S * min(|g|, c) / c, not by S
    assert ch07["ch07-clip-shrink"] == pytest.approx(ch07["ch07-clip-shrink-predicted"], rel=0.05)
    assert ch07["ch07-clip-shrink-predicted"] < 2.0**16
    # a block costs more than a segment input, so the optimum lies above sqrt(16)
    assert ch07["ch07-ckpt-block-to-input"] > 1
    assert ch07["ch07-ckpt-k-optimal"] > 4
    assert ch07["ch07-ckpt-best-segments"] > 4


@pytest.mark.book
def test_ch08_float32_std_overflows_before_the_activations(ch08):
    assert ch08["ch08-init-std32-overflow"] < ch08["ch08-init-overflow"] <= 40
