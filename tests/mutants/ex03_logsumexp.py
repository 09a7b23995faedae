"""Correct and wrong implementations of ex03_logsumexp's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "logsumexp": [
        """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    if x.size == 0 and axis is None:
        out = np.array(-np.inf, dtype=x.dtype if x.dtype.kind == "f" else float)
        return out.reshape((1,) * x.ndim) if keepdims else out[()]
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    with np.errstate(divide="ignore"):
        s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    out = s + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out if out.ndim else out[()]
""",
        """
import scipy.special

def logsumexp(x, axis=None, keepdims=False):
    return scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
""",
        """
import numpy as np
import torch

def logsumexp(x, axis=None, keepdims=False):
    t = torch.from_numpy(np.asarray(x))
    if axis is None:
        out = torch.logsumexp(t.reshape(-1), dim=0)
        if keepdims:
            out = out.reshape((1,) * t.ndim)
    else:
        out = torch.logsumexp(t, dim=axis, keepdim=keepdims)
    return out.numpy()
""",
        """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    # the log1p refinement: split off one copy of the maximum
    x = np.asarray(x)
    if axis is None:
        moved = x.reshape(1, -1)
    else:
        moved = np.moveaxis(x, axis, -1)
        moved = moved.reshape(-1, moved.shape[-1]) if moved.size else moved.reshape(-1, 0)
    out = np.empty(moved.shape[0], dtype=x.dtype)
    for i, row in enumerate(moved):
        if row.size == 0:
            out[i] = -np.inf
            continue
        k = np.argmax(row)
        m = row[k]
        if np.isnan(row).any():
            out[i] = np.nan
        elif not np.isfinite(m):
            out[i] = m
        else:
            rest = np.delete(row, k)
            out[i] = m + np.log1p(np.sum(np.exp(rest - m)))
    if axis is None:
        result = out.reshape((1,) * x.ndim) if keepdims else out[0]
        return result
    shape = list(np.moveaxis(x, axis, -1).shape[:-1])
    result = out.reshape(shape)
    return np.expand_dims(result, axis) if keepdims else result
""",
    ],
    "logaddexp": [
        """
import numpy as np

def logaddexp(a, b):
    dtype = np.result_type(a, b)  # a Python float takes the other argument's dtype
    a, b = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
    m = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        d = -np.abs(a - b)
        out = m + np.log1p(np.exp(d))
    return np.where(a == b, a + np.log(np.asarray(2, dtype=out.dtype)), out)
""",
        """
import numpy as np
import torch

def logaddexp(a, b):
    ta, tb = torch.as_tensor(np.asarray(a)), torch.as_tensor(np.asarray(b))
    dtype = np.result_type(a, b)
    return torch.logaddexp(ta.to(torch.float64), tb.to(torch.float64)).numpy().astype(dtype)
""",
        """
import numpy as np
from scipy.special import logsumexp

def logaddexp(a, b):
    dtype = np.result_type(a, b)
    a, b = np.broadcast_arrays(np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype))
    return logsumexp(np.stack([a, b]), axis=0)
""",
    ],
    "online_logsumexp": [
        """
import numpy as np

def online_logsumexp(chunks):
    m, s = -np.inf, 0.0
    for chunk in chunks:
        chunk = np.asarray(chunk, dtype=float)
        if chunk.size == 0:
            continue
        if np.isnan(chunk).any():
            return float("nan")
        new_m = max(m, float(chunk.max()))
        if new_m == np.inf:
            return float("inf")
        if new_m == -np.inf:
            continue
        s = s * np.exp(m - new_m) + np.sum(np.exp(chunk - new_m))
        m = new_m
    return float(m + np.log(s)) if s > 0 else -np.inf
""",
        """
import math
import numpy as np
from scipy.special import logsumexp

def online_logsumexp(chunks):
    # merge the (m, s) state of each chunk into the running one
    total = -math.inf
    seen_nan = False
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        part = float(logsumexp(chunk))
        seen_nan = seen_nan or math.isnan(part)
        total = float(np.logaddexp(total, part))
    return math.nan if seen_nan else total
""",
        """
import math

def online_logsumexp(chunks):
    # one value at a time, pure Python
    m, s = -math.inf, 0.0
    for chunk in chunks:
        for v in chunk:
            v = float(v)
            if math.isnan(v) or math.isnan(m):
                m = math.nan
                continue
            if v == math.inf or m == math.inf:
                m = math.inf
                continue
            if v == -math.inf:
                continue
            if v > m:
                s = s * math.exp(m - v) + 1.0
                m = v
            else:
                s += math.exp(v - m)
    if math.isnan(m) or m == math.inf:
        return m
    return m + math.log(s) if s > 0 else -math.inf
""",
    ],
}

LOGADDEXP_FLOAT16_FLOOR = """
import numpy as np

def logaddexp(a, b):
    # "at least float16": right for arrays, but two Python floats give float16
    dtype = np.result_type(a, b, np.float16)
    a, b = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
    m = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        out = m + np.log1p(np.exp(-np.abs(a - b)))
    return np.where(np.isinf(m) & (a == b), m, out)
"""

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "logsumexp": [
        (
            """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)
""",
            {"edge"},
        ),
        (
            """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    if x.size == 0:
        return -np.inf
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # float64 0.0 keeps the dtype only for float64 input
    with np.errstate(divide="ignore"):
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    out = out.astype(np.float64)
    return out if keepdims else np.squeeze(out, axis=axis)
""",
            {"float32"},
        ),
        (
            """
import numpy as np

def logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    if x.size == 0:
        return np.array(-np.inf)
    m = np.max(x)  # one global maximum even when reducing along an axis
    m = m if np.isfinite(m) else 0.0
    with np.errstate(divide="ignore"):
        return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=keepdims))
""",
            {"axis"},
        ),
        (
            """
import numpy as np
import scipy.special

def logsumexp(x, axis=None, keepdims=False):
    # the plain formula, falling back to the shifted one only when it raises
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    except FloatingPointError:
        return scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
""",
            {"large", "float32"},
        ),
    ],
    "logaddexp": [
        (
            """
import numpy as np

def logaddexp(a, b):
    return np.log(np.exp(a) + np.exp(b))
""",
            {"large", "broadcast"},
        ),
        (
            """
import numpy as np

def logaddexp(a, b):
    m = np.maximum(a, b)
    return m + np.log1p(np.exp(-np.abs(a - b)))
""",
            {"infinities"},
        ),
        (
            """
import math
import numpy as np

def logaddexp(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    out = np.empty(a.shape)
    for i in np.ndindex(a.shape):
        m = max(a[i], b[i])
        if m == -math.inf or m == math.inf:
            out[i] = m
        else:
            out[i] = m + math.log1p(math.exp(-abs(a[i] - b[i])))
    return out  # always float64
""",
            {"broadcast"},
        ),
        (LOGADDEXP_FLOAT16_FLOOR, {"basic"}),
    ],
    "online_logsumexp": [
        (
            """
import numpy as np

def online_logsumexp(chunks):
    total = 0.0
    for chunk in chunks:
        total += np.sum(np.exp(chunk))
    return float(np.log(total))
""",
            {"large"},
        ),
        (
            """
import numpy as np

def online_logsumexp(chunks):
    # two passes: the second one finds the generator exhausted
    chunks_m = max((np.max(c) for c in chunks if len(c)), default=-np.inf)
    s = sum(np.sum(np.exp(c - chunks_m)) for c in chunks)
    return float(chunks_m + np.log(s)) if s else float(chunks_m)
""",
            {"basic", "large", "edge"},
        ),
        (
            """
import numpy as np

def online_logsumexp(chunks):
    m, s = -np.inf, 0.0
    for chunk in chunks:
        chunk = np.asarray(chunk, dtype=float)
        if chunk.size == 0:
            continue
        new_m = max(m, float(chunk.max()))
        s = s + np.sum(np.exp(chunk - new_m))  # forgot to rescale the old sum
        m = new_m
    return float(m + np.log(s)) if s > 0 else -np.inf
""",
            {"basic", "large", "edge"},
        ),
        (
            """
import numpy as np

def online_logsumexp(chunks):
    # the plain formula over all the values, shifted only when it raises
    values = [np.asarray(chunk, dtype=float) for chunk in chunks]
    x = np.concatenate(values) if values else np.array([])
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return float(np.log(np.sum(np.exp(x))))
    except FloatingPointError:
        m = x.max() if x.size else -np.inf
        if not np.isfinite(m):
            return float(m)
        return float(m + np.log(np.sum(np.exp(x - m))))
""",
            {"large"},
        ),
    ],
}

ANSWERS: dict[str, str] = {"q1": "c", "q2": "b"}
