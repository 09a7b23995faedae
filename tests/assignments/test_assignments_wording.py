"""What the assignment notebooks tell students is true: the chapter sections they name exist, and
the answer conventions they declare acceptable (or not) are graded that way."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from teaching import grade_id, source_notebook

import autograder
from autograder.checks import ASSIGNMENTS

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
# "Chapter 6, Standardisation and conditioning § Computing the variance stably" in a visible test
QUOTED_SECTION = re.compile(r"Chapter (\d), [^§\n]*§ ([^\"\n]+)\"")


def _plain(heading: str) -> str:
    return re.sub(r"[`*]", "", heading).strip()


def _headings(number: str) -> set[str]:
    (path,) = CHAPTERS.glob(f"0{number}_*.ipynb")
    found = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            found |= {
                _plain(line.lstrip("#")) for line in cell.source.splitlines() if line[:1] == "#"
            }
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_quoted_chapter_section_exists(assignment):
    quoted = [
        (grade_id(cell), number, _plain(section))
        for cell in source_notebook(assignment).cells
        for number, section in QUOTED_SECTION.findall(cell.source)
    ]
    assert quoted, "the visible tests name the chapter sections to re-read"
    missing = [entry for entry in quoted if entry[2] not in _headings(entry[1])]
    assert not missing, f"sections that are not headings of their chapter: {missing}"


def _gd(half_mse: bool):
    """Gradient descent on standardised features with the MSE or with half of it."""

    def fit(X, y, lr=0.1, n_steps=1000):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        mean, scale = X.mean(axis=0), X.std(axis=0)
        Z = (X - mean) / np.where(scale == 0, 1.0, scale)
        factor = 1.0 if half_mse else 2.0
        w, b = np.zeros(X.shape[1]), 0.0
        for _ in range(n_steps):
            r = Z @ w + b - y
            w, b = w - lr * factor * Z.T @ r / len(y), b - lr * factor * r.mean()
        w = w / np.where(scale == 0, 1.0, scale)
        return w, float(b - mean @ w)

    return fit


@pytest.mark.parametrize("half_mse", [False, True], ids=["mse", "half_mse"])
def test_ex06_both_loss_conventions_the_notebook_allows_get_full_marks(half_mse):
    report = autograder.grade_function(
        "ex06_standardisation", "fit_linear_regression_gd", _gd(half_mse)
    )
    assert report.score == report.max_score


class _FactorRoundedFirst:
    """A loss scaler that rounds the factor to float32 before multiplying (what ex07 says not to
    do); otherwise GradScaler's schedule."""

    def __init__(
        self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000
    ):
        self._scale = np.float32(init_scale)
        self._growth, self._backoff = np.float32(growth_factor), np.float32(backoff_factor)
        self._interval, self._clean = growth_interval, 0

    def get_scale(self):
        return float(self._scale)

    def scale_loss(self, loss):
        return float(loss) * float(self._scale)

    def unscale(self, grads):
        out = [np.asarray(g) / np.asarray(self._scale, dtype=np.asarray(g).dtype) for g in grads]
        return out, not all(np.all(np.isfinite(g)) for g in grads)

    def update(self, found_inf):
        with np.errstate(over="ignore", under="ignore"):
            if found_inf:
                self._scale, self._clean = self._scale * self._backoff, 0
                return
            self._clean += 1
            if self._clean == self._interval:
                grown = self._scale * self._growth
                self._scale = grown if np.isfinite(grown) else self._scale
                self._clean = 0


def test_ex07_rounding_the_factor_to_float32_first_loses_points():
    report = autograder.grade_function(
        "ex07_mixed_precision", "DynamicLossScaler", _FactorRoundedFirst
    )
    assert report.score < report.max_score
