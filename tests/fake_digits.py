"""Blobby fake digits for tests that need images but not MNIST."""

import numpy as np


def fake_digits(n: int, seed: int = 0) -> np.ndarray:
    """``n`` uint8 digits ``(n, 28, 28)``: a bright vertical stroke and a grey bar on black."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        r, c = rng.integers(4, 18, 2)
        x[i, r : r + 10, c : c + 3] = 255
        x[i, r, c : c + 8] = 200
    return x
