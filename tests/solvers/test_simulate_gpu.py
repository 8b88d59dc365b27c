"""The Geometry simulation on a CUDA device agrees with the CPU (skipped where torch has no CUDA)."""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU path is not checked here"),
]


@pytest.mark.parametrize("optimizer", ["adam", "signgd"])
def test_cuda_and_cpu_agree_within_float_tolerance(optimizer):
    # the same batch draws (numpy streams) on both devices; float64 arithmetic differs only in
    # summation order, so the curves agree to ~1e-12 (SignGD's signs of near-zero gradients aside)
    models = [sk.GeometryModel(sk.zipf_frequencies(200, a), 256, tasks="gaussian", lr=1e-2, batch=256,
                               optimizer=optimizer, loss="ce") for a in (1.2, 1.8)]  # fmt: skip
    cpu = sk.simulate(models, 300, seeds=[0, 1], device="cpu", backend="torch")
    gpu = sk.simulate(models, 300, seeds=[0, 1], device="cuda", backend="torch")
    np.testing.assert_allclose(gpu.total_loss(), cpu.total_loss(), rtol=1e-6, atol=1e-9)
