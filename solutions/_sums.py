"""Fast float64 sums of squares shared by the clipping and standardisation references."""

from __future__ import annotations

import numpy as np

# Squares are summed in rows of this many entries (one fused pass, no temporary array), then the
# row sums pairwise: about the rounding error of ``np.sum`` (which sums leaves of 128 entries).
ROW = 128


def sum_of_squares(flat: np.ndarray) -> float:
    """Sum of the squares of a 1-D float64 array, unscaled.

    Parameters
    ----------
    flat : ndarray
        1-D, float64.

    Returns
    -------
    float
        ``sum(flat**2)``: inf if a square or the sum overflows, NaN for a NaN entry; squares
        below the normal range underflow (the caller decides whether that matters). 0.0 for an
        empty array. Floating-point warnings are the caller's to silence.
    """
    whole = flat.size - flat.size % ROW
    rows = flat[:whole].reshape(-1, ROW)
    tail = flat[whole:]
    return float(np.sum(np.einsum("ij,ij->i", rows, rows)) + np.sum(tail * tail))
