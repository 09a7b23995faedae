"""The book's sections that feedback refers to, by their MyST labels.

Every group names the section to re-read by a label such as ``ch02-stable-sigmoid``, written
``(ch02-stable-sigmoid)=`` above the heading in ``chapters/02_overflow_underflow.ipynb``.
Feedback renders it as the chapter, the section's title and a link into the built book: the
book's ``html: baseurl:`` from ``_config.yml`` when it is set, otherwise a link relative to the
book's root. ``tests/autograder/test_autograder_core.py`` checks with :func:`scan_chapter` that
every label used by a check exists in its chapter under the title recorded here.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

BOOK_ROOT = Path(__file__).resolve().parents[2]
LABEL = re.compile(r"^\((ch\d\d-[a-z0-9-]+)\)=\s*$")

CHAPTERS: dict[str, tuple[str, str]] = {
    "01": ("01_floating_point", "Floating-point numbers"),
    "02": ("02_overflow_underflow", "Overflow, underflow and NaN"),
    "03": ("03_log_sum_exp", "The log-sum-exp trick"),
    "04": ("04_softmax_cross_entropy", "Stable softmax, log-softmax and cross-entropy"),
    "05": ("05_gradient_clipping", "Gradient clipping"),
    "06": ("06_standardisation_conditioning", "Standardisation and conditioning"),
    "07": ("07_mixed_precision", "Mixed precision"),
}

# label -> the title of the heading under it (as written in the chapter).
TITLES: dict[str, str] = {
    "ch01-ieee-anatomy": "Anatomy of an IEEE 754 number",
    "ch01-formats": "The formats used in deep learning",
    "ch01-epsilon-ulp": "Machine epsilon, the ULP, and relative error",
    "ch01-accumulation": "Rounding error accumulates",
    "ch01-vectorisation": "Vectorisation: faster and more accurate",
    "ch01-summary": "Summary",
    "ch02-overflow": "Overflow",
    "ch02-underflow": "Underflow and gradual underflow",
    "ch02-log-domain": "Long products of probabilities: work in the log domain",
    "ch02-nan": "NaN: where it comes from and how it spreads",
    "ch02-epsilon-guard": "Division by zero and log(0): the epsilon guard",
    "ch02-stable-sigmoid": "Stable sigmoid and softplus",
    "ch02-summary": "Summary",
    "ch03-shift-identity": "The shift identity",
    "ch03-edge-cases": "Edge cases a real implementation must handle",
    "ch03-accuracy": "Accuracy: the `log1p` refinement",
    "ch03-online": "Beyond the usual course: the one-pass (online) log-sum-exp",
    "ch03-check": "Check your understanding",
    "ch04-shift-invariance": "Shift invariance: the fix",
    "ch04-log-softmax": "log(softmax) is a bug waiting to happen",
    "ch04-cross-entropy": "Fused cross-entropy from logits",
    "ch04-bce": "Binary cross-entropy with logits",
    "ch04-gradients": "Gradients: NaN from the two-step loss, finite from the fused one",
    "ch04-pytorch": "Seen in PyTorch",
    "ch04-precision": "Precision: divide by the sum, or subtract the log-sum-exp?",
    "ch05-clipping-math": "Clip by value and clip by norm",
    "ch05-global-norm": "The global norm and `clip_grad_norm_` on a real model",
    "ch05-stable-norm": "Computing a norm without overflow or underflow",
    "ch05-spike-study": "A controlled experiment: one bad batch",
    "ch05-monitoring": "Monitoring gradient norms during training",
    "ch05-check": "Check your understanding",
    "ch06-variance": "Computing the variance stably",
    "ch06-fit-on-train": "Fit the statistics on the training data only",
    "ch06-constant-features": r"Constant features: $\varepsilon$ or a unit scale",
    "ch06-nan-linear-model": "Rescuing a linear model whose loss turns NaN",
    "ch06-condition-number": "The condition number in two dimensions",
    "ch06-check": "Check your understanding",
    "ch07-mathematics": "The mathematics of 16-bit arithmetic",
    "ch07-rounding": "Rounding float32 to bfloat16 by hand",
    "ch07-loss-scaling": "Gradient underflow in float16 and loss scaling",
    "ch07-gradscaler": "Dynamic loss scaling with `torch.amp.GradScaler`",
    "ch07-autocast": "Autocast: which operations run in 16 bits",
    "ch07-master-weights": "float32 master weights",
    "ch07-training": "A small training run: float32 against bfloat16 autocast",
    "ch07-range-precision": "Narrow range versus coarse precision",
    "ch07-check": "Check your understanding",
}


def chapter_file(label: str) -> str:
    """The chapter notebook's stem for a label (``ch02-…`` → ``02_overflow_underflow``);
    ``ValueError`` for a label of no known chapter."""
    number = label[2:4]
    if not label.startswith("ch") or number not in CHAPTERS:
        raise ValueError(f"section label {label!r} names no chapter (known: ch01-… to ch07-…)")
    return CHAPTERS[number][0]


@functools.lru_cache(maxsize=1)
def base_url() -> str:
    """The published book's address (``html: baseurl:`` in ``_config.yml``), or ``""``."""
    config = BOOK_ROOT / "_config.yml"
    if not config.is_file():
        return ""
    import yaml

    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return ""
    html = data.get("html") if isinstance(data, dict) else None
    url = html.get("baseurl") if isinstance(html, dict) else None
    return url.rstrip("/") if isinstance(url, str) else ""


def link(label: str) -> str:
    """``<baseurl>/chapters/<file>.html#<label>``, or the same relative to the book's root."""
    path = f"chapters/{chapter_file(label)}.html#{label}"
    base = base_url()
    return f"{base}/{path}" if base else path


def render(label: str) -> str:
    """``Chapter 2, Overflow, underflow and NaN § Stable sigmoid and softplus (<link>)``.

    ``ValueError`` for a label missing from :data:`TITLES`.
    """
    if label not in TITLES:
        raise ValueError(
            f"unknown section label {label!r}; add it to autograder.judge.sections.TITLES"
        )
    number = label[2:4]
    chapter = CHAPTERS[number][1]
    return f"Chapter {int(number)}, {chapter} § {TITLES[label]} ({link(label)})"


def scan_chapter(path: Path) -> dict[str, str]:
    """The labels of a chapter notebook and the title of the heading each one precedes."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell["source"]
        lines = ("".join(source) if isinstance(source, list) else source).splitlines()
        for i, line in enumerate(lines):
            match = LABEL.match(line.strip())
            if match:
                heading = next((text for text in lines[i + 1 :] if text.strip()), "")
                found[match.group(1)] = heading.lstrip("#").strip()
    return found
