"""The narrow channel between the grader and a student's sandbox: plain data as JSON text.

:func:`dumps` turns plain data into one line of JSON and :func:`loads` turns such a line back.
Plain data is ``None``, bools, ints, floats (``inf`` and ``nan`` included), strings, lists, tuples,
dicts with string keys, and NumPy arrays or scalars whose dtype is boolean, integer, unsigned,
floating or complex, and such dtypes themselves (``np.float32`` or ``np.dtype("float32")``).
Nothing else crosses: :func:`dumps` raises :class:`WireError` for any other object (an array of
more than :data:`MAX_DEPTH` dimensions included, which the worker then reports as a value that
cannot be returned, never as a broken message), and :func:`loads` rebuilds arrays from raw bytes
with a checked dtype and shape, so reading a line the student's process wrote never runs the
student's code (no pickle, no ``__eq__``, no object dtype).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

ARRAY_KEY = "__array__"
TUPLE_KEY = "__tuple__"
DTYPE_KEY = "__dtype__"
ALLOWED_KINDS = "biufc"
MAX_DEPTH = 32
MAX_ITEMSIZE = 16


def run_order(
    cell_numbers: list[int], positions: list[int | None], skip: set[int] = frozenset()
) -> list[tuple[str, int]]:
    """The order in which a run executes cells and harness requests (the worker follows it and
    the grader holds the channel to it): ``("cell", n)`` for each cell number in order, and
    ``("request", k)`` for each request ``k`` not in ``skip``, placed before the first cell
    numbered above its ``positions[k]`` (at the end when that is ``None``)."""
    pending = sorted(
        (position if position is not None else math.inf, index)
        for index, position in enumerate(positions)
        if index not in skip
    )
    order: list[tuple[str, int]] = []
    for number in cell_numbers:
        while pending and pending[0][0] < number:
            order.append(("request", pending.pop(0)[1]))
        order.append(("cell", number))
    return order + [("request", index) for _, index in pending]


class WireError(ValueError):
    """Data that may not cross the channel, or a line that is not a valid message."""


def dumps(value: Any) -> str:
    """One line of JSON for plain data; :class:`WireError` for anything else."""
    return json.dumps(_encode(value, 0), allow_nan=True, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Plain data from one line written by :func:`dumps`; :class:`WireError` if it is not valid."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not valid JSON ({error})") from None
    return _decode(raw, 0)


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, np.generic):
        return {ARRAY_KEY: _array_fields(np.array(value), True)}
    if type(value) is np.ndarray:
        return {ARRAY_KEY: _array_fields(value, False)}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        dtype = _allowed_dtype(value)
        return {DTYPE_KEY: [dtype.name, isinstance(value, np.dtype)]}
    if type(value) is list:
        return [_encode(item, depth + 1) for item in value]
    if type(value) is tuple:
        return {TUPLE_KEY: [_encode(item, depth + 1) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {key: _encode(item, depth + 1) for key, item in value.items()}
    raise WireError(f"a {type(value).__name__} cannot cross the channel")


def _allowed_dtype(spec: Any) -> np.dtype:
    """``np.dtype(spec)`` if it is a plain numeric or boolean dtype, else :class:`WireError`."""
    try:
        dtype = np.dtype(spec)
    except (TypeError, ValueError):
        raise WireError(f"unknown dtype {spec!r}") from None
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None or dtype.itemsize > MAX_ITEMSIZE:
        raise WireError(f"dtype {dtype} may not cross the channel")
    return dtype


def _array_fields(array: np.ndarray, scalar: bool) -> dict[str, Any]:
    _allowed_dtype(array.dtype)
    if array.ndim > MAX_DEPTH:
        raise WireError(
            f"an array with {array.ndim} dimensions cannot cross the channel (at most {MAX_DEPTH})"
        )
    data = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": data, "scalar": scalar}


def _decode(raw: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if raw is None or isinstance(raw, bool | str | int | float):
        return raw
    if isinstance(raw, list):
        return [_decode(item, depth + 1) for item in raw]
    if isinstance(raw, dict):
        if set(raw) == {ARRAY_KEY}:
            return _decode_array(raw[ARRAY_KEY])
        if (
            set(raw) == {DTYPE_KEY}
            and isinstance(raw[DTYPE_KEY], list)
            and len(raw[DTYPE_KEY]) == 2
        ):
            name, as_dtype = raw[DTYPE_KEY]
            dtype = _allowed_dtype(str(name))
            return dtype if as_dtype is True else dtype.type
        if set(raw) == {TUPLE_KEY} and isinstance(raw[TUPLE_KEY], list):
            return tuple(_decode(item, depth + 1) for item in raw[TUPLE_KEY])
        return {key: _decode(item, depth + 1) for key, item in raw.items()}
    raise WireError(f"unexpected JSON value of type {type(raw).__name__}")


def _decode_array(fields: Any) -> Any:
    if not isinstance(fields, dict) or set(fields) != {"dtype", "shape", "data", "scalar"}:
        raise WireError("malformed array")
    dtype = _allowed_dtype(str(fields["dtype"]))
    shape = fields["shape"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("malformed array shape")
    if len(shape) > MAX_DEPTH:
        raise WireError("too many array dimensions")
    try:
        data = base64.b64decode(fields["data"], validate=True)
    except (TypeError, ValueError):
        raise WireError("malformed array data") from None
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise WireError("array data does not match its shape")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if fields["scalar"] is True and array.ndim == 0:
        return array[()]
    return array
