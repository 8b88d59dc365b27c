"""The inputs of the paper's sparse-parity notebooks, drawn as they draw them.

scripts/Fig2_top_sparse_parity.ipynb, Fig2_bottom_sparse_parity.ipynb and
Fig16_sparse_parity_experiment_theory_compare.ipynb all start, after np.random.seed(seed), with
np.random.choice(2**32, n) (n integers uniform on [0, 2^32), with replacement), each written as its
32-bit binary expansion, most significant bit first ("{0:b}".format(i), zero-padded on the left):
x_1 .. x_32 in {0, 1}, float64. A numpy RandomState(seed) gives the same stream as the global
np.random after np.random.seed(seed), so the draws here continue exactly as the notebook's do.
"""

from __future__ import annotations

import numpy as np

N_BITS = 32  # the notebooks' integers lie below 2^32 and are written in 32 bits


def bits_msb_first(integers: np.ndarray, n_bits: int = N_BITS) -> np.ndarray:
    """(n,) non-negative integers below 2^n_bits -> (n, n_bits) float64 bits, most significant first."""
    ints = np.asarray(integers, dtype=np.int64)
    return ((ints[:, None] >> np.arange(n_bits - 1, -1, -1)) & 1).astype(np.float64)


def draw_inputs(rng: np.random.RandomState, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(integers, inputs): the notebooks' first draw, rng.choice(2**32, n_samples), and its bits."""
    integers = rng.choice(2**N_BITS, int(n_samples))
    return integers, bits_msb_first(integers)
