"""Correct and wrong implementations of ex06_standardisation's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "fit_standardiser": [
        """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    if np.isnan(X).any():
        raise ValueError("X contains NaN")
    mean = X.mean(axis=0)
    scale = np.sqrt(np.mean((X - mean) ** 2, axis=0))  # two-pass
    constant = np.all(X == X[0], axis=0)
    return mean, np.where(constant, np.ones_like(scale), scale)
""",
        """
import numpy as np
import torch

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("fit_standardiser: X must be a 2-D array without NaN")
    t = torch.from_numpy(X)
    scale = torch.std(t, dim=0, correction=0)
    constant = torch.from_numpy(np.all(X == X[0], axis=0))
    scale = torch.where(constant, torch.ones_like(scale), scale)
    return t.mean(dim=0).numpy(), scale.numpy()
""",
        """
import math
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError("X must be 2-D")
    if np.any(np.isnan(X)):
        raise ValueError("X must not contain NaN")
    means, scales = [], []
    for column in X.T.astype(np.float64):
        n, mean, m2 = 0, 0.0, 0.0
        for x in column:  # Welford's update
            n += 1
            delta = x - mean
            mean += delta / n
            m2 += delta * (x - mean)
        constant = bool(np.all(column == column[0]))
        means.append(mean)
        scales.append(1.0 if constant else math.sqrt(m2 / n))
    return np.array(means, dtype=X.dtype), np.array(scales, dtype=X.dtype)
""",
        """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise ValueError("fit_standardiser needs a finite 2-D array")
    shift = X[0]  # the shifted textbook formula: E[(x-K)^2] - E[x-K]^2 with K = first row
    d = X - shift
    mean_d = d.mean(axis=0)
    var = np.maximum(np.mean(d * d, axis=0) - mean_d**2, 0)
    scale = np.where(np.all(d == 0, axis=0), 1, np.sqrt(var)).astype(X.dtype)
    return (shift + mean_d).astype(X.dtype), scale
""",
    ],
    "standardise": [
        """
import numpy as np

def standardise(X, mean, scale):
    return (X - mean) / scale
""",
        """
import numpy as np

def standardise(X, mean, scale):
    inverse = 1 / np.asarray(scale)
    return (np.asarray(X) - mean) * inverse
""",
        """
import torch

def standardise(X, mean, scale):
    x = torch.from_numpy(X)
    return ((x - torch.from_numpy(mean)) / torch.from_numpy(scale)).numpy()
""",
        """
import numpy as np

def standardise(X, mean, scale):
    out = np.empty_like(X)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            out[i, j] = (X[i, j] - mean[j]) / scale[j]
    return out
""",
    ],
    "welford": [
        """
import math
import numpy as np

def welford(batches):
    n, mean, m2 = 0, 0.0, 0.0
    for batch in batches:
        for x in np.asarray(batch, dtype=np.float64):
            n += 1
            delta = x - mean
            mean += delta / n
            m2 += delta * (x - mean)
    if n == 0:
        return 0, math.nan, math.nan
    return n, float(mean), float(m2 / n)
""",
        """
import math
import numpy as np

def welford(batches):
    # Chan et al.: two-pass statistics per batch, merged with the parallel formulas
    n, mean, m2 = 0, 0.0, 0.0
    for batch in batches:
        b = np.asarray(batch, dtype=np.float64)
        if b.size == 0:
            continue
        nb, mb = b.size, float(b.mean())
        m2b = float(np.sum((b - mb) ** 2))
        total = n + nb
        delta = mb - mean
        mean = mean + delta * nb / total
        m2 = m2 + m2b + delta * delta * n * nb / total
        n = total
    return (n, mean, m2 / n) if n else (0, math.nan, math.nan)
""",
        """
import math
import numpy as np

def welford(batches):
    values = [np.asarray(b, dtype=np.float64) for b in batches]
    joined = np.concatenate(values) if values else np.array([])
    if joined.size == 0:
        return 0, math.nan, math.nan
    return int(joined.size), float(joined.mean()), float(joined.var())
""",
    ],
    "fit_linear_regression_gd": [
        """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale == 0, 1.0, scale)
    Z = (X - mean) / scale
    w, b = np.zeros(X.shape[1]), 0.0
    n = len(y)
    for _ in range(n_steps):
        r = Z @ w + b - y
        w = w - lr * 2 / n * (Z.T @ r)
        b = b - lr * 2 * r.mean()
    w_orig = w / scale
    return w_orig, float(b - mean @ w_orig)
""",
        """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    # the loss taken as half the mean squared error: gradient (1/n) Z^T r
    mu, sigma = X.mean(axis=0), X.std(axis=0)
    Z = (X - mu) / sigma
    theta = np.zeros(X.shape[1] + 1)
    A = np.column_stack([Z, np.ones(len(y))])
    for _ in range(n_steps):
        theta -= lr * A.T @ (A @ theta - y) / len(y)
    w = theta[:-1] / sigma
    return w, float(theta[-1] - mu @ w)
""",
        """
import numpy as np
import torch

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    x = torch.tensor(X, dtype=torch.float64)
    t = torch.tensor(y, dtype=torch.float64)
    mean, std = x.mean(dim=0), x.std(dim=0, correction=0)
    z = (x - mean) / std
    model = torch.nn.Linear(x.shape[1], 1, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(n_steps):
        optimiser.zero_grad()
        loss = torch.mean((model(z).squeeze(1) - t) ** 2)
        loss.backward()
        optimiser.step()
    w = (model.weight.detach()[0] / std).numpy()
    b = float(model.bias.detach()[0]) - float(mean.numpy() @ w)
    return w, b
""",
        """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    # closed form on standardised features (not gradient descent, but the same answer)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    Z = np.column_stack([(X - mean) / scale, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
    w = coef[:-1] / scale
    return w, float(coef[-1] - mean @ w)
""",
    ],
}

FIT_STD_IS_ZERO = """
import numpy as np

def fit_standardiser(X):
    # treats a column as constant when np.std is exactly 0: a column of 0.1s has a tiny std
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("X must be a 2-D array without NaN")
    mean = X.mean(axis=0)
    std = np.sqrt(((X - mean) ** 2).mean(axis=0))
    return mean, np.where(std == 0, X.dtype.type(1), std).astype(X.dtype)
"""

WELFORD_INPUT_DTYPE = """
import numpy as np

def welford(batches):
    # merges correctly but keeps the statistics in the batches' dtype (float32 in, float32 out)
    n, mean, m2 = 0, None, None
    for b in batches:
        b = np.asarray(b)
        if b.size == 0:
            continue
        nb, mb = b.size, b.mean()
        m2b = ((b - mb) ** 2).sum()
        if n == 0:
            n, mean, m2 = nb, mb, m2b
            continue
        d = mb - mean
        total = n + nb
        mean = mean + d * (nb / total)
        m2 = m2 + m2b + d * d * (n * nb / total)
        n = total
    if n == 0:
        return 0, float("nan"), float("nan")
    return n, mean, m2 / n
"""

GD_INPUT_DTYPE = """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    # right algorithm, but computes (and returns) in X's dtype
    X, y = np.asarray(X), np.asarray(y)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std = np.where(std == 0, 1, std).astype(X.dtype)
    Z = (X - mean) / std
    w, b = np.zeros(X.shape[1], dtype=X.dtype), X.dtype.type(0)
    for _ in range(n_steps):
        r = Z @ w + b - y
        w = w - lr * (2 / len(y)) * (Z.T @ r)
        b = b - lr * (2 / len(y)) * r.sum()
    w_orig = w / std
    return w_orig, b - mean @ w_orig
"""

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "fit_standardiser": [
        (
            # the textbook one-pass formula E[x^2] - E[x]^2
            """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("fit_standardiser: X must be a 2-D array without NaN")
    mean = X.mean(axis=0)
    with np.errstate(invalid="ignore"):
        var = np.mean(X * X, axis=0) - mean * mean
        scale = np.sqrt(var)
    return mean, np.where(scale == 0, np.ones_like(scale), scale)
""",
            {"offset", "constant"},
        ),
        (
            # no unit scale for constant columns
            """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("fit_standardiser: X must be a 2-D array without NaN")
    return X.mean(axis=0), X.std(axis=0)
""",
            {"constant"},
        ),
        (
            # the sample standard deviation (ddof=1)
            """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("fit_standardiser: X must be a 2-D array without NaN")
    scale = X.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1], X.dtype)
    return X.mean(axis=0), np.where(np.all(X == X[0], axis=0), 1.0, scale).astype(X.dtype)
""",
            {"basic", "offset", "constant"},
        ),
        (
            # no input validation
            """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    scale = X.std(axis=0)
    return X.mean(axis=0), np.where(np.all(X == X[0], axis=0), 1.0, scale).astype(X.dtype)
""",
            {"errors"},
        ),
        (FIT_STD_IS_ZERO, {"constant"}),
        (
            # a tolerance instead of an exact constant test: a real std of 2e-10 becomes 1.0
            """
import numpy as np

def fit_standardiser(X):
    X = np.asarray(X)
    if X.ndim != 2 or np.isnan(X).any():
        raise ValueError("X must be a 2-D array without NaN")
    mean = X.mean(axis=0)
    std = np.sqrt(np.mean((X - mean) ** 2, axis=0))
    scale = np.where(std < 1e-6, 1.0, std).astype(X.dtype)
    return mean, scale
""",
            {"constant"},
        ),
    ],
    "standardise": [
        (
            # divides first, then subtracts: cancellation with large offsets
            """
import numpy as np

def standardise(X, mean, scale):
    return X / scale - mean / scale
""",
            {"offset"},
        ),
        (
            # always float64
            """
import numpy as np

def standardise(X, mean, scale):
    return (np.asarray(X, dtype=np.float64) - mean) / scale
""",
            {"dtype"},
        ),
        (
            # works in place on the caller's array
            """
import numpy as np

def standardise(X, mean, scale):
    X -= mean
    X /= scale
    return X
""",
            {"basic", "offset", "dtype"},
        ),
    ],
    "welford": [
        (
            # running sum and sum of squares: the textbook formula in streaming form
            """
import math
import numpy as np

def welford(batches):
    n, total, total_sq = 0, 0.0, 0.0
    for batch in batches:
        b = np.asarray(batch, dtype=np.float64)
        n += b.size
        total += float(b.sum())
        total_sq += float((b * b).sum())
    if n == 0:
        return 0, math.nan, math.nan
    mean = total / n
    return n, mean, total_sq / n - mean * mean
""",
            {"offset"},
        ),
        (
            # iterates twice over a one-shot generator (mean first, then deviations)
            """
import math
import numpy as np

def welford(batches):
    n, total = 0, 0.0
    for batch in batches:
        n += len(batch)
        total += float(np.sum(batch))
    mean = total / n if n else math.nan
    m2 = 0.0
    for batch in batches:
        m2 += float(np.sum((np.asarray(batch) - mean) ** 2))
    return n, mean, (m2 / n if n else math.nan)
""",
            {"basic", "offset", "edges"},
        ),
        (
            # no values gives zeros instead of nan
            """
import numpy as np

def welford(batches):
    n, mean, m2 = 0, 0.0, 0.0
    for batch in batches:
        for x in np.asarray(batch, dtype=np.float64):
            n += 1
            delta = x - mean
            mean += delta / n
            m2 += delta * (x - mean)
    return n, float(mean), float(m2 / n) if n else 0.0
""",
            {"edges"},
        ),
        (WELFORD_INPUT_DTYPE, {"basic"}),
        (
            # returns (0, 0.0, 0.0) for no values instead of (0, nan, nan)
            """
import numpy as np
def welford(batches):
    n, mean, m2 = 0, 0.0, 0.0
    for b in batches:
        b = np.asarray(b, dtype=np.float64)
        if b.size == 0:
            continue
        nb = b.size; mb = b.mean(); m2b = ((b - mb) ** 2).sum()
        tot = n + nb; d = mb - mean
        mean = mean + d * nb / tot
        m2 = m2 + m2b + d * d * n * nb / tot
        n = tot
    return n, float(mean), float(m2 / n) if n else 0.0
""",
            {"edges"},
        ),
    ],
    "fit_linear_regression_gd": [
        (
            # gradient descent on the raw features: diverges to inf/NaN
            """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    X = np.asarray(X, dtype=np.float64)
    w, b = np.zeros(X.shape[1]), 0.0
    n = len(y)
    with np.errstate(all="ignore"):
        for _ in range(n_steps):
            r = X @ w + b - y
            w = w - lr * 2 / n * (X.T @ r)
            b = b - lr * 2 * r.mean()
    return w, float(b)
""",
            {"scales", "units"},
        ),
        (
            # standardises but returns the weights of the standardised problem
            """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    mean, scale = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / scale
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(n_steps):
        r = Z @ w + b - y
        w = w - lr * 2 * Z.T @ r / len(y)
        b = b - lr * 2 * r.mean()
    return w, float(b)
""",
            {"scales", "units"},
        ),
        (
            # maps the weights back but forgets that the intercept absorbs the means
            """
import numpy as np

def fit_linear_regression_gd(X, y, lr=0.1, n_steps=1000):
    mean, scale = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / scale
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(n_steps):
        r = Z @ w + b - y
        w = w - lr * 2 * Z.T @ r / len(y)
        b = b - lr * 2 * r.mean()
    return w / scale, float(b)
""",
            {"scales", "units"},
        ),
        (GD_INPUT_DTYPE, {"basic"}),
    ],
}

ANSWERS: dict[str, str] = {"q1": "d", "q2": "a"}
