"""The ex07_mixed_precision checks' own wording of diagnoses, oracles and drivers.

Every assignment's correct implementations, reference and mutants are graded by one suite,
``test_checks_mutants.py``.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
from mutant_grading import (
    mutant_feedback,
)

from autograder.checks import ex07_mixed_precision as checks
from autograder.harness.drivers import ex07_mixed_precision as drivers

ASSIGNMENT = "ex07_mixed_precision"


_feedback = partial(mutant_feedback, ASSIGNMENT)


def test_nan_carry_mutant_is_told_about_the_nan_payload(capsys, recwarn):
    feedback = _feedback("round_to_bfloat16", 0, "specials", capsys, recwarn)
    assert "for the NaN 0x7F800001" in feedback  # the payload survives into the message
    assert "carried out of the NaN's payload" in feedback
    assert "Rounding float32 to bfloat16 by hand" in feedback or "16-bit arithmetic" in feedback


def test_half_up_and_truncation_mutants_are_named(capsys, recwarn):
    assert "exactly halfway (a tie)" in _feedback("round_to_bfloat16", 1, "ties", capsys, recwarn)
    ordinary = _feedback("round_to_bfloat16", 2, "ordinary", capsys, recwarn)
    assert "truncated (chopped)" in ordinary
    contract = _feedback("round_to_bfloat16", 3, "contract", capsys, recwarn)
    assert "changed dtype float32 → float64" in contract
    assert "mutated its input" in _feedback("round_to_bfloat16", 4, "contract", capsys, recwarn)


def test_scaler_feedback_compares_with_gradscaler(capsys, recwarn):
    feedback = _feedback("DynamicLossScaler", 0, "reset", capsys, recwarn)
    assert "torch.amp.GradScaler has 32768" in feedback
    assert "consecutive" in feedback
    assert "inf or NaN" in _feedback("DynamicLossScaler", 4, "unscale", capsys, recwarn)
    assert "mutated its input" in _feedback("DynamicLossScaler", 5, "unscale", capsys, recwarn)


def test_fraction_and_train_step_feedback(capsys, recwarn):
    edges = _feedback("fp16_underflow_fraction", 0, "edges", capsys, recwarn)
    assert "(= 1 of the 2 nonzero entries)" in edges
    autocast = _feedback("mixed_precision_train_step", 0, "autocast", capsys, recwarn)
    assert "was float32 where the forward pass under torch.autocast" in autocast
    scaler = _feedback("mixed_precision_train_step", 3, "scaler", capsys, recwarn)
    assert "must skip that step" in scaler
    loss = _feedback("mixed_precision_train_step", 1, "loss_float", capsys, recwarn)
    assert "returned a torch.Tensor" in loss


def _exact_bfloat16(value: np.float32) -> np.float32:
    """Round one finite float32 to bfloat16 by comparing distances to both neighbours."""
    bits = int(np.float32(value).view(np.uint32))
    low = bits & 0xFFFF0000
    candidates = [low, low + 0x10000]
    # the upper neighbour of bfloat16's largest finite value is inf: measure it as 2^128
    as_floats = [
        float(np.array(c, dtype=np.uint32).view(np.float32))
        if c & 0x7FFFFFFF < 0x7F800000
        else math.copysign(2.0**128, float(value))
        for c in candidates
    ]
    x = float(value)
    d_low, d_high = abs(x - as_floats[0]), abs(x - as_floats[1])
    pick = 0 if d_low < d_high else 1 if d_high < d_low else (0 if (low >> 16) % 2 == 0 else 1)
    if abs(as_floats[pick]) == 2.0**128:
        return np.float32(np.copysign(np.inf, x))
    return np.float32(as_floats[pick])


def test_torch_bfloat16_expected_values_match_exact_rounding():
    # The verdict's expected bits come from PyTorch; check them against exact nearest-even
    # rounding for every non-NaN input the groups use.
    for make in (checks.bf16_ordinary, checks.bf16_ties, checks.bf16_specials):
        for case in make():
            x = np.asarray(case.payload["args"][0]).reshape(-1)
            got = checks.torch_bfloat16(x)
            for value, rounded in zip(x, got, strict=True):
                if np.isnan(value):
                    assert np.isnan(rounded)
                    continue
                want = _exact_bfloat16(value)
                assert want.view(np.uint32) == rounded.view(np.uint32), hex(value.view(np.uint32))


def _gradscaler_scales(init: dict, pattern: list[bool]) -> list[float]:
    """Drive a real CPU GradScaler through clean and overflowing steps; scales after each."""
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([param], lr=0.0)
    scaler = torch.amp.GradScaler("cpu", **init)
    scales = []
    for overflow in pattern:
        optimizer.zero_grad()
        # a tiny loss, so that scaling it by up to 2^127 cannot overflow by itself
        scaler.scale((param * 1e-30).sum()).backward()
        if overflow:
            param.grad[1] = float("inf")
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales


def test_reference_scaler_log_matches_a_real_gradscaler():
    cases = [
        case
        for make in (
            checks.scaler_backoff,
            checks.scaler_growth,
            checks.scaler_reset,
            checks.scaler_factors,
            checks.scaler_float32,
        )
        for case in make()
    ]
    assert len(cases) >= 10
    for case in cases:
        events = case.payload["events"]
        assert all(op == "update" for op, _ in events)
        from solutions.mixed_precision import DynamicLossScaler

        outcome = drivers.loss_scaler(
            DynamicLossScaler, case.payload, trap_overflow=False, time_limit=10.0
        )
        ours = [entry["scale"] for entry in outcome["log"] if entry["op"] == "update"]
        theirs = _gradscaler_scales(case.payload["init"], [bool(a) for _, a in events])
        assert ours == theirs, case.label


def test_loss_scaler_driver_records_partial_log_and_mutation():
    class Broken:
        def __init__(self, **kwargs):
            self.scale = 8.0

        def get_scale(self):
            return self.scale

        def update(self, found_inf):
            if found_inf:
                raise RuntimeError("boom")
            self.scale *= 2

        def unscale(self, grads):
            grads[0] *= 0.5
            return grads, False

    payload = {"init": {}, "events": [("update", False), ("update", True)]}
    outcome = drivers.loss_scaler(Broken, payload, trap_overflow=False, time_limit=5.0)
    assert outcome["status"] == "raised" and outcome["exc_type"] == "RuntimeError"
    assert [entry.get("scale") for entry in outcome["log"]] == [8.0, 16.0]
    payload = {"init": {}, "events": [("unscale", [np.ones(2, np.float32)])]}
    outcome = drivers.loss_scaler(Broken, payload, trap_overflow=False, time_limit=5.0)
    assert outcome["mutated"] is True


def test_train_step_driver_is_deterministic_and_skips_the_inf_step():
    from solutions.mixed_precision import mixed_precision_train_step

    payload = checks.train_scaler()[0].payload
    first = drivers.train_step(
        mixed_precision_train_step, payload, trap_overflow=False, time_limit=30.0
    )
    second = drivers.train_step(
        mixed_precision_train_step, payload, trap_overflow=False, time_limit=30.0
    )
    assert first["status"] == "returned"
    assert first["losses"] == second["losses"]
    assert all(np.array_equal(a, b) for a, b in zip(first["params"], second["params"], strict=True))
    inject = payload["inject_inf"]
    assert first["changed"][inject] is False
    assert all(first["changed"][i] for i in range(payload["steps"]) if i != inject)
    assert first["scales"][inject] == first["scales"][inject - 1] / 2
    assert first["forward_dtypes"] == ["bfloat16"] * payload["steps"]
    assert first["param_dtypes"] == ["float32"] * 4
    assert first["loss_types"] == ["float"] * payload["steps"]


def test_train_step_driver_ignores_the_notebooks_default_dtype():
    # The class grader judges the sandbox's run against the reference run in the grader: a
    # notebook that calls torch.set_default_dtype(torch.float64) must still train in float32.
    from solutions.mixed_precision import mixed_precision_train_step

    payload = checks.train_scaler()[0].payload
    run = partial(drivers.train_step, mixed_precision_train_step, payload, trap_overflow=False)
    expected = run(time_limit=30.0)
    torch.set_default_dtype(torch.float64)
    try:
        got = run(time_limit=30.0)
    finally:
        torch.set_default_dtype(torch.float32)
    assert got["param_dtypes"] == ["float32"] * 4
    assert got["losses"] == expected["losses"]
    assert all(np.array_equal(a, b) for a, b in zip(got["params"], expected["params"], strict=True))


def test_hints_fit_the_diagnosis(capsys, recwarn):
    specials = _feedback("round_to_bfloat16", 2, "specials", capsys, recwarn)
    assert "chops (truncates toward zero)" in specials and "reach a NaN" not in specials
    factors = _feedback("DynamicLossScaler", 8, "factors", capsys, recwarn)
    assert "rounds the factor first" in factors and "default constants" not in factors
    scaled = _feedback("fp16_underflow_fraction", -1, "scaled", capsys, recwarn)
    assert "loss_scale = 1 - 2⁻²⁴" in scaled and "(= 3 of the 4 nonzero entries)" in scaled
    assert "multiply by loss_scale in float32" in scaled
    loss = _feedback("mixed_precision_train_step", 2, "loss_float", capsys, recwarn)
    assert "the earlier steps' losses agree" in loss and "optimizer.zero_grad()" in loss
