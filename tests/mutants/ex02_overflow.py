"""Correct and wrong implementations of ex02_overflow's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "log_product": [
        """
import numpy as np

def log_product(probs):
    # correct values; log(0) warns (divide by zero), which is noted but costs no points
    p = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    print("summing", p.size, "logs")
    return float(np.sum(np.log(p)))
""",
        """
import numpy as np

def log_product(probs):
    p = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(p)))
""",
        """
import math
import numpy as np

def log_product(probs):
    # plain loops with math.log and math.fsum
    values = [float(v) for v in np.ravel(probs)]
    for p in values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"not a probability: {p}")
    if 0.0 in values:
        return -math.inf
    return math.fsum(math.log(p) for p in values)
""",
        """
import numpy as np
import torch

def log_product(probs):
    t = torch.as_tensor(np.asarray(probs, dtype=np.float64))
    if not bool(((t >= 0) & (t <= 1)).all()):
        raise ValueError("probabilities must lie in [0, 1] and not be NaN")
    return torch.log(t).sum().item()
""",
        """
import numpy as np

def log_product(probs):
    # mantissa/exponent bookkeeping: multiply, renormalise with frexp, never underflow
    p = np.asarray(probs, dtype=np.float64).ravel()
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    if np.any(p == 0):
        return -np.inf
    mantissa, exponent = 1.0, 0
    for value in p:
        m, e = np.frexp(value)
        mantissa *= m
        exponent += int(e)
        mantissa, e = np.frexp(mantissa)
        exponent += int(e)
    return float(np.log(mantissa) + exponent * np.log(2.0))
""",
    ],
    "stable_sigmoid": [
        """
import numpy as np

def stable_sigmoid(x):
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))
""",
        """
import numpy as np
from scipy.special import expit

def stable_sigmoid(x):
    return expit(np.asarray(x))
""",
        """
import numpy as np
import torch

def stable_sigmoid(x):
    return torch.sigmoid(torch.from_numpy(np.asarray(x))).numpy()
""",
        """
import numpy as np

def stable_sigmoid(x):
    # boolean masks: each branch only sees its own entries
    x = np.asarray(x)
    out = np.empty_like(x)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[neg])
    out[neg] = e / (1 + e)
    return out
""",
        """
import numpy as np

def stable_sigmoid(x):
    # exp(-softplus(-x)): backward stable; exp turns softplus's rounding into an error of
    # about |x|·u, which the problem's conditioning allows
    x = np.asarray(x)
    return np.exp(-(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))))
""",
    ],
    "softplus": [
        """
import numpy as np

def softplus(x):
    x = np.asarray(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
""",
        """
import numpy as np

def softplus(x):
    x = np.asarray(x)
    return np.logaddexp(x.dtype.type(0), x)
""",
        """
import numpy as np
from scipy import special

def softplus(x):
    return special.softplus(np.asarray(x))
""",
        """
import numpy as np

def softplus(x):
    # masks: log1p(exp(x)) below 0, x + log1p(exp(-x)) above
    x = np.asarray(x)
    out = np.empty_like(x)
    low = x < 0
    out[low] = np.log1p(np.exp(x[low]))
    out[~low] = x[~low] + np.log1p(np.exp(-x[~low]))
    return out
""",
    ],
    "clipped_bce": [
        """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"shapes differ: {y.shape} vs {p.shape}")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
""",
        """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # log(1 - p) as in many libraries
    y, p = np.asarray(y_true), np.asarray(p)
    if y.shape != p.shape:
        raise ValueError("y_true and p must have the same shape")
    p = np.minimum(np.maximum(p, eps), 1 - eps)
    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))
""",
        """
import math
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # loops over flattened values
    y, q = np.asarray(y_true), np.asarray(p)
    if y.shape != q.shape:
        raise ValueError("y_true and p have different shapes")
    total = []
    for yi, pi in zip(y.ravel().tolist(), q.ravel().tolist()):
        pi = min(max(pi, eps), 1 - eps)
        total.append(-(yi * math.log(pi) + (1 - yi) * math.log(1 - pi)))
    return math.fsum(total) / len(total)
""",
    ],
}

SOFTPLUS_TORCH_THRESHOLD = """
import numpy as np
import torch

def softplus(x):
    # PyTorch returns x itself above its threshold of 20: 1e5 ULPs off at x = 21
    return torch.nn.functional.softplus(torch.from_numpy(np.asarray(x))).numpy()
"""

SIGMOID_SILENCED = """
import numpy as np

def stable_sigmoid(x):
    # the naive formula with its overflow silenced: the values come out right
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))
"""

SIGMOID_FLOAT16_FLOOR = """
import numpy as np

def stable_sigmoid(x):
    # "at least float16": right for arrays, but a Python float becomes float16
    x = np.asarray(x, dtype=np.result_type(x, np.float16))
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))
"""

SOFTPLUS_FLOAT16_FLOOR = """
import numpy as np

def softplus(x):
    # "at least float16": right for arrays, but a Python float becomes float16
    x = np.asarray(x, dtype=np.result_type(x, np.float16))
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
"""

BCE_TORCH_CLAMP = """
import numpy as np
import torch

def clipped_bce(y_true, p, eps=1e-7):
    # F.binary_cross_entropy clamps each log at -100: 100, not -log(1e-50) = 115.13
    y = torch.as_tensor(np.asarray(y_true, dtype=np.float64))
    q = torch.as_tensor(np.asarray(p, dtype=np.float64))
    if y.shape != q.shape:
        raise ValueError("shape mismatch")
    q = q.clamp(eps, 1 - eps)
    return torch.nn.functional.binary_cross_entropy(q, y).item()
"""

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "log_product": [
        (
            """
import numpy as np

def log_product(probs):
    # the naive product: underflows to 0, and no input check
    return float(np.log(np.prod(probs)))
""",
            {"underflow", "bad_input"},
        ),
        (
            """
import numpy as np

def log_product(probs):
    # an epsilon guard where none belongs: a zero factor no longer gives -inf
    p = np.asarray(probs, dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    return float(np.sum(np.log(p + 1e-300)))
""",
            {"underflow", "zero"},
        ),
        (
            """
import numpy as np

def log_product(probs):
    # range check with comparisons that NaN slips through
    p = np.asarray(probs, dtype=np.float64)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(p)))
""",
            {"bad_input"},
        ),
    ],
    "stable_sigmoid": [
        (
            """
import numpy as np

def stable_sigmoid(x):
    # the textbook formula
    return 1 / (1 + np.exp(-np.asarray(x)))
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def stable_sigmoid(x):
    # branches on the sign, but np.where evaluates both branches
    x = np.asarray(x)
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def stable_sigmoid(x):
    # via tanh: no overflow, but 1 + tanh(x/2) cancels for x << 0
    x = np.asarray(x)
    return 0.5 * (1 + np.tanh(x / 2))
""",
            {"basic", "large", "float32"},
        ),
        (
            """
import numpy as np

def stable_sigmoid(x):
    # computes in float64 and never casts back
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))
""",
            {"float32"},
        ),
        (SIGMOID_SILENCED, {"large", "float32"}),
        (SIGMOID_FLOAT16_FLOOR, {"basic"}),
        (
            # clips x to [-500, 500]: sigma(-1000) becomes sigma(-500), and float32 overflows
            """
import numpy as np

def stable_sigmoid(x):
    x = np.asarray(x)
    return 1 / (1 + np.exp(-np.clip(x, -500, 500)))
""",
            {"large", "special", "float32"},
        ),
    ],
    "softplus": [
        (
            """
import numpy as np

def softplus(x):
    # the textbook formula
    return np.log(1 + np.exp(np.asarray(x)))
""",
            {"negative", "positive", "float32"},
        ),
        (
            """
import numpy as np

def softplus(x):
    # log1p fixes small results but exp(x) still overflows
    return np.log1p(np.exp(np.asarray(x)))
""",
            {"positive", "float32"},
        ),
        (
            """
import numpy as np

def softplus(x):
    # no overflow, but log(1 + z) instead of log1p(z) loses e^x for x << 0
    x = np.asarray(x)
    return np.maximum(x, 0) + np.log(1 + np.exp(-np.abs(x)))
""",
            {"negative", "float32"},
        ),
        (
            """
import numpy as np

def softplus(x):
    # x + log1p(exp(-x)) everywhere: overflow for x << 0, inf - inf at -inf
    x = np.asarray(x)
    return x + np.log1p(np.exp(-x))
""",
            {"negative", "special", "float32"},
        ),
        (SOFTPLUS_TORCH_THRESHOLD, {"positive"}),
        (SOFTPLUS_FLOAT16_FLOOR, {"basic"}),
        (
            # returns x itself above a threshold of 30: too low (x + e^-x is not x until 33.3)
            """
import numpy as np

def softplus(x):
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return np.where(x > 30, x, np.log1p(np.exp(np.minimum(x, 30))))
""",
            {"positive"},
        ),
    ],
    "clipped_bce": [
        (
            """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # no clipping: log(0) gives inf and 0 * log(0) gives nan
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError("shapes differ")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""",
            {"extreme", "eps"},
        ),
        (
            """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # relies on broadcasting to catch shape errors
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
""",
            {"bad_input"},
        ),
        (
            """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # the clipping margin is hard-coded
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError("shapes differ")
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
""",
            {"eps"},
        ),
        (
            """
import numpy as np

def clipped_bce(y_true, p, eps=1e-7):
    # adds eps inside the logs instead of clipping
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError("shapes differ")
    return float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
""",
            {"basic", "extreme", "eps"},
        ),
        (BCE_TORCH_CLAMP, {"eps"}),
    ],
}

ANSWERS: dict[str, str] = {"q1": "c", "q2": "a"}
