"""The numerical environment grading runs in: the libraries' defaults, whatever the notebook set.

Before its hidden tests run, a notebook can change process-wide numerical settings: NumPy's
floating-point error state (``np.seterr(all="raise")`` left over from hunting a NaN), its print
options, PyTorch's grad mode, an ``inference_mode`` region entered and never left, anomaly
detection, the default dtype or device, or flushing of subnormal numbers to zero
(``torch.set_flush_denormal(True)``). None of them may change a grade or the feedback:
:func:`library_defaults` puts the libraries' defaults in force for a block and gives the
notebook its own settings back afterwards. What the student's function sets inside the block
(its own ``np.errstate``, an ``autocast`` it opens) applies as usual.

PyTorch's settings are only touched when the process has imported PyTorch: a notebook that never
did cannot have changed them. Flushing of subnormals is a CPU flag that NumPy obeys too; it is
detected, and switched off for the block, through PyTorch, the only library here that sets it.

This module is part of the harness: it imports nothing else of the project.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np

NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
NUMPY_PRINT = {
    "precision": 8,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 75,
    "suppress": False,
    "nanstr": "nan",
    "infstr": "inf",
    "formatter": None,
    "sign": "-",
    "floatmode": "maxprec",
    "legacy": False,
}


@contextlib.contextmanager
def library_defaults(errors: str | None = None) -> Iterator[None]:
    """Run the block with NumPy's and PyTorch's default numerical settings.

    ``errors`` is NumPy's floating-point error state in the block: ``None`` for NumPy's defaults
    (warn on overflow, division by zero and invalid operations; ignore underflow), which is
    what the student's code is graded under, or one action for every error (``"ignore"`` for
    the grader's own arithmetic, whose infinities, NaNs and underflows are results).

    With ``errors=None`` every warning PyTorch gives once per process is given each time in the
    block, so a feedback note on it does not depend on what ran before. The grader's own
    arithmetic (``errors`` given) runs on several threads of the class grader at once, so it
    moves no setting away from its default: blocks that overlap cannot leave one behind.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            np.errstate(**NUMPY_ERRORS) if errors is None else np.errstate(all=errors)
        )
        stack.enter_context(np.printoptions(**NUMPY_PRINT))
        torch = sys.modules.get("torch")
        if torch is not None:
            stack.enter_context(_torch_defaults(torch, warn_always=errors is None))
        yield


@contextlib.contextmanager
def _torch_defaults(torch, *, warn_always: bool) -> Iterator[None]:
    """Grad mode on, inference mode and anomaly detection off, float32 and the CPU as the
    default dtype and device, subnormals kept, and (``warn_always``) every warning PyTorch gives
    once per process given each time, restoring the notebook's own settings afterwards.

    An ``autocast`` region the notebook left open is not undone: wrapping the block in
    ``autocast(enabled=False)`` would make the student's own ``autocast`` an inner region, whose
    exit keeps PyTorch's cache of low-precision weight copies, so later steps would see stale
    weights.
    """
    # Only settings away from their defaults are changed (and then restored): a default
    # device of its own would put a PyTorch function mode on every later call.
    dtype, device = torch.get_default_dtype(), torch.get_default_device()
    warned_always = torch.is_warn_always_enabled()
    flushed = subnormals_flushed()
    if flushed:
        torch.set_flush_denormal(False)
    if dtype != torch.float32:
        torch.set_default_dtype(torch.float32)
    if device.type != "cpu":
        torch.set_default_device(None)
    if warn_always:
        torch.set_warn_always(True)
    try:
        with (
            torch.inference_mode(False),
            torch.enable_grad(),
            torch.autograd.set_detect_anomaly(False),
        ):
            yield
    finally:
        if warn_always:
            torch.set_warn_always(warned_always)
        if device.type != "cpu":
            torch.set_default_device(device)
        if dtype != torch.float32:
            torch.set_default_dtype(dtype)
        if flushed:
            torch.set_flush_denormal(True)


def subnormals_flushed() -> bool:
    """Whether this thread's CPU flushes subnormal numbers to zero (the smallest float64
    subnormal times 1 comes out as 0)."""
    return float((np.array([5e-324]) * 1.0)[0]) == 0.0
