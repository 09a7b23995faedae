"""Tests of solutions.mixed_precision against PyTorch and exact bit arithmetic."""

from __future__ import annotations

import copy
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulps import rel

from solutions.mixed_precision import (
    DynamicLossScaler,
    fp16_underflow_fraction,
    mixed_precision_train_step,
    round_to_bfloat16,
)

TORCH_VECTOR_NAN = torch.backends.cpu.get_cpu_capability() != "DEFAULT"


def strict(fn, *args, **kwargs):
    """Call fn with every warning an error and every floating-point exception trapped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn(*args, **kwargs)


def torch_bf16_bits(x: np.ndarray) -> np.ndarray:
    return torch.from_numpy(x.copy()).to(torch.bfloat16).float().numpy().view(np.uint32)


def exact_bf16(x: float) -> float:
    """Nearest bfloat16 to a finite float32 value by exact rational arithmetic (ties to even)."""
    if x == 0:
        return x
    q = Fraction(x)
    mag = abs(q)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    e = max(e, -126)  # below the normal range the spacing stays 2**-133
    step = Fraction(2) ** (e - 7)
    k, rem = divmod(mag, step)
    if rem * 2 > step or (rem * 2 == step and k % 2 == 1):
        k += 1
    val = k * step
    if val >= Fraction(2) ** 128:
        return float("inf") if q > 0 else float("-inf")
    return float(val) if q > 0 else -float(val)


# -------------------------------------------------------------------------- round_to_bfloat16


def test_round_to_bfloat16_matches_torch_on_a_million_bit_patterns():
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, 10**6, dtype=np.uint32)
    x = bits.view(np.float32)
    before = x.copy()
    got = strict(round_to_bfloat16, x).view(np.uint32)
    np.testing.assert_array_equal(x.view(np.uint32), before.view(np.uint32))
    want = torch_bf16_bits(x)
    finite_or_inf = ~np.isnan(x)
    np.testing.assert_array_equal(got[finite_or_inf], want[finite_or_inf])
    assert np.isnan(got.view(np.float32)[~finite_or_inf]).all()
    if TORCH_VECTOR_NAN:
        np.testing.assert_array_equal(got, want)


SPECIAL_BITS = np.array(
    [
        0x00000000, 0x80000000,  # +-0
        0x7F800000, 0xFF800000,  # +-inf
        0x00000001, 0x80000001, 0x00008000, 0x00008001, 0x00018000, 0x007FFFFF,  # subnormals
        0x00800000, 0x007F8000, 0x007F7FFF,  # around the smallest normal
        0x7F7FFFFF, 0x7F7F7FFF, 0x7F7F8000, 0x7F7F8001, 0xFF7F8000,  # around bf16 max -> inf
        0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001,  # ties to even and neighbours
        0x7F800001, 0xFF800001, 0x7FC00000, 0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF,  # NaNs
        0x7F807FFF, 0x7F808000, 0x7FBFFFFF, 0x7FFF8000, 0xFF80FFFF,
    ],
    dtype=np.uint32,
)  # fmt: skip


@pytest.mark.parametrize("bits", SPECIAL_BITS, ids=[f"{b:#010x}" for b in SPECIAL_BITS])
def test_round_to_bfloat16_special_patterns(bits):
    x = np.array([bits], dtype=np.uint32).view(np.float32)
    got = strict(round_to_bfloat16, x)
    assert got.dtype == np.float32 and got.shape == (1,)
    if np.isnan(x[0]):
        assert np.isnan(got[0])
        assert got.view(np.uint32)[0] == 0xFFFF0000
        if TORCH_VECTOR_NAN:
            assert torch_bf16_bits(x)[0] == 0xFFFF0000
        return
    assert got.view(np.uint32)[0] == torch_bf16_bits(x)[0]
    want = x[0] if np.isinf(x[0]) else exact_bf16(float(x[0]))
    assert got[0] == want and np.signbit(got[0]) == np.signbit(x[0])


@settings(max_examples=200, deadline=None)
@given(x=hnp.arrays(np.float32, st.integers(0, 20), elements=st.floats(width=32)))
def test_round_to_bfloat16_against_exact_rounding(x):
    got = strict(round_to_bfloat16, x)
    for xv, gv in zip(x, got, strict=True):
        if np.isnan(xv):
            assert np.isnan(gv)
        elif np.isinf(xv):
            assert gv == xv
        else:
            want = exact_bf16(float(xv))
            assert gv == want and np.signbit(gv) == np.signbit(xv)


@pytest.mark.parametrize("pattern", [0xFFFF8000, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFC00001, 0x7F800001])
def test_round_to_bfloat16_zero_d_nan_without_warning(pattern):
    # adding the rounding bias to 0xFFFF8000 would carry out of 32 bits; as NumPy scalar
    # arithmetic (a 0-d input) that overflow warns, so no NaN pattern may reach the addition
    x = np.array(pattern, dtype=np.uint32).view(np.float32)
    got = strict(round_to_bfloat16, x)
    assert got.shape == () and got.dtype == np.float32
    assert int(got.view(np.uint32)) == 0xFFFF0000
    assert int(x.view(np.uint32)) == pattern  # the input is unchanged


def test_round_to_bfloat16_shapes_and_errors():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2] * np.float32(1.00390625)
    got = strict(round_to_bfloat16, x)
    assert got.shape == (3, 2) and got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.uint32), torch_bf16_bits(x))
    assert strict(round_to_bfloat16, np.zeros((0, 5), np.float32)).shape == (0, 5)
    scalar = strict(round_to_bfloat16, np.array(1.00390625, np.float32))
    assert scalar.shape == () and scalar == 1.0  # tie rounds to even
    for bad in (np.ones(3), [1.0], np.ones(2, np.float16), 1.0):
        with pytest.raises(ValueError, match="float32 ndarray"):
            round_to_bfloat16(bad)


# --------------------------------------------------------------------------- DynamicLossScaler


def _drive_torch_scaler(init, growth, backoff, interval, overflow_steps):
    """Scales reported by a real torch.amp.GradScaler after each step of a tiny model."""
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    scaler = torch.amp.GradScaler(
        "cpu",
        init_scale=init,
        growth_factor=growth,
        backoff_factor=backoff,
        growth_interval=interval,
    )
    x = torch.ones(4, 2)
    scales = []
    for bad in overflow_steps:
        opt.zero_grad(set_to_none=True)
        # zero gradients: only the injected inf decides found_inf, even for scales near 3e38
        scaler.scale(0.0 * model(x).sum()).backward()
        if bad:
            model.weight.grad[0, 0] = float("inf")
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales


@settings(max_examples=60, deadline=None)
@given(
    init=st.one_of(st.sampled_from([2.0**16, 1.0, 3.0e38]), st.floats(1e-30, 1e30)),
    growth=st.one_of(st.just(2.0), st.floats(1.0001, 10.0)),
    backoff=st.one_of(st.just(0.5), st.floats(0.01, 0.999)),
    interval=st.integers(1, 4),
    steps=st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_scaler_matches_torch_gradscaler(init, growth, backoff, interval, steps):
    want = _drive_torch_scaler(init, growth, backoff, interval, steps)
    ours = DynamicLossScaler(init, growth, backoff, interval)
    got = []
    for bad in steps:
        ours.update(bad)
        got.append(ours.get_scale())
    assert got == want


def test_scaler_growth_stops_below_float32_overflow():
    # 3e38 * 2 overflows float32: torch keeps the scale and restarts the counter
    steps = [False] * 5 + [True] + [False] * 3
    want = _drive_torch_scaler(3e38, 2.0, 0.5, 2, steps)
    s = DynamicLossScaler(3e38, 2.0, 0.5, 2)
    got = []
    for bad in steps:
        s.update(bad)
        got.append(s.get_scale())
    assert got == want
    assert got[1] == float(np.float32(3e38))  # no growth to inf


def test_scaler_defaults_and_scale_loss():
    s = DynamicLossScaler()
    assert s.get_scale() == 65536.0 and isinstance(s.get_scale(), float)
    assert s.scale_loss(0.75) == 49152.0
    for _ in range(1999):
        s.update(False)
    assert s.get_scale() == 65536.0
    s.update(False)
    assert s.get_scale() == 131072.0
    s.update(True)
    assert s.get_scale() == 65536.0


def test_unscale_matches_gradscaler_and_keeps_dtype():
    s = DynamicLossScaler(init_scale=3.0)  # 1/3 is inexact: the float32 reciprocal matters
    rng = np.random.default_rng(8)
    g32 = rng.standard_normal(50).astype(np.float32)
    g64 = rng.standard_normal(7)
    g16 = rng.standard_normal(9).astype(np.float16)
    before = [g32.copy(), g64.copy(), g16.copy()]
    (u32, u64, u16), found = strict(s.unscale, [g32, g64, g16])
    assert not found
    assert (u32.dtype, u64.dtype, u16.dtype) == (np.float32, np.float64, np.float16)
    inv = torch.tensor(3.0, dtype=torch.float32).double().reciprocal().float()
    for mine, g in ((u32, g32), (u64, g64)):
        t = torch.from_numpy(g.copy())
        torch._amp_foreach_non_finite_check_and_unscale_([t], torch.zeros(()), inv)
        np.testing.assert_array_equal(mine, t.numpy())
    np.testing.assert_array_equal(
        u16, (g16.astype(np.float32) * np.float32(inv)).astype(np.float16)
    )
    for a, b in zip([g32, g64, g16], before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unscale_found_inf_and_validation():
    s = DynamicLossScaler(init_scale=4.0)
    out, found = strict(s.unscale, [np.ones(2), np.array([1.0, np.nan], np.float32)])
    assert found and out[0][0] == 0.25 and np.isnan(out[1][1])
    _, found = strict(s.unscale, [np.array([np.inf]), np.zeros(0)])
    assert found
    _, found = strict(s.unscale, [])
    assert not found
    with pytest.raises(ValueError, match="list or tuple of arrays"):
        s.unscale(np.ones(3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init_scale": 0.0}, "init_scale must be finite and > 0"),
        ({"init_scale": float("inf")}, "init_scale must be finite and > 0"),
        ({"init_scale": 1e39}, "init_scale must be finite and > 0 in float32"),
        ({"growth_factor": 1.0}, "growth_factor must be finite and > 1"),
        ({"growth_factor": float("nan")}, "growth_factor must be finite and > 1"),
        ({"backoff_factor": 1.0}, r"backoff_factor must lie in \(0, 1\)"),
        ({"backoff_factor": 0.0}, r"backoff_factor must lie in \(0, 1\)"),
        ({"growth_interval": 0}, "growth_interval must be >= 1"),
        ({"growth_interval": 2.5}, "growth_interval must be an int"),
    ],
)
def test_scaler_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynamicLossScaler(**kwargs)


# --------------------------------------------------------------------- fp16_underflow_fraction


def test_fp16_underflow_fraction_examples():
    g = np.array([1e-8, 2e-8, 3e-8, 1e-3, 0.0, 0.0, 1e5], np.float32)
    # 1e-8 and 2e-8 are below half the smallest float16 subnormal (2**-25 ~ 2.98e-8)
    assert strict(fp16_underflow_fraction, g) == rel(2 / 5, 0)
    # scaling by 1024 rescues them; 1e5 * 1024 overflows to inf, which is not underflow
    assert strict(fp16_underflow_fraction, g, 1024.0) == 0.0
    assert strict(fp16_underflow_fraction, [g, np.array([1e-9])], 1.0) == 0.5
    assert strict(fp16_underflow_fraction, np.zeros(4)) == 0.0
    assert strict(fp16_underflow_fraction, []) == 0.0
    assert isinstance(strict(fp16_underflow_fraction, g), float)


@settings(max_examples=150, deadline=None)
@given(
    g=hnp.arrays(
        np.float32, st.integers(0, 30), elements=st.floats(-(2.0**-10), 2.0**-10, width=32)
    ),
    log_scale=st.integers(-4, 24),
)
def test_fp16_underflow_fraction_against_exact_threshold(g, log_scale):
    scale = 2.0**log_scale  # exact in float32, so the product is exact too
    before = g.copy()
    got = strict(fp16_underflow_fraction, g, scale)
    np.testing.assert_array_equal(g, before)
    nz = [Fraction(float(v)) * Fraction(scale) for v in g if v != 0]
    # round to nearest even: a value becomes 0 iff |v| <= 2**-25 (the tie goes to even 0)
    lost = sum(abs(v) <= Fraction(1, 2**25) for v in nz)
    assert got == (lost / len(nz) if nz else 0.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan"), "2"])
def test_fp16_underflow_fraction_bad_scale(bad):
    with pytest.raises(ValueError, match="loss_scale"):
        fp16_underflow_fraction(np.ones(2, np.float32), bad)


# ------------------------------------------------------------------ mixed_precision_train_step


def _problem(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    return model, x, y


def test_train_step_bfloat16_decreases_loss_and_keeps_float32():
    model, x, y = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = torch.nn.functional.mse_loss
    losses = [mixed_precision_train_step(model, opt, loss_fn, x, y) for _ in range(15)]
    assert all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_train_step_returns_the_autocast_loss():
    model, x, y = _problem(1)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = torch.nn.functional.mse_loss(model(x), y).float().item()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    got = mixed_precision_train_step(model, opt, torch.nn.functional.mse_loss, x, y)
    assert got == expected
    with torch.no_grad():
        fp32 = torch.nn.functional.mse_loss(_problem(1)[0](x), y).item()
    assert got != fp32  # autocast really ran in bfloat16


def test_train_step_with_scaler_skips_step_on_inf_and_halves_scale():
    model, x, y = _problem(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    loss_fn = torch.nn.functional.mse_loss
    first = mixed_precision_train_step(model, opt, loss_fn, x, y, scaler=scaler)
    assert scaler.get_scale() == 1024.0
    snapshot = [p.detach().clone() for p in model.parameters()]
    w = next(model.parameters())
    handle = w.register_hook(lambda grad: torch.full_like(grad, float("inf")))
    mixed_precision_train_step(model, opt, loss_fn, x, y, scaler=scaler)
    handle.remove()
    for p, q in zip(model.parameters(), snapshot, strict=True):
        assert torch.equal(p, q)  # the step was skipped
    assert scaler.get_scale() == 512.0
    later = [
        mixed_precision_train_step(model, opt, loss_fn, x, y, scaler=scaler) for _ in range(10)
    ]
    assert later[-1] < first
    assert all(p.dtype == torch.float32 for p in model.parameters())


def _reference_step(model, opt, x, y):
    """The step written out by hand: fresh gradients, bfloat16 autocast forward, fp32 update."""
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss.float().item()


def _assert_same_parameters(model, ref):
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_train_step_equals_the_hand_written_step_every_time():
    """Several steps, each compared: a missing zero_grad or autocast shows from step 2 or 1."""
    model, x, y = _problem(3)
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    for _ in range(4):
        got = mixed_precision_train_step(model, opt, torch.nn.functional.mse_loss, x, y)
        assert got == _reference_step(ref, ref_opt, x, y)
        _assert_same_parameters(model, ref)


def test_train_step_with_scaler_takes_every_step_after_an_inf():
    """After a skipped step each later step is taken, equals the unscaled step, and the scale
    follows GradScaler's history (halved once, then doubled every ``growth_interval`` steps)."""
    model, x, y = _problem(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    loss_fn = torch.nn.functional.mse_loss
    handle = next(model.parameters()).register_hook(lambda g: torch.full_like(g, float("inf")))
    mixed_precision_train_step(model, opt, loss_fn, x, y, scaler=scaler)
    handle.remove()
    ref = copy.deepcopy(model)  # the skipped step left no gradient behind in the reference
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    scales = []
    for _ in range(7):
        before = [p.detach().clone() for p in model.parameters()]
        got = mixed_precision_train_step(model, opt, loss_fn, x, y, scaler=scaler)
        assert got == _reference_step(ref, ref_opt, x, y)
        # Scaling by a power of two and unscaling are exact: the very same update.
        _assert_same_parameters(model, ref)
        assert any(not torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
        scales.append(scaler.get_scale())
    assert scales == [512.0, 512.0, 1024.0, 1024.0, 1024.0, 2048.0, 2048.0]


def test_train_step_needs_parameters():
    with pytest.raises(ValueError, match="no parameters"):
        mixed_precision_train_step(
            torch.nn.Tanh(),
            None,
            torch.nn.functional.mse_loss,
            torch.ones(2),
            torch.ones(2),
        )
