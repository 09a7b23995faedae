"""The qualitative claims of chapters 5-8 hold for the numbers their own code computes.

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

REPOSITORY = Path(__file__).resolve().parent.parent
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
