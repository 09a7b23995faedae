"""Feedback text: renderings of values, the hint for each diagnosis, the message a failing group
produces and the note on warnings and printed output."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_VALUE_CHARS = 120


def fmt(number: Any, digits: int = 6) -> str:
    """A number for feedback: ``inf``, ``nan``, ``1001.41``, ``3.2e+04``, ``-0.0``."""
    value = float(number)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def exact(number: Any, dtype: Any = np.float64) -> str:
    """A number with the fewest digits that identify it in ``dtype`` (``0.80000000000000004``
    is shown as ``0.8``, its neighbour as ``0.8000000000000002``), so that a returned value and
    the true value never print alike unless they are the same number."""
    value = float(number)
    if not math.isfinite(value):
        return fmt(value)
    return (
        np.format_float_positional(np.dtype(dtype).type(value), unique=True, trim="-")
        if (value == 0 or 1e-5 <= abs(value) < 1e16)
        else np.format_float_scientific(np.dtype(dtype).type(value), unique=True, trim="-")
    )


def shorten(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A one-line rendering of plain data, at most about ``limit`` characters.

    Arrays show their first and last few entries and a non-float64 dtype; long strings are cut
    with an ellipsis.
    """
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.ndim == 0:
            text = fmt(array) if array.dtype.kind == "f" else repr(array.item())
        else:
            text = np.array2string(
                array, separator=", ", threshold=8, edgeitems=3, precision=6, max_line_width=10**6
            )
            text = " ".join(text.split()).replace("[ ", "[")
        if array.dtype != np.float64 and array.dtype.kind == "f":
            text = f"{text} ({array.dtype.name})"
    elif isinstance(value, float):
        text = fmt(value)
    elif isinstance(value, list | tuple):
        inner = ", ".join(shorten(item, limit // 2) for item in value[:4])
        more = ", …" if len(value) > 4 else ""
        text = f"[{inner}{more}]"
    elif isinstance(value, dict):
        items = list(value.items())[:4]
        inner = ", ".join(f"{key}={shorten(item, limit // 2)}" for key, item in items)
        text = "{" + inner + "}"
    else:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


NEUTRAL_HINTS: dict[str, str] = {
    "not attempted": "complete the answer cell: replace `raise NotImplementedError()` with your "
    "code, then run the cell and the visible tests below it.",
    "exception": "your code raised on an input the contract allows; run the input shown above "
    "in a cell of your own and read the line the traceback points at.",
    "timeout": "look for a loop that never ends or that visits every element in Python; "
    "NumPy's whole-array operations are much faster.",
    "unreadable return": "return what the docstring names (NumPy arrays, floats, lists, "
    "dicts of those), not a custom object.",
    "mutation": "an input array was changed in place (x -= m, x /= s, out=x, x[...] = ...) or "
    "handed back as the result; compute new arrays instead (x - m) or work on a copy "
    "(x = np.array(x)).",
    "wrong type": "return the kind of object the docstring names (a number, an array, a tuple "
    "or a dict with the listed keys).",
    "dtype": "keep the input's floating dtype: a float64 constant array or np.float64(...) "
    "mixed into float32 arithmetic promotes the result; build constants with x.dtype.",
    "shape": "the result's shape differs from the one the docstring describes: check the axis you "
    "reduce over, keepdims, and how many entries you return (e.g. n_steps + 1 iterates).",
    "nan": "a NaN appeared where the answer is a number: look for inf - inf, 0 · inf, 0 / 0 or "
    "the log of a negative number on the way.",
    "missing nan": "a NaN in the input must give NaN in the output; check that no comparison, "
    "clip or max(…) silently replaces it.",
    "overflow": "an intermediate result overflowed to inf; rearrange the formula so that only "
    "numbers that cannot overflow are exponentiated or squared (shift or rescale first).",
    "inf": "the result came out infinite although the true value is finite: an intermediate "
    "overflowed (or a log met an underflowed 0); rearrange the formula to avoid it.",
    "underflow": "the result is 0 although the true value is a representable nonzero number: a "
    "tiny intermediate was flushed to 0 (work in the log domain or rescale), or every digit "
    "cancelled (1 + tiny rounds to 1; a difference of nearly equal numbers).",
    "accuracy": "the value is outside the tolerance: if it is far off, the formula differs from "
    "the contract's (work through the input above by hand); if it is close, look for a "
    "subtraction of nearly equal numbers (cancellation) or a step that rounds to a narrower "
    "format.",
    "wrong value": "the value differs from the contract's; work through the input above by "
    "hand and compare each step with your code.",
    "wrong index": "check how you number the steps or entries: the contract counts from 0.",
    "wrong factor": "every entry is scaled by one common factor, but not by the one the docstring "
    "gives; compare your factor's formula with it term by term (where each constant goes, any "
    "clamp, the precision it is computed in).",
    "wrong quantity": "the number returned is a different quantity from the one the docstring "
    "names (for example measured after an update instead of before it); re-read its Returns "
    "section.",
    "no raise": "validate the input first and raise the named exception with a message saying "
    "what was wrong.",
    "wrong exception": "raise exactly the exception type the docstring names (a different "
    "exception raised by NumPy on the way does not count).",
    "detached": "build the result only from torch operations on the input tensors (no .numpy(), "
    ".item(), float(), .detach() or torch.no_grad() on the way), so autograd can differentiate it.",
    "empty message": "give the exception a message that says what was wrong, e.g. "
    "raise ValueError(f'...: got {value!r}').",
}


def hint_for(kind: str, hints: dict[str, str]) -> str:
    """The group's hint for diagnosis ``kind``, else the neutral hint for it."""
    return hints.get(kind) or NEUTRAL_HINTS.get(kind) or NEUTRAL_HINTS["wrong value"]


def failure_message(
    name: str,
    group_name: str,
    description: str,
    label: str,
    problem: str,
    hint: str,
    section: str,
    n_failed: int,
    n_cases: int,
) -> str:
    """The feedback for a failed group: what, on which input, why, and where to read more."""
    also = f" ({n_failed} of {n_cases} cases in this group failed)" if n_failed > 1 else ""
    problem = problem.rstrip(".")
    return (
        f"{name}, group '{group_name}' ({description}): failed on {label}{also}: {problem}.\n"
        f"Likely cause: {hint}\n"
        f"Re-read: {section}."
    )


_ERRSTATE_KEYS = {
    "divide by zero": "divide",
    "overflow": "over",
    "underflow": "under",
    "invalid value": "invalid",
}


def warning_fix(warning: str) -> str:
    """How to avoid ``warning`` (``"RuntimeWarning: divide by zero encountered in log"``)."""
    for phrase, key in _ERRSTATE_KEYS.items():
        if phrase in warning:
            return (
                f"where this step is meant to happen (e.g. log(0) = -inf is the right answer), "
                f'wrap it in `with np.errstate({key}="ignore"):`; otherwise change the formula '
                "so that it does not happen"
            )
    return (
        "find the call the warning names and change it (or the values you pass) so that it no "
        "longer warns"
    )


def conduct_note(label: str, warnings: list[str], printed: str) -> str:
    """The note for a case whose code warned or printed: it costs no points, here is the fix."""
    lines = []
    if warnings:
        first = warnings[0]
        more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
        lines.append(
            f"Note: on {label} your code emitted the warning {first!r}{more}. The value was "
            f"judged as usual (a warning costs no points), but answer cells should not warn: "
            f"{warning_fix(first)}."
        )
    if printed.strip():
        shown = shorten(printed.strip(), 60)
        lines.append(
            f"Note: on {label} your code printed {shown}. Printing costs no points, but answer "
            "cells should not print: remove the print (or move it to a cell of your own)."
        )
    return "\n".join(lines)
