"""Feedback text: short renderings of values and the message a failing group produces."""

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
    return (
        f"{name}, group '{group_name}' ({description}): failed on {label}{also}: {problem}.\n"
        f"Likely cause: {hint}\n"
        f"Re-read: {section}."
    )
