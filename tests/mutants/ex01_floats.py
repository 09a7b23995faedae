"""Correct and wrong implementations of ex01_floats's graded names, as source strings.

``CORRECT`` must get full marks from ``autograder.grade_function``; each entry of ``MUTANTS`` pairs
a naive or subtly wrong implementation with the exact set of groups it must fail. The first
mutant of every name is written into the released notebook by the end-to-end nbgrader test, so
it is self-contained and does not raise when defined. ``ANSWERS`` states the multiple-choice key
independently of the checks module.
"""

CORRECT: dict[str, list[str]] = {
    "float_format": [
        """
import math

def float_format(exponent_bits, mantissa_bits):
    if not (2 <= exponent_bits <= 11 and 1 <= mantissa_bits <= 52):
        raise ValueError(f"unsupported widths ({exponent_bits}, {mantissa_bits})")
    bias = 2 ** (exponent_bits - 1) - 1
    return {
        "max": math.ldexp(2.0 - math.ldexp(1.0, -mantissa_bits), bias),
        "min_normal": math.ldexp(1.0, 1 - bias),
        "min_subnormal": math.ldexp(1.0, 1 - bias - mantissa_bits),
        "eps": math.ldexp(1.0, -mantissa_bits),
    }
""",
        """
from fractions import Fraction

def float_format(exponent_bits, mantissa_bits):
    # exact rational arithmetic, converted at the end
    if exponent_bits < 2 or exponent_bits > 11:
        raise ValueError("exponent_bits must be in [2, 11]")
    if mantissa_bits < 1 or mantissa_bits > 52:
        raise ValueError("mantissa_bits must be in [1, 52]")
    bias = 2 ** (exponent_bits - 1) - 1
    largest = Fraction(2 ** (mantissa_bits + 1) - 1, 2**mantissa_bits) * Fraction(2) ** bias
    return {
        "max": float(largest),
        "min_normal": float(Fraction(2) ** (1 - bias)),
        "min_subnormal": float(Fraction(2) ** (1 - bias - mantissa_bits)),
        "eps": float(Fraction(1, 2**mantissa_bits)),
    }
""",
        """
import numpy as np

def float_format(exponent_bits, mantissa_bits):
    # NumPy scalars and powers of two; max = (2^(m+1) - 1) * 2^(bias - m)
    if exponent_bits not in range(2, 12) or mantissa_bits not in range(1, 53):
        raise ValueError("field widths out of range")
    bias = 2 ** (exponent_bits - 1) - 1
    two = np.float64(2.0)
    return {
        "max": np.float64(2 ** (mantissa_bits + 1) - 1) * two ** (bias - mantissa_bits),
        "min_normal": two ** (1 - bias),
        "min_subnormal": two ** (1 - bias - mantissa_bits),
        "eps": two ** (-mantissa_bits),
    }
""",
        """
def float_format(exponent_bits, mantissa_bits):
    # Python floats and ** only, ordered so that no intermediate overflows
    if not 2 <= exponent_bits <= 11:
        raise ValueError("exponent_bits out of range")
    if not 1 <= mantissa_bits <= 52:
        raise ValueError("mantissa_bits out of range")
    bias = 2 ** (exponent_bits - 1) - 1
    eps = 2.0 ** -mantissa_bits
    min_normal = 2.0 ** (1 - bias)
    return {
        "max": (2.0 - eps) * 2.0**bias,
        "min_normal": min_normal,
        "min_subnormal": min_normal * eps,
        "eps": eps,
    }
""",
    ],
    "ulp": [
        """
import math
import numpy as np

def ulp(x, dtype=np.float64):
    info = np.finfo(dtype)
    with np.errstate(over="ignore"):
        r = np.dtype(dtype).type(x)
    if not np.isfinite(r):
        return math.nan
    if r == 0:
        return float(info.smallest_subnormal)
    _, k = math.frexp(abs(float(r)))
    return math.ldexp(1.0, max(k - 1, info.minexp) - info.nmant)
""",
        """
import math
import numpy as np

def ulp(x, dtype=np.float64):
    # np.spacing below the largest finite value; at the top step down instead of up
    t = np.dtype(dtype).type
    with np.errstate(over="ignore"):
        r = abs(t(x))
    if not np.isfinite(r):
        return math.nan
    if r == np.finfo(dtype).max:
        return float(r - np.nextafter(r, t(0)))
    return float(np.spacing(r))
""",
        """
import math
import numpy as np

def ulp(x, dtype=np.float64):
    # read the exponent field from the bits
    dt = np.dtype(dtype)
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    m = np.finfo(dt).nmant
    with np.errstate(over="ignore"):
        bits = int(np.array(x, dtype=dt).view(uint))
    exponent_field = (bits >> m) & ((1 << (8 * dt.itemsize - 1 - m)) - 1)
    all_ones = (1 << (8 * dt.itemsize - 1 - m)) - 1
    if exponent_field == all_ones:
        return math.nan
    bias = all_ones // 2
    return math.ldexp(1.0, max(exponent_field, 1) - bias - m)
""",
        """
import math
import numpy as np
import torch

def ulp(x, dtype=np.float64):
    # the same via torch.frexp on a one-element tensor of the right dtype
    torch_dtype = {np.dtype(np.float16): torch.float16, np.dtype(np.float32): torch.float32,
                   np.dtype(np.float64): torch.float64}[np.dtype(dtype)]
    info = torch.finfo(torch_dtype)
    r = torch.tensor(float(x), dtype=torch.float64).to(torch_dtype)
    if not torch.isfinite(r):
        return math.nan
    min_exponent = int(math.log2(info.tiny))
    mantissa_bits = -int(math.log2(info.eps))
    if r == 0:
        return math.ldexp(1.0, min_exponent - mantissa_bits)
    _, k = torch.frexp(r.abs())
    return math.ldexp(1.0, max(int(k) - 1, min_exponent) - mantissa_bits)
""",
    ],
    "ulps_between": [
        """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    dt = np.dtype(dtype)
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    sign = 1 << (8 * dt.itemsize - 1)

    def key(v):
        with np.errstate(over="ignore"):
            bits = int(np.array(v, dtype=dt).view(uint))
        return -(bits - sign) if bits & sign else bits

    return abs(key(a) - key(b))
""",
        """
import struct
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # struct packs the rounded value; Python ints never overflow
    fmt = {np.dtype(np.float16): ("e", "H"), np.dtype(np.float32): ("f", "I"),
           np.dtype(np.float64): ("d", "Q")}[np.dtype(dtype)]

    def key(v):
        v = float(np.dtype(dtype).type(v))
        (bits,) = struct.unpack("<" + fmt[1], struct.pack("<" + fmt[0], v))
        half = 1 << (8 * struct.calcsize(fmt[1]) - 1)
        return -(bits - half) if bits >= half else bits

    return abs(key(a) - key(b))
""",
        """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # count each side of zero separately: |bits| of the magnitudes
    dt = np.dtype(dtype)
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    a, b = dt.type(a), dt.type(b)

    def magnitude_bits(v):
        return int(np.abs(np.array(v, dtype=dt)).view(uint))

    if (a < 0 < b) or (b < 0 < a):
        return magnitude_bits(a) + magnitude_bits(b)
    return abs(magnitude_bits(a) - magnitude_bits(b))
""",
    ],
    "kahan_sum": [
        """
import numpy as np

def kahan_sum(values):
    # Kahan's original compensated loop
    s = np.float32(0.0)
    c = np.float32(0.0)
    for x in np.asarray(values, dtype=np.float32):
        y = x - c
        t = s + y
        c = (t - s) - y
        s = t
    return np.float32(s)
""",
        """
import numpy as np

def kahan_sum(values):
    # Neumaier's variant with the compensation folded back into the sum at every step
    s = np.float32(0.0)
    c = np.float32(0.0)
    for x in np.asarray(values, dtype=np.float32):
        t = s + x
        if abs(s) >= abs(x):
            c += (s - t) + x
        else:
            c += (x - t) + s
        s = t + c
        c = c - (s - t)
    return np.float32(s + c)
""",
        """
import numpy as np

def kahan_sum(values):
    # wider accumulation, rounded once to float32 (accepted: the result is what is graded)
    return np.float32(np.sum(np.asarray(values, dtype=np.float64)))
""",
        """
import math
import numpy as np

def kahan_sum(values):
    # the exact sum, rounded to float32
    return np.float32(math.fsum(np.asarray(values, dtype=np.float64).tolist()))
""",
        """
import numpy as np
import torch

def kahan_sum(values):
    # PyTorch's float32 reduction (a tree-shaped, vectorised sum)
    return np.float32(torch.from_numpy(np.asarray(values, dtype=np.float32)).sum().item())
""",
        """
import numpy as np

def kahan_sum(values):
    # NumPy's pairwise float32 sum is accurate on these inputs too
    return np.sum(np.asarray(values, dtype=np.float32))
""",
    ],
}

NEUMAIER_UNFOLDED = """
import numpy as np

def kahan_sum(values):
    # Neumaier's variant whose float32 compensation only accumulates: on hundreds of
    # thousands of same-sign rounding errors c's own rounding costs tens of ULPs
    s = np.float32(0.0)
    c = np.float32(0.0)
    for x in np.asarray(values, dtype=np.float32):
        t = s + x
        if abs(s) >= abs(x):
            c += (s - t) + x
        else:
            c += (x - t) + s
        s = t
    return np.float32(s + c)
"""

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "float_format": [
        (
            """
import math

def float_format(exponent_bits, mantissa_bits):
    # right formulas, no range check
    bias = 2 ** (exponent_bits - 1) - 1
    return {
        "max": math.ldexp(2.0 - math.ldexp(1.0, -mantissa_bits), bias),
        "min_normal": math.ldexp(1.0, 1 - bias),
        "min_subnormal": math.ldexp(1.0, 1 - bias - mantissa_bits),
        "eps": math.ldexp(1.0, -mantissa_bits),
    }
""",
            {"bad_input"},
        ),
        (
            """
def float_format(exponent_bits, mantissa_bits):
    # max as 2^(b+1) - 2^(b-m): the intermediate 2^1024 overflows for e = 11
    if not (2 <= exponent_bits <= 11 and 1 <= mantissa_bits <= 52):
        raise ValueError("out of range")
    bias = 2 ** (exponent_bits - 1) - 1
    return {
        "max": 2.0 ** (bias + 1) - 2.0 ** (bias - mantissa_bits),
        "min_normal": 2.0 ** (1 - bias),
        "min_subnormal": 2.0 ** (1 - bias - mantissa_bits),
        "eps": 2.0**-mantissa_bits,
    }
""",
            {"extremes"},
        ),
        (
            """
def float_format(exponent_bits, mantissa_bits):
    # the smallest subnormal off by a factor of two
    if not (2 <= exponent_bits <= 11 and 1 <= mantissa_bits <= 52):
        raise ValueError("out of range")
    bias = 2 ** (exponent_bits - 1) - 1
    return {
        "max": (2.0 - 2.0**-mantissa_bits) * 2.0**bias,
        "min_normal": 2.0 ** (1 - bias),
        "min_subnormal": 2.0 ** (-bias - mantissa_bits),
        "eps": 2.0**-mantissa_bits,
    }
""",
            {"standard", "extremes", "odd"},
        ),
        (
            """
import numpy as np

def float_format(exponent_bits, mantissa_bits):
    # a table of the formats NumPy knows, plus the two others from the chapter
    import math
    table = {(5, 10): np.float16, (8, 23): np.float32, (11, 52): np.float64}
    if (exponent_bits, mantissa_bits) in table:
        info = np.finfo(table[exponent_bits, mantissa_bits])
        return {"max": float(info.max), "min_normal": float(info.tiny),
                "min_subnormal": float(info.smallest_subnormal), "eps": float(info.eps)}
    if (exponent_bits, mantissa_bits) == (8, 7):
        return {"max": 3.3895313892515355e38, "min_normal": 2.0**-126,
                "min_subnormal": 2.0**-133, "eps": 2.0**-7}
    if (exponent_bits, mantissa_bits) == (5, 2):
        return {"max": 57344.0, "min_normal": 2.0**-14, "min_subnormal": 2.0**-16,
                "eps": 0.25}
    raise ValueError("unknown format")
""",
            {"extremes", "odd"},
        ),
    ],
    "ulp": [
        (
            """
import numpy as np

def ulp(x, dtype=np.float64):
    # np.spacing: negative for negative x, and inf at the largest finite value
    with np.errstate(over="ignore"):
        return float(np.spacing(np.dtype(dtype).type(x)))
""",
            {"normal", "subnormal", "nonfinite"},
        ),
        (
            """
import math
import numpy as np

def ulp(x, dtype=np.float64):
    # forgets the subnormal floor: 2^(E - m) for every x
    info = np.finfo(dtype)
    with np.errstate(over="ignore"):
        r = np.dtype(dtype).type(x)
    if not np.isfinite(r):
        return math.nan
    if r == 0:
        return float(info.smallest_subnormal)
    _, k = math.frexp(abs(float(r)))
    return math.ldexp(1.0, k - 1 - info.nmant)
""",
            {"subnormal"},
        ),
        (
            """
import math
import numpy as np

def ulp(x, dtype=np.float64):
    # takes the exponent of x itself, not of x rounded to the dtype
    info = np.finfo(dtype)
    if math.isnan(x) or math.isinf(x):
        return math.nan
    if x == 0:
        return float(info.smallest_subnormal)
    _, k = math.frexp(abs(x))
    return math.ldexp(1.0, max(k - 1, info.minexp) - info.nmant)
""",
            {"rounding", "nonfinite"},
        ),
        (
            """
import math

def ulp(x, dtype=None):
    # ignores the dtype: always float64
    if math.isnan(x) or math.isinf(x):
        return math.nan
    return math.ulp(x)
""",
            {"normal", "subnormal", "rounding", "nonfinite"},
        ),
    ],
    "ulps_between": [
        (
            """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # raw bit patterns: wrong across zero
    dt = np.dtype(dtype)
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    ia = int(np.array(a, dtype=dt).view(uint))
    ib = int(np.array(b, dtype=dt).view(uint))
    return abs(ia - ib)
""",
            {"zero", "large"},
        ),
        (
            """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # signed int64 arithmetic: wraps around for distances beyond 2^63
    dt = np.dtype(dtype)
    sint = {2: np.int16, 4: np.int32, 8: np.int64}[dt.itemsize]

    def key(v):
        bits = np.array(v, dtype=dt).view(sint).astype(np.int64)
        return np.where(bits < 0, np.int64(np.iinfo(sint).min) - bits, bits)

    with np.errstate(over="ignore"):
        return int(abs(key(a) - key(b)))
""",
            {"large"},
        ),
        (
            """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # ignores the dtype: counts float64 steps
    def key(v):
        bits = int(np.array(v, dtype=np.float64).view(np.uint64))
        return -(bits - (1 << 63)) if bits >> 63 else bits
    return abs(key(a) - key(b))
""",
            {"zero", "large", "dtypes"},
        ),
        (
            """
import numpy as np

def ulps_between(a, b, dtype=np.float64):
    # divides the distance by the ULP of the smaller value: wrong across binades
    a, b = sorted((float(np.dtype(dtype).type(a)), float(np.dtype(dtype).type(b))))
    return int(round((b - a) / float(np.spacing(np.dtype(dtype).type(a)))))
""",
            {"basic", "zero", "large", "dtypes"},
        ),
    ],
    "kahan_sum": [
        (
            """
import numpy as np

def kahan_sum(values):
    # naive float32 loop
    s = np.float32(0.0)
    for x in np.asarray(values, dtype=np.float32):
        s = s + x
    return s
""",
            {"hard"},
        ),
        (
            """
import numpy as np

def kahan_sum(values):
    # float64 accumulation, never cast back
    return np.sum(np.asarray(values, dtype=np.float64))
""",
            {"dtype"},
        ),
        (
            """
def kahan_sum(values):
    # Kahan's loop on Python floats (float64 arithmetic), returned as a Python float
    s = 0.0
    c = 0.0
    for x in values:
        y = float(x) - c
        t = s + y
        c = (t - s) - y
        s = t
    return s
""",
            {"dtype"},
        ),
        (
            """
import numpy as np

def kahan_sum(values):
    # compensation computed in the wrong order: c = (s - t) + y loses its meaning
    s = np.float32(0.0)
    c = np.float32(0.0)
    for x in np.asarray(values, dtype=np.float32):
        y = x + c
        t = s + y
        c = (t - s) - y
        s = t
    return np.float32(s)
""",
            {"hard"},
        ),
        (NEUMAIER_UNFOLDED, {"hard"}),
    ],
}

ANSWERS: dict[str, str] = {"q1": "b", "q2": "d", "q3": "a"}
