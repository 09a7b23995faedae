"""Correct and wrong implementations of ex05_clipping's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "clip_by_value": [
        """
import numpy as np

def clip_by_value(grads, clip_value):
    return [np.clip(g, -clip_value, clip_value) for g in grads]
""",
        """
import torch

def clip_by_value(grads, clip_value):
    return [torch.from_numpy(g).clamp(-clip_value, clip_value).numpy() for g in grads]
""",
        """
import numpy as np

def clip_by_value(grads, clip_value):
    c = clip_value
    return [np.where(g > c, c, np.where(g < -c, -c, g)) for g in grads]
""",
        """
import numpy as np

def clip_by_value(grads, clip_value):
    out = []
    for g in grads:
        clipped = np.array(g, copy=True)
        for index in np.ndindex(clipped.shape):
            if clipped[index] > clip_value:
                clipped[index] = clip_value
            elif clipped[index] < -clip_value:
                clipped[index] = -clip_value
        out.append(clipped)
    return out
""",
    ],
    "clip_by_global_norm": [
        """
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    arrays = [np.asarray(g) for g in grads]
    m = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if not np.isfinite(m):
        raise FloatingPointError("clip_by_global_norm: a gradient contains inf or NaN")
    if m == 0.0:
        return [a.copy() for a in arrays], 0.0
    with np.errstate(under="ignore", over="ignore"):
        total = sum(float(np.sum((a.astype(np.float64) / m) ** 2)) for a in arrays)
        norm = m * np.sqrt(total)
    if not np.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: the norm overflows float64")
    coef = min(1.0, max_norm / (norm + eps))
    with np.errstate(under="ignore"):
        return [(a.astype(np.float64) * coef).astype(a.dtype) for a in arrays], float(norm)
""",
        """
import math
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    values = [float(v) for g in grads for v in np.ravel(g)]
    norm = math.hypot(*values) if values else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError(f"clip_by_global_norm: the global norm is {norm}")
    coef = min(1.0, max_norm / (norm + eps))
    clipped = []
    for g in grads:
        with np.errstate(under="ignore"):
            clipped.append((np.asarray(g, dtype=np.float64) * coef).astype(g.dtype))
    return clipped, norm
""",
        """
import math
import torch

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    tensors = [torch.tensor(g, dtype=torch.float64) for g in grads]
    biggest = max((float(t.abs().max()) for t in tensors if t.numel()), default=0.0)
    if not math.isfinite(biggest):
        raise FloatingPointError("clip_by_global_norm: inf or NaN in the gradients")
    if biggest == 0.0:
        return [g.copy() for g in grads], 0.0
    scale = 2.0 ** (math.frexp(biggest)[1] - 1)  # a power of two: dividing by it is exact
    norms = torch.stack([torch.linalg.vector_norm(t / scale) for t in tensors])
    norm = float(torch.linalg.vector_norm(norms)) * scale
    if not math.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: the global norm overflows")
    coef = min(1.0, max_norm / (norm + eps))
    return [(t * coef).numpy().astype(g.dtype) for t, g in zip(tensors, grads)], norm
""",
        """
import numpy as np

def _stable_norm(x):
    m = np.max(np.abs(x)) if x.size else 0.0
    if m == 0.0 or not np.isfinite(m):
        return float(m)
    with np.errstate(under="ignore"):
        return float(m * np.linalg.norm(x / m))

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    per_array = np.array([_stable_norm(np.asarray(g, dtype=np.float64).ravel()) for g in grads])
    with np.errstate(over="ignore", invalid="ignore"):
        norm = _stable_norm(per_array)
    if not np.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: non-finite gradient norm")
    factor = min(1.0, max_norm / (norm + eps))
    with np.errstate(under="ignore"):
        return [np.multiply(g, factor, dtype=np.float64).astype(g.dtype) for g in grads], norm
""",
    ],
    "sgd_with_clipping": [
        """
import numpy as np

def _norm(g):
    m = float(np.max(np.abs(g))) if g.size else 0.0
    if m == 0.0 or not np.isfinite(m):
        return m
    with np.errstate(under="ignore"):
        return m * float(np.sqrt(np.sum((g / m) ** 2)))

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    norms, clipped = [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = _norm(g)
        norms.append(norm)
        if max_norm is not None:
            if not np.isfinite(norm):
                raise FloatingPointError(f"the gradient at step {step} is not finite")
            coef = min(1.0, max_norm / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                g = g * coef
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
        """
import math
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.asarray(theta0, dtype=float).copy()
    path = np.zeros((n_steps + 1,) + theta.shape)
    path[0] = theta
    grad_norms = np.zeros(n_steps)
    clipped = []
    for k in range(n_steps):
        g = np.array(grad_fn(theta.copy(), k), dtype=float)
        grad_norms[k] = math.hypot(*g.ravel().tolist())
        if max_norm is not None and not math.isfinite(grad_norms[k]):
            raise FloatingPointError(f"step {k}: gradient norm {grad_norms[k]}, cannot clip")
        if max_norm is not None and max_norm / (grad_norms[k] + 1e-6) < 1.0:
            g *= max_norm / (grad_norms[k] + 1e-6)
            clipped.append(k)
        theta -= lr * g
        path[k + 1] = theta
    return {"theta": theta.copy(), "path": path, "grad_norms": grad_norms, "clipped": clipped}
""",
        """
import math
import numpy as np
import torch

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    path, norms, clipped = [theta.detach().numpy().copy()], [], []
    for step in range(n_steps):
        g = torch.as_tensor(grad_fn(theta.detach().numpy().copy(), step), dtype=torch.float64)
        theta.grad = g.clone()
        big = float(g.abs().max()) if g.numel() else 0.0
        scale = 2.0 ** math.frexp(big)[1] if 0.0 < big < math.inf else 1.0
        norm = float(torch.linalg.vector_norm(g / scale)) * scale
        norms.append(norm)
        if max_norm is not None:
            if not math.isfinite(norm):
                raise FloatingPointError(f"non-finite gradient norm ({norm}) at step {step}")
            coef = min(1.0, max_norm / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                theta.grad.mul_(coef)
        with torch.no_grad():
            theta -= lr * theta.grad
        path.append(theta.detach().numpy().copy())
    return {"theta": path[-1], "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
    ],
}

NORM_STRICT_BOUNDARY = """
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    # scales only when norm > max_norm: at norm == max_norm it skips the factor
    # max_norm / (norm + eps), which is already below 1
    m = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    if m == 0.0:
        norm = 0.0
    else:
        squares = sum(float(np.sum((g.astype(np.float64) / m) ** 2)) for g in grads)
        norm = m * float(np.sqrt(squares))
    if not np.isfinite(norm):
        raise FloatingPointError("the gradient norm is not finite")
    factor = max_norm / (norm + eps) if norm > max_norm else 1.0
    return [(g * factor).astype(g.dtype) for g in grads], norm
"""

SGD_STRICT_BOUNDARY = """
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    # clips (and records the step) only when norm > max_norm: a norm equal to max_norm is
    # still scaled by max_norm / (norm + 1e-6) < 1 and counts as clipped
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        m = float(np.max(np.abs(g))) if g.size else 0.0
        with np.errstate(under="ignore"):
            norm = m * float(np.sqrt(np.sum((g / m) ** 2))) if m else 0.0
        norms.append(norm)
        if max_norm is not None and not np.isfinite(norm):
            raise FloatingPointError(f"the gradient at step {step} is not finite")
        if max_norm is not None and norm > max_norm:
            clipped.append(step)
            g = g * (max_norm / (norm + 1e-6))
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
"""

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "clip_by_value": [
        (
            # converts every gradient to float64
            """
import numpy as np

def clip_by_value(grads, clip_value):
    return [np.clip(np.asarray(g, dtype=np.float64), -clip_value, clip_value) for g in grads]
""",
            {"dtype"},
        ),
        (
            # clips the caller's arrays in place and hands them back
            """
import numpy as np

def clip_by_value(grads, clip_value):
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
    return list(grads)
""",
            {"basic", "edges", "dtype", "copies"},
        ),
        (
            # returns the input array itself when nothing needs clipping
            """
import numpy as np

def clip_by_value(grads, clip_value):
    return [g if np.all(np.abs(g) <= clip_value) else np.clip(g, -clip_value, clip_value)
            for g in grads]
""",
            {"copies"},
        ),
        (
            # hides NaN by replacing it with 0
            """
import numpy as np

def clip_by_value(grads, clip_value):
    return [np.clip(np.nan_to_num(g), -clip_value, clip_value) for g in grads]
""",
            {"edges"},
        ),
    ],
    "clip_by_global_norm": [
        (
            # the textbook sqrt(sum(g**2)): overflows at 1e200 and 1e154, underflows at 1e-200;
            # checks the inputs for inf/NaN but not the norm
            """
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    if not all(np.all(np.isfinite(g)) for g in grads):
        raise FloatingPointError("clip_by_global_norm: non-finite gradient")
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        norm = float(np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads)))
        coef = min(1.0, max_norm / (norm + eps))
        return [(np.asarray(g, dtype=np.float64) * coef).astype(g.dtype) for g in grads], norm
""",
            {"hard", "nonfinite"},
        ),
        (
            # ignores eps: max_norm / norm
            """
import math
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    values = [float(v) for g in grads for v in np.ravel(g)]
    norm = math.hypot(*values) if values else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: non-finite norm")
    coef = 1.0 if norm == 0.0 else min(1.0, max_norm / norm)
    with np.errstate(under="ignore"):
        return [(np.asarray(g, dtype=np.float64) * coef).astype(g.dtype) for g in grads], norm
""",
            {"basic", "global", "eps"},
        ),
        (
            # hard-codes PyTorch's 1e-6 instead of using the eps argument
            """
import math
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    values = [float(v) for g in grads for v in np.ravel(g)]
    norm = math.hypot(*values) if values else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: non-finite norm")
    coef = min(1.0, max_norm / (norm + 1e-6))
    with np.errstate(under="ignore"):
        return [(np.asarray(g, dtype=np.float64) * coef).astype(g.dtype) for g in grads], norm
""",
            {"eps"},
        ),
        (
            # clips every array by its own norm instead of the global one
            """
import math
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    norms = [math.hypot(*[float(v) for v in np.ravel(g)]) if np.size(g) else 0.0 for g in grads]
    norm = math.hypot(*norms) if norms else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: non-finite norm")
    out = []
    for g, n in zip(grads, norms):
        coef = min(1.0, max_norm / (n + eps))
        with np.errstate(under="ignore"):
            out.append((np.asarray(g, dtype=np.float64) * coef).astype(g.dtype))
    return out, norm
""",
            {"global", "hard", "dtype"},
        ),
        (
            # hands back the caller's arrays when no clipping is needed
            """
import math
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    values = [float(v) for g in grads for v in np.ravel(g)]
    norm = math.hypot(*values) if values else 0.0
    if not math.isfinite(norm):
        raise FloatingPointError("clip_by_global_norm: non-finite norm")
    coef = min(1.0, max_norm / (norm + eps))
    if coef == 1.0:
        return list(grads), norm
    with np.errstate(under="ignore"):
        return [(np.asarray(g, dtype=np.float64) * coef).astype(g.dtype) for g in grads], norm
""",
            {"dtype"},
        ),
        (NORM_STRICT_BOUNDARY, {"eps"}),
        (
            # eps outside the division: max_norm / norm + eps
            """
import numpy as np
def clip_by_global_norm(grads, max_norm, eps=1e-6):
    m = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    if not np.isfinite(m):
        raise FloatingPointError("the gradient norm is not finite")
    if m == 0.0:
        norm = 0.0
    else:
        with np.errstate(under="ignore"):
            squares = sum(float(np.sum((g.astype(np.float64) / m) ** 2)) for g in grads)
            norm = m * float(np.sqrt(squares))
    if not np.isfinite(norm):
        raise FloatingPointError("the gradient norm is not finite")
    factor = min(1.0, max_norm / norm + eps) if norm else 1.0
    return [(g * factor).astype(g.dtype) for g in grads], norm
""",
            {"basic", "global", "eps", "hard", "dtype"},
        ),
        (
            # eps added to max_norm too: (max_norm + eps) / (norm + eps)
            """
import numpy as np
def clip_by_global_norm(grads, max_norm, eps=1e-6):
    m = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    if not np.isfinite(m):
        raise FloatingPointError("the gradient norm is not finite")
    if m == 0.0:
        norm = 0.0
    else:
        with np.errstate(under="ignore"):
            squares = sum(float(np.sum((g.astype(np.float64) / m) ** 2)) for g in grads)
            norm = m * float(np.sqrt(squares))
    if not np.isfinite(norm):
        raise FloatingPointError("the gradient norm is not finite")
    factor = min(1.0, (max_norm + eps) / (norm + eps))
    return [(g * factor).astype(g.dtype) for g in grads], norm
""",
            {"basic", "global", "eps", "hard"},
        ),
        (
            # returns the norm after clipping
            """
import numpy as np
def clip_by_global_norm(grads, max_norm, eps=1e-6):
    m = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    if not np.isfinite(m):
        raise FloatingPointError("the gradient norm is not finite")
    if m == 0.0:
        norm = 0.0
    else:
        with np.errstate(under="ignore"):
            squares = sum(float(np.sum((g.astype(np.float64) / m) ** 2)) for g in grads)
            norm = m * float(np.sqrt(squares))
    if not np.isfinite(norm):
        raise FloatingPointError("the gradient norm is not finite")
    factor = min(1.0, max_norm / (norm + eps))
    return [(g * factor).astype(g.dtype) for g in grads], norm * factor
""",
            {"basic", "global", "eps", "hard", "dtype"},
        ),
        (
            # the textbook norm, raising FloatingPointError when its own squares overflow
            """
import numpy as np

def clip_by_global_norm(grads, max_norm, eps=1e-6):
    # the textbook sqrt(sum(g**2)), raising when it is not finite: 1e200 squared overflows
    with np.errstate(over="ignore", under="ignore"):
        norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    if not np.isfinite(norm):
        raise FloatingPointError(f"the gradient norm is {norm}")
    factor = min(1.0, max_norm / (norm + eps))
    return [(g * factor).astype(g.dtype) for g in grads], norm
""",
            {"hard"},
        ),
    ],
    "sgd_with_clipping": [
        (
            # np.linalg.norm squares first: inf for a 1e200 spike, 0 for 1e-200 gradients
            """
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            norm = float(np.linalg.norm(g))
        norms.append(norm)
        if max_norm is not None and norm + 1e-6 > max_norm:
            clipped.append(step)
            g = g * (max_norm / (norm + 1e-6))
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"hard"},
        ),
        (
            # counts steps from 1 when calling grad_fn
            """
import math
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(1, n_steps + 1):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = math.hypot(*g.ravel().tolist())
        norms.append(norm)
        if max_norm is not None and max_norm / (norm + 1e-6) < 1.0:
            clipped.append(step - 1)
            g = g * (max_norm / (norm + 1e-6))
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"plain", "clipping", "hard"},
        ),
        (
            # leaves theta0 out of the path
            """
import math
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = math.hypot(*g.ravel().tolist())
        norms.append(norm)
        if max_norm is not None and max_norm / (norm + 1e-6) < 1.0:
            clipped.append(step)
            g = g * (max_norm / (norm + 1e-6))
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"plain", "clipping", "hard"},
        ),
        (
            # logs the norm after clipping instead of before
            """
import math
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = math.hypot(*g.ravel().tolist())
        if max_norm is not None and max_norm / (norm + 1e-6) < 1.0:
            clipped.append(step)
            g = g * (max_norm / (norm + 1e-6))
        norms.append(math.hypot(*g.ravel().tolist()))
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"clipping", "hard"},
        ),
        (
            # clips by value (changes the direction) instead of by norm
            """
import math
import numpy as np

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path, norms, clipped = [theta.copy()], [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = math.hypot(*g.ravel().tolist())
        norms.append(norm)
        if max_norm is not None and np.any(np.abs(g) > max_norm):
            clipped.append(step)
            g = np.clip(g, -max_norm, max_norm)
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"clipping", "hard"},
        ),
        (SGD_STRICT_BOUNDARY, {"clipping"}),
        (
            # clips an inf/NaN gradient instead of raising: max_norm / inf = 0, 0 * inf = NaN
            """
import numpy as np

def _norm(g):
    m = float(np.max(np.abs(g))) if g.size else 0.0
    if m == 0.0 or not np.isfinite(m):
        return m
    with np.errstate(under="ignore"):
        return m * float(np.sqrt(np.sum((g / m) ** 2)))

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    norms, clipped = [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = _norm(g)
        norms.append(norm)
        pass
        if max_norm is not None:
            coef = min(1.0, max_norm / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                g = g * coef
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"hard"},
        ),
        (
            # raises on a non-finite gradient without saying at which step
            """
import numpy as np

def _norm(g):
    m = float(np.max(np.abs(g))) if g.size else 0.0
    if m == 0.0 or not np.isfinite(m):
        return m
    with np.errstate(under="ignore"):
        return m * float(np.sqrt(np.sum((g / m) ** 2)))

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    norms, clipped = [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = _norm(g)
        norms.append(norm)
        if max_norm is not None and not np.isfinite(norm):
            raise FloatingPointError("the gradient norm is not finite")
        if max_norm is not None:
            coef = min(1.0, max_norm / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                g = g * coef
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"hard"},
        ),
        (
            # skips a non-finite gradient silently (no step, no error) when not clipping
            """
import numpy as np

def _norm(g):
    m = float(np.max(np.abs(g))) if g.size else 0.0
    if m == 0.0 or not np.isfinite(m):
        return m
    with np.errstate(under="ignore"):
        return m * float(np.sqrt(np.sum((g / m) ** 2)))

def sgd_with_clipping(grad_fn, theta0, lr, n_steps, max_norm=None):
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    norms, clipped = [], []
    for step in range(n_steps):
        g = np.asarray(grad_fn(theta.copy(), step), dtype=np.float64)
        norm = _norm(g)
        norms.append(norm)
        if not np.isfinite(norm):
            if max_norm is not None:
                raise FloatingPointError(f"the gradient at step {step} is not finite")
            path.append(theta.copy())
            continue
        if max_norm is not None:
            coef = min(1.0, max_norm / (norm + 1e-6))
            if coef < 1.0:
                clipped.append(step)
                g = g * coef
        theta = theta - lr * g
        path.append(theta.copy())
    return {"theta": theta, "path": np.array(path), "grad_norms": np.array(norms),
            "clipped": clipped}
""",
            {"plain"},
        ),
    ],
}

ANSWERS: dict[str, str] = {"q1": "b", "q2": "c", "q3": "a"}
