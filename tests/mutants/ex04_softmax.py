"""Correct and wrong implementations of ex04_softmax's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "softmax": [
        """
import numpy as np

def softmax(x, axis=-1):
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)
""",
        """
import scipy.special

def softmax(x, axis=-1):
    return scipy.special.softmax(x, axis=axis)
""",
        """
import numpy as np
import torch

def softmax(x, axis=-1):
    return torch.softmax(torch.from_numpy(np.asarray(x)), dim=axis).numpy()
""",
        """
import numpy as np
from scipy.special import logsumexp

def softmax(x, axis=-1):
    # exp(x - logsumexp(x)): less accurate for large shifted logits, but backward stable
    x = np.asarray(x)
    return np.exp(x - logsumexp(x, axis=axis, keepdims=True))
""",
        """
import math
import numpy as np

def softmax(x, axis=-1):
    # plain loops over the slices along the axis
    x = np.asarray(x)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        m = max(row)
        terms = [math.exp(v - m) for v in row]
        total = math.fsum(terms)
        out[index] = [t / total for t in terms]
    return np.moveaxis(out, -1, axis)
""",
    ],
    "log_softmax": [
        """
import numpy as np

def log_softmax(x, axis=-1):
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
""",
        """
import scipy.special

def log_softmax(x, axis=-1):
    return scipy.special.log_softmax(x, axis=axis)
""",
        """
import numpy as np
import torch

def log_softmax(x, axis=-1):
    return torch.log_softmax(torch.from_numpy(np.asarray(x)), dim=axis).numpy()
""",
        """
import numpy as np
from scipy.special import logsumexp

def log_softmax(x, axis=-1):
    x = np.asarray(x)
    return x - logsumexp(x, axis=axis, keepdims=True)
""",
    ],
    "cross_entropy": [
        """
import numpy as np

def cross_entropy(logits, targets):
    logits = np.asarray(logits, dtype=float)
    targets = np.asarray(targets)
    n, c = logits.shape
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},), got {targets.shape}")
    if np.any(targets < 0) or np.any(targets >= c):
        raise ValueError(f"targets must lie in [0, {c})")
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(lse - logits[np.arange(n), targets]))
""",
        """
import numpy as np
import torch
import torch.nn.functional as F

def cross_entropy(logits, targets):
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if targets.ndim != 1 or len(targets) != logits.shape[0]:
        raise ValueError("one target per row of logits is required")
    if targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError("a target is outside [0, C)")
    loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets).long())
    return loss.item()
""",
        """
import numpy as np
from scipy.special import log_softmax

def cross_entropy(logits, targets):
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if len(targets) != len(logits):
        raise ValueError("mismatched N")
    if not np.all((0 <= targets) & (targets < logits.shape[1])):
        raise ValueError("target out of range")
    picked = np.take_along_axis(log_softmax(logits, axis=1), targets[:, None], axis=1)
    return -float(picked.mean())
""",
        """
import math

def cross_entropy(logits, targets):
    if len(targets) != len(logits):
        raise ValueError("logits and targets disagree on N")
    if len(targets) == 0:
        return math.nan  # the mean of no losses, as F.cross_entropy
    total = 0.0
    for row, t in zip(logits, targets):
        t = int(t)
        if not 0 <= t < len(row):
            raise ValueError(f"target {t} is not a class index")
        m = max(row)
        lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
        total += lse - row[t]
    return total / len(targets)
""",
    ],
    "bce_with_logits": [
        """
import numpy as np

def bce_with_logits(logits, targets):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    return float(np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))))
""",
        """
import numpy as np
import torch
import torch.nn.functional as F

def bce_with_logits(logits, targets):
    x, y = torch.from_numpy(np.asarray(logits)), torch.from_numpy(np.asarray(targets))
    if x.shape != y.shape:
        raise ValueError("logits and targets must have the same shape")
    return F.binary_cross_entropy_with_logits(x, y.to(x.dtype)).item()
""",
        """
import numpy as np

def bce_with_logits(logits, targets):
    # y·softplus(-x) + (1 - y)·softplus(x) with np.logaddexp(0, ·) as softplus
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    if x.shape != y.shape:
        raise ValueError("mismatched shapes")
    return float(np.mean(y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x)))
""",
        """
import math
import numpy as np

def bce_with_logits(logits, targets):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    if x.shape != y.shape:
        raise ValueError("mismatched shapes")
    total = 0.0
    for xi, yi in zip(x.ravel(), y.ravel()):
        # log σ(x) = -softplus(-x), log(1 - σ(x)) = -softplus(x)
        sp_pos = max(xi, 0.0) + math.log1p(math.exp(-abs(xi)))
        sp_neg = sp_pos - xi
        total += yi * sp_neg + (1 - yi) * sp_pos
    return total / x.size
""",
    ],
    "torch_cross_entropy": [
        """
import torch

def torch_cross_entropy(logits, targets):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs.gather(1, targets[:, None]).mean()
""",
        """
import torch

def torch_cross_entropy(logits, targets):
    m = logits.max(dim=1, keepdim=True).values.detach()
    shifted = logits - m
    lse = torch.log(torch.exp(shifted).sum(dim=1))
    return (lse - shifted[torch.arange(len(targets)), targets]).mean()
""",
        """
import torch

def torch_cross_entropy(logits, targets):
    return torch.nn.NLLLoss()(torch.log_softmax(logits, dim=1), targets)
""",
    ],
}

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "softmax": [
        (
            """
import numpy as np

def softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def softmax(x, axis=-1):
    e = np.exp(x - np.max(x))  # one global maximum for the whole array
    return e / np.sum(e, axis=axis, keepdims=True)
""",
            {"large"},
        ),
        (
            """
import numpy as np

def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)  # ignores axis
""",
            {"axis"},
        ),
        (
            """
import numpy as np

def softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
""",
            {"float32"},
        ),
        (
            """
import numpy as np

def softmax(x, axis=-1):
    x = np.asarray(x)
    e = np.exp(x - np.mean(x, axis=axis, keepdims=True))  # shift by the mean, not the maximum
    return e / np.sum(e, axis=axis, keepdims=True)
""",
            {"large", "masked"},
        ),
        (
            """
import numpy as np

def softmax(x, axis=-1):
    x -= np.max(x, axis=axis, keepdims=True)  # shifts the caller's array in place
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)
""",
            {"basic", "large", "masked", "axis", "float32"},
        ),
        (
            """
import numpy as np
def softmax(x, axis=-1):
    x = np.asarray(x)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            e = np.exp(x)
            return e / e.sum(axis=axis, keepdims=True)
    except FloatingPointError:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
""",
            {"large", "float32"},
        ),
    ],
    "log_softmax": [
        (
            """
import numpy as np

def log_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return np.log(e / np.sum(e, axis=axis, keepdims=True))
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def log_softmax(x, axis=-1):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
""",
            {"large", "float32"},
        ),
        (
            """
import numpy as np

def log_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)).astype(np.float64)
""",
            {"float32"},
        ),
        (
            """
import numpy as np

def log_softmax(x, axis=-1):
    x = np.nan_to_num(np.asarray(x), neginf=-1e9)
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
""",
            {"masked"},
        ),
        (
            """
import numpy as np

def log_softmax(x, axis=-1):
    m = np.max(x, axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
""",
            {"axis"},
        ),
        (
            """
import numpy as np
def log_softmax(x, axis=-1):
    x = np.asarray(x)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
    except FloatingPointError:
        m = x.max(axis=axis, keepdims=True)
        return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
""",
            {"large", "float32"},
        ),
    ],
    "cross_entropy": [
        (
            """
import numpy as np

def cross_entropy(logits, targets):
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(targets)), targets])))
""",
            {"large", "errors"},
        ),
        (
            """
import numpy as np

def cross_entropy(logits, targets):
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if len(targets) != len(logits):
        raise ValueError("mismatched N")
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(lse - logits[np.arange(len(targets)), targets]))
""",
            {"errors"},
        ),
        (
            """
import numpy as np

def cross_entropy(logits, targets):
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if len(targets) != len(logits) or targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError("bad targets")
    m = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - m) / np.exp(logits - m).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(targets)), targets])))
""",
            {"large"},
        ),
        (
            """
import numpy as np

def cross_entropy(logits, targets):
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if len(targets) != len(logits) or targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError("bad targets")
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.sum(lse - logits[np.arange(len(targets)), targets]))  # sum, not mean
""",
            {"basic", "large"},
        ),
        (
            """
import numpy as np
def cross_entropy(logits, targets):
    logits = np.asarray(logits, dtype=float); targets = np.asarray(targets)
    if targets.shape != (logits.shape[0],) or ((targets < 0) | (targets >= logits.shape[1])).any():
        raise ValueError("bad targets")
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            lse = np.log(np.sum(np.exp(logits), axis=1))
    except FloatingPointError:
        m = logits.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(lse - logits[np.arange(len(targets)), targets]))
""",
            {"large"},
        ),
        (
            """
import numpy as np
def cross_entropy(logits, targets):
    logits = np.asarray(logits, dtype=float); targets = np.asarray(targets)
    if targets.shape != (logits.shape[0],) or ((targets < 0) | (targets >= logits.shape[1])).any():
        raise ValueError("bad targets")
    if logits.shape[0] == 0:
        return 0.0
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(lse - logits[np.arange(len(targets)), targets]))
""",
            {"errors"},
        ),
    ],
    "bce_with_logits": [
        (
            """
import numpy as np

def bce_with_logits(logits, targets):
    p = 1 / (1 + np.exp(-logits))
    return float(-np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p)))
""",
            {"large", "errors"},
        ),
        (
            """
import numpy as np

def bce_with_logits(logits, targets):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    if x.shape != y.shape:
        raise ValueError("mismatched shapes")
    p = np.clip(0.5 * (1 + np.tanh(0.5 * x)), 1e-7, 1 - 1e-7)  # clipped probabilities
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""",
            {"large"},
        ),
        (
            """
import numpy as np

def bce_with_logits(logits, targets):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    return float(np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))))
""",
            {"errors"},
        ),
    ],
    "torch_cross_entropy": [
        (
            """
import torch

def torch_cross_entropy(logits, targets):
    probs = torch.softmax(logits, dim=1)
    return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
""",
            {"large"},
        ),
        (
            """
import torch

def torch_cross_entropy(logits, targets):
    x = logits.detach().double().numpy()
    m = x.max(axis=1, keepdims=True)
    import numpy as np
    lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
    loss = float(np.mean(lse - x[np.arange(len(x)), targets.numpy()]))
    return torch.tensor(loss, dtype=logits.dtype)
""",
            {"gradient", "large"},
        ),
        (
            """
import torch

def torch_cross_entropy(logits, targets):
    logits = logits.double()
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].mean()
""",
            {"gradient", "large"},
        ),
        (
            """
import torch

def torch_cross_entropy(logits, targets):
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=1, keepdim=True))
    return -log_probs[torch.arange(len(targets)), targets].mean()
""",
            {"large"},
        ),
        (
            # computes in float32 whatever the logits dtype
            """
import torch
def torch_cross_entropy(logits, targets):
    logits = logits.float()
    lse = torch.logsumexp(logits, dim=1)
    picked = logits.gather(1, targets[:, None])[:, 0]
    return (lse - picked).mean()
""",
            {"value", "gradient"},
        ),
    ],
}

ANSWERS: dict[str, str] = {"q1": "b", "q2": "d", "q3": "a"}
