"""Benchmark the reference implementations against SciPy, PyTorch and NumPy, side by side.

Run ``python benchmarks/reference.py`` (add ``--quick`` for fewer repetitions). It prints two
Markdown tables:

* **Speed**: for 10^3, 10^5 and 10^6 elements in float32 and float64, the median CPU time of
  each implementation over interleaved repetitions (every repetition times all implementations
  in turn, so load on the machine affects them alike; CPU time rather than wall time, so that
  other jobs taking the core away do not count -- every implementation here is single-threaded),
  and the ratio ours / theirs (below 1: ours is faster).
* **Targets at 10^6**: ``clip_by_global_norm`` within 2x of ``torch.nn.utils.clip_grad_norm_``,
  ``welford`` within 2x of ``np.var``, ``logsumexp`` in float32 within 1.5x of
  ``torch.logsumexp``, each marked met or not.
* **Accuracy**: the maximum error in ULPs of the result's dtype against an mpmath reference
  (60 digits) on ordinary and adversarial inputs (large shifts, huge and tiny magnitudes).

Timings are wall-clock on whatever machine runs it; only the ratios are meant to be compared.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import mpmath
import numpy as np
import scipy.special
import torch

from autograder.judge import oracle
from solutions.clipping import clip_by_global_norm
from solutions.logsumexp import logsumexp
from solutions.softmax import log_softmax, softmax
from solutions.standardisation import welford

torch.set_num_threads(1)
mpmath.mp.dps = 60
SIZES = (10**3, 10**5, 10**6)
DTYPES = (np.float32, np.float64)


def median_times(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median CPU seconds per call of each function, timed in interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():
        function()  # warm-up
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.process_time()
            function()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def torch_grads(arrays: list[np.ndarray]) -> list[torch.nn.Parameter]:
    params = []
    for array in arrays:
        param = torch.nn.Parameter(torch.zeros(array.shape, dtype=torch.from_numpy(array).dtype))
        param.grad = torch.from_numpy(array.copy())
        params.append(param)
    return params


def speed_cases(n: int, dtype) -> dict[str, dict[str, Callable[[], object]]]:
    rng = np.random.default_rng(n)
    x = rng.normal(0.0, 10.0, size=n).astype(dtype)
    t = torch.from_numpy(x)
    chunks = np.array_split(x, 10)
    params = torch_grads(chunks)
    return {
        "logsumexp": {
            "ours": lambda: logsumexp(x),
            "scipy": lambda: scipy.special.logsumexp(x),
            "torch": lambda: torch.logsumexp(t, 0),
        },
        "softmax": {
            "ours": lambda: softmax(x),
            "scipy": lambda: scipy.special.softmax(x),
            "torch": lambda: torch.softmax(t, 0),
        },
        "log_softmax": {
            "ours": lambda: log_softmax(x),
            "scipy": lambda: scipy.special.log_softmax(x),
            "torch": lambda: torch.log_softmax(t, 0),
        },
        "clip_by_global_norm": {
            "ours": lambda: clip_by_global_norm(chunks, 1.0),
            "torch": lambda: torch.nn.utils.clip_grad_norm_(params, 1.0),
        },
        "welford": {
            "ours": lambda: welford(iter(chunks)),
            "numpy.var": lambda: (x.size, x.mean(), x.var()),
        },
    }


# (function, dtype, library) -> the largest acceptable ratio ours/theirs at 10^6 elements
TARGETS = {
    ("clip_by_global_norm", "float32", "torch"): 2.0,
    ("clip_by_global_norm", "float64", "torch"): 2.0,
    ("welford", "float32", "numpy.var"): 2.0,
    ("welford", "float64", "numpy.var"): 2.0,
    ("logsumexp", "float32", "torch"): 1.5,
}


def speed_table(repeats: int, ratios: dict[tuple[str, str, str], float]) -> list[str]:
    """Rows of the speed table; fills ``ratios`` with the 10^6 ratios named in TARGETS."""
    rows = ["| function | n | dtype | ours (ms) | vs | theirs (ms) | ratio ours/theirs |"]
    rows.append("|---|---:|---|---:|---|---:|---:|")
    for n in SIZES:
        for dtype in DTYPES:
            for function, implementations in speed_cases(n, dtype).items():
                times = median_times(
                    implementations, repeats if n < 10**6 else max(5, repeats // 2)
                )
                ours = times.pop("ours")
                for other, seconds in times.items():
                    key = (function, np.dtype(dtype).name, other)
                    if n == 10**6 and key in TARGETS:
                        ratios[key] = ours / seconds
                    rows.append(
                        f"| {function} | {n:.0e} | {np.dtype(dtype).name} | {ours * 1e3:.3f} | "
                        f"{other} | {seconds * 1e3:.3f} | {ours / seconds:.2f} |"
                    )
    return rows


# --- accuracy ----------------------------------------------------------------------------------


def ulps(got: np.ndarray, exact: np.ndarray, dtype) -> float:
    """Max |got - exact| in ULPs of ``dtype`` at the exact values (non-finite counts as inf)."""
    got = np.asarray(got, dtype=np.float64).ravel()
    exact = np.asarray(exact, dtype=np.float64).ravel()
    if not np.all(np.isfinite(got)):
        return float("inf")
    info = np.finfo(dtype)
    _, exponent = np.frexp(np.abs(exact))
    exponent = np.where(exact == 0, info.minexp, np.maximum(exponent - 1, info.minexp))
    spacing = np.ldexp(1.0, exponent - info.nmant)
    return float(np.max(np.abs(got - exact) / spacing))


def exact_norm(arrays: list[np.ndarray]) -> float:
    return float(mpmath.sqrt(mpmath.fsum(mpmath.mpf(float(v)) ** 2 for a in arrays for v in a)))


def exact_var(x: np.ndarray) -> float:
    values = [mpmath.mpf(float(v)) for v in x]
    mean = mpmath.fsum(values) / len(values)
    return float(mpmath.fsum((v - mean) ** 2 for v in values) / len(values))


def adversarial_inputs(dtype) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    big = 1e4 if dtype == np.float32 else 1e8
    huge = 1e30 if dtype == np.float32 else 1e300
    return {
        "ordinary N(0, 10)": rng.normal(0, 10, 1000).astype(dtype),
        f"large shift {big:.0e} + N(0,1)": (big + rng.normal(0, 1, 1000)).astype(dtype),
        "very negative -1e3 + N(0,1)": (-1e3 + rng.normal(0, 1, 1000)).astype(dtype),
        f"huge magnitudes ±{huge:.0e}": (huge * rng.uniform(-1, 1, 1000)).astype(dtype),
        "one dominant entry": np.r_[50.0, rng.normal(-60, 1, 999)].astype(dtype),
    }


def accuracy_table() -> list[str]:
    rows = ["| function | dtype | input | ours | scipy | torch |", "|---|---|---|---:|---:|---:|"]

    def cell(value: float) -> str:
        return "inf/nan" if not np.isfinite(value) else f"{value:.2g}"

    for dtype in DTYPES:
        for label, x in adversarial_inputs(dtype).items():
            t = torch.from_numpy(x)
            exact_ls = oracle.log_softmax(x)
            exact_lse = np.array(oracle.logsumexp(x))
            exact_sm = oracle.softmax(x)
            with np.errstate(all="ignore"):
                results = {
                    "logsumexp": (
                        exact_lse,
                        logsumexp(x),
                        scipy.special.logsumexp(x),
                        torch.logsumexp(t, 0).numpy(),
                    ),
                    "softmax": (
                        exact_sm,
                        softmax(x),
                        scipy.special.softmax(x),
                        torch.softmax(t, 0).numpy(),
                    ),
                    "log_softmax": (
                        exact_ls,
                        log_softmax(x),
                        scipy.special.log_softmax(x),
                        torch.log_softmax(t, 0).numpy(),
                    ),
                }
            for function, (exact, ours, theirs_scipy, theirs_torch) in results.items():
                errors = [ulps(r, exact, dtype) for r in (ours, theirs_scipy, theirs_torch)]
                rows.append(
                    f"| {function} | {np.dtype(dtype).name} | {label} | "
                    + " | ".join(cell(e) for e in errors)
                    + " |"
                )
    rows.append("")
    rows += ["| function | dtype | input | ours | reference |", "|---|---|---|---:|---:|"]
    rng = np.random.default_rng(11)
    norm_inputs = {
        np.float64: {"ordinary": 1.0, "entries ~1e200": 1e200, "entries ~1e-200": 1e-200},
        np.float32: {"ordinary": 1.0, "entries ~1e20": 1e20, "entries ~1e-25": 1e-25},
    }
    for dtype, scales in norm_inputs.items():
        for label, scale in scales.items():
            arrays = [(scale * rng.normal(0, 1, 100)).astype(dtype) for _ in range(5)]
            exact = np.array(exact_norm(arrays))
            _, ours = clip_by_global_norm(arrays, 1.0)
            with np.errstate(all="ignore"):
                theirs = torch.nn.utils.clip_grad_norm_(torch_grads(arrays), 1.0).item()
            rows.append(
                f"| clip_by_global_norm (norm) | {np.dtype(dtype).name} | {label} | "
                f"{cell(ulps(ours, exact, dtype))} | torch {cell(ulps(theirs, exact, dtype))} |"
            )
    for dtype in DTYPES:
        for offset in (0.0, 1e6, 1e9):
            x = (offset + rng.normal(0, 1, 1000)).astype(dtype)
            if dtype == np.float32 and offset == 1e9:
                continue  # float32 cannot hold 1e9 + N(0, 1) distinctly
            exact = np.array(exact_var(x))
            _, _, ours = welford(iter(np.array_split(x, 10)))
            rows.append(
                f"| welford (variance) | {np.dtype(dtype).name} | offset {offset:.0e} + N(0,1) | "
                f"{cell(ulps(ours, exact, np.float64))} | numpy.var "
                f"{cell(ulps(x.var(dtype=np.float64), exact, np.float64))} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    ratios: dict[tuple[str, str, str], float] = {}
    print("## Speed (median CPU time of interleaved repetitions)\n")
    print("\n".join(speed_table(repeats, ratios)))
    print("\n## Targets at 10^6 elements\n")
    print("| function | dtype | vs | ratio ours/theirs | target | met |")
    print("|---|---|---|---:|---:|---|")
    for (function, dtype, other), target in TARGETS.items():
        ratio = ratios[(function, dtype, other)]
        met = "yes" if ratio <= target else "NO"
        print(f"| {function} | {dtype} | {other} | {ratio:.2f} | <= {target:g} | {met} |")
    print("\n## Accuracy (max error in ULPs of the result's dtype against mpmath)\n")
    print("\n".join(accuracy_table()))


if __name__ == "__main__":
    main()
