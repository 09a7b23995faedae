"""Checks for ex07_mixed_precision: ``round_to_bfloat16``, ``DynamicLossScaler``,
``fp16_underflow_fraction``, ``mixed_precision_train_step``, q1–q3.

The graded groups (points, descriptions, hints, sections) and the multiple-choice questions are
declared in ``ex07_mixed_precision.toml``, read by :mod:`autograder.checks.declarations`; this
module builds the cases each group names.

Tolerances.

* ``round_to_bfloat16`` is exact: every non-NaN result must have the bit pattern of PyTorch's
  float32 → bfloat16 conversion (computed in the verdict). PyTorch itself is not consistent about
  which NaN it writes (0xFFFF0000 from its vectorised loop, 0x7FC00000 from its scalar path), so a
  NaN input is judged by NaN-ness only. The value groups accept any floating dtype whose values
  equal the bfloat16 ones (a float64 copy is exact); the contract group asks for float32.
* ``DynamicLossScaler``: GradScaler keeps its scale as a float32 and rounds each product
  float64(scale)·factor to float32 once; the contract says the scales equal GradScaler's, so they
  are compared exactly, with non-power-of-two factors in the cases. A scale kept as a Python
  float, or multiplied in float32 (rounding the factor first), differs by a rounding (diagnosed
  as accuracy, relative difference below 1e-4); a wrong growth or backoff is off by the factor
  itself (≥ 1.25 here, diagnosed as a wrong value). Growth that would overflow float32 is
  skipped, as in GradScaler: that is judged exactly in its own group. Unscaled gradients are
  compared within 2 float32 ULPs (multiplying by float32(1/scale) or dividing by the scale both
  pass).
* ``fp16_underflow_fraction`` is a ratio of two counts: the reference fraction is computed in
  the verdict and compared with tolerance 1e-6·fraction + 1e-12. One count more or less changes
  the fraction by 1/n, at least 1e-3 relative for the n ≤ 300 used, so the counts must be exact,
  while ``lost/n``, ``1 - kept/n`` and a float32 division (PyTorch's integer tensors) all pass.
* ``mixed_precision_train_step`` is compared with the reference run through the same driver on
  the same seeded model and data: losses within 1e-3 relative (the same autocast computation
  gives the same value; the slack covers a different but valid order of operations), final
  parameters within 2e-3 + 1e-2 relative.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from autograder.checks.common import case, label
from autograder.checks.declarations import declared_checks
from autograder.harness import wire
from autograder.harness.drivers import ex07_mixed_precision as drivers
from autograder.judge import compare
from autograder.judge.compare import ACCURACY, DTYPE, MISSING_NAN, WRONG, Problem
from autograder.judge.feedback import exact, fmt, shorten
from autograder.judge.spec import Case, Check, Outcome

FRACTION_ATOL = 1e-12
FRACTION_RTOL = 1e-6
LOSS_RTOL = 1e-3
PARAM_ATOL, PARAM_RTOL = 2e-3, 1e-2


# ----------------------------------------------------------------------------------------------
# round_to_bfloat16
# ----------------------------------------------------------------------------------------------


def f32_from_bits(*patterns: int) -> np.ndarray:
    """A float32 array with the given bit patterns."""
    return np.array(patterns, dtype=np.uint32).view(np.float32)


def torch_bfloat16(x: np.ndarray) -> np.ndarray:
    """PyTorch's float32 → bfloat16 → float32 round trip of ``x`` (a fresh contiguous copy)."""
    import torch

    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1).copy()
    return torch.from_numpy(flat).to(torch.bfloat16).float().numpy().reshape(np.shape(x))


def _bits(value: Any) -> int:
    """The float32 bit pattern of a float32 value (read as bits: NaN payloads survive)."""
    return int(np.asarray(value, dtype=np.float32).view(np.uint32))


def _from_bits(bits: int) -> float:
    return float(np.array(bits, dtype=np.uint32).view(np.float32))


def _describe_bf16_miss(x_bits: int, got_bits: int, want_bits: int) -> Problem:
    """Name the rounding mistake that turns the float32 ``x_bits`` into ``got_bits``: chopping
    is diagnosed as accuracy, a NaN that does not stay NaN as a missing NaN."""
    x, got, want = _from_bits(x_bits), _from_bits(got_bits), _from_bits(want_bits)
    if math.isnan(x):
        return Problem(
            f"returned {fmt(got)} (0x{got_bits:08X}) for the NaN 0x{x_bits:08X}: a NaN must stay "
            "NaN — the rounding increment carried out of the NaN's payload",
            MISSING_NAN,
        )
    shown = (
        f"returned {fmt(got)} (0x{got_bits:08X}) for x = {fmt(x)} (0x{x_bits:08X}) where "
        f"round-to-nearest-even gives {fmt(want)} (0x{want_bits:08X})"
    )
    chopped = got_bits == x_bits & 0xFFFF0000
    if got_bits & 0xFFFF:
        return Problem(
            f"{shown} — the result is not a bfloat16 value (its low 16 bits must be zero)", WRONG
        )
    if math.isinf(want) and not math.isinf(got):
        return Problem(
            f"{shown} — values past bfloat16's largest finite value must overflow to inf"
            + (" (the low 16 bits were chopped instead of rounded)" if chopped else ""),
            ACCURACY if chopped else WRONG,
        )
    if chopped:
        return Problem(
            f"{shown} — the low 16 bits were truncated (chopped) instead of rounded to nearest",
            ACCURACY,
        )
    if x_bits & 0xFFFF == 0x8000:
        return Problem(
            f"{shown} — x is exactly halfway (a tie), which goes to the even neighbour", WRONG
        )
    return Problem(shown, WRONG)


def bf16_verdict(*, contract: bool) -> Any:
    """Judge ``round_to_bfloat16``: bits equal PyTorch's for non-NaN entries, NaN stays NaN.

    With ``contract`` the result must also be float32 of the input's shape and the input must
    be unchanged; otherwise any floating dtype holding the same values is accepted.
    """

    def verdict(case: Case, outcome: Outcome) -> str | None:
        x = np.asarray(case.payload["args"][0])
        problem = compare.returned(outcome) if contract else compare.status_problem(outcome)
        if problem:
            return problem
        got, problem = compare.float_array(
            {**outcome, "mutated": False},
            dtype=np.float32 if contract else None,
            shape=x.shape,
        )
        if problem:
            return problem
        if got.dtype.kind != "f":
            return Problem(
                f"returned an array of dtype {got.dtype} where a float32 array was expected", DTYPE
            )
        with np.errstate(over="ignore"):
            got32 = got.astype(np.float32)
        want = torch_bfloat16(x)
        nan_in = np.isnan(x)
        both = np.where(nan_in, np.float32(0), got32).view(np.uint32)
        wanted = np.where(nan_in, np.float32(0), want).view(np.uint32)
        if compare.equal(both, wanted, "bits") is None and np.all(np.isnan(got32[nan_in])):
            return None
        bad = (both != wanted) | (nan_in & ~np.isnan(got32))
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {index}" if x.ndim else ""
        miss = _describe_bf16_miss(_bits(x[index]), _bits(got32[index]), _bits(want[index]))
        return compare.within("", miss, where)

    return verdict


def bf16_case(x: np.ndarray, *, contract: bool = False) -> Case:
    shown = label(x=x)
    if 0 < x.size <= 8:
        shown += " (bits " + ", ".join(f"0x{b:08X}" for b in x.view(np.uint32).ravel()) + ")"
    elif x.size > 8:
        shown = f"x = float32 array of shape {x.shape}, {shown}"
    return case(shown, [x], bf16_verdict(contract=contract))


def bf16_ordinary():
    rng = np.random.default_rng(701)
    cases = [
        bf16_case(np.array([1.0, -2.5, 3.14159265, 0.1, 1000.0], dtype=np.float32)),
        bf16_case(rng.normal(0.0, 1.0, size=64).astype(np.float32)),
        bf16_case(
            (rng.normal(0.0, 1.0, size=(6, 7)) * 10.0 ** rng.integers(-30, 30, (6, 7))).astype(
                np.float32
            )
        ),
        bf16_case(rng.uniform(-1e-3, 1e-3, size=40).astype(np.float32)),
    ]
    return cases


def bf16_ties():
    # 1 + k·2⁻⁸ ± half a bfloat16 ULP: exactly halfway between two bfloat16 numbers; the low
    # 16 bits are 0x8000, the kept last bit decides (even: round down; odd: round up).
    ties = f32_from_bits(
        0x3F808000,  # 1.00390625: between 1 (even) and 1.0078125 → 1
        0x3F818000,  # between 1.0078125 (odd) and 1.015625 (even) → up
        0xBF808000,  # negative tie, even → toward zero
        0xBF818000,  # negative tie, odd → away from zero
        0x40490000 | 0x8000,
        0x47C38000,
        0x00018000,  # a subnormal tie, odd → up
        0x00008000,  # the smallest tie: rounds to +0
    )
    near = f32_from_bits(0x3F807FFF, 0x3F808001, 0x3F817FFF, 0x3F818001, 0xC2F6FFFF, 0x4B7F8000)
    return [bf16_case(ties), bf16_case(near), bf16_case(np.concatenate([ties, near]).reshape(2, 7))]


def bf16_specials():
    f32max = np.finfo(np.float32).max
    return [
        bf16_case(np.array([0.0, -0.0, np.inf, -np.inf], dtype=np.float32)),
        bf16_case(np.array([f32max, -f32max], dtype=np.float32)),
        bf16_case(f32_from_bits(0x7F7F7FFF, 0x7F7F8000, 0x7F7F8001, 0x7F7EFFFF, 0xFF7F8000)),
        bf16_case(
            f32_from_bits(0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF, 0xFFFFFFFF, 0xFF800001)
        ),
        bf16_case(f32_from_bits(0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x807F8000)),
    ]


def bf16_contract():
    rng = np.random.default_rng(702)
    return [
        bf16_case(rng.normal(0.0, 5.0, size=(3, 4)).astype(np.float32), contract=True),
        bf16_case(np.array(1.5, dtype=np.float32), contract=True),
        bf16_case(np.array([], dtype=np.float32), contract=True),
        bf16_case(rng.normal(0.0, 1e3, size=(2, 3, 2)).astype(np.float32), contract=True),
    ]


# ----------------------------------------------------------------------------------------------
# DynamicLossScaler
# ----------------------------------------------------------------------------------------------


@functools.cache
def _reference_scaler_log(payload_key: str) -> list[dict[str, Any]]:
    """The reference's event log for a payload (its :mod:`~autograder.harness.wire` line, so
    that equal payloads share one run)."""
    from solutions.mixed_precision import DynamicLossScaler

    payload = wire.loads(payload_key)
    outcome = drivers.loss_scaler(DynamicLossScaler, payload, trap_overflow=False, time_limit=30.0)
    if outcome["status"] != "returned":  # pragma: no cover - the reference must run
        raise RuntimeError(f"reference scaler failed: {outcome}")
    return outcome["log"]


def _number(value: Any) -> float | None:
    """A returned scale/loss as a float, or ``None`` when it is not a real number."""
    if isinstance(value, bool) or value is None or isinstance(value, str | dict | list):
        return None
    array = np.asarray(value)
    if array.shape != () or array.dtype.kind not in "fiu":
        return None
    return float(array)


def _close(got: float, want: float, rtol: float) -> bool:
    if math.isnan(want) or math.isinf(want) or want == 0.0:
        return got == want or (math.isnan(got) and math.isnan(want))
    return abs(got - want) <= rtol * abs(want)


def _history(log: list[dict[str, Any]], upto: int) -> str:
    scales = [exact(entry["scale"]) for entry in log[: upto + 1] if "scale" in entry]
    return ", ".join(scales[-8:])


def scaler_verdict(*, check_unscale: bool = False) -> Any:
    """Compare the student's event log with the reference's, step by step.

    Scales are compared exactly: GradScaler keeps its scale in float32 and rounds each update
    ``float32(float64(scale) · factor)`` once, so a scale kept in float64, or multiplied in
    float32, drifts from it after a few non-power-of-two factors. Right after construction
    GradScaler's ``get_scale()`` reports ``init_scale`` unrounded, so there either value counts.
    """

    def verdict(case: Case, outcome: Outcome) -> str | None:
        want_log = _reference_scaler_log(wire.dumps(case.payload))
        got_log = outcome.get("log", [])
        for step, want in enumerate(want_log):
            if step >= len(got_log):
                problem = compare.status_problem(outcome)
                op = want["op"] if want["op"] != "init" else "the constructor or get_scale()"
                return compare.within("", problem or "stopped early", f" (in step {step}: {op})")
            got = got_log[step]
            if want["op"] == "init":
                value = _number(got["scale"])
                if value is None:
                    return (
                        f"get_scale() returned {shorten(got['scale'])} where a float was expected"
                    )
                init = float(case.payload["init"].get("init_scale", 2.0**16))
                if value not in (want["scale"], init):
                    return (
                        f"get_scale() right after construction returned {exact(value)} where "
                        f"init_scale gives {exact(want['scale'])}"
                    )
            elif want["op"] == "update":
                value = _number(got["scale"])
                kind = "an overflowing" if want["found_inf"] else "a clean"
                if value is None:
                    return (
                        f"get_scale() returned {shorten(got['scale'])} where a float was expected"
                    )
                if not _close(value, want["scale"], 0.0):
                    # Off by a rounding (not by a factor): the product was rounded differently.
                    rounding = _close(value, want["scale"], 1e-4)
                    return Problem(
                        f"after update(found_inf={want['found_inf']}) ({kind} step, update "
                        f"number {sum(e['op'] == 'update' for e in want_log[: step + 1])}) the "
                        f"scale is {exact(value)} where torch.amp.GradScaler has "
                        f"{exact(want['scale'])} (GradScaler's scales so far: "
                        f"{_history(want_log, step)})",
                        ACCURACY if rounding else WRONG,
                    )
            elif want["op"] == "scale_loss":
                value = _number(got["value"])
                if value is None or not _close(value, want["value"], 1e-6):
                    return (
                        f"scale_loss({fmt(want['loss'])}) returned {shorten(got['value'])} where "
                        f"loss × scale = {fmt(want['value'])}"
                    )
            elif want["op"] == "unscale" and check_unscale:
                problem = _unscale_problem(got, want)
                if problem:
                    return problem
        if outcome["status"] != "returned":
            return compare.status_problem(outcome)
        if check_unscale and outcome.get("mutated"):
            return (
                "unscale mutated its input (changed the gradient arrays in place); "
                "return new arrays"
            )
        return None

    return verdict


def _unscale_problem(got: dict[str, Any], want: dict[str, Any]) -> str | None:
    flag = got.get("found_inf")
    flag_array = (
        np.asarray(flag) if not isinstance(flag, dict | list | str) and flag is not None else None
    )
    if flag_array is None or flag_array.shape != () or flag_array.dtype.kind not in "biu":
        return f"unscale returned found_inf = {shorten(flag)} where a bool was expected"
    if bool(flag_array) != want["found_inf"]:
        return (
            f"unscale returned found_inf = {bool(flag_array)} where it should be "
            f"{want['found_inf']} (found_inf is True exactly when a gradient entry is inf or NaN)"
        )
    grads = got.get("grads")
    if not isinstance(grads, list) or len(grads) != len(want["grads"]):
        n = len(want["grads"])
        return f"unscale returned {shorten(grads)} where a list of {n} arrays was expected"
    for i, (g, w) in enumerate(zip(grads, want["grads"], strict=True)):
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            return (
                f"unscale returned {shorten(g)} as gradient {i} where a floating array was expected"
            )
        if g.dtype != w.dtype:
            return Problem(
                f"unscale changed dtype {w.dtype.name} → {g.dtype.name} of gradient {i}", DTYPE
            )
        problem = compare.close(g, w.astype(np.float64), dtype=w.dtype, ulps=2)
        if problem:
            return compare.within(f"unscaled gradient {i} (scale {exact(want['scale'])})", problem)
    return None


def scaler_case(init: dict[str, Any], events: list[tuple[str, Any]], **options: Any) -> Case:
    ups = [("T" if a else "F") for op, a in events if op == "update"]
    shown_init = ", ".join(f"{k}={v!r}" for k, v in init.items()) or "defaults"
    text = f"DynamicLossScaler({shown_init}); updates with found_inf = {''.join(ups) or '(none)'}"
    others = [op for op, _ in events if op != "update"]
    if others:
        text += f" and calls to {', '.join(sorted(set(others)))}"
    return Case(
        text,
        {"init": init, "events": events},
        scaler_verdict(**options),
        harness=drivers.loss_scaler,
    )


def _updates(pattern: str) -> list[tuple[str, Any]]:
    return [("update", ch == "T") for ch in pattern]


def scaler_backoff():
    return [
        scaler_case({}, _updates("T")),
        scaler_case({}, _updates("TTT")),
        scaler_case({"init_scale": 1024.0}, _updates("FTFFT")),
        scaler_case({"init_scale": 3.0}, _updates("TT")),
    ]


def scaler_growth():
    return [
        scaler_case({"growth_interval": 3}, _updates("FFFFFFF")),
        scaler_case({"init_scale": 8.0, "growth_interval": 1}, _updates("FFFF")),
        scaler_case({"init_scale": 1.0, "growth_interval": 5}, _updates("FFFFFFFFFFF")),
    ]


def scaler_reset():
    return [
        scaler_case({"growth_interval": 3}, _updates("FFTFFFFF")),
        scaler_case({"init_scale": 256.0, "growth_interval": 2}, _updates("FTFTFFTFFF")),
        scaler_case({"init_scale": 4.0, "growth_interval": 4}, _updates("FFFTFFFFFFFTFFFF")),
    ]


def scaler_factors():
    return [
        scaler_case(
            {
                "init_scale": 1000.0,
                "growth_factor": 3.0,
                "backoff_factor": 0.25,
                "growth_interval": 2,
            },
            _updates("FFTFFFFTT"),
        ),
        scaler_case(
            {
                "init_scale": 2.0**10,
                "growth_factor": 1.5,
                "backoff_factor": 0.3,
                "growth_interval": 3,
            },
            _updates("TFFFTFFFFFF"),
        ),
        scaler_case(
            {"init_scale": 0.1, "growth_factor": 10.0, "growth_interval": 1}, _updates("FFTF")
        ),
        scaler_case(
            {
                "init_scale": 65536.0,
                "growth_factor": 1.1,
                "backoff_factor": 0.7,
                "growth_interval": 1,
            },
            _updates("FFTFFTFTFFFTTF"),
        ),
    ]


def scaler_float32():
    return [
        scaler_case({"init_scale": 2.0**126, "growth_interval": 1}, _updates("FFFF")),
        scaler_case(
            {"init_scale": 2.0**126, "growth_interval": 2},
            _updates("FFFFTFF"),
        ),
    ]


def scaler_unscale():
    rng = np.random.default_rng(711)
    clean = [
        rng.normal(0.0, 1e3, size=5).astype(np.float32),
        rng.normal(0.0, 1.0, (2, 3)).astype(np.float32),
    ]
    bad = [np.array([1.0, np.inf, 2.0], dtype=np.float32), np.array([3.0], dtype=np.float32)]
    nan = [np.array([1.0, 2.0], dtype=np.float32), np.array([[np.nan, 4.0]], dtype=np.float32)]
    wide = [rng.normal(0.0, 1e4, size=4)]
    return [
        scaler_case({}, [("scale_loss", 0.75), ("unscale", clean)], check_unscale=True),
        scaler_case(
            {"init_scale": 1024.0},
            [("unscale", bad), ("update", True), ("unscale", nan)],
            check_unscale=True,
        ),
        scaler_case(
            {"init_scale": 512.0}, [("unscale", wide), ("scale_loss", 2.5)], check_unscale=True
        ),
        scaler_case(
            {"init_scale": 1000.0}, [("unscale", clean), ("scale_loss", 0.3)], check_unscale=True
        ),
    ]


# ----------------------------------------------------------------------------------------------
# fp16_underflow_fraction
# ----------------------------------------------------------------------------------------------


def fraction_verdict(case: Case, outcome: Outcome) -> str | None:
    from solutions.mixed_precision import fp16_underflow_fraction

    got, problem = compare.float_array(outcome, shape=())
    if problem:
        return problem
    args = case.payload["args"]
    want = fp16_underflow_fraction(*args, **case.payload.get("kwargs", {}))
    value = float(got)
    if math.isnan(value) or abs(value - want) > FRACTION_ATOL + FRACTION_RTOL * want:
        grads = args[0] if isinstance(args[0], list) else [args[0]]
        nonzero = sum(int(np.count_nonzero(np.asarray(g))) for g in grads)
        return (
            f"returned {value!r} where the fraction of underflowing entries is {want!r} "
            f"(= {round(want * nonzero)} of the {nonzero} nonzero entries)"
        )
    return None


def fraction_case(grads: Any, loss_scale: float | None = None, shown: str | None = None) -> Case:
    """A case for ``fp16_underflow_fraction``; ``shown`` replaces the default label."""
    kwargs = {} if loss_scale is None else {"loss_scale": loss_scale}
    if shown is None and isinstance(grads, list):
        shown = label(grads=[f"float32 array of shape {g.shape}" for g in grads], **kwargs)
    return case(shown or label(grads=grads, **kwargs), [grads], fraction_verdict, kwargs=kwargs)


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    magnitude = np.exp(rng.uniform(np.log(low), np.log(high), size))
    return (magnitude * rng.choice([-1.0, 1.0], size)).astype(np.float32)


_TIE_ABOVE = 2.0**-25 * (1 + 2.0**-23)  # one float32 step above half the least float16 subnormal


def fraction_basic():
    rng = np.random.default_rng(721)
    return [
        fraction_case(np.array([1e-3, 1e-9, -1e-10, 0.5], dtype=np.float32)),
        fraction_case(_log_uniform(rng, 1e-12, 1e-2, 200)),
        fraction_case(np.array([1e-6, -3e-7, 7e-8, 2e-8, 1e-20], dtype=np.float32)),
        fraction_case(_log_uniform(rng, 1e-10, 1e-5, 60).reshape(6, 10)),
    ]


def fraction_scaled():
    rng = np.random.default_rng(722)
    g = _log_uniform(rng, 1e-14, 1e-3, 300)
    return [
        fraction_case(g, 1024.0),
        fraction_case(g, 2.0**16),
        fraction_case(np.array([1e-9, 1e-12, 1e-8, 5e-4], dtype=np.float32), 65536.0),
        fraction_case(_log_uniform(rng, 1e-12, 1e-6, 100), 1000.0),
        # The float32 product rounds to 2⁻²⁵, the tie that float16 rounds to 0; the float64
        # product stays just above it and rounds up: the multiplier is applied in float32.
        fraction_case(
            np.array([_TIE_ABOVE, 1e-3, 1e-9, -_TIE_ABOVE], np.float32),
            1 - 2.0**-24,
            "grads = float32 [t, 1e-3, 1e-9, -t] with t = 2⁻²⁵·(1 + 2⁻²³) (the float32 just "
            "above half the least float16 subnormal), loss_scale = 1 - 2⁻²⁴ (a float32 value)",
        ),
    ]


def fraction_lists():
    rng = np.random.default_rng(723)
    return [
        fraction_case(
            [_log_uniform(rng, 1e-11, 1e-4, 30), _log_uniform(rng, 1e-9, 1e-2, 12).reshape(3, 4)]
        ),
        fraction_case(
            [
                _log_uniform(rng, 1e-12, 1e-6, 8),
                np.zeros(0, np.float32),
                _log_uniform(rng, 1e-8, 1, 5),
            ],
            256.0,
        ),
    ]


def fraction_edges():
    tiny = float(np.finfo(np.float16).smallest_subnormal)  # 2⁻²⁴
    return [
        fraction_case(np.array([0.0, 0.0, 1e-9, 1e-3, 0.0, -0.0], dtype=np.float32)),
        fraction_case(np.zeros(5, dtype=np.float32)),
        fraction_case(np.zeros(0, dtype=np.float32)),
        fraction_case(np.array([1e-9, np.inf, -np.inf, np.nan, 1e5], dtype=np.float32)),
        fraction_case(np.array([1e-9, 70000.0, 1e-3], dtype=np.float32), 4.0),
        # half the smallest float16 subnormal is a tie that rounds to 0 (even); anything above
        # it rounds up to the subnormal 2⁻²⁴; float16 subnormals are not underflow
        fraction_case(
            np.array(
                [tiny / 2, -tiny / 2, tiny / 2 * (1 + 2**-20), tiny, 3 * tiny, 1e-5, 4e-8],
                dtype=np.float32,
            )
        ),
    ]


# ----------------------------------------------------------------------------------------------
# mixed_precision_train_step
# ----------------------------------------------------------------------------------------------


@functools.cache
def _reference_run(payload_key: str) -> dict[str, Any]:
    """The reference's training run for a payload (its :mod:`~autograder.harness.wire` line)."""
    from solutions.mixed_precision import mixed_precision_train_step

    outcome = drivers.train_step(
        mixed_precision_train_step, wire.loads(payload_key), trap_overflow=False, time_limit=60.0
    )
    if outcome["status"] != "returned":  # pragma: no cover - the reference must run
        raise RuntimeError(f"reference train step failed: {outcome}")
    return outcome


def _run_problem(outcome: Outcome) -> str | None:
    problem = compare.status_problem(outcome)
    if problem:
        done = len(outcome.get("losses", []))
        return compare.within("", problem, f" (in training step {done})")
    return None


def _losses_problem(case: Case, outcome: Outcome, want: dict[str, Any]) -> str | None:
    """Each step returned the loss as a Python float equal to the reference's."""
    for step, (kind, value) in enumerate(
        zip(outcome["loss_types"], outcome["losses"], strict=True)
    ):
        if kind != "float":
            return (
                f"returned a {kind} in step {step} where the loss as a Python float was "
                "expected (use loss.item() so no tensor or graph is kept)"
            )
        if not _close(value, want["losses"][step], LOSS_RTOL):
            earlier = (
                " (the earlier steps' losses agree, so the update before this step differed)"
                if step
                else ""
            )
            return (
                f"returned loss {fmt(value)} in step {step} where the autocast forward "
                f"pass gives {fmt(want['losses'][step])}{earlier}"
            )
    return None


def _autocast_problem(case: Case, outcome: Outcome, want: dict[str, Any]) -> str | None:
    """The forward pass ran in the 16-bit dtype, and the master weights stayed float32."""
    for step, seen in enumerate(outcome["forward_dtypes"]):
        if seen != want["forward_dtypes"][step]:
            return (
                f"the first layer's output in step {step} was {seen} where the forward "
                f"pass under torch.autocast(dtype={case.payload['dtype']}) gives "
                f"{want['forward_dtypes'][step]}"
            )
    for i, dtype in enumerate(outcome["param_dtypes"]):
        if dtype != "float32":
            return (
                f"parameter {i} is {dtype} after training: the master weights must stay "
                "float32 (autocast casts copies; never convert the model itself)"
            )
    return None


def _decrease_problem(case: Case, outcome: Outcome, want: dict[str, Any]) -> str | None:
    """The losses stayed finite and the loss fell at least halfway to the reference's."""
    losses = outcome["losses"]
    if not all(math.isfinite(v) for v in losses) or not math.isfinite(outcome["final_loss"]):
        return f"the losses became non-finite: {shorten(losses)}"
    if not outcome["final_loss"] < want["final_loss"] * 0.5 + losses[0] * 0.5:
        return (
            f"the loss did not decrease: {fmt(losses[0])} at the start, "
            f"{fmt(outcome['final_loss'])} after {len(losses)} steps where the reference "
            f"reaches {fmt(want['final_loss'])}"
        )
    return None


def _steps_problem(case: Case, outcome: Outcome, want: dict[str, Any]) -> str | None:
    """Each step updated the parameters as the reference did (skipping a step whose gradients
    hold inf), the GradScaler's scale followed, and the final parameters agree."""
    for step, (changed, wanted) in enumerate(zip(outcome["changed"], want["changed"], strict=True)):
        if changed != wanted:
            if wanted:
                return f"the parameters did not change in step {step} (no optimiser step?)"
            return (
                f"the parameters changed in step {step}, whose gradients contain inf: "
                "with a GradScaler, scaler.step(optimizer) must skip that step"
            )
    for step, (scale, wanted) in enumerate(zip(outcome["scales"], want["scales"], strict=True)):
        if scale != wanted:
            return (
                f"the GradScaler's scale after step {step} is {fmt(scale)} where it "
                f"should be {fmt(wanted)} (call scaler.update() once per step)"
            )
    for i, (p, w) in enumerate(zip(outcome["params"], want["params"], strict=True)):
        if p.shape != w.shape or not np.all(np.isfinite(p)):
            return f"parameter {i} has non-finite values after training"
        err = np.abs(p.astype(np.float64) - w)
        allowed = PARAM_ATOL + PARAM_RTOL * np.abs(w)
        if np.any(err > allowed):
            k = int(np.argmax(err - allowed))
            return (
                f"parameter {i} ends at {fmt(p.flat[k])} (flat index {k}) where one "
                f"correct step per call gives {fmt(w.flat[k])}: the update differs "
                "(stale gradients not reset, gradients left scaled, or a different step)"
            )
    return None


# What each aspect of a training run is judged on, in order (the first problem found is the one
# reported).
TRAIN_ASPECTS = {
    "float": (_losses_problem,),
    "autocast": (_autocast_problem,),
    "train": (_decrease_problem, _steps_problem),
    "scaler": (_steps_problem,),
}


def train_verdict(aspect: str) -> Any:
    """Judge one aspect of a short training run (:data:`TRAIN_ASPECTS`) against the reference
    run; a run that did not finish is judged by how it ended."""
    judges = TRAIN_ASPECTS[aspect]

    def verdict(case: Case, outcome: Outcome) -> str | None:
        problem = _run_problem(outcome)
        if problem:
            return problem
        want = _reference_run(wire.dumps(case.payload))
        for judge in judges:
            problem = judge(case, outcome, want)
            if problem:
                return problem
        return None

    return verdict


def train_case(aspect: str, **payload: Any) -> Case:
    full = {
        "seed": 7,
        "steps": 4,
        "lr": 0.2,
        "dtype": "bfloat16",
        "scaler": None,
        "inject_inf": None,
        "sizes": [8, 16, 4],
        "batch": 32,
    }
    full.update(payload)
    text = (
        f"{full['steps']} steps on a seeded Linear-ReLU-Linear model, "
        f"autocast dtype {full['dtype']}"
    )
    if full["scaler"]:
        text += f", GradScaler({full['scaler']})"
    if full["inject_inf"] is not None:
        text += f", inf gradient injected in step {full['inject_inf']}"
    return Case(text, full, train_verdict(aspect), harness=drivers.train_step)


def train_float():
    return [train_case("float"), train_case("float", seed=8, scaler={"init_scale": 256.0})]


def train_autocast():
    return [
        train_case("autocast", steps=2),
        train_case("autocast", steps=2, dtype="float16", seed=9),
    ]


def train_training():
    return [train_case("train", steps=6), train_case("train", steps=5, seed=11, sizes=[5, 12, 3])]


def train_scaler():
    return [
        train_case(
            "scaler",
            steps=5,
            seed=12,
            scaler={"init_scale": 1024.0, "growth_interval": 2},
            inject_inf=2,
        ),
        train_case(
            "scaler",
            steps=4,
            seed=13,
            scaler={"init_scale": 2.0**16, "growth_interval": 1},
            inject_inf=0,
        ),
    ]


# The graded names, their groups, points, descriptions and hints are declared in
# ex07_mixed_precision.toml beside this file; the functions above build each group's cases.
CHECKS: dict[str, Check] = declared_checks(__name__)
