"""The compiled (numba) Geometry loop against the torch path: two implementations of one update rule.

Both draw batch counts and gradient noise from the same per-run streams, so their curves must agree
to rounding (different summation orders in the n x N products); tolerance 1e-9 absolute on losses
of order 1 after up to 300 steps.
"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("numba")

from skillode import GeometryModel, simulate, zipf_frequencies  # noqa: E402

TOL = 1e-9


def both(models, steps, **kw):
    a = simulate(models, steps, backend="numba", **kw)
    b = simulate(models, steps, backend="torch", device="cpu", **kw)
    assert all(c.metadata["backend"] == "numba" for c in a.curves)
    assert all(c.metadata["backend"] == "torch" for c in b.curves)
    return a.loss(), b.loss()


@pytest.mark.parametrize("optimizer", ["signgd", "adam", "sgd", "lion", "ademamix"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_backends_agree_for_every_optimizer_and_loss(optimizer, loss):
    p = zipf_frequencies(5, 1.5)
    lr = 0.05 if optimizer == "sgd" else 3e-3
    m = GeometryModel(p, 64, tasks="gaussian", optimizer=optimizer, loss=loss, lr=lr, batch=32)
    a, b = both(m, 300, seeds=[0, 1])
    assert np.abs(a - b).max() < TOL
    assert a[:, -1].sum() < a[:, 0].sum()  # something was learned, so the comparison is not vacuous


@pytest.mark.parametrize("tasks", ["orthogonal", "basis", "given"])
def test_backends_agree_for_task_kinds_noise_and_exact_gradient(tasks):
    rng = np.random.default_rng(3)
    p = zipf_frequencies(4, 2.0)
    kind = rng.standard_normal((4, 40)) if tasks == "given" else tasks
    models = [
        GeometryModel(p, 40, tasks=kind, optimizer="adam", lr=1e-2, noise=0.01, batch=None),
        GeometryModel(p, 40, tasks=kind, optimizer="adam", lr=2e-2, noise=0.03, batch=None, betas=(0.8, 0.99)),
    ]
    a, b = both(models, 200, seeds=[5, 6], record=[0, 7, 50, 199, 200])
    assert a.shape == (4, 5, 4)
    assert np.abs(a - b).max() < TOL


def test_backends_agree_when_runs_have_their_own_task_vectors():
    # task_seed None: every seed draws its own random tasks; the groups mix shared and distinct T.
    p = zipf_frequencies(3, 1.0)
    models = [
        GeometryModel(p, 30, tasks="orthogonal", lr=5e-3, batch=16),
        GeometryModel(p, 30, tasks="orthogonal", lr=5e-3, batch=16, task_seed=11),
    ]
    a, b = both(models, 150, seeds=[0, 1, 2])
    assert np.abs(a - b).max() < TOL


def test_backends_agree_with_fewer_coordinates_than_skills():
    # N < n: overlapping Gaussian tasks; the compiled loop switches to its transposed layout here.
    m = GeometryModel(zipf_frequencies(40, 1.2), 12, tasks="gaussian", lr=2e-3, batch=128, optimizer="lion")
    a, b = both(m, 200, seeds=[0, 1])
    assert np.abs(a - b).max() < TOL


def test_float32_backends_agree_to_single_precision():
    m = GeometryModel(zipf_frequencies(6, 2.0), 200, lr=1e-3, batch=64, optimizer="adam")
    a, b = both(m, 200, dtype="float32")
    assert np.abs(a - b).max() < 1e-4


def test_auto_backend_picks_numba_for_small_work_and_torch_for_large():
    small = GeometryModel(zipf_frequencies(10, 2.0), 1000, lr=3e-4, batch=1024)
    large = GeometryModel(zipf_frequencies(1000, 2.0), 1000, tasks="gaussian", lr=3e-4)
    assert simulate(small, 2).curves[0].metadata["backend"] == "numba"
    assert simulate(small, 2, seeds=range(32)).curves[0].metadata["backend"] == "numba"
    assert simulate(large, 2).curves[0].metadata["backend"] == "numba"  # one run: nothing to batch
    assert simulate(large, 2, seeds=[0, 1], device="cpu").curves[0].metadata["backend"] == "torch"


def test_backend_errors_name_the_argument():
    m = GeometryModel([1.0, 0.5], 10)
    with pytest.raises(ValueError, match="backend"):
        simulate(m, 5, backend="jax")
    with pytest.raises(ValueError, match="backend='numba' runs on the CPU"):
        simulate(m, 5, backend="numba", device="cuda")


@pytest.mark.parametrize("optimizer", ["sgd", "ademamix"])
def test_backends_agree_with_noise_in_the_transposed_layout(optimizer):
    # N < n with gradient noise and small chunks: the noise chunks and the optimizer helpers of the
    # compiled loop in its transposed layout, across chunk boundaries.
    m = GeometryModel(
        zipf_frequencies(20, 1.2),
        8,
        tasks="gaussian",
        optimizer=optimizer,
        noise=0.01,
        lr=2e-3 if optimizer == "ademamix" else 5e-2,
    )
    a, b = both(m, 120, seeds=[0, 1], chunk=33)
    assert np.abs(a - b).max() < TOL
    assert a[:, -1].sum() < a[:, 0].sum()
