"""The harness half of a case: drive the student's object and record plain data.

Every harness has the signature ``harness(obj, payload, *, trap_overflow, time_limit) -> Outcome``
and never lets an exception, a warning or printed output escape: whatever the student's code does
is recorded in the outcome (:mod:`autograder.harness.outcome` lists its fields). The generic
harnesses are :func:`call` and :func:`value`; an assignment's drivers
(:mod:`autograder.harness.drivers`) are harnesses too. A case names its harness by reference; a
request to the sandbox carries :func:`harness_name` and the worker finds it with :func:`resolve`.

This module never imports :mod:`solutions`: it is the half that runs beside untrusted code.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograder.harness.numerics import library_defaults
from autograder.harness.outcome import (
    BAD_RETURN,
    OVERFLOW,
    RAISED,
    RETURNED,
    TIMEOUT,
    Outcome,
    raised,
)

Harness = Callable[..., Outcome]
MAX_CAPTURED_CHARS = 2000
DRIVERS = "autograder.harness.drivers."


def drive(
    harness: Harness, obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float
) -> Outcome:
    """Run ``harness`` on the student's object in the libraries' default numerical environment
    (:func:`autograder.harness.numerics.library_defaults`): what the notebook set process-wide
    (``np.seterr``, ``torch.set_grad_enabled``, …) changes neither the run nor its outcome.
    An exception that escapes the harness (the student's object broke the driver's own code)
    becomes a ``raised`` outcome."""
    try:
        with library_defaults():
            return harness(obj, payload, trap_overflow=trap_overflow, time_limit=time_limit)
    except Exception as failure:  # the harness itself was broken by the student's code
        return raised(type(failure).__name__, str(failure)[:MAX_CAPTURED_CHARS])


def harness_name(harness: Harness) -> str:
    """How a request names ``harness`` across the channel: ``"<module>:<function>"``."""
    return f"{harness.__module__}:{harness.__qualname__}"


def resolve(name: str) -> Harness:
    """The harness a request names (see :func:`harness_name`): :func:`call`, :func:`value` or
    a function of an assignment's driver module; ``ValueError`` for any other name."""
    module_name, _, function_name = name.partition(":")
    known = module_name == __name__ or module_name.startswith(DRIVERS)
    if not known or not function_name.isidentifier():
        raise ValueError(f"unknown harness {name!r}")
    return getattr(importlib.import_module(module_name), function_name)


class CallTimeout(BaseException):
    """Raised inside a student's call when it exceeds its time limit.

    A ``BaseException`` so that a student's ``except Exception`` cannot swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CallTimeout` in the block after ``seconds`` of wall time.

    Uses ``SIGALRM``; where that is unavailable (not the main thread, or not POSIX) the block runs
    without a limit.
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and seconds > 0
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CallTimeout(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def quiet() -> Iterator[tuple[io.StringIO, list[warnings.WarningMessage]]]:
    """Capture stdout, stderr and warnings so nothing reaches the notebook's stderr."""
    buffer = io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(buffer),
        contextlib.redirect_stderr(buffer),
    ):
        warnings.simplefilter("always")
        yield buffer, caught


def to_plain(value: Any, depth: int = 0) -> Any:
    """Convert a returned object to plain data, or raise ``TypeError``.

    ndarrays (subclasses included) become base-class copies; NumPy scalars become 0-d arrays (so
    their dtype survives); torch tensors become ``{"tensor": ndarray, "dtype": str,
    "requires_grad": bool}``; lists and tuples become lists; dicts with string keys stay dicts;
    ``None``, bools, ints, floats and strings pass through. Python ints too large for float are
    kept as ints.
    """
    if depth > 4:
        raise TypeError("nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass (possibly with a rigged __eq__) becomes a str
    if type(value) in (int, float):
        return value
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        # A subclass of int/float (possibly with a rigged __eq__): keep only its numeric value.
        return float.__float__(value) if isinstance(value, float) else int.__int__(value)
    if isinstance(value, np.generic):
        return np.array(value)
    if isinstance(value, np.ndarray):
        return np.array(value, subok=False, copy=True)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        as_float = tensor.float() if tensor.dtype in (torch.bfloat16, torch.float16) else tensor
        return {
            "tensor": np.array(as_float.numpy(), copy=True),
            "dtype": str(tensor.dtype),
            "requires_grad": bool(value.requires_grad),
        }
    if isinstance(value, list | tuple):
        return [to_plain(item, depth + 1) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: to_plain(item, depth + 1) for key, item in value.items()}
    raise TypeError(type(value).__name__)


def not_callable(obj: Any, what: str = "a function") -> Outcome:
    """The outcome for a graded name that is not ``what`` (a function, a class) at all."""
    return raised("TypeError", f"expected {what}, got {type_name(obj)}")


def type_name(value: Any) -> str:
    """The name used in feedback for a value's type (``numpy.float32``, ``ndarray``, ``float``)."""
    kind = type(value)
    if isinstance(value, np.generic):
        return f"numpy.{kind.__name__}"
    if kind.__module__ in ("builtins", "numpy"):
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"


def _student_line(tb) -> str:
    """Describe the innermost traceback frame that is not library or grader code."""
    skip = ("site-packages", "dist-packages", "/lib/python", "autograder/harness/calls.py")
    frames = [f for f in traceback.extract_tb(tb) if not any(s in f.filename for s in skip)]
    if not frames:
        return ""
    frame = frames[-1]
    code = (frame.line or "").strip()
    return f"in {frame.name}, line {frame.lineno}: {code}" if code else f"in {frame.name}"


def same(before: Any, after: Any) -> bool:
    """Whether an argument is unchanged (arrays compared bitwise-equal, NaN equal to NaN)."""
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        )
    if isinstance(before, list | tuple):
        return (
            isinstance(after, list | tuple)
            and len(before) == len(after)
            and all(same(b, a) for b, a in zip(before, after, strict=True))
        )
    return True


_UFUNC_CONFIG = importlib.import_module("numpy._core._ufunc_config")
_LIBRARY_PATHS = ("site-packages", "dist-packages", "/lib/python")


def _called_from_library(depth: int) -> bool:
    """Whether the code that asked for an error state ``depth`` frames up is library code."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename == _UFUNC_CONFIG.__file__:
        frame = frame.f_back
    return frame is not None and any(p in frame.f_code.co_filename for p in _LIBRARY_PATHS)


@contextlib.contextmanager
def overflow_trap() -> Iterator[dict[str, bool]]:
    """Trap floating-point overflow in the block, even where the student's code silences it.

    ``np.errstate(over="raise")`` alone is overridden by a student's own ``np.errstate(over=
    "ignore")`` (or ``all="ignore"``, or ``np.seterr``) around a naive formula, which would hide
    the overflowing intermediate the hard groups exist to find. Every error state NumPy builds in
    the block (``errstate`` and ``seterr`` both go through ``_make_extobj``) therefore keeps
    ``over="raise"`` when it is requested from code outside the installed libraries; library
    code (SciPy, PyTorch, NumPy itself) keeps the settings it asks for. The yielded dict's
    ``silenced`` becomes True when a request to relax the trap was overridden.
    """
    original = _UFUNC_CONFIG._make_extobj
    state = {"silenced": False}

    def make_extobj(**settings: Any) -> Any:
        if _called_from_library(2):
            return original(**settings)
        over = settings.get("over") or settings.get("all")
        if over is not None and over != "raise":
            state["silenced"] = True
        return original(**{**settings, "over": "raise"})

    _UFUNC_CONFIG._make_extobj = make_extobj
    try:
        with np.errstate(over="raise"):
            yield state
    finally:
        _UFUNC_CONFIG._make_extobj = original


def run_protected(
    function: Callable[[], Any], *, trap_overflow: bool, time_limit_s: float
) -> tuple[Outcome, Any]:
    """Call ``function()`` with output captured, warnings recorded and a time limit.

    Returns ``(outcome, result)`` where ``outcome`` has the status fields described in the
    module docstring (without ``value``) and ``result`` is what the call returned (``None``
    unless the status is ``"returned"``).
    """
    outcome: Outcome = {"status": RETURNED}
    result = None
    trap = overflow_trap() if trap_overflow else contextlib.nullcontext({"silenced": False})
    start = time.perf_counter()
    with quiet() as (printed, caught):
        try:
            with time_limit(time_limit_s), trap as trapped:
                result = function()
        except CallTimeout:
            outcome = {"status": TIMEOUT, "message": f"did not finish within {time_limit_s:g} s"}
        except FloatingPointError as error:
            status = OVERFLOW if trap_overflow and "overflow" in str(error) else RAISED
            outcome = {
                "status": status,
                "exc_type": "FloatingPointError",
                "message": str(error),
                "where": _student_line(error.__traceback__),
            }
            if status == OVERFLOW:
                outcome["silenced"] = trapped["silenced"]
        except (Exception, KeyboardInterrupt, SystemExit) as error:  # the student's failure
            outcome = {
                "status": RAISED,
                "exc_type": type(error).__name__,
                "message": str(error)[:MAX_CAPTURED_CHARS],
                "where": _student_line(error.__traceback__),
            }
    outcome["seconds"] = time.perf_counter() - start
    outcome["stdout"] = printed.getvalue()[:MAX_CAPTURED_CHARS]
    outcome["warnings"] = [
        f"{w.category.__name__}: {w.message}"[:200] for w in caught[:20] if w is not None
    ]
    return outcome, result


def record_return(outcome: Outcome, result: Any) -> Outcome:
    """Add ``value`` and ``type`` for a returned result (or mark it ``bad_return``)."""
    if outcome["status"] != RETURNED:
        return outcome
    outcome["type"] = type_name(result)
    try:
        outcome["value"] = to_plain(result)
    except (TypeError, ValueError, RuntimeError):
        outcome["status"] = BAD_RETURN
    return outcome


def call(obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float) -> Outcome:
    """Call ``obj(*args, **kwargs)`` on copies of the payload's arguments and record the result.

    Payload keys: ``args`` (list), ``kwargs`` (dict), optional ``iterate`` (a list of argument
    indices whose value, a list of arrays, is passed as a one-shot generator instead, as for
    ``online_logsumexp`` and ``welford``). ``mutated`` is True when any argument was changed.
    """
    args = list(payload.get("args", []))
    kwargs = dict(payload.get("kwargs", {}))
    call_args = copy.deepcopy(args)
    call_kwargs = copy.deepcopy(kwargs)
    passed = list(call_args)
    for index in payload.get("iterate", []):
        passed[index] = (chunk for chunk in call_args[index])
    if not callable(obj):
        return not_callable(obj)
    outcome, result = run_protected(
        lambda: obj(*passed, **call_kwargs), trap_overflow=trap_overflow, time_limit_s=time_limit
    )
    outcome["mutated"] = not (same(args, call_args) and same(kwargs, call_kwargs))
    return record_return(outcome, result)


def value(obj: Any, payload: dict[str, Any], *, trap_overflow: bool, time_limit: float) -> Outcome:
    """Record a plain value the student set (a multiple-choice answer)."""
    outcome: Outcome = {"status": RETURNED, "mutated": False, "warnings": [], "stdout": ""}
    outcome["seconds"] = 0.0
    return record_return(outcome, obj)
