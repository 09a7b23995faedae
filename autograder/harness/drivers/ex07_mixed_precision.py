"""Drivers for ex07_mixed_precision: the ``DynamicLossScaler`` class and the autocast training step.

Both drivers build everything the student's object needs from a plain-data payload, run it under
:func:`~autograder.harness.calls.run_protected` (output, warnings, exceptions and time captured) and
record plain data only. They never import :mod:`solutions`: the verdicts run the same driver on
the reference implementation to get the expected data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.harness.calls import not_callable, run_protected, to_plain, type_name
from autograder.harness.outcome import Outcome


def _plain_or_repr(value: Any) -> Any:
    """Plain data for a value the student returned, or ``{"unreadable": type name}``."""
    try:
        return to_plain(value)
    except (TypeError, ValueError, RuntimeError):
        return {"unreadable": type_name(value)}


def loss_scaler(
    obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Instantiate ``obj(**payload["init"])`` and replay a sequence of events on it.

    Payload: ``init`` (constructor keyword arguments, plain numbers) and ``events``, a list of
    ``["update", found_inf]``, ``["scale_loss", loss]`` or ``["unscale", [arrays]]``. The outcome's
    ``log`` is a list with one entry per step, starting with ``{"op": "init", "scale": ...}``;
    an ``update`` entry records ``get_scale()`` right after the update, a ``scale_loss`` entry
    the returned value, an ``unscale`` entry the returned gradients and ``found_inf`` (plain data;
    a return that is not a pair is recorded as ``{"unreadable": ...}``). The log keeps the steps
    done before an exception. ``mutated`` is True when ``unscale`` changed its input arrays.
    """
    if not callable(obj):
        return not_callable(obj, "a class")
    init = dict(payload.get("init", {}))
    events = payload["events"]
    log: list[dict[str, Any]] = []
    originals: list[list[np.ndarray]] = []
    passed: list[list[np.ndarray]] = []

    def replay() -> None:
        scaler = obj(**init)
        log.append({"op": "init", "scale": _plain_or_repr(scaler.get_scale())})
        for op, argument in events:
            if op == "update":
                scaler.update(bool(argument))
                log.append(
                    {
                        "op": op,
                        "found_inf": bool(argument),
                        "scale": _plain_or_repr(scaler.get_scale()),
                    }
                )
            elif op == "scale_loss":
                log.append(
                    {
                        "op": op,
                        "loss": float(argument),
                        "value": _plain_or_repr(scaler.scale_loss(argument)),
                    }
                )
            elif op == "unscale":
                grads = [np.array(g, copy=True) for g in argument]
                originals.append([np.array(g, copy=True) for g in argument])
                passed.append(grads)
                result = scaler.unscale(grads)
                entry: dict[str, Any] = {"op": op, "scale": _plain_or_repr(scaler.get_scale())}
                if isinstance(result, tuple | list) and len(result) == 2:
                    entry["grads"] = _plain_or_repr(result[0])
                    entry["found_inf"] = _plain_or_repr(result[1])
                else:
                    entry["grads"] = {"unreadable": type_name(result)}
                    entry["found_inf"] = None
                log.append(entry)
            else:  # pragma: no cover - a malformed payload is the grader's bug
                raise RuntimeError(f"unknown event {op!r}")

    outcome, _ = run_protected(replay, trap_overflow=trap_overflow, time_limit_s=time_limit)
    outcome["log"] = log
    outcome["mutated"] = any(
        not (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True))
        for before, after in zip(originals, passed, strict=True)
        for a, b in zip(before, after, strict=True)
    )
    return outcome


def _seeded_model_and_data(payload: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The float32 Linear-ReLU-Linear model of ``payload["sizes"]`` and a batch of inputs and
    targets, all drawn from ``payload["seed"]`` (without touching torch's global generator)."""
    import torch

    seed = int(payload["seed"])
    n_in, n_hidden, n_out = payload.get("sizes", [8, 16, 4])
    generator = torch.Generator().manual_seed(seed)
    # float32 written out: a notebook's torch.set_default_dtype must not change the model.
    batch, f32 = payload.get("batch", 32), torch.float32
    inputs = torch.randn(batch, n_in, generator=generator, dtype=f32)
    targets = torch.randint(0, n_out, (batch,), generator=generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(n_in, n_hidden, dtype=f32),
            torch.nn.ReLU(),
            torch.nn.Linear(n_hidden, n_out, dtype=f32),
        )
    return model, inputs, targets


def train_step(
    obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Train a small seeded model for a few steps with the student's ``mixed_precision_train_step``.

    Payload: ``seed``, ``steps``, ``lr``, ``dtype`` (``"bfloat16"`` or ``"float16"``), ``scaler``
    (``None`` or ``{"init_scale": ..., "growth_interval": ...}`` for a CPU
    ``torch.amp.GradScaler``), ``inject_inf`` (``None`` or the step, counted from 0, whose
    gradient of the first layer's weight is replaced by inf through a hook), ``sizes``
    (``[in, hidden, classes]``) and ``batch``.

    The model is Linear-ReLU-Linear in float32 with an SGD optimiser and
    ``torch.nn.CrossEntropyLoss``; the data are drawn from the seed. Outcome keys: ``losses``
    (the returned values as floats, NaN where a return is not a number), ``loss_types``
    (their type names), ``forward_dtypes`` (the dtype of the first layer's output seen in each
    step), ``param_dtypes`` (after training), ``params`` (the final parameters as float32 arrays),
    ``changed`` (per step: whether any parameter changed), ``scales`` (the GradScaler's scale
    after each step, or ``None``) and ``final_loss`` (the float32 loss of the trained model on
    the data, computed by the driver without autocast).
    """
    import torch

    if not callable(obj):
        return not_callable(obj, "a function")
    model, inputs, targets = _seeded_model_and_data(payload)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(payload.get("lr", 0.1)))
    loss_fn = torch.nn.CrossEntropyLoss()
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}[payload.get("dtype", "bfloat16")]
    settings = payload.get("scaler")
    scaler = None if settings is None else torch.amp.GradScaler("cpu", **settings)
    inject = payload.get("inject_inf")
    first = model[0]
    state = {"step": -1, "forward": "not called"}

    def poison(grad):
        return torch.full_like(grad, float("inf")) if state["step"] == inject else grad

    def note_forward(module, args, output):
        state["forward"] = str(output.dtype).removeprefix("torch.")

    first.weight.register_hook(poison)
    first.register_forward_hook(note_forward)
    record: dict[str, Any] = {
        "losses": [],
        "loss_types": [],
        "forward_dtypes": [],
        "changed": [],
        "scales": [],
    }

    def run() -> None:
        for step in range(int(payload["steps"])):
            state["step"], state["forward"] = step, "not called"
            before = [p.detach().clone() for p in model.parameters()]
            kwargs = {"dtype": dtype} if payload.get("pass_dtype", True) else {}
            loss = obj(model, optimizer, loss_fn, inputs, targets, scaler=scaler, **kwargs)
            record["loss_types"].append(type_name(loss))
            try:
                record["losses"].append(float(loss))
            except (TypeError, ValueError, RuntimeError):
                record["losses"].append(float("nan"))
            record["forward_dtypes"].append(state["forward"])
            record["changed"].append(
                any(
                    p.dtype != b.dtype or not torch.equal(p.detach(), b)
                    for p, b in zip(model.parameters(), before, strict=True)
                )
            )
            record["scales"].append(None if scaler is None else float(scaler.get_scale()))

    outcome, _ = run_protected(run, trap_overflow=trap_overflow, time_limit_s=time_limit)
    outcome.update(record)
    outcome["mutated"] = False
    with torch.no_grad():
        outcome["param_dtypes"] = [str(p.dtype).removeprefix("torch.") for p in model.parameters()]
        outcome["params"] = [
            np.array(p.detach().float().numpy(), copy=True) for p in model.parameters()
        ]
        model_32 = model.float()
        outcome["final_loss"] = float(loss_fn(model_32(inputs), targets))
    return outcome
