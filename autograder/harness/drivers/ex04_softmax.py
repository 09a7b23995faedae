"""Driver for ex04_softmax's ``torch_cross_entropy``: build logits tensors, call, backpropagate.

The payload is plain data: ``logits`` (a float64 array whose values are exact in ``dtype``),
``targets`` (an int64 array) and ``dtype`` (``"float32"`` or ``"float64"``). The driver builds a
leaf tensor with ``requires_grad=True``, calls the student's function, and records plain data
only: whether a tensor came back, its value, dtype, shape, whether it is attached to the
autograd graph, and the gradient w.r.t. the logits after ``backward()``. It never imports
:mod:`solutions`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.harness.calls import not_callable, run_protected, to_plain, type_name
from autograder.harness.outcome import BAD_RETURN, RETURNED, Outcome


def torch_cross_entropy(
    obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Run ``obj(logits, targets)`` on fresh tensors and record the loss and its gradient.

    Outcome keys besides the harness's status fields: ``is_tensor``, ``type``, ``value`` (the
    loss as float64, a 0-d array, or what :func:`~autograder.harness.calls.to_plain` makes of a
    non-tensor), ``dtype`` and ``shape`` of a returned tensor, ``attached`` (it has a
    ``grad_fn``), ``backward`` (``"ok"``, ``"not attached"`` or the exception raised by
    ``backward()``) and ``grad`` (the logits' gradient as float64, or ``None``). ``mutated`` is
    True when the function changed the logits or the targets in place.
    """
    import torch

    dtype = {"float32": torch.float32, "float64": torch.float64}[payload["dtype"]]
    original = np.asarray(payload["logits"], dtype=np.float64)
    targets_np = np.asarray(payload["targets"], dtype=np.int64)
    logits = torch.tensor(original, dtype=dtype, requires_grad=True)
    targets = torch.tensor(targets_np, dtype=torch.int64)
    if not callable(obj):
        return not_callable(obj)
    outcome, result = run_protected(
        lambda: obj(logits, targets), trap_overflow=trap_overflow, time_limit_s=time_limit
    )
    with torch.no_grad():
        outcome["mutated"] = not (
            np.array_equal(logits.detach().double().numpy(), original.astype(dtype_np(dtype)))
            and np.array_equal(targets.numpy(), targets_np)
        )
    if outcome["status"] != RETURNED:
        return outcome
    outcome["type"] = type_name(result)
    outcome["is_tensor"] = isinstance(result, torch.Tensor)
    outcome["grad"] = None
    if not outcome["is_tensor"]:
        try:
            outcome["value"] = to_plain(result)
        except (TypeError, ValueError, RuntimeError):
            outcome["status"] = BAD_RETURN
        outcome["backward"] = "not a tensor"
        outcome["attached"] = False
        return outcome
    detached = result.detach().cpu()
    outcome["dtype"] = str(result.dtype).removeprefix("torch.")
    outcome["shape"] = list(result.shape)
    if detached.is_floating_point():
        outcome["value"] = np.array(detached.double().numpy(), copy=True)
    else:
        outcome["value"] = np.array(detached.numpy(), copy=True)
    outcome["attached"] = bool(result.requires_grad and result.grad_fn is not None)
    if not outcome["attached"]:
        outcome["backward"] = "not attached"
        return outcome
    if result.numel() != 1:
        outcome["backward"] = "not a single number"
        return outcome
    back, _ = run_protected(
        lambda: result.backward(), trap_overflow=trap_overflow, time_limit_s=time_limit
    )
    if back["status"] != RETURNED:
        outcome["backward"] = f"{back.get('exc_type', back['status'])}: {back.get('message', '')}"
        return outcome
    outcome["warnings"] = outcome["warnings"] + back["warnings"]
    outcome["backward"] = "ok"
    grad = logits.grad
    outcome["grad"] = None if grad is None else np.array(grad.double().numpy(), copy=True)
    return outcome


def dtype_np(dtype: Any) -> Any:
    """The NumPy dtype matching a torch floating dtype."""
    import torch

    return np.float32 if dtype == torch.float32 else np.float64
