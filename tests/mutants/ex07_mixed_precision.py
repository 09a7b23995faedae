"""Correct variants and mutants for ex07_mixed_precision (sources exec'd by the checks' tests).

``CORRECT[name]``: implementations that must get full marks. ``MUTANTS[name]``: (source, the exact
set of groups it must fail); the first mutant of each name is also written into the released
notebook by the end-to-end test, so it is self-contained. ``ANSWERS``: the multiple-choice key.
"""

# ---------------------------------------------------------------------------------------------
# round_to_bfloat16
# ---------------------------------------------------------------------------------------------

BF16_TORCH = """
import numpy as np
import torch

def round_to_bfloat16(x):
    t = torch.from_numpy(np.array(x, dtype=np.float32, copy=True))
    return t.to(torch.bfloat16).to(torch.float32).numpy().reshape(x.shape)
"""

BF16_BITS = """
import numpy as np

def round_to_bfloat16(x):
    bits = x.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    out = ((bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(x), x, out).astype(np.float32).reshape(x.shape)
"""

BF16_UINT64 = """
import numpy as np

def round_to_bfloat16(x):
    wide = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    keep = (wide >> np.uint64(16)) & np.uint64(1)
    rounded = ((wide + np.uint64(0x7FFF) + keep) >> np.uint64(16)) << np.uint64(16)
    out = np.asarray((rounded & np.uint64(0xFFFFFFFF)).astype(np.uint32)).view(np.float32)
    out = out.reshape(x.shape).copy()
    nan = np.isnan(x)
    out[nan] = np.float32(np.nan)
    return out
"""

BF16_FREXP = """
import numpy as np

def round_to_bfloat16(x):
    # round in float64 to a multiple of the bfloat16 quantum 2^(max(E, -126) - 7)
    wide = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        _, e = np.frexp(np.where(np.isfinite(wide), wide, 1.0))
        quantum = np.ldexp(1.0, np.maximum(e - 1, -126) - 7)
        rounded = np.rint(wide / quantum) * quantum
        rounded = np.where(np.isfinite(wide), rounded, wide)
        return rounded.astype(np.float32)
"""

BF16_LOOP = """
import struct
import numpy as np

def round_to_bfloat16(x):
    out = np.empty(x.shape, dtype=np.float32)
    for index in np.ndindex(x.shape):
        value = float(x[index])
        if value != value:
            out[index] = np.nan
            continue
        (bits,) = struct.unpack("<I", struct.pack("<f", value))
        low, high = bits & 0xFFFF, bits >> 16
        if low > 0x8000 or (low == 0x8000 and high & 1):
            high += 1
        out[index] = struct.unpack("<f", struct.pack("<I", (high << 16) & 0xFFFFFFFF))[0]
    return out
"""

BF16_NO_NAN = """
import numpy as np

def round_to_bfloat16(x):
    bits = x.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    return ((bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)).view(np.float32)
"""

BF16_HALF_UP = """
import numpy as np

def round_to_bfloat16(x):
    bits = x.view(np.uint32)
    out = ((bits + np.uint32(0x8000)) & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(x), x, out).astype(np.float32)
"""

BF16_TRUNCATE = """
import numpy as np

def round_to_bfloat16(x):
    return (x.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
"""

BF16_FLOAT64 = """
import numpy as np
import torch

def round_to_bfloat16(x):
    t = torch.from_numpy(np.array(x, dtype=np.float32, copy=True))
    return t.to(torch.bfloat16).double().numpy().reshape(x.shape)
"""

BF16_IN_PLACE = """
import numpy as np

def round_to_bfloat16(x):
    bits = x.view(np.uint32)
    nan = np.isnan(x)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    bits += np.uint32(0x7FFF) + lsb
    bits &= np.uint32(0xFFFF0000)
    x[nan] = np.nan
    return x
"""

# ---------------------------------------------------------------------------------------------
# DynamicLossScaler
# ---------------------------------------------------------------------------------------------

SCALER_FLOAT32 = """
import numpy as np

class DynamicLossScaler:
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self.scale = np.float32(init_scale)
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.clean_steps = 0

    def get_scale(self):
        return float(self.scale)

    def scale_loss(self, loss):
        return float(loss) * float(self.scale)

    def unscale(self, grads):
        found_inf = any(not np.all(np.isfinite(g)) for g in grads)
        inv = np.float32(1.0 / float(self.scale))
        return [np.asarray(g) * inv.astype(np.asarray(g).dtype) for g in grads], found_inf

    def update(self, found_inf):
        with np.errstate(over="ignore"):
            if found_inf:
                self.scale = np.float32(float(self.scale) * self.backoff_factor)
                self.clean_steps = 0
                return
            self.clean_steps += 1
            if self.clean_steps == self.growth_interval:
                grown = np.float32(float(self.scale) * self.growth_factor)
                if np.isfinite(grown):
                    self.scale = grown
                self.clean_steps = 0
"""

SCALER_TORCH = """
import numpy as np
import torch

class DynamicLossScaler:
    # the very kernels GradScaler calls
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self._scale = torch.full((), init_scale, dtype=torch.float32)
        self._tracker = torch.zeros((), dtype=torch.int32)
        self._growth, self._backoff, self._interval = growth_factor, backoff_factor, growth_interval

    def get_scale(self):
        return self._scale.item()

    def scale_loss(self, loss):
        return float(loss) * self._scale.item()

    def unscale(self, grads):
        tensors = [torch.tensor(np.array(g, copy=True)) for g in grads]
        found = torch.zeros((), dtype=torch.float32)
        inv = self._scale.double().reciprocal().float()
        torch._amp_foreach_non_finite_check_and_unscale_(tensors, found, inv)
        return [t.numpy() for t in tensors], bool(found.item())

    def update(self, found_inf):
        found = torch.full((), float(bool(found_inf)), dtype=torch.float32)
        torch._amp_update_scale_(
            self._scale, self._tracker, found, self._growth, self._backoff, self._interval
        )
"""

SCALER_STRUCT = """
import math
import struct
import numpy as np

def to_float32(x):
    # round a double to the nearest float32 with the standard library (inf when it overflows)
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)

class DynamicLossScaler:
    # plain Python floats, every scale rounded once to float32 as GradScaler does
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self.s = to_float32(float(init_scale))
        self.g, self.b, self.n = growth_factor, backoff_factor, growth_interval
        self.good = 0

    def get_scale(self):
        return self.s

    def scale_loss(self, loss):
        return loss * self.s

    def unscale(self, grads):
        inv = np.float32(1.0 / self.s)
        out = [(np.asarray(g) * inv).astype(np.asarray(g).dtype) for g in grads]
        return out, not all(bool(np.all(np.isfinite(g))) for g in grads)

    def update(self, found_inf):
        if found_inf:
            self.s = to_float32(self.s * self.b)
            self.good = 0
            return
        self.good += 1
        if self.good >= self.n:
            self.good = 0
            grown = to_float32(self.s * self.g)
            if math.isfinite(grown):
                self.s = grown
"""
SCALER_FLOAT32_PRODUCT = """
import numpy as np

class DynamicLossScaler:
    # multiplies in float32 (factor rounded to float32 first) instead of rounding the double
    # product once, as GradScaler does
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self.s = np.float32(init_scale)
        self.g, self.b = np.float32(growth_factor), np.float32(backoff_factor)
        self.n, self.good = growth_interval, 0

    def get_scale(self):
        return float(self.s)

    def scale_loss(self, loss):
        return float(loss * np.float64(self.s))

    def unscale(self, grads):
        inv = np.float32(1.0 / np.float64(self.s))
        out = [(np.asarray(g) * inv).astype(np.asarray(g).dtype) for g in grads]
        return out, not all(bool(np.all(np.isfinite(g))) for g in grads)

    def update(self, found_inf):
        if found_inf:
            self.s = self.s * self.b
            self.good = 0
            return
        self.good += 1
        if self.good >= self.n:
            self.good = 0
            with np.errstate(over="ignore"):
                grown = self.s * self.g
            if np.isfinite(grown):
                self.s = grown
"""
SCALER_PYFLOAT = """
import math
import numpy as np

FLOAT32_MAX = 3.4028234663852886e38

class DynamicLossScaler:
    # keeps the scale as a Python float (float64): drifts from GradScaler's float32 scale
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self.s = float(init_scale)
        self.g, self.b, self.n = growth_factor, backoff_factor, growth_interval
        self.good = 0

    def get_scale(self):
        return self.s

    def scale_loss(self, loss):
        return loss * self.s

    def unscale(self, grads):
        out, bad = [], False
        for g in grads:
            g = np.asarray(g)
            bad = bad or bool(np.any(~np.isfinite(g)))
            out.append((g / self.s).astype(g.dtype))
        return out, bad

    def update(self, found_inf):
        if found_inf:
            self.s *= self.b
            self.good = 0
        else:
            self.good += 1
            if self.good >= self.n:
                self.good = 0
                if self.s * self.g <= FLOAT32_MAX:
                    self.s *= self.g
"""

SCALER_NO_RESET = """
import numpy as np

class DynamicLossScaler:
    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
        self.scale = np.float32(init_scale)
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.clean_steps = 0

    def get_scale(self):
        return float(self.scale)

    def scale_loss(self, loss):
        return float(loss) * float(self.scale)

    def unscale(self, grads):
        found_inf = any(not np.all(np.isfinite(g)) for g in grads)
        return [np.asarray(g) / self.scale for g in grads], found_inf

    def update(self, found_inf):
        with np.errstate(over="ignore"):
            if found_inf:
                # the count of clean steps is not restarted here
                self.scale = np.float32(float(self.scale) * self.backoff_factor)
                return
            self.clean_steps += 1
            if self.clean_steps == self.growth_interval:
                grown = np.float32(float(self.scale) * self.growth_factor)
                if np.isfinite(grown):
                    self.scale = grown
                self.clean_steps = 0
"""


def _scaler_variant(old: str, new: str) -> str:
    assert old in SCALER_FLOAT32, old
    return SCALER_FLOAT32.replace(old, new)


SCALER_OFF_BY_ONE = _scaler_variant(
    "if self.clean_steps == self.growth_interval:", "if self.clean_steps > self.growth_interval:"
)
SCALER_DEFAULT_FACTORS = _scaler_variant(
    "self.growth_factor = growth_factor\n        self.backoff_factor = backoff_factor",
    "self.growth_factor = 2.0\n        self.backoff_factor = 0.5",
)
SCALER_NO_CAP = _scaler_variant(
    "grown = np.float32(float(self.scale) * self.growth_factor)\n"
    "                if np.isfinite(grown):\n"
    "                    self.scale = grown",
    "self.scale = float(self.scale) * self.growth_factor",
)
SCALER_ISINF = _scaler_variant(
    "found_inf = any(not np.all(np.isfinite(g)) for g in grads)",
    "found_inf = any(bool(np.any(np.isinf(g))) for g in grads)",
)
SCALER_IN_PLACE = _scaler_variant(
    "return [np.asarray(g) * inv.astype(np.asarray(g).dtype) for g in grads], found_inf",
    "for g in grads:\n            g *= inv\n        return list(grads), found_inf",
)
SCALER_NO_BACKOFF_RESET_GROWTH = _scaler_variant(
    "self.scale = np.float32(float(self.scale) * self.backoff_factor)",
    "self.scale = np.float32(float(self.scale) / 2.0)",
)

# ---------------------------------------------------------------------------------------------
# fp16_underflow_fraction
# ---------------------------------------------------------------------------------------------

FRACTION_NUMPY = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    lost = nonzero = 0
    for g in arrays:
        g = np.asarray(g, dtype=np.float32)
        with np.errstate(over="ignore"):
            half = (g * np.float32(loss_scale)).astype(np.float16)
        nonzero += np.count_nonzero(g)
        lost += np.count_nonzero((g != 0) & (half == 0))
    return lost / nonzero if nonzero else 0.0
"""

FRACTION_TORCH = """
import numpy as np
import torch

def fp16_underflow_fraction(grads, loss_scale=1.0):
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    flat = torch.cat([torch.from_numpy(np.asarray(g, dtype=np.float32).ravel()) for g in arrays])
    nonzero = flat != 0
    if not bool(nonzero.any()):
        return 0.0
    half = (flat * loss_scale).to(torch.float16)
    return float((nonzero & (half == 0)).sum() / nonzero.sum())
"""

FRACTION_THRESHOLD = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    # x rounds to 0 in float16 exactly when |x| <= 2^-25 (half the smallest subnormal: a tie)
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    values = np.concatenate([np.asarray(g, dtype=np.float32).ravel() for g in arrays])
    values = values[values != 0]
    if values.size == 0:
        return 0.0
    scaled = np.abs(values * np.float32(loss_scale))
    return float(np.mean(scaled <= 2.0**-25))
"""

FRACTION_KEPT = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    if not isinstance(grads, (list, tuple)):
        grads = [grads]
    total = kept = 0
    for g in grads:
        g = np.asarray(g).astype(np.float32).ravel()
        g = g[g != 0]
        with np.errstate(over="ignore"):
            kept += int(np.sum((g * np.float32(loss_scale)).astype(np.float16) != 0))
        total += g.size
    return 1.0 - kept / total if total else 0.0
"""

FRACTION_NAIVE_MEAN = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    # counts zeros that were zero already and forgets the loss scale
    half = np.asarray(grads).astype(np.float16)
    return float(np.mean(half == 0))
"""

FRACTION_NORMAL_THRESHOLD = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    values = np.concatenate([np.asarray(g, dtype=np.float32).ravel() for g in arrays])
    values = values[values != 0] * np.float32(loss_scale)
    if values.size == 0:
        return 0.0
    return float(np.mean(np.abs(values) < np.finfo(np.float16).tiny))
"""

FRACTION_PER_ARRAY_MEAN = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    fractions = []
    for g in arrays:
        g = np.asarray(g, dtype=np.float32)
        g = g[g != 0]
        if g.size:
            with np.errstate(over="ignore"):
                fractions.append(np.mean((g * np.float32(loss_scale)).astype(np.float16) == 0))
    return float(np.mean(fractions)) if fractions else 0.0
"""

FRACTION_STRICT_SUBNORMAL = """
import numpy as np

def fp16_underflow_fraction(grads, loss_scale=1.0):
    arrays = grads if isinstance(grads, (list, tuple)) else [grads]
    values = np.concatenate([np.asarray(g, dtype=np.float32).ravel() for g in arrays])
    values = values[values != 0]
    if values.size == 0:
        return 0.0
    # wrong: everything below the smallest subnormal is called underflow
    return float(np.mean(np.abs(values * np.float32(loss_scale)) < 2.0**-24))
"""

FRACTION_NO_SCALE = FRACTION_NUMPY.replace("(g * np.float32(loss_scale))", "g")
# scales in float64 and rounds once to float16: near the tie it keeps what float32 loses
FRACTION_FLOAT64_SCALE = FRACTION_NUMPY.replace(
    "(g * np.float32(loss_scale))", "(g.astype(np.float64) * loss_scale)"
)

# ---------------------------------------------------------------------------------------------
# mixed_precision_train_step
# ---------------------------------------------------------------------------------------------

STEP_REFERENCE_STYLE = """
import torch

def mixed_precision_train_step(model, optimizer, loss_fn, inputs, targets, scaler=None,
                               dtype=torch.bfloat16):
    device = next(model.parameters()).device
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=device.type, dtype=dtype):
        loss = loss_fn(model(inputs.to(device)), targets.to(device))
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.item()
"""

STEP_UNSCALE_FIRST = """
import torch

def mixed_precision_train_step(model, optimizer, loss_fn, inputs, targets, scaler=None,
                               dtype=torch.bfloat16):
    with torch.autocast("cpu", dtype=dtype):
        outputs = model(inputs)
    with torch.autocast("cpu", dtype=dtype):
        loss = loss_fn(outputs, targets)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)  # explicit, e.g. to clip in between
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    optimizer.zero_grad()  # reset after the step instead of before
    return float(loss.detach())
"""

STEP_FLOAT_LOGITS = """
import torch

def mixed_precision_train_step(model, optimizer, loss_fn, inputs, targets, scaler=None,
                               dtype=torch.bfloat16):
    for p in model.parameters():
        p.grad = None
    with torch.autocast(device_type="cpu", dtype=dtype):
        logits = model(inputs)
        loss = loss_fn(logits.float(), targets)
    scaled = loss if scaler is None else scaler.scale(loss)
    scaled.backward()
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    return float(loss.item())
"""

STEP_NO_AUTOCAST = """
import torch

def mixed_precision_train_step(model, optimizer, loss_fn, inputs, targets, scaler=None,
                               dtype=torch.bfloat16):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)  # everything in float32: no autocast
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.item()
"""

STEP_RETURNS_TENSOR = STEP_REFERENCE_STYLE.replace("return loss.item()", "return loss")
STEP_NO_ZERO_GRAD = STEP_REFERENCE_STYLE.replace("    optimizer.zero_grad(set_to_none=True)\n", "")
STEP_IGNORES_SCALER = STEP_REFERENCE_STYLE.replace("if scaler is None:", "if True:")
STEP_NO_SCALER_STEP = STEP_REFERENCE_STYLE.replace("scaler.step(optimizer)", "optimizer.step()")
STEP_BF16_MODEL = """
import torch

def mixed_precision_train_step(model, optimizer, loss_fn, inputs, targets, scaler=None,
                               dtype=torch.bfloat16):
    model.to(dtype)  # converts the master weights themselves
    optimizer.zero_grad()
    loss = loss_fn(model(inputs.to(dtype)), targets)
    loss.backward()
    optimizer.step()
    return loss.item()
"""

CORRECT: dict[str, list[str]] = {
    "round_to_bfloat16": [BF16_TORCH, BF16_BITS, BF16_UINT64, BF16_FREXP, BF16_LOOP],
    "DynamicLossScaler": [SCALER_FLOAT32, SCALER_TORCH, SCALER_STRUCT],
    "fp16_underflow_fraction": [FRACTION_NUMPY, FRACTION_TORCH, FRACTION_THRESHOLD, FRACTION_KEPT],
    "mixed_precision_train_step": [STEP_REFERENCE_STYLE, STEP_UNSCALE_FIRST, STEP_FLOAT_LOGITS],
}

MUTANTS: dict[str, list[tuple[str, set[str]]]] = {
    "round_to_bfloat16": [
        (BF16_NO_NAN, {"specials"}),
        (BF16_HALF_UP, {"ties"}),
        (BF16_TRUNCATE, {"ordinary", "ties", "specials", "contract"}),
        (BF16_FLOAT64, {"contract"}),
        (BF16_IN_PLACE, {"contract"}),
    ],
    "DynamicLossScaler": [
        (SCALER_NO_RESET, {"reset"}),
        (SCALER_OFF_BY_ONE, {"growth", "reset", "factors", "float32"}),
        (SCALER_DEFAULT_FACTORS, {"factors"}),
        (SCALER_NO_CAP, {"float32", "factors"}),
        (SCALER_ISINF, {"unscale"}),
        (SCALER_IN_PLACE, {"unscale"}),
        (SCALER_NO_BACKOFF_RESET_GROWTH, {"factors"}),
        (SCALER_PYFLOAT, {"factors"}),
        (SCALER_FLOAT32_PRODUCT, {"factors"}),
    ],
    "fp16_underflow_fraction": [
        (FRACTION_NAIVE_MEAN, {"scaled", "lists", "edges"}),
        (FRACTION_NORMAL_THRESHOLD, {"basic", "scaled", "lists", "edges"}),
        (FRACTION_PER_ARRAY_MEAN, {"lists"}),
        (FRACTION_STRICT_SUBNORMAL, {"basic", "scaled", "lists", "edges"}),
        (FRACTION_NO_SCALE, {"scaled", "lists"}),
        (FRACTION_FLOAT64_SCALE, {"scaled"}),
    ],
    "mixed_precision_train_step": [
        (STEP_NO_AUTOCAST, {"autocast"}),
        (STEP_RETURNS_TENSOR, {"loss_float"}),
        (STEP_NO_ZERO_GRAD, {"loss_float", "training", "scaler"}),
        (STEP_IGNORES_SCALER, {"scaler"}),
        (STEP_NO_SCALER_STEP, {"loss_float", "scaler"}),
        (STEP_BF16_MODEL, {"loss_float", "autocast", "scaler"}),
    ],
}

ANSWERS: dict[str, str] = {"q1": "b", "q2": "d", "q3": "a"}
